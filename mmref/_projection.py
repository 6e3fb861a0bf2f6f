"""Hash-derived random projection matrices and the products that apply them (private).

This module implements SPEC.md's "Image encoder" section for
:class:`mmref.image.RandomProjectionImageEncoder`. Every random quantity is a
pure function of integers computed with wrapping unsigned 64-bit arithmetic:

Streams
    A 64-bit key ``K`` defines the stream ``u_K(n) = mix64(K + (n + 1) * GOLDEN)``
    for ``n = 0, 1, 2, ...`` (the outputs of SplitMix64 seeded with ``K``).
    Column ``j`` of a projection matrix for input dimension ``d`` has the key
    ``K_j = derive_key(seed, tag, d, *params, j)``.

Sparse columns (integer-only geometric skipping)
    The density ``p`` becomes the integer threshold ``t = round(p * 2**63)``;
    the gap table is ``T_0 = 2**63``, ``T_g = (T_{g-1} * (2**63 - t)) >> 63``, so
    ``T_g / 2**63 ~ (1 - p)**g``. Draw ``n`` of column ``j`` gives
    ``v = u >> 1`` (63 bits) and the sign bit ``u & 1``; the number of zero
    entries skipped before the next nonzero is ``G(v) = #{g in 1..d : v < T_g}``.

Gaussian matrices and their product are in :mod:`mmref._gaussian`. The products
work in row chunks so that converting ``uint8`` images to float costs O(chunk * d)
memory, never O(n * d); each chunk of ``sparse_product`` and ``srht_product``
writes only its own output rows, so the result does not depend on chunk sizes or
on the two worker threads.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from ._hashing import GOLDEN, derive_key, derive_keys, mix64_inplace
from ._typing import ProjectionMethod, UInt64Array

__all__ = [
    "CHUNK_BYTES",
    "N_THREADS",
    "TAG_GAUSSIAN",
    "TAG_SPARSE",
    "TAG_SRHT_SELECT",
    "TAG_SRHT_SIGN",
    "Plan",
    "check_convertible",
    "check_finite",
    "column_keys",
    "density_threshold",
    "gap_table",
    "map_chunks",
    "sparse_columns",
    "sparse_product",
    "srht_product",
    "srht_selection",
    "srht_signs",
    "stream",
]

TAG_SPARSE = 1
TAG_GAUSSIAN = 2
TAG_SRHT_SIGN = 3
TAG_SRHT_SELECT = 4

#: Worker threads for the chunked products: two chunks are in flight at a time.
N_THREADS = 2

_U64 = np.uint64
_GOLDEN = _U64(GOLDEN)
_TWO63 = 1 << 63
# Rows per transposed chunk for the sparse product: each nonzero then updates a
# contiguous run of a few hundred values, which is what makes the product fast.
_TILE_ROWS = 256
# Caps one transposed chunk for the sparse product: for large images a few rows that
# stay in cache beat a long chunk (measured at d = 150528).
_SPARSE_CHUNK_BYTES = 3 * 2**20
# Caps one converted chunk of images for the DCT whatever batch_size is.
CHUNK_BYTES = 16 * 2**20
# Smallest job (in array elements touched) worth running on two threads.
_MIN_THREADED_WORK = 1 << 18
# Draws per group of sparse columns, bounding the O(k * draws) scratch to ~16 MiB.
_SPARSE_GROUP_ELEMENTS = 1 << 21


def column_keys(seed: int, words: tuple[int, ...], n_columns: int) -> UInt64Array:
    """Keys ``K_j = derive_key(seed, *words, j)`` for ``j = 0 .. n_columns - 1``.

    Vectorized: ``derive_key(seed, *words, j) = mix64((derive_key(seed, *words) ^ j) + GOLDEN)``.
    """
    return derive_keys(seed, words, np.arange(n_columns, dtype=np.uint64))


def stream(key: int, start: int, stop: int) -> UInt64Array:
    """Draws ``u_K(n)`` for ``n`` in ``[start, stop)`` of the stream with key ``key``."""
    out = np.arange(start + 1, stop + 1, dtype=np.uint64)
    out *= _GOLDEN
    out += _U64(key)
    mix64_inplace(out, np.empty_like(out))
    return out


def density_threshold(density: float) -> int:
    """The threshold ``t = round_half_even(density * 2**63)``; exact, as 2**63 is a power of 2."""
    return round(density * float(_TWO63))


def gap_table(threshold: int, n_features: int) -> UInt64Array:
    """The nonzero gap thresholds ``T_1 >= T_2 >= ...`` for ``g <= n_features``, ascending.

    Returned in ascending order (``T_L, ..., T_1``) for ``np.searchsorted``;
    zero entries are dropped since ``v < 0`` never holds. Costs
    ``O(min(n_features, 44 / density))`` Python integer steps, once per encoder.
    """
    keep = _TWO63 - threshold
    values: list[int] = []
    t = _TWO63
    for _ in range(n_features):
        t = (t * keep) >> 63
        if t == 0:
            break
        values.append(t)
    values.reverse()
    return np.array(values, dtype=np.uint64)


def sparse_columns(
    keys: UInt64Array,
    threshold: int,
    n_features: int,
    dtype: np.dtype[Any],
    draws_per_round: int | None = None,
) -> tuple[npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any]]:
    """The support and signs of sparse columns, as CSR arrays of the transposed matrix.

    Row ``j`` of the result is column ``j`` of the projection matrix: positions
    ascending, values ``+1`` (sign bit 0) or ``-1`` (sign bit 1) in ``dtype``.

    Parameters
    ----------
    keys : ndarray of uint64 of shape (n_columns,)
        Column keys from :func:`column_keys`.
    threshold : int
        ``density_threshold(density)``, in ``[1, 2**63]``.
    n_features : int
        The input dimension ``d``.
    dtype : dtype
        The dtype of the returned values.
    draws_per_round : int, optional
        Stream draws per column per vectorized round; by default enough to
        finish almost every column in one round. The result never depends on it.

    Returns
    -------
    indptr : ndarray of shape (n_columns + 1,)
    indices : ndarray of shape (nnz,)
    data : ndarray of shape (nnz,) and dtype ``dtype``

    Notes
    -----
    Time and memory are O(nnz) plus O(min(d, 44 / density)) for the gap table,
    with scratch bounded to about 16 MiB by walking the columns in groups.
    """
    d = n_features
    table = gap_table(threshold, d)
    mean = d * (threshold / _TWO63)
    # Enough draws to finish almost every column in one round (6 standard deviations);
    # a column that needs more continues its own stream, so the result does not depend
    # on this number.
    per_round = draws_per_round or min(d + 1, int(mean + 6.0 * math.sqrt(mean) + 16))
    group = max(1, _SPARSE_GROUP_ELEMENTS // per_round)
    index_dtype = np.int32 if d < 2**31 else np.int64
    counts = np.zeros(len(keys), dtype=np.int64)
    all_cols: list[npt.NDArray[np.int64]] = []
    all_pos: list[npt.NDArray[np.int64]] = []
    all_bits: list[UInt64Array] = []
    for g0 in range(0, len(keys), group):
        cols = np.arange(g0, min(g0 + group, len(keys)), dtype=np.int64)
        last = np.full(len(cols), -1, dtype=np.int64)
        start = 0
        while len(cols):
            draws = keys[cols][:, None] + (
                np.arange(start + 1, start + per_round + 1, dtype=np.uint64) * _GOLDEN
            )
            mix64_inplace(draws, np.empty_like(draws))
            gaps = len(table) - np.searchsorted(table, draws >> _U64(1), side="right")
            pos = np.cumsum(gaps + 1, axis=1)
            pos += last[:, None]
            inside = pos < d
            all_cols.append(np.broadcast_to(cols[:, None], pos.shape)[inside])
            all_pos.append(pos[inside])
            all_bits.append(draws[inside] & _U64(1))
            counts[cols] += inside.sum(axis=1)
            pending = pos[:, -1] < d
            cols, last = cols[pending], pos[pending, -1]
            start += per_round
    col = np.concatenate(all_cols)
    # Entries were collected group by group and round by round; a stable sort by column
    # puts each column's rounds in draw order, which is ascending position order.
    order = np.argsort(col, kind="stable")
    indices = np.concatenate(all_pos)[order].astype(index_dtype)
    bits = np.concatenate(all_bits)[order]
    data = np.ones(len(bits), dtype=dtype)
    data[bits == 1] = -1
    indptr = np.zeros(len(keys) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return indptr.astype(index_dtype if indptr[-1] < 2**31 else np.int64), indices, data


def srht_signs(seed: int, n_features: int, dtype: np.dtype[Any]) -> npt.NDArray[Any]:
    """The SRHT signs ``eps_i = +1`` if ``u(i) & 1 == 0`` else ``-1``, shape (n_features,)."""
    bits = stream(derive_key(seed, TAG_SRHT_SIGN, n_features), 0, n_features) & _U64(1)
    signs = np.ones(n_features, dtype=dtype)
    signs[bits == 1] = -1
    return signs


def srht_selection(seed: int, n_features: int, n_components: int) -> npt.NDArray[np.intp]:
    """The ``n_components`` coordinates with the smallest hashes, in increasing hash order.

    The hashes ``u(i)``, ``i < n_features``, are distinct (mix64 is a bijection
    and the counters differ), so the order is total and the first ``k`` of the
    ``K``-selection are the ``k``-selection (prefix stability). O(d) time and memory.
    """
    q = stream(derive_key(seed, TAG_SRHT_SELECT, n_features), 0, n_features)
    if n_components < n_features:
        chosen = np.argpartition(q, n_components - 1)[:n_components]
    else:
        chosen = np.arange(n_features)
    result: npt.NDArray[np.intp] = chosen[np.argsort(q[chosen])].astype(np.intp)
    return result


def map_chunks(func: Callable[[int, int], None], n_rows: int, chunk_rows: int, work: int) -> None:
    """Call ``func(start, stop)`` for consecutive row chunks, two chunks at a time.

    Each chunk writes only its own output rows, so the result does not depend on
    the scheduling. Exceptions propagate, the lowest chunk's first. ``work`` (in
    array elements) below ``_MIN_THREADED_WORK`` runs in the calling thread:
    starting threads would cost more than they save.
    """
    bounds = list(_chunks(n_rows, chunk_rows))
    threads = N_THREADS if work >= _MIN_THREADED_WORK else 1
    if threads <= 1 or len(bounds) <= 1:
        for a, b in bounds:
            func(a, b)
        return
    from concurrent.futures import ThreadPoolExecutor  # lazily: keeps `import mmref` light

    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(func, a, b) for a, b in bounds]
        try:
            for future in futures:
                future.result()
        except BaseException:
            for future in futures:  # a bad image: skip the chunks not started yet
                future.cancel()
            raise


class Plan:
    """The hash-derived pieces of one projection (keys, cached matrix or rows, SRHT signs)."""

    def __init__(
        self, *, method: ProjectionMethod, n_features: int, n_components: int, dtype: np.dtype[Any]
    ) -> None:
        self.method = method
        self.n_features = n_features
        self.n_components = n_components
        self.dtype: np.dtype[Any] = dtype
        self.keys: npt.NDArray[np.uint64] = np.empty(0, dtype=np.uint64)
        self.threshold = 0
        self.scale = 1.0
        self.column_bytes = 1.0
        self.matrix: Any = None
        #: Gaussian only: the first rows of the matrix, cached when all of it does not fit.
        self.prefix: npt.NDArray[Any] | None = None
        self.signs: npt.NDArray[Any] = np.empty(0)
        self.selection: npt.NDArray[np.intp] = np.empty(0, dtype=np.intp)

    def sparse_rows(self, start: int, stop: int) -> Any:
        """Columns ``[start, stop)`` of the unscaled sparse matrix, as CSR rows of its transpose."""
        from scipy import sparse

        indptr, indices, data = sparse_columns(
            self.keys[start:stop], self.threshold, self.n_features, self.dtype
        )
        return sparse.csr_array((data, indices, indptr), shape=(stop - start, self.n_features))


def sparse_product(
    plan: Plan, X2: npt.NDArray[Any], Y: npt.NDArray[Any], batch_size: int, max_matrix_bytes: int
) -> None:
    """``Y = scale * X2 @ R`` as ``(R.T @ X2[a:b].T).T`` on transposed chunks, two threads."""
    n, d = X2.shape
    k, dtype = plan.n_components, plan.dtype
    rows = max(1, min(batch_size, _TILE_ROWS, _SPARSE_CHUNK_BYTES // (d * dtype.itemsize)))
    if plan.matrix is not None:
        blocks = [(0, k)]
    else:
        per_block = max(1, int(max_matrix_bytes // plan.column_bytes))
        blocks = [(a, min(a + per_block, k)) for a in range(0, k, per_block)]
    scale = dtype.type(plan.scale)
    for a, b in blocks:
        matrix = plan.matrix if plan.matrix is not None else plan.sparse_rows(a, b)

        def work(r0: int, r1: int, matrix: Any = matrix, a: int = a, b: int = b) -> None:
            chunk = np.empty((d, r1 - r0), dtype=dtype)
            # errstate is per thread: worker threads do not see the caller's.
            with np.errstate(over="ignore", invalid="ignore"):
                np.copyto(chunk, X2[r0:r1].T, casting="unsafe")
                if a == 0:
                    check_finite(chunk.T, r0, X2)
                np.multiply((matrix @ chunk).T, scale, out=Y[r0:r1, a:b])

        map_chunks(work, n, rows, n * d)


def srht_product(plan: Plan, X2: npt.NDArray[Any], Y: npt.NDArray[Any], batch_size: int) -> None:
    """``Y = sqrt(d / k) * DCT(signs * X2)[:, selection]``, chunk by chunk."""
    from scipy import fft

    n, d = X2.shape
    dtype = plan.dtype
    rows = max(1, min(batch_size, CHUNK_BYTES // (d * dtype.itemsize)))
    scale = dtype.type(plan.scale)
    for r0 in range(0, n, rows):
        r1 = min(r0 + rows, n)
        chunk = np.multiply(X2[r0:r1], plan.signs, dtype=dtype, casting="unsafe")
        check_finite(chunk, r0, X2)
        spectrum = fft.dct(chunk, type=2, norm="ortho", axis=1, overwrite_x=True, workers=N_THREADS)
        np.multiply(spectrum[:, plan.selection], scale, out=Y[r0:r1])


def check_finite(chunk: npt.NDArray[Any], offset: int, source: npt.NDArray[Any]) -> None:
    """Raise ``ValueError`` naming the first image of ``chunk`` (rows) with NaN or inf.

    ``chunk`` holds rows ``offset ...`` of ``source``, converted to the working
    dtype. A sum is a cheap reduction that is finite only if every entry is;
    only when it is not are the rows inspected, about 2**20 values at a time.
    """
    if chunk.dtype.kind != "f" or chunk.size == 0:
        return
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.add.reduce(chunk, axis=None)
    if np.isfinite(total):
        return
    step = max(1, 2**20 // chunk.shape[1])
    for r0 in range(0, chunk.shape[0], step):
        bad = np.flatnonzero(~np.isfinite(chunk[r0 : r0 + step]).all(axis=1))
        if bad.size:
            _raise_not_finite(offset + r0 + int(bad[0]), source, chunk.dtype)


def check_convertible(source: npt.NDArray[Any], dtype: np.dtype[Any]) -> None:
    """Raise ``ValueError`` naming the first image with NaN, inf or values too large for ``dtype``.

    Converts about 2**20 values at a time; used after a product came out
    non-finite, to name the image responsible.
    """
    n, d = source.shape
    step = max(1, 2**20 // max(d, 1))
    with np.errstate(over="ignore", invalid="ignore"):
        for r0 in range(0, n, step):
            check_finite(source[r0 : r0 + step].astype(dtype, copy=False), r0, source)


def _chunks(n: int, size: int) -> Iterator[tuple[int, int]]:
    for a in range(0, n, size):
        yield a, min(a + size, n)


def _raise_not_finite(index: int, source: npt.NDArray[Any], dtype: np.dtype[Any]) -> None:
    original = source[index]
    if original.dtype.kind == "f" and np.isnan(original).any():
        what = "NaN"
    elif original.dtype.kind == "f" and np.isinf(original).any():
        what = "an infinite value"
    else:
        raise ValueError(
            f"Image {index} has pixel values too large for {dtype} (largest magnitude "
            f"{np.abs(original).max()!r}); scale the images down or use dtype=np.float64."
        )
    raise ValueError(f"Image {index} contains {what}; pixel values must be finite real numbers.")
