"""The ``mmref`` console script's first step: a signal during start-up is one line.

Importing mmref (NumPy, and the command line's modules) takes a moment; with Python's
default handlers, a Ctrl-C in that moment prints a ``KeyboardInterrupt`` traceback. This
module lies outside the package so that its handlers are in place before that import
starts; it then restores the defaults and hands over to :func:`mmref.cli.main`, which
handles signals itself from its first line. (``python -m mmref`` imports the package
before any mmref code runs, so it has no such guard.)
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType
from typing import Any, NoReturn

__all__ = ["main"]

_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def main() -> Any:
    """Install one-line handlers, import the command line, restore them, run it."""
    # A signal the caller ignores (nohup, a background job) stays ignored.
    previous = {
        number: signal.signal(number, _interrupted)
        for number in _SIGNALS
        if signal.getsignal(number) is not signal.SIG_IGN
    }
    from mmref.cli import main as cli_main

    for number, handler in previous.items():
        signal.signal(number, handler)
    sys.exit(cli_main())


def _interrupted(signum: int, frame: FrameType | None) -> NoReturn:
    # Nothing has been read or written yet: the CLI's own message, and its status. An
    # immediate exit, because a SystemExit raised inside an import can be swallowed by
    # a library's broad except, and the command would then run on.
    sys.stderr.write("mmref: interrupted; nothing was written\n")
    sys.stderr.flush()
    os._exit(130)


if __name__ == "__main__":
    main()
