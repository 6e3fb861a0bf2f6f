"""A catalogue of wrong golden clients run as command children (mmref.conformance._command).

Two sets: the example client (examples/golden_client.py) serving an implementation with
one thing wrong, whose report must be exactly the one ``--against`` gives; and scripted
children that break the protocol in one way each (their hello, an answer's form, an
error's description), whose verdict must name what they did. Children are small Python
scripts; the scripted ones do not import NumPy, so they start quickly.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mmref.conformance import ProtocolError, load_golden, run_golden, run_golden_command
from mmref.conformance._command import decode_wire, encode_wire

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "examples" / "golden_client.py"
GOLDEN = load_golden()
# A few cases of each function the children below answer.
SOME = {
    "format": GOLDEN["format"],
    "cases": [
        c
        for c in GOLDEN["cases"]
        if c["id"]
        in {
            "mix64/edges-and-splitmix64",
            "derive_key/1/0",
            "joint_embedding/special-values",
            "joint_embedding/error/row-mismatch",
            "multimodal_classification/ties-zeros-infinities",
            "text/tokenize/1",
        }
    ],
}

WRONG = '''
import numpy as np
import mmref
from mmref.conformance._golden_format import MmrefNamespace

_mmref = MmrefNamespace()


class OneUlpOff:
    """joint_embedding one ulp above the reference in every float entry."""

    mix64 = staticmethod(_mmref.mix64)
    derive_key = staticmethod(_mmref.derive_key)

    @staticmethod
    def joint_embedding(image, text, model):
        out = mmref.joint_embedding(image, text, model)
        if out.dtype.kind == "f":
            return np.nextafter(out, np.inf).astype(out.dtype)
        return out


class RaisesTypeError:
    """The error cases raise TypeError, not the spec's ValueError."""

    @staticmethod
    def joint_embedding(image, text, model):
        try:
            return mmref.joint_embedding(image, text, model)
        except ValueError as exc:
            raise TypeError(str(exc)) from None
