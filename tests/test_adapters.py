"""mmref.adapters: scikit-learn classifiers and tensor-returning models behind mmref's protocol."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC

import mmref
from mmref.adapters import (
    ClassificationModelAdapter,
    EmbeddingModelAdapter,
    as_classification_model,
    as_embedding_model,
    to_numpy,
)
from mmref.exceptions import NotFittedError


def _data(n_classes: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    X, y = make_classification(
        n_samples=120, n_features=6, n_informative=4, n_classes=n_classes, random_state=0
    )
    return X, np.array(["ant", "bee", "cat"])[y]


@pytest.mark.parametrize(
    ("estimator", "method"),
    [
        (LogisticRegression(), "predict_proba"),
        (GaussianNB(), "predict_proba"),
        (LinearSVC(), "decision_function"),
        (SVC(), "decision_function"),  # probability=False hides predict_proba
        (RidgeClassifier(), "decision_function"),
        (make_pipeline(StandardScaler(), LogisticRegression()), "predict_proba"),
    ],
)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_scores_reproduce_the_estimators_predictions(
    estimator: Any, method: str, n_classes: int
) -> None:
    X, y = _data(n_classes)
    fitted = estimator.fit(X, y)
    model = as_classification_model(fitted)
    scores = model.predict(X)
    assert scores.shape == (len(X), n_classes)
    raw = np.asarray(getattr(fitted, method)(X))
    if raw.ndim == 1:  # binary decision values d become [-d, d]
        np.testing.assert_array_equal(scores, np.column_stack((-raw, raw)))
    else:
        np.testing.assert_array_equal(scores, raw)
    indices = mmref.multimodal_classification(X, y, model)
    np.testing.assert_array_equal(model.classes_[indices], fitted.predict(X))


def test_binary_tie_at_zero_goes_to_the_first_class_as_in_sklearn() -> None:
    clf = LinearSVC().fit([[-1.0], [1.0]], [0, 1])
    clf.coef_[:] = 0.0
    clf.intercept_[:] = 0.0
    model = as_classification_model(clf)
    assert mmref.multimodal_classification([[5.0]], None, model)[0] == 0
    assert clf.predict([[5.0]])[0] == 0


def test_classification_wrap_time_checks() -> None:
    with pytest.raises(TypeError, match="neither predict_proba nor decision_function"):
        as_classification_model(object())
    with pytest.raises(NotFittedError, match="LogisticRegression instance is not fitted"):
        as_classification_model(LogisticRegression())
    # A fitted mmref-style model without those methods is refused, naming them.
    with pytest.raises(TypeError, match="RidgeClassifier has neither predict_proba"):
        as_classification_model(mmref.RidgeClassifier().fit([[0.0], [1.0]], [0, 1]))


def test_classification_adapter_follows_sklearn_parameter_conventions() -> None:
    from sklearn.base import clone

    X, y = _data(2)
    model = as_classification_model(LogisticRegression(C=0.5).fit(X, y))
    assert isinstance(model, ClassificationModelAdapter)
    assert isinstance(model, mmref.ClassificationModel)
    assert model.get_params()["estimator__C"] == 0.5
    assert repr(model).startswith("ClassificationModelAdapter(estimator=LogisticRegression(")
    assert clone(model).estimator.C == 0.5


class FakeTensor:
    """Enough of torch.Tensor's interface: detach / cpu / numpy, and a grad-guarded __array__."""

    def __init__(self, data: Any, *, requires_grad: bool = True, bfloat16: bool = False) -> None:
        self.data = np.asarray(data, dtype=np.float32)
        self.requires_grad = requires_grad
        self.bfloat16 = bfloat16
        self.calls: list[str] = []

    def detach(self) -> FakeTensor:
        self.calls.append("detach")
        return FakeTensor(self.data, requires_grad=False, bfloat16=self.bfloat16)

    def cpu(self) -> FakeTensor:
        return self

    def float(self) -> FakeTensor:
        return FakeTensor(self.data, requires_grad=self.requires_grad)

    def numpy(self) -> np.ndarray[Any, Any]:
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad.")
        if self.bfloat16:
            raise TypeError("Got unsupported ScalarType BFloat16")
        return self.data

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray[Any, Any]:
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad.")
        return self.data


