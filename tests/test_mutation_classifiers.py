"""The classifiers against plain transcriptions of their definitions (mmref/classifiers.py).

Written to kill the mutants tools/mutation.py finds in mmref/classifiers.py and
mmref/_classifier_base.py. Every check is on what a user sees: the scores ``predict``
returns (against a direct NumPy computation of the documented formula), the fitted
attributes, the labels, and the errors, whose whole message is the user's only
diagnosis. Sizes are chosen so that fitting and predicting run over several row blocks.
"""

from __future__ import annotations

import contextlib
import os
import pickle
from typing import Any

import numpy as np
import pytest

import mmref._classifier_base as base_module
import mmref.classifiers as classifiers_module
from mmref import ModelFileError, NotFittedError
from mmref.classifiers import NearestCentroidClassifier, RidgeClassifier, SoftmaxClassifier

CLASSIFIERS = [NearestCentroidClassifier, RidgeClassifier, SoftmaxClassifier]


def _data(n: int, d: int, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    X = rng.normal(size=(n, d)) + 2.0 * np.eye(k, d)[y]
    return X, y


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


# --- nearest centroid --------------------------------------------------------------------


def _centroid_scores(X: np.ndarray, centroids: np.ndarray, metric: str) -> np.ndarray:
    if metric == "euclidean":
        return -(((X[:, None, :] - centroids[None]) ** 2).sum(axis=2))
    xn = np.linalg.norm(X, axis=1)[:, None]
    cn = np.linalg.norm(centroids, axis=1)[None]
    dots = X @ centroids.T
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((xn > 0) & (cn > 0), dots / (xn * cn), 0.0)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize(("k", "labels"), [(2, [5, 9]), (3, ["a", "b", "c"])])
def test_nearest_centroid_scores_are_the_documented_formula(
    metric: str, k: int, labels: list[Any]
) -> None:
    X, y_idx = _data(40, 5, k)
    X[3] = 0.0  # a zero row: similarity 0 with everything
    y = np.asarray(labels)[y_idx]
    clf = NearestCentroidClassifier(metric=metric).fit(X, y)
    centroids = np.array([X[y_idx == j].mean(axis=0) for j in range(k)])
    np.testing.assert_allclose(clf.centroids_, centroids, rtol=1e-13, atol=1e-15)
    X_new = np.vstack([_data(7, 5, k, seed=1)[0], np.zeros((1, 5))])
    expected = _centroid_scores(X_new, centroids, metric)
    np.testing.assert_allclose(clf.predict(X_new), expected, rtol=1e-11, atol=1e-12)
    assert list(clf.classes_) == labels
    np.testing.assert_array_equal(
        clf.predict_labels(X_new), np.asarray(labels)[np.argmax(expected, axis=1)]
    )


def test_cosine_with_a_zero_centroid_scores_zero_for_it() -> None:
    X = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, 2.0]])
    clf = NearestCentroidClassifier().fit(X, [0, 0, 1, 1])  # class 0's centroid is 0
    np.testing.assert_allclose(clf.predict([[3.0, 4.0], [0.0, 0.0]]), [[0.0, 0.8], [0.0, 0.0]])


def test_euclidean_distance_is_never_positive() -> None:
    X = np.array([[1e8, 1.0], [1e8, 1.0], [0.0, 0.0], [1.0, 1.0]])
    clf = NearestCentroidClassifier(metric="euclidean").fit(X, [0, 0, 1, 1])
    scores = clf.predict([[1e8, 1.0]])
    assert scores[0, 0] == 0.0  # exactly on the centroid: rounding may not make it positive
    assert scores[0, 1] < 0


# --- ridge ----------------------------------------------------------------------------------


