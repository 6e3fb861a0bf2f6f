"""A catalogue of wrong golden-vector implementations and the verdicts they get.

Each implementation below is mmref with exactly one thing wrong (a bit flipped, a seed
ignored, ``-0.0`` lost, a dtype changed, the wrong exception, one ulp off, ...). The golden
run must fail exactly the cases that thing touches, say what differs, and pass the rest;
the comparison rules of SPEC.md ("Golden vectors") are checked on small hand-made
documents. mmref.conformance._golden and ._golden_format.
"""

from __future__ import annotations

import json
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import mmref
from mmref import ConformanceError
from mmref.conformance import (
    GOLDEN_FORMAT,
    check_golden,
    load_golden,
    make_golden,
    run_golden,
    write_golden,
)
from mmref.conformance._golden_format import (
    MmrefNamespace,
    call_case,
    decode,
    encode_array,
)

GOLDEN = load_golden()
IDS = [c["id"] for c in GOLDEN["cases"]]
MMREF = MmrefNamespace()


def verdicts(namespace: Any, golden: Any = None) -> dict[str, tuple[str, str]]:
    return {r.name: (r.status, r.message) for r in run_golden(namespace, golden=golden)}


def failing(namespace: Any) -> dict[str, str]:
    return {k: m for k, (s, m) in verdicts(namespace).items() if s == "FAIL"}


def ids(prefix: str) -> set[str]:
    return {i for i in IDS if i.startswith(prefix)}


def only(**functions: Any) -> types.SimpleNamespace:
    return types.SimpleNamespace(**functions)


# --- the hash primitives ----------------------------------------------------------------------


def test_mmref_passes_every_case() -> None:
    assert {s for s, _ in verdicts(None).values()} == {"PASS"}
    assert {s for s, _ in verdicts(MMREF).values()} == {"PASS"}


def test_one_bit_of_mix64_flipped_fails_mix64_and_what_builds_on_it() -> None:
    def mix64(z: Any) -> Any:
        return MMREF.mix64(z) ^ np.uint64(1)

    failed = failing(only(mix64=mix64))
    assert set(failed) == ids("mix64/")
    (message,) = failed.values()
    assert "differs from the golden vector bit for bit: at index (0,)" in message


def test_derive_key_ignoring_its_seed_fails_the_cases_with_a_nonzero_seed() -> None:
    def derive_key(seed: int, *words: int) -> Any:
        return MMREF.derive_key(0, *words)

    failed = failing(only(derive_key=derive_key))
    assert set(failed) == {i for i in ids("derive_key/") if not i.startswith("derive_key/0/")}


def test_murmurhash_ignoring_its_seed_fails_the_seeded_cases() -> None:
    def murmurhash3_32(key: bytes, seed: int) -> int:
        return int(MMREF.murmurhash3_32(key, 0))

    failed = failing(only(murmurhash3_32=murmurhash3_32))
    assert set(failed) == ids("murmurhash3_32/") - {"murmurhash3_32/seed-0"}


def test_murmurhash_of_the_text_instead_of_its_utf8_bytes_fails_on_non_ascii_keys() -> None:
    def murmurhash3_32(key: bytes, seed: int) -> int:
        latin = key.decode("utf-8").encode("utf-16-le")[::2]  # one byte per character
        return int(MMREF.murmurhash3_32(latin, seed))

    failed = failing(only(murmurhash3_32=murmurhash3_32))
    assert set(failed) == ids("murmurhash3_32/")  # every seed has keys beyond ASCII


# --- the two functions ----------------------------------------------------------------------


def test_a_joint_embedding_that_always_returns_float64_fails_the_other_dtypes() -> None:
    def joint_embedding(image: Any, text: Any, model: Any) -> Any:
        return mmref.joint_embedding(image, text, model).astype(np.float64)

    failed = failing(only(joint_embedding=joint_embedding))
    assert "joint_embedding/float32+float64" not in failed  # float64 already
    assert "joint_embedding/int8+uint8" in failed
    assert "returned dtype float64; expected int16" in failed["joint_embedding/int8+uint8"]
    assert "joint_embedding/complex64+int64" in failed  # the imaginary part is lost
    assert not {i for i in failed if "/error/" in i}


