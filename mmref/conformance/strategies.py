"""Hypothesis strategies for the mmref specification, and stub models to drive it.

With the kit's private driver (``mmref.conformance._examples``, which imports this
module first), this is the only mmref module that imports Hypothesis (install it with
the ``testing`` extra: ``pip install "mmref[testing]"``); ``import mmref`` and
``import mmref.conformance`` never import it, and the golden vectors are checked
without it. The conformance kit (:mod:`mmref.conformance`) draws every input
from here, and your own tests can draw from here too::

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
    record how they were called. The stubs themselves are plain classes of
    :mod:`mmref.testing` (no Hypothesis needed), re-exported here.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

try:
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ModuleNotFoundError as exc:
    if (exc.name or "").partition(".")[0] != "hypothesis":
        raise
    # Same name, so callers that test for a missing Hypothesis still recognize it.
    raise ModuleNotFoundError(
        "mmref.strategies and the property checks of mmref.conformance (all but the "
        'golden vectors) need Hypothesis: pip install "mmref[testing]"',
        name="hypothesis",
    ) from exc

from ._describe import array_literal
from ._stubs import StubClassificationModel, StubEmbeddingModel

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
    np.bool_, np.int8, np.uint8, np.int32, np.int64, np.uint64, np.float16, np.float32, np.float64
) + _dtypes(np.complex64, np.complex128)

#: Dtypes a score matrix may have: real numbers only.
SCORE_DTYPES: tuple[np.dtype[Any], ...] = _dtypes(
    np.bool_, np.int8, np.uint8, np.int64, np.float16, np.float32, np.float64
)

# Characters chosen for what they do to tokenizers: case mappings that change the
# length ('İ' lowers to two code points, 'ß' uppers to 'SS', the 'ﬁ' ligature
# NFKC-normalizes to 'fi'), the context-dependent Greek final sigma, full-width
# forms, no-break and ideographic spaces, ZWJ and the emoji variation selector.
_SPECIAL_CHARACTERS = " \t\n\xa0\u3000\u200d\ufe0f_-'.İßﬁΣςＡ１é"


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

    Parameters
    ----------
    min_size, max_size : int, default=0, 24
        The fewest and the most code points; with 0 the empty text is common.

    Returns
    -------
    strategy : SearchStrategy of str
        Texts that always encode to UTF-8 (never a lone surrogate).

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
    """Lists of ``min_size`` to ``max_size`` texts drawn by :func:`texts`.

    Parameters
    ----------
    min_size, max_size : int, default=1, 5
        The fewest and the most texts in a list.
    max_text_size : int, default=24
        The most code points in one text.

    Returns
    -------
    strategy : SearchStrategy of list of str
    """
    return st.lists(texts(max_size=max_text_size), min_size=min_size, max_size=max_size)


def image_shapes(
    *, min_side: int = 1, max_side: int = 8, channels: Sequence[int | None] = (None,)
) -> st.SearchStrategy[tuple[int, ...]]:
    """Shapes of one image: ``(H, W)``, or ``(H, W, C)`` for each ``C`` in ``channels``.

    Parameters
    ----------
    min_side, max_side : int, default=1, 8
        The smallest and the largest ``H`` and ``W``.
    channels : sequence of int or None, default=(None,)
        The channel counts ``C`` to draw from; ``None`` stands for the 2-D
        shape. The default draws 2-D shapes only, because an encoder that
        infers the layout (mmref's ``RandomProjectionImageEncoder`` with
        ``image_shape=None``) reads a 3-D array as a batch of 2-D images.

    Returns
    -------
    strategy : SearchStrategy of tuple of int
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
    """One image of ``shape`` and a pixel dtype.

    Parameters
    ----------
    shape : tuple of int or SearchStrategy of tuple of int, default=None
        The image's shape, fixed or drawn; None draws it from :func:`image_shapes`.
    dtype : dtype-like or SearchStrategy of dtype, default=None
        The pixel dtype, fixed or drawn; None draws any of :data:`PIXEL_DTYPES`.

    Returns
    -------
    strategy : SearchStrategy of ndarray of shape ``shape``
        Float pixels are finite and within ``[-1000, 1000]``; integer pixels
        span their dtype's range.
    """
    return _arrays(shape=shape, dtype=dtype, batch=None)