def _ridge(X: np.ndarray, y_idx: np.ndarray, k: int, alpha: float, intercept: bool) -> Any:
    n, d = X.shape
    Y = -np.ones((n, k))
    Y[np.arange(n), y_idx] = 1.0
    if k == 2:
        Y = Y[:, 1:]
    mx = X.mean(axis=0) if intercept else np.zeros(d)
    my = Y.mean(axis=0) if intercept else np.zeros(Y.shape[1])
    Xc, Yc = X - mx, Y - my
    W = np.linalg.solve(Xc.T @ Xc + alpha * np.eye(d), Xc.T @ Yc)
    return W.T, my - mx @ W


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize(("n", "d"), [(30, 4), (6, 9)], ids=["primal", "dual"])
def test_ridge_solves_the_documented_system(k: int, intercept: bool, n: int, d: int) -> None:
    X, y = _data(n, d, k)
    alpha = 0.7
    clf = RidgeClassifier(alpha=alpha, fit_intercept=intercept).fit(X, y)
    coef, b = _ridge(X, y, k, alpha, intercept)
    np.testing.assert_allclose(clf.coef_, coef, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(clf.intercept_, b, rtol=1e-9, atol=1e-11)
    X_new = _data(5, d, k, seed=3)[0]
    D = X_new @ coef.T + b
    expected = np.hstack([-D, D]) if k == 2 else D
    np.testing.assert_allclose(clf.predict(X_new), expected, rtol=1e-9, atol=1e-11)


def test_ridge_without_penalty_on_a_singular_system_still_fits() -> None:
    X = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0], [4.0, 4.0]])  # two equal columns
    clf = RidgeClassifier(alpha=0.0, fit_intercept=False).fit(X, [0, 0, 1, 1])
    # Any least-squares solution: the decision values are those of the minimum-norm one.
    w = np.linalg.pinv(X) @ np.array([-1.0, -1.0, 1.0, 1.0])
    np.testing.assert_allclose(clf.predict(X)[:, 1], X @ w, rtol=1e-9)
    # All-zero features: no Cholesky factor exists; the minimum-norm solution is 0.
    zero = RidgeClassifier(alpha=0.0, fit_intercept=False).fit(np.zeros((4, 2)), [0, 0, 1, 1])
    np.testing.assert_array_equal(zero.coef_, np.zeros((1, 2)))
    np.testing.assert_array_equal(zero.predict([[1.0, 2.0]]), [[0.0, 0.0]])


