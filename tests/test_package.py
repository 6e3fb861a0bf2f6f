"""Package-level promises: public names, version, a light import."""

from __future__ import annotations

import json
import subprocess
import sys

import mmref


def test_all_names_exist_and_are_documented() -> None:
    for name in mmref.__all__:
        assert hasattr(mmref, name), name
        if name != "__version__":
            doc = getattr(mmref, name).__doc__ or ""
            assert len(doc.strip()) > 20, f"mmref.{name} needs a docstring"


def test_version_is_a_release_string() -> None:
    parts = mmref.__version__.split(".")
    assert len(parts) == 3 and all(p.isdigit() for p in parts)


def test_import_is_light() -> None:
    # A fresh interpreter: this process has already imported scipy and hypothesis.
    code = (
        "import sys, json, mmref; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'scipy', 'hypothesis', 'sklearn', 'dask', 'distributed', 'torch', 'tqdm', 'pytest'})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert json.loads(out) == []
