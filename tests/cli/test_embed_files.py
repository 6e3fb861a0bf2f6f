"""``mmref embed`` on image files and caption tables; .npz and .parquet outputs."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import mmref
from mmref.cli import main

Image = pytest.importorskip("PIL.Image")

CAPTIONS = ["a red circle", "two lines,\nquoted", "", "一个蓝色的方块", "x"]


def _folder(tmp_path: Path, n: int = 5) -> Path:
    """Images img/0.png .. and pairs.csv (path, caption, id) in tmp_path/data."""
    data = tmp_path / "data"
    (data / "img").mkdir(parents=True)
    rows = []
    for i in range(n):
        pixels = ((np.arange(12 * 10 * 3).reshape(12, 10, 3) * (i + 1)) % 256).astype(np.uint8)
        Image.fromarray(pixels).save(data / "img" / f"{i}.png")
        rows.append([f"img/{i}.png", CAPTIONS[i % len(CAPTIONS)], f"id-{i}"])
    with open(data / "pairs.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "caption", "id"])
        writer.writerows(rows)
    return data


def test_folder_and_caption_table_equal_the_library(tmp_path: Path) -> None:
    data = _folder(tmp_path)
    out = tmp_path / "e.npy"
    args = ["embed", "--images", str(data / "img"), "--image-size", "6x8", "--quiet"]
    args += ["--texts", str(data / "pairs.csv"), "--text-column", "caption"]
    assert main([*args, "--output", str(out)]) == 0
    images = mmref.read_images(data / "img", size=(6, 8))
    expected = mmref.joint_embedding(images, CAPTIONS, mmref.MultimodalEncoder())
    assert np.array_equal(np.load(out), expected)
    # Batches of 2 give the same bytes.
    out2 = tmp_path / "e2.npy"
    assert main([*args, "--batch-size", "2", "--output", str(out2)]) == 0
    assert out.read_bytes() == out2.read_bytes()


def test_table_with_ids_to_npz_and_parquet(tmp_path: Path) -> None:
    data = _folder(tmp_path)
    base = ["embed", "--table", str(data / "pairs.csv"), "--image-column", "path"]
    base += ["--text-column", "caption", "--id-column", "id", "--image-size", "6x8"]
    base += ["--image-mode", "RGB", "--dtype", "float32"]
    assert main([*base, "--output", str(tmp_path / "e.npz")]) == 0
    assert main([*base, "--output", str(tmp_path / "e.parquet")]) == 0
    images = mmref.read_images(data / "img", size=(6, 8), mode="RGB")
    model = mmref.MultimodalEncoder(
        mmref.RandomProjectionImageEncoder(image_shape=(6, 8, 3), dtype=np.float32),
        mmref.BagOfWordsTextEncoder(dtype=np.float32),
    )
    expected = mmref.joint_embedding(images, CAPTIONS, model)
    with np.load(tmp_path / "e.npz") as npz:
        assert sorted(npz.files) == ["embedding", "ids"]
        assert np.array_equal(npz["embedding"], expected)
        assert npz["ids"].tolist() == [f"id-{i}" for i in range(5)]
    pq = pytest.importorskip("pyarrow.parquet")
    table = pq.read_table(tmp_path / "e.parquet")
    assert table.column_names == ["id", "embedding"]
    assert table.schema.field("embedding").type.list_size == expected.shape[1]
    assert table.column("id").to_pylist() == [f"id-{i}" for i in range(5)]
    assert np.array_equal(np.array(table.column("embedding").to_pylist()), expected)
    meta = json.loads(table.schema.metadata[b"mmref"])
    assert meta["mmref_version"] == mmref.__version__
    assert meta["model"]["class"] == "MultimodalEncoder"


def test_glob_list_and_parquet_captions(tmp_path: Path) -> None:
    data = _folder(tmp_path)
    (data / "list.txt").write_text("img/3.png\nimg/1.png\n")
    (data / "two.txt").write_text("three\none\n")
    out = tmp_path / "a.npy"
    args = ["embed", "--images", str(data / "list.txt"), "--texts", str(data / "two.txt")]
    assert main([*args, "--image-size", "4x4", "--output", str(out)]) == 0
    images = mmref.read_images([data / "img/3.png", data / "img/1.png"], size=(4, 4))
    expected = mmref.joint_embedding(images, ["three", "one"], mmref.MultimodalEncoder())
    assert np.array_equal(np.load(out), expected)
    glob_out = tmp_path / "g.npy"
    args = ["embed", "--images", str(data / "img" / "*.png"), "--image-size", "4x4"]
    assert main([*args, "--output", str(glob_out)]) == 0
    assert np.load(glob_out).shape == (5, 256)
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.table({"caption": CAPTIONS}), data / "c.parquet")
    text_out = tmp_path / "t.npy"
    args = ["embed", "--texts", str(data / "c.parquet"), "--text-column", "caption"]
    assert main([*args, "--output", str(text_out)]) == 0
    assert np.array_equal(np.load(text_out), mmref.BagOfWordsTextEncoder().encode_text(CAPTIONS))


def _fails(args: list[str], status: int, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == status
    err = capsys.readouterr().err
    assert message in err, err
    assert err.count("\n") == 1, err


def test_bad_input_is_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _folder(tmp_path)
    out = tmp_path / "out.parquet"
    table = ["--table", str(data / "pairs.csv"), "--image-size", "4x4", "--output", str(out)]
    cases: list[tuple[list[str], int, str]] = [
        (["--texts", str(data / "pairs.csv")], 2, "columns: path, caption, id"),
        (["--images", str(data / "img")], 2, "need --image-size"),
        (["--images", str(data / "nope"), "--image-size", "4x4"], 2, "nope"),
        (["--texts", str(data / "pairs.xlsx")], 2, "the kind comes from the extension"),
        ([*table, "--image-column", "path", "--text-column", "capt"], 1, "no column 'capt'"),
        ([*table], 2, "--table needs --image-column"),
        (["--images", str(data / "img"), "--image-size", "4x4", "--texts",
          str(data / "list.txt")], 1, "holds 5 images but"),
    ]  # fmt: skip
    (data / "list.txt").write_text("one\n")
    for extra, status, message in cases:
        args = ["embed", *extra]
        if "--output" not in args:
            args += ["--output", str(out)]
        _fails(args, status, message, capsys)
    # An unreadable image, a missing image and an empty table name the file.
    (data / "img" / "2.png").write_bytes(b"garbage")
    _fails(["embed", *table, "--image-column", "path"], 1, "2.png: not an image", capsys)
    (data / "img" / "2.png").unlink()
    _fails(["embed", *table, "--image-column", "path"], 2, "2.png", capsys)
    (data / "empty.csv").write_text("path,caption\n")
    args = ["embed", "--texts", str(data / "empty.csv"), "--text-column", "caption"]
    _fails([*args, "--output", str(out)], 1, "has no rows", capsys)
    _fails([*args, "--output", str(tmp_path / "o.npy"), "--id-column", "path"], 2, "ids", capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_a_folder_larger_than_the_memory_bound_is_embedded_in_batches(tmp_path: Path) -> None:
    # 2,000 colour images of 256x256 decode to 393 MB: more than the 300 MB bound, so
    # only batched decoding passes. The files are hard links to one PNG (cheap to write).
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.new("RGB", (256, 256), (200, 10, 30)).save(tmp_path / "one.png")
    for i in range(2000):
        os.link(tmp_path / "one.png", folder / f"{i:04d}.png")
    out = tmp_path / "out.npy"
    child = (
        "import sys\n"
        "from mmref.cli import main\n"
        "status = main(sys.argv[1:])\n"
        "peak = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
        "print(peak)\n"
        "sys.exit(status)\n"
    )
    args = ["embed", "--images", str(folder), "--image-size", "256x256", "--image-mode", "RGB"]
    run = subprocess.run(
        [sys.executable, "-c", child, *args, "--output", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    peak_bytes = int(run.stdout.split()[-1]) * 1024
    assert peak_bytes < 300e6, f"peak RSS {peak_bytes / 1e6:.0f} MB for 393 MB of pixels"
    result = np.load(out)
    assert result.shape == (2000, 256)
    assert (result == result[0]).all() and np.abs(result[0]).sum() > 0  # same image, same row
