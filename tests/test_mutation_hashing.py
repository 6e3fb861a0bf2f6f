"""The hashing helpers leave their inputs alone and default to scikit-learn's seed.

Written to kill the mutants tools/mutation.py finds in mmref/_hashing.py that the
hash values themselves (tests/test_hashing.py, tests/test_mutation_tokenize.py) cannot
see: a caller's index array must survive key derivation unchanged, and the MurmurHash3
default seed is scikit-learn's 0.
"""

from __future__ import annotations

import numpy as np
import pytest

from mmref._hashing import derive_key, derive_keys, mix64, mix64_int, murmurhash3_32


@pytest.mark.parametrize("dtype", [np.uint64, np.int64, np.uint32])
def test_derive_keys_and_mix64_leave_the_callers_array_alone(dtype: type) -> None:
    index = np.arange(5, dtype=dtype)
    keys = derive_keys(7, (1, 2), index)
    np.testing.assert_array_equal(index, np.arange(5))
    assert [int(k) for k in keys] == [derive_key(7, 1, 2, i) for i in range(5)]
    mixed = mix64(index)
    np.testing.assert_array_equal(index, np.arange(5))
    assert [int(m) for m in mixed] == [mix64_int(i) for i in range(5)]


def test_the_default_seed_is_scikit_learns() -> None:
    sk_murmurhash3_32 = pytest.importorskip("sklearn.utils").murmurhash3_32
    data = np.frombuffer(b"hello world, murmur", dtype=np.uint8)
    starts, lengths = np.array([0, 6, 0]), np.array([5, 13, 0])
    hashed = murmurhash3_32(data, starts, lengths)
    expected = [
        sk_murmurhash3_32(b"hello", positive=True),
        sk_murmurhash3_32(b"world, murmur", positive=True),
        sk_murmurhash3_32(b"", positive=True),
    ]
    assert hashed.tolist() == expected
