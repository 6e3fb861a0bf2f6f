"""RandomProjectionImageEncoder: the Johnson-Lindenstrauss property, the determinism contract
(golden patterns, processes, prefix stability, chunking), input rules and parity with sklearn.

The ``_ref_*`` functions below are a scalar, pure-Python transcription of SPEC.md's
"Image encoder" section, independent of the vectorized code in mmref/_projection.py.
tests/golden/image_patterns.json was produced by them once and pins the bit-exact parts
(sparse and Rademacher sign/support patterns, SRHT signs and coordinate order) forever;
its Gaussian entries are compared at the spec's tolerance.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import GOLDEN, images
from helpers import spec_derive_key as derive_key
from helpers import spec_mix64 as mix64_int
from hypothesis import given
from hypothesis import strategies as st

from mmref.image import RandomProjectionImageEncoder, johnson_lindenstrauss_min_dim

GOLDEN_PATH = Path(__file__).parent / "golden" / "image_patterns.json"
MASK = 2**64 - 1
METHODS = ["sparse", "gaussian", "srht"]


# -- the scalar reference transcription of the spec ------------------------------------------


def _ref_stream(key: int, n: int) -> int:
    return mix64_int((key + (n + 1) * GOLDEN) & MASK)


def _ref_sparse_column(seed: int, d: int, density: float, j: int) -> list[tuple[int, int]]:
    """(position, sign) of the nonzeros of column j, by integer geometric skipping."""
    t = round(density * 2**63)
    key = derive_key(seed, 1, d, t, j)
    thresholds, x = [], 2**63
    for _ in range(d):
        x = (x * (2**63 - t)) >> 63
        thresholds.append(x)
    out, pos, n = [], -1, 0
    while True:
        u = _ref_stream(key, n)
        n += 1
        v = u >> 1
        pos += 1 + sum(1 for tg in thresholds if v < tg)
        if pos >= d:
            return out
        out.append((pos, 1 if u & 1 == 0 else -1))


def _ref_gaussian(seed: int, d: int, i: int, j: int) -> float:
    h = _ref_stream(derive_key(seed, 2, d, j), i // 2)
    u1 = ((h >> 32) + 0.5) / 2**32
    theta = 2 * math.pi * (h & 0xFFFFFFFF) / 2**32
    r = math.sqrt(-2.0 * math.log(u1))
    return r * math.cos(theta) if i % 2 == 0 else r * math.sin(theta)


def _ref_srht(seed: int, d: int) -> tuple[list[int], list[int]]:
    """SRHT signs (+-1 per coordinate) and all d coordinates in selection order."""
    sign_key, select_key = derive_key(seed, 3, d), derive_key(seed, 4, d)
    signs = [1 if _ref_stream(sign_key, i) & 1 == 0 else -1 for i in range(d)]
    order = sorted(range(d), key=lambda i: _ref_stream(select_key, i))
    return signs, order


def _signs_str(signs: Any) -> str:
    return "".join("+" if s > 0 else "-" for s in signs)


def _golden_document() -> dict[str, Any]:
    """Rebuild the fixture from the reference transcription (used to write it once)."""
    sparse = []
    for seed, d, density, k in [
        (0, 100, 0.1, 4),
        (12345678901234567890, 1000, 0.02, 3),
        (7, 50, 0.3, 3),
        (2**64 - 1, 20, 0.5, 2),
    ]:
        columns = [_ref_sparse_column(seed, d, density, j) for j in range(k)]
        sparse.append(
            {
                "seed": seed,
                "d": d,
                "density": density,
                "k": k,
                "positions": [[p for p, _ in c] for c in columns],
                "signs": [_signs_str(s for _, s in c) for c in columns],
            }
        )
    rademacher = []
    for seed, d, k in [(0, 16, 4), (2**64 - 1, 9, 3)]:
        columns = [_ref_sparse_column(seed, d, 1.0, j) for j in range(k)]
        rademacher.append(
            {"seed": seed, "d": d, "k": k, "signs": [_signs_str(s for _, s in c) for c in columns]}
        )
    srht = []
    for seed, d in [(0, 32), (5, 17)]:
        signs, order = _ref_srht(seed, d)
        srht.append({"seed": seed, "d": d, "signs": _signs_str(signs), "order": order})
    gaussian = []
    for seed, d, k in [(0, 6, 3), (1, 5, 2)]:
        entries = [[_ref_gaussian(seed, d, i, j) for j in range(k)] for i in range(d)]
        gaussian.append({"seed": seed, "d": d, "k": k, "entries": entries})
    return {"sparse": sparse, "rademacher": rademacher, "srht": srht, "gaussian": gaussian}


# -- fixtures and helpers -----------------------------------------------------------------------


def _assert_close(actual: Any, desired: Any, rtol: float = 1e-12) -> None:
    """assert_allclose with the tolerance relative to the largest entry: sums of pixels
    cancel, so an entry's rounding error scales with its row, not with itself."""
    desired = np.asarray(desired)
    atol = rtol * float(np.abs(desired).max()) if desired.size else 0.0
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=atol)


