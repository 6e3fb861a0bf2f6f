"""The adapters with real PyTorch modules (run only where torch is installed).

A tiny CLIP-like module (an image tower and a text tower) and a linear head, as a
PyTorch user would wrap them: the settings the adapters read from the module or take as
keywords, the batch of one for a single input, the claim of determinism, and the errors.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np
import pytest

import mmref
from mmref.adapters import (
    EmbeddingModelAdapter,
    ModuleClassificationModelAdapter,
    as_classification_model,
    as_embedding_model,
    to_numpy,
)
from mmref.conformance import claims_determinism

torch = pytest.importorskip("torch")
nn = torch.nn


class TinyClip(nn.Module):  # type: ignore[misc]
    image_shape = (4, 4)

    def __init__(self, dropout: float = 0.0) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.image_tower = nn.Linear(16, 3)
        self.text_tower = nn.Linear(2, 2)
        self.dropout = nn.Dropout(dropout)

    def encode_image(self, images: Any) -> Any:
        assert isinstance(images, torch.Tensor), type(images)
        return self.dropout(self.image_tower(images.reshape(len(images), -1)))

    def encode_text(self, texts: Any) -> Any:
        assert isinstance(texts, list), type(texts)
        rows = [[float(len(t)), float(t.count(" "))] for t in texts]
        return self.text_tower(torch.tensor(rows).reshape(len(texts), 2))


IMAGES = np.arange(2 * 16, dtype=np.uint8).reshape(2, 4, 4)
TEXTS = ["a cat", "two big dogs"]


def test_the_module_settings_are_carried() -> None:
    model = as_embedding_model(TinyClip().eval())
    assert isinstance(model, EmbeddingModelAdapter)
    assert model.image_shape == (4, 4)
    assert model.input_dtype == np.dtype(np.float32)  # the parameters' dtype
    assert model.get_params()["image_shape"] == (4, 4)
    # keywords win over the module
    other = as_embedding_model(TinyClip().eval(), image_shape=[2, 8], input_dtype=torch.float64)
    assert other.image_shape == (2, 8) and other.input_dtype == np.dtype(np.float64)


def test_outputs_equal_torch_cat_bit_for_bit() -> None:
    module = TinyClip().eval()
    model = as_embedding_model(module)
    joint = mmref.joint_embedding(IMAGES, TEXTS, model)
    with torch.no_grad():
        expected = torch.cat(
            (
                module.encode_image(torch.from_numpy(IMAGES.astype(np.float32))),
                module.encode_text(TEXTS),
            ),
            dim=1,
        ).numpy()
    assert joint.dtype == expected.dtype and joint.tobytes() == expected.tobytes()


def test_single_inputs_become_batches_of_one() -> None:
    model = as_embedding_model(TinyClip().eval())
    single = model.encode_image(IMAGES[1])
    assert single.shape == (1, 3)
    np.testing.assert_array_equal(single, model.encode_image(IMAGES[1:2]))
    assert model.encode_text("a cat").shape == (1, 2)
    np.testing.assert_array_equal(model.encode_text("a cat"), model.encode_text(["a cat"]))


def test_outputs_need_no_grad() -> None:
    model = as_embedding_model(TinyClip().eval())
    assert isinstance(model.encode_image(IMAGES), np.ndarray)
    # the module itself returns tensors that require grad; mmref names the fix
    with pytest.raises(TypeError) as raised:
        mmref.joint_embedding(torch.from_numpy(IMAGES.astype(np.float32)), TEXTS, TinyClip())
    message = str(raised.value)
    assert "model.encode_image returned a Tensor that NumPy cannot convert" in message
    assert "mmref.adapters.as_embedding_model" in message and "to_numpy" in message


def test_bfloat16_scores_name_the_classification_adapter() -> None:
    class Head:
        def predict(self, X: Any) -> Any:
            return torch.ones((len(X), 2), dtype=torch.bfloat16)

    with pytest.raises(
        TypeError, match=r"model.predict returned a Tensor .*as_classification_model"
    ):
        mmref.multimodal_classification(np.zeros((3, 2)), None, Head())
    np.testing.assert_array_equal(to_numpy(Head().predict([0])), np.ones((1, 2), np.float32))


@pytest.mark.parametrize(
    ("deterministic", "train", "claims"),
    [
        (None, False, False),  # never on the module's behalf
        (None, True, False),
        (True, False, True),  # told, in eval mode
        (True, True, False),  # told, but dropout is on
        (False, False, False),
    ],
)
def test_determinism_is_claimed_only_when_told_in_eval_mode(
    deterministic: bool | None, train: bool, claims: bool
) -> None:
    module = TinyClip(dropout=0.5).train(train)
    model = as_embedding_model(module, deterministic=deterministic)
    assert claims_determinism(model) is claims


def test_a_model_that_claims_determinism_itself_keeps_its_claim() -> None:
    module = TinyClip().eval()
    module.__mmref_deterministic__ = True
    assert claims_determinism(as_embedding_model(module))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"image_shape": (4, 0)}, ValueError, "'image_shape' parameter of as_embedding_model"),
        ({"image_shape": "4x4"}, TypeError, "must be a tuple of ints"),
        ({"input_dtype": "pixels"}, TypeError, "'input_dtype' parameter"),
        ({"deterministic": "yes"}, TypeError, "'deterministic' parameter"),
    ],
)
def test_embedding_settings_are_checked(kwargs: dict[str, Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        as_embedding_model(TinyClip(), **kwargs)


def test_a_linear_head_classifies_like_torch_argmax() -> None:
    torch.manual_seed(1)
    head = nn.Linear(6, 3).eval()
    model = as_classification_model(head, classes=["cat", "dog", "bird"])
    assert isinstance(model, ModuleClassificationModelAdapter)
    assert model.n_features_in_ == 6 and list(model.classes_) == ["cat", "dog", "bird"]
    X = np.linspace(-3, 3, 24).reshape(4, 6)
    scores = model.predict(X)  # float64 X, float32 head: converted to the head's dtype
    assert scores.dtype == np.float32 and scores.shape == (4, 3)
    with torch.no_grad():
        expected = torch.argmax(head(torch.from_numpy(X).float()), dim=1).numpy()
    np.testing.assert_array_equal(mmref.multimodal_classification(X, None, model), expected)
    # without classes=: the column indices of out_features
    assert list(as_classification_model(head).classes_) == [0, 1, 2]
    assert not claims_determinism(model)
    assert claims_determinism(as_classification_model(head, deterministic=True))


def test_a_head_without_in_features_needs_n_features() -> None:
    head = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 2)).eval()
    with pytest.raises(ValueError, match="pass n_features="):
        as_classification_model(head)
    model = as_classification_model(head, n_features=5)
    assert model.n_features_in_ == 5
    assert model.predict(np.zeros((2, 5))).shape == (2, 2)
    assert not hasattr(model, "classes_")  # no out_features, no classes given


def test_head_errors_name_the_fix() -> None:
    with pytest.raises(ValueError, match=r"in training mode.*Call module.eval\(\) first"):
        as_classification_model(nn.Linear(2, 2))
    with pytest.raises(TypeError, match="'classes' parameter"):
        as_classification_model(nn.Linear(2, 2).eval(), classes="ab")
    with pytest.raises(ValueError, match="'n_features' parameter"):
        as_classification_model(nn.Linear(2, 2).eval(), n_features=0)
    from sklearn.linear_model import LogisticRegression

    fitted = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    with pytest.raises(TypeError, match="takes classes for a PyTorch module only"):
        as_classification_model(fitted, classes=[0, 1])


def test_importing_mmref_never_imports_torch() -> None:
    code = (
        "import sys, mmref, mmref.adapters, mmref.conformance, mmref.cli.conform; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
