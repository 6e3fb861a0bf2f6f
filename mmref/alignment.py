"""A shared embedding space for images and texts: regularized canonical correlation analysis.

:func:`mmref.joint_embedding` concatenates an image and a text embedding (early
fusion); the two halves live in unrelated spaces of different widths. Canonical
correlation analysis (CCA; Hotelling, 1936) learns two linear maps, one per
modality, into one shared ``k``-dimensional space in which a paired image and
caption land close together, so that the modalities can be compared directly
(cross-modal retrieval, zero-shot classification).

The math
--------
Let ``X`` of shape ``(n, p)`` hold the image embeddings and ``Y`` of shape
``(n, q)`` the text embeddings of ``n`` pairs, ``mx`` and ``my`` their column
means. With ``Xc = X - mx`` and ``Yc = Y - my``::

    Cxx = Xc.T @ Xc / (n - 1) + reg * trace(Xc.T @ Xc / (n - 1)) / p * I_p
    Cyy = Yc.T @ Yc / (n - 1) + reg * trace(Yc.T @ Yc / (n - 1)) / q * I_q
    Cxy = Xc.T @ Yc / (n - 1)

The ridge is *scale-aware*: ``reg`` is a fraction of the modality's average
per-column variance, so rescaling either modality by a constant changes
nothing, and ``reg`` means the same for a 256-wide image embedding as for a
1024-wide text embedding. CCA finds ``Wx`` of shape ``(p, k)`` and ``Wy`` of
shape ``(q, k)`` maximizing ``trace(Wx.T @ Cxy @ Wy)`` subject to
``Wx.T @ Cxx @ Wx = I`` and ``Wy.T @ Cyy @ Wy = I``. In closed form, with the
lower Cholesky factors ``Cxx = Lx @ Lx.T`` and ``Cyy = Ly @ Ly.T`` (whitening)
and the singular value decomposition of the whitened cross-covariance::

    M = inv(Lx) @ Cxy @ inv(Ly).T = U @ diag(s) @ Vt      (s descending)
    Wx = inv(Lx).T @ U[:, :k]
    Wy = inv(Ly).T @ Vt[:k].T

The canonical correlations are ``s[:k]``; with ``reg = 0`` they are the
correlations between the columns of ``Xc @ Wx`` and ``Yc @ Wy``, and with
``reg > 0`` slightly smaller (the regularized objective). Equivalently,
``(s, [Wx; Wy])`` solve the symmetric generalized eigenproblem
``[[0, Cxy], [Cxy.T, 0]] v = s [[Cxx, 0], [0, Cyy]] v``, which the tests use
as an independent check.

A singular vector is defined up to its sign; each component ``j`` is made
deterministic by flipping the signs of ``Wx[:, j]`` and ``Wy[:, j]`` together
so that the entry of ``Wx[:, j]`` largest in absolute value (the first such
entry on ties) is positive.

The shared-space embedding of an image is ``(x - mx) @ Wx`` and of a text
``(y - my) @ Wy``, each row L2-normalized (a zero row stays zero), so the
cosine similarity of an image and a text is a dot product.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ._atomic import publish, snapshot, view
from ._base import ParamsMixin
from ._numeric import normalize_rows
from ._threads import blas_threads_for, single_threaded_blas
from ._typing import EmbeddingModel, FloatArray
from ._validation import (
    as_embeddings,
    check_fitted,
    check_float_param,
    check_int_param,
    model_output,
    param_error,
    shape_str,
)

__all__ = ["AlignedEncoder", "CCAAlignment"]

# Rows per block when centring and projecting: bounds the temporary copies to
# _BLOCK_ROWS * width float64 values whatever n is. A fixed constant (not a
# parameter) so that a given input always goes through the same arithmetic.
_BLOCK_ROWS = 4096


class CCAAlignment(ParamsMixin):
    """Align image and text embeddings in one shared space with regularized CCA.

    Learns two linear maps, fitted in closed form (see the module docstring
    for the math): whitening by Cholesky factors of the regularized
    covariances, then the singular value decomposition of the whitened
    cross-covariance.

    Parameters
    ----------
    n_components : int, default=32
        Width ``k`` of the shared space. Must satisfy
        ``1 <= k <= min(n_samples - 1, d_image, d_text)`` for the data given to
        :meth:`fit` (``n_samples - 1`` bounds the rank of the centred
        cross-covariance; components beyond it would be arbitrary).
    reg : float, default=1e-3
        Ridge added to each covariance, as a fraction of the modality's
        average per-column variance: ``C + reg * trace(C) / d * I``. Must be
        ``>= 0``; ``0`` is plain CCA and needs full-rank covariances.

    Attributes
    ----------
    image_mean_ : ndarray of shape (d_image,)
        Column means of the image embeddings seen in :meth:`fit`.
    text_mean_ : ndarray of shape (d_text,)
        Column means of the text embeddings seen in :meth:`fit`.
    image_weights_ : ndarray of shape (d_image, n_components)
        ``Wx``: the image map (applied to centred embeddings).
    text_weights_ : ndarray of shape (d_text, n_components)
        ``Wy``: the text map.
    canonical_correlations_ : ndarray of shape (n_components,)
        The (regularized) canonical correlations, descending, in ``[0, 1]``.
    n_image_features_in_ : int
        ``d_image``, the width of the image embeddings seen in :meth:`fit`.
    n_text_features_in_ : int
        ``d_text``, the width of the text embeddings seen in :meth:`fit`.
    n_samples_fit_ : int
        Number of pairs seen in :meth:`fit`.

    Notes
    -----
    :meth:`fit` costs ``O(n (p + q)^2 + (p + q)^3)`` time and, beyond a
    float64 copy of inputs of another dtype, ``O((p + q)^2)`` memory for the
    covariances plus ``O(4096 (p + q))`` for the block being centred.

    The results are bytewise identical between runs with the same NumPy and
    SciPy builds and the same number of BLAS threads. Otherwise they agree
    to rounding, as all floating-point linear algebra does (and the SVD of a
    matrix with repeated singular values is not unique, so components with
    equal correlations may differ by a rotation).

    Examples
    --------
    >>> import numpy as np
    >>> from mmref.alignment import CCAAlignment
    >>> t = np.arange(20.0)
    >>> images = np.column_stack([t, np.sin(t), np.cos(3 * t)])
    >>> texts = np.column_stack([np.cos(t), 2 * t + 1])
    >>> cca = CCAAlignment(n_components=1, reg=0.0).fit(images, texts)
    >>> cca.canonical_correlations_.round(6)
    array([1.])
    >>> shared = cca.transform_image(images)
    >>> shared.shape, bool(np.allclose(shared, cca.transform_text(texts)))
    ((20, 1), True)
    """

    # Set by fit, all at once (see mmref._atomic).
    image_mean_: npt.NDArray[np.float64]
    text_mean_: npt.NDArray[np.float64]
    image_weights_: npt.NDArray[np.float64]
    text_weights_: npt.NDArray[np.float64]
    canonical_correlations_: npt.NDArray[np.float64]
    n_image_features_in_: int
    n_text_features_in_: int
    n_samples_fit_: int

    def __init__(self, n_components: int = 32, *, reg: float = 1e-3) -> None:
        self.n_components = n_components
        self.reg = reg

    def fit(self, image_embeddings: Any, text_embeddings: Any) -> CCAAlignment:
        """Learn the two maps from paired embeddings.

        Parameters
        ----------
        image_embeddings : array-like of shape (n_samples, d_image)
            Real, finite image embeddings; row ``i`` is paired with row ``i``
            of ``text_embeddings``.
        text_embeddings : array-like of shape (n_samples, d_text)
            Real, finite text embeddings.

        Returns
        -------
        self : CCAAlignment
            The fitted alignment.

        Raises
        ------
        ValueError
            If a parameter is out of range, the inputs are not 2-D, contain
            NaN or infinity, have different row counts or fewer than two rows,
            a modality is constant or so small that its variance underflows, or
            ``reg = 0`` and a covariance is singular.
        TypeError
            If a parameter or input has the wrong type (for example complex).
        """
        import scipy.linalg

        owner = type(self).__name__
        params = self._params()
        n_components, reg = params.n_components, params.reg
        x = as_embeddings(image_embeddings, name="image_embeddings")
        y = as_embeddings(text_embeddings, name="text_embeddings")
        n, p = x.shape
        q = y.shape[1]
        if y.shape[0] != n:
            raise ValueError(
                f"image_embeddings has {n} rows (shape {shape_str(x.shape)}) but "
                f"text_embeddings has {y.shape[0]} rows (shape {shape_str(y.shape)}); "
                f"expected one row per image-text pair, the same number for both."
            )
        if n < 2:
            raise ValueError(
                f"CCAAlignment.fit needs at least 2 image-text pairs to estimate "
                f"covariances; got {n}."
            )
        limit = min(n - 1, p, q)
        if n_components > limit:
            raise param_error(
                owner,
                "n_components",
                f"an int in [1, {limit}] for this data, min(n_samples - 1, d_image, "
                f"d_text) with n_samples={n}, d_image={p}, d_text={q}",
                self.n_components,
            )

        # Overflow (embeddings near the float64 limit) is caught by _covariances' check.
        with np.errstate(over="ignore", invalid="ignore"), blas_threads_for(n * max(p, q) ** 2):
            x_mean = np.mean(x, axis=0)
            y_mean = np.mean(y, axis=0)
            cxx, cyy, cxy = _covariances(x, y, x_mean, y_mean)
        # The factorizations run on one thread whatever their size: LAPACK's many small
        # BLAS calls each wait for the slowest thread, which with one core busy took 20-60x
        # as long on two threads, and up to 3x as long even idle (issue 19).
        with single_threaded_blas():
            lx = _regularized_cholesky(cxx, x, reg, name="image_embeddings")
            ly = _regularized_cholesky(cyy, y, reg, name="text_embeddings")

            # M = inv(Lx) @ Cxy @ inv(Ly).T through two triangular solves.
            m = scipy.linalg.solve_triangular(lx, cxy, lower=True, check_finite=False)
            m = scipy.linalg.solve_triangular(ly, m.T, lower=True, check_finite=False).T
            u, s, vt = scipy.linalg.svd(m, full_matrices=False, check_finite=False)
            wx = scipy.linalg.solve_triangular(
                lx, u[:, :n_components], lower=True, trans="T", check_finite=False
            )
            wy = scipy.linalg.solve_triangular(
                ly, vt[:n_components].T, lower=True, trans="T", check_finite=False
            )
        signs = _component_signs(wx)
        wx *= signs
        wy *= signs

        # Published in one step: a transform running meanwhile uses the old maps or the new.
        publish(
            self,
            {
                "image_mean_": x_mean,
                "text_mean_": y_mean,
                "image_weights_": np.ascontiguousarray(wx),
                "text_weights_": np.ascontiguousarray(wy),
                # Rounding can push a perfect correlation a hair above 1 when reg = 0.
                "canonical_correlations_": np.clip(s[:n_components], 0.0, 1.0),
                "n_image_features_in_": p,
                "n_text_features_in_": q,
                "n_samples_fit_": n,
            },
        )
        return self

    def transform_image(self, image_embeddings: Any) -> FloatArray:
        """Map image embeddings into the shared space.

        Parameters
        ----------
        image_embeddings : array-like of shape (n_samples, d_image)
            Real, finite embeddings of the width seen in :meth:`fit`.

        Returns
        -------
        shared : ndarray of shape (n_samples, n_components), dtype float64
            ``(x - image_mean_) @ image_weights_`` with each row L2-normalized;
            a row that maps to zero stays zero.

        Notes
        -----
        Memory: the output plus a block of at most 4096 centred input rows.
        """
        fitted = snapshot(self)  # the mean and the weights of one fit
        check_fitted(fitted, "image_weights_")
        return _project(
            image_embeddings,
            fitted.image_mean_,
            fitted.image_weights_,
            name="image_embeddings",
            owner=type(self).__name__,
        )

    def transform_text(self, text_embeddings: Any) -> FloatArray:
        """Map text embeddings into the shared space.

        Parameters
        ----------
        text_embeddings : array-like of shape (n_samples, d_text)
            Real, finite embeddings of the width seen in :meth:`fit`.

        Returns
        -------
        shared : ndarray of shape (n_samples, n_components), dtype float64
            ``(y - text_mean_) @ text_weights_`` with each row L2-normalized;
            a row that maps to zero stays zero.

        Notes
        -----
        Memory: the output plus a block of at most 4096 centred input rows.
        """
        fitted = snapshot(self)
        check_fitted(fitted, "text_weights_")
        return _project(
            text_embeddings,
            fitted.text_mean_,
            fitted.text_weights_,
            name="text_embeddings",
            owner=type(self).__name__,
        )

    def _params(self) -> _CCAParams:
        """The constructor parameters, validated (checked at each fit)."""
        owner = type(self).__name__
        return _CCAParams(
            n_components=check_int_param(
                self.n_components, name="n_components", owner=owner, min_value=1
            ),
            reg=check_float_param(self.reg, name="reg", owner=owner, low=0.0),
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_components={self.n_components!r}, reg={self.reg!r})"


@dataclass(frozen=True)
class _CCAParams:
    """The validated parameters of :class:`CCAAlignment`, as ``_params()`` returns them."""

    n_components: int
    reg: float


class AlignedEncoder(ParamsMixin):
    """An :class:`~mmref.EmbeddingModel` whose embeddings live in a shared space.

    ``encode_image`` and ``encode_text`` return
    ``alignment.transform_image(encoder.encode_image(image))`` and
    ``alignment.transform_text(encoder.encode_text(text))``: L2-normalized rows
    of one width, so an image and a text can be compared by a dot product,
    and :func:`mmref.joint_embedding` concatenates two aligned halves.

    Parameters
    ----------
    encoder : EmbeddingModel
        Any object with ``encode_image`` and ``encode_text``, for example
        ``mmref.MultimodalEncoder()``.
    alignment : CCAAlignment
        An object with ``fit(image_embeddings, text_embeddings)``,
        ``transform_image`` and ``transform_text``. It is used (and fitted by
        :meth:`fit`) in place, as scikit-learn's ``Pipeline`` uses its steps.

    Examples
    --------
    >>> import numpy as np
    >>> import mmref
    >>> from mmref.alignment import AlignedEncoder, CCAAlignment
    >>> class Toy:
    ...     def encode_image(self, image):
    ...         t = np.asarray(image, dtype=float)
    ...         return np.column_stack([t, t ** 2, np.sin(t)])
    ...     def encode_text(self, text):
    ...         t = np.array([float(s) for s in text])
    ...         return np.column_stack([-t, np.cos(t)])
    >>> numbers = np.arange(10)
    >>> model = AlignedEncoder(Toy(), CCAAlignment(n_components=1)).fit(
    ...     numbers, [str(i) for i in numbers])
    >>> mmref.joint_embedding([1, 8], ["1", "8"], model)
    array([[-1., -1.],
           [ 1.,  1.]])
    """

    # Views of the components as the last fit left them: rebuilt by the next fit.
    _mmref_regenerable_ = ("_fitted",)

    def __init__(self, encoder: EmbeddingModel, alignment: CCAAlignment) -> None:
        self.encoder = encoder
        self.alignment = alignment

    def fit(self, images: Any, texts: Any, *, fit_encoder: bool = True) -> AlignedEncoder:
        """Fit the encoder (if it has ``fit``) and then the alignment, on paired data.

        Parameters
        ----------
        images : object
            A batch of images, in whatever form ``encoder.encode_image`` accepts.
        texts : object
            The paired batch of texts.
        fit_encoder : bool, default=True
            Call ``encoder.fit(images, texts)`` first when the encoder has a
            ``fit`` method. Pass ``False`` for an encoder that is already fitted.

        Returns
        -------
        self : AlignedEncoder
            The fitted model.
        """
        encoder, alignment = self.encoder, self.alignment
        fit = getattr(encoder, "fit", None)
        if fit_encoder and callable(fit):
            fit(images, texts)
        image_embeddings = model_output(encoder.encode_image(images), method="encode_image")
        text_embeddings = model_output(encoder.encode_text(texts), method="encode_text")
        alignment.fit(image_embeddings, text_embeddings)
        # The components are refitted in place, one after the other; encode_* use views of
        # them as this fit left them, published together in one step, so that a call
        # running meanwhile pairs the old encoder with the old alignment, never a mix.
        self._fitted = (encoder, alignment, view(encoder), view(alignment))
        return self

    def _components(self) -> tuple[Any, Any]:
        """The encoder and alignment as the last ``fit`` left them, else the live ones."""
        fitted = self.__dict__.get("_fitted")
        encoder, alignment = self.encoder, self.alignment
        if fitted is not None and fitted[0] is encoder and fitted[1] is alignment:
            return fitted[2], fitted[3]
        return encoder, alignment

    def encode_image(self, image: Any) -> FloatArray:
        """Embed images in the shared space.

        Parameters
        ----------
        image : object
            Whatever ``encoder.encode_image`` accepts.

        Returns
        -------
        embedding : ndarray of shape (n_samples, n_components)
            L2-normalized rows (zero rows stay zero).
        """
        encoder, alignment = self._components()
        embedding = model_output(encoder.encode_image(image), method="encode_image")
        result: FloatArray = alignment.transform_image(embedding)
        return result

    def takes_flat_channels(self) -> bool:
        """Whether ``encoder`` declares ``takes_flat_channels()`` (see :mod:`mmref.protocols`).

        Returns
        -------
        flat : bool
            The encoder's ``takes_flat_channels()``; False if it has no such method.
        """
        declared = getattr(self.encoder, "takes_flat_channels", None)
        return callable(declared) and declared() is True

    def encode_text(self, text: Any) -> FloatArray:
        """Embed texts in the shared space.

        Parameters
        ----------
        text : object
            Whatever ``encoder.encode_text`` accepts.

        Returns
        -------
        embedding : ndarray of shape (n_samples, n_components)
            L2-normalized rows (zero rows stay zero).
        """
        encoder, alignment = self._components()
        embedding = model_output(encoder.encode_text(text), method="encode_text")
        result: FloatArray = alignment.transform_text(embedding)
        return result

    def __repr__(self) -> str:
        return f"{type(self).__name__}(encoder={self.encoder!r}, alignment={self.alignment!r})"


def _covariances(
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    x_mean: npt.NDArray[np.float64],
    y_mean: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Sample covariances ``Cxx, Cyy, Cxy`` (divisor ``n - 1``), centring block by block."""
    n, p = x.shape
    q = y.shape[1]
    cxx = np.zeros((p, p))
    cyy = np.zeros((q, q))
    cxy = np.zeros((p, q))
    for start in range(0, n, _BLOCK_ROWS):
        xb = x[start : start + _BLOCK_ROWS] - x_mean
        yb = y[start : start + _BLOCK_ROWS] - y_mean
        cxx += xb.T @ xb
        cyy += yb.T @ yb
        cxy += xb.T @ yb
    scale = 1.0 / (n - 1)
    cxx *= scale
    cyy *= scale
    cxy *= scale
    if not (np.isfinite(cxx).all() and np.isfinite(cyy).all() and np.isfinite(cxy).all()):
        raise ValueError(
            "The covariances of image_embeddings and text_embeddings overflow float64; "
            "rescale the embeddings (CCA is invariant to a constant scale)."
        )
    return cxx, cyy, cxy


