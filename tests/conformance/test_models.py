"""The properties of the model kinds (mmref.conformance._models): mmref's models pass,
each broken model is caught by the intended property."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mmref.conformance import (
    PROPERTIES,
    check_classification_model,
    check_embedding_model,
    claims_determinism,
    run_checks,
)

FEW = 5  # Hypothesis examples per property in these meta-tests: explicit examples come on top


@pytest.mark.parametrize("kind", sorted(PROPERTIES))
def test_every_property_is_described_in_one_sentence(kind: str) -> None:
    # The descriptions are what `mmref conform` prints beside each verdict.
    for name, description in PROPERTIES[kind].items():
        assert isinstance(description, str), (kind, name, description)
        assert description[:1].isalnum() and description.endswith("."), (kind, name, description)


# --- embedding models --------------------------------------------------------------------


class LengthTextEncoder:
    """A small deterministic text encoder: counts of characters and of CJK characters."""

    def encode_text(self, text: Any) -> np.ndarray:
        texts = [text] if isinstance(text, str) else list(text)
        rows = [[len(t), sum(0x4E00 <= ord(c) <= 0x9FFF for c in t), 1.0] for t in texts]
        return np.array(rows, dtype=np.float64).reshape(len(texts), 3)


class MeanImageEncoder:
    """Mean and maximum pixel: deterministic and row independent."""

    def encode_image(self, image: Any) -> np.ndarray:
        pixels = np.asarray(image, dtype=np.float64)
        pixels = pixels[None] if pixels.ndim == 2 else pixels
        flat = pixels.reshape(pixels.shape[0], -1)
        return np.stack([flat.mean(axis=1), flat.max(axis=1)], axis=1)


class Composite:
    """image_encoder_ + text_encoder_, the layout of mmref.MultimodalEncoder."""

    __mmref_deterministic__ = True

    def __init__(self, image_encoder: Any = None, text_encoder: Any = None) -> None:
        self.image_encoder_ = image_encoder or MeanImageEncoder()
        self.text_encoder_ = text_encoder or LengthTextEncoder()

    def encode_image(self, image: Any) -> Any:
        return self.image_encoder_.encode_image(image)

    def encode_text(self, text: Any) -> Any:
        return self.text_encoder_.encode_text(text)


class NonDeterministic(MeanImageEncoder):
    def __init__(self) -> None:
        self.calls = 0

    def encode_image(self, image: Any) -> np.ndarray:
        self.calls += 1  # e.g. dropout left on, or an unseeded random projection
        return super().encode_image(image) + 1e-3 * self.calls


class BatchDependent(MeanImageEncoder):
    def encode_image(self, image: Any) -> np.ndarray:
        out = super().encode_image(image)
        return out - out.mean(axis=0)  # batch normalization with batch statistics


class Mutating(MeanImageEncoder):
    def encode_image(self, image: Any) -> np.ndarray:
        if isinstance(image, np.ndarray) and image.dtype.kind == "f":
            image /= 2.0
        elif isinstance(image, np.ndarray):
            image[...] = 0
        return super().encode_image(image)


class OneDimensionalSingle(MeanImageEncoder):
    def encode_image(self, image: Any) -> np.ndarray:
        out = super().encode_image(image)
        return out[0] if np.ndim(image) == 2 else out


class NaNForZeroImages(MeanImageEncoder):
    def encode_image(self, image: Any) -> np.ndarray:
        out = super().encode_image(image)
        with np.errstate(invalid="ignore", divide="ignore"):
            return out / np.abs(out).max(axis=1, keepdims=True)  # no guard for all-zero rows


class InputDtypeOut(MeanImageEncoder):
    def encode_image(self, image: Any) -> np.ndarray:
        dtype = np.asarray(image).dtype
        return super().encode_image(image).astype(dtype if dtype.kind == "f" else np.float64)


class SaltedHashText(LengthTextEncoder):
    """Uses Python's hash(), salted per process: claims determinism, but is not."""

    def encode_text(self, text: Any) -> np.ndarray:
        texts = [text] if isinstance(text, str) else list(text)
        return np.array([[hash(t) % 1000] for t in texts], dtype=np.float64)


BROKEN_MODELS = [
    (NonDeterministic, None, "deterministic"),
    (BatchDependent, None, "row_independence"),
    (Mutating, None, "no_mutation"),
    (OneDimensionalSingle, None, "protocol_2d"),
    (NaNForZeroImages, None, "finite"),
    (InputDtypeOut, None, "dtype"),
    (None, SaltedHashText, "fresh_process"),
]


