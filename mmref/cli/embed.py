"""``mmref embed``: build the model from the options, stream the inputs, write the output."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any, TextIO, cast

import numpy as np
import numpy.typing as npt

from .._outputs import OUTPUT_EXTENSIONS, write_output
from .._stream import (
    DataError,
    ImageSource,
    TextSource,
    auto_batch_size,
    embed_rows,
)
from ..imagefiles import ImageFiles
from ..tables import TableTexts
from ._common import UsageError, positive_int
from ._files import add_file_options, check_output, open_inputs

__all__ = ["add_parser", "run", "run_embed"]


def add_parser(commands: Any) -> None:
    """Add ``embed`` to the subcommands ``commands`` (an argparse subparsers action)."""
    embed = commands.add_parser(
        "embed",
        help="embed image and caption files into a .npy, .npz or .parquet file",
        description="""\
Embed images, captions or image-caption pairs from files into one .npy, .npz or
.parquet file, in constant memory. With both --images and --texts (or --table),
row i of the output is joint_embedding of pair i (image columns first, then
text); with one of them, that modality's embedding alone. Images are a .npy or
.npz array, or image files (a directory, a glob or a .txt list of paths, with
--image-size); captions are .txt, .jsonl, or a column of a .csv, .tsv or
.parquet table. The model is MultimodalEncoder() with the library defaults, a
model file written by mmref.save (--model), or the defaults changed by the
encoder options. The output is written to a temporary file beside OUT and moved
into place only when complete: a failed or interrupted run leaves no file at
OUT and keeps an earlier one intact; an OUT that is one of the inputs is
refused. Exit status: 0 done, 1 bad data, 2 usage error or missing file, 130
interrupted.""",
        epilog="""\
