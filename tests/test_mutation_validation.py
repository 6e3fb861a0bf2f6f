"""The shared argument checks, as every estimator's user meets them (mmref/_validation.py).

Written to kill the mutants tools/mutation.py finds in mmref/_validation.py. Each check
is on what a caller sees: the value returned (converted or the very object given), the
class of the error, and its message, which must name the argument and its owner, say
what was wrong (the value, its type, its shape, the bad rows) and what is expected (the
interval with its open or closed ends, the options).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from mmref._validation import (
    as_array,
    as_embeddings,
    as_real_matrix,
    check_bool_param,
    check_float_param,
    check_int_param,
    check_option,
    check_real_array_param,
    describe,
    param_error,
)

OWNER = "SomeEstimator"


def _raises(error: type[Exception], message: str, func: Any, *args: Any, **kwargs: Any) -> None:
    with pytest.raises(error) as info:
        func(*args, **kwargs)
    assert str(info.value) == message, str(info.value)


# -- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (None, None, "an int"),
        (1, None, "an int >= 1"),
        (None, 5, "an int <= 5"),
        (1, 5, "an int in [1, 5]"),
    ],
)
def test_int_param_states_its_interval(low: Any, high: Any, expected: str) -> None:
    kwargs = {"name": "n", "owner": OWNER, "min_value": low, "max_value": high}
    assert check_int_param(np.int64(3), **kwargs) == 3
    assert type(check_int_param(np.int64(3), **kwargs)) is int
    for value in (True, 3.0, "3", None):
        _raises(
            TypeError,
            f"The 'n' parameter of {OWNER} must be {expected}. "
            f"Got {value!r} of type {type(value).__name__} instead.",
            check_int_param,
            value,
            **kwargs,
        )
    for value, bad in ((0, low is not None), (6, high is not None), (1, False), (5, False)):
        if bad:
            _raises(
                ValueError,
                f"The 'n' parameter of {OWNER} must be {expected}. Got {value} instead.",
                check_int_param,
                value,
                **kwargs,
            )
        else:
            assert check_int_param(value, **kwargs) == value


@pytest.mark.parametrize(
    ("closed", "text", "low_ok", "high_ok"),
    [
        ("both", "[0, 1]", True, True),
        ("left", "[0, 1)", True, False),
        ("right", "(0, 1]", False, True),
        ("neither", "(0, 1)", False, False),
    ],
)
def test_float_param_ends_are_open_or_closed(
    closed: str, text: str, low_ok: bool, high_ok: bool
) -> None:
    kwargs = {"name": "p", "owner": OWNER, "low": 0, "high": 1, "closed": closed}
    message = f"The 'p' parameter of {OWNER} must be a float in {text}. Got {{}} instead."
    for value, ok in ((0, low_ok), (1, high_ok), (0.5, True), (-1e-300, False), (1.5, False)):
        if ok:
            result = check_float_param(value, **kwargs)
            assert result == value and type(result) is float
        else:
            _raises(ValueError, message.format(repr(value)), check_float_param, value, **kwargs)
    for value in (np.nan, np.inf):
        _raises(ValueError, message.format(repr(value)), check_float_param, value, **kwargs)


def test_float_param_one_sided_intervals() -> None:
    assert check_float_param(np.float32(2.5), name="p", owner=OWNER) == 2.5
    _raises(
        ValueError,
        f"The 'p' parameter of {OWNER} must be a float. Got inf instead.",
        check_float_param,
        np.inf,
        name="p",
        owner=OWNER,
    )
    for low, closed, text, bad in ((0, "left", ">= 0", -1), (0, "neither", "> 0", 0)):
        _raises(
            ValueError,
            f"The 'p' parameter of {OWNER} must be a float {text}. Got {bad} instead.",
            check_float_param,
            bad,
            name="p",
            owner=OWNER,
            low=low,
            closed=closed,
        )
        assert check_float_param(1e300, name="p", owner=OWNER, low=low, closed=closed) == 1e300
    for high, closed, text, bad in ((1, "right", "<= 1", 2), (1, "neither", "< 1", 1)):
        _raises(
            ValueError,
            f"The 'p' parameter of {OWNER} must be a float {text}. Got {bad} instead.",
            check_float_param,
            bad,
            name="p",
            owner=OWNER,
            high=high,
            closed=closed,
        )
        assert check_float_param(-1e300, name="p", owner=OWNER, high=high, closed=closed) == -1e300
    for value in (True, "0.5", None, 1j):
        _raises(
            TypeError,
            f"The 'p' parameter of {OWNER} must be a float in [0, 1]. "
            f"Got {value!r} of type {type(value).__name__} instead.",
            check_float_param,
            value,
            name="p",
            owner=OWNER,
            low=0,
            high=1,
        )


def test_bool_and_option_params_return_what_was_given() -> None:
    assert check_bool_param(np.True_, name="b", owner=OWNER) is True
    assert check_bool_param(False, name="b", owner=OWNER) is False
    _raises(
        TypeError,
        f"The 'b' parameter of {OWNER} must be a bool. Got 1 of type int instead.",
        check_bool_param,
        1,
        name="b",
        owner=OWNER,
    )
    marker = ("a", 1)
    assert check_option(marker, name="o", owner=OWNER, options=[marker, "x"]) is marker
    for value in ("y", ["unhashable"]):
        _raises(
            ValueError,
            f"The 'o' parameter of {OWNER} must be one of {{('a', 1), 'x'}}. "
            f"Got {value!r} instead.",
            check_option,
            value,
            name="o",
            owner=OWNER,
            options={marker: 0, "x": 1},
        )


def test_param_error_and_describe_bound_the_value_shown() -> None:
    error = param_error(OWNER, "x", "a thing", "v" * 100)
    assert isinstance(error, ValueError)
    assert (
        str(error) == f"The 'x' parameter of {OWNER} must be a thing. Got '{'v' * 56}... instead."
    )
    assert describe("v" * 58) == repr("v" * 58)  # 60 characters: shown whole
    assert describe("v" * 59) == "'" + "v" * 56 + "..."
    assert describe(np.zeros((2, 3), dtype=np.int8)) == "an array of shape (2, 3) and dtype int8"


def test_real_array_param_converts_to_float64() -> None:
    result = check_real_array_param([1, 2], name="a", owner=OWNER)
    assert result.dtype == np.float64 and result.tolist() == [1.0, 2.0]
    assert check_real_array_param(True, name="a", owner=OWNER).dtype == np.float64
    for value in ([], "x", [1, "x"], 1j, [[1], [1, 2]], None):
        _raises(
            TypeError,
            f"The 'a' parameter of {OWNER} must be a real number or an array of real numbers. "
            f"Got {describe(value)} instead.",
            check_real_array_param,
            value,
            name="a",
            owner=OWNER,
        )


# -- arrays -----------------------------------------------------------------------------------


def test_as_array_names_the_first_two_shapes_of_a_ragged_list() -> None:
    image = np.zeros((2, 2))
    assert as_array(image, what="X") is image
    _raises(
        ValueError,
        "X is a ragged list of images: image 0 has shape (2, 2) but image 2 has shape (3,); "
        "expected images of equal shape.",
        as_array,
        [image, image, np.zeros(3), np.zeros(4)],
        what="X",
    )
    _raises(
        ValueError,
        "texts is a ragged list of rows: row 0 has shape (1,) but row 1 has shape (2,); "
        "expected rows of equal shape.",
        as_array,
        ([1], [1, 2]),
        what="texts",
        item="row",
    )


def test_as_array_calls_an_element_without_a_shape_ragged() -> None:
    _raises(
        ValueError,
        "X is a ragged list of images: image 0 has shape (2,) but image 1 has shape ragged; "
        "expected images of equal shape.",
        as_array,
        [np.zeros(2), [[1], [1, 2]]],
        what="X",
    )


def test_as_array_refuses_what_numpy_cannot_convert() -> None:
    class Bad:
        def __array__(self, *args: Any, **kwargs: Any) -> Any:
            raise TypeError("no")

        def __repr__(self) -> str:
            return "Bad()"

    _raises(
        TypeError,
        "X (Bad()) cannot be converted to an array of pixel values: no",
        as_array,
        Bad(),
        what="X",
    )
    # A list whose elements all have the same shape but still fails is not "ragged".
    with pytest.raises(TypeError, match=r"^X \(\[Bad\(\), Bad\(\)\]\) cannot be converted"):
        as_array([Bad(), Bad()], what="X")


def test_as_real_matrix_without_owner_states_the_dtype_or_shape() -> None:
    X = np.ones((2, 3), dtype=np.int16)
    assert as_real_matrix(X, name="E") is X
    _raises(
        TypeError,
        "E has dtype complex128; expected real numbers (bool, integer or float).",
        as_real_matrix,
        np.ones((2, 2), dtype=complex),
        name="E",
    )
    _raises(
        ValueError,
        "E has shape (3,); expected a 2-D array (n_samples, n_features).",
        as_real_matrix,
        np.ones(3),
        name="E",
    )


def test_as_real_matrix_with_owner_names_it_and_hints_at_reshape() -> None:
    _raises(
        ValueError,
        f"X must be a 2-D array (n_samples, n_features) for {OWNER}; got an array of shape "
        "(3,). Use X.reshape(1, -1) for a single sample.",
        as_real_matrix,
        np.ones(3),
        name="X",
        owner=OWNER,
    )
    _raises(
        ValueError,
        f"X must be a 2-D array (n_samples, n_features) for {OWNER}; got an array of shape "
        "(1, 2, 3).",
        as_real_matrix,
        np.ones((1, 2, 3)),
        name="X",
        owner=OWNER,
    )
    _raises(
        TypeError,
        f"X must be a 2-D array of real numbers (bool, integer or float) for {OWNER}; "
        "got [['a']] with dtype <U1.",
        as_real_matrix,
        [["a"]],
        name="X",
        owner=OWNER,
    )
    with pytest.raises(TypeError) as info:
        as_real_matrix([[1], [1, 2]], name="X", owner=OWNER)
    assert str(info.value).startswith(
        f"X must be a 2-D array of real numbers (n_samples, n_features) for {OWNER}; "
        "got [[1], [1, 2]] of type list, which NumPy cannot convert ("
    )
    with pytest.raises(TypeError) as info:
        as_real_matrix([[1], [1, 2]], name="E")
    assert str(info.value).startswith(
        "E must be a 2-D array of real numbers (n_samples, n_features); got an object of "
        "type list that NumPy cannot convert ("
    )


def test_as_embeddings_is_contiguous_float64_and_lists_bad_rows() -> None:
    E = np.asfortranarray(np.arange(6, dtype=np.int32).reshape(2, 3))
    result = as_embeddings(E, name="E")
    assert result.dtype == np.float64 and result.flags.c_contiguous
    np.testing.assert_array_equal(result, E)
    assert as_embeddings(np.full((2, 2), 1e308), name="E").shape == (2, 2)  # the sum overflows
    assert as_embeddings(np.zeros((0, 2)), name="E").shape == (0, 2)
    _raises(
        ValueError,
        "E has shape (2, 0); expected at least one feature column.",
        as_embeddings,
        np.zeros((2, 0)),
        name="E",
    )
    for n_bad, more in ((10, ""), (11, " and 1 more"), (13, " and 3 more")):
        bad = np.zeros((15, 2))
        bad[2 : 2 + n_bad, 1] = np.inf
        listed = ", ".join(str(i) for i in range(2, 12))
        _raises(
            ValueError,
            f"E contains NaN or infinity in {n_bad} row(s): {listed}{more}; "
            "expected finite values.",
            as_embeddings,
            bad,
            name="E",
        )
    assert re.search(r"row\(s\): 1;", _message(as_embeddings, np.array([[0.0], [np.nan]])))


def _message(func: Any, *args: Any) -> str:
    with pytest.raises(ValueError) as info:
        func(*args, name="E")
    return str(info.value)


def test_check_fitted_passes_a_fitted_estimator_and_names_fit_otherwise() -> None:
    from mmref import NotFittedError
    from mmref._validation import check_fitted

    class Model:
        pass

    model = Model()
    with pytest.raises(
        NotFittedError, match=r"^This Model instance is not fitted yet\. Call 'fit'"
    ):
        check_fitted(model, "coef_")
    model.coef_ = 1  # type: ignore[attr-defined]
    assert check_fitted(model, "coef_") is None


def test_as_embeddings_names_its_argument_and_rows_whose_sum_is_nan() -> None:
    # inf - inf in the check's sum is NaN: reported as the row, not as a warning.
    E = np.zeros((3, 2))
    E[1] = [np.inf, -np.inf]
    _raises(
        ValueError,
        "E contains NaN or infinity in 1 row(s): 1; expected finite values.",
        as_embeddings,
        E,
        name="E",
    )
    _raises(
        ValueError,
        "E has shape (3,); expected a 2-D array (n_samples, n_features).",
        as_embeddings,
        np.ones(3),
        name="E",
    )
    _raises(
        TypeError,
        "E has dtype <U1; expected real numbers (bool, integer or float).",
        as_embeddings,
        [["a"]],
        name="E",
    )
