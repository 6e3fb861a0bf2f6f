"""Exceptions raised by mmref.

Every exception mmref raises on purpose is either a built-in ``ValueError`` /
``TypeError`` with a message that names the argument, what was wrong and what
is expected, or one of the classes below.
"""

from __future__ import annotations

__all__ = [
    "ConformanceError",
    "ConvergenceWarning",
    "DataDimensionalityWarning",
    "ModelFileError",
    "NotFittedError",
]


class NotFittedError(ValueError, AttributeError):
    """Raised when an estimator is used before ``fit``.

    It subclasses both ``ValueError`` and ``AttributeError``, as
    scikit-learn's ``sklearn.exceptions.NotFittedError`` does, so code written
    against either library catches it.

    Examples
    --------
    >>> from mmref import NotFittedError
    >>> issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)
    True
    """


class ConformanceError(AssertionError):
    """Raised by the conformance kit when an implementation breaks the specification.

    It subclasses ``AssertionError`` so that test runners report it as a
    failed assertion rather than an error in the test itself.
    """


class ModelFileError(ValueError):
    """Raised by :func:`mmref.load` for a file that is not a valid mmref model file.

    The message says what was wrong: not a zip archive, an unknown format
    version, a member missing, truncated, oversized or differing from the
    manifest (sha256, dtype, shape), or a class name mmref does not load.
    """


class ConvergenceWarning(UserWarning):
    """Warning raised when an iterative solver stops before converging.

    :class:`SoftmaxClassifier` emits it when L-BFGS stops for any reason other
    than its convergence tests (usually ``max_iter`` reached); the fitted
    attribute ``n_iter_`` tells how many iterations ran.
    """


class DataDimensionalityWarning(UserWarning):
    """Warning that a projection does not reduce the dimension of the data.

    :class:`RandomProjectionImageEncoder` emits it, with scikit-learn's wording
    (scikit-learn has a class of the same name), when ``n_components`` exceeds
    the number of pixels per image.
    """
