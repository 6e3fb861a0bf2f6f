"""Golden vectors over the line protocol: the wire encoding, hostile children, parity, ports."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mmref.conformance import ProtocolError, load_golden, run_golden, run_golden_command
from mmref.conformance._command import decode_wire, encode_wire

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "examples" / "golden_client.py"
JS_CLIENT = ROOT / "ports" / "js" / "golden-client.js"
GOLDEN = load_golden()
N_CASES = len(GOLDEN["cases"])
# Text options the JavaScript port declares unsupported (ports/js/README.md): its answer for
# every case that sets one of them is "unsupported", reported SKIP.
JS_UNSUPPORTED = {"strip_accents", "analyzer", "stop_words", "preprocessor", "tokenizer"}
# A few cases of every function, for the children that never get far.
SOME = {"cases": [c for c in GOLDEN["cases"] if c["id"].endswith(("/0", "/seed-0", "/nan"))]}

HOSTILE = """
import json, os, sys, time
mode = sys.argv[1]
if len(sys.argv) > 2:
    with open(sys.argv[2], "w") as f:
        f.write(str(os.getpid()))
if mode == "no-hello":
    print("I am not a hello", flush=True)
    time.sleep(60)
if mode == "bad-protocol":
    print(json.dumps({"protocol": "other/9", "name": "x", "version": "1", "functions": []}))
    sys.exit(0)
if mode == "silent":
    time.sleep(60)
functions = ["mix64", "derive_key", "murmurhash3_32", "joint_embedding",
             "multimodal_classification", "BagOfWordsTextEncoder",
             "RandomProjectionImageEncoder"]
print(json.dumps({"protocol": "mmref-golden-protocol/1", "name": "hostile",
                  "version": mode, "functions": functions}), flush=True)
if mode == "exit-early":
    sys.exit(0)
if mode == "grandchild":
    import subprocess
    grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    with open(sys.argv[2] + ".grandchild", "w") as f:
        f.write(str(grandchild.pid))
for n, line in enumerate(sys.stdin):
    request = json.loads(line)
    if mode == "crash":
        print("boom: something broke", file=sys.stderr, flush=True)
        os._exit(3)
    if mode in ("never-answers", "grandchild"):
        time.sleep(60)
    if mode == "garbage":
        print("hello world", flush=True)
    elif mode == "binary":
        sys.stdout.buffer.write(b"\\xff\\xfe{}\\n")
        sys.stdout.flush()
    elif mode == "out-of-order":
        print(json.dumps({"id": "some/other-case", "result": []}), flush=True)
    elif mode == "huge-line":
        sys.stdout.write('{"id": "' + "x" * 100_000)
        sys.stdout.flush()
        time.sleep(60)
    elif mode == "malformed":
        result = {"dtype": "float64", "shape": [2], "data": ["0x1"]}
        print(json.dumps({"id": request["id"], "result": result}), flush=True)
    elif mode == "unsupported":
        print(json.dumps({"id": request["id"], "unsupported": "not today"}), flush=True)
    elif mode == "always-value-error":
        error = {"type": "AxisError", "message": "nope", "bases": ["ValueError", "IndexError"]}
        print(json.dumps({"id": request["id"], "error": error}), flush=True)
"""


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hostile") / "hostile_child.py"
    path.write_text(HOSTILE, encoding="utf-8")
    return path


def command(script: Path, *args: str) -> str:
    return shlex.join([sys.executable, str(script), *args])


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mmref", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (a zombie is not)."""
    stat = Path(f"/proc/{pid}/stat")
    if Path("/proc/self/stat").exists():
        try:
            return stat.read_text().rpartition(")")[2].split()[0] != "Z"
        except OSError:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# --- the wire encoding ------------------------------------------------------------------


