"""Type aliases shared across mmref (no runtime logic)."""

from __future__ import annotations

from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

__all__ = ["ArrayLike", "DTypeLike", "FloatArray", "IntArray", "UInt64Array"]

ArrayLike: TypeAlias = npt.ArrayLike
DTypeLike: TypeAlias = npt.DTypeLike
FloatArray: TypeAlias = npt.NDArray[np.floating[Any]]
IntArray: TypeAlias = npt.NDArray[np.intp]
UInt64Array: TypeAlias = npt.NDArray[np.uint64]
