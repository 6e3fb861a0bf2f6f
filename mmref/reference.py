"""The two functions of the specification, exactly.

The source definitions are::

    def joint_embedding(image, text, model):
        image_embedding = model.encode_image(image)
        text_embedding = model.encode_text(text)
        return np.concatenate((image_embedding, text_embedding), axis=1)

    def multimodal_classification(joint_embedding, labels, model):
        predictions = model.predict(joint_embedding)
        return np.argmax(predictions, axis=1)

For every valid input the functions here return, bit for bit, what the source
returns. Where the source would fail with a cryptic NumPy message, or succeed
and mislead (a 1-D embedding concatenated along the wrong axis, a NaN score
turned into a plausible class), they raise a ``ValueError`` or ``TypeError``
that names the model method, the shape seen and what is expected.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ._typing import ClassificationModel, EmbeddingModel
from ._validation import check_no_nan_rows, check_real_array, model_output, shape_str

__all__ = ["joint_embedding", "multimodal_classification"]


def joint_embedding(image: Any, text: Any, model: EmbeddingModel) -> npt.NDArray[Any]:
    """Embed paired images and texts and concatenate the embeddings side by side.

    Calls ``model.encode_image(image)`` then ``model.encode_text(text)`` (in
    that order, once each) and returns
    ``np.concatenate((image_embedding, text_embedding), axis=1)``.

    Parameters
    ----------
    image : object
        Whatever ``model.encode_image`` accepts: one image or a batch.
    text : object
        Whatever ``model.encode_text`` accepts: one text or a batch.
    model : EmbeddingModel
        Any object with ``encode_image`` and ``encode_text`` methods returning
        2-D array-likes of shapes ``(n_samples, d_image)`` and
        ``(n_samples, d_text)``. Array-likes (lists, objects with
        ``__array__``) are converted with ``np.asarray``.

    Returns
    -------
    joint : ndarray of shape (n_samples, d_image + d_text)
        Columns ``[:d_image]`` are the image embedding and columns
        ``[d_image:]`` the text embedding, row for row. The dtype is
        ``np.result_type(image_embedding, text_embedding)``. ``n_samples = 0``
        gives an empty ``(0, d_image + d_text)`` array.

    Raises
    ------
    TypeError
        If ``model`` lacks either method, or an embedding is not numeric.
    ValueError
        If an embedding is not 2-D (a 1-D output for a single sample would be
        joined along the wrong axis by the source), or the two embeddings have
        different numbers of rows.

    Notes
    -----
    Embedding values are passed through unchanged: the reference does not
    normalize, cast or check them for finiteness, because the source does not.

    Examples
    --------
    >>> import numpy as np
    >>> import mmref
    >>> class Model:
    ...     def encode_image(self, image):
    ...         return np.asarray(image, dtype=float).reshape(len(image), -1)
    ...     def encode_text(self, text):
    ...         return np.array([[len(t)] for t in text])
    >>> mmref.joint_embedding([[1, 2], [3, 4]], ["a", "bcd"], Model())
    array([[1., 2., 1.],
           [3., 4., 3.]])
    """
    encode_image = _method(model, "encode_image", "EmbeddingModel")
    encode_text = _method(model, "encode_text", "EmbeddingModel")
    image_embedding = model_output(encode_image(image), method="encode_image")
    text_embedding = model_output(encode_text(text), method="encode_text")
    if image_embedding.shape[0] != text_embedding.shape[0]:
        raise ValueError(
            f"model.encode_image returned {image_embedding.shape[0]} rows (shape "
            f"{shape_str(image_embedding.shape)}) but model.encode_text returned "
            f"{text_embedding.shape[0]} rows (shape {shape_str(text_embedding.shape)}); "
            f"expected one row per image-text pair, the same number for both."
        )
    return np.concatenate((image_embedding, text_embedding), axis=1)


def multimodal_classification(
    joint_embedding: Any, labels: Any, model: ClassificationModel
) -> npt.NDArray[np.intp]:
    """Predict a class index for each row of a joint embedding.

    Calls ``model.predict(joint_embedding)`` once and returns
    ``np.argmax(predictions, axis=1)``.

    Parameters
    ----------
    joint_embedding : object
        Whatever ``model.predict`` accepts, typically the ``(n_samples, d)``
        output of :func:`joint_embedding`.
    labels : object
        Accepted for signature compatibility with the source and **not used**,
        exactly as in the source. The result is a column index into the
        model's scores, not a label: map it to class names yourself, e.g.
        ``np.asarray(class_names)[indices]`` (for mmref's classifiers,
        ``model.classes_[indices]``).
    model : ClassificationModel
        Any object with a ``predict`` method returning a 2-D array-like of
        shape ``(n_samples, n_classes)`` of real scores, ``n_classes >= 1``.

    Returns
    -------
    indices : ndarray of shape (n_samples,) and dtype intp
        The column of the highest score in each row. Ties resolve to the
        lowest column index (NumPy's rule). ``n_samples = 0`` gives an empty
        array.

    Raises
    ------
    TypeError
        If ``model`` has no ``predict`` method, or the scores are not real
        numbers.
    ValueError
        If the scores are not 2-D, have zero columns, have a different number
        of rows than ``joint_embedding``, or contain NaN (the source would
        silently return the index of the first NaN, turning a broken model
        into a plausible class). The message names the offending rows.

    Notes
    -----
    Infinite scores are valid and handled exactly as the source handles them:
    ``+inf`` wins, ``-inf`` (for example a log-probability of zero) loses.

    Examples
    --------
    >>> import numpy as np
    >>> import mmref
    >>> class Scores:
    ...     def predict(self, X):
    ...         return np.asarray(X)
    >>> mmref.multimodal_classification([[0.1, 0.9], [0.5, 0.5]], None, Scores())
    array([1, 0])
    """
    predict = _method(model, "predict", "ClassificationModel")
    predictions = model_output(predict(joint_embedding), method="predict")
    check_real_array(predictions, what="The output of model.predict")
    if predictions.shape[1] == 0:
        raise ValueError(
            f"model.predict returned an array of shape {shape_str(predictions.shape)} with "
            f"zero columns; expected scores of shape (n_samples, n_classes) with n_classes >= 1."
        )
    n_rows = _n_rows(joint_embedding)
    if n_rows is not None and n_rows != predictions.shape[0]:
        raise ValueError(
            f"model.predict returned {predictions.shape[0]} rows (shape "
            f"{shape_str(predictions.shape)}) for a joint_embedding of {n_rows} rows; "
            f"expected one row of scores per sample."
        )
    check_no_nan_rows(predictions, what="The output of model.predict")
    indices: npt.NDArray[np.intp] = np.argmax(predictions, axis=1)
    return indices


def _method(model: object, name: str, protocol: str) -> Any:
    method = getattr(model, name, None)
    if not callable(method):
        raise TypeError(
            f"model must implement {name}() (the {protocol} protocol); "
            f"got an object of type {type(model).__name__} without it."
        )
    return method


def _n_rows(x: object) -> int | None:
    """The number of samples in ``x`` if it has a shape, else None."""
    # Only an object with a shape says how many samples it holds: a list or tuple may be
    # a pair of inputs (or anything else) that the model's predict unpacks.
    shape = getattr(x, "shape", None)
    if isinstance(shape, tuple) and shape and isinstance(shape[0], int):
        return int(shape[0])
    return None
