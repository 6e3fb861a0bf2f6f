"""Fixtures of the conformance kit's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

MODULE = """
import numpy as np
import mmref

def joint_embedding(image, text, model):
    return mmref.joint_embedding(image, text, model)

def text_first(image, text, model):
    return np.concatenate((model.encode_text(text), model.encode_image(image)), axis=1)

class Model:
    n_features_in_ = 2
    def predict(self, X):
        return np.asarray(X, dtype=float) * [1.0, -1.0]

model = Model()

def make_model():
    return Model()

def needs_arguments(a):
    return Model()

not_a_model = 42
"""


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    name = "mmref_conform_user_module"
    (tmp_path / f"{name}.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return name