def test_ridge_and_centroids_fit_over_many_row_blocks() -> None:
    # About 2 million values per block: 2048 columns give blocks of 1024 rows.
    X, y = _data(2600, 2048, 3, seed=4)
    X32 = X.astype(np.float32)
    ridge = RidgeClassifier(alpha=5.0).fit(X32, y)
    coef, b = _ridge(X32.astype(np.float64), y, 3, 5.0, True)
    np.testing.assert_allclose(ridge.coef_, coef, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(ridge.intercept_, b, rtol=1e-7, atol=1e-10)
    centroid = NearestCentroidClassifier().fit(X32, y)
    means = np.array([X32[y == j].astype(np.float64).mean(axis=0) for j in range(3)])
    np.testing.assert_allclose(centroid.centroids_, means, rtol=1e-12, atol=1e-14)


def test_predict_converts_other_dtypes_block_by_block_without_changing_a_score() -> None:
    # 4 million values per conversion block: 2048 columns give blocks of 2048 rows.
    X, y = _data(60, 2048, 3, seed=5)
    clf = RidgeClassifier().fit(X, y)
    X_new = np.random.default_rng(6).integers(-3, 4, size=(4500, 2048), dtype=np.int8)
    scores = clf.predict(X_new)
    expected = X_new.astype(np.float64) @ clf.coef_.T + clf.intercept_
    np.testing.assert_allclose(scores, expected, rtol=1e-12, atol=1e-12)
    assert scores.shape == (4500, 3)


# --- softmax ------------------------------------------------------------------------------


def _objective(clf: SoftmaxClassifier, X: np.ndarray, y_idx: np.ndarray, k: int) -> Any:
    """The documented objective and its gradient in (coef_, intercept_)."""

    def f(coef: np.ndarray, b: np.ndarray) -> float:
        z = X @ coef.T + b
        if k == 2:
            z = np.hstack([np.zeros((len(X), 1)), z])
        zmax = z.max(axis=1)
        lse = zmax + np.log(np.exp(z - zmax[:, None]).sum(axis=1))
        return float(clf.C * (lse - z[np.arange(len(X)), y_idx]).sum() + 0.5 * (coef**2).sum())

    return f


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("intercept", [True, False])
def test_softmax_minimizes_the_documented_objective(k: int, intercept: bool) -> None:
    X, y = _data(60, 3, k, seed=7)
    clf = SoftmaxClassifier(C=2.0, tol=1e-10, max_iter=1000, fit_intercept=intercept).fit(X, y)
    f = _objective(clf, X, y, k)
    best = f(clf.coef_, clf.intercept_)
    rng = np.random.default_rng(8)
    for _ in range(20):  # any small step away from the fitted weights costs more
        step = rng.normal(size=clf.coef_.shape) * 1e-3
        assert f(clf.coef_ + step, clf.intercept_) > best
        if intercept:
            assert (
                f(clf.coef_, clf.intercept_ + rng.normal(size=clf.intercept_.shape) * 1e-3) > best
            )
    if not intercept:
        np.testing.assert_array_equal(clf.intercept_, np.zeros_like(clf.intercept_))
    z = X @ clf.coef_.T + clf.intercept_
    if k == 2:
        z = np.hstack([np.zeros((len(X), 1)), z])
    proba = clf.predict(X)
    np.testing.assert_allclose(proba, _softmax(z), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-14)


def test_softmax_agrees_with_scikit_learn() -> None:
    linear_model = pytest.importorskip("sklearn.linear_model")
    X, y = _data(80, 4, 3, seed=9)
    ours = SoftmaxClassifier(C=0.5, tol=1e-10, max_iter=500).fit(X, y)
    theirs = linear_model.LogisticRegression(C=0.5, tol=1e-10, max_iter=500).fit(X, y)
    np.testing.assert_allclose(ours.predict(X), theirs.predict_proba(X), rtol=1e-5, atol=1e-7)


def test_softmax_says_when_it_stopped_early() -> None:
    from mmref import ConvergenceWarning

    X, y = _data(60, 3, 3, seed=10)
    with pytest.warns(ConvergenceWarning, match=r"stopped after 2 iteration\(s\)") as record:
        clf = SoftmaxClassifier(max_iter=2, tol=1e-12).fit(X, y)
    assert clf.n_iter_ == 2
    assert "Increase max_iter, scale the features or raise tol." in str(record[0].message)
    # Attributed to the caller's fit. (mutmut's trampolines add a frame to the stack: under
    # tools/mutation.py the attribution cannot be checked, see tests/MUTATION.md.)
    if "MUTANT_UNDER_TEST" not in os.environ:
        assert record[0].filename == __file__


def test_softmax_with_huge_logits_still_gives_probabilities() -> None:
    X = np.array([[0.0], [1.0], [3.0], [4.0]])
    clf = SoftmaxClassifier(C=1e6, max_iter=1000).fit(X, [0, 0, 1, 1])
    proba = clf.predict([[1e6], [-1e6]])
    np.testing.assert_array_equal(proba, [[0.0, 1.0], [1.0, 0.0]])


# --- the shared contract: labels, score, errors ---------------------------------------


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_labels_and_score(cls: Any) -> None:
    X, y_idx = _data(30, 3, 3, seed=11)
    y = np.array(["x", "y", "z"])[y_idx]
    clf = cls().fit(X, y)
    labels = clf.predict_labels(X)
    assert labels.dtype == y.dtype
    np.testing.assert_array_equal(labels, clf.classes_[np.argmax(clf.predict(X), axis=1)])
    assert clf.score(X, y) == np.mean(labels == y)
    flipped = np.where(labels == "x", "y", "x")
    assert clf.score(X, flipped) == np.mean(labels == flipped)
    assert clf.n_features_in_ == 3


def _message(excinfo: Any) -> str:
    return str(excinfo.value)


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_fit_refusals_say_what_is_wrong(cls: Any) -> None:
    name = cls.__name__
    X, y = _data(6, 2, 2)
    cases: list[tuple[Any, Any, type[Exception], str]] = [
        (
            np.zeros((0, 2)),
            [],
            ValueError,
            f"X has 0 samples (shape (0, 2)); {name}.fit needs "
            "at least one sample of each of at least 2 classes.",
        ),
        (
            np.zeros((2, 0)),
            [0, 1],
            ValueError,
            "X has 0 features (shape (2, 0)); expected at least 1.",
        ),
        (
            np.zeros(3),
            [0, 1, 1],
            ValueError,
            f"X must be a 2-D array (n_samples, n_features) "
            f"for {name}; got an array of shape (3,). Use X.reshape(1, -1) for a single sample.",
        ),
        (
            np.zeros((1, 2, 2)),
            [0],
            ValueError,
            f"X must be a 2-D array (n_samples, n_features) "
            f"for {name}; got an array of shape (1, 2, 2).",
        ),
        (
            X,
            y[:5],
            ValueError,
            "y has 5 labels but X has 6 samples; expected one label per row of X.",
        ),
        (
            X,
            y.reshape(3, 2),
            ValueError,
            "y must be a 1-D array of labels (n_samples,); got an array of shape (3, 2).",
        ),
        (
            X,
            np.zeros(6),
            ValueError,
            "y has only one class (0.0); a classifier needs at least 2 classes.",
        ),
        (
            X,
            np.array([0.0, 1, np.nan, 0, 1, 0]),
            ValueError,
            "y contains NaN; expected labels (ints or strings), one per sample.",
        ),
        (
            X,
            np.array([1, "a", 2, "b", 1, 2], dtype=object),
            TypeError,
            "y mixes labels of different types (int, str); expected labels of one type (all "
            "ints, all floats, all bools or all strings), which are kept exactly as given.",
        ),
        (
            X,
            np.array([1j, 2j, 1j, 2j, 1j, 2j], dtype=object),
            TypeError,
            "y must hold labels of one sortable type (ints or strings); got an array of shape "
            "(6,) and dtype object.",
        ),
        (
            np.array([[1 + 1j, 0]]),
            [0],
            TypeError,
            f"X must be a 2-D array of real numbers "
            f"(bool, integer or float) for {name}; got an array of shape (1, 2) and dtype "
            f"complex128 with dtype complex128.",
        ),
    ]
    for X_bad, y_bad, error, message in cases:
        with pytest.raises(error) as info:
            cls().fit(X_bad, y_bad)
        assert _message(info) == message


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_non_finite_rows_are_named(cls: Any) -> None:
    X, y = _data(30, 2, 2)
    bad = X.copy()
    rows = [0, 3, 4, 7, 8, 9, 11, 12, 15, 20, 21, 29]
    bad[rows, 1] = [np.nan, np.inf, -np.inf] * 4
    message = (
        "X contains NaN or infinity in 12 row(s): 0, 3, 4, 7, 8, 9, 11, 12, 15, 20 and 2 more. "
        "Expected finite values; impute or drop those rows."
    )
    with pytest.raises(ValueError) as info:
        cls().fit(bad, y)
    assert _message(info) == message
    clf = cls().fit(X, y)
    with pytest.raises(ValueError) as info:
        clf.predict(bad)
    assert _message(info) == message
    with pytest.raises(ValueError) as info:
        clf.predict(bad[:1].astype(np.float32))
    assert _message(info) == (
        "X contains NaN or infinity in 1 row(s): 0. "
        "Expected finite values; impute or drop those rows."
    )


@pytest.mark.parametrize("cls", [NearestCentroidClassifier])
def test_scores_that_overflow_are_an_error_not_inf(cls: Any) -> None:
    X, y = _data(10, 2, 2)
    clf = cls().fit(X, y)
    with pytest.raises(ValueError) as info:
        clf.predict(np.full((2, 2), 1e307))
    assert _message(info) == (
        f"The class scores of {cls.__name__} overflow float64 for this X (its values are too "
        "large); rescale X."
    )


@pytest.mark.parametrize("cls", [NearestCentroidClassifier, RidgeClassifier])
def test_fit_overflow_is_named(cls: Any) -> None:
    # Finite values whose sum overflows pass the finiteness check; the fit then overflows.
    X = np.array([[1e308, 0.0], [1e308, 1.0], [-1e308, 0.0], [1e308, 1.0]])
    with pytest.raises(ValueError) as info:
        cls().fit(X, [0, 0, 1, 1])
    assert _message(info) == (
        f"{cls.__name__}.fit overflowed float64: the values of X are too large (their "
        "squares or products exceed about 1e308); rescale X."
    )


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_predict_and_score_refusals(cls: Any) -> None:
    name = cls.__name__
    with pytest.raises(NotFittedError):
        cls().predict(np.zeros((1, 2)))
    X, y = _data(10, 2, 2)
    clf = cls().fit(X, y)
    with pytest.raises(ValueError) as info:
        clf.predict(np.zeros((1, 3)))
    assert _message(info) == f"X has 3 features, but {name} was fitted with 2 features."
    with pytest.raises(ValueError) as info:
        clf.score(X, y[:9])
    assert _message(info) == (
        "y has shape (9,) but X has 10 samples; expected a 1-D array of one label per row of X."
    )
    with pytest.raises(ValueError) as info:
        clf.score(np.zeros((0, 2)), [])
    assert _message(info) == "X has 0 samples; the accuracy of no samples is undefined."
    with pytest.raises(ValueError):
        clf.score(X, y.reshape(5, 2))
    assert clf.predict(np.zeros((0, 2))).shape == (0, 2)


# --- fitted state set by hand or unpickled: refused with ModelFileError ---------------


def _fitted(cls: Any, k: int = 3) -> Any:
    X, y = _data(12, 2, k)
    return cls().fit(X, y)


def _arrays(clf: Any) -> list[str]:
    return ["centroids_"] if isinstance(clf, NearestCentroidClassifier) else ["coef_", "intercept_"]


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_unpickled_classifiers_predict_the_same(cls: Any) -> None:
    clf = _fitted(cls)
    X = _data(5, 2, 3, seed=2)[0]
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(clf)).predict(X), clf.predict(X))


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_tampered_fitted_state_is_refused_naming_the_attribute(cls: Any) -> None:
    name = cls.__name__
    X = np.zeros((1, 2))

    def refused(change: Any, message: str) -> None:
        clf = pickle.loads(pickle.dumps(_fitted(cls)))  # state not derived yet
        change(clf)
        with pytest.raises(ModelFileError) as info:
            clf.predict(X)
        assert _message(info) == message, _message(info)

    array = _arrays(_fitted(cls))[0]
    names = ", ".join(["classes_", "n_features_in_", *_arrays(_fitted(cls))])
    refused(
        lambda c: c.__dict__.pop(array),
        f"{name} has the fitted attribute classes_ but lacks {array}; expected all of {names}.",
    )
    refused(
        lambda c: c.__dict__.pop("n_features_in_"),
        f"{name} has the fitted attribute classes_ but lacks n_features_in_; "
        f"expected all of {names}.",
    )
    for classes in (
        np.array([2, 1, 3]),  # not sorted
        np.array([1, 1, 3]),  # not unique
        np.array([1]),  # one class
        np.array([[1, 2, 3]]),  # not 1-D
        [1, 2, 3],  # not an array
        np.array([1 + 0j, 2, 3]),  # complex
        np.array([1, "a", None], dtype=object),  # not comparable
    ):
        refused(
            lambda c, v=classes: setattr(c, "classes_", v),
            f"{name}.classes_ is {_describe(classes)}; expected a 1-D array of at least 2 "
            "sorted unique labels (ints, floats or strings).",
        )
    for d in (0, -1, True, 2.0, "2"):
        refused(
            lambda c, v=d: setattr(c, "n_features_in_", v),
            f"{name}.n_features_in_ is {d!r}; expected an int >= 1.",
        )

    for attr in _arrays(_fitted(cls)):
        good = getattr(_fitted(cls), attr)
        shape = good.shape
        as_float32, as_list = good.astype(np.float32), good.tolist()
        wrong = np.zeros((*shape[:-1], shape[-1] + 1))
        for value, message in [
            (
                as_float32,
                f"{name}.{attr} is an array of shape {shape_str(shape)} and dtype float32; "
                f"expected a float64 array of shape {shape_str(shape)}.",
            ),
            (
                as_list,
                f"{name}.{attr} is {_describe(as_list)}; expected a float64 array of shape "
                f"{shape_str(shape)}.",
            ),
            (
                wrong,
                f"{name}.{attr} has shape {shape_str(wrong.shape)}; expected "
                f"{shape_str(shape)} for 3 classes and 2 features.",
            ),
        ]:
            refused(lambda c, a=attr, v=value: setattr(c, a, v), message)
        for bad_value in (np.nan, np.inf, -np.inf):
            bad = good.copy()
            bad.flat[-1] = bad_value
            refused(
                lambda c, a=attr, v=bad: setattr(c, a, v),
                f"{name}.{attr} holds NaN or infinity; expected finite.",
            )


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {shape_str(value.shape)} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def shape_str(shape: tuple[int, ...]) -> str:
    return str(tuple(int(s) for s in shape))


