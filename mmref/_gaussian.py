"""Hash-derived Gaussian projection matrices and the product that applies them (private).

This module implements SPEC.md section 4.5 for
:class:`mmref.image.RandomProjectionImageEncoder` with ``method="gaussian"``.
Rows ``2m`` and ``2m + 1`` of column ``j`` come from the stream draw
``h = u_{K_j}(m)`` (see :mod:`mmref._projection`) by the Box-Muller transform::

    u1 = ((h >> 32) + 0.5) / 2**32,  theta = 2 pi (h & 0xFFFFFFFF) / 2**32
    G[2m, j] = sqrt(-2 ln u1) cos(theta),  G[2m + 1, j] = sqrt(-2 ln u1) sin(theta)

How the entries are computed (within the tolerance of SPEC 4.5, not bit for bit
across platforms):

- ``u1`` is read off the bits of the binary64 number ``1 + u1``, which holds it
  exactly; ``-2 ln u1`` is computed in float64 for both dtypes (in float32, ``u1``
  close to 1 would round to 1 and small radii to 0). float64 takes its square
  root in float64, float32 rounds ``-2 ln u1`` to float32 first (within 1 ulp of
  the float32 rounding of the radius, and several times faster).
- float64 ``cos`` and ``sin`` cost about 8 ns each in NumPy (they are not
  vectorized), so the angle's top 14 bits index a table of ``e^(i 2 pi i / 16384)``
  and the rest, ``beta < 2 pi / 16384``, goes through Taylor polynomials of
  degree 2 and 3 (truncation error below ``1e-15`` times the radius). The pair
  ``r (cos(theta), sin(theta))`` is then one complex product, of the table entry
  and ``r (cos(beta) + i sin(beta))``, written straight into a column-major block
  of rows (:func:`empty_rows`), where the pair's two entries are adjacent.
  float32 uses NumPy's float32 ``cos`` and ``sin``, which are vectorized.

Generated per call (the matrix does not fit in ``max_matrix_bytes``), the
product ``X @ G`` runs in blocks of rows of ``G``: each worker generates a
block, in tiles of 2**15 pairs and with working arrays it allocates once per
call, multiplies the images' matching columns by it, and adds the result
into the output in block order. The first rows of ``G``, as many as fit in
``max_matrix_bytes`` beside the blocks (:func:`prefix_rows`), are cached and
come first, in blocks of the same size, multiplied without generating. With
two workers and single-threaded BLAS (through threadpoolctl, when it is
installed and the product is large) one worker generates while the other
multiplies; otherwise one worker, the calling thread, alternates a generation
on two threads with a multi-threaded product. Adding in block order makes the
result independent of the number of workers and their timing. ``_BlockProduct``
holds one call (its blocks and the steps of a block: ``cached``, ``multiply``)
and runs it either way (``run_serial``, or ``run_pipelined`` through ``drive``
and ``work``); ``_Schedule`` hands the workers their blocks and orders the adds.

The two workers are started, and the BLAS limit set and restored, by a driver
thread; the calling thread only starts it (``_thread.start_new_thread``) and
waits on a bare lock. A ``KeyboardInterrupt``, which Python delivers to the main
thread only, therefore never lands inside a lock or condition the workers use,
or between setting and restoring the limit: the caller sets a flag the workers
poll, and the driver restores the limit once they have stopped.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import threading
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ._hashing import GOLDEN, mix64_inplace
from ._threads import blas_controller, blas_threads_for, single_threaded_blas

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from ._projection import Plan

__all__ = [
    "BLOCK_BYTES",
    "Scratch",
    "empty_rows",
    "gaussian_block",
    "gaussian_product",
    "gaussian_rows",
    "prefix_rows",
]

#: Generated rows of the matrix held at a time during a call, over all workers.
BLOCK_BYTES = 8 * 2**20

_U64 = np.uint64
_GOLDEN = _U64(GOLDEN)
_WORKERS = 2
# Box-Muller pairs per tile of the generation: its scratch arrays then take 2.25 MiB
# (float64); smaller tiles pay NumPy's per-call overhead more often.
_STEP_ELEMENTS = 1 << 15
# Entries of the float64 table of e^(i theta) (256 KiB, read from the L2 cache).
_TABLE_SIZE = 1 << 14
# Smallest generation (in matrix entries) worth splitting over two threads.
_MIN_THREADED_ENTRIES = 1 << 18
# Smallest product (multiply-adds) worth running on two workers.
_MIN_PIPELINED_WORK = 1 << 27
# The low 32 bits of a uint64 viewed as two uint32 (platform byte order).
_LOW_WORD = 0 if sys.byteorder == "little" else 1
# 2 pi / 2**32 rounded to float32: float32 theta is b * _TURN32, rounded to float32.
_TURN32 = float(np.float32(2.0 * np.pi * 2.0**-32))
# How often a waiting worker looks at the abort flag, in seconds.
_POLL_SECONDS = 0.02


def gaussian_block(
    keys: npt.NDArray[np.uint64],
    start: int,
    stop: int,
    dtype: np.dtype[Any],
    out: Any,
    scratch: Scratch | None = None,
) -> None:
    """Write the unscaled N(0, 1) entries of rows ``[start, stop)`` into ``out``.

    Parameters
    ----------
    keys : ndarray of uint64 of shape (n_columns,)
        Column keys from :func:`mmref._projection.column_keys`.
    start, stop : int
        Row range of the matrix; ``start`` must be even (rows come in Box-Muller pairs).
    dtype : dtype
        float32 or float64 (see the module docstring for what each computes in).
    out : ndarray of shape (2 * n_pairs, n_columns) and dtype ``dtype``
        ``n_pairs = ceil((stop - start) / 2)``: for odd ``stop - start`` the last
        row receives row ``stop`` of the matrix. Laid out as :func:`empty_rows`
        allocates it (float64: each column contiguous, so that a Box-Muller pair
        is one complex number; float32: each row contiguous).
    scratch : Scratch, optional
        Working arrays to reuse (2.25 MiB in float64, 1.4 MiB in float32);
        allocated if not given. Besides, 8 bytes per pair of a tile for the
        stream counters.
    """
    n_pairs, first = (stop - start + 1) // 2, start // 2
    work = scratch if scratch is not None else Scratch(dtype)
    # Tiles follow the memory order of out: (columns, pairs) in float64, (pairs, columns)
    # in float32; a tile spans whole rows of that order unless a row alone is longer.
    transposed = dtype == np.float64
    outer, inner = (len(keys), n_pairs) if transposed else (n_pairs, len(keys))
    width = min(inner, _STEP_ELEMENTS)
    height = max(1, _STEP_ELEMENTS // width)
    seeds = None
    if not transposed and width == len(keys):
        # Tiles of whole rows: the stream counters of tile rows a0 + q are those of row q
        # plus (a0 * GOLDEN), so one tile of (key + q * GOLDEN) serves them all, and
        # each tile's counters cost a scalar add instead of a slower broadcast one.
        rows = min(height, outer)
        seeds = work.seeds((rows, width))
        np.add(_counters(first, 0, rows)[:, None], keys[None, :], out=seeds)
    for a0 in range(0, outer, height):
        a1 = min(a0 + height, outer)
        for b0 in range(0, inner, width):
            b1 = min(b0 + width, inner)
            h, t, log_u1 = work.tile((a1 - a0, b1 - b0))
            if seeds is not None:
                np.add(seeds[: a1 - a0], _U64(a0 * GOLDEN % 2**64), out=h)
            elif transposed:
                np.add(keys[a0:a1, None], _counters(first, b0, b1)[None, :], out=h)
            else:
                np.add(_counters(first, a0, a1)[:, None], keys[None, b0:b1], out=h)
            mix64_inplace(h, t)
            # ln u1. 1 + u1 = 1 + (2a + 1) / 2**33 with a the high 32 bits: its binary64
            # bits are assembled directly and 1 subtracted (both exact), which is cheaper
            # than converting a from an integer.
            np.right_shift(h, _U64(12), out=t)
            t &= _U64(0x000FFFFFFFF00000)
            t |= _U64(0x3FF0000000080000)
            np.subtract(t.view(np.float64), 1.0, out=log_u1)
            np.log(log_u1, out=log_u1)
            if transposed:
                pairs = out[2 * b0 : 2 * b1, a0:a1].T.view(np.complex128)
                _polar64(h, t, log_u1, work, pairs)
            else:
                even = out[2 * a0 : 2 * a1 : 2, b0:b1]
                odd = out[2 * a0 + 1 : 2 * a1 : 2, b0:b1]
                _polar32(h, t, log_u1, work, even, odd)


def empty_rows(n_rows: int, n_columns: int, dtype: np.dtype[Any]) -> npt.NDArray[Any]:
    """An uninitialized ``(n_rows, n_columns)`` array laid out as :func:`gaussian_block` writes.

    float64 is column-major (Fortran order): a Box-Muller pair, two adjacent rows,
    is then one complex number, rotated in one pass. BLAS multiplies by either
    layout at the same speed in float64; in float32, column-major costs it about
    3 % and float32 gains nothing from complex numbers, so float32 is row-major.
    """
    if dtype == np.float64:
        rows: npt.NDArray[Any] = np.empty((n_columns, n_rows), dtype=dtype).T
        return rows
    return np.empty((n_rows, n_columns), dtype=dtype)


class Scratch:
    """Working arrays of :func:`gaussian_block`, allocated once per thread and call.

    2.25 MiB in float64, 1.375 MiB in float32 (tiles of 2**15 pairs). Fresh
    arrays of this size would come from the operating system on every block, at
    the cost of a page fault per 4 KiB.
    """

    def __init__(self, dtype: np.dtype[Any]) -> None:
        n = _STEP_ELEMENTS
        # A third uint64 array holds float32's seeds (gaussian_block).
        self._ints = [np.empty(n, dtype=np.uint64) for _ in range(2 if dtype == np.float64 else 3)]
        self._floats: list[npt.NDArray[Any]]
        self._complex: list[npt.NDArray[Any]]
        if dtype == np.float64:
            self._floats = [np.empty(n) for _ in range(3)]
            self._complex = [np.empty(n, dtype=np.complex128) for _ in range(2)]
        else:
            self._floats = [np.empty(n), *(np.empty(n, dtype=np.float32) for _ in range(3))]
            self._complex = []

    def tile(self, shape: tuple[int, int]) -> tuple[Any, Any, Any]:
        """The two uint64 tiles and the float64 tile every dtype uses."""
        h, t = (a[: shape[0] * shape[1]].reshape(shape) for a in self._ints[:2])
        return h, t, self._floats[0][: shape[0] * shape[1]].reshape(shape)

    def seeds(self, shape: tuple[int, int]) -> Any:
        """A third uint64 tile (float32 only), which lasts across the tiles of a block."""
        return self._ints[2][: shape[0] * shape[1]].reshape(shape)

    def floats(self, shape: tuple[int, int]) -> list[Any]:
        """The dtype's other float tiles: two float64, or three float32."""
        return [a[: shape[0] * shape[1]].reshape(shape) for a in self._floats[1:]]

    def complex(self, shape: tuple[int, int]) -> list[Any]:
        """Two complex128 tiles (float64 only)."""
        return [a[: shape[0] * shape[1]].reshape(shape) for a in self._complex]