def _unscaled_columns(encoder: RandomProjectionImageEncoder, d: int) -> np.ndarray:
    """Dense (d, k) matrix with the scale removed: +-1/0 for sparse, N(0, 1) for gaussian."""
    matrix = encoder.get_projection_matrix(d)
    dense = matrix.toarray() if hasattr(matrix, "toarray") else matrix
    k = dense.shape[0]
    density = 1 / math.sqrt(d) if encoder.density == "auto" else encoder.density
    scale = (
        math.sqrt(1 / density) / math.sqrt(k) if encoder.method == "sparse" else 1 / math.sqrt(k)
    )
    return np.asarray(dense.T / scale)


@pytest.fixture(scope="module")
def golden() -> dict[str, Any]:
    with GOLDEN_PATH.open() as f:
        document: dict[str, Any] = json.load(f)
    return document


# -- the golden fixture: bit-exact patterns -----------------------------------------------------


def test_reference_transcription_reproduces_the_golden_fixture(golden: dict[str, Any]) -> None:
    rebuilt = _golden_document()
    for section in ("sparse", "rademacher", "srht"):
        assert rebuilt[section] == golden[section]
    for got, want in zip(rebuilt["gaussian"], golden["gaussian"], strict=True):
        np.testing.assert_allclose(got["entries"], want["entries"], rtol=0, atol=1e-13)


def test_spec_test_vectors() -> None:
    """The test vectors printed in SPEC.md's image encoder section (golden, bit-exact)."""
    from mmref import _projection

    t = _projection.density_threshold(0.1)
    assert t == 0x0CCCCCCCCCCCCD00
    key = derive_key(0, 1, 100, t, 0)
    assert key == 0x25D6A9710A57B50B
    assert _projection.stream(key, 0, 3).tolist() == [
        0xD528C55F3B332E0D,
        0xAC4B85AF263CB304,
        0x05BB74E6CC4E18B7,
    ]
    table = _projection.gap_table(t, 100)[::-1]  # stored ascending for searchsorted
    assert table[:3].tolist() == [8301034833169298176, 7470931349852368312, 6723838214867131439]
    assert [_ref_stream(key, n) for n in range(3)] == _projection.stream(key, 0, 3).tolist()
    assert _projection.density_threshold(1 / math.sqrt(784)) == 329406144173384832


def test_sparse_patterns_match_the_golden_fixture(golden: dict[str, Any]) -> None:
    for case in golden["sparse"]:
        encoder = RandomProjectionImageEncoder(
            case["k"], density=case["density"], seed=case["seed"]
        )
        matrix = encoder.get_projection_matrix(case["d"])
        for j in range(case["k"]):
            row = matrix[[j]]
            assert row.indices.tolist() == case["positions"][j]
            assert _signs_str(row.data) == case["signs"][j]


def test_rademacher_patterns_match_the_golden_fixture(golden: dict[str, Any]) -> None:
    for case in golden["rademacher"]:
        encoder = RandomProjectionImageEncoder(case["k"], density=1.0, seed=case["seed"])
        dense = encoder.get_projection_matrix(case["d"]).toarray()
        assert np.count_nonzero(dense) == dense.size
        assert [_signs_str(column) for column in dense] == case["signs"]


def test_srht_signs_and_order_match_the_golden_fixture(golden: dict[str, Any]) -> None:
    from scipy.fft import dct

    for case in golden["srht"]:
        d = case["d"]
        k = d // 2
        encoder = RandomProjectionImageEncoder(k, method="srht", seed=case["seed"], normalize=False)
        signs = np.array([1.0 if c == "+" else -1.0 for c in case["signs"]])
        X = np.random.default_rng(1).normal(size=(3, d))
        # The spec written out: sqrt(d / k) * DCT-II-ortho(signs * x)[order[:k]]
        expected = math.sqrt(d / k) * dct(X * signs, type=2, norm="ortho", axis=1)
        expected = expected[:, case["order"][:k]]
        _assert_close(encoder.transform(X), expected)


def test_gaussian_entries_match_the_golden_fixture_within_tolerance(golden: dict[str, Any]) -> None:
    for case in golden["gaussian"]:
        encoder = RandomProjectionImageEncoder(case["k"], method="gaussian", seed=case["seed"])
        got = _unscaled_columns(encoder, case["d"])
        np.testing.assert_allclose(got, case["entries"], rtol=0, atol=1e-13)


