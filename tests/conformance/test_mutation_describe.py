"""How the kit shows values to a user (mmref.conformance._describe): array_literal
(public in mmref.strategies) writes source that rebuilds an array exactly, whatever its
dtype; messages show an array's shape, dtype and entries (a big one abbreviated, lines
within 100 columns) and cut any other long value at 200 characters."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mmref.conformance import run_checks
from mmref.strategies import array_literal


@pytest.mark.parametrize(
    ("array", "source"),
    [
        (np.array([[True, False]]), "np.array([[True, False]], dtype=np.bool_)"),
        (np.array(["a", "猫"]), "np.array(['a', '猫'], dtype=np.str_)"),
        (np.array([b"x", b""]), "np.array([b'x', b''], dtype=np.bytes_)"),
        (np.array([1.5, None], dtype=object), "np.array([1.5, None], dtype=object)"),
        (np.zeros((0, 2), dtype=np.str_), "np.zeros((0, 2), dtype=np.str_)"),
        (np.zeros((2, 0), dtype=object), "np.zeros((2, 0), dtype=object)"),
        (np.zeros((0,), dtype=bool), "np.zeros((0,), dtype=np.bool_)"),
        (np.array(7, dtype=np.int16), "np.array(7, dtype=np.int16)"),
        (
            np.array([[np.inf, -np.inf, np.nan, -0.0]], dtype=np.float16),
            "np.array([[np.inf, -np.inf, np.nan, -0.0]], dtype=np.float16)",
        ),
        (
            np.array([complex(-np.inf, 0.5), complex(np.nan, -0.0)]),
            "np.array([complex(-np.inf, 0.5), complex(np.nan, -0.0)], dtype=np.complex128)",
        ),
        (np.array([[[1], [2]]], dtype=np.uint64), "np.array([[[1], [2]]], dtype=np.uint64)"),
    ],
)
def test_array_literal_writes_source_that_rebuilds_the_array(array: Any, source: str) -> None:
    assert array_literal(array) == source
    rebuilt = eval(source, {"np": np})
    assert rebuilt.dtype == array.dtype and rebuilt.shape == array.shape
    if array.dtype.kind in "fc":
        assert np.array_equal(rebuilt, array, equal_nan=True)
        assert np.array_equal(np.signbit(rebuilt.real), np.signbit(array.real))
    else:
        assert rebuilt.tolist() == array.tolist()


def test_array_literal_takes_any_array_like() -> None:
    assert array_literal([[1, 2]]) == f"np.array([[1, 2]], dtype=np.{np.array([1]).dtype.name})"
    assert array_literal(0.1) == "np.array(0.1, dtype=np.float64)"


def returns(value: Any) -> Any:
    def fn(joint_embedding: Any, labels: Any, model: Any) -> Any:
        return value

    return fn


def shown(value: Any) -> str:
    """How the message of a property shows ``value``, returned where an error was due."""
    (result,) = run_checks(
        "classification", returns(value), max_examples=1, select=["rejects_missing_method"]
    )
    detail = result.message.split("\n", 1)[1]
    return detail.split("fn(joint_embedding, labels, model) returned ", 1)[1].split(
        "; expected TypeError", 1
    )[0]


def test_a_message_shows_a_small_array_whole() -> None:
    text = shown(np.arange(12.0).reshape(3, 4))
    assert text.startswith("array of shape (3, 4) and dtype float64: [[")
    assert all(f"{i}." in text for i in range(12))
    assert "..." not in text


def test_a_message_abbreviates_a_big_array_to_its_first_and_last_two_entries() -> None:
    text = shown(np.arange(1000, 1013))
    assert text.startswith("array of shape (13,) and dtype ")
    assert "[1000 1001 ... 1011 1012]" in text
    assert "1002" not in text and "1010" not in text
    text = shown(np.arange(100_000).reshape(1000, 100))
    assert text.count("...") == 5 and len(text.splitlines()) == 5


def test_a_message_keeps_array_lines_within_100_columns() -> None:
    # Ten 9-digit numbers: 101 columns on one line, so they must wrap.
    text = shown(np.full(10, 123456789))
    array_lines = text.split(": ", 1)[1].splitlines()
    assert len(array_lines) == 2
    assert max(len(line) for line in array_lines) <= 100
    # Nine of them fit on one line (91 columns), which numpy's default (75) would wrap.
    text = shown(np.full(9, 123456789))
    assert len(text.splitlines()) == 1


def test_a_message_cuts_a_long_value_at_200_characters() -> None:
    assert shown("x" * 198) == "'" + "x" * 198 + "'"  # 200 characters: whole
    long = shown("y" * 199)
    assert long == "'" + "y" * 196 + "..."
    assert len(long) == 200
    assert shown(None) == "None"