def _regularized_cholesky(
    cov: npt.NDArray[np.float64], data: npt.NDArray[np.float64], reg: float, *, name: str
) -> npt.NDArray[np.float64]:
    """Lower Cholesky factor of ``cov + reg * trace(cov) / d * I``; ``cov`` is ``data``'s."""
    import scipy.linalg

    # Checked on the data, not the trace: rounding in the mean can leave a constant
    # column a tiny nonzero variance, and underflow can zero a varying column's.
    if _is_constant(data):
        raise ValueError(
            f"{name} is constant: every column has zero variance, so it carries no "
            f"information to correlate; expected embeddings that vary across samples."
        )
    d = cov.shape[0]
    trace = float(np.trace(cov))
    if trace == 0.0:
        largest = max(float(np.max(data)), -float(np.min(data)))
        raise ValueError(
            f"{name} is too small in magnitude: its values vary across samples, but their "
            f"variance underflows float64 to zero (largest absolute value {largest:.3g}); "
            f"rescale the embeddings, e.g. divide them by their largest absolute value "
            f"(CCA is invariant to a constant scale)."
        )
    regularized = cov.copy()
    regularized.flat[:: d + 1] += reg * trace / d
    try:
        factor: npt.NDArray[np.float64] = scipy.linalg.cholesky(
            regularized, lower=True, check_finite=False
        )
    except np.linalg.LinAlgError:
        raise ValueError(
            f"The covariance of {name} is singular (its columns are linearly dependent "
            f"or there are fewer samples than columns) and reg={reg!r}; use reg > 0."
        ) from None
    return factor


