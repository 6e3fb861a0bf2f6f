"""mmref.tables: named columns of .csv, .tsv, .jsonl and .parquet files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmref.tables import TableTexts, read_columns, table_columns

CAPTIONS = ["a red circle", 'two lines,\n"quoted"', "", "一个蓝色的方块", "tab\there"]


def _csv(path: Path, delimiter: str = ",") -> Path:
    import csv

    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, dialect="excel-tab" if delimiter == "\t" else "excel")
        writer.writerow(["id", "caption", "label"])
        for i, caption in enumerate(CAPTIONS):
            writer.writerow([f"r{i}", caption, i % 2])
    return path


@pytest.mark.parametrize("name", ["t.csv", "t.tsv", "T.CSV"])
def test_csv_and_tsv_keep_quoted_newlines_and_skip_the_header(tmp_path: Path, name: str) -> None:
    path = _csv(tmp_path / name, "\t" if name.endswith("tsv") else ",")
    assert table_columns(path) == ["id", "caption", "label"]
    columns = read_columns(path, ["caption", "id", "caption"])
    assert columns["caption"] == CAPTIONS
    assert columns["id"] == [f"r{i}" for i in range(5)]


def test_byte_order_mark_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffcaption,x\r\na,1\r\n\r\nb,2\r\n".encode())
    assert read_columns(path, ["caption"]) == {"caption": ["a", "b"]}


def test_jsonl_and_parquet(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    lines = [json.dumps({"caption": c, "label": i % 2}) for i, c in enumerate(CAPTIONS)]
    path.write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    assert read_columns(path, ["caption", "label"]) == {
        "caption": CAPTIONS,
        "label": ["0", "1", "0", "1", "0"],
    }
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({"caption": CAPTIONS, "label": list(range(5))})
    pq.write_table(table, tmp_path / "t.parquet")
    assert table_columns(tmp_path / "t.parquet") == ["caption", "label"]
    assert read_columns(tmp_path / "t.parquet", ["label", "caption"])["caption"] == CAPTIONS
    pq.write_table(pa.table({"caption": ["a", None]}), tmp_path / "null.parquet")
    with pytest.raises(ValueError, match="row 2: column 'caption' is missing or null"):
        read_columns(tmp_path / "null.parquet", ["caption"])
    pq.write_table(pa.table({"caption": [1.5]}), tmp_path / "float.parquet")
    with pytest.raises(ValueError, match="is a float; expected a string"):
        read_columns(tmp_path / "float.parquet", ["caption"])


def test_errors_name_the_file_row_and_columns(tmp_path: Path) -> None:
    path = _csv(tmp_path / "t.csv")
    with pytest.raises(ValueError, match=r"no column 'text' \(columns: id, caption, label\)"):
        read_columns(path, ["text"])
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="empty; expected a header row"):
        table_columns(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text("caption\n")
    with pytest.raises(ValueError, match="has no rows"):
        read_columns(tmp_path / "header.csv", ["caption"])
    (tmp_path / "ragged.csv").write_text("a,b\n1,2\n3\n")
    with pytest.raises(ValueError, match="line 3 has 1 fields; expected 2"):
        read_columns(tmp_path / "ragged.csv", ["a"])
    (tmp_path / "dup.csv").write_text("a,a\n1,2\n")
    with pytest.raises(ValueError, match="names the column 'a' twice"):
        read_columns(tmp_path / "dup.csv", ["a"])
    (tmp_path / "bad.csv").write_bytes(b"a\n\xff\n")
    with pytest.raises(ValueError, match="not valid UTF-8"):
        read_columns(tmp_path / "bad.csv", ["a"])
    (tmp_path / "t.xlsx").write_text("a\n1\n")
    with pytest.raises(ValueError, match="the kind comes from the extension"):
        table_columns(tmp_path / "t.xlsx")
    with pytest.raises(FileNotFoundError):
        table_columns(tmp_path / "absent.csv")
    (tmp_path / "bad.jsonl").write_text('{"a": "x"}\n{"b": 1}\n')
    with pytest.raises(ValueError, match="line 2: column 'a' is missing"):
        read_columns(tmp_path / "bad.jsonl", ["a"])
    (tmp_path / "bad.parquet").write_text("not parquet")
    pytest.importorskip("pyarrow")
    with pytest.raises(ValueError, match="bad.parquet: not a readable Parquet file"):
        table_columns(tmp_path / "bad.parquet")


def test_table_texts_batches() -> None:
    texts = TableTexts(["a", "b", "c"])
    assert texts.n_rows == 3
    assert list(texts.batches(2)) == [["a", "b"], ["c"]]


@given(
    st.lists(
        st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00")),
        min_size=1,
        max_size=8,
    ),
    st.sampled_from([".csv", ".tsv"]),
)
def test_any_captions_round_trip_through_the_csv_module(captions: list[str], ext: str) -> None:
    import csv
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"t{ext}"
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, dialect="excel-tab" if ext == ".tsv" else "excel")
            writer.writerow(["caption", "n"])
            writer.writerows([c, i] for i, c in enumerate(captions))
        assert read_columns(path, ["caption"])["caption"] == captions
