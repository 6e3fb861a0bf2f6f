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

__all__ = [
    "GOLDEN",
    "derive_key",
    "derive_keys",
    "le_words",
    "mix64",
    "mix64_inplace",
    "mix64_int",
    "murmurhash3_32",
]

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
    mix64_inplace(x)
    return x


def mix64_inplace(x: npt.NDArray[np.uint64], tmp: npt.NDArray[np.uint64] | None = None) -> None:
    """Apply ``mix64`` to a uint64 array in place.

    Parameters
    ----------
    x : ndarray of uint64
        Overwritten with ``mix64(x)``.
    tmp : ndarray of uint64 of x's shape, default=None
        Scratch space; pass one to reuse it across calls (hot loops keep it in cache).
    """
    t = np.empty_like(x) if tmp is None else tmp
    np.right_shift(x, np.uint64(30), out=t)
    x ^= t
    x *= np.uint64(_M1)
    np.right_shift(x, np.uint64(27), out=t)
    x ^= t
    x *= np.uint64(_M2)
    np.right_shift(x, np.uint64(31), out=t)
    x ^= t


def derive_keys(seed: int, words: tuple[int, ...], index: npt.ArrayLike) -> npt.NDArray[np.uint64]:
    """``derive_key(seed, *words, i)`` for every ``i`` in ``index``, vectorized.

    Examples
    --------
    >>> import numpy as np
    >>> from mmref._hashing import derive_key, derive_keys
    >>> [int(k) for k in derive_keys(7, (1, 2), np.arange(3))] == [
    ...     derive_key(7, 1, 2, i) for i in range(3)]
    True
    """
    keys = np.asarray(index).astype(np.uint64, copy=True)
    keys ^= np.uint64(derive_key(seed, *words))
    keys += np.uint64(GOLDEN)
    mix64_inplace(keys)
    return keys


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


# --- MurmurHash3_x86_32 over many byte strings at once -------------------------------

_C1 = np.uint32(0xCC9E2D51)
_C2 = np.uint32(0x1B873593)
_N = np.uint32(0xE6546B64)
_F1 = np.uint32(0x85EBCA6B)
_F2 = np.uint32(0xC2B2AE35)
_MASK32 = 0xFFFFFFFF
# When at most this many keys still have more than this many blocks to go, they finish
# in a scalar loop: a vectorized step costs ~10 us however few keys it touches.
_SCALAR_KEYS = 4
_SCALAR_BLOCKS = 64
# Little-endian masks keeping the first 0, 1, 2, 3 bytes of a word (the tail).
_TAIL_MASKS = np.array([0, 0xFF, 0xFFFF, 0xFFFFFF], dtype=np.uint32)


def le_words(data: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint32]:
    """Return the little-endian 32-bit word starting at every byte offset of ``data``.

    ``words[p] = data[p] | data[p+1] << 8 | data[p+2] << 16 | data[p+3] << 24``,
    bytes past the end reading as 0, for ``p`` in ``[0, len(data)]`` (one extra
    entry, so that a 0-byte tail at the very end can be read).

    Read as an overlapping view (byte stride 1) of the zero-padded buffer and
    copied once: NumPy copies such a view faster than it combines aligned
    words with shifts. Costs 4 bytes per input byte (plus the padded copy).
    """
    n = int(data.size)
    padded = np.zeros(n + 4, dtype=np.uint8)
    padded[:n] = data
    # '<u4' reads every host's bytes in little-endian order (astype swaps on big-endian).
    view = np.ndarray((n + 1,), dtype=np.dtype("<u4"), buffer=padded, strides=(1,))
    words: npt.NDArray[np.uint32] = view.astype(np.uint32)
    return words