class TensorModel:
    def __init__(self, bfloat16: bool = False) -> None:
        self.bfloat16 = bfloat16

    def encode_image(self, image: Any) -> FakeTensor:
        flat = np.asarray(image, dtype=np.float64).reshape(len(image), -1)
        return FakeTensor(flat[:, :3] + 0.5, bfloat16=self.bfloat16)

    def encode_text(self, text: Any) -> list[FakeTensor]:
        return [FakeTensor([len(t), t.count(" ")]) for t in text]


def test_tensors_are_detached_and_lists_of_tensors_stacked() -> None:
    model = as_embedding_model(TensorModel())
    assert isinstance(model, EmbeddingModelAdapter) and isinstance(model, mmref.EmbeddingModel)
    images = np.arange(2 * 2 * 3.0).reshape(2, 2, 3)
    image = model.encode_image(images)
    assert isinstance(image, np.ndarray) and image.dtype == np.float32
    np.testing.assert_array_equal(image, images.reshape(2, -1)[:, :3] + 0.5)
    text = model.encode_text(["a cat", "two big dogs"])
    np.testing.assert_array_equal(text, np.array([[5, 1], [12, 2]], dtype=np.float32))
    joint = mmref.joint_embedding(images, ["a cat", "two big dogs"], model)
    np.testing.assert_array_equal(joint, np.hstack((image, text)))


def test_bfloat16_like_tensors_are_widened() -> None:
    out = as_embedding_model(TensorModel(bfloat16=True)).encode_image(np.ones((1, 3)))
    np.testing.assert_array_equal(out, np.full((1, 3), 1.5, dtype=np.float32))


def test_array_likes_and_lists_go_through_asarray() -> None:
    class ArrayLike:
        def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray[Any, Any]:
            return np.eye(2)

    np.testing.assert_array_equal(to_numpy(ArrayLike()), np.eye(2))
    np.testing.assert_array_equal(to_numpy(([1, 2], [3, 4])), [[1, 2], [3, 4]])
    with pytest.raises(TypeError, match=r"model.encode_text returned .*cannot be converted"):
        to_numpy([FakeTensor([1.0]), FakeTensor([1.0, 2.0])], what="model.encode_text")


def test_preprocessing_runs_before_the_model() -> None:
    seen: dict[str, Any] = {}

    def tokenize(texts: list[str]) -> list[str]:
        seen["texts"] = texts
        return [t.upper() for t in texts]

    model = as_embedding_model(
        TensorModel(), preprocess_image=lambda x: np.asarray(x) * 2, preprocess_text=tokenize
    )
    np.testing.assert_array_equal(model.encode_image(np.ones((1, 3))), [[2.5, 2.5, 2.5]])
    model.encode_text(["ab c"])
    assert seen["texts"] == ["ab c"]


def test_embedding_wrap_time_checks_name_the_missing_method() -> None:
    class ImageOnly:
        def encode_image(self, image: Any) -> Any:
            return image

    with pytest.raises(TypeError, match="ImageOnly has no encode_text method"):
        as_embedding_model(ImageOnly())
    with pytest.raises(TypeError, match="has no encode_image or encode_text method"):
        as_embedding_model(object())
    with pytest.raises(TypeError, match="'preprocess_text' parameter .* must be a callable"):
        as_embedding_model(TensorModel(), preprocess_text="tokenizer")


def test_conversion_never_imports_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys, numpy as np; from mmref.adapters import to_numpy; to_numpy([[1.0]]); "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_embedding_adapter_claims_determinism_only_as_the_model_does() -> None:
    from mmref.conformance import claims_determinism
    from mmref.multimodal import MultimodalEncoder

    assert claims_determinism(as_embedding_model(MultimodalEncoder()))  # an mmref class
    assert not claims_determinism(as_embedding_model(TensorModel()))  # claims nothing
    assert claims_determinism(as_embedding_model(TensorModel(), deterministic=True))
    claiming = TensorModel()
    claiming.__mmref_deterministic__ = False  # type: ignore[attr-defined]
    assert not claims_determinism(as_embedding_model(claiming))
    claiming.__mmref_deterministic__ = True  # type: ignore[attr-defined]
    assert claims_determinism(as_embedding_model(claiming))
    assert not claims_determinism(as_embedding_model(claiming, deterministic=False))