@pytest.mark.parametrize(
    ("image_cls", "text_cls", "prop"),
    BROKEN_MODELS,
    ids=[(i or t).__name__ for i, t, _ in BROKEN_MODELS],  # type: ignore[union-attr]
)
def test_each_broken_embedding_model_is_caught(image_cls: Any, text_cls: Any, prop: str) -> None:
    model = Composite(image_cls and image_cls(), text_cls and text_cls())
    (result,) = run_checks("embedding-model", model, max_examples=FEW, select=[prop])
    assert result.status == "FAIL", result
    assert f"property '{prop}' failed" in result.message


def test_a_conforming_embedding_model_passes() -> None:
    results = check_embedding_model(Composite(), max_examples=FEW)
    assert {r.status for r in results} == {"PASS"}


def test_fresh_process_is_skipped_for_models_that_do_not_claim_it() -> None:
    class Unclaimed(Composite):
        __mmref_deterministic__ = False

    (result,) = run_checks(
        "embedding-model", Unclaimed(), max_examples=FEW, select=["fresh_process"]
    )
    assert result.status == "SKIP" and "__mmref_deterministic__" in result.message
    assert claims_determinism(Composite()) and not claims_determinism(Unclaimed())


def test_mmref_image_encoder_in_a_multimodal_encoder_passes() -> None:
    image = pytest.importorskip("mmref.image")
    multimodal = pytest.importorskip("mmref.multimodal")
    for params in ({"method": "gaussian", "dtype": np.float32}, {"method": "srht"}):
        encoder = image.RandomProjectionImageEncoder(n_components=8, **params)
        model = multimodal.MultimodalEncoder(encoder, LengthTextEncoder())
        results = check_embedding_model(model, max_examples=4, image_shape=(4, 4))
        assert {r.status for r in results} == {"PASS"}, params


def test_mmref_default_encoders_pass() -> None:
    pytest.importorskip("mmref.text")
    multimodal = pytest.importorskip("mmref.multimodal")
    results = check_embedding_model(
        multimodal.MultimodalEncoder(), max_examples=4, spec="mmref.multimodal:MultimodalEncoder"
    )
    assert {r.status for r in results} == {"PASS"}


# --- classification models ---------------------------------------------------------------


class Centroids:
    """Negative squared distance to three fixed centroids; claims determinism."""

    __mmref_deterministic__ = True
    n_features_in_ = 4
    classes_ = np.array(["a", "b", "c"])

    def predict(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        centroids = np.eye(3, 4)
        return -((X[:, None, :] - centroids[None]) ** 2).sum(axis=2)


class BatchSoftmax(Centroids):
    def predict(self, X: Any) -> np.ndarray:
        scores = super().predict(X)
        return np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum(axis=0)


class FlatScores(Centroids):
    def predict(self, X: Any) -> np.ndarray:
        return super().predict(X).ravel()


class WrongClasses(Centroids):
    classes_ = np.array(["a", "b"])


class LogZero(Centroids):
    def predict(self, X: Any) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(np.maximum(super().predict(X) + 1.0, 0.0))


@pytest.mark.parametrize(
    ("cls", "prop"),
    [
        (BatchSoftmax, "row_independence"),
        (FlatScores, "protocol_2d"),
        (WrongClasses, "width"),
        (LogZero, "finite"),
    ],
)
def test_each_broken_classification_model_is_caught(cls: Any, prop: str) -> None:
    (result,) = run_checks("classification-model", cls(), max_examples=FEW, select=[prop])
    assert result.status == "FAIL", result


def test_a_conforming_classification_model_passes() -> None:
    results = check_classification_model(Centroids(), max_examples=FEW)
    assert {r.status for r in results} == {"PASS"}


@pytest.mark.parametrize(
    "name", ["NearestCentroidClassifier", "RidgeClassifier", "SoftmaxClassifier"]
)
def test_mmref_classifiers_pass(name: str) -> None:
    classifiers = pytest.importorskip("mmref.classifiers")
    # Unfitted: the kit fits a copy on its deterministic three-class data set.
    results = check_classification_model(getattr(classifiers, name)(), max_examples=FEW)
    assert {r.status for r in results} == {"PASS"}


def test_classification_model_needs_a_width() -> None:
    class NoWidth:
        def predict(self, X: Any) -> Any:
            return np.zeros((len(X), 2))

    with pytest.raises(TypeError, match="Pass n_features"):
        check_classification_model(NoWidth())
    results = check_classification_model(NoWidth(), n_features=3, max_examples=FEW)
    assert {r.status for r in results} == {"PASS", "SKIP"}
