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

A PyTorch module (an instance of ``torch.nn.Module``, recognized only when the
program has imported torch) gets more from both adapters: its settings
(``image_shape``, ``input_dtype``, ``in_features``, ``out_features``) are read
from it unless given as keywords; NumPy inputs become tensors of its parameters'
dtype; it runs under ``torch.no_grad()``; a single image (of ``image_shape``) or
a single ``str`` is passed as a batch of one. The adapters claim cross-process
determinism (``__mmref_deterministic__``, SPEC.md 12.6) only when told
(``deterministic=True``) and the module is in eval mode, or when the wrapped
model claims it itself; never on the model's behalf.

Both check at wrap time that the methods exist, and raise ``TypeError`` naming
the missing one.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from typing import Any

import numpy as np
import numpy.typing as npt

from ._base import ParamsMixin
from ._typing import EmbeddingModel
from ._validation import (
    check_bool_param,
    check_fitted,
    check_int_param,
    describe,
    model_output,
    param_error,
)

__all__ = [
    "ClassificationModelAdapter",
    "EmbeddingModelAdapter",
    "ModuleClassificationModelAdapter",
    "as_classification_model",
    "as_embedding_model",
    "to_numpy",
]


def as_classification_model(
    estimator: Any,
    *,
    classes: Sequence[Any] | None = None,
    n_features: int | None = None,
    deterministic: bool | None = None,
) -> ClassificationModelAdapter | ModuleClassificationModelAdapter:
    """Wrap a fitted scikit-learn classifier or a PyTorch head as a ``ClassificationModel``.

    Parameters
    ----------
    estimator : fitted classifier or torch.nn.Module
        An object with ``classes_`` and ``predict_proba`` or
        ``decision_function`` (any fitted scikit-learn classifier or
        ``Pipeline`` ending in one); or a PyTorch module in eval mode that maps
        a batch ``(n, n_features)`` to scores ``(n, n_classes)`` (a linear head).
    classes : sequence, default=None
        PyTorch modules only: the class of each score column; None takes
        ``range(module.out_features)`` when the module has ``out_features``.
    n_features : int, default=None
        PyTorch modules only: the input width; None takes ``module.in_features``.
    deterministic : bool or None, default=None
        PyTorch modules only: True claims that the module gives the same scores
        in every process (SPEC.md 12.6); None claims it only if the module does
        (its own ``__mmref_deterministic__``).

    Returns
    -------
    model : ClassificationModelAdapter or ModuleClassificationModelAdapter
        ``model.predict(X)`` returns scores of shape ``(n_samples, n_classes)``.

    Raises
    ------
    TypeError
        If ``estimator`` has neither ``predict_proba`` nor ``decision_function``
        and is no PyTorch module, or a keyword is given for a scikit-learn
        estimator.
    ValueError
        If the module is in training mode (call ``module.eval()`` first), or its
        input width is unknown (pass ``n_features``).
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

    A PyTorch head::

        head = torch.nn.Linear(6, 3).eval()
        model = as_classification_model(head, classes=["cat", "dog", "bird"])
    """
    if _is_torch_module(estimator):
        return _module_classifier(estimator, classes, n_features, deterministic)
    given = [
        name
        for name, value in (
            ("classes", classes),
            ("n_features", n_features),
            ("deterministic", deterministic),
        )
        if value is not None
    ]
    if given:
        raise TypeError(
            f"as_classification_model takes {' and '.join(given)} for a PyTorch module only; "
            f"a fitted scikit-learn classifier has its own classes_ and n_features_in_."
        )
    _classifier_method(estimator)
    check_fitted(estimator, "classes_")
    return ClassificationModelAdapter(estimator)


def _module_classifier(
    module: Any, classes: Sequence[Any] | None, n_features: int | None, deterministic: bool | None
) -> ModuleClassificationModelAdapter:
    owner = "as_classification_model"
    if getattr(module, "training", False):
        raise ValueError(
            f"as_classification_model needs a module in eval mode; {type(module).__name__} is "
            f"in training mode, where dropout and batch norm make the scores random. Call "
            f"module.eval() first."
        )
    if n_features is None:
        n_features = getattr(module, "in_features", None)
        if n_features is None:
            raise ValueError(
                f"as_classification_model cannot tell the input width of "
                f"{type(module).__name__} (it has no in_features); pass n_features=."
            )
    n_features = check_int_param(n_features, name="n_features", owner=owner, min_value=1)
    if classes is None:
        width = getattr(module, "out_features", None)
        if isinstance(width, int) and not isinstance(width, bool):
            classes = list(range(width))
    elif not isinstance(classes, list | tuple | np.ndarray) or len(classes) == 0:
        raise TypeError(
            f"The 'classes' parameter of {owner} must be a non-empty list, tuple or array. "
            f"Got {describe(classes)} of type {type(classes).__name__} instead."
        )
    if deterministic is not None:
        check_bool_param(deterministic, name="deterministic", owner=owner)
    return ModuleClassificationModelAdapter(
        module, classes=classes, n_features=n_features, deterministic=deterministic
    )


