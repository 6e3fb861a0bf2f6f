"""The benchmark model: cases, contenders, targets, interleaved timing and ratios.

A *case* is one operation at one size. :meth:`Case.prepare` builds the data and
returns the *contenders*: ``"mmref"`` (the operation under test), usually a
``"peer"`` (scikit-learn) and a ``"limit"`` (what the hardware or the Python
runtime cannot beat: a bare BLAS matmul, one read pass, ``str.split``), plus
sometimes extra ones a target refers to.

Timing: after ``warmup`` calls of each contender, the contenders run in
rounds, interleaved (mmref, peer, limit, mmref, peer, limit, ...), so that
slow drift of a shared machine hits all of them alike. A call that takes less
than ``min_time`` is repeated ``number`` times per measurement (``number``
calibrated once, as :mod:`timeit` does). In full runs each measurement starts
after a pause of ``settle`` seconds: OpenBLAS leaves its worker threads spinning
for about 0.1 s after each call, and a contender timed right after a BLAS call
(the limit's ``X @ R``, say) would share the cores with them; on two cores that
made a threaded contender up to 1.9x slower. Per round, the *speed ratio* against
a contender is ``time(contender) / time(mmref)``: above 1 means mmref is
faster. A case reports the median of the per-round ratios and their min-max.

Memory (``Case.memory``): ``"subprocess"`` cases are measured by
:mod:`benchmarks.memory` in a fresh interpreter; ``"self"`` cases run their
contenders in child processes already and measure them there
(``Prepared.memory_probe``). Memory ratios are ``peak(contender) /
peak(mmref)``: above 1 means mmref uses less. Targets compare a median ratio
(or an absolute peak) with a threshold.
"""

from __future__ import annotations

import gc
import importlib
import math
import statistics
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "BUSY_SLOWDOWN",
    "MIB",
    "Case",
    "CaseResult",
    "Contender",
    "MemoryResult",
    "Prepared",
    "Ratio",
    "SelfTimed",
    "Target",
    "TargetResult",
    "Unavailable",
    "evaluate_busy",
    "evaluate_target",
    "optional_module",
    "paired_ratio",
    "require",
    "run_case",
    "time_contenders",
]

Metric = Literal["speed", "memory", "peak_rss_mib"]
MemoryMode = Literal["subprocess", "self"]
Status = Literal["MET", "NOT MET", "n/a"]

MIB = 1024 * 1024


class Unavailable(Exception):
    """Raised by ``Case.prepare`` when what the case needs is not installed or not written yet."""


@dataclass(frozen=True)
class SelfTimed:
    """What a contender that times itself (in a child process) returns.

    ``seconds`` replaces the harness's own wall-clock measurement; the memory
    fields, when given, are the child's peaks.
    """

    seconds: float
    peak_rss: int | None = None
    tracemalloc_peak: int | None = None


@dataclass(frozen=True)
class Contender:
    """One side of a comparison: ``run()`` performs the timed operation once."""

    key: str
    label: str
    run: Callable[[], object]
    timed: bool = True


@dataclass
class Prepared:
    """The contenders of a case with their data, and how to count throughput."""

    contenders: list[Contender]
    n_items: int
    unit: str
    notes: list[str] = field(default_factory=list)
    cleanup: Callable[[], None] | None = None
    #: For ``memory="self"`` cases: measures each contender's memory itself.
    memory_probe: Callable[[], dict[str, MemoryResult]] | None = None
    #: Called after timing: more notes (e.g. what the timed calls did).
    describe: Callable[[], list[str]] | None = None


@dataclass(frozen=True)
class Target:
    """A performance target as an issue states it, and how to check it.

    ``metric="speed"``: the median of ``time(against) / time(mmref)`` must be
    at least ``threshold``. ``metric="memory"``: ``peak(against) / peak(mmref)``
    (peak RSS above the baseline) at least ``threshold``. ``metric="peak_rss_mib"``:
    mmref's absolute peak RSS at most ``threshold`` MiB (``against`` unused).
    """

    text: str
    source: str
    metric: Metric
    threshold: float
    against: str = ""


@dataclass(frozen=True)
class TargetResult:
    text: str
    source: str
    status: Status
    value: float | None
    detail: str


@dataclass(frozen=True)
class Ratio:
    median: float
    low: float
    high: float


@dataclass(frozen=True)
class MemoryResult:
    """Peak memory of one contender's call, in bytes (None: not measurable here).

    ``rss_delta`` is the peak RSS above the RSS just before the call;
    ``tracemalloc_peak`` counts allocations made during the call (NumPy
    reports its buffers to tracemalloc).
    """

    tracemalloc_peak: int | None
    rss_peak: int | None
    rss_delta: int | None
    error: str | None = None


