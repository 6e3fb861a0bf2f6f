"""Adapters that make third-party models follow mmref's model protocol.

:func:`as_classification_model` wraps a fitted scikit-learn classifier so that
``predict`` returns class scores, as :func:`mmref.multimodal_classification`
expects::

    scores = estimator.predict_proba(X)             if it has predict_proba
           = estimator.decision_function(X)         otherwise
    scores = [-d, d] (two columns)                  if that is one column d

so column ``j`` scores ``estimator.classes_[j]`` and the argmax is the
estimator's own prediction (scikit-learn predicts ``classes_[1]`` for a binary
decision value ``d > 0``; ``[-d, d]`` picks column 1 exactly then).

:func:`as_embedding_model` wraps a model whose ``encode_image`` /
``encode_text`` return tensors (PyTorch, e.g. an open_clip model on the CPU)
or lists, and returns NumPy arrays: a tensor is converted with
``.detach().cpu().numpy()``, anything else with ``numpy.asarray`` (which uses
``__array__``). Nothing imports PyTorch.

Both check at wrap time that the methods exist, and raise ``TypeError`` naming
the missing one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from ._base import ParamsMixin
from ._typing import EmbeddingModel
from ._validation import check_fitted, describe, model_output

__all__ = [
    "ClassificationModelAdapter",
    "EmbeddingModelAdapter",
    "as_classification_model",
    "as_embedding_model",
    "to_numpy",
]


def as_classification_model(estimator: Any) -> ClassificationModelAdapter:
    """Wrap a fitted scikit-learn classifier as an mmref ``ClassificationModel``.

    Parameters
    ----------
    estimator : fitted classifier
        An object with ``classes_`` and ``predict_proba`` or
        ``decision_function`` (any fitted scikit-learn classifier or
        ``Pipeline`` ending in one).

    Returns
    -------
    model : ClassificationModelAdapter
        ``model.predict(X)`` returns scores of shape ``(n_samples, n_classes)``.

    Raises
    ------
    TypeError
        If ``estimator`` has neither ``predict_proba`` nor ``decision_function``.
    NotFittedError
        If ``estimator`` has no ``classes_`` (it is not fitted).

    Examples
    --------
    >>> import numpy as np
    >>> import mmref
    >>> from sklearn.svm import LinearSVC
    >>> from mmref.adapters import as_classification_model
    >>> X = np.array([[0.0], [1.0], [3.0], [4.0]])
    >>> model = as_classification_model(LinearSVC().fit(X, ["no", "no", "yes", "yes"]))
    >>> model.predict(X).shape
    (4, 2)
    >>> model.classes_[mmref.multimodal_classification(X, None, model)]
    array(['no', 'no', 'yes', 'yes'], dtype='<U3')
    """
    _classifier_method(estimator)
    check_fitted(estimator, "classes_")
    return ClassificationModelAdapter(estimator)


def as_embedding_model(
    model: EmbeddingModel,
    *,
    preprocess_image: Callable[[Any], Any] | None = None,
    preprocess_text: Callable[[Any], Any] | None = None,
) -> EmbeddingModelAdapter:
    """Wrap a model whose encoders return tensors or lists as an mmref ``EmbeddingModel``.

    Parameters
    ----------
    model : object
        An object with ``encode_image`` and ``encode_text``.
    preprocess_image : callable or None, default=None
        Applied to the images before ``model.encode_image`` (e.g. open_clip's
        ``preprocess`` stacked into a batch tensor).
    preprocess_text : callable or None, default=None
        Applied to the texts before ``model.encode_text`` (e.g. open_clip's
        tokenizer).

    Returns
    -------
    model : EmbeddingModelAdapter
        Its ``encode_image`` / ``encode_text`` return NumPy arrays.

    Raises
    ------
    TypeError
        If ``model`` lacks ``encode_image`` or ``encode_text``, or a
        ``preprocess_*`` argument is not callable.

    Examples
    --------
    >>> import numpy as np
    >>> import mmref
    >>> from mmref.adapters import as_embedding_model
    >>> class ListModel:
    ...     def encode_image(self, image):
    ...         return [[float(np.sum(i)), 1.0] for i in image]
    ...     def encode_text(self, text):
    ...         return [[float(len(t))] for t in text]
    >>> model = as_embedding_model(ListModel())
    >>> mmref.joint_embedding(np.ones((2, 2, 2)), ["a", "bcd"], model)
    array([[4., 1., 1.],
           [4., 1., 3.]])

    With open_clip (on the CPU, under ``torch.no_grad()``)::

        clip, _, preprocess = open_clip.create_model_and_transforms("ViT-B-32")
        model = as_embedding_model(
            clip,
            preprocess_image=lambda images: torch.stack(
                [preprocess(PIL.Image.fromarray(i)) for i in images]),
            preprocess_text=open_clip.get_tokenizer("ViT-B-32"),
        )
    """
    missing = [m for m in ("encode_image", "encode_text") if not _has_method(model, m)]
    if missing:
        raise TypeError(
            f"as_embedding_model needs a model with encode_image and encode_text methods; "
            f"{describe(model)} of type {type(model).__name__} has no "
            f"{' or '.join(missing)} method."
        )
    for name, value in (
        ("preprocess_image", preprocess_image),
        ("preprocess_text", preprocess_text),
    ):
        if value is not None and not callable(value):
            raise TypeError(
                f"The '{name}' parameter of as_embedding_model must be a callable or None. "
                f"Got {describe(value)} of type {type(value).__name__} instead."
            )
    return EmbeddingModelAdapter(
        model, preprocess_image=preprocess_image, preprocess_text=preprocess_text
    )


class ClassificationModelAdapter(ParamsMixin):
    """A fitted classifier whose ``predict`` returns ``(n_samples, n_classes)`` scores.

    Made by :func:`as_classification_model`; see there.

    Parameters
    ----------
    estimator : fitted classifier
        With ``classes_`` and ``predict_proba`` or ``decision_function``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        ``estimator.classes_``: column ``j`` of the scores belongs to ``classes_[j]``.

    Notes
    -----
    The constructor only stores ``estimator`` (scikit-learn convention);
    :func:`as_classification_model` checks it.
    """

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator

    @property
    def classes_(self) -> npt.NDArray[Any]:
        """The estimator's classes, in score column order."""
        return np.asarray(self.estimator.classes_)

    def predict(self, X: Any) -> npt.NDArray[Any]:
        """Score every class for every sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            What the estimator accepts.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes)
            Probabilities, or decision values (``[-d, d]`` for a binary
            decision value ``d``); column ``j`` belongs to ``classes_[j]``.
        """
        method = _classifier_method(self.estimator)
        scores = np.asarray(getattr(self.estimator, method)(X))
        if scores.ndim == 1 or (scores.ndim == 2 and scores.shape[1] == 1):
            decision = scores.reshape(-1)
            scores = np.column_stack((-decision, decision))
        return model_output(scores, method=method)


