"""Testing helpers of the conformance kit: one pytest test per property, and stub models.

As scikit-learn's ``parametrize_with_checks`` does for estimators,
:func:`parametrize_conformance` and :func:`conformance_tests` turn every property
of :mod:`mmref.conformance` into its own test, so ``pytest -k axis`` runs one
property and known failures show as ``xfail``::

    from mmref.testing import parametrize_conformance

    @parametrize_conformance(
        my_joint_embedding,
        "joint-embedding",
        strict=True,  # mmref's hardening too, not only the core profile
        known_failures={"protocol_2d": "we join 3-D outputs, as the source does"},
    )
    def test_conformance(check):
        check()

Each ``check`` runs one property and raises :class:`mmref.ConformanceError`
if it fails (or calls ``pytest.skip`` when it cannot apply). The test ids
are ``<kind>-<property>``, e.g. ``test_conformance[joint-embedding-axis]``.

The stub models :class:`StubEmbeddingModel` and :class:`StubClassificationModel`
return fixed outputs and record how they were called (as does
:class:`StubPartialModel`, which lacks some of the protocol's methods): the conformance kit
(properties and golden vectors alike) passes them to the ``joint_embedding``
and ``multimodal_classification`` under test, and so can your own tests. They
need neither Hypothesis nor pytest (:mod:`mmref.strategies` draws them at random).

:func:`normal`, :func:`uniform` and :func:`integers` make deterministic test
data from mmref's integer hashing (:func:`mix64`, :func:`derive_key` and
``GOLDEN`` of SPEC.md section 3): the same arrays on every machine and NumPy
version, which mmref's own tests and benchmarks use too.

This module imports pytest only when a helper is called, and never imports
Hypothesis.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

# Deterministic data from mmref's integer hashing (SPEC.md section 3): see mmref._testdata.
from ._testdata import GOLDEN, derive_key, integers, mix64, normal, uniform
from .conformance import check_property, properties_of
from .conformance._stubs import StubClassificationModel, StubEmbeddingModel, StubPartialModel

__all__ = [
    "GOLDEN",
    "StubClassificationModel",
    "StubEmbeddingModel",
    "StubPartialModel",
    "conformance_tests",
    "derive_key",
    "integers",
    "mix64",
    "normal",
    "parametrize_conformance",
    "uniform",
]


def conformance_tests(
    target: Any,
    kind: str,
    *,
    max_examples: int | None = None,
    known_failures: Mapping[str, str] | None = None,
    strict: bool = False,
    **options: Any,
) -> list[Any]:
    """One ``pytest.param`` per property of ``kind`` and the profile, each a zero-argument check.

    Parameters
    ----------
    target : callable or model
        The function or model under test (see :func:`mmref.conformance.run_checks`).
    kind : str
        One of :data:`mmref.conformance.KINDS`.
    max_examples : int, default=None
        Hypothesis examples per property; None uses the active profile's.
    known_failures : mapping of str to str, default=None
        ``{property name: reason}``; those tests are marked ``xfail`` (not
        strict, so a fixed implementation shows ``XPASS``).
    strict : bool, default=False
        One test per property of the ``strict`` profile (the ``core`` properties
        and mmref's hardening) instead of the ``core`` profile only.
    **options
        Passed to :func:`mmref.conformance.check_property` (``dtypes``,
        ``image_shape``, ``image_dtypes``, ``n_features``, ``rtol``, ``spec``,
        ``timeout``).

    Returns
    -------
    params : list of pytest.param
        Ids ``<kind>-<property>``.

    Raises
    ------
    ValueError
        If ``kind`` or a name in ``known_failures`` is unknown.
    """
    import pytest

    known = dict(known_failures or {})
    params = []
    for name, prop in properties_of(kind, list(known)).items():
        if not strict and prop.profile != "core":
            continue
        marks = [pytest.mark.xfail(reason=known[name], strict=False)] if name in known else []
        check = _make_check(kind, name, target, max_examples, options)
        params.append(pytest.param(check, id=f"{kind}-{name}", marks=marks))
    return params


def parametrize_conformance(
    target: Any,
    kind: str,
    *,
    max_examples: int | None = None,
    known_failures: Mapping[str, str] | None = None,
    strict: bool = False,
    **options: Any,
) -> Any:
    """Decorator: parametrize a test over :func:`conformance_tests`, as argument ``check``.

    Parameters
    ----------
    target, kind, max_examples, known_failures, strict, **options
        As in :func:`conformance_tests`.

    Returns
    -------
    decorator : pytest.mark.parametrize
        Applied to a test function taking one argument ``check``, which the
        test calls.

    Raises
    ------
    ValueError
        If ``kind`` or a name in ``known_failures`` is unknown.
    """
    import pytest

    params = conformance_tests(
        target,
        kind,
        max_examples=max_examples,
        known_failures=known_failures,
        strict=strict,
        **options,
    )
    return pytest.mark.parametrize("check", params)


def _make_check(
    kind: str, name: str, target: Any, max_examples: int | None, options: dict[str, Any]
) -> Callable[[], None]:
    def check() -> None:
        import pytest

        result = check_property(kind, name, target, max_examples=max_examples, **options)
        if result.status == "SKIP":
            pytest.skip(result.message)

    check.__name__ = f"check_{kind.replace('-', '_')}_{name}"
    return check
