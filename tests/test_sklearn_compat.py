"""scikit-learn compatibility: check_estimator, clone, Pipeline and ColumnTransformer.

mmref never imports scikit-learn; these tests do (it is a test dependency).
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import check_estimator
from sklearn.utils.validation import check_is_fitted

import mmref
from mmref.alignment import AlignedEncoder, CCAAlignment
from mmref.classifiers import NearestCentroidClassifier, RidgeClassifier, SoftmaxClassifier
from mmref.exceptions import DataDimensionalityWarning, NotFittedError
from mmref.image import RandomProjectionImageEncoder
from mmref.multimodal import MultimodalEncoder
from mmref.text import BagOfWordsTextEncoder
from mmref.zeroshot import ZeroShotClassifier

# Checks that cannot pass, with the reason. check_estimator(on_fail=None) runs them
# all, and the test below requires these to fail and every other check to pass, so
# the list cannot go stale in either direction.
EXPECTED_FAILED_CHECKS = {
    "check_complex_data": (
        "mmref raises TypeError for complex pixels (a value of the wrong kind, by mmref's "
        "error convention); scikit-learn expects ValueError."
    ),
    "check_dtype_object": (
        "object arrays are refused by design (TypeError): pixels must have a numeric dtype, "
        "and mmref does not convert arbitrary Python objects element by element."
    ),
}


@pytest.mark.filterwarnings("ignore::UserWarning")  # "does not inherit from BaseEstimator"
@pytest.mark.parametrize(
    "encoder",
    [
        RandomProjectionImageEncoder(),
        RandomProjectionImageEncoder(method="gaussian", n_components=7, seed=3),
        # SRHT samples distinct coordinates, so k must not exceed the smallest d in the checks.
        RandomProjectionImageEncoder(method="srht", n_components=1),
    ],
    ids=["sparse", "gaussian", "srht"],
)
def test_check_estimator(encoder: RandomProjectionImageEncoder) -> None:
    # image_shape=None (flat (n, d) rows of any width d) rather than image_shape=(n,):
    # check_estimator makes its own data of 1 to 10 features per check, and a fixed
    # image_shape=(n,) rightly refuses every width but n (33 of 46 checks). Fixed
    # shapes are exercised in test_fixed_image_shape_follows_the_same_conventions.
    results = check_estimator(encoder, expected_failed_checks=EXPECTED_FAILED_CHECKS, on_fail=None)
    status = {r["check_name"]: r["status"] for r in results}
    assert len(status) > 40
    failed = {name: s for name, s in status.items() if s not in ("passed", "skipped")}
    assert failed == dict.fromkeys(EXPECTED_FAILED_CHECKS, "xfail")
    skipped = {name for name, s in status.items() if s == "skipped"}
    assert skipped <= {"check_array_api_input"}  # needs SCIPY_ARRAY_API=1 in the environment


def test_fixed_image_shape_follows_the_same_conventions() -> None:
    X = np.sin(np.arange(30 * 12.0)).reshape(30, 12)
    encoder = RandomProjectionImageEncoder(5, image_shape=(12,), method="gaussian")
    twin = clone(encoder)
    assert twin.get_params() == encoder.get_params() and twin is not encoder
    Y = encoder.fit_transform(X)
    assert encoder.n_features_in_ == 12 and Y.shape == (30, 5)
    np.testing.assert_array_equal(Y, twin.fit(X).transform(X))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(encoder)).transform(X), Y)
    with pytest.raises(ValueError, match=r"image_shape=\(12,\)"):
        encoder.transform(X[:, :11])
    tags = get_tags(encoder)
    assert not tags.requires_fit and tags.transformer_tags is not None
    check_is_fitted(RandomProjectionImageEncoder())  # stateless: fitted from the start


def test_not_fitted_errors_are_what_sklearn_catches() -> None:
    encoder = BagOfWordsTextEncoder(vocabulary="learn")
    with pytest.raises(NotFittedError) as info:
        encoder.transform(["a b"])
    # scikit-learn's own NotFittedError is also a ValueError and an AttributeError.
    assert isinstance(info.value, ValueError) and isinstance(info.value, AttributeError)
    for unfitted in (encoder, BagOfWordsTextEncoder(weighting="tfidf"), RidgeClassifier()):
        with pytest.raises(SklearnNotFittedError):
            check_is_fitted(unfitted)
    check_is_fitted(encoder.fit(["a b", "b c"]))
    check_is_fitted(RidgeClassifier().fit([[0.0], [1.0]], [0, 1]))
    # Hashing (and a fixed vocabulary) with count weighting needs no fit, as HashingVectorizer.
    for stateless in (BagOfWordsTextEncoder(), BagOfWordsTextEncoder(vocabulary=["a", "b"])):
        check_is_fitted(stateless)
        assert not get_tags(stateless).requires_fit
    with pytest.raises(NotFittedError, match="RidgeClassifier instance is not fitted"):
        RidgeClassifier().predict([[1.0]])


def _pixels_and_captions(n: int, d: int) -> tuple[Any, Any, Any]:
    pixels = np.sin(np.arange(n * d) * 0.37).reshape(n, d) * 10
    animal = np.array(["dog", "cat"])[np.arange(n) % 2]
    captions = np.array(
        [f"a photo of a {a} number {i}" for i, a in enumerate(animal)], dtype=object
    )
    X = np.empty((n, d + 1), dtype=object)  # pixel columns, then the caption column
    X[:, :d] = pixels
    X[:, d] = captions
    return X, animal, (pixels, captions)


def _as_float(X: Any) -> Any:
    return np.asarray(X, dtype=np.float64)


def _pipeline(d: int) -> Pipeline:
    # Without pandas, a table of numbers and strings is an object array; its pixel
    # columns are cast to float first, since the encoder refuses object arrays.
    image = make_pipeline(
        FunctionTransformer(_as_float), RandomProjectionImageEncoder(8, image_shape=(d,))
    )
    features = ColumnTransformer(
        [("image", image, list(range(d))), ("text", BagOfWordsTextEncoder(64), d)]
    )
    return Pipeline([("features", features), ("clf", LogisticRegression())])


def test_column_transformer_pipeline_fits_and_predicts() -> None:
    d = 12
    X, y, (pixels, captions) = _pixels_and_captions(40, d)
    pipe = _pipeline(d).fit(X, y)
    # The features are exactly the two encoders' outputs side by side.
    features = pipe.named_steps["features"].transform(X)
    expected = np.hstack(
        (
            RandomProjectionImageEncoder(8, image_shape=(d,)).transform(pixels),
            BagOfWordsTextEncoder(64).transform(list(captions)),
        )
    )
    np.testing.assert_array_equal(features, expected)
    # The caption says the class, so the text half makes the task separable.
    assert pipe.score(X, y) == 1.0
    np.testing.assert_array_equal(pipe.predict(X[:4]), ["dog", "cat", "dog", "cat"])
    refit = clone(pipe).fit(X, y)
    np.testing.assert_array_equal(refit.predict(X), pipe.predict(X))


def test_grid_search_sets_nested_encoder_parameters() -> None:
    d = 12
    X, y, _ = _pixels_and_captions(40, d)
    name = "features__image__randomprojectionimageencoder__n_components"
    # Both below d = 12 pixels: more components would warn (DataDimensionalityWarning).
    search = GridSearchCV(_pipeline(d), {name: [4, 8]}, cv=2).fit(X, y)
    assert search.best_params_[name] in (4, 8)
    width = search.best_estimator_.named_steps["features"].transform(X[:2]).shape[1]
    assert width == search.best_params_[name] + 64


@pytest.mark.parametrize(
    "estimator",
    [
        NearestCentroidClassifier(metric="euclidean"),
        RidgeClassifier(alpha=0.3),
        SoftmaxClassifier(C=2.0),
        CCAAlignment(n_components=2, reg=0.1),
        MultimodalEncoder(RandomProjectionImageEncoder(4), BagOfWordsTextEncoder(8)),
        AlignedEncoder(MultimodalEncoder(), CCAAlignment(3)),
        ZeroShotClassifier(MultimodalEncoder(), {"cat": ["a cat", "kitten"], "dog": "a dog"}),
    ],
    ids=lambda est: type(est).__name__,
)
def test_every_estimator_is_cloneable_with_stable_params(estimator: Any) -> None:
    twin = clone(estimator)
    assert type(twin) is type(estimator)
    shallow = estimator.get_params(deep=False)
    for name, value in twin.get_params(deep=False).items():
        if hasattr(value, "get_params"):
            assert (
                value.get_params(deep=False).keys() == shallow[name].get_params(deep=False).keys()
            )
        else:
            assert value == shallow[name]
    assert set(estimator.get_params(deep=True)) >= set(shallow)


def test_multimodal_encoder_nested_params() -> None:
    model = MultimodalEncoder(RandomProjectionImageEncoder(4), BagOfWordsTextEncoder(8))
    params = model.get_params()
    assert params["image_encoder__n_components"] == 4 and params["text_encoder__n_features"] == 8
    model.set_params(image_encoder__n_components=6, text_encoder__n_features=5)
    assert model.embed(np.zeros((2, 3, 3)), ["a", "b"]).shape == (2, 11)


def test_classifiers_pickle_without_derived_arrays_and_predict_the_same() -> None:
    X = np.sin(np.arange(60.0)).reshape(20, 3)
    y = np.arange(20) % 3
    for clf in (NearestCentroidClassifier(), RidgeClassifier(), SoftmaxClassifier()):
        clf.fit(X, y)
        restored = pickle.loads(pickle.dumps(clf))
        assert "_weights" not in restored.__dict__
        np.testing.assert_array_equal(restored.predict(X), clf.predict(X))
        assert mmref.multimodal_classification(X, None, restored).shape == (20,)


def test_image_encoder_errors_use_the_phrases_sklearn_tools_look_for() -> None:
    import scipy.sparse as sp

    encoder = RandomProjectionImageEncoder(4)
    with pytest.raises(TypeError, match="sparse input is not supported"):
        encoder.transform(sp.csr_array(np.eye(3)))
    with pytest.raises(ValueError, match=r"X has 0 samples \(shape \(0, 3\)\)"):
        encoder.fit(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="Reshape your data"):
        encoder.transform(np.zeros(3))
    with pytest.warns(DataDimensionalityWarning, match=r"n_features < n_components \(3 < 4\)"):
        encoder.fit(np.ones((2, 3)))
    with pytest.raises(
        ValueError, match="X has 2 features, but RandomProjectionImageEncoder is expecting 3"
    ):
        encoder.transform(np.ones((2, 2)))
