"""scikit-learn conventions without depending on scikit-learn.

:class:`ParamsMixin` gives an estimator the parts of scikit-learn's
``BaseEstimator`` contract that tools rely on (``clone``, grid search,
``Pipeline``, ``ColumnTransformer``, ``check_estimator``):

- ``get_params(deep=True)`` returns the constructor arguments, read from the
  attributes of the same names (constructors store them unchanged, so
  ``type(est)(**est.get_params(deep=False))`` is an unfitted copy); with
  ``deep=True`` the parameters of nested estimators are added as
  ``<name>__<parameter>``.
- ``set_params(**params)`` sets them (nested ones through ``<name>__``),
  without validating: parameters are validated at the next ``fit`` or use.
- ``__repr__`` shows the parameters that differ from their defaults.
- ``__sklearn_tags__()`` returns scikit-learn's ``Tags``; it imports
  scikit-learn when called, which only scikit-learn itself does, so
  ``import mmref`` never imports it.
- Pickling and ``copy.deepcopy`` drop the private caches that a class lists in
  ``_mmref_regenerable_`` (for example a projection matrix that is a pure
  function of the seed): an encoder travels as its parameters and fitted
  state, and regenerates its caches on first use.

:class:`TransformerMixin` adds ``fit_transform(X, y=None)``, which is
``fit(X, y).transform(X)``.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar, TypeVar

__all__ = ["ParamsMixin", "TransformerMixin"]

_Self = TypeVar("_Self", bound="ParamsMixin")


class ParamsMixin:
    """``get_params`` / ``set_params`` / ``__repr__`` / ``__sklearn_tags__`` from ``__init__``.

    Subclasses store every constructor argument unchanged on an attribute of
    the same name and accept no ``*args``. Class attributes tune the rest:

    ``_mmref_regenerable_`` : tuple of str
        Private instance attributes that are caches, rebuilt on demand; they
        are left out of pickles and deep copies.
    ``_mmref_requires_fit_`` : bool, default=True
        The ``requires_fit`` tag: ``False`` for estimators that work unfitted.
        Override the method ``_mmref_requires_fit()`` when it depends on the
        parameters (a text encoder needs ``fit`` only to learn a vocabulary).
    ``_mmref_input_tags_`` : dict
        Overrides of scikit-learn's ``InputTags`` (e.g. ``{"string": True}``).

    Examples
    --------
    >>> from mmref._base import ParamsMixin
    >>> class Scaler(ParamsMixin):
    ...     def __init__(self, factor=1.0, *, name="x"):
    ...         self.factor = factor
    ...         self.name = name
    >>> s = Scaler(2.0)
    >>> s
    Scaler(factor=2.0)
    >>> s.get_params()
    {'factor': 2.0, 'name': 'x'}
    >>> s.set_params(name="y").name
    'y'
    """

    _mmref_regenerable_: ClassVar[tuple[str, ...]] = ()
    _mmref_requires_fit_: ClassVar[bool] = True
    _mmref_input_tags_: ClassVar[dict[str, Any]] = {}

    @classmethod
    def _get_param_names(cls) -> list[str]:
        """The constructor's parameter names, sorted (as scikit-learn sorts them)."""
        init = cls.__init__
        if init is object.__init__:
            return []
        names = []
        for p in inspect.signature(init).parameters.values():
            if p.name == "self" or p.kind == p.VAR_KEYWORD:
                continue
            if p.kind == p.VAR_POSITIONAL:
                raise RuntimeError(
                    f"{cls.__name__}.__init__ takes *{p.name}; scikit-learn-style estimators "
                    f"must name every constructor parameter."
                )
            names.append(p.name)
        return sorted(names)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Return the constructor parameters (scikit-learn convention).

        Parameters
        ----------
        deep : bool, default=True
            Also return the parameters of nested estimators (any parameter
            value with a ``get_params`` method) as ``<name>__<parameter>``.

        Returns
        -------
        params : dict
            Parameter names mapped to their values, exactly as stored.
        """
        out: dict[str, Any] = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{name}__{k}", v) for k, v in value.get_params(deep=True).items())
            out[name] = value
        return out

    def set_params(self: _Self, **params: Any) -> _Self:
        """Set constructor parameters (scikit-learn convention); validated at the next use.

        Parameters
        ----------
        **params : dict
            Parameter names and values; ``<name>__<parameter>`` sets a
            parameter of the nested estimator ``<name>``.

        Returns
        -------
        self : estimator instance

        Raises
        ------
        ValueError
            If a name is not a parameter; the message lists the valid ones.
        """
        if not params:
            return self
        valid = self.get_params(deep=True)
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, delim, sub_key = key.partition("__")
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for {type(self).__name__}; valid parameters "
                    f"are {', '.join(self._get_param_names())}."
                )
            if delim:
                nested.setdefault(name, {})[sub_key] = value
            else:
                setattr(self, name, value)
                valid[name] = value
        for name, sub_params in nested.items():
            target = valid[name]
            if not hasattr(target, "set_params"):
                raise ValueError(
                    f"Invalid parameter {name}__{next(iter(sub_params))!r} for "
                    f"{type(self).__name__}: its {name!r} ({type(target).__name__}) has no "
                    f"parameters to set."
                )
            target.set_params(**sub_params)
        return self

    def __repr__(self) -> str:
        defaults = {
            p.name: p.default
            for p in inspect.signature(type(self).__init__).parameters.values()
            if p.default is not p.empty
        }
        shown = []
        for name in self._get_param_names():
            value = getattr(self, name, None)
            if name in defaults and _same(value, defaults[name]):
                continue
            shown.append(f"{name}={_short_repr(value)}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for name in type(self)._mmref_regenerable_:
            state.pop(name, None)
        return state

    def _mmref_requires_fit(self) -> bool:
        """Whether the estimator must be fitted before use (the ``requires_fit`` tag)."""
        return type(self)._mmref_requires_fit_

    def __sklearn_tags__(self) -> Any:
        """scikit-learn's estimator tags (imports scikit-learn; only scikit-learn calls it)."""
        from sklearn.utils import InputTags, Tags, TargetTags, TransformerTags

        tags = Tags(
            estimator_type=None,
            target_tags=TargetTags(required=False),
            requires_fit=self._mmref_requires_fit(),
            input_tags=InputTags(**type(self)._mmref_input_tags_),
        )
        if callable(getattr(self, "transform", None)):
            tags.transformer_tags = TransformerTags()
        return tags


class TransformerMixin:
    """``fit_transform`` as ``fit`` then ``transform`` (scikit-learn convention)."""

    def fit_transform(self, X: Any, y: Any = None) -> Any:
        """Fit to ``X``, then transform ``X``.

        Parameters
        ----------
        X : array-like
            The training input, as ``fit`` and ``transform`` accept it.
        y : None
            Ignored.

        Returns
        -------
        X_new : ndarray
            ``self.fit(X, y).transform(X)``.
        """
        fitted: Any = self.fit(X, y)  # type: ignore[attr-defined]
        return fitted.transform(X)


def _same(value: Any, default: Any) -> bool:
    """Whether a parameter still has its default (arrays and odd types compare unequal)."""
    if value is default:
        return True
    if type(value) is not type(default):
        return False
    try:
        return bool(value == default)
    except (TypeError, ValueError):
        return False


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."