def test_a_joint_embedding_that_loses_negative_zero_fails_the_special_values() -> None:
    def joint_embedding(image: Any, text: Any, model: Any) -> Any:
        return mmref.joint_embedding(image, text, model) + 0.0  # -0.0 + 0.0 == +0.0

    failed = failing(only(joint_embedding=joint_embedding))
    assert "joint_embedding/special-values" in failed
    assert (
        f"at index (0, 0) {np.float64(0.0)!r} vs {np.float64(-0.0)!r}"
        in (failed["joint_embedding/special-values"])
    )
    # NaN, inf and the other entries match; only the signed zero does not.
    assert "joint_embedding/float32+float64" not in failed


def test_a_joint_embedding_raising_type_error_fails_the_error_cases() -> None:
    def joint_embedding(image: Any, text: Any, model: Any) -> Any:
        try:
            return mmref.joint_embedding(image, text, model)
        except ValueError as exc:
            raise TypeError(str(exc)) from None

    failed = failing(only(joint_embedding=joint_embedding))
    assert set(failed) == ids("joint_embedding/error/")
    assert all("raised TypeError" in m for m in failed.values())


def test_an_error_subclass_counts_as_the_error() -> None:
    class AxisLikeError(IndexError, ValueError):
        pass

    def joint_embedding(image: Any, text: Any, model: Any) -> Any:
        try:
            return mmref.joint_embedding(image, text, model)
        except ValueError as exc:
            raise AxisLikeError(str(exc)) from None

    assert not failing(only(joint_embedding=joint_embedding))


def test_a_joint_embedding_that_broadcasts_fails_where_the_spec_raises() -> None:
    def joint_embedding(image: Any, text: Any, model: Any) -> Any:
        """Makes anything fit: 1-D to a row, extra axes flattened, the longer batch cut."""
        a, b = np.atleast_2d(model.encode_image(image)), np.atleast_2d(model.encode_text(text))
        b = b.reshape(b.shape[0], int(np.prod(b.shape[1:])))
        rows = min(len(a), len(b))
        return np.concatenate((a[:rows], b[:rows]), axis=1)

    failed = failing(only(joint_embedding=joint_embedding))
    assert set(failed) == ids("joint_embedding/error/")
    assert "expected ValueError" in failed["joint_embedding/error/row-mismatch"]
    assert "returned array of shape" in failed["joint_embedding/error/row-mismatch"]


def test_a_classification_breaking_ties_to_the_last_fails_the_ties_case() -> None:
    def multimodal_classification(joint_embedding: Any, labels: Any, model: Any) -> Any:
        scores = np.asarray(model.predict(joint_embedding))
        mmref.multimodal_classification(joint_embedding, labels, model)  # its validation
        return scores.shape[1] - 1 - np.argmax(scores[:, ::-1], axis=1)

    failed = failing(only(multimodal_classification=multimodal_classification))
    assert "multimodal_classification/ties-zeros-infinities" in failed
    assert "multimodal_classification/one-class" not in failed
    assert not {i for i in failed if "/error/" in i}


def test_a_classification_returning_int32_fails_every_result_case() -> None:
    def multimodal_classification(joint_embedding: Any, labels: Any, model: Any) -> Any:
        return mmref.multimodal_classification(joint_embedding, labels, model).astype(np.int32)

    failed = failing(only(multimodal_classification=multimodal_classification))
    expected = ids("multimodal_classification/") - ids("multimodal_classification/error/")
    if np.dtype(np.intp) == np.int32:
        pytest.skip("the index integer is int32 here")
    assert set(failed) == expected
    assert all("returned dtype int32; expected int64" in m for m in failed.values())


def test_a_classification_that_takes_nan_fails_the_nan_case() -> None:
    def multimodal_classification(joint_embedding: Any, labels: Any, model: Any) -> Any:
        scores = np.asarray(model.predict(joint_embedding))
        if scores.ndim == 2 and np.isnan(scores).any():
            return np.argmax(np.nan_to_num(scores, nan=-np.inf), axis=1)
        return mmref.multimodal_classification(joint_embedding, labels, model)

    failed = failing(only(multimodal_classification=multimodal_classification))
    assert set(failed) == {"multimodal_classification/error/nan"}
    assert "expected ValueError" in failed["multimodal_classification/error/nan"]


# --- the encoders, with and without tolerances ----------------------------------------------


def perturbed_text_encoder(
    change: Callable[[np.ndarray], np.ndarray],
) -> Callable[..., Any]:
    text = pytest.importorskip("mmref.text")

    class Encoder(text.BagOfWordsTextEncoder):  # type: ignore[misc, name-defined]
        def encode_text(self, texts: Any) -> Any:
            out = super().encode_text(texts)
            dense = out.toarray() if hasattr(out, "toarray") else np.asarray(out)
            return change(dense)

    return Encoder


