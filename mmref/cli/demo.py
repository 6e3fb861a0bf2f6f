"""``mmref demo``: the whole pipeline on the synthetic shapes data, timed.

Steps: generate :func:`~mmref.datasets.make_shapes`, split it with
:func:`~mmref.datasets.split_indices`, embed with a default
:class:`~mmref.MultimodalEncoder` through :func:`~mmref.joint_embedding`,
then for each classifier fit on the training rows and classify the test rows
with :func:`~mmref.multimodal_classification`, using the joint embedding and
each modality's columns alone.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np
import numpy.typing as npt

from ..reference import joint_embedding, multimodal_classification
from ._common import positive_int

__all__ = ["CLASSIFIERS", "DemoResult", "add_parser", "format_result", "run", "run_demo"]

CLASSIFIERS = ("centroid", "ridge", "softmax")
# The shapes captions share about eight directions with the images (position, size,
# shape); more CCA components only fit noise and lower the recall.
RETRIEVAL_DIM = 8


def add_parser(commands: Any) -> None:
    """Add ``demo`` to the subcommands ``commands`` (an argparse subparsers action)."""
    demo = commands.add_parser(
        "demo",
        help="run the whole pipeline on synthetic data",
        description="""\
Run mmref's whole pipeline on synthetic data and print what it measured. It
generates image-caption pairs (grey shapes; captions in English and Chinese),
splits them 75/25, embeds them with MultimodalEncoder() through
joint_embedding, fits each classifier and classifies the test pairs with
multimodal_classification (on the joint embedding and on each modality alone),
then aligns the two modalities with CCA and reports paired retrieval. The
accuracies and recalls are identical on every run and machine; the timings
are not.""",
        epilog="""\
examples:
  mmref demo                               # the default run: 2000 pairs, seed 0
  mmref demo --samples 200 --classifier ridge
  mmref demo --json > demo.json            # the measurements as JSON
  mmref demo --save-model demo.mmref       # then: mmref embed --model demo.mmref ...""",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument(
        "--samples",
        type=positive_int,
        default=2000,
        metavar="N",
        help="number of image-caption pairs to generate (default: 2000)",
    )
    demo.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the data set and of the train/test split (default: 0)",
    )
    demo.add_argument(
        "--classifier",
        choices=("all", *CLASSIFIERS),
        default="all",
        help="which classifier to fit and evaluate (default: all)",
    )
    demo.add_argument(
        "--json",
        action="store_true",
        help="write the measurements to stdout as JSON instead of the tables",
    )
    demo.add_argument(
        "--save-model",
        metavar="PATH",
        help="save the fitted encoder and classifier (the last one run: softmax with 'all') "
        "to PATH, a model file for mmref embed --model and mmref predict --model",
    )
    demo.set_defaults(run=run)


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """Carry out ``mmref demo`` with parsed ``args``; return the exit status."""
    chosen = CLASSIFIERS if args.classifier == "all" else (args.classifier,)
    result = run_demo(args.samples, args.seed, chosen, save_model=args.save_model)
    if args.json:
        json.dump(result.as_dict(), stdout, indent=2)
        stdout.write("\n")
    else:
        print(format_result(result), file=stdout)
    return 0


