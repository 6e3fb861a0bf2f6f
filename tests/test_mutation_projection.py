"""The image encoder's projections, as a user sees them (mmref/image.py, mmref/_projection.py).

Written to kill the mutants tools/mutation.py finds in those modules that the golden
patterns and the statistical tests (tests/test_image.py, tests/test_gaussian.py) do not
see: prefix stability of the SRHT coordinates for every ``k``, float32 computed in
float32 whatever the input dtype, chunk bounds far below ``batch_size``, the memory
budget of ``inverse_transform`` at its documented boundary, the pseudo-inverse following
the encoder's current parameters, and the errors naming what is wrong.
"""

from __future__ import annotations

import contextlib
import os
import tracemalloc
from typing import Any

import numpy as np
import pytest
import scipy.linalg
from helpers import images

from mmref.exceptions import DataDimensionalityWarning
from mmref.image import RandomProjectionImageEncoder, johnson_lindenstrauss_min_dim

METHODS = ["sparse", "gaussian", "srht"]


def _dense(matrix: Any) -> np.ndarray:
    return np.asarray(matrix.toarray() if hasattr(matrix, "toarray") else matrix)


# -- SRHT ------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 2**64 - 1])
def test_srht_coordinates_are_prefix_stable_for_every_k(seed: int) -> None:
    # The k coordinates of a k-component SRHT are the first k of the d-component one, in
    # the same order, for every k (SPEC.md: the k smallest hashes in increasing order).
    # d is large enough that a selection off by one differs for some k.
    d = 300
    X = images(3, (d,), seed=seed % 7).astype(np.float64)
    full = RandomProjectionImageEncoder(d, method="srht", seed=seed, normalize=False)
    Y_full = full.transform(X)
    for k in range(1, d + 1):
        part = RandomProjectionImageEncoder(k, method="srht", seed=seed, normalize=False)
        np.testing.assert_allclose(
            part.transform(X) * np.sqrt(k / d), Y_full[:, :k], rtol=1e-12, atol=1e-9
        )


def test_float32_computes_in_float32_whatever_the_input_dtype() -> None:
    # dtype=float32 "also computes in float32": a float64 image gives what its float32
    # rounding gives, bit for bit.
    X64 = images(4, (12, 12), seed=3).astype(np.float64) / 7.0
    X32 = X64.astype(np.float32)
    for method in METHODS:
        encoder = RandomProjectionImageEncoder(
            16, method=method, dtype=np.float32, normalize=False, seed=5
        )
        a, b = encoder.transform(X64), encoder.transform(X32)
        assert a.dtype == b.dtype == np.float32
        assert a.tobytes() == b.tobytes(), method


