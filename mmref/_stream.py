"""The streaming core of ``mmref embed``: read inputs in batches, write ``.npy`` output safely.

Memory: one batch of input rows, its float conversion inside the encoder and
one batch of output rows. Input rows are read with positioned reads rather than
through a memory map, because pages of a memory map stay resident (and count in
the process's RSS) after they are read. A Fortran-order ``.npy`` is read the
same way, one run of the batch's rows per pixel position (runs close together
in the file in one read), at the cost of a second copy of the batch (to put it
in C order) and a read buffer of at most 4 MiB or one run, whichever is larger.
Output is written sequentially to a temporary file that replaces the
destination only when complete (see :mod:`mmref._io`).
"""

from __future__ import annotations

import json
import math
import os
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from ._io import atomic_output

__all__ = [
    "MAX_LINE_BYTES",
    "DataError",
    "ImageSource",
    "TextSource",
    "auto_batch_size",
    "embed_rows",
    "write_embeddings",
]

#: The longest caption line ``mmref embed`` reads (64 MiB, line break excluded).
MAX_LINE_BYTES = 1 << 26
# A batch's float64 copy inside the encoder stays near this size.
_BATCH_BYTES = 32 << 20
_TEXT_BATCH = 4096
# A Fortran-order read gathers one run of rows per pixel position. Runs less than
# _MAX_GAP_BYTES apart are read together (reading the gap costs less than another read
# call), in reads of at most _SPAN_BYTES.
_MAX_GAP_BYTES = 16 << 10
_SPAN_BYTES = 4 << 20
# JSON's whitespace (RFC 8259): a .jsonl line of only these bytes holds no record.
_JSON_SPACE = b" \t\r\n"
# A blank line at the start of a scanned block, or after a line break in it. (One
# pattern anchored with ^ in MULTILINE mode is ten times slower: it is tried at every byte.)
_BLANK_FIRST = re.compile(rb"[ \t\r]*\n")
_BLANK_AFTER_BREAK = re.compile(rb"\n[ \t\r]*\n")


class DataError(ValueError):
    """An input file's content is unusable (exit status 1 in the CLI)."""


