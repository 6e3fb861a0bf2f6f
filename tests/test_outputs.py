"""The embedding and prediction files mmref writes, as their readers see them.

Values, dtype and shape read back with numpy and pyarrow; the layout a reader
relies on (member names, column names and types, metadata); equal inputs give equal
bytes; and a failure, whatever its cause, leaves no file (and an earlier file intact).
"""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import mmref
from mmref._io import atomic_output, fsync_directory
from mmref._outputs import describe_model, write_output, write_predictions
from mmref._stream import DataError

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

ROWS = np.arange(7 * 3, dtype=np.float64).reshape(7, 3) / 8 - 1


def _batches(rows: np.ndarray, size: int) -> Iterator[tuple[int, int, np.ndarray]]:
    for start in range(0, len(rows), size):
        yield start, min(len(rows), start + size), rows[start : start + size]


def _listing(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


# --- the three formats ---------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 3, 7])
@pytest.mark.parametrize("dtype", [None, np.dtype(np.float32), np.dtype(np.float64)])
def test_npy_holds_the_rows_in_the_dtype_asked_for(
    tmp_path: Path, size: int, dtype: np.dtype[Any] | None
) -> None:
    seen: list[int] = []
    out = tmp_path / "e.npy"
    shape = write_output(str(out), 7, _batches(ROWS, size), dtype, seen.append)
    assert shape == (7, 3)
    assert seen == [min(size, 7 - s) for s in range(0, 7, size)]
    got = np.load(out, allow_pickle=False)
    expected = ROWS.astype(dtype or ROWS.dtype)
    assert got.dtype == expected.dtype and got.shape == (7, 3)
    assert got.tobytes() == expected.tobytes()
    assert _listing(tmp_path) == ["e.npy"]


@pytest.mark.parametrize("size", [1, 3, 7])
@pytest.mark.parametrize("dtype", [None, np.dtype(np.float32)])
@pytest.mark.parametrize("ids", [None, ["a", "bé", "c", "d", "e", "f", "a long id"]])
def test_npz_holds_the_rows_and_the_ids(
    tmp_path: Path, size: int, dtype: np.dtype[Any] | None, ids: list[str] | None
) -> None:
    seen: list[int] = []
    out = tmp_path / "e.npz"
    assert write_output(str(out), 7, _batches(ROWS, size), dtype, seen.append, ids=ids) == (7, 3)
    assert sum(seen) == 7 and len(seen) == len(range(0, 7, size))
    with np.load(out, allow_pickle=False) as archive:
        assert sorted(archive.files) == (["embedding"] if ids is None else ["embedding", "ids"])
        got = archive["embedding"]
        expected = ROWS.astype(dtype or ROWS.dtype)
        assert got.dtype == expected.dtype and got.tobytes() == expected.tobytes()
        if ids is not None:
            assert archive["ids"].dtype.kind == "U"
            assert archive["ids"].tolist() == ids
    with zipfile.ZipFile(out) as zf:
        for info in zf.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.compress_type == zipfile.ZIP_STORED


def test_npz_bytes_depend_only_on_the_inputs(tmp_path: Path) -> None:
    ids = [str(i) for i in range(7)]
    write_output(str(tmp_path / "a.npz"), 7, _batches(ROWS, 2), None, ids=ids)
    write_output(str(tmp_path / "b.npz"), 7, _batches(ROWS, 5), None, ids=ids)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


@pytest.mark.parametrize("size", [1, 3, 7])
@pytest.mark.parametrize(
    ("dtype", "arrow"),
    [(None, "float64"), (np.dtype(np.float32), "float32"), (np.dtype(np.float64), "float64")],
)
@pytest.mark.parametrize("ids", [None, ["a", "bé", "c", "d", "e", "f", "g"]])
def test_parquet_holds_the_rows_ids_and_model(
    tmp_path: Path, size: int, dtype: Any, arrow: str, ids: list[str] | None
) -> None:
    model = mmref.RandomProjectionImageEncoder(n_components=3, seed=5)
    seen: list[int] = []
    out = tmp_path / "e.parquet"
    shape = write_output(
        str(out), 7, _batches(ROWS, size), dtype, seen.append, ids=ids, model=model
    )
    assert shape == (7, 3) and sum(seen) == 7
    table = pq.read_table(out)
    names = ["embedding"] if ids is None else ["id", "embedding"]
    assert table.column_names == names
    field = table.schema.field("embedding")
    assert pa.types.is_fixed_size_list(field.type) and field.type.list_size == 3
    assert field.type.value_type == getattr(pa, arrow)() and not field.nullable
    got = np.array(table.column("embedding").to_pylist())
    expected = ROWS.astype(dtype or ROWS.dtype)
    assert got.astype(expected.dtype).tobytes() == expected.tobytes()
    if ids is not None:
        assert table.column("id").to_pylist() == ids
        assert table.schema.field("id").type == pa.string()
        assert not table.schema.field("id").nullable
    assert pq.ParquetFile(out).num_row_groups == len(range(0, 7, size))
    meta = json.loads(table.schema.metadata[b"mmref"])
    assert meta["mmref_version"] == mmref.__version__
    assert meta["model"] == describe_model(model)
    assert meta["model"]["params"]["seed"] == 5


def test_parquet_of_integer_rows_is_float64(tmp_path: Path) -> None:
    rows = np.arange(6, dtype=np.int32).reshape(3, 2)
    out = tmp_path / "e.parquet"
    write_output(str(out), 3, _batches(rows, 2), None)
    table = pq.read_table(out)
    kind = table.schema.field("embedding").type
    assert kind.list_size == 2 and kind.value_type == pa.float64()
    assert table.column("embedding").to_pylist() == rows.astype(float).tolist()


# --- refusals: nothing is written ----------------------------------------------------


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".parquet", ".NPY"])
def test_a_width_change_midway_leaves_no_file_and_keeps_an_old_one(
    tmp_path: Path, suffix: str
) -> None:
    out = tmp_path / f"e{suffix}"
    out.write_bytes(b"old")

    def batches() -> Iterator[tuple[int, int, np.ndarray]]:
        yield 0, 2, ROWS[:2]
        yield 2, 4, ROWS[2:4, :2]

    with pytest.raises(DataError, match="rows 2"):
        write_output(str(out), 4, batches(), None)
    assert out.read_bytes() == b"old" and _listing(tmp_path) == [out.name]


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".parquet"])
@pytest.mark.parametrize("rows", [5, 8])
def test_a_row_count_other_than_promised_leaves_no_file(
    tmp_path: Path, suffix: str, rows: int
) -> None:
    with pytest.raises(DataError, match=f"wrote 7 rows, expected {rows}"):
        write_output(str(tmp_path / f"e{suffix}"), rows, _batches(ROWS, 3), None)
    assert _listing(tmp_path) == []