def gaussian_rows(
    plan: Plan,
    start: int,
    stop: int,
    out: npt.NDArray[Any] | None = None,
    pool: Executor | None = None,
    scratch: tuple[Scratch, Scratch] | None = None,
) -> npt.NDArray[Any]:
    """Rows ``[start, stop)`` (``start`` even) of the unscaled N(0, 1) matrix, on two threads.

    Written into ``out`` (as for :func:`gaussian_block`; allocated if not given),
    of which the first ``stop - start`` rows are returned. The two threads take
    halves of the memory of ``out``: of the columns in float64 (column-major), of
    the rows in float32 (row-major), so they never write the same cache line.
    With ``pool``, its worker computes the second half while the caller computes
    the first, which saves starting a thread when this is called once per block;
    ``scratch`` holds the two threads' working arrays.
    """
    k, n, dtype = plan.n_components, stop - start, plan.dtype
    if out is None:
        out = empty_rows(n + n % 2, k, dtype)
    first, second = scratch if scratch is not None else (None, None)
    keys = plan.keys
    halves: tuple[tuple[Any, int, int, Any], ...] = ((keys, start, stop, out),)
    if n * k >= _MIN_THREADED_ENTRIES and dtype == np.float64 and k >= 2:
        j = k // 2
        halves = ((keys[:j], start, stop, out[:, :j]), (keys[j:], start, stop, out[:, j:]))
    elif n * k >= _MIN_THREADED_ENTRIES and n > 2:
        i = -(-n // 4) * 2  # even: both halves start on a Box-Muller pair
        halves = ((keys, start, start + i, out[:i]), (keys, start + i, stop, out[i:]))
    if len(halves) == 1:
        gaussian_block(keys, start, stop, dtype, out, first)
        return out[:n]
    with contextlib.ExitStack() as stack:
        if pool is None:
            from concurrent.futures import ThreadPoolExecutor  # lazily: keeps `import mmref` light

            pool = stack.enter_context(ThreadPoolExecutor(max_workers=1))
        (keys_a, a0, a1, out_a), (keys_b, b0, b1, out_b) = halves
        other = pool.submit(gaussian_block, keys_b, b0, b1, dtype, out_b, second)
        try:
            gaussian_block(keys_a, a0, a1, dtype, out_a, first)
        finally:
            other.result()
    return out[:n]


def prefix_rows(n_features: int, n_components: int, dtype: np.dtype[Any], budget: int) -> int:
    """Rows of the matrix cached when it does not fit: what ``budget`` leaves beside the blocks.

    Even (Box-Muller pairs), and 0 when less than a pair fits.
    """
    row_bytes = n_components * dtype.itemsize
    rows = max(0, budget - min(budget, BLOCK_BYTES)) // row_bytes
    return min(n_features, rows) // 2 * 2


def gaussian_product(
    plan: Plan, X2: npt.NDArray[Any], Y: npt.NDArray[Any], batch_size: int, max_matrix_bytes: int
) -> None:
    """``Y = X2 @ G / sqrt(k)`` for a zeroed ``Y``, ``G`` cached or generated per call.

    Memory beyond ``Y`` and the cached rows: the blocks being generated (at most
    ``min(max_matrix_bytes, 8 MiB)`` in all), per worker one ``(batch_size, k)``
    product, for input of another dtype ``batch_size`` converted rows, and the
    generation's working arrays (:class:`Scratch`: 2.25 MiB in float64, 1.4 MiB
    in float32; two of them for the single worker, which generates on two
    threads), and the float64 table of 256 KiB, made once per process.
    """
    dtype = plan.dtype
    if plan.matrix is not None and X2.dtype == dtype:
        # One product, which BLAS runs faster than row chunks. No up-front pass over X2:
        # a NaN or inf in a row makes that row of Y non-finite, and the caller then names
        # the first bad image.
        with blas_threads_for(X2.shape[0] * X2.shape[1] * plan.n_components):
            np.matmul(X2, plan.matrix, out=Y)
    elif plan.matrix is not None:
        with blas_threads_for(min(batch_size, X2.shape[0]) * X2.shape[1] * plan.n_components):
            _chunked_product(X2, plan.matrix, Y, batch_size)
    else:
        # No up-front pass over X2 either: a NaN or inf in a row, or a value that overflows
        # the conversion to float32, makes that row of Y non-finite whichever block holds
        # it, and the caller then names the first bad image.
        with np.errstate(over="ignore", invalid="ignore"):
            _generated_product(plan, X2, Y, batch_size, max_matrix_bytes)
    Y *= dtype.type(plan.scale)


def _controller() -> Any:
    """The BLAS controller of :mod:`mmref._threads` (a seam for the tests)."""
    return blas_controller()


def _generated_product(
    plan: Plan, X2: npt.NDArray[Any], Y: npt.NDArray[Any], batch_size: int, budget: int
) -> None:
    """``Y += X2 @ G`` with ``G`` generated in row blocks during the call (see _BlockProduct)."""
    n, d = X2.shape
    product = _BlockProduct(plan, X2, Y, batch_size, budget)
    controller = _controller() if n * d * plan.n_components >= _MIN_PIPELINED_WORK else None
    if controller is None:
        product.run_serial()
    else:
        product.run_pipelined(controller)


class _BlockProduct:
    """One call's ``Y += X2 @ G``, ``G`` taken in blocks of rows, added in block order.

    The row blocks of ``G`` (the cached prefix first, then generated rows) are
    the same whichever way the call runs, and each chunk of ``batch_size`` output
    rows receives the blocks' products in block order, so the rounding never
    depends on the schedule:

    - :meth:`run_serial`: this thread takes the blocks in order, generating each
      on two threads and multiplying on BLAS's threads;
    - :meth:`run_pipelined`: two workers (BLAS limited to one thread) each claim
      the next block, generate it (one generation at a time), multiply it and add
      it once the blocks before it have been added (:class:`_Schedule`); a driver
      thread runs them so that this thread only waits on a bare lock.
    """

    def __init__(
        self, plan: Plan, X2: npt.NDArray[Any], Y: npt.NDArray[Any], batch_size: int, budget: int
    ) -> None:
        n, d = X2.shape
        k, dtype = plan.n_components, plan.dtype
        self.plan, self.X2, self.Y, self.batch_size = plan, X2, Y, batch_size
        self.dtype = dtype
        self.prefix = plan.prefix if plan.prefix is not None else np.empty((0, k), dtype=dtype)
        c = len(self.prefix)
        # Blocks as for two workers even with one, so the blocks summed, and hence the
        # rounding, do not depend on whether threadpoolctl is installed. The cached rows
        # come first, in blocks of the same size: a long first block would keep the other
        # worker waiting to add its own.
        row_bytes = k * dtype.itemsize
        per_block = max(2, (min(budget, BLOCK_BYTES) // _WORKERS // row_bytes) // 2 * 2)
        self.blocks = [(a, min(a + per_block, c)) for a in range(0, c, per_block)]
        self.blocks += [(a, min(a + per_block, d)) for a in range(c, d, per_block)]
        # Each worker's block holds whole Box-Muller pairs of rows.
        self.width = min(per_block, d - c + (d - c) % 2)
        self.n_chunks = -(-n // batch_size)

    # -- the steps of one block --------------------------------------------------------

    def buffers(self) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
        """One worker's generated block and ``(batch_size, k)`` product."""
        n, k = self.X2.shape[0], self.plan.n_components
        block = empty_rows(self.width, k, self.dtype)
        return block, np.empty((min(self.batch_size, n), k), dtype=self.dtype)

    def cached(self, b: int) -> npt.NDArray[Any] | None:
        """The rows of block ``b`` if they are cached (the prefix), else None."""
        i0, i1 = self.blocks[b]
        return self.prefix[i0:i1] if i1 <= len(self.prefix) else None

    def multiply(self, b: int, rows: npt.NDArray[Any], product: npt.NDArray[Any], add: Any) -> None:
        """``Y += X2[:, i0:i1] @ rows`` for block ``b``, ``batch_size`` images at a time."""
        i0, i1 = self.blocks[b]
        X2, Y, n = self.X2, self.Y, self.X2.shape[0]
        for chunk, r0 in enumerate(range(0, n, self.batch_size)):
            r1 = min(r0 + self.batch_size, n)
            part = product[: r1 - r0]
            np.matmul(X2[r0:r1, i0:i1].astype(self.dtype, copy=False), rows, out=part)
            add(b, chunk, Y[r0:r1], part)

    # -- one worker, this thread ---------------------------------------------------------

    def run_serial(self) -> None:
        """Each block generated on two threads, then a product on BLAS's threads, in order."""
        from concurrent.futures import ThreadPoolExecutor  # lazily: keeps `import mmref` light

        block, product = self.buffers()
        scratch = (Scratch(self.dtype), Scratch(self.dtype))
        with ThreadPoolExecutor(max_workers=1) as pool:
            for b, (i0, i1) in enumerate(self.blocks):
                rows = self.cached(b)
                if rows is None:
                    out = block[: i1 - i0 + (i1 - i0) % 2]
                    rows = gaussian_rows(self.plan, i0, i1, out, pool, scratch)
                self.multiply(b, rows, product, _add)

    # -- two workers -----------------------------------------------------------------------

    def work(self, schedule: _Schedule) -> None:
        """One worker: claim, generate, multiply and add blocks until none is left."""
        block, product = self.buffers()
        scratch = Scratch(self.dtype)
        with np.errstate(over="ignore", invalid="ignore"):  # per thread
            while (b := schedule.claim()) is not None:
                rows = self.cached(b)
                if rows is None:
                    i0, i1 = self.blocks[b]
                    out = block[: i1 - i0 + (i1 - i0) % 2]
                    # One generation at a time: two would contend for the GIL between
                    # NumPy calls, and the other worker's product keeps the core busy.
                    with schedule.generating:
                        gaussian_block(self.plan.keys, i0, i1, self.dtype, out, scratch)
                    rows = out[: i1 - i0]
                self.multiply(b, rows, product, schedule.add_in_order)

    def drive(self, controller: Any, schedule: _Schedule) -> None:
        """Run the workers with BLAS on one thread; re-raise the first real error."""
        from concurrent.futures import ThreadPoolExecutor, wait

        def guarded() -> None:
            try:
                self.work(schedule)
            except BaseException:
                schedule.abort()
                raise

        with single_threaded_blas(controller), ThreadPoolExecutor(_WORKERS) as workers:
            futures = [workers.submit(guarded) for _ in range(_WORKERS)]
            wait(futures)
        errors = [f.exception() for f in futures]
        first = next((e for e in errors if e is not None and not isinstance(e, _Aborted)), None)
        try:
            if first is not None:
                raise first
        finally:
            # The frame would otherwise hold the error, whose traceback holds the frame:
            # the blocks and the output would wait for the garbage collector.
            first = None
            errors.clear()

    def run_pipelined(self, controller: Any) -> None:
        """Start the driver thread and wait for it on a bare lock.

        A KeyboardInterrupt, which Python delivers to the main thread only, then never
        lands inside a lock or condition the workers use (threading's own Thread.start
        and Future.result wait on such conditions, and an interrupt there can leave
        them held): it sets a plain flag the workers poll, and the driver restores the
        BLAS limit once they have stopped.
        """
        import _thread

        schedule = _Schedule(len(self.blocks), self.n_chunks)
        finished = _thread.allocate_lock()
        finished.acquire()
        outcome: list[BaseException] = []
        done: list[bool] = []

        def run_driver() -> None:
            try:
                self.drive(controller, schedule)
            except BaseException as exc:
                outcome.append(exc)
            finally:
                done.append(True)  # before the release: see the except clause below
                finished.release()

        launched = False
        try:
            _thread.start_new_thread(run_driver, ())
            launched = True
            finished.acquire()
        except BaseException:
            schedule.abort()
            # The interrupt may come just after the wait succeeded: then the driver is done.
            # Else wait for it: the workers stop within one chunk (a second Ctrl-C leaves).
            if launched and not done:
                finished.acquire()
            # Otherwise the driver may have started just before the interrupt: it stops at
            # the flag and restores the BLAS limit on its own.
            raise
        if outcome:
            raise outcome.pop()


class _Schedule:
    """Hands out blocks in order and adds products into the output in block order.

    ``add_in_order(b, chunk, ...)`` waits until blocks ``0 .. b-1`` have been
    added into that chunk of rows, so every output entry is summed in the same
    order whatever the workers' timing. ``abort()`` is a plain store, safe from
    any thread at any moment: waiters poll it.
    """

    def __init__(self, n_blocks: int, n_chunks: int) -> None:
        self.generating = threading.Lock()
        self.aborted = False
        self._claim_lock = threading.Lock()
        self._next = 0
        self._n_blocks = n_blocks
        self._done = [0] * n_chunks
        self._changed = threading.Condition()

    def claim(self) -> int | None:
        with self._claim_lock:
            if self.aborted or self._next >= self._n_blocks:
                return None
            self._next += 1
            return self._next - 1

    def add_in_order(self, block: int, chunk: int, target: Any, part: Any) -> None:
        if self.aborted:  # checked once per chunk: a stopped call ends within one product
            raise _Aborted
        with self._changed:
            while self._done[chunk] != block:
                if self.aborted:
                    raise _Aborted
                self._changed.wait(_POLL_SECONDS)
        # Only this worker may touch these rows now: the next block waits for the count.
        target += part
        with self._changed:
            self._done[chunk] += 1
            self._changed.notify_all()

    def abort(self) -> None:
        self.aborted = True


def _add(block: int, chunk: int, target: Any, part: Any) -> None:
    """``add_in_order`` for a single worker, whose blocks come in order anyway."""
    target += part


class _Aborted(Exception):
    """Raised in a worker whose turn will never come because the call was stopped."""


def _chunked_product(
    X2: npt.NDArray[Any], matrix: npt.NDArray[Any], Y: npt.NDArray[Any], batch_size: int
) -> None:
    """``Y = X2 @ matrix``, converting ``batch_size`` images to ``Y.dtype`` at a time."""
    with np.errstate(over="ignore", invalid="ignore"):
        for r0 in range(0, X2.shape[0], batch_size):
            r1 = min(r0 + batch_size, X2.shape[0])
            np.matmul(X2[r0:r1].astype(Y.dtype, copy=False), matrix, out=Y[r0:r1])


def _counters(first: int, q0: int, q1: int) -> npt.NDArray[np.uint64]:
    """Stream counters ``(m + 1) * GOLDEN`` of pairs ``m = first + q0 .. first + q1 - 1``."""
    counters = np.arange(first + q0 + 1, first + q1 + 1, dtype=np.uint64)
    counters *= _GOLDEN
    return counters


def _polar64(h: Any, t: Any, log_u1: Any, work: Scratch, z: Any) -> None:
    """float64 ``r (cos(theta) + i sin(theta))`` into ``z``; ``r**2 = -2 log_u1``."""
    beta, beta2 = work.floats(h.shape)
    rotation, turn = work.complex(h.shape)
    log_u1 *= -2.0
    radius = np.sqrt(log_u1, out=log_u1)
    # theta = 2 pi (hi * 2**18 + lo) / 2**32 with hi the top 14 of the low 32 bits:
    # e^(i 2 pi hi / 16384) from the table, rotated by beta = 2 pi lo / 2**32 < 2 pi / 16384.
    np.right_shift(h, _U64(18), out=t)
    t &= _U64(_TABLE_SIZE - 1)
    np.take(_turn_table(), t.view(np.int64), out=turn, mode="clip")
    np.bitwise_and(h, _U64(0x3FFFF), out=t)
    np.multiply(t.view(np.int64), 2.0 * np.pi * 2.0**-32, out=beta)
    np.multiply(beta, beta, out=beta2)
    # cos(beta) = 1 - beta^2/2 and sin(beta) = beta - beta^3/6: the next terms, beta^4/24
    # and beta^5/120, are below 9.1e-16 and 7e-20. h is free now and holds cos(beta).
    cos_beta = np.multiply(beta2, -0.5, out=h.view(np.float64))
    cos_beta += 1.0
    np.multiply(cos_beta, radius, out=rotation.real)
    sin_beta = beta2
    sin_beta *= -1.0 / 6.0
    sin_beta += 1.0
    sin_beta *= beta
    np.multiply(sin_beta, radius, out=rotation.imag)
    np.multiply(turn, rotation, out=z)


def _polar32(h: Any, t: Any, log_u1: Any, work: Scratch, even: Any, odd: Any) -> None:
    """float32 ``r cos(theta)`` into ``even`` and ``r sin(theta)`` into ``odd``.

    ``r = sqrt(-2 log_u1)``, within 1 ulp of its float32 rounding.
    """
    radius, theta, trig = work.floats(h.shape)
    # The product by -2 is exact in float64 and rounded to float32 once.
    np.multiply(log_u1, -2.0, out=radius, casting="same_kind")
    np.sqrt(radius, out=radius)
    # theta from the low 32 bits, read as uint32 (converted to float64 exactly, then the
    # product rounded to float32), which is cheaper than masking and converting int64.
    np.multiply(h.view(np.uint32)[:, _LOW_WORD::2], _TURN32, out=theta, casting="same_kind")
    np.cos(theta, out=trig)
    np.multiply(trig, radius, out=even)
    np.sin(theta, out=trig)
    np.multiply(trig, radius, out=odd)


@functools.cache
def _turn_table() -> npt.NDArray[np.complex128]:
    """``e^(i 2 pi i / 16384)``, ``i < 16384`` (computed once, read-only)."""
    angles = np.arange(_TABLE_SIZE, dtype=np.float64) * (2.0 * np.pi / _TABLE_SIZE)
    table = np.cos(angles) + 1j * np.sin(angles)
    table.flags.writeable = False  # shared by every call
    return table