@pytest.mark.parametrize("cls", [RidgeClassifier, SoftmaxClassifier])
def test_two_classes_have_one_weight_row(cls: Any) -> None:
    clf = _fitted(cls, k=2)
    assert clf.coef_.shape == (1, 2)
    assert clf.intercept_.shape == (1,)
    restored = pickle.loads(pickle.dumps(clf))
    restored.coef_ = np.zeros((2, 2))
    with pytest.raises(ModelFileError, match=r"expected \(1, 2\) for 2 classes and 2 features"):
        restored.predict(np.zeros((1, 2)))


# --- parameters: the documented defaults, and refusals naming the parameter ------------


def test_documented_defaults() -> None:
    assert RidgeClassifier().get_params() == {"alpha": 1.0, "fit_intercept": True}
    assert SoftmaxClassifier().get_params() == {
        "C": 1.0,
        "fit_intercept": True,
        "max_iter": 100,
        "tol": 1e-4,
    }
    assert NearestCentroidClassifier().get_params() == {"metric": "cosine"}


@pytest.mark.parametrize(
    ("clf", "error", "message"),
    [
        (
            RidgeClassifier(alpha=-1),
            ValueError,
            "The 'alpha' parameter of RidgeClassifier must be a float >= 0.0. Got -1 instead.",
        ),
        (
            RidgeClassifier(fit_intercept=1),
            TypeError,
            "The 'fit_intercept' parameter of RidgeClassifier must be a bool. "
            "Got 1 of type int instead.",
        ),
        (
            SoftmaxClassifier(C=0),
            ValueError,
            "The 'C' parameter of SoftmaxClassifier must be a float > 0.0. Got 0 instead.",
        ),
        (
            SoftmaxClassifier(max_iter=0),
            ValueError,
            "The 'max_iter' parameter of SoftmaxClassifier must be an int >= 1. Got 0 instead.",
        ),
        (
            SoftmaxClassifier(tol=-1),
            ValueError,
            "The 'tol' parameter of SoftmaxClassifier must be a float >= 0.0. Got -1 instead.",
        ),
        (
            SoftmaxClassifier(fit_intercept="no"),
            TypeError,
            "The 'fit_intercept' parameter of SoftmaxClassifier must be a bool. "
            "Got 'no' of type str instead.",
        ),
        (
            NearestCentroidClassifier(metric="l1"),
            ValueError,
            "The 'metric' parameter of NearestCentroidClassifier must be one of "
            "{'cosine', 'euclidean'}. Got 'l1' instead.",
        ),
    ],
    ids=repr,
)
def test_bad_parameters_are_refused_at_fit_naming_them(
    clf: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as info:
        clf.fit(np.eye(4), [0, 0, 1, 1])
    assert _message(info) == message


def test_the_smallest_valid_parameters_are_accepted() -> None:
    import warnings

    X, y = _data(20, 2, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one iteration need not converge
        assert SoftmaxClassifier(max_iter=1).fit(X, y).n_iter_ == 1
    SoftmaxClassifier(C=1e-300, tol=0.0).fit(X, y)
    RidgeClassifier(alpha=0.0).fit(X, y)


def test_softmax_fits_features_whose_logits_would_overflow_exp() -> None:
    # Logits in the thousands along the way: exp overflows unless each row is shifted.
    X = np.array([[0.0], [1000.0], [3000.0], [4000.0], [1800.0], [2200.0]])
    for k_labels in ([0, 0, 1, 1, 0, 1], [0, 0, 2, 2, 1, 1]):
        clf = SoftmaxClassifier(C=1e4, max_iter=1000).fit(X, k_labels)
        proba = clf.predict(X)
        assert np.isfinite(proba).all()
        np.testing.assert_array_equal(clf.predict_labels(X), k_labels)


@pytest.mark.parametrize(
    ("X", "fit_intercept"),
    [
        (np.array([[1e200, 0], [1e200, 1], [-1e200, 0], [1e200, 1.0]]), True),  # primal
        (np.array([[1e200, 0], [1e200, 1], [-1e200, 0], [1e200, 1.0]]), False),
        (np.array([[1e200, 0, 1], [1e200, 1, 2.0]]), False),  # dual
    ],
)
def test_ridge_names_a_system_too_large_for_float64(X: np.ndarray, fit_intercept: bool) -> None:
    with pytest.raises(ValueError) as info:
        RidgeClassifier(fit_intercept=fit_intercept).fit(X, [0, 1, 0, 1][: len(X)])
    assert _message(info) == (
        "RidgeClassifier.fit overflowed float64: the values of X are too large (their "
        "squares or products exceed about 1e308); rescale X."
    )


def test_ridge_computes_in_float64_whatever_the_input_dtype() -> None:
    X, y = _data(300, 6, 3, seed=12)
    X32 = (X * 1000).astype(np.float32)
    for fit_intercept in (True, False):
        clf = RidgeClassifier(alpha=0.1, fit_intercept=fit_intercept).fit(X32, y)
        coef, b = _ridge(X32.astype(np.float64), y, 3, 0.1, fit_intercept)
        np.testing.assert_allclose(clf.coef_, coef, rtol=1e-11, atol=1e-14)
        np.testing.assert_allclose(clf.intercept_, b, rtol=1e-11, atol=1e-14)


# --- the shared contract, continued (mmref/_classifier_base.py) -------------------------


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_mixed_label_types_are_named_by_kind(cls: Any) -> None:
    X = _data(4, 2, 2)[0]
    for y, kinds in [
        ([True, 1.5, True, 1.5], "bool, float"),
        ([b"a", "b", b"a", "b"], "bytes, str"),
        ([1, 2.5, 1, 2.5], "float, int"),
        ([[0, "a"], [1, "b"], [0, "a"], [1, "b"]], "int, str"),  # also when not 1-D
    ]:
        with pytest.raises(TypeError, match=rf"^y mixes labels of different types \({kinds}\);"):
            cls().fit(X, y)


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_the_rows_listed_stop_at_ten_and_count_the_rest(cls: Any) -> None:
    clf = _fitted(cls)
    for n_bad, more in [(10, ""), (11, " and 1 more"), (12, " and 2 more")]:
        X = np.ones((15, 2))
        X[:n_bad, 0] = np.nan
        listed = ", ".join(str(i) for i in range(10))
        with pytest.raises(ValueError) as info:
            clf.predict(X)
        assert _message(info).startswith(
            f"X contains NaN or infinity in {n_bad} row(s): {listed}{more}. "
        ), _message(info)


@pytest.mark.parametrize("cls", [RidgeClassifier, SoftmaxClassifier])
def test_integer_input_whose_scores_overflow_is_named_as_overflow(cls: Any) -> None:
    # Integers are finite: scores that overflow float64 are the model's doing, not a bad row.
    clf = _fitted(cls)
    clf.coef_ = np.full_like(clf.coef_, 1e300)
    clf = pickle.loads(pickle.dumps(clf))  # the scoring arrays are derived from coef_ again
    with pytest.raises(ValueError, match=r"^The class scores of .* overflow float64"):
        clf.predict(np.array([[10**10, 10**10]], dtype=np.int64))


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_tampered_classes_out_of_order_are_refused(cls: Any) -> None:
    for classes in (np.array([1, 3, 2]), np.array([2, 1]), np.array(["b", "a"])):
        clf = pickle.loads(pickle.dumps(_fitted(cls, k=len(classes))))
        clf.classes_ = classes
        with pytest.raises(ModelFileError, match=r"sorted unique labels"):
            clf.predict(np.zeros((1, 2)))


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_unpickled_classifiers_keep_any_label_kind_and_a_single_feature(cls: Any) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 1))
    for y in (
        np.array(["cat", "dog", "emu"] * 4),
        np.array([b"cat", b"dog", b"emu"] * 4),
        np.array(["cat", "dog", "emu"] * 4, dtype=object),
        np.array(["2020-01-01", "2021-01-01", "2022-01-01"] * 4, dtype="datetime64[D]"),
        np.array([0.5, 1.5, 2.5] * 4),
    ):
        clf = cls().fit(X, y)
        loaded = pickle.loads(pickle.dumps(clf))
        np.testing.assert_array_equal(loaded.predict_labels(X), clf.predict_labels(X))
        assert loaded.n_features_in_ == 1


