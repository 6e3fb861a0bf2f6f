"""MultimodalEncoder: one image encoder and one text encoder as one EmbeddingModel.

``MultimodalEncoder(image_encoder, text_encoder)`` implements the
:class:`~mmref.protocols.EmbeddingModel` protocol by delegation::

    encode_image(image) = image_encoder.encode_image(image)     # (n, d_image)
    encode_text(text)   = text_encoder.encode_text(text)        # (n, d_text)
    embed(image, text)  = joint_embedding(image, text, self)    # (n, d_image + d_text)

The defaults are the two mmref encoders with their default settings,
``RandomProjectionImageEncoder()`` (256 columns) and ``BagOfWordsTextEncoder()``
(1024 columns), so ``MultimodalEncoder()`` gives 1280-column joint embeddings
and needs no fitting. After ``fit`` the encoders in use are the fitted
attributes ``image_encoder_`` and ``text_encoder_`` (scikit-learn's
meta-estimator convention), which :func:`mmref.save` stores with the model.
"""

from __future__ import annotations

from typing import Any

import numpy.typing as npt

from ._atomic import publish, snapshot
from ._base import ParamsMixin
from ._frames import JointFeatureNamesMixin
from ._typing import ImageEncoder, TextEncoder
from .reference import joint_embedding

__all__ = ["MultimodalEncoder"]


class MultimodalEncoder(JointFeatureNamesMixin, ParamsMixin):
    """Compose an image encoder and a text encoder into one embedding model.

    Parameters
    ----------
    image_encoder : object with ``encode_image``, default=None
        ``None`` means ``RandomProjectionImageEncoder()`` with its defaults.
    text_encoder : object with ``encode_text``, default=None
        ``None`` means ``BagOfWordsTextEncoder()`` with its defaults.

    Attributes
    ----------
    image_encoder_ : object
        Set by :meth:`fit`: the image encoder in use, ``image_encoder`` itself
        (fitted in place) or, when it is None, a new
        ``RandomProjectionImageEncoder()`` fitted on the training images.
    text_encoder_ : object
        Set by :meth:`fit`: ``text_encoder`` itself or, when it is None, a new
        ``BagOfWordsTextEncoder()``, fitted on the training texts.

    Notes
    -----
    Fitting is optional: the default encoders (random projection, feature
    hashing) have nothing to learn. Unfitted, the encoders given are used
    (and a missing one is replaced by a default one, created on first use);
    once fitted, ``image_encoder_`` and ``text_encoder_`` are used, so that
    the fitted state (the image width checked by ``n_features_in_``, a learned
    vocabulary) is part of the model and is saved by :func:`mmref.save`.
    ``fit`` is needed only for encoders that learn from data (a text encoder
    with a learned vocabulary or tf-idf weights) or to fix the image width.
    The encoders passed in are used, and fitted, in place.

    Examples
    --------
    >>> import numpy as np
    >>> from mmref import MultimodalEncoder
    >>> encoder = MultimodalEncoder()
    >>> joint = encoder.embed(np.zeros((2, 8, 8)), ["a red circle", "一个红色的圆"])
    >>> joint.shape
    (2, 1280)
    >>> encoder.fit(np.zeros((2, 16, 16))).image_encoder_.n_features_in_
    256
    """

    # Works unfitted: fit only matters for encoders that learn from data.
    _mmref_requires_fit_ = False
    # The defaults used before fit have no state: a pure function of nothing.
    _mmref_regenerable_ = ("_default_image_encoder", "_default_text_encoder")

    def __init__(
        self, image_encoder: ImageEncoder | None = None, text_encoder: TextEncoder | None = None
    ) -> None:
        self.image_encoder = image_encoder
        self.text_encoder = text_encoder

    def fit(self, image: Any = None, text: Any = None) -> MultimodalEncoder:
        """Set ``image_encoder_`` and ``text_encoder_``, fitting those with a ``fit`` method.

        Parameters
        ----------
        image : array-like, default=None
            Training images for the image encoder; ``None`` skips fitting it.
        text : str or sequence of str, default=None
            Training texts for the text encoder; ``None`` skips fitting it.

        Returns
        -------
        self : MultimodalEncoder
        """
        from .image import RandomProjectionImageEncoder
        from .text import BagOfWordsTextEncoder

        # A default encoder is new at each fit, as scikit-learn clones its sub-estimators:
        # refitting on other data never changes an encoder fitted before.
        image_encoder: Any = self.image_encoder
        if image_encoder is None:
            image_encoder = RandomProjectionImageEncoder()
        text_encoder: Any = self.text_encoder
        if text_encoder is None:
            text_encoder = BagOfWordsTextEncoder()
        if image is not None and hasattr(image_encoder, "fit"):
            image_encoder.fit(image)
        if text is not None and hasattr(text_encoder, "fit"):
            text_encoder.fit(text)
        # Published last and in one step, so a failed fit leaves the previous fitted state
        # and a call running meanwhile sees the old pair of encoders or the new pair.
        publish(self, {"image_encoder_": image_encoder, "text_encoder_": text_encoder})
        return self

    def encode_image(self, image: Any) -> Any:
        """Embed images with the image encoder.

        Parameters
        ----------
        image : array-like
            One image or a batch, as the image encoder accepts.

        Returns
        -------
        embedding : ndarray of shape (n_samples, d_image)
        """
        return self._image_encoder().encode_image(image)

    def takes_flat_channels(self) -> bool:
        """Whether the image encoder in use declares ``takes_flat_channels()``.

        The image capability of :mod:`mmref.protocols`, delegated to the image
        encoder picked as :meth:`encode_image` picks it.

        Returns
        -------
        flat : bool
            The encoder's ``takes_flat_channels()``; False if it has no such method.
        """
        declared = getattr(self._image_encoder(), "takes_flat_channels", None)
        return callable(declared) and declared() is True

    def encode_text(self, text: Any) -> Any:
        """Embed texts with the text encoder.

        Parameters
        ----------
        text : str or sequence of str
            One text or a batch.

        Returns
        -------
        embedding : ndarray of shape (n_samples, d_text)
        """
        return self._text_encoder().encode_text(text)

    def embed(self, image: Any, text: Any) -> npt.NDArray[Any]:
        """Return ``joint_embedding(image, text, self)``.

        Parameters
        ----------
        image : array-like
            Images, one per text.
        text : str or sequence of str
            Texts, one per image.

        Returns
        -------
        joint : ndarray of shape (n_samples, d_image + d_text)
        """
        return joint_embedding(image, text, snapshot(self))  # one pair of encoders

    def _image_encoder(self) -> Any:
        """``image_encoder_`` once fitted, else ``image_encoder``, else a cached default."""
        fitted = self.__dict__.get("image_encoder_")
        if fitted is not None:
            return fitted
        if self.image_encoder is not None:
            return self.image_encoder
        default = self.__dict__.get("_default_image_encoder")
        if default is None:
            from .image import RandomProjectionImageEncoder

            default = self.__dict__["_default_image_encoder"] = RandomProjectionImageEncoder()
        return default

    def _text_encoder(self) -> Any:
        """``text_encoder_`` once fitted, else ``text_encoder``, else a cached default."""
        fitted = self.__dict__.get("text_encoder_")
        if fitted is not None:
            return fitted
        if self.text_encoder is not None:
            return self.text_encoder
        default = self.__dict__.get("_default_text_encoder")
        if default is None:
            from .text import BagOfWordsTextEncoder

            default = self.__dict__["_default_text_encoder"] = BagOfWordsTextEncoder()
        return default
