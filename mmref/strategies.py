"""Hypothesis strategies for the mmref specification (see :mod:`mmref.conformance.strategies`).

This import path is kept for users' tests; the strategies live in the conformance kit.
It needs Hypothesis (``pip install "mmref[testing]"``).
"""

from __future__ import annotations

from .conformance.strategies import (
    EMBEDDING_DTYPES,
    PIXEL_DTYPES,
    SCORE_DTYPES,
    StubClassificationModel,
    StubEmbeddingModel,
    array_literal,
    embedding_pairs,
    feature_matrices,
    image_batches,
    image_shapes,
    images,
    score_matrices,
    stub_classification_models,
    stub_embedding_models,
    text_batches,
    texts,
)

__all__ = [
    "EMBEDDING_DTYPES",
    "PIXEL_DTYPES",
    "SCORE_DTYPES",
    "StubClassificationModel",
    "StubEmbeddingModel",
    "array_literal",
    "embedding_pairs",
    "feature_matrices",
    "image_batches",
    "image_shapes",
    "images",
    "score_matrices",
    "stub_classification_models",
    "stub_embedding_models",
    "text_batches",
    "texts",
]