def as_embedding_model(
    model: EmbeddingModel,
    *,
    preprocess_image: Callable[[Any], Any] | None = None,
    preprocess_text: Callable[[Any], Any] | None = None,
    image_shape: Sequence[int] | None = None,
    input_dtype: Any = None,
    deterministic: bool | None = None,
) -> EmbeddingModelAdapter:
    """Wrap a model whose encoders return tensors or lists as an mmref ``EmbeddingModel``.

    Parameters
    ----------
    model : object
        An object with ``encode_image`` and ``encode_text`` (a PyTorch module,
        say).
    preprocess_image : callable or None, default=None
        Applied to the images before ``model.encode_image`` (e.g. open_clip's
        ``preprocess`` stacked into a batch tensor).
    preprocess_text : callable or None, default=None
        Applied to the texts before ``model.encode_text`` (e.g. open_clip's
        tokenizer).
    image_shape : tuple of int, default=None
        The shape of one image the model takes; None takes ``model.image_shape``
        when it is a tuple. The adapter declares it (``adapter.image_shape``),
        so ``mmref conform`` draws images of that shape, and a PyTorch module
        gets a single image of that shape as a batch of one.
    input_dtype : dtype-like, default=None
        The dtype the images are converted to before the model sees them; None
        takes ``model.input_dtype`` if set, else (for a PyTorch module without
        ``preprocess_image``) the dtype of its parameters, else leaves the
        images as they are.
    deterministic : bool or None, default=None
        True claims that the model gives the same bytes in every process
        (SPEC.md 12.6), for a PyTorch module only while it is in eval mode;
        None claims it only if the model does (its own
        ``__mmref_deterministic__``); False never.

    Returns
    -------
    model : EmbeddingModelAdapter
        Its ``encode_image`` / ``encode_text`` return NumPy arrays.

    Raises
    ------
    TypeError
        If ``model`` lacks ``encode_image`` or ``encode_text``, a
        ``preprocess_*`` argument is not callable, or a setting has the wrong type.
    ValueError
        If ``image_shape`` holds a size below 1.

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
    owner = "as_embedding_model"
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
    if image_shape is None:
        declared = getattr(model, "image_shape", None)
        image_shape = declared if isinstance(declared, tuple) else None
    if image_shape is not None:
        image_shape = _check_shape(image_shape, owner)
    if input_dtype is None:
        input_dtype = getattr(model, "input_dtype", None)
    if input_dtype is None and preprocess_image is None and _is_torch_module(model):
        input_dtype = _module_dtype(model)  # with preprocess_image, the images are its business
    if input_dtype is not None:
        try:
            input_dtype = np.dtype(_numpy_dtype_name(input_dtype))
        except TypeError:
            raise TypeError(
                f"The 'input_dtype' parameter of {owner} must be a NumPy or PyTorch dtype or "
                f"None. Got {describe(input_dtype)} instead."
            ) from None
    if deterministic is not None:
        check_bool_param(deterministic, name="deterministic", owner=owner)
    return EmbeddingModelAdapter(
        model,
        preprocess_image=preprocess_image,
        preprocess_text=preprocess_text,
        image_shape=image_shape,
        input_dtype=input_dtype,
        deterministic=deterministic,
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


class ModuleClassificationModelAdapter(ParamsMixin):
    """A PyTorch head whose ``predict`` returns ``(n_samples, n_classes)`` scores as NumPy.

    Made by :func:`as_classification_model` for a ``torch.nn.Module``; see there.

    Parameters
    ----------
    module : torch.nn.Module
        In eval mode; maps ``(n, n_features)`` to ``(n, n_classes)``.
    classes : sequence or None, default=None
        The class of each score column.
    n_features : int or None, default=None
        The input width.
    deterministic : bool or None, default=None
        Whether to claim cross-process determinism (see :func:`as_classification_model`).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        ``classes`` as an array (absent when ``classes`` is None).
    n_features_in_ : int
        ``n_features``.
    """

    def __init__(
        self,
        module: Any,
        *,
        classes: Sequence[Any] | None = None,
        n_features: int | None = None,
        deterministic: bool | None = None,
    ) -> None:
        self.module = module
        self.classes = classes
        self.n_features = n_features
        self.deterministic = deterministic

    @property
    def classes_(self) -> npt.NDArray[Any]:
        """The class of each score column."""
        if self.classes is None:
            raise AttributeError("classes_: the adapter was made without classes")
        return np.asarray(self.classes)

    @property
    def n_features_in_(self) -> int | None:
        """The input width."""
        return self.n_features

    @property
    def __mmref_deterministic__(self) -> bool:
        return _claims(self.module, self.deterministic)

    def predict(self, X: Any) -> npt.NDArray[Any]:
        """``module(X)`` as a NumPy array, under ``torch.no_grad()``.

        Parameters
        ----------
        X : array-like or tensor of shape (n_samples, n_features)
            Converted to a tensor of the module's parameter dtype.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes)
        """
        with _no_grad(self.module):
            scores = self.module(_as_tensor(X, _module_dtype(self.module)))
        return model_output(to_numpy(scores, what="module(X)"), method="predict")


class EmbeddingModelAdapter(ParamsMixin):
    """An embedding model whose outputs are converted to NumPy arrays.

    Made by :func:`as_embedding_model`; see there.

    Parameters
    ----------
    model : object
        With ``encode_image`` and ``encode_text``.
    preprocess_image, preprocess_text : callable or None, default=None
        Applied to the inputs first.
    image_shape : tuple of int or None, default=None
        The shape of one image (declared to ``mmref conform``).
    input_dtype : numpy.dtype or None, default=None
        The dtype images are converted to first.
    deterministic : bool or None, default=None
        Whether to claim cross-process determinism (see :func:`as_embedding_model`).

    Notes
    -----
    The constructor only stores its arguments (scikit-learn convention);
    :func:`as_embedding_model` checks them and reads the defaults from the model.
    """

    def __init__(
        self,
        model: EmbeddingModel,
        *,
        preprocess_image: Callable[[Any], Any] | None = None,
        preprocess_text: Callable[[Any], Any] | None = None,
        image_shape: tuple[int, ...] | None = None,
        input_dtype: Any = None,
        deterministic: bool | None = None,
    ) -> None:
        self.model = model
        self.preprocess_image = preprocess_image
        self.preprocess_text = preprocess_text
        self.image_shape = image_shape
        self.input_dtype = input_dtype
        self.deterministic = deterministic

    @property
    def __mmref_deterministic__(self) -> bool:
        return _claims(self.model, self.deterministic)

    def encode_image(self, image: Any) -> npt.NDArray[Any]:
        """``model.encode_image`` of the (preprocessed) images, as a NumPy array.

        Returns
        -------
        embedding : ndarray of shape (n_samples, d_image)
        """
        module = _is_torch_module(self.model)
        if module and self.image_shape is not None and np.ndim(image) == len(self.image_shape):
            image = np.asarray(image)[np.newaxis]  # a single image, as a batch of one
        if self.input_dtype is not None and not _is_tensor(image):
            image = np.asarray(image, dtype=self.input_dtype)
        if self.preprocess_image is not None:
            image = self.preprocess_image(image)
        elif module:
            image = _as_tensor(image, None)
        with _no_grad(self.model):
            out = self.model.encode_image(image)
        return to_numpy(out, what="model.encode_image")

    def encode_text(self, text: Any) -> npt.NDArray[Any]:
        """``model.encode_text`` of the (preprocessed) texts, as a NumPy array.

        Returns
        -------
        embedding : ndarray of shape (n_samples, d_text)
        """
        if isinstance(text, str) and _is_torch_module(self.model):
            text = [text]  # a single text, as a batch of one
        if self.preprocess_text is not None:
            text = self.preprocess_text(text)
        with _no_grad(self.model):
            out = self.model.encode_text(text)
        return to_numpy(out, what="model.encode_text")


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
        f"decision_function method, or a PyTorch module; {describe(estimator)} of type "
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


def _is_torch_module(obj: Any) -> bool:
    # Only a program that imported torch can hold a module; mmref never imports it.
    torch = sys.modules.get("torch")
    nn = getattr(torch, "nn", None)
    return nn is not None and isinstance(obj, nn.Module)


def _is_tensor(obj: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.Tensor)


def _module_dtype(module: Any) -> Any:
    """The dtype of the module's first floating parameter (torch's default without one)."""
    torch = sys.modules["torch"]
    for parameter in module.parameters():
        if parameter.is_floating_point():
            return parameter.dtype
    return torch.get_default_dtype()


def _numpy_dtype_name(dtype: Any) -> Any:
    """A torch dtype (``torch.float32``) as the name NumPy knows (``"float32"``)."""
    text = str(dtype)
    return text[len("torch.") :] if text.startswith("torch.") else dtype


def _as_tensor(value: Any, dtype: Any) -> Any:
    torch = sys.modules["torch"]
    if not isinstance(value, torch.Tensor):
        value = torch.from_numpy(np.array(value, copy=True))
    return value if dtype is None else value.to(dtype)


def _no_grad(model: Any) -> Any:
    if _is_torch_module(model):
        return sys.modules["torch"].no_grad()
    return nullcontext()


def _claims(model: Any, deterministic: bool | None) -> bool:
    """Cross-process determinism: claimed when told (in eval mode), or by the model itself."""
    if deterministic is None:  # the model's own claim, as SPEC.md 12.6 reads it
        claim = getattr(model, "__mmref_deterministic__", None)
        if claim is None:
            return type(model).__module__.split(".")[0] == "mmref"
        return bool(claim)
    return bool(deterministic) and not getattr(model, "training", False)


def _check_shape(shape: Any, owner: str) -> tuple[int, ...]:
    try:
        result = tuple(shape)
    except TypeError:
        result = ()
    if not result or not all(isinstance(s, int) and not isinstance(s, bool) for s in result):
        raise TypeError(
            f"The 'image_shape' parameter of {owner} must be a tuple of ints or None. "
            f"Got {describe(shape)} instead."
        )
    if min(result) < 1:
        raise param_error(owner, "image_shape", "a tuple of sizes >= 1", shape)
    return tuple(int(s) for s in result)
