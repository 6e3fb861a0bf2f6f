"""The wording and behaviour of the shared argument checks."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mmref import NotFittedError
from mmref._validation import (
    check_bool_param,
    check_fitted,
    check_float_param,
    check_int_param,
    check_no_nan_rows,
    check_option,
)

OWNER = "RandomProjectionImageEncoder"


def test_float_param_message_follows_scikit_learn_wording() -> None:
    message = (
        "The 'density' parameter of RandomProjectionImageEncoder must be a float in "
        "(0, 1]. Got 2 instead."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        check_float_param(2, name="density", owner=OWNER, low=0, high=1, closed="right")
    assert check_float_param(1, name="density", owner=OWNER, low=0, high=1, closed="right") == 1.0


@pytest.mark.parametrize("value", [0.0, -1.0, float("nan"), float("inf")])
def test_float_param_rejects_out_of_range_and_non_finite(value: float) -> None:
    with pytest.raises(ValueError, match="'density'"):
        check_float_param(value, name="density", owner=OWNER, low=0, high=1, closed="right")


@pytest.mark.parametrize("value", ["0.5", None, True, [0.5]])
def test_float_param_rejects_wrong_types(value: object) -> None:
    with pytest.raises(TypeError, match="must be a float in"):
        check_float_param(value, name="density", owner=OWNER, low=0, high=1)


def test_int_param() -> None:
    assert check_int_param(np.int64(5), name="n", owner=OWNER, min_value=1) == 5
    with pytest.raises(ValueError, match=re.escape("must be an int >= 1. Got 0 instead.")):
        check_int_param(0, name="n", owner=OWNER, min_value=1)
    for bad in (True, 1.0, "3"):
        with pytest.raises(TypeError, match="'n' parameter"):
            check_int_param(bad, name="n", owner=OWNER, min_value=1)


def test_bool_and_option_params() -> None:
    assert check_bool_param(np.bool_(True), name="normalize", owner=OWNER) is True
    with pytest.raises(TypeError, match="must be a bool"):
        check_bool_param(1, name="normalize", owner=OWNER)
    options = ("sparse", "gaussian", "srht")
    assert check_option("srht", name="method", owner=OWNER, options=options) == "srht"
    message = "must be one of {'sparse', 'gaussian', 'srht'}. Got 'dense' instead."
    with pytest.raises(ValueError, match=re.escape(message)):
        check_option("dense", name="method", owner=OWNER, options=options)
    with pytest.raises(ValueError, match="one of"):
        check_option([], name="method", owner=OWNER, options=options)


def test_check_fitted_names_fit() -> None:
    class Model:
        pass

    with pytest.raises(NotFittedError, match="This Model instance is not fitted yet. Call 'fit'"):
        check_fitted(Model(), "classes_")


def test_nan_rows_ignores_overflow_to_inf() -> None:
    big = np.array([[np.finfo(np.float16).max] * 4, [-np.finfo(np.float16).max] * 4], np.float16)
    check_no_nan_rows(big, what="scores")  # the sum is inf - inf = NaN, yet no entry is
    with pytest.raises(ValueError, match=r"1 row\(s\): 1\."):
        check_no_nan_rows(np.array([[0.0, 1.0], [np.nan, 0.0]]), what="scores")


def test_describe_shows_arrays_by_shape_and_dtype() -> None:
    from mmref._validation import describe

    assert describe(np.zeros((2, 3), dtype=np.float32)) == (
        "an array of shape (2, 3) and dtype float32"
    )
    # A NumPy scalar is shown as its repr (np.int8(3) in NumPy 2, 3 in NumPy 1.x).
    assert describe(np.int8(3)) == repr(np.int8(3))
    assert describe("x" * 58) == repr("x" * 58)  # 60 characters with the quotes
    assert describe("x" * 59) == repr("x" * 59)[:57] + "..."