def _is_constant(data: npt.NDArray[np.float64]) -> bool:
    """True if every column holds one value; stops at the first block of rows that varies."""
    first = data[0]
    return not any(
        np.any(data[start : start + _BLOCK_ROWS] != first)
        for start in range(0, data.shape[0], _BLOCK_ROWS)
    )


def _component_signs(weights: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """+1 or -1 per column: the sign of the column's largest-magnitude entry (first on ties)."""
    rows = np.argmax(np.abs(weights), axis=0)
    picked = weights[rows, np.arange(weights.shape[1])]
    return np.where(picked < 0, -1.0, 1.0)


def _project(
    value: Any,
    mean: npt.NDArray[np.float64],
    weights: npt.NDArray[np.float64],
    *,
    name: str,
    owner: str,
) -> FloatArray:
    """``normalize_rows((value - mean) @ weights)``, centring block by block."""
    x = as_embeddings(value, name=name)
    if x.shape[1] != weights.shape[0]:
        raise ValueError(
            f"{name} has {x.shape[1]} features, but {owner} was fitted with {weights.shape[0]}."
        )
    out = np.empty((x.shape[0], weights.shape[1]))
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, x.shape[0], _BLOCK_ROWS):
            stop = start + _BLOCK_ROWS
            np.matmul(x[start:stop] - mean, weights, out=out[start:stop])
    if not np.isfinite(out).all():
        bad = np.flatnonzero(~np.isfinite(out).all(axis=1))
        raise ValueError(
            f"{name} has {bad.size} row(s) ({', '.join(str(int(i)) for i in bad[:10])}"
            f"{', ...' if bad.size > 10 else ''}) too large to project without overflowing "
            f"float64; expected embeddings of the magnitude seen in fit."
        )
    return normalize_rows(out, copy=False)
