"""Image encoder: deterministic, platform-stable random projections in bounded memory.

:class:`RandomProjectionImageEncoder` flattens each image to a vector
``x`` of ``d`` pixels and returns ``y = x R`` for a random matrix ``R`` of
shape ``(d, k)``, ``k = n_components``. By the Johnson-Lindenstrauss lemma,
for ``k >= johnson_lindenstrauss_min_dim(n, eps)`` the squared distances
between ``n`` images are preserved within a factor ``1 +- eps`` with good
probability::

    (1 - eps) ||u - v||^2 < ||(u - v) R||^2 < (1 + eps) ||u - v||^2

Three matrices are available:

``"sparse"`` (Li, Hastie & Church, 2006)
    ``R[i, j] = +-sqrt(s / k)`` with probability ``1 / (2 s)`` each and ``0``
    otherwise, ``s = 1 / density``; ``density="auto"`` is ``1 / sqrt(d)``, and
    ``density=1`` is the dense Rademacher matrix of Achlioptas (2003).
``"gaussian"``
    ``R[i, j] ~ N(0, 1 / k)``.
``"srht"`` (a subsampled randomized trigonometric transform, Ailon & Chazelle, 2009)
    ``y = sqrt(d / k) * DCT(eps * x)[c_0, ..., c_{k-1}]``: random signs
    ``eps``, the orthonormal DCT-II, and ``k`` distinct coordinates; O(d log d)
    time and O(d) memory per image for any ``d``.

Everything random is a pure function of integers (SPEC.md, "Image encoder"):
column ``j`` of ``R`` depends only on ``(seed, method, density, d, j)``
through 64-bit integer hashing, never on NumPy random streams or Python's
``hash()``. Hence outputs are identical across processes and platforms (the
sparse, Rademacher and SRHT patterns bit for bit; Gaussian entries to within
1e-13, as they go through ``log`` and a trigonometric table), do not depend on
``batch_size`` or on the order of images, and are prefix stable: the first
``k`` components of a ``K``-component encoder equal the ``k``-component
encoder's times ``sqrt(k / K)`` (``normalize=False``), so embeddings can be
truncated like Matryoshka embeddings.
"""

from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _gaussian
from . import _projection as _proj
from ._base import ParamsMixin, TransformerMixin
from ._frames import FeatureNamesMixin
from ._numeric import normalize_rows
from ._typing import Density, FloatDTypeLike, ProjectionMethod
from ._validation import (
    as_array,
    as_real_matrix,
    check_bool_param,
    check_fitted,
    check_float_param,
    check_int_param,
    check_option,
    check_real_array_param,
    param_error,
    shape_str,
)
from .exceptions import DataDimensionalityWarning

__all__ = ["RandomProjectionImageEncoder", "johnson_lindenstrauss_min_dim"]

_OWNER = "RandomProjectionImageEncoder"
_METHODS = ("sparse", "gaussian", "srht")
_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


