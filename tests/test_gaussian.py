"""The Gaussian matrix generated per call (mmref/_gaussian.py): blocks, workers, BLAS limits.

The entries themselves are checked against a scalar transcription of SPEC 4.5 in
tests/test_image.py; here the product that applies them is checked against the
same product with the whole matrix cached, on every code path.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import numpy as np
import pytest
from helpers import images

from mmref import _gaussian, _projection, _threads
from mmref.image import RandomProjectionImageEncoder

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_threads() -> list[int]:
    info = threadpoolctl.threadpool_info()
    return [lib["num_threads"] for lib in info if lib["user_api"] == "blas"]


@pytest.fixture
def pipelined(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the two-worker pipeline even on test-sized inputs."""
    monkeypatch.setattr(_gaussian, "_MIN_PIPELINED_WORK", 0)


def _encoder(**params: Any) -> RandomProjectionImageEncoder:
    defaults: dict[str, Any] = {"n_components": 24, "method": "gaussian", "normalize": False}
    return RandomProjectionImageEncoder(**(defaults | params))


def _encode(X: np.ndarray[Any, Any], **params: Any) -> np.ndarray[Any, Any]:
    result: np.ndarray[Any, Any] = _encoder(image_shape=(X.shape[1],), **params).encode_image(X)
    return result


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("batch_size", [7, 1000])
def test_generated_product_equals_the_cached_product(
    pipelined: None, dtype: Any, batch_size: int
) -> None:
    X = images(50, (3000,))
    cached = _encode(X, dtype=dtype)
    # 20 kB: no cached rows, blocks of a few rows, many blocks for two workers to share.
    generated = _encode(X, dtype=dtype, max_matrix_bytes=20_000, batch_size=batch_size)
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(generated, cached, rtol=rtol, atol=rtol * np.abs(cached).max())


def test_workers_and_threadpoolctl_do_not_change_the_result(
    pipelined: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    X = np.random.default_rng(1).normal(size=(40, 5000))
    two_workers = _encode(X, max_matrix_bytes=30_000)
    monkeypatch.setattr(_gaussian, "_controller", lambda: None)  # as without threadpoolctl
    one_worker = _encode(X, max_matrix_bytes=30_000)
    # The same blocks are summed in the same order, by BLAS on one thread or two: equal here
    # (BLAS's own threading could change the rounding of a product on another machine).
    assert two_workers.tobytes() == one_worker.tobytes()


def test_the_rows_that_fit_beside_the_blocks_are_cached() -> None:
    d, k = 20_000, 64  # a 10 MiB float64 matrix, over the 9 MiB budget
    budget = 9 * 2**20
    encoder = _encoder(n_components=k, max_matrix_bytes=budget, image_shape=(d,))
    X = images(3, (d,))
    Y = encoder.encode_image(X)
    plan = encoder._cache[1]
    assert plan.matrix is None and plan.prefix is not None
    assert plan.prefix.nbytes + _gaussian.BLOCK_BYTES <= budget
    assert len(plan.prefix) == (budget - _gaussian.BLOCK_BYTES) // (k * 8) // 2 * 2 > 0
    full = _encode(X, n_components=k, max_matrix_bytes=2**30)
    np.testing.assert_allclose(Y, full, rtol=1e-12, atol=1e-12 * np.abs(full).max())
    assert _gaussian.prefix_rows(d, k, np.dtype(np.float64), 2**23) == 0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("k", "start", "stop"), [(5, 0, 9), (40, 6, 61), (3, 2, 700)])
@pytest.mark.parametrize("step", [1, 7, 64])
def test_tiles_of_any_size_give_the_same_entries(
    monkeypatch: pytest.MonkeyPatch, dtype: Any, k: int, start: int, stop: int, step: int
) -> None:
    # Small steps take every branch of the tiling: tiles narrower than a row of columns,
    # rows of pairs longer than a tile, partial last tiles, odd row counts.
    keys = _projection.column_keys(3, (2, 4000), k)
    dt = np.dtype(dtype)

    def block() -> np.ndarray[Any, Any]:
        n = stop - start
        out = _gaussian.empty_rows(n + n % 2, k, dt)
        _gaussian.gaussian_block(keys, start, stop, dt, out)
        return out

    expected = block()
    monkeypatch.setattr(_gaussian, "_STEP_ELEMENTS", step)
    assert block().tobytes() == expected.tobytes()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("k", "start", "stop"), [(2, 0, 9), (3, 6, 61), (5, 2, 301), (1, 4, 99)])
def test_two_threads_give_the_entries_of_one(
    monkeypatch: pytest.MonkeyPatch, dtype: Any, k: int, start: int, stop: int
) -> None:
    # gaussian_rows splits columns (float64) or rows (float32) between two threads.
    monkeypatch.setattr(_gaussian, "_MIN_THREADED_ENTRIES", 1)
    dt = np.dtype(dtype)
    plan = _projection.Plan(method="gaussian", n_features=4000, n_components=k, dtype=dt)
    plan.keys = _projection.column_keys(5, (2, 4000), k)
    n = stop - start
    one = _gaussian.empty_rows(n + n % 2, k, dt)
    _gaussian.gaussian_block(plan.keys, start, stop, dt, one)
    two = _gaussian.gaussian_rows(plan, start, stop)
    assert two.shape == (n, k)
    assert two.tobytes() == one[:n].tobytes()


