"""End-to-end case: ``joint_embedding`` then ``multimodal_classification`` on the demo data.

The demo data set (``make_shapes``, 2000 pairs) is split as ``mmref demo``
splits it; a default ``MultimodalEncoder`` and a ``RidgeClassifier`` are
fitted on the training pairs; the timed call embeds and classifies the test
pairs.

Peer: the same pipeline from scikit-learn parts (``SparseRandomProjection``
to 256 components, ``HashingVectorizer(n_features=1024)``, L2 row
normalization, ``RidgeClassifier.decision_function`` and ``argmax``). Limit:
one read pass over the test pixels plus ``str.split`` of the test captions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .harness import Case, Contender, Prepared, optional_module, require

__all__ = ["cases"]


def cases(*, quick: bool) -> list[Case]:
    """The end-to-end case, at the --quick size if ``quick``."""
    n = 200 if quick else 2000
    return [
        Case(
            "end_to_end.demo",
            f"joint_embedding + multimodal_classification, make_shapes({n}), test pairs",
            _preparer(n),
        )
    ]


def _preparer(n: int) -> Callable[[], Prepared]:
    def prepare() -> Prepared:
        make_shapes = require("mmref.datasets", "make_shapes")
        split_indices = require("mmref.datasets", "split_indices")
        encoder_cls = require("mmref.multimodal", "MultimodalEncoder")
        ridge_cls = require("mmref.classifiers", "RidgeClassifier")
        mmref = require("mmref")
        dataset = make_shapes(n, seed=0)
        train, test = split_indices(n, seed=0)
        images, labels = np.asarray(dataset.images), np.asarray(dataset.labels)
        texts = list(dataset.texts)
        train_texts, test_texts = [texts[i] for i in train], [texts[i] for i in test]
        train_images, test_images = images[train], images[test]

        encoder = encoder_cls().fit(train_images, train_texts)
        classifier = ridge_cls().fit(
            mmref.joint_embedding(train_images, train_texts, encoder), labels[train]
        )

        def run_mmref() -> Any:
            joint = mmref.joint_embedding(test_images, test_texts, encoder)
            return mmref.multimodal_classification(joint, None, classifier)

        contenders = [Contender("mmref", "joint_embedding + multimodal_classification", run_mmref)]
        notes = [f"mmref accuracy {_accuracy(run_mmref(), labels[test])}"]
        peer = _peer(train_images, train_texts, labels[train])
        if peer is not None:

            def run_peer() -> Any:
                return peer(test_images, test_texts)

            contenders.append(
                Contender(
                    "peer", "sklearn SparseRandomProjection + HashingVectorizer + Ridge", run_peer
                )
            )
            notes.append(f"sklearn accuracy {_accuracy(run_peer(), labels[test])}")

        def read_pass() -> object:
            return np.add.reduce(test_images.reshape(-1)), "\n".join(test_texts).split()

        contenders.append(Contender("limit", "read the pixels once + str.split", read_pass))
        return Prepared(contenders, len(test), "pairs", notes=notes)

    return prepare


def _accuracy(predicted: Any, truth: Any) -> str:
    return f"{np.mean(np.asarray(predicted) == np.asarray(truth)):.3f}"


def _peer(images: Any, texts: list[str], labels: Any) -> Callable[[Any, list[str]], Any] | None:
    if optional_module("sklearn") is None:
        return None
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.linear_model import RidgeClassifier
    from sklearn.preprocessing import normalize
    from sklearn.random_projection import SparseRandomProjection

    projection = SparseRandomProjection(n_components=256, random_state=0)
    projection.fit(images.reshape(len(images), -1))
    hashing = HashingVectorizer(n_features=1024, norm="l2")

    def embed(images: Any, texts: list[str]) -> Any:
        image_part = normalize(projection.transform(images.reshape(len(images), -1)))
        return np.hstack([image_part, hashing.transform(texts).toarray()])

    ridge = RidgeClassifier().fit(embed(images, texts), labels)

    def classify(images: Any, texts: list[str]) -> Any:
        return np.argmax(ridge.decision_function(embed(images, texts)), axis=1)

    return classify
