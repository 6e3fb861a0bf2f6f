"""Caption tables in: named columns of ``.csv``, ``.tsv``, ``.jsonl`` and ``.parquet`` files.

A table's kind comes from its file name's extension (in lower case), never
from its content:

``.csv`` / ``.tsv``
    UTF-8 (a leading byte-order mark is dropped), read by Python's ``csv``
    module with the ``excel`` / ``excel-tab`` dialect: fields may be quoted,
    and quoted fields keep their line breaks and delimiters. The first row
    names the columns (names must be distinct). A row that is completely
    empty (a blank line) is skipped; any other row must have one field per
    column.
``.jsonl``
    One JSON object per line; the columns are the keys of the first object.
    Blank lines (JSON whitespace only) are skipped.
``.parquet``
    Read with pyarrow, an optional extra (``pip install 'mmref[parquet]'``).

Values are strings: a ``.jsonl`` or ``.parquet`` value may also be an integer
(written in decimal, e.g. a numeric id or label); any other value, and a
missing or null value, is an error naming the file, the row and the column.
Only the columns asked for are kept, in memory: about the size of their text.
"""

from __future__ import annotations

import csv
import importlib
import json
import os
from collections.abc import Iterator, Sequence
from typing import Any

__all__ = [
    "TABLE_EXTENSIONS",
    "TableTexts",
    "parquet_module",
    "read_columns",
    "table_columns",
]

TABLE_EXTENSIONS = (".csv", ".tsv", ".jsonl", ".parquet")
_PARQUET_INSTALL = "pip install 'mmref[parquet]'"


def table_columns(path: str | os.PathLike[str]) -> list[str]:
    """The column names of the table at ``path``, in file order.

    Parameters
    ----------
    path : str or path-like
        A ``.csv``, ``.tsv``, ``.jsonl`` or ``.parquet`` file.

    Returns
    -------
    columns : list of str

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the extension is not one of :data:`TABLE_EXTENSIONS`, or the file
        has no header (no first record); the message names the file.
    """
    text = os.fspath(path)
    kind = _kind(text)
    if kind == ".parquet":
        pq = parquet_module()
        try:
            return list(pq.read_schema(text).names)
        except (OSError, ValueError) as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            raise ValueError(f"{text}: not a readable Parquet file ({exc})") from None
    if kind == ".jsonl":
        for _, record in _jsonl_records(text):
            return list(record)
        raise ValueError(f"{text}: the table is empty; expected one JSON object per line")
    with _open_text(text) as handle:
        reader = csv.reader(handle, dialect="excel-tab" if kind == ".tsv" else "excel")
        header = _next_row(reader, text)
    if header is None:
        raise ValueError(f"{text}: the table is empty; expected a header row naming the columns")
    return header


def read_columns(path: str | os.PathLike[str], names: Sequence[str]) -> dict[str, list[str]]:
    """Read the columns ``names`` of the table at ``path`` as lists of strings.

    Parameters
    ----------
    path : str or path-like
        A ``.csv``, ``.tsv``, ``.jsonl`` or ``.parquet`` file.
    names : sequence of str
        The columns to read (a name may repeat).

    Returns
    -------
    columns : dict of str to list of str
        One list per distinct name, all of the table's length.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If a column is missing (the message lists the table's columns), the
        table has no rows, or a value is missing, null or neither a string nor
        an integer (the message names the row); if the file is malformed.

    Examples
    --------
    >>> from mmref.tables import read_columns
    >>> read_columns("pairs.csv", ["path", "caption"])["caption"][:2]  # doctest: +SKIP
    ['a red circle', 'a blue square']
    """
    text = os.fspath(path)
    wanted = list(dict.fromkeys(names))
    columns = table_columns(text)
    missing = [n for n in wanted if n not in columns]
    if missing:
        raise ValueError(
            f"{text}: no column {missing[0]!r} (columns: {', '.join(columns) or 'none'})"
        )
    kind = _kind(text)
    if kind == ".parquet":
        out = _read_parquet(text, wanted)
    elif kind == ".jsonl":
        out = {n: [] for n in wanted}
        for number, record in _jsonl_records(text):
            for name in wanted:
                out[name].append(_value(record.get(name), text, f"line {number}", name))
    else:
        out = _read_csv(text, kind, columns, wanted)
    if not next(iter(out.values()), []):
        raise ValueError(f"{text}: the table has no rows")
    return out


