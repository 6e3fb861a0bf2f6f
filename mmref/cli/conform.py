"""``mmref conform``: check a target named ``MODULE:ATTR``, or the golden vectors, and report.

The report is a header line, then one line per property (or golden case): ``PASS``,
``FAIL``, ``XFAIL``, ``XPASS`` or ``SKIP``, the name and the requirement (or the reason);
under a ``FAIL`` line the detail and the reproducing snippet; last ``K checked: a pass,
b fail, ...``. Exit status: 0 when nothing fails, 1 when something fails, 2 when the
target cannot be imported or built, or is not of the kind (the error goes to stderr as
``mmref conform: error: ...``; a bad target never raises).
"""

from __future__ import annotations

import argparse
import textwrap
from typing import IO, Any, TextIO

from ..conformance import KINDS, PROPERTIES, CheckResult, resolve_target, run_checks, run_golden
from ..conformance._core import STATUSES
from ..conformance._targets import import_spec
from ._common import UsageError, positive_int

__all__ = ["add_parser", "conform_main", "run"]


def add_parser(commands: Any) -> None:
    """Add ``conform`` to the subcommands ``commands`` (an argparse subparsers action)."""
    conform = commands.add_parser(
        "conform",
        help="check an implementation against the spec",
        description="""\
Check your own implementation against mmref's specification (SPEC.md) and
print one line per property: PASS, FAIL (with the minimal counterexample as a
snippet that reproduces it), XFAIL, XPASS or SKIP, then a summary. KIND says
what TARGET is:

  joint-embedding       a function fn(image, text, model), like
                        mmref.joint_embedding
  classification        a function fn(joint_embedding, labels, model), like
                        mmref.multimodal_classification
  embedding-model       an object with encode_image and encode_text (or a
                        function that builds one)
  classification-model  an object with predict (or a function that builds one)
  golden                the golden vectors: the installed mmref, or with
                        --against a module with mmref's names (no TARGET)

The four property kinds draw inputs with Hypothesis (pip install
"mmref[testing]"); golden needs only NumPy. Exit status: 0 nothing failed, 1
a property failed, 2 the target cannot be imported or is not of the kind.""",
        epilog="""\
examples:
  mmref conform joint-embedding mypackage.fusion:joint_embedding
  mmref conform classification mypackage.fusion:classify
  mmref conform classification-model mypackage.models:make_classifier --max-examples 200
  mmref conform golden                       # the installed mmref
  mmref conform golden --against mypackage.mmref_port""",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    conform.add_argument(
        "kind",
        choices=(*KINDS, "golden"),
        metavar="KIND",
        help=f"what to check: {', '.join(KINDS)} or golden (see above)",
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
        "--max-examples",
        type=positive_int,
        metavar="N",
        help="Hypothesis examples per property (default: the active Hypothesis profile's); "
        "not used by golden",
    )
    conform.set_defaults(run=run)


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """Carry out ``mmref conform`` with parsed ``args``; return the exit status."""
    target = args.against if args.kind == "golden" else args.target
    if args.kind != "golden" and target is None:
        raise UsageError(f"conform {args.kind} needs a target MODULE:ATTR")
    return conform_main(args.kind, target, args.max_examples, stdout, stderr)


def conform_main(
    kind: str,
    target: str | None,
    max_examples: int | None,
    stdout: IO[str],
    stderr: IO[str],
) -> int:
    """Everything ``mmref conform KIND TARGET [--max-examples N]`` does.

    Prints one line per property (``PASS``, ``FAIL``, ``XFAIL``, ``XPASS`` or
    ``SKIP``, the name and what it asserts), the counterexample under a failing
    line, and a summary. ``kind="golden"`` checks the golden vectors against
    the installed mmref (``target=None``) or the namespace ``target`` names.

    Parameters
    ----------
    kind : str
        One of :data:`~mmref.conformance.KINDS`, or ``"golden"``.
    target : str or None
        ``MODULE:ATTR`` of the function or model (required for every kind but
        ``golden``); for ``golden``, ``MODULE`` or ``MODULE:ATTR`` of a namespace
        with mmref's names, or None for the installed mmref.
    max_examples : int or None
        Hypothesis examples per property; None uses the active profile's.
        Not used by ``golden``.
    stdout, stderr : text stream
        Where the report and the errors go.

    Returns
    -------
    status : int
        0 when every property passes (skips and known failures allowed), 1
        when any fails, 2 when the target cannot be imported, built, or is not
        of the kind.
    """
    if kind == "golden":
        return _golden_main(target, stdout, stderr)
    if kind not in KINDS:
        print(
            f"mmref conform: error: unknown kind {kind!r}; expected one of "
            f"{', '.join(KINDS)}, golden.",
            file=stderr,
        )
        return 2
    if target is None:
        print(f"mmref conform: error: {kind} needs a target MODULE:ATTR.", file=stderr)
        return 2
    try:
        from ..conformance import strategies  # noqa: F401  (the property checks draw their examples here)
    except ImportError as exc:
        if (exc.name or "").partition(".")[0] != "hypothesis":
            raise
        print(
            f"mmref conform: error: checking a {kind} runs property tests, which need "
            f'Hypothesis: pip install "mmref[testing]" (mmref conform golden needs none).',
            file=stderr,
        )
        return 2
    try:
        obj = resolve_target(target, kind)
        results = run_checks(kind, obj, max_examples=max_examples, spec=target)
    except (ImportError, TypeError, ValueError, AttributeError) as exc:
        print(f"mmref conform: error: cannot check {target!r} as {kind}: {exc}", file=stderr)
        return 2
    print(f"mmref conform {kind} {target}", file=stdout)
    return _print_results(results, stdout)


def _golden_main(target: str | None, stdout: IO[str], stderr: IO[str]) -> int:
    try:
        against = None if target is None else import_spec(target, require_attr=False)
        results = run_golden(against)
    except (ImportError, ValueError, OSError) as exc:
        print(
            f"mmref conform: error: cannot check golden vectors against {target!r}: {exc}",
            file=stderr,
        )
        return 2
    print(f"mmref conform golden {'(installed mmref)' if target is None else target}", file=stdout)
    return _print_results(results, stdout)


def _print_results(results: list[CheckResult], stdout: IO[str]) -> int:
    width = max((len(r.name) for r in results), default=0)
    for r in results:
        described = PROPERTIES.get(r.kind, {}).get(r.name, "")
        if r.status == "PASS":
            print(f"PASS   {r.name:<{width}}  {described}".rstrip(), file=stdout)
        elif r.status == "FAIL":
            print(f"FAIL   {r.name:<{width}}  {described}", file=stdout)
            body = r.message.split("\n", 1)[1] if "\n" in r.message else r.message
            print(textwrap.indent(body, "       "), file=stdout)
        else:
            print(f"{r.status:<6} {r.name:<{width}}  {r.message}", file=stdout)
    counts = {s: sum(r.status == s for r in results) for s in STATUSES}
    summary = ", ".join(f"{n} {s.lower()}" for s, n in counts.items() if n)
    print(f"{len(results)} checked: {summary}", file=stdout)
    if counts["FAIL"]:
        return 1
    if results and counts["SKIP"] == len(results):
        # Nothing was actually compared (a mistyped --against module, say): not a pass.
        print("nothing was checked: every property was skipped", file=stdout)
        return 1
    return 0
