"""What mmref.strategies documents, checked at its bounds: the defaults of every strategy,
the values each one must reach (the hard cases a conformance test exists for), and the
values it must never give; and the stub models of mmref.testing."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from mmref import strategies as mst
from mmref import testing

FIND = settings(
    derandomize=True,
    database=None,
    max_examples=3000,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
FEW = settings(max_examples=40, derandomize=True, database=None, deadline=None)


def reaches(strategy: Any, wanted: Any) -> bool:
    return bool(wanted(find(strategy, wanted, settings=FIND)))


@FEW
@given(mst.texts())
def test_texts_default_to_at_most_24_code_points(text: str) -> None:
    assert len(text) <= 24


@pytest.mark.parametrize(
    ("strategy", "wanted"),
    [
        (mst.texts(), lambda t: len(t) == 24),
        (mst.texts(min_size=3, max_size=3), lambda t: len(t) == 3),
        (mst.texts(), lambda t: "İ" in t or "ß" in t or "ﬁ" in t or "ς" in t),
        (mst.texts(), lambda t: "\u200d" in t or "\ufe0f" in t or "\u3000" in t),
        (mst.texts(), lambda t: any(0x20000 <= ord(c) <= 0x2A6DF for c in t)),
        (mst.texts(), lambda t: any(c in "abcxyzABC019 " for c in t)),
        (mst.text_batches(), lambda b: len(b) == 5),
        (mst.text_batches(), lambda b: len(b) == 1),
        (mst.text_batches(), lambda b: any(len(t) == 24 for t in b)),
        (mst.text_batches(max_text_size=2), lambda b: any(len(t) == 2 for t in b)),
    ],
)
def test_texts_reach_their_bounds_and_special_characters(strategy: Any, wanted: Any) -> None:
    assert reaches(strategy, wanted)


@FEW
@given(mst.texts(min_size=2, max_size=4), mst.text_batches(max_text_size=3))
def test_texts_keep_within_the_sizes_asked_for(text: str, batch: list[str]) -> None:
    assert 2 <= len(text) <= 4
    assert 1 <= len(batch) <= 5 and all(len(t) <= 3 for t in batch)


@FEW
@given(mst.image_shapes(), mst.image_shapes(min_side=3, max_side=4, channels=(1, 4)))
def test_image_shapes_default_to_2d_sides_1_to_8(default: Any, chosen: Any) -> None:
    assert len(default) == 2 and all(1 <= s <= 8 for s in default)
    assert len(chosen) == 3 and all(3 <= s <= 4 for s in chosen[:2]) and chosen[2] in (1, 4)


@pytest.mark.parametrize(
    ("strategy", "wanted"),
    [
        (mst.image_shapes(), lambda s: s[0] == 8 or s[1] == 8),
        (mst.image_shapes(), lambda s: s == (1, 1)),
        (mst.image_shapes(channels=(None, 3)), lambda s: len(s) == 2),
        (mst.image_shapes(channels=(None, 3)), lambda s: len(s) == 3),
        (mst.images(dtype=np.uint8), lambda a: a.max() == 255),
        (mst.images(dtype=np.int8), lambda a: a.min() == -128),
        (mst.images(dtype=np.float32), lambda a: a.min() < -100),
        (mst.images(), lambda a: a.dtype == np.bool_),
        (mst.images(), lambda a: a.dtype == np.float16),
        (mst.image_batches(), lambda b: b.shape[0] == 5),
        (mst.image_batches(), lambda b: b.shape[0] == 1),
        (mst.image_batches(dtype=st.sampled_from([np.dtype(np.int32)])), lambda b: b.size > 0),
    ],
)
def test_images_reach_their_bounds(strategy: Any, wanted: Any) -> None:
    assert reaches(strategy, wanted)


@FEW
@given(mst.images(dtype=np.float16), mst.image_batches(dtype=np.float64, shape=(2, 2)))
def test_float_pixels_are_moderate_and_never_subnormal(image: Any, batch: Any) -> None:
    for a in (image, batch):
        assert np.all(np.isfinite(a)) and np.all(np.abs(a) <= 1000)
        tiny = np.finfo(a.dtype).tiny
        assert not np.any((a != 0) & (np.abs(a) < tiny))
    assert batch.shape[1:] == (2, 2) and 1 <= batch.shape[0] <= 5


@pytest.mark.parametrize(
    ("wanted"),
    [
        lambda s: s.shape[0] == 8,
        lambda s: s.shape[1] == 6,
        lambda s: s.shape[1] == 1,
        lambda s: s.dtype == np.bool_ and s.size > 0,
        lambda s: s.dtype == np.int8 and np.any(s == -128),
        lambda s: s.dtype == np.uint8 and np.any(s == 255),
        lambda s: s.dtype == np.int64 and np.any(s == -2),
        lambda s: s.dtype.kind == "f" and bool(np.any(s == -np.finfo(s.dtype).max)),
        lambda s: s.dtype.kind == "f" and bool(np.any(s == np.finfo(s.dtype).tiny)),
        lambda s: s.dtype.kind == "f" and bool(np.any(s == -np.inf)),
        lambda s: s.dtype.kind == "f" and bool(np.any(s == 2.5)),
        lambda s: s.dtype.kind == "f" and bool(np.any(s == -1.0)),
        lambda s: s.dtype == np.float16 and s.size > 0,
    ],
)
def test_score_matrices_reach_their_bounds(wanted: Any) -> None:
    assert reaches(mst.score_matrices(), wanted)


@FEW
@given(
    mst.score_matrices(),
    mst.score_matrices(min_rows=2, max_rows=3, min_cols=2, max_cols=2, dtypes=[np.float32]),
)
def test_score_matrices_keep_their_bounds(default: Any, chosen: Any) -> None:
    assert 0 <= default.shape[0] <= 8 and 1 <= default.shape[1] <= 6
    assert default.dtype in mst.SCORE_DTYPES
    if default.dtype.kind in "iu":
        info = np.iinfo(default.dtype)
        assert np.all(
            (default >= -2) & (default <= 2) | (default == info.min) | (default == info.max)
        )
    assert 2 <= chosen.shape[0] <= 3 and chosen.shape[1] == 2 and chosen.dtype == np.float32


@FEW
@given(
    mst.feature_matrices(2), mst.feature_matrices(1, min_rows=3, max_rows=3, dtypes=[np.float32])
)
def test_feature_matrices_keep_their_bounds(default: Any, chosen: Any) -> None:
    assert 1 <= default.shape[0] <= 6 and default.dtype in (np.float64, np.float32)
    assert chosen.shape == (3, 1) and chosen.dtype == np.float32
    assert np.all(np.abs(chosen) <= 1000)


@pytest.mark.parametrize(
    ("strategy", "wanted"),
    [
        (mst.feature_matrices(2), lambda X: X.shape[0] == 6),
        (mst.feature_matrices(2), lambda X: X.dtype == np.float32),
        (mst.feature_matrices(2), lambda X: X.dtype == np.float64),
        (mst.feature_matrices(2), lambda X: bool(np.any(np.all(X == 0, axis=1)))),
        (mst.feature_matrices(2), lambda X: bool(np.any(np.abs(X) > 500))),
        (mst.embedding_pairs(), lambda p: p[0].shape[0] == 5),
        (mst.embedding_pairs(), lambda p: p[0].shape[0] == 0),
        (mst.embedding_pairs(), lambda p: p[0].shape[1] == 5 and p[1].shape[1] == 0),
        (mst.embedding_pairs(), lambda p: p[0].dtype != p[1].dtype),
        (mst.embedding_pairs(), lambda p: p[1].dtype == np.complex64),
        (mst.embedding_pairs(), lambda p: p[0].dtype == np.uint64),
        (
            mst.embedding_pairs(),
            lambda p: p[0].dtype.kind == "f" and bool(np.any(np.isnan(p[0]))),
        ),
        (mst.embedding_pairs(max_width=1), lambda p: p[0].shape[1] == 1),
        (mst.stub_embedding_models(), lambda m: m.image_output.shape[0] == 5),
        (mst.stub_embedding_models(min_rows=2), lambda m: m.text_output.shape[0] == 2),
        (mst.stub_classification_models(), lambda m: m.scores.shape[0] == 8),
        (mst.stub_classification_models(min_rows=3), lambda m: m.scores.shape[0] == 3),
    ],
)
def test_features_embeddings_and_stubs_reach_their_bounds(strategy: Any, wanted: Any) -> None:
    assert reaches(strategy, wanted)


@FEW
@given(
    mst.embedding_pairs(min_rows=1, max_rows=2, max_width=2, dtypes=[np.int8]),
    mst.stub_embedding_models(min_rows=2, max_rows=3, max_width=1),
    mst.stub_classification_models(min_rows=1, max_rows=2),
)
def test_embeddings_and_stubs_keep_their_bounds(pair: Any, embedder: Any, classifier: Any) -> None:
    image, text = pair
    assert 1 <= image.shape[0] == text.shape[0] <= 2
    assert image.shape[1] <= 2 and text.shape[1] <= 2
    assert image.dtype == text.dtype == np.int8
    assert isinstance(embedder, testing.StubEmbeddingModel)
    assert 2 <= embedder.image_output.shape[0] == embedder.text_output.shape[0] <= 3
    assert embedder.image_output.shape[1] <= 1
    assert isinstance(classifier, testing.StubClassificationModel)
    assert 1 <= classifier.scores.shape[0] <= 2


def test_the_dtype_lists() -> None:
    assert [d.name for d in mst.PIXEL_DTYPES] == [
        "bool",
        "uint8",
        "int8",
        "uint16",
        "int32",
        "int64",
        "float16",
        "float32",
        "float64",
    ]
    assert {d.kind for d in mst.EMBEDDING_DTYPES} == set("biufc")
    assert {d.kind for d in mst.SCORE_DTYPES} == set("biuf")


# --- the stub models ---------------------------------------------------------------------


def test_stub_classification_model_returns_copies_and_records_the_inputs() -> None:
    scores = np.array([[0.5, -np.inf]])
    model = testing.StubClassificationModel(scores)
    X1, X2 = np.zeros((1, 2)), np.ones((1, 2))
    first = model.predict(X1)
    first[0, 0] = 9.0
    again = model.predict(X2)
    assert again.tolist() == [[0.5, -np.inf]] and model.scores is scores
    assert model.calls[0] is X1 and model.calls[1] is X2 and len(model.calls) == 2


def test_stubs_pass_non_array_outputs_through() -> None:
    embedder = testing.StubEmbeddingModel([[1.0]], "not an array")
    assert embedder.encode_image(None) == [[1.0]]
    assert embedder.encode_text(None) == "not an array"
    assert testing.StubClassificationModel(None).predict(None) is None


def test_stub_partial_model_has_only_its_methods_and_returns_copies() -> None:
    output = np.zeros((1, 2))
    model = testing.StubPartialModel({"encode_image": output, "predict": [[1, 2]]})
    assert not hasattr(model, "encode_text")
    with pytest.raises(AttributeError, match="encode_text"):
        model.encode_text(["t"])
    got = model.encode_image(None, "extra")
    got[0, 0] = 5.0
    assert output[0, 0] == 0.0 and model.encode_image(None)[0, 0] == 0.0
    assert model.predict(None) == [[1, 2]]
    assert model.calls == ["encode_image", "encode_image", "predict"]
    rebuilt = eval(repr(model), {"np": np, "StubPartialModel": testing.StubPartialModel})
    assert rebuilt.methods.keys() == model.methods.keys()
    assert repr(model) == (
        "StubPartialModel({'encode_image': np.array([[0.0, 0.0]], dtype=np.float64), "
        "'predict': [[1, 2]]})"
    )
    # copy and pickle-like protocols look attributes up before __init__ has run
    assert copy.deepcopy(model).calls == model.calls


def test_stub_partial_model_returns_deep_copies() -> None:
    model = testing.StubPartialModel({"predict": [[1, 2]]})
    first = model.predict(None)
    first[0][0] = 99  # changing what one call returned, inside
    assert model.predict(None) == [[1, 2]]