# (A .npy output is written by mmref._stream.write_embeddings, which expects a 2-d first
# batch: only mmref's own models, whose embeddings are 2-d, feed it.)
@pytest.mark.parametrize(
    ("suffix", "shape"),
    [(".npy", (3, 1, 1)), (".npz", (3,)), (".npz", (3, 1, 1)), (".npz", ()),
     (".parquet", (3,)), (".parquet", (3, 1, 1)), (".parquet", ())],
)  # fmt: skip
def test_a_batch_that_is_not_rows_is_refused(
    tmp_path: Path, suffix: str, shape: tuple[int, ...]
) -> None:
    def batches() -> Iterator[tuple[int, int, np.ndarray]]:
        yield 5, 8, np.zeros(shape)

    with pytest.raises(DataError, match=r"^rows 5\+: embedding shape "):
        write_output(str(tmp_path / f"e{suffix}"), 3, batches(), None)
    assert _listing(tmp_path) == []


@pytest.mark.parametrize("suffix", [".npz", ".parquet"])
@pytest.mark.parametrize("count", [6, 8])
def test_ids_must_be_one_per_row(tmp_path: Path, suffix: str, count: int) -> None:
    ids = [str(i) for i in range(count)]
    with pytest.raises(DataError, match=f"{count} ids for 7 rows"):
        write_output(str(tmp_path / f"e{suffix}"), 7, _batches(ROWS, 3), None, ids=ids)
    assert _listing(tmp_path) == []


def test_a_npy_output_holds_no_ids(tmp_path: Path) -> None:
    ids = [str(i) for i in range(7)]
    with pytest.raises(ValueError, match=r"\.npz or \.parquet"):
        write_output(str(tmp_path / "e.npy"), 7, _batches(ROWS, 3), None, ids=ids)
    assert _listing(tmp_path) == []


