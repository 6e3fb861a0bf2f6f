"""Issue 17's Python API items: bounded parameters, labels kept as given, linear vocabularies."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import mmref

X = np.arange(12.0).reshape(6, 2) ** 1.5


@pytest.mark.parametrize("n_components", [2**31, 2**70])
def test_a_huge_n_components_names_the_parameter_and_its_bound(n_components: int) -> None:
    encoder = mmref.RandomProjectionImageEncoder(n_components)
    with pytest.raises(ValueError, match=r"'n_components' .* int in \[1, 2147483647\]"):
        encoder.encode_image(np.zeros((2, 3)))


@pytest.mark.parametrize(
    ("y", "kinds"),
    [
        ([0, "a", 0, "a", 1, "b"], "int, str"),
        ([0, 1.5, 0, 1.5, 0, 1.5], "float, int"),
        ([True, 2, True, 2, True, 2], "bool, int"),
        (np.array([0, "a", 0, "a", 0, "a"], dtype=object), "int, str"),
        ([np.int64(0), "a", 0, "a", 0, "a"], "int, str"),
    ],
)
@pytest.mark.parametrize(
    "cls", [mmref.NearestCentroidClassifier, mmref.RidgeClassifier, mmref.SoftmaxClassifier]
)
def test_labels_of_mixed_types_are_refused(cls: Any, y: Any, kinds: str) -> None:
    with pytest.raises(TypeError, match=rf"y mixes labels of different types \({kinds}\)"):
        cls().fit(X, y)


@pytest.mark.parametrize(
    "y",
    [
        [0, 1, 0, 1, 2, 2],
        [np.int64(0), 1, 0, 1, 2, 2],
        ["a", "b", "a", "b", "c", "c"],
        [np.str_("a"), "b", "a", "b", "c", "c"],
        [0.5, 1.5, 0.5, 1.5, 2.5, 2.5],
        [False, True, False, True, False, True],
    ],
)
def test_labels_of_one_type_come_back_with_their_value_and_type(y: Any) -> None:
    labels = mmref.RidgeClassifier().fit(X, y).predict_labels(X)
    assert {type(v) for v in labels.tolist()} == {type(v) for v in np.asarray(y).tolist()}
    assert set(labels.tolist()) <= set(np.asarray(y).tolist())


def test_learning_a_vocabulary_of_one_megabyte_tokens_is_exact() -> None:
    # Long equal tokens are compared whole (no longer 4 bytes per NumPy step); tokens that
    # differ only in the last word or in the tail bytes must stay distinct.
    n = 1 << 20
    base = "a" * n
    texts = [base, f"x {base}", base + "b", base + "bcd", "a" * (n - 1) + "z", base]
    encoder = mmref.BagOfWordsTextEncoder(vocabulary="learn", normalize=False).fit(texts)
    expected = sorted({token for text in texts for token in text.split()})
    assert list(encoder.vocabulary_) == expected
    counts = encoder.transform(texts[:2])
    assert counts[:, encoder.vocabulary_[base]].tolist() == [1, 1]
    assert counts.sum(axis=1).tolist() == [1, 2]
