"""Properties of ``multimodal_classification`` implementations (SPEC.md 12.3).

``fn(joint_embedding, labels, model)`` must call ``model.predict(joint_embedding)`` once
and return ``np.argmax(S, axis=1)`` of the real 2-D scores ``S`` as ``intp``, ties going to
the lowest column (``-0.0 == 0.0``), bit for bit as :func:`mmref.multimodal_classification`
does; ``labels`` is not used; scores that are 0-D, 1-D or have no column raise an
exception, as in the source. That is the ``core`` profile. The ``strict`` profile adds
mmref's hardening: scores that are not 2-D (3-D too) or have no column, have another row
count than ``joint_embedding`` or hold NaN raise ValueError, and scores that are not real
numbers raise TypeError.

Every example is a :class:`mmref.testing.StubClassificationModel` with fixed scores
(frequent ties, ``+-0.0``, ``+-inf``, dtype extremes) plus the arguments to pass; a
failure's snippet rebuilds the stub, calls ``fn`` and the reference.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..reference import multimodal_classification as reference_multimodal_classification
from ._core import (
    Context,
    Properties,
    Violation,
    as_array,
    assert_dtype,
    assert_same_bits,
    assert_shape,
    assert_type,
    assert_unchanged,
    check_missing_methods,
    check_rejects,
    deep_equal,
    for_all,
    in_scope,
    invoke,
    reproduced_by,
)
from ._describe import literal, shape_str, summary
from ._stubs import StubClassificationModel

__all__ = ["CLASSIFICATION"]

CLASSIFICATION = Properties("classification")

_CL_CALL = "fn(joint_embedding, labels, model)"


_CL_EXPLICIT: list[tuple[Any, Any, Any]] = [
    # ties (first index wins), -0.0 == 0.0, infinities; 3 x 3 so an axis-0 argmax has the
    # right shape and only the values can tell.
    (
        np.array([[1.0, 3.0, 3.0], [-0.0, 0.0, -1.0], [-np.inf, -np.inf, -5.0]]),
        np.zeros((3, 2)),
        ["cat", "dog", "bird"],
    ),
    (np.array([[2, 9, 9, 1], [5, 5, 5, 5]], dtype=np.int8), np.ones((2, 2)), None),
    (np.array([[0.5]], dtype=np.float32), np.ones((1, 2)), None),
    (np.zeros((0, 3)), np.zeros((0, 2)), []),
]


def _cl_setup(ctx: Context, example: Any) -> tuple[tuple[Any, ...], list[str]]:
    scores, joint, labels = example
    model = StubClassificationModel(scores)
    lines = [
        "import numpy as np",
        "import mmref",
        "from mmref.testing import StubClassificationModel",
        *ctx.setup_lines(),
        f"model = {model!r}",
        f"joint_embedding = {literal(joint)}",
        f"labels = {literal(labels)}",
        "out = fn(joint_embedding, labels, model)",
        "expected = mmref.multimodal_classification(joint_embedding, labels, model)",
    ]
    return (joint, labels, model), lines


def _cl_run(
    ctx: Context,
    body: Callable[[Any, Any, Any, Any], None],
    *,
    strategy: Any = None,
    explicit: Sequence[Any] = _CL_EXPLICIT,
) -> None:
    """Run ``body(model, scores, joint_embedding, labels)`` on valid examples."""
    from ._examples import classification_examples

    def check(example: Any) -> None:
        (joint, labels, model), lines = _cl_setup(ctx, example)
        with reproduced_by(lines):
            body(model, example[0], joint, labels)

    scoped = in_scope(ctx, explicit, lambda ex: ex[0])
    if strategy is None:
        strategy = classification_examples(ctx.dtypes)
        for_all(ctx, strategy, check, scoped, share="classification")
    else:
        for_all(ctx, strategy, check, scoped)


def _cl_out(ctx: Context, model: Any, joint: Any, labels: Any) -> npt.NDArray[Any]:
    return as_array(invoke(_CL_CALL, ctx.target, joint, labels, model), call=_CL_CALL)


@CLASSIFICATION.add(
    "calls",
    "fn calls model.predict(joint_embedding) once, passing joint_embedding as it is.",
)
def _cl_calls(ctx: Context) -> None:
    def body(model: Any, scores: Any, joint: Any, labels: Any) -> None:
        invoke(_CL_CALL, ctx.target, joint, labels, model)
        if len(model.calls) != 1 or model.calls[0] is not joint:
            raise Violation(
                f"{_CL_CALL} called model.predict {len(model.calls)} time(s)"
                + ("" if not model.calls else f", first with {summary(model.calls[0])}")
                + "; expected once, with joint_embedding itself."
            )

    _cl_run(ctx, body)


@CLASSIFICATION.add("type", "fn returns a numpy.ndarray.")
def _cl_type(ctx: Context) -> None:
    def body(model: Any, scores: Any, joint: Any, labels: Any) -> None:
        assert_type(call=_CL_CALL, out=invoke(_CL_CALL, ctx.target, joint, labels, model))

    _cl_run(ctx, body)


@CLASSIFICATION.add("shape", "the result has shape (n_samples,).")
def _cl_shape(ctx: Context) -> None:
    def body(model: Any, scores: Any, joint: Any, labels: Any) -> None:
        out = _cl_out(ctx, model, joint, labels)
        assert_shape(call=_CL_CALL, out=out, expected=scores.shape[:1])

    _cl_run(ctx, body)


@CLASSIFICATION.add("dtype", "the result dtype is intp (NumPy's index integer).")
def _cl_dtype(ctx: Context) -> None:
    def body(model: Any, scores: Any, joint: Any, labels: Any) -> None:
        out = _cl_out(ctx, model, joint, labels)
        assert_dtype(call=_CL_CALL, out=out, expected=np.dtype(np.intp))

    _cl_run(ctx, body)


@CLASSIFICATION.add(
    "axis",
    "the argmax is taken along axis 1: entry i is the column of row i's maximum (checked "
    "on rows with one strict maximum, square matrices included).",
)
def _cl_axis(ctx: Context) -> None:
    from ._examples import unique_max_scores

    def body(model: Any, scores: Any, joint: Any, labels: Any) -> None:
        out = _cl_out(ctx, model, joint, labels)
        expected = np.argmax(scores, axis=1)
        why = " (one index per row: the argmax along axis 1)"
        assert_shape(call=_CL_CALL, out=out, expected=expected.shape, why=why)
        if not np.array_equal(out, expected):
            raise Violation(
                f"{_CL_CALL} returned {out.tolist()}; each row's only maximum is in "
                f"columns {expected.tolist()}."
            )

    # Square, and the column-wise argmax ([0, 0, 1]) differs from the row-wise one.
    diagonal = (
        np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]]),
        np.zeros((3, 2)),
        None,
    )
    _cl_run(ctx, body, strategy=unique_max_scores(), explicit=[diagonal])


def _is_a_maximum(row: npt.NDArray[Any], j: Any) -> bool:
    return isinstance(j, int) and 0 <= j < row.size and bool(row[j] == row.max())


@CLASSIFICATION.add("maximum", "scores[i, out[i]] is a maximum of row i (never a minimum).")
def _cl_maximum(ctx: Context) -> None:
    def body(model: Any, scores: Any, joint: Any, labels: Any) -> None:
        out = _cl_out(ctx, model, joint, labels)
        if out.shape != scores.shape[:1]:
            return  # the 'shape' property reports this
        for i, j in enumerate(out.tolist()):
            row = scores[i]
            if not _is_a_maximum(row, j):
                raise Violation(
                    f"out[{i}] = {j!r} but row {i} of the scores is {row.tolist()}, whose "
                    f"maximum {row.max()!r} is not at column {j!r}."
                )

    _cl_run(ctx, body)


@CLASSIFICATION.add("ties", "a row whose maximum occurs more than once gives its lowest column.")
def _cl_ties(ctx: Context) -> None:
    def body(model: Any, scores: Any, joint: Any, labels: Any) -> None:
        out = _cl_out(ctx, model, joint, labels)
        if out.shape != scores.shape[:1]:
            return  # the 'shape' property reports this
        for i, j in enumerate(out.tolist()):
            row = scores[i]
            first = int(np.flatnonzero(row == row.max())[0])
            if j != first and _is_a_maximum(row, j):  # a j that is no maximum: see 'maximum'
                raise Violation(
                    f"out[{i}] = {j} but row {i} of the scores is {row.tolist()}, whose "
                    f"maximum first occurs at column {first}: ties go to the lowest index."
                )

    _cl_run(ctx, body)


@CLASSIFICATION.add(
    "reference",
    "the result equals mmref.multimodal_classification bit for bit (shape, dtype, values).",
)
def _cl_reference(ctx: Context) -> None:
    def body(model: Any, scores: Any, joint: Any, labels: Any) -> None:
        out = _cl_out(ctx, model, joint, labels)
        expected = reference_multimodal_classification(
            joint, labels, StubClassificationModel(scores)
        )
        assert_same_bits(
            call=_CL_CALL, out=out, expected=expected, ref="mmref.multimodal_classification"
        )

    _cl_run(ctx, body)


@CLASSIFICATION.add(
    "labels_unused",
    "labels does not change the result (None, class names or any other object).",
)
def _cl_labels(ctx: Context) -> None:
    def body(model: Any, scores: Any, joint: Any, labels: Any) -> None:
        out = _cl_out(ctx, model, joint, labels)
        for other in (None, ["only one label"], object()):
            again = _cl_out(ctx, StubClassificationModel(scores), joint, other)
            if not deep_equal(out, again):
                raise Violation(
                    f"With labels={other!r} the result is {summary(again)}; with "
                    f"labels={summary(labels)} it was {summary(out)}. labels is not used."
                )

    _cl_run(ctx, body)


@CLASSIFICATION.add(
    "raises",
    "fn raises an exception (of any kind) wherever the source raises one: 0-D or 1-D "
    "scores, scores with no column.",
)
def _cl_raises(ctx: Context) -> None:
    from ._examples import bad_classification_examples

    explicit = [
        (np.array([0.1, 0.9]), np.zeros((1, 2)), None),
        (np.zeros((2, 0)), np.zeros((2, 2)), None),
    ]
    check_rejects(
        ctx,
        _cl_setup,
        _CL_CALL,
        bad_classification_examples("source"),
        explicit,
        lambda ex: f"the scores have shape {shape_str(np.shape(ex[0]))}, where the source raises",
        error=Exception,
    )


@CLASSIFICATION.add("no_mutation", "fn does not modify joint_embedding or labels.")
def _cl_no_mutation(ctx: Context) -> None:
    def body(model: Any, scores: Any, joint: Any, labels: Any) -> None:
        before = copy.deepcopy((joint, labels))
        invoke(_CL_CALL, ctx.target, joint, labels, model)
        assert_unchanged(call=_CL_CALL, name="joint_embedding", before=before[0], after=joint)
        assert_unchanged(call=_CL_CALL, name="labels", before=before[1], after=labels)

    _cl_run(ctx, body)


@CLASSIFICATION.add("deterministic", "calling fn twice on the same inputs gives identical results.")
def _cl_deterministic(ctx: Context) -> None:
    def body(model: Any, scores: Any, joint: Any, labels: Any) -> None:
        first = _cl_out(ctx, model, joint, labels)
        second = _cl_out(ctx, StubClassificationModel(scores), joint, labels)
        assert_same_bits(call=_CL_CALL, out=second, expected=first, ref="the first call")

    _cl_run(ctx, body)


@CLASSIFICATION.add(
    "protocol_2d",
    "scores that are not 2-D (0-D, 1-D, and 3-D, which the source turns into a 2-D "
    "argmax), or have no column, raise ValueError; they never give a plausible index.",
    profile="strict",
)
def _cl_protocol(ctx: Context) -> None:
    from ._examples import bad_classification_examples

    explicit = [
        (np.zeros((2, 3, 1)), np.zeros((2, 2)), None),
        (np.array([0.1, 0.9]), np.zeros((1, 2)), None),
    ]
    check_rejects(
        ctx,
        _cl_setup,
        _CL_CALL,
        bad_classification_examples("shape"),
        explicit,
        lambda ex: (
            f"the scores have shape {shape_str(np.shape(ex[0]))}; expected "
            "(n_samples, n_classes) with n_classes >= 1"
        ),
    )


@CLASSIFICATION.add(
    "row_mismatch",
    "scores with another number of rows than joint_embedding raise ValueError.",
    profile="strict",
)
def _cl_row_mismatch(ctx: Context) -> None:
    from ._examples import bad_classification_examples

    check_rejects(
        ctx,
        _cl_setup,
        _CL_CALL,
        bad_classification_examples("rows"),
        [(np.zeros((2, 2)), np.zeros((3, 2)), None)],
        lambda ex: f"{ex[0].shape[0]} score rows for a joint_embedding of {ex[1].shape[0]} rows",
    )


@CLASSIFICATION.add(
    "rejects_nan",
    "NaN scores raise ValueError (NumPy's argmax would return the NaN's index as a class).",
    profile="strict",
)
def _cl_nan(ctx: Context) -> None:
    from ._examples import bad_classification_examples

    check_rejects(
        ctx,
        _cl_setup,
        _CL_CALL,
        bad_classification_examples("nan"),
        [(np.array([[0.1, np.nan, 0.3]]), np.zeros((1, 2)), None)],
        lambda ex: "the scores contain NaN",
    )


@CLASSIFICATION.add(
    "rejects_non_numeric",
    "scores that are not real numbers (complex, str or object arrays, which the source "
    "takes) raise TypeError.",
    profile="strict",
)
def _cl_non_numeric(ctx: Context) -> None:
    from ._examples import fixed

    explicit = [
        (np.array([[1 + 2j, 3.0]]), np.zeros((1, 2)), None),
        (np.array([["a", "b"]]), np.zeros((1, 2)), None),
        (np.array([[1.0, 2.0]], dtype=object), np.zeros((1, 2)), None),
    ]
    check_rejects(
        ctx,
        _cl_setup,
        _CL_CALL,
        fixed(explicit),
        explicit,
        lambda ex: f"the scores have dtype {ex[0].dtype}; they must be real numbers",
        error=TypeError,
    )


@CLASSIFICATION.add(
    "rejects_missing_method",
    "a model without predict raises TypeError (the source raises AttributeError).",
    profile="strict",
)
def _cl_missing_method(ctx: Context) -> None:
    check_missing_methods(
        ctx,
        call="fn(joint_embedding, labels, model)",
        protocol=("predict",),
        outputs={"predict": np.zeros((1, 2))},
        args=(np.zeros((1, 2)), None),
    )