@given(st.integers(0, 2**64 - 1), st.integers(1, 300), st.integers(1, 4))
def test_gaussian_entries_follow_box_muller_within_1e13(seed: int, d: int, k: int) -> None:
    encoder = RandomProjectionImageEncoder(k, method="gaussian", seed=seed)
    got = _unscaled_columns(encoder, d)
    rows = [0, d - 1, d // 2]
    want = [[_ref_gaussian(seed, d, i, j) for j in range(k)] for i in rows]
    np.testing.assert_allclose(got[rows], want, rtol=0, atol=1e-13)


@given(
    st.integers(0, 2**64 - 1),
    st.integers(1, 120),
    st.one_of(st.just(1.0), st.floats(0.01, 1.0)),
)
def test_sparse_columns_equal_the_scalar_reference(seed: int, d: int, density: float) -> None:
    encoder = RandomProjectionImageEncoder(2, density=density, seed=seed)
    matrix = encoder.get_projection_matrix(d)
    for j in range(2):
        row = matrix[[j]]
        expected = _ref_sparse_column(seed, d, density, j)
        assert row.indices.tolist() == [p for p, _ in expected]
        assert np.sign(row.data).tolist() == [s for _, s in expected]


@pytest.mark.parametrize("draws_per_round", [1, 2, 7])
def test_sparse_columns_do_not_depend_on_draws_per_round(draws_per_round: int) -> None:
    from mmref import _projection

    d, threshold = 300, _projection.density_threshold(0.05)
    keys = _projection.column_keys(3, (1, d, threshold), 5)
    default = _projection.sparse_columns(keys, threshold, d, np.dtype(np.float64))
    rounds = _projection.sparse_columns(
        keys, threshold, d, np.dtype(np.float64), draws_per_round=draws_per_round
    )
    for a, b in zip(default, rounds, strict=True):
        np.testing.assert_array_equal(a, b)


# -- the Johnson-Lindenstrauss property and the distributions ----------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_pairwise_distances_are_preserved_within_eps(method: str) -> None:
    from scipy.spatial.distance import pdist

    n, eps = 30, 0.5
    k = int(johnson_lindenstrauss_min_dim(n, eps=eps))  # 163
    rng = np.random.default_rng(3)
    X = rng.normal(size=(n, 1024)) + np.linspace(0, 3, 1024) * rng.normal(size=(n, 1))
    if method != "sparse":
        # Single-pixel images: the trigonometric transform and the Gaussian matrix mix them;
        # a very sparse matrix does not (Li et al. need inputs of bounded kurtosis).
        X[-5:] = 50.0 * np.eye(5, 1024, k=100)
    Y = RandomProjectionImageEncoder(k, method=method, seed=11, normalize=False).transform(X)
    ratio = pdist(Y, "sqeuclidean") / pdist(X, "sqeuclidean")
    # The lemma promises all pairs with good probability; allow 1% of the 435 pairs to miss.
    assert np.mean(np.abs(ratio - 1) < eps) >= 0.99
    # Distances are preserved on average (E ratio = 1; sd of the mean about 0.01 here).
    assert abs(np.mean(ratio) - 1) < 0.08


@pytest.mark.parametrize(("density", "d"), [("auto", 10000), (0.1, 2000), (0.5, 400)])
def test_sparse_density_and_sign_balance(density: Any, d: int) -> None:
    k = 64
    M = _unscaled_columns(RandomProjectionImageEncoder(k, density=density, seed=5), d)
    p = 1 / math.sqrt(d) if density == "auto" else density
    assert set(np.unique(M)) <= {-1.0, 0.0, 1.0}
    nnz = np.count_nonzero(M)
    # Binomial(d k, p): within 5 standard deviations of its mean.
    assert abs(nnz - d * k * p) < 5 * math.sqrt(d * k * p * (1 - p))
    positive = np.count_nonzero(M > 0)
    assert abs(positive - nnz / 2) < 5 * math.sqrt(nnz / 4)
    # Supports are spread over all rows: each tenth of the rows holds a tenth of them.
    per_tenth = np.count_nonzero(M.reshape(10, -1), axis=1)
    assert np.all(np.abs(per_tenth - nnz / 10) < 5 * math.sqrt(nnz / 10))
    # Columns are independent of each other: no two columns share their whole support.
    supports = {tuple(np.flatnonzero(M[:, j])) for j in range(k)}
    assert len(supports) == k


def test_sparse_scale_matches_scikit_learn() -> None:
    pytest.importorskip("sklearn")
    from sklearn.random_projection import SparseRandomProjection

    d, k = 900, 50
    X = np.zeros((1, d))
    ours = RandomProjectionImageEncoder(k).get_projection_matrix(d)
    theirs = SparseRandomProjection(k, random_state=0).fit(X).components_
    np.testing.assert_allclose(np.unique(np.abs(ours.data)), np.unique(np.abs(theirs.data)))


def test_gaussian_entries_are_standard_normal() -> None:
    from scipy import stats

    M = _unscaled_columns(RandomProjectionImageEncoder(50, method="gaussian", seed=2), 2000)
    n = M.size  # 100000 entries
    assert abs(M.mean()) < 5 / math.sqrt(n)
    assert abs(M.var() - 1) < 5 * math.sqrt(2 / n)
    assert abs(stats.kurtosis(M, axis=None)) < 5 * math.sqrt(24 / n)
    assert stats.kstest(M.ravel(), "norm").pvalue > 1e-4
    # Rows 2m and 2m+1 share a radius but their angles are independent: uncorrelated.
    assert abs(np.corrcoef(M[0::2].ravel(), M[1::2].ravel())[0, 1]) < 5 / math.sqrt(n / 2)


def test_gaussian_float32_matches_float64_to_single_precision() -> None:
    def matrix(dtype: Any) -> np.ndarray:
        encoder = RandomProjectionImageEncoder(8, method="gaussian", dtype=dtype)
        return _unscaled_columns(encoder, 300)

    np.testing.assert_allclose(matrix(np.float32), matrix(np.float64), rtol=0, atol=2e-5)


# -- the determinism contract -------------------------------------------------------------------

_CHILD = """
import hashlib, numpy as np
from mmref.image import RandomProjectionImageEncoder
X = np.arange(3 * 20 * 20).reshape(3, 20, 20) % 251
for m in ("sparse", "gaussian", "srht"):
    for dt in (np.float64, np.float32):
        Y = RandomProjectionImageEncoder(32, method=m, seed=9, dtype=dt).encode_image(X)
        print(m, hashlib.sha256(Y.tobytes()).hexdigest())
"""


def test_outputs_are_identical_across_processes_and_hash_seeds() -> None:
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        )
        for hash_seed in ("0", "4242")
    ]
    digests = [child.communicate(timeout=600)[0] for child in children]
    assert all(child.returncode == 0 for child in children)
    X = np.arange(3 * 20 * 20).reshape(3, 20, 20) % 251
    here = ""
    for m in METHODS:
        for dt in (np.float64, np.float32):
            Y = RandomProjectionImageEncoder(32, method=m, seed=9, dtype=dt).encode_image(X)
            here += f"{m} {hashlib.sha256(Y.tobytes()).hexdigest()}\n"
    assert digests[0] == digests[1] == here


