"""The pytest helpers (mmref.testing) and the cost of importing the kit."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import mmref
from mmref.conformance import (
    PROPERTIES,
    PROPERTY_PROFILES,
)
from mmref.testing import conformance_tests, parametrize_conformance

FEW = 5  # Hypothesis examples per property in these meta-tests: explicit examples come on top


def source_multimodal_classification(joint_embedding: Any, labels: Any, model: Any) -> Any:
    predictions = model.predict(joint_embedding)
    return np.argmax(predictions, axis=1)


# --- the pytest helper -------------------------------------------------------------------


@parametrize_conformance(mmref.joint_embedding, "joint-embedding", max_examples=4)
def test_helper_parametrizes_one_test_per_property(check: Any) -> None:
    check()


def test_helper_ids_and_xfail_marks() -> None:
    params = conformance_tests(
        source_multimodal_classification,
        "classification",
        known_failures={"rejects_nan": "r"},
        strict=True,
    )
    assert [p.id for p in params] == [f"classification-{n}" for n in PROPERTIES["classification"]]
    core = conformance_tests(source_multimodal_classification, "classification")
    profiles = PROPERTY_PROFILES["classification"]
    assert [p.id for p in core] == [
        f"classification-{n}" for n, p in profiles.items() if p == "core"
    ]
    marked = {p.id: [m.name for m in p.marks] for p in params}
    assert marked["classification-rejects_nan"] == ["xfail"]
    assert marked["classification-ties"] == []
    with pytest.raises(ValueError, match="'typo'"):
        conformance_tests(mmref.joint_embedding, "joint-embedding", known_failures={"typo": "r"})


def test_helper_selects_with_k(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            """
            import mmref
            from mmref.testing import parametrize_conformance

            @parametrize_conformance(mmref.multimodal_classification, "classification",
                                     max_examples=3, known_failures={"ties": "not really"})
            def test_conformance(check):
                check()
            """
        )
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "axis or ties"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout and "1 xpassed" in proc.stdout
    core = [n for n, p in PROPERTY_PROFILES["classification"].items() if p == "core"]
    assert f"{len(core) - 2} deselected" in proc.stdout


def _fresh_json(code: str) -> Any:
    """What ``code``, run in a fresh interpreter, prints as JSON."""
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out)


def test_kit_imports_are_light() -> None:
    code = (
        "import sys, json, mmref.conformance, mmref.testing, mmref.cli; "
        "print(json.dumps(sorted(m for m in sys.modules "
        "if m.split('.')[0] in {'hypothesis', 'pytest', 'scipy', 'sklearn'})))"
    )
    assert _fresh_json(code) == []
