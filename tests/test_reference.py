"""Properties of joint_embedding and multimodal_classification.

Every property is checked against the literal source definitions (``_source_*``
below): the reference must agree bit for bit wherever the source's inputs are
valid, and raise a clear error where they are not.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import mmref


def _source_joint_embedding(image: Any, text: Any, model: Any) -> Any:
    image_embedding = model.encode_image(image)
    text_embedding = model.encode_text(text)
    return np.concatenate((image_embedding, text_embedding), axis=1)


def _source_multimodal_classification(joint_embedding: Any, labels: Any, model: Any) -> Any:
    predictions = model.predict(joint_embedding)
    return np.argmax(predictions, axis=1)


class StubEmbedding:
    """Returns fixed outputs, whatever the input."""

    def __init__(self, image_out: Any, text_out: Any) -> None:
        self.image_out = image_out
        self.text_out = text_out
        self.calls: list[str] = []

    def encode_image(self, image: Any) -> Any:
        self.calls.append("image")
        return self.image_out

    def encode_text(self, text: Any) -> Any:
        self.calls.append("text")
        return self.text_out


class StubClassifier:
    def __init__(self, scores: Any) -> None:
        self.scores = scores

    def predict(self, X: Any) -> Any:
        return self.scores


class ArrayWrapper:
    """Stands in for a CPU tensor: converts only through __array__."""

    def __init__(self, array: np.ndarray) -> None:
        self._array = array

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self._array if dtype is None else self._array.astype(dtype)


NUMERIC_DTYPES = st.sampled_from(
    [
        np.bool_,
        np.int8,
        np.uint8,
        np.int32,
        np.int64,
        np.uint64,
        np.float16,
        np.float32,
        np.float64,
        np.complex64,
    ]
)


@st.composite
def paired_embeddings(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(0, 6))
    d_image = draw(st.integers(0, 5))
    d_text = draw(st.integers(0, 5))
    image = draw(hnp.arrays(draw(NUMERIC_DTYPES), (n, d_image)))
    text = draw(hnp.arrays(draw(NUMERIC_DTYPES), (n, d_text)))
    return image, text


@st.composite
def score_matrices(draw: st.DrawFn, min_rows: int = 0) -> np.ndarray:
    n = draw(st.integers(min_rows, 8))
    k = draw(st.integers(1, 6))
    dtype = draw(st.sampled_from([np.float64, np.float32, np.float16, np.int64, np.int8]))
    if np.issubdtype(dtype, np.floating):
        # A small pool of values makes ties common; +-0.0 and +-inf are valid scores.
        info = np.finfo(dtype)
        pool = st.sampled_from(
            [0.0, -0.0, 1.0, -1.0, 2.5, np.inf, -np.inf, float(info.max), -float(info.tiny)]
        )
        elements = st.one_of(pool, st.floats(allow_nan=False, width=np.finfo(dtype).bits))
    else:
        elements = st.integers(-3, 3)
    return draw(hnp.arrays(dtype, (n, k), elements=elements))


def _same(a: np.ndarray, b: np.ndarray) -> None:
    """Bit-for-bit equality: same dtype, shape and bytes."""
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    assert a.shape == b.shape, (a.shape, b.shape)
    assert a.tobytes() == b.tobytes()


# --- joint_embedding -------------------------------------------------------------------


@given(paired_embeddings())
def test_joint_embedding_equals_source_bit_for_bit(pair: tuple[np.ndarray, np.ndarray]) -> None:
    image, text = pair
    model = StubEmbedding(image, text)
    _same(mmref.joint_embedding(None, None, model), _source_joint_embedding(None, None, model))


@given(paired_embeddings())
def test_joint_embedding_concatenates_image_then_text_along_columns(
    pair: tuple[np.ndarray, np.ndarray],
) -> None:
    image, text = pair
    joint = mmref.joint_embedding(None, None, StubEmbedding(image, text))
    n, d_image = image.shape
    assert joint.shape == (n, d_image + text.shape[1])
    np.testing.assert_array_equal(joint[:, :d_image], image.astype(joint.dtype))
    np.testing.assert_array_equal(joint[:, d_image:], text.astype(joint.dtype))
    assert joint.dtype == np.result_type(image, text)


@given(st.integers(1, 4), st.integers(1, 4))
def test_joint_embedding_single_sample_is_one_row(d_image: int, d_text: int) -> None:
    image = np.arange(d_image, dtype=np.float32)[None, :]
    text = np.arange(d_text, dtype=np.float64)[None, :] + 100
    joint = mmref.joint_embedding(None, None, StubEmbedding(image, text))
    assert joint.shape == (1, d_image + d_text)
    assert joint.dtype == np.float64


def test_joint_embedding_calls_image_then_text_once() -> None:
    model = StubEmbedding(np.zeros((2, 1)), np.zeros((2, 1)))
    mmref.joint_embedding("img", "txt", model)
    assert model.calls == ["image", "text"]


@pytest.mark.parametrize("wrap", [lambda a: a.tolist(), ArrayWrapper], ids=["list", "__array__"])
def test_joint_embedding_converts_array_likes_as_the_source_does(wrap: Any) -> None:
    image = np.array([[1.5, 2.0], [3.0, 4.0]])
    text = np.array([[7, 8, 9], [10, 11, 12]])
    model = StubEmbedding(wrap(image), wrap(text))
    _same(mmref.joint_embedding(None, None, model), _source_joint_embedding(None, None, model))


def test_joint_embedding_empty_batch() -> None:
    joint = mmref.joint_embedding(None, None, StubEmbedding(np.zeros((0, 3)), np.zeros((0, 2))))
    assert joint.shape == (0, 5)


@pytest.mark.parametrize(
    ("image_out", "text_out", "bad", "shape"),
    [
        (np.zeros(256), np.zeros((1, 4)), "encode_image", "(256,)"),
        (np.zeros((1, 4)), np.zeros(8), "encode_text", "(8,)"),
        (np.float64(1.0), np.zeros((1, 4)), "encode_image", "()"),
        (np.zeros((1, 4)), np.zeros((1, 2, 3)), "encode_text", "(1, 2, 3)"),
    ],
)
def test_joint_embedding_rejects_non_2d_outputs(
    image_out: Any, text_out: Any, bad: str, shape: str
) -> None:
    message = f"model.{bad} returned an array of shape {shape}; expected a 2-D array"
    with pytest.raises(ValueError, match=re.escape(message)):
        mmref.joint_embedding(None, None, StubEmbedding(image_out, text_out))


@given(st.integers(0, 5), st.integers(0, 5))
def test_joint_embedding_rejects_row_count_mismatch(n_image: int, n_text: int) -> None:
    model = StubEmbedding(np.zeros((n_image, 2)), np.zeros((n_text, 3)))
    if n_image == n_text:
        assert mmref.joint_embedding(None, None, model).shape == (n_image, 5)
        return
    with pytest.raises(ValueError, match=rf"{n_image} rows.*{n_text} rows"):
        mmref.joint_embedding(None, None, model)


@pytest.mark.parametrize(
    "bad_output",
    [np.array([["a", "b"]]), np.array([[object()]], dtype=object), [[1, "x"]], [[1], [2, 3]]],
    ids=["str", "object", "mixed-list", "ragged-list"],
)
def test_joint_embedding_rejects_non_numeric_outputs(bad_output: Any) -> None:
    with pytest.raises(TypeError, match="model.encode_text returned"):
        mmref.joint_embedding(None, None, StubEmbedding(np.zeros((1, 2)), bad_output))


def test_joint_embedding_names_missing_method() -> None:
    class NoText:
        def encode_image(self, image: Any) -> Any:
            return np.zeros((1, 1))

    with pytest.raises(TypeError, match=r"encode_text\(\).*EmbeddingModel.*NoText"):
        mmref.joint_embedding(None, None, NoText())


# --- multimodal_classification ---------------------------------------------------------


@given(score_matrices())
def test_classification_equals_source_bit_for_bit(scores: np.ndarray) -> None:
    model = StubClassifier(scores)
    result = mmref.multimodal_classification(np.zeros((len(scores), 1)), None, model)
    _same(result, _source_multimodal_classification(None, None, model))
    assert result.dtype == np.intp
    assert result.shape == (scores.shape[0],)


@given(score_matrices(min_rows=1))
def test_classification_picks_a_maximum_and_the_first_of_ties(scores: np.ndarray) -> None:
    result = mmref.multimodal_classification(scores, None, StubClassifier(scores))
    for row, index in zip(scores, result, strict=True):
        best = row.max()
        assert row[index] == best
        # No earlier column holds the maximum: ties go to the lowest index.
        assert not np.any(row[:index] == best)


def test_classification_tie_rule_explicit() -> None:
    scores = np.array([[1.0, 3.0, 3.0], [0.0, 0.0, 0.0], [-0.0, 0.0, -1.0]])
    result = mmref.multimodal_classification(scores, None, StubClassifier(scores))
    np.testing.assert_array_equal(result, [1, 0, 0])


def test_classification_ignores_labels() -> None:
    scores = np.array([[0.2, 0.8], [0.9, 0.1]])
    for labels in (None, ["cat", "dog"], np.array([5, 6]), object()):
        result = mmref.multimodal_classification(scores, labels, StubClassifier(scores))
        np.testing.assert_array_equal(result, [1, 0])


def test_classification_empty_input() -> None:
    result = mmref.multimodal_classification(np.zeros((0, 4)), [], StubClassifier(np.zeros((0, 3))))
    assert result.shape == (0,)
    assert result.dtype == np.intp


def test_classification_infinities_are_valid_scores() -> None:
    scores = np.array([[-np.inf, -1.0], [np.inf, 1e308], [-np.inf, -np.inf]])
    result = mmref.multimodal_classification(scores, None, StubClassifier(scores))
    np.testing.assert_array_equal(result, [1, 0, 0])


@given(score_matrices(min_rows=1), st.data())
def test_classification_rejects_nan_naming_the_rows(
    scores: np.ndarray, data: st.DataObject
) -> None:
    scores = scores.astype(np.float64)
    rows = data.draw(st.sets(st.integers(0, len(scores) - 1), min_size=1))
    for r in rows:
        scores[r, data.draw(st.integers(0, scores.shape[1] - 1))] = np.nan
    listed = ", ".join(str(r) for r in sorted(rows)[:10])
    with pytest.raises(ValueError, match=rf"NaN in {len(rows)} row\(s\): {listed}"):
        mmref.multimodal_classification(scores, None, StubClassifier(scores))


@pytest.mark.parametrize(
    ("scores", "message"),
    [
        (np.zeros(3), r"shape \(3,\); expected a 2-D array"),
        (np.zeros((2, 2, 2)), r"shape \(2, 2, 2\); expected a 2-D array"),
        (np.zeros((2, 0)), r"shape \(2, 0\) with zero columns"),
        (np.zeros((0, 0)), r"shape \(0, 0\) with zero columns"),
    ],
)
def test_classification_rejects_bad_score_shapes(scores: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mmref.multimodal_classification(None, None, StubClassifier(scores))


@pytest.mark.parametrize(
    "scores",
    [np.array([["a", "b"]]), np.array([[1 + 2j, 0j]]), np.array([[None, 1]], dtype=object)],
    ids=["str", "complex", "object"],
)
def test_classification_rejects_non_real_scores(scores: np.ndarray) -> None:
    with pytest.raises(TypeError, match="model.predict"):
        mmref.multimodal_classification(None, None, StubClassifier(scores))


def test_classification_rejects_row_count_mismatch() -> None:
    with pytest.raises(ValueError, match=r"2 rows.*for a joint_embedding of 3 rows"):
        mmref.multimodal_classification(np.zeros((3, 4)), None, StubClassifier(np.zeros((2, 2))))


def test_classification_converts_array_likes() -> None:
    scores = np.array([[0.1, 0.7, 0.2], [0.5, 0.4, 0.1]], dtype=np.float32)
    for wrapped in (scores.tolist(), ArrayWrapper(scores)):
        model = StubClassifier(wrapped)
        _same(
            mmref.multimodal_classification(None, None, model),
            _source_multimodal_classification(None, None, model),
        )


def test_classification_names_missing_method() -> None:
    with pytest.raises(TypeError, match=r"predict\(\).*ClassificationModel"):
        mmref.multimodal_classification(np.zeros((1, 1)), None, object())


def test_help_explains_the_contract() -> None:
    doc = mmref.joint_embedding.__doc__ or ""
    assert "np.concatenate((image_embedding, text_embedding), axis=1)" in doc
    assert "(n_samples, d_image + d_text)" in doc
    doc = mmref.multimodal_classification.__doc__ or ""
    assert "not used" in doc and "lowest column index" in doc


def test_classification_passes_shapeless_inputs_through_as_the_source_does() -> None:
    # A tuple is not a batch of rows: predict may unpack it (here a pair of inputs).
    class PairModel:
        def predict(self, X: Any) -> Any:
            image, text = X
            return np.concatenate([np.asarray(image), np.asarray(text)], axis=1)

    pair = (np.eye(5), np.zeros((5, 1)))
    result = mmref.multimodal_classification(pair, None, PairModel())
    _same(result, _source_multimodal_classification(pair, None, PairModel()))
    assert result.shape == (5,)


# --- the errors a user reads -------------------------------------------------------------
# Each message is the whole of what a user learns about a broken model: it names the
# method, what came back and what was expected. Checked whole, so a message that names
# the wrong method, protocol or count is noticed.


class _Nothing:
    pass


class _OnlyImage:
    def encode_image(self, image: Any) -> Any:
        return np.zeros((1, 1))


class _OnlyText:
    encode_image = None  # present but not callable

    def encode_text(self, text: Any) -> Any:
        return np.zeros((1, 1))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: mmref.joint_embedding(None, None, _Nothing()),
            "model must implement encode_image() (the EmbeddingModel protocol); "
            "got an object of type _Nothing without it.",
        ),
        (
            lambda: mmref.joint_embedding(None, None, _OnlyText()),
            "model must implement encode_image() (the EmbeddingModel protocol); "
            "got an object of type _OnlyText without it.",
        ),
        (
            lambda: mmref.joint_embedding(None, None, _OnlyImage()),
            "model must implement encode_text() (the EmbeddingModel protocol); "
            "got an object of type _OnlyImage without it.",
        ),
        (
            lambda: mmref.multimodal_classification(None, None, _OnlyImage()),
            "model must implement predict() (the ClassificationModel protocol); "
            "got an object of type _OnlyImage without it.",
        ),
        (
            lambda: mmref.multimodal_classification(
                None, None, StubClassifier(np.array([[1 + 2j, 0j]]))
            ),
            "The output of model.predict has dtype complex128; "
            "expected real numbers (bool, integer or float).",
        ),
    ],
    ids=["no-methods", "image-not-callable", "no-text", "no-predict", "complex-scores"],
)
def test_type_errors_name_the_method_and_protocol(call: Any, message: str) -> None:
    with pytest.raises(TypeError) as info:
        call()
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("joint", "scores", "message"),
    [
        (
            np.zeros((3, 4)),
            np.zeros((2, 5)),
            "model.predict returned 2 rows (shape (2, 5)) for a joint_embedding of 3 rows; "
            "expected one row of scores per sample.",
        ),
        (
            None,
            np.array([[0.0, 1.0], [2.0, np.nan], [np.nan, 0.0]]),
            "The output of model.predict contains NaN in 2 row(s): 1, 2. "
            "NaN scores have no argmax; fix the model or drop those rows.",
        ),
        (
            None,
            np.zeros((4, 0)),
            "model.predict returned an array of shape (4, 0) with zero columns; "
            "expected scores of shape (n_samples, n_classes) with n_classes >= 1.",
        ),
    ],
    ids=["row-count", "nan", "no-columns"],
)
def test_classification_value_errors_say_what_is_wrong(
    joint: Any, scores: np.ndarray, message: str
) -> None:
    with pytest.raises(ValueError) as info:
        mmref.multimodal_classification(joint, None, StubClassifier(scores))
    assert str(info.value) == message


def test_joint_embedding_row_count_error_names_both_counts_and_shapes() -> None:
    model = StubEmbedding(np.zeros((2, 3)), np.zeros((4, 5)))
    with pytest.raises(ValueError) as info:
        mmref.joint_embedding(None, None, model)
    assert str(info.value) == (
        "model.encode_image returned 2 rows (shape (2, 3)) but model.encode_text returned "
        "4 rows (shape (4, 5)); expected one row per image-text pair, the same number for both."
    )


class _Shaped:
    """An input whose shape does not give a number of samples (a scalar, a symbolic batch)."""

    def __init__(self, shape: Any) -> None:
        self.shape = shape


@pytest.mark.parametrize("shape", [(), (None, 3), ("n", 2), [4, 2], None], ids=repr)
def test_classification_passes_inputs_without_a_row_count_through(shape: Any) -> None:
    # Only a shape that starts with an integer says how many samples there are; any other
    # input goes to predict unchecked, as in the source.
    scores = np.array([[0.0, 1.0], [3.0, 2.0]])
    model = StubClassifier(scores)
    joint = _Shaped(shape)
    _same(
        mmref.multimodal_classification(joint, None, model),
        _source_multimodal_classification(joint, None, model),
    )


def test_classification_of_a_0d_array_input_is_passed_through() -> None:
    model = StubClassifier(np.array([[0.0, 2.0, 1.0]]))
    result = mmref.multimodal_classification(np.float64(7.0), None, model)
    np.testing.assert_array_equal(result, [1])


@pytest.mark.parametrize(
    ("n_bad", "listed"),
    [
        (10, "0, 1, 2, 3, 4, 5, 6, 7, 8, 9"),
        (11, "0, 1, 2, 3, 4, 5, 6, 7, 8, 9 and 1 more"),
        (13, "0, 1, 2, 3, 4, 5, 6, 7, 8, 9 and 3 more"),
    ],
)
def test_classification_lists_the_first_ten_nan_rows(n_bad: int, listed: str) -> None:
    scores = np.zeros((20, 2))
    scores[:n_bad, 1] = np.nan
    with pytest.raises(ValueError) as info:
        mmref.multimodal_classification(scores, None, StubClassifier(scores))
    assert str(info.value) == (
        f"The output of model.predict contains NaN in {n_bad} row(s): {listed}. "
        "NaN scores have no argmax; fix the model or drop those rows."
    )


@pytest.mark.parametrize("dtype", [np.int64, np.bool_, np.float32])
def test_classification_of_nan_free_scores_of_any_real_dtype(dtype: Any) -> None:
    scores = np.array([[0, 1], [1, 0], [1, 1]], dtype=dtype)
    _same(
        mmref.multimodal_classification(scores, None, StubClassifier(scores)),
        _source_multimodal_classification(None, None, StubClassifier(scores)),
    )


@pytest.mark.parametrize(
    ("output", "shown"),
    [
        ([[1], [2, 3]], "[[1], [2, 3]]"),
        # A long value is cut to 57 characters and "..." (60 in all).
        ([["x" * 46], [1, 2]], repr([["x" * 46], [1, 2]])),
        ([["x" * 47], [1, 2]], repr([["x" * 47], [1, 2]])[:57] + "..."),
        ([["x" * 90], [1, 2]], repr([["x" * 90], [1, 2]])[:57] + "..."),
    ],
    ids=["short", "60-chars", "61-chars", "long"],
)
def test_an_unconvertible_output_is_shown_briefly(output: Any, shown: str) -> None:
    model = StubEmbedding(np.zeros((2, 1)), output)
    with pytest.raises(TypeError) as info:
        mmref.joint_embedding(None, None, model)
    message = str(info.value)
    prefix = f"model.encode_text returned {shown} of type list, which cannot be converted"
    assert message.startswith(prefix), message
    assert message.endswith("; expected a 2-D array (n_samples, n_features).")


class GradTensor:
    """A tensor NumPy cannot take, as PyTorch's are (requires grad, bfloat16, on a GPU)."""

    def __init__(self, error: type[Exception], message: str) -> None:
        self.error, self.message = error, message

    def detach(self) -> Any:
        return np.zeros((2, 1))

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        raise self.error(self.message)


