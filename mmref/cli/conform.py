"""``mmref conform``: check a target named ``MODULE:ATTR``, or the golden vectors, and report.

The report is a header line, then one line per property (or golden case): ``PASS``,
``FAIL``, ``XFAIL``, ``XPASS`` or ``SKIP``, the name and the requirement (or the reason);
under a ``FAIL`` line the detail and the reproducing snippet; then ``K checked: a pass,
b fail, ...``; last the verdict, naming the profile met: ``conforms to mmref spec 1
(core)`` or ``(strict)`` (SPEC.md 12.7).

Exit status (a contract, SPEC.md 12.7): 0 the target conforms (to the profile asked
for), 1 it does not conform (a property or case fails, also by raising ``SystemExit``
or any other exception, or by not returning within ``--timeout``), 2 it could not be
checked (bad options, a target that cannot be imported or built or is not of the kind,
Hypothesis missing, every property skipped). Errors are one line on stderr, never a
traceback.
"""

from __future__ import annotations

import argparse
import math
import textwrap
from collections.abc import Mapping
from typing import IO, Any, TextIO

from ..conformance import (
    DEFAULT_TIMEOUT,
    KINDS,
    MAX_EXAMPLES,
    PROPERTIES,
    PROPERTY_PROFILES,
    CheckResult,
    ProtocolError,
    check_dtypes,
    resolve_target,
    run_checks,
    run_golden,
    run_golden_command,
)
from ..conformance._core import STATUSES
from ..conformance._targets import import_spec
from ..conformance._watch import Watch, check_timeout, run_watched
from ._common import UsageError

__all__ = ["add_parser", "conform_main", "golden_command_main", "run"]

_SPEC = "mmref spec 1"


def add_parser(commands: Any) -> None:
    """Add ``conform`` to the subcommands ``commands`` (an argparse subparsers action)."""
    conform = commands.add_parser(
        "conform",
        help="check an implementation against the spec",
        description="""\
Check your own implementation against mmref's specification (SPEC.md) and
print one line per property: PASS, FAIL (with the minimal counterexample as a
snippet that reproduces it), XFAIL, XPASS or SKIP, then a summary and the
verdict, naming the profile met. KIND says what TARGET is:

  joint-embedding       a function fn(image, text, model), like
                        mmref.joint_embedding
  classification        a function fn(joint_embedding, labels, model), like
                        mmref.multimodal_classification
  embedding-model       an object with encode_image and encode_text (or a
                        function that builds one)
  classification-model  an object with predict (or a function that builds one)
  golden                the golden vectors: the installed mmref, with --against
                        a module with mmref's names, or with --against-command a
                        program in any language speaking SPEC.md's line
                        protocol (no TARGET)

The default profile, core, holds what the specification's two source functions
do; --strict adds mmref's hardening (exact exception types, non-2-D model
outputs, NaN scores, ...). The four property kinds draw inputs with Hypothesis
(pip install "mmref[testing]"); golden needs only NumPy. A call that does not
return within --timeout seconds fails. Exit status: 0 conforms, 1 does not
conform, 2 could not check (usage error, a target that cannot be imported or is
not of the kind, everything skipped).""",
        epilog="""\
examples:
  mmref conform joint-embedding mypackage.fusion:joint_embedding
  mmref conform joint-embedding mypackage.fusion:joint_embedding --strict
  mmref conform classification mypackage.fusion:classify --timeout 10
  mmref conform joint-embedding mypackage.torch_fusion:joint_embedding --dtypes torch
  mmref conform embedding-model mypackage.models:make_clip --image-shape 32,32,3
  mmref conform classification-model mypackage.models:make_classifier --max-examples 200
  mmref conform golden                       # the installed mmref
  mmref conform golden --against mypackage.mmref_port
  mmref conform golden --against-command 'node ports/js/golden-client.js'""",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    conform.add_argument(
        "kind",
        choices=(*KINDS, "golden"),
        metavar="KIND",
        help=f"what to check: {', '.join(KINDS)} or golden (each described at the top)",
    )
    conform.add_argument(
        "target",
        nargs="?",
        metavar="TARGET",
        help="MODULE:ATTR of the function, model or model factory to check "
        "(required for every KIND but golden)",
    )
    conform.add_argument(
        "--against",
        metavar="MODULE[:ATTR]",
        help="with golden: the module or namespace to check instead of the installed mmref",
    )
    conform.add_argument(
        "--against-command",
        metavar="CMD",
        help="with golden: run CMD (split like a shell, no shell) and check it over the "
        "line protocol of SPEC.md",
    )
    conform.add_argument(
        "--max-examples",
        type=_max_examples,
        metavar="N",
        help=f"Hypothesis examples per property, 1 to {MAX_EXAMPLES} (default: the active "
        "Hypothesis profile's); not used by golden",
    )
    conform.add_argument(
        "--dtypes",
        metavar="LIST",
        help="comma-separated dtypes to draw (model outputs for the functions, pixels for "
        "embedding-model, X for classification-model), e.g. float32,float64, or the preset "
        "torch: the dtypes your implementation supports; promotion is checked within them "
        "(default: every dtype the spec admits); not used by golden",
    )
    conform.add_argument(
        "--image-shape",
        type=_image_shape,
        metavar="H,W[,C]",
        help="with embedding-model: the shape of one image the model takes (default: the "
        "model's image_shape attribute, else drawn 2-D shapes)",
    )
    conform.add_argument(
        "--strict",
        action="store_true",
        help="the strict profile: core plus mmref's hardening",
    )
    conform.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"fail a call (with --against-command: an answer) that takes longer "
        f"(default {DEFAULT_TIMEOUT:g})",
    )
    conform.set_defaults(run=run)


