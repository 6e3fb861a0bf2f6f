"""Counter-based 64-bit hashing: the only source of randomness in mmref.

mmref never draws from NumPy ``Generator`` streams (their algorithms may
change between NumPy versions) nor from Python's ``hash()`` (salted per
process). Every pseudo-random number is a pure function of integers, computed
with wrapping unsigned 64-bit arithmetic, which NumPy performs identically on
every platform.

``mix64`` is the SplitMix64 finalizer (Steele, Lea & Flood, 2014; the
variant 13 constants of Stafford's "Better Bit Mixing")::

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9   (mod 2**64)
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB   (mod 2**64)
    z =  z ^ (z >> 31)

``derive_key(seed, *words)`` folds integers into a 64-bit key::

    k = mix64(seed mod 2**64 + GOLDEN)
    for w in words:  k = mix64((k ^ (w mod 2**64)) + GOLDEN)

with ``GOLDEN = 0x9E3779B97F4A7C15``. SPEC.md states how each algorithm
turns keys into numbers.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["GOLDEN", "derive_key", "mix64", "mix64_int"]

GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB
_MASK64 = (1 << 64) - 1


def mix64(z: npt.ArrayLike) -> npt.NDArray[np.uint64]:
    """Apply the SplitMix64 finalizer elementwise to unsigned 64-bit integers.

    Parameters
    ----------
    z : array-like of uint64
        Input words; other integer dtypes are reinterpreted modulo ``2**64``.

    Returns
    -------
    mixed : ndarray of uint64, same shape as ``z``
        A new array (``z`` is not modified).

    Examples
    --------
    >>> import numpy as np
    >>> from mmref._hashing import mix64, mix64_int
    >>> int(mix64(np.uint64(1))[()]) == mix64_int(1)
    True
    """
    # astype wraps signed integers modulo 2**64, as C casts do, on every platform.
    x = np.asarray(z).astype(np.uint64, copy=True)
    # In-place operations keep the temporaries to one extra array of x's size.
    t = np.empty_like(x)
    np.right_shift(x, np.uint64(30), out=t)
    x ^= t
    x *= np.uint64(_M1)
    np.right_shift(x, np.uint64(27), out=t)
    x ^= t
    x *= np.uint64(_M2)
    np.right_shift(x, np.uint64(31), out=t)
    x ^= t
    return x


def mix64_int(z: int) -> int:
    """Pure-Python ``mix64`` of one integer (taken modulo ``2**64``)."""
    z &= _MASK64
    z = ((z ^ (z >> 30)) * _M1) & _MASK64
    z = ((z ^ (z >> 27)) * _M2) & _MASK64
    return z ^ (z >> 31)


def derive_key(seed: int, *words: int) -> int:
    """Fold a seed and integer words into one 64-bit key (see the module docstring).

    Examples
    --------
    >>> from mmref._hashing import derive_key
    >>> derive_key(0, 1) == derive_key(0, 1) != derive_key(1, 0)
    True
    """
    key = mix64_int((seed & _MASK64) + GOLDEN)
    for word in words:
        key = mix64_int(((key ^ (word & _MASK64)) + GOLDEN) & _MASK64)
    return key