@given(
    st.sampled_from(METHODS),
    st.integers(0, 2**64 - 1),
    st.integers(1, 20),
    st.integers(1, 20),
    st.booleans(),
)
def test_prefix_stability(method: str, seed: int, k: int, extra: int, f32: bool) -> None:
    X = images(4, (6, 7), seed=seed % 1000)
    dtype = np.float32 if f32 else np.float64
    big_k = k + extra
    if method == "srht" and big_k > 42:
        big_k = 42
    params = {"method": method, "seed": seed, "normalize": False, "dtype": dtype}
    small = RandomProjectionImageEncoder(k, **params).encode_image(X)
    large = RandomProjectionImageEncoder(big_k, **params).encode_image(X)
    expected = small * np.sqrt(k / big_k, dtype=dtype)
    # Sums of pixel values cancel: the error is relative to the row's scale, not the entry's.
    rtol = 1e-5 if f32 else 1e-12
    np.testing.assert_allclose(
        large[:, :k], expected, rtol=rtol, atol=rtol * np.abs(expected).max()
    )


@given(
    st.sampled_from(METHODS),
    st.integers(1, 9),
    st.sampled_from([0, 3000, 10**6]),
    st.randoms(use_true_random=False),
)
def test_results_do_not_depend_on_batch_size_chunking_or_order(
    method: str, batch_size: int, budget: int, rnd: Any
) -> None:
    X = images(11, (9, 10), seed=batch_size)
    reference = RandomProjectionImageEncoder(16, method=method).encode_image(X)
    encoder = RandomProjectionImageEncoder(
        16, method=method, batch_size=batch_size, max_matrix_bytes=budget
    )
    order = list(range(len(X)))
    rnd.shuffle(order)
    _assert_close(encoder.encode_image(X[order]), reference[order])
    singles = np.vstack([encoder.encode_image(x) for x in X[order[:3]]])
    _assert_close(singles, reference[order[:3]])


def test_the_same_encoder_twice_is_bit_identical() -> None:
    X = images(5, (16, 16))
    for method in METHODS:
        a = RandomProjectionImageEncoder(20, method=method, seed=3).encode_image(X)
        b = RandomProjectionImageEncoder(20, method=method, seed=3).encode_image(X)
        c = RandomProjectionImageEncoder(20, method=method, seed=4).encode_image(X)
        assert a.tobytes() == b.tobytes()
        assert not np.allclose(a, c)


def test_large_sparse_matrix_is_streamed_in_blocks_with_identical_output() -> None:
    X = images(6, (30, 30))
    cached = RandomProjectionImageEncoder(40, density=1.0, normalize=False).encode_image(X)
    streamed = RandomProjectionImageEncoder(
        40, density=1.0, normalize=False, max_matrix_bytes=50_000
    ).encode_image(X)
    assert cached.tobytes() == streamed.tobytes()


