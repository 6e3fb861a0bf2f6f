"""Trained classifiers whose ``predict`` returns class scores (Keras style).

Each classifier implements the :class:`~mmref.ClassificationModel` protocol:
``predict(X)`` returns an ``(n_samples, n_classes)`` array of finite scores in
which column ``j`` belongs to ``classes_[j]``, the ``j``-th of the sorted unique
training labels (ints or strings). ``predict_labels(X)`` is
``classes_[argmax(predict(X), axis=1)]`` and ``score(X, y)`` the accuracy.
Everything is computed in float64; ``X`` may be any real dtype.

Notation: ``X`` is ``(n, d)``, the classes are ``0 .. k-1`` (indices into
``classes_``), ``x_i`` is row ``i`` and ``y_i`` its class.

:class:`NearestCentroidClassifier`
    ``c_j = mean of the x_i with y_i = j``. With ``metric="cosine"`` the score is
    ``x . c_j / (||x|| ||c_j||)``, where a zero-norm row or centroid has
    similarity 0 with everything (its inverse norm is taken as 0); with
    ``metric="euclidean"`` it is ``-max(||x||^2 - 2 x . c_j + ||c_j||^2, 0)``,
    the negative squared distance.

:class:`RidgeClassifier`
    scikit-learn's ridge classifier. Targets ``Y`` are ``+1`` for the true class
    and ``-1`` elsewhere (one column per class; for ``k = 2`` a single column,
    ``+1`` for ``classes_[1]``). With an intercept, ``X`` and ``Y`` are centred
    by their column means ``mu_x``, ``mu_y``; then
    ``W = (Xc^T Xc + alpha I)^-1 Xc^T Yc`` (primal, when ``d <= n``) or
    ``W = Xc^T (Xc Xc^T + alpha I)^-1 Yc`` (dual, when ``d > n``), both solved
    by Cholesky, and ``b = mu_y - mu_x W``. The decision values are
    ``D = X W + b``. For ``k = 2`` ``D`` is one column ``D1`` and ``predict``
    returns ``[-D1, D1]``: exactly what the one-column-per-class formulation
    gives (its two target columns are negatives of each other), and its argmax
    is scikit-learn's prediction (``D1 > 0`` gives ``classes_[1]``; a tie at 0
    gives ``classes_[0]``, as in scikit-learn).

:class:`SoftmaxClassifier`
    multinomial logistic regression, scikit-learn's ``LogisticRegression``
    objective: minimize over ``W`` (``d x k``) and unpenalized ``b``::

        C * sum_i [ logsumexp_j(z_ij) - z_i,y_i ] + 1/2 ||W||_F^2,   z_i = x_i W + b

    For ``k = 2`` class 0's logit is fixed at 0 (``W`` has one column), which is
    binary logistic regression with penalty ``1/2 ||w||^2``, as in
    scikit-learn. L-BFGS (``scipy.optimize``) minimizes the objective divided by
    ``C n`` (same minimizer; ``tol`` then means what it means in scikit-learn)
    from ``W = 0, b = 0``. ``predict`` returns the softmax probabilities.

Memory: beyond its ``(n, k)`` output, ``predict`` needs ``O(n)`` scratch for a
float64 ``X``; any other dtype is converted to float64 in row blocks of about
32 MiB.
"""

from __future__ import annotations

import warnings
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from ._base import ParamsMixin
from ._validation import (
    check_bool_param,
    check_fitted,
    check_float_param,
    check_int_param,
    check_option,
    describe,
    shape_str,
)
from .exceptions import ConvergenceWarning, ModelFileError

__all__ = [
    "NearestCentroidClassifier",
    "RidgeClassifier",
    "SoftmaxClassifier",
]

Float64Array = npt.NDArray[np.float64]
_Self = TypeVar("_Self", bound="_Classifier")