def johnson_lindenstrauss_min_dim(n_samples: Any, eps: Any = 0.1) -> Any:
    """Find a safe number of components to randomly project to, as scikit-learn does.

    The minimum number of components that guarantees with good probability an
    ``eps``-embedding of ``n_samples`` points (Dasgupta & Gupta, 1999) is::

        n_components >= 4 log(n_samples) / (eps^2 / 2 - eps^3 / 3)

    The result is truncated to an integer, exactly as
    ``sklearn.random_projection.johnson_lindenstrauss_min_dim`` computes it.

    Parameters
    ----------
    n_samples : int, float or array-like
        Number of samples: a number ``>= 1``, or an array of positive numbers
        (evaluated elementwise).
    eps : float or array-like, default=0.1
        Maximum distortion, in the open interval ``(0, 1)``; an array is
        evaluated elementwise (broadcast against ``n_samples``).

    Returns
    -------
    n_components : numpy.int64 or ndarray of int64
        The minimal number of components.

    Raises
    ------
    ValueError
        If ``eps`` is outside ``(0, 1)``, ``n_samples`` is not positive (or a
        scalar below 1), or either is NaN.
    TypeError
        If either is not real-valued.

    Examples
    --------
    >>> from mmref.image import johnson_lindenstrauss_min_dim
    >>> int(johnson_lindenstrauss_min_dim(1e6, eps=0.5))
    663
    >>> johnson_lindenstrauss_min_dim([1e4, 1e5, 1e6], eps=0.1)
    array([ 7894,  9868, 11841])
    """
    where = "johnson_lindenstrauss_min_dim"
    eps_arr = check_real_array_param(eps, name="eps", owner=where)
    n_arr = check_real_array_param(n_samples, name="n_samples", owner=where)
    if np.any(np.isnan(eps_arr)) or np.any(eps_arr <= 0.0) or np.any(eps_arr >= 1.0):
        raise param_error(where, "eps", "a float in (0, 1), or an array of them", eps)
    if np.any(np.isnan(n_arr)) or np.any(n_arr <= 0) or (n_arr.ndim == 0 and n_arr < 1):
        raise param_error(
            where, "n_samples", "a number >= 1, or an array of positive numbers", n_samples
        )
    denominator = (eps_arr**2 / 2) - (eps_arr**3 / 3)
    return (4 * np.log(n_arr) / denominator).astype(np.int64)


