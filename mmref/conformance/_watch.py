"""Running a conformance check with a deadline per call of the target (SPEC.md 12.9).

A target may never return (an endless loop, a blocked read). A thread cannot be killed in
Python, and running every target call in a subprocess would cost far more than the calls
(thousands of them, each with fresh arrays). So the whole check runs in one *daemon*
worker thread, and the caller's thread watches it: before each step that calls the target
(one example of a property, resolving or fitting the target) the worker marks the step as
started (:meth:`Watch.step`); when a step has been running for longer than the timeout,
:func:`run_watched` stops waiting and raises :class:`TimedOut`. The worker is abandoned:
it keeps running in the background until the process exits (the command line exits right
after reporting), and never holds up the interpreter's exit, being a daemon.

A :class:`BaseException` that is not an :class:`Exception` and escapes the worker
(``SystemExit`` from ``sys.exit`` in the target, ``KeyboardInterrupt``, any other) comes
back to the caller's thread as :class:`Escaped`, an ordinary exception, so nothing the
target raises can end the run, let alone silently with status 0; a real Ctrl-C reaches
the caller's thread, which is only waiting.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

__all__ = ["DEFAULT_TIMEOUT", "Escaped", "TimedOut", "Watch", "check_timeout", "run_watched"]

T = TypeVar("T")

#: Seconds a step that calls the target may take, unless told otherwise.
DEFAULT_TIMEOUT = 60.0


class TimedOut(Exception):
    """A step that calls the target did not finish in time (its worker is abandoned)."""

    def __init__(self, what: str, timeout: float) -> None:
        super().__init__(f"{what} did not return within {timeout:g} s (the timeout)")
        self.what = what
        self.timeout = timeout


class Escaped(Exception):
    """A BaseException that is not an Exception (SystemExit, say) left the worker thread."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(f"raised {type(error).__name__}: {error}")
        self.error = error


def check_timeout(timeout: float | None) -> float | None:
    """``timeout`` if it is None or a finite number of seconds > 0, else ValueError.

    Raises
    ------
    ValueError
        If ``timeout`` is not None, not a real number, not finite or not positive.
    """
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise ValueError(f"timeout must be a positive number of seconds or None. Got {timeout!r}.")
    if not (math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"timeout must be a positive, finite number of seconds. Got {timeout!r}.")
    return float(timeout)


class Watch:
    """What the worker is doing now, and since when; shared by the worker and the watcher.

    Parameters
    ----------
    timeout : float or None
        Seconds one step may take; None: no limit.
    """

    def __init__(self, timeout: float | None) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()
        self._started: float | None = None
        self._what = ""

    @contextmanager
    def step(self, what: str) -> Iterator[None]:
        """Mark a step that calls the target (``what`` says which, for the message)."""
        with self._lock:
            self._started, self._what = time.monotonic(), what
        try:
            yield
        finally:
            with self._lock:
                self._started = None

    def current(self) -> tuple[float | None, str]:
        """When the running step started (None: no step is running) and what it is."""
        with self._lock:
            return self._started, self._what


def run_watched(func: Callable[[], T], watch: Watch) -> T:
    """``func()`` in a daemon thread; its result, or what it raised, or :class:`TimedOut`.

    Parameters
    ----------
    func : callable
        The work; it marks its steps with ``watch.step``.
    watch : Watch
        The deadline and the running step.

    Returns
    -------
    value : object
        What ``func`` returned.

    Raises
    ------
    TimedOut
        When a step ran longer than ``watch.timeout``; the thread is left running.
    Escaped
        When ``func`` raised a BaseException that is not an Exception.
    Exception
        Whatever other exception ``func`` raised, re-raised here.
    """
    box: dict[str, Any] = {}
    done = threading.Event()

    def work() -> None:
        try:
            box["value"] = func()
        except BaseException as exc:  # handed to the watching thread
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=work, name="mmref-conform", daemon=True).start()
    while not done.is_set():
        started, what = watch.current()
        if watch.timeout is None:
            done.wait()
        elif started is None:
            done.wait(watch.timeout)
        else:
            remaining = started + watch.timeout - time.monotonic()
            if remaining <= 0:
                raise TimedOut(what, watch.timeout)
            done.wait(remaining)
    error = box.get("error")
    if isinstance(error, Exception):
        raise error
    if error is not None:
        raise Escaped(error)
    value: T = box["value"]
    return value
