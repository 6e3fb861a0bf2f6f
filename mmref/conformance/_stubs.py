"""Stub models: fixed outputs, recorded calls (the leaf of the conformance kit).

The conformance kit (properties and golden vectors alike) passes these to the
``joint_embedding`` and ``multimodal_classification`` under test. They need
neither Hypothesis nor pytest; their public home is :mod:`mmref.testing`.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ._describe import literal

__all__ = ["StubClassificationModel", "StubEmbeddingModel", "StubPartialModel"]


class StubEmbeddingModel:
    """An embedding model that returns fixed outputs and records its calls.

    Each call returns a fresh copy, so an implementation that modifies the
    embedding in place cannot change what the next call returns.

    Parameters
    ----------
    image_output : array-like
        What ``encode_image`` returns (a copy of), whatever the input.
    text_output : array-like
        What ``encode_text`` returns (a copy of), whatever the input.

    Attributes
    ----------
    calls : list of (str, object)
        ``("encode_image", image)`` / ``("encode_text", text)`` per call, in
        call order, holding the very objects passed in.

    Examples
    --------
    >>> import numpy as np
    >>> from mmref.testing import StubEmbeddingModel
    >>> model = StubEmbeddingModel(np.zeros((1, 2)), np.ones((1, 1), dtype=np.int8))
    >>> model.encode_text(["a"]).dtype
    dtype('int8')
    >>> [name for name, _ in model.calls]
    ['encode_text']
    >>> model
    StubEmbeddingModel(np.array([[0.0, 0.0]], dtype=np.float64), np.array([[1]], dtype=np.int8))
    """

    def __init__(self, image_output: Any, text_output: Any) -> None:
        self.image_output = image_output
        self.text_output = text_output
        self.calls: list[tuple[str, Any]] = []

    def encode_image(self, image: Any) -> Any:
        """Record the call and return a copy of ``image_output``."""
        self.calls.append(("encode_image", image))
        return _copy(self.image_output)

    def encode_text(self, text: Any) -> Any:
        """Record the call and return a copy of ``text_output``."""
        self.calls.append(("encode_text", text))
        return _copy(self.text_output)

    def __repr__(self) -> str:
        return f"StubEmbeddingModel({literal(self.image_output)}, {literal(self.text_output)})"


class StubClassificationModel:
    """A classification model that returns fixed scores and records its calls.

    Parameters
    ----------
    scores : array-like of shape (n_samples, n_classes)
        What ``predict`` returns (a copy of), whatever the input.

    Attributes
    ----------
    calls : list of object
        The very objects ``predict`` was called with, in call order.

    Examples
    --------
    >>> import numpy as np
    >>> from mmref.testing import StubClassificationModel
    >>> StubClassificationModel(np.array([[0.5, -np.inf]]))
    StubClassificationModel(np.array([[0.5, -np.inf]], dtype=np.float64))
    """

    def __init__(self, scores: Any) -> None:
        self.scores = scores
        self.calls: list[Any] = []

    def predict(self, X: Any) -> Any:
        """Record the call and return a copy of ``scores``."""
        self.calls.append(X)
        return _copy(self.scores)

    def __repr__(self) -> str:
        return f"StubClassificationModel({literal(self.scores)})"


def _copy(value: Any) -> Any:
    return value.copy() if isinstance(value, np.ndarray) else value


class StubPartialModel:
    """A model with only the methods named in ``methods``; records which were called.

    The conformance kit checks with it that a model lacking a method of the protocol is
    refused before any method is called (the ``rejects_missing_method`` properties).

    Parameters
    ----------
    methods : dict of str to array-like
        Each method the model has, and what it returns (a copy of), whatever the input.

    Attributes
    ----------
    calls : list of str
        The names of the methods called, in call order.

    Examples
    --------
    >>> import numpy as np
    >>> from mmref.testing import StubPartialModel
    >>> model = StubPartialModel({"encode_image": np.zeros((1, 2))})
    >>> model.encode_image(None).shape, hasattr(model, "encode_text"), model.calls
    ((1, 2), False, ['encode_image'])
    """

    def __init__(self, methods: dict[str, Any]) -> None:
        self.methods = methods
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        methods = self.__dict__.get("methods", {})
        if name not in methods:
            raise AttributeError(name)

        def method(*args: Any) -> Any:
            self.calls.append(name)
            return copy.deepcopy(methods[name])

        return method

    def __repr__(self) -> str:
        methods = ", ".join(f"{k!r}: {literal(v)}" for k, v in self.methods.items())
        return f"StubPartialModel({{{methods}}})"
