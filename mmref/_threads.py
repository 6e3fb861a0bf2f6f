"""BLAS thread counts chosen per operation (private).

A multi-threaded BLAS (OpenBLAS, MKL) splits every product above a small size
over all its threads, and its threads spin-wait between calls. On an idle
machine that pays from about ``2**27`` multiply-adds up. Below that, and on a
machine where another process holds a core, the second thread only waits for
its core: the optimizer loop of ``SoftmaxClassifier.fit`` on ``(1500, 1280)``,
a few million multiply-adds per product, ran 7x slower on two threads than on
one with one core busy (issue 19). So an operation whose single largest product
has fewer than :data:`SMALL_WORK` multiply-adds runs with BLAS limited to one
thread (:func:`blas_threads_for`); larger ones keep the caller's settings.
LAPACK factorizations (Cholesky, SVD, triangular solves) and optimizer loops of
thin products run on one thread whatever their size (:func:`single_threaded_blas`):
their many small BLAS calls each wait for the slowest thread, so a second one was
no faster idle and 20-60x slower with one core busy.

The thread count does change the last bits of a product: OpenBLAS splits
some products' sums over its threads (SPEC section 9 says so for the shared
embedding space), so an operation must run on the thread count its size
chose, whatever runs beside it. The limit is process-wide (BLAS keeps one
thread pool per library), so concurrent small operations share it (the first
one in sets it, the last one out restores the thread counts it found) and a
large operation waits until none holds it, as small ones wait for a large one
to finish; newcomers queue behind a waiter of the other kind, so neither
starves. An operation nested in another (in the same thread) runs on its
caller's thread count. Code inside a block must not wait for another thread
that enters one (it could wait for ever): mmref's blocks hold BLAS calls only.
Every change is made by one dedicated thread, because OpenBLAS
lets only the thread that set a limit change it again, and the jobs run in the
order they were submitted, so each limit taken is released exactly once, also
when the caller is interrupted (``KeyboardInterrupt``) or its operation fails.
A process forked from one that used the control thread (``multiprocessing``'s
``fork``, a forking server, mutmut) has only the forking thread: it starts a
control thread of its own and forgets the waiters and locks of threads it does
not have, and a one-thread limit held only by them is lifted there on first use
(:func:`_after_fork`); without that, its first operation would wait for ever.

threadpoolctl (a small pure-Python dependency) finds and sets the BLAS
libraries' thread counts; it is imported on first use, not with ``import
mmref``. Without it, or when it fails, nothing is limited: only speed is lost.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["SMALL_WORK", "blas_controller", "blas_threads_for", "single_threaded_blas"]

#: Products with fewer multiply-adds than this run with BLAS on one thread.
SMALL_WORK = 1 << 27


@contextlib.contextmanager
def blas_threads_for(work: int) -> Iterator[bool]:
    """BLAS on one thread while inside if ``work < SMALL_WORK``; yields whether it is limited.

    A larger operation runs with the caller's settings, and waits until no
    concurrent small operation holds the one-thread limit (and small ones wait
    for it), so that every operation runs on the thread count its size chose.

    Parameters
    ----------
    work : int
        Multiply-adds of the largest single BLAS product the block runs (for
        ``(n, d) @ (d, k)``, ``n * d * k``).
    """
    if work < SMALL_WORK:
        with single_threaded_blas() as limited:
            yield limited
        return
    controller = blas_controller()
    if controller is None:
        yield False
        return
    _lift_orphaned()
    with _room(_MANY) as (mode, _):
        yield mode == _ONE


@contextlib.contextmanager
def single_threaded_blas(controller: Any = None) -> Iterator[bool]:
    """Limit BLAS to one thread while inside; yields whether that could be done.

    The caller's thread counts are restored when the last concurrent user
    leaves, on return and on an exception alike.

    Parameters
    ----------
    controller : threadpoolctl.ThreadpoolController, optional
        The BLAS libraries to limit; by default those :func:`blas_controller` finds.
    """
    if controller is None:
        controller = blas_controller()
    if controller is None:
        yield False
        return
    with _room(_ONE) as (mode, outermost):
        if not outermost:  # nested: the caller's thread count holds
            yield mode == _ONE
            return
        _lift_orphaned()
        limited = None
        try:
            limited = _submit(_limit, controller)
            limited.result()
            yield True
        finally:
            if limited is not None:
                # Submitted after the limit, so it runs after it in the one control thread,
                # even if an interrupt stopped the wait above.
                _submit(_unlimit).result()


_ONE, _MANY = 0, 1
# Operations on one thread (_ONE) and on the caller's threads (_MANY) never overlap:
# "mode" is the kind inside (None: nobody), "inside" how many, "waiting" per kind.
_ROOM = threading.Condition(threading.Lock())
_ROOM_STATE: dict[str, Any] = {"mode": None, "inside": 0, "waiting": [0, 0]}
# Per thread: the kind it is inside, if any (a nested operation joins its caller's).
_DEPTH = threading.local()


@contextlib.contextmanager
def _room(mode: int) -> Iterator[tuple[int, bool]]:
    """Wait until operations of kind ``mode`` may run; yield (kind in force, outermost)."""
    outer = getattr(_DEPTH, "mode", None)
    if outer is not None:
        yield outer, False
        return
    state = _ROOM_STATE
    with _ROOM:
        state["waiting"][mode] += 1
        try:
            # Fair: while the other kind waits, newcomers of the kind inside queue too.
            while state["mode"] not in (None, mode) or (
                state["mode"] == mode and state["waiting"][1 - mode] > 0
            ):
                _ROOM.wait()
        finally:
            state["waiting"][mode] -= 1
        state["mode"] = mode
        state["inside"] += 1
    _DEPTH.mode = mode
    try:
        yield mode, True
    finally:
        _DEPTH.mode = None
        with _ROOM:
            state["inside"] -= 1
            if state["inside"] == 0:
                state["mode"] = None
            _ROOM.notify_all()


# Only the control thread reads or writes this (see single_threaded_blas).
_CONTROL: dict[str, Any] = {"executor": None, "users": 0, "saved": [], "orphaned": []}
_CONTROL_LOCK = threading.Lock()
# The last controller found and the module count it was found at (see blas_controller).
_FOUND: dict[str, Any] = {"modules": -1, "controller": None}


def _submit(job: Any, *args: Any) -> Any:
    """Queue ``job(*args)`` in the BLAS control thread; return its future."""
    with _CONTROL_LOCK:
        if _CONTROL["executor"] is None:
            from concurrent.futures import ThreadPoolExecutor  # lazily: keeps `import mmref` light

            _CONTROL["executor"] = ThreadPoolExecutor(
                1, thread_name_prefix="mmref-blas", initializer=_block_signals
            )
        executor = _CONTROL["executor"]
    return executor.submit(job, *args)


def _after_fork() -> None:
    # In a forked child only the forking thread runs: the parent's control thread and
    # every waiter are gone, and a lock one of them held would stay held for ever.
    global _ROOM, _CONTROL_LOCK
    _ROOM = threading.Condition(threading.Lock())
    _CONTROL_LOCK = threading.Lock()
    _CONTROL["executor"] = None
    mode = getattr(_DEPTH, "mode", None)
    _ROOM_STATE.update(mode=mode, inside=0 if mode is None else 1, waiting=[0, 0])
    # The one-thread limit this thread holds, if any, is released when it leaves its
    # block; one held only by threads the child lacks is lifted on first use.
    own = 1 if mode == _ONE else 0
    if _CONTROL["users"] > own:
        _CONTROL["users"] = own
        if own == 0:
            _CONTROL["orphaned"], _CONTROL["saved"] = _CONTROL["saved"], []


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def _lift_orphaned() -> None:
    """In a forked child, restore the thread counts of a limit held only by lost threads."""
    if not _CONTROL["orphaned"]:
        return
    with _CONTROL_LOCK:
        orphaned, _CONTROL["orphaned"] = _CONTROL["orphaned"], []
    if orphaned:
        _submit(_restore, orphaned).result()


def _block_signals() -> None:
    # The control thread lives as long as the process. A signal the kernel handed to it
    # would leave a main thread waiting in a read (a pipe, a terminal) asleep, deaf to
    # Ctrl-C: Python runs its handlers only in the main thread. Blocked here, every
    # signal goes to a thread that can act on it.
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())


def _limit(controller: Any) -> None:
    # Counted first: every _limit is paired with one _unlimit, whatever happens here.
    _CONTROL["users"] += 1
    if _CONTROL["users"] > 1:
        return
    saved = []
    with contextlib.suppress(Exception):  # an optional speed-up: never fails an operation
        for lib in controller.lib_controllers:
            threads = lib.get_num_threads()
            if threads is not None and threads > 1:
                lib.set_num_threads(1)
                saved.append((lib, threads))
    _CONTROL["saved"] = saved


def _unlimit() -> None:
    _CONTROL["users"] -= 1
    if _CONTROL["users"] == 0:
        _restore(_CONTROL["saved"])
        _CONTROL["saved"] = []


def _restore(saved: list[tuple[Any, int]]) -> None:
    for lib, threads in saved:
        try:
            lib.set_num_threads(threads)
        except Exception:  # as in _limit
            continue


def blas_controller() -> Any:
    """threadpoolctl's controller of the process-wide BLAS thread pools, or None.

    None without threadpoolctl, without a BLAS it finds, if it fails, or if a
    BLAS limits threads per calling thread (OpenBLAS built with OpenMP), where a
    limit set by one thread does not reach the others. Finding the libraries
    takes about a millisecond, so the answer is kept until a module is imported
    (a BLAS loaded later, SciPy's say, comes with an import).
    """
    modules = len(sys.modules)
    with _CONTROL_LOCK:
        if _FOUND["modules"] == modules:
            return _FOUND["controller"]
    controller = _find_controller()
    with _CONTROL_LOCK:
        # Counted after finding: threadpoolctl's own first import adds modules.
        _FOUND["modules"], _FOUND["controller"] = len(sys.modules), controller
    return controller


def _find_controller() -> Any:
    try:
        from threadpoolctl import ThreadpoolController

        controller = ThreadpoolController().select(user_api="blas")
        libs = controller.lib_controllers
        per_thread = any(
            lib.internal_api == "openblas" and getattr(lib, "threading_layer", "") == "openmp"
            for lib in libs
        )
    except Exception:  # ImportError, or threadpoolctl failing: run without a limit
        return None
    return controller if libs and not per_thread else None
