"""MultimodalEncoder: delegation, defaults, fitting and the joint embedding."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest

import mmref
from mmref.exceptions import DataDimensionalityWarning

IMAGES = (np.arange(4 * 8 * 8) % 7).reshape(4, 8, 8).astype(np.float64)
TEXTS = ["a red circle", "一个蓝色的方块", "", "green cross"]


def test_defaults_are_the_library_encoders() -> None:
    encoder = mmref.MultimodalEncoder()
    assert encoder.image_encoder is None and encoder.text_encoder is None
    np.testing.assert_array_equal(
        encoder.encode_image(IMAGES), mmref.RandomProjectionImageEncoder().encode_image(IMAGES)
    )
    np.testing.assert_array_equal(
        encoder.encode_text(TEXTS), mmref.BagOfWordsTextEncoder().encode_text(TEXTS)
    )
    assert encoder.embed(IMAGES, TEXTS).shape == (4, 256 + 1024)


def test_embed_is_the_reference_joint_embedding() -> None:
    encoder = mmref.MultimodalEncoder(
        mmref.RandomProjectionImageEncoder(8, method="gaussian"), mmref.BagOfWordsTextEncoder(16)
    )
    joint = encoder.embed(IMAGES, TEXTS)
    expected = np.concatenate([encoder.encode_image(IMAGES), encoder.encode_text(TEXTS)], axis=1)
    assert joint.tobytes() == expected.tobytes()
    assert joint.tobytes() == mmref.joint_embedding(IMAGES, TEXTS, encoder).tobytes()
    assert isinstance(encoder, mmref.EmbeddingModel)


def test_fit_fits_what_needs_fitting_in_place() -> None:
    text = mmref.BagOfWordsTextEncoder(vocabulary="learn", weighting="tfidf")
    encoder = mmref.MultimodalEncoder(text_encoder=text)
    with pytest.warns(DataDimensionalityWarning, match=r"\(64 < 256\)"):
        assert encoder.fit(IMAGES, TEXTS) is encoder
    assert encoder.text_encoder_ is text and hasattr(text, "vocabulary_")
    assert encoder.encode_text(TEXTS).shape == (4, len(text.vocabulary_))
    assert encoder.image_encoder_.n_features_in_ == 64


def test_fit_skips_missing_modalities_and_encoders_without_fit() -> None:
    class NoFit:
        def encode_image(self, image: Any) -> Any:
            return np.ones((len(image), 2))

        def encode_text(self, text: Any) -> Any:
            return np.ones((len(text), 3))

    encoder = mmref.MultimodalEncoder(NoFit(), NoFit()).fit(None, None).fit(IMAGES, TEXTS)
    assert encoder.embed(IMAGES, TEXTS).shape == (4, 5)


def test_unfitted_has_no_fitted_attributes_and_accepts_any_width() -> None:
    encoder = mmref.MultimodalEncoder()
    assert not hasattr(encoder, "image_encoder_") and not hasattr(encoder, "text_encoder_")
    assert encoder.encode_image(np.zeros((2, 3, 5))).shape == (2, 256)
    assert encoder.encode_image(IMAGES).shape == (4, 256)


def test_fit_sets_fitted_encoders_and_they_are_used() -> None:
    with pytest.warns(DataDimensionalityWarning, match=r"\(64 < 256\)"):
        encoder = mmref.MultimodalEncoder().fit(IMAGES, TEXTS)
    assert isinstance(encoder.image_encoder_, mmref.RandomProjectionImageEncoder)
    assert isinstance(encoder.text_encoder_, mmref.BagOfWordsTextEncoder)
    assert encoder.image_encoder is None and encoder.text_encoder is None
    # The fitted width is enforced, as by the fitted image encoder itself.
    with pytest.raises(ValueError, match="64"):
        encoder.encode_image(np.zeros((2, 3, 5)))
    # Fitting the defaults changes no output for images of the fitted width.
    expected = mmref.MultimodalEncoder().embed(IMAGES, TEXTS)
    assert encoder.embed(IMAGES, TEXTS).tobytes() == expected.tobytes()


def test_refitting_a_default_encoder_does_not_change_an_earlier_one() -> None:
    with pytest.warns(DataDimensionalityWarning, match=r"\(64 < 256\)"):
        encoder = mmref.MultimodalEncoder().fit(IMAGES)
    first = encoder.image_encoder_
    with pytest.warns(DataDimensionalityWarning, match=r"\(15 < 256\)"):
        encoder.fit(np.zeros((2, 3, 5)))
    assert encoder.image_encoder_ is not first
    assert first.n_features_in_ == 64 and encoder.image_encoder_.n_features_in_ == 15


def test_fitted_encoders_win_over_later_parameter_changes() -> None:
    # scikit-learn convention: parameters take effect at the next fit.
    encoder = mmref.MultimodalEncoder(mmref.RandomProjectionImageEncoder(4)).fit(IMAGES)
    encoder.set_params(image_encoder=mmref.RandomProjectionImageEncoder(6))
    assert encoder.encode_image(IMAGES).shape == (4, 4)
    assert encoder.fit(IMAGES).encode_image(IMAGES).shape == (4, 6)


def test_pickle_keeps_fitted_state_and_drops_the_unfitted_defaults() -> None:
    unfitted = mmref.MultimodalEncoder()
    unfitted.encode_text(TEXTS)
    assert "_default_text_encoder" not in vars(pickle.loads(pickle.dumps(unfitted)))
    with pytest.warns(DataDimensionalityWarning, match=r"\(64 < 256\)"):
        fitted_encoder = mmref.MultimodalEncoder().fit(IMAGES, TEXTS)
    fitted = pickle.loads(pickle.dumps(fitted_encoder))
    assert fitted.image_encoder_.n_features_in_ == 64
