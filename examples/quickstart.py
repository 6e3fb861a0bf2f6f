"""The two reference functions with a toy model: run with ``python examples/quickstart.py``."""

from __future__ import annotations

from typing import Any

import numpy as np

import mmref


class ToyModel:
    """Image: mean and max pixel. Text: length and word count. Classes: 'dark', 'bright'."""

    def encode_image(self, image: Any) -> np.ndarray:
        pixels = np.asarray(image, dtype=np.float64).reshape(len(image), -1)
        return np.stack([pixels.mean(axis=1), pixels.max(axis=1)], axis=1)

    def encode_text(self, text: Any) -> np.ndarray:
        return np.array([[len(t), len(t.split())] for t in text], dtype=np.float64)

    def predict(self, X: Any) -> np.ndarray:
        brightness = np.asarray(X)[:, 0]
        return np.stack([1.0 - brightness, brightness], axis=1)


def main() -> None:
    model = ToyModel()
    images = np.array([np.full((4, 4), 0.1), np.full((4, 4), 0.9)])
    texts = ["a dark square", "a bright square"]
    joint = mmref.joint_embedding(images, texts, model)
    print("joint embedding, shape", joint.shape)
    print(joint)
    class_names = np.array(["dark", "bright"])
    indices = mmref.multimodal_classification(joint, class_names, model)
    print("predicted classes:", class_names[indices].tolist())


if __name__ == "__main__":
    main()
