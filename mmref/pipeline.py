"""MultimodalPipeline: an embedding model and a classifier on its joint embeddings, as one model.

``MultimodalPipeline(encoder, classifier)`` is both an
:class:`~mmref.protocols.EmbeddingModel` and a
:class:`~mmref.protocols.ClassificationModel`, so the two functions of the
specification run on it end to end::

    joint = joint_embedding(image, text, pipeline)          # encoder's encode_image/text
    index = multimodal_classification(joint, labels, pipeline)  # classifier's predict
    label = pipeline.classes_[index]

``fit(image, text, y)`` fits the encoder on the images and texts (when it has
a ``fit``), then the classifier on their joint embeddings. :func:`mmref.save`
stores both in one model file; ``mmref train`` writes one and ``mmref
predict`` reads it.
"""

from __future__ import annotations

from typing import Any

import numpy.typing as npt

from ._atomic import publish
from ._base import ParamsMixin
from .reference import joint_embedding

__all__ = ["MultimodalPipeline"]


class MultimodalPipeline(ParamsMixin):
    """Embed image-caption pairs with ``encoder`` and classify them with ``classifier``.

    Parameters
    ----------
    encoder : object with ``encode_image`` and ``encode_text``, default=None
        ``None`` means ``MultimodalEncoder()`` with its defaults.
    classifier : object with ``fit`` and ``predict``, default=None
        ``None`` means ``SoftmaxClassifier()``.

    Attributes
    ----------
    encoder_ : object
        Set by :meth:`fit`: a fitted copy of ``encoder`` (made from its
        parameters, as ``sklearn.base.clone`` does), or a new ``MultimodalEncoder()``.
    classifier_ : object
        Set by :meth:`fit`: a fitted copy of ``classifier``.

    Examples
    --------
    >>> import numpy as np
    >>> from mmref import MultimodalPipeline, joint_embedding, multimodal_classification
    >>> images = np.zeros((4, 16, 16)); images[2:] = 1.0
    >>> texts = ["a dark square", "a dark one", "a bright square", "a bright one"]
    >>> model = MultimodalPipeline().fit(images, texts, ["dark", "dark", "bright", "bright"])
    >>> joint = joint_embedding(images, texts, model)
    >>> model.classes_[multimodal_classification(joint, model.classes_, model)].tolist()
    ['dark', 'dark', 'bright', 'bright']
    """

    encoder_: Any
    classifier_: Any

    def __init__(self, encoder: Any = None, classifier: Any = None) -> None:
        self.encoder = encoder
        self.classifier = classifier

    def fit(self, image: Any, text: Any, y: Any) -> MultimodalPipeline:
        """Fit the encoder on ``image`` and ``text``, then the classifier on their joint embedding.

        Parameters
        ----------
        image : array-like of shape (n_samples, ...)
            Images, one per text.
        text : sequence of str
            Texts, one per image.
        y : array-like of shape (n_samples,)
            Labels.

        Returns
        -------
        self : MultimodalPipeline
        """
        from .classifiers import SoftmaxClassifier
        from .multimodal import MultimodalEncoder

        # Fresh copies, as scikit-learn clones sub-estimators: the parameters stay unfitted
        # (and a model file holds the fitted encoder and classifier once, as state).
        encoder = _clone(self.encoder) if self.encoder is not None else MultimodalEncoder()
        classifier = _clone(self.classifier) if self.classifier is not None else SoftmaxClassifier()
        if hasattr(encoder, "fit"):
            encoder.fit(image, text)
        classifier.fit(joint_embedding(image, text, encoder), y)
        # One step, so a call running beside a refit sees the old pair or the new one.
        publish(self, {"encoder_": encoder, "classifier_": classifier})
        return self

    @property
    def classes_(self) -> npt.NDArray[Any]:
        """The classifier's classes, in the order of :meth:`predict`'s columns."""
        return self._fitted("classifier_").classes_  # type: ignore[no-any-return]

    def encode_image(self, image: Any) -> Any:
        """Embed images with the encoder (see ``MultimodalEncoder.encode_image``)."""
        return self._fitted("encoder_").encode_image(image)

    def encode_text(self, text: Any) -> Any:
        """Embed texts with the encoder (see ``MultimodalEncoder.encode_text``)."""
        return self._fitted("encoder_").encode_text(text)

    def predict(self, joint: Any) -> Any:
        """Score every class for joint embeddings ``(n_samples, d)``: ``(n_samples, n_classes)``."""
        return self._fitted("classifier_").predict(joint)

    def _fitted(self, name: str) -> Any:
        value = self.__dict__.get(name)
        if value is None:
            from .exceptions import NotFittedError

            raise NotFittedError(
                "This MultimodalPipeline instance is not fitted yet. Call 'fit' with "
                "images, texts and labels before using it."
            )
        return value


def _clone(estimator: Any) -> Any:
    """An unfitted copy made from the parameters, nested estimators copied too."""
    if not hasattr(estimator, "get_params") or isinstance(estimator, type):
        return estimator
    params = estimator.get_params(deep=False)
    return type(estimator)(**{k: _clone(v) for k, v in params.items()})