# Values per block when predict converts X to float64 (32 MiB). A float64 X is one
# block: each BLAS call synchronizes its threads, which costs milliseconds per call
# on a busy machine, so cache-sized blocks lose to one call over all of X.
_CONVERT_BLOCK_ELEMENTS = 1 << 22
# Rows per block when accumulating the Gram matrix: large blocks keep BLAS efficient.
_GRAM_BLOCK_ELEMENTS = 1 << 21


class _Classifier(ParamsMixin):
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
        self._check_params()
        X_arr = _check_X(X, owner=type(self).__name__)
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
        with np.errstate(over="ignore", invalid="ignore"):
            self._fit(X_arr, y_idx, len(classes))
        self.n_features_in_ = X_arr.shape[1]
        # Set last: check_fitted looks for classes_, so a failed fit leaves no half state.
        self.classes_ = classes
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
        check_fitted(self, "classes_")
        if "_weights" not in self.__dict__:  # loaded or unpickled: only public state is stored
            self._check_state()
            self._derive()
        owner = type(self).__name__
        X_arr = _check_X(X, owner=owner)
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
        # Overflow and NaN are detected after the loop, with a message instead of a warning.
        with np.errstate(over="ignore", invalid="ignore"):
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
        scores = self.predict(X)
        labels: npt.NDArray[Any] = self.classes_[np.argmax(scores, axis=1)]
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

    def _check_params(self) -> None:
        raise NotImplementedError

    def _fit(self, X: npt.NDArray[Any], y_idx: npt.NDArray[np.intp], k: int) -> None:
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


class _LinearClassifier(_Classifier):
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


