"""Every option of the ``check_*`` functions reaches the run (mmref.conformance._run).

Each test gives a target wrong (or picky) in one way and shows that the option changes
the verdict or what the target is called with: a known failure no longer raises, a looser
``rtol`` accepts a small batch dependence, ``dtypes`` and ``image_dtypes`` limit what the
target sees, ``spec`` appears in the reproducing snippet, ``image_shape`` and
``n_features`` set the inputs' shapes, ``max_examples`` sets how many examples run. Also
the refusals of :func:`check_dtypes` and ``max_examples``, and the results of a run that
timed out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import mmref
from mmref import ConformanceError
from mmref.conformance import (
    MAX_EXAMPLES,
    PROPERTIES,
    check_classification_model,
    check_dtypes,
    check_embedding_model,
    check_joint_embedding,
    check_multimodal_classification,
    check_property,
    run_checks,
)

FEW = 3


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """An event the hanging targets wait on; set at teardown, so no thread outlives the test."""
    event = threading.Event()
    yield event
    event.set()


# --- targets that record what they are given ----------------------------------------------


class Encoder:
    """Mean and maximum pixel, text lengths; ``batchy``: a relative change in a batch of 2+."""

    __mmref_deterministic__ = False

    def __init__(self, batchy: float = 0.0, image_shape: tuple[int, ...] | None = None) -> None:
        self.batchy = batchy
        self.required_shape = image_shape
        self.pixel_dtypes: set[str] = set()
        self.image_shapes: set[tuple[int, ...]] = set()
        self.calls = 0

    def encode_image(self, image: Any) -> Any:
        self.calls += 1
        pixels = np.asarray(image)
        self.pixel_dtypes.add(str(pixels.dtype))
        pixels = pixels.astype(np.float64)
        pixels = pixels[None] if pixels.ndim == 2 else pixels
        self.image_shapes.add(pixels.shape[1:])
        if self.required_shape is not None and pixels.shape[1:] != self.required_shape:
            raise ValueError(f"images must be {self.required_shape}, got {pixels.shape[1:]}")
        flat = pixels.reshape(pixels.shape[0], -1)
        out = (
            np.stack([flat.mean(axis=1), flat.max(axis=1)], axis=1)
            if flat.size
            else (np.zeros((pixels.shape[0], 2)))
        )
        if len(out) > 1:  # a relative change of ``batchy`` in a batch of two or more
            out = out * (1 + self.batchy)
        return out

    def encode_text(self, text: Any) -> Any:
        texts = [text] if isinstance(text, str) else list(text)
        return np.array([[float(len(t)), 1.0] for t in texts]).reshape(len(texts), 2)


class Scorer:
    """Negative squared distance to three centroids; ``batchy`` as in :class:`Encoder`."""

    __mmref_deterministic__ = False
    classes_ = np.arange(3)

    def __init__(self, batchy: float = 0.0, width: int | None = 4) -> None:
        self.batchy = batchy
        if width is not None:
            self.n_features_in_ = width
        self.input_dtypes: set[str] = set()
        self.widths: set[int] = set()
        self.calls = 0

    def predict(self, X: Any) -> Any:
        self.calls += 1
        X = np.asarray(X)
        self.input_dtypes.add(str(X.dtype))
        self.widths.add(X.shape[1])
        X = X.astype(np.float64)
        centroids = np.eye(3, X.shape[1])
        scores = -((X[:, None, :] - centroids[None]) ** 2).sum(axis=2)
        if len(scores) > 1:
            scores = scores * (1 + self.batchy)
        return scores


def statuses(results: list[Any]) -> dict[str, str]:
    return {r.name: r.status for r in results}


# --- check_embedding_model -----------------------------------------------------------------


def test_check_embedding_model_takes_known_failures_and_rtol() -> None:
    with pytest.raises(ConformanceError, match="property 'row_independence' failed"):
        check_embedding_model(Encoder(batchy=1e-6), max_examples=FEW)
    results = check_embedding_model(
        Encoder(batchy=1e-6), max_examples=FEW, known_failures={"row_independence": "known"}
    )
    assert statuses(results)["row_independence"] == "XFAIL"
    results = check_embedding_model(Encoder(batchy=1e-6), max_examples=FEW, rtol=1e-2)
    assert statuses(results)["row_independence"] == "PASS"


def test_check_embedding_model_takes_spec_into_the_snippet() -> None:
    with pytest.raises(ConformanceError) as error:
        check_embedding_model(Encoder(batchy=1.0), max_examples=FEW, spec="somewhere:encoder")
    assert "resolve_target('somewhere:encoder', 'embedding-model')" in str(error.value)


@pytest.mark.parametrize("option", ["image_dtypes", "dtypes"])
def test_check_embedding_model_draws_pixels_of_the_dtypes_given(option: str) -> None:
    model = Encoder()
    check_embedding_model(model, max_examples=FEW, **{option: ["uint8", "float32"]})
    assert model.pixel_dtypes == {"uint8", "float32"}
    unlimited = Encoder()
    check_embedding_model(unlimited, max_examples=FEW)
    assert len(unlimited.pixel_dtypes) > 2


def test_dtypes_as_a_string_limit_an_embedding_models_pixels() -> None:
    model = Encoder()
    results = run_checks("embedding-model", model, max_examples=FEW, dtypes="uint8")
    assert set(statuses(results).values()) <= {"PASS", "SKIP"}
    assert model.pixel_dtypes == {"uint8"}


def test_dtypes_and_image_dtypes_together_are_refused() -> None:
    with pytest.raises(ValueError, match="dtypes or image_dtypes, not both"):
        run_checks("embedding-model", Encoder(), dtypes="uint8", image_dtypes=["uint8"])


def test_check_embedding_model_takes_max_examples() -> None:
    few, more = Encoder(), Encoder()
    check_embedding_model(few, max_examples=1)
    check_embedding_model(more, max_examples=10)
    assert few.calls < more.calls


# --- check_classification_model ------------------------------------------------------------


def test_check_classification_model_takes_known_failures_and_rtol() -> None:
    with pytest.raises(ConformanceError, match="property 'row_independence' failed"):
        check_classification_model(Scorer(batchy=1e-6), max_examples=FEW)
    results = check_classification_model(
        Scorer(batchy=1e-6), max_examples=FEW, known_failures={"row_independence": "known"}
    )
    assert statuses(results)["row_independence"] == "XFAIL"
    results = check_classification_model(Scorer(batchy=1e-6), max_examples=FEW, rtol=1e-2)
    assert statuses(results)["row_independence"] == "PASS"


def test_check_classification_model_takes_spec_into_the_snippet() -> None:
    with pytest.raises(ConformanceError) as error:
        check_classification_model(Scorer(batchy=1.0), max_examples=FEW, spec="somewhere:scorer")
    assert "resolve_target('somewhere:scorer', 'classification-model')" in str(error.value)


def test_check_classification_model_draws_inputs_of_the_dtypes_given() -> None:
    model = Scorer()
    check_classification_model(model, max_examples=FEW, dtypes="float32")
    assert model.input_dtypes == {"float32"}
    unlimited = Scorer()
    check_classification_model(unlimited, max_examples=FEW)
    assert unlimited.input_dtypes == {"float32", "float64"}


def test_check_classification_model_takes_max_examples() -> None:
    few, more = Scorer(), Scorer()
    check_classification_model(few, max_examples=1)
    check_classification_model(more, max_examples=10)
    assert few.calls < more.calls


# --- the two specification functions: dtypes ----------------------------------------------


def recording_joint_embedding(seen: set[str]) -> Callable[..., Any]:
    def joint_embedding(image: Any, text: Any, model: Any) -> Any:
        image_embedding = model.encode_image(image)
        text_embedding = model.encode_text(text)
        seen.update(str(np.asarray(e).dtype) for e in (image_embedding, text_embedding))
        return np.concatenate((image_embedding, text_embedding), axis=1)

    return joint_embedding


def recording_classification(seen: set[str]) -> Callable[..., Any]:
    def multimodal_classification(joint_embedding: Any, labels: Any, model: Any) -> Any:
        predictions = model.predict(joint_embedding)
        seen.add(str(np.asarray(predictions).dtype))
        return np.argmax(predictions, axis=1)

    return multimodal_classification


def test_check_joint_embedding_draws_outputs_of_the_dtypes_given() -> None:
    seen: set[str] = set()
    check_joint_embedding(recording_joint_embedding(seen), max_examples=FEW, dtypes="int16")
    # (A few properties use fixed float64 and int64 stubs whatever the dtypes.)
    assert "int16" in seen and not seen & {"bool", "uint8", "int8", "float16"}


def test_check_multimodal_classification_draws_scores_of_the_dtypes_given() -> None:
    seen: set[str] = set()
    check_multimodal_classification(
        recording_classification(seen), max_examples=FEW, dtypes="int16"
    )
    assert "int16" in seen and not seen & {"bool", "uint8", "int8", "float16"}


# --- check_property ------------------------------------------------------------------------


def test_check_property_takes_rtol_spec_and_max_examples() -> None:
    with pytest.raises(ConformanceError, match="resolve_target\\('somewhere:scorer'"):
        check_property(
            "classification-model",
            "row_independence",
            Scorer(batchy=1e-6),
            max_examples=FEW,
            spec="somewhere:scorer",
        )
    result = check_property(
        "classification-model", "row_independence", Scorer(batchy=1e-6), rtol=1e-2
    )
    assert result.status == "PASS"
    few, more = Scorer(), Scorer()
    check_property("classification-model", "row_independence", few, max_examples=1)
    check_property("classification-model", "row_independence", more, max_examples=10)
    assert few.calls < more.calls


def test_check_property_takes_the_input_shapes() -> None:
    model = Encoder(image_shape=(5, 3))
    result = check_property("embedding-model", "protocol_2d", model, image_shape=(5, 3))
    assert result.status == "PASS" and model.image_shapes == {(5, 3)}
    with pytest.raises(ConformanceError):
        check_property("embedding-model", "protocol_2d", Encoder(image_shape=(5, 3)))
    bare = Scorer(width=None)
    result = check_property("classification-model", "width", bare, n_features=3)
    assert result.status == "PASS" and bare.widths == {3}
    with pytest.raises(TypeError, match="Pass n_features"):
        check_property("classification-model", "width", Scorer(width=None))


@pytest.mark.parametrize("option", ["image_dtypes", "dtypes"])
def test_check_property_draws_pixels_of_the_dtypes_given(option: str) -> None:
    model = Encoder()
    check_property("embedding-model", "protocol_2d", model, **{option: ["uint8"]})
    assert model.pixel_dtypes == {"uint8"}


def test_check_property_draws_inputs_of_the_dtypes_given() -> None:
    model = Scorer()
    check_property("classification-model", "protocol_2d", model, dtypes="float32")
    assert model.input_dtypes == {"float32"}


# --- refusals -------------------------------------------------------------------------------


def test_check_dtypes_reads_a_comma_separated_string() -> None:
    assert check_dtypes("classification", " float32, float64,,float32 ") == (
        np.dtype(np.float32),
        np.dtype(np.float64),
    )


def test_check_dtypes_refuses_what_is_not_a_dtype_naming_it_and_the_presets() -> None:
    with pytest.raises(ValueError, match="'notatype', which is not a dtype") as error:
        check_dtypes("classification", "float32,notatype")
    assert "torch" in str(error.value)
    with pytest.raises(ValueError, match="dtypes for classification must be real numbers"):
        check_dtypes("classification", ["complex64"])
    with pytest.raises(ValueError, match="dtypes for classification-model must be floats"):
        check_dtypes("classification-model", "int32")
    with pytest.raises(ValueError, match="at least one dtype. Got ' , ' instead"):
        check_dtypes("classification", " , ")


def test_max_examples_up_to_max_examples_is_accepted_and_more_is_refused() -> None:
    # Validated before the target is looked at: the largest value gets as far as the target.
    with pytest.raises(TypeError, match="three positional arguments"):
        run_checks("classification", lambda a, b: None, max_examples=MAX_EXAMPLES)
    with pytest.raises(ValueError, match=f"from 1 to {MAX_EXAMPLES}"):
        run_checks("classification", lambda a, b: None, max_examples=MAX_EXAMPLES + 1)


# --- a run that timed out -------------------------------------------------------------------


def test_the_results_of_a_timed_out_run_name_their_kind(release: threading.Event) -> None:
    class HangsOnThirdCall(Scorer):
        def predict(self, X: Any) -> Any:
            if self.calls >= 2:
                release.wait()
            return super().predict(X)

    kind = "classification-model"
    results = run_checks(kind, HangsOnThirdCall(), max_examples=FEW, timeout=0.2)
    assert [r.name for r in results] == list(PROPERTIES[kind])
    assert {r.kind for r in results} == {kind}
    stuck = next(r for r in results if r.status == "FAIL")
    assert "left running in the background" in stuck.message
    assert results[-1].status == "SKIP"


def test_the_specification_functions_pass_with_every_option() -> None:
    # The options only narrow or loosen: mmref's own functions pass under all of them.
    results = check_multimodal_classification(
        mmref.multimodal_classification,
        max_examples=FEW,
        strict=True,
        dtypes="float32,float64",
        known_failures={"ties": "not a failure"},
    )
    assert statuses(results)["ties"] == "XPASS"