# --- BLAS threads per step (SPEC 14.2): a product of 2**27 multiply-adds or more runs on
# the caller's threads, a smaller one on one thread; the boundary is where a wrong size
# shows. Observed as the thread count BLAS has inside each step, never as a time.

_SMALL_WORK = 2**27  # SPEC 14.2


def _blas_threads() -> list[int]:
    threadpoolctl = pytest.importorskip("threadpoolctl")
    info = threadpoolctl.threadpool_info()
    return [lib["num_threads"] for lib in info if lib["user_api"] == "blas"]


def _threads_of_each_step(monkeypatch: pytest.MonkeyPatch, module: Any, call: Any) -> list[str]:
    """Run ``call``; for each step ``module`` sizes, "one" (BLAS on one thread) or "caller"."""
    import scipy.linalg  # noqa: F401  (loads SciPy's BLAS too, before the counts are taken)

    before = _blas_threads()
    if max(before, default=1) < 2:
        pytest.skip("BLAS runs on one thread here: nothing to tell apart")
    original = module.blas_threads_for
    seen: list[str] = []

    @contextlib.contextmanager
    def recording(work: int) -> Any:
        with original(work) as limited:
            threads = _blas_threads()
            seen.append("one" if set(threads) == {1} else "caller" if threads == before else "?")
            yield limited

    monkeypatch.setattr(module, "blas_threads_for", recording)
    call()
    assert _blas_threads() == before
    return seen