REQUIRES_GRAD = "Can't call numpy() on Tensor that requires grad."


@pytest.mark.parametrize(
    ("error", "detail"),
    [(RuntimeError, REQUIRES_GRAD), (TypeError, "Got unsupported ScalarType BFloat16")],
)
def test_a_tensor_numpy_cannot_take_names_the_method_and_the_adapter(
    error: type[Exception], detail: str
) -> None:
    tensor = GradTensor(error, detail)
    with pytest.raises(TypeError) as info:
        mmref.joint_embedding(None, None, StubEmbedding(tensor, np.zeros((2, 1))))
    assert str(info.value) == (
        f"model.encode_image returned a GradTensor that NumPy cannot convert ({detail}); "
        "convert it with mmref.adapters.to_numpy, or wrap the model with "
        "mmref.adapters.as_embedding_model, which converts its outputs."
    )
    with pytest.raises(TypeError) as info:
        mmref.joint_embedding(None, None, StubEmbedding(np.zeros((2, 1)), tensor))
    assert str(info.value).startswith("model.encode_text returned a GradTensor that NumPy ")
    assert str(info.value).endswith(
        " mmref.adapters.as_embedding_model, which converts its outputs."
    )

    class Scores:
        def predict(self, X: Any) -> Any:
            return tensor

    with pytest.raises(TypeError) as info:
        mmref.multimodal_classification(np.zeros((2, 1)), None, Scores())
    assert str(info.value) == (
        f"model.predict returned a GradTensor that NumPy cannot convert ({detail}); "
        "convert it with mmref.adapters.to_numpy, or wrap the model with "
        "mmref.adapters.as_classification_model, which converts its outputs."
    )


def test_an_output_whose_conversion_raises_runtime_error_is_a_type_error() -> None:
    class Refuses:
        detach = "not a method"  # no callable detach: not a tensor

        def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
            raise RuntimeError("refused")

        def __repr__(self) -> str:
            return "Refuses()"

    with pytest.raises(TypeError) as info:
        mmref.joint_embedding(None, None, StubEmbedding(Refuses(), np.zeros((2, 1))))
    assert str(info.value) == (
        "model.encode_image returned Refuses() of type Refuses, which cannot be converted to a "
        "numeric array (refused); expected a 2-D array (n_samples, n_features)."
    )