def image_batches(
    *,
    shape: tuple[int, ...] | st.SearchStrategy[tuple[int, ...]] | None = None,
    dtype: npt.DTypeLike | st.SearchStrategy[np.dtype[Any]] | None = None,
    min_size: int = 1,
    max_size: int = 5,
) -> st.SearchStrategy[npt.NDArray[Any]]:
    """A batch of ``min_size <= N <= max_size`` images of one shape and dtype.

    Parameters
    ----------
    shape, dtype
        The shape and pixel dtype of one image, as in :func:`images`.
    min_size, max_size : int, default=1, 5
        The fewest and the most images ``N``.

    Returns
    -------
    strategy : SearchStrategy of ndarray of shape ``(N, *shape)``
        Pixels as in :func:`images`.
    """
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
        result: npt.NDArray[Any] = draw(_pixel_arrays(np.dtype(draw(dtypes)), full))
        return result

    return draw_array()


@functools.lru_cache(maxsize=1024)
def _pixel_arrays(dtype: np.dtype[Any], shape: tuple[int, ...]) -> st.SearchStrategy[Any]:
    # Cached: building a strategy per draw costs more than drawing from it.
    return hnp.arrays(dtype, shape, elements=_pixel_elements(dtype))


@functools.lru_cache(maxsize=1024)
def _any_arrays(dtype: np.dtype[Any], shape: tuple[int, ...]) -> st.SearchStrategy[Any]:
    return hnp.arrays(dtype, shape)


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

    Parameters
    ----------
    min_rows, max_rows : int, default=0, 8
        The fewest and the most rows ``n_samples``.
    min_cols, max_cols : int, default=1, 6
        The fewest and the most columns ``n_classes``.
    dtypes : sequence of dtype-like, default=SCORE_DTYPES
        The dtypes to draw from (real ones: bool, integer or float).

    Returns
    -------
    strategy : SearchStrategy of ndarray of shape (n_samples, n_classes)
        Never NaN.

    Examples
    --------
    >>> from hypothesis import find
    >>> from mmref.strategies import score_matrices
    >>> m = find(score_matrices(min_rows=1), lambda s: (s[0] == s[0].max()).sum() > 1)
    >>> m.shape[0] >= 1
    True
    """
    dtype_pool = _dtype_pool(dtypes)
    rows, cols = st.integers(min_rows, max_rows), st.integers(min_cols, max_cols)

    @st.composite
    def draw_scores(draw: st.DrawFn) -> npt.NDArray[Any]:
        dtype = draw(dtype_pool)
        result: npt.NDArray[Any] = draw(_score_arrays(dtype, (draw(rows), draw(cols))))
        return result

    return draw_scores()


@functools.lru_cache(maxsize=1024)
def _feature_arrays(dtype: np.dtype[Any], shape: tuple[int, ...]) -> st.SearchStrategy[Any]:
    return hnp.arrays(dtype, shape, elements=_moderate_floats(dtype))


@functools.lru_cache(maxsize=1024)
def _score_arrays(dtype: np.dtype[Any], shape: tuple[int, ...]) -> st.SearchStrategy[Any]:
    return hnp.arrays(dtype, shape, elements=_score_elements(dtype))


@functools.lru_cache(maxsize=64)
def _score_elements(dtype: np.dtype[Any]) -> st.SearchStrategy[Any]:
    if dtype.kind == "f":
        info = np.finfo(dtype)
        big, tiny = float(info.max), float(info.tiny)
        pool = st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.5, math.inf, -math.inf, big, -big, tiny])
        return st.one_of(pool, hnp.from_dtype(dtype, allow_nan=False))
    if dtype.kind == "b":
        return st.booleans()
    iinfo = np.iinfo(dtype)
    return st.one_of(st.integers(max(-2, iinfo.min), 2), st.sampled_from([iinfo.min, iinfo.max]))


def feature_matrices(
    n_features: int,
    *,
    min_rows: int = 1,
    max_rows: int = 6,
    dtypes: Sequence[npt.DTypeLike] = (np.float64, np.float32),
) -> st.SearchStrategy[npt.NDArray[Any]]:
    """Inputs ``(n_samples, n_features)`` for a classifier: finite, moderate, with zero rows.

    Parameters
    ----------
    n_features : int
        The number of columns.
    min_rows, max_rows : int, default=1, 6
        The fewest and the most rows ``n_samples``.
    dtypes : sequence of dtype-like, default=(np.float64, np.float32)
        The float dtypes to draw from.

    Returns
    -------
    strategy : SearchStrategy of ndarray of shape (n_samples, n_features)
        Values lie in ``[-1000, 1000]``; an all-zero row is common (a cosine
        classifier must still give finite scores for it).
    """
    dtype_pool = _dtype_pool(dtypes)

    rows = st.integers(min_rows, max_rows)

    @st.composite
    def draw_features(draw: st.DrawFn) -> npt.NDArray[Any]:
        dtype = draw(dtype_pool)
        result: npt.NDArray[Any] = draw(_feature_arrays(dtype, (draw(rows), n_features)))
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

    Values are anything the dtype holds (NaN, infinities and ``-0.0``
    included), because the specification passes them through unchanged.

    Parameters
    ----------
    min_rows, max_rows : int, default=0, 5
        The fewest and the most rows ``n_samples``.
    max_width : int, default=5
        The most columns of each embedding (``d_image`` and ``d_text`` are
        drawn independently from ``0..max_width``).
    dtypes : sequence of dtype-like, default=EMBEDDING_DTYPES
        The dtypes to draw from, independently for the two embeddings.

    Returns
    -------
    strategy : SearchStrategy of (ndarray, ndarray)
        Arrays of shapes ``(n_samples, d_image)`` and ``(n_samples, d_text)``.
    """
    dtype_pool = _dtype_pool(dtypes)

    rows, widths = st.integers(min_rows, max_rows), st.integers(0, max_width)

    @st.composite
    def draw_pair(draw: st.DrawFn) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
        n = draw(rows)
        image_dtype, text_dtype = draw(dtype_pool), draw(dtype_pool)
        image = draw(_any_arrays(image_dtype, (n, draw(widths))))
        text = draw(_any_arrays(text_dtype, (n, draw(widths))))
        return image, text

    return draw_pair()


def stub_embedding_models(
    *, min_rows: int = 0, max_rows: int = 5, max_width: int = 5
) -> st.SearchStrategy[StubEmbeddingModel]:
    """:class:`StubEmbeddingModel` instances over :func:`embedding_pairs`.

    Parameters
    ----------
    min_rows, max_rows, max_width
        As in :func:`embedding_pairs`.

    Returns
    -------
    strategy : SearchStrategy of StubEmbeddingModel
        Stubs whose ``image_output`` and ``text_output`` are a drawn pair.
    """
    return embedding_pairs(min_rows=min_rows, max_rows=max_rows, max_width=max_width).map(
        lambda pair: StubEmbeddingModel(pair[0], pair[1])
    )


def stub_classification_models(
    *, min_rows: int = 0, max_rows: int = 8
) -> st.SearchStrategy[StubClassificationModel]:
    """:class:`StubClassificationModel` instances over :func:`score_matrices`.

    Parameters
    ----------
    min_rows, max_rows
        As in :func:`score_matrices`.

    Returns
    -------
    strategy : SearchStrategy of StubClassificationModel
        Stubs whose ``scores`` are a drawn score matrix.
    """
    return score_matrices(min_rows=min_rows, max_rows=max_rows).map(StubClassificationModel)
