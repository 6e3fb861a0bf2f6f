"""mmref.testing's deterministic data (mmref/_testdata.py): the formulas of its docstring."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import spec_derive_key, spec_mix64

from mmref.testing import integers, normal, uniform


def _word(seed: int, i: int) -> int:
    return spec_mix64(spec_derive_key(seed) ^ i)


@pytest.mark.parametrize("seed", [0, 7, -3, 2**64 + 5])
def test_elements_follow_the_formulas_in_c_order(seed: int) -> None:
    shape = (3, 4)
    u, z, ints = uniform(seed, shape), normal(seed, shape), integers(seed, shape, 1000)
    assert u.shape == z.shape == ints.shape == shape
    assert u.dtype == z.dtype == np.float64 and ints.dtype == np.int64
    for i in range(12):
        assert u.flat[i] == (_word(seed, i) >> 11) * 2.0**-53
        assert ints.flat[i] == _word(seed, i) % 1000
        a = (_word(2 * seed, i) >> 11) * 2.0**-53
        b = (_word(2 * seed + 1, i) >> 11) * 2.0**-53
        expected = math.sqrt(-2.0 * math.log1p(-a)) * math.cos(2.0 * math.pi * b)
        assert z.flat[i] == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_an_int_shape_a_prefix_and_other_seeds() -> None:
    np.testing.assert_array_equal(uniform(1, 5), uniform(1, (5,)))
    np.testing.assert_array_equal(uniform(1, (2, 3)).ravel(), uniform(1, 6))
    assert not np.array_equal(uniform(1, 6), uniform(2, 6))
    assert uniform(0, (0, 3)).shape == (0, 3)


def test_integers_cover_their_range_and_check_high() -> None:
    assert set(integers(3, 2000, 5).tolist()) == {0, 1, 2, 3, 4}
    assert integers(3, 10, 2**63).min() >= 0
    for high in (0, 2**63 + 1):
        with pytest.raises(ValueError, match="'high' parameter of integers"):
            integers(0, 3, high)
