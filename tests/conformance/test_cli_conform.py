"""``mmref conform`` end to end: the profiles, the exit-status contract, hostile targets.

Every run here is a fresh ``python -m mmref`` process with a hard ``subprocess`` timeout,
so a target that hangs or exits cannot take the test session with it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mmref.conformance import MAX_EXAMPLES, PROPERTY_PROFILES

# The source functions of the specification, verbatim (SPEC.md 1, the GUIDE).
SOURCE = """
import numpy as np

def joint_embedding(image, text, model):
    image_embedding = model.encode_image(image)
    text_embedding = model.encode_text(text)
    return np.concatenate((image_embedding, text_embedding), axis=1)

def multimodal_classification(joint_embedding, labels, model):
    predictions = model.predict(joint_embedding)
    return np.argmax(predictions, axis=1)
"""

HOSTILE = """
import sys
import threading
import time

import numpy as np

def exits_0(image, text, model):
    sys.exit(0)

def exits_3(image, text, model):
    raise SystemExit(3)

def base_exception(image, text, model):
    raise BaseException("not an Exception")

def keyboard_interrupt(joint_embedding, labels, model):
    raise KeyboardInterrupt

def never_returns(image, text, model):
    threading.Event().wait()

def spins(image, text, model):
    while True:
        pass

class Hostile:
    def __getattr__(self, name):
        raise RuntimeError("attribute access refused")

hostile = Hostile()

def mix64(z):
    sys.exit(0)
