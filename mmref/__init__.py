"""mmref: an exact, lightweight reference implementation of multimodal joint embedding.

The specification is two functions, :func:`joint_embedding` and
:func:`multimodal_classification`, and the model protocol they call
(:class:`EmbeddingModel`, :class:`ClassificationModel`). Everything else
(encoders, classifiers, the shared space, model files) exists so that these
two can be run, trusted and checked anywhere. See README.md and SPEC.md.
"""

from . import adapters, datasets
from ._version import __version__
from .alignment import AlignedEncoder, CCAAlignment
from .classifiers import NearestCentroidClassifier, RidgeClassifier, SoftmaxClassifier
from .exceptions import ConformanceError, ConvergenceWarning, ModelFileError, NotFittedError
from .image import RandomProjectionImageEncoder, johnson_lindenstrauss_min_dim
from .imagefiles import read_images
from .multimodal import MultimodalEncoder
from .persistence import load, save
from .pipeline import MultimodalPipeline
from .protocols import ClassificationModel, EmbeddingModel
from .reference import joint_embedding, multimodal_classification
from .text import BagOfWordsTextEncoder
from .zeroshot import ZeroShotClassifier

__all__ = [
    "AlignedEncoder",
    "BagOfWordsTextEncoder",
    "CCAAlignment",
    "ClassificationModel",
    "ConformanceError",
    "ConvergenceWarning",
    "EmbeddingModel",
    "ModelFileError",
    "MultimodalEncoder",
    "MultimodalPipeline",
    "NearestCentroidClassifier",
    "NotFittedError",
    "RandomProjectionImageEncoder",
    "RidgeClassifier",
    "SoftmaxClassifier",
    "ZeroShotClassifier",
    "__version__",
    "adapters",
    "datasets",
    "johnson_lindenstrauss_min_dim",
    "joint_embedding",
    "load",
    "multimodal_classification",
    "read_images",
    "save",
]
