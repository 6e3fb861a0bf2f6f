"""BLAS threads chosen per operation (mmref/_threads.py): limits, restoring, concurrency, results.

Behaviour only: which thread counts BLAS has inside and after a call, never how
long anything takes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
import warnings
from typing import Any

import numpy as np
import pytest

from mmref import _threads
from mmref.classifiers import NearestCentroidClassifier, RidgeClassifier, SoftmaxClassifier
from mmref.image import RandomProjectionImageEncoder

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_threads() -> list[int]:
    info = threadpoolctl.threadpool_info()
    return [lib["num_threads"] for lib in info if lib["user_api"] == "blas"]


@pytest.fixture(scope="module", autouse=True)
def _needs_a_controllable_blas() -> None:
    if _threads.blas_controller() is None:
        pytest.skip("no BLAS threadpoolctl can limit process-wide")


def test_a_small_operation_runs_on_one_thread_and_the_settings_come_back() -> None:
    before = _blas_threads()
    with _threads.blas_threads_for(_threads.SMALL_WORK - 1) as limited:
        assert limited is True
        assert set(_blas_threads()) == {1}
    assert _blas_threads() == before


def test_a_large_operation_keeps_the_callers_settings() -> None:
    before = _blas_threads()
    with _threads.blas_threads_for(_threads.SMALL_WORK) as limited:
        assert limited is False
        assert _blas_threads() == before
    assert _blas_threads() == before


def test_the_settings_come_back_after_an_exception() -> None:
    before = _blas_threads()
    with pytest.raises(RuntimeError, match="inside"), _threads.blas_threads_for(1):
        assert set(_blas_threads()) == {1}
        raise RuntimeError("inside")
    assert _blas_threads() == before
    assert _threads._CONTROL["users"] == 0


def test_nested_limits_hold_until_the_outermost_leaves() -> None:
    before = _blas_threads()
    with _threads.single_threaded_blas() as outer:
        assert outer is True
        with _threads.blas_threads_for(1) as inner:
            assert inner is True
            assert set(_blas_threads()) == {1}
        assert set(_blas_threads()) == {1}  # the outer user still holds the limit
    assert _blas_threads() == before


def test_concurrent_users_each_run_on_their_own_thread_count() -> None:
    before = _blas_threads()
    n_threads, rounds = 6, 40
    start = threading.Barrier(n_threads)
    seen: list[tuple[bool, list[int]]] = []
    errors: list[BaseException] = []

    def user(index: int) -> None:
        small = index % 2 == 0
        work = 1 if small else _threads.SMALL_WORK
        try:
            start.wait()
            for i in range(rounds):
                # Entries and exits of the threads interleave; some raise on the way out.
                failing = (index + i) % 5 == 0
                raising = pytest.raises(ValueError) if failing else contextlib.nullcontext()
                with raising, _threads.blas_threads_for(work):
                    seen.append((small, _blas_threads()))
                    if failing:
                        raise ValueError("failed inside")
        except BaseException as exc:  # reported below: a thread's failure is not the test's
            errors.append(exc)

    workers = [threading.Thread(target=user, args=(i,)) for i in range(n_threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert len(seen) == n_threads * rounds
    # Never lifted under a small user, never set under a large one.
    assert all(threads == ([1] * len(before) if small else before) for small, threads in seen)
    assert _blas_threads() == before
    assert _threads._CONTROL["users"] == 0
    assert _threads._ROOM_STATE == {"mode": None, "inside": 0, "waiting": [0, 0]}


def test_without_a_controller_nothing_is_limited(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_threads, "blas_controller", lambda: None)
    before = _blas_threads()
    with _threads.blas_threads_for(1) as limited:
        assert limited is False
        assert _blas_threads() == before


def test_a_failing_threadpoolctl_means_no_controller(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> Any:
        raise OSError("cannot read the loaded libraries")

    monkeypatch.setattr(threadpoolctl, "ThreadpoolController", broken)
    monkeypatch.setattr(_threads, "_FOUND", {"modules": -1, "controller": None})
    assert _threads.blas_controller() is None


def test_the_controller_is_found_again_after_an_import(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_threads, "_FOUND", {"modules": -1, "controller": None})
    first = _threads.blas_controller()
    assert first is not None
    assert _threads.blas_controller() is first  # kept while no module is imported
    monkeypatch.setitem(sys.modules, "mmref_test_new_module", object())
    assert _threads.blas_controller() is not first


def _fit_and_predict(make: Any) -> bytes:
    rng = np.random.default_rng(7)
    X = rng.normal(size=(1500, 256))  # large enough for OpenBLAS to use two threads
    y = rng.integers(0, 5, size=1500)
    model = make().fit(X, y)
    return model.predict(X).tobytes() + np.asarray(getattr(model, "coef_", 0.0)).tobytes()


@pytest.mark.parametrize(
    "make",
    [
        lambda: SoftmaxClassifier(max_iter=30),
        lambda: RidgeClassifier(alpha=0.5),
        NearestCentroidClassifier,
    ],
    ids=["softmax", "ridge", "centroid"],
)
def test_small_results_do_not_depend_on_the_callers_thread_count(make: Any) -> None:
    # OpenBLAS's last bits depend on its thread count; mmref picks one thread here.
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        one = _fit_and_predict(make)
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        two = _fit_and_predict(make)
    assert one == two


def test_a_small_projection_does_not_depend_on_the_callers_thread_count() -> None:
    X = np.random.default_rng(3).random((500, 784)).astype(np.float32)
    encoder = RandomProjectionImageEncoder(n_components=64, method="gaussian", seed=1)
    encoder.fit(X)
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        one = encoder.transform(X)
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        two = encoder.transform(X)
    assert one.tobytes() == two.tobytes()


def test_a_large_operation_waits_for_the_small_ones_beside_it() -> None:
    before = _blas_threads()
    inside, release = threading.Event(), threading.Event()
    log: list[tuple[str, list[int]]] = []

    def small() -> None:
        with _threads.blas_threads_for(1):
            log.append(("small in", _blas_threads()))
            inside.set()
            release.wait(timeout=60)
            log.append(("small out", _blas_threads()))

    def large() -> None:
        with _threads.blas_threads_for(_threads.SMALL_WORK):
            log.append(("large", _blas_threads()))

    first = threading.Thread(target=small)
    first.start()
    assert inside.wait(timeout=60)
    second = threading.Thread(target=large)
    second.start()
    # Behaviour, not timing: the large operation has not run while the small one holds
    # the limit, however long we give it; then it runs on the caller's threads.
    second.join(timeout=0.2)
    assert [entry for entry, _ in log] == ["small in"]
    release.set()
    first.join()
    second.join()
    assert log == [("small in", [1] * len(before)), ("small out", [1] * len(before)),
                   ("large", before)]  # fmt: skip
    assert _blas_threads() == before


def test_an_operation_nested_in_another_runs_on_its_callers_threads() -> None:
    before = _blas_threads()
    with _threads.blas_threads_for(1), _threads.blas_threads_for(_threads.SMALL_WORK) as inner:
        assert inner is True  # no deadlock, and the caller's one thread holds
        assert set(_blas_threads()) == {1}
    with _threads.blas_threads_for(_threads.SMALL_WORK), _threads.blas_threads_for(1):
        assert _blas_threads() == before
    assert _blas_threads() == before


def test_a_small_fit_runs_its_optimizer_on_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[int]] = []
    original = SoftmaxClassifier._fit

    def recording(self: Any, *args: Any) -> None:
        seen.append(_blas_threads())
        original(self, *args)

    monkeypatch.setattr(SoftmaxClassifier, "_fit", recording)
    before = _blas_threads()
    rng = np.random.default_rng(0)
    SoftmaxClassifier().fit(rng.normal(size=(50, 8)), rng.integers(0, 3, size=50))
    assert seen and set(seen[0]) == {1}
    assert _blas_threads() == before


def test_a_failing_fit_restores_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(self: Any, *args: Any) -> None:
        assert set(_blas_threads()) == {1}
        raise MemoryError("no room")

    monkeypatch.setattr(SoftmaxClassifier, "_fit", failing)
    before = _blas_threads()
    rng = np.random.default_rng(0)
    with pytest.raises(MemoryError, match="no room"):
        SoftmaxClassifier().fit(rng.normal(size=(50, 8)), rng.integers(0, 3, size=50))
    assert _blas_threads() == before


@pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="no signal masks here")
def test_the_control_thread_never_takes_a_signal() -> None:
    # Python runs signal handlers in the main thread only: a Ctrl-C handed by the kernel
    # to the long-lived control thread (macOS may pick any thread that does not block
    # it) would leave a main thread blocked in a read (the captions of `mmref embed`
    # from a pipe) asleep for good.
    with _threads.single_threaded_blas():
        pass
    threads = [t for t in threading.enumerate() if t.name.startswith("mmref-blas")]
    assert threads, "the control thread was not started"
    # The thread's own mask, read inside it: an empty change returns the current mask.
    mask = _threads._submit(signal.pthread_sigmask, signal.SIG_BLOCK, []).result()
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            assert getattr(signal, name) in mask, name


def _fork() -> int:
    with warnings.catch_warnings():
        # Python 3.12+ warns that forking a process with threads may deadlock: that is
        # exactly the case under test.
        warnings.simplefilter("ignore", DeprecationWarning)
        return os.fork()


def _wait(pid: int) -> int:
    """The child's exit status; a child still running after 600 s is killed (-9).

    A safety net, not a timing: the failure these tests catch is a child waiting for
    ever on a thread it does not have.
    """
    deadline = time.monotonic() + 600
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return -9
        time.sleep(0.05)


def _in_a_forked_child(body: Any) -> int:
    """Run ``body()`` in a forked child; its exit status is 0 if it returned True."""
    pid = _fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            code = 0 if body() else 2
        finally:
            os._exit(code)
    return _wait(pid)


fork_only = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")


@fork_only
def test_a_forked_child_can_fit_after_its_parent_did() -> None:
    # multiprocessing's "fork" start method, forking servers and mutmut all fork a
    # process that has used the classifiers (and so started the control thread).
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 8)), rng.integers(0, 3, size=60)
    expected = SoftmaxClassifier().fit(X, y).coef_

    def child() -> bool:
        return bool(np.array_equal(SoftmaxClassifier().fit(X, y).coef_, expected))

    assert _in_a_forked_child(child) == 0


@fork_only
def test_a_limit_held_by_another_thread_at_the_fork_is_lifted_in_the_child() -> None:
    before = _blas_threads()
    inside, leave = threading.Event(), threading.Event()

    def hold() -> None:
        with _threads.single_threaded_blas():
            inside.set()
            leave.wait()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert inside.wait(600)

        def child() -> bool:
            # That thread never leaves its block in the child: its limit must not stick,
            # and operations of either kind must not wait for it.
            with _threads.blas_threads_for(_threads.SMALL_WORK) as limited:
                large = not limited and _blas_threads() == before
            with _threads.blas_threads_for(1) as limited:
                small = limited and set(_blas_threads()) == {1}
            return large and small and _blas_threads() == before

        assert _in_a_forked_child(child) == 0
    finally:
        leave.set()
        holder.join()
    assert _blas_threads() == before


@fork_only
def test_a_limit_the_forking_thread_holds_is_released_in_the_child_as_it_leaves() -> None:
    before = _blas_threads()
    pid = -1
    try:
        with _threads.single_threaded_blas():
            pid = _fork()
            assert set(_blas_threads()) == {1}
        if pid == 0:  # pragma: no cover - the child, now out of its block
            with _threads.blas_threads_for(1) as limited:
                assert limited
            assert _blas_threads() == before
    finally:
        if pid == 0:  # pragma: no cover - the child: an assertion above failing exits 1
            os._exit(0 if sys.exc_info()[0] is None else 1)
    assert _wait(pid) == 0
    assert _blas_threads() == before


def test_factorizations_and_the_optimizer_run_on_one_thread_whatever_their_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # LAPACK's many small BLAS calls and L-BFGS's thin products gain nothing from a
    # second thread idle and lose 20-60x with one core busy: one thread at any size.
    import scipy.linalg

    from mmref.alignment import CCAAlignment

    before = _blas_threads()
    if max(before, default=1) < 2:
        pytest.skip("BLAS runs on one thread here: nothing to tell apart")
    monkeypatch.setattr(_threads, "SMALL_WORK", 0)  # every product counts as large
    seen: dict[str, list[int]] = {}

    def recording(name: str, function: Any) -> Any:
        def record(*args: Any, **kwargs: Any) -> Any:
            seen.setdefault(name, []).extend(_blas_threads())
            return function(*args, **kwargs)

        return record

    for name in ("cho_factor", "cho_solve", "lstsq", "cholesky", "solve_triangular", "svd"):
        monkeypatch.setattr(scipy.linalg, name, recording(name, getattr(scipy.linalg, name)))
    monkeypatch.setattr(SoftmaxClassifier, "_fit", recording("softmax", SoftmaxClassifier._fit))
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 8)), rng.integers(0, 3, size=60)
    SoftmaxClassifier().fit(X, y)
    RidgeClassifier().fit(X, y)  # positive definite: Cholesky
    RidgeClassifier(alpha=0.0).fit(np.ones((60, 8)), y)  # singular: least squares
    CCAAlignment(n_components=2).fit(X[:, :4], X[:, 4:] + rng.normal(size=(60, 4)))
    assert set(seen) == {
        "softmax",
        "cho_factor",
        "cho_solve",
        "lstsq",
        "cholesky",
        "solve_triangular",
        "svd",
    }
    assert {name: set(threads) for name, threads in seen.items()} == {name: {1} for name in seen}
    assert _blas_threads() == before


def test_a_large_product_beside_a_factorization_keeps_the_callers_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The Gram product of a ridge fit is chosen by its size; only its solve is limited.
    before = _blas_threads()
    if max(before, default=1) < 2:
        pytest.skip("BLAS runs on one thread here: nothing to tell apart")
    monkeypatch.setattr(_threads, "SMALL_WORK", 0)
    seen: list[list[int]] = []
    original = _threads.blas_threads_for

    @contextlib.contextmanager
    def recording(work: int) -> Any:
        with original(work) as limited:
            seen.append(_blas_threads())
            yield limited

    monkeypatch.setattr("mmref.classifiers.blas_threads_for", recording)
    rng = np.random.default_rng(0)
    RidgeClassifier().fit(rng.normal(size=(60, 8)), rng.integers(0, 3, size=60))
    assert seen == [before]
