"""Inputs from files, shared by ``embed``, ``train`` and ``predict``: options and opening.

Images come from a ``.npy`` / ``.npz`` array, or from image files (a directory,
a glob or a ``.txt`` list, decoded by :mod:`mmref.imagefiles` with
``--image-size`` and ``--image-mode``). Captions come from a ``.txt`` or
``.jsonl`` file, or from a column of a ``.csv``, ``.tsv`` or ``.parquet``
table (``--text-column``). ``--table`` reads both from one table, image paths
relative to the table's folder. The kind of a file comes from its extension.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy.typing as npt

from .._stream import DataError, ImageSource, TextSource, embed_rows
from ..imagefiles import IMAGE_EXTENSIONS, ImageFiles, image_paths
from ..tables import TableTexts, read_columns, table_columns

__all__ = [
    "Inputs",
    "add_file_options",
    "check_counts",
    "check_output",
    "image_size",
    "joint_batches",
    "open_inputs",
]

_ARRAYS = (".npy", ".npz")
_TEXT_FILES = (".txt", ".jsonl")
_TABLES = (".csv", ".tsv", ".parquet")


@dataclass
class Inputs:
    """What ``open_inputs`` opened: sources readable in batches, and table columns."""

    images: ImageSource | ImageFiles | None
    texts: TextSource | TableTexts | None
    ids: list[str] | None = None
    columns: dict[str, list[str]] = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        """The number of rows (images, or captions when there are no images)."""
        source: Any = self.images if self.images is not None else self.texts
        return int(source.n_rows) if source is not None else 0


def image_size(text: str) -> tuple[int, int]:
    """An argparse type: ``HxW`` such as ``64x64``, or a one-line error."""
    parts = text.lower().split("x")
    try:
        height, width = (int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HxW such as 64x64, got {text!r}") from None
    if not (0 < height <= 65536 and 0 < width <= 65536):
        raise argparse.ArgumentTypeError(f"expected HxW with sides in [1, 65536], got {text!r}")
    return height, width


def add_file_options(parser: Any, *, sources: bool) -> None:
    """Add the file options; with ``sources``, ``--images`` and ``--texts`` too."""
    group = parser.add_argument_group("image files and tables")
    if sources:
        group.add_argument(
            "--images",
            metavar="IMAGES",
            help="a directory, glob or .txt list of image files (or a .npy array)",
        )
        group.add_argument(
            "--texts",
            metavar="CAPTIONS",
            help=".txt (one caption a line), .jsonl, or a .csv/.tsv/.parquet with --text-column",
        )
    group.add_argument(
        "--image-size",
        type=image_size,
        metavar="HxW",
        help="resize every image file to H rows by W columns (required for image files)",
    )
    group.add_argument(
        "--image-mode",
        choices=("L", "RGB"),
        default="L",
        help="decode image files as 8-bit grey (L, the default) or colour (RGB)",
    )
    group.add_argument(
        "--table",
        metavar="TABLE",
        help="a .csv, .tsv, .jsonl or .parquet table of pairs (with --image-column and "
        "--text-column)",
    )
    group.add_argument(
        "--image-column",
        metavar="NAME",
        help="the --table column of image paths, relative to the table's folder",
    )
    group.add_argument(
        "--text-column", metavar="NAME", help="the column of captions in --table or --texts"
    )
    group.add_argument(
        "--id-column",
        metavar="NAME",
        help="a column of row ids in --table or --texts, carried to the output",
    )


def check_output(path: str, allowed: Sequence[str], usage_error: type[Exception]) -> None:
    """Refuse an output whose extension is not in ``allowed``."""
    kind = os.path.splitext(path)[1].lower()
    if kind not in allowed:
        raise usage_error(f"--output must name a {', '.join(allowed)} file, got {path!r}")


def open_inputs(
    args: argparse.Namespace,
    usage_error: type[Exception],
    *,
    extra: Sequence[str] = (),
    need_both: bool = False,
) -> Inputs:
    """Open the images and captions the options name; read the table columns needed.

    ``extra`` names further columns (e.g. labels) read from ``--table`` or the
    ``--texts`` table. Raises ``usage_error`` for bad combinations of options,
    :class:`DataError` (or another ValueError) for bad content.
    """
    table = getattr(args, "table", None)
    images_arg, texts_arg = args.images, args.texts
    if table is not None and (images_arg is not None or texts_arg is not None):
        raise usage_error("--table replaces --images and --texts; give one or the other")
    if table is None and args.image_column is not None:
        raise usage_error("--image-column goes with --table")
    if need_both and table is None and (images_arg is None or texts_arg is None):
        raise usage_error("give --table, or both --images and --texts")
    if table is not None:
        return _open_table(args, table, usage_error, extra, need_both)
    texts: TextSource | TableTexts | None = None
    columns: dict[str, list[str]] = {}
    ids = None
    wanted = [c for c in (args.id_column, *extra) if c is not None]
    if texts_arg is not None:
        kind = os.path.splitext(texts_arg)[1].lower()
        if kind in _TABLES:
            column = args.text_column
            if column is None:
                names = ", ".join(table_columns(texts_arg))
                raise usage_error(
                    f"{texts_arg} is a table; name its caption column with --text-column "
                    f"(columns: {names})"
                )
            columns = read_columns(texts_arg, [column, *wanted])
            texts = TableTexts(columns[column])
        elif kind in _TEXT_FILES:
            if wanted:
                raise usage_error(
                    f"--id-column and label columns need a table (--table, or --texts "
                    f".csv/.tsv/.parquet), not {texts_arg}"
                )
            field_name = getattr(args, "text_field", None) or args.text_column
            if kind == ".txt" and args.text_column is not None:
                raise usage_error("--text-column goes with a table or a .jsonl file")
            texts = TextSource(texts_arg, field_name)
        else:
            raise usage_error(
                f"--texts {texts_arg!r} is {_found(kind)}, which mmref does not read (the kind "
                f"comes from the extension); supported: .txt (one caption a line), .jsonl "
                f"(--text-field), .csv, .tsv, .parquet (with --text-column)"
            )
        ids = columns.get(args.id_column) if args.id_column is not None else None
    elif wanted or args.text_column is not None:
        raise usage_error("--text-column, --id-column and label columns need --table or --texts")
    images = _open_images(args, images_arg, usage_error) if images_arg is not None else None
    return Inputs(images, texts, ids, columns)


def _open_images(
    args: argparse.Namespace, source: str, usage_error: type[Exception]
) -> ImageSource | ImageFiles:
    key = getattr(args, "key", None)
    kind = os.path.splitext(source)[1].lower()
    if os.path.isfile(source) and kind not in (*_ARRAYS, ".txt", *IMAGE_EXTENSIONS):
        raise usage_error(
            f"--images {source!r} is {_found(kind)}, which mmref does not read (the kind comes "
            f"from the extension); supported: .npy, .npz (with --key), a directory, a glob, a "
            f".txt list of paths, or an image file ({', '.join(IMAGE_EXTENSIONS)})"
        )
    if source.lower().endswith(_ARRAYS) or key is not None:
        if args.image_size is not None:
            raise usage_error("--image-size goes with image files, not .npy/.npz arrays")
        return ImageSource(source, key)
    if args.image_size is None:
        raise usage_error("image files need --image-size HxW (every image is resized to it)")
    return _image_files(image_paths(source), args, usage_error)


def _image_files(
    paths: list[str], args: argparse.Namespace, usage_error: type[Exception]
) -> ImageFiles:
    for path in paths:
        if not os.path.isfile(path):
            raise FileNotFoundError(2, "No such image file", path)
    try:
        return ImageFiles(paths, size=args.image_size, mode=args.image_mode)
    except ImportError as exc:
        raise usage_error(str(exc)) from None


def _open_table(
    args: argparse.Namespace,
    table: str,
    usage_error: type[Exception],
    extra: Sequence[str],
    need_both: bool,
) -> Inputs:
    if args.image_column is None and args.text_column is None:
        names = ", ".join(table_columns(table))
        raise usage_error(
            f"--table needs --image-column and/or --text-column (columns of {table}: {names})"
        )
    if need_both and (args.image_column is None or args.text_column is None):
        names = ", ".join(table_columns(table))
        raise usage_error(
            f"--table needs both --image-column and --text-column (columns of {table}: {names})"
        )
    if args.image_column is not None and args.image_size is None:
        raise usage_error("image files need --image-size HxW (every image is resized to it)")
    wanted = [args.image_column, args.text_column, args.id_column, *extra]
    columns = read_columns(table, [n for n in wanted if n is not None])
    images = None
    if args.image_column is not None:
        folder = os.path.dirname(table)
        paths = []
        for row, path in enumerate(columns[args.image_column], start=1):
            if not path.strip():
                raise DataError(f"{table}: row {row}: column {args.image_column!r} is empty")
            paths.append(os.path.join(folder, path))
        images = _image_files(paths, args, usage_error)
    texts = TableTexts(columns[args.text_column]) if args.text_column is not None else None
    ids = columns[args.id_column] if args.id_column is not None else None
    return Inputs(images, texts, ids, columns)


def joint_batches(
    model: Any, inputs: Inputs, batch_size: int
) -> Iterator[tuple[int, int, npt.NDArray[Any]]]:
    """Yield ``(start, stop, embedding)`` for the inputs' rows, ``batch_size`` at a time.

    The embedding is ``joint_embedding`` when there are images and captions
    (through :func:`mmref._stream.embed_rows`, as ``mmref embed`` computes it).
    """
    images, texts = inputs.images, inputs.texts
    text_batches = texts.batches(batch_size) if texts is not None else None
    for start in range(0, inputs.n_rows, batch_size):
        stop = min(inputs.n_rows, start + batch_size)
        image = images.read(start, stop) if images is not None else None
        text = next(text_batches) if text_batches is not None else None
        yield start, stop, embed_rows(model, image, text, start, stop)


def check_counts(inputs: Inputs, what: str) -> int:
    """The number of rows; a DataError if images and captions differ in number or none."""
    images, texts = inputs.images, inputs.texts
    if images is not None and texts is not None and images.n_rows != texts.n_rows:
        raise DataError(
            f"{what} hold {images.n_rows} images but {texts.n_rows} captions; expected one "
            f"caption per image"
        )
    if inputs.n_rows == 0:
        raise DataError("the inputs hold no rows")
    return inputs.n_rows


def _found(kind: str) -> str:
    return f"a {kind} file" if kind else "a file without an extension"
