"""Mutation testing: does the test suite notice when mmref goes wrong?

    python tools/mutation.py [MODULE ...] [--workers N] [--check] [--no-write]
    python tools/mutation.py --survivors [MODULE ...]
    python tools/mutation.py --report

mutmut (pinned in the ``dev`` extra) changes one thing at a time in a module (a
comparison, a constant, a removed call, ...) and runs the tests that reach the
changed function; a mutant the tests do not notice *survives*. For each chosen
MODULE (``reference``, ``classifiers``, ``conformance._core``, ...; without any,
every known module; ``module:part`` mutates only some functions, e.g.
``_validation:reference``, the checks the specification functions call) this
prints mutants, killed, survived, timed out and the
score, and rewrites tests/MUTATION.md: the per-module table and every survivor
with its one-line reason. Reasons are written by hand into tests/MUTATION.md
(``- `name` (equivalent): why`` or ``(accepted): why``) and kept when the file is
regenerated (``--report`` rewrites the file after such an edit without running
anything); a survivor without one is listed as ``unexplained``. Results of
modules not run this time are kept from tests/mutation_results.json.

    score = (killed + timed out) / (mutants - equivalent)

A run in which more than a quarter of the mutants (and at least five) timed out
is marked *suspect* in the table, and fails ``--check``: a timeout counts as
detected, so a test that hangs in mutmut's forked workers makes every mutant
look killed (it happened: a BLAS control thread the fork did not copy).

``--survivors`` reruns only the mutants that survived the stored run (quick, after
adding tests; tests only ever added cannot revive a killed mutant, and a module
whose source changed since is run whole). ``--check`` exits 1 when a chosen module
has a survivor that is not recorded as equivalent (CI runs it on the two
specification functions' modules).

What the command handles that ``mutmut run`` cannot do with this layout:

* The working tree is never touched. mutmut writes its mutated copy into
  ``mutants/`` next to the sources; here it runs in a scratch copy of the tree in
  a temporary directory, removed afterwards, also on Ctrl-C or SIGTERM (which stop mutmut
  and its workers and exit 130). Only tests/MUTATION.md and
  tests/mutation_results.json are written, each replaced in one step at the end.
* Tests that start a fresh interpreter (``python -m mmref``, ``sys.executable -c``)
  would import the installed, unmutated mmref; ``PYTHONPATH`` points them at the
  mutated copy, and mutmut's ``MUTANT_UNDER_TEST`` reaches them through the
  environment, so they test the mutant too.
* pytest's ``testpaths`` includes ``mmref`` for the doctests: each module's test
  selection below names its own file, so its doctests run against its mutants
  (``--doctest-modules`` stays in ``addopts``); nothing else under mmref/ is
  collected. Tests in subfolders (tests/cli, tests/conformance) are selected by
  path, and the root conftest.py is copied (``also_copy``).
* mutmut calls each mutated function through a trampoline, one more stack frame:
  a test of which frame a warning is attributed to can only run outside it
  (``MUTANT_UNDER_TEST`` is set inside).
* mutmut imports the code once, unmutated, and switches a mutant on only for later
  calls, so a function that runs only at import (the decorators that register the
  kit's properties) would keep its original behaviour under all its mutants. Such a
  survivor is run again in a fresh interpreter with the mutant on from the start
  (its module's tests, stopping at the first failure).
* For the same reason, what was computed before mutmut forked its workers would hide
  the mutants of the functions that computed it: mmref's caches (``functools.cache``:
  the tokenizer's tables, the kit's strategies) and what test modules build when
  imported (parametrize lists, ``@given``'s strategies). A plugin empties the caches
  and has pytest import the test modules again when each mutant's tests start, and
  empties the kit's caches before every test (so mutmut's stats link each test that
  builds a cached strategy to the helpers it calls). mutmut's stats give what a test
  module calls while it is imported to whichever test runs first; the plugin gives it
  to every test of that module. And what a fresh interpreter started by a test reaches
  (``python -m mmref conform ...``) is recorded there and linked to that test too.
* Hypothesis runs under the ``ci`` profile (derandomized: the same examples for
  every mutant, so a verdict does not depend on luck).
* Each module runs only the tests chosen for it (mutmut narrows them further to
  the tests that reach the mutated function), on ``--workers`` processes (default
  1: a shared 2-core machine), each mutant under a wall-clock timeout of five
  times its tests' clean time plus ten seconds (``[tool.mutmut]`` in
  pyproject.toml); a mutant that times out counts as detected.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "tests" / "MUTATION.md"
RESULTS = ROOT / "tests" / "mutation_results.json"

# Module -> the tests that can notice it going wrong. A path that does not exist
# (yet) is skipped. The module's own file is listed for its doctests.
_CLASSIFIER_TESTS = (
    "tests/test_classifiers.py",
    "tests/test_sklearn_compat.py",
    "tests/test_mutation_classifiers.py",
)
_IMAGE_TESTS = (
    "tests/test_image.py",
    "tests/test_gaussian.py",
    "tests/test_mutation_projection.py",
)
_TEXT_TESTS = (
    "tests/test_text.py",
    "tests/test_hashing.py",
    "tests/test_mutation_tokenize.py",
    "tests/test_mutation_hashing.py",
    "tests/test_tokenize_bytes.py",
    "tests/test_tokenize_normalize.py",
)
_REFERENCE_TESTS = (
    "tests/test_reference.py",
    "tests/test_validation.py",
    "tests/test_mutation_validation.py",
)
_MODEL_FILE_TESTS = (
    "tests/test_persistence.py",
    "tests/test_hardening.py",
    "tests/test_model_checks.py",
    "tests/test_mutation_persistence.py",
)
# Not all of tests/cli: test_cli.py and test_embed_hardening.py start a fresh `mmref`
# per test (demo runs, signals sent mid-run, a progress bar on a pseudo-terminal, a large
# file in bounded memory): under mutmut every surviving mutant reruns them all, minutes
# per mutant on a shared 2-core machine. The in-process tests of embed
# (tests/test_mutation_embed.py) stand in for them, so the scores are lower bounds.
# test_launch.py is about the console script's start-up, and test_readme_own_data.py runs
# the README's own-data walk-through in fresh processes.
_EMBED_TESTS = (
    "tests/test_stream.py",
    "tests/test_outputs.py",
    "tests/test_mutation_embed.py",
    "tests/cli/test_embed_files.py",
    "tests/cli/test_train_predict.py",
    "tests/cli/test_help.py",
)
# The kit's tests for the modules the others build on: test_cli_conform.py and
# test_command.py drive the kit mostly in child processes, which mutmut's stats do not
# see, so they are hardly ever chosen for such a module's mutants; they add minutes to
# its clean and stats runs, and their timeouts fail those runs on a busy machine.
_KIT_IN_PROCESS = tuple(
    sorted(
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "tests" / "conformance").glob("test_*.py")
        if p.name not in ("test_cli_conform.py", "test_command.py")
    )
)
_KIT_BASE = ("__init__", "_describe", "_stubs", "strategies", "_examples", "_core")
_KIT_PROPERTIES = ("_joint", "_classification")
_KIT = ("tests/conformance",)
# Kit modules whose tests are chosen more narrowly: mutmut runs a mutant only through the
# tests that call the mutated function in the test process, so tests that reach the kit
# only through a child process (the CLI tests) would cost their time in mutmut's stats
# run and kill nothing.
_KIT_NARROW = {
    name: tuple(f"tests/conformance/test_{t}.py" for t in tests)
    for name, tests in {
        "_models": ("models", "catalogue_models"),
        "_run": (
            "run",
            "mutation_run",
            "mutation_run_options",
            "models",
            "catalogue_models",
            "functions",
            "testing",
            "targets",
        ),
        "_targets": (
            "targets",
            "mutation_targets",
            "models",
            "catalogue_models",
            "run",
            "mutation_run",
        ),
        "_watch": ("run", "mutation_run", "golden", "mutation_golden"),
        "_command": ("command", "mutation_command"),
        "_golden": ("golden", "command", "run", "mutation_golden", "mutation_command"),
        "_golden_format": ("golden", "command", "mutation_golden", "mutation_command"),
    }.items()
}
MODULES: dict[str, tuple[str, ...]] = {
    "reference": (*_REFERENCE_TESTS, "mmref/reference.py"),
    "_validation": (*_REFERENCE_TESTS, "mmref/_validation.py"),
    "_validation:reference": (*_REFERENCE_TESTS, "mmref/_validation.py"),
    "classifiers": (*_CLASSIFIER_TESTS, "mmref/classifiers.py"),
    "_classifier_base": (*_CLASSIFIER_TESTS, "tests/test_base.py", "mmref/_classifier_base.py"),
    "_projection": (*_IMAGE_TESTS, "mmref/_projection.py"),
    "image": (*_IMAGE_TESTS, "tests/test_mutation_image.py", "mmref/image.py"),
    "_tokenize": (*_TEXT_TESTS, "mmref/_tokenize.py"),
    "_hashing": (*_TEXT_TESTS, "tests/test_image.py", "mmref/_hashing.py"),
    "_text_counts": (*_TEXT_TESTS, "tests/test_mutation_text_counts.py", "mmref/_text_counts.py"),
    "persistence": (*_MODEL_FILE_TESTS, "mmref/persistence.py"),
    "_model_checks": (*_MODEL_FILE_TESTS, "mmref/_model_checks.py"),
    "_stream": (*_EMBED_TESTS, "mmref/_stream.py"),
    "_io": (*_EMBED_TESTS, "mmref/_io.py"),
    "_outputs": (*_EMBED_TESTS, "mmref/_outputs.py"),
    # Also its options in this process: --dtype, the progress bar, --scheduler on an
    # in-process Dask cluster (tests/test_dask.py starts worker processes), and the
    # README's command-line reference (help texts, metavars, choices).
    "cli.embed": (
        *_EMBED_TESTS,
        "tests/cli/test_embed_options.py",
        "tests/cli/test_cli_reference.py",
        "mmref/cli/embed.py",
    ),
    **{
        f"conformance.{name}": (
            *_KIT_NARROW.get(
                name, _KIT_IN_PROCESS if name in _KIT_BASE + _KIT_PROPERTIES else _KIT
            ),
            f"mmref/conformance/{name}.py",
        )
        for name in (
            "__init__",
            "_describe",
            "_stubs",
            "strategies",
            "_examples",
            "_core",
            "_targets",
            "_joint",
            "_classification",
            "_models",
            "_run",
            "_watch",
            "_command",
            "_golden_format",
            "_golden",
        )
    },
}

# A target ``module:part`` mutates only these functions of the module.
FUNCTIONS: dict[str, tuple[str, ...]] = {
    # What the two specification functions call (CI: no survivor allowed).
    "_validation:reference": (
        "model_output",
        "check_real_array",
        "check_no_nan_rows",
        "shape_str",
        "describe",
    ),
}

# The areas of issue 25, in the order of the report's table.
AREAS: dict[str, tuple[str, ...]] = {
    "reference functions and validation": ("reference", "_validation:reference", "_validation"),
    "classifiers": ("classifiers", "_classifier_base"),
    "projections": ("_projection", "image"),
    "tokenizer and hashing": ("_tokenize", "_hashing", "_text_counts"),
    "embed output path": ("_stream", "_io", "_outputs", "cli.embed"),
    "model files": ("persistence", "_model_checks"),
    "conformance kit": tuple(m for m in MODULES if m.startswith("conformance.")),
}

# Modules whose tests run SciPy's multi-threaded DCT (the projections). Its thread pool
# (pocketfft) shuts down in a fork handler, and that shutdown can miss its wake-up and
# wait forever: mutmut's parent, which ran the tests in its stats run, hung in
# os.fork() at the 40th of image's mutants (seen on 2026-12-08). mutmut's fork server
# forks each mutant from a process that has only imported the tests, never run them.
_FORK_SERVER = {"image"}

_DETECTED = {"killed", "timeout", "segfault", "caught by type check"}
# More timed out than this share of the mutants: the score is not trusted (see suspect).
_SUSPECT_SHARE = 0.25
_REASON = re.compile(r"^- `(?P<name>[^`]+)` \((?P<kind>equivalent|accepted)\): (?P<why>.+)$")


def module_path(module: str) -> str:
    return "mmref/" + module.partition(":")[0].replace(".", "/") + ".py"


def _patterns(module: str) -> list[str]:
    """mutmut's names for the mutants of ``module`` (all, or those of its chosen functions)."""
    dotted = "mmref." + module.partition(":")[0]
    return [f"{dotted}.x_{f}__mutmut_*" for f in FUNCTIONS.get(module, ())]