# -- memory ------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_uint8_batches_are_converted_per_chunk(method: str) -> None:
    n, d, k, batch = 400, 2500, 32, 20
    X = images(n, (50, 50))
    encoder = RandomProjectionImageEncoder(k, method=method, batch_size=batch)
    encoder.fit(X[:1])  # the cached matrix is built here, outside the measured call
    tracemalloc.start()
    try:
        encoder.encode_image(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # Converting all of X to float64 would take n * d * 8 = 8 MB; the bound is the output,
    # a few chunks and the DCT's workspace.
    assert peak < n * k * 8 * 3 + 6 * batch * d * 8 + 200_000
    assert peak < n * d * 8 / 4


def test_gaussian_matrix_over_budget_is_not_held() -> None:
    d, k = 16384, 128  # a 16 MiB matrix in float64
    X = images(8, (128, 128))
    encoder = RandomProjectionImageEncoder(k, method="gaussian", max_matrix_bytes=2**18)
    tracemalloc.start()
    try:
        encoder.encode_image(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < d * k * 8 / 2


# -- input rules ---------------------------------------------------------------------------------


def test_shapes_without_image_shape() -> None:
    encoder = RandomProjectionImageEncoder(8)
    assert encoder.encode_image(images(1, (5, 6))[0]).shape == (1, 8)
    assert encoder.encode_image(images(3, (5, 6))).shape == (3, 8)
    assert encoder.encode_image(list(images(3, (5, 6)))).shape == (3, 8)
    assert encoder.encode_image(images(3, (5, 6)).tolist()).shape == (3, 8)
    assert encoder.encode_image([]).shape == (0, 8)
    assert encoder.encode_image(np.zeros((0, 5, 6))).shape == (0, 8)
    assert encoder.transform(images(3, (5, 6, 3))).shape == (3, 8)
    for bad in (np.zeros(30), np.zeros((2, 5, 6, 3)), np.float64(1.0)):
        with pytest.raises(ValueError, match=r"expected a 2-D image \(H, W\) or a 3-D batch"):
            encoder.encode_image(bad)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        encoder.transform(np.zeros(30))


def test_shapes_with_image_shape() -> None:
    encoder = RandomProjectionImageEncoder(8, image_shape=(4, 4, 3))
    assert encoder.encode_image(np.zeros((4, 4, 3))).shape == (1, 8)
    assert encoder.encode_image(np.zeros((5, 4, 4, 3))).shape == (5, 8)
    with pytest.raises(
        ValueError, match=r"shape \(4, 4\); expected one image of shape \(4, 4, 3\)"
    ):
        encoder.encode_image(np.zeros((4, 4)))
    with pytest.raises(ValueError, match=r"\(n_images, 4, 4, 3\)"):
        encoder.transform(np.zeros((4, 4, 3)))
    listed = RandomProjectionImageEncoder(8, image_shape=[4, 4, 3])
    assert listed.encode_image(np.zeros((4, 4, 3))).shape == (1, 8)
    flat = RandomProjectionImageEncoder(8, image_shape=784)
    assert flat.encode_image(np.zeros(784)).shape == (1, 8)
    assert flat.encode_image(np.zeros((2, 784))).shape == (2, 8)


def test_a_single_image_equals_its_row_in_a_batch() -> None:
    X = images(4, (8, 8))
    for method in METHODS:
        encoder = RandomProjectionImageEncoder(6, method=method)
        np.testing.assert_allclose(encoder.encode_image(X[2]), encoder.encode_image(X)[2:3])


@pytest.mark.parametrize(
    "dtype",
    [
        np.bool_,
        np.int8,
        np.uint8,
        np.int32,
        np.uint16,
        np.int64,
        np.uint64,
        np.float16,
        np.float32,
        np.float64,
    ],
)
def test_accepted_pixel_dtypes_are_used_as_given(dtype: Any) -> None:
    X = images(3, (6, 6)) % 2 if dtype is np.bool_ else images(3, (6, 6)) % 100
    for method in METHODS:
        encoder = RandomProjectionImageEncoder(5, method=method, normalize=False)
        _assert_close(
            encoder.encode_image(X.astype(dtype)), encoder.encode_image(X.astype(np.float64))
        )


@pytest.mark.parametrize("method", METHODS)
def test_output_dtype_and_float32_computation(method: str) -> None:
    X = images(5, (12, 12))
    y64 = RandomProjectionImageEncoder(10, method=method).encode_image(X)
    y32 = RandomProjectionImageEncoder(10, method=method, dtype=np.float32).encode_image(X)
    y32s = RandomProjectionImageEncoder(10, method=method, dtype="float32").encode_image(X)
    assert y64.dtype == np.float64 and y32.dtype == np.float32
    assert y32.tobytes() == y32s.tobytes()
    np.testing.assert_allclose(y32, y64, rtol=0, atol=1e-5)


@pytest.mark.parametrize("method", METHODS)
def test_normalized_rows_and_zeroimages(method: str) -> None:
    X = np.concatenate([images(3, (7, 7)), np.zeros((1, 7, 7), np.uint8)])
    Y = RandomProjectionImageEncoder(9, method=method).encode_image(X)
    np.testing.assert_allclose(np.linalg.norm(Y[:3], axis=1), 1.0, rtol=1e-12)
    assert np.all(Y[3] == 0)
    raw = RandomProjectionImageEncoder(9, method=method, normalize=False).encode_image(X)
    np.testing.assert_allclose(Y[:3], raw[:3] / np.linalg.norm(raw[:3], axis=1)[:, None])
    huge = RandomProjectionImageEncoder(9, method=method).encode_image(X[:1] * 1e300)
    _assert_close(huge, Y[:1])


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    ("value", "what"),
    [(np.nan, "NaN"), (np.inf, "an infinite value"), (-np.inf, "an infinite value")],
)
def test_non_finite_pixels_are_rejected_by_image_index(
    method: str, value: float, what: str
) -> None:
    X = images(5, (6, 6)).astype(np.float32)
    X[3, 2, 1] = value
    encoder = RandomProjectionImageEncoder(4, method=method, batch_size=2)
    with pytest.raises(ValueError, match=f"Image 3 contains {what}"):
        encoder.encode_image(X)
    with pytest.raises(ValueError, match=f"Image 3 contains {what}"):
        encoder.fit(X)


@pytest.mark.parametrize("method", METHODS)
def test_the_first_bad_image_is_named_when_chunks_run_on_threads(method: str) -> None:
    X = np.ones((600, 30, 30))  # 540000 pixels: two threads, many chunks
    X[450, 3, 3] = np.inf
    X[70, 0, 0] = np.nan
    encoder = RandomProjectionImageEncoder(4, method=method, batch_size=50)
    with pytest.raises(ValueError, match="Image 70 contains NaN"):
        encoder.encode_image(X)


@pytest.mark.parametrize("method", METHODS)
def test_values_too_large_for_float32_are_rejected(method: str) -> None:
    X = np.full((300, 30, 30), 1.0)  # big enough to run on two threads
    X[201, 0, 0] = 1e39
    encoder = RandomProjectionImageEncoder(4, method=method, dtype=np.float32)
    with pytest.raises(ValueError, match="Image 201 has pixel values too large for float32"):
        encoder.encode_image(X)
    with pytest.raises(ValueError, match="projection of image 0 overflowed float32"):
        RandomProjectionImageEncoder(4, density=1.0, dtype=np.float32).encode_image(
            np.full((1, 4, 4), 3e38)
        )


@pytest.mark.parametrize(
    ("bad", "error", "match"),
    [
        (np.zeros((2, 3, 3), complex), TypeError, "dtype complex128; expected bool, integer"),
        (np.zeros((2, 3, 3), object), TypeError, "dtype object"),
        (np.array([["a", "b"], ["c", "d"]]), TypeError, "dtype <U1"),
        ("an image", TypeError, "not text"),
        (np.zeros((2, 3, 3), "datetime64[s]"), TypeError, "datetime64"),
        (np.zeros((2, 0, 3)), ValueError, "zero pixels"),
        (np.zeros((0, 0)), ValueError, "zero pixels"),
        ([np.zeros((3, 3)), np.zeros((3, 4))], ValueError, r"ragged.*image 1 has shape \(3, 4\)"),
        ([[1, 2], [3]], ValueError, "ragged"),
        ([np.zeros((3, 3)), None], ValueError, r"ragged.*image 1 has shape \(\)"),
    ],
)
def test_bad_inputs_are_rejected(bad: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        RandomProjectionImageEncoder(4).encode_image(bad)


def test_long_double_is_rejected_where_it_differs_from_float64() -> None:
    if np.dtype(np.longdouble).itemsize <= 8:
        pytest.skip("long double is float64 on this platform")
    with pytest.raises(TypeError, match="long double"):
        RandomProjectionImageEncoder(4).encode_image(np.zeros((3, 3), np.longdouble))


def test_fit_records_width_and_later_calls_must_match() -> None:
    X = images(3, (8, 8))
    encoder = RandomProjectionImageEncoder(4)
    assert not hasattr(encoder, "n_features_in_")
    assert encoder.fit(X) is encoder
    assert encoder.n_features_in_ == 64
    assert encoder.transform(X).shape == (3, 4)
    with pytest.raises(ValueError, match="has 49 pixels per image.*fitted on images of 64"):
        encoder.encode_image(images(2, (7, 7)))
    with pytest.raises(ValueError, match="empty list"):
        RandomProjectionImageEncoder(4).fit([])
    # Unfitted encoders accept any width: nothing is learned.
    assert RandomProjectionImageEncoder(4).encode_image(images(2, (7, 7))).shape == (2, 4)


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        (
            {"n_components": 0},
            ValueError,
            r"'n_components' parameter.*int in \[1, 2147483647\]. Got 0",
        ),
        ({"n_components": 2.5}, TypeError, "'n_components'"),
        ({"n_components": True}, TypeError, "'n_components'"),
        ({"method": "dense"}, ValueError, "'method' parameter.*one of"),
        ({"density": 0}, ValueError, r"'density'.*a float in \(0, 1\]. Got 0 instead"),
        ({"density": 2}, ValueError, r"'density' parameter.*Got 2 instead"),
        ({"density": float("nan")}, ValueError, "'density'"),
        ({"density": "sqrt"}, ValueError, "'density' parameter.*auto"),
        ({"density": 1e-30}, ValueError, r"'density' parameter.*\(2\*\*-64, 1\]"),
        ({"seed": -1}, ValueError, "'seed'"),
        ({"seed": 2**64}, ValueError, "'seed'"),
        ({"seed": 1.0}, TypeError, "'seed'"),
        ({"image_shape": (0, 3)}, ValueError, "'image_shape'"),
        ({"image_shape": (2.0, 3)}, ValueError, "'image_shape'"),
        ({"image_shape": ()}, ValueError, "'image_shape'"),
        ({"image_shape": "28x28"}, ValueError, "'image_shape'"),
        ({"normalize": 1}, TypeError, "'normalize'"),
        ({"dtype": np.float16}, ValueError, "'dtype' parameter.*float64 or numpy.float32"),
        ({"dtype": "not a dtype"}, ValueError, "'dtype'"),
        ({"dtype": None}, ValueError, "'dtype'"),
        ({"batch_size": 0}, ValueError, "'batch_size'"),
        ({"max_matrix_bytes": -1}, ValueError, "'max_matrix_bytes'"),
    ],
)
def test_bad_parameters_are_rejected_at_first_use(
    params: dict[str, Any], error: type[Exception], match: str
) -> None:
    encoder = RandomProjectionImageEncoder(**params)  # construction never validates
    with pytest.raises(error, match=match):
        encoder.encode_image(np.zeros((3, 3)))
    with pytest.raises(error, match=match):
        encoder.fit(np.zeros((1, 3, 3)))


