"""The ``mmref`` console script: a signal during start-up is one line, never a traceback."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPT = shutil.which("mmref", path=str(Path(sys.executable).parent))


@pytest.mark.skipif(SCRIPT is None, reason="the mmref console script is not installed here")
@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc/PID/maps")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
@pytest.mark.parametrize("delay", [0.0, 0.1, 0.3])
def test_a_signal_during_start_up_is_one_line(signum: int, delay: float) -> None:
    # Whenever the signal lands once mmref's code runs (during the imports, the parse or
    # the demo), the command ends with status 130 and one line, or (a SIGTERM or SIGHUP
    # once the demo runs, which has no output file to clean up) by the signal's default
    # action, silently. The signal is sent
    # ``delay`` seconds after NumPy's extension is mapped into the child, which happens
    # inside the launcher's import of mmref: a fixed delay from the start would, on a
    # busy machine, land in CPython's own start-up (``import site``), before any mmref
    # code exists, and test Python instead of mmref.
    assert SCRIPT is not None
    proc = subprocess.Popen(
        [SCRIPT, "demo", "--samples", "4000"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        # As from a terminal, also when this test runs with SIGINT ignored (nohup, a
        # background job of a non-interactive shell): the child would inherit that.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert _wait_for_numpy(proc), "the command ended before it imported NumPy"
        time.sleep(delay)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=600)
    finally:
        proc.kill()
        proc.wait()
    assert "Traceback" not in err, err
    assert proc.returncode in (130, -signum), (proc.returncode, err)
    if proc.returncode == 130:
        assert err == "mmref: interrupted; nothing was written\n", err
    else:
        assert err == "", err


def _wait_for_numpy(proc: subprocess.Popen[str]) -> bool:
    """Wait until NumPy's compiled core is mapped into ``proc``; False if it ends first."""
    maps = Path(f"/proc/{proc.pid}/maps")
    while proc.poll() is None:
        try:
            if "_multiarray_umath" in maps.read_text():
                return True
        except OSError:  # the process is just ending
            pass
        time.sleep(0.002)
    return False
