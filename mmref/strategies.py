"""Hypothesis strategies for the mmref specification, and stub models to drive it.

This is the only mmref module that imports Hypothesis (install it with the
``testing`` extra: ``pip install "mmref[testing]"``); ``import mmref`` never
imports it. The conformance kit (:mod:`mmref.conformance`) draws every input
from here, and so can your own tests::

    from hypothesis import given
    from mmref import strategies as mst

    @given(mst.text_batches())
    def test_my_text_encoder_gives_one_row_per_text(texts):
        assert my_encoder.encode_text(texts).shape[0] == len(texts)

What the strategies cover
-------------------------
images
    2-D ``(H, W)`` images (or ``(H, W, C)`` when asked) of every pixel dtype
    mmref accepts (bool, signed and unsigned integers, float16/32/64), single
    or as a batch ``(N, *shape)``; all-zero images are common.
texts
    Unicode strings mixing ASCII, CJK ideographs, Hiragana and Katakana,
    emoji (with ZWJ sequences and variation selectors), combining marks,
    characters whose case mapping changes their length (``"İ"``, ``"ß"``),
    unusual whitespace and the empty string. Never lone surrogates.
score matrices
    ``(n_samples, n_classes)`` real scores drawn from a small pool so that ties
    are frequent, with negative values, ``+-0.0``, ``+-inf`` and the dtype's
    largest finite magnitudes. Never NaN (NaN scores are invalid).
embeddings and stub models
    Embedding pairs of arbitrary widths (including 0) and any numeric dtypes
    (including complex, NaN and infinities: the specification passes
    embedding values through unchanged), wrapped in :class:`StubEmbeddingModel`
    and :class:`StubClassificationModel`, which return fixed outputs and
    record how they were called.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ._conform_core import array_literal, literal

__all__ = [
    "EMBEDDING_DTYPES",
    "PIXEL_DTYPES",
    "SCORE_DTYPES",
    "StubClassificationModel",
    "StubEmbeddingModel",
    "array_literal",
    "embedding_pairs",
    "feature_matrices",
    "image_batches",
    "image_shapes",
    "images",
    "score_matrices",
    "stub_classification_models",
    "stub_embedding_models",
    "text_batches",
    "texts",
]


def _dtypes(*types: npt.DTypeLike) -> tuple[np.dtype[Any], ...]:
    return tuple(np.dtype(t) for t in types)


#: Pixel dtypes an image encoder must accept (values are used as given).
PIXEL_DTYPES: tuple[np.dtype[Any], ...] = _dtypes(
    np.bool_, np.uint8, np.int8, np.uint16, np.int32, np.int64, np.float16, np.float32, np.float64
)

#: Dtypes an embedding may have: everything ``np.concatenate`` joins (bool to complex).
EMBEDDING_DTYPES: tuple[np.dtype[Any], ...] = _dtypes(
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
    np.complex128,
)

#: Dtypes a score matrix may have: real numbers only.
SCORE_DTYPES: tuple[np.dtype[Any], ...] = _dtypes(
    np.bool_, np.int8, np.uint8, np.int64, np.float16, np.float32, np.float64
)

# Characters chosen for what they do to tokenizers: case mappings that change the
# length ('İ' lowers to two code points, 'ß' uppers to 'SS', the 'ﬁ' ligature
# NFKC-normalizes to 'fi'), the context-dependent Greek final sigma, full-width
# forms, no-break and ideographic spaces, ZWJ and the emoji variation selector.
_SPECIAL_CHARACTERS = (
    " ",
    "\t",
    "\n",
    "\xa0",
    "\u3000",
    "\u200d",
    "\ufe0f",
    "_",
    "-",
    "'",
    ".",
    "İ",
    "ß",
    "ﬁ",
    "Σ",
    "ς",
    "Ａ",
    "１",
    "é",
)


def _alphabet() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from("abcxyzABC019 "),
        st.sampled_from(_SPECIAL_CHARACTERS),
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),  # CJK ideographs
        st.characters(min_codepoint=0x3040, max_codepoint=0x30FF),  # Hiragana, Katakana
        st.characters(min_codepoint=0x20000, max_codepoint=0x2A6DF),  # CJK extension B
        st.characters(min_codepoint=0x1F300, max_codepoint=0x1F64F),  # emoji
        st.characters(min_codepoint=0x0300, max_codepoint=0x036F),  # combining marks
        st.characters(codec="utf-8"),  # anything encodable, never a lone surrogate
    )


def texts(*, min_size: int = 0, max_size: int = 24) -> st.SearchStrategy[str]:
    """Unicode texts of ``min_size`` to ``max_size`` code points (see the module docstring).

    Examples
    --------
    >>> from hypothesis import find
    >>> from mmref.strategies import texts
    >>> find(texts(), lambda t: True)
    ''
    """
    # Not st.text(alphabet=...): it merges the character ranges into one uniform draw,
    # where the huge planes of rare code points would drown CJK, kana and emoji.
    return st.lists(_alphabet(), min_size=min_size, max_size=max_size).map("".join)


def text_batches(
    *, min_size: int = 1, max_size: int = 5, max_text_size: int = 24
) -> st.SearchStrategy[list[str]]:
    """Lists of ``min_size`` to ``max_size`` texts drawn by :func:`texts`."""
    return st.lists(texts(max_size=max_text_size), min_size=min_size, max_size=max_size)


def image_shapes(
    *, min_side: int = 1, max_side: int = 8, channels: Sequence[int | None] = (None,)
) -> st.SearchStrategy[tuple[int, ...]]:
    """Shapes of one image: ``(H, W)``, or ``(H, W, C)`` for each ``C`` in ``channels``.

    ``None`` in ``channels`` stands for the 2-D shape. The default draws 2-D
    shapes only, because an encoder that infers the layout (mmref's
    ``RandomProjectionImageEncoder`` with ``image_shape=None``) reads a 3-D
    array as a batch of 2-D images.
    """
    side = st.integers(min_side, max_side)

    def build(h: int, w: int, c: int | None) -> tuple[int, ...]:
        return (h, w) if c is None else (h, w, c)

    return st.builds(build, side, side, st.sampled_from(list(channels)))


def _pixel_elements(dtype: np.dtype[Any]) -> st.SearchStrategy[Any]:
    return _moderate_floats(dtype) if dtype.kind == "f" else hnp.from_dtype(dtype)


def _moderate_floats(dtype: np.dtype[Any]) -> st.SearchStrategy[Any]:
    # Bounded so that sums of squares stay finite in float16/float32: an image of 1e300s
    # is not a realistic input, and overflow there says nothing about a model.
    return hnp.from_dtype(dtype, min_value=-1000.0, max_value=1000.0, allow_subnormal=False)


def _dtype_pool(dtypes: Sequence[npt.DTypeLike]) -> st.SearchStrategy[np.dtype[Any]]:
    return st.sampled_from([np.dtype(d) for d in dtypes])


def images(
    *,
    shape: tuple[int, ...] | st.SearchStrategy[tuple[int, ...]] | None = None,
    dtype: npt.DTypeLike | st.SearchStrategy[np.dtype[Any]] | None = None,
) -> st.SearchStrategy[npt.NDArray[Any]]:
    """One image of ``shape`` (default: :func:`image_shapes`) and a pixel dtype.

    ``dtype`` defaults to any of :data:`PIXEL_DTYPES`. Float pixels are finite
    and within ``[-1000, 1000]``; integer pixels span their dtype's range.
    """
    return _arrays(shape=shape, dtype=dtype, batch=None)


def image_batches(
    *,
    shape: tuple[int, ...] | st.SearchStrategy[tuple[int, ...]] | None = None,
    dtype: npt.DTypeLike | st.SearchStrategy[np.dtype[Any]] | None = None,
    min_size: int = 1,
    max_size: int = 5,
) -> st.SearchStrategy[npt.NDArray[Any]]:
    """A batch ``(N, *shape)`` of ``min_size <= N <= max_size`` images of one shape and dtype."""
    return _arrays(shape=shape, dtype=dtype, batch=st.integers(min_size, max_size))


def _arrays(
    *,
    shape: tuple[int, ...] | st.SearchStrategy[tuple[int, ...]] | None,
    dtype: npt.DTypeLike | st.SearchStrategy[np.dtype[Any]] | None,
    batch: st.SearchStrategy[int] | None,
) -> st.SearchStrategy[npt.NDArray[Any]]:
    shapes = _as_strategy(shape, image_shapes())
    dtypes = _as_strategy(dtype, st.sampled_from(PIXEL_DTYPES))

    @st.composite
    def draw_array(draw: st.DrawFn) -> npt.NDArray[Any]:
        one = draw(shapes)
        full = one if batch is None else (draw(batch), *one)
        chosen = np.dtype(draw(dtypes))
        result: npt.NDArray[Any] = draw(hnp.arrays(chosen, full, elements=_pixel_elements(chosen)))
        return result

    return draw_array()


def _as_strategy(value: Any, default: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    if value is None:
        return default
    if isinstance(value, st.SearchStrategy):
        return value
    return st.just(value)


def score_matrices(
    *,
    min_rows: int = 0,
    max_rows: int = 8,
    min_cols: int = 1,
    max_cols: int = 6,
    dtypes: Sequence[npt.DTypeLike] = SCORE_DTYPES,
) -> st.SearchStrategy[npt.NDArray[Any]]:
    """Score matrices ``(n_samples, n_classes)`` with frequent ties and extreme values.

    Float entries come mostly from a pool (``0.0``, ``-0.0``, ``+-1``, ``2.5``,
    ``+-inf``, ``+-finfo.max``, ``finfo.tiny``) so that a row often holds its
    maximum more than once; the rest are any non-NaN float of the dtype.
    Integer entries include the dtype's extremes.

    Examples
    --------
    >>> from hypothesis import find
    >>> from mmref.strategies import score_matrices
    >>> m = find(score_matrices(min_rows=1), lambda s: (s[0] == s[0].max()).sum() > 1)
    >>> m.shape[0] >= 1
    True
    """
    dtype_pool = _dtype_pool(dtypes)

    @st.composite
    def draw_scores(draw: st.DrawFn) -> npt.NDArray[Any]:
        dtype = draw(dtype_pool)
        shape = (draw(st.integers(min_rows, max_rows)), draw(st.integers(min_cols, max_cols)))
        if dtype.kind == "f":
            info = np.finfo(dtype)
            big, tiny = float(info.max), float(info.tiny)
            pool = st.sampled_from(
                [0.0, -0.0, 1.0, -1.0, 2.5, math.inf, -math.inf, big, -big, tiny]
            )
            elements = st.one_of(pool, hnp.from_dtype(dtype, allow_nan=False))
        elif dtype.kind == "b":
            elements = st.booleans()
        else:
            iinfo = np.iinfo(dtype)
            elements = st.one_of(
                st.integers(max(-2, iinfo.min), 2), st.sampled_from([iinfo.min, iinfo.max])
            )
        result: npt.NDArray[Any] = draw(hnp.arrays(dtype, shape, elements=elements))
        return result

    return draw_scores()


def feature_matrices(
    n_features: int,
    *,
    min_rows: int = 1,
    max_rows: int = 6,
    dtypes: Sequence[npt.DTypeLike] = (np.float64, np.float32),
) -> st.SearchStrategy[npt.NDArray[Any]]:
    """Inputs ``(n_samples, n_features)`` for a classifier: finite, moderate, with zero rows.

    Values lie in ``[-1000, 1000]``; an all-zero row is common (a cosine
    classifier must still give finite scores for it).
    """
    dtype_pool = _dtype_pool(dtypes)

    @st.composite
    def draw_features(draw: st.DrawFn) -> npt.NDArray[Any]:
        dtype = draw(dtype_pool)
        shape = (draw(st.integers(min_rows, max_rows)), n_features)
        result: npt.NDArray[Any] = draw(hnp.arrays(dtype, shape, elements=_moderate_floats(dtype)))
        return result

    return draw_features()


def embedding_pairs(
    *,
    min_rows: int = 0,
    max_rows: int = 5,
    max_width: int = 5,
    dtypes: Sequence[npt.DTypeLike] = EMBEDDING_DTYPES,
) -> st.SearchStrategy[tuple[npt.NDArray[Any], npt.NDArray[Any]]]:
    """Pairs ``(image_embedding, text_embedding)`` with the same number of rows.

    Widths are ``0..max_width`` each and the two dtypes are drawn independently
    from ``dtypes``; values are anything the dtype holds (NaN, infinities and
    ``-0.0`` included), because the specification passes them through unchanged.
    """
    dtype_pool = _dtype_pool(dtypes)

    @st.composite
    def draw_pair(draw: st.DrawFn) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
        n = draw(st.integers(min_rows, max_rows))
        image_dtype, text_dtype = draw(dtype_pool), draw(dtype_pool)
        image = draw(hnp.arrays(image_dtype, (n, draw(st.integers(0, max_width)))))
        text = draw(hnp.arrays(text_dtype, (n, draw(st.integers(0, max_width)))))
        return image, text

    return draw_pair()


def stub_embedding_models(
    *, min_rows: int = 0, max_rows: int = 5, max_width: int = 5
) -> st.SearchStrategy[StubEmbeddingModel]:
    """:class:`StubEmbeddingModel` instances over :func:`embedding_pairs`."""
    return embedding_pairs(min_rows=min_rows, max_rows=max_rows, max_width=max_width).map(
        lambda pair: StubEmbeddingModel(pair[0], pair[1])
    )


def stub_classification_models(
    *, min_rows: int = 0, max_rows: int = 8
) -> st.SearchStrategy[StubClassificationModel]:
    """:class:`StubClassificationModel` instances over :func:`score_matrices`."""
    return score_matrices(min_rows=min_rows, max_rows=max_rows).map(StubClassificationModel)


class StubEmbeddingModel:
    """An embedding model that returns fixed outputs and records its calls.

    Each call returns a fresh copy, so an implementation that modifies the
    embedding in place cannot change what the next call returns.

    Parameters
    ----------
    image_output : array-like
        What ``encode_image`` returns (a copy of), whatever the input.
    text_output : array-like
        What ``encode_text`` returns (a copy of), whatever the input.

    Attributes
    ----------
    calls : list of (str, object)
        ``("encode_image", image)`` / ``("encode_text", text)`` per call, in
        call order, holding the very objects passed in.

    Examples
    --------
    >>> import numpy as np
    >>> from mmref.strategies import StubEmbeddingModel
    >>> model = StubEmbeddingModel(np.zeros((1, 2)), np.ones((1, 1), dtype=np.int8))
    >>> model.encode_text(["a"]).dtype
    dtype('int8')
    >>> [name for name, _ in model.calls]
    ['encode_text']
    >>> model
    StubEmbeddingModel(np.array([[0.0, 0.0]], dtype=np.float64), np.array([[1]], dtype=np.int8))
    """

    def __init__(self, image_output: Any, text_output: Any) -> None:
        self.image_output = image_output
        self.text_output = text_output
        self.calls: list[tuple[str, Any]] = []

    def encode_image(self, image: Any) -> Any:
        """Record the call and return a copy of ``image_output``."""
        self.calls.append(("encode_image", image))
        return _copy(self.image_output)

    def encode_text(self, text: Any) -> Any:
        """Record the call and return a copy of ``text_output``."""
        self.calls.append(("encode_text", text))
        return _copy(self.text_output)

    def __repr__(self) -> str:
        return f"StubEmbeddingModel({literal(self.image_output)}, {literal(self.text_output)})"


class StubClassificationModel:
    """A classification model that returns fixed scores and records its calls.

    Parameters
    ----------
    scores : array-like of shape (n_samples, n_classes)
        What ``predict`` returns (a copy of), whatever the input.

    Attributes
    ----------
    calls : list of object
        The very objects ``predict`` was called with, in call order.

    Examples
    --------
    >>> import numpy as np
    >>> from mmref.strategies import StubClassificationModel
    >>> StubClassificationModel(np.array([[0.5, -np.inf]]))
    StubClassificationModel(np.array([[0.5, -np.inf]], dtype=np.float64))
    """

    def __init__(self, scores: Any) -> None:
        self.scores = scores
        self.calls: list[Any] = []

    def predict(self, X: Any) -> Any:
        """Record the call and return a copy of ``scores``."""
        self.calls.append(X)
        return _copy(self.scores)

    def __repr__(self) -> str:
        return f"StubClassificationModel({literal(self.scores)})"


def _copy(value: Any) -> Any:
    return value.copy() if isinstance(value, np.ndarray) else value
