"""Exceptions raised by mmref.

Every exception mmref raises on purpose is either a built-in ``ValueError`` /
``TypeError`` with a message that names the argument, what was wrong and what
is expected, or one of the classes below.
"""

from __future__ import annotations

__all__ = ["ConformanceError", "NotFittedError"]


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
