"""Embedding files out: ``.npy``, ``.npz`` or ``.parquet``, streamed and crash-safe.

``.npy``
    The embedding matrix ``(n, d)`` alone (:func:`mmref._stream.write_embeddings`).
``.npz``
    An uncompressed zip (as ``numpy.savez`` writes) with the members
    ``embedding.npy`` ``(n, d)`` and, when ids are given, ``ids.npy`` (a
    fixed-width unicode array), members dated 1980-01-01 so that equal
    inputs give equal bytes.
``.parquet``
    Columns ``id`` (string, when ids are given) and ``embedding``
    (``fixed_size_list<d>`` of float64 or float32), one row group per batch;
    the schema metadata key ``mmref`` holds JSON ``{"mmref_version": ...,
    "model": ...}`` describing the model's parameters. Needs pyarrow.

Every format goes through :func:`mmref._io.atomic_output`: the destination
appears complete or not at all. Memory: one batch (and the ids).
"""

from __future__ import annotations

import importlib
import json
import os
import zipfile
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ._io import atomic_output
from ._stream import DataError, write_embeddings

__all__ = ["OUTPUT_EXTENSIONS", "describe_model", "write_output", "write_predictions"]

OUTPUT_EXTENSIONS = (".npy", ".npz", ".parquet")
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)

Batches = Iterator[tuple[int, int, npt.NDArray[Any]]]


def write_output(
    output: str,
    n_rows: int,
    batches: Batches,
    dtype: np.dtype[Any] | None,
    progress: Callable[[int], None] | None = None,
    *,
    ids: Sequence[str] | None = None,
    model: Any = None,
) -> tuple[int, int]:
    """Stream row batches to ``output`` in the format its extension names.

    Parameters
    ----------
    output : str
        A ``.npy``, ``.npz`` or ``.parquet`` path; replaced only when complete.
    n_rows, batches, dtype, progress
        As for :func:`mmref._stream.write_embeddings`.
    ids : sequence of str or None
        One id per row (``.npz`` and ``.parquet`` only).
    model : object or None
        Described in a ``.parquet`` file's metadata.

    Returns
    -------
    shape : tuple of int
        The shape ``(n_rows, d)`` written.
    """
    kind = os.path.splitext(output)[1].lower()
    if ids is not None and len(ids) != n_rows:
        raise DataError(f"{len(ids)} ids for {n_rows} rows")
    if kind == ".npy":
        if ids is not None:
            raise ValueError("a .npy output holds no ids; write .npz or .parquet")
        return write_embeddings(output, n_rows, batches, dtype, progress)
    if kind == ".npz":
        return _write_npz(output, n_rows, batches, dtype, progress, ids)
    if kind == ".parquet":
        return _write_parquet(output, n_rows, batches, dtype, progress, ids, model)
    raise ValueError(f"the output must be {', '.join(OUTPUT_EXTENSIONS)}, got {output!r}")


def describe_model(model: Any) -> Any:
    """A JSON-ready description of ``model``: its class and parameters, nested models too.

    Fitted sub-models (attributes ending in ``_`` with ``get_params``) are listed
    under ``"fitted"``; values JSON cannot hold are given as their ``repr``.
    """
    if hasattr(model, "get_params") and not isinstance(model, type):
        out: dict[str, Any] = {"class": type(model).__name__}
        out["params"] = {k: describe_model(v) for k, v in model.get_params(deep=False).items()}
        fitted = {
            k: describe_model(v)
            for k, v in sorted(vars(model).items())
            if k.endswith("_") and not k.startswith("_") and hasattr(v, "get_params")
        }
        if fitted:
            out["fitted"] = fitted
        return out
    if value := _json_scalar(model):
        return value[0]
    if isinstance(model, list | tuple):
        return [describe_model(v) for v in model]
    return repr(model)


def _json_scalar(value: Any) -> tuple[Any] | None:
    if value is None or isinstance(value, bool | str):
        return (value,)
    if isinstance(value, int | np.integer):
        return (int(value),)
    if isinstance(value, float | np.floating) and np.isfinite(value):
        return (float(value),)
    return None


def _first(batches: Batches, dtype: np.dtype[Any] | None) -> tuple[Batches, int, np.dtype[Any]]:
    iterator = iter(batches)
    head = next(iterator)
    block = head[2]
    if block.ndim != 2:
        raise DataError(f"rows {head[0]}+: embedding shape {block.shape}; expected (n, d)")

    def chain() -> Batches:
        yield head
        yield from iterator

    out_dtype = np.dtype(dtype) if dtype is not None else block.dtype
    return chain(), int(block.shape[1]), out_dtype


