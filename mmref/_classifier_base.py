"""The contract shared by mmref's classifiers (:mod:`mmref.classifiers`).

``fit(X, y)`` takes a 2-D real ``X`` of ``n >= 1`` finite rows and ``d >= 1``
columns and a 1-D ``y`` of ``n`` labels of one sortable type with at least two
distinct values; ``classes_`` is ``np.unique(y)`` and the class of sample ``i``
is the index of ``y_i`` in it. ``predict(X)`` returns the float64
``(n, n_classes)`` scores, column ``j`` for ``classes_[j]``; an ``X`` that is
not float64 is converted in row blocks of about ``_CONVERT_BLOCK_ELEMENTS``
values (32 MiB). Non-finite input is rejected naming its rows, and scores that
overflow float64 are an error, never NaN. ``predict_labels(X)`` is
``classes_[argmax(predict(X), axis=1)]`` (ties to the lowest column) and
``score(X, y)`` the fraction of those labels equal to ``y``.

A subclass supplies ``_params`` (its validated parameters in a frozen dataclass,
as every mmref estimator holds them), ``_fit`` (on validated input, class
indices, ``k`` and those parameters), ``_scores`` (a float64 block into its rows of the output),
optionally ``_finish`` (on all the scores), ``_state_shapes`` (its float64
fitted arrays) and ``_derive`` (private scoring arrays from that public state,
so that pickles and model files hold only the public state, checked by
``_check_state`` before use).
"""

from __future__ import annotations

import numbers
from contextlib import AbstractContextManager
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from ._atomic import keep_caches, publish, snapshot
from ._base import ParamsMixin
from ._threads import blas_threads_for
from ._typing import Float64Array
from ._validation import as_real_matrix, check_fitted, describe, shape_str
from .exceptions import ModelFileError

__all__ = ["BaseClassifier", "LinearClassifier", "matmul_into", "overflow_error"]

_Self = TypeVar("_Self", bound="BaseClassifier")

# Values per block when predict converts X to float64 (32 MiB). A float64 X is one
# block: each BLAS call synchronizes its threads, which costs milliseconds per call
# on a busy machine, so cache-sized blocks lose to one call over all of X.
_CONVERT_BLOCK_ELEMENTS = 1 << 22