@dataclass
class Outcome:
    """One module's mutants by status, with the diff of each survivor."""

    module: str
    statuses: dict[str, str] = field(default_factory=dict)
    diffs: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    when: str = ""
    source: str = ""  # the module's hash when it was run

    def count(self, *statuses: str) -> int:
        return sum(s in statuses for s in self.statuses.values())

    def survivors(self) -> list[str]:
        return sorted(n for n, s in self.statuses.items() if s not in _DETECTED)

    def as_json(self) -> dict[str, Any]:
        return {
            "statuses": self.statuses,
            "diffs": self.diffs,
            "seconds": self.seconds,
            "when": self.when,
            "source": self.source,
        }


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python tools/mutation.py",
        description="Run mutmut on mmref modules and report the mutants the tests miss.",
    )
    parser.add_argument("modules", nargs="*", metavar="MODULE", help="e.g. reference, classifiers")
    parser.add_argument("--workers", type=int, default=1, help="mutmut worker processes (1)")
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if a survivor is not recorded as equivalent in tests/MUTATION.md",
    )
    parser.add_argument(
        "--no-write", action="store_true", help="print the table; leave tests/MUTATION.md alone"
    )
    parser.add_argument(
        "--survivors",
        action="store_true",
        help="rerun only the mutants that survived the stored run (after adding tests; "
        "a module changed since then is run whole)",
    )
    parser.add_argument(
        "--report",
        action="store_true",
        help="run nothing: rewrite tests/MUTATION.md from the stored results and reasons",
    )
    args = parser.parse_args(argv)
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        parser.error(
            f"unknown module {', '.join(map(repr, unknown))}; the known modules are: "
            + ", ".join(MODULES)
        )
    if args.workers < 1:
        parser.error(f"--workers must be at least 1, got {args.workers}")
    return args


