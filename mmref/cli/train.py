"""``mmref train``: fit the encoders and a classifier on labelled files, save one model file.

The images and captions are read as ``mmref embed`` reads them (``--table``, or
``--images`` and ``--texts``), the labels from ``--label-column`` of the same
table. With ``--test-size`` a deterministic share of the rows
(:func:`mmref.datasets.split_indices`) is held out: the model is fitted on the
rest and its accuracy on the held-out rows is printed. The saved model is a
:class:`mmref.MultimodalPipeline` (encoder and classifier), which ``mmref
predict`` and ``mmref embed --model`` read.

Memory: the joint embeddings of all rows (``n * 1280`` float64 with the default
encoders) and the captions and labels; images are decoded in batches.
"""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

import numpy as np

from .._stream import DataError, auto_batch_size
from ._common import UsageError, positive_int
from ._files import add_file_options, check_counts, joint_batches, open_inputs

__all__ = ["add_parser", "run"]

CLASSIFIERS = ("softmax", "ridge", "centroid")


def add_parser(commands: Any) -> None:
    """Add ``train`` to the subcommands ``commands`` (an argparse subparsers action)."""
    train = commands.add_parser(
        "train",
        help="fit encoders and a classifier on labelled image-caption files",
        description="Fit the image and text encoders and a classifier on labelled\n"
        "image-caption pairs (a table, or --images and --texts with a label column), and\n"
        "save them in one model file (a mmref.MultimodalPipeline) for 'mmref predict' and\n"
        "'mmref embed --model'. With --test-size, a deterministic share of the rows is held\n"
        "out and the accuracy on it printed (--json for machines).",
        epilog="examples:\n"
        "  mmref train --table pairs.csv --image-column path --text-column caption \\\n"
        "      --label-column label --image-size 64x64 --test-size 0.2 --save model.mmref\n"
        "  mmref train --images photos/ --texts captions.csv --text-column caption \\\n"
        "      --label-column label --image-size 64x64 --classifier ridge --save model.mmref",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    train.add_argument(
        "--label-column",
        required=True,
        metavar="NAME",
        help="the column of labels in --table or in the --texts table",
    )
    train.add_argument(
        "--save", required=True, metavar="MODEL", help="where to write the model file"
    )
    train.add_argument(
        "--classifier",
        choices=CLASSIFIERS,
        default="softmax",
        help="the classifier fitted on the joint embeddings (default: softmax)",
    )
    train.add_argument(
        "--test-size",
        type=_fraction,
        metavar="FRACTION",
        help="hold out this share of the rows, in (0, 1), and print the accuracy on them",
    )
    train.add_argument("--seed", type=int, default=0, help="seed of the held-out split")
    train.add_argument("--json", action="store_true", help="print the result as JSON")
    train.add_argument("--batch-size", type=positive_int, help="rows per batch (default: auto)")
    add_file_options(train, sources=True)
    train.set_defaults(run=run)


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """Carry out ``mmref train`` with parsed ``args``; return the exit status."""
    from ..datasets import split_indices
    from ..persistence import save
    from ..pipeline import MultimodalPipeline
    from ..reference import multimodal_classification

    inputs = open_inputs(args, UsageError, extra=[args.label_column], need_both=True)
    n_rows = check_counts(inputs, args.table or f"{args.images} and {args.texts}")
    labels = np.asarray(inputs.columns[args.label_column])
    if n_rows < 2 or len(np.unique(labels)) < 2:
        raise DataError(
            f"training needs at least two rows and two distinct labels in column "
            f"{args.label_column!r}; got {n_rows} rows, {len(np.unique(labels))} labels"
        )
    if args.test_size is not None:
        train, test = split_indices(n_rows, args.test_size, seed=args.seed)
    else:
        train, test = np.arange(n_rows), np.arange(0)
    assert inputs.images is not None and inputs.texts is not None  # need_both
    image_shape = tuple(inputs.images.shape[1:])
    texts = [t for batch in inputs.texts.batches(4096) for t in batch]
    # The image encoder learns only the image shape: one image fits it exactly as all would.
    encoder = _encoder(image_shape).fit(inputs.images.read(0, 1), [texts[i] for i in train])
    batch_size = args.batch_size or auto_batch_size(int(np.prod(image_shape)))
    joint = np.concatenate([block for _, _, block in joint_batches(encoder, inputs, batch_size)])
    classifier = _classifier(args.classifier).fit(joint[train], labels[train])
    model = MultimodalPipeline(_encoder(image_shape), _classifier(args.classifier))
    model.encoder_, model.classifier_ = encoder, classifier
    result: dict[str, Any] = {
        "classifier": args.classifier,
        "classes": [str(c) for c in model.classes_],
        "n_train": len(train),
        "n_test": len(test),
        "accuracy": None,
        "model": args.save,
    }
    if len(test):
        index = multimodal_classification(joint[test], model.classes_, model)
        result["accuracy"] = float(np.mean(model.classes_[index] == labels[test]))
    save(model, args.save)
    if args.json:
        print(json.dumps(result, sort_keys=True), file=stdout)
        return 0
    print(
        f"trained {args.classifier} on {len(train)} pairs, {len(result['classes'])} classes; "
        f"saved {args.save}",
        file=stdout,
    )
    if result["accuracy"] is not None:
        print(f"held-out accuracy {result['accuracy']:.4f} on {len(test)} pairs", file=stdout)
    return 0


def _encoder(image_shape: tuple[int, ...]) -> Any:
    from ..image import RandomProjectionImageEncoder
    from ..multimodal import MultimodalEncoder
    from ..text import BagOfWordsTextEncoder

    # image_shape lets the model take (n, H, W, 3) colour batches and say what size it expects.
    image = RandomProjectionImageEncoder(image_shape=image_shape)
    return MultimodalEncoder(image, BagOfWordsTextEncoder())


def _classifier(name: str) -> Any:
    from ..classifiers import NearestCentroidClassifier, RidgeClassifier, SoftmaxClassifier

    classes = {
        "softmax": SoftmaxClassifier,
        "ridge": RidgeClassifier,
        "centroid": NearestCentroidClassifier,
    }
    return classes[name]()


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}")
    return value