@pytest.mark.parametrize(("n", "expected"), [(2048, "caller"), (2047, "one")])
def test_ridge_primal_gram_product_threads_are_chosen_by_its_size(
    monkeypatch: pytest.MonkeyPatch, n: int, expected: str
) -> None:
    # d = 256: blocks of 8192 rows, so the one block of n rows costs n * 256**2.
    X, y = _data(n, 256, 3)
    steps = _threads_of_each_step(
        monkeypatch, classifiers_module, lambda: RidgeClassifier().fit(X, y)
    )
    assert steps == [expected]


@pytest.mark.parametrize(
    ("n", "d", "k", "expected"),
    [
        (512, 513, 3, ["caller", "one"]),  # Xc @ Xc.T: 512 * 512 * 513 >= 2**27
        (511, 514, 3, ["one", "one"]),  # 511 * 511 * 514 < 2**27
        (512, 1024, 256, ["caller", "caller"]),  # Xc.T @ dual: 512 * 1024 * 256 == 2**27
        (512, 1024, 255, ["caller", "one"]),
    ],
)
def test_ridge_dual_products_threads_are_chosen_by_their_size(
    monkeypatch: pytest.MonkeyPatch, n: int, d: int, k: int, expected: list[str]
) -> None:
    X, y = _data(n, d, k)
    steps = _threads_of_each_step(
        monkeypatch, classifiers_module, lambda: RidgeClassifier().fit(X, y)
    )
    assert steps == expected


