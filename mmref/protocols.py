"""The model protocol that the two reference functions call.

A model is any object with the methods below; nothing needs to inherit from
these classes. They are :func:`typing.runtime_checkable`, so
``isinstance(model, EmbeddingModel)`` tells whether the methods exist (not
whether they honour the shape contract: the conformance kit checks that).

Shape contract
--------------
``encode_image(image)``
    returns an array-like of shape ``(n_samples, d_image)``.
``encode_text(text)``
    returns an array-like of shape ``(n_samples, d_text)`` with the same
    ``n_samples`` as ``encode_image`` for the paired input.
``predict(X)``
    returns an array-like of shape ``(n_samples, n_classes)`` of finite class
    scores, ``n_classes >= 1``; column ``j`` scores class ``j``.

Array-likes (NumPy arrays, nested lists, objects with ``__array__`` such as
CPU tensors) are converted with ``np.asarray``.

Optional capability
-------------------
``takes_flat_channels()``
    returns True if the model wants a batch of channel images ``(n, H, W, C)``
    as ``(n, H, W*C)``: the same pixels in the same (C) order, with the channels
    of a row side by side. ``mmref embed`` and :func:`mmref.dask.embed_files` reshape such a
    batch before calling ``encode_image`` only for a model that declares this;
    every other model (no such method, or False) gets the batch unchanged.
    :class:`mmref.RandomProjectionImageEncoder` declares it when its
    ``image_shape`` is None; :class:`mmref.MultimodalEncoder` and
    :class:`mmref.AlignedEncoder` pass on their image encoder's answer.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["ClassificationModel", "EmbeddingModel"]


@runtime_checkable
class EmbeddingModel(Protocol):
    """A model that embeds images and texts; what :func:`mmref.joint_embedding` calls.

    Examples
    --------
    >>> import numpy as np
    >>> from mmref import EmbeddingModel
    >>> class Constant:
    ...     def encode_image(self, image):
    ...         return np.ones((len(image), 2))
    ...     def encode_text(self, text):
    ...         return np.zeros((len(text), 3))
    >>> isinstance(Constant(), EmbeddingModel)
    True
    """

    def encode_image(self, image: Any) -> Any:
        """Embed a batch of images.

        Parameters
        ----------
        image : array-like
            One image or a batch of images, in whatever form the model accepts.

        Returns
        -------
        embedding : array-like of shape (n_samples, d_image)
            One row per image. Must be 2-D even for a single image (``n_samples = 1``).
        """
        ...

    def encode_text(self, text: Any) -> Any:
        """Embed a batch of texts.

        Parameters
        ----------
        text : str or sequence of str
            One text or a batch of texts.

        Returns
        -------
        embedding : array-like of shape (n_samples, d_text)
            One row per text. Must be 2-D even for a single text (``n_samples = 1``).
        """
        ...


@runtime_checkable
class ClassificationModel(Protocol):
    """A model that scores classes; what :func:`mmref.multimodal_classification` calls.

    Examples
    --------
    >>> import numpy as np
    >>> from mmref import ClassificationModel
    >>> class FirstColumnWins:
    ...     def predict(self, X):
    ...         return np.eye(2)[np.zeros(len(X), dtype=int)]
    >>> isinstance(FirstColumnWins(), ClassificationModel)
    True
    """

    def predict(self, X: Any) -> Any:
        """Score every class for every sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Typically a joint embedding.

        Returns
        -------
        scores : array-like of shape (n_samples, n_classes)
            Finite real scores, ``n_classes >= 1``; larger means more likely.
            Column ``j`` belongs to class ``j``.
        """
        ...
