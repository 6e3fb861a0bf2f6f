"""What every subcommand shares: exit statuses, the usage error, the parser class, types."""

from __future__ import annotations

import argparse
from typing import NoReturn

__all__ = [
    "EXIT_DATA",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "Parser",
    "UsageError",
    "positive_int",
]

EXIT_DATA = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A problem with the command line itself (exit status 2)."""


class Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line, with a pointer to ``--help``."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def positive_int(text: str) -> int:
    """An argparse type: a positive integer, or a one-line error."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value
