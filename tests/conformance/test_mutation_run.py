"""The runner's contract (mmref.conformance._run, ._watch), as a user meets it.

What a run reports for each option of the ``check_*`` functions and of :func:`run_checks`
(profiles, selections, known failures, timeouts, preparing a model), and the watch that
puts a deadline on every step that calls the target. Each test uses a target that is
wrong (or slow) in one way and asserts the verdict and what the report says.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import mmref
from mmref import ConformanceError
from mmref.conformance import (
    PROPERTIES,
    PROPERTY_PROFILES,
    check_classification_model,
    check_embedding_model,
    check_joint_embedding,
    check_multimodal_classification,
    check_property,
    properties_of,
    run_checks,
)
from mmref.conformance._watch import Escaped, TimedOut, Watch, check_timeout, run_watched

FEW = 3


def source_joint_embedding(image: Any, text: Any, model: Any) -> Any:
    image_embedding = model.encode_image(image)
    text_embedding = model.encode_text(text)
    return np.concatenate((image_embedding, text_embedding), axis=1)


def source_multimodal_classification(joint_embedding: Any, labels: Any, model: Any) -> Any:
    predictions = model.predict(joint_embedding)
    return np.argmax(predictions, axis=1)


def last_max_classification(joint_embedding: Any, labels: Any, model: Any) -> Any:
    """Wrong in one way: ties go to the last maximum, not the first."""
    scores = np.asarray(model.predict(joint_embedding))
    return scores.shape[1] - 1 - np.argmax(scores[:, ::-1], axis=1)


def strict_only(kind: str) -> set[str]:
    return {n for n, p in PROPERTY_PROFILES[kind].items() if p == "strict"}


def by_status(results: list[Any]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for r in results:
        out.setdefault(r.status, set()).add(r.name)
    return out


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """An event the hanging targets wait on; set at teardown, so no thread outlives the test."""
    event = threading.Event()
    yield event
    event.set()


# --- profiles, selections, known failures -------------------------------------------------


def test_a_core_run_runs_the_core_properties_in_order_and_strict_adds_the_rest() -> None:
    kind = "classification"
    core = run_checks(kind, source_multimodal_classification, max_examples=FEW)
    assert [r.name for r in core] == [
        n for n in PROPERTIES[kind] if PROPERTY_PROFILES[kind][n] == "core"
    ]
    assert {r.status for r in core} == {"PASS"}
    strict = run_checks(kind, source_multimodal_classification, max_examples=FEW, strict=True)
    assert [r.name for r in strict] == list(PROPERTIES[kind])
    # The source function has only the core properties: strict finds the hardening missing.
    assert by_status(strict)["FAIL"] and by_status(strict)["FAIL"] <= strict_only(kind)


def test_the_check_functions_take_strict() -> None:
    check_multimodal_classification(source_multimodal_classification, max_examples=FEW)
    with pytest.raises(ConformanceError):
        check_multimodal_classification(
            source_multimodal_classification, max_examples=FEW, strict=True
        )
    check_joint_embedding(source_joint_embedding, max_examples=FEW)
    with pytest.raises(ConformanceError):
        check_joint_embedding(source_joint_embedding, max_examples=FEW, strict=True)


def test_a_selection_runs_exactly_those_properties_in_the_kinds_order() -> None:
    kind = "joint-embedding"
    names = list(PROPERTIES[kind])
    chosen = [names[-1], names[0]]  # asked for out of order, one of them strict or not
    results = run_checks(kind, mmref.joint_embedding, max_examples=FEW, select=chosen)
    assert [r.name for r in results] == [names[0], names[-1]]


def test_known_failures_are_xfail_and_a_known_failure_that_passes_is_xpass() -> None:
    known = {
        "ties": "we break ties the other way",
        "reference": "the same",
        "dtype": "not a failure at all",
    }
    results = run_checks(
        "classification", last_max_classification, max_examples=FEW, known_failures=known
    )
    status = {r.name: (r.status, r.message) for r in results}
    assert status["ties"] == ("XFAIL", "we break ties the other way")
    assert status["dtype"] == ("XPASS", "not a failure at all")
    # ... and the check function does not raise for a known failure.
    check_multimodal_classification(last_max_classification, max_examples=FEW, known_failures=known)
    with pytest.raises(ConformanceError, match="property 'ties' failed"):
        check_multimodal_classification(last_max_classification, max_examples=FEW)


def test_the_first_failure_is_raised_and_the_others_are_named() -> None:
    def wrong(joint_embedding: Any, labels: Any, model: Any) -> Any:
        return np.zeros(3, dtype=np.float64)  # wrong length, wrong dtype, ignores the model

    results = run_checks("classification", wrong, max_examples=FEW)
    failed = [r.name for r in results if r.status == "FAIL"]
    assert len(failed) > 1
    with pytest.raises(ConformanceError) as error:
        check_multimodal_classification(wrong, max_examples=FEW)
    message = str(error.value)
    assert message.startswith(f"[classification] property '{failed[0]}' failed")
    assert ", ".join(failed[1:]) in message


@pytest.mark.parametrize("kind", list(PROPERTIES))
def test_unknown_property_names_are_refused_with_the_list(kind: str) -> None:
    target: Any = mmref.joint_embedding
    for option in ({"select": ["nope"]}, {"known_failures": {"nope": "why"}}):
        with pytest.raises(ValueError, match="'nope' is not a property of kind") as error:
            run_checks(kind, target, **option)
        assert ", ".join(PROPERTIES[kind]) in str(error.value)
    with pytest.raises(ValueError, match="'nope' is not a property"):
        check_property(kind, "nope", target)
    assert list(properties_of(kind)) == list(PROPERTIES[kind])


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        run_checks("joint", mmref.joint_embedding)
    with pytest.raises(ValueError, match="kind must be one of"):
        properties_of("joint")


def test_max_examples_is_how_many_drawn_examples_a_property_sees() -> None:
    def seen(max_examples: int | None) -> int:
        calls: list[int] = []

        def counting(joint_embedding: Any, labels: Any, model: Any) -> Any:
            calls.append(1)
            return mmref.multimodal_classification(joint_embedding, labels, model)

        check_multimodal_classification(counting, max_examples=max_examples)
        return len(calls)

    assert seen(1) < seen(8)


def test_a_target_that_is_not_of_the_kind_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="must have the methods predict"):
        run_checks("classification-model", object())
    with pytest.raises(TypeError, match="three positional arguments"):
        run_checks("joint-embedding", lambda image, text: None)


# --- check_property ------------------------------------------------------------------------


def test_check_property_returns_a_pass_raises_a_failure_and_returns_a_skip() -> None:
    result = check_property("classification", "ties", mmref.multimodal_classification)
    assert (result.name, result.status) == ("ties", "PASS")
    with pytest.raises(ConformanceError, match="property 'ties' failed"):
        check_property("classification", "ties", last_max_classification, max_examples=FEW)

    class Unclaimed:
        n_features_in_ = 2

        def predict(self, X: Any) -> Any:
            return np.asarray(X, dtype=np.float64)

    result = check_property("classification-model", "fresh_process", Unclaimed())
    assert result.status == "SKIP" and "__mmref_deterministic__" in result.message


def test_check_property_runs_a_strict_property_alone() -> None:
    (name,) = sorted(strict_only("classification"))[:1]
    with pytest.raises(ConformanceError, match=f"property '{name}' failed"):
        check_property("classification", name, source_multimodal_classification)


# --- preparing a classification model ------------------------------------------------------


class Unfitted:
    """Nearest of the class means seen in fit; no n_features_in_ until fitted."""

    __mmref_deterministic__ = False

    def fit(self, X: Any, y: Any) -> Unfitted:
        X, y = np.asarray(X), np.asarray(y)
        self.classes_ = np.unique(y)
        self.means_ = np.stack([X[y == c].mean(axis=0) for c in self.classes_])
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X: Any) -> Any:
        X = np.asarray(X, dtype=np.float64)
        return -((X[:, None, :] - self.means_[None]) ** 2).sum(axis=2)


def test_an_unfitted_model_is_fitted_as_a_copy_and_passes() -> None:
    model = Unfitted()
    results = check_classification_model(model, max_examples=FEW)
    assert {r.status for r in results} == {"PASS", "SKIP"}
    assert not hasattr(model, "n_features_in_")  # the user's model is never fitted


def test_a_failure_of_a_fitted_copy_says_how_to_reproduce_the_fit() -> None:
    class Batchy(Unfitted):
        def predict(self, X: Any) -> Any:
            scores = super().predict(X)
            return scores - scores.mean(axis=0)

    (result,) = run_checks(
        "classification-model",
        Batchy(),
        max_examples=FEW,
        select=["row_independence"],
        spec="somewhere:Batchy",
    )
    assert result.status == "FAIL"
    assert "resolve_target('somewhere:Batchy', 'classification-model')" in result.message
    assert "model, _ = prepare_classification_model(model)" in result.message


def test_a_fitted_model_is_used_as_it_is() -> None:
    (result,) = run_checks(
        "classification-model",
        Unfitted().fit(np.eye(3), [0, 1, 2]),
        max_examples=FEW,
        select=["row_independence"],
        spec="somewhere:fitted",
    )
    assert result.status == "PASS"
    model = Unfitted().fit(np.eye(3), [0, 1, 2])
    model.classes_ = np.arange(2)  # wrong in one way: three columns, two classes
    with pytest.raises(ConformanceError, match="3 columns but the model has 2") as error:
        check_property(
            "classification-model", "width", model, max_examples=FEW, spec="somewhere:fitted"
        )
    assert "prepare_classification_model" not in str(error.value)


@pytest.mark.parametrize("error", [RuntimeError("bad fit"), SystemExit(4)])
def test_a_fit_that_raises_is_a_type_error_naming_it(error: BaseException) -> None:
    class BadFit(Unfitted):
        def fit(self, X: Any, y: Any) -> Any:
            raise error

    with pytest.raises(TypeError, match=f"preparing the model raised {type(error).__name__}"):
        run_checks("classification-model", BadFit(), max_examples=FEW)


def test_a_model_with_neither_width_nor_fit_is_a_type_error() -> None:
    class Bare:
        def predict(self, X: Any) -> Any:
            return np.zeros((len(X), 2))

    with pytest.raises(TypeError, match="Pass n_features"):
        run_checks("classification-model", Bare())


def test_a_fit_that_never_returns_is_a_timeout_error(release: threading.Event) -> None:
    class Hangs(Unfitted):
        def fit(self, X: Any, y: Any) -> Any:
            release.wait()
            return super().fit(X, y)

    with pytest.raises(TimeoutError, match="fitting a copy of the model did not return within"):
        run_checks("classification-model", Hangs(), timeout=0.2)


# --- timeouts -----------------------------------------------------------------------------


def test_a_property_that_times_out_fails_and_the_rest_are_skipped(
    release: threading.Event,
) -> None:
    class HangsOnSecondCall:
        n_features_in_ = 2

        def __init__(self) -> None:
            self.calls = 0

        def predict(self, X: Any) -> Any:
            self.calls += 1
            if self.calls > 1:
                release.wait()
            return np.asarray(X, dtype=np.float64)

    results = run_checks("classification-model", HangsOnSecondCall(), timeout=0.2)
    names = list(PROPERTIES["classification-model"])
    assert [r.name for r in results] == names
    assert results[0].status == "FAIL"
    assert f"property '{names[0]}' failed" in results[0].message
    assert "did not return within 0.2 s" in results[0].message
    assert [r.status for r in results[1:]] == ["SKIP"] * (len(names) - 1)
    assert f"the run stopped when '{names[0]}' timed out" in results[1].message
    with pytest.raises(ConformanceError, match="did not return within 0.2 s"):
        check_classification_model(HangsOnSecondCall(), timeout=0.2)


def test_the_check_functions_take_a_timeout(release: threading.Event) -> None:
    class Hangs:
        image_shape = (2, 2)

        def encode_image(self, image: Any) -> Any:
            release.wait()

        def encode_text(self, text: Any) -> Any:
            release.wait()

    with pytest.raises(ConformanceError, match="did not return within 0.3 s"):
        check_embedding_model(Hangs(), timeout=0.3)

    def hangs(joint_embedding: Any, labels: Any, model: Any) -> Any:
        release.wait()

    with pytest.raises(ConformanceError, match="did not return within 0.3 s"):
        check_multimodal_classification(hangs, timeout=0.3)
    with pytest.raises(ConformanceError, match="did not return within 0.3 s"):
        check_property("classification", "ties", hangs, timeout=0.3)


def test_time_outside_the_targets_calls_is_not_limited() -> None:
    watch = Watch(check_timeout(0.05))

    def work() -> str:
        time.sleep(0.3)  # the kit's own work between steps: not a call of the target
        return "done"

    assert run_watched(work, watch) == "done"


def test_a_step_that_never_ends_times_out_naming_the_step(release: threading.Event) -> None:
    watch = Watch(0.1)

    def work() -> None:
        with watch.step("calling the slow thing"):
            release.wait()

    with pytest.raises(TimedOut, match=r"calling the slow thing did not return within 0.1 s"):
        run_watched(work, watch)


def test_no_timeout_waits_as_long_as_it_takes() -> None:
    watch = Watch(check_timeout(None))

    def work() -> int:
        with watch.step("a call"):
            time.sleep(0.2)
        return 7

    assert run_watched(work, watch) == 7
    assert watch.current()[0] is None


@pytest.mark.parametrize("error", [SystemExit(0), KeyboardInterrupt(), GeneratorExit()])
def test_a_base_exception_in_the_worker_comes_back_as_an_ordinary_exception(
    error: BaseException,
) -> None:
    def work() -> None:
        raise error

    with pytest.raises(Escaped, match=f"raised {type(error).__name__}") as caught:
        run_watched(work, Watch(1.0))
    assert caught.value.error is error


def test_an_exception_in_the_worker_is_raised_as_it_is() -> None:
    def work() -> None:
        raise LookupError("missing")

    with pytest.raises(LookupError, match="missing"):
        run_watched(work, Watch(None))


@pytest.mark.parametrize("value", [1, 0.001, 10**6])
def test_a_positive_finite_timeout_is_accepted_as_seconds(value: float) -> None:
    assert check_timeout(value) == float(value)
    assert isinstance(check_timeout(value), float)


def test_a_quick_target_passes_under_a_one_second_deadline() -> None:
    # Every step of mmref's own function takes milliseconds: none may be cut short.
    results = run_checks("joint-embedding", mmref.joint_embedding, max_examples=FEW, timeout=1.0)
    assert {r.status for r in results} == {"PASS"}


HANGING_RUN = """
import subprocess
import sys
import threading
from mmref.conformance import run_checks

def hangs(image, text, model):
    threading.Event().wait()

results = run_checks("joint-embedding", hangs, max_examples=1, timeout=0.2)
print(results[0].status)
"""


def test_an_abandoned_call_does_not_keep_the_interpreter_from_exiting(
    release: threading.Event,
) -> None:
    # In this process first (the same code path), then in a fresh interpreter that must exit.
    def work() -> None:
        with watch.step("a call that never returns"):
            release.wait()

    watch = Watch(0.1)
    with pytest.raises(TimedOut):
        run_watched(work, watch)
    done = subprocess.run(
        [sys.executable, "-c", HANGING_RUN], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["FAIL"]
