"""Properties of ``joint_embedding`` implementations (SPEC.md 12.2).

``fn(image, text, model)`` must call ``model.encode_image(image)`` then
``model.encode_text(text)``, once each, and return ``np.concatenate((I, T), axis=1)`` of
the two outputs, bit for bit as :func:`mmref.joint_embedding` does: shape
``(n, d_image + d_text)``, dtype ``np.result_type(I, T)``, ``-0.0`` and NaN payloads kept;
and raise an exception wherever the source raises (row counts that differ, 0-D or 1-D
outputs, outputs of different dimensions). That is the ``core`` profile. The ``strict``
profile adds mmref's hardening: every output that is not 2-D (3-D too) and every row
mismatch raises ValueError, and outputs that are not numbers raise TypeError.

Every example is a :class:`mmref.testing.StubEmbeddingModel` with fixed outputs (any
width from 0, any numeric dtype, NaN and ``-0.0`` included) plus the image batch and
text list to pass; a failure's snippet rebuilds the stub, calls ``fn`` and the reference.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..reference import joint_embedding as reference_joint_embedding
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
    for_all,
    in_scope,
    invoke,
    reproduced_by,
)
from ._describe import literal, shape_str, summary
from ._stubs import StubEmbeddingModel

__all__ = ["JOINT_EMBEDDING"]

JOINT_EMBEDDING = Properties("joint-embedding")

_JE_CALL = "fn(image, text, model)"


_JE_EXPLICIT: list[tuple[Any, Any, Any, Any]] = [
    # float32 image beside float64 text; widths differ, so a wrong axis fails loudly.
    (
        np.array([[1.5, -0.0], [2.0, 3.0]], dtype=np.float32),
        np.array([[7.0], [np.nan]]),
        np.zeros((2, 2, 3), dtype=np.uint8),
        ["a cat", "猫"],
    ),
    # equal widths: joining along axis 0 "works" and gives 4 rows instead of 2.
    (
        np.array([[1, 2], [3, 4]], dtype=np.int8),
        np.array([[5, 6], [7, 8]], dtype=np.uint8),
        np.ones((2, 2, 3)),
        ["", "🙂"],
    ),
    # a single sample (one row each) and an empty batch.
    (np.array([[0.25, 0.5]]), np.array([[1.0, 2.0, 3.0]]), np.ones((1, 2, 3)), ["x"]),
    (np.zeros((0, 3)), np.zeros((0, 2), dtype=np.float32), np.zeros((0, 2, 3)), []),
]


def _je_setup(ctx: Context, example: Any) -> tuple[tuple[Any, ...], list[str]]:
    image_output, text_output, image, text = example
    model = StubEmbeddingModel(image_output, text_output)
    lines = [
        "import numpy as np",
        "import mmref",
        "from mmref.testing import StubEmbeddingModel",
        *ctx.setup_lines(),
        f"model = {model!r}",
        f"image = {literal(image)}",
        f"text = {text!r}",
        "out = fn(image, text, model)",
        "expected = mmref.joint_embedding(image, text, model)",
    ]
    return (image, text, model), lines


def _je_run(
    ctx: Context,
    body: Callable[[Any, Any, Any, Any, Any], None],
    *,
    explicit: Sequence[Any] = _JE_EXPLICIT,
) -> None:
    """Run ``body(model, image_output, text_output, image, text)`` on valid examples.

    The drawn examples are shared by every property that runs them (see ``for_all``).
    Model outputs are drawn in the run's dtypes (``ctx.dtypes``), and explicit examples
    of other dtypes are left out.
    """
    from ._examples import joint_embedding_examples

    def check(example: Any) -> None:
        (image, text, model), lines = _je_setup(ctx, example)
        with reproduced_by(lines):
            body(model, example[0], example[1], image, text)

    strategy = joint_embedding_examples(min_rows=0, dtypes=ctx.dtypes)
    scoped = in_scope(ctx, explicit, lambda ex: ex[0], lambda ex: ex[1])
    for_all(ctx, strategy, check, scoped, share="joint-embedding")


def _je_out(ctx: Context, model: Any, image: Any, text: Any) -> npt.NDArray[Any]:
    return as_array(invoke(_JE_CALL, ctx.target, image, text, model), call=_JE_CALL)


@JOINT_EMBEDDING.add(
    "calls",
    "fn calls model.encode_image(image) then model.encode_text(text), once each, passing "
    "image and text through as they are.",
)
def _je_calls(ctx: Context) -> None:
    def body(model: Any, io_: Any, to_: Any, image: Any, text: Any) -> None:
        invoke(_JE_CALL, ctx.target, image, text, model)
        names = [name for name, _ in model.calls]
        if names != ["encode_image", "encode_text"]:
            raise Violation(
                f"{_JE_CALL} called the model methods {names}; expected "
                f"['encode_image', 'encode_text']."
            )
        if model.calls[0][1] is not image or model.calls[1][1] is not text:
            raise Violation(
                f"{_JE_CALL} did not pass image to encode_image and text to encode_text as "
                f"they are (got {summary(model.calls[0][1])} and {summary(model.calls[1][1])})."
            )

    _je_run(ctx, body)


@JOINT_EMBEDDING.add("type", "fn returns a numpy.ndarray.")
def _je_type(ctx: Context) -> None:
    def body(model: Any, io_: Any, to_: Any, image: Any, text: Any) -> None:
        assert_type(call=_JE_CALL, out=invoke(_JE_CALL, ctx.target, image, text, model))

    _je_run(ctx, body)


@JOINT_EMBEDDING.add("shape", "the result has shape (n_samples, d_image + d_text).")
def _je_shape(ctx: Context) -> None:
    def body(model: Any, io_: Any, to_: Any, image: Any, text: Any) -> None:
        expected = (io_.shape[0], io_.shape[1] + to_.shape[1])
        assert_shape(call=_JE_CALL, out=_je_out(ctx, model, image, text), expected=expected)

    _je_run(ctx, body)


@JOINT_EMBEDDING.add(
    "axis",
    "the embeddings are joined along axis 1 (side by side, one row per sample), also when "
    "d_image == d_text, where joining along axis 0 would not fail.",
)
def _je_axis(ctx: Context) -> None:
    def body(model: Any, io_: Any, to_: Any, image: Any, text: Any) -> None:
        out = _je_out(ctx, model, image, text)
        n, d = io_.shape
        if out.ndim >= 1 and out.shape[0] == 2 * n and n > 0:
            why = " (2 * n_samples rows: the embeddings were stacked along axis 0)"
        else:
            why = " (one row per sample, d_image + d_text columns)"
        assert_shape(call=_JE_CALL, out=out, expected=(n, d + to_.shape[1]), why=why)

    equal_widths = [ex for ex in _JE_EXPLICIT if ex[0].shape[1] == ex[1].shape[1]]
    _je_run(ctx, body, explicit=equal_widths)


@JOINT_EMBEDDING.add(
    "order",
    "columns [:d_image] hold the image embedding and columns [d_image:] the text "
    "embedding, row for row.",
)
def _je_order(ctx: Context) -> None:
    def body(model: Any, io_: Any, to_: Any, image: Any, text: Any) -> None:
        out = _je_out(ctx, model, image, text)
        n, d_image = io_.shape
        if out.shape != (n, d_image + to_.shape[1]):
            return  # the 'shape' property reports this
        for part, got, columns, name in (
            (io_, out[:, :d_image], ":d_image", "image"),
            (to_, out[:, d_image:], "d_image:", "text"),
        ):
            if not np.array_equal(got, part.astype(out.dtype), equal_nan=out.dtype.kind in "fc"):
                raise Violation(
                    f"out[:, {columns}] (d_image = {d_image}) is {summary(got)}; expected the "
                    f"{name} embedding {summary(part)}."
                )

    _je_run(ctx, body)


@JOINT_EMBEDDING.add(
    "dtype", "the result dtype is np.result_type(image_embedding, text_embedding)."
)
def _je_dtype(ctx: Context) -> None:
    def body(model: Any, io_: Any, to_: Any, image: Any, text: Any) -> None:
        assert_dtype(
            call=_JE_CALL,
            out=_je_out(ctx, model, image, text),
            expected=np.result_type(io_, to_),
            why=f" = np.result_type({io_.dtype}, {to_.dtype}); no cast, up or down",
        )

    _je_run(ctx, body)


@JOINT_EMBEDDING.add(
    "reference",
    "the result equals mmref.joint_embedding bit for bit (shape, dtype and bytes, so -0.0 "
    "and NaN payloads too).",
)
def _je_reference(ctx: Context) -> None:
    def body(model: Any, io_: Any, to_: Any, image: Any, text: Any) -> None:
        out = _je_out(ctx, model, image, text)
        expected = reference_joint_embedding(image, text, StubEmbeddingModel(io_, to_))
        assert_same_bits(call=_JE_CALL, out=out, expected=expected, ref="mmref.joint_embedding")

    _je_run(ctx, body)


def _shapes_why(ex: Any) -> str:
    return (
        f"the model returned shapes {shape_str(np.shape(ex[0]))} and {shape_str(np.shape(ex[1]))}"
    )


@JOINT_EMBEDDING.add(
    "raises",
    "fn raises an exception (of any kind) wherever the source raises one: embeddings with "
    "different numbers of rows (one text row is never broadcast over many image rows), a "
    "0-D or 1-D output, outputs with different numbers of dimensions.",
)
def _je_raises(ctx: Context) -> None:
    from ._examples import joint_embedding_source_errors

    two_vs_one = (np.zeros((2, 2)), np.zeros((1, 2)), np.zeros((2, 2, 3)), ["a", "b"])
    one_d = (np.arange(3.0), np.arange(2.0), np.zeros((1, 2, 3)), ["t"])
    check_rejects(
        ctx,
        _je_setup,
        _JE_CALL,
        joint_embedding_source_errors(),
        [two_vs_one, one_d],
        lambda ex: f"{_shapes_why(ex)}, where the source raises",
        error=Exception,
    )


@JOINT_EMBEDDING.add("no_mutation", "fn does not modify image or text.")
def _je_no_mutation(ctx: Context) -> None:
    def body(model: Any, io_: Any, to_: Any, image: Any, text: Any) -> None:
        before = copy.deepcopy((image, text))
        invoke(_JE_CALL, ctx.target, image, text, model)
        assert_unchanged(call=_JE_CALL, name="image", before=before[0], after=image)
        assert_unchanged(call=_JE_CALL, name="text", before=before[1], after=text)

    _je_run(ctx, body)


@JOINT_EMBEDDING.add("deterministic", "calling fn twice on the same inputs gives identical bytes.")
def _je_deterministic(ctx: Context) -> None:
    def body(model: Any, io_: Any, to_: Any, image: Any, text: Any) -> None:
        first = _je_out(ctx, model, image, text)
        second = _je_out(ctx, StubEmbeddingModel(io_, to_), image, text)
        assert_same_bits(call=_JE_CALL, out=second, expected=first, ref="the first call")

    _je_run(ctx, body)


@JOINT_EMBEDDING.add(
    "protocol_2d",
    "a model output that is not 2-D (0-D, 1-D, and 3-D, which the source joins) raises "
    "ValueError; it is never joined into a plausible result.",
    profile="strict",
)
def _je_protocol(ctx: Context) -> None:
    from ._examples import bad_joint_embedding_examples

    one_d = (np.arange(3.0), np.arange(2.0), np.zeros((1, 2, 3)), ["t"])
    three_d = (np.zeros((1, 1, 2)), np.zeros((1, 1, 2)), np.zeros((1, 2, 3)), ["t"])
    check_rejects(
        ctx,
        _je_setup,
        _JE_CALL,
        bad_joint_embedding_examples(bad_rows=False),
        [one_d, three_d],
        lambda ex: f"{_shapes_why(ex)}; both must be 2-D",
    )


@JOINT_EMBEDDING.add(
    "row_mismatch",
    "embeddings with different numbers of rows raise ValueError.",
    profile="strict",
)
def _je_row_mismatch(ctx: Context) -> None:
    from ._examples import bad_joint_embedding_examples

    two_vs_one = (np.zeros((2, 2)), np.zeros((1, 2)), np.zeros((2, 2, 3)), ["a", "b"])
    check_rejects(
        ctx,
        _je_setup,
        _JE_CALL,
        bad_joint_embedding_examples(bad_rows=True),
        [two_vs_one],
        lambda ex: f"the model returned {ex[0].shape[0]} image rows and {ex[1].shape[0]} text rows",
    )


@JOINT_EMBEDDING.add(
    "rejects_non_numeric",
    "a model output that is not numbers (str or object arrays, which the source joins) "
    "raises TypeError.",
    profile="strict",
)
def _je_non_numeric(ctx: Context) -> None:
    from ._examples import fixed

    words = np.array([["a", "b"]])
    boxed = np.array([[1.0, 2.0]], dtype=object)
    explicit = [
        (words, np.zeros((1, 1)), np.zeros((1, 2, 3)), ["t"]),
        (np.zeros((1, 1)), boxed, np.zeros((1, 2, 3)), ["t"]),
    ]
    check_rejects(
        ctx,
        _je_setup,
        _JE_CALL,
        fixed(explicit),
        explicit,
        lambda ex: (
            f"the model returned dtypes {ex[0].dtype} and {ex[1].dtype}; both must be numbers"
        ),
        error=TypeError,
    )


@JOINT_EMBEDDING.add(
    "rejects_missing_method",
    "a model without encode_image or without encode_text raises TypeError before any "
    "method is called (the source calls encode_image, then raises AttributeError).",
    profile="strict",
)
def _je_missing_method(ctx: Context) -> None:
    outputs = {"encode_image": np.zeros((1, 2)), "encode_text": np.ones((1, 1))}
    check_missing_methods(
        ctx,
        call="fn(image, text, model)",
        protocol=("encode_image", "encode_text"),
        outputs=outputs,
        args=(np.zeros((1, 2, 3)), ["t"]),
    )
