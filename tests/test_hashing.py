"""The counter-based mixing that all of mmref's randomness comes from."""

from __future__ import annotations

import numpy as np
from helpers import HAVE_SKLEARN, requires_sklearn, spec_derive_key, spec_mix64
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


# -- MurmurHash3_x86_32 -------------------------------------------------------------------

if HAVE_SKLEARN:
    from sklearn.utils import murmurhash3_32 as sk_murmurhash3_32

from mmref._hashing import le_words, murmurhash3_32  # noqa: E402


def _hash_all(keys: list[bytes], seed: int, prefix: bytes = b"") -> list[int]:
    data = np.frombuffer(prefix + b"".join(keys), dtype=np.uint8)
    lengths = np.array([len(k) for k in keys], dtype=np.int64)
    starts = len(prefix) + np.cumsum(lengths) - lengths
    return [int(v) for v in murmurhash3_32(data, starts, lengths, seed)]


def test_murmurhash3_published_vectors() -> None:
    # Test vectors of the reference MurmurHash3_x86_32 (Appleby's SMHasher), which
    # scikit-learn's docstring also shows for b"Hello World!".
    assert _hash_all([b""], 0) == [0]
    assert _hash_all([b""], 1) == [0x514E28B7]
    assert _hash_all([b"Hello World!"], 42) == [3565178]
    assert _hash_all([b"\xff\xff\xff\xff"], 0) == [0x76293B50]


@requires_sklearn
@given(
    st.lists(st.binary(max_size=70), max_size=30),
    st.integers(0, 2**32 - 1),
    st.binary(max_size=5),
)
def test_murmurhash3_matches_sklearn_at_any_alignment(keys, seed, prefix) -> None:
    expected = [sk_murmurhash3_32(k, seed=seed, positive=True) for k in keys]
    assert _hash_all(keys, seed, prefix) == expected


@requires_sklearn
def test_murmurhash3_long_keys_take_the_scalar_path() -> None:
    rng = np.random.default_rng(0)
    keys = [rng.integers(0, 256, size=n, dtype=np.uint8).tobytes() for n in (5000, 3, 1027)]
    expected = [sk_murmurhash3_32(k, seed=9, positive=True) for k in keys]
    assert _hash_all(keys, 9, b"x") == expected


@given(st.binary(max_size=40))
def test_le_words_reads_little_endian_words_at_every_offset(data: bytes) -> None:
    words = le_words(np.frombuffer(data, dtype=np.uint8))
    padded = data + b"\0\0\0\0"
    assert words.size == len(data) + 1
    assert [int(w) for w in words] == [
        int.from_bytes(padded[p : p + 4], "little") for p in range(len(data) + 1)
    ]


@given(st.integers(-(2**64), 2**65), st.lists(st.integers(-(2**64), 2**65), max_size=4))
def test_derive_key_follows_the_spec_transcription(seed: int, words: list[int]) -> None:
    assert derive_key(seed, *words) == spec_derive_key(seed, *words)
    assert mix64_int(seed) == spec_mix64(seed)
    assert int(mix64(np.array([seed % 2**64], dtype=np.uint64))[0]) == spec_mix64(seed)
