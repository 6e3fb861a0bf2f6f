"""All benchmark cases, in the order they run."""

from __future__ import annotations

from . import classifiers, conform, end_to_end, image, image_files, system, text
from .harness import Case

__all__ = ["all_cases", "select"]


def all_cases(*, quick: bool) -> list[Case]:
    """Every case, at the --quick sizes if ``quick``; nothing is prepared yet."""
    out: list[Case] = []
    for module in (image, text, classifiers, end_to_end, image_files, system, conform):
        out.extend(module.cases(quick=quick))
    names = [case.name for case in out]
    if len(set(names)) != len(names):
        raise RuntimeError("benchmark case names must be unique")
    return out


def select(cases: list[Case], patterns: list[str] | None) -> list[Case]:
    """The cases whose name contains any of ``patterns`` (all cases if none given)."""
    if not patterns:
        return list(cases)
    return [case for case in cases if any(p in case.name for p in patterns)]
