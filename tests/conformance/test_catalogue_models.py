"""A catalogue of wrong models, each wrong in exactly one way, and the kit's diagnosis.

For every wrong embedding model and classification model the kit must fail exactly the
properties that name what is wrong (not merely fail), say in the message what the user
must look at, and pass the correct models they are derived from. Each model here is a
small, deterministic NumPy model; the catalogue is run once per model with a few
Hypothesis examples (the fixed examples come on top).
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
import pytest

from mmref import ConformanceError
from mmref.conformance import check_classification_model, run_checks

FEW = 3  # Hypothesis examples per property: the explicit examples always run first


def statuses(kind: str, model: Any, **options: Any) -> dict[str, str]:
    results = run_checks(kind, model, max_examples=FEW, **options)
    return {r.name: r.status for r in results}


def diagnosis(kind: str, model: Any, **options: Any) -> tuple[set[str], dict[str, str]]:
    """The failing properties and each one's message."""
    results = run_checks(kind, model, max_examples=FEW, **options)
    failed = {r.name: r.message for r in results if r.status == "FAIL"}
    return set(failed), failed


# --- embedding models --------------------------------------------------------------------


class Embedder:
    """Correct: float64 rows of (mean, max, 1) per image and (length, CJK count) per text.

    Accepts a single image (2-D) or a batch (3-D); a single str or a list of str.
    """

    image_shape = (3, 4)

    def image_rows(self, image: Any) -> np.ndarray:
        pixels = np.asarray(image, dtype=np.float64)
        pixels = pixels[None] if pixels.ndim == 2 else pixels
        flat = pixels.reshape(pixels.shape[0], -1)
        return np.stack([flat.mean(axis=1), flat.max(axis=1), np.ones(len(flat))], axis=1)

    def text_rows(self, text: Any) -> np.ndarray:
        texts = [text] if isinstance(text, str) else list(text)
        rows = [[len(t), sum(0x4E00 <= ord(c) <= 0x9FFF for c in t)] for t in texts]
        return np.array(rows, dtype=np.float64).reshape(len(texts), 2)

    def encode_image(self, image: Any) -> np.ndarray:
        return self.image_rows(image)

    def encode_text(self, text: Any) -> np.ndarray:
        return self.text_rows(text)


def batch_size(value: Any) -> int:
    if isinstance(value, str):
        return 1
    return len(value) if not (isinstance(value, np.ndarray) and value.ndim == 2) else 1


class SmallBatchDependence(Embedder):
    """Adds 1e-7 to every entry of a batch of more than one image (float64 output)."""

    def encode_image(self, image: Any) -> np.ndarray:
        return self.image_rows(image) + (1e-7 if batch_size(image) > 1 else 0.0)


class TextBatchDependence(Embedder):
    """Text rows depend on the longest text of the batch (padding leaks into the result)."""

    def encode_text(self, text: Any) -> np.ndarray:
        rows = self.text_rows(text)
        return rows + rows[:, :1].max(initial=0.0) * 1e-3


class Float32Rounding(Embedder):
    """float32 output whose batch and single rows differ in the last bits: allowed."""

    def encode_image(self, image: Any) -> np.ndarray:
        out = self.image_rows(image) * (1 + 1e-6 * (batch_size(image) > 1))
        return out.astype(np.float32)

    def encode_text(self, text: Any) -> np.ndarray:
        return self.text_rows(text).astype(np.float32)


class Float16Rounding(Embedder):
    """float16 output, batch and single rows a few thousandths apart: allowed."""

    def encode_image(self, image: Any) -> np.ndarray:
        out = self.image_rows(image) * (1 + 2e-3 * (batch_size(image) > 1))
        return out.astype(np.float16)

    def encode_text(self, text: Any) -> np.ndarray:
        return self.text_rows(text).astype(np.float16)


class IntegerOffByOne(Embedder):
    """Integer output: a batch of more than one gives every entry one more (never allowed)."""

    def encode_image(self, image: Any) -> np.ndarray:
        rows = np.rint(self.image_rows(image)).astype(np.int64) + 1000
        return rows + (batch_size(image) > 1)

    def encode_text(self, text: Any) -> np.ndarray:
        return self.text_rows(text).astype(np.int64)


