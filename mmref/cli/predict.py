"""``mmref predict``: classify image-caption files with a model from ``mmref train``.

For each batch of pairs, ``joint = joint_embedding(image, text, model)`` and
``index = multimodal_classification(joint, model.classes_, model)``; the output
has one row per pair: its id, ``model.classes_[index]`` and that class's score
(the classifier's ``predict`` column: a probability for softmax, a decision
value for ridge, a cosine similarity for centroid).

The id is the ``--id-column`` value, else the image's path as listed (the
table's value, or the file's path for ``--images``), else the row number from 0.
Without ``--image-size``, image files are resized to the size the model was
trained on. Memory: one batch, plus the ids, labels and scores of all rows.
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

import numpy as np
import numpy.typing as npt

from .._outputs import write_predictions
from .._stream import DataError, auto_batch_size
from ..imagefiles import ImageFiles
from ._common import UsageError, positive_int
from ._files import add_file_options, check_counts, check_output, joint_batches, open_inputs

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    """Add ``predict`` to the subcommands ``commands`` (an argparse subparsers action)."""
    predict = commands.add_parser(
        "predict",
        help="classify image-caption files with a model from 'mmref train'",
        description="Classify image-caption pairs with a model file written by\n"
        "'mmref train': one output row per pair with its id, predicted label and score,\n"
        "computed with joint_embedding and multimodal_classification, written to .csv or\n"
        ".parquet. Images are resized to the size the model was trained on unless\n"
        "--image-size says otherwise.",
        epilog="examples:\n"
        "  mmref predict --model model.mmref --table new.csv --image-column path \\\n"
        "      --text-column caption --id-column id --output predictions.csv\n"
        "  mmref predict --model model.mmref --images photos/ --texts captions.txt \\\n"
        "      --output predictions.parquet",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    predict.add_argument(
        "--model", required=True, metavar="MODEL", help="a model file written by 'mmref train'"
    )
    predict.add_argument(
        "--output", required=True, metavar="OUT", help="the predictions: .csv or .parquet"
    )
    predict.add_argument("--batch-size", type=positive_int, help="rows per batch (default: auto)")
    add_file_options(predict, sources=True)
    predict.set_defaults(run=run)


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """Carry out ``mmref predict`` with parsed ``args``; return the exit status."""
    from ..persistence import load
    from ..reference import multimodal_classification

    check_output(args.output, (".csv", ".parquet"), UsageError)
    model = load(args.model)
    methods = ("encode_image", "encode_text", "predict")
    if not all(callable(getattr(model, m, None)) for m in methods):
        raise DataError(
            f"the model in {args.model} is a {type(model).__name__}, which does not classify; "
            f"expected a model written by 'mmref train'"
        )
    classes = np.asarray(model.classes_)
    if args.image_size is None:
        _default_size(args, model)
    inputs = open_inputs(args, UsageError, need_both=True)
    n_rows = check_counts(inputs, args.table or f"{args.images} and {args.texts}")
    ids = inputs.ids
    if ids is None and args.table is not None:
        ids = inputs.columns[args.image_column]
    elif ids is None and isinstance(inputs.images, ImageFiles):
        ids = inputs.images.paths
    if ids is None:
        ids = [str(i) for i in range(n_rows)]
    shape = inputs.images.shape[1:] if inputs.images is not None else ()
    batch_size = args.batch_size or auto_batch_size(int(np.prod(shape)))
    labels: list[str] = []
    scores = np.empty(n_rows, dtype=np.float64)
    for start, stop, joint in joint_batches(model, inputs, batch_size):
        predicted = np.asarray(model.predict(joint), dtype=np.float64)
        index = multimodal_classification(joint, classes, _Scores(predicted))
        labels.extend(str(c) for c in classes[index])
        scores[start:stop] = predicted[np.arange(stop - start), index]
    write_predictions(args.output, ids, labels, scores)
    return 0


class _Scores:
    """A ClassificationModel whose ``predict`` returns scores already computed for a batch."""

    def __init__(self, scores: npt.NDArray[np.float64]) -> None:
        self.scores = scores

    def predict(self, joint: Any) -> npt.NDArray[np.float64]:
        return self.scores


def _default_size(args: argparse.Namespace, model: Any) -> None:
    """Take ``--image-size`` (and a colour mode) from the model's image encoder, if it says."""
    if args.images is not None and args.images.lower().endswith((".npy", ".npz")):
        return
    encoder = getattr(getattr(model, "encoder_", None), "image_encoder_", None)
    shape = getattr(encoder, "image_shape", None)
    if isinstance(shape, tuple) and len(shape) in (2, 3):
        args.image_size = (int(shape[0]), int(shape[1]))
        if len(shape) == 3 and shape[2] == 3:
            args.image_mode = "RGB"
