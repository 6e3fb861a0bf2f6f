"""A call running beside a refit sees the old model or the new one: never an error or a mix.

Each test fits a model on data A, records what a reading method returns after fitting on A
and on B, then lets one thread refit alternately on B and A while another keeps reading.
Every read must return exactly (byte for byte) the A result or the B result. The loops are
bounded, and Python is made to switch threads every 10 microseconds so that reads land in
the middle of fits.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import mmref
from mmref.alignment import AlignedEncoder, CCAAlignment
from mmref.multimodal import MultimodalEncoder
from mmref.zeroshot import ZeroShotClassifier

FITS = 24
MAX_READS = 3000

X = np.linspace(-1.0, 1.0, 120 * 6).reshape(120, 6) ** 3 + np.arange(6.0) / 5
Y_A = np.array(["a", "b", "c"])[np.arange(120) % 3]
Y_B = np.array(["a", "b", "c", "d"])[(np.arange(120) * 7) % 4]
PROBE = X[::7] * 1.5

TEXTS_A = ["a red circle", "a blue square", "green cross", "red cross", "blue circle"] * 4
TEXTS_B = ["yellow triangle", "a big red star", "tiny blue dot", "green", "star cross"] * 4
PROBE_TEXTS = ["a red star", "blue green cross", "triangle"]
IMAGES = (np.arange(20 * 6 * 6) % 17).reshape(20, 6, 6).astype(np.float64)


def _slow(cls: type) -> Any:
    """``cls`` with every attribute assignment followed by a pause of 200 microseconds.

    A fit that sets its fitted attributes one by one leaves the estimator half old, half
    new between two assignments; the pause makes that window wide enough for the reader
    to fall into it every time. A fit that publishes its state in one step has no window.
    """

    def __setattr__(self: Any, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        time.sleep(2e-4)

    return type(cls.__name__, (cls,), {"__setattr__": __setattr__})


@pytest.fixture(autouse=True)
def _switch_often() -> Iterator[None]:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def _race(fit_a: Callable[[], Any], fit_b: Callable[[], Any], read: Callable[[], Any]) -> int:
    """Refit B, A, B, ... in one thread while another reads; return the number of reads."""
    fit_b()
    expected_b = _bytes(read())
    fit_a()
    expected_a = _bytes(read())
    assert expected_a != expected_b, "the two fits must give different results"
    done = threading.Event()
    reading = threading.Event()
    failures: list[BaseException] = []

    def writer() -> None:
        try:
            reading.wait(timeout=60)
            for i in range(FITS):
                (fit_b if i % 2 == 0 else fit_a)()
        except BaseException as exc:  # reported by the test, not lost in the thread
            failures.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=writer)
    reads = 0
    seen = set()
    thread.start()
    try:
        while not done.is_set() and reads < MAX_READS:
            result = _bytes(read())  # any exception fails the test
            assert result in (expected_a, expected_b), "a read mixed the old and the new model"
            seen.add(result)
            reads += 1
            reading.set()
    finally:
        thread.join()
    assert not failures, failures
    assert reads > 0
    return reads


def _bytes(value: Any) -> bytes:
    array = np.asarray(value)
    return repr((array.dtype.str, array.shape)).encode() + array.tobytes()


@pytest.mark.parametrize(
    "make",
    [mmref.NearestCentroidClassifier, mmref.RidgeClassifier, mmref.SoftmaxClassifier],
)
@pytest.mark.parametrize("method", ["predict", "predict_labels"])
def test_classifiers(make: Any, method: str) -> None:
    model = _slow(make)()
    _race(
        lambda: model.fit(X, Y_A),
        lambda: model.fit(X, Y_B),
        lambda: getattr(model, method)(PROBE),
    )


@pytest.mark.parametrize("method", ["predict", "predict_labels"])
def test_a_loaded_classifier(tmp_path: Any, method: str) -> None:
    # A loaded classifier derives its scoring arrays on first use and caches them: the
    # cache must never outlive the state it came from. "Loading" here swaps in the public
    # state of a loaded model, as one step, in place of the fitted one.
    path = tmp_path / "m.mmref"
    mmref.save(mmref.RidgeClassifier().fit(X, Y_B), path)
    loaded = vars(mmref.load(path))
    assert "_weights" not in loaded
    model = _slow(mmref.RidgeClassifier)()

    def load_b() -> None:
        model.__dict__ = dict(loaded)

    _race(lambda: model.fit(X, Y_A), load_b, lambda: getattr(model, method)(PROBE))


@pytest.mark.parametrize(
    "params",
    [
        {"vocabulary": "learn"},
        {"vocabulary": "learn", "weighting": "tfidf"},
        {"weighting": "tfidf", "n_features": 16},
        {"vocabulary": ["red", "blue", "star", "cross"], "weighting": "tfidf"},
    ],
)
@pytest.mark.parametrize("method", ["transform", "transform_sparse"])
def test_text_encoder(params: dict[str, Any], method: str) -> None:
    model = _slow(mmref.BagOfWordsTextEncoder)(**params)

    def read() -> Any:
        out = getattr(model, method)(PROBE_TEXTS)
        return out.toarray() if method == "transform_sparse" else out

    _race(lambda: model.fit(TEXTS_A), lambda: model.fit(TEXTS_B), read)


def test_image_encoder() -> None:
    # Refits with images of another width: transform of images of width 36 either works
    # (the old or new model accepts them) or is refused for their width, never anything else.
    model = _slow(mmref.RandomProjectionImageEncoder)(8, method="gaussian")
    wide = np.ones((2, 7, 7))

    def read() -> Any:
        try:
            return model.transform(IMAGES[:3])
        except ValueError as exc:
            assert "features" in str(exc) or "pixels" in str(exc), exc
            return "refused"

    _race(lambda: model.fit(IMAGES), lambda: model.fit(wide), read)


@pytest.mark.parametrize("method", ["transform_image", "transform_text"])
def test_cca_alignment(method: str) -> None:
    model = _slow(CCAAlignment)(2)
    other = X[:, ::-1] ** 2 + X[:, :1]
    _race(
        lambda: model.fit(X, other),
        lambda: model.fit(other, X),
        lambda: getattr(model, method)(PROBE),
    )


def _aligned() -> AlignedEncoder:
    encoder = _slow(MultimodalEncoder)(
        _slow(mmref.RandomProjectionImageEncoder)(8),
        _slow(mmref.BagOfWordsTextEncoder)(vocabulary="learn"),
    )
    return _slow(AlignedEncoder)(encoder, _slow(CCAAlignment)(2))


@pytest.mark.parametrize("method", ["encode_image", "encode_text"])
def test_aligned_encoder(method: str) -> None:
    # Refitting replaces the learned vocabulary (another text width) and the alignment:
    # the new encoder with the old alignment would fail or mix.
    model = _aligned()
    probe = IMAGES[:3] if method == "encode_image" else PROBE_TEXTS
    _race(
        lambda: model.fit(IMAGES, TEXTS_A),
        lambda: model.fit(IMAGES[::-1], TEXTS_B),
        lambda: getattr(model, method)(probe),
    )


def test_zero_shot_classifier() -> None:
    aligned = _aligned()
    model = _slow(ZeroShotClassifier)(aligned, ["a red circle", "green cross", "yellow star"])
    _race(
        lambda: aligned.fit(IMAGES, TEXTS_A),
        lambda: aligned.fit(IMAGES[::-1], TEXTS_B),
        lambda: model.predict(IMAGES[:5]),
    )


def test_multimodal_encoder() -> None:
    model = _slow(MultimodalEncoder)(
        image_encoder=mmref.RandomProjectionImageEncoder(16),
        text_encoder=_slow(mmref.BagOfWordsTextEncoder)(vocabulary="learn"),
    )
    _race(
        lambda: model.fit(IMAGES, TEXTS_A),
        lambda: model.fit(IMAGES, TEXTS_B),
        lambda: model.embed(IMAGES[:3], PROBE_TEXTS),
    )


def test_a_failed_refit_leaves_the_old_model() -> None:
    model = mmref.SoftmaxClassifier().fit(X, Y_A)
    before = model.predict(PROBE).tobytes()
    with pytest.raises(ValueError, match="only one class"):
        model.fit(X, np.zeros(len(X)))
    assert model.predict(PROBE).tobytes() == before
    text = mmref.BagOfWordsTextEncoder(vocabulary="learn").fit(TEXTS_A)
    with pytest.raises(ValueError, match="empty vocabulary"):
        text.fit(["!!", "?"])
    assert list(text.vocabulary_) == sorted({w for t in TEXTS_A for w in t.split()})
