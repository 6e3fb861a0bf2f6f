"""The ``mmref`` command line: ``mmref demo | embed | conform``.

Exit status: 0 on success, 1 for bad data (or failed conformance checks), 2
for usage errors (bad options, missing files, a target that cannot be
imported), 130 when interrupted. Errors are one line on stderr, never a
traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn, TextIO

__all__ = ["main"]

_EXIT_DATA = 1
_EXIT_USAGE = 2
_EXIT_INTERRUPTED = 130


class _UsageError(Exception):
    """A problem with the command line itself (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line, with a pointer to ``--help``."""

    def error(self, message: str) -> NoReturn:
        self.exit(_EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


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
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed its usage message
        return int(exc.code or 0)
    try:
        status: int = args.run(args, sys.stdout, sys.stderr)
        return status
    except KeyboardInterrupt:
        print("mmref: interrupted; nothing was written", file=sys.stderr)
        return _EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`mmref conform ... | head`): say nothing more, and keep
        # Python from complaining again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return _EXIT_DATA
    except MemoryError:
        print(f"mmref {args.command}: error: out of memory", file=sys.stderr)
        return _EXIT_DATA
    except _UsageError as exc:
        print(f"mmref {args.command}: error: {exc}", file=sys.stderr)
        return _EXIT_USAGE
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        print(f"mmref {args.command}: error: {_os_message(exc)}", file=sys.stderr)
        return _EXIT_USAGE
    except (ValueError, TypeError, OSError) as exc:
        message = _os_message(exc) if isinstance(exc, OSError) else str(exc)
        print(f"mmref {args.command}: error: {message}", file=sys.stderr)
        return _EXIT_DATA


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mmref",
        description="Exact reference implementation of multimodal joint embedding.",
    )
    parser.add_argument("--version", action="version", version=f"mmref {_version()}")
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )

    demo = commands.add_parser("demo", help="run the whole pipeline on synthetic data")
    demo.add_argument("--samples", type=_positive_int, default=2000, help="default: 2000")
    demo.add_argument("--seed", type=int, default=0, help="default: 0")
    demo.add_argument(
        "--classifier",
        choices=("all", "centroid", "ridge", "softmax"),
        default="all",
        help="default: all",
    )
    demo.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    demo.add_argument("--save-model", metavar="PATH", help="save the fitted MultimodalEncoder")
    demo.set_defaults(run=_run_demo)

    embed = commands.add_parser("embed", help="embed image and caption files into a .npy file")
    embed.add_argument("--images", metavar="IMAGES", help=".npy (N, H, W[, C]) or .npz with --key")
    embed.add_argument("--key", help="the array inside an .npz file")
    embed.add_argument("--texts", metavar="CAPTIONS", help="UTF-8 .txt (one per line) or .jsonl")
    embed.add_argument("--text-field", help="the caption field of a .jsonl file (default: text)")
    embed.add_argument("--output", required=True, metavar="OUT.npy")
    embed.add_argument("--model", metavar="MODEL", help="a model file written by mmref.save")
    embed.add_argument("--dtype", choices=("float32", "float64"), help="default: float64")
    embed.add_argument("--batch-size", type=_positive_int, help="rows per batch (default: auto)")
    embed.add_argument("--quiet", action="store_true", help="no progress bar")
    embed.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on a Dask cluster (tcp://host:8786; needs mmref[dask]); every worker must "
        "see the input files at the same paths",
    )
    encoder = embed.add_argument_group("encoder options (default: the library defaults)")
    encoder.add_argument("--image-method", choices=("sparse", "gaussian", "srht"))
    encoder.add_argument("--image-components", type=_positive_int)
    encoder.add_argument("--text-features", type=_positive_int)
    encoder.add_argument("--seed", type=int)
    embed.set_defaults(run=_run_embed)

    conform = commands.add_parser("conform", help="check an implementation against the spec")
    conform.add_argument(
        "kind",
        choices=(
            "joint-embedding",
            "classification",
            "embedding-model",
            "classification-model",
            "golden",
        ),
    )
    conform.add_argument("target", nargs="?", help="MODULE:ATTR (a function, model or factory)")
    conform.add_argument("--against", metavar="MODULE:ATTR", help="with golden: what to check")
    conform.add_argument("--max-examples", type=_positive_int)
    conform.set_defaults(run=_run_conform)
    return parser


def _run_demo(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from ._demo import CLASSIFIERS, format_result, run_demo

    chosen = CLASSIFIERS if args.classifier == "all" else (args.classifier,)
    result = run_demo(args.samples, args.seed, chosen, save_model=args.save_model)
    if args.json:
        json.dump(result.as_dict(), stdout, indent=2)
        stdout.write("\n")
    else:
        print(format_result(result), file=stdout)
    return 0


def _run_embed(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from ._embed_cli import run_embed

    return run_embed(args, stderr, _UsageError)


def _run_conform(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from . import conformance

    target = args.against if args.kind == "golden" else args.target
    if args.kind != "golden" and target is None:
        raise _UsageError(f"conform {args.kind} needs a target MODULE:ATTR")
    status: int = conformance.conform_main(args.kind, target, args.max_examples, stdout, stderr)
    return status


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _os_message(exc: OSError) -> str:
    if exc.filename is not None and exc.strerror:
        return f"{exc.strerror}: {exc.filename!r}"
    return str(exc)


def _version() -> str:
    from . import __version__

    return __version__


def _entry_point() -> Any:  # console script: exit with main()'s status
    sys.exit(main())
