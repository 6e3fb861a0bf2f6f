from __future__ import annotations

from typing import Any

import numpy as np

from mmref import ClassificationModel, EmbeddingModel


class Both:
    def encode_image(self, image: Any) -> Any:
        return np.zeros((1, 1))

    def encode_text(self, text: Any) -> Any:
        return np.zeros((1, 1))

    def predict(self, X: Any) -> Any:
        return np.zeros((1, 1))


class ImageOnly:
    def encode_image(self, image: Any) -> Any:
        return np.zeros((1, 1))


def test_runtime_checks_see_the_methods() -> None:
    assert isinstance(Both(), EmbeddingModel)
    assert isinstance(Both(), ClassificationModel)
    assert not isinstance(ImageOnly(), EmbeddingModel)
    assert not isinstance(ImageOnly(), ClassificationModel)
    assert not isinstance(object(), EmbeddingModel)