class NearestCentroidClassifier(_Classifier):
    """Score each class by the similarity of a sample to the class centroid.

    Parameters
    ----------
    metric : {"cosine", "euclidean"}, default="cosine"
        ``"cosine"``: the score is the cosine similarity ``x . c / (||x|| ||c||)``
        (in ``[-1, 1]`` up to rounding); a zero-norm sample or centroid has
        similarity 0 with everything. ``"euclidean"``: the score is the negative
        squared Euclidean distance ``-||x - c||^2`` (computed as
        ``-max(||x||^2 - 2 x . c + ||c||^2, 0)``), whose argmax is
        scikit-learn's ``NearestCentroid`` prediction.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Sorted unique training labels.
    centroids_ : ndarray of shape (n_classes, n_features)
        Mean training sample of each class, row ``j`` for ``classes_[j]``.
    n_features_in_ : int
        Width of ``X`` seen in ``fit``.

    Notes
    -----
    ``fit`` costs one pass over ``X`` (a BLAS product with the one-hot label
    matrix, in row blocks) and ``O(n_classes * n_features)`` memory.

    Examples
    --------
    >>> import numpy as np
    >>> from mmref.classifiers import NearestCentroidClassifier
    >>> X = np.array([[1.0, 0.0], [2.0, 0.1], [0.0, 1.0], [0.1, 3.0]])
    >>> clf = NearestCentroidClassifier().fit(X, ["east", "east", "north", "north"])
    >>> clf.predict_labels([[5.0, 1.0], [0.0, 2.0]])
    array(['east', 'north'], dtype='<U5')
    >>> clf.predict([[0.0, 0.0]])
    array([[0., 0.]])
    """

    centroids_: Float64Array

    def __init__(self, metric: str = "cosine") -> None:
        self.metric = metric

    def _check_params(self) -> None:
        check_option(
            self.metric, name="metric", owner=type(self).__name__, options=("cosine", "euclidean")
        )

    def _fit(self, X: npt.NDArray[Any], y_idx: npt.NDArray[np.intp], k: int) -> None:
        n, d = X.shape
        sums = np.zeros((k, d), dtype=np.float64)
        rows = max(1, _GRAM_BLOCK_ELEMENTS // d)
        # Masked sums per class and block: a one-hot GEMM would do the same in one call,
        # but BLAS runs a (k x rows) @ (rows x d) product with small k several times slower
        # than these reductions (measured 0.5 s against 0.1 s at (20000, 1280), k = 10).
        for start in range(0, n, rows):
            block = np.asarray(X[start : start + rows], dtype=np.float64)
            labels = y_idx[start : start + rows]
            for j in np.unique(labels):
                sums[j] += block[labels == j].sum(axis=0)
        counts = np.bincount(y_idx, minlength=k).astype(np.float64)
        centroids = sums / counts[:, None]
        sq_norms = np.einsum("ij,ij->i", centroids, centroids)
        if not np.isfinite(sq_norms).all():
            raise _overflow_error(type(self).__name__)
        self.centroids_ = centroids
        self._derive()

    def _state_shapes(self, k: int, d: int) -> dict[str, tuple[int, ...]]:
        return {"centroids_": (k, d)}

    def _derive(self) -> None:
        centroids = self.centroids_
        sq_norms = np.einsum("ij,ij->i", centroids, centroids)
        if self.metric == "cosine":
            self._weights = (centroids * _safe_inverse(np.sqrt(sq_norms))[:, None]).T.copy()
        else:
            self._weights = (2.0 * centroids).T.copy()
        self._offsets = -sq_norms

    def _scores(self, X: Float64Array, out: Float64Array) -> bool:
        np.matmul(X, self._weights, out=out)
        # A stack of (1, d) @ (d, 1) products runs BLAS ddot per row: about 1.6x faster than
        # einsum("ij,ij->i"), so the norms add about a quarter to the cost of X @ W.
        sq_norms = np.matmul(X[:, None, :], X[:, :, None]).reshape(-1)
        if self.metric == "cosine":
            out *= _safe_inverse(np.sqrt(sq_norms))[:, None]
        else:
            # -||x - c||^2 = 2 x.c - ||c||^2 - ||x||^2, clipped at 0 where rounding
            # makes a tiny distance negative.
            out += self._offsets
            out -= sq_norms[:, None]
            np.minimum(out, 0.0, out=out)
        return bool(np.isfinite(sq_norms).all())


class RidgeClassifier(_LinearClassifier):
    """Least-squares classifier with L2 penalty on +-1 targets (scikit-learn's RidgeClassifier).

    Parameters
    ----------
    alpha : float, default=1.0
        Regularization strength, ``>= 0``. With ``alpha = 0`` and a singular
        system the minimum-norm least-squares solution is used.
    fit_intercept : bool, default=True
        Whether to fit an unpenalized intercept (by centring ``X`` and the
        targets).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Sorted unique training labels.
    coef_ : ndarray of shape (1, n_features) if n_classes == 2 else (n_classes, n_features)
        Weights, row ``j`` for ``classes_[j]`` (for two classes, the one row of
        ``classes_[1]``; scikit-learn's RidgeClassifier ravels it to
        ``(n_features,)``).
    intercept_ : ndarray of shape (1,) if n_classes == 2 else (n_classes,)
        Intercepts (zeros when ``fit_intercept=False``).
    n_features_in_ : int
        Width of ``X`` seen in ``fit``.

    Notes
    -----
    ``predict`` returns the decision values ``X @ coef_.T + intercept_``; with
    two classes, ``[-D, D]`` for scikit-learn's one-column ``decision_function``
    ``D``, so the argmax is scikit-learn's prediction. ``fit`` solves the
    ``n_features x n_features`` normal equations (primal, when
    ``n_features <= n_samples``; one pass over ``X`` in row blocks of about 16
    MiB, ``O(n_features^2)`` memory) or the ``n_samples x n_samples`` kernel
    system (dual; a centred copy of ``X`` and ``O(n_samples^2)`` memory) by a
    Cholesky factorization.

    Examples
    --------
    >>> import numpy as np
    >>> from mmref.classifiers import RidgeClassifier
    >>> X = np.array([[0.0], [1.0], [3.0], [4.0]])
    >>> clf = RidgeClassifier(alpha=1.0).fit(X, [0, 0, 1, 1])
    >>> clf.predict([[0.5], [3.5]])  # D = 6/11 * x - 12/11, as [-D, D]
    array([[ 0.82, -0.82],
           [-0.82,  0.82]])
    >>> clf.predict_labels([[0.5], [3.5]])
    array([0, 1])
    """

    def __init__(self, alpha: float = 1.0, fit_intercept: bool = True) -> None:
        self.alpha = alpha
        self.fit_intercept = fit_intercept

    def _check_params(self) -> None:
        owner = type(self).__name__
        check_float_param(self.alpha, name="alpha", owner=owner, low=0.0)
        check_bool_param(self.fit_intercept, name="fit_intercept", owner=owner)

    def _fit(self, X: npt.NDArray[Any], y_idx: npt.NDArray[np.intp], k: int) -> None:
        n, d = X.shape
        n_targets = 1 if k == 2 else k
        Y = np.full((n, n_targets), -1.0)
        if k == 2:
            Y[y_idx == 1, 0] = 1.0
        else:
            Y[np.arange(n), y_idx] = 1.0
        if self.fit_intercept:
            x_mean = np.mean(X, axis=0, dtype=np.float64)
            y_mean = Y.mean(axis=0)
            Y -= y_mean
        else:
            x_mean = np.zeros(d)
            y_mean = np.zeros(n_targets)
        alpha = float(self.alpha)
        if d <= n:
            gram = np.zeros((d, d))
            xty = np.zeros((d, n_targets))
            rows = max(1, _GRAM_BLOCK_ELEMENTS // d)
            for start in range(0, n, rows):
                block = np.asarray(X[start : start + rows], dtype=np.float64)
                if self.fit_intercept:
                    block = block - x_mean
                # block.T @ block shares one buffer, so NumPy calls BLAS syrk (half the flops).
                gram += block.T @ block
                xty += block.T @ Y[start : start + rows]
            coef = _solve_pos(gram, xty, alpha, owner=type(self).__name__)
        else:
            Xc = np.asarray(X, dtype=np.float64) - x_mean
            dual = _solve_pos(Xc @ Xc.T, Y, alpha, owner=type(self).__name__)
            coef = Xc.T @ dual
        intercept = y_mean - x_mean @ coef
        if not (np.isfinite(coef).all() and np.isfinite(intercept).all()):
            raise _overflow_error(type(self).__name__)
        self.coef_ = coef.T.copy()
        self.intercept_ = intercept
        self._derive()

    def _scores(self, X: Float64Array, out: Float64Array) -> bool:
        if self._weights.shape[1] == 1:
            decision = X @ self._weights[:, 0]
            decision += self._offsets[0]
            out[:, 1] = decision
            np.negative(decision, out=out[:, 0])
        else:
            np.matmul(X, self._weights, out=out)
            out += self._offsets
        return True


class SoftmaxClassifier(_LinearClassifier):
    """Multinomial logistic regression (scikit-learn's LogisticRegression objective).

    Parameters
    ----------
    C : float, default=1.0
        Inverse regularization strength, ``> 0``: the objective is
        ``C * sum of cross-entropies + 1/2 ||W||^2`` (intercept unpenalized).
    max_iter : int, default=100
        Maximum number of L-BFGS iterations, ``>= 1``.
    tol : float, default=1e-4
        L-BFGS stops when the largest gradient component of the objective
        divided by ``C * n_samples`` is at most ``tol`` (scikit-learn's ``tol``
        for ``solver="lbfgs"``), ``>= 0``.
    fit_intercept : bool, default=True
        Whether to fit an unpenalized intercept.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Sorted unique training labels.
    coef_ : ndarray of shape (1, n_features) if n_classes == 2 else (n_classes, n_features)
        Weights, laid out as scikit-learn's ``coef_`` (for two classes, the
        weights of the logit of ``classes_[1]``; class 0's logit is 0).
    intercept_ : ndarray of shape (1,) if n_classes == 2 else (n_classes,)
        Intercepts (zeros when ``fit_intercept=False``).
    n_iter_ : int
        Number of L-BFGS iterations run.
    n_features_in_ : int
        Width of ``X`` seen in ``fit``.

    Warns
    -----
    ConvergenceWarning
        If L-BFGS stops without meeting its tolerance (usually because
        ``max_iter`` was reached).

    Notes
    -----
    ``predict`` returns probabilities: rows sum to 1 up to rounding. ``fit``
    keeps a float64 ``X`` and three ``(n_samples, n_classes)`` buffers; each
    L-BFGS evaluation is two passes over ``X`` (``X @ W`` and ``X.T @ G``).

    Examples
    --------
    >>> import numpy as np
    >>> from mmref.classifiers import SoftmaxClassifier
    >>> X = np.array([[0.0], [1.0], [3.0], [4.0]])
    >>> clf = SoftmaxClassifier(C=10.0).fit(X, ["a", "a", "b", "b"])
    >>> proba = clf.predict([[0.0], [4.0]])
    >>> proba.shape, bool(np.allclose(proba.sum(axis=1), 1.0))
    ((2, 2), True)
    >>> clf.predict_labels([[0.0], [4.0]])
    array(['a', 'b'], dtype='<U1')
    """

    n_iter_: int

    def __init__(
        self,
        C: float = 1.0,
        max_iter: int = 100,
        tol: float = 1e-4,
        fit_intercept: bool = True,
    ) -> None:
        self.C = C
        self.max_iter = max_iter
        self.tol = tol
        self.fit_intercept = fit_intercept

    def _check_params(self) -> None:
        owner = type(self).__name__
        check_float_param(self.C, name="C", owner=owner, low=0.0, closed="neither")
        check_int_param(self.max_iter, name="max_iter", owner=owner, min_value=1)
        check_float_param(self.tol, name="tol", owner=owner, low=0.0)
        check_bool_param(self.fit_intercept, name="fit_intercept", owner=owner)

    def _fit(self, X: npt.NDArray[Any], y_idx: npt.NDArray[np.intp], k: int) -> None:
        from scipy.optimize import minimize

        X64 = np.asarray(X, dtype=np.float64)
        n, d = X64.shape
        # With two classes, class 0's logit is pinned at 0: binary logistic regression.
        m = 1 if k == 2 else k
        n_rows = d + 1 if self.fit_intercept else d
        rows = np.arange(n)
        l2 = 1.0 / (float(self.C) * n)
        logits = np.zeros((n, k))
        free = logits[:, k - m :]
        raw = np.empty((n, m))
        grad = np.empty((n_rows, m))

        def loss_grad(theta: Float64Array) -> tuple[float, Float64Array]:
            params = theta.reshape(n_rows, m)
            weights = params[:d]
            np.matmul(X64, weights, out=raw)
            if self.fit_intercept:
                np.add(raw, params[d], out=raw)
            free[...] = raw
            # Stable log-sum-exp: shift each row by its maximum before exp.
            logits_max = logits.max(axis=1)
            shifted = logits - logits_max[:, None]
            picked = float(shifted[rows, y_idx].sum())
            np.exp(shifted, out=shifted)
            sums = shifted.sum(axis=1)
            loss = (float(np.log(sums).sum()) - picked) / n + 0.5 * l2 * float(
                np.vdot(weights, weights)
            )
            # shifted becomes P - Y, the gradient of the cross-entropy in the logits.
            shifted /= sums[:, None]
            shifted[rows, y_idx] -= 1.0
            shifted /= n
            g_free = shifted[:, k - m :]
            np.matmul(X64.T, g_free, out=grad[:d])
            grad[:d] += l2 * weights
            if self.fit_intercept:
                grad[d] = g_free.sum(axis=0)
            return loss, grad.ravel().copy()

        result = minimize(
            loss_grad,
            np.zeros(n_rows * m),
            method="L-BFGS-B",
            jac=True,
            options={
                "maxiter": int(self.max_iter),
                "maxls": 50,
                "gtol": float(self.tol),
                "ftol": 64 * np.finfo(np.float64).eps,
            },
        )
        self.n_iter_ = min(int(result.nit), int(self.max_iter))
        if result.status != 0:
            warnings.warn(
                f"SoftmaxClassifier: L-BFGS stopped after {self.n_iter_} iteration(s) without "
                f"converging (status {result.status}: {result.message}). Increase max_iter, "
                f"scale the features or raise tol.",
                ConvergenceWarning,
                stacklevel=3,
            )
        params = np.asarray(result.x, dtype=np.float64).reshape(n_rows, m)
        coef = params[:d]
        intercept = params[d].copy() if self.fit_intercept else np.zeros(m)
        if not (np.isfinite(coef).all() and np.isfinite(intercept).all()):
            raise _overflow_error(type(self).__name__)
        self.coef_ = coef.T.copy()
        self.intercept_ = intercept
        self._derive()

    def _scores(self, X: Float64Array, out: Float64Array) -> bool:
        if out.shape[1] == 2:
            out[:, 0] = 0.0
            out[:, 1] = X @ self._weights[:, 0]
            out[:, 1] += self._offsets[0]
        else:
            np.matmul(X, self._weights, out=out)
            out += self._offsets
        return True

    def _finish(self, scores: Float64Array) -> None:
        scores -= scores.max(axis=1)[:, None]
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1)[:, None]


def _check_X(X: Any, *, owner: str) -> npt.NDArray[Any]:
    """Return ``X`` as a 2-D real array (no copy if it already is one)."""
    try:
        arr = np.asarray(X)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"X must be a 2-D array of real numbers (n_samples, n_features) for {owner}; got "
            f"{describe(X)} of type {type(X).__name__}, which NumPy cannot convert ({exc})."
        ) from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"X must be a 2-D array of real numbers (bool, integer or float) for {owner}; got "
            f"{describe(X)} with dtype {arr.dtype}."
        )
    if arr.ndim != 2:
        hint = " Use X.reshape(1, -1) for a single sample." if arr.ndim == 1 else ""
        raise ValueError(
            f"X must be a 2-D array (n_samples, n_features) for {owner}; got an array of "
            f"shape {shape_str(arr.shape)}.{hint}"
        )
    return arr


