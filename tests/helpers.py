"""Helpers shared by mmref's tests: one copy of each (``from helpers import ...``).

``tests/conftest.py`` puts this directory on ``sys.path`` (pytest's default
``prepend`` import mode inserts a conftest's directory), so test modules in
subfolders (``tests/cli``, ``tests/conformance``) import it the same way.
Deterministic data comes from :mod:`mmref.testing` (integer hashing).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mmref.testing import integers, normal

# scikit-learn is optional (parity tests only): modules that also test mmref alone import
# it under ``if HAVE_SKLEARN:`` and mark its tests; sklearn-only modules importorskip it.
HAVE_SKLEARN = importlib.util.find_spec("sklearn") is not None
requires_sklearn = pytest.mark.skipif(not HAVE_SKLEARN, reason="scikit-learn is not installed")

GOLDEN = 0x9E3779B97F4A7C15
MASK64 = 2**64 - 1


def spec_mix64(z: int) -> int:
    """SPEC.md section 3 ``mix64`` of one integer, in pure Python (independent of mmref)."""
    z &= MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def spec_derive_key(seed: int, *words: int) -> int:
    """SPEC.md section 3 ``derive_key``, in pure Python (independent of mmref)."""
    key = spec_mix64(seed + GOLDEN)
    for word in words:
        key = spec_mix64((key ^ (word & MASK64)) + GOLDEN)
    return key


def latent_pairs(
    seed: int, n: int, p: int, q: int, r: int, noise: float
) -> tuple[np.ndarray, np.ndarray]:
    """Paired ``(n, p)`` and ``(n, q)`` data sharing an r-dimensional latent factor, plus noise.

    ``x = z A + noise * e``, ``y = z B + noise * f`` with ``z``, ``A``, ``B``, ``e``, ``f``
    standard normal from :func:`mmref.testing.normal` with seeds ``seed .. seed + 4``.
    """
    z = normal(seed, (n, r))
    x = z @ normal(seed + 1, (r, p)) + noise * normal(seed + 2, (n, p))
    y = z @ normal(seed + 3, (r, q)) + noise * normal(seed + 4, (n, q))
    return x, y


def images(n: int, shape: tuple[int, ...], seed: int = 0) -> np.ndarray[Any, Any]:
    """A batch of ``n`` uint8 images of ``shape``: hashed pixels uniform in 0..255."""
    return integers(seed, (n, *shape), 256).astype(np.uint8)


#: The captions of the small `mmref embed` inputs (an empty one among them).
EMBED_CAPTIONS = ["a red circle", "blue square", "", "green cross", "x y z", "red"]


def embed_inputs(directory: Path, n: int = 6) -> tuple[Path, Path]:
    """``n`` uint8 4x4 images (images.npy) and ``n`` captions (captions.txt) in ``directory``."""
    images = (np.arange(n * 16) % 253).astype(np.uint8).reshape(n, 4, 4)
    np.save(directory / "images.npy", images)
    (directory / "captions.txt").write_text("\n".join(EMBED_CAPTIONS[:n]) + "\n", encoding="utf-8")
    return directory / "images.npy", directory / "captions.txt"