@pytest.mark.parametrize("name", ["e.csv", "e", "e.npy.gz", "e.parquet.tmp"])
def test_an_unknown_output_kind_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match=r"\.npy, \.npz, \.parquet"):
        write_output(str(tmp_path / name), 7, _batches(ROWS, 3), None)
    assert _listing(tmp_path) == []


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".parquet"])
def test_an_interrupt_midway_leaves_no_file(tmp_path: Path, suffix: str) -> None:
    def batches() -> Iterator[tuple[int, int, np.ndarray]]:
        yield 0, 2, ROWS[:2]
        raise KeyboardInterrupt

    out = tmp_path / f"e{suffix}"
    out.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt):
        write_output(str(out), 7, batches(), None, ids=None)
    assert out.read_bytes() == b"old" and _listing(tmp_path) == [out.name]


# --- the model description -----------------------------------------------------------


def test_describe_model_names_classes_parameters_and_fitted_models() -> None:
    images = np.arange(2 * 16.0).reshape(2, 4, 4)
    encoder = mmref.MultimodalEncoder(
        mmref.RandomProjectionImageEncoder(4, seed=2), mmref.BagOfWordsTextEncoder(8)
    )
    description = describe_model(encoder)
    assert description["class"] == "MultimodalEncoder"
    assert description["params"]["image_encoder"]["class"] == "RandomProjectionImageEncoder"
    assert description["params"]["image_encoder"]["params"]["n_components"] == 4
    assert description["params"]["text_encoder"]["params"]["ngram_range"] == [1, 1]
    assert "fitted" not in description
    encoder.fit(images, ["a", "b"])
    fitted = describe_model(encoder)["fitted"]
    assert sorted(fitted) == ["image_encoder_", "text_encoder_"]
    assert fitted["image_encoder_"]["params"]["seed"] == 2
    json.dumps(describe_model(encoder), allow_nan=False)  # all of it is JSON


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (True, True),
        ("s", "s"),
        (np.int64(3), 3),
        (np.float32(0.5), 0.5),
        (0.0, 0.0),
        (0, 0),
        (False, False),
        ("", ""),
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        ((1, 2.5), [1, 2.5]),
        ([np.int8(1), (None,)], [1, [None]]),
        (np.float64, repr(np.float64)),
        ({"a": 1}, repr({"a": 1})),
    ],
)
def test_describe_model_gives_json_values(value: Any, expected: Any) -> None:
    got = describe_model(value)
    assert got == expected and type(got) is type(expected)


# --- predictions ---------------------------------------------------------------------


def test_predictions_csv_reads_back_exactly(tmp_path: Path) -> None:
    ids = ["a", "b,c", 'd"e', "é"]
    labels = ["cat", "dog", "a, b", "x\ny"]
    scores = np.array([0.1, 1 / 3, -0.0, 1e-300])
    out = tmp_path / "p.csv"
    write_predictions(str(out), ids, labels, scores)
    with open(out, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["id", "label", "score"]
    assert [r[:2] for r in rows[1:]] == [list(p) for p in zip(ids, labels, strict=True)]
    assert [float(r[2]) for r in rows[1:]] == scores.tolist()
    assert [r[2] for r in rows[1:]] == [repr(s) for s in scores.tolist()]
    assert _listing(tmp_path) == ["p.csv"]


def test_predictions_parquet_reads_back_exactly(tmp_path: Path) -> None:
    ids, labels = ["a", "b"], ["x", "y"]
    scores = np.array([0.25, 1 / 3], dtype=np.float32)
    out = tmp_path / "p.parquet"
    write_predictions(str(out), ids, labels, scores)
    table = pq.read_table(out)
    assert table.column_names == ["id", "label", "score"]
    assert [table.schema.field(n).type for n in table.column_names] == [
        pa.string(),
        pa.string(),
        pa.float64(),
    ]
    assert table.column("id").to_pylist() == ids
    assert table.column("label").to_pylist() == labels
    assert table.column("score").to_pylist() == scores.astype(np.float64).tolist()
    meta = json.loads(table.schema.metadata[b"mmref"])
    assert meta == {"mmref_version": mmref.__version__}


@pytest.mark.parametrize("name", ["p.npy", "p.tsv", "p"])
def test_predictions_of_an_unknown_kind_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match=r"\.csv or \.parquet"):
        write_predictions(str(tmp_path / name), ["a"], ["x"], np.zeros(1))
    assert _listing(tmp_path) == []