@dataclass(frozen=True)
class Case:
    """A benchmark case; ``prepare`` is called only when the case runs."""

    name: str
    title: str
    prepare: Callable[[], Prepared]
    targets: tuple[Target, ...] = ()
    repeats: int = 5
    warmup: int = 1
    memory: MemoryMode = "subprocess"
    full_only: bool = False


@dataclass
class CaseResult:
    name: str
    title: str
    status: Literal["ok", "skipped", "error"]
    reason: str = ""
    n_items: int = 0
    unit: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    times: dict[str, list[float]] = field(default_factory=dict)
    number: dict[str, int] = field(default_factory=dict)
    ratios: dict[str, Ratio] = field(default_factory=dict)
    memory: dict[str, MemoryResult] = field(default_factory=dict)
    targets: list[TargetResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: Wall-clock seconds the case took (preparation, timing and memory).
    elapsed: float = 0.0
    #: ``--busy``: the same case timed again while another process keeps a core busy.
    busy: CaseResult | None = None

    def median_time(self, key: str) -> float | None:
        values = self.times.get(key)
        return statistics.median(values) if values else None


def require(module: str, name: str | None = None) -> Any:
    """Import ``module`` (and get ``name`` from it), or raise :class:`Unavailable`.

    Only a missing module or name is "not available"; any other error inside
    an existing module propagates, so a broken module shows up as an error.
    """
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module.startswith(exc.name):
            raise Unavailable(f"{module} is not available") from None
        raise
    if name is None:
        return mod
    try:
        return getattr(mod, name)
    except AttributeError:
        raise Unavailable(f"{module}.{name} is not available") from None


def optional_module(module: str) -> Any | None:
    """Import an optional peer library (scikit-learn), or return None if it is not installed."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError:
        return None


def paired_ratio(numerator: Sequence[float], denominator: Sequence[float]) -> Ratio:
    """Median and min-max over rounds of ``numerator[i] / denominator[i]``."""
    if len(numerator) != len(denominator) or not numerator:
        raise ValueError("paired_ratio needs two non-empty sequences of the same length")
    values = [a / b if b > 0 else math.inf for a, b in zip(numerator, denominator, strict=True)]
    return Ratio(statistics.median(values), min(values), max(values))


def time_contenders(
    contenders: Sequence[Contender],
    *,
    repeats: int,
    warmup: int,
    min_time: float,
    settle: float = 0.0,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[dict[str, list[float]], dict[str, int], dict[str, list[str]]]:
    """Time ``contenders`` interleaved; return seconds per call per round, loop counts, warnings.

    The garbage collector is collected before and disabled during each
    measurement, as :mod:`timeit` does. Each timed measurement starts after
    ``sleep(settle)`` (when ``settle > 0``), so that threads a previous call
    left busy are idle again. Warnings raised by a contender are recorded once
    (during the warm-up) and otherwise silenced.
    """
    timed = [c for c in contenders if c.timed]
    # Everything alive now (the case's data, scipy and sklearn modules) is moved out of the
    # collector's sight, so the collection before each measurement takes microseconds.
    gc.collect()
    gc.freeze()
    try:
        return _time_frozen(
            timed,
            repeats=repeats,
            warmup=warmup,
            min_time=min_time,
            settle=settle,
            clock=clock,
            sleep=sleep,
        )
    finally:
        gc.unfreeze()


def _time_frozen(
    timed: list[Contender],
    *,
    repeats: int,
    warmup: int,
    min_time: float,
    settle: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> tuple[dict[str, list[float]], dict[str, int], dict[str, list[str]]]:
    number = {c.key: 1 for c in timed}
    caught: dict[str, list[str]] = {c.key: [] for c in timed}
    for contender in timed:
        for _ in range(warmup):
            with warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always")
                _, wall = _measure(contender, 1, clock)
            caught[contender.key] = sorted({type(w.message).__name__ for w in seen})
            # Calibrate on the wall clock: a self-timed contender may report far less.
            if wall < min_time:
                number[contender.key] = min(10_000, math.ceil(min_time / max(wall, 1e-9)))
    times: dict[str, list[float]] = {c.key: [] for c in timed}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(repeats):
            for contender in timed:
                n = number[contender.key]
                if settle > 0:
                    sleep(settle)
                times[contender.key].append(_measure(contender, n, clock)[0] / n)
    return times, number, caught


def _measure(contender: Contender, number: int, clock: Callable[[], float]) -> tuple[float, float]:
    """Run ``contender`` ``number`` times: (measured seconds, wall-clock seconds)."""
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        total = wall = 0.0
        for _ in range(number):
            start = clock()
            out = contender.run()
            elapsed = clock() - start
            wall += elapsed
            total += out.seconds if isinstance(out, SelfTimed) else elapsed
    finally:
        if enabled:
            gc.enable()
    return total, wall


def evaluate_target(target: Target, result: CaseResult, *, quick: bool) -> TargetResult:
    """Check ``target`` against a finished case; ``n/a`` when the numbers to check are missing."""

    def done(status: Status, value: float | None, detail: str) -> TargetResult:
        return TargetResult(target.text, target.source, status, value, detail)

    if quick:
        return done("n/a", None, "not checked at --quick sizes")
    if target.metric == "speed":
        ratio = result.ratios.get(target.against)
        if ratio is None:
            return done("n/a", None, f"no timing for {target.against!r}")
        value = ratio.median
        detail = f"speed ratio {value:.2f}x, needs >= {target.threshold:.2f}x"
    elif target.metric == "memory":
        mine = result.memory.get("mmref")
        other = result.memory.get(target.against)
        if mine is None or other is None or mine.rss_delta is None or other.rss_delta is None:
            return done("n/a", None, f"no peak RSS for mmref and {target.against!r}")
        value = other.rss_delta / max(mine.rss_delta, MIB)
        detail = f"memory ratio {value:.1f}x, needs >= {target.threshold:.1f}x"
    else:
        mine = result.memory.get("mmref")
        if mine is None or mine.rss_peak is None:
            return done("n/a", None, "no peak RSS for mmref")
        value = mine.rss_peak / MIB
        detail = f"peak RSS {value:.0f} MiB, needs <= {target.threshold:.0f} MiB"
        return done("MET" if value <= target.threshold else "NOT MET", value, detail)
    return done("MET" if value >= target.threshold else "NOT MET", value, detail)


#: Busy mode (issue 19): with one core busy, mmref's time at most this many times its idle time.
BUSY_SLOWDOWN = 1.5


def evaluate_busy(
    case: Case, idle: CaseResult, busy: CaseResult, *, quick: bool
) -> list[TargetResult]:
    """The busy-mode targets: mmref within ``BUSY_SLOWDOWN`` of its idle time, and every
    speed target against scikit-learn (``"peer"``) still met with one core busy."""
    source = "issue 19, busy"
    text = f"busy: mmref within {BUSY_SLOWDOWN}x of its idle time"
    out = []
    idle_time, busy_time = idle.median_time("mmref"), busy.median_time("mmref")
    if quick:
        out.append(TargetResult(text, source, "n/a", None, "not checked at --quick sizes"))
    elif idle_time is None or busy_time is None or busy.status != "ok":
        out.append(TargetResult(text, source, "n/a", None, "no mmref timing idle and busy"))
    else:
        value = busy_time / idle_time
        status: Status = "MET" if value <= BUSY_SLOWDOWN else "NOT MET"
        detail = f"busy/idle time {value:.2f}x, needs <= {BUSY_SLOWDOWN:.2f}x"
        out.append(TargetResult(text, source, status, value, detail))
    for target in case.targets:
        if target.metric == "speed" and target.against == "peer":
            busy_target = Target(f"busy: {target.text}", source, "speed", target.threshold, "peer")
            out.append(evaluate_target(busy_target, busy, quick=quick))
    return out


def run_case(
    case: Case, *, repeats: int | None, min_time: float, settle: float = 0.0
) -> CaseResult:
    """Prepare and time one case (and probe its memory if it measures itself); never raises.

    Memory measured in a subprocess and the targets are filled in afterwards by
    the caller (see :func:`evaluate_target`), so that several cases can share
    one memory subprocess in ``--quick`` runs.
    """
    result = CaseResult(case.name, case.title, "ok")
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            prepared = case.prepare()
    except Unavailable as exc:
        result.status, result.reason = "skipped", f"not available ({exc})"
        return result
    except Exception as exc:
        result.status, result.reason = "error", f"prepare failed: {type(exc).__name__}: {exc}"
        return result
    try:
        result.n_items, result.unit = prepared.n_items, prepared.unit
        result.notes.extend(prepared.notes)
        if seen:
            names = sorted({type(w.message).__name__ for w in seen})
            result.notes.append(f"preparation warned: {', '.join(names)}")
        result.labels = {c.key: c.label for c in prepared.contenders}
        times, number, caught = time_contenders(
            prepared.contenders,
            repeats=repeats or case.repeats,
            warmup=case.warmup,
            min_time=min_time,
            settle=settle,
        )
        result.times, result.number = times, number
        for key, names in caught.items():
            if names:
                result.notes.append(f"{key} warned: {', '.join(names)}")
        if "mmref" in times:
            for key, values in times.items():
                if key != "mmref":
                    result.ratios[key] = paired_ratio(values, times["mmref"])
        if case.memory == "self" and prepared.memory_probe is not None:
            result.memory = prepared.memory_probe()
        if prepared.describe is not None:
            result.notes.extend(prepared.describe())
    except Exception as exc:
        result.status, result.reason = "error", f"{type(exc).__name__}: {exc}"
    finally:
        # The contenders' closures hold the case's data: drop it before the next case.
        prepared.contenders.clear()
        if prepared.cleanup is not None:
            prepared.cleanup()
        gc.collect()
    return result
