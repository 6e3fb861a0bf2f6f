"""MultimodalEncoder: delegation, defaults, fitting and the joint embedding."""

from __future__ import annotations

from typing import Any

import numpy as np

import mmref

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
