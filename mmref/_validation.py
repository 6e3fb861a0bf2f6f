"""Argument and array checks, and the wording of mmref's errors.

Every check raises ``ValueError`` (a value of the right kind that is out of
range or of the wrong shape) or ``TypeError`` (a value of the wrong kind), with
a message that names the argument, says what was wrong and what is expected::

    The 'density' parameter of RandomProjectionImageEncoder must be a float in
    (0, 1]. Got 2 instead.

Keeping the wording here means every module phrases the same mistake the same
way; the tests match on these phrases.
"""

from __future__ import annotations

import numbers
from collections.abc import Collection
from typing import Any

import numpy as np
import numpy.typing as npt

from .exceptions import NotFittedError

__all__ = [
    "as_array",
    "as_embeddings",
    "as_real_matrix",
    "check_bool_param",
    "check_fitted",
    "check_float_param",
    "check_int_param",
    "check_no_nan_rows",
    "check_option",
    "check_real_array",
    "check_real_array_param",
    "describe",
    "model_output",
    "param_error",
    "shape_str",
]

# Kinds NumPy can compute with: bool, signed/unsigned integers, floats, complex.
_NUMERIC_KINDS = frozenset("biufc")


def describe(value: object) -> str:
    """Return a short, bounded ``repr`` of ``value`` for error messages."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {shape_str(value.shape)} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def shape_str(shape: tuple[int, ...]) -> str:
    """Format a shape as NumPy prints it: ``(256,)``, ``(3, 4)``, ``()``."""
    return str(tuple(int(s) for s in shape))


def param_error(owner: str, name: str, expected: str, value: object) -> ValueError:
    """Build the canonical error for a bad constructor parameter."""
    return ValueError(
        f"The '{name}' parameter of {owner} must be {expected}. Got {describe(value)} instead."
    )


def _param_type_error(owner: str, name: str, expected: str, value: object) -> TypeError:
    return TypeError(
        f"The '{name}' parameter of {owner} must be {expected}. "
        f"Got {describe(value)} of type {type(value).__name__} instead."
    )


def check_int_param(
    value: object,
    *,
    name: str,
    owner: str,
    min_value: int | None = None,
    max_value: int | None = None,
) -> int:
    """Return ``value`` as an ``int`` if it is an integer in ``[min_value, max_value]``.

    Booleans are rejected: ``True`` is an ``int`` to Python but never a
    meaningful count.
    """
    expected = _interval("an int", min_value, max_value, "[", "]")
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise _param_type_error(owner, name, expected, value)
    result = int(value)
    if (min_value is not None and result < min_value) or (
        max_value is not None and result > max_value
    ):
        raise param_error(owner, name, expected, value)
    return result


def check_float_param(
    value: object,
    *,
    name: str,
    owner: str,
    low: float | None = None,
    high: float | None = None,
    closed: str = "both",
) -> float:
    """Return ``value`` as a finite ``float`` inside the interval given by ``low``, ``high``.

    ``closed`` is one of ``"both"``, ``"left"``, ``"right"``, ``"neither"``.
    """
    left = "[" if closed in ("both", "left") else "("
    right = "]" if closed in ("both", "right") else ")"
    expected = _interval("a float", low, high, left, right)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _param_type_error(owner, name, expected, value)
    result = float(value)
    ok = np.isfinite(result)
    if low is not None:
        ok = ok and (result >= low if left == "[" else result > low)
    if high is not None:
        ok = ok and (result <= high if right == "]" else result < high)
    if not ok:
        raise param_error(owner, name, expected, value)
    return result


def check_bool_param(value: object, *, name: str, owner: str) -> bool:
    """Return ``value`` if it is a ``bool`` (or NumPy bool)."""
    if not isinstance(value, bool | np.bool_):
        raise _param_type_error(owner, name, "a bool", value)
    return bool(value)


def check_option(value: object, *, name: str, owner: str, options: Collection[object]) -> Any:
    """Return ``value`` if it is one of ``options``; the error lists the options."""
    try:
        ok = value in options
    except TypeError:  # unhashable values cannot be members of a set of options
        ok = False
    if not ok:
        listed = ", ".join(repr(o) for o in options)
        raise param_error(owner, name, f"one of {{{listed}}}", value)
    return value


def check_fitted(estimator: object, attribute: str) -> None:
    """Raise :class:`NotFittedError` naming ``fit`` if ``attribute`` is not set."""
    if not hasattr(estimator, attribute):
        name = type(estimator).__name__
        raise NotFittedError(
            f"This {name} instance is not fitted yet. Call 'fit' with appropriate "
            f"arguments before using this estimator."
        )


def model_output(value: object, *, method: str) -> np.ndarray[Any, np.dtype[Any]]:
    """Convert what ``model.<method>`` returned to an array and check it is 2-D numeric.

    Array-likes (lists, objects with ``__array__`` such as CPU tensors) go
    through ``np.asarray``, exactly as ``np.concatenate`` / ``np.argmax`` would
    convert them, so the conversion itself never changes a value. A tensor NumPy
    cannot take (one that requires grad, of a dtype NumPy lacks such as bfloat16,
    or on a GPU) is a ``TypeError`` naming ``mmref.adapters``' conversions.
    """
    try:
        array = np.asarray(value)
    except (TypeError, ValueError, RuntimeError) as exc:
        if callable(getattr(value, "detach", None)):  # a tensor: requires grad, bfloat16, GPU
            adapter = "as_classification_model" if method == "predict" else "as_embedding_model"
            raise TypeError(
                f"model.{method} returned a {type(value).__name__} that NumPy cannot convert "
                f"({exc}); convert it with mmref.adapters.to_numpy, or wrap the model with "
                f"mmref.adapters.{adapter}, which converts its outputs."
            ) from None
        raise TypeError(
            f"model.{method} returned {describe(value)} of type {type(value).__name__}, "
            f"which cannot be converted to a numeric array ({exc}); expected a 2-D array "
            f"(n_samples, n_features)."
        ) from None
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(
            f"model.{method} returned an array of dtype {array.dtype}; expected a numeric "
            f"(bool, integer, float or complex) array."
        )
    if array.ndim != 2:
        raise ValueError(
            f"model.{method} returned an array of shape {shape_str(array.shape)}; expected a "
            f"2-D array (n_samples, n_features)."
        )
    return array


def check_real_array(array: np.ndarray[Any, Any], *, what: str) -> None:
    """Raise ``TypeError`` unless ``array`` has a real (non-complex) numeric dtype."""
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"{what} has dtype {array.dtype}; expected real numbers (bool, integer or float)."
        )


def check_no_nan_rows(array: npt.NDArray[Any], *, what: str) -> None:
    """Raise ``ValueError`` naming the rows of a 2-D array that contain NaN."""
    if array.dtype.kind != "f" or array.size == 0:
        return
    # np.isnan(...).any(axis=1) on a big matrix costs one boolean temporary; the sum
    # over the whole array first is a cheap reduction that is NaN iff any entry is.
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.add.reduce(array, axis=None)
    if not np.isnan(total):
        return
    bad = np.flatnonzero(np.isnan(array).any(axis=1))
    if bad.size == 0:  # the sum overflowed to inf - inf; no entry is NaN
        return
    listed = ", ".join(str(int(i)) for i in bad[:10])
    more = f" and {bad.size - 10} more" if bad.size > 10 else ""
    raise ValueError(
        f"{what} contains NaN in {bad.size} row(s): {listed}{more}. "
        f"NaN scores have no argmax; fix the model or drop those rows."
    )


def as_array(value: object, *, what: str, item: str = "image") -> npt.NDArray[Any]:
    """``np.asarray(value)``; a failed conversion is a ``TypeError`` naming ``what``.

    A list or tuple of ``item`` arrays of different shapes is a ``ValueError`` naming
    the first two shapes (NumPy's own message for a ragged list says neither).
    """
    try:
        return np.asarray(value)
    except (ValueError, TypeError) as exc:
        if isinstance(value, list | tuple):
            shapes = []
            for element in value:
                try:
                    shapes.append(shape_str(np.shape(element)))
                except (ValueError, TypeError):
                    shapes.append("ragged")
            distinct = list(dict.fromkeys(shapes))
            if len(distinct) > 1:
                first = shapes.index(distinct[1])
                raise ValueError(
                    f"{what} is a ragged list of {item}s: {item} 0 has shape {distinct[0]} but "
                    f"{item} {first} has shape {distinct[1]}; expected {item}s of equal shape."
                ) from None
        raise TypeError(
            f"{what} ({describe(value)}) cannot be converted to an array of pixel values: {exc}"
        ) from None


def as_real_matrix(value: Any, *, name: str, owner: str | None = None) -> npt.NDArray[Any]:
    """``value`` as a 2-D array of real numbers (no copy if it already is one).

    The one conversion of a 2-D argument. ``TypeError`` if NumPy cannot convert it
    or its dtype is not bool, integer or float; ``ValueError`` if it is not 2-D. With
    ``owner`` (an estimator's ``X``) the message says ``for <owner>`` and a 1-D
    array gets the hint ``Use X.reshape(1, -1)``; without it (an embedding array,
    SPEC.md section 9.1) the message states the dtype or shape found.
    """
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:
        got = (
            f"an object of type {type(value).__name__} that NumPy cannot convert"
            if owner is None
            else f"{describe(value)} of type {type(value).__name__}, which NumPy cannot convert"
        )
        where = "" if owner is None else f" for {owner}"
        raise TypeError(
            f"{name} must be a 2-D array of real numbers (n_samples, n_features){where}; "
            f"got {got} ({exc})."
        ) from None
    if owner is None:
        check_real_array(array, what=name)
    elif array.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must be a 2-D array of real numbers (bool, integer or float) for {owner}; "
            f"got {describe(value)} with dtype {array.dtype}."
        )
    if array.ndim != 2:
        if owner is None:
            raise ValueError(
                f"{name} has shape {shape_str(array.shape)}; expected a 2-D array "
                f"(n_samples, n_features)."
            )
        hint = f" Use {name}.reshape(1, -1) for a single sample." if array.ndim == 1 else ""
        raise ValueError(
            f"{name} must be a 2-D array (n_samples, n_features) for {owner}; got an array of "
            f"shape {shape_str(array.shape)}.{hint}"
        )
    return array


def as_embeddings(value: Any, *, name: str) -> npt.NDArray[np.float64]:
    """``value`` as a C-contiguous 2-D finite float64 array, or an error naming ``name``.

    ``TypeError`` if ``value`` is not an array of real numbers; ``ValueError`` if it
    is not 2-D, has no columns, or has rows with NaN or infinity (the first ten
    such rows are listed).
    """
    array = as_real_matrix(value, name=name)
    if array.shape[1] == 0:
        raise ValueError(
            f"{name} has shape {shape_str(array.shape)}; expected at least one feature column."
        )
    result = np.ascontiguousarray(array, dtype=np.float64)
    # One cheap reduction first: the sum is finite unless an entry is not (or the
    # sum overflows, which the exact row check below then clears).
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.add.reduce(result, axis=None)
    if result.size and not np.isfinite(total):
        bad = np.flatnonzero(~np.isfinite(result).all(axis=1))
        if bad.size:
            listed = ", ".join(str(int(i)) for i in bad[:10])
            more = f" and {bad.size - 10} more" if bad.size > 10 else ""
            raise ValueError(
                f"{name} contains NaN or infinity in {bad.size} row(s): {listed}{more}; "
                f"expected finite values."
            )
    return result


def check_real_array_param(value: object, *, name: str, owner: str) -> npt.NDArray[np.float64]:
    """A parameter that is a real number or an array of them, as float64 (``TypeError`` else)."""
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        array = np.asarray(None)
    if array.dtype.kind not in "biuf" or array.size == 0:
        raise TypeError(
            f"The '{name}' parameter of {owner} must be a real number or an array of real "
            f"numbers. Got {describe(value)} instead."
        )
    return array.astype(np.float64)


def _interval(kind: str, low: float | None, high: float | None, left: str, right: str) -> str:
    if low is None and high is None:
        return kind
    if high is None:
        return f"{kind} {'>=' if left == '[' else '>'} {low}"
    if low is None:
        return f"{kind} {'<=' if right == ']' else '<'} {high}"
    return f"{kind} in {left}{low}, {high}{right}"