def _check_y(y: Any, n_samples: int) -> tuple[npt.NDArray[Any], npt.NDArray[np.intp]]:
    """Return ``(classes, y_idx)``: the sorted unique labels and each sample's class index."""
    arr = np.asarray(y)
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


def _overflow_error(owner: str) -> ValueError:
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


def _safe_inverse(norms: Float64Array) -> Float64Array:
    """``1 / norms`` with 0 where a norm is 0 (a zero vector has similarity 0 with all)."""
    inverse = np.zeros_like(norms)
    np.divide(1.0, norms, out=inverse, where=norms > 0)
    return inverse


def _solve_pos(a: Float64Array, b: Float64Array, alpha: float, *, owner: str) -> Float64Array:
    """Solve ``(a + alpha I) x = b`` for symmetric positive semi-definite ``a``.

    Cholesky when the system is positive definite; otherwise (only possible with
    ``alpha = 0`` or a tiny ``alpha``) the minimum-norm least-squares solution.
    """
    from scipy.linalg import LinAlgError, cho_factor, cho_solve, lstsq

    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise _overflow_error(owner)
    a.flat[:: a.shape[0] + 1] += alpha
    try:
        factor = cho_factor(a, lower=False, overwrite_a=False, check_finite=False)
    except LinAlgError:
        solution = lstsq(a, b, check_finite=False)[0]
    else:
        solution = cho_solve(factor, b, overwrite_b=False, check_finite=False)
    return np.asarray(solution, dtype=np.float64)