@pytest.mark.parametrize(("n", "expected"), [(4096, "caller"), (4095, "one")])
def test_predict_threads_are_chosen_by_the_size_of_its_product(
    monkeypatch: pytest.MonkeyPatch, n: int, expected: str
) -> None:
    # A float64 X is one product of n * d * k multiply-adds: 4096 * 256 * 128 == 2**27.
    X, y = _data(256, 256, 128)
    clf = NearestCentroidClassifier().fit(X, y)
    X_new = _data(n, 256, 128, seed=1)[0]
    steps = _threads_of_each_step(monkeypatch, base_module, lambda: clf.predict(X_new))
    assert steps == [expected]


def test_predict_sizes_each_converted_block_on_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    # d = 256: a float32 X is converted in blocks of 16384 rows, each 16384 * 256 * 16 ==
    # 2**26 multiply-adds (one thread), while the same X in float64 is one product of 2**27.
    X, y = _data(64, 256, 16)
    clf = RidgeClassifier().fit(X, y)
    X_new = _data(32768, 256, 16, seed=1)[0]
    X32 = X_new.astype(np.float32)
    assert _threads_of_each_step(monkeypatch, base_module, lambda: clf.predict(X32)) == ["one"]
    assert _threads_of_each_step(monkeypatch, base_module, lambda: clf.predict(X_new)) == ["caller"]