class LargeValuesTinyDependence(Embedder):
    """Rows of magnitude 1e4 with a batch dependence of 1e-6: relative 1e-10, allowed."""

    def encode_image(self, image: Any) -> np.ndarray:
        return self.image_rows(image) * 0 + 1e4 + (1e-6 if batch_size(image) > 1 else 0.0)


class DtypeFollowsPixels(Embedder):
    """Returns float32 for float32 images, float64 otherwise."""

    def encode_image(self, image: Any) -> np.ndarray:
        dtype = np.asarray(image).dtype
        return self.image_rows(image).astype(np.float32 if dtype == np.float32 else np.float64)


class DeclaredDtypeIgnored(Embedder):
    """Declares dtype float32 and returns float64."""

    dtype = np.float32


class DeclaredDtypeKept(Embedder):
    """Declares dtype float32 and returns float32: correct."""

    dtype = "float32"

    def encode_image(self, image: Any) -> np.ndarray:
        return self.image_rows(image).astype(np.float32)

    def encode_text(self, text: Any) -> np.ndarray:
        return self.text_rows(text).astype(np.float32)


class DtypeAttributeNotADtype(Embedder):
    """A ``dtype`` attribute that is no dtype at all (a config object): not a declaration."""

    dtype = object()


class TextDtypeByBatch(Embedder):
    """encode_text returns float32 for an even number of texts."""

    def encode_text(self, text: Any) -> np.ndarray:
        rows = self.text_rows(text)
        return rows.astype(np.float32) if len(rows) % 2 == 0 else rows


class ExtraColumnForUint8(Embedder):
    """One more column for uint8 images than for any other pixel dtype."""

    def encode_image(self, image: Any) -> np.ndarray:
        rows = self.image_rows(image)
        if np.asarray(image).dtype == np.uint8:
            rows = np.concatenate([rows, rows[:, :1]], axis=1)
        return rows


class VocabularyOfTheBatch(Embedder):
    """Text width = number of distinct words in the batch (a vocabulary fitted per call)."""

    def encode_text(self, text: Any) -> np.ndarray:
        texts = [text] if isinstance(text, str) else list(text)
        vocabulary = sorted({w for t in texts for w in t.split()}) or [""]
        return np.array(
            [[t.split().count(w) for w in vocabulary] for t in texts], dtype=np.float64
        ).reshape(len(texts), len(vocabulary))


class FlatSingleText(Embedder):
    """A single str gives a 1-D vector instead of a (1, d) row."""

    def encode_text(self, text: Any) -> np.ndarray:
        rows = self.text_rows(text)
        return rows[0] if isinstance(text, str) else rows


class ExtraRowForSingleImage(Embedder):
    """A single image gives two rows (the image and its mirror)."""

    def encode_image(self, image: Any) -> np.ndarray:
        rows = self.image_rows(image)
        return np.concatenate([rows, rows]) if np.ndim(image) == 2 else rows


class NaNForEmptyText(Embedder):
    """Divides by the text length: NaN for the empty text."""

    def encode_text(self, text: Any) -> np.ndarray:
        rows = self.text_rows(text)
        with np.errstate(invalid="ignore", divide="ignore"):
            return rows / rows[:, :1]


class InfForZeroImage(Embedder):
    """Divides by the maximum pixel: inf for an all-zero image."""

    def encode_image(self, image: Any) -> np.ndarray:
        rows = self.image_rows(image)
        with np.errstate(invalid="ignore", divide="ignore"):
            return 1.0 / rows[:, 1:2] + rows * 0


class CountsCalls(Embedder):
    """Every call differs from the last by 1e-3 (dropout left on, an unseeded projection)."""

    def __init__(self) -> None:
        self.calls = 0

    def encode_text(self, text: Any) -> np.ndarray:
        self.calls += 1
        return self.text_rows(text) + 1e-3 * self.calls


class SignOfZeroFlips(Embedder):
    """Alternates between 0.0 and -0.0 in a zero column: equal values, different bytes."""

    def __init__(self) -> None:
        self.calls = 0

    def encode_image(self, image: Any) -> np.ndarray:
        self.calls += 1
        rows = self.image_rows(image)
        rows[:, 2] = -0.0 if self.calls % 2 else 0.0
        return rows


