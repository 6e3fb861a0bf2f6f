"""The Hypothesis strategies of mmref.strategies: what they generate, and the stub models."""

from __future__ import annotations

import unicodedata
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mmref import strategies as mst
from mmref import testing

# find() must be reproducible and quick: derandomized, no database, no shrinking.
FIND = settings(
    derandomize=True,
    database=None,
    max_examples=2000,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@given(mst.texts())
def test_texts_are_valid_unicode(text: str) -> None:
    text.encode("utf-8")  # never a lone surrogate


@pytest.mark.parametrize(
    "wanted",
    [
        lambda t: t == "",
        lambda t: any(0x4E00 <= ord(c) <= 0x9FFF for c in t),
        lambda t: any(0x3040 <= ord(c) <= 0x30FF for c in t),
        lambda t: any(0x1F300 <= ord(c) <= 0x1F64F for c in t),
        lambda t: any(unicodedata.combining(c) for c in t),
        lambda t: any(len(c.lower()) != len(c) for c in t),
    ],
    ids=["empty", "cjk", "kana", "emoji", "combining", "length-changing-case"],
)
def test_texts_reach_every_class_of_character(wanted: Any) -> None:
    assert wanted(find(mst.texts(), wanted, settings=FIND))


@given(mst.text_batches(min_size=2, max_size=3))
def test_text_batches_are_lists_of_str(batch: list[str]) -> None:
    assert isinstance(batch, list) and 2 <= len(batch) <= 3
    assert all(isinstance(t, str) for t in batch)


@given(mst.image_shapes(channels=(None, 3)))
def test_image_shapes(shape: tuple[int, ...]) -> None:
    assert len(shape) in (2, 3) and all(1 <= s <= 8 for s in shape[:2])
    assert len(shape) == 2 or shape[2] == 3


@given(mst.image_batches(min_size=2, max_size=4))
def test_image_batches_have_a_batch_axis_and_finite_bounded_pixels(batch: np.ndarray) -> None:
    assert batch.ndim == 3 and 2 <= batch.shape[0] <= 4
    assert batch.dtype in mst.PIXEL_DTYPES
    if batch.dtype.kind == "f":
        assert np.all(np.isfinite(batch)) and np.all(np.abs(batch) <= 1000)


@given(mst.images(shape=(5, 7, 3), dtype=np.uint8))
def test_images_honour_forced_shape_and_dtype(image: np.ndarray) -> None:
    assert image.shape == (5, 7, 3) and image.dtype == np.uint8


@given(st.data())
def test_images_take_every_pixel_dtype(data: st.DataObject) -> None:
    dtype = data.draw(st.sampled_from(mst.PIXEL_DTYPES))
    assert data.draw(mst.images(dtype=dtype)).dtype == dtype


@given(mst.score_matrices())
def test_score_matrices_are_real_without_nan(scores: np.ndarray) -> None:
    assert scores.ndim == 2 and scores.shape[1] >= 1
    assert scores.dtype.kind in "biuf"
    if scores.dtype.kind == "f":
        assert not np.any(np.isnan(scores))


@pytest.mark.parametrize(
    "wanted",
    [
        lambda s: any((row == row.max()).sum() > 1 for row in s),
        lambda s: s.dtype.kind == "f" and bool(np.any(np.signbit(s) & (s == 0))),
        lambda s: s.dtype.kind == "f" and bool(np.any(np.isinf(s))),
        lambda s: s.dtype.kind == "f" and bool(np.any(s == np.finfo(s.dtype).max)),
        lambda s: bool(np.any(s < 0)),
        lambda s: s.shape[0] == 0,
    ],
    ids=["ties", "negative-zero", "infinity", "huge", "negative", "empty"],
)
def test_score_matrices_reach_the_hard_cases(wanted: Any) -> None:
    assert wanted(find(mst.score_matrices(), wanted, settings=FIND))


@given(mst.embedding_pairs())
def test_embedding_pairs_share_rows(pair: tuple[np.ndarray, np.ndarray]) -> None:
    image, text = pair
    assert image.ndim == text.ndim == 2
    assert image.shape[0] == text.shape[0]
    assert image.dtype in mst.EMBEDDING_DTYPES and text.dtype in mst.EMBEDDING_DTYPES


@given(mst.feature_matrices(3))
def test_feature_matrices(X: np.ndarray) -> None:
    assert X.shape[1] == 3 and X.shape[0] >= 1
    assert np.all(np.isfinite(X)) and np.all(np.abs(X) <= 1000)


@given(mst.stub_embedding_models())
def test_stub_embedding_model_returns_copies_and_records_calls(model: Any) -> None:
    image, text = object(), ["t"]
    first = model.encode_image(image)
    if first.size:
        first.flat[0] = 1  # modifying what one call returned must not change the next
    again = model.encode_image(image)
    assert again.tobytes() == model.image_output.tobytes()
    model.encode_text(text)
    assert [name for name, _ in model.calls] == ["encode_image", "encode_image", "encode_text"]
    assert model.calls[0][1] is image and model.calls[2][1] is text


@given(mst.stub_embedding_models(), mst.stub_classification_models())
def test_stub_reprs_rebuild_the_stubs(embedder: Any, classifier: Any) -> None:
    namespace = {"np": np, **vars(mst)}
    rebuilt = eval(repr(embedder), namespace)
    _same_values(rebuilt.image_output, embedder.image_output)
    _same_values(rebuilt.text_output, embedder.text_output)
    _same_values(eval(repr(classifier), namespace).scores, classifier.scores)


def test_stub_models_live_in_mmref_testing_and_are_re_exported() -> None:
    # mmref.testing needs no Hypothesis; mmref.strategies keeps the names for old imports.
    for name in ("StubEmbeddingModel", "StubClassificationModel"):
        assert getattr(mst, name) is getattr(testing, name)
        assert name in mst.__all__ and name in testing.__all__
        assert getattr(testing, name).__module__ == "mmref.conformance._stubs"


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    hnp.arrays(
        st.sampled_from(mst.EMBEDDING_DTYPES),
        hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3),
    )
)
def test_array_literal_round_trips(array: np.ndarray) -> None:
    _same_values(eval(mst.array_literal(array), {"np": np}), array)


def _same_values(a: np.ndarray, b: np.ndarray) -> None:
    """Same dtype, shape and values, -0.0 included; NaNs match whatever their payload."""
    assert a.dtype == b.dtype and a.shape == b.shape
    assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
    if a.dtype.kind in "fc":
        numbers = ~np.isnan(a.real)
        assert np.array_equal(np.signbit(a.real[numbers]), np.signbit(b.real[numbers]))