def _toml_list(items: Sequence[str]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def prepare(scratch: Path, module: str) -> list[str]:
    """Copy the tree into ``scratch`` and point mutmut at ``module``; return its tests."""
    ignore = shutil.ignore_patterns("__pycache__", ".hypothesis", ".pytest_cache", "*.egg-info")
    # What the tests read besides mmref/ and tests/ (SPEC.md, the example golden clients).
    for name in ("mmref", "tests", "examples", "ports"):
        shutil.copytree(ROOT / name, scratch / name, ignore=ignore)
    for name in ("conftest.py", "setup.cfg", "SPEC.md", "README.md"):
        shutil.copy2(ROOT / name, scratch / name)
    # Made now, not by mutmut: PYTHONPATH names it, and an interpreter that found no
    # directory there at start-up would not look again.
    (scratch / "mutants").mkdir()
    # mutmut's stats run records which tests reach which function in the test process
    # only; in a fresh interpreter started elsewhere (a test's cwd), its recorder cannot
    # find its configuration. SITECUSTOMIZE records there instead, for the plugin.
    (scratch / "site").mkdir()
    (scratch / "site" / f"{CACHE_PLUGIN}.py").write_text(cache_plugin_source(), encoding="utf-8")
    (scratch / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    tests = [t for t in MODULES[module] if (ROOT / t).exists()]
    config = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    header = "[tool.mutmut]\n"
    if header not in config:
        raise SystemExit("pyproject.toml has no [tool.mutmut] section")
    chosen = (
        f"{header}only_mutate = {_toml_list([module_path(module)])}\n"
        f"pytest_add_cli_args_test_selection = {_toml_list(tests)}\n"
    )
    if module in _FORK_SERVER:
        chosen += 'process_isolation = "forkserver"\n'
    config = config.replace(header, chosen)
    args = "pytest_add_cli_args = ["
    if args not in config:
        raise SystemExit("pyproject.toml's [tool.mutmut] has no pytest_add_cli_args")
    config = config.replace(args, f'{args}"-p", "{CACHE_PLUGIN}", ', 1)
    (scratch / "pyproject.toml").write_text(config, encoding="utf-8")
    return tests


# A pytest plugin in the scratch copy (``-p``). mutmut runs each mutant in a process
# forked after its stats run, so what was computed there was computed by the unmutated
# code: mmref's caches (functools.cache, lru_cache: the tokenizer's tables, the kit's
# strategies), and what the test modules built when they were imported (parametrize
# lists, the strategies of @given). A mutant of a function used only there, or of a
# helper that only such a function calls, would never run. So when each mutant's test
# session starts, the plugin empties the caches and forgets the test modules (pytest
# imports them again, under the mutant); and it empties the kit's caches before every
# test too: its cached strategies are cheap to build again, and then mutmut's stats
# link every test that builds one to the helpers it calls, not only the first such test.
CACHE_PLUGIN = "mmref_mutation_caches"

# Started by a test in mutmut's stats run, a fresh interpreter (``python -m mmref``,
# ``sys.executable -c``) would call mutmut's recorder, which cannot find its
# configuration from the test's cwd; without this, such a child ran unmutated and
# unrecorded, so its test was never linked to what it ran: the mutants of code that
# the tests reach only through the command line were never run. Here the child writes
# each function it reaches to a file in MMREF_MUTATION_HITS, and the plugin gives them
# to the test that started it.
SITECUSTOMIZE = """
import os

if os.environ.get("MUTANT_UNDER_TEST") == "stats":
    if not os.environ.get("MMREF_MUTATION_HITS"):
        del os.environ["MUTANT_UNDER_TEST"]
    else:
        import mutmut.mutation.trampoline

        _seen = set()
        _path = os.path.join(os.environ["MMREF_MUTATION_HITS"], f"{os.getpid()}.txt")

        def _record(name, caller=None):
            if name not in _seen:
                _seen.add(name)
                with open(_path, "a", encoding="utf-8") as hits:
                    hits.write(name + "\\n")

        mutmut.mutation.trampoline.record_trampoline_hit = _record
"""

_CACHE_PLUGIN_SOURCE = """
import os
import shutil
import sys
import tempfile

import pytest


def clear_caches(prefix):
    for name, module in list(sys.modules.items()):
        if module is None or not (name == prefix or name.startswith(prefix + ".")):
            continue
        for value in list(vars(module).values()):
            # The type's attribute: a module's __getattr__ may warn, or build things.
            clear = getattr(type(value), "cache_clear", None)
            if clear is not None:
                clear(value)


def forget_test_modules():
    # What a test module built when it was imported (parametrize lists, @given's
    # strategies) was built by the unmutated code: import it again under the mutant.
    root = os.getcwd() + os.sep
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None) or ""
        if (
            path.startswith(root)
            and os.path.basename(path) != "conftest.py"
            and not (name == {session!r} or name.startswith({session!r} + "."))
        ):
            del sys.modules[name]


def _stats():
    # mutmut's record of which tests reach which function, in its stats run only.
    if os.environ.get("MUTANT_UNDER_TEST") != "stats":
        return None
    from mutmut.state import state

    return state()


_before_module = {{}}
_module_hits = {{}}


def pytest_collectstart(collector):
    stats = _stats()
    if stats is not None and type(collector).__name__ == "Module":
        _before_module[collector.nodeid] = set(stats._stats)
        stats._stats.clear()


def pytest_collectreport(report):
    stats = _stats()
    if stats is not None and report.nodeid in _before_module:
        _module_hits[report.nodeid] = set(stats._stats)
        stats._stats.clear()
        stats._stats.update(_before_module.pop(report.nodeid))


def pytest_collection_finish(session):
    # mutmut gives what a test module calls while it is imported (parametrize lists,
    # @given's strategies) to whichever test runs first; it belongs to all its tests.
    stats = _stats()
    if stats is None:
        return
    for item in session.items:
        for name in _module_hits.get(item.nodeid.partition("::")[0], ()):
            stats.tests_by_mangled_function_name[name].add(item.nodeid.removeprefix("mutants/"))


def pytest_sessionstart(session):
    clear_caches({session!r})
    forget_test_modules()
    if _stats() is not None:
        os.environ["MMREF_MUTATION_HITS"] = tempfile.mkdtemp(prefix="mmref-hits-")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item, nextitem):
    # Before mutmut's own teardown hook, which links what was recorded to this test.
    stats, where = _stats(), os.environ.get("MMREF_MUTATION_HITS")
    if stats is None or not where:
        return
    for name in os.listdir(where):
        with open(os.path.join(where, name), encoding="utf-8") as hits:
            stats._stats.update(hits.read().split())
        os.remove(os.path.join(where, name))


def pytest_sessionfinish(session):
    where = os.environ.pop("MMREF_MUTATION_HITS", None)
    if where:
        shutil.rmtree(where, ignore_errors=True)


def pytest_runtest_setup(item):
    clear_caches({per_test!r})
"""


def cache_plugin_source(*, session: str = "mmref", per_test: str = "mmref.conformance") -> str:
    """The plugin's source: it empties the caches of the package ``session`` when a test
    session starts, and those of ``per_test`` before every test."""
    return _CACHE_PLUGIN_SOURCE.format(session=session, per_test=per_test)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop mutmut and everything it started (its workers, the tests' children)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


def source_hash(module: str) -> str:
    return hashlib.sha256((ROOT / module_path(module)).read_bytes()).hexdigest()[:16]


def run_module(module: str, workers: int, earlier: Outcome | None = None) -> Outcome:
    """Run mutmut on ``module``; with ``earlier``, only on the mutants that survived it."""
    start = time.monotonic()
    only = earlier.survivors() if earlier is not None else []
    scratch = Path(tempfile.mkdtemp(prefix="mmref-mutation-"))
    try:
        tests = prepare(scratch, module)
        env = dict(os.environ)
        # Fresh interpreters started by tests import the mutated copy, not the installed mmref.
        env["PYTHONPATH"] = os.pathsep.join(
            [
                str(scratch / "mutants"),
                str(scratch / "site"),
                *filter(None, [env.get("PYTHONPATH")]),
            ]
        )
        env["HYPOTHESIS_PROFILE"] = "ci"
        env.pop("MUTANT_UNDER_TEST", None)
        log = scratch / "mutmut.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [
                    sys.executable,
                    *("-m", "mutmut", "run", "--max-children", str(workers)),
                    *(only or _patterns(module)),
                ],
                cwd=scratch,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # one group to stop on Ctrl-C
            )
            try:
                code = process.wait()
            except BaseException:
                _stop(process)
                raise
        meta = scratch / "mutants" / (module_path(module) + ".meta")
        no_tests = "could not find any test case for any mutant" in log.read_text(
            encoding="utf-8", errors="replace"
        )
        if code != 0 and no_tests:
            # No test reaches any mutant: each is a survivor ("no tests"); a module with
            # no function (a package's public face) has none.
            keys = (
                json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
                if meta.exists()
                else {}
            )
            meta.parent.mkdir(parents=True, exist_ok=True)
            meta.write_text(
                json.dumps({"exit_code_by_key": dict.fromkeys(keys, 33)}), encoding="utf-8"
            )
            code = 0
        if code != 0 or not meta.exists():
            tail = log.read_text(encoding="utf-8", errors="replace")[-4000:]
            raise SystemExit(f"mutmut failed on {module} (exit {code}):\n{tail}")
        outcome = Outcome(module, when=time.strftime("%Y-%m-%d"), source=source_hash(module))
        statuses = mutant_statuses(json.loads(meta.read_text(encoding="utf-8")))
        if earlier is not None:
            outcome.statuses = earlier.statuses | {n: statuses[n] for n in only}
        else:
            patterns = _patterns(module)
            outcome.statuses = {
                name: status
                for name, status in statuses.items()
                if not patterns or any(fnmatch.fnmatchcase(name, p) for p in patterns)
            }
        at_import = called_at_import(scratch / "mutants", env, _import_name(module))
        outcome.statuses |= recheck_fresh(
            scratch / "mutants", env, tests, [n for n in outcome.survivors() if n in at_import]
        )
        outcome.diffs = _diffs(scratch, env, module, outcome.survivors())
        outcome.seconds = round(time.monotonic() - start, 1)
        return outcome
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _import_name(module: str) -> str:
    return "mmref." + module.partition(":")[0].removesuffix(".__init__")


# Run in the mutated copy: which trampolines (mutated functions) fire while the module
# is imported. mutmut reads the mutant to run from this hook at every call.
_AT_IMPORT = """
import importlib, json, sys
import mutmut.mutation.trampoline as trampoline
hit = set()
def record():
    frame = sys._getframe(1).f_locals
    module = frame["decorated_func"].__module__
    hit.update(f"{module}.{name}" for name in frame["mutants_dict"] if name != "_mutmut_orig")
    return ""
trampoline.get_mutant_under_test = record
module = importlib.import_module(sys.argv[1])
if "mutants" not in module.__file__:
    sys.exit(f"imported {module.__file__}, not the mutated copy")
print(json.dumps(sorted(hit)))
"""


def called_at_import(cwd: Path, env: dict[str, str], name: str) -> set[str]:
    """The mutants (mutmut's names) of the functions that run when ``name`` is imported.

    mutmut imports the code once, unmutated, and switches a mutant on only for the
    calls made afterwards, so a function that runs only at import (a decorator that
    registers the kit's properties) keeps its original behaviour under every one of
    its mutants: they all "survive", whatever the tests check.
    """
    env = {k: v for k, v in env.items() if k != "MUTANT_UNDER_TEST"}
    shown = subprocess.run(
        [sys.executable, "-c", _AT_IMPORT, name],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    if shown.returncode != 0:
        raise SystemExit(f"could not import {name} from {cwd}:\n{shown.stderr[-4000:]}")
    return set(json.loads(shown.stdout))


def recheck_fresh(
    cwd: Path, env: dict[str, str], tests: Sequence[str], names: Sequence[str]
) -> dict[str, str]:
    """Run ``tests`` once per mutant in a fresh interpreter with the mutant on from the start.

    For the mutants :func:`called_at_import` finds: the import itself then runs the
    mutant, as it would for a user. Returns each mutant's status: ``killed`` when a test
    fails or the tests cannot even be collected, ``timeout`` after ten minutes, else
    ``survived``.
    """
    statuses = {}
    for name in names:
        try:
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    "-x",
                    "-q",
                    "-p",
                    "no:cacheprovider",
                    "--hypothesis-profile=ci",
                    *tests,
                ],
                cwd=cwd,
                env={**env, "MUTANT_UNDER_TEST": name},
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=600,
            )
        except subprocess.TimeoutExpired:
            statuses[name] = "timeout"
            continue
        # 1: a test failed; 2: collection failed (the mutant breaks the import).
        if done.returncode not in (0, 1, 2, 5):
            tail = done.stdout.decode(errors="replace")[-4000:]
            raise SystemExit(f"pytest failed on mutant {name} (exit {done.returncode}):\n{tail}")
        statuses[name] = "killed" if done.returncode in (1, 2) else "survived"
    return statuses