"""

# One example per property: these tests are about verdicts and statuses, not search.
FEW = ("--max-examples", "3")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "verbatim.py").write_text(SOURCE)
    (tmp_path / "hostile.py").write_text(HOSTILE)
    (tmp_path / "exits_at_import.py").write_text("import sys\nsys.exit(0)\n")
    (tmp_path / "hangs_at_import.py").write_text("import threading\nthreading.Event().wait()\n")
    return tmp_path


def conform(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mmref", "conform", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,  # the test never hangs, whatever the target does
    )


def failing(stdout: str) -> list[str]:
    return [line.split()[1] for line in stdout.splitlines() if line.startswith("FAIL")]


def strict_only(kind: str) -> set[str]:
    return {n for n, p in PROPERTY_PROFILES[kind].items() if p == "strict"}


@pytest.mark.parametrize(
    ("kind", "attr", "differences"),
    [
        (
            "joint-embedding",
            "joint_embedding",
            {"protocol_2d", "rejects_non_numeric", "rejects_missing_method"},
        ),
        (
            "classification",
            "multimodal_classification",
            {
                "protocol_2d",
                "row_mismatch",
                "rejects_nan",
                "rejects_non_numeric",
                "rejects_missing_method",
            },
        ),
    ],
)
def test_verbatim_source_conforms_to_core_not_strict(
    workdir: Path, kind: str, attr: str, differences: set[str]
) -> None:
    proc = conform(workdir, kind, f"verbatim:{attr}", *FEW)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1] == "conforms to mmref spec 1 (core)"
    assert not failing(proc.stdout)

    proc = conform(workdir, kind, f"verbatim:{attr}", *FEW, "--strict")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert set(failing(proc.stdout)) == differences
    assert differences <= strict_only(kind)
    last = proc.stdout.splitlines()[-1]
    assert last.startswith("conforms to mmref spec 1 (core), not (strict): fails ")
    assert set(last.rpartition("fails ")[2].split(", ")) == differences


@pytest.mark.parametrize(
    ("kind", "target"),
    [
        ("joint-embedding", "mmref:joint_embedding"),
        ("classification", "mmref:multimodal_classification"),
    ],
)
def test_mmref_functions_conform_to_strict(workdir: Path, kind: str, target: str) -> None:
    proc = conform(workdir, kind, target, *FEW, "--strict")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "(strict profile)" in proc.stdout.splitlines()[0]
    assert proc.stdout.splitlines()[-1] == "conforms to mmref spec 1 (strict)"


@pytest.mark.parametrize(
    ("kind", "attr"),
    [
        ("joint-embedding", "exits_0"),
        ("joint-embedding", "exits_3"),
        ("joint-embedding", "base_exception"),
        ("classification", "keyboard_interrupt"),
    ],
)
def test_a_target_that_raises_a_base_exception_does_not_conform(
    workdir: Path, kind: str, attr: str
) -> None:
    proc = conform(workdir, kind, f"hostile:{attr}", *FEW)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "not an Exception: a conforming implementation never raises it" in proc.stdout
    assert proc.stdout.splitlines()[-1].startswith("does not conform to mmref spec 1 (core)")


def test_sys_exit_at_import_could_not_be_checked(workdir: Path) -> None:
    proc = conform(workdir, "joint-embedding", "exits_at_import:fn")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "SystemExit: 0" in proc.stderr
    proc = conform(workdir, "golden", "--against", "exits_at_import")
    assert proc.returncode == 2 and "SystemExit: 0" in proc.stderr


def test_golden_case_that_exits_fails(workdir: Path) -> None:
    proc = conform(workdir, "golden", "--against", "hostile")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAIL   mix64/" in proc.stdout and "raised SystemExit: 0" in proc.stdout


@pytest.mark.parametrize("attr", ["never_returns", "spins"])
def test_a_call_that_never_returns_fails_at_the_timeout(workdir: Path, attr: str) -> None:
    proc = conform(workdir, "joint-embedding", f"hostile:{attr}", "--timeout", "0.5")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert failing(proc.stdout) == ["calls"]
    assert "did not return within 0.5 s" in proc.stdout
    assert "SKIP   type " in proc.stdout  # the rest is reported, not silently dropped


def test_an_import_that_never_returns_could_not_be_checked(workdir: Path) -> None:
    proc = conform(workdir, "joint-embedding", "hangs_at_import:fn", "--timeout", "0.5")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "did not return within 0.5 s" in proc.stderr


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("embedding-model", "RuntimeError: attribute access refused"),
        ("classification-model", "RuntimeError: attribute access refused"),
        ("joint-embedding", "must be a function"),
    ],
)
def test_attribute_access_that_raises_gives_one_line(
    workdir: Path, kind: str, message: str
) -> None:
    proc = conform(workdir, kind, "hostile:hostile")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert message in proc.stderr


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--max-examples", "0"),
        ("--max-examples", str(MAX_EXAMPLES + 1)),
        ("--max-examples", "99999999999999999999"),
        ("--max-examples", "many"),
        ("--timeout", "0"),
        ("--timeout", "-1"),
        ("--timeout", "nan"),
        ("--timeout", "inf"),
    ],
)
def test_options_out_of_bounds_are_usage_errors(workdir: Path, option: str, value: str) -> None:
    proc = conform(workdir, "joint-embedding", "mmref:joint_embedding", option, value)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and option in proc.stderr


def test_max_examples_bounds_are_inclusive() -> None:
    from mmref.cli._main import _parser

    for value in ("1", str(MAX_EXAMPLES)):
        args = _parser().parse_args(["conform", "golden", "--max-examples", value])
        assert args.max_examples == int(value)


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (("joint-embedding", "mmref:joint_embedding", *FEW), 0),
        (("golden",), 0),
        (("joint-embedding", "verbatim:joint_embedding", *FEW, "--strict"), 1),
        (("classification", "verbatim:joint_embedding", *FEW), 1),  # argmax of the wrong thing
        (("joint-embedding", "no_such_module:fn"), 2),
        (("joint-embedding", "verbatim:no_such_attr"), 2),
        (("joint-embedding", "verbatim"), 2),  # not MODULE:ATTR
        (("joint-embedding",), 2),  # no target
        (("embedding-model", "verbatim:joint_embedding"), 2),  # not of the kind
        (("golden", "--against", "json"), 2),  # nothing to check: every case skipped
        (("no-such-kind", "mmref:joint_embedding"), 2),
    ],
)
def test_exit_status_contract(workdir: Path, args: tuple[str, ...], status: int) -> None:
    proc = conform(workdir, *args)
    assert proc.returncode == status, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    if status == 2:
        assert proc.stderr.count("\n") == 1, proc.stderr


def test_help_names_the_new_options(workdir: Path) -> None:
    proc = conform(workdir, "--help")
    assert proc.returncode == 0
    for option in ("--strict", "--timeout", "--max-examples"):
        assert option in proc.stdout
    assert textwrap.dedent(proc.stdout)
