"""Peak memory of each contender, measured in a fresh subprocess.

The parent runs ``python -m benchmarks.memory [--quick] CASE...``; the child
prepares each case, then for each contender: collects garbage, returns freed
heap pages to the system (glibc ``malloc_trim``), resets the kernel's peak-RSS
mark, starts :mod:`tracemalloc`, calls the contender once and reads both
peaks. It prints one JSON object on stdout.

Peak RSS comes from ``VmHWM`` in ``/proc/self/status`` after writing ``5`` to
``/proc/self/clear_refs`` (Linux >= 4.0), which resets the mark to the current
RSS. ``ru_maxrss`` is not used: it is inherited across ``fork`` and ``exec``,
so a child would report its parent's peak. Where ``/proc`` is missing, the RSS
fields are ``None`` and only tracemalloc is reported.

``python -m benchmarks.memory --run-module MODULE --report FILE ARGS...``
runs ``python -m MODULE ARGS...`` in this process and writes its wall time and
``VmHWM`` to FILE: how the ``mmref embed`` case measures the CLI.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import dataclasses
import gc
import json
import os
import runpy
import subprocess
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

from .harness import Case, MemoryResult, Unavailable
from .registry import all_cases

__all__ = [
    "measure_in_subprocess",
    "peak_rss",
    "reset_peak_rss",
]

_ROOT = Path(__file__).resolve().parent.parent


def reset_peak_rss() -> bool:
    """Reset this process's peak-RSS mark to its current RSS; False where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def peak_rss() -> int | None:
    """This process's peak RSS in bytes since the last reset (``VmHWM``), or None."""
    return _status_kib("VmHWM")


def current_rss() -> int | None:
    """This process's current RSS in bytes (``VmRSS``), or None."""
    return _status_kib("VmRSS")


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _trim_heap() -> None:
    # Without this, memory a previous contender freed stays in the glibc heap, counts as
    # RSS and makes the next contender's peak above the baseline look smaller.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def measure_in_subprocess(
    cases: list[Case], *, quick: bool, timeout: float = 1800.0
) -> dict[str, dict[str, MemoryResult]]:
    """Measure every contender of ``cases`` in one fresh ``python -m benchmarks.memory`` child."""
    names = [case.name for case in cases]
    cmd = [sys.executable, "-m", "benchmarks.memory", *(["--quick"] if quick else []), *names]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_ROOT), env.get("PYTHONPATH")]))
    try:
        proc = subprocess.run(
            cmd, cwd=_ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {
            name: _failed(f"memory subprocess timed out after {timeout:.0f} s") for name in names
        }
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {name: _failed(f"memory subprocess failed: {tail}") for name in names}
    raw = json.loads(proc.stdout)
    return {
        name: {key: MemoryResult(**fields) for key, fields in raw.get(name, {}).items()}
        for name in names
    }


def _failed(reason: str) -> dict[str, MemoryResult]:
    return {"mmref": MemoryResult(None, None, None, error=reason)}


def _measure_case(case: Case) -> dict[str, MemoryResult]:
    try:
        prepared = case.prepare()
    except Unavailable:
        return {}
    except Exception as exc:  # one broken case must not cost the others their numbers
        return {"mmref": MemoryResult(None, None, None, error=f"{type(exc).__name__}: {exc}")}
    results: dict[str, MemoryResult] = {}
    # As in the timing loop: freezing what is alive now makes each collection below cheap.
    gc.collect()
    gc.freeze()
    try:
        for contender in prepared.contenders:
            gc.collect()
            _trim_heap()
            base = current_rss()
            has_rss = reset_peak_rss() and base is not None
            tracemalloc.start()
            try:
                contender.run()
            except Exception as exc:
                results[contender.key] = MemoryResult(
                    None, None, None, error=f"{type(exc).__name__}: {exc}"
                )
                continue
            finally:
                traced = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
            peak = peak_rss() if has_rss else None
            delta = peak - base if peak is not None and base is not None else None
            results[contender.key] = MemoryResult(traced, peak, delta)
    finally:
        gc.unfreeze()
        prepared.contenders.clear()
        if prepared.cleanup is not None:
            prepared.cleanup()
    return results


def _run_module(module: str, report: str, args: list[str]) -> int:
    sys.argv = [module, *args]
    start = time.perf_counter()
    code: int | str | None = 0
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code
    seconds = time.perf_counter() - start
    Path(report).write_text(json.dumps({"seconds": seconds, "peak_rss": peak_rss()}))
    return code if isinstance(code, int) else (0 if code is None else 1)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--run-module"]:
        if len(args) < 4 or args[2] != "--report":
            print("usage: --run-module MODULE --report FILE [ARGS...]", file=sys.stderr)
            return 2
        return _run_module(args[1], args[3], args[4:])
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory")
    parser.add_argument("cases", nargs="+", help="case names, as python -m benchmarks --list")
    parser.add_argument("--quick", action="store_true", help="the --quick sizes")
    ns = parser.parse_args(args)

    # The timing process reports warnings; here they would only clutter stderr.
    warnings.simplefilter("ignore")
    by_name = {case.name: case for case in all_cases(quick=ns.quick)}
    out = {}
    for name in ns.cases:
        # Only the JSON goes to stdout, whatever a contender prints.
        with contextlib.redirect_stdout(sys.stderr):
            measured = _measure_case(by_name[name])
        out[name] = {key: dataclasses.asdict(value) for key, value in measured.items()}
        gc.collect()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