@dataclass
class DemoResult:
    """What the demo measured; ``accuracy`` is deterministic, ``seconds`` are not."""

    samples: int
    n_train: int
    n_test: int
    n_classes: int
    seed: int
    widths: dict[str, int]
    accuracy: dict[str, dict[str, float]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    items: dict[str, int] = field(default_factory=dict)
    retrieval: dict[str, Any] = field(default_factory=dict)
    total_seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: accuracies, throughput in items/s, timings in seconds."""
        throughput = {
            stage: (self.items[stage] / s if s > 0 else None) for stage, s in self.seconds.items()
        }
        return {
            "samples": self.samples,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "n_classes": self.n_classes,
            "seed": self.seed,
            "widths": self.widths,
            "accuracy": self.accuracy,
            "retrieval": self.retrieval,
            "throughput_items_per_s": throughput,
            "seconds": self.seconds,
            "total_seconds": self.total_seconds,
        }


class _TimedModel:
    """Delegates to an encoder and records how long each protocol call took."""

    def __init__(self, model: Any, result: DemoResult) -> None:
        self.model = model
        self.result = result

    def encode_image(self, image: Any) -> Any:
        return self._timed("encode images", len(image), self.model.encode_image, image)

    def encode_text(self, text: Any) -> Any:
        return self._timed("encode texts", len(text), self.model.encode_text, text)

    def _timed(self, stage: str, n: int, fn: Any, arg: Any) -> Any:
        start = time.perf_counter()
        out = fn(arg)
        self.result.seconds[stage] = time.perf_counter() - start
        self.result.items[stage] = n
        return out


def run_demo(
    samples: int = 2000,
    seed: int = 0,
    classifiers: tuple[str, ...] = CLASSIFIERS,
    save_model: str | None = None,
) -> DemoResult:
    """Run the demo pipeline and return its measurements.

    Parameters
    ----------
    samples : int, default=2000
        Number of image-caption pairs to generate.
    seed : int, default=0
        Seed of the data set and of the split.
    classifiers : tuple of str, default=("centroid", "ridge", "softmax")
        Which classifiers to evaluate.
    save_model : str or None, default=None
        Where to save the fitted encoder and the last of ``classifiers``, fitted on the
        joint embedding, as one :class:`~mmref.MultimodalPipeline` (see :func:`mmref.save`):
        a model file for ``mmref embed --model`` and ``mmref predict --model``.

    Returns
    -------
    result : DemoResult
    """
    from ..datasets import make_shapes, split_indices
    from ..multimodal import MultimodalEncoder

    t0 = time.perf_counter()
    data = make_shapes(samples, seed=seed)
    t_data = time.perf_counter() - t0
    train, test = split_indices(samples, 0.25, seed=seed)
    encoder = MultimodalEncoder()
    texts = np.asarray(data.texts, dtype=object)
    encoder.fit(data.images[train], list(texts[train]))

    d_image = int(encoder.encode_image(data.images[:1]).shape[1])
    result = DemoResult(
        samples=samples,
        n_train=len(train),
        n_test=len(test),
        n_classes=len(data.label_names),
        seed=seed,
        widths={},
    )
    result.seconds["generate data"], result.items["generate data"] = t_data, samples
    start = time.perf_counter()
    joint = joint_embedding(data.images, list(data.texts), _TimedModel(encoder, result))
    result.seconds["joint_embedding"] = time.perf_counter() - start
    result.items["joint_embedding"] = samples
    result.widths = {"image": d_image, "text": joint.shape[1] - d_image, "joint": joint.shape[1]}
    views = {"image": joint[:, :d_image], "text": joint[:, d_image:], "joint": joint}
    names = np.asarray(data.label_names)
    joint_models: dict[str, Any] = {}
    for name in classifiers:
        result.accuracy[name] = {}
        for view, X in views.items():
            model = _make_classifier(name)
            start = time.perf_counter()
            model.fit(X[train], data.labels[train])
            fitted = time.perf_counter()
            indices = multimodal_classification(X[test], names, model)
            done = time.perf_counter()
            predicted = model.classes_[indices]
            result.accuracy[name][view] = _accuracy(predicted, data.labels[test])
            if view == "joint":
                result.seconds[f"fit {name}"], result.items[f"fit {name}"] = (
                    fitted - start,
                    len(train),
                )
                result.seconds[f"classify {name}"] = done - fitted
                result.items[f"classify {name}"] = len(test)
                joint_models[name] = model
    if save_model is not None:
        _save_pipeline(encoder, classifiers[-1], joint_models[classifiers[-1]], save_model)
    start = time.perf_counter()
    result.retrieval = _retrieval(views["image"], views["text"], train, test)
    result.seconds["CCA align + search"] = time.perf_counter() - start
    result.items["CCA align + search"] = samples
    result.total_seconds = time.perf_counter() - t0
    return result


def _save_pipeline(encoder: Any, name: str, classifier: Any, path: str) -> None:
    """Save the encoder and the joint-view ``classifier`` as one MultimodalPipeline file.

    The file serves ``mmref embed --model`` and ``mmref predict --model`` alike, as one
    from ``mmref train`` does.
    """
    from ..multimodal import MultimodalEncoder
    from ..persistence import save
    from ..pipeline import MultimodalPipeline

    pipeline = MultimodalPipeline(MultimodalEncoder(), _make_classifier(name))
    pipeline.encoder_, pipeline.classifier_ = encoder, classifier
    save(pipeline, path)


def _retrieval(
    image: npt.NDArray[Any], text: npt.NDArray[Any], train: Any, test: Any
) -> dict[str, Any]:
    """Paired cross-modal recall@1/@5 on the test pairs, CCA-aligned vs shuffled vs chance."""
    from ..retrieval import retrieval_report

    report = retrieval_report(
        image[train], text[train], image[test], text[test], ks=(1, 5), n_components=RETRIEVAL_DIM
    )
    return {key: report[key] for key in ("n_components", "chance", "aligned", "shuffled")}


def format_result(result: DemoResult) -> str:
    """The demo's table, as printed by ``mmref demo``."""
    lines = [
        f"mmref demo: {result.samples} image-caption pairs ({result.n_train} train, "
        f"{result.n_test} test), {result.n_classes} classes, seed {result.seed}",
        f"embedding widths: image {result.widths['image']}, text {result.widths['text']}, "
        f"joint {result.widths['joint']}",
        "",
        f"{'test accuracy':<20}{'image':>8}{'text':>8}{'joint':>8}",
    ]
    for name, scores in result.accuracy.items():
        row = "".join(f"{100 * scores[v]:>7.1f}%" for v in ("image", "text", "joint"))
        lines.append(f"{name:<20}{row}")
    if result.retrieval:
        r = result.retrieval
        lines += [
            "",
            f"paired retrieval on the test pairs (CCA, {r['n_components']} components)",
            f"{'recall':<20}{'@1':>8}{'@5':>8}",
        ]
        for direction in ("image_to_text", "text_to_image"):
            for name in ("aligned", "shuffled"):
                at = r[name][direction]
                label = f"{direction.replace('_to_', '->').replace('image', 'img')} {name}"
                lines.append(f"{label:<20}{at['recall@1']:>8.3f}{at['recall@5']:>8.3f}")
        lines.append(
            f"{'chance':<20}{r['chance']['recall@1']:>8.3f}{r['chance']['recall@5']:>8.3f}"
        )
    lines += ["", f"{'stage':<24}{'items/s':>12}{'seconds':>10}"]
    for stage, seconds in result.seconds.items():
        rate = result.items[stage] / seconds if seconds > 0 else float("inf")
        lines.append(f"{stage:<24}{rate:>12,.0f}{seconds:>10.3f}")
    lines.append(f"{'total':<24}{'':>12}{result.total_seconds:>10.3f}")
    return "\n".join(lines)


def _make_classifier(name: str) -> Any:
    from .. import classifiers

    if name == "centroid":
        return classifiers.NearestCentroidClassifier()
    if name == "ridge":
        return classifiers.RidgeClassifier()
    return classifiers.SoftmaxClassifier()


def _accuracy(predicted: npt.NDArray[Any], truth: npt.NDArray[Any]) -> float:
    # Rounded so that the printed and JSON numbers are identical on every run and platform.
    return round(float(np.mean(predicted == truth)), 6)
