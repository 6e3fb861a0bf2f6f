"""``python -m benchmarks``: run the cases, print each with its ratios and targets.

Full runs measure each case's memory in its own fresh subprocess; ``--quick``
(toy sizes, for CI) measures all selected cases in one subprocess to stay
within seconds. The exit status is 1 if a case failed (not if it was skipped
or missed its target: targets are reported, not enforced).

``--busy`` times every case twice, back to back: idle, then while another
process keeps one core busy (:mod:`benchmarks.busy`, started and stopped
around each case's busy pass), and checks the busy targets
(:func:`benchmarks.harness.evaluate_busy`). Memory is measured idle only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import report
from .busy import busy_core
from .harness import Case, CaseResult, evaluate_busy, evaluate_target, run_case
from .memory import measure_in_subprocess
from .registry import all_cases, select

__all__ = ["main", "run_main"]

# Longer than the ~0.1 s OpenBLAS keeps idle worker threads spinning after a call.
_SETTLE_SECONDS = 0.2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="mmref side by side with scikit-learn and the hardware limit.",
    )
    parser.add_argument("--quick", action="store_true", help="toy sizes, a few seconds (CI)")
    parser.add_argument("--json", metavar="PATH", help="write every measurement to PATH")
    parser.add_argument("--markdown", metavar="PATH", help="write the README table to PATH")
    parser.add_argument(
        "-k",
        dest="patterns",
        action="append",
        metavar="SUBSTRING",
        help="run only cases whose name contains SUBSTRING (repeatable)",
    )
    parser.add_argument("--list", action="store_true", help="list the case names and exit")
    parser.add_argument(
        "--repeats", type=int, metavar="N", help="timed rounds per case (default 5, at least 5)"
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the memory subprocesses")
    parser.add_argument(
        "--busy",
        action="store_true",
        help="time each case idle and again with one core kept busy by another process",
    )
    parser.add_argument(
        "--profile-text",
        action="store_true",
        help="print where the time of the real-text cases goes (tokenize, hash, count)",
    )
    return parser


def run_main(argv: list[str] | None = None) -> int:
    """:func:`main` for ``python -m benchmarks``: Ctrl-C ends with a line, not a traceback.

    The load process of ``--busy`` is stopped on the way out (``busy_core``), and
    nothing is written: the report files are written only after the last case.
    """
    try:
        return main(argv)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.repeats is not None and args.repeats < 5:
        _parser().error("--repeats must be at least 5 (the median of fewer rounds is noise)")
    if args.profile_text:
        from .profile_text import main as profile_main

        return profile_main(quick=args.quick)
    cases = select(all_cases(quick=args.quick), args.patterns)
    if args.list:
        for case in cases:
            print(f"{case.name:<42} {case.title}")
        return 0
    if not cases:
        print("no case matches", file=sys.stderr)
        return 2
    env = report.environment()
    print(report.format_environment(env))
    print(report.LEGEND)
    mode = "--quick (toy sizes; targets not checked)" if args.quick else "full"
    print(f"mode: {mode}{', idle and busy (one core kept busy)' if args.busy else ''}\n")
    started = time.perf_counter()
    results = _run(
        cases, quick=args.quick, repeats=args.repeats, memory=not args.no_memory, busy=args.busy
    )
    failed = [r.name for r in results if _failed(r)]
    print(
        f"\n{len(results)} cases in {time.perf_counter() - started:.0f} s; "
        f"{sum(r.status == 'skipped' for r in results)} skipped, {len(failed)} failed"
        + (f": {', '.join(failed)}" if failed else "")
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps(report.to_json(results, env, quick=args.quick), indent=1) + "\n"
        )
    if args.markdown:
        Path(args.markdown).write_text(report.markdown_table(results, env, quick=args.quick))
    return 1 if failed else 0


def _run(
    cases: list[Case], *, quick: bool, repeats: int | None, memory: bool, busy: bool = False
) -> list[CaseResult]:
    min_time = 0.002 if quick else 0.05
    # Full runs pause before each timed call so spinning BLAS threads go idle (harness
    # docstring); --quick runs are smoke tests of the code paths and skip the pauses.
    settle = 0.0 if quick else _SETTLE_SECONDS
    results: list[CaseResult] = []
    for case in cases:
        if case.full_only and quick:
            result = CaseResult(case.name, case.title, "skipped", "full runs only (not --quick)")
        else:
            start = time.perf_counter()
            result = run_case(case, repeats=repeats, min_time=min_time, settle=settle)
            if busy and result.status == "ok":
                with busy_core():
                    result.busy = run_case(case, repeats=repeats, min_time=min_time, settle=settle)
            if not quick:
                _finish(case, result, quick=quick, memory=memory)
            result.elapsed = time.perf_counter() - start
        results.append(result)
        if not quick:
            print(report.format_case(result), flush=True)
    if quick:
        by_name = {case.name: case for case in cases}
        batch = [by_name[r.name] for r in results if _needs_memory(by_name[r.name], r)]
        measured = measure_in_subprocess(batch, quick=True) if memory and batch else {}
        for result in results:
            result.memory = measured.get(result.name, result.memory)
            _finish(by_name[result.name], result, quick=quick, memory=False)
            print(report.format_case(result))
    return results


def _needs_memory(case: Case, result: CaseResult) -> bool:
    return result.status == "ok" and case.memory == "subprocess"


def _finish(case: Case, result: CaseResult, *, quick: bool, memory: bool) -> None:
    if memory and _needs_memory(case, result):
        result.memory = measure_in_subprocess([case], quick=quick)[case.name]
    if result.status == "ok":
        result.targets = [evaluate_target(t, result, quick=quick) for t in case.targets]
        if result.busy is not None:
            result.targets += evaluate_busy(case, result, result.busy, quick=quick)


def _failed(result: CaseResult) -> bool:
    if result.busy is not None and result.busy.status == "error":
        return True
    return result.status == "error" or any(m.error for m in result.memory.values())
