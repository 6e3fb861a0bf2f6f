"""``mmref conform`` on PyTorch code, as a PyTorch user runs it (only where torch is installed).

The acceptance test of the PyTorch support: a correct eval-mode module (its image shape
a module attribute), a ``torch.cat`` joint embedding and a ``torch.argmax``
classification (both returning through ``mmref.adapters.to_numpy``, checked with
``--dtypes float32,float64``) and a linear head conform under ``core``, each with the
documented options and nothing else; with float16 and int64 drawn, the ``torch.cat``
implementation fails ``dtype``, showing torch's result dtype beside NumPy's. Every run is
a fresh ``python -m mmref`` process.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

IMPLEMENTATION = """
import numpy as np
import torch
from torch import nn

from mmref.adapters import as_classification_model, as_embedding_model, to_numpy


class TinyClip(nn.Module):
    image_shape = (4, 4)

    def __init__(self, dropout=0.0):
        super().__init__()
        torch.manual_seed(0)
        self.image_tower = nn.Linear(16, 3)
        self.text_tower = nn.Linear(2, 2)
        self.dropout = nn.Dropout(dropout)

    def encode_image(self, images):
        return self.dropout(self.image_tower(images.reshape(len(images), -1)))

    def encode_text(self, texts):
        rows = [[float(len(t)), float(t.count(" "))] for t in texts]
        return self.text_tower(torch.tensor(rows).reshape(len(texts), 2))


def clip():
    return as_embedding_model(TinyClip().eval(), deterministic=True)


def clip_with_dropout():
    return as_embedding_model(TinyClip(dropout=0.5), deterministic=True)


def joint_embedding(image, text, model):
    image_embedding = torch.as_tensor(model.encode_image(image))
    text_embedding = torch.as_tensor(model.encode_text(text))
    return to_numpy(torch.cat((image_embedding, text_embedding), dim=1))


def joint_embedding_tensor(image, text, model):
    image_embedding = torch.as_tensor(model.encode_image(image))
    text_embedding = torch.as_tensor(model.encode_text(text))
    return torch.cat((image_embedding, text_embedding), dim=1)


def classify(joint_embedding, labels, model):
    return to_numpy(torch.argmax(torch.as_tensor(model.predict(joint_embedding)), dim=1))


def head():
    torch.manual_seed(1)
    return as_classification_model(nn.Linear(6, 3).eval(), classes=["cat", "dog", "bird"])
"""

FEW = ("--max-examples", "10")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("torch_impl")
    (folder / "torch_impl.py").write_text(IMPLEMENTATION)
    return folder


def conform(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mmref", "conform", *args, *FEW],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def lines(out: str) -> dict[str, str]:
    """``{property: status}`` from a report."""
    statuses = ("PASS", "FAIL", "XFAIL", "XPASS", "SKIP")
    return {
        line.split()[1]: line.split()[0] for line in out.splitlines() if line.startswith(statuses)
    }


def test_an_eval_mode_module_conforms_under_core(workdir: Path) -> None:
    done = conform(workdir, "embedding-model", "torch_impl:clip")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.endswith("conforms to mmref spec 1 (core)\n")
    assert set(lines(done.stdout).values()) == {"PASS"}  # fresh_process too: it is claimed


def test_a_module_with_dropout_on_is_caught_as_random(workdir: Path) -> None:
    done = conform(workdir, "embedding-model", "torch_impl:clip_with_dropout")
    assert done.returncode == 1, done.stdout + done.stderr
    statuses = lines(done.stdout)
    assert statuses["deterministic"] == "FAIL"
    # deterministic=True in training mode is no claim: nothing to check across processes
    assert statuses["fresh_process"] == "SKIP"
    assert "dropout" in done.stdout and "call model.eval()" in done.stdout


def test_a_torch_cat_joint_embedding_conforms_in_float32_and_float64(workdir: Path) -> None:
    done = conform(
        workdir, "joint-embedding", "torch_impl:joint_embedding", "--dtypes", "float32,float64"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "\ndtypes drawn: float32, float64\n" in done.stdout
    assert done.stdout.endswith("conforms to mmref spec 1 (core)\n")


def test_a_torch_argmax_classification_conforms_in_float32_and_float64(workdir: Path) -> None:
    done = conform(workdir, "classification", "torch_impl:classify", "--dtypes", "float32,float64")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.endswith("conforms to mmref spec 1 (core)\n")


def test_a_torch_argmax_classification_conforms_with_the_torch_preset(workdir: Path) -> None:
    done = conform(workdir, "classification", "torch_impl:classify", "--dtypes", "torch")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "bool" not in done.stdout.split("\n")[1]  # torch.argmax refuses bool


def test_a_linear_head_conforms_under_core(workdir: Path) -> None:
    done = conform(workdir, "classification-model", "torch_impl:head")
    assert done.returncode == 0, done.stdout + done.stderr
    assert lines(done.stdout)["width"] == "PASS"
    assert done.stdout.endswith("conforms to mmref spec 1 (core)\n")


def test_torch_promotion_is_reported_beside_numpys(workdir: Path) -> None:
    done = conform(
        workdir, "joint-embedding", "torch_impl:joint_embedding", "--dtypes", "float16,int64"
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert lines(done.stdout)["dtype"] == "FAIL"
    # torch promotes float16 with int64 to float16; NumPy to float64
    assert "returned dtype float16; expected float64 = np.result_type(" in done.stdout


def test_a_tensor_result_is_pointed_to_to_numpy(workdir: Path) -> None:
    done = conform(
        workdir, "joint-embedding", "torch_impl:joint_embedding_tensor", "--dtypes", "float64"
    )
    assert done.returncode == 1
    assert lines(done.stdout)["type"] == "FAIL"
    assert "returned an object of type torch.Tensor; expected a numpy.ndarray. Convert a " in (
        done.stdout
    )
    assert "mmref.adapters.to_numpy(result)" in done.stdout