def _max_examples(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_EXAMPLES:
        raise argparse.ArgumentTypeError(
            f"expected an integer from 1 to {MAX_EXAMPLES}, got {text!r}"
        )
    return value


def _image_shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(part) for part in text.split(","))
    except ValueError:
        shape = ()
    if not shape or min(shape) < 1:
        raise argparse.ArgumentTypeError(
            f"expected sizes >= 1 separated by commas, such as 32,32,3; got {text!r}"
        )
    return shape


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """Carry out ``mmref conform`` with parsed ``args``; return the exit status."""
    command = getattr(args, "against_command", None)
    if command is not None:
        if args.kind != "golden" or args.against is not None:
            raise UsageError("--against-command goes with golden, instead of --against")
        return golden_command_main(command, args.timeout, stdout, stderr)
    target = args.against if args.kind == "golden" else args.target
    if args.kind != "golden" and target is None:
        raise UsageError(f"conform {args.kind} needs a target MODULE:ATTR")
    dtypes = getattr(args, "dtypes", None)
    image_shape = getattr(args, "image_shape", None)
    if args.kind == "golden" and dtypes is not None:
        raise UsageError("--dtypes goes with a property kind, not golden")
    if image_shape is not None and args.kind != "embedding-model":
        raise UsageError("--image-shape goes with embedding-model")
    if dtypes is not None:
        try:
            check_dtypes(args.kind, dtypes)
        except ValueError as exc:
            raise UsageError(f"argument --dtypes: {exc}") from None
    return conform_main(
        args.kind,
        target,
        args.max_examples,
        stdout,
        stderr,
        strict=args.strict,
        timeout=args.timeout,
        dtypes=dtypes,
        image_shape=image_shape,
    )