@pytest.mark.parametrize(("n", "expected"), [(4096, "caller"), (4095, "one")])
def test_centroid_fit_threads_are_chosen_by_n_d_k(
    monkeypatch: pytest.MonkeyPatch, n: int, expected: str
) -> None:
    X, y = _data(n, 256, 128)  # 4096 * 256 * 128 == 2**27
    steps = _threads_of_each_step(
        monkeypatch, base_module, lambda: NearestCentroidClassifier().fit(X, y)
    )
    assert steps == [expected]


@pytest.mark.parametrize(("n", "d"), [(300, 6), (6, 9)], ids=["primal", "dual"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_ridge_fits_a_long_double_x_in_float64(n: int, d: int, fit_intercept: bool) -> None:
    # "Everything is computed in float64": a long double X gives the float64 model of the
    # same values, bit for bit, whichever system (primal or dual) is solved.
    X, y = _data(n, d, 3, seed=13)
    wide = X.astype(np.longdouble) / 3
    clf = RidgeClassifier(fit_intercept=fit_intercept).fit(wide, y)
    same = RidgeClassifier(fit_intercept=fit_intercept).fit(wide.astype(np.float64), y)
    assert clf.coef_.dtype == np.float64 and clf.intercept_.dtype == np.float64
    np.testing.assert_array_equal(clf.coef_, same.coef_)
    np.testing.assert_array_equal(clf.intercept_, same.intercept_)


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_state_set_by_hand_while_a_predict_derives_is_never_scored_with_the_old_one(
    cls: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An unpickled model derives its scoring arrays at its first predict and keeps them;
    # if another thread sets a fitted array by hand meanwhile, the arrays derived from the
    # old one must not be kept: the next predict scores with the new state.
    X = _data(5, 2, 3, seed=2)[0]
    derive = cls._derive
    for name in _arrays(_fitted(cls)):
        clf = pickle.loads(pickle.dumps(_fitted(cls)))
        new_value = getattr(clf, name) * 2.0 + 1.0

        def racing(self: Any, clf: Any = clf, name: str = name, value: Any = new_value) -> None:
            derive(self)
            setattr(clf, name, value)  # as another thread would, while this predict runs

        monkeypatch.setattr(cls, "_derive", racing)
        clf.predict(X)
        monkeypatch.undo()
        expected = pickle.loads(pickle.dumps(clf)).predict(X)  # derived from the new state
        np.testing.assert_array_equal(clf.predict(X), expected, err_msg=name)
