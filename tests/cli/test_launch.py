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
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
@pytest.mark.parametrize("delay", [0.05, 0.15, 0.3])
def test_a_signal_during_start_up_is_one_line(signum: int, delay: float) -> None:
    # Whenever the signal lands (during the imports, the parse or the demo), the command
    # ends with status 130 and one line; before Python has set up its handlers at all,
    # the signal's default action ends it silently.
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
    time.sleep(delay)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    assert "Traceback" not in err, err
    assert proc.returncode in (130, -signum), (proc.returncode, err)
    if proc.returncode == 130:
        assert err == "mmref: interrupted; nothing was written\n", err