@dataclass
class ImageSource:
    """Images stored as a ``.npy`` file or an uncompressed/compressed ``.npz`` member.

    Parameters
    ----------
    path : str
        A ``.npy`` file, or a ``.npz`` file together with ``key``.
    key : str or None
        The ``.npz`` member (without ``.npy``).
    """

    path: str
    key: str | None = None

    def __post_init__(self) -> None:
        self._array: npt.NDArray[Any] | None = None  # only for npz members read whole
        self._fortran = False
        if self.path.endswith(".npz") or self.key is not None:
            self._open_npz()
        else:
            self._open_npy()
        if self.dtype.hasobject or self.dtype.kind not in "biuf":
            raise DataError(
                f"{self.path}: images have dtype {self.dtype}; expected real numbers "
                f"(bool, integer or float), never object or pickled arrays"
            )
        if len(self.shape) not in (3, 4):
            raise DataError(
                f"{self.path}: images have shape {self.shape}; expected (N, H, W) or (N, H, W, C)"
            )

    @property
    def n_rows(self) -> int:
        """The number of images."""
        return int(self.shape[0])

    def read(self, start: int, stop: int) -> npt.NDArray[Any]:
        """Images ``start:stop`` as a new array of shape ``(stop - start, *shape[1:])``.

        A ``.npy`` file's rows come back in C order whatever the file's order.
        """
        if self._array is not None:
            return np.array(self._array[start:stop])
        if self._fortran and stop > start:  # an empty range needs no reordering
            return self._read_fortran(start, stop)
        row_bytes = self.dtype.itemsize * math.prod(self.shape[1:])
        data = bytearray((stop - start) * row_bytes)
        with open(self.path, "rb") as handle:
            handle.seek(self._offset + start * row_bytes)
            if handle.readinto(data) != len(data):
                raise DataError(f"{self.path}: the file ended early (truncated?)")
        return np.frombuffer(data, dtype=self.dtype).reshape((stop - start, *self.shape[1:]))

    def _read_fortran(self, start: int, stop: int) -> npt.NDArray[Any]:
        # In column-major order the value of row r at pixel position j (numbered in
        # Fortran order) is element r + n_rows * j: rows start:stop are one run of
        # stop - start values per position, the runs n_rows values apart.
        rows = stop - start
        itemsize = self.dtype.itemsize
        positions = math.prod(self.shape[1:])
        stride = self.n_rows * itemsize
        run_bytes = rows * itemsize
        group = 1
        if stride - run_bytes < _MAX_GAP_BYTES:
            group = max(1, min(positions, _SPAN_BYTES // stride))
        runs = np.empty((positions, rows), dtype=self.dtype)
        buffer = memoryview(bytearray((group - 1) * stride + run_bytes))
        with open(self.path, "rb", buffering=0) as handle:
            for first in range(0, positions, group):
                count = min(group, positions - first)
                span = buffer[: (count - 1) * stride + run_bytes]
                handle.seek(self._offset + (first * self.n_rows + start) * itemsize)
                if handle.readinto(span) != len(span):
                    raise DataError(f"{self.path}: the file ended early (truncated?)")
                runs[first : first + count] = np.ndarray(
                    (count, rows), dtype=self.dtype, buffer=span, strides=(stride, itemsize)
                )
        # runs.T is the batch in Fortran order, so this reshape is a view.
        batch = runs.T.reshape((rows, *self.shape[1:]), order="F")
        return np.ascontiguousarray(batch)

    def _open_npy(self) -> None:
        with open(self.path, "rb") as handle:
            shape, fortran, dtype = _read_npy_header(handle, self.path)
            self._offset = handle.tell()
        self.shape: tuple[int, ...] = shape
        self.dtype: np.dtype[Any] = dtype
        self._fortran = fortran
        needed = self._offset + dtype.itemsize * math.prod(shape)
        size = os.path.getsize(self.path)
        if size < needed:
            raise DataError(
                f"{self.path}: the header promises shape {shape} of {dtype} "
                f"({needed} bytes) but the file holds only {size} bytes (truncated?)"
            )

    def _open_npz(self) -> None:
        if self.key is None:
            raise DataError(f"{self.path}: an .npz file needs --key to name the image array")
        try:
            with zipfile.ZipFile(self.path) as zf:
                names = [n for n in zf.namelist() if n.endswith(".npy")]
                member = f"{self.key}.npy"
                if member not in names:
                    listed = ", ".join(n[:-4] for n in names) or "none"
                    raise DataError(f"{self.path}: no array {self.key!r} (arrays: {listed})")
                with zf.open(member) as handle:
                    shape, _, dtype = _read_npy_header(handle, f"{self.path}[{self.key}]")
                    header_bytes = handle.tell()
                needed = dtype.itemsize * math.prod(shape)
                size = zf.getinfo(member).file_size - header_bytes
                if size < needed:
                    raise DataError(
                        f"{self.path}: array {self.key!r} promises shape {shape} of {dtype} "
                        f"({needed} bytes) but holds only {size} bytes (truncated or forged?)"
                    )
                if dtype.hasobject:
                    raise DataError(f"{self.path}: array {self.key!r} holds objects (pickled)")
                self.shape, self.dtype = shape, dtype
                # Members are often compressed, so they cannot be read in place; the
                # CLI documents that an .npz member is read whole.
                with zf.open(member) as handle:
                    self._array = np.lib.format.read_array(handle, allow_pickle=False)
        except zipfile.BadZipFile as exc:
            raise DataError(f"{self.path}: not a valid .npz file ({exc})") from None
        except ValueError as exc:
            raise DataError(f"{self.path}: cannot read array {self.key!r} ({exc})") from None
        if self._array.shape != self.shape:  # pragma: no cover - numpy guarantees it
            raise DataError(f"{self.path}: array {self.key!r} does not match its header")


@dataclass
class TextSource:
    """Captions: UTF-8 ``.txt`` with one caption per line, or ``.jsonl`` with a text field.

    A final line break does not start another caption; ``\\r\\n`` line ends are
    accepted and the ``\\r`` dropped. In a ``.txt`` file every line is a caption, an
    empty or blank one too (it is the caption ``""`` or its whitespace), even at the
    end of the file. In a ``.jsonl`` file, blank lines (only spaces, tabs and line
    ends) at the end of the file are ignored; a blank line before the last record is
    an error, because captions are matched to images by position.
    """

    path: str
    text_field: str | None = None

    def __post_init__(self) -> None:
        self.jsonl = self.path.endswith(".jsonl") or self.text_field is not None
        if self.jsonl and self.text_field is None:
            self.text_field = "text"
        self.n_rows = _count_records(self.path) if self.jsonl else _count_lines(self.path)

    def batches(self, size: int) -> Iterator[list[str]]:
        """Yield the captions in order, ``size`` at a time."""
        batch: list[str] = []
        with open(self.path, "rb") as handle:
            # n_rows stops before a .jsonl file's trailing blank lines. A line is read with
            # a limit, so that a hostile file of one endless line cannot exhaust memory.
            for number in range(1, self.n_rows + 1):
                raw = handle.readline(MAX_LINE_BYTES + 2)
                if len(raw) > MAX_LINE_BYTES + (raw.endswith(b"\n") + raw.endswith(b"\r\n")):
                    raise DataError(
                        f"{self.path}: line {number} is longer than {MAX_LINE_BYTES} bytes; "
                        f"a caption may be at most that long"
                    )
                batch.append(self._decode(raw, number))
                if len(batch) == size:
                    yield batch
                    batch = []
        if batch:
            yield batch

    def _decode(self, raw: bytes, number: int) -> str:
        line = raw[:-1] if raw.endswith(b"\n") else raw
        line = line[:-1] if line.endswith(b"\r") else line
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(
                f"{self.path}: line {number} is not valid UTF-8 (byte {exc.start + 1} of the line)"
            ) from None
        if not self.jsonl:
            return text
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{self.path}: line {number} is not valid JSON ({exc.msg})") from None
        except RecursionError:
            raise DataError(
                f"{self.path}: line {number} nests JSON values too deeply to read; expected "
                f"one flat JSON object with a string field {self.text_field!r}"
            ) from None
        except ValueError as exc:  # e.g. an integer of more digits than Python parses
            message = " ".join(str(exc).split())
            raise DataError(
                f"{self.path}: line {number} is not readable JSON ({message})"
            ) from None
        value = record.get(self.text_field) if isinstance(record, dict) else None
        if not isinstance(value, str):
            raise DataError(f"{self.path}: line {number} has no string field {self.text_field!r}")
        return value


def auto_batch_size(row_values: int) -> int:
    """Rows per batch so that one batch in float64 takes about 32 MiB."""
    return max(1, min(8192, _BATCH_BYTES // max(1, 8 * row_values)))


def embed_rows(
    model: Any, image: npt.NDArray[Any] | None, text: list[str] | None, start: int, stop: int
) -> npt.NDArray[Any]:
    """Embed rows ``start:stop`` as ``mmref embed`` does: joint when both inputs are given.

    An image batch of shape ``(n, H, W, C)`` is passed as ``(n, H, W*C)`` (the same
    pixels in the same row-major order) to a model whose ``takes_flat_channels()``
    returns True, such as an mmref image encoder with ``image_shape=None``. Any other
    model gets the batch as it is. Errors become :class:`DataError` naming the rows.
    """
    from .reference import joint_embedding

    if image is not None and image.ndim == 4 and _takes_flat_channels(model):
        image = image.reshape(image.shape[0], image.shape[1], -1)
    try:
        if image is not None and text is not None:
            return joint_embedding(image, text, model)
        if image is not None:
            return np.asarray(model.encode_image(image))
        return np.asarray(model.encode_text(text))
    except (ValueError, TypeError) as exc:
        raise DataError(f"rows {start} to {stop - 1}: {exc}") from None


def _takes_flat_channels(model: object) -> bool:
    """True if the model declares ``takes_flat_channels()`` (see :mod:`mmref.protocols`)."""
    declared = getattr(model, "takes_flat_channels", None)
    return callable(declared) and declared() is True


def write_embeddings(
    output: str,
    n_rows: int,
    batches: Iterator[tuple[int, int, npt.NDArray[Any]]],
    dtype: np.dtype[Any] | None,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Stream row batches into a new ``.npy`` file at ``output``, atomically.

    Parameters
    ----------
    output : str
        The destination; replaced only when every row is written and fsynced.
    n_rows : int
        The total number of rows the batches will yield (written in the header).
    batches : iterator of (start, stop, ndarray of shape (stop - start, d))
        The embeddings in order.
    dtype : numpy dtype or None
        Cast each batch to this dtype; ``None`` keeps the first batch's dtype.
    progress : callable or None
        Called with the number of rows written after each batch.

    Returns
    -------
    shape : tuple of int
        The shape ``(n_rows, d)`` written.
    """
    iterator = iter(batches)
    start, stop, first = next(iterator)
    out_dtype = np.dtype(dtype) if dtype is not None else first.dtype
    width = first.shape[1]
    with atomic_output(output) as handle:
        header = {
            "descr": np.lib.format.dtype_to_descr(out_dtype),
            "fortran_order": False,
            "shape": (n_rows, width),
        }  # fmt: skip
        np.lib.format.write_array_header_2_0(handle, header)
        written = _write_batch(handle, first, out_dtype, width, start, written=0)
        if progress is not None:
            progress(stop - start)
        for start, stop, block in iterator:
            written = _write_batch(handle, block, out_dtype, width, start, written)
            if progress is not None:
                progress(stop - start)
        if written != n_rows:
            raise DataError(f"wrote {written} rows, expected {n_rows}")
    return n_rows, width


def _write_batch(
    handle: BinaryIO, block: npt.NDArray[Any], dtype: np.dtype[Any], width: int, start: int,
    written: int,
) -> int:  # fmt: skip
    if block.ndim != 2 or block.shape[1] != width:
        raise DataError(f"rows {start}+: embedding shape {block.shape} differs from width {width}")
    handle.write(np.ascontiguousarray(block, dtype=dtype).data)
    return written + int(block.shape[0])


def _read_npy_header(handle: Any, where: str) -> tuple[tuple[int, ...], bool, np.dtype[Any]]:
    try:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
        else:
            raise ValueError(f"unsupported .npy format version {version}")
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"{where}: not a readable .npy file ({exc})") from None
    return tuple(int(s) for s in shape), bool(fortran), np.dtype(dtype)


def _count_lines(path: str) -> int:
    count = 0
    last = b"\n"
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


def _count_records(path: str) -> int:
    """The lines of a ``.jsonl`` file up to its last non-blank one (blank: JSON whitespace).

    Raises :class:`DataError` naming the first blank line if a non-blank one follows it:
    captions are matched to images by position, so only a blank tail can be dropped.
    """
    lines = 0  # complete lines before `pending`
    first_blank = 0  # line numbers count from 1; 0 means none yet
    last_record = 0
    pending = bytearray()  # appended to in place: a very long line is not copied per read
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            # Scan whole lines only, so that a line split between reads is seen once, whole.
            pending += chunk
            cut = pending.rfind(b"\n") + 1
            if not cut and len(pending) > MAX_LINE_BYTES + 1:
                raise DataError(
                    f"{path}: line {lines + 1} is longer than {MAX_LINE_BYTES} bytes; "
                    f"a caption line may be at most that long"
                )
            complete = bytes(pending[:cut])
            del pending[:cut]
            if not first_blank:
                if _BLANK_FIRST.match(complete):
                    first_blank = lines + 1
                elif match := _BLANK_AFTER_BREAK.search(complete):
                    first_blank = lines + complete.count(b"\n", 0, match.start()) + 2
            end = len(complete.rstrip(_JSON_SPACE))
            if end:
                last_record = lines + complete.count(b"\n", 0, end) + 1
            lines += complete.count(b"\n")
    if pending.strip(_JSON_SPACE):
        last_record = lines + 1
    if 0 < first_blank < last_record:
        raise DataError(
            f"{path}: line {first_blank} is blank; expected one JSON object per line "
            f"(captions are matched to images by position, so only blank lines at the "
            f"end of the file are ignored)"
        )
    return last_record