def conform_main(
    kind: str,
    target: str | None,
    max_examples: int | None,
    stdout: IO[str],
    stderr: IO[str],
    *,
    strict: bool = False,
    timeout: float | None = DEFAULT_TIMEOUT,
    dtypes: str | None = None,
    image_shape: tuple[int, ...] | None = None,
) -> int:
    """Everything ``mmref conform KIND TARGET [--max-examples N] [--strict] [--timeout S]`` does.

    Prints one line per property (``PASS``, ``FAIL``, ``XFAIL``, ``XPASS`` or
    ``SKIP``, the name and what it asserts), the counterexample under a failing
    line, a summary and the verdict. ``kind="golden"`` checks the golden vectors
    against the installed mmref (``target=None``) or the namespace ``target`` names.

    Parameters
    ----------
    kind : str
        One of :data:`~mmref.conformance.KINDS`, or ``"golden"``.
    target : str or None
        ``MODULE:ATTR`` of the function or model (required for every kind but
        ``golden``); for ``golden``, ``MODULE`` or ``MODULE:ATTR`` of a namespace
        with mmref's names, or None for the installed mmref.
    max_examples : int or None
        Hypothesis examples per property, 1 to
        :data:`~mmref.conformance.MAX_EXAMPLES`; None uses the active profile's.
        Not used by ``golden``.
    stdout, stderr : text stream
        Where the report and the errors go.
    strict : bool, default=False
        Check the ``strict`` profile rather than ``core``. Not used by ``golden``.
    timeout : float or None, default=60.0
        Seconds one example's calls (or one golden case, or importing and building
        the target) may take; None: no limit.
    dtypes : str or None, default=None
        ``--dtypes``: comma-separated dtype names or a preset (``torch``); the
        report then says which dtypes were drawn. Not used by ``golden``.
    image_shape : tuple of int or None, default=None
        ``--image-shape``: the shape of one image, for ``embedding-model``.

    Returns
    -------
    status : int
        0 conforms, 1 does not conform, 2 could not check (see the module docstring).
    """
    try:
        return _conform(
            kind, target, max_examples, stdout, stderr, strict, timeout, dtypes, image_shape
        )
    except KeyboardInterrupt:  # the user's Ctrl-C, in this thread: the caller reports it
        raise
    except Exception as exc:
        _error(stderr, f"could not check {target!r} as {kind}: {type(exc).__name__}: {exc}")
        return 2


def _error(stderr: IO[str], message: str) -> None:
    print(f"mmref conform: error: {message}", file=stderr)


def _conform(
    kind: str,
    target: str | None,
    max_examples: int | None,
    stdout: IO[str],
    stderr: IO[str],
    strict: bool,
    timeout: float | None,
    dtypes: str | None = None,
    image_shape: tuple[int, ...] | None = None,
) -> int:
    try:
        timeout = check_timeout(timeout)
    except ValueError as exc:
        _error(stderr, str(exc))
        return 2
    if kind == "golden":
        return _golden_main(target, stdout, stderr, timeout)
    if kind not in KINDS:
        _error(stderr, f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}, golden.")
        return 2
    if target is None:
        _error(stderr, f"{kind} needs a target MODULE:ATTR.")
        return 2
    try:
        from ..conformance import strategies  # noqa: F401  (the property checks draw their examples here)
    except ImportError as exc:
        if (exc.name or "").partition(".")[0] != "hypothesis":
            raise
        _error(
            stderr,
            f"checking a {kind} runs property tests, which need Hypothesis: "
            f'pip install "mmref[testing]" (mmref conform golden needs none).',
        )
        return 2
    try:
        # Importing the target runs its code: watched, like every call of it.
        obj = _watched(lambda: resolve_target(target, kind), f"importing {target}", timeout)
        results = run_checks(
            kind,
            obj,
            max_examples=max_examples,
            spec=target,
            strict=strict,
            timeout=timeout,
            dtypes=dtypes,
            image_shape=image_shape,
        )
    except Exception as exc:
        _error(stderr, f"cannot check {target!r} as {kind}: {exc}")
        return 2
    profile = "strict" if strict else "core"
    print(f"mmref conform {kind} {target} ({profile} profile)", file=stdout)
    scope = check_dtypes(kind, dtypes)
    if scope is not None:
        drawn = "pixel dtypes" if kind == "embedding-model" else "dtypes"
        print(f"{drawn} drawn: {', '.join(str(d) for d in scope)}", file=stdout)
    status = _print_results(results, stdout, stderr)
    failed = [r for r in results if r.status == "FAIL"]
    if status == 0:
        print(f"conforms to {_SPEC} ({profile})", file=stdout)
    elif status == 1:
        profiles = PROPERTY_PROFILES[kind]
        core = [r.name for r in failed if profiles[r.name] == "core"]
        if core:
            print(f"does not conform to {_SPEC} (core): fails {', '.join(core)}", file=stdout)
        else:
            names = ", ".join(r.name for r in failed)
            print(f"conforms to {_SPEC} (core), not (strict): fails {names}", file=stdout)
    return status


