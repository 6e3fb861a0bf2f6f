"""Classifier cases: fit and predict on (20000, 1280) float64 with 10 classes.

Peers: scikit-learn's ``NearestCentroid`` (mmref with ``metric="euclidean"``,
the only metric both have), ``RidgeClassifier`` and ``LogisticRegression``
(both sides ``C=1.0, max_iter=100, tol=1e-4``). mmref's ``predict`` returns
scores, so the peer's is ``decision_function`` (``predict_proba`` for the
logistic regression, whose scores are probabilities).

Limits: predict, ``X @ W`` with ``W`` of shape (1280, 10). Fit: one read pass
over ``X`` (nearest centroid), the Gram matrix ``X.T @ X`` (ridge: the product
that dominates its closed form), one gradient evaluation ``X @ W`` and
``X.T @ G`` (softmax: the ratio is then the fit's cost in gradient evaluations).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import data
from .harness import Case, Contender, Prepared, Target, optional_module, require

__all__ = ["cases"]

_SOURCE = "issue 5"
_N_CLASSES = 10

# name: (mmref class, mmref options, sklearn module, sklearn class, sklearn options, score method)
_MODELS: dict[str, tuple[str, dict[str, Any], str, str, dict[str, Any], str]] = {
    "nearest_centroid": (
        "NearestCentroidClassifier",
        {"metric": "euclidean"},
        "sklearn.neighbors",
        "NearestCentroid",
        {},
        "decision_function",
    ),
    "ridge": (
        "RidgeClassifier",
        {"alpha": 1.0},
        "sklearn.linear_model",
        "RidgeClassifier",
        {"alpha": 1.0},
        "decision_function",
    ),
    "softmax": (
        "SoftmaxClassifier",
        {"C": 1.0, "max_iter": 100, "tol": 1e-4},
        "sklearn.linear_model",
        "LogisticRegression",
        {"C": 1.0, "max_iter": 100, "tol": 1e-4},
        "predict_proba",
    ),
}


def cases(*, quick: bool) -> list[Case]:
    """The classifier cases, at the --quick sizes if ``quick``."""
    n, d = (300, 32) if quick else (20_000, 1280)
    out = []
    for model in _MODELS:
        mmref_name, _, _, peer_name, _, _ = _MODELS[model]
        out.append(
            Case(
                f"classifiers.{model}.fit",
                f"{mmref_name}.fit, X ({n}, {d}) float64, {_N_CLASSES} classes",
                _fit_preparer(model, n, d),
                (
                    Target(
                        f"{model} fit: no slower than sklearn {peer_name}",
                        _SOURCE,
                        "speed",
                        1.0,
                        "peer",
                    ),
                ),
                # prepare() warms up on a slice; a full extra fit would only add minutes.
                warmup=0,
            )
        )
        out.append(
            Case(
                f"classifiers.{model}.predict",
                f"{mmref_name}.predict, X ({n}, {d}) float64, {_N_CLASSES} classes",
                _predict_preparer(model, n, d),
                (
                    Target(
                        f"{model} predict: within 1.3x of a bare X @ W",
                        _SOURCE,
                        "speed",
                        1 / 1.3,
                        "limit",
                    ),
                ),
            )
        )
    return out


def _models(model: str) -> tuple[Callable[[], Any], Callable[[], Any] | None]:
    mmref_name, mmref_options, peer_module, peer_name, peer_options, _ = _MODELS[model]
    cls = require("mmref.classifiers", mmref_name)
    module = optional_module(peer_module)

    def make_mmref() -> Any:
        return cls(**mmref_options)

    def make_peer() -> Any:
        return getattr(module, peer_name)(**peer_options)

    return make_mmref, (make_peer if module is not None else None)


def _fit_preparer(model: str, n: int, d: int) -> Callable[[], Prepared]:
    def prepare() -> Prepared:
        make_mmref, make_peer = _models(model)
        X, y = data.classification_data(n, d, _N_CLASSES)
        fitted: dict[str, Any] = {}

        def fit(key: str, make: Callable[[], Any]) -> Callable[[], object]:
            def run() -> object:
                fitted[key] = make().fit(X, y)
                return fitted[key]

            return run

        make_mmref().fit(X[:200], y[:200])
        contenders = [
            Contender("mmref", f"{type(make_mmref()).__name__}.fit", fit("mmref", make_mmref))
        ]
        if make_peer is not None:
            make_peer().fit(X[:200], y[:200])
            label = f"sklearn {type(make_peer()).__name__}.fit"
            contenders.append(Contender("peer", label, fit("peer", make_peer)))
        contenders.append(_fit_limit(model, X))

        def describe() -> list[str]:
            # Fit times compare only if both solvers did similar work: say how much each did.
            if model != "softmax":
                return []
            mine, theirs = (_iterations(fitted.get(key)) for key in ("mmref", "peer"))
            return [f"L-BFGS iterations per fit: mmref {mine}, sklearn {theirs}"]

        return Prepared(contenders, n, "samples", describe=describe)

    return prepare


def _fit_limit(model: str, X: np.ndarray[Any, Any]) -> Contender:
    if model == "nearest_centroid":
        return Contender(
            "limit", "one read pass over X (np.add.reduce)", lambda: np.add.reduce(X, axis=0)
        )
    if model == "ridge":
        return Contender("limit", "Gram matrix X.T @ X (BLAS)", lambda: X.T @ X)
    W = np.full((X.shape[1], _N_CLASSES), 1e-3)
    G = np.full((X.shape[0], _N_CLASSES), 1e-3)
    return Contender(
        "limit", "one gradient evaluation X @ W, X.T @ G (BLAS)", lambda: (X @ W, X.T @ G)
    )


def _iterations(model: Any) -> str:
    value = getattr(model, "n_iter_", None)
    return "n/a" if value is None else str(int(np.max(value)))


def _predict_preparer(model: str, n: int, d: int) -> Callable[[], Prepared]:
    def prepare() -> Prepared:
        make_mmref, make_peer = _models(model)
        X, y = data.classification_data(n, d, _N_CLASSES)
        mine = make_mmref().fit(X, y)
        mine.predict(X[:2])
        contenders = [Contender("mmref", f"{type(mine).__name__}.predict", lambda: mine.predict(X))]
        if make_peer is not None:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                theirs = make_peer().fit(X, y)
            method = _MODELS[model][5]
            score = getattr(theirs, method)
            label = f"sklearn {type(theirs).__name__}.{method}"
            contenders.append(Contender("peer", label, lambda: score(X)))
        W = np.full((d, _N_CLASSES), 1e-3)
        contenders.append(Contender("limit", f"X @ W, W ({d}, {_N_CLASSES}) (BLAS)", lambda: X @ W))
        return Prepared(contenders, n, "samples")

    return prepare
