"""Fitted state published in one step and read in one step (SPEC.md, "Concurrent use").

An estimator's ``fit`` computes the new fitted state into a twin or into locals
and then *publishes* it by replacing the instance's ``__dict__`` with a new
dict: one reference assignment. A method that uses the fitted state first takes
a *snapshot*: a twin whose ``__dict__`` is a copy of the instance's, taken by
one ``dict.update`` call. Both steps are single operations on a dict, which
CPython performs without letting another thread run in between (and which the
free-threaded build locks per dict), so a call running beside a refit sees the
whole old state or the whole new state, never a mix and never a half-fitted
estimator. Arrays of a published state are never modified in place.

A reader may cache what it derives from the state (a term lookup, scoring
arrays) in the dict it read from, never in a newer one: a refit replaces the
dict, so a late cache write lands in the old, unpublished dict.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from ._base import ParamsMixin

__all__ = ["keep_caches", "publish", "snapshot", "view"]

_T = TypeVar("_T")


def snapshot(obj: _T) -> _T:
    """A twin of ``obj`` (same class, no ``__init__``) holding a copy of its attributes.

    The copy is taken in one step: it is the state before or after any
    concurrent :func:`publish`, never a mix. An object that is not an mmref
    estimator is returned as it is.
    """
    if not isinstance(obj, ParamsMixin):
        return obj
    twin: _T = object.__new__(type(obj))
    twin.__dict__.update(obj.__dict__)
    return twin


def view(obj: _T) -> _T:
    """A snapshot of ``obj`` in which nested mmref estimators are snapshots too.

    Each object is copied in one step, one after another: the view is
    consistent per object. Used to record the components a composite
    estimator was fitted with, so that refitting a component in place later
    (it publishes a new dict) leaves the recorded view unchanged. An object
    that is not an mmref estimator is returned as it is (it is used live).
    """
    return _view(obj, {}) if isinstance(obj, ParamsMixin) else obj


def _view(obj: _T, memo: dict[int, Any]) -> _T:
    done = memo.get(id(obj))
    if done is not None:
        return done  # type: ignore[no-any-return]
    twin = snapshot(obj)
    memo[id(obj)] = twin
    for name, value in list(twin.__dict__.items()):
        if isinstance(value, ParamsMixin):
            twin.__dict__[name] = _view(value, memo)
    return twin


def publish(obj: object, new: dict[str, Any], drop: Iterable[str] = ()) -> None:
    """Replace ``obj``'s attributes in one step: ``drop`` removed, ``new`` set.

    The other attributes (the parameters) are carried over from the state at
    the time of the call; a ``set_params`` running at the same moment may be
    lost, as a concurrent ``set_params`` and ``fit`` have no defined order.
    """
    state = dict(obj.__dict__)
    for name in drop:
        state.pop(name, None)
    state.update(new)
    obj.__dict__ = state


def keep_caches(
    source: dict[str, Any], twin: object, caches: Iterable[str], inputs: Iterable[str]
) -> None:
    """Store the caches a snapshot ``twin`` built into the dict ``source`` it was taken from.

    Only if ``source`` still holds the very objects the caches were derived
    from (``inputs``): a dict that a refit has replaced is no longer read by
    anyone, so a cache written there is harmless.
    """
    built = {name: twin.__dict__[name] for name in caches if name in twin.__dict__}
    if built and all(source.get(name) is twin.__dict__.get(name) for name in inputs):
        for name, value in built.items():
            source.setdefault(name, value)
