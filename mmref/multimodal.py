"""MultimodalEncoder: one image encoder and one text encoder as one EmbeddingModel.

``MultimodalEncoder(image_encoder, text_encoder)`` implements the
:class:`~mmref.protocols.EmbeddingModel` protocol by delegation::

    encode_image(image) = image_encoder.encode_image(image)     # (n, d_image)
    encode_text(text)   = text_encoder.encode_text(text)        # (n, d_text)
    embed(image, text)  = joint_embedding(image, text, self)    # (n, d_image + d_text)

The defaults are the two mmref encoders with their default settings,
``RandomProjectionImageEncoder()`` (256 columns) and ``BagOfWordsTextEncoder()``
(1024 columns), so ``MultimodalEncoder()`` gives 1280-column joint embeddings
and needs no fitting.
"""

from __future__ import annotations

from typing import Any

import numpy.typing as npt

from ._base import ParamsMixin
from .reference import joint_embedding

__all__ = ["MultimodalEncoder"]


class MultimodalEncoder(ParamsMixin):
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
        The image encoder in use: ``image_encoder``, or the default one.
    text_encoder_ : object
        The text encoder in use: ``text_encoder``, or the default one.

    Notes
    -----
    Fitting is optional: the default encoders (random projection, feature
    hashing) have nothing to learn. ``fit`` is needed only for encoders that
    learn from data (a text encoder with a learned vocabulary or tf-idf
    weights). The encoders passed in are used, and fitted, in place.

    Examples
    --------
    >>> import numpy as np
    >>> from mmref import MultimodalEncoder
    >>> encoder = MultimodalEncoder()
    >>> joint = encoder.embed(np.zeros((2, 8, 8)), ["a red circle", "一个红色的圆"])
    >>> joint.shape
    (2, 1280)
    """

    # Works unfitted: fit only matters for encoders that learn from data.
    _mmref_requires_fit_ = False

    def __init__(self, image_encoder: Any = None, text_encoder: Any = None) -> None:
        self.image_encoder = image_encoder
        self.text_encoder = text_encoder

    @property
    def image_encoder_(self) -> Any:
        """The image encoder in use (created on first access when ``image_encoder`` is None)."""
        if self.image_encoder is not None:
            return self.image_encoder
        default = self.__dict__.get("_default_image_encoder")
        if default is None:
            from .image import RandomProjectionImageEncoder

            default = self.__dict__["_default_image_encoder"] = RandomProjectionImageEncoder()
        return default

    @property
    def text_encoder_(self) -> Any:
        """The text encoder in use (created on first access when ``text_encoder`` is None)."""
        if self.text_encoder is not None:
            return self.text_encoder
        default = self.__dict__.get("_default_text_encoder")
        if default is None:
            from .text import BagOfWordsTextEncoder

            default = self.__dict__["_default_text_encoder"] = BagOfWordsTextEncoder()
        return default

    def fit(self, image: Any = None, text: Any = None) -> MultimodalEncoder:
        """Fit whichever encoders have a ``fit`` method on the given data.

        Parameters
        ----------
        image : array-like, default=None
            Training images for the image encoder; ``None`` skips it.
        text : str or sequence of str, default=None
            Training texts for the text encoder; ``None`` skips it.

        Returns
        -------
        self : MultimodalEncoder
        """
        if image is not None and hasattr(self.image_encoder_, "fit"):
            self.image_encoder_.fit(image)
        if text is not None and hasattr(self.text_encoder_, "fit"):
            self.text_encoder_.fit(text)
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
        return self.image_encoder_.encode_image(image)

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
        return self.text_encoder_.encode_text(text)

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
        return joint_embedding(image, text, self)
