"""The ``mmref`` command line: the parser, ``main`` and the console-script entry point.

Each subcommand lives in its own module (:mod:`mmref.cli.demo`, :mod:`mmref.cli.embed`,
:mod:`mmref.cli.conform`), which adds its parser with ``add_parser`` and carries it out
with ``run``.

Exit status: 0 on success, 1 for bad data (or failed conformance checks), 2
for usage errors (bad options, missing files, a target that cannot be
imported), 130 when interrupted. Errors are one line on stderr, never a
traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from . import conform, demo, embed, predict, train
from ._common import EXIT_DATA, EXIT_INTERRUPTED, EXIT_USAGE, Parser, UsageError

__all__ = ["entry_point", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``mmref`` command line and return its exit status.

    Parameters
    ----------
    argv : sequence of str or None, default=None
        The arguments after the program name; ``None`` reads ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 success, 1 bad data or failed checks, 2 usage error, 130 interrupted.
    """
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse has printed its usage message
        return int(exc.code or 0)
    except KeyboardInterrupt:  # Ctrl-C while starting up: one line, as later
        print("mmref: interrupted; nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    try:
        status: int = args.run(args, sys.stdout, sys.stderr)
        return status
    except KeyboardInterrupt:
        print("mmref: interrupted; nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`mmref conform ... | head`): say nothing more, and keep
        # Python from complaining again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_DATA
    except MemoryError:
        print(f"mmref {args.command}: error: out of memory", file=sys.stderr)
        return EXIT_DATA
    except UsageError as exc:
        print(f"mmref {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        print(f"mmref {args.command}: error: {_os_message(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, TypeError, OSError) as exc:
        message = _os_message(exc) if isinstance(exc, OSError) else str(exc)
        print(f"mmref {args.command}: error: {message}", file=sys.stderr)
        return EXIT_DATA


def _parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="mmref",
        description="""\
mmref: an exact, pure-NumPy/SciPy reference implementation of multimodal joint
embedding and classification. Run the whole pipeline on synthetic data (demo),
embed image and caption files (embed), or check another implementation
against the specification (conform). 'mmref COMMAND --help' explains each
command, with examples. Exit status: 0 success, 1 bad data or failed checks,
2 usage error, 130 interrupted.""",
        epilog="""\
examples:
  mmref demo
  mmref embed --images images.npy --texts captions.txt --output joint.npy
  mmref conform golden""",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=f"mmref {_version()}", help="print the version"
    )
    commands = parser.add_subparsers(
        dest="command",
        required=True,
        metavar="COMMAND",
        parser_class=Parser,
        title="commands",
    )

    for command in (demo, embed, conform, train, predict):
        command.add_parser(commands)
    return parser


def _os_message(exc: OSError) -> str:
    if exc.filename is not None and exc.strerror:
        return f"{exc.strerror}: {exc.filename!r}"
    return str(exc)


def _version() -> str:
    from .._version import __version__

    return __version__


def entry_point() -> Any:
    """The console script ``mmref``: exit with :func:`main`'s status."""
    sys.exit(main())
