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

import contextlib
import warnings
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ._classifier_base import (
    BaseClassifier,
    LinearClassifier,
    matmul_into,
    overflow_error,
)
from ._threads import blas_threads_for, single_threaded_blas
from ._typing import CentroidMetric, Float64Array
from ._validation import check_bool_param, check_float_param, check_int_param, check_option
from .exceptions import ConvergenceWarning

__all__ = [
    "NearestCentroidClassifier",
    "RidgeClassifier",
    "SoftmaxClassifier",
]

# Rows per block when accumulating the Gram matrix: large blocks keep BLAS efficient.
_GRAM_BLOCK_ELEMENTS = 1 << 21


class NearestCentroidClassifier(BaseClassifier):
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

    def __init__(self, metric: CentroidMetric = "cosine") -> None:
        self.metric = metric

    def _params(self) -> _CentroidParams:
        metric = check_option(
            self.metric, name="metric", owner=type(self).__name__, options=("cosine", "euclidean")
        )
        return _CentroidParams(metric)

    def _fit(
        self, X: npt.NDArray[Any], y_idx: npt.NDArray[np.intp], k: int, params: _CentroidParams
    ) -> None:
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
            raise overflow_error(type(self).__name__)
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
        matmul_into(X, self._weights, out)
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


class RidgeClassifier(LinearClassifier):
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

    def _params(self) -> _RidgeParams:
        owner = type(self).__name__
        return _RidgeParams(
            alpha=check_float_param(self.alpha, name="alpha", owner=owner, low=0.0),
            fit_intercept=check_bool_param(self.fit_intercept, name="fit_intercept", owner=owner),
        )

    def _fit_threads(self, n: int, d: int, k: int) -> AbstractContextManager[bool]:
        # Chosen per step in _fit: the products by their size, the factorization on one thread.
        return contextlib.nullcontext(False)

    def _fit(
        self, X: npt.NDArray[Any], y_idx: npt.NDArray[np.intp], k: int, params: _RidgeParams
    ) -> None:
        n, d = X.shape
        n_targets = 1 if k == 2 else k
        Y = np.full((n, n_targets), -1.0)
        if k == 2:
            Y[y_idx == 1, 0] = 1.0
        else:
            Y[np.arange(n), y_idx] = 1.0
        if params.fit_intercept:
            x_mean = np.mean(X, axis=0, dtype=np.float64)
            y_mean = Y.mean(axis=0)
            Y -= y_mean
        else:
            x_mean = np.zeros(d)
            y_mean = np.zeros(n_targets)
        alpha = float(params.alpha)
        if d <= n:
            gram = np.zeros((d, d))
            xty = np.zeros((d, n_targets))
            rows = max(1, _GRAM_BLOCK_ELEMENTS // d)
            with blas_threads_for(min(n, rows) * d * d):
                for start in range(0, n, rows):
                    block = np.asarray(X[start : start + rows], dtype=np.float64)
                    if params.fit_intercept:
                        block = block - x_mean
                    # block.T @ block shares one buffer: NumPy calls BLAS syrk (half the flops).
                    gram += block.T @ block
                    xty += block.T @ Y[start : start + rows]
            coef = _solve_pos(gram, xty, alpha, owner=type(self).__name__)
        else:
            Xc = np.asarray(X, dtype=np.float64) - x_mean
            with blas_threads_for(n * n * d):
                gram = Xc @ Xc.T
            dual = _solve_pos(gram, Y, alpha, owner=type(self).__name__)
            with blas_threads_for(n * d * n_targets):
                coef = Xc.T @ dual
        intercept = y_mean - x_mean @ coef
        self._set_weights(coef, intercept)

    def _scores(self, X: Float64Array, out: Float64Array) -> bool:
        if self._weights.shape[1] == 1:
            decision = X @ self._weights[:, 0]
            decision += self._offsets[0]
            out[:, 1] = decision
            np.negative(decision, out=out[:, 0])
        else:
            matmul_into(X, self._weights, out)
            out += self._offsets
        return True


class SoftmaxClassifier(LinearClassifier):
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

    def _params(self) -> _SoftmaxParams:
        owner = type(self).__name__
        return _SoftmaxParams(
            C=check_float_param(self.C, name="C", owner=owner, low=0.0, closed="neither"),
            max_iter=check_int_param(self.max_iter, name="max_iter", owner=owner, min_value=1),
            tol=check_float_param(self.tol, name="tol", owner=owner, low=0.0),
            fit_intercept=check_bool_param(self.fit_intercept, name="fit_intercept", owner=owner),
        )

    def _fit_threads(self, n: int, d: int, k: int) -> AbstractContextManager[bool]:
        # L-BFGS alternates thin products (k columns) with single-threaded steps, during
        # which a second BLAS thread only spins: one thread was as fast idle, and 2x
        # faster with one core busy (issue 19).
        return single_threaded_blas()

    def _fit(
        self, X: npt.NDArray[Any], y_idx: npt.NDArray[np.intp], k: int, params: _SoftmaxParams
    ) -> None:
        from scipy.optimize import minimize

        X64 = np.asarray(X, dtype=np.float64)
        n, d = X64.shape
        # With two classes, class 0's logit is pinned at 0: binary logistic regression.
        m = 1 if k == 2 else k
        n_rows = d + 1 if params.fit_intercept else d
        rows = np.arange(n)
        l2 = 1.0 / (float(params.C) * n)
        logits = np.zeros((n, k))
        free = logits[:, k - m :]
        raw = np.empty((n, m))
        grad = np.empty((n_rows, m))

        def loss_grad(theta: Float64Array) -> tuple[float, Float64Array]:
            unknowns = theta.reshape(n_rows, m)
            weights = unknowns[:d]
            np.matmul(X64, weights, out=raw)
            if params.fit_intercept:
                np.add(raw, unknowns[d], out=raw)
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
            if params.fit_intercept:
                grad[d] = g_free.sum(axis=0)
            return loss, grad.ravel().copy()

        result = minimize(
            loss_grad,
            np.zeros(n_rows * m),
            method="L-BFGS-B",
            jac=True,
            options={
                "maxiter": int(params.max_iter),
                "maxls": 50,
                "gtol": float(params.tol),
                "ftol": 64 * np.finfo(np.float64).eps,
            },
        )
        self.n_iter_ = min(int(result.nit), int(params.max_iter))
        if result.status != 0:
            warnings.warn(
                f"SoftmaxClassifier: L-BFGS stopped after {self.n_iter_} iteration(s) without "
                f"converging (status {result.status}: {result.message}). Increase max_iter, "
                f"scale the features or raise tol.",
                ConvergenceWarning,
                stacklevel=3,
            )
        solution = np.asarray(result.x, dtype=np.float64).reshape(n_rows, m)
        coef = solution[:d]
        intercept = solution[d].copy() if params.fit_intercept else np.zeros(m)
        self._set_weights(coef, intercept)

    def _scores(self, X: Float64Array, out: Float64Array) -> bool:
        if out.shape[1] == 2:
            out[:, 0] = 0.0
            out[:, 1] = X @ self._weights[:, 0]
            out[:, 1] += self._offsets[0]
        else:
            matmul_into(X, self._weights, out)
            out += self._offsets
        return True

    def _finish(self, scores: Float64Array) -> None:
        scores -= scores.max(axis=1)[:, None]
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1)[:, None]


# The validated parameters of each classifier, as ``_params()`` returns them at fit.


@dataclass(frozen=True)
class _CentroidParams:
    metric: CentroidMetric


@dataclass(frozen=True)
class _RidgeParams:
    alpha: float
    fit_intercept: bool


@dataclass(frozen=True)
class _SoftmaxParams:
    C: float
    max_iter: int
    tol: float
    fit_intercept: bool


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
        raise overflow_error(owner)
    a.flat[:: a.shape[0] + 1] += alpha
    # On one thread whatever the size (see mmref._threads: factorizations).
    with single_threaded_blas():
        try:
            factor = cho_factor(a, lower=False, overwrite_a=False, check_finite=False)
        except LinAlgError:
            solution = lstsq(a, b, check_finite=False)[0]
        else:
            solution = cho_solve(factor, b, overwrite_b=False, check_finite=False)
    return np.asarray(solution, dtype=np.float64)