def test_srht_needs_no_more_components_than_pixels() -> None:
    encoder = RandomProjectionImageEncoder(10, method="srht")
    assert encoder.encode_image(np.ones((2, 5))).shape == (1, 10)
    with pytest.raises(
        ValueError, match="at most the number of pixels.*n_components=10 for images of 9"
    ):
        encoder.encode_image(np.ones((3, 3)))
    full = RandomProjectionImageEncoder(9, method="srht", normalize=False)
    X = np.random.default_rng(0).normal(size=(4, 3, 3))
    # k = d: an orthogonal transform (rescaled by 1), so norms are preserved exactly.
    np.testing.assert_allclose(
        np.linalg.norm(full.encode_image(X), axis=1), np.linalg.norm(X.reshape(4, -1), axis=1)
    )


def test_projection_matrix_reproduces_transform() -> None:
    X = images(3, (9, 9)).astype(float).reshape(3, 81)
    for method in METHODS:
        encoder = RandomProjectionImageEncoder(7, method=method, normalize=False)
        M = encoder.get_projection_matrix(81)
        dense = M.toarray() if method == "sparse" else M
        _assert_close(encoder.transform(X), X @ dense.T)
    fitted = RandomProjectionImageEncoder(7).fit(X)
    assert fitted.get_projection_matrix().shape == (7, 81)
    from mmref import NotFittedError

    with pytest.raises(NotFittedError):
        RandomProjectionImageEncoder(7).get_projection_matrix()


