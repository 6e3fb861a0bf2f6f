"""README.md's "Your own data" commands run as written, on a generated folder and tables."""

from __future__ import annotations

import csv
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

Image = pytest.importorskip("PIL.Image")
sklearn_datasets = pytest.importorskip("sklearn.datasets")
pytest.importorskip("pyarrow")

README = Path(__file__).resolve().parents[2] / "README.md"


def _section_commands() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Your own data\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) == 1, "the section has one shell block"
    return str(blocks[0])


def _write(folder: Path) -> None:
    (folder / "photos").mkdir()
    photos = [sklearn_datasets.load_sample_image(n) for n in ("china.jpg", "flower.jpg")]
    pairs = []
    for i in range(20):
        label = ("temple", "flower")[i % 2]
        crop = photos[i % 2][8 * i : 8 * i + 120, 12 * i : 12 * i + 160]
        Image.fromarray(crop).save(folder / "photos" / f"{i:02d}.jpg", quality=85)
        pairs.append([f"photos/{i:02d}.jpg", f"a photo of a {label}, number {i}", label, i])
    for name, rows in (("pairs.csv", pairs), ("new.csv", pairs[::3])):
        with open(folder / name, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["path", "caption", "label", "id"])
            writer.writerows(rows)
    with open(folder / "captions.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "caption"])
        writer.writerows([[i, f"caption {i},\nover two lines"] for i in range(20)])


def test_the_readme_commands_run_as_written(tmp_path: Path) -> None:
    _write(tmp_path)
    # `mmref` is the console script; run it through this interpreter so that the test
    # does not depend on PATH.
    prelude = f'mmref() {{ {shlex.quote(sys.executable)} -m mmref "$@"; }}\nset -e\n'
    script = prelude + _section_commands()
    run = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr
    assert np.load(tmp_path / "photos.npy").shape == (20, 256)
    assert np.load(tmp_path / "captions.npy").shape == (20, 1024)
    assert "held-out accuracy" in run.stdout
    with open(tmp_path / "predictions.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["id"] for r in rows] == [str(i) for i in range(0, 20, 3)]
    assert {r["label"] for r in rows} <= {"temple", "flower"}
    pq = pytest.importorskip("pyarrow.parquet")
    meta = json.loads(pq.read_schema(tmp_path / "pairs.parquet").metadata[b"mmref"])
    assert "mmref_version" in meta