class EmbeddingModelAdapter(ParamsMixin):
    """An embedding model whose outputs are converted to NumPy arrays.

    Made by :func:`as_embedding_model`; see there.

    Parameters
    ----------
    model : object
        With ``encode_image`` and ``encode_text``.
    preprocess_image, preprocess_text : callable or None, default=None
        Applied to the inputs first.

    Notes
    -----
    The constructor only stores its arguments (scikit-learn convention);
    :func:`as_embedding_model` checks them.
    """

    def __init__(
        self,
        model: EmbeddingModel,
        *,
        preprocess_image: Callable[[Any], Any] | None = None,
        preprocess_text: Callable[[Any], Any] | None = None,
    ) -> None:
        self.model = model
        self.preprocess_image = preprocess_image
        self.preprocess_text = preprocess_text

    def encode_image(self, image: Any) -> npt.NDArray[Any]:
        """``model.encode_image`` of the (preprocessed) images, as a NumPy array.

        Returns
        -------
        embedding : ndarray of shape (n_samples, d_image)
        """
        if self.preprocess_image is not None:
            image = self.preprocess_image(image)
        return to_numpy(self.model.encode_image(image), what="model.encode_image")

    def encode_text(self, text: Any) -> npt.NDArray[Any]:
        """``model.encode_text`` of the (preprocessed) texts, as a NumPy array.

        Returns
        -------
        embedding : ndarray of shape (n_samples, d_text)
        """
        if self.preprocess_text is not None:
            text = self.preprocess_text(text)
        return to_numpy(self.model.encode_text(text), what="model.encode_text")


def to_numpy(value: Any, *, what: str = "value") -> npt.NDArray[Any]:
    """Convert a tensor, an array-like or a list of tensors to a NumPy array, without torch.

    A tensor-like object (one with ``detach``) becomes
    ``value.detach().cpu().numpy()`` (through ``.float()`` first if NumPy has
    no matching dtype, as for bfloat16); a list or tuple holding tensors is
    converted element by element and stacked; anything else goes through
    ``numpy.asarray`` (which uses ``__array__``).

    Parameters
    ----------
    value : object
        A tensor, array-like, or list or tuple of them.
    what : str, default="value"
        How to name ``value`` in an error message.

    Returns
    -------
    array : ndarray

    Raises
    ------
    TypeError
        If the value cannot be converted.

    Examples
    --------
    >>> from mmref.adapters import to_numpy
    >>> to_numpy([[1, 2], [3, 4]])
    array([[1, 2],
           [3, 4]])
    """
    try:
        if _has_method(value, "detach"):
            return _tensor_to_numpy(value)
        if isinstance(value, list | tuple) and any(_has_method(v, "detach") for v in value):
            return np.asarray([_tensor_to_numpy(v) for v in value])
        return np.asarray(value)
    except (TypeError, ValueError, RuntimeError, AttributeError) as exc:
        raise TypeError(
            f"{what} returned {describe(value)} of type {type(value).__name__}, which cannot "
            f"be converted to a NumPy array ({exc})."
        ) from None


# -- internals ------------------------------------------------------------------------------


def _has_method(obj: Any, name: str) -> bool:
    return callable(getattr(obj, name, None))


def _classifier_method(estimator: Any) -> str:
    # hasattr, not a class check: scikit-learn hides predict_proba (available_if)
    # on estimators that cannot compute it, such as SVC(probability=False).
    for method in ("predict_proba", "decision_function"):
        if _has_method(estimator, method):
            return method
    raise TypeError(
        f"as_classification_model needs a fitted classifier with a predict_proba or "
        f"decision_function method; {describe(estimator)} of type "
        f"{type(estimator).__name__} has neither predict_proba nor decision_function."
    )


def _tensor_to_numpy(tensor: Any) -> npt.NDArray[Any]:
    if not _has_method(tensor, "detach"):
        return np.asarray(tensor)
    cpu = tensor.detach().cpu()
    try:
        return np.asarray(cpu.numpy())
    except TypeError:  # a dtype NumPy lacks (bfloat16): widen to float32 first
        if not _has_method(cpu, "float"):
            raise
        return np.asarray(cpu.float().numpy())