def test_wire_encodings_are_the_bit_patterns_spec_md_gives() -> None:
    assert encode_wire(np.float64(-0.0))["data"] == ["0x8000000000000000"]
    assert encode_wire(np.array([1.0], np.float32))["data"] == ["0x3F800000"]
    assert encode_wire(np.array([np.inf], np.float16))["data"] == ["0x7C00"]
    assert encode_wire(np.array([-1], np.int64))["data"] == ["0xFFFFFFFFFFFFFFFF"]
    assert encode_wire(np.array([2**64 - 1], np.uint64))["data"] == ["0xFFFFFFFFFFFFFFFF"]
    assert encode_wire(np.array([1 + 2j], np.complex64))["data"] == [["0x3F800000", "0x40000000"]]
    assert encode_wire(np.array([[True], [False]])) == {
        "dtype": "bool",
        "shape": [2, 1],
        "data": [True, False],
    }
    assert encode_wire(np.array([-128], np.int8))["data"] == [-128]
    assert encode_wire(np.argmax(np.zeros((1, 2)), axis=1))["dtype"] == "intp"
    assert encode_wire(["a", "b"]) == ["a", "b"]  # other JSON values pass through


def test_wire_round_trip_keeps_every_bit() -> None:
    nan_payload = np.array([0x7FF8000000000123], np.uint64).view(np.float64)
    arrays = [
        np.array([-0.0, np.inf, -np.inf, 5e-324, nan_payload[0]]),
        np.array([[-0.0, np.nan]], np.float32),
        np.array([1.5, -0.0], np.float16),
        np.array([[1 - 0j, np.nan + 1j]], np.complex128),
        np.array([-(2**63), 2**63 - 1], np.int64),
        np.array([0, 2**64 - 1], np.uint64),
        np.array([[-(2**31)]], np.int32),
        np.zeros((0, 3), np.uint8),
        np.array(True),
    ]
    for a in arrays:
        wire = json.loads(json.dumps(encode_wire(a)))
        back = decode_wire(wire)
        assert back.dtype == a.dtype and back.shape == a.shape
        assert back.tobytes() == a.tobytes()


