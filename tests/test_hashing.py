"""The counter-based mixing that all of mmref's randomness comes from."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from mmref._hashing import derive_key, mix64, mix64_int

# SplitMix64 reference outputs: the generator seeded with 0 yields mix64(k * GOLDEN)
# for k = 1, 2, 3 (published test vector of Vigna's splitmix64.c).
SPLITMIX64_SEED0 = [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]


def test_mix64_matches_published_splitmix64_vectors() -> None:
    golden = 0x9E3779B97F4A7C15
    counters = np.array([(k * golden) % 2**64 for k in (1, 2, 3)], dtype=np.uint64)
    assert [int(v) for v in mix64(counters)] == SPLITMIX64_SEED0


@given(st.lists(st.integers(0, 2**64 - 1), max_size=20))
def test_vectorized_and_scalar_mix64_agree(words: list[int]) -> None:
    array = np.array(words, dtype=np.uint64)
    before = array.copy()
    assert [int(v) for v in mix64(array)] == [mix64_int(w) for w in words]
    np.testing.assert_array_equal(array, before)  # input not modified


def test_mix64_wraps_signed_input() -> None:
    assert int(mix64(np.array([-1], dtype=np.int64))[0]) == mix64_int(2**64 - 1)


@given(st.integers(0, 2**64 - 1), st.lists(st.integers(0, 2**32), max_size=3))
def test_derive_key_is_a_64_bit_pure_function(seed: int, words: list[int]) -> None:
    key = derive_key(seed, *words)
    assert 0 <= key < 2**64
    assert key == derive_key(seed, *words)
    assert key != derive_key(seed, *words, 0)
