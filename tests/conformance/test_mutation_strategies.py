"""What mmref.strategies documents, checked at its bounds: the defaults of every strategy,
the values each one must reach (the hard cases a conformance test exists for), and the
values it must never give; and the stub models of mmref.testing."""

from __future__ import annotations

import copy
import unicodedata
from collections.abc import Callable
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


# Every strategy is built inside the test that uses it (the parametrize lists hold
# builders, the @given tests draw from st.data()): a strategy built when the module is
# imported would keep whatever the code did then, and mutmut links a test to the
# functions it calls only while the test runs.
Builder = Callable[[], Any]


def reaches(build: Builder, wanted: Any) -> bool:
    return bool(wanted(find(build(), wanted, settings=FIND)))


def sample(build: Builder, n: int) -> list[Any]:
    """``n`` values drawn from ``build()``, derandomized (the same ones every run)."""
    drawn: list[Any] = []

    @settings(
        max_examples=n,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def draw(data: st.DataObject) -> None:
        drawn.append(data.draw(build()))

    draw()
    return drawn


@FEW
@given(st.data())
def test_texts_default_to_at_most_24_code_points(data: st.DataObject) -> None:
    assert len(data.draw(mst.texts())) <= 24


@pytest.mark.parametrize(
    ("build", "wanted"),
    [
        (lambda: mst.texts(), lambda t: len(t) == 24),
        (lambda: mst.texts(min_size=3, max_size=3), lambda t: len(t) == 3),
        (lambda: mst.texts(), lambda t: "İ" in t or "ß" in t or "ﬁ" in t or "ς" in t),
        (lambda: mst.texts(), lambda t: "\u200d" in t or "\ufe0f" in t or "\u3000" in t),
        (lambda: mst.texts(), lambda t: any(0x20000 <= ord(c) <= 0x2A6DF for c in t)),
        (lambda: mst.texts(), lambda t: any(c in "abcxyzABC019 " for c in t)),
        (lambda: mst.text_batches(), lambda b: len(b) == 5),
        (lambda: mst.text_batches(), lambda b: len(b) == 1),
        (lambda: mst.text_batches(), lambda b: any(len(t) == 24 for t in b)),
        (lambda: mst.text_batches(max_text_size=2), lambda b: any(len(t) == 2 for t in b)),
    ],
)
def test_texts_reach_their_bounds_and_special_characters(build: Builder, wanted: Any) -> None:
    assert reaches(build, wanted)


@pytest.mark.parametrize(
    ("build", "size", "most"),
    [
        (lambda: mst.texts(), len, 24),
        (lambda: mst.text_batches(), len, 5),
        (lambda: mst.score_matrices(), lambda s: s.shape[0], 8),
        (lambda: mst.score_matrices(), lambda s: s.shape[1], 6),
        (lambda: mst.embedding_pairs(), lambda p: p[0].shape[0], 5),
        (lambda: mst.feature_matrices(1), lambda X: X.shape[0], 6),
        (lambda: mst.image_batches(), lambda b: b.shape[0], 5),
    ],
)
def test_the_first_value_at_the_documented_maximum_is_not_above_it(
    build: Builder, size: Any, most: int
) -> None:
    # Random draws seldom reach a maximum, so checking every draw against it is slow
    # to notice a larger one; the first draw that reaches it must not exceed it.
    assert size(find(build(), lambda x: size(x) >= most, settings=FIND)) == most


@FEW
@given(st.data())
def test_texts_keep_within_the_sizes_asked_for(data: st.DataObject) -> None:
    text = data.draw(mst.texts(min_size=2, max_size=4))
    batch = data.draw(mst.text_batches(max_text_size=3))
    default_batch = data.draw(mst.text_batches())
    assert 2 <= len(text) <= 4
    assert 1 <= len(batch) <= 5 and all(len(t) <= 3 for t in batch)
    assert 1 <= len(default_batch) <= 5 and all(len(t) <= 24 for t in default_batch)
    assert all(t.encode("utf-8").decode("utf-8") == t for t in (text, *batch, *default_batch))


# The module docstring promises texts mixing ASCII, CJK ideographs, kana, emoji,
# combining marks, characters that trip tokenizers, and any other Unicode: each class
# must be common, not merely reachable (the last source, any character UTF-8 encodes,
# can produce every class, rarely). mst.texts() draws from eight sources about equally
# often, so each named class takes about 1/8 of the characters. Measured over these 300
# derandomized texts (about 1800 characters): CJK 0.14, kana 0.15, extension B 0.13,
# emoji 0.11, combining marks 0.12, the tokenizer edge cases 0.077, anything else
# 0.045; ASCII lowercase 0.068, uppercase 0.040, digits 0.029. Tolerance: each bound is
# at most half the share measured (0.06 for the 1/8 classes); a class whose source is
# gone, or whose range was widened so that most of its draws land elsewhere, falls far
# below it.
_ASCII_SAMPLE_AND_SPECIAL = "abcxyzABC019 " + " \t\n\xa0\u3000\u200d\ufe0f_-'.İßﬁΣςＡ１é"
_CLASS_SHARES: dict[str, tuple[Callable[[str], bool], float]] = {
    "ascii lowercase": (lambda c: "a" <= c <= "z", 0.03),
    "ascii uppercase": (lambda c: "A" <= c <= "Z", 0.02),
    "ascii digits": (lambda c: "0" <= c <= "9", 0.012),
    "tokenizer edge cases": (lambda c: c in "\xa0\u3000\u200d\ufe0fİßﬁΣςＡ１é", 0.035),
    "cjk ideographs": (lambda c: 0x4E00 <= ord(c) <= 0x9FFF, 0.06),
    "hiragana and katakana": (lambda c: 0x3040 <= ord(c) <= 0x30FF, 0.06),
    "cjk extension b": (lambda c: 0x20000 <= ord(c) <= 0x2A6DF, 0.06),
    "emoji": (lambda c: 0x1F300 <= ord(c) <= 0x1F64F, 0.06),
    "combining marks": (lambda c: unicodedata.combining(c) != 0, 0.06),
    "anything else": (
        lambda c: (
            not (
                c.isascii()
                or c in _ASCII_SAMPLE_AND_SPECIAL
                or 0x0300 <= ord(c) <= 0x036F
                or 0x3040 <= ord(c) <= 0x30FF
                or 0x4E00 <= ord(c) <= 0x9FFF
                or 0x1F300 <= ord(c) <= 0x1F64F
                or 0x20000 <= ord(c) <= 0x2A6DF
            )
        ),
        0.02,
    ),
    # Hypothesis draws most characters of a range from its first 256 code points; the
    # rest must still come from across the whole block (the ideographs past U+4EFF, the
    # faces of U+1F600..U+1F64F), not from the code points after it. Measured 0.025,
    # 0.0125 and 0.036; bound 0.005 (at most 0.4 of each).
    "cjk ideographs past U+4EFF": (lambda c: 0x4F00 <= ord(c) <= 0x9FFF, 0.005),
    "extension b past U+200FF": (lambda c: 0x20100 <= ord(c) <= 0x2A6DF, 0.005),
    "emoji past U+1F3FF": (lambda c: 0x1F400 <= ord(c) <= 0x1F64F, 0.005),
}


def test_texts_mix_every_class_of_character_often() -> None:
    characters = "".join(sample(lambda: mst.texts(), 300))
    shares = {
        name: sum(map(is_in, characters)) / len(characters)
        for name, (is_in, _) in _CLASS_SHARES.items()
    }
    too_rare = {
        name: round(share, 4) for name, share in shares.items() if share < _CLASS_SHARES[name][1]
    }
    assert not too_rare, f"too rare in mst.texts(): {too_rare}"


@FEW
@given(st.data())
def test_image_shapes_default_to_2d_sides_1_to_8(data: st.DataObject) -> None:
    default = data.draw(mst.image_shapes())
    chosen = data.draw(mst.image_shapes(min_side=3, max_side=4, channels=(1, 4)))
    assert len(default) == 2 and all(1 <= s <= 8 for s in default)
    assert len(chosen) == 3 and all(3 <= s <= 4 for s in chosen[:2]) and chosen[2] in (1, 4)


@pytest.mark.parametrize(
    ("build", "wanted"),
    [
        (lambda: mst.image_shapes(), lambda s: s[0] == 8 or s[1] == 8),
        (lambda: mst.image_shapes(), lambda s: s == (1, 1)),
        (lambda: mst.image_shapes(channels=(None, 3)), lambda s: len(s) == 2),
        (lambda: mst.image_shapes(channels=(None, 3)), lambda s: len(s) == 3),
        (lambda: mst.images(dtype=np.uint8), lambda a: a.max() == 255),
        (lambda: mst.images(dtype=np.int8), lambda a: a.min() == -128),
        (lambda: mst.images(dtype=np.float32), lambda a: a.min() < -100),
        (lambda: mst.images(), lambda a: a.dtype == np.bool_),
        (lambda: mst.images(), lambda a: a.dtype == np.float16),
        (lambda: mst.images(), lambda a: a.dtype == np.int64),
        (lambda: mst.image_batches(), lambda b: b.shape[0] == 5),
        (lambda: mst.image_batches(), lambda b: b.shape[0] == 1),
        (lambda: mst.image_batches(), lambda b: b.dtype == np.uint16),
        (
            lambda: mst.image_batches(dtype=st.sampled_from([np.dtype(np.int32)])),
            lambda b: b.size > 0,
        ),
    ],
)
def test_images_reach_their_bounds(build: Builder, wanted: Any) -> None:
    assert reaches(build, wanted)


@pytest.mark.parametrize("dtype", [d for d in mst.PIXEL_DTYPES if d.kind in "biu"])
def test_integer_pixels_span_their_dtypes_range(dtype: np.dtype[Any]) -> None:
    low, high = (False, True) if dtype.kind == "b" else (np.iinfo(dtype).min, np.iinfo(dtype).max)
    assert reaches(lambda: mst.images(dtype=dtype), lambda a: a.dtype == dtype and a.min() == low)
    assert reaches(lambda: mst.images(dtype=dtype), lambda a: a.dtype == dtype and a.max() == high)


@settings(max_examples=120, derandomize=True, database=None, deadline=None)
@given(st.data())
def test_float_pixels_are_moderate_and_never_subnormal(data: st.DataObject) -> None:
    dtype = data.draw(st.sampled_from([np.float16, np.float32, np.float64]))
    image = data.draw(mst.images(dtype=dtype))
    batch = data.draw(mst.image_batches(dtype=dtype, shape=(2, 2)))
    for a in (image, batch):
        assert a.dtype == dtype
        assert np.all(np.isfinite(a)) and np.all(np.abs(a) <= 1000)
        tiny = np.finfo(a.dtype).tiny
        assert not np.any((a != 0) & (np.abs(a) < tiny))
    assert batch.shape[1:] == (2, 2) and 1 <= batch.shape[0] <= 5


@FEW
@given(st.data())
def test_images_keep_the_shape_and_dtype_asked_for(data: st.DataObject) -> None:
    image = data.draw(mst.images(shape=(3, 1, 2), dtype=np.int8))
    drawn = data.draw(mst.images(shape=st.just((2, 5))))
    assert image.shape == (3, 1, 2) and image.dtype == np.int8
    assert drawn.shape == (2, 5) and drawn.dtype in mst.PIXEL_DTYPES
    default = data.draw(mst.images())
    assert default.ndim == 2 and all(1 <= s <= 8 for s in default.shape)
    batch = data.draw(mst.image_batches())
    assert batch.ndim == 3 and 1 <= batch.shape[0] <= 5 and batch.dtype in mst.PIXEL_DTYPES


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
    assert reaches(lambda: mst.score_matrices(), wanted)


@FEW
@given(st.data())
def test_score_matrices_keep_their_bounds(data: st.DataObject) -> None:
    default = data.draw(mst.score_matrices())
    chosen = data.draw(
        mst.score_matrices(min_rows=2, max_rows=3, min_cols=2, max_cols=2, dtypes=[np.float32])
    )
    assert 0 <= default.shape[0] <= 8 and 1 <= default.shape[1] <= 6
    assert default.dtype in mst.SCORE_DTYPES
    if default.dtype.kind in "iu":
        info = np.iinfo(default.dtype)
        assert np.all(
            (default >= -2) & (default <= 2) | (default == info.min) | (default == info.max)
        )
    assert 2 <= chosen.shape[0] <= 3 and chosen.shape[1] == 2 and chosen.dtype == np.float32


@FEW
@given(st.data())
def test_feature_matrices_keep_their_bounds(data: st.DataObject) -> None:
    default = data.draw(mst.feature_matrices(2))
    chosen = data.draw(mst.feature_matrices(1, min_rows=3, max_rows=3, dtypes=[np.float32]))
    assert 1 <= default.shape[0] <= 6 and default.shape[1] == 2
    assert default.dtype in (np.float64, np.float32)
    assert chosen.shape == (3, 1) and chosen.dtype == np.float32
    for X in (default, chosen):
        assert np.all(np.isfinite(X)) and np.all(np.abs(X) <= 1000)


@pytest.mark.parametrize(
    ("build", "wanted"),
    [
        (lambda: mst.feature_matrices(2), lambda X: X.shape[0] == 6),
        (lambda: mst.feature_matrices(2), lambda X: X.shape[0] == 1),
        (lambda: mst.feature_matrices(2), lambda X: X.dtype == np.float32),
        (lambda: mst.feature_matrices(2), lambda X: X.dtype == np.float64),
        (lambda: mst.feature_matrices(2), lambda X: bool(np.any(np.all(X == 0, axis=1)))),
        (lambda: mst.feature_matrices(2), lambda X: bool(np.any(np.abs(X) > 500))),
        (lambda: mst.embedding_pairs(), lambda p: p[0].shape[0] == 5),
        (lambda: mst.embedding_pairs(), lambda p: p[0].shape[0] == 0),
        (lambda: mst.embedding_pairs(), lambda p: p[0].shape[1] == 5 and p[1].shape[1] == 0),
        (lambda: mst.embedding_pairs(), lambda p: p[0].shape[1] == 0 and p[1].shape[1] == 5),
        (lambda: mst.embedding_pairs(), lambda p: p[0].dtype != p[1].dtype),
        (lambda: mst.embedding_pairs(), lambda p: p[1].dtype == np.complex64),
        (lambda: mst.embedding_pairs(), lambda p: p[0].dtype == np.uint64),
        (
            lambda: mst.embedding_pairs(),
            lambda p: p[0].dtype.kind == "f" and bool(np.any(np.isnan(p[0]))),
        ),
        (lambda: mst.embedding_pairs(max_width=1), lambda p: p[0].shape[1] == 1),
        (lambda: mst.stub_embedding_models(), lambda m: m.image_output.shape[0] == 5),
        (lambda: mst.stub_embedding_models(), lambda m: m.text_output.shape[0] == 0),
        (
            lambda: mst.stub_embedding_models(),
            lambda m: m.image_output.shape[1] == 5 and m.text_output.shape[1] == 0,
        ),
        (
            lambda: mst.stub_embedding_models(),
            lambda m: m.image_output.shape[1] == 0 and m.text_output.shape[1] == 5,
        ),
        (
            lambda: mst.stub_embedding_models(),
            lambda m: m.image_output.dtype == np.bool_ and m.text_output.dtype == np.complex128,
        ),
        (lambda: mst.stub_embedding_models(min_rows=2), lambda m: m.text_output.shape[0] == 2),
        (lambda: mst.stub_classification_models(), lambda m: m.scores.shape[0] == 8),
        (lambda: mst.stub_classification_models(), lambda m: m.scores.shape[0] == 0),
        (lambda: mst.stub_classification_models(min_rows=3), lambda m: m.scores.shape[0] == 3),
    ],
)
def test_features_embeddings_and_stubs_reach_their_bounds(build: Builder, wanted: Any) -> None:
    assert reaches(build, wanted)


@FEW
@given(st.data())
def test_embeddings_and_stubs_keep_their_bounds(data: st.DataObject) -> None:
    image, text = data.draw(
        mst.embedding_pairs(min_rows=1, max_rows=2, max_width=2, dtypes=[np.int8])
    )
    assert 1 <= image.shape[0] == text.shape[0] <= 2
    assert image.shape[1] <= 2 and text.shape[1] <= 2
    assert image.dtype == text.dtype == np.int8
    for image, text in (
        data.draw(mst.embedding_pairs()),
        (lambda m: (m.image_output, m.text_output))(data.draw(mst.stub_embedding_models())),
    ):
        assert image.ndim == text.ndim == 2 and 0 <= image.shape[0] == text.shape[0] <= 5
        assert 0 <= image.shape[1] <= 5 and 0 <= text.shape[1] <= 5
        assert image.dtype in mst.EMBEDDING_DTYPES and text.dtype in mst.EMBEDDING_DTYPES
    embedder = data.draw(mst.stub_embedding_models(min_rows=2, max_rows=3, max_width=1))
    assert isinstance(embedder, testing.StubEmbeddingModel) and embedder.calls == []
    assert 2 <= embedder.image_output.shape[0] == embedder.text_output.shape[0] <= 3
    assert embedder.image_output.shape[1] <= 1 and embedder.text_output.shape[1] <= 1
    for classifier, (low, high) in (
        (data.draw(mst.stub_classification_models(min_rows=1, max_rows=2)), (1, 2)),
        (data.draw(mst.stub_classification_models()), (0, 8)),
    ):
        assert isinstance(classifier, testing.StubClassificationModel)
        assert classifier.calls == [] and classifier.scores.ndim == 2
        assert low <= classifier.scores.shape[0] <= high and 1 <= classifier.scores.shape[1] <= 6
        assert classifier.scores.dtype in mst.SCORE_DTYPES


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
