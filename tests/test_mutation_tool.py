"""The mutation command (tools/mutation.py): bad input, and Ctrl-C leaves the tree as it was."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "mutation.py"

pytestmark = pytest.mark.skipif(not TOOL.exists(), reason="needs the source tree's tools/")


@pytest.fixture
def tool() -> Iterator[Any]:
    """tools/mutation.py loaded as a module (dataclasses look their module up by name)."""
    spec = importlib.util.spec_from_file_location("mmref_mutation_tool", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


def _ctrl_c_as_in_a_terminal() -> None:
    """Let the child receive Ctrl-C even if this runner ignores it (nohup, background jobs)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _git_status() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all", "--ignored"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_an_unknown_module_is_named_and_the_known_ones_listed() -> None:
    result = subprocess.run(
        [sys.executable, str(TOOL), "reference", "no_such_module"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 2
    assert "unknown module 'no_such_module'" in result.stderr
    for known in ("reference", "classifiers", "_tokenize", "conformance._core", "persistence"):
        assert known in result.stderr
    assert result.stdout == ""


@pytest.mark.skipif(
    os.name != "posix" or shutil.which("git") is None or not (ROOT / ".git").exists(),
    reason="POSIX signals and a git checkout",
)
@pytest.mark.skipif(importlib.util.find_spec("mutmut") is None, reason="mutmut (dev extra)")
def test_ctrl_c_leaves_the_working_tree_exactly_as_it_was(tmp_path: Path) -> None:
    before = _git_status()
    env = dict(os.environ, TMPDIR=str(tmp_path))  # where the scratch copy goes
    process = subprocess.Popen(
        [sys.executable, str(TOOL), "reference"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ctrl_c_as_in_a_terminal,
    )
    try:
        # Interrupt once mutmut has written mutated code into its copy: the moment a
        # mutated file could be left behind.
        deadline = time.monotonic() + 300  # a bound on a hang only, not a speed check
        while time.monotonic() < deadline and process.poll() is None:
            if any(tmp_path.glob("mmref-mutation-*/mutants/mmref/reference.py.meta")):
                break
            time.sleep(0.05)
        assert process.poll() is None, process.communicate()[1]
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=600)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr
    assert _git_status() == before
    assert list(tmp_path.iterdir()) == []  # the scratch copy is gone too


def test_the_report_marks_a_score_whose_module_changed_since(tool: Any) -> None:
    # A score measured on an earlier version of a module must not pass for the current one.
    current = tool.source_hash("reference")
    statuses = {"mmref.reference.x_f__mutmut_1": "killed"}
    fresh = tool.Outcome("reference", dict(statuses), source=current)
    stale = tool.Outcome("_hashing", dict(statuses), source="0" * 16)
    report = tool.markdown({"reference": fresh, "_hashing": stale}, {})
    rows = {line.split(" | ")[0]: line for line in report.splitlines() if line.startswith("| ")}
    assert "| reference" in rows and "100.0%" in rows["| reference"]
    assert "| _hashing (source changed since this run)" in rows


def test_a_run_where_most_mutants_timed_out_is_marked_suspect(tool: Any) -> None:
    # A timeout counts as detected: a test hanging in mutmut's forked workers would make
    # every mutant look killed, and the score 100%.
    current = tool.source_hash("reference")
    hung = {f"mmref.reference.x_f__mutmut_{i}": "timeout" for i in range(8)}
    hung.update({f"mmref.reference.x_g__mutmut_{i}": "killed" for i in range(8)})
    fine = {f"mmref.reference.x_f__mutmut_{i}": "killed" for i in range(16)}
    fine["mmref.reference.x_g__mutmut_1"] = "timeout"
    report = tool.markdown(
        {
            "reference": tool.Outcome("reference", hung, source=current),
            "_validation": tool.Outcome(
                "_validation", fine, source=tool.source_hash("_validation")
            ),
        },
        {},
    )
    rows = {line.split(" | ")[0]: line for line in report.splitlines() if line.startswith("| ")}
    assert "| reference (suspect: most detections are timeouts)" in rows
    assert "| _validation" in rows


def test_reasons_of_a_module_without_a_complete_run_are_kept(tool: Any) -> None:
    # Reasons are written by hand: a report rewritten before the module's first complete
    # run (or after its source changed) must not drop them; a current run decides.
    current = tool.source_hash("reference")
    results = {
        "reference": tool.Outcome(
            "reference", {"mmref.reference.x_f__mutmut_1": "killed"}, source=current
        )
    }
    reasons = {
        "mmref.persistence.x__load__mutmut_3": ("equivalent", "no input tells"),
        "mmref.reference.x_f__mutmut_1": ("accepted", "killed since"),
    }
    report = tool.markdown(results, reasons)
    assert "- `mmref.persistence.x__load__mutmut_3` (equivalent): no input tells" in report
    assert "killed since" not in report


_REGISTERING = """
REGISTRY = {}


def register(name):
    def add(function):
        REGISTRY[name] = function
        return function

    return add


@register("double")
def double(x):
    return 2 * x


def unused(x):
    return x + 1
"""

_MUTATE = """
import json, sys
from mutmut.mutation.file_mutation import mutate_file_contents
mutated = mutate_file_contents(sys.argv[1], sys.stdin.read())
print(json.dumps({"code": mutated.code, "names": mutated.mutant_names}))
"""


def _mutated(tmp_path: Path, module: str, source: str) -> tuple[Path, list[str]]:
    """mutmut's mutated copy of ``module`` in ``tmp_path / "mutants"``, and its mutants' names."""
    (tmp_path / "pyproject.toml").write_text('[tool.mutmut]\nsource_paths = ["src"]\n')
    (tmp_path / "src").mkdir()
    generated = subprocess.run(
        [sys.executable, "-c", _MUTATE, f"{module}.py"],
        input=source,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    mutated = json.loads(generated.stdout)
    mutants = tmp_path / "mutants"
    mutants.mkdir()
    (mutants / f"{module}.py").write_text(mutated["code"])
    return mutants, [f"{module}.{name}" for name in mutated["names"]]


@pytest.mark.skipif(importlib.util.find_spec("mutmut") is None, reason="mutmut (dev extra)")
def test_a_function_that_runs_only_at_import_is_tested_with_its_mutant_on(
    tool: Any, tmp_path: Path
) -> None:
    # mutmut switches a mutant on after importing the code, so a decorator that
    # registers at import keeps its original behaviour under every mutant: without the
    # fresh-interpreter recheck, a registry the tests check looks untested.
    mutants, names = _mutated(tmp_path, "registering", _REGISTERING)
    (mutants / "conftest.py").write_text(
        "from hypothesis import settings\nsettings.register_profile('ci')\n"
    )
    (mutants / "test_registering.py").write_text(
        "from registering import REGISTRY\n\n\n"
        "def test_the_registry_doubles():\n"
        "    assert REGISTRY['double'](3) == 6\n"
    )
    registering = {n for n in names if ".x_register__" in n}
    unused = [n for n in names if ".x_unused__" in n]
    assert registering and unused

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    assert tool.called_at_import(mutants, env, "registering") == registering
    statuses = tool.recheck_fresh(
        mutants, env, ["test_registering.py"], [*sorted(registering), unused[0]]
    )
    assert statuses == {**dict.fromkeys(registering, "killed"), unused[0]: "survived"}


_CACHED = """
import functools


def helper(x):
    return x * 2


@functools.cache
def table():
    return helper(3)
"""

_TEST_CACHED = """
from cached import helper, table

BUILT_AT_IMPORT = helper(3)


def test_the_table():
    assert table() == 6


def test_what_was_built_at_import():
    assert BUILT_AT_IMPORT == 6
"""

# What mutmut does: the tests run unmutated first (its stats run: the test module is
# imported, the caches filled), then the mutant is switched on and the chosen test runs
# again in the same process.
_AFTER_STATS = """
import os, sys
import pytest
mutant, test, plugin = sys.argv[1], sys.argv[2], sys.argv[3:]
args = ["-q", "-p", "no:cacheprovider", *plugin]
if pytest.main([*args, "test_cached.py"]) != 0:
    sys.exit(3)
os.environ["MUTANT_UNDER_TEST"] = mutant
sys.exit(pytest.main([*args, f"test_cached.py::{test}"]))
"""


@pytest.mark.skipif(importlib.util.find_spec("mutmut") is None, reason="mutmut (dev extra)")
def test_what_was_cached_before_a_mutant_was_switched_on_is_computed_again(
    tool: Any, tmp_path: Path
) -> None:
    # Without the plugin what the unmutated code cached, or built when the test module
    # was imported, hides the helper's mutants: the test passes ("survived") whatever
    # it checks.
    mutants, names = _mutated(tmp_path, "cached", _CACHED)
    (mutants / f"{tool.CACHE_PLUGIN}.py").write_text(
        tool.cache_plugin_source(session="cached", per_test="cached")
    )
    (mutants / "test_cached.py").write_text(_TEST_CACHED)
    helper = sorted(n for n in names if n.startswith("cached.x_helper__"))
    assert helper

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def exit_code(mutant: str, test: str, *plugin: str) -> int:
        run = subprocess.run(
            [sys.executable, "-c", _AFTER_STATS, mutant, test, *plugin],
            cwd=mutants,
            env=env,
            capture_output=True,
            text=True,
        )
        assert run.returncode in (0, 1), run.stdout + run.stderr
        return run.returncode

    for test in ("test_the_table", "test_what_was_built_at_import"):
        assert [exit_code(m, test) for m in helper] == [0] * len(helper), test
        plugin = ("-p", tool.CACHE_PLUGIN)
        assert [exit_code(m, test, *plugin) for m in helper] == [1] * len(helper), test


_TEST_BUILT_AT_IMPORT = """
import subprocess, sys

from cached import helper

BUILT_AT_IMPORT = helper(3)


def test_something_else():
    assert True


def test_what_was_built_at_import():
    assert BUILT_AT_IMPORT == 6


def test_a_fresh_interpreter():
    code = "import cached; assert cached.helper(3) == 6"
    subprocess.run([sys.executable, "-c", code], check=True)
"""

# mutmut's stats run, in the scratch layout: which tests does it link to each function?
_STATS = """
import json, sys
from mutmut.mutation.trampoline import set_mutant_under_test
from mutmut.runners.harness import PytestRunner
from mutmut.state import state
set_mutant_under_test("stats")
if PytestRunner().run_stats(tests=["test_built.py"]) != 0:
    sys.exit(3)
links = state().tests_by_mangled_function_name
print(json.dumps({name: sorted(tests) for name, tests in links.items()}))
"""


@pytest.mark.skipif(importlib.util.find_spec("mutmut") is None, reason="mutmut (dev extra)")
def test_what_a_test_module_calls_at_import_or_in_a_child_is_linked_to_its_tests(
    tool: Any, tmp_path: Path
) -> None:
    # mutmut's stats give calls made while a test module is imported to whichever test
    # runs first, here one that does not use them, and record nothing in a child
    # process: the helper's mutants would run only through that test, and survive.
    def stats_links(*plugin: str) -> dict[str, list[str]]:
        (tmp_path / "pyproject.toml").write_text(
            '[tool.mutmut]\nsource_paths = ["src"]\n'
            f"pytest_add_cli_args = {json.dumps(['-p', 'no:cacheprovider', *plugin])}\n"
        )
        run = subprocess.run(
            [sys.executable, "-c", _STATS],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(mutants)},
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        links: dict[str, list[str]] = json.loads(run.stdout.splitlines()[-1])
        return links

    mutants, _ = _mutated(tmp_path, "cached", _CACHED)
    (mutants / f"{tool.CACHE_PLUGIN}.py").write_text(
        tool.cache_plugin_source(session="cached", per_test="cached")
    )
    (mutants / "test_built.py").write_text(_TEST_BUILT_AT_IMPORT)
    # The child process inherits PYTHONPATH, so it runs the scratch site's sitecustomize.
    (mutants / "sitecustomize.py").write_text(tool.SITECUSTOMIZE)

    first_only = ["test_built.py::test_something_else"]
    assert stats_links()["cached.x_helper"] == first_only
    assert stats_links("-p", tool.CACHE_PLUGIN)["cached.x_helper"] == [
        "test_built.py::test_a_fresh_interpreter",
        *first_only,
        "test_built.py::test_what_was_built_at_import",
    ]


@pytest.mark.skipif(importlib.util.find_spec("mutmut") is None, reason="mutmut (dev extra)")
def test_a_mutant_that_breaks_the_collection_of_the_tests_is_killed(
    tool: Any, tmp_path: Path
) -> None:
    # A test module that computes something at import fails to import under a mutant that
    # breaks it (the plugin imports test modules again under each mutant): pytest exits
    # with 2, which mutmut calls "interrupted by user".
    (tmp_path / "test_broken.py").write_text("raise RuntimeError('broken at import')\n")
    code = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_broken.py"],
        cwd=tmp_path,
        capture_output=True,
    ).returncode
    statuses = tool.mutant_statuses(
        {"exit_code_by_key": {"broken": code, "passed": 0, "failed": 1}}
    )
    assert statuses == {"broken": "killed", "passed": "survived", "failed": "killed"}