def exact_text_cases() -> set[str]:
    return {
        c["id"]
        for c in GOLDEN["cases"]
        if c["function"] == "BagOfWordsTextEncoder.encode_text"
        and "tolerance" not in c
        and "raises" not in (c["expected"] if isinstance(c["expected"], dict) else {})
    }


def tolerant_text_cases() -> set[str]:
    return {
        c["id"]
        for c in GOLDEN["cases"]
        if c["function"] == "BagOfWordsTextEncoder.encode_text" and "tolerance" in c
    }


def test_one_ulp_off_fails_the_exact_cases_and_passes_the_tolerant_ones() -> None:
    encoder = perturbed_text_encoder(lambda a: np.nextafter(a, np.inf).astype(a.dtype))
    failed = failing(only(BagOfWordsTextEncoder=encoder))
    exact, tolerant = exact_text_cases(), tolerant_text_cases()
    assert exact and tolerant
    assert set(failed) == exact
    assert all("bit for bit" in failed[i] for i in exact)


def test_a_relative_error_of_a_millionth_fails_the_tolerant_cases_too() -> None:
    encoder = perturbed_text_encoder(lambda a: (a * (1 + 1e-6)).astype(a.dtype))
    failed = failing(only(BagOfWordsTextEncoder=encoder))
    tolerant = {
        i
        for i in tolerant_text_cases()
        if next(c for c in GOLDEN["cases"] if c["id"] == i)["tolerance"]["rtol"] < 1e-6
    }
    assert tolerant and tolerant <= set(failed)
    assert all("beyond rtol=" in failed[i] for i in tolerant)


def test_tokens_in_another_order_fail_the_tokenize_cases() -> None:
    text = pytest.importorskip("mmref.text")

    class Encoder(text.BagOfWordsTextEncoder):  # type: ignore[misc, name-defined]
        def tokenize(self, value: Any) -> Any:
            return list(reversed(super().tokenize(value)))

    failed = failing(only(BagOfWordsTextEncoder=Encoder))
    tokenize = {c["id"] for c in GOLDEN["cases"] if c["function"].endswith(".tokenize")}
    multi = {
        c["id"]
        for c in GOLDEN["cases"]
        if c["function"].endswith(".tokenize") and len(set(c["expected"])) > 1
    }
    assert multi and set(failed) == multi and multi <= tokenize
    some = failed[sorted(multi)[0]]
    assert "returned [" in some and "expected [" in some


def test_the_params_reach_the_encoder_as_the_spec_says() -> None:
    text = pytest.importorskip("mmref.text")
    seen: list[dict[str, Any]] = []

    def factory(**params: Any) -> Any:
        seen.append(params)
        return text.BagOfWordsTextEncoder(**params)

    assert not failing(only(BagOfWordsTextEncoder=factory))
    assert {"n_features": 32, "weighting": "log", "dtype": np.dtype(np.float32)} in seen
    assert any(p.get("ngram_range") == (1, 2) for p in seen)  # a JSON list is a tuple


# --- an implementation that cannot be compared or looked at --------------------------------