def mutant_statuses(meta: dict[str, Any]) -> dict[str, str]:
    from mutmut.stats import status_by_exit_code  # the dev extra's mutmut

    # pytest's exit code 2 is what mutmut calls "interrupted by user"; but a Ctrl-C stops
    # this whole command, so here it means the tests could not even be collected: the
    # mutant broke the import of a test module (which the plugin imports again under it).
    return {
        name: "killed" if code == 2 else status_by_exit_code[code]
        for name, code in meta["exit_code_by_key"].items()
    }


_SHOW = """
import json, sys
from mutmut.mutation.diff_apply import get_diff_for_mutant
path, names = sys.argv[1], sys.argv[2:]
print(json.dumps({n: get_diff_for_mutant(n, path=path) for n in names}))
"""


def _diffs(scratch: Path, env: dict[str, str], module: str, names: list[str]) -> dict[str, str]:
    """The changed lines of each named mutant (``mutmut show``, in one process)."""
    if not names:
        return {}
    shown = subprocess.run(
        [sys.executable, "-c", _SHOW, module_path(module), *names],
        cwd=scratch,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {
        name: "\n".join(
            line
            for line in diff.splitlines()
            if line[:1] in "+-" and not line.startswith(("+++", "---"))
        )
        for name, diff in json.loads(shown).items()
    }


def load_results() -> dict[str, Outcome]:
    if not RESULTS.exists():
        return {}
    stored = json.loads(RESULTS.read_text(encoding="utf-8"))
    return {
        m: Outcome(m, o["statuses"], o["diffs"], o["seconds"], o["when"], o.get("source", ""))
        for m, o in stored.items()
        if m in MODULES
    }


def load_reasons() -> dict[str, tuple[str, str]]:
    if not REPORT.exists():
        return {}
    reasons = {}
    for line in REPORT.read_text(encoding="utf-8").splitlines():
        match = _REASON.match(line)
        if match:
            reasons[match["name"]] = (match["kind"], match["why"])
    return reasons


def suspect(o: Outcome) -> bool:
    """Whether so many mutants timed out that the run may have measured a hang, not the tests.

    A timeout counts as detected, so a test that hangs in mutmut's forked workers
    (a lock or thread the fork did not copy) makes every mutant look killed.
    """
    timeouts = o.count("timeout")
    return timeouts >= 5 and timeouts > _SUSPECT_SHARE * len(o.statuses)


def row(o: Outcome, reasons: dict[str, tuple[str, str]]) -> tuple[str, ...]:
    total, survivors = len(o.statuses), o.survivors()
    equivalent = sum(reasons.get(n, ("",))[0] == "equivalent" for n in survivors)
    detected = o.count(*_DETECTED)
    score = f"{100 * detected / (total - equivalent):.1f}%" if total > equivalent else "-"
    return (
        o.module,
        str(total),
        str(o.count("killed", "segfault", "caught by type check")),
        str(len(survivors)),
        str(o.count("timeout")),
        str(equivalent),
        score,
    )


HEADER = ("module", "mutants", "killed", "survived", "timed out", "equivalent", "score")


def table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    lines = [
        " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [HEADER, *rows]
    ]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(results: dict[str, Outcome], reasons: dict[str, tuple[str, str]]) -> str:
    out = [
        "# Mutation testing",
        "",
        "Generated by `python tools/mutation.py [MODULE ...]` (see its docstring and the",
        "README's section for contributors); only the reasons below are written by hand,",
        "one line per survivor: ``- `name` (equivalent): why`` or ``(accepted): why``.",
        "A survivor is *equivalent* when no input can tell it from the original, and",
        "*accepted* when a test could kill it but only by asserting on something a user",
        "does not rely on. Score = (killed + timed out) / (mutants - equivalent).",
        "",
    ]
    for area, modules in AREAS.items():
        out += [f"## {area}", "", "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
        for m in modules:
            if m in results:
                cells = list(row(results[m], reasons))
                if results[m].source and results[m].source != source_hash(m):
                    # The score is of an earlier version: rerun before trusting it.
                    cells[0] += " (source changed since this run)"
                if suspect(results[m]):
                    cells[0] += " (suspect: most detections are timeouts)"
                out.append("| " + " | ".join(cells) + " |")
            else:
                out.append(f"| {m} | not yet run |" + " |" * 5)
        out.append("")
    out += ["## Survivors", ""]
    for m in sorted(results):
        o = results[m]
        survivors = o.survivors()
        if not survivors:
            continue
        out += [f"### {m} ({module_path(m)}; run {o.when}, {o.seconds:.0f} s)", ""]
        for name in survivors:
            kind, why = reasons.get(name, ("", ""))
            if kind:
                out.append(f"- `{name}` ({kind}): {why}")
            else:
                out.append(f"- `{name}` (unexplained, {o.statuses[name]}): no reason recorded yet")
            diff = o.diffs.get(name, "")
            if diff:
                out += ["", "  ```diff", *("  " + line for line in diff.splitlines()), "  ```", ""]
        out.append("")
    kept = _pending_reasons(results, reasons)
    if kept:
        # Written by hand, so never dropped: reasons for the survivors of a partial (stopped)
        # run or of a run on older source wait here for the module's next complete run.
        out += ["## Reasons waiting for a complete run", ""]
        out += [f"- `{name}` ({kind}): {why}" for name, (kind, why) in kept]
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _pending_reasons(
    results: dict[str, Outcome], reasons: dict[str, tuple[str, str]]
) -> list[tuple[str, tuple[str, str]]]:
    """Reasons for mutants of modules without a current stored run, sorted by name."""
    current = {m for m, o in results.items() if not o.source or o.source == source_hash(m)}
    shown = {n for o in results.values() for n in o.survivors()}
    kept = []
    for name, reason in sorted(reasons.items()):
        module = name.removeprefix("mmref.").split(".x")[0]
        if name not in shown and module not in current:
            kept.append((name, reason))
    return kept


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` in one step: an interrupt leaves the old file whole."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    results, reasons = load_results(), load_reasons()
    if args.report:
        _replace(REPORT, markdown(results, reasons))
        return 0
    chosen = args.modules or list(MODULES)
    fresh: dict[str, Outcome] = {}
    # A SIGTERM (a CI timeout, kill) cleans up as Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        for module in chosen:
            earlier = results.get(module) if args.survivors else None
            if earlier is not None and earlier.source != source_hash(module):
                print(f"{module_path(module)} changed since its stored run: running it whole")
                earlier = None
            if earlier is not None and not earlier.survivors():
                fresh[module] = earlier
                continue
            print(f"mutmut: {module_path(module)}", flush=True)
            fresh[module] = run_module(module, args.workers, earlier)
            print(table([row(fresh[module], reasons)]), flush=True)
            if suspect(fresh[module]):
                print(
                    f"warning: {fresh[module].count('timeout')} of {len(fresh[module].statuses)}"
                    " mutants timed out: a test may hang in mutmut's forked workers, and a"
                    " timeout counts as detected; check before trusting this score",
                    file=sys.stderr,
                    flush=True,
                )
            for n in fresh[module].survivors():
                print(f"  survived: {n}", flush=True)
    except KeyboardInterrupt:
        print("interrupted: the working tree is unchanged", file=sys.stderr)
        return 130
    results.update(fresh)
    if len(fresh) > 1:
        print(table([row(fresh[m], reasons) for m in chosen]))
    unexplained = [
        (m, n)
        for m in chosen
        for n in fresh[m].survivors()
        if reasons.get(n, ("",))[0] != "equivalent"
    ]
    for m, n in unexplained:
        print(f"survived: {n}\n{fresh[m].diffs.get(n, '')}")
    if not args.no_write:
        # Read again: another run may have stored other modules meanwhile.
        results, reasons = load_results() | fresh, load_reasons()
        stored = {m: results[m].as_json() for m in sorted(results)}
        _replace(RESULTS, json.dumps(stored, indent=1, sort_keys=True) + "\n")
        _replace(REPORT, markdown(results, reasons))
    if args.check and unexplained:
        print(f"FAILED: {len(unexplained)} mutant(s) survived", file=sys.stderr)
        return 1
    if args.check and any(suspect(fresh[m]) for m in chosen):
        print("FAILED: most detections are timeouts (see the warning above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
