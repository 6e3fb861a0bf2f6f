"""scikit-learn's feature names and ``set_output`` protocol, without importing scikit-learn.

:class:`FeatureNamesMixin` gives a transformer:

- ``get_feature_names_out(input_features=None)``: ``<prefix>0 .. <prefix>{k-1}`` as an
  object array, for the ``k`` output columns (``image0..image255`` for the image
  encoder, ``text0..text1023`` for the text encoder). ``input_features`` is ignored:
  the output columns are projections or hashed terms, not input columns.
- ``set_output(*, transform=None)``: ``"default"`` (NumPy), ``"pandas"`` or
  ``"polars"``; stored in the attribute ``_sklearn_output_config``, the one
  scikit-learn's ``clone``, ``Pipeline`` and ``ColumnTransformer`` read and copy.
  ``None`` leaves the configuration unchanged.

Every ``transform`` and ``fit_transform`` a subclass defines is wrapped (as
scikit-learn's ``_SetOutputMixin`` does): with ``"pandas"`` a dense NumPy result
becomes a ``pandas.DataFrame`` whose columns are ``get_feature_names_out()`` and
whose index is the input's when the input is a pandas DataFrame; with
``"polars"`` a ``polars.DataFrame``. With no configuration of its own the
estimator follows ``sklearn.set_config(transform_output=...)`` if scikit-learn
has been imported by then, else returns NumPy arrays.

:class:`JointFeatureNamesMixin` names a ``MultimodalEncoder``'s joint columns
``image__image0, ..., text__text0, ...``.

:func:`one_column` turns a 2-D input holding one column of strings (a one-column
DataFrame, an ``(n, 1)`` array) into the list of its rows, so that a text encoder
embeds captions row by row, never a frame's header.
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

__all__ = ["FeatureNamesMixin", "JointFeatureNamesMixin", "one_column"]

_CONTAINERS = ("default", "pandas", "polars")


class FeatureNamesMixin:
    """``get_feature_names_out`` and ``set_output`` for an mmref transformer.

    A subclass sets ``_mmref_feature_prefix_`` and implements
    ``_mmref_n_features_out()``, the number of output columns.
    """

    _mmref_feature_prefix_: ClassVar[str] = "x"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in ("transform", "fit_transform"):
            method = cls.__dict__.get(name)
            if method is not None and not hasattr(method, "__mmref_wrapped__"):
                setattr(cls, name, _wrap(method))

    def _mmref_n_features_out(self) -> int:
        raise NotImplementedError  # pragma: no cover - every subclass defines it

    def get_feature_names_out(self, input_features: Any = None) -> npt.NDArray[np.object_]:
        """Output feature names (scikit-learn convention): ``<prefix>0``, ``<prefix>1``, ...

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Ignored: each output column mixes every input column.

        Returns
        -------
        names : ndarray of str objects, shape (n_features_out,)
        """
        prefix = type(self)._mmref_feature_prefix_
        return np.asarray([f"{prefix}{i}" for i in range(self._mmref_n_features_out())], object)

    def set_output(self, *, transform: str | None = None) -> Any:
        """Choose the container ``transform`` and ``fit_transform`` return (scikit-learn API).

        Parameters
        ----------
        transform : {"default", "pandas", "polars"} or None, default=None
            ``"default"``: NumPy arrays; ``"pandas"`` / ``"polars"``: DataFrames
            whose columns are ``get_feature_names_out()``; ``None``: unchanged.

        Returns
        -------
        self : estimator instance
        """
        if transform is None:
            return self
        if transform not in _CONTAINERS:
            raise ValueError(
                f"The 'transform' parameter of {type(self).__name__}.set_output must be one "
                f"of 'default', 'pandas', 'polars' or None. Got {transform!r} instead."
            )
        config = dict(getattr(self, "_sklearn_output_config", {}))
        config["transform"] = transform
        self._sklearn_output_config = config
        return self


class JointFeatureNamesMixin:
    """``get_feature_names_out`` for a joint embedding: ``image__<name>`` then ``text__<name>``.

    The subclass provides ``_image_encoder()`` and ``_text_encoder()``, the encoders in use.
    """

    def get_feature_names_out(self, input_features: Any = None) -> npt.NDArray[np.object_]:
        """Names of the joint embedding's columns: the image encoder's, then the text encoder's.

        Parameters
        ----------
        input_features : None
            Ignored.

        Returns
        -------
        names : ndarray of str objects, shape (d_image + d_text,)
            ``image__image0, ..., text__text0, ...`` (scikit-learn's prefix style).
        """
        parts = []
        for prefix, encoder in (("image", self._image_encoder()), ("text", self._text_encoder())):
            names = getattr(encoder, "get_feature_names_out", None)
            if not callable(names):
                raise AttributeError(
                    f"the {prefix} encoder {type(encoder).__name__} has no get_feature_names_out"
                )
            parts += [f"{prefix}__{name}" for name in names()]
        return np.asarray(parts, dtype=object)

    def _image_encoder(self) -> Any:
        raise NotImplementedError  # pragma: no cover - the subclass defines it

    def _text_encoder(self) -> Any:
        raise NotImplementedError  # pragma: no cover - the subclass defines it


def one_column(texts: Any) -> Any:
    """The rows of a 2-D one-column input as a list; any other input unchanged.

    Raises TypeError for a 2-D input with more or fewer than one column.
    """
    shape = getattr(texts, "shape", None)
    if isinstance(texts, str) or not isinstance(shape, tuple) or len(shape) != 2:
        return texts
    if shape[1] != 1:
        raise TypeError(
            f"texts has shape {shape}; a 2-D input must hold exactly one column of strings "
            f"(one caption per row)"
        )
    iloc = getattr(texts, "iloc", None)
    if iloc is not None:  # pandas
        return list(iloc[:, 0])
    to_series = getattr(texts, "to_series", None)
    if callable(to_series):  # polars
        return list(to_series(0))
    return list(np.asarray(texts, dtype=object)[:, 0])


def _wrap(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapped(self: Any, X: Any, *args: Any, **kwargs: Any) -> Any:
        out = method(self, X, *args, **kwargs)
        container = _container(self)
        if container == "default" or not isinstance(out, np.ndarray):
            if container == "pandas" and type(out).__module__.startswith("pandas"):
                # Wrapped by an inner call that saw the texts as a list: the input's index.
                index = _pandas_index(X, len(out))
                if index is not None:
                    out.index = index
            return out
        names = list(self.get_feature_names_out())
        if container == "pandas":
            pd: Any = importlib.import_module("pandas")
            return pd.DataFrame(out, columns=names, index=_pandas_index(X, len(out)), copy=False)
        pl: Any = importlib.import_module("polars")
        return pl.DataFrame(out, schema=names, orient="row")

    wrapped.__mmref_wrapped__ = True  # type: ignore[attr-defined]
    return wrapped


def _pandas_index(X: Any, n_rows: int) -> Any:
    """The input's pandas index if it has one of ``n_rows`` entries, else None."""
    if not type(X).__module__.startswith("pandas"):
        return None
    index = getattr(X, "index", None)
    return index if index is not None and len(index) == n_rows else None


def _container(estimator: Any) -> str:
    config = getattr(estimator, "_sklearn_output_config", {})
    chosen = config.get("transform")
    if chosen is None:
        sklearn = sys.modules.get("sklearn")  # never imported here: only followed if in use
        get_config = getattr(sklearn, "get_config", None)
        chosen = get_config().get("transform_output", "default") if callable(get_config) else None
    return str(chosen) if chosen in _CONTAINERS else "default"