def test_predictions_with_a_missing_score_leave_no_file(tmp_path: Path) -> None:
    out = tmp_path / "p.csv"
    out.write_bytes(b"old")
    with pytest.raises(ValueError):
        write_predictions(str(out), ["a", "b"], ["x", "y"], np.zeros(1))
    assert out.read_bytes() == b"old" and _listing(tmp_path) == ["p.csv"]


# --- atomic_output -------------------------------------------------------------------


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_an_output_file_gets_the_mode_the_umask_gives(
    tmp_path: Path, umask: int, mode: int
) -> None:
    old = os.umask(umask)
    try:
        with atomic_output(tmp_path / "out.bin") as handle:
            handle.write(b"x")
        assert os.umask(umask) == umask  # the umask is left as it was
    finally:
        os.umask(old)
    assert (tmp_path / "out.bin").stat().st_mode & 0o777 == mode


def test_an_output_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with atomic_output("plain.bin") as handle:
        handle.write(b"data")
    assert (tmp_path / "plain.bin").read_bytes() == b"data"
    assert _listing(tmp_path) == ["plain.bin"]


def test_the_temporary_file_is_beside_the_destination_and_hidden(tmp_path: Path) -> None:
    dest = tmp_path / "out.bin"
    with atomic_output(dest) as handle:
        handle.write(b"abc")
        (temporary,) = tmp_path.iterdir()
        assert temporary.name.startswith(".out.bin.") and temporary.name.endswith(".mmref-tmp")
        assert not dest.exists()
    assert dest.read_bytes() == b"abc" and _listing(tmp_path) == ["out.bin"]


def test_everything_written_is_in_the_file(tmp_path: Path) -> None:
    data = bytes(range(256)) * 5000
    with atomic_output(tmp_path / "out.bin") as handle:
        stream = io.BufferedWriter(handle)  # type: ignore[arg-type]
        stream.write(data)
        stream.flush()
        stream.detach()
    assert (tmp_path / "out.bin").read_bytes() == data


def test_a_missing_directory_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match="nowhere"), atomic_output(missing / "f.bin"):
        pytest.fail("the block must not run")
    assert not missing.exists()


def test_fsync_directory_of_a_missing_directory_does_nothing(tmp_path: Path) -> None:
    fsync_directory(tmp_path / "nowhere")
    fsync_directory(tmp_path)
    assert _listing(tmp_path) == []


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".parquet"])
def test_without_a_dtype_the_rows_keep_theirs(tmp_path: Path, suffix: str) -> None:
    rows = ROWS.astype(np.float32)
    out = tmp_path / f"e{suffix}"
    write_output(str(out), 7, _batches(rows, 3), None)
    if suffix == ".parquet":
        kind = pq.read_table(out).schema.field("embedding").type
        assert kind.value_type == pa.float32()
        return
    got = np.load(out) if suffix == ".npy" else np.load(out)["embedding"]
    assert got.dtype == np.float32 and got.tobytes() == rows.tobytes()


def test_parquet_metadata_is_canonical_json(tmp_path: Path) -> None:
    # Sorted keys: equal models give equal bytes, whatever order their attributes were set.
    model = mmref.MultimodalEncoder(
        mmref.RandomProjectionImageEncoder(4), mmref.BagOfWordsTextEncoder(8)
    ).fit(np.ones((2, 4, 4)), ["a", "b"])
    out = tmp_path / "e.parquet"
    write_output(str(out), 7, _batches(ROWS, 7), None, model=model)
    raw = pq.read_table(out).schema.metadata[b"mmref"]
    assert raw == json.dumps(json.loads(raw), sort_keys=True).encode()
    assert list(json.loads(raw)["model"]) == ["class", "fitted", "params"]


def test_describe_model_lists_the_parameters_of_each_model_once() -> None:
    encoder = mmref.MultimodalEncoder(
        mmref.RandomProjectionImageEncoder(4), mmref.BagOfWordsTextEncoder(8)
    )
    description = describe_model(encoder)
    assert sorted(description["params"]) == ["image_encoder", "text_encoder"]
    inner = description["params"]["text_encoder"]["params"]
    assert sorted(inner) == sorted(mmref.BagOfWordsTextEncoder().get_params())