class BaseClassifier(ParamsMixin):
    """Shared validation, ``predict_labels`` and ``score``."""

    # Derived from the public fitted state by _derive(); predict rebuilds them after
    # unpickling, so pickles hold only parameters and the public fitted attributes.
    _mmref_regenerable_ = ("_weights", "_offsets")

    classes_: npt.NDArray[Any]
    n_features_in_: int

    def fit(self: _Self, X: Any, y: Any) -> _Self:
        """Fit the classifier.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data: finite real numbers, at least one row.
        y : array-like of shape (n_samples,)
            Labels (ints or strings); at least two distinct values.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        params = self._params()
        X_arr = as_real_matrix(X, name="X", owner=type(self).__name__)
        if X_arr.shape[0] == 0:
            raise ValueError(
                f"X has 0 samples (shape {shape_str(X_arr.shape)}); {type(self).__name__}.fit "
                f"needs at least one sample of each of at least 2 classes."
            )
        if X_arr.shape[1] == 0:
            raise ValueError(
                f"X has 0 features (shape {shape_str(X_arr.shape)}); expected at least 1."
            )
        classes, y_idx = _check_y(y, X_arr.shape[0])
        _check_finite_fit(X_arr)
        # Fit a twin and publish its state in one step: a predict running meanwhile uses
        # the old model or the new one, and a failed fit leaves the old one in place.
        fitted = snapshot(self)
        n, d = X_arr.shape
        with np.errstate(over="ignore", invalid="ignore"), fitted._fit_threads(n, d, len(classes)):
            fitted._fit(X_arr, y_idx, len(classes), params)
        fitted.n_features_in_ = X_arr.shape[1]
        fitted.classes_ = classes
        publish(self, vars(fitted))
        return self

    def predict(self, X: Any) -> Float64Array:
        """Score every class for every sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples with the width seen in ``fit``.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes), float64
            Column ``j`` belongs to ``classes_[j]``; larger means more likely.

        Raises
        ------
        NotFittedError
            If ``fit`` has not been called.
        ValueError
            If ``X`` is not 2-D, has the wrong number of features or contains
            NaN or infinity.
        """
        return self._fitted_model()._predict(X)

    def _fit_threads(self, n: int, d: int, k: int) -> AbstractContextManager[bool]:
        """The BLAS threads ``_fit`` runs on; by default chosen by its product ``n * d * k``."""
        return blas_threads_for(n * d * k)

    def _fitted_model(self: _Self) -> _Self:
        """A snapshot of the fitted model (one step), with its scoring arrays derived."""
        source = self.__dict__
        model = snapshot(self)
        check_fitted(model, "classes_")
        if "_weights" not in model.__dict__:  # loaded or unpickled: only public state is stored
            model._check_state()
            model._derive()
            keep_caches(source, model, self._mmref_regenerable_, self._state_names())
        return model

    def _state_names(self) -> list[str]:
        return ["classes_", "n_features_in_", *self._state_shapes(2, 1)]

    def _predict(self, X: Any) -> Float64Array:
        """``predict`` on this instance's own state: call it on a snapshot."""
        owner = type(self).__name__
        X_arr = as_real_matrix(X, name="X", owner=owner)
        if X_arr.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X_arr.shape[1]} features, but {owner} was fitted with "
                f"{self.n_features_in_} features."
            )
        n = X_arr.shape[0]
        scores = np.empty((n, len(self.classes_)), dtype=np.float64)
        if X_arr.dtype == np.float64:
            rows = max(1, n)
        else:
            rows = max(1, _CONVERT_BLOCK_ELEMENTS // max(1, X_arr.shape[1]))
        finite = True
        work = min(n, rows) * X_arr.shape[1] * len(self.classes_)
        # Overflow and NaN are detected after the loop, with a message instead of a warning.
        with np.errstate(over="ignore", invalid="ignore"), blas_threads_for(work):
            for start in range(0, n, rows):
                block = np.asarray(X_arr[start : start + rows], dtype=np.float64)
                finite &= self._scores(block, scores[start : start + rows])
        # Any NaN or inf in X reaches the scores (inf * 0 is NaN), so checking the small
        # output replaces a full pass over X; only on failure is X itself inspected.
        if not (finite and np.isfinite(scores).all()):
            _raise_non_finite(X_arr, owner)
        self._finish(scores)
        return scores

    def predict_labels(self, X: Any) -> npt.NDArray[Any]:
        """Predict the label of every sample: ``classes_[argmax(predict(X), axis=1)]``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Values from ``classes_``; ties go to the lowest column.
        """
        model = self._fitted_model()  # the scores and the labels of one model
        labels: npt.NDArray[Any] = model.classes_[np.argmax(model._predict(X), axis=1)]
        return labels

    def score(self, X: Any, y: Any) -> float:
        """Return the accuracy of ``predict_labels(X)`` against ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            At least one sample.
        y : array-like of shape (n_samples,)
            True labels; labels not in ``classes_`` count as errors.

        Returns
        -------
        accuracy : float
            The fraction of samples whose predicted label equals ``y``.
        """
        labels = self.predict_labels(X)
        y_arr = np.asarray(y)
        if y_arr.ndim != 1 or y_arr.shape[0] != labels.shape[0]:
            raise ValueError(
                f"y has shape {shape_str(y_arr.shape)} but X has {labels.shape[0]} samples; "
                f"expected a 1-D array of one label per row of X."
            )
        if labels.shape[0] == 0:
            raise ValueError("X has 0 samples; the accuracy of no samples is undefined.")
        return float(np.mean(labels == y_arr))

    def _params(self) -> Any:
        """The constructor parameters, validated, in a frozen dataclass (checked at fit)."""
        raise NotImplementedError

    def _fit(self, X: npt.NDArray[Any], y_idx: npt.NDArray[np.intp], k: int, params: Any) -> None:
        raise NotImplementedError

    def _scores(self, X: Float64Array, out: Float64Array) -> bool:
        """Write the scores of a float64 block into ``out``; False if a norm overflowed."""
        raise NotImplementedError

    def _finish(self, scores: Float64Array) -> None:
        """Turn the finite scores of all blocks into the final output, in place."""

    def _derive(self) -> None:
        """Set the private scoring arrays from the public fitted state (after fit or load)."""
        raise NotImplementedError

    def _state_shapes(self, k: int, d: int) -> dict[str, tuple[int, ...]]:
        """The float64 fitted arrays of a fitted classifier with k classes and d features."""
        raise NotImplementedError

    def _check_state(self) -> None:
        """Check that the public fitted state is one ``fit`` could have produced.

        Called by :func:`mmref.load` and before ``predict`` derives its scoring
        arrays from state it did not compute itself (loaded, unpickled or set by
        hand). An unfitted classifier (no fitted attribute at all) passes.

        Raises
        ------
        ModelFileError
            Naming the first attribute that is missing, of the wrong type or
            shape, or not finite: ``classes_`` must be a 1-D array of at least 2
            sorted unique labels, ``n_features_in_`` an int >= 1, and the weight
            arrays float64 of the shapes in the class docstring.
        """
        owner = type(self).__name__
        shapes_names = list(self._state_shapes(2, 1))
        names = ["classes_", "n_features_in_", *shapes_names]
        present = [name for name in names if name in self.__dict__]
        if not present:
            return
        missing = [name for name in names if name not in self.__dict__]
        if missing:
            raise ModelFileError(
                f"{owner} has the fitted attribute {present[0]} but lacks {missing[0]}; "
                f"expected all of {', '.join(names)}."
            )
        classes = self.__dict__["classes_"]
        if (
            not isinstance(classes, np.ndarray)
            or classes.ndim != 1
            or classes.dtype.kind not in "biufmMSUO"
            or classes.shape[0] < 2
            or not _sorted_unique(classes)
        ):
            raise ModelFileError(
                f"{owner}.classes_ is {describe(classes)}; expected a 1-D array of at least 2 "
                f"sorted unique labels (ints, floats or strings)."
            )
        d = self.__dict__["n_features_in_"]
        if not isinstance(d, int | np.integer) or isinstance(d, bool) or d < 1:
            raise ModelFileError(f"{owner}.n_features_in_ is {describe(d)}; expected an int >= 1.")
        k = classes.shape[0]
        for name, shape in self._state_shapes(k, int(d)).items():
            value = self.__dict__[name]
            if not isinstance(value, np.ndarray) or value.dtype != np.float64:
                raise ModelFileError(
                    f"{owner}.{name} is {describe(value)}; expected a float64 array of shape "
                    f"{shape_str(shape)}."
                )
            if value.shape != shape:
                raise ModelFileError(
                    f"{owner}.{name} has shape {shape_str(value.shape)}; expected "
                    f"{shape_str(shape)} for {k} classes and {d} features."
                )
            if not np.isfinite(value).all():
                raise ModelFileError(f"{owner}.{name} holds NaN or infinity; expected finite.")


class LinearClassifier(BaseClassifier):
    """Scores ``X @ coef_.T + intercept_``: the Ridge and Softmax classifiers."""

    coef_: Float64Array
    intercept_: Float64Array

    def _state_shapes(self, k: int, d: int) -> dict[str, tuple[int, ...]]:
        # Two classes have one weight row: the decision (or logit) of classes_[1].
        m = 1 if k == 2 else k
        return {"coef_": (m, d), "intercept_": (m,)}

    def _derive(self) -> None:
        # Transposed and contiguous, so that scoring is one BLAS call.
        self._weights = np.ascontiguousarray(self.coef_.T)
        self._offsets = self.intercept_

    def _set_weights(self, coef: Float64Array, intercept: Float64Array) -> None:
        """Store the solved ``(d, m)`` weights and ``(m,)`` intercepts as the fitted state.

        Raises
        ------
        ValueError
            If the solution is not finite: ``X`` was too large for float64.
        """
        if not (np.isfinite(coef).all() and np.isfinite(intercept).all()):
            raise overflow_error(type(self).__name__)
        self.coef_ = coef.T.copy()
        self.intercept_ = intercept
        self._derive()


def matmul_into(X: Float64Array, weights: Float64Array, out: Float64Array) -> None:
    """``out[...] = X @ weights``, computed as ``(weights.T @ X.T).T``.

    The same products; OpenBLAS runs the transposed form, a short and wide
    result, faster when ``weights`` has few columns, as a classifier's has: 15
    against 22 ms for ``X`` of shape (20000, 1280) and 10 classes, and never slower
    in the shapes measured (up to 1000 classes). Costs an ``(n, k)`` temporary.
    """
    product = np.matmul(weights.T, X.T)
    out[...] = product.T


def _check_y(y: Any, n_samples: int) -> tuple[npt.NDArray[Any], npt.NDArray[np.intp]]:
    """Return ``(classes, y_idx)``: the sorted unique labels and each sample's class index."""
    arr = np.asarray(y)
    if not isinstance(y, np.ndarray) or arr.dtype == object:
        _check_one_label_type(y if isinstance(y, np.ndarray) else np.asarray(y, dtype=object))
    if arr.ndim != 1:
        raise ValueError(
            f"y must be a 1-D array of labels (n_samples,); got an array of shape "
            f"{shape_str(arr.shape)}."
        )
    if arr.shape[0] != n_samples:
        raise ValueError(
            f"y has {arr.shape[0]} labels but X has {n_samples} samples; expected one label "
            f"per row of X."
        )
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise ValueError("y contains NaN; expected labels (ints or strings), one per sample.")
    try:
        classes, y_idx = np.unique(arr, return_inverse=True)
    except TypeError:
        raise TypeError(
            f"y must hold labels of one sortable type (ints or strings); got {describe(arr)}."
        ) from None
    if classes.shape[0] < 2:
        raise ValueError(
            f"y has only one class ({describe(classes[0].item())}); a classifier needs at "
            f"least 2 classes."
        )
    return classes, y_idx.reshape(-1).astype(np.intp, copy=False)


def _check_one_label_type(labels: npt.NDArray[Any]) -> None:
    """Refuse labels of several kinds: NumPy would turn ``[0, "a"]`` into ``["0", "a"]``."""
    kinds = {_label_kind(t) for t in set(map(type, labels.reshape(-1).tolist()))}
    if len(kinds) > 1:
        raise TypeError(
            f"y mixes labels of different types ({', '.join(sorted(kinds))}); expected labels "
            f"of one type (all ints, all floats, all bools or all strings), which are kept "
            f"exactly as given."
        )


def _label_kind(kind: type) -> str:
    kinds = ((bool | np.bool_, "bool"), (numbers.Integral, "int"), (numbers.Real, "float"))
    for base, name in (*kinds, (str, "str"), (bytes, "bytes")):
        if issubclass(kind, base):
            return name
    return kind.__name__


def _check_finite_fit(X: npt.NDArray[Any]) -> None:
    if X.dtype.kind != "f":
        return
    # One reduction instead of a boolean copy of X: the sum is finite only if every
    # entry is (it can also overflow, so a non-finite sum triggers the exact check).
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.add.reduce(X, axis=None)
    if not np.isfinite(total):
        _raise_non_finite(X, "", overflow_ok=True)


def _raise_non_finite(X: npt.NDArray[Any], owner: str, *, overflow_ok: bool = False) -> None:
    bad = np.flatnonzero(~np.isfinite(X).all(axis=1)) if X.dtype.kind == "f" else np.empty(0)
    if bad.size:
        listed = ", ".join(str(int(i)) for i in bad[:10])
        more = f" and {bad.size - 10} more" if bad.size > 10 else ""
        raise ValueError(
            f"X contains NaN or infinity in {bad.size} row(s): {listed}{more}. "
            f"Expected finite values; impute or drop those rows."
        )
    if not overflow_ok:
        raise ValueError(
            f"The class scores of {owner} overflow float64 for this X (its values are too "
            f"large); rescale X."
        )


def overflow_error(owner: str) -> ValueError:
    return ValueError(
        f"{owner}.fit overflowed float64: the values of X are too large (their squares or "
        f"products exceed about 1e308); rescale X."
    )


def _sorted_unique(labels: npt.NDArray[Any]) -> bool:
    """Whether ``labels`` is strictly increasing, as ``np.unique`` returns it (no NaN)."""
    try:
        return bool(np.all(labels[1:] > labels[:-1]))
    except TypeError:  # object labels that do not compare
        return False
