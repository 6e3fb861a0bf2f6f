"""Targets (mmref.conformance._targets) and conform_main (mmref.cli.conform): resolving
MODULE:ATTR, factories, the fresh process, the report."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mmref.cli.conform import conform_main
from mmref.conformance import (
    KINDS,
    PROPERTIES,
    PROPERTY_PROFILES,
    resolve_target,
    run_checks,
)

FEW = 5  # Hypothesis examples per property in these meta-tests: explicit examples come on top


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


# --- targets and the command line -------------------------------------------------------


def _conform(kind: str, target: str | None, max_examples: int = FEW) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = conform_main(kind, target, max_examples, out, err)
    return status, out.getvalue(), err.getvalue()


def test_conform_main_passes_the_reference(user_module: str) -> None:
    status, out, err = _conform("joint-embedding", f"{user_module}:joint_embedding")
    assert status == 0, out + err
    lines = out.splitlines()
    for name, profile in PROPERTY_PROFILES["joint-embedding"].items():
        passed = any(line.startswith("PASS") and f" {name} " in line for line in lines)
        assert passed == (profile == "core"), name
    count = sum(p == "core" for p in PROPERTY_PROFILES["joint-embedding"].values())
    assert lines[-2:] == [f"{count} checked: {count} pass", "conforms to mmref spec 1 (core)"]


def test_conform_main_reports_failures_with_the_counterexample(user_module: str) -> None:
    status, out, _ = _conform("joint-embedding", f"{user_module}:text_first")
    assert status == 1
    order = next(line for line in out.splitlines() if " order " in line)
    assert order.startswith("FAIL")
    assert f"resolve_target('{user_module}:text_first', 'joint-embedding')" in out
    assert "model = StubEmbeddingModel(" in out


@pytest.mark.parametrize("attr", ["model", "make_model", "Model"])
def test_conform_main_takes_instances_and_factories(user_module: str, attr: str) -> None:
    status, out, err = _conform("classification-model", f"{user_module}:{attr}")
    assert status == 0, out + err
    # The model claims nothing, so the fresh-process property is skipped, with the reason.
    assert any(line.startswith("SKIP") and "fresh_process" in line for line in out.splitlines())


@pytest.mark.parametrize(
    ("kind", "target", "message"),
    [
        ("joint-embedding", "no_such_module_xyz:fn", "cannot import module"),
        ("joint-embedding", "{m}:missing", "has no attribute 'missing'"),
        ("joint-embedding", "{m}", "MODULE:ATTR"),
        ("joint-embedding", "{m}:model", "must be a function"),
        ("embedding-model", "{m}:joint_embedding", "cannot be called without arguments"),
        ("classification-model", "{m}:needs_arguments", "cannot be called without arguments"),
        ("classification-model", "{m}:not_a_model", "not a classification-model (it lacks"),
        ("embedding-model", "{m}:model", "lacks encode_image and encode_text"),
        ("golden", "no_such_module_xyz", "cannot import module"),
        ("nonsense", "{m}:model", "unknown kind"),
    ],
)
def test_conform_main_exits_2_for_bad_targets(
    user_module: str, kind: str, target: str, message: str
) -> None:
    status, out, err = _conform(kind, target.format(m=user_module))
    assert status == 2
    assert message in err and out == ""


def test_resolve_target_calls_factories() -> None:
    model = resolve_target("mmref.classifiers:RidgeClassifier", "classification-model")
    assert type(model).__name__ == "RidgeClassifier"


def test_fresh_process_rebuilds_from_the_target_string(user_module: str) -> None:
    class Claimed:
        __mmref_deterministic__ = True

    (result,) = run_checks(
        "classification-model",
        resolve_target(f"{user_module}:model", "classification-model"),
        max_examples=FEW,
        select=["fresh_process"],
        spec=f"{user_module}:model",
    )
    assert result.status == "SKIP"  # Model does not claim determinism
    Claimed.predict = lambda self, X: np.asarray(X, dtype=float)  # type: ignore[attr-defined]
    (result,) = run_checks(
        "classification-model", Claimed(), select=["fresh_process"], n_features=2
    )
    assert result.status == "SKIP" and "pickle" in result.message  # a local class


def test_every_kind_has_the_documented_properties() -> None:
    assert set(PROPERTIES) == set(KINDS)
    for kind in ("joint-embedding", "classification"):
        assert {"reference", "axis", "dtype", "protocol_2d", "no_mutation"} <= set(PROPERTIES[kind])
    assert "ties" in PROPERTIES["classification"]
    for kind in ("embedding-model", "classification-model"):
        assert {"row_independence", "deterministic", "fresh_process", "finite"} <= set(
            PROPERTIES[kind]
        )


@pytest.mark.parametrize("options", [{"timeout": 0.0}, {"max_examples": 0}])
def test_conform_main_exits_2_for_options_out_of_bounds(options: dict[str, Any]) -> None:
    out, err = io.StringIO(), io.StringIO()
    max_examples = options.get("max_examples", FEW)
    timeout = options.get("timeout", 60.0)
    status = conform_main(
        "joint-embedding", "mmref:joint_embedding", max_examples, out, err, timeout=timeout
    )
    assert status == 2 and out.getvalue() == ""
    assert err.getvalue().count("\n") == 1 and "must be" in err.getvalue()
