"""The runner (mmref.conformance._run, ._watch): profiles, options and their bounds, timeouts.

Meta-tests of the profiles: the verbatim source functions, equivalent rewrites of them
(in other words, or raising other exception types) and a broadcasting implementation.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import mmref
from mmref import ConformanceError
from mmref.conformance import (
    MAX_EXAMPLES,
    PROFILES,
    PROPERTIES,
    PROPERTY_PROFILES,
    check_golden,
    check_joint_embedding,
    check_multimodal_classification,
    run_checks,
    run_golden,
)
from mmref.testing import conformance_tests

FEW = 5


def verbatim_joint_embedding(image: Any, text: Any, model: Any) -> Any:
    image_embedding = model.encode_image(image)
    text_embedding = model.encode_text(text)
    return np.concatenate((image_embedding, text_embedding), axis=1)


def verbatim_multimodal_classification(joint_embedding: Any, labels: Any, model: Any) -> Any:
    predictions = model.predict(joint_embedding)
    return np.argmax(predictions, axis=1)


def rewritten_joint_embedding(image: Any, text: Any, model: Any) -> Any:
    """The same results by other means, raising its own exception type (as a port would)."""
    a, b = model.encode_image(image), model.encode_text(text)
    if a.ndim != b.ndim or a.ndim < 2 or a.shape[0] != b.shape[0]:
        raise RuntimeError("embeddings do not fit together")
    out = np.empty((a.shape[0], a.shape[1] + b.shape[1], *a.shape[2:]), np.result_type(a, b))
    out[:, : a.shape[1]] = a
    out[:, a.shape[1] :] = b
    return out


def rewritten_multimodal_classification(joint_embedding: Any, labels: Any, model: Any) -> Any:
    """First index of each row's maximum, without np.argmax."""
    scores = model.predict(joint_embedding)
    is_max = scores == scores.max(axis=1, keepdims=True)
    return is_max.argmax(axis=1)


def broadcasting_joint_embedding(image: Any, text: Any, model: Any) -> Any:
    """Silently repeats a single text row over every image row: the source raises there."""
    a, b = model.encode_image(image), model.encode_text(text)
    if a.ndim == b.ndim == 2 and b.shape[0] == 1:
        b = np.broadcast_to(b, (a.shape[0], b.shape[1]))
    return np.concatenate((a, b), axis=1)


def names(results: list[Any], status: str) -> set[str]:
    return {r.name for r in results if r.status == status}


def core(kind: str) -> list[str]:
    return [n for n, p in PROPERTY_PROFILES[kind].items() if p == "core"]


def test_every_property_has_a_profile() -> None:
    assert PROFILES == ("core", "strict")
    for kind, props in PROPERTIES.items():
        assert set(PROPERTY_PROFILES[kind]) == set(props)
        assert set(PROPERTY_PROFILES[kind].values()) <= set(PROFILES)
    for kind in ("embedding-model", "classification-model"):
        assert set(PROPERTY_PROFILES[kind].values()) == {"core"}


@pytest.mark.parametrize(
    ("check", "fn", "differences"),
    [
        (
            check_joint_embedding,
            verbatim_joint_embedding,
            {"protocol_2d", "rejects_non_numeric", "rejects_missing_method"},
        ),
        (
            check_joint_embedding,
            rewritten_joint_embedding,
            {"protocol_2d", "row_mismatch", "rejects_non_numeric", "rejects_missing_method"},
        ),
        (
            check_multimodal_classification,
            verbatim_multimodal_classification,
            {
                "protocol_2d",
                "row_mismatch",
                "rejects_nan",
                "rejects_non_numeric",
                "rejects_missing_method",
            },
        ),
        (
            check_multimodal_classification,
            rewritten_multimodal_classification,
            {
                "protocol_2d",
                "row_mismatch",
                "rejects_nan",
                "rejects_non_numeric",
                "rejects_missing_method",
            },
        ),
    ],
    ids=[
        "verbatim-joint",
        "rewritten-joint",
        "verbatim-classification",
        "rewritten-classification",
    ],
)
def test_source_and_equivalent_rewrites_pass_core_and_fail_strict_exactly(
    check: Any, fn: Any, differences: set[str]
) -> None:
    results = check(fn, max_examples=FEW)
    assert names(results, "PASS") == {r.name for r in results}
    kind = results[0].kind
    assert [r.name for r in results] == core(kind)
    results = run_checks(kind, fn, max_examples=FEW, strict=True)
    assert names(results, "FAIL") == differences
    assert all(PROPERTY_PROFILES[kind][n] == "strict" for n in differences)
    with pytest.raises(ConformanceError, match="property '"):
        check(fn, max_examples=FEW, strict=True)


def test_mmref_functions_pass_strict() -> None:
    check_joint_embedding(mmref.joint_embedding, max_examples=FEW, strict=True)
    check_multimodal_classification(mmref.multimodal_classification, max_examples=FEW, strict=True)