class TableTexts:
    """Captions held in memory, read in batches as ``mmref embed`` reads a ``.txt`` file.

    Parameters
    ----------
    values : list of str
        The captions, in order.
    """

    def __init__(self, values: list[str]) -> None:
        self.values = values

    @property
    def n_rows(self) -> int:
        """The number of captions."""
        return len(self.values)

    def batches(self, size: int) -> Iterator[list[str]]:
        """Yield the captions in order, ``size`` at a time."""
        for start in range(0, len(self.values), size):
            yield self.values[start : start + size]


def _kind(path: str) -> str:
    kind = os.path.splitext(path)[1].lower()
    if kind not in TABLE_EXTENSIONS:
        raise ValueError(
            f"{path}: a table must be {', '.join(TABLE_EXTENSIONS)} (the kind comes from the "
            f"extension), got {kind or 'no extension'!r}"
        )
    return kind


def _open_text(path: str) -> Any:
    # newline="" lets the csv module see quoted line breaks as they are.
    return open(path, encoding="utf-8-sig", newline="")


def _next_row(reader: Any, path: str) -> list[str] | None:
    try:
        for row in reader:
            if row:
                return list(row)
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not valid UTF-8 (byte {exc.start + 1} of a block)") from None
    except csv.Error as exc:
        raise ValueError(f"{path}: line {reader.line_num}: {exc}") from None
    return None


def _read_csv(path: str, kind: str, columns: list[str], wanted: list[str]) -> dict[str, list[str]]:
    if len(set(columns)) != len(columns):
        dup = next(c for c in columns if columns.count(c) > 1)
        raise ValueError(f"{path}: the header names the column {dup!r} twice")
    index = [columns.index(n) for n in wanted]
    out: dict[str, list[str]] = {n: [] for n in wanted}
    lists = [out[n] for n in wanted]
    with _open_text(path) as handle:
        reader = csv.reader(handle, dialect="excel-tab" if kind == ".tsv" else "excel")
        _next_row(reader, path)
        while (row := _next_row(reader, path)) is not None:
            if len(row) != len(columns):
                raise ValueError(
                    f"{path}: line {reader.line_num} has {len(row)} fields; expected "
                    f"{len(columns)}, one per column"
                )
            for values, i in zip(lists, index, strict=True):
                values.append(row[i])
    return out


def _jsonl_records(path: str) -> Iterator[tuple[int, dict[str, Any]]]:
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip(b" \t\r\n"):
                continue
            try:
                record = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:
                raise ValueError(f"{path}: line {number} is not valid UTF-8") from None
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}: line {number} is not valid JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise ValueError(f"{path}: line {number} is not a JSON object")
            yield number, record


def _value(value: Any, path: str, where: str, name: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    got = "missing or null" if value is None else f"a {type(value).__name__}"
    raise ValueError(f"{path}: {where}: column {name!r} is {got}; expected a string")


def _read_parquet(path: str, wanted: list[str]) -> dict[str, list[str]]:
    pq = parquet_module()
    try:
        table = pq.read_table(path, columns=wanted)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable Parquet file ({exc})") from None
    out: dict[str, list[str]] = {}
    for name in wanted:
        values = table.column(name).to_pylist()
        out[name] = [_value(v, path, f"row {i + 1}", name) for i, v in enumerate(values)]
    return out


def parquet_module() -> Any:
    """``pyarrow.parquet``, or an ImportError that gives the install command."""
    try:
        # Through importlib: pyarrow ships no type information.
        pq = importlib.import_module("pyarrow.parquet")
    except ImportError:
        raise ImportError(
            f"reading and writing .parquet files needs pyarrow: {_PARQUET_INSTALL}"
        ) from None
    return pq
