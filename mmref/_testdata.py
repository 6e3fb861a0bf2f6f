"""Deterministic test data from mmref's integer hashing (re-exported by :mod:`mmref.testing`).

Tests and benchmarks need data that is the same on every machine, in every
process and with every NumPy version, so it comes from the hashing of SPEC.md
section 3 (:func:`mix64`, :func:`derive_key`, ``GOLDEN``), never from a NumPy
``Generator``. With ``key = derive_key(seed)`` and ``i`` the C-order index of
an element (``0 <= i < prod(shape)``), the word of element ``i`` is

    b_i = mix64(key ^ i)                                   (uint64)

and

    integers(seed, shape, high)[i] = b_i mod high
    uniform(seed, shape)[i]        = (b_i >> 11) * 2**-53               in [0, 1)
    normal(seed, shape)            = sqrt(-2 log(1 - U)) * cos(2 pi V)  (Box-Muller)

with ``U = uniform(2 * seed, shape)`` and ``V = uniform(2 * seed + 1, shape)``
(``log1p(-U)`` is finite because ``U < 1``). Only NumPy's correctly rounded
arithmetic enters ``integers`` and ``uniform``, so they are bit-identical
everywhere; ``normal`` goes through ``log`` and ``cos``, which may differ in the
last bit between math libraries.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ._hashing import GOLDEN, derive_key, mix64

__all__ = ["GOLDEN", "derive_key", "integers", "mix64", "normal", "uniform"]


def integers(seed: int, shape: int | tuple[int, ...], high: int) -> npt.NDArray[np.int64]:
    """Hashed integers in ``[0, high)``: ``mix64(derive_key(seed) ^ i) % high``.

    Parameters
    ----------
    seed : int
        Any integer (taken modulo ``2**64``).
    shape : int or tuple of int
        Shape of the result.
    high : int
        Exclusive upper bound, ``1 <= high <= 2**63``.

    Returns
    -------
    values : ndarray of int64 of shape ``shape``

    Examples
    --------
    >>> from mmref.testing import integers
    >>> a = integers(0, (2, 3), 10)
    >>> a.shape, bool(((0 <= a) & (a < 10)).all())
    ((2, 3), True)
    >>> bool((integers(0, 6, 10) == a.ravel()).all())
    True
    """
    if not 1 <= high <= 2**63:
        raise ValueError(f"The 'high' parameter of integers must be in [1, 2**63]. Got {high}.")
    bits = hash_words(seed, shape)
    values: npt.NDArray[np.int64] = (bits % np.uint64(high)).astype(np.int64)
    return values


def uniform(seed: int, shape: int | tuple[int, ...]) -> npt.NDArray[np.float64]:
    """Hashed floats in ``[0, 1)`` with 53 random bits each.

    Parameters
    ----------
    seed : int
        Any integer (taken modulo ``2**64``).
    shape : int or tuple of int
        Shape of the result.

    Returns
    -------
    values : ndarray of float64 of shape ``shape``
        ``(mix64(derive_key(seed) ^ i) >> 11) * 2**-53`` for element ``i`` (C order).

    Examples
    --------
    >>> from mmref.testing import uniform
    >>> u = uniform(3, 1000)
    >>> bool((u >= 0).all() and (u < 1).all()), round(float(u.mean()), 1)
    (True, 0.5)
    """
    bits = hash_words(seed, shape)
    values: npt.NDArray[np.float64] = (bits >> np.uint64(11)).astype(np.float64) * 2.0**-53
    return values


def normal(seed: int, shape: int | tuple[int, ...]) -> npt.NDArray[np.float64]:
    """Hashed standard normal numbers: the Box-Muller transform of two :func:`uniform` arrays.

    Parameters
    ----------
    seed : int
        Any integer; ``uniform(2 * seed, shape)`` and ``uniform(2 * seed + 1, shape)``
        are transformed.
    shape : int or tuple of int
        Shape of the result.

    Returns
    -------
    values : ndarray of float64 of shape ``shape``
        ``sqrt(-2 log1p(-U)) * cos(2 pi V)``.

    Examples
    --------
    >>> from mmref.testing import normal
    >>> z = normal(1, 100_000)
    >>> round(float(z.mean()), 1), round(float(z.std()), 1)
    (0.0, 1.0)
    """
    radius = np.sqrt(-2.0 * np.log1p(-uniform(2 * seed, shape)))
    values: npt.NDArray[np.float64] = radius * np.cos(2.0 * np.pi * uniform(2 * seed + 1, shape))
    return values


def hash_words(seed: int, shape: int | tuple[int, ...]) -> npt.NDArray[np.uint64]:
    """``mix64(derive_key(seed) ^ i)`` for the C-order index ``i`` of each element."""
    dims = (shape,) if isinstance(shape, int) else tuple(shape)
    count = int(np.prod(dims, dtype=np.int64))
    bits = mix64(np.uint64(derive_key(seed)) ^ np.arange(count, dtype=np.uint64))
    return bits.reshape(dims)
