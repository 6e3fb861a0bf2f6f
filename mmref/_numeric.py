"""Row normalization shared by the image encoder, the shared space, retrieval and zero-shot.

``normalize_rows`` divides each row of a finite 2-D float array by its
Euclidean norm. Squaring large or tiny entries directly would overflow or
underflow (a row of 1e200 has norm 1e200, but its squares are infinite), so
each row is first divided by its largest absolute entry::

    m = max_j |z_j|,  w = z / m,  z / ||z|| = w / ||w||   (1 <= ||w|| <= sqrt(d))

A zero row stays zero, never NaN.
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

__all__ = ["normalize_rows"]

_Array = TypeVar("_Array", bound=npt.NDArray[Any])


def normalize_rows(z: _Array, *, copy: bool = False) -> _Array:
    """L2-normalize the rows of a finite 2-D float array; zero rows stay zero.

    Parameters
    ----------
    z : ndarray of shape (n_rows, n_columns), float32 or float64
        Finite values.
    copy : bool, default=False
        Normalize a copy instead of ``z`` itself.

    Returns
    -------
    ndarray of shape (n_rows, n_columns)
        ``z`` (or its copy) with each nonzero row divided by its norm. Memory:
        O(n_rows) beyond the copy.

    Examples
    --------
    >>> import numpy as np
    >>> from mmref._numeric import normalize_rows
    >>> normalize_rows(np.array([[3.0, 4.0], [0.0, 0.0], [1e200, 1e200]]))
    array([[0.6       , 0.8       ],
           [0.        , 0.        ],
           [0.70710678, 0.70710678]])
    """
    out: _Array = z.copy() if copy else z
    if out.size == 0:
        return out
    peak = np.max(np.abs(out), axis=1, keepdims=True)
    # Dividing a zero row by 1 keeps it zero instead of producing 0 / 0 = NaN.
    peak[peak == 0] = 1
    out /= peak
    norms = np.sqrt(np.einsum("ij,ij->i", out, out))[:, None]
    norms[norms == 0] = 1
    out /= norms
    return out