def _watched(func: Any, what: str, timeout: float | None) -> Any:
    watch = Watch(timeout)

    def step() -> Any:
        with watch.step(what):
            return func()

    return run_watched(step, watch)


def _golden_main(
    target: str | None, stdout: IO[str], stderr: IO[str], timeout: float | None
) -> int:
    try:
        against = (
            None
            if target is None
            else _watched(
                lambda: import_spec(target, require_attr=False), f"importing {target}", timeout
            )
        )
        results = run_golden(against, timeout=timeout)
    except Exception as exc:
        _error(stderr, f"cannot check golden vectors against {target!r}: {exc}")
        return 2
    print(f"mmref conform golden {'(installed mmref)' if target is None else target}", file=stdout)
    return _golden_verdict(_print_results(results, stdout, stderr), stdout)


def _golden_verdict(status: int, stdout: IO[str]) -> int:
    if status == 0:
        print(f"reproduces the golden vectors of {_SPEC}", file=stdout)
    elif status == 1:
        print(f"does not reproduce the golden vectors of {_SPEC}", file=stdout)
    return status


def golden_command_main(command: str, timeout: float, stdout: IO[str], stderr: IO[str]) -> int:
    """``mmref conform golden --against-command CMD``: the golden vectors over the protocol.

    Same report and exit status as ``--against``: 0 when no case fails, 1 when one does
    (a child that crashes, writes garbage, answers out of order or not within
    ``timeout`` seconds fails), 2 when CMD cannot be started or does not say hello.
    """

    def header(hello: Mapping[str, Any]) -> None:
        name = f"{hello['name']} {hello['version']}".replace("\n", " ")[:200]
        print(f"mmref conform golden --against-command {command} ({name})", file=stdout)

    try:
        results = run_golden_command(command, timeout=timeout, on_hello=header)
    except (ProtocolError, ValueError, OSError) as exc:
        _error(stderr, f"cannot check golden vectors against {command!r}: {exc}")
        return 2
    return _golden_verdict(_print_results(results, stdout, stderr), stdout)


def _print_results(results: list[CheckResult], stdout: IO[str], stderr: IO[str]) -> int:
    width = max((len(r.name) for r in results), default=0)
    for r in results:
        described = PROPERTIES.get(r.kind, {}).get(r.name, "")
        if r.status == "PASS":
            print(f"PASS   {r.name:<{width}}  {described}".rstrip(), file=stdout)
        elif r.status == "FAIL":
            print(f"FAIL   {r.name:<{width}}  {described}".rstrip(), file=stdout)
            body = r.message.split("\n", 1)[1] if "\n" in r.message else r.message
            print(textwrap.indent(body, "       "), file=stdout)
        else:
            print(f"{r.status:<6} {r.name:<{width}}  {r.message}", file=stdout)
    counts = {s: sum(r.status == s for r in results) for s in STATUSES}
    summary = ", ".join(f"{n} {s.lower()}" for s, n in counts.items() if n)
    print(f"{len(results)} checked: {summary}", file=stdout)
    if counts["FAIL"]:
        return 1
    if not results or counts["SKIP"] == len(results):
        # Nothing was actually compared (a mistyped --against module, say): not checked.
        print("nothing was checked: every property was skipped", file=stdout)
        _error(stderr, "nothing was checked: every property or case was skipped")
        return 2
    return 0