@pytest.mark.parametrize(
    ("wire", "problem"),
    [
        ({"dtype": "float64", "shape": [1], "data": [1.5]}, "hex digits"),
        ({"dtype": "float64", "shape": [1], "data": ["0x3FF"]}, "hex digits"),
        ({"dtype": "float32", "shape": [2], "data": ["0x3F800000"]}, "does not match"),
        ({"dtype": "int8", "shape": [1], "data": [200]}, "int8 values"),
        ({"dtype": "int32", "shape": [1], "data": [True]}, "int32 values"),
        ({"dtype": "bool", "shape": [1], "data": [1]}, "true or false"),
        ({"dtype": "object", "shape": [1], "data": [1]}, "unknown dtype"),
        ({"dtype": "uint8", "shape": [-1], "data": []}, "not a list of sizes"),
        ({"dtype": "complex64", "shape": [1], "data": ["0x0"]}, "pairs"),
        (["a", 1], "list of strings"),
        (42, "expected an array"),
    ],
)
def test_malformed_wire_values_are_rejected(wire: Any, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        decode_wire(wire)


# --- hostile children ---------------------------------------------------------------------


def statuses(results: list[Any]) -> set[str]:
    return {r.status for r in results}


@pytest.mark.parametrize(
    ("mode", "first_problem"),
    [
        ("crash", r"exited with status 3 \(stderr: \.\.\.boom: something broke\)"),
        ("garbage", "wrote b'hello world\\\\n'.*which is not a JSON line"),
        ("binary", "wrote b'.*which is not a JSON line"),
        ("out-of-order", 'answered case "some/other-case" out of order'),
        ("never-answers", "did not answer case .* within 1 s"),
        ("exit-early", "exited with status 0 before answering case"),
        ("huge-line", "wrote a line longer than 10000 bytes"),
    ],
)
def test_a_broken_child_fails_and_is_reaped(hostile: Path, mode: str, first_problem: str) -> None:
    pid_file = hostile.with_name(f"{mode}.pid")
    results = run_golden_command(
        command(hostile, mode, str(pid_file)), golden=SOME, timeout=1.0, max_line_bytes=10_000
    )
    assert [r.status for r in results] == ["FAIL"] * len(SOME["cases"])

    assert re.search(first_problem, results[0].message), results[0].message
    assert all("not run: the implementation" in r.message for r in results[1:])
    assert gone(int(pid_file.read_text()))


def test_a_malformed_result_fails_each_case_and_the_rest_still_run(hostile: Path) -> None:
    results = run_golden_command(command(hostile, "malformed"), golden=SOME, timeout=5)
    expects_error = [
        isinstance(c["expected"], dict) and "raises" in c["expected"] for c in SOME["cases"]
    ]
    for result, error in zip(results, expects_error, strict=True):
        assert result.status == "FAIL"
        if not error:
            assert "returned a malformed result" in result.message


def test_errors_on_purpose_count_with_their_bases(hostile: Path) -> None:
    results = run_golden_command(command(hostile, "always-value-error"), golden=SOME, timeout=5)
    for case, result in zip(SOME["cases"], results, strict=True):
        expected = case["expected"]
        wanted = isinstance(expected, dict) and expected.get("raises") == "ValueError"
        assert result.status == ("PASS" if wanted else "FAIL"), result
        if not wanted:
            assert "raised AxisError: nope" in result.message


def test_a_child_declining_every_case_checks_nothing(hostile: Path) -> None:
    done = cli("conform", "golden", "--against-command", command(hostile, "unsupported"))
    # Everything skipped: the kit could not check (exit status 2, SPEC 12.7).
    assert done.returncode == 2, done.stderr
    assert f"{N_CASES} checked: {N_CASES} skip" in done.stdout
    assert "the implementation declined: not today" in done.stdout
    assert "nothing was checked" in done.stderr


@pytest.mark.parametrize(
    ("mode", "problem"),
    [
        ("no-hello", "which is not a JSON line"),
        ("bad-protocol", 'speaks protocol "other/9"'),
        ("silent", "did not answer its hello within 1 s"),
    ],
)
def test_a_child_without_a_valid_hello_cannot_be_checked(
    hostile: Path, mode: str, problem: str
) -> None:
    pid_file = hostile.with_name(f"{mode}.pid")
    done = cli(
        "conform", "golden", "--timeout", "1",
        "--against-command", command(hostile, mode, str(pid_file)),
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stdout == ""
    assert "mmref conform: error: cannot check golden vectors" in done.stderr
    assert problem in done.stderr
    assert gone(int(pid_file.read_text()))


def test_a_broken_child_gives_exit_status_1(hostile: Path) -> None:
    done = cli(
        "conform", "golden", "--timeout", "1", "--against-command", command(hostile, "crash")
    )
    assert done.returncode == 1
    assert f"{N_CASES} checked: {N_CASES} fail" in done.stdout


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["--against-command", "no-such-program-mmref-23"], 2, "cannot start no-such-program"),
        (["--against-command", ""], 2, "the command is empty"),
        (["--against-command", "'unclosed"], 2, "No closing quotation"),
        (["--against-command", "x", "--against", "mmref"], 2, "instead of --against"),
        (["--against-command", "x", "--timeout", "0"], 2, "expected a positive number"),
    ],
)
def test_command_line_errors(args: list[str], status: int, message: str) -> None:
    done = cli("conform", "golden", *args)
    assert done.returncode == status
    assert message in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.skipif(os.name != "posix", reason="SIGINT to a process is POSIX")