def test_a_failing_worker_stops_the_call_and_restores_blas(
    pipelined: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _blas_threads()
    original = _gaussian.gaussian_block
    calls = []

    def failing(keys: Any, start: int, stop: int, dtype: Any, out: Any, *rest: Any) -> None:
        calls.append(start)
        if len(calls) == 3:
            raise MemoryError("no room for block")
        original(keys, start, stop, dtype, out, *rest)

    monkeypatch.setattr(_gaussian, "gaussian_block", failing)
    with pytest.raises(MemoryError, match="no room for block"):
        _encode(images(20, (4000,)), max_matrix_bytes=20_000)
    assert len(calls) < 20  # the other worker stopped instead of finishing every block
    assert _blas_threads() == before


def test_values_too_large_for_float32_are_named_on_the_generated_path(pipelined: None) -> None:
    X = np.ones((30, 3000))
    X[17, 2999] = 1e39
    with pytest.raises(ValueError, match="Image 17 has pixel values too large for float32"):
        _encode(X, dtype=np.float32, max_matrix_bytes=20_000)
    X[17, 2999], X[9, 5] = 1.0, np.nan
    with pytest.raises(ValueError, match="Image 9 contains NaN"):
        _encode(X, dtype=np.float32, max_matrix_bytes=20_000)


def test_two_workers_generate_with_blas_on_one_thread(
    pipelined: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    original, seen = _gaussian.gaussian_block, []

    def recording(*args: Any) -> None:
        seen.append((threading.get_ident(), tuple(_blas_threads())))
        original(*args)

    monkeypatch.setattr(_gaussian, "gaussian_block", recording)
    before = _blas_threads()
    _encode(images(30, (4000,)), max_matrix_bytes=20_000)
    assert len({ident for ident, _ in seen}) == 2
    assert threading.get_ident() not in {ident for ident, _ in seen}
    assert {threads for _, threads in seen} == {(1,) * len(before)}
    assert _blas_threads() == before


def test_blocks_finishing_out_of_order_are_added_in_order(
    pipelined: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    X = np.random.default_rng(2).normal(size=(30, 4000))
    serial = _encode(X, max_matrix_bytes=20_000, normalize=True)
    original = _gaussian.gaussian_block

    def uneven(keys: Any, start: int, stop: int, dtype: Any, out: Any, *rest: Any) -> None:
        original(keys, start, stop, dtype, out, *rest)
        if (start // (stop - start)) % 3 == 0:  # every third block's worker falls behind
            time.sleep(0.002)

    monkeypatch.setattr(_gaussian, "gaussian_block", uneven)
    assert _encode(X, max_matrix_bytes=20_000, normalize=True).tobytes() == serial.tobytes()


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="POSIX signals")
def test_an_interrupt_stops_the_workers_and_restores_blas(
    pipelined: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Behaviour, not timing: once the interrupt has stopped the call, no worker starts
    # another block (each may finish the one it holds), the workers have exited by the
    # time KeyboardInterrupt reaches the caller, and the BLAS limits are restored.
    stopped = threading.Event()

    class Recording(_gaussian._Schedule):  # type: ignore[misc]
        def abort(self) -> None:
            super().abort()
            stopped.set()

    original, calls, at_stop = _gaussian.gaussian_block, [], []
    caller = threading.get_ident()

    def interrupting(*args: Any) -> None:
        calls.append(1)
        if len(calls) == 3:
            # Ctrl-C, delivered to the calling thread: a signal sent to the process may land
            # on any thread that does not block it, and the wait would then never see it.
            signal.pthread_kill(caller, signal.SIGINT)
            # However busy the machine, this worker goes on only once the main thread
            # has acted on the interrupt (the wait's bound only turns a hang into a failure).
            assert stopped.wait(timeout=120)
            at_stop.append(len(calls))
        original(*args)

    monkeypatch.setattr(_gaussian, "_Schedule", Recording)
    monkeypatch.setattr(_gaussian, "gaussian_block", interrupting)
    before, threads_before = _blas_threads(), set(threading.enumerate())
    # Ctrl-C as in a terminal, also when the test runner was started with SIGINT ignored
    # (a background job of a non-interactive shell, nohup).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            _encode(images(20, (40_000,)), max_matrix_bytes=20_000)  # about 800 blocks
    finally:
        signal.signal(signal.SIGINT, previous)
    assert at_stop, "the interrupt did not stop the call"
    # The other worker may have claimed one block before the stop; nothing after it.
    assert len(calls) - at_stop[0] <= _gaussian._WORKERS - 1
    # The call's pools (the workers', the generation's) have no thread left running.
    new_threads = set(threading.enumerate()) - threads_before
    assert [t.name for t in new_threads if t.name.startswith("ThreadPoolExecutor")] == []
    assert _blas_threads() == before
    assert _threads._CONTROL["users"] == 0


def test_a_failing_threadpoolctl_only_costs_the_pipeline(
    pipelined: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    X = images(20, (3000,))
    expected = _encode(X, max_matrix_bytes=20_000)

    def broken() -> Any:
        raise OSError("cannot read the loaded libraries")

    monkeypatch.setattr(threadpoolctl, "ThreadpoolController", broken)
    monkeypatch.setattr(_threads, "_FOUND", {"modules": -1, "controller": None})
    assert _gaussian._controller() is None
    assert _encode(X, max_matrix_bytes=20_000).tobytes() == expected.tobytes()
