"""Zero-shot classification in a shared image-text space (CLIP's recipe).

CLIP (Radford et al., 2021) classifies an image without any labelled training
example: every class is described by a text prompt ("a photo of a circle"),
the prompts and the image are embedded in the shared space, and the class
whose prompt embedding is most cosine-similar to the image embedding wins.
With several prompts per class, the class embedding is the mean of the
L2-normalized prompt embeddings, normalized again (prompt ensembling).

For an image embedding ``u`` and class embeddings ``c_1 .. c_m``, all
L2-normalized (zero rows stay zero), the scores are::

    score[j] = u . c_j            # cosine similarity, in [-1, 1]

so the scores form a ``(n_samples, n_classes)`` array for
:func:`mmref.multimodal_classification`, column ``j`` belonging to
``classes_[j]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ._atomic import snapshot
from ._base import ParamsMixin
from ._numeric import normalize_rows
from ._typing import EmbeddingModel, FloatArray
from ._validation import describe, model_output, param_error

__all__ = ["ZeroShotClassifier"]


class ZeroShotClassifier(ParamsMixin):
    """Score classes by the cosine similarity of images to text prompts, with no training.

    Parameters
    ----------
    aligned_encoder : EmbeddingModel
        An encoder whose image and text embeddings share one space, typically
        a fitted :class:`mmref.alignment.AlignedEncoder`. Its
        ``encode_text`` embeds the prompts and its ``encode_image`` the images.
    class_prompts : sequence of str or mapping
        One prompt per class (then the classes are the prompts themselves), or
        a mapping from each class to a prompt or a non-empty sequence of
        prompts, whose normalized embeddings are averaged. The class order is
        the sequence's or the mapping's iteration order.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The classes, in column order of :meth:`predict`.

    Notes
    -----
    Nothing is fitted: every :meth:`predict` embeds the prompts anew (one
    ``encode_text`` call on all of them), so the classifier always follows
    the current state of ``aligned_encoder``.

    :func:`mmref.save` stores the classifier as its two parameters, when
    ``aligned_encoder`` is an mmref model and ``class_prompts`` a sequence of
    str or a mapping with str keys (its order is kept).

    Examples
    --------
    >>> import numpy as np
    >>> import mmref
    >>> from mmref.zeroshot import ZeroShotClassifier
    >>> class Shared:
    ...     def encode_image(self, image):
    ...         return np.asarray(image, dtype=float)
    ...     def encode_text(self, text):
    ...         return np.array([[1.0, 0.0] if "red" in t else [0.0, 1.0] for t in text])
    >>> zs = ZeroShotClassifier(Shared(), {"red": ["red", "a red thing"], "blue": "blue"})
    >>> zs.predict([[2.0, 0.0], [1.0, 3.0]])
    array([[1.        , 0.        ],
           [0.31622777, 0.9486833 ]])
    >>> indices = mmref.multimodal_classification([[2.0, 0.0], [1.0, 3.0]], None, zs)
    >>> zs.classes_[indices]
    array(['red', 'blue'], dtype='<U4')
    """

    def __init__(self, aligned_encoder: EmbeddingModel, class_prompts: Any) -> None:
        self.aligned_encoder = aligned_encoder
        self.class_prompts = class_prompts

    @property
    def classes_(self) -> npt.NDArray[Any]:
        """The classes, in the column order of :meth:`predict`."""
        classes, _ = self._parse_prompts()
        return np.asarray(classes)

    def encode_classes(self) -> FloatArray:
        """Embed every class's prompts and return one L2-normalized row per class.

        Returns
        -------
        class_embeddings : ndarray of shape (n_classes, d)
            Row ``j`` is the normalized mean of the normalized embeddings of
            the prompts of ``classes_[j]``.
        """
        _, groups = self._parse_prompts()
        prompts = [prompt for group in groups for prompt in group]
        embedded = model_output(self.aligned_encoder.encode_text(prompts), method="encode_text")
        if embedded.shape[0] != len(prompts):
            raise ValueError(
                f"aligned_encoder.encode_text returned {embedded.shape[0]} rows for "
                f"{len(prompts)} prompts; expected one row per prompt."
            )
        unit = normalize_rows(_finite_float(embedded, method="encode_text"), copy=False)
        # Sum each class's consecutive rows; the scale of the mean is removed by normalizing.
        starts = np.cumsum([0] + [len(group) for group in groups[:-1]])
        return normalize_rows(np.add.reduceat(unit, starts, axis=0), copy=False)

    def predict(self, X: Any) -> FloatArray:
        """Cosine similarity of each image to each class.

        Parameters
        ----------
        X : object
            A batch of images, in whatever form ``aligned_encoder.encode_image``
            accepts.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes), dtype float64
            ``scores[i, j]`` is the cosine similarity of image ``i`` and class
            ``classes_[j]``, in ``[-1, 1]`` (``0`` for a zero embedding).
        """
        # One state of the aligned encoder for the classes and the images, even if it is
        # refitted meanwhile (it publishes its fitted state in one step).
        model = snapshot(self)
        model.aligned_encoder = snapshot(model.aligned_encoder)
        classes = model.encode_classes()
        images = model_output(model.aligned_encoder.encode_image(X), method="encode_image")
        images = normalize_rows(_finite_float(images, method="encode_image"), copy=False)
        if images.shape[1] != classes.shape[1]:
            raise ValueError(
                f"aligned_encoder.encode_image returned {images.shape[1]} columns but "
                f"encode_text returned {classes.shape[1]}; a zero-shot classifier needs "
                f"image and text embeddings in one shared space (e.g. an AlignedEncoder)."
            )
        scores: FloatArray = images @ classes.T
        return scores

    def predict_labels(self, X: Any) -> npt.NDArray[Any]:
        """The best-scoring class of each image: ``classes_[argmax(predict(X), axis=1)]``."""
        result: npt.NDArray[Any] = self.classes_[np.argmax(self.predict(X), axis=1)]
        return result

    def score(self, X: Any, y: Any) -> float:
        """Accuracy of :meth:`predict_labels` against the true classes ``y``."""
        predicted = self.predict_labels(X)
        truth = np.asarray(y)
        if truth.shape != predicted.shape:
            raise ValueError(
                f"y has shape {truth.shape}; expected {predicted.shape}, one class per image."
            )
        return float(np.mean(predicted == truth)) if truth.size else 0.0

    def _parse_prompts(self) -> tuple[list[Any], list[list[str]]]:
        owner = type(self).__name__
        prompts = self.class_prompts
        expected = (
            "a non-empty sequence of str (one prompt per class) or a non-empty mapping "
            "from class to a str or a non-empty sequence of str"
        )
        if isinstance(prompts, np.ndarray) and prompts.ndim == 1:
            prompts = prompts.tolist()  # e.g. an array of label names
        if isinstance(prompts, Mapping):
            classes = list(prompts.keys())
            groups = [_prompt_group(prompts[c], c, owner, expected) for c in classes]
        elif isinstance(prompts, Sequence) and not isinstance(prompts, str | bytes):
            classes = list(prompts)
            groups = [
                _prompt_group(p, i, owner, expected, single=True) for i, p in enumerate(classes)
            ]
            if len(set(classes)) != len(classes):
                raise param_error(
                    owner, "class_prompts", f"{expected}, without duplicates", prompts
                )
        else:
            raise TypeError(
                f"The 'class_prompts' parameter of {owner} must be {expected}. Got "
                f"{describe(prompts)} of type {type(prompts).__name__} instead."
            )
        if not classes:
            raise param_error(owner, "class_prompts", expected, prompts)
        return classes, groups


def _prompt_group(
    value: Any, key: object, owner: str, expected: str, *, single: bool = False
) -> list[str]:
    if isinstance(value, str):
        return [value]
    is_group = isinstance(value, Sequence) and not isinstance(value, bytes)
    if single or not is_group or not all(isinstance(v, str) for v in value):
        raise TypeError(
            f"The 'class_prompts' parameter of {owner} must be {expected}; the entry for "
            f"{describe(key)} is {describe(value)} of type {type(value).__name__}."
        )
    if len(value) == 0:
        raise ValueError(
            f"The 'class_prompts' parameter of {owner} must be {expected}; the entry for "
            f"{describe(key)} is an empty sequence."
        )
    return list(value)


def _finite_float(array: npt.NDArray[Any], *, method: str) -> npt.NDArray[np.float64]:
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"aligned_encoder.{method} returned an array of dtype {array.dtype}; expected "
            f"real numbers."
        )
    result = np.array(array, dtype=np.float64)
    if not np.isfinite(result).all():
        raise ValueError(
            f"aligned_encoder.{method} returned NaN or infinity; expected finite embeddings."
        )
    return result
