"""The types mmref's annotations use: arrays, the options of each parameter, models.

One place for every alias (no runtime logic): NumPy array types, ``Literal``
types listing the values each string option accepts (the estimators still
validate at fit or first use, so a wrong value is a clear ``ValueError`` at run
time and a type error under mypy), and the model protocols of
:mod:`mmref.protocols` together with the one-method encoders that
:class:`mmref.MultimodalEncoder` combines.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, TypeAlias

import numpy as np
import numpy.typing as npt

from .protocols import ClassificationModel, EmbeddingModel

__all__ = [
    "AccentStrip",
    "Analyzer",
    "ArrayLike",
    "CentroidMetric",
    "ClassificationModel",
    "DTypeLike",
    "Density",
    "EmbeddingModel",
    "Float64Array",
    "FloatArray",
    "FloatDTypeLike",
    "ImageEncoder",
    "Int64Array",
    "IntArray",
    "Norm",
    "NormalForm",
    "ProjectionMethod",
    "TextEncoder",
    "UInt64Array",
    "Weighting",
]

# --- arrays -------------------------------------------------------------------------------

ArrayLike: TypeAlias = npt.ArrayLike
DTypeLike: TypeAlias = npt.DTypeLike
FloatArray: TypeAlias = npt.NDArray[np.floating[Any]]
Float64Array: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.intp]
Int64Array: TypeAlias = npt.NDArray[np.int64]
UInt64Array: TypeAlias = npt.NDArray[np.uint64]

# --- options ------------------------------------------------------------------------------

# RandomProjectionImageEncoder(method=...)
ProjectionMethod: TypeAlias = Literal["sparse", "gaussian", "srht"]
# RandomProjectionImageEncoder(density=...)
Density: TypeAlias = float | Literal["auto"]
# BagOfWordsTextEncoder(unicode_form=...); None skips normalization
NormalForm: TypeAlias = Literal["NFC", "NFD", "NFKC", "NFKD"]
# BagOfWordsTextEncoder(strip_accents=...); None keeps accents
AccentStrip: TypeAlias = Literal["ascii", "unicode"]
# BagOfWordsTextEncoder(analyzer=...); a callable is also accepted
Analyzer: TypeAlias = Literal["word", "char", "char_wb"]
# BagOfWordsTextEncoder(normalize=...); also True ("l2"), False and None (no normalization)
Norm: TypeAlias = Literal["l1", "l2"]
# BagOfWordsTextEncoder(weighting=...)
Weighting: TypeAlias = Literal["count", "binary", "log", "tfidf"]
# NearestCentroidClassifier(metric=...)
CentroidMetric: TypeAlias = Literal["cosine", "euclidean"]
# The dtype of both encoders: float64 or float32, in any spelling NumPy reads as one.
FloatDTypeLike: TypeAlias = (
    type[np.float64]
    | type[np.float32]
    | np.dtype[np.float64]
    | np.dtype[np.float32]
    | Literal["float64", "float32", "f8", "f4"]
)

# --- models -------------------------------------------------------------------------------


class ImageEncoder(Protocol):
    """What ``MultimodalEncoder(image_encoder=...)`` uses: ``encode_image`` alone."""

    def encode_image(self, image: Any) -> Any: ...


class TextEncoder(Protocol):
    """What ``MultimodalEncoder(text_encoder=...)`` uses: ``encode_text`` alone."""

    def encode_text(self, text: Any) -> Any: ...