class FlipsImagesInPlace(Embedder):
    """Mirrors each image in place (its mean and maximum, all it encodes, stay the same)."""

    def encode_image(self, image: Any) -> np.ndarray:
        out = self.image_rows(image)
        if isinstance(image, np.ndarray):
            image[...] = image[..., ::-1].copy()
        return out


class ReversesTextsInPlace(Embedder):
    """Reverses each text of the list it is given, in place (lengths stay the same)."""

    def encode_text(self, text: Any) -> np.ndarray:
        if isinstance(text, list):
            text[:] = [t[::-1] for t in text]
        return self.text_rows(text)


class InfBesideBatchDependence(Embedder):
    """An inf column beside a column that shifts by 1e-3 in a batch of several images."""

    def encode_image(self, image: Any) -> np.ndarray:
        rows = self.image_rows(image)
        rows[:, 2] = np.inf
        rows[:, 0] += 1e-3 if batch_size(image) > 1 else 0.0
        return rows


class InfOnlyInABatch(Embedder):
    """A batch of several images gives inf where each image alone gives its mean."""

    def encode_image(self, image: Any) -> np.ndarray:
        rows = self.image_rows(image)
        if batch_size(image) > 1:
            rows[:, 0] = np.inf
        return rows


class NaNOnlyInABatch(Embedder):
    """A batch of several texts gives NaN where each text alone gives its CJK count."""

    def encode_text(self, text: Any) -> np.ndarray:
        rows = self.text_rows(text)
        if batch_size(text) > 1:
            rows[:, 1] = np.nan
        return rows


EMBEDDING_CATALOGUE: list[tuple[type[Embedder], set[str], str]] = [
    # (model, the properties that must fail, what the failures' messages must name)
    (SmallBatchDependence, {"row_independence"}, "rows must not depend on the rest"),
    (TextBatchDependence, {"row_independence"}, "model.encode_text(texts[0:1])"),
    (IntegerOffByOne, {"row_independence"}, "tolerance 0"),
    (DtypeFollowsPixels, {"dtype"}, "float32"),
    (DeclaredDtypeIgnored, {"dtype"}, "model.dtype"),
    (TextDtypeByBatch, {"dtype"}, "model.encode_text(texts)"),
    (
        ExtraColumnForUint8,
        {"width"},
        "4 for the first example checked:\n    import numpy as np\n    model = ",
    ),
    (VocabularyOfTheBatch, {"width", "row_independence"}, "model.encode_text(texts)"),
    (FlatSingleText, {"protocol_2d"}, "model.encode_text(texts[0]) returned shape"),
    (ExtraRowForSingleImage, {"protocol_2d"}, "model.encode_image(images[0])"),
    # A NaN or inf that a row also has alone is 'finite''s to report, not a batch dependence.
    (NaNForEmptyText, {"finite"}, f"model.encode_text(texts) returned {np.float64(np.nan)!r}"),
    (InfForZeroImage, {"finite"}, f"model.encode_image(images) returned {np.float64(np.inf)!r}"),
    # An inf in the row must not widen the tolerance of its finite entries to inf.
    (InfBesideBatchDependence, {"finite", "row_independence"}, "by up to 0.001"),
    (NaNOnlyInABatch, {"finite", "row_independence"}, "alone:     [[0.0, 0.0]]"),
    (InfOnlyInABatch, {"finite", "row_independence"}, "batch row: [[inf, "),
    (CountsCalls, {"deterministic", "row_independence"}, "model.encode_text(texts)"),
    (SignOfZeroFlips, {"deterministic"}, "model.encode_image(images)"),
    (FlipsImagesInPlace, {"no_mutation"}, "modified its argument images"),
    (ReversesTextsInPlace, {"no_mutation"}, "modified its argument texts"),
]