def murmurhash3_32(
    data: npt.NDArray[np.uint8],
    starts: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    seed: int = 0,
    *,
    words: npt.NDArray[np.uint32] | None = None,
) -> npt.NDArray[np.uint32]:
    """MurmurHash3_x86_32 of the byte strings ``data[starts[i] : starts[i] + lengths[i]]``.

    Bit-exact with Austin Appleby's reference ``MurmurHash3_x86_32`` (as used by
    ``sklearn.utils.murmurhash3_32``) with 4-byte blocks always read
    little-endian, so the result is the same on every host.

    Parameters
    ----------
    data : ndarray of uint8 of shape (n_bytes,)
        The buffer holding all keys.
    starts, lengths : ndarray of int64 of shape (n_keys,)
        Byte offset and length of each key; ``starts + lengths <= n_bytes``.
    seed : int, default=0
        Seed in ``[0, 2**32)``.
    words : ndarray of uint32 of shape (n_bytes + 1,), optional
        ``le_words(data)``, if the caller already has it.

    Returns
    -------
    hashes : ndarray of uint32 of shape (n_keys,)
        The unsigned hash; ``hashes.view(np.int32)`` is scikit-learn's signed one.

    Notes
    -----
    The work is vectorized over keys: step ``j`` mixes block ``j`` of every
    key that has one, so a batch costs as many NumPy steps as its longest key
    has blocks. The last few keys of very long strings finish in a scalar
    loop. Memory: about 4 bytes per byte of ``data`` plus 40 bytes per key.

    Examples
    --------
    >>> import numpy as np
    >>> from mmref._hashing import murmurhash3_32
    >>> data = np.frombuffer(b"Hello World!", dtype=np.uint8)
    >>> int(murmurhash3_32(data, np.array([0]), np.array([12]), seed=42)[0])
    3565178
    """
    if words is None:
        words = le_words(data)
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    n = int(starts.size)
    nblocks = lengths >> 2
    h = np.full(n, np.uint32(seed & _MASK32), dtype=np.uint32)
    tmp = np.empty(n, dtype=np.uint32)
    # Step j mixes block j of the keys that have one; ``active`` shrinks as keys run out.
    active = np.flatnonzero(nblocks)
    if active.size == n:
        _mix_block(h, np.take(words, starts), tmp)
        j = 1
        active = np.flatnonzero(nblocks > 1)
    else:
        j = 0
    while active.size:
        left = nblocks[active] - j
        longest = int(left.max())
        # Also when a few keys are far longer than the rest (several 1 MB tokens): a scalar
        # block costs about a tenth of a vectorized step.
        if longest > _SCALAR_BLOCKS and (
            active.size <= _SCALAR_KEYS or int(left.sum()) <= _SCALAR_KEYS * 2 * longest
        ):
            for i, count in zip(active.tolist(), left.tolist(), strict=True):
                h[i] = _blocks_scalar(int(h[i]), words, int(starts[i]) + 4 * j, count)
            break
        state = h[active]
        _mix_block(state, np.take(words, starts[active] + 4 * j), tmp[: active.size])
        h[active] = state
        j += 1
        active = active[left > 1]
    # Tail: the remaining 0-3 bytes, read little-endian; a 0-byte tail leaves h unchanged.
    k = np.take(words, starts + 4 * nblocks)
    k &= _TAIL_MASKS[lengths & 3]
    k *= _C1
    _rotl(k, 15, tmp)
    k *= _C2
    h ^= k
    h ^= lengths.astype(np.uint32)  # the reference XORs the length mod 2**32
    _fmix32(h, tmp)
    return h


def _mix_block(
    h: npt.NDArray[np.uint32], k: npt.NDArray[np.uint32], tmp: npt.NDArray[np.uint32]
) -> None:
    """One MurmurHash3 body step, in place: mix the blocks ``k`` into the states ``h``."""
    k *= _C1
    _rotl(k, 15, tmp)
    k *= _C2
    h ^= k
    _rotl(h, 13, tmp)
    h *= np.uint32(5)
    h += _N


def _rotl(x: npt.NDArray[np.uint32], r: int, tmp: npt.NDArray[np.uint32]) -> None:
    """Rotate ``x`` left by ``r`` bits in place (``tmp`` is scratch of the same size)."""
    np.right_shift(x, np.uint32(32 - r), out=tmp)
    np.left_shift(x, np.uint32(r), out=x)
    x |= tmp


def _fmix32(h: npt.NDArray[np.uint32], tmp: npt.NDArray[np.uint32]) -> None:
    np.right_shift(h, np.uint32(16), out=tmp)
    h ^= tmp
    h *= _F1
    np.right_shift(h, np.uint32(13), out=tmp)
    h ^= tmp
    h *= _F2
    np.right_shift(h, np.uint32(16), out=tmp)
    h ^= tmp


def _blocks_scalar(h: int, words: npt.NDArray[np.uint32], start: int, n_blocks: int) -> int:
    """Mix ``n_blocks`` blocks starting at byte ``start`` into ``h``, one block at a time.

    The per-block constants are computed vectorized; only the chained state
    update, which cannot be vectorized, runs in Python.
    """
    k = words[start : start + 4 * n_blocks : 4].copy()
    tmp = np.empty_like(k)
    k *= _C1
    _rotl(k, 15, tmp)
    k *= _C2
    for kb in k.tolist():
        h ^= kb
        h = ((h << 13) | (h >> 19)) & _MASK32
        h = (h * 5 + 0xE6546B64) & _MASK32
    return h
