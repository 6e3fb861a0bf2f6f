"""Row normalization (mmref/_numeric.py): unit rows, zero rows kept, no overflow."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mmref._numeric import normalize_rows

_finite = st.floats(-1e300, 1e300, allow_nan=False, allow_subnormal=True)


@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2), elements=_finite))
def test_rows_have_unit_norm_or_stay_zero_and_keep_their_direction(z: Any) -> None:
    out = normalize_rows(z, copy=True)
    norms = np.linalg.norm(out, axis=1)
    zero = ~z.any(axis=1)
    assert np.all(out[zero] == 0)
    np.testing.assert_allclose(norms[~zero], 1.0, rtol=1e-12)
    # Same direction: no entry changes sign (entries tiny next to the row's largest may
    # underflow to zero).
    assert np.all(out * np.sign(z) >= 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_magnitudes_neither_overflow_nor_underflow(dtype: Any) -> None:
    info = np.finfo(dtype)
    z = np.array([[info.max, info.max], [info.tiny, -info.tiny], [0, 0]], dtype=dtype)
    out = normalize_rows(z, copy=True)
    half = dtype(np.sqrt(0.5))
    np.testing.assert_allclose(out, [[half, half], [half, -half], [0, 0]], rtol=1e-6)
    assert out.dtype == dtype


def test_in_place_by_default_and_a_copy_on_request() -> None:
    z = np.array([[3.0, 4.0]])
    copied = normalize_rows(z, copy=True)
    assert z.tolist() == [[3.0, 4.0]] and copied.tolist() == [[0.6, 0.8]]
    assert normalize_rows(z) is z and z.tolist() == [[0.6, 0.8]]
    assert normalize_rows(np.empty((3, 0))).shape == (3, 0)