@pytest.mark.parametrize(
    ("model", "wrong", "named"),
    EMBEDDING_CATALOGUE,
    ids=[m.__name__ for m, _, _ in EMBEDDING_CATALOGUE],
)
def test_each_wrong_embedding_model_gets_its_diagnosis(
    model: type[Embedder], wrong: set[str], named: str
) -> None:
    failed, messages = diagnosis("embedding-model", model())
    assert failed == wrong, messages
    first = sorted(failed)[0]
    assert f"property '{first}' failed" in messages[first]
    assert named in "\n".join(messages.values()), messages


@pytest.mark.parametrize(
    "model",
    [
        Embedder,
        Float32Rounding,
        Float16Rounding,
        LargeValuesTinyDependence,
        DeclaredDtypeKept,
        DtypeAttributeNotADtype,
    ],
)
def test_correct_embedding_models_pass(model: type[Embedder]) -> None:
    assert set(statuses("embedding-model", model()).values()) <= {"PASS", "SKIP"}


# --- classification models ---------------------------------------------------------------


class Scorer:
    """Correct: minus the squared distance of each row to three fixed centroids."""

    n_features_in_ = 4
    classes_ = np.array(["cat", "dog", "fish"])

    def scores(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        return -((X[:, None, :] - np.eye(3, 4)[None]) ** 2).sum(axis=2)

    def predict(self, X: Any) -> np.ndarray:
        return self.scores(X)


class SoftmaxOverTheBatch(Scorer):
    """Normalizes the scores over the batch (axis 0) instead of over the classes."""

    def predict(self, X: Any) -> np.ndarray:
        scores = self.scores(X)
        e = np.exp(scores - scores.max(axis=0))
        return e / e.sum(axis=0)


class ReturnsLabels(Scorer):
    """predict returns the predicted labels, 1-D, not the (n, n_classes) scores."""

    def predict(self, X: Any) -> np.ndarray:
        return np.argmax(self.scores(X), axis=1)


class ScalarScore(Scorer):
    """predict returns one number for the whole batch."""

    def predict(self, X: Any) -> Any:
        return np.float64(self.scores(X).sum())


class ComplexScores(Scorer):
    """Scores as complex numbers (a leftover FFT): not real scores."""

    def predict(self, X: Any) -> np.ndarray:
        return self.scores(X).astype(np.complex128)


class TwoClassesScoredOfThree(Scorer):
    """classes_ has two labels, predict scores three columns."""

    classes_ = np.array(["cat", "dog"])


class ColumnsOfClassesSeen(Scorer):
    """Drops the score columns of classes no row of the batch is closest to."""

    def predict(self, X: Any) -> np.ndarray:
        scores = self.scores(X)
        seen = np.unique(np.argmax(scores, axis=1)) if len(scores) else np.arange(3)
        return scores[:, seen]


class LogOfZero(Scorer):
    """log of a score that is 0 for a row at a centroid's distance 1: -inf."""

    def predict(self, X: Any) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(np.maximum(self.scores(X) + 1.0, 0.0))


class SignsZerosInPlace(Scorer):
    """Writes -0.0 over the zeros of X, in place (equal values: the scores do not change)."""

    def predict(self, X: Any) -> np.ndarray:
        out = self.scores(X)
        if isinstance(X, np.ndarray) and X.dtype.kind == "f":
            X[X == 0] = -0.0
        return out


class TieNoise(Scorer):
    """Breaks ties with noise that changes from call to call."""

    def __init__(self) -> None:
        self.calls = 0

    def predict(self, X: Any) -> np.ndarray:
        self.calls += 1
        return self.scores(X) + 1e-9 * self.calls


class WrongWidth(Scorer):
    """Declares 5 input features but accepts only 4."""

    n_features_in_ = 5

    def predict(self, X: Any) -> np.ndarray:
        X = np.asarray(X)
        if X.shape[1] != 4:
            raise ValueError(f"X has {X.shape[1]} features, but the model expects 4")
        return self.scores(X)


CLASSIFICATION_CATALOGUE: list[tuple[type[Scorer], set[str], str]] = [
    (SoftmaxOverTheBatch, {"row_independence"}, "rows must not depend on the rest"),
    (ReturnsLabels, {"protocol_2d", "width"}, "returned 4 columns but the model has 3 classes_"),
    (ScalarScore, {"protocol_2d", "width"}, "returned None columns but the model has 3 classes_"),
    (ComplexScores, {"protocol_2d"}, "expected real numbers"),
    (TwoClassesScoredOfThree, {"width"}, "3 columns but the model has 2 classes_"),
    (ColumnsOfClassesSeen, {"width", "row_independence"}, "columns"),
    (LogOfZero, {"finite"}, f"returned {np.float64(-np.inf)!r}"),
    (SignsZerosInPlace, {"no_mutation"}, "modified its argument X"),
    (TieNoise, {"deterministic", "row_independence"}, "differs from the first call"),
    (
        WrongWidth,
        {"protocol_2d", "width", "finite", "row_independence", "deterministic", "no_mutation"},
        "the model expects 4",
    ),
]


@pytest.mark.parametrize(
    ("model", "wrong", "named"),
    CLASSIFICATION_CATALOGUE,
    ids=[m.__name__ for m, _, _ in CLASSIFICATION_CATALOGUE],
)
def test_each_wrong_classification_model_gets_its_diagnosis(
    model: type[Scorer], wrong: set[str], named: str
) -> None:
    failed, messages = diagnosis("classification-model", model())
    assert failed == wrong, messages
    assert named in "\n".join(messages.values()), messages


def test_a_correct_classification_model_passes() -> None:
    assert set(statuses("classification-model", Scorer()).values()) == {"PASS", "SKIP"}


# --- what the kit feeds a model, and the options that change it --------------------------


class OnlyShape(Embedder):
    """Refuses any image that is not of the one shape it was built for (2, 5)."""

    image_shape: Any = None
    accepted = (2, 5)

    def image_rows(self, image: Any) -> np.ndarray:
        pixels = np.asarray(image)
        if pixels.shape[-2:] != self.accepted or pixels.ndim not in (2, 3):
            raise ValueError(f"images must be {self.accepted}, got {pixels.shape}")
        return super().image_rows(image)


class Inner:
    """An image encoder as a composite model holds it."""

    def __init__(self, **attributes: Any) -> None:
        self.__dict__.update(attributes)


def only_shape(**attributes: Any) -> OnlyShape:
    model = OnlyShape()
    model.__dict__.update(attributes)
    return model


@pytest.mark.parametrize(
    "model",
    [
        only_shape(image_shape=(2, 5)),
        only_shape(image_encoder_=Inner(image_shape=(2, 5))),
        only_shape(image_encoder=Inner(image_shape=(2, 5))),  # a composite not fitted yet
        only_shape(image_encoder_=Inner(n_features_in_=10), accepted=(1, 10)),
        only_shape(n_features_in_=10, accepted=(1, 10)),
    ],
    ids=["image_shape", "image_encoder_", "image_encoder", "inner-width", "width"],
)
def test_the_image_shape_is_taken_from_the_model(model: OnlyShape) -> None:
    assert set(statuses("embedding-model", model).values()) == {"PASS", "SKIP"}


def test_the_image_shape_option_wins_over_the_model() -> None:
    model = only_shape(image_shape=(7, 7), image_encoder_=Inner(image_shape=(3, 3)))
    assert set(statuses("embedding-model", model).values()) != {"PASS", "SKIP"}
    passing = statuses("embedding-model", model, image_shape=(2, 5))
    assert set(passing.values()) == {"PASS", "SKIP"}


def test_a_fitted_encoder_shape_wins_over_the_unfitted_one() -> None:
    model = only_shape(
        image_encoder_=Inner(image_shape=(2, 5)), image_encoder=Inner(image_shape=(9, 9))
    )
    assert set(statuses("embedding-model", model).values()) == {"PASS", "SKIP"}


class RefusesUint8(Embedder):
    """Takes float pixels only."""

    def image_rows(self, image: Any) -> np.ndarray:
        if np.asarray(image).dtype.kind != "f":
            raise TypeError("pixels must be floats")
        return super().image_rows(image)


def test_image_dtypes_limits_the_pixel_dtypes_tried() -> None:
    failed, messages = diagnosis("embedding-model", RefusesUint8())
    assert "protocol_2d" in failed and "pixels must be floats" in messages["protocol_2d"]
    passing = statuses("embedding-model", RefusesUint8(), image_dtypes=[np.float32])
    assert set(passing.values()) == {"PASS", "SKIP"}


def test_rtol_sets_the_row_independence_tolerance() -> None:
    (result,) = run_checks(
        "embedding-model", SmallBatchDependence(), select=["row_independence"], rtol=1e-6
    )
    assert result.status == "PASS"
    (result,) = run_checks(
        "embedding-model", SmallBatchDependence(), select=["row_independence"], rtol=1e-8
    )
    assert result.status == "FAIL" and "tolerance 1e-08" in result.message
    (result,) = run_checks(
        "classification-model", SoftmaxOverTheBatch(), select=["row_independence"], rtol=10.0
    )
    assert result.status == "PASS"


class CosineScores(Scorer):
    """Cosine similarity to the centroids: 0/0 for an all-zero row."""

    def predict(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (X @ np.eye(4, 3)) / np.linalg.norm(X, axis=1, keepdims=True)


class RefusesFloat32(Scorer):
    def predict(self, X: Any) -> np.ndarray:
        if np.asarray(X).dtype == np.float32:
            raise TypeError("X must be float64")
        return self.scores(X)


def test_an_all_zero_row_and_a_float32_matrix_are_always_tried() -> None:
    (result,) = run_checks(
        "classification-model", CosineScores(), max_examples=1, select=["finite"]
    )
    assert result.status == "FAIL" and "nan" in result.message
    (result,) = run_checks(
        "classification-model", RefusesFloat32(), max_examples=1, select=["protocol_2d"]
    )
    assert result.status == "FAIL" and "X must be float64" in result.message


def test_check_classification_model_takes_n_features() -> None:
    class NoWidth(Scorer):
        n_features_in_ = None  # type: ignore[assignment]

    with pytest.raises(TypeError, match="n_features"):
        check_classification_model(NoWidth(), max_examples=FEW)
    results = check_classification_model(NoWidth(), n_features=4, max_examples=FEW)
    assert {r.status for r in results} == {"PASS", "SKIP"}
    with pytest.raises(ConformanceError, match="the model expects 4"):
        check_classification_model(WrongWidth(), max_examples=FEW)
    results = check_classification_model(WrongWidth(), n_features=4, max_examples=FEW)
    assert {r.status for r in results} == {"PASS", "SKIP"}


# --- the snippet in a report reproduces the failure ----------------------------------------


def snippet_of(message: str) -> str:
    head = "Minimal counterexample, as a snippet that reproduces it:\n"
    assert head in message, message
    return textwrap.dedent(message.split(head, 1)[1])


def test_an_embedding_failure_snippet_runs_and_shows_the_batch_dependence() -> None:
    spec = f"{__name__}:SmallBatchDependence"
    (result,) = run_checks(
        "embedding-model",
        SmallBatchDependence(),
        max_examples=FEW,
        select=["row_independence"],
        spec=spec,
    )
    assert result.status == "FAIL"
    namespace: dict[str, Any] = {}
    exec(snippet_of(result.message), namespace)  # the kit's own report
    model, images = namespace["model"], namespace["images"]
    assert isinstance(model, SmallBatchDependence) and len(images) > 1
    # The snippet repeats the calls the property made, the failing one (the batch) last.
    batch = namespace["out"]
    assert batch.shape[0] == len(images)
    assert not np.array_equal(batch[:1], model.encode_image(images[0:1]))


def test_a_classification_failure_snippet_runs_and_shows_the_batch_dependence() -> None:
    spec = f"{__name__}:SoftmaxOverTheBatch"
    (result,) = run_checks(
        "classification-model",
        SoftmaxOverTheBatch(),
        max_examples=FEW,
        select=["row_independence"],
        spec=spec,
    )
    assert result.status == "FAIL"
    namespace: dict[str, Any] = {}
    exec(snippet_of(result.message), namespace)  # the kit's own report
    # The snippet repeats the calls the property made, the failing one (the batch) last.
    model, X, scores = namespace["model"], namespace["X"], namespace["out"]
    assert isinstance(model, SoftmaxOverTheBatch) and X.shape[1] == 4
    assert scores.shape[0] == len(X)
    assert not np.allclose(scores[:1], model.predict(X[0:1]))


# --- the tolerance of 'row_independence': just past it fails, whatever the dtype ----------


class Float32Dependence(Embedder):
    """float32 output, batch rows 1e-3 (relative) off the single rows: past float32's 1e-4."""

    def encode_image(self, image: Any) -> np.ndarray:
        out = self.image_rows(image) * (1 + 1e-3 * (batch_size(image) > 1))
        return out.astype(np.float32)


class Float16Dependence(Embedder):
    """float16 output, batch rows 5% off the single rows: past float16's 1e-2."""

    def encode_image(self, image: Any) -> np.ndarray:
        out = self.image_rows(image) * (1 + 5e-2 * (batch_size(image) > 1))
        return out.astype(np.float16)


class ComplexDependence(Embedder):
    """complex128 output (16 bytes), batch rows 1e-3 off: past the 1e-9 of a wide float."""

    def encode_image(self, image: Any) -> np.ndarray:
        out = self.image_rows(image) * (1 + 1e-3 * (batch_size(image) > 1))
        return out.astype(np.complex128)


class SmallValuesDependence(Embedder):
    """Rows of magnitude below 1 whose batch rows are 1.5e-9 off: the scale is at least 1."""

    def encode_image(self, image: Any) -> np.ndarray:
        rows = np.tanh(self.image_rows(image)) * 0.5
        return rows + (1.5e-9 if batch_size(image) > 1 else 0.0)


@pytest.mark.parametrize(
    ("model", "tolerance"),
    [
        (Float32Dependence, "tolerance 0.0001"),
        (Float16Dependence, "tolerance 0.01"),
        (ComplexDependence, "tolerance 1e-09"),
        (SmallValuesDependence, "(tolerance 1e-09 * 1)"),
    ],
    ids=lambda p: p.__name__ if isinstance(p, type) else "",
)
def test_a_batch_dependence_just_past_the_dtype_tolerance_fails(
    model: type[Embedder], tolerance: str
) -> None:
    failed, messages = diagnosis("embedding-model", model())
    assert failed == {"row_independence"}, messages
    assert "rows must not depend on the rest" in messages["row_independence"]
    assert tolerance in messages["row_independence"]


class ComplexEmbedder(Embedder):
    """Correct: complex128 rows with an imaginary part (a model's spectral features)."""

    def encode_image(self, image: Any) -> np.ndarray:
        rows = self.image_rows(image)
        return rows + 1j * rows[:, ::-1]


class ImageOnly(Embedder):
    """Correct: encodes texts to no columns at all (an image-only model)."""

    def encode_text(self, text: Any) -> np.ndarray:
        return self.text_rows(text)[:, :0]


class IntegerEmbedder(Embedder):
    """Correct: int64 rows, identical for a batch and for its rows alone (tolerance 0)."""

    def encode_image(self, image: Any) -> np.ndarray:
        return np.rint(self.image_rows(image)).astype(np.int64)


@pytest.mark.parametrize("model", [ComplexEmbedder, ImageOnly, IntegerEmbedder])
def test_complex_and_zero_column_outputs_pass(model: type[Embedder]) -> None:
    results = run_checks("embedding-model", model(), max_examples=FEW)
    assert {r.status for r in results} <= {"PASS", "SKIP"}, [r.message for r in results]


class ExtraColumnForOneText(Embedder):
    """A list of one text gives one more column than the same text in a longer list."""

    def encode_text(self, text: Any) -> np.ndarray:
        rows = self.text_rows(text)
        if isinstance(text, list) and len(text) == 1:
            return np.concatenate([rows, rows[:, :1]], axis=1)
        return rows


def test_a_row_alone_of_another_shape_names_both_shapes() -> None:
    (result,) = run_checks(
        "embedding-model",
        ExtraColumnForOneText(),
        max_examples=FEW,
        select=["row_independence"],
    )
    assert result.status == "FAIL"
    assert (
        "model.encode_text(texts[0:1]) for row 0 alone returned shape (1, 3); expected (1, 2)."
        in result.message
    ), result.message


# --- a call that raises or returns garbage is named in the report -------------------------


class RaisingTextEncoder(Embedder):
    def encode_text(self, text: Any) -> np.ndarray:
        raise RuntimeError("no tokenizer loaded")


class RaggedScores(Scorer):
    """predict returns a ragged list np.asarray cannot convert."""

    def predict(self, X: Any) -> Any:
        return [[1.0, 2.0], [3.0]]


def test_the_failing_call_is_named() -> None:
    (result,) = run_checks(
        "embedding-model", RaisingTextEncoder(), max_examples=FEW, select=["finite"]
    )
    assert result.status == "FAIL"
    assert "model.encode_text(texts) raised RuntimeError" in result.message, result.message
    assert "no tokenizer loaded" in result.message
    (result,) = run_checks(
        "classification-model", RaggedScores(), max_examples=FEW, select=["finite"]
    )
    assert result.status == "FAIL"
    assert "model.predict(X) returned list, which np.asarray cannot convert" in result.message


# --- the fixed examples are always tried, in the dtypes asked for --------------------------


def test_an_all_zero_image_is_tried_in_an_integer_pixel_dtype() -> None:
    (result,) = run_checks(
        "embedding-model",
        InfForZeroImage(),
        max_examples=1,
        select=["finite"],
        image_dtypes=[np.uint8],
    )
    assert result.status == "FAIL" and "inf" in result.message, result.message


def test_a_classification_model_is_given_only_the_dtypes_asked_for() -> None:
    results = run_checks(
        "classification-model", RefusesFloat32(), max_examples=FEW, dtypes="float64"
    )
    assert {r.status for r in results} == {"PASS", "SKIP"}, [r.message for r in results]


class FewerColumnsForFloat32(Scorer):
    """No classes_; scores two of the three classes for a float32 X."""

    classes_ = None  # type: ignore[assignment]

    def predict(self, X: Any) -> np.ndarray:
        scores = self.scores(X)
        return scores[:, :2] if np.asarray(X).dtype == np.float32 else scores


def test_the_first_example_in_a_width_report_runs_and_gives_the_first_width() -> None:
    (result,) = run_checks(
        "embedding-model",
        ExtraColumnForUint8(),
        max_examples=FEW,
        select=["width"],
        spec=f"{__name__}:ExtraColumnForUint8",
    )
    assert result.status == "FAIL"
    head = "for the first example checked:\n"
    first = textwrap.dedent(
        result.message.split(head, 1)[1].split("\nMinimal counterexample", 1)[0]
    )
    namespace: dict[str, Any] = {}
    exec(first, namespace)  # the kit's own report
    assert namespace["image_embedding"].shape[1] == 4
    assert namespace["text_embedding"].shape[0] == len(namespace["texts"])
    (result,) = run_checks(
        "classification-model",
        FewerColumnsForFloat32(),
        max_examples=FEW,
        select=["width"],
        spec=f"{__name__}:FewerColumnsForFloat32",
    )
    assert result.status == "FAIL"
    first = textwrap.dedent(
        result.message.split(head, 1)[1].split("\nMinimal counterexample", 1)[0]
    )
    namespace = {}
    exec(first, namespace)
    assert namespace["scores"].shape == (len(namespace["X"]), 3)


def test_a_failure_snippet_makes_only_the_calls_the_property_made() -> None:
    spec = f"{__name__}:SmallBatchDependence"
    (result,) = run_checks(
        "embedding-model",
        SmallBatchDependence(),
        max_examples=FEW,
        select=["row_independence"],
        spec=spec,
    )
    namespace: dict[str, Any] = {}
    exec(snippet_of(result.message), namespace)
    assert "image_embedding" not in namespace and "text_embedding" not in namespace
    assert len(namespace["texts"]) == len(namespace["images"])


def test_a_nondeterministic_call_is_named() -> None:
    (result,) = run_checks(
        "embedding-model", CountsCalls(), max_examples=FEW, select=["deterministic"]
    )
    assert result.status == "FAIL"
    assert "model.encode_text(texts) differs from the first call" in result.message, result.message
