"""Tests of mmref.classifiers: parity with scikit-learn, the score contract, every error."""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import pytest
from helpers import HAVE_SKLEARN, requires_sklearn
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mmref import _classifier_base
from mmref.classifiers import (
    NearestCentroidClassifier,
    RidgeClassifier,
    SoftmaxClassifier,
)
from mmref.exceptions import ConvergenceWarning, NotFittedError

if HAVE_SKLEARN:
    from sklearn.linear_model import LogisticRegression
    from sklearn.linear_model import RidgeClassifier as SkRidgeClassifier
    from sklearn.neighbors import NearestCentroid

CLASSIFIERS = (
    NearestCentroidClassifier,
    lambda: NearestCentroidClassifier(metric="euclidean"),
    RidgeClassifier,
    SoftmaxClassifier,
)
CLASSIFIER_IDS = ("centroid-cosine", "centroid-euclidean", "ridge", "softmax")


def _blobs(n: int, d: int, k: int, seed: int, spread: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    """Overlapping Gaussian classes (test data only; mmref itself never uses Generators)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    X = rng.normal(size=(n, d)) + spread * rng.normal(size=(k, d))[y] + 0.3
    return X, y


def _relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    return float(np.abs(actual - expected).max() / np.abs(expected).max())


# --- parity with scikit-learn -------------------------------------------------------


@requires_sklearn
@pytest.mark.parametrize("k", [2, 3, 5])
@pytest.mark.parametrize("n, d", [(120, 8), (25, 40)], ids=["primal", "dual"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_ridge_matches_sklearn(k: int, n: int, d: int, fit_intercept: bool) -> None:
    X, y = _blobs(n, d, k, seed=k + n)
    ours = RidgeClassifier(alpha=0.7, fit_intercept=fit_intercept).fit(X, y)
    ref = SkRidgeClassifier(alpha=0.7, fit_intercept=fit_intercept).fit(X, y)
    X_test, _ = _blobs(30, d, k, seed=99)
    decision = ref.decision_function(X_test)
    if k == 2:
        # Two classes: scikit-learn's single column D becomes [-D, D].
        decision = np.column_stack((-decision, decision))
    assert _relative_error(ours.predict(X_test), decision) <= 1e-8
    # For two classes scikit-learn's RidgeClassifier ravels coef_ to (n_features,); ours
    # stays (1, n_features), as in LogisticRegression.
    assert ours.coef_.shape == (1 if k == 2 else k, d)
    np.testing.assert_allclose(ours.coef_, np.atleast_2d(ref.coef_), rtol=1e-8, atol=1e-10)
    ref_intercept = np.broadcast_to(ref.intercept_, ours.intercept_.shape)  # 0.0 if no intercept
    np.testing.assert_allclose(ours.intercept_, ref_intercept, rtol=1e-8, atol=1e-10)
    np.testing.assert_array_equal(ours.predict_labels(X_test), ref.predict(X_test))


@requires_sklearn
def test_ridge_singular_system_falls_back_to_least_squares() -> None:
    # alpha = 0 and an all-zero column make the Gram matrix exactly singular: the
    # Cholesky factorization fails and the minimum-norm solution is used, as
    # scikit-learn's fallback to its SVD solver does.
    X, y = _blobs(60, 5, 3, seed=1)
    X[:, 2] = 0.0
    ours = RidgeClassifier(alpha=0.0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = SkRidgeClassifier(alpha=0.0).fit(X, y)
    assert _relative_error(ours.predict(X), ref.decision_function(X)) <= 1e-6
    # The minimum-norm solution puts no weight on the all-zero column.
    assert np.abs(ours.coef_[:, 2]).max() < 1e-10


@requires_sklearn
@pytest.mark.parametrize("k", [2, 4])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_softmax_matches_sklearn_predict_proba(k: int, fit_intercept: bool) -> None:
    X, y = _blobs(150, 6, k, seed=k)
    params: dict[str, Any] = {"C": 0.5, "tol": 1e-10, "max_iter": 10_000}
    ours = SoftmaxClassifier(fit_intercept=fit_intercept, **params).fit(X, y)
    ref = LogisticRegression(fit_intercept=fit_intercept, **params).fit(X, y)
    X_test, _ = _blobs(40, 6, k, seed=7)
    np.testing.assert_allclose(ours.predict(X_test), ref.predict_proba(X_test), atol=1e-4)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-3)
    np.testing.assert_array_equal(ours.predict_labels(X_test), ref.predict(X_test))
    assert ours.coef_.shape == ref.coef_.shape
    assert ours.intercept_.shape == ref.intercept_.shape


@requires_sklearn
def test_nearest_centroid_euclidean_matches_sklearn() -> None:
    X, y = _blobs(200, 7, 4, seed=3)
    labels = np.array(["w", "x", "y", "z"])[y]
    ours = NearestCentroidClassifier(metric="euclidean").fit(X, labels)
    ref = NearestCentroid().fit(X, labels)
    np.testing.assert_allclose(ours.centroids_, ref.centroids_, rtol=1e-12)
    X_test, _ = _blobs(100, 7, 4, seed=4)
    np.testing.assert_array_equal(ours.predict_labels(X_test), ref.predict(X_test))
    distances = ((X_test[:, None, :] - ref.centroids_[None, :, :]) ** 2).sum(axis=2)
    np.testing.assert_allclose(ours.predict(X_test), -distances, rtol=1e-9)


def test_nearest_centroid_cosine_is_cosine_similarity() -> None:
    X, y = _blobs(90, 5, 3, seed=5)
    clf = NearestCentroidClassifier().fit(X, y)
    centroids = np.stack([X[y == j].mean(axis=0) for j in range(3)])
    X_test, _ = _blobs(20, 5, 3, seed=6)
    expected = (X_test @ centroids.T) / np.outer(
        np.linalg.norm(X_test, axis=1), np.linalg.norm(centroids, axis=1)
    )
    np.testing.assert_allclose(clf.predict(X_test), expected, rtol=1e-12, atol=1e-15)


def test_cosine_zero_norm_rows_and_centroids_score_zero() -> None:
    # Class "b" has a zero centroid (its two samples cancel); a zero row has no direction.
    X = np.array([[1.0, 0.0], [2.0, 0.0], [1.0, 1.0], [-1.0, -1.0]])
    clf = NearestCentroidClassifier().fit(X, ["a", "a", "b", "b"])
    scores = clf.predict([[0.0, 0.0], [3.0, 0.0], [-1.0, 0.0]])
    np.testing.assert_array_equal(scores, [[0.0, 0.0], [1.0, 0.0], [-1.0, 0.0]])


# --- the score contract --------------------------------------------------------------

label_kinds = st.sampled_from(["int", "str"])


@st.composite
def problems(draw: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(4, 30))
    d = draw(st.integers(1, 6))
    k = draw(st.integers(2, min(n, 5)))
    X = draw(
        hnp.arrays(
            np.float64, (n, d), elements=st.floats(-100, 100, allow_subnormal=False, width=32)
        )
    )
    # Every class appears: the first k rows take classes 0..k-1, the rest any class.
    rest = draw(hnp.arrays(np.int64, (n - k,), elements=st.integers(0, k - 1)))
    codes = np.concatenate((np.arange(k), rest))
    names = np.array([-7, 3, 11, 40, 41]) if draw(label_kinds) == "int" else None
    y = (
        names[codes]
        if names is not None
        else np.array(["pear", "fig", "apple", "kiwi", "b"])[codes]
    )
    X_new = draw(hnp.arrays(np.float64, (draw(st.integers(0, 5)), d), elements=st.floats(-5, 5)))
    return X, y, X_new


@pytest.mark.parametrize(
    "make",
    # The contract holds whether or not L-BFGS converged; few iterations keep this fast.
    (*CLASSIFIERS[:3], lambda: SoftmaxClassifier(max_iter=5)),
    ids=CLASSIFIER_IDS,
)
@given(problem=problems())
def test_predict_contract(make: Any, problem: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    X, y, X_new = problem
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = make().fit(X, y)
    np.testing.assert_array_equal(clf.classes_, np.unique(y))
    assert list(clf.classes_) == sorted(set(y.tolist()))
    assert clf.n_features_in_ == X.shape[1]
    scores = clf.predict(X_new)
    assert scores.shape == (X_new.shape[0], len(clf.classes_))
    assert scores.dtype == np.float64
    assert np.isfinite(scores).all()
    labels = clf.predict_labels(X_new)
    np.testing.assert_array_equal(labels, clf.classes_[np.argmax(scores, axis=1)])
    if isinstance(clf, SoftmaxClassifier):
        np.testing.assert_allclose(scores.sum(axis=1), 1.0, rtol=1e-12)
        assert (scores >= 0).all()
    if isinstance(clf, NearestCentroidClassifier) and clf.metric == "cosine":
        assert (np.abs(scores) <= 1 + 1e-12).all()
    if isinstance(clf, RidgeClassifier) and len(clf.classes_) == 2:
        np.testing.assert_array_equal(scores[:, 0], -scores[:, 1])


@pytest.mark.parametrize("make", CLASSIFIERS, ids=CLASSIFIER_IDS)
def test_fit_returns_self_and_score_is_accuracy(make: Any) -> None:
    X_all, y_all = _blobs(120, 4, 3, seed=8)
    X, y, X_test, y_test = X_all[:80], y_all[:80], X_all[80:], y_all[80:]
    clf = make()
    assert clf.fit(X, y) is clf
    expected = float(np.mean(clf.predict_labels(X_test) == y_test))
    assert clf.score(X_test, y_test) == expected
    assert 0.5 < expected <= 1.0  # the blobs are separable enough to beat chance (1/3)


@pytest.mark.parametrize("make", CLASSIFIERS, ids=CLASSIFIER_IDS)
def test_input_dtypes_are_computed_in_float64(make: Any) -> None:
    X, y = _blobs(60, 4, 3, seed=10)
    X32 = X.astype(np.float32)
    clf = make().fit(X32, y)
    ref = make().fit(X32.astype(np.float64), y)
    # Equal up to BLAS rounding: a converted block sits at another address than a slice
    # of X, and OpenBLAS may split a dot product differently depending on alignment.
    tight = {"rtol": 1e-13, "atol": 1e-15}
    np.testing.assert_allclose(clf.predict(X32), ref.predict(X32.astype(np.float64)), **tight)
    ints = np.rint(X * 10).astype(np.int32)
    np.testing.assert_allclose(
        make().fit(ints, y).predict(ints), make().fit(ints.astype(float), y).predict(ints), **tight
    )
    # Lists, F-ordered arrays and boolean features are accepted too.
    np.testing.assert_allclose(
        make().fit(X.tolist(), y.tolist()).predict(np.asfortranarray(X)),
        make().fit(X, y).predict(X),
        **tight,
    )
    assert make().fit(X > 0, y).predict(X > 0).shape == (60, 3)


@pytest.mark.parametrize("make", CLASSIFIERS, ids=CLASSIFIER_IDS)
def test_predict_converts_other_dtypes_in_blocks(make: Any, monkeypatch: Any) -> None:
    # A float32 X is converted to float64 in row blocks; with blocks of 3 rows (shrunk
    # from 32 MiB) the blocks, including a short last one, must tile the output.
    monkeypatch.setattr(_classifier_base, "_CONVERT_BLOCK_ELEMENTS", 3 * 7)
    X, y = _blobs(40, 7, 3, seed=11)
    X32 = X.astype(np.float32)
    clf = make().fit(X, y)
    np.testing.assert_allclose(
        clf.predict(X32), clf.predict(X32.astype(np.float64)), rtol=1e-13, atol=1e-15
    )
    X32[38, 2] = np.nan
    with pytest.raises(ValueError, match=r"NaN or infinity in 1 row\(s\): 38\."):
        clf.predict(X32)


def test_softmax_warns_and_reports_iterations_when_not_converged() -> None:
    X, y = _blobs(100, 5, 3, seed=12)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        clf = SoftmaxClassifier(max_iter=2, tol=1e-12).fit(X, y)
    assert clf.n_iter_ == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = SoftmaxClassifier().fit(X, y)
    assert 2 < clf.n_iter_ < 100


# --- errors --------------------------------------------------------------------------


@pytest.mark.parametrize("make", CLASSIFIERS, ids=CLASSIFIER_IDS)
@pytest.mark.parametrize("method", ["predict", "predict_labels", "score"])
def test_use_before_fit_raises_not_fitted(make: Any, method: str) -> None:
    clf = make()
    args = ([[1.0, 2.0]], [0]) if method == "score" else ([[1.0, 2.0]],)
    with pytest.raises(NotFittedError, match="Call 'fit'") as info:
        getattr(clf, method)(*args)
    assert isinstance(info.value, ValueError) and isinstance(info.value, AttributeError)


@pytest.mark.parametrize("make", CLASSIFIERS, ids=CLASSIFIER_IDS)
def test_wrong_feature_width(make: Any) -> None:
    X, y = _blobs(30, 5, 2, seed=13)
    clf = make().fit(X, y)
    name = type(clf).__name__
    message = f"X has 3 features, but {name} was fitted with 5 features."
    with pytest.raises(ValueError, match=re.escape(message)):
        clf.predict(np.zeros((4, 3)))


@pytest.mark.parametrize("make", CLASSIFIERS, ids=CLASSIFIER_IDS)
def test_bad_training_data(make: Any) -> None:
    X, y = _blobs(10, 3, 2, seed=14)
    cases: list[tuple[Any, Any, type[Exception], str]] = [
        (X, np.zeros(10), ValueError, r"only one class \(0\.0\)"),
        (X, ["a"] * 10, ValueError, r"only one class \('a'\)"),
        (X[:0], y[:0], ValueError, "X has 0 samples"),
        (X[:, :0], y, ValueError, "X has 0 features"),
        (X, y[:9], ValueError, "y has 9 labels but X has 10 samples"),
        (X, y[:, None], ValueError, r"y must be a 1-D array .* shape \(10, 1\)"),
        (X, np.where(y == 0, np.nan, 1.0), ValueError, "y contains NaN"),
        (X[0], y[:1], ValueError, r"X must be a 2-D array .* shape \(3,\)\. Use X\.reshape"),
        (X[None], y, ValueError, r"X must be a 2-D array .* shape \(1, 10, 3\)"),
        (X.astype(str), y, TypeError, "X must be a 2-D array of real numbers"),
        (X + 1j, y, TypeError, "dtype complex128"),
        ([[1.0, 2.0], [3.0]], [0, 1], TypeError, "cannot convert"),
    ]
    for X_bad, y_bad, error, pattern in cases:
        with pytest.raises(error, match=pattern):
            make().fit(X_bad, y_bad)


@pytest.mark.parametrize("make", CLASSIFIERS, ids=CLASSIFIER_IDS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_X(make: Any, bad: float) -> None:
    X, y = _blobs(20, 3, 2, seed=15)
    X_bad = X.copy()
    X_bad[[4, 17], 1] = bad
    with pytest.raises(ValueError, match=r"X contains NaN or infinity in 2 row\(s\): 4, 17\."):
        make().fit(X_bad, y)
    clf = make().fit(X, y)
    with pytest.raises(ValueError, match=r"X contains NaN or infinity in 2 row\(s\): 4, 17\."):
        clf.predict(X_bad)


@pytest.mark.parametrize("make", CLASSIFIERS[:3], ids=CLASSIFIER_IDS[:3])
def test_fit_overflow_is_an_error_not_nan(make: Any) -> None:
    X = np.array([[1e200, 1.0], [2e200, 0.0], [0.0, 1e200], [1.0, 3e200]])
    with pytest.raises(ValueError, match="overflowed float64"):
        make().fit(X, [0, 0, 1, 1])


@pytest.mark.parametrize(
    "clf",
    [
        NearestCentroidClassifier(),
        NearestCentroidClassifier(metric="euclidean"),
        RidgeClassifier(alpha=1e-3),
        SoftmaxClassifier(C=100.0),
    ],
    ids=CLASSIFIER_IDS,
)
def test_predict_overflow_is_an_error_not_nan(clf: Any) -> None:
    clf.fit([[0.0], [0.1], [0.3], [0.4]], [0, 0, 1, 1])
    if hasattr(clf, "coef_"):
        assert np.abs(clf.coef_).max() > 1.1  # so that 1e308 * coef_ overflows
    with pytest.raises(ValueError, match="overflow float64"):
        clf.predict([[1e308]])


@pytest.mark.parametrize(
    "make, pattern, error",
    [
        (lambda: NearestCentroidClassifier(metric="manhattan"), "'metric' parameter", ValueError),
        (lambda: RidgeClassifier(alpha=-1.0), "'alpha' parameter", ValueError),
        (lambda: RidgeClassifier(fit_intercept="yes"), "'fit_intercept' parameter", TypeError),
        (lambda: SoftmaxClassifier(C=0.0), "'C' parameter", ValueError),
        (lambda: SoftmaxClassifier(max_iter=0), "'max_iter' parameter", ValueError),
        (lambda: SoftmaxClassifier(tol=-1e-3), "'tol' parameter", ValueError),
        (lambda: SoftmaxClassifier(fit_intercept=1), "'fit_intercept' parameter", TypeError),
    ],
)
def test_bad_parameters_are_reported_at_fit(make: Any, pattern: str, error: type) -> None:
    clf = make()  # constructors store parameters unchanged, as in scikit-learn
    X, y = _blobs(10, 2, 2, seed=16)
    with pytest.raises(error, match=pattern):
        clf.fit(X, y)


def test_score_errors_and_predict_on_zero_rows() -> None:
    X, y = _blobs(30, 3, 3, seed=17)
    clf = RidgeClassifier().fit(X, y)
    with pytest.raises(ValueError, match=r"y has shape \(29,\) but X has 30 samples"):
        clf.score(X, y[:29])
    with pytest.raises(ValueError, match="accuracy of no samples is undefined"):
        clf.score(X[:0], y[:0])
    assert clf.predict(X[:0]).shape == (0, 3)
    assert clf.predict_labels(X[:0]).shape == (0,)