def test_a_result_numpy_cannot_take_fails_and_says_so() -> None:
    class Unreadable:
        def __array__(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("device memory")

    failed = failing(only(mix64=lambda z: Unreadable()))
    (message,) = failed.values()
    assert "returned Unreadable, which cannot be compared (RuntimeError: device memory)" in message


def test_a_namespace_whose_attributes_raise_fails_every_case() -> None:
    class Hostile:
        def __getattr__(self, name: str) -> Any:
            raise RuntimeError("attribute access refused")

    results = verdicts(Hostile())
    assert {s for s, _ in results.values()} == {"FAIL"}
    assert (
        "getting mix64 raised RuntimeError: attribute access refused"
        in (results["mix64/edges-and-splitmix64"][1])
    )


def test_what_an_implementation_lacks_is_skipped_naming_it() -> None:
    results = verdicts(only(mix64=MMREF.mix64))
    assert results["mix64/edges-and-splitmix64"][0] == "PASS"
    assert results["derive_key/0/none"] == ("SKIP", "the implementation has no derive_key")


def test_check_golden_raises_for_the_first_failing_case() -> None:
    with pytest.raises(ConformanceError, match=r"\[golden\] case 'derive_key/1/0'"):
        check_golden(only(derive_key=lambda seed, *words: MMREF.derive_key(0, *words)))
    assert {r.status for r in check_golden(only(mix64=MMREF.mix64))} <= {"PASS", "SKIP"}


# --- the comparison rules, on hand-made documents -------------------------------------------


def document(expected: Any, tolerance: dict[str, float] | None = None) -> dict[str, Any]:
    case: dict[str, Any] = {
        "id": "case",
        "function": "mix64",
        "args": {"z": encode_array(np.zeros(1, np.uint64))},
        "expected": expected if isinstance(expected, dict) else encode_array(expected),
    }
    if tolerance is not None:
        case["tolerance"] = tolerance
    return {"format": GOLDEN_FORMAT, "cases": [case]}


def judged(out: Any, expected: Any, tolerance: dict[str, float] | None = None) -> str:
    ((status, message),) = verdicts(
        only(mix64=lambda z: out), document(expected, tolerance)
    ).values()
    return "" if status == "PASS" else message


def test_exact_comparison_rules() -> None:
    nan, inf = np.nan, np.inf
    assert judged(np.array([nan, -inf, 1.5]), np.array([nan, -inf, 1.5])) == ""
    assert "at index (0,)" in judged(np.array([0.0]), np.array([-0.0]))
    assert "at index (1,)" in judged(np.array([1.0, -0.0]), np.array([1.0, 0.0]))
    assert "at index (0,)" in judged(np.array([nan]), np.array([1.0]))
    assert "at index (0,)" in judged(np.array([1.0]), np.array([nan]))
    assert "at index (0, 1)" in judged(np.array([[1.0, 2.0]]), np.array([[1.0, 2.5]]))
    assert judged(np.array([1 - 0.0j]), np.array([1 - 0.0j])) == ""
    assert "at index (0,)" in judged(np.array([-1 + 0j]), np.array([1 + 0j]))
    assert judged(np.array([3], np.int8), np.array([3], np.int8)) == ""
    assert "returned dtype int16; expected int8" in judged(
        np.array([3], np.int16), np.array([3], np.int8)
    )
    assert "returned shape (1, 2); expected (2,)" in judged(np.ones((1, 2)), np.ones(2))
    assert "returned shape (2,); expected (2, 1)" in judged(np.ones(2), np.ones((2, 1)))


def test_tolerance_rules() -> None:
    expected = np.array([100.0, -0.0, 1.0])
    assert judged(expected + np.array([1e-7, 0.0, 0.0]), expected, {"rtol": 1e-9}) == ""
    assert "beyond rtol=1e-09, atol=0" in judged(
        expected + np.array([1e-6, 0.0, 0.0]), expected, {"rtol": 1e-9}
    )
    # with a tolerance, signed zeros are equal values
    assert judged(np.array([100.0, 0.0, 1.0]), expected, {"rtol": 1e-9}) == ""
    assert judged(expected + np.array([0.0, 0.0, 0.5]), expected, {"atol": 0.5}) == ""
    assert "atol=0.25" in judged(expected + np.array([0.0, 0.0, 0.5]), expected, {"atol": 0.25})
    assert "at index (2,)" in judged(expected + np.array([0.0, 0.0, 0.5]), expected, {"atol": 0.25})
    assert (
        judged(expected + np.array([0.0, 0.0, 0.5]), expected, {"atol": 0.25, "rtol": 0.25}) == ""
    )
    assert "beyond" in judged(np.array([np.nan, -0.0, 1.0]), expected, {"rtol": 1.0})
    # complex values: the distance in the complex plane, both parts count
    z = np.array([3 + 4j])
    assert judged(z, z, {"rtol": 1e-12}) == ""
    assert judged(np.array([3 + 4.5j]), z, {"rtol": 0.11}) == ""  # 0.5 <= 0.11 * |3+4j|
    assert "beyond" in judged(np.array([3 + 4.5j]), z, {"rtol": 0.09})
    assert "beyond" in judged(np.array([3 - 4j]), z, {"atol": 1.0})


def test_an_expected_error_that_is_not_raised_fails() -> None:
    message = judged(np.zeros(2), {"raises": "ValueError"})
    assert "returned array of shape (2,)" in message and "expected ValueError" in message

    def raises(z: Any) -> Any:
        raise ValueError("no")

    ((status, _),) = verdicts(only(mix64=raises), document({"raises": "ValueError"})).values()
    assert status == "PASS"
    ((status, message),) = verdicts(only(mix64=raises), document(np.zeros(1))).values()
    assert status == "FAIL" and "raised ValueError: no" in message


# --- the format ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "array",
    [
        np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, 1.7976931348623157e308]),
        np.array([[1.5, -2.25]], np.float32),
        np.array([0.1], np.float16),
        np.array([complex(1, 2), complex(-0.0, -np.inf), complex(np.inf, -0.0)]),
        np.array([2**64 - 1, 0, 2**63], np.uint64),
        np.array([-(2**63), 2**63 - 1], np.int64),
        np.array([[True, False]]),
        np.zeros((0, 3), np.int8),
        np.array(7, np.intp),
    ],
    ids=lambda a: str(a.dtype),
)
def test_encode_then_decode_keeps_every_bit(array: np.ndarray) -> None:
    encoded = json.loads(json.dumps(encode_array(array), allow_nan=False))
    decoded = decode(encoded)
    assert decoded.dtype == array.dtype and decoded.shape == array.shape
    assert decoded.tobytes() == array.tobytes()