examples:
  mmref embed --images images.npy --texts captions.txt --output joint.npy
  mmref embed --images data.npz --key pixels --output image_only.npy --dtype float32
  mmref embed --texts captions.jsonl --text-field caption --output text_only.npy
  mmref embed --images photos/ --image-size 64x64 --output photos.npy
  mmref embed --table pairs.csv --image-column path --text-column caption --output x.parquet
  mmref embed --images images.npy --texts captions.txt --model demo.mmref --output joint.npy
  mmref embed --images images.npy --image-method srht --image-components 512 --output x.npy""",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    embed.add_argument(
        "--images",
        metavar="IMAGES",
        help="images: a .npy file of shape (N, H, W) or (N, H, W, C), read in batches, an "
        ".npz file with --key, or image files: a directory, glob or .txt list of paths (with "
        "--image-size)",
    )
    embed.add_argument("--key", help="the name of the image array inside an .npz file")
    embed.add_argument(
        "--texts",
        metavar="CAPTIONS",
        help="captions: UTF-8 .txt (one per line), .jsonl (with --text-field), or a "
        ".csv/.tsv/.parquet table (with --text-column)",
    )
    embed.add_argument(
        "--text-field",
        metavar="FIELD",
        help="the caption field of each record of a .jsonl file (default: text)",
    )
    embed.add_argument(
        "--output",
        required=True,
        metavar="OUT",
        help="where to write the embeddings, one row per input row (required): .npy, .npz "
        "or .parquet",
    )
    embed.add_argument(
        "--model",
        metavar="MODEL",
        help="a model file written by mmref.save, mmref train or mmref demo --save-model "
        "(cannot be combined with the encoder options)",
    )
    embed.add_argument(
        "--dtype",
        choices=("float32", "float64"),
        help="dtype of the output (default: float64)",
    )
    embed.add_argument(
        "--batch-size",
        type=positive_int,
        metavar="ROWS",
        help="rows embedded at a time (default: about 32 MiB of float64 per batch)",
    )
    embed.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bar (there is none either when stderr is not a terminal)",
    )
    embed.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on a Dask cluster (tcp://host:8786; needs mmref[dask]); every worker must "
        "see the input files at the same paths",
    )
    embed.add_argument(
        "--trust-token-pattern",
        action="store_true",
        help="accept a token_pattern in --model outside the few known to run in linear time "
        "(only for a model file you trust)",
    )
    encoder = embed.add_argument_group("encoder options (default: the library defaults)")
    encoder.add_argument(
        "--image-method",
        choices=("sparse", "gaussian", "srht"),
        help="RandomProjectionImageEncoder method (default: sparse)",
    )
    encoder.add_argument(
        "--image-components",
        type=positive_int,
        metavar="K",
        help="width of the image embedding (default: 256)",
    )
    encoder.add_argument(
        "--text-features",
        type=positive_int,
        metavar="D",
        help="width of the text embedding: BagOfWordsTextEncoder n_features (default: 1024)",
    )
    encoder.add_argument(
        "--seed",
        type=int,
        help="seed of both encoders (default: 0)",
    )
    add_file_options(embed, sources=False)
    embed.set_defaults(run=run)


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """Carry out ``mmref embed`` with parsed ``args``; return the exit status."""
    return run_embed(args, stderr, UsageError)


def run_embed(args: argparse.Namespace, stderr: TextIO, usage_error: type[Exception]) -> int:
    """Carry out ``mmref embed`` with parsed ``args``; raise on any error (the CLI reports it)."""
    # From the start: a SIGTERM or SIGHUP while the model loads or the inputs are counted
    # ends the run as Ctrl-C does (one line, status 130), not silently.
    with _sigterm_interrupts():
        return _embed(args, stderr, usage_error)


def _embed(args: argparse.Namespace, stderr: TextIO, usage_error: type[Exception]) -> int:
    if args.images is None and args.texts is None and args.table is None:
        raise usage_error("give --images, --texts or both, or --table")
    if args.key is not None and args.images is None:
        raise usage_error("--key goes with --images")
    check_output(args.output, (".npy",) if args.scheduler else OUTPUT_EXTENSIONS, usage_error)
    if args.id_column is not None and args.output.lower().endswith(".npy"):
        raise usage_error("--id-column needs --output .npz or .parquet (a .npy holds no ids)")
    if args.trust_token_pattern and args.model is None:
        raise usage_error("--trust-token-pattern goes with --model")
    _check_array_options(args, usage_error)
    _check_output_is_not_an_input(args, usage_error)
    model = _build_model(args, usage_error)
    inputs = open_inputs(args, usage_error)
    images, texts = inputs.images, inputs.texts
    arrays = isinstance(images, ImageSource | None) and isinstance(texts, TextSource | None)
    if args.scheduler is not None and not arrays:
        raise usage_error("--scheduler reads .npy/.npz images and .txt/.jsonl captions only")
    if images is not None and texts is not None and images.n_rows != texts.n_rows:
        raise DataError(
            f"{args.images or args.table} holds {images.n_rows} images but "
            f"{args.texts or args.table} holds "
            f"{texts.n_rows} captions; expected one caption per image"
        )
    n_rows = images.n_rows if images is not None else texts.n_rows  # type: ignore[union-attr]
    if n_rows == 0:
        raise DataError("the inputs hold no rows; nothing to embed")
    row_values = math.prod(images.shape[1:]) if images is not None else 1024
    batch_size = args.batch_size or auto_batch_size(row_values)
    dtype = np.dtype(args.dtype) if args.dtype is not None else None
    if args.scheduler is not None:
        try:
            from ..dask import embed_files
        except ImportError as exc:
            raise usage_error(
                f"--scheduler needs dask and distributed (pip install 'mmref[dask]'): {exc}"
            ) from None
    with _progress(n_rows, quiet=args.quiet, stream=stderr) as progress:
        if args.scheduler is not None:
            embed_files(
                cast(ImageSource | None, images), cast(TextSource | None, texts), model,
                args.output, n_rows, batch_size, dtype, args.scheduler,
                progress,
            )  # fmt: skip
        else:
            batches = _batches(model, images, texts, n_rows, batch_size)
            write_output(args.output, n_rows, batches, dtype, progress, ids=inputs.ids, model=model)
    return 0


def _check_array_options(args: argparse.Namespace, usage_error: type[Exception]) -> None:
    """Options that go with one input kind only (the kinds themselves: cli/_files.py)."""
    images = args.images
    if images is not None and images.lower().endswith(".npz") and args.key is None:
        raise usage_error(f"--images {images!r} is an .npz archive: name its array with --key")
    if images is not None and images.lower().endswith(".npy") and args.key is not None:
        raise usage_error(f"--key goes with an .npz archive; --images {images!r} is a .npy")
    if args.text_field is not None and (args.texts is None or not args.texts.endswith(".jsonl")):
        raise usage_error("--text-field goes with a .jsonl file given to --texts")


def _check_output_is_not_an_input(args: argparse.Namespace, usage_error: type[Exception]) -> None:
    """Refuse an --output that is an input file, by any path or link, before reading anything."""
    if not os.path.exists(args.output):
        return
    named = (
        ("--images", args.images),
        ("--texts", args.texts),
        ("--table", args.table),
        ("--model", args.model),
    )
    for flag, path in named:
        if path is None or not os.path.exists(path):
            continue
        if os.path.samefile(path, args.output):
            raise usage_error(
                f"--output {args.output!r} is the same file as {flag} {path!r}; writing it "
                f"would destroy the input: choose another output"
            )


def _build_model(args: argparse.Namespace, usage_error: type[Exception]) -> Any:
    options = {
        "--image-method": args.image_method,
        "--image-components": args.image_components,
        "--text-features": args.text_features,
        "--seed": args.seed,
    }
    given = [name for name, value in options.items() if value is not None]
    if args.model is not None:
        if given:
            raise usage_error(f"{', '.join(given)} cannot be combined with --model")
        from ..persistence import load

        model = load(args.model, trust_token_pattern=args.trust_token_pattern)
        for method, flag in (("encode_image", args.images), ("encode_text", args.texts)):
            if flag is not None and not callable(getattr(model, method, None)):
                raise DataError(f"the model in {args.model} has no {method} method")
        return model
    from ..multimodal import MultimodalEncoder

    if not given and args.dtype is None:
        return MultimodalEncoder()
    from ..image import RandomProjectionImageEncoder
    from ..text import BagOfWordsTextEncoder

    image_kw: dict[str, Any] = {}
    text_kw: dict[str, Any] = {}
    if args.image_method is not None:
        image_kw["method"] = args.image_method
    if args.image_components is not None:
        image_kw["n_components"] = args.image_components
    if args.text_features is not None:
        text_kw["n_features"] = args.text_features
    if args.seed is not None:
        image_kw["seed"] = text_kw["seed"] = args.seed
    if args.dtype is not None:
        image_kw["dtype"] = text_kw["dtype"] = np.dtype(args.dtype).type
    return MultimodalEncoder(
        RandomProjectionImageEncoder(**image_kw), BagOfWordsTextEncoder(**text_kw)
    )


def _batches(
    model: Any,
    images: ImageSource | ImageFiles | None,
    texts: TextSource | TableTexts | None,
    n_rows: int,
    batch_size: int,
) -> Iterator[tuple[int, int, npt.NDArray[Any]]]:
    text_batches = texts.batches(batch_size) if texts is not None else None
    for start in range(0, n_rows, batch_size):
        stop = min(n_rows, start + batch_size)
        image = images.read(start, stop) if images is not None else None
        text = next(text_batches) if text_batches is not None else None
        block = embed_rows(model, image, text, start, stop)
        yield start, stop, block


@contextlib.contextmanager
def _progress(total: int, *, quiet: bool, stream: TextIO) -> Iterator[Callable[[int], None] | None]:
    interactive = hasattr(stream, "isatty") and stream.isatty()
    if quiet or not interactive:
        yield None
        return
    try:
        from tqdm import tqdm
    except ImportError:  # the progress bar is an optional extra (mmref[cli])
        yield None
        return
    with tqdm(total=total, unit="rows", file=stream, dynamic_ncols=True) as bar:
        yield bar.update


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into KeyboardInterrupt, so the run cleans up its temporary file.

    SIGINT raises KeyboardInterrupt already; a closed terminal (SIGHUP) or ``kill``
    (SIGTERM) would otherwise end the process at once and leave a ``*.mmref-tmp`` file.
    """

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    names = ("SIGTERM", "SIGHUP")  # SIGHUP does not exist on Windows
    signals = [getattr(signal, name) for name in names if hasattr(signal, name)]
    previous: list[tuple[int, Any]] = []
    try:
        for signum in signals:
            previous.append((signum, signal.signal(signum, handler)))
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        for signum, old in previous:
            signal.signal(signum, old)
