"""The machine description and the printed, markdown and JSON forms of the results."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from .harness import MIB, CaseResult, Ratio

__all__ = [
    "LEGEND",
    "environment",
    "format_case",
    "format_environment",
    "markdown_table",
    "to_json",
]

_ROOT = Path(__file__).resolve().parent.parent
_ENV_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

LEGEND = (
    "speed ratio = time(other) / time(mmref), median over interleaved rounds (min-max): "
    "above 1 means mmref is faster.\n"
    "memory: peak above the baseline while the call runs (tracemalloc / RSS), "
    "in a fresh subprocess (one per case; one for all cases with --quick); "
    "memory ratio = peak RSS(other) / peak RSS(mmref)."
)


def environment() -> dict[str, Any]:
    """Machine, CPU, BLAS, library versions and relevant environment variables."""
    affinity = getattr(os, "sched_getaffinity", None)
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": len(affinity(0)) if affinity is not None else None,
        "memory_gib": _memory_gib(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "versions": {name: _version(name) for name in ("mmref", "numpy", "scipy", "scikit-learn")},
        "mmref_git": _git_revision(),
        "blas": _blas(),
        "env": {name: os.environ[name] for name in _ENV_VARS if name in os.environ},
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git_revision() -> str | None:
    try:
        rev = subprocess.run(
            ["git", "-C", str(_ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(_ROOT), "status", "--porcelain", "--", "mmref"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return rev + (" + uncommitted changes" if dirty else "")


def _blas() -> list[dict[str, Any]]:
    # threadpoolctl sees the BLAS libraries actually loaded; it is optional (never a dependency).
    for module in ("numpy", "scipy.linalg"):
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    try:
        from threadpoolctl import threadpool_info  # type: ignore[import-untyped]
    except ImportError:
        return [_numpy_blas()]
    return [
        {
            "library": info.get("internal_api"),
            "version": info.get("version"),
            "threads": info.get("num_threads"),
            "architecture": info.get("architecture"),
            "file": os.path.basename(str(info.get("filepath"))),
        }
        for info in threadpool_info()
        if info.get("user_api") == "blas"
    ]


def _numpy_blas() -> dict[str, Any]:
    import numpy as np

    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except (TypeError, KeyError):
        return {"library": "unknown (numpy.show_config has no dicts mode)"}
    return {"library": blas.get("name"), "version": blas.get("version"), "via": "numpy"}


def format_environment(env: dict[str, Any]) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items() if v is not None)
    blas = "; ".join(
        " ".join(str(b[k]) for k in ("library", "version") if b.get(k))
        + (f" ({b['threads']} threads, {b['architecture']}, {b['file']})" if "file" in b else "")
        for b in env["blas"]
    )
    lines = [
        f"machine: {env['cpu']}, {env['cores']} cores ({env['usable_cores']} usable), "
        f"{env['memory_gib']} GiB, {env['platform']}",
        f"python:  {env['python']}; {versions}"
        + (f" (git {env['mmref_git']})" if env["mmref_git"] else ""),
        f"BLAS:    {blas}",
    ]
    if env["env"]:
        lines.append("env:     " + " ".join(f"{k}={v}" for k, v in env["env"].items()))
    return "\n".join(lines)


def _seconds(value: float) -> str:
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "us")):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value * 1e9:.3g} ns"


def _rate(n: int, seconds: float, unit: str) -> str:
    rate = n / seconds if seconds > 0 else float("inf")
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if rate >= scale:
            return f"{rate / scale:.3g} {prefix} {unit}/s"
    return f"{rate:.3g} {unit}/s"


def _ratio(ratio: Ratio) -> str:
    return f"{ratio.median:.3g}x (min-max {ratio.low:.3g}-{ratio.high:.3g})"


def _short_ratio(ratio: Ratio | None) -> str:
    return "n/a" if ratio is None else f"{ratio.median:.3g}x ({ratio.low:.3g}-{ratio.high:.3g})"


def _mib(value: int | None) -> str:
    return "n/a" if value is None else f"{value / MIB:.1f}"


def format_case(result: CaseResult) -> str:
    """The block printed for one case."""
    took = f" ({result.elapsed:.1f} s)" if result.elapsed else ""
    lines = [f"== {result.name}: {result.title}{took}"]
    if result.status != "ok":
        lines.append(f"   {result.status}: {result.reason}")
        return "\n".join(lines)
    width = max((len(label) for label in result.labels.values()), default=0)
    for key, label in result.labels.items():
        median = result.median_time(key)
        if median is None:
            lines.append(f"   {key:<11} {label:<{width}}  (not timed)")
            continue
        rate = _rate(result.n_items, median, result.unit)
        lines.append(f"   {key:<11} {label:<{width}}  {_seconds(median):>9}  {rate}")
    for key, ratio in result.ratios.items():
        verdict = "mmref faster" if ratio.median > 1 else "mmref slower"
        lines.append(f"   speed vs {key + ':':<11} {_ratio(ratio)}  {verdict}")
    busy = result.busy
    if busy is not None and busy.status != "ok":
        lines.append(f"   busy: {busy.status}: {busy.reason}")
    elif busy is not None:
        for key, label in busy.labels.items():
            median, idle = busy.median_time(key), result.median_time(key)
            if median is None:
                continue
            slowdown = f"  ({median / idle:.2f}x idle)" if idle else ""
            lines.append(f"   busy {key:<6} {label:<{width}}  {_seconds(median):>9}{slowdown}")
        for key, ratio in busy.ratios.items():
            lines.append(f"   busy speed vs {key + ':':<11} {_ratio(ratio)}")
    if result.memory:
        parts = []
        for key, mem in result.memory.items():
            if mem.error:
                parts.append(f"{key} error: {mem.error}")
            else:
                peak = "" if mem.rss_peak is None else f" (RSS peak {_mib(mem.rss_peak)})"
                parts.append(f"{key} {_mib(mem.tracemalloc_peak)} / {_mib(mem.rss_delta)}{peak}")
        lines.append("   memory MiB (tracemalloc / RSS above baseline): " + "; ".join(parts))
    for target in result.targets:
        lines.append(
            f"   target [{target.source}] {target.text}: {target.status} ({target.detail})"
        )
    if not result.targets:
        lines.append("   target n/a: no target stated in the issues")
    lines.extend(f"   note: {note}" for note in result.notes)
    return "\n".join(lines)


def markdown_table(results: list[CaseResult], env: dict[str, Any], *, quick: bool) -> str:
    """The README's table: ratios side by side, with the machine, BLAS and versions."""
    header = [
        f"Measured with `python -m benchmarks{' --quick' if quick else ''}`"
        f"{' --busy' if any(r.busy is not None for r in results) else ''}: all figures are "
        "ratios of times measured side by side in one process, interleaved, median of "
        "the rounds (min-max in brackets); speed ratio above 1 means mmref is faster. "
        "Peak RSS is above the baseline before the call (absolute for the embed case). "
        "Busy: the same case timed right after, while another process keeps one core busy "
        "(mmref's busy time over its idle time, and the busy speed ratio against the peer).",
        "",
        *(f"    {line}" for line in format_environment(env).splitlines()),
        "",
        "| case | mmref | speed vs peer (sklearn) | speed vs limit | busy: mmref time / idle; "
        "vs peer | mmref peak RSS, MiB | target | status |",
        "|---|---|---|---|---|---|---|---|",
    ]
    rows = []
    for r in results:
        if r.status != "ok":
            reason = r.reason if len(r.reason) <= 80 else r.reason[:77] + "..."
            rows.append(f"| {r.name} | {r.status}: {reason} | | | | | | |")
            continue
        median = r.median_time("mmref")
        speed = "" if median is None else _rate(r.n_items, median, r.unit)
        peer, limit = (_short_ratio(r.ratios.get(key)) for key in ("peer", "limit"))
        mem = r.memory.get("mmref")
        rss = _mib(mem.rss_delta if mem.rss_delta is not None else mem.rss_peak) if mem else "n/a"
        targets = "; ".join(t.text for t in r.targets) or "n/a"
        status = (
            "; ".join(
                t.status + (f" ({t.value:.2f})" if t.value is not None else "") for t in r.targets
            )
            or "n/a"
        )
        busy = _busy_cell(r)
        rows.append(
            f"| {r.name} | {speed} | {peer} | {limit} | {busy} | {rss} | {targets} | {status} |"
        )
    return "\n".join([*header, *rows]) + "\n"


def _busy_cell(result: CaseResult) -> str:
    busy = result.busy
    if busy is None:
        return ""
    if busy.status != "ok":
        return busy.status
    idle_time, busy_time = result.median_time("mmref"), busy.median_time("mmref")
    cell = f"{busy_time / idle_time:.2f}x" if idle_time and busy_time else "n/a"
    if "peer" in busy.ratios:
        cell += f"; {_short_ratio(busy.ratios['peer'])}"
    return cell


def to_json(results: list[CaseResult], env: dict[str, Any], *, quick: bool) -> dict[str, Any]:
    """Everything measured, for ``--json``."""
    return {
        "quick": quick,
        "environment": env,
        "legend": LEGEND,
        "cases": [dataclasses.asdict(r) for r in results],
    }