@pytest.mark.parametrize("mode", ["never-answers", "grandchild"])
def test_ctrl_c_stops_and_reaps_the_child(hostile: Path, tmp_path: Path, mode: str) -> None:
    pid_file = tmp_path / "child.pid"
    mmref = subprocess.Popen(
        [
            sys.executable, "-m", "mmref", "conform", "golden", "--timeout", "60",
            "--against-command", command(hostile, mode, str(pid_file)),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # As from a terminal, also when the tests run with SIGINT ignored (nohup, a
        # background job of a non-interactive shell): the child would inherit that.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        waited = (
            pid_file.with_name(pid_file.name + ".grandchild") if mode == "grandchild" else pid_file
        )
        deadline = time.monotonic() + 600
        while not (waited.exists() and waited.read_text()):
            assert mmref.poll() is None and time.monotonic() < deadline, "the child never started"
            time.sleep(0.05)
        time.sleep(0.3)  # the first request is on its way
        mmref.send_signal(signal.SIGINT)
        _, stderr = mmref.communicate(timeout=600)
    finally:
        if mmref.poll() is None:
            mmref.kill()
            mmref.communicate()
    assert mmref.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert gone(int(pid_file.read_text()))
    if mode == "grandchild":
        assert gone(int(waited.read_text()))


# --- Python stays first-class: the same report either way ---------------------------------

PARTIAL = """
import numpy as np
import mmref
from mmref._hashing import derive_key, mix64

joint_embedding = mmref.joint_embedding
BagOfWordsTextEncoder = mmref.BagOfWordsTextEncoder

def murmurhash3_32(key, seed):
    return 0 if key else seed  # wrong on purpose

def multimodal_classification(joint_embedding, labels, model):
    scores = np.asarray(model.predict(joint_embedding))
    return scores.shape[1] - 1 - np.argmax(scores[:, ::-1], axis=1)  # ties to the last: wrong
"""


def report(done: subprocess.CompletedProcess[str]) -> list[str]:
    return done.stdout.splitlines()[1:]  # the header names the target


def test_against_module_and_against_command_give_the_same_report(tmp_path: Path) -> None:
    (tmp_path / "partial_impl.py").write_text(PARTIAL, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mmref", "conform", "golden", *args],
            capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env,
        )  # fmt: skip

    by_module = run("--against", "partial_impl")
    by_command = run("--against-command", command(CLIENT, "partial_impl"))
    assert by_module.returncode == by_command.returncode == 1, by_command.stderr
    assert report(by_module) == report(by_command)
    lines = report(by_module)
    assert any(line.startswith("SKIP   image/") for line in lines)
    assert any(line.startswith("FAIL   murmurhash3_32/") for line in lines)
    assert any(line.startswith("FAIL   multimodal_classification/error/nan") for line in lines)
    assert any(line.startswith("PASS   text/") for line in lines)

    installed = run()
    client = run("--against-command", command(CLIENT))
    assert installed.returncode == client.returncode == 0, client.stderr
    assert report(installed) == report(client)
    assert report(client)[-2:] == [
        f"{N_CASES} checked: {N_CASES} pass",
        "reproduces the golden vectors of mmref spec 1",
    ]


def test_the_api_agrees_with_run_golden() -> None:
    by_command = run_golden_command(command(CLIENT), golden=SOME, timeout=120)
    assert by_command == run_golden(golden=SOME)


def test_protocol_errors_name_the_problem(hostile: Path) -> None:
    with pytest.raises(ProtocolError, match="speaks protocol"):
        run_golden_command(command(hostile, "bad-protocol"), golden=SOME, timeout=5)
    with pytest.raises(ValueError, match="'timeout'"):
        run_golden_command(command(hostile, "bad-protocol"), golden=SOME, timeout=0)


# --- the JavaScript port ------------------------------------------------------------------


def node_or_skip() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: the JavaScript port (ports/js) is not checked")
    return node


def test_the_javascript_port_passes_every_golden_case() -> None:
    node = node_or_skip()
    done = cli("conform", "golden", "--against-command", shlex.join([node, str(JS_CLIENT)]))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = report(done)
    assert not [line for line in lines if line.startswith("FAIL")], "\n".join(lines)
    skipped = {line.split()[1] for line in lines if line.startswith("SKIP")}
    declared = {
        case["id"]
        for case in GOLDEN["cases"]
        if JS_UNSUPPORTED & set(case["args"].get("params", {}))
    }
    assert skipped == declared, "\n".join(lines)
    passed = N_CASES - len(declared)
    summary = f"{N_CASES} checked: {passed} pass" + (f", {len(declared)} skip" if declared else "")
    assert lines[-2] == summary
    assert lines[-1] == "reproduces the golden vectors of mmref spec 1"


def test_the_javascript_port_unit_tests() -> None:
    node = node_or_skip()
    done = subprocess.run(
        [node, str(JS_CLIENT.with_name("test.js"))], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "checks passed" in done.stdout