def test_params_sklearn_clone_and_pickle() -> None:
    import pickle

    pytest.importorskip("sklearn")
    from sklearn.base import clone

    encoder = RandomProjectionImageEncoder(12, method="srht", seed=4, image_shape=(8, 8))
    copy = clone(encoder)
    assert copy.get_params() == encoder.get_params()
    assert copy.set_params(seed=5).seed == 5
    with pytest.raises(ValueError, match="Invalid parameter 'sed'"):
        encoder.set_params(sed=1)
    gaussian = RandomProjectionImageEncoder(64, method="gaussian").fit(images(2, (40, 40)))
    blob = pickle.dumps(gaussian)
    assert len(blob) < 2000  # the 800 kB cached matrix is regenerated, not stored
    restored = pickle.loads(blob)
    X = images(3, (40, 40))
    assert restored.n_features_in_ == 1600
    assert restored.encode_image(X).tobytes() == gaussian.encode_image(X).tobytes()
    np.testing.assert_allclose(gaussian.fit_transform(X), gaussian.transform(X))


# -- johnson_lindenstrauss_min_dim ---------------------------------------------------------------


def test_jl_min_dim_matches_scikit_learn_on_a_grid() -> None:
    pytest.importorskip("sklearn")
    from sklearn.random_projection import johnson_lindenstrauss_min_dim as sk_jl

    for n in [1, 2, 10, 1e4, 1e6, 123456789]:
        for eps in [0.01, 0.1, 0.5, 0.99]:
            ours, theirs = johnson_lindenstrauss_min_dim(n, eps=eps), sk_jl(n, eps=eps)
            assert ours == theirs and type(ours) is type(theirs)
    np.testing.assert_array_equal(
        johnson_lindenstrauss_min_dim([1e4, 1e5], eps=[0.1, 0.2]), sk_jl([1e4, 1e5], eps=[0.1, 0.2])
    )
    assert johnson_lindenstrauss_min_dim(1e6, 0.5) == 663