def _checked(block: npt.NDArray[Any], start: int, width: int, dtype: np.dtype[Any]) -> Any:
    if block.ndim != 2 or block.shape[1] != width:
        raise DataError(f"rows {start}+: embedding shape {block.shape} differs from width {width}")
    return np.ascontiguousarray(block, dtype=dtype)


def _write_npz(
    output: str,
    n_rows: int,
    batches: Batches,
    dtype: np.dtype[Any] | None,
    progress: Callable[[int], None] | None,
    ids: Sequence[str] | None,
) -> tuple[int, int]:
    stream, width, out_dtype = _first(batches, dtype)
    written = 0
    with atomic_output(output) as handle, zipfile.ZipFile(handle, "w", allowZip64=True) as zf:
        info = zipfile.ZipInfo("embedding.npy", date_time=_ZIP_DATE)
        with zf.open(info, "w", force_zip64=True) as member:
            header = {
                "descr": np.lib.format.dtype_to_descr(out_dtype),
                "fortran_order": False,
                "shape": (n_rows, width),
            }
            np.lib.format.write_array_header_2_0(member, header)
            for start, stop, block in stream:
                member.write(_checked(block, start, width, out_dtype).data)
                written += stop - start
                if progress is not None:
                    progress(stop - start)
        if written != n_rows:
            raise DataError(f"wrote {written} rows, expected {n_rows}")
        if ids is not None:
            info = zipfile.ZipInfo("ids.npy", date_time=_ZIP_DATE)
            with zf.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.array(list(ids), dtype=str))
    return n_rows, width


def _write_parquet(
    output: str,
    n_rows: int,
    batches: Batches,
    dtype: np.dtype[Any] | None,
    progress: Callable[[int], None] | None,
    ids: Sequence[str] | None,
    model: Any,
) -> tuple[int, int]:
    from .tables import parquet_module

    pq = parquet_module()
    pa: Any = importlib.import_module("pyarrow")

    from ._version import __version__

    stream, width, out_dtype = _first(batches, dtype)
    if out_dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
        out_dtype = np.dtype(np.float64)
    value_type = pa.float32() if out_dtype == np.dtype(np.float32) else pa.float64()
    fields = [pa.field("id", pa.string(), nullable=False)] if ids is not None else []
    fields.append(pa.field("embedding", pa.list_(value_type, width), nullable=False))
    meta = {"mmref_version": __version__, "model": describe_model(model)}
    schema = pa.schema(fields, metadata={"mmref": json.dumps(meta, sort_keys=True)})
    written = 0
    with atomic_output(output) as handle:
        with pq.ParquetWriter(handle, schema) as writer:
            for start, stop, block in stream:
                values = _checked(block, start, width, out_dtype).reshape(-1)
                columns = [pa.FixedSizeListArray.from_arrays(pa.array(values), width)]
                if ids is not None:
                    columns.insert(0, pa.array(list(ids[start:stop]), type=pa.string()))
                writer.write_table(pa.Table.from_arrays(columns, schema=schema))
                written += stop - start
                if progress is not None:
                    progress(stop - start)
        if written != n_rows:
            raise DataError(f"wrote {written} rows, expected {n_rows}")
    return n_rows, width


def write_predictions(
    output: str, ids: Sequence[str], labels: Sequence[str], scores: npt.NDArray[Any]
) -> None:
    """Write one row per prediction, ``id,label,score``, to a ``.csv`` or ``.parquet`` file.

    A ``.csv`` is UTF-8 with a header row, written by the ``csv`` module (fields
    quoted where needed), scores as Python's shortest round-trip ``repr``. A
    ``.parquet`` has the columns ``id`` and ``label`` (strings) and ``score``
    (float64). Crash-safe like every output.
    """
    kind = os.path.splitext(output)[1].lower()
    if kind == ".csv":
        import csv
        import io

        with atomic_output(output) as handle:
            text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
            writer = csv.writer(text)
            writer.writerow(("id", "label", "score"))
            for row in zip(ids, labels, scores.tolist(), strict=True):
                writer.writerow(row)
            text.flush()
            text.detach()  # atomic_output flushes, fsyncs and closes the binary file
        return
    if kind != ".parquet":
        raise ValueError(f"the predictions must be .csv or .parquet, got {output!r}")
    from .tables import parquet_module

    pq = parquet_module()
    pa: Any = importlib.import_module("pyarrow")
    from ._version import __version__

    table = pa.table(
        {
            "id": pa.array(list(ids), type=pa.string()),
            "label": pa.array(list(labels), type=pa.string()),
            "score": pa.array(np.asarray(scores, dtype=np.float64)),
        }
    )
    table = table.replace_schema_metadata({"mmref": json.dumps({"mmref_version": __version__})})
    with atomic_output(output) as handle:
        pq.write_table(table, handle)
