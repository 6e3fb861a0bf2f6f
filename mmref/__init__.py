"""mmref: an exact, lightweight reference implementation of multimodal joint embedding.

The specification is two functions, :func:`joint_embedding` and
:func:`multimodal_classification`, and the model protocol they call
(:class:`EmbeddingModel`, :class:`ClassificationModel`). See README.md and
SPEC.md.
"""

from .exceptions import ConformanceError, NotFittedError
from .image import RandomProjectionImageEncoder, johnson_lindenstrauss_min_dim
from .protocols import ClassificationModel, EmbeddingModel
from .reference import joint_embedding, multimodal_classification
from .text import BagOfWordsTextEncoder

__version__ = "0.1.0"

__all__ = [
    "BagOfWordsTextEncoder",
    "ClassificationModel",
    "ConformanceError",
    "EmbeddingModel",
    "NotFittedError",
    "RandomProjectionImageEncoder",
    "__version__",
    "joint_embedding",
    "johnson_lindenstrauss_min_dim",
    "multimodal_classification",
]