class RandomProjectionImageEncoder(FeatureNamesMixin, ParamsMixin, TransformerMixin):
    """Encode images with a seeded, hash-derived random projection.

    Each image is flattened to ``d`` pixels (C order) and projected to
    ``n_components`` values. Nothing is learned: the projection is a pure
    function of the parameters and ``d`` (see the module docstring and
    SPEC.md), so ``fit`` is optional and only records ``n_features_in_``.

    Parameters
    ----------
    n_components : int, default=256
        Output dimension ``k >= 1``. For ``method="srht"`` at most ``d``.
    method : {"sparse", "gaussian", "srht"}, default="sparse"
        The random matrix (see the module docstring).
    density : "auto" or float in (0, 1], default="auto"
        Fraction of nonzero entries for ``method="sparse"``: ``"auto"`` is
        ``1 / sqrt(d)``, ``1`` the dense Rademacher matrix. Ignored otherwise.
    seed : int in [0, 2**64 - 1], default=0
        The seed of the integer hashing.
    image_shape : tuple of int or None, default=None
        The shape of one image, e.g. ``(32, 32, 3)`` or ``(784,)``. ``None``
        means 2-D grayscale images (see :meth:`encode_image`).
    normalize : bool, default=True
        L2-normalize each output row; an all-zero image gives a zero row.
    dtype : {numpy.float64, numpy.float32}, default=numpy.float64
        Output dtype; float32 also computes in float32.
    batch_size : int, default=1024
        Rows converted and projected at a time: encoding ``N`` images costs
        O(batch_size * d) extra memory, not O(N * d).
    max_matrix_bytes : int, default=64 MiB
        The most projection matrix held in memory. The sparse matrix (about
        ``d * k * density * 12`` bytes in float64) and the Gaussian matrix
        (``d * k * 8`` bytes, one row more for odd ``d``) are cached when
        they fit; otherwise they are regenerated in blocks on every call. A
        Gaussian matrix that does not fit keeps its first rows cached, up to
        ``max_matrix_bytes - 8 MiB``, and generates the rest in blocks of at
        most 8 MiB in all.

    Attributes
    ----------
    n_features_in_ : int
        Number of pixels per image seen in :meth:`fit`; later calls must match.

    See Also
    --------
    johnson_lindenstrauss_min_dim : A safe ``n_components`` for ``eps`` distortion.

    Notes
    -----
    Time per image: O(d k density) for ``"sparse"``, O(d k) for
    ``"gaussian"``, O(d log d) for ``"srht"``. Extra memory per call beyond
    the output and any cached matrix: two chunks of
    ``min(batch_size, 256, 3 MiB / (8 d))`` converted images for
    ``"sparse"``; one chunk of ``min(batch_size, 16 MiB / (8 d))`` images
    (times two for the DCT) for ``"srht"``; for ``"gaussian"``, ``batch_size * d``
    converted pixels if the input needs converting and, when the matrix is not
    cached, blocks of at most ``min(max_matrix_bytes, 8 MiB)`` in all generated
    per call, and per worker a ``(batch_size, k)`` product, the matching slice
    of ``batch_size`` images and 2.25 MiB of generation scratch (1.4 MiB in
    float32; twice that for the single worker, which generates on two threads). Products of at
    least 2**27 multiply-adds run on two workers when threadpoolctl is
    installed: one generates a block while the other multiplies, with BLAS
    limited to one thread, process-wide, for the duration of the call.

    References
    ----------
    .. [1] P. Li, T. Hastie and K. W. Church, "Very sparse random projections", KDD 2006.
    .. [2] D. Achlioptas, "Database-friendly random projections", JCSS 66(4), 2003.
    .. [3] N. Ailon and B. Chazelle, "The fast Johnson-Lindenstrauss transform", SICOMP 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from mmref.image import RandomProjectionImageEncoder
    >>> images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    >>> encoder = RandomProjectionImageEncoder(n_components=64, seed=1)
    >>> Y = encoder.encode_image(images)
    >>> Y.shape, Y.dtype
    ((2, 64), dtype('float64'))
    >>> np.allclose(np.linalg.norm(Y, axis=1), 1.0)
    True
    >>> encoder.encode_image(images[0]).shape
    (1, 64)

    Prefix stability: embeddings truncate like Matryoshka embeddings.

    >>> small = RandomProjectionImageEncoder(16, seed=1, normalize=False)
    >>> large = RandomProjectionImageEncoder(64, seed=1, normalize=False)
    >>> np.allclose(large.encode_image(images)[:, :16],
    ...             small.encode_image(images) * np.sqrt(16 / 64))
    True
    """

    # The cached matrices are pure functions of the parameters: not pickled, rebuilt on use.
    _mmref_regenerable_ = ("_cache", "_inverse")
    _mmref_requires_fit_ = False

    def __init__(
        self,
        n_components: int = 256,
        *,
        method: ProjectionMethod = "sparse",
        density: Density = "auto",
        seed: int = 0,
        image_shape: tuple[int, ...] | None = None,
        normalize: bool = True,
        dtype: FloatDTypeLike = np.float64,
        batch_size: int = 1024,
        max_matrix_bytes: int = 64 * 2**20,
    ) -> None:
        self.n_components = n_components
        self.method = method
        self.density = density
        self.seed = seed
        self.image_shape = image_shape
        self.normalize = normalize
        self.dtype = dtype
        self.batch_size = batch_size
        self.max_matrix_bytes = max_matrix_bytes

    def fit(self, X: Any, y: Any = None) -> RandomProjectionImageEncoder:
        """Validate the parameters, record ``n_features_in_`` and build the cached matrix.

        Parameters
        ----------
        X : array-like of shape ``(n_samples, *image_shape)``
            Images, samples along the first axis (see :meth:`transform`).
            Only the shape is used; the values must still be finite.
        y : None
            Ignored.

        Returns
        -------
        self : RandomProjectionImageEncoder
            The encoder, with ``n_features_in_`` set.
        """
        params = self._params()
        X2 = _as_rows(X, params.image_shape, single=False, check_width=None)
        if X2.shape[1] == 0:
            raise ValueError(
                "X is an empty list; fit needs an array whose shape gives the number of "
                "pixels per image, e.g. of shape (n_samples, H, W)."
            )
        if X2.shape[0] == 0:
            raise ValueError(
                f"X has 0 samples (shape {shape_str(np.shape(X))}); fit needs at least one "
                f"image (a minimum of 1 is required)."
            )
        with np.errstate(over="ignore", invalid="ignore"):
            _proj.check_finite(X2, 0, X2)
        d, k = X2.shape[1], params.n_components
        self._plan(params, d)
        if k > d:
            # scikit-learn's warning (and wording), also at fit only.
            warnings.warn(
                "The number of components is higher than the number of features: "
                f"n_features < n_components ({d} < {k}).The dimensionality of the problem "
                "will not be reduced.",
                DataDimensionalityWarning,
                stacklevel=2,
            )
        self.n_features_in_ = d
        return self

    def transform(self, X: Any) -> npt.NDArray[np.floating[Any]]:
        """Project a batch of images; the first axis is always the sample axis.

        Parameters
        ----------
        X : array-like of shape ``(n_samples, *image_shape)``
            With ``image_shape=None`` any array of at least 2 dimensions
            (``(n, d)``, ``(n, H, W)``, ``(n, H, W, C)``, ...); each sample is
            flattened in C order. With ``image_shape`` given, exactly
            ``(n_samples, *image_shape)``. Bool, integer and float16/32/64
            values are used as given (no rescaling).

        Returns
        -------
        Y : ndarray of shape (n_samples, n_components) and dtype ``dtype``

        Raises
        ------
        ValueError
            Wrong shape, zero-size images, a width other than
            ``n_features_in_`` after :meth:`fit`, NaN or infinite values, or
            bad parameters.
        TypeError
            Complex, object, string or other non-real dtypes.
        """
        params = self._params()
        X2 = _as_rows(X, params.image_shape, single=False, check_width=self._fitted_width())
        return self._project(params, X2)

    def encode_image(self, image: Any) -> npt.NDArray[np.floating[Any]]:
        """Embed one image or a batch of images (the :class:`mmref.EmbeddingModel` method).

        Parameters
        ----------
        image : array-like
            With ``image_shape=None``: a 2-D array ``(H, W)`` is one image, a
            3-D array ``(N, H, W)`` or a list of equal-shape 2-D arrays is a
            batch. With ``image_shape`` given: an array of exactly that shape is
            one image and ``(N, *image_shape)`` a batch. An empty list is a
            batch of zero images.

        Returns
        -------
        embedding : ndarray of shape (n_images, n_components) and dtype ``dtype``
            One row per image, 2-D even for a single image.

        Raises
        ------
        ValueError, TypeError
            As :meth:`transform`; a shape that is neither one image nor a batch
            is a ``ValueError`` stating both expected shapes.
        """
        params = self._params()
        X2 = _as_rows(image, params.image_shape, single=True, check_width=self._fitted_width())
        return self._project(params, X2)

    def takes_flat_channels(self) -> bool:
        """Whether a batch ``(n, H, W, C)`` should be passed as ``(n, H, W*C)``.

        The declared image capability that ``mmref embed`` and :mod:`mmref.dask`
        read (see :mod:`mmref.protocols`): with ``image_shape=None`` a 4-D array
        is not a batch of images, but ``(n, H, W*C)`` is, with the same pixels in
        the same (C) order, so it projects exactly what ``image_shape=(H, W, C)``
        would.

        Returns
        -------
        flat : bool
            True when ``image_shape`` is None.

        Examples
        --------
        >>> from mmref import RandomProjectionImageEncoder
        >>> RandomProjectionImageEncoder().takes_flat_channels()
        True
        >>> RandomProjectionImageEncoder(image_shape=(8, 8, 3)).takes_flat_channels()
        False
        """
        return self.image_shape is None

    def get_projection_matrix(self, n_features: int | None = None) -> Any:
        """The matrix ``M`` such that ``transform(X) = X @ M.T`` when ``normalize=False``.

        Parameters
        ----------
        n_features : int, optional
            Pixels per image ``d``; defaults to ``n_features_in_`` (then the
            encoder must be fitted).

        Returns
        -------
        M : scipy.sparse.csr_array or ndarray of shape (n_components, n_features)
            A CSR array for ``"sparse"`` (like scikit-learn's ``components_``),
            a dense array in ``dtype`` otherwise. Memory: O(nnz) for
            ``"sparse"``, ``d * k * itemsize`` for ``"gaussian"`` and ``"srht"``,
            whatever ``max_matrix_bytes`` is; ``"srht"`` takes O(d^2 log d) time.

        Examples
        --------
        >>> import numpy as np
        >>> from mmref.image import RandomProjectionImageEncoder
        >>> encoder = RandomProjectionImageEncoder(3, method="srht", normalize=False)
        >>> X = np.arange(20.0).reshape(2, 10)
        >>> np.allclose(encoder.transform(X), X @ encoder.get_projection_matrix(10).T)
        True
        """
        params = self._params()
        if n_features is None:
            check_fitted(self, "n_features_in_")
            d = self.n_features_in_
        else:
            d = check_int_param(n_features, name="n_features", owner=_OWNER, min_value=1)
        plan = self._plan(params, d)
        k, scale = plan.n_components, params.dtype.type(plan.scale)
        if params.method == "sparse":
            matrix = plan.matrix if plan.matrix is not None else plan.sparse_rows(0, k)
            return matrix * scale
        if params.method == "gaussian":
            dense = plan.matrix if plan.matrix is not None else _gaussian.gaussian_rows(plan, 0, d)
            return np.ascontiguousarray((dense * scale).T)
        out = np.empty((k, d), dtype=params.dtype)
        step = max(1, _proj.CHUNK_BYTES // (d * params.dtype.itemsize))
        for i0 in range(0, d, step):
            i1 = min(i0 + step, d)
            unit = np.zeros((i1 - i0, d), dtype=params.dtype)
            unit[np.arange(i1 - i0), np.arange(i0, i1)] = 1
            columns = np.empty((i1 - i0, k), dtype=params.dtype)
            _proj.srht_product(plan, unit, columns, params.batch_size)
            out[:, i0:i1] = columns.T
        return out

    def inverse_transform(self, Y: Any) -> npt.NDArray[np.floating[Any]]:
        """Map embeddings back to pixel space with the pseudo-inverse of the projection.

        Returns ``Y @ pinv(M).T`` for the projection matrix ``M`` of
        :meth:`get_projection_matrix`, as scikit-learn's random projections
        do: an array whose transform (with ``normalize=False``) is ``Y`` when
        ``n_components <= n_features_in_`` and ``Y`` lies in the range of
        ``M``. With ``normalize=True`` the row norms that ``transform``
        removed are not restored.

        Parameters
        ----------
        Y : array-like of shape (n_samples, n_components)
            Embeddings (real numbers, finite).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features) and dtype ``dtype``
            Flat images (C order); reshape them to ``image_shape`` if needed.

        Raises
        ------
        NotFittedError
            Before :meth:`fit` (the number of pixels comes from it).
        ValueError
            If ``Y`` has the wrong width or non-finite values, or if the
            pseudo-inverse does not fit in ``max_matrix_bytes``.
        TypeError
            If ``Y`` is not an array of real numbers.

        Notes
        -----
        The pseudo-inverse (``scipy.linalg.pinv`` of ``M`` in float64, then
        rounded to ``dtype``) is computed at the first call and cached, like
        the projection matrix. Computing it takes about
        ``8 * (2 k d + min(k, d) (k + d))`` bytes for ``k = n_components`` and
        ``d = n_features_in_`` (the dense matrix, its SVD and the result); a
        configuration above ``max_matrix_bytes`` is refused with a
        ``ValueError`` rather than exhausting memory. Time: one SVD,
        O(k d min(k, d)), then O(n k d) per call.

        Examples
        --------
        >>> import numpy as np
        >>> from mmref import RandomProjectionImageEncoder
        >>> X = np.arange(24.0).reshape(2, 12)
        >>> encoder = RandomProjectionImageEncoder(4, normalize=False).fit(X)
        >>> Y = encoder.transform(X)
        >>> np.allclose(encoder.transform(encoder.inverse_transform(Y)), Y)
        True
        """
        params = self._params()
        check_fitted(self, "n_features_in_")
        d, k = self.n_features_in_, params.n_components
        Y2 = as_real_matrix(Y, name="Y", owner=f"{_OWNER}.inverse_transform")
        if Y2.shape[1] != k:
            raise ValueError(
                f"Y has {Y2.shape[1]} columns (shape {shape_str(Y2.shape)}); "
                f"{_OWNER}.inverse_transform expects n_components={k} columns."
            )
        if not np.isfinite(Y2).all():
            row = int(np.flatnonzero(~np.isfinite(Y2).all(axis=1))[0])
            raise ValueError(
                f"Y contains NaN or infinity (row {row}); inverse_transform needs finite values."
            )
        inverse = self._pseudo_inverse(params, d)
        return np.asarray(Y2.astype(params.dtype, copy=False) @ inverse.T, dtype=params.dtype)

    # -- internals ------------------------------------------------------------------------

    _mmref_feature_prefix_ = "image"

    def _mmref_n_features_out(self) -> int:
        return self._params().n_components

    def _pseudo_inverse(self, params: _Params, d: int) -> npt.NDArray[np.floating[Any]]:
        """``pinv(M)`` of shape (d, k), computed once per configuration within the budget."""
        import scipy.linalg

        k = params.n_components
        key = (params, d)
        cached: tuple[Any, npt.NDArray[np.floating[Any]]] | None = getattr(self, "_inverse", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        rank = min(k, d)
        needed = 8 * (2 * k * d + rank * (k + d))
        if needed > params.max_matrix_bytes:
            raise ValueError(
                f"inverse_transform needs about {needed} bytes for the pseudo-inverse of the "
                f"({k}, {d}) projection matrix, more than the memory budget "
                f"max_matrix_bytes={params.max_matrix_bytes} of this {_OWNER}. Raise "
                f"max_matrix_bytes to at least {needed} to allow it."
            )
        matrix = self.get_projection_matrix(d)
        dense = matrix.toarray() if hasattr(matrix, "toarray") else np.asarray(matrix)
        inverse = scipy.linalg.pinv(dense.astype(np.float64), check_finite=False)
        result = np.ascontiguousarray(inverse, dtype=params.dtype)
        self._inverse = (key, result)
        return result

    def _fitted_width(self) -> int | None:
        width: int | None = getattr(self, "n_features_in_", None)
        return width

    def _params(self) -> _Params:
        k = check_int_param(
            self.n_components, name="n_components", owner=_OWNER, min_value=1, max_value=2**31 - 1
        )
        method = check_option(self.method, name="method", owner=_OWNER, options=_METHODS)
        density: float | None = None
        raw_density: object = self.density  # stored unchanged: any object may arrive here
        if not (isinstance(raw_density, str) and raw_density == "auto"):
            if isinstance(raw_density, str):
                raise param_error(_OWNER, "density", '"auto" or a float in (0, 1]', self.density)
            density = check_float_param(
                self.density, name="density", owner=_OWNER, low=0, high=1, closed="right"
            )
            if _proj.density_threshold(density) == 0:
                raise param_error(_OWNER, "density", "a float in (2**-64, 1]", self.density)
        seed = check_int_param(
            self.seed, name="seed", owner=_OWNER, min_value=0, max_value=2**64 - 1
        )
        shape = _check_image_shape(self.image_shape)
        normalize = check_bool_param(self.normalize, name="normalize", owner=_OWNER)
        dtype: np.dtype[Any]
        try:
            # np.dtype(None) is float64; None is rejected rather than guessed.
            dtype = np.dtype(object if self.dtype is None else self.dtype)
        except TypeError:
            dtype = np.dtype(object)
        if dtype not in _DTYPES:
            raise param_error(_OWNER, "dtype", "numpy.float64 or numpy.float32", self.dtype)
        batch = check_int_param(self.batch_size, name="batch_size", owner=_OWNER, min_value=1)
        budget = check_int_param(
            self.max_matrix_bytes, name="max_matrix_bytes", owner=_OWNER, min_value=0
        )
        return _Params(k, method, density, seed, shape, normalize, dtype, batch, budget)

    def _plan(self, params: _Params, d: int) -> _proj.Plan:
        """The projection for input dimension ``d``, cached on the encoder (one at a time)."""
        k, itemsize = params.n_components, params.dtype.itemsize
        if params.method == "srht" and k > d:
            raise ValueError(
                f"The 'n_components' parameter of {_OWNER} must be at most the number of "
                f"pixels per image for method='srht' (it samples distinct DCT coordinates). "
                f"Got n_components={k} for images of {d} pixels; use method='sparse' or "
                f"'gaussian' to project to more dimensions than pixels."
            )
        density = 1.0 / math.sqrt(d) if params.density is None else params.density
        threshold = _proj.density_threshold(density)
        key = (params.method, k, params.seed, d, threshold, params.dtype, params.max_matrix_bytes)
        cached: tuple[Any, _proj.Plan] | None = getattr(self, "_cache", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        plan = _proj.Plan(method=params.method, n_features=d, n_components=k, dtype=params.dtype)
        if params.method == "sparse":
            plan.keys = _proj.column_keys(params.seed, (_proj.TAG_SPARSE, d, threshold), k)
            plan.threshold = threshold
            plan.scale = math.sqrt(1.0 / density) / math.sqrt(k)
            index_size = 4 if d < 2**31 else 8
            plan.column_bytes = max(1.0, d * threshold / 2.0**63 * (itemsize + index_size))
            if plan.column_bytes * k <= params.max_matrix_bytes:
                plan.matrix = plan.sparse_rows(0, k)
        elif params.method == "gaussian":
            plan.keys = _proj.column_keys(params.seed, (_proj.TAG_GAUSSIAN, d), k)
            plan.scale = 1.0 / math.sqrt(k)
            # Generated as whole Box-Muller pairs: an odd d takes one row more.
            if (d + d % 2) * k * itemsize <= params.max_matrix_bytes:
                plan.matrix = _gaussian.gaussian_rows(plan, 0, d)
            elif rows := _gaussian.prefix_rows(d, k, params.dtype, params.max_matrix_bytes):
                plan.prefix = _gaussian.gaussian_rows(plan, 0, rows)
        else:
            plan.signs = _proj.srht_signs(params.seed, d, params.dtype)
            plan.selection = _proj.srht_selection(params.seed, d, k)
            plan.scale = math.sqrt(d / k)
        self._cache = (key, plan)
        return plan

    def _project(self, params: _Params, X2: npt.NDArray[Any]) -> npt.NDArray[np.floating[Any]]:
        n, d = X2.shape
        Y = np.zeros((n, params.n_components), dtype=params.dtype)
        if n == 0:
            return Y
        plan = self._plan(params, d)
        # Overflow and inf - inf are detected below and reported as errors, not warnings.
        with np.errstate(over="ignore", invalid="ignore"):
            if params.method == "sparse":
                _proj.sparse_product(plan, X2, Y, params.batch_size, params.max_matrix_bytes)
            elif params.method == "gaussian":
                _gaussian.gaussian_product(plan, X2, Y, params.batch_size, params.max_matrix_bytes)
            else:
                _proj.srht_product(plan, X2, Y, params.batch_size)
            total = np.add.reduce(Y, axis=None)
        if not np.isfinite(total):
            # Bad pixels are reported first; some products leave their detection to here.
            _proj.check_convertible(X2, params.dtype)
            bad = np.flatnonzero(~np.isfinite(Y).all(axis=1))
            if bad.size:
                raise ValueError(
                    f"The projection of image {int(bad[0])} overflowed {params.dtype}: its "
                    f"pixel values are too large; scale the images down or use dtype=np.float64."
                )
        if params.normalize:
            normalize_rows(Y)
        return Y


@dataclass(frozen=True)
class _Params:
    """The validated constructor parameters of an encoder (``_params()`` builds them)."""

    n_components: int
    method: ProjectionMethod
    density: float | None  # None means "auto"
    seed: int
    image_shape: tuple[int, ...] | None
    normalize: bool
    dtype: np.dtype[Any]
    batch_size: int
    max_matrix_bytes: int


def _check_image_shape(value: object) -> tuple[int, ...] | None:
    if value is None:
        return None
    expected = "None or a tuple of positive ints such as (28, 28) or (32, 32, 3)"
    if not isinstance(value, bool) and isinstance(value, numbers.Integral):
        value = (value,)
    if not isinstance(value, tuple | list) or len(value) == 0:
        raise param_error(_OWNER, "image_shape", expected, value)
    if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value):
        raise param_error(_OWNER, "image_shape", expected, value)
    shape = tuple(int(v) for v in value)
    if min(shape) < 1:
        raise param_error(_OWNER, "image_shape", expected, value)
    return shape


def _as_rows(
    images: Any, image_shape: tuple[int, ...] | None, *, single: bool, check_width: int | None
) -> npt.NDArray[Any]:
    """Images as a 2-D ``(n, d)`` array (a view when possible), in their own dtype."""
    where = "image" if single else "X"
    if isinstance(images, str | bytes):
        raise TypeError(
            f"{where} is a {type(images).__name__}; expected an array of pixel values "
            f"(bool, integer or float), not text."
        )
    if isinstance(images, list | tuple) and len(images) == 0:
        return np.zeros((0, check_width or 0), dtype=np.float64)
    if type(images).__module__.startswith("scipy.sparse"):
        raise TypeError(
            f"{where} is a scipy.sparse {type(images).__name__}; sparse input is not supported. "
            f"Pass a dense array of pixel values ({where}.toarray())."
        )
    array = as_array(images, what=where)
    kind = array.dtype.kind
    if kind not in "biuf" or (kind == "f" and array.dtype.itemsize > 8):
        raise TypeError(
            f"{where} has dtype {array.dtype}; expected bool, integer or float16/32/64 pixel "
            f"values (complex, object, string, datetime and long double arrays are not images)."
        )
    if image_shape is None:
        if single and array.ndim == 2:
            array = array[None]
        elif (single and array.ndim != 3) or array.ndim < 2:
            expected = (
                "a 2-D image (H, W) or a 3-D batch (N, H, W)"
                if single
                else "a batch of at least 2 dimensions (n_samples, ...)"
            )
            reshape = (
                ""
                if single
                else f" Reshape your data: {where}.reshape(1, -1) holds one flat image, "
                f"{where}.reshape(-1, 1) one pixel per image."
            )
            raise ValueError(
                f"{where} has shape {shape_str(array.shape)}; expected {expected}. For color "
                f"or flat images, set image_shape, e.g. image_shape=(H, W, 3) or (784,).{reshape}"
            )
    else:
        if single and array.shape == image_shape:
            array = array[None]
        elif array.shape[1:] != image_shape or array.ndim == 0:
            one = f"one image of shape {shape_str(image_shape)} or " if single else ""
            raise ValueError(
                f"{where} has shape {shape_str(array.shape)}; expected {one}a batch of shape "
                f"(n_images, {', '.join(str(s) for s in image_shape)}) for "
                f"image_shape={shape_str(image_shape)}."
            )
    n = array.shape[0]
    d = math.prod(array.shape[1:])
    if d == 0:
        raise ValueError(
            f"{where} has shape {shape_str(array.shape)}: its images have zero pixels "
            f"(0 feature(s) (shape=({n}, 0)) while a minimum of 1 is required); expected "
            f"images with at least one pixel."
        )
    if check_width is not None and d != check_width:
        raise ValueError(
            f"{where} has {d} pixels per image (shape {shape_str(array.shape)}), but "
            f"{_OWNER} was fitted on images of {check_width} pixels ({where} has {d} "
            f"features, but {_OWNER} is expecting {check_width} features as input)."
        )
    return array.reshape(n, d)
