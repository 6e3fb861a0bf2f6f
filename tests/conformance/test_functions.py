"""The properties of the two function kinds (mmref.conformance._joint, ._classification,
._core): the reference passes, each broken implementation of the catalogue is caught by
the intended property, with a reproducing snippet and a shrunk counterexample."""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
import pytest

import mmref
from mmref import ConformanceError
from mmref.conformance import (
    PROPERTIES,
    check_joint_embedding,
    check_multimodal_classification,
    run_checks,
)

FEW = 5  # Hypothesis examples per property in these meta-tests: explicit examples come on top

# --- the catalogue of broken implementations --------------------------------------------


def source_joint_embedding(image: Any, text: Any, model: Any) -> Any:
    """The literal source: conforms except that it joins 3-D outputs without complaint."""
    image_embedding = model.encode_image(image)
    text_embedding = model.encode_text(text)
    return np.concatenate((image_embedding, text_embedding), axis=1)


def source_multimodal_classification(joint_embedding: Any, labels: Any, model: Any) -> Any:
    predictions = model.predict(joint_embedding)
    return np.argmax(predictions, axis=1)


def concat_axis0(image: Any, text: Any, model: Any) -> Any:
    return np.concatenate((model.encode_image(image), model.encode_text(text)), axis=0)


def hstack_1d(image: Any, text: Any, model: Any) -> Any:
    # Fine for 2-D outputs, but silently joins 1-D ones into one long vector.
    return np.hstack((model.encode_image(image), model.encode_text(text)))


def np_stack(image: Any, text: Any, model: Any) -> Any:
    return np.stack((model.encode_image(image), model.encode_text(text)))


def text_before_image(image: Any, text: Any, model: Any) -> Any:
    image_embedding = model.encode_image(image)
    text_embedding = model.encode_text(text)
    return np.concatenate((text_embedding, image_embedding), axis=1)


def float32_downcast(image: Any, text: Any, model: Any) -> Any:
    return mmref.joint_embedding(image, text, model).astype(np.float32)


def returns_list(image: Any, text: Any, model: Any) -> Any:
    return mmref.joint_embedding(image, text, model).tolist()


def mutates_image(image: Any, text: Any, model: Any) -> Any:
    joint = mmref.joint_embedding(image, text, model)
    if isinstance(image, np.ndarray) and image.size:
        image.flat[0] = 1  # e.g. an in-place rescaling of the pixels
    return joint


def argmax_axis0(joint_embedding: Any, labels: Any, model: Any) -> Any:
    return np.argmax(model.predict(joint_embedding), axis=0)


def argmin(joint_embedding: Any, labels: Any, model: Any) -> Any:
    return np.argmin(model.predict(joint_embedding), axis=1)


def ties_to_last(joint_embedding: Any, labels: Any, model: Any) -> Any:
    scores = np.asarray(model.predict(joint_embedding))
    return scores.shape[1] - 1 - np.argmax(scores[:, ::-1], axis=1)


def sorts_labels(joint_embedding: Any, labels: Any, model: Any) -> Any:
    if isinstance(labels, list):
        labels.sort()
    return mmref.multimodal_classification(joint_embedding, labels, model)


CATALOGUE = [
    ("joint-embedding", concat_axis0, "axis"),
    ("joint-embedding", hstack_1d, "raises"),
    ("joint-embedding", np_stack, "shape"),
    ("joint-embedding", text_before_image, "order"),
    ("joint-embedding", float32_downcast, "dtype"),
    ("joint-embedding", returns_list, "type"),
    ("joint-embedding", mutates_image, "no_mutation"),
    ("classification", argmax_axis0, "axis"),
    ("classification", argmin, "maximum"),
    ("classification", ties_to_last, "ties"),
    ("classification", sorts_labels, "no_mutation"),
]


@pytest.mark.parametrize(
    ("kind", "broken", "prop"), CATALOGUE, ids=[f"{b.__name__}" for _, b, _ in CATALOGUE]
)
def test_each_broken_function_is_caught_by_the_intended_property(
    kind: str, broken: Any, prop: str
) -> None:
    (result,) = run_checks(kind, broken, max_examples=FEW, select=[prop])
    assert result.status == "FAIL", result
    assert f"[{kind}] property '{prop}' failed" in result.message
    assert "Minimal counterexample" in result.message
    assert f"resolve_target('test_functions:{broken.__name__}', '{kind}')" in result.message


def test_reference_functions_pass_every_property() -> None:
    results = check_joint_embedding(mmref.joint_embedding, max_examples=FEW, strict=True)
    assert [r.name for r in results] == list(PROPERTIES["joint-embedding"])
    assert {r.status for r in results} == {"PASS"}
    results = check_multimodal_classification(
        mmref.multimodal_classification, max_examples=FEW, strict=True
    )
    assert [r.name for r in results] == list(PROPERTIES["classification"])
    assert {r.status for r in results} == {"PASS"}


def test_literal_source_passes_strict_with_its_known_failures_listed() -> None:
    # The source functions do not validate: 3-D outputs are joined, NaN becomes a class.
    results = check_joint_embedding(
        source_joint_embedding,
        max_examples=FEW,
        strict=True,
        known_failures={
            "protocol_2d": "3-D model outputs are concatenated without complaint",
            "rejects_non_numeric": "str outputs are concatenated too",
            "rejects_missing_method": "AttributeError, after calling encode_image",
        },
    )
    assert {r.name: r.status for r in results}["protocol_2d"] == "XFAIL"
    known = {
        "protocol_2d": "3-D scores give a 2-D argmax",
        "row_mismatch": "the row count of joint_embedding is not compared",
        "rejects_nan": "np.argmax returns the index of the first NaN",
        "rejects_non_numeric": "np.argmax takes complex numbers and strings",
        "rejects_missing_method": "AttributeError",
    }
    results = check_multimodal_classification(
        source_multimodal_classification, max_examples=FEW, known_failures=known, strict=True
    )
    statuses = {r.name: r.status for r in results}
    assert {name for name, status in statuses.items() if status == "XFAIL"} == set(known)
    assert {r.message for r in results if r.status == "XFAIL"} == set(known.values())