def test_a_broadcasting_implementation_fails_core() -> None:
    results = run_checks("joint-embedding", broadcasting_joint_embedding, max_examples=FEW)
    assert names(results, "FAIL") == {"raises"}
    failure = next(r for r in results if r.status == "FAIL")
    assert "expected an exception" in failure.message


def test_known_failures_may_name_strict_properties_in_a_core_run() -> None:
    results = check_multimodal_classification(
        verbatim_multimodal_classification,
        max_examples=FEW,
        known_failures={"rejects_nan": "the source takes NaN"},
    )
    assert "rejects_nan" not in {r.name for r in results}


def test_select_runs_a_strict_property_in_a_core_run() -> None:
    (result,) = run_checks(
        "classification",
        verbatim_multimodal_classification,
        max_examples=FEW,
        select=["rejects_nan"],
    )
    assert result.status == "FAIL"


def test_pytest_helper_takes_the_profile() -> None:
    ids = [p.id for p in conformance_tests(mmref.joint_embedding, "joint-embedding")]
    assert ids == [f"joint-embedding-{n}" for n in core("joint-embedding")]
    ids = [p.id for p in conformance_tests(mmref.joint_embedding, "joint-embedding", strict=True)]
    assert ids == [f"joint-embedding-{n}" for n in PROPERTIES["joint-embedding"]]


@pytest.mark.parametrize("value", [0, -1, MAX_EXAMPLES + 1, 10**20, 2.5, True, "10"])
def test_max_examples_out_of_bounds_is_a_value_error(value: Any) -> None:
    with pytest.raises(
        ValueError, match=f"max_examples must be an integer from 1 to {MAX_EXAMPLES}"
    ):
        check_joint_embedding(mmref.joint_embedding, max_examples=value)


@pytest.mark.parametrize("value", [0, -1.0, float("nan"), float("inf"), "60", True])
def test_timeout_out_of_bounds_is_a_value_error(value: Any) -> None:
    with pytest.raises(ValueError, match="timeout must be a positive"):
        check_joint_embedding(mmref.joint_embedding, timeout=value)
    with pytest.raises(ValueError, match="timeout must be a positive"):
        run_golden(timeout=value)


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """An event the hanging targets wait on; set at teardown, so no thread outlives the test."""
    event = threading.Event()
    yield event
    event.set()


def test_a_call_that_never_returns_fails_at_the_timeout(release: threading.Event) -> None:
    def hangs(image: Any, text: Any, model: Any) -> Any:
        release.wait()
        return mmref.joint_embedding(image, text, model)

    results = run_checks("joint-embedding", hangs, max_examples=FEW, timeout=0.2)
    assert [r.status for r in results] == ["FAIL"] + ["SKIP"] * (len(results) - 1)
    assert "did not return within 0.2 s" in results[0].message
    with pytest.raises(ConformanceError, match="did not return within 0.2 s"):
        check_joint_embedding(hangs, max_examples=FEW, timeout=0.2)


def test_a_golden_case_that_never_returns_fails_at_the_timeout(release: threading.Event) -> None:
    class Namespace:
        @staticmethod
        def mix64(z: Any) -> Any:
            release.wait()
            return z

    results = run_golden(Namespace(), timeout=0.2)
    assert results[0].status == "FAIL" and "did not return within 0.2 s" in results[0].message
    assert {r.status for r in results[1:]} == {"SKIP"}
    with pytest.raises(ConformanceError, match="did not return"):
        check_golden(Namespace(), timeout=0.2)


@pytest.mark.parametrize("error", [SystemExit(0), KeyboardInterrupt(), BaseException("x")])
def test_base_exceptions_from_the_target_fail_and_never_escape(error: BaseException) -> None:
    def raises(image: Any, text: Any, model: Any) -> Any:
        raise error

    results = run_checks("joint-embedding", raises, max_examples=FEW)
    assert {r.status for r in results} == {"FAIL"}
    assert f"raised {type(error).__name__}" in results[0].message

    class Namespace:
        @staticmethod
        def joint_embedding(image: Any, text: Any, model: Any) -> Any:
            raise error

    golden = run_golden(Namespace())
    assert {r.status for r in golden if r.name.startswith("joint_embedding/")} == {"FAIL"}


def test_a_model_whose_attributes_raise_fails_without_escaping() -> None:
    class Model:
        def encode_image(self, image: Any) -> Any:
            return np.zeros((len(image), 2))

        def encode_text(self, text: Any) -> Any:
            return np.zeros((1 if isinstance(text, str) else len(text), 2))

        def __getattr__(self, name: str) -> Any:
            raise RuntimeError(f"no {name}")

    results = run_checks("embedding-model", Model(), max_examples=2, image_shape=(2, 2))
    failed = {r.name: r.message for r in results if r.status == "FAIL"}
    assert "dtype" in failed and "RuntimeError: no dtype" in failed["dtype"]