'''

SCRIPTED = """
import json, sys
mode = sys.argv[1]
hello = {"protocol": "mmref-golden-protocol/1", "name": "scripted", "version": "1",
         "functions": ["mix64", "derive_key", "joint_embedding",
                       "multimodal_classification", "BagOfWordsTextEncoder.tokenize"]}
if mode.startswith("hello:"):
    hello = json.loads(mode[len("hello:"):])
    mode = "unsupported"
print(json.dumps(hello), flush=True)
for line in sys.stdin:
    request = json.loads(line)
    rid = request["id"]
    if mode == "no-id":
        answer = {"result": []}
    elif mode == "not-an-object":
        answer = [rid]
    elif mode == "two-kinds":
        answer = {"id": rid, "result": [], "unsupported": "both"}
    elif mode == "unsupported":
        answer = {"id": rid, "unsupported": {"why": "not yet"}}
    elif mode == "tokens":
        answer = {"id": rid, "result": ["a", "cat", "on", "the", "mat"]}
    elif mode.startswith("error:"):
        answer = {"id": rid, "error": json.loads(mode[len("error:"):])}
    else:
        raise SystemExit("unknown mode " + mode)
    print(json.dumps(answer), flush=True)
"""


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("children")
    (directory / "scripted_child.py").write_text(SCRIPTED, encoding="utf-8")
    (directory / "mmref_wrong_namespaces.py").write_text(WRONG, encoding="utf-8")
    return directory


def scripted(scripts: Path, mode: str, **options: Any) -> dict[str, tuple[str, str]]:
    command = [sys.executable, str(scripts / "scripted_child.py"), mode]
    results = run_golden_command(command, golden=SOME, timeout=60, **options)
    return {r.name: (r.status, r.message) for r in results}


def client(scripts: Path, namespace: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("PYTHONPATH", str(scripts), prepend=":")
    command = shlex.join([sys.executable, str(CLIENT), f"mmref_wrong_namespaces:{namespace}"])
    return run_golden_command(command, golden=SOME, timeout=120)


# --- the example client serving an implementation wrong in one way ---------------------------


@pytest.mark.parametrize("namespace", ["OneUlpOff", "RaisesTypeError"])
def test_a_wrong_implementation_behind_the_protocol_gets_the_against_module_report(
    scripts: Path, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    by_command = client(scripts, namespace, monkeypatch)
    monkeypatch.syspath_prepend(str(scripts))
    module = __import__("mmref_wrong_namespaces")
    by_module = run_golden(getattr(module, namespace)(), golden=SOME)
    assert [(r.name, r.status, r.message) for r in by_command] == [
        (r.name, r.status, r.message) for r in by_module
    ]
    failed = {r.name: r.message for r in by_command if r.status == "FAIL"}
    if namespace == "OneUlpOff":
        assert set(failed) == {"joint_embedding/special-values"}
        assert "bit for bit" in failed["joint_embedding/special-values"]
        status = {r.name: r.status for r in by_command}
        assert status["mix64/edges-and-splitmix64"] == status["derive_key/1/0"] == "PASS"
        assert status["multimodal_classification/ties-zeros-infinities"] == "SKIP"
    else:
        assert set(failed) == {"joint_embedding/error/row-mismatch"}
        assert "raised TypeError" in failed["joint_embedding/error/row-mismatch"]


# --- children that break the protocol in one way ---------------------------------------------


@pytest.mark.parametrize(
    ("hello", "problem"),
    [
        ([1, 2], "as its hello; expected an object"),
        ({"protocol": "mmref-golden-protocol/2"}, "speaks protocol"),
        (
            {"protocol": "mmref-golden-protocol/1", "version": "1", "functions": []},
            "has no 'name' string in its hello",
        ),
        (
            {"protocol": "mmref-golden-protocol/1", "name": "x", "version": 1, "functions": []},
            "has no 'version' string in its hello",
        ),
        (
            {"protocol": "mmref-golden-protocol/1", "name": "x", "version": "1"},
            "has no 'functions' list of strings",
        ),
        (
            {"protocol": "mmref-golden-protocol/1", "name": "x", "version": "1", "functions": [1]},
            "has no 'functions' list of strings",
        ),
    ],
)
def test_a_hello_wrong_in_one_way_cannot_be_checked(
    scripts: Path, hello: Any, problem: str
) -> None:
    with pytest.raises(ProtocolError, match=problem) as caught:
        scripted(scripts, "hello:" + json.dumps(hello))
    assert "scripted_child.py" in str(caught.value)  # names the command


def test_the_hello_is_handed_over_and_undeclared_functions_are_skipped(scripts: Path) -> None:
    hellos: list[Any] = []
    hello = {
        "protocol": "mmref-golden-protocol/1",
        "name": "partial",
        "version": "0.1",
        "functions": ["BagOfWordsTextEncoder.encode_text"],
    }
    results = scripted(scripts, "hello:" + json.dumps(hello), on_hello=hellos.append)
    assert hellos == [hello]
    assert results["mix64/edges-and-splitmix64"] == ("SKIP", "the implementation has no mix64")
    # The class is there, but not this method of it.
    assert results["text/tokenize/1"] == (
        "SKIP",
        "the implementation has no BagOfWordsTextEncoder.tokenize",
    )


@pytest.mark.parametrize(
    ("mode", "problem"),
    [
        ("no-id", "which is not an answer with an id"),
        ("not-an-object", "which is not an answer with an id"),
        ("two-kinds", "without exactly one of 'result', 'error', 'unsupported'"),
    ],
)
def test_an_answer_of_the_wrong_form_breaks_the_protocol(
    scripts: Path, mode: str, problem: str
) -> None:
    results = scripted(scripts, mode)
    statuses = [status for status, _ in results.values()]
    assert statuses[0] == "FAIL" and problem in next(iter(results.values()))[1]
    assert set(statuses[1:]) == {"FAIL"}
    assert all(
        "not run: the implementation broke the protocol at case" in m
        for _, m in list(results.values())[1:]
    )


def test_a_declined_case_is_skipped_with_the_reason(scripts: Path) -> None:
    results = scripted(scripts, "unsupported")
    assert {s for s, _ in results.values()} == {"SKIP"}
    assert 'the implementation declined: {"why": "not yet"}' in results["derive_key/1/0"][1]


def test_a_token_list_is_judged_as_tokens(scripts: Path) -> None:
    results = scripted(scripts, "tokens")
    tokens = next(c for c in SOME["cases"] if c["id"] == "text/tokenize/1")["expected"]
    status = "PASS" if tokens == ["a", "cat", "on", "the", "mat"] else "FAIL"
    assert results["text/tokenize/1"][0] == status
    assert results["mix64/edges-and-splitmix64"][0] == "FAIL"


@pytest.mark.parametrize(
    ("error", "row_mismatch", "ties"),
    [
        ({"type": "ValueError", "message": "no"}, "PASS", "raised ValueError: no"),
        ({"type": "TypeError", "message": "no"}, "raised TypeError: no", "raised TypeError"),
        ({"type": "AxisError", "message": "ax", "bases": ["Unknown", "ValueError", "IndexError"]},
         "PASS", "raised AxisError: ax"),
        ({"type": "AxisError", "message": "ax", "bases": ["IndexError", "ValueError"]},
         "raised AxisError: ax", "raised AxisError: ax"),
        ({"type": "AxisError", "message": "ax", "bases": "ValueError"}, "raised AxisError",
         "raised AxisError"),
        ({"type": "Bad Name!", "message": "x", "bases": ["ValueError"]}, "PASS",
         "raised MalformedError: x"),
        ({"type": "KeyboardInterrupt", "message": "x"}, "raised KeyboardInterrupt",
         "raised KeyboardInterrupt"),
        ({"type": "ValueError", "message": ["a", 1]}, "PASS", 'raised ValueError: ["a", 1]'),
        ("just a string", "raised MalformedError", '"just a string"'),
    ],
)  # fmt: skip
def test_an_error_answer_is_the_exception_it_describes(
    scripts: Path, error: Any, row_mismatch: str, ties: str
) -> None:
    results = scripted(scripts, "error:" + json.dumps(error))
    status, message = results["joint_embedding/error/row-mismatch"]
    assert status == "PASS" if row_mismatch == "PASS" else row_mismatch in message
    status, message = results["multimodal_classification/ties-zeros-infinities"]
    assert status == "FAIL" and ties in message


def test_a_line_longer_than_the_limit_fails_the_case(scripts: Path) -> None:
    long_error = {"type": "ValueError", "message": "x" * 1000}
    results = scripted(scripts, "error:" + json.dumps(long_error), max_line_bytes=500)
    status, message = next(iter(results.values()))
    assert status == "FAIL" and "wrote a line longer than 500 bytes" in message


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"timeout": 0}, "'timeout' parameter must be a positive number"),
        ({"timeout": -1.0}, "'timeout' parameter must be a positive number"),
        ({"max_line_bytes": 0}, "'max_line_bytes' parameter must be a positive int"),
    ],
)
def test_options_out_of_bounds_are_value_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        run_golden_command([sys.executable, "-c", "pass"], golden=SOME, **options)


def test_a_command_that_cannot_start_is_a_protocol_error(tmp_path: Path) -> None:
    with pytest.raises(ProtocolError, match="the command is empty"):
        run_golden_command("  ", golden=SOME)
    missing = str(tmp_path / "no-such-program")
    with pytest.raises(ProtocolError, match="cannot start"):
        run_golden_command([missing], golden=SOME)


# --- values on the wire ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "array",
    [
        np.array([1.0, -0.0, np.inf], np.float16),
        np.array([[np.nan, 1e-45]], np.float32),
        np.array([complex(-0.0, np.inf)], np.complex64),
        np.array([-1, 2**62], np.int64),
        np.array([2**64 - 1], np.uint64),
        np.array([-(2**15), 7], np.int16),
        np.array([255], np.uint8),
        np.array([True, False]),
        np.array(3, np.intp),
        np.float64(-0.0),
    ],
    ids=lambda a: np.asarray(a).dtype.name,
)
def test_wire_values_keep_their_bits(array: Any) -> None:
    wire = json.loads(json.dumps(encode_wire(array)))
    back = decode_wire(wire)
    original = np.asarray(array)
    assert back.dtype == original.dtype and back.shape == original.shape
    assert back.tobytes() == original.tobytes()


def test_wire_spelling() -> None:
    assert encode_wire(np.array([1.0], np.float16))["data"] == ["0x3C00"]
    assert encode_wire(np.array([-1], np.int64))["data"] == ["0xFFFFFFFFFFFFFFFF"]
    assert encode_wire(np.array([-1], np.int32))["data"] == [-1]
    assert encode_wire(np.array([[1 + 0j]], np.complex64))["data"] == [["0x3F800000", "0x00000000"]]
    assert encode_wire(["a"]) == ["a"] and encode_wire(3) == 3
    with pytest.raises(ValueError, match="has no wire encoding"):
        encode_wire(np.array(["text"]))
    assert decode_wire({"dtype": "float32", "shape": [1], "data": ["0x3f800000"]})[0] == 1.0


@pytest.mark.parametrize(
    ("wire", "problem"),
    [
        (["a", 1], "a list result must be a list of strings"),
        ({"dtype": "float64", "shape": [1]}, "expected an array"),
        ({"dtype": "float128", "shape": [1], "data": ["0x0"]}, "unknown dtype"),
        ({"dtype": "int8", "shape": [-1], "data": []}, "is not a list of sizes"),
        ({"dtype": "int8", "shape": [True], "data": [1]}, "is not a list of sizes"),
        ({"dtype": "int8", "shape": [1] * 33, "data": [1]}, "is not a list of sizes"),
        ({"dtype": "int8", "shape": 1, "data": [1]}, "is not a list of sizes"),
        ({"dtype": "int8", "shape": [2], "data": [1]}, "does not match the number of values"),
        ({"dtype": "int8", "shape": [1], "data": 1}, "does not match the number of values"),
        ({"dtype": "bool", "shape": [1], "data": [1]}, "bool values must be true or false"),
        ({"dtype": "int8", "shape": [1], "data": [128]}, "int8 values must be JSON integers"),
        ({"dtype": "uint8", "shape": [1], "data": [-1]}, "in [0, 255]"),
        ({"dtype": "int16", "shape": [1], "data": [1.0]}, "int16 values must be JSON integers"),
        ({"dtype": "int16", "shape": [1], "data": [True]}, "int16 values must be JSON integers"),
        ({"dtype": "complex64", "shape": [1], "data": [["0x00000000"]]}, "[real, imag] pairs"),
        ({"dtype": "complex64", "shape": [1], "data": ["0x00000000"]}, "[real, imag] pairs"),
        ({"dtype": "float32", "shape": [1], "data": ["0x0000000"]}, "'0x' and 8 hex digits"),
        ({"dtype": "float32", "shape": [1], "data": ["1x00000000"]}, "'0x' and 8 hex digits"),
        ({"dtype": "float32", "shape": [1], "data": ["0x0000000g"]}, "'0x' and 8 hex digits"),
        ({"dtype": "float32", "shape": [1], "data": [0]}, "'0x' and 8 hex digits"),
        ({"dtype": "int64", "shape": [1], "data": [5]}, "'0x' and 16 hex digits"),
    ],
)
def test_malformed_wire_values_say_what_is_wrong(wire: Any, problem: str) -> None:
    with pytest.raises(ValueError) as caught:
        decode_wire(wire)
    assert problem in str(caught.value)