@given(st.floats(1, 1e12), st.floats(1e-3, 0.999))
def test_jl_min_dim_property_matches_scikit_learn(n: float, eps: float) -> None:
    pytest.importorskip("sklearn")
    from sklearn.random_projection import johnson_lindenstrauss_min_dim as sk_jl

    assert johnson_lindenstrauss_min_dim(n, eps=eps) == sk_jl(n, eps=eps)


@pytest.mark.parametrize(
    ("n", "eps", "error", "match"),
    [
        (100, 0.0, ValueError, "'eps'"),
        (100, 1.0, ValueError, "'eps'"),
        (100, [0.5, 1.5], ValueError, "'eps'"),
        (100, float("nan"), ValueError, "'eps'"),
        (0, 0.1, ValueError, "'n_samples'"),
        (0.5, 0.1, ValueError, "'n_samples'"),
        ([10, -1], 0.1, ValueError, "'n_samples'"),
        ("100", 0.1, TypeError, "'n_samples'"),
        (100, 0.1j, TypeError, "'eps'"),
    ],
)
def test_jl_min_dim_rejects_bad_arguments(
    n: Any, eps: Any, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        johnson_lindenstrauss_min_dim(n, eps=eps)


# -- inverse_transform and the dimensionality warning (issue 21) ------------------------


@pytest.mark.parametrize("method", ["sparse", "gaussian", "srht"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_inverse_transform_is_the_pseudo_inverse(method: str, dtype: Any) -> None:
    import scipy.linalg

    X = images(5, (6, 5), seed=2).astype(np.float64)
    encoder = RandomProjectionImageEncoder(
        8, method=method, normalize=False, dtype=dtype, seed=4
    ).fit(X)
    Y = encoder.transform(X)
    back = encoder.inverse_transform(Y)
    assert back.shape == (5, 30) and back.dtype == np.dtype(dtype)
    matrix = encoder.get_projection_matrix()
    dense = matrix.toarray() if hasattr(matrix, "toarray") else matrix
    expected = Y.astype(np.float64) @ scipy.linalg.pinv(dense.astype(np.float64)).T
    tolerance = 1e-9 if dtype is np.float64 else 1e-3
    np.testing.assert_allclose(back, expected, rtol=tolerance, atol=tolerance * abs(expected).max())
    # k < d: projecting the pre-image gives Y back.
    np.testing.assert_allclose(encoder.transform(back), Y, rtol=tolerance, atol=tolerance * 100)
    assert "_inverse" in vars(encoder)
    assert encoder.inverse_transform(Y[:0]).shape == (0, 30)


def test_inverse_transform_refuses_above_the_memory_budget_naming_it() -> None:
    X = np.ones((1, 100))
    encoder = RandomProjectionImageEncoder(50, max_matrix_bytes=10_000).fit(X)
    with pytest.raises(ValueError, match=r"max_matrix_bytes=10000"):
        encoder.inverse_transform(np.ones((1, 50)))
    needed = 8 * (2 * 50 * 100 + 50 * 150)
    encoder.set_params(max_matrix_bytes=needed)
    assert encoder.inverse_transform(np.ones((1, 50))).shape == (1, 100)


def test_inverse_transform_bad_input() -> None:
    from mmref.exceptions import NotFittedError

    encoder = RandomProjectionImageEncoder(4)
    with pytest.raises(NotFittedError):
        encoder.inverse_transform(np.ones((1, 4)))
    encoder.fit(np.ones((1, 10)))
    with pytest.raises(ValueError, match="n_components=4"):
        encoder.inverse_transform(np.ones((1, 5)))
    with pytest.raises(ValueError, match="NaN or infinity"):
        encoder.inverse_transform(np.full((2, 4), np.nan))
    with pytest.raises(TypeError, match="Y"):
        encoder.inverse_transform(np.array([["a"] * 4]))
    with pytest.raises(ValueError, match="Y"):
        encoder.inverse_transform(np.ones(4))


def test_more_components_than_pixels_warns_at_fit_with_sklearns_wording() -> None:
    from mmref.exceptions import DataDimensionalityWarning

    message = (
        r"The number of components is higher than the number of features: "
        r"n_features < n_components \(3 < 4\)\.The dimensionality of the problem will not "
        r"be reduced\."
    )
    with pytest.warns(DataDimensionalityWarning, match=message):
        RandomProjectionImageEncoder(4).fit(np.ones((2, 3)))
    # No warning when k <= d, nor from transform (which needs no fit).
    RandomProjectionImageEncoder(3).fit(np.ones((2, 3)))
    RandomProjectionImageEncoder(4).transform(np.ones((2, 3)))