def test_the_encoding_is_the_one_spec_md_gives() -> None:
    assert encode_array(np.array([1.0, np.inf, -np.inf, np.nan])) == {
        "dtype": "float64",
        "shape": [4],
        "data": [1.0, "inf", "-inf", "nan"],
    }
    assert encode_array(np.array([2**64 - 1], np.uint64))["data"] == ["0xFFFFFFFFFFFFFFFF"]
    assert encode_array(np.array([[1 + 2j]], np.complex64))["data"] == [[1.0, 2.0]]
    assert encode_array(np.array([3], np.intp))["dtype"] == "intp"
    assert encode_array(np.array([3], np.int32))["data"] == [3]
    assert decode({"dtype": "intp", "shape": [1], "data": [5]}).dtype == np.intp


def test_decode_leaves_other_values_alone() -> None:
    for value in (["a", "b"], "text", 3, {"dtype": "float64"}, {"data": []}, None):
        assert decode(value) == value


def test_the_mmref_namespace_gives_the_spec_names() -> None:
    assert call_case("murmurhash3_32", MMREF.murmurhash3_32, "", {"keys": ["", "a"], "seed": 0})[
        0
    ] == np.uint32(0)
    assert MMREF.murmurhash3_32(b"a", 0) == 0x3C2569B2  # MurmurHash3_x86_32("a", 0)
    assert MMREF.joint_embedding is mmref.joint_embedding
    assert MMREF.multimodal_classification is mmref.multimodal_classification
    with pytest.raises(AttributeError, match="not_in_the_spec"):
        MMREF.not_in_the_spec  # noqa: B018
    assert getattr(MMREF, "unknown", None) is None


# --- the document ----------------------------------------------------------------------------


def test_make_golden_covers_only_the_encoders_asked_for() -> None:
    document = make_golden(encoders=())
    functions = {c["function"].partition(".")[0] for c in document["cases"]}
    assert functions == {
        "mix64",
        "derive_key",
        "murmurhash3_32",
        "joint_embedding",
        "multimodal_classification",
    }
    assert document["format"] == GOLDEN_FORMAT
    assert document["generated_by"] == f"mmref {mmref.__version__}"
    chosen = {c["id"] for c in document["cases"]}
    assert document["cases"] == [c for c in GOLDEN["cases"] if c["id"] in chosen]


def test_write_then_load_gives_the_document_one_case_a_line(tmp_path: Path) -> None:
    path = write_golden(tmp_path / "golden.json", encoders=())
    assert path == tmp_path / "golden.json"
    loaded = load_golden(path)
    assert loaded == make_golden(encoders=())
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(loaded["cases"]) + 2
    assert lines[-1] == "]}"


def test_the_written_file_is_readable_one_header_line_and_texts_as_themselves(
    tmp_path: Path,
) -> None:
    # write_golden's promise: a change shows as a readable diff. The header line holds
    # only the header, and a non-ASCII text (CJK, emoji, accents) is written as itself,
    # not as \\u escapes.
    path = write_golden(tmp_path / "golden.json", encoders=("text",))
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0].count('"cases"') == 1

    def strings(value: Any) -> list[str]:
        if isinstance(value, str):
            return [value]
        if isinstance(value, dict):
            return [s for v in value.values() for s in strings(v)]
        if isinstance(value, list):
            return [s for v in value for s in strings(v)]
        return []

    readable = [
        s
        for s in strings(load_golden(path)["cases"])
        if any(ord(c) > 127 for c in s) and s.isprintable()
    ]
    assert readable  # the text cases have non-ASCII texts
    for s in readable:
        assert json.dumps(s, ensure_ascii=False) in text, s


def test_load_golden_refuses_another_format(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"format": "mmref-golden/2", "cases": []}))
    with pytest.raises(ValueError, match="format 'mmref-golden/2'; this mmref reads"):
        load_golden(path)