def test_known_failure_that_passes_is_reported_as_xpass() -> None:
    results = check_joint_embedding(
        mmref.joint_embedding, max_examples=FEW, known_failures={"order": "we thought so"}
    )
    assert {r.name: r.status for r in results}["order"] == "XPASS"


def test_unknown_property_names_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"'axes' is not a property of kind 'joint-embedding'"):
        check_joint_embedding(mmref.joint_embedding, known_failures={"axes": "typo"})
    with pytest.raises(ValueError, match="kind must be one of"):
        run_checks("joint_embedding", mmref.joint_embedding)


def test_conformance_error_is_an_assertion_error_listing_all_failures() -> None:
    with pytest.raises(AssertionError) as info:
        check_joint_embedding(float32_downcast, max_examples=FEW)
    assert isinstance(info.value, ConformanceError)
    message = str(info.value)
    assert message.startswith("[joint-embedding] property 'dtype' failed")
    assert "returned dtype float32; expected float64" in message
    assert "Other failing properties: reference." in message


@pytest.mark.parametrize(
    ("kind", "broken", "prop"),
    [
        ("joint-embedding", text_before_image, "order"),
        ("joint-embedding", float32_downcast, "reference"),
        ("classification", ties_to_last, "ties"),
        ("classification", argmin, "reference"),
    ],
)
def test_the_snippet_reproduces_the_failure(kind: str, broken: Any, prop: str) -> None:
    (result,) = run_checks(kind, broken, max_examples=FEW, select=[prop])
    snippet = textwrap.dedent(result.message.split("reproduces it:\n", 1)[1])
    namespace: dict[str, Any] = {}
    exec(snippet, namespace)
    out, expected = np.asarray(namespace["out"]), namespace["expected"]
    assert out.dtype != expected.dtype or not np.array_equal(out, expected, equal_nan=True)


def test_failures_show_a_shrunk_counterexample() -> None:
    # Hypothesis shrinks to a minimal example: for ties to the last index, one row of
    # two equal scores (the explicit examples are skipped by selecting a strategy-only run).
    def ties_last_2x(joint_embedding: Any, labels: Any, model: Any) -> Any:
        scores = np.asarray(model.predict(joint_embedding))
        if scores.shape == (3, 3) or scores.shape == (2, 4):  # dodge the explicit examples
            return np.argmax(scores, axis=1)
        return scores.shape[1] - 1 - np.argmax(scores[:, ::-1], axis=1)

    (result,) = run_checks("classification", ties_last_2x, max_examples=60, select=["ties"])
    assert result.status == "FAIL"
    assert "StubClassificationModel(np.array([[" in result.message
    model_line = next(line for line in result.message.splitlines() if "model = Stub" in line)
    assert model_line.count("[") == 2  # a single row


def test_a_failure_that_does_not_reproduce_is_reported_as_nondeterminism() -> None:
    # Fails once, on the first drawn example of 3 or more texts (the explicit examples have
    # at most 2), and never again: Hypothesis's replay passes, which must read as a
    # nondeterministic implementation, with the first failure quoted.
    failed: list[bool] = []

    def fails_once(image: Any, text: Any, model: Any) -> Any:
        out = mmref.joint_embedding(image, text, model)
        if len(text) >= 3 and not failed:
            failed.append(True)
            return out.tolist()
        return out

    (result,) = run_checks("joint-embedding", fails_once, max_examples=60, select=["type"])
    assert failed and result.status == "FAIL", result
    assert "did not reproduce when the same example was run again" in result.message
    assert "implementation is not deterministic" in result.message
    assert "First failure: fn(image, text, model) returned an object of type" in result.message


def test_a_run_restricted_to_float32_shows_the_target_float32_embeddings_only() -> None:
    # --dtypes float32 (a float32-only port): the fixed examples with a float64 image or
    # text embedding are left out, whichever of the two it is.
    seen: set[np.dtype[Any]] = set()

    def join(image: Any, text: Any, model: Any) -> Any:
        parts = (model.encode_image(image), model.encode_text(text))
        seen.update(np.asarray(p).dtype for p in parts)
        return np.concatenate(parts, axis=1)

    results = run_checks("joint-embedding", join, dtypes=["float32"], select=["order"])
    assert [r.status for r in results] == ["PASS"]
    assert seen == {np.dtype(np.float32)}


def test_a_classification_run_restricted_to_float32_runs_its_float32_fixed_example() -> None:
    # Only float32 scores reach the target, and the fixed float32 example (one 1 x 1
    # score) is among them: the restriction leaves out the other dtypes, not everything.
    seen: list[np.ndarray[Any, Any]] = []

    def classify(joint: Any, labels: Any, model: Any) -> Any:
        seen.append(np.asarray(model.predict(joint)))
        return np.argmax(seen[-1], axis=1)

    results = run_checks("classification", classify, dtypes=["float32"], select=["reference"])
    assert [r.status for r in results] == ["PASS"]
    assert {s.dtype for s in seen} == {np.dtype(np.float32)}
    assert any(s.shape == (1, 1) and s[0, 0] == np.float32(0.5) for s in seen)
