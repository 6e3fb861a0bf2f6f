"""A bounded CPU load for ``python -m benchmarks --busy``: one core kept busy by another process.

:func:`busy_core` starts a child interpreter that spins a pure-Python loop
(no BLAS, no memory traffic to speak of) and stops it on leaving, also on an
error or ``KeyboardInterrupt``. The child bounds itself as well: it exits
after ``max_seconds`` and as soon as its parent is gone, so a killed harness
leaves no load behind.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator

__all__ = ["SPIN", "busy_core", "stop"]

#: The child's program: spin until the deadline or until the parent is gone.
SPIN = """
import os, sys, time
deadline = time.monotonic() + float(sys.argv[1])
parent = os.getppid()
sys.stdout.write("spinning\\n")
sys.stdout.flush()
while time.monotonic() < deadline and os.getppid() == parent:
    for _ in range(20000):
        pass
"""


@contextlib.contextmanager
def busy_core(max_seconds: float = 900.0) -> Iterator[subprocess.Popen[bytes]]:
    """Keep one core busy while inside; yield the load process (stopped on leaving).

    Parameters
    ----------
    max_seconds : float, default=900.0
        The load stops by itself after this long, whatever happens to the harness.
    """
    load = subprocess.Popen(
        [sys.executable, "-c", SPIN, str(max_seconds)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        # Its own process group: a Ctrl-C in the terminal reaches the harness, which
        # stops the load itself (and the load never prints a traceback over the report).
        start_new_session=os.name == "posix",
    )
    try:
        # Started when it says so: the timing then runs against a spinning core.
        assert load.stdout is not None
        load.stdout.readline()
        yield load
    finally:
        stop(load)


def stop(load: subprocess.Popen[bytes]) -> None:
    """Stop the load process and reap it (kill it if it does not stop at once)."""
    if load.poll() is None:
        load.terminate()
        try:
            load.wait(timeout=5)
        except subprocess.TimeoutExpired:
            load.kill()
            load.wait()
    if load.stdout is not None:
        load.stdout.close()
