"""Describing values for the conformance kit: the words of messages, the source of snippets.

:func:`summary` says what a value is in a message (shape, dtype and a few entries of an
array); :func:`array_literal` and :func:`literal` write Python source that rebuilds a
value exactly, for the snippet that reproduces a failure. Importing this module costs
only NumPy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from .._validation import shape_str

__all__ = ["array_literal", "literal", "shape_str", "summary"]


def summary(value: Any) -> str:
    """A short description of a value for a message: shape, dtype and a few entries.

    Parameters
    ----------
    value : object
        Anything; an ndarray is summarized, anything else is its ``repr``.

    Returns
    -------
    text : str
        At most a few lines for an array, at most 200 characters otherwise.
    """
    if isinstance(value, np.ndarray):
        text = np.array2string(value, threshold=12, edgeitems=2, max_line_width=100)
        return f"array of shape {shape_str(value.shape)} and dtype {value.dtype}: {text}"
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def array_literal(array: npt.ArrayLike) -> str:
    """Python source that rebuilds ``array`` exactly, for reproducing snippets.

    Assumes ``import numpy as np``. Floats print with ``repr`` (which round-trips
    float64, hence float32 and float16 too), non-finite values as ``np.inf`` /
    ``np.nan``, and the dtype is always explicit.

    Parameters
    ----------
    array : array-like
        Any array NumPy can hold as numbers or booleans.

    Returns
    -------
    source : str
        An ``np.array(...)`` (or, for an empty array, ``np.zeros(...)``)
        expression. NaN payloads are not kept.

    Examples
    --------
    >>> import numpy as np
    >>> from mmref.strategies import array_literal
    >>> array_literal(np.array([[-0.0, np.inf]], dtype=np.float32))
    'np.array([[-0.0, np.inf]], dtype=np.float32)'
    >>> array_literal(np.zeros((0, 3), dtype=np.uint8))
    'np.zeros((0, 3), dtype=np.uint8)'
    >>> eval(array_literal(np.array([1 + 2j, complex(np.nan, -np.inf)])))
    array([ 1. +2.j, nan-infj])
    """
    a = np.asarray(array)
    special = {"b": "np.bool_", "U": "np.str_", "S": "np.bytes_", "O": "object"}
    dtype = special.get(a.dtype.kind, f"np.{a.dtype.name}")
    if a.size == 0:
        return f"np.zeros({tuple(int(s) for s in a.shape)}, dtype={dtype})"
    return f"np.array({_nested(a.tolist())}, dtype={dtype})"


def literal(value: Any) -> str:
    """Python source for ``value`` in a snippet: arrays by :func:`array_literal`, else repr.

    Parameters
    ----------
    value : object
        An ndarray, or a value whose ``repr`` is Python source (None, str, lists of str).

    Returns
    -------
    source : str
    """
    if isinstance(value, np.ndarray):
        return array_literal(value)
    return repr(value)


def _nested(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_nested(v) for v in value) + "]"
    if isinstance(value, complex):
        return f"complex({_float(value.real)}, {_float(value.imag)})"
    if isinstance(value, float):
        return _float(value)
    return repr(value)


def _float(x: float) -> str:
    if math.isnan(x):
        return "np.nan"
    if math.isinf(x):
        return "np.inf" if x > 0 else "-np.inf"
    return repr(x)
