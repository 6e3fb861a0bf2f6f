"""CCAAlignment and AlignedEncoder.

The canonical correlations and maps are checked against two independent
computations: the symmetric generalized eigenproblem solved by
``scipy.linalg.eigh``, and scikit-learn's iterative ``CCA``. Random data comes
from mmref's integer hashing (never NumPy generators), so every number here is
the same on every run.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.linalg
from helpers import latent_pairs
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import mmref
from mmref.alignment import AlignedEncoder, CCAAlignment
from mmref.testing import mix64, normal


def regularized_covariances(
    x: np.ndarray, y: np.ndarray, reg: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The covariances as the specification defines them, written out directly."""
    n = x.shape[0]
    xc = x - x.mean(axis=0)
    yc = y - y.mean(axis=0)
    cxx = xc.T @ xc / (n - 1)
    cyy = yc.T @ yc / (n - 1)
    cxx = cxx + reg * np.trace(cxx) / x.shape[1] * np.eye(x.shape[1])
    cyy = cyy + reg * np.trace(cyy) / y.shape[1] * np.eye(y.shape[1])
    return cxx, cyy, xc.T @ yc / (n - 1)


# --- agreement with independent computations ------------------------------------------------


@pytest.mark.parametrize("reg", [0.0, 1e-3, 0.5])
def test_matches_generalized_eigenproblem(reg: float) -> None:
    x, y = latent_pairs(1, n=300, p=7, q=5, r=3, noise=0.7)
    k = 4
    cca = CCAAlignment(k, reg=reg).fit(x, y)
    cxx, cyy, cxy = regularized_covariances(x, y, reg)
    p, q = cxx.shape[0], cyy.shape[0]
    a = np.block([[np.zeros((p, p)), cxy], [cxy.T, np.zeros((q, q))]])
    b = scipy.linalg.block_diag(cxx, cyy)
    values, vectors = scipy.linalg.eigh(a, b)
    top = np.argsort(values)[::-1][:k]
    np.testing.assert_allclose(cca.canonical_correlations_, values[top], rtol=1e-9, atol=1e-12)
    # eigh normalizes v.T @ B @ v = 1, which splits evenly between the two halves
    # (each has B-norm 1/2), so Wx = sqrt(2) * v[:p] up to the sign of the component.
    expected = np.sqrt(2.0) * vectors[:, top]
    signs = np.sign(np.sum(expected[:p] * cca.image_weights_, axis=0))
    np.testing.assert_allclose(cca.image_weights_, expected[:p] * signs, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(cca.text_weights_, expected[p:] * signs, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("reg", [0.0, 0.01])
def test_maps_satisfy_the_cca_constraints(reg: float) -> None:
    x, y = latent_pairs(2, n=200, p=12, q=9, r=4, noise=1.0)
    cca = CCAAlignment(6, reg=reg).fit(x, y)
    cxx, cyy, cxy = regularized_covariances(x, y, reg)
    wx, wy = cca.image_weights_, cca.text_weights_
    np.testing.assert_allclose(wx.T @ cxx @ wx, np.eye(6), atol=1e-10)
    np.testing.assert_allclose(wy.T @ cyy @ wy, np.eye(6), atol=1e-10)
    np.testing.assert_allclose(wx.T @ cxy @ wy, np.diag(cca.canonical_correlations_), atol=1e-10)
    assert np.all(np.diff(cca.canonical_correlations_) <= 0)


def test_matches_scikit_learn_cca() -> None:
    pytest.importorskip("sklearn")
    from sklearn.cross_decomposition import CCA

    x, y = latent_pairs(3, n=400, p=5, q=4, r=3, noise=0.6)
    k = 3
    ours = CCAAlignment(k, reg=0.0).fit(x, y)
    theirs = CCA(n_components=k, scale=False, max_iter=5000, tol=1e-14).fit(x, y)
    x_scores, y_scores = theirs.transform(x, y)
    u = (x - ours.image_mean_) @ ours.image_weights_
    v = (y - ours.text_mean_) @ ours.text_weights_
    for j in range(k):
        # With reg = 0 the canonical correlations are the correlations of the
        # training scores, for both implementations.
        np.testing.assert_allclose(
            np.corrcoef(u[:, j], v[:, j])[0, 1], ours.canonical_correlations_[j], rtol=1e-10
        )
        np.testing.assert_allclose(
            np.corrcoef(x_scores[:, j], y_scores[:, j])[0, 1],
            ours.canonical_correlations_[j],
            rtol=1e-8,
        )
        # And the canonical variates are the same directions (up to sign and scale).
        assert abs(np.corrcoef(u[:, j], x_scores[:, j])[0, 1]) == pytest.approx(1.0, abs=1e-8)
        assert abs(np.corrcoef(v[:, j], y_scores[:, j])[0, 1]) == pytest.approx(1.0, abs=1e-8)


def test_perfectly_correlated_modalities_have_correlation_one() -> None:
    x = normal(4, (50, 3))
    y = np.column_stack([x @ [1.0, -2.0, 0.5], normal(5, (50, 2))])
    cca = CCAAlignment(1, reg=0.0).fit(x, y)
    assert cca.canonical_correlations_[0] == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(cca.transform_image(x), cca.transform_text(y), atol=1e-9)


# --- the shared space ------------------------------------------------------------------------


def test_transform_rows_are_unit_or_zero() -> None:
    x, y = latent_pairs(6, n=120, p=10, q=8, r=3, noise=0.5)
    cca = CCAAlignment(5).fit(x, y)
    images = cca.transform_image(np.vstack([x, x.mean(axis=0, keepdims=True)]))
    texts = cca.transform_text(y)
    assert images.shape == (121, 5) and texts.shape == (120, 5)
    assert images.dtype == np.float64 and texts.dtype == np.float64
    np.testing.assert_allclose(np.linalg.norm(images[:-1], axis=1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(np.linalg.norm(texts, axis=1), 1.0, rtol=1e-14)
    # The mean embedding maps to the origin: it stays an exact zero row, not NaN.
    assert np.array_equal(images[-1], np.zeros(5))


def test_transform_of_tiny_and_huge_rows_is_finite() -> None:
    x, y = latent_pairs(7, n=60, p=4, q=4, r=2, noise=0.5)
    cca = CCAAlignment(2).fit(x, y)
    extreme = cca.image_mean_ + np.array([[1e-300, 0, 0, 0], [1e150, -1e150, 0, 0]])
    shared = cca.transform_image(extreme)
    assert np.isfinite(shared).all()


def test_scale_of_a_modality_does_not_matter() -> None:
    # The ridge is relative to the average variance, so the result is scale-free.
    x, y = latent_pairs(8, n=150, p=9, q=6, r=3, noise=0.8)
    base = CCAAlignment(4, reg=0.05).fit(x, y)
    scaled = CCAAlignment(4, reg=0.05).fit(1000.0 * x, 1e-3 * y)
    np.testing.assert_allclose(
        scaled.canonical_correlations_, base.canonical_correlations_, rtol=1e-10
    )
    np.testing.assert_allclose(
        scaled.transform_image(1000.0 * x), base.transform_image(x), atol=1e-9
    )
    np.testing.assert_allclose(scaled.transform_text(1e-3 * y), base.transform_text(y), atol=1e-9)


def test_order_of_the_pairs_does_not_matter() -> None:
    x, y = latent_pairs(9, n=100, p=6, q=5, r=2, noise=0.5)
    order = np.argsort(mix64(np.arange(100, dtype=np.uint64)))
    base = CCAAlignment(3).fit(x, y)
    permuted = CCAAlignment(3).fit(x[order], y[order])
    np.testing.assert_allclose(permuted.image_weights_, base.image_weights_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(permuted.text_weights_, base.text_weights_, rtol=1e-9, atol=1e-12)


def test_paired_retrieval_is_far_above_chance() -> None:
    from mmref.retrieval import recall_at_k

    # 8 shared latent factors; per column, the noise variance (4) is half the signal's (8).
    x, y = latent_pairs(10, n=700, p=40, q=30, r=8, noise=2.0)
    cca = CCAAlignment(8).fit(x[:500], y[:500])
    images, texts = cca.transform_image(x[500:]), cca.transform_text(y[500:])
    # Chance is 1/200 = 0.005 at k=1 and 0.025 at k=5. The fixed-seed values are
    # 0.61 (image to text), 0.60 (text to image) and 0.86
    # (image to text at k=5); the thresholds sit far below, so the test fails only if
    # the alignment stops aligning, not on an unlucky draw.
    assert recall_at_k(images, texts, 1) > 0.2
    assert recall_at_k(texts, images, 1) > 0.2
    assert recall_at_k(images, texts, 5) > 0.5


# --- determinism -----------------------------------------------------------------------------


def test_two_fits_give_identical_bytes() -> None:
    x, y = latent_pairs(11, n=250, p=20, q=15, r=5, noise=1.0)
    first = CCAAlignment(6).fit(x, y)
    second = CCAAlignment(6).fit(x.copy(), y.copy())
    for name in ("image_weights_", "text_weights_", "canonical_correlations_", "image_mean_"):
        assert getattr(first, name).tobytes() == getattr(second, name).tobytes()
    assert first.transform_image(x).tobytes() == second.transform_image(x).tobytes()
    assert first.transform_text(y).tobytes() == second.transform_text(y).tobytes()


def test_sign_convention() -> None:
    x, y = latent_pairs(12, n=200, p=10, q=7, r=4, noise=0.8)
    cca = CCAAlignment(5).fit(x, y)
    columns = np.arange(5)
    largest = cca.image_weights_[np.argmax(np.abs(cca.image_weights_), axis=0), columns]
    assert np.all(largest > 0)
    # Negating the image data negates the image map before the sign rule; the rule
    # restores it, and the text map follows (their correlation must stay positive).
    flipped = CCAAlignment(5).fit(-x, y)
    np.testing.assert_allclose(flipped.image_weights_, cca.image_weights_, rtol=1e-9)
    np.testing.assert_allclose(flipped.text_weights_, -cca.text_weights_, rtol=1e-9)


def test_float32_and_integer_inputs_compute_in_float64() -> None:
    x, y = latent_pairs(13, n=80, p=5, q=4, r=2, noise=0.5)
    x_int = np.round(10 * x).astype(np.int32)
    cca = CCAAlignment(2).fit(x_int, y.astype(np.float32))
    reference = CCAAlignment(2).fit(
        x_int.astype(np.float64), y.astype(np.float32).astype(np.float64)
    )
    assert cca.image_weights_.dtype == np.float64
    assert cca.image_weights_.tobytes() == reference.image_weights_.tobytes()


# --- parameters and errors -------------------------------------------------------------------


def test_constructor_stores_parameters_unchanged() -> None:
    cca = CCAAlignment(n_components="many", reg=None)  # type: ignore[arg-type]
    assert cca.n_components == "many" and cca.reg is None
    assert repr(CCAAlignment()) == "CCAAlignment(n_components=32, reg=0.001)"
    with pytest.raises(TypeError, match="'n_components' parameter of CCAAlignment must be an int"):
        cca.fit(np.ones((3, 2)), np.ones((3, 2)))


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        (
            {"n_components": 0},
            ValueError,
            "'n_components' parameter of CCAAlignment must be an int >= 1. Got 0",
        ),
        ({"n_components": True}, TypeError, "'n_components' parameter"),
        ({"n_components": 2.0}, TypeError, "'n_components' parameter"),
        (
            {"reg": -0.1},
            ValueError,
            "'reg' parameter of CCAAlignment must be a float >= 0.0. Got -0.1",
        ),
        ({"reg": float("nan")}, ValueError, "'reg' parameter"),
        ({"reg": "0.1"}, TypeError, "'reg' parameter"),
    ],
)
def test_bad_parameters(params: dict[str, Any], error: type[Exception], message: str) -> None:
    x, y = latent_pairs(14, n=30, p=4, q=3, r=2, noise=0.5)
    with pytest.raises(error, match=message.replace("(", r"\(").replace(".", r"\.")):
        CCAAlignment(**{"n_components": 2, **params}).fit(x, y)


@pytest.mark.parametrize(
    ("n", "p", "q", "limit"),
    [(30, 4, 3, 3), (30, 2, 9, 2), (4, 10, 10, 3)],
)
def test_too_many_components(n: int, p: int, q: int, limit: int) -> None:
    x, y = latent_pairs(15, n=n, p=p, q=q, r=2, noise=0.5)
    CCAAlignment(limit).fit(x, y)
    with pytest.raises(
        ValueError, match=rf"'n_components' .* an int in \[1, {limit}\] for this data"
    ):
        CCAAlignment(limit + 1).fit(x, y)


def test_bad_inputs() -> None:
    x, y = latent_pairs(16, n=40, p=5, q=4, r=2, noise=0.5)
    cca = CCAAlignment(2)
    with pytest.raises(ValueError, match=r"image_embeddings has 40 rows .* text_embeddings has 39"):
        cca.fit(x, y[:39])
    with pytest.raises(ValueError, match=r"image_embeddings has shape \(40,\); expected a 2-D"):
        cca.fit(x[:, 0], y)
    with pytest.raises(ValueError, match=r"text_embeddings has shape \(40, 0\)"):
        cca.fit(x, y[:, :0])
    with pytest.raises(TypeError, match="text_embeddings has dtype complex128"):
        cca.fit(x, y + 0j)
    with pytest.raises(ValueError, match="at least 2 image-text pairs"):
        cca.fit(x[:1], y[:1])
    bad = x.copy()
    bad[[3, 17], 1] = [np.nan, np.inf]
    with pytest.raises(
        ValueError, match=r"image_embeddings contains NaN or infinity in 2 row\(s\): 3, 17"
    ):
        cca.fit(bad, y)
    with pytest.raises(ValueError, match="text_embeddings is constant"):
        cca.fit(x, np.ones_like(y))
    with pytest.raises(ValueError, match="covariance of image_embeddings is singular"):
        CCAAlignment(2, reg=0.0).fit(np.column_stack([x, x[:, :1]]), y)
    with pytest.raises(ValueError, match="overflow"):
        cca.fit(x * 1e200, y)


def test_constant_and_underflowing_variance_have_their_own_messages() -> None:
    x, y = latent_pairs(18, n=40, p=5, q=4, r=2, noise=0.5)
    cca = CCAAlignment(2)
    constant = "is constant: every column has zero variance"
    tiny = r"is too small in magnitude: .* variance underflows float64 .*; rescale"
    # Constant columns, each with its own value (the rounded mean leaves them a tiny
    # nonzero variance), and constant values too small to square.
    with pytest.raises(ValueError, match=f"image_embeddings {constant}"):
        cca.fit(np.tile(x[:1], (40, 1)), y)
    with pytest.raises(ValueError, match=f"text_embeddings {constant}"):
        cca.fit(x, np.full_like(y, 1e-200))
    # Varying values whose squared deviations underflow: not constant.
    with pytest.raises(ValueError, match=f"image_embeddings {tiny}") as caught:
        cca.fit(x * 1e-200, y)
    largest = float(np.abs(x).max() * 1e-200)
    assert f"largest absolute value {largest:.3g}" in str(caught.value)
    with pytest.raises(ValueError, match=f"text_embeddings {tiny}"):
        cca.fit(x, y * 1e-200)
    # Variation only in the last row, after the first block of rows that is checked.
    n = 4096 + 2
    late = np.full((n, 4), 1e-200)
    late[-1, 2] = 2e-200
    with pytest.raises(ValueError, match=f"text_embeddings {tiny}"):
        CCAAlignment(1).fit(normal(19, (n, 3)), late)
    # The suggested rescaling works.
    rescaled = y * 1e-200
    rescaled = rescaled / np.abs(rescaled).max()
    np.testing.assert_allclose(
        cca.fit(x, rescaled).canonical_correlations_,
        CCAAlignment(2).fit(x, y).canonical_correlations_,
        rtol=1e-10,
    )


def test_transform_errors() -> None:
    x, y = latent_pairs(17, n=40, p=5, q=4, r=2, noise=0.5)
    with pytest.raises(mmref.NotFittedError, match="Call 'fit'"):
        CCAAlignment(2).transform_image(x)
    cca = CCAAlignment(2).fit(x, y)
    with pytest.raises(
        ValueError, match="image_embeddings has 4 features, but CCAAlignment was fitted with 5"
    ):
        cca.transform_image(x[:, :4])
    with pytest.raises(
        ValueError, match="text_embeddings has 5 features, but CCAAlignment was fitted with 4"
    ):
        cca.transform_text(x)
    with pytest.raises(ValueError, match="NaN or infinity"):
        cca.transform_text(np.full((1, 4), np.nan))
    # Weights of about 1e3 (fitted on small texts) times 1e306 overflows float64.
    small = CCAAlignment(2).fit(x, 1e-3 * y)
    with pytest.raises(ValueError, match=r"text_embeddings has 1 row\(s\) \(1\) too large"):
        small.transform_text(np.array([[0.0, 0, 0, 0], [1e306, -1e306, 1e306, -1e306]]))
    assert cca.transform_text(np.empty((0, 4))).shape == (0, 2)


# --- properties ------------------------------------------------------------------------------

small_matrices = st.integers(3, 12).flatmap(
    lambda n: st.tuples(
        hnp.arrays(
            np.float64,
            st.tuples(st.just(n), st.integers(1, 4)),
            elements=st.floats(-8, 8, width=16),
        ),
        hnp.arrays(
            np.float64,
            st.tuples(st.just(n), st.integers(1, 4)),
            elements=st.floats(-8, 8, width=16),
        ),
    )
)


@given(small_matrices, st.sampled_from([1e-3, 0.1, 1.0]))
def test_fit_on_arbitrary_data_is_well_defined(
    data: tuple[np.ndarray, np.ndarray], reg: float
) -> None:
    x, y = data
    k = min(x.shape[0] - 1, x.shape[1], y.shape[1])
    if np.ptp(x, axis=0).max() == 0 or np.ptp(y, axis=0).max() == 0:
        with pytest.raises(ValueError, match="is constant"):
            CCAAlignment(k, reg=reg).fit(x, y)
        return
    cca = CCAAlignment(k, reg=reg).fit(x, y)
    rho = cca.canonical_correlations_
    assert np.all((rho >= 0) & (rho <= 1)) and np.all(np.diff(rho) <= 1e-12)
    cxx, cyy, _ = regularized_covariances(x, y, reg)
    wx, wy = cca.image_weights_, cca.text_weights_
    np.testing.assert_allclose(wx.T @ cxx @ wx, np.eye(k), atol=1e-6)
    np.testing.assert_allclose(wy.T @ cyy @ wy, np.eye(k), atol=1e-6)
    for shared in (cca.transform_image(x), cca.transform_text(y)):
        norms = np.linalg.norm(shared, axis=1)
        assert np.all((np.abs(norms - 1) < 1e-12) | (norms == 0))


# --- AlignedEncoder --------------------------------------------------------------------------


class LatentEncoder:
    """A toy EmbeddingModel: 'images' and 'texts' are integer ids of latent_pairs rows."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x, self.y = x, y
        self.fit_calls: list[tuple[Any, Any]] = []

    def fit(self, images: Any, texts: Any) -> LatentEncoder:
        self.fit_calls.append((images, texts))
        return self

    def encode_image(self, image: Any) -> np.ndarray:
        return self.x[np.asarray(image)]

    def encode_text(self, text: Any) -> list[list[float]]:
        return self.y[np.asarray(text)].tolist()  # any array-like is a valid output


def test_aligned_encoder_is_an_embedding_model_in_the_shared_space() -> None:
    x, y = latent_pairs(18, n=200, p=12, q=9, r=3, noise=0.5)
    encoder = LatentEncoder(x, y)
    model = AlignedEncoder(encoder, CCAAlignment(3))
    ids = np.arange(200)
    assert model.fit(ids, ids) is model
    assert len(encoder.fit_calls) == 1
    assert isinstance(model, mmref.EmbeddingModel)
    np.testing.assert_array_equal(
        model.encode_image(ids[:5]), model.alignment.transform_image(x[:5])
    )
    np.testing.assert_array_equal(model.encode_text(ids[:5]), model.alignment.transform_text(y[:5]))
    joint = mmref.joint_embedding(ids[:5], ids[:5], model)
    assert joint.shape == (5, 6)
    # The alignment was fitted on the encoder's embeddings of the training pairs.
    reference = CCAAlignment(3).fit(x, y)
    assert model.alignment.image_weights_.tobytes() == reference.image_weights_.tobytes()


def test_aligned_encoder_fit_encoder_false_leaves_the_encoder_alone() -> None:
    x, y = latent_pairs(19, n=50, p=4, q=4, r=2, noise=0.5)
    encoder = LatentEncoder(x, y)
    AlignedEncoder(encoder, CCAAlignment(2)).fit(np.arange(50), np.arange(50), fit_encoder=False)
    assert encoder.fit_calls == []


def test_aligned_encoder_before_fit_and_with_bad_outputs() -> None:
    x, y = latent_pairs(20, n=50, p=4, q=4, r=2, noise=0.5)
    with pytest.raises(mmref.NotFittedError):
        AlignedEncoder(LatentEncoder(x, y), CCAAlignment(2)).encode_image([0, 1])
    model = AlignedEncoder(LatentEncoder(x, y), CCAAlignment(2))
    with pytest.raises(ValueError, match=r"model.encode_image returned an array of shape \(4,\)"):
        model.fit(0, np.arange(50))