@pytest.mark.parametrize("method", ["sparse", "srht"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_chunks_below_a_huge_batch_size_give_the_same_rows(method: str, dtype: Any) -> None:
    # Large images cap a chunk at a few MiB of converted pixels whatever batch_size says;
    # the rows do not depend on it, bit for bit.
    X = images(3, (3000,), seed=1)
    one = RandomProjectionImageEncoder(8, method=method, dtype=dtype, batch_size=1)
    huge = RandomProjectionImageEncoder(8, method=method, dtype=dtype, batch_size=10**7)
    assert huge.transform(X).tobytes() == one.transform(X).tobytes()


def _peak_bytes(func: Any) -> int:
    tracemalloc.start()
    try:
        func()
        return int(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()


def test_sparse_chunks_of_large_images_stay_within_a_few_mib() -> None:
    # Documented: two chunks of min(batch_size, 256, 3 MiB / (8 d)) converted images;
    # converting all 16 images of 100000 pixels at once would take 12.8 MB.
    X = images(16, (100_000,), seed=2)
    encoder = RandomProjectionImageEncoder(8, normalize=False)
    encoder.fit(X[:1])
    reference = RandomProjectionImageEncoder(8, normalize=False, batch_size=1).transform(X)
    out: list[np.ndarray] = []
    peak = _peak_bytes(lambda: out.append(encoder.transform(X)))
    assert out[0].tobytes() == reference.tobytes()
    assert peak < 8 * 2**20


def test_a_sparse_matrix_over_budget_is_generated_in_blocks_never_whole() -> None:
    # density=1 and d * k = 2e6 entries: about 24 MB as a CSR matrix, against a budget of
    # 1 MiB; each call regenerates it block by block.
    X = images(2, (10_000,), seed=3)
    cached = RandomProjectionImageEncoder(200, density=1.0, normalize=False).transform(X)
    encoder = RandomProjectionImageEncoder(
        200, density=1.0, normalize=False, max_matrix_bytes=2**20
    )
    out: list[np.ndarray] = []
    peak = _peak_bytes(lambda: out.append(encoder.transform(X)))
    assert out[0].tobytes() == cached.tobytes()
    assert peak < 8 * 2**20


# -- inverse_transform ---------------------------------------------------------------------


@pytest.mark.parametrize(("k", "d"), [(4, 12), (12, 4), (5, 5)])
def test_inverse_transform_budget_is_the_documented_bound(k: int, d: int) -> None:
    # About 8 * (2 k d + min(k, d) (k + d)) bytes; a budget one byte lower is refused,
    # naming the budget and the bytes needed.
    needed = 8 * (2 * k * d + min(k, d) * (k + d))
    X = images(2, (d,)).astype(np.float64)
    Y = np.ones((2, k))
    with pytest.warns(DataDimensionalityWarning) if k > d else contextlib.nullcontext():
        encoder = RandomProjectionImageEncoder(k, max_matrix_bytes=needed - 1).fit(X)
    with pytest.raises(
        ValueError, match=rf"needs about {needed} bytes.*max_matrix_bytes={needed - 1}"
    ):
        encoder.inverse_transform(Y)
    encoder.set_params(max_matrix_bytes=needed)
    assert encoder.inverse_transform(Y).shape == (2, d)


@pytest.mark.parametrize("method", METHODS)
def test_inverse_transform_follows_the_current_parameters(method: str) -> None:
    # The cached pseudo-inverse belongs to one configuration: after set_params the
    # inverse is the new matrix's, as a fresh encoder computes it.
    X = images(3, (6, 5), seed=2).astype(np.float64)
    Y = np.arange(24.0).reshape(3, 8) / 10.0
    encoder = RandomProjectionImageEncoder(8, method=method, normalize=False).fit(X)
    first = encoder.inverse_transform(Y)
    assert encoder.inverse_transform(Y).tobytes() == first.tobytes()
    for change in ({"seed": 1}, {"dtype": np.float32}, {"seed": 0, "dtype": np.float64}):
        encoder.set_params(**change)
        fresh = RandomProjectionImageEncoder(**encoder.get_params()).fit(X)
        again = encoder.inverse_transform(Y)
        assert again.dtype == fresh.inverse_transform(Y).dtype
        assert again.tobytes() == fresh.inverse_transform(Y).tobytes(), change
    assert encoder.inverse_transform(Y).tobytes() == first.tobytes()


@pytest.mark.parametrize("method", METHODS)
def test_float32_inverse_is_the_float64_pinv_rounded_then_applied_in_float32(method: str) -> None:
    # Documented: pinv of M in float64, rounded to dtype, then Y (in dtype) times it.
    X = images(3, (7, 5), seed=4).astype(np.float64)
    encoder = RandomProjectionImageEncoder(9, method=method, dtype=np.float32).fit(X)
    Y = np.random.default_rng(0).normal(size=(6, 9))
    M = _dense(encoder.get_projection_matrix()).astype(np.float64)
    inverse = np.ascontiguousarray(scipy.linalg.pinv(M), dtype=np.float32)
    expected = Y.astype(np.float32) @ inverse.T
    back = encoder.inverse_transform(Y)
    assert back.dtype == np.float32
    assert back.tobytes() == expected.tobytes()


def test_inverse_transform_names_y_and_the_first_bad_row() -> None:
    encoder = RandomProjectionImageEncoder(4).fit(np.ones((1, 10)))
    Y = np.ones((5, 4))
    Y[3, 1] = np.inf
    Y[4, 0] = np.nan
    with pytest.raises(ValueError, match=r"\(row 3\)"):
        encoder.inverse_transform(Y)
    Y[3, 1] = 0.0
    with pytest.raises(ValueError, match=r"\(row 4\)"):
        encoder.inverse_transform(Y)
    with pytest.raises(ValueError, match=r"^Y must be a 2-D array.*inverse_transform.*\(4,\)"):
        encoder.inverse_transform(np.ones(4))
    with pytest.raises(TypeError, match=r"^Y must be .*RandomProjectionImageEncoder"):
        encoder.inverse_transform(np.array([["a"] * 4]))


# -- johnson_lindenstrauss_min_dim ----------------------------------------------------------


def test_jl_min_dim_default_eps_and_errors_name_the_function() -> None:
    sk = pytest.importorskip("sklearn.random_projection")
    for n in (10, 1e4, 1e6):
        assert johnson_lindenstrauss_min_dim(n) == sk.johnson_lindenstrauss_min_dim(n)
    where = "parameter of johnson_lindenstrauss_min_dim must be"
    eps_rule = rf"The 'eps' {where} a float in \(0, 1\), or an array of them\. Got 1\.5 instead\."
    with pytest.raises(ValueError, match=f"^{eps_rule}$"):
        johnson_lindenstrauss_min_dim(100, eps=1.5)
    n_rule = rf"The 'n_samples' {where} a number >= 1, or an array of positive numbers\. Got "
    for bad, shown in [(0.5, "0.5"), (float("nan"), "nan"), ([0, 5], r"\[0, 5\]")]:
        with pytest.raises(ValueError, match=f"^{n_rule}{shown} instead\\.$"):
            johnson_lindenstrauss_min_dim(bad)
    for name, kwargs in [
        ("eps", {"n_samples": 100, "eps": "x"}),
        ("n_samples", {"n_samples": "x"}),
    ]:
        with pytest.raises(TypeError, match=f"^The '{name}' {where} a real number"):
            johnson_lindenstrauss_min_dim(**kwargs)


# -- fit, transform and get_projection_matrix ---------------------------------------------


@pytest.mark.parametrize("method", ["sparse", "gaussian"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_projection_matrix_over_budget_equals_the_cached_one(method: str, dtype: Any) -> None:
    # A matrix not held in memory (max_matrix_bytes=0) is generated whole on request:
    # the same matrix, of shape (k, d), reproducing transform.
    X = images(3, (7, 6), seed=5).astype(np.float64)
    params = {"n_components": 9, "method": method, "dtype": dtype, "normalize": False}
    held = RandomProjectionImageEncoder(**params, seed=2).get_projection_matrix(42)
    streamed = RandomProjectionImageEncoder(**params, seed=2, max_matrix_bytes=0)
    M = _dense(streamed.get_projection_matrix(42))
    assert M.shape == (9, 42) and M.dtype == np.dtype(dtype)
    assert M.tobytes() == _dense(held).tobytes()
    np.testing.assert_allclose(streamed.transform(X), X.reshape(3, 42) @ M.T, rtol=1e-5, atol=1e-3)


def test_srht_projection_matrix_has_the_encoders_dtype() -> None:
    for dtype in (np.float64, np.float32):
        M = RandomProjectionImageEncoder(5, method="srht", dtype=dtype).get_projection_matrix(11)
        assert M.shape == (5, 11) and M.dtype == np.dtype(dtype)


def test_get_projection_matrix_refuses_a_bad_n_features_naming_it() -> None:
    encoder = RandomProjectionImageEncoder(4)
    message = r"The 'n_features' parameter of RandomProjectionImageEncoder must be an int >= 1"
    with pytest.raises(ValueError, match=message):
        encoder.get_projection_matrix(0)
    with pytest.raises(TypeError, match=message):
        encoder.get_projection_matrix(2.5)


def test_fit_refuses_no_images_naming_what_is_missing() -> None:
    encoder = RandomProjectionImageEncoder(4)
    with pytest.raises(ValueError, match=r"^X is an empty list.*\(n_samples, H, W\)\.$"):
        encoder.fit([])
    with pytest.raises(ValueError, match=r"^X has 0 samples \(shape \(0, 5\)\); fit needs"):
        encoder.fit(np.zeros((0, 5)))
    assert not hasattr(encoder, "n_features_in_")


def test_fit_checks_the_image_shape() -> None:
    encoder = RandomProjectionImageEncoder(4, image_shape=(4, 4))
    with pytest.raises(ValueError, match=r"image_shape=\(4, 4\)"):
        encoder.fit(np.zeros((2, 2, 8)))
    assert encoder.fit(np.zeros((2, 4, 4))).n_features_in_ == 16


def test_transform_after_fit_refuses_another_width() -> None:
    encoder = RandomProjectionImageEncoder(4).fit(np.ones((2, 10)))
    with pytest.raises(ValueError, match=r"fitted on images of 10 pixels"):
        encoder.transform(np.ones((2, 12)))
    with pytest.raises(ValueError, match=r"fitted on images of 10 pixels"):
        encoder.encode_image(np.ones((3, 4)))


def test_fit_names_non_finite_images_without_a_warning() -> None:
    # Huge finite pixels overflow the check's sum: that is no error; inf - inf is NaN.
    assert RandomProjectionImageEncoder(2).fit(np.full((2, 2), 1e308)).n_features_in_ == 2
    X = np.zeros((3, 2))
    X[1] = [np.inf, -np.inf]
    with pytest.raises(ValueError, match=r"^Image 1 contains an infinite value"):
        RandomProjectionImageEncoder(2).fit(X)


def test_the_dimensionality_warning_points_at_the_callers_fit() -> None:
    from mmref.exceptions import DataDimensionalityWarning

    with pytest.warns(DataDimensionalityWarning) as record:
        RandomProjectionImageEncoder(4).fit(np.ones((2, 3)))
    # mmref's frames are not the culprit. (mutmut's trampolines add a frame to the stack:
    # under tools/mutation.py the attribution cannot be checked, see tests/MUTATION.md.)
    if "MUTANT_UNDER_TEST" not in os.environ:
        assert record[0].filename == __file__


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_large_srht_projection_matrix_is_built_in_chunks_of_columns(dtype: Any) -> None:
    # d = 2100 pixels: the unit images go through in chunks of 16 MiB; column i of M
    # is the projection of pixel i alone.
    d = 2100
    encoder = RandomProjectionImageEncoder(6, method="srht", dtype=dtype, normalize=False)
    M = encoder.get_projection_matrix(d)
    assert M.shape == (6, d) and M.dtype == np.dtype(dtype)
    np.testing.assert_allclose(M.T, encoder.transform(np.eye(d)), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_sparse_matrix_costs_its_documented_bytes_per_nonzero(dtype: Any) -> None:
    # About d * k * density * (itemsize + 4) bytes: 32-bit positions for images of fewer
    # than 2**31 pixels, values in the encoder's dtype, as held and as returned.
    itemsize = np.dtype(dtype).itemsize
    for budget in (64 * 2**20, 0):
        encoder = RandomProjectionImageEncoder(
            30, density=0.2, dtype=dtype, max_matrix_bytes=budget
        )
        M = encoder.get_projection_matrix(500)
        assert M.dtype == np.dtype(dtype)
        assert M.data.nbytes + M.indices.nbytes == M.nnz * (itemsize + 4)
        assert abs(M.nnz - 500 * 30 * 0.2) < 0.1 * 500 * 30 * 0.2


def test_a_sparse_matrix_of_many_column_groups_equals_it_generated_block_by_block() -> None:
    # Over 2**21 draws (density 1, 2**16 pixels, 33 columns): the columns are generated in
    # groups; whole or in blocks of 8 columns, the matrix and the projection are the same.
    d, k = 2**16, 33
    X = images(2, (d,), seed=6)
    whole = RandomProjectionImageEncoder(k, density=1.0, normalize=False)
    blocks = RandomProjectionImageEncoder(
        k, density=1.0, normalize=False, max_matrix_bytes=8 * 12 * d
    )
    assert whole.transform(X).tobytes() == blocks.transform(X).tobytes()
    M = whole.get_projection_matrix(d)
    assert M.nnz == d * k and np.array_equal(np.diff(M.indptr), np.full(k, d))
