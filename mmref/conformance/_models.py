"""Properties of models (SPEC.md 12.4 and 12.5): embedding models and classification models.

An example is what one round of calls feeds the model: for an ``embedding-model`` a
batch of ``N`` images ``(N, *image_shape)`` and a list of ``N`` texts, passed to
``encode_image`` and ``encode_text``; for a ``classification-model`` a matrix ``X`` of
shape ``(n, n_features)``, passed to ``predict``. Most properties are the same for both
kinds and are written once over the example's *inputs*, ``(method, value, name)``:
``finite``, ``row_independence`` (row ``i`` of the batch equals the row of
``value[i:i+1]`` within ``|a - b| <= rtol * max(1, max|row|)``), ``deterministic``,
``no_mutation`` and ``fresh_process``.

Each property first runs fixed examples (an all-zero image or row, an empty text, CJK
and emoji), then examples drawn by Hypothesis.
"""

from __future__ import annotations

import copy
import math
import textwrap
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from ._core import (
    Context,
    Properties,
    Violation,
    as_array,
    assert_dtype,
    assert_finite,
    assert_same_bits,
    assert_unchanged,
    for_all,
    hash_bytes,
    invoke,
)
from ._describe import literal, shape_str
from ._targets import fresh_process, synthetic_classification_data

__all__ = ["CLASSIFICATION_MODEL", "EMBEDDING_MODEL"]

EMBEDDING_MODEL = Properties("embedding-model")
CLASSIFICATION_MODEL = Properties("classification-model")

# One call of an example: (method, value, how the snippet names the value).
_Input = tuple[str, Any, str]
_Check = Callable[[Context, list[_Input], list[str]], None]

_FRESH_PROCESS = (
    "for a model that claims determinism: a new Python process (another hash seed) gives "
    "identical bytes."
)


def _embedding(ctx: Context) -> bool:
    return ctx.kind == "embedding-model"


def _inputs(ctx: Context, example: Any) -> list[_Input]:
    if _embedding(ctx):
        images, texts = example
        return [("encode_image", images, "images"), ("encode_text", texts, "texts")]
    return [("predict", example, "X")]


def _snippet(ctx: Context, example: Any) -> list[str]:
    if _embedding(ctx):
        images, texts = example
        data = [
            f"images = {literal(images)}",
            f"texts = {texts!r}",
            "image_embedding = model.encode_image(images)",
            "text_embedding = model.encode_text(texts)",
        ]
    else:
        data = [f"X = {literal(example)}", "scores = model.predict(X)"]
    return ["import numpy as np", *ctx.setup_lines(), *data]


def _calls_snippet(lines: list[str], calls: list[str]) -> list[str]:
    """The example's snippet with the calls actually made, in order, the failing one last."""
    n_defaults = 2 if lines[-1].startswith("text_embedding") else 1
    return [*lines[:-n_defaults], *(f"out = {call}" for call in calls)]


def _run(ctx: Context, check: _Check) -> None:
    """Run ``check(ctx, inputs, snippet)`` on the fixed examples, then on drawn ones.

    A violation's snippet repeats the calls the check made, up to the one that failed
    (``model.encode_image(images[0])`` for a single image, say).
    """

    def body(example: Any) -> None:
        lines = _snippet(ctx, example)
        calls: list[str] = []
        ctx.state["calls"] = calls
        try:
            check(ctx, _inputs(ctx, example), lines)
        except Violation as exc:
            if not exc.snippet:
                exc.snippet = "\n".join(_calls_snippet(lines, calls) if calls else lines)
            raise

    if _embedding(ctx):
        for_all(ctx, _em_examples(ctx), body, _em_explicit(ctx), share="model")
    else:
        for_all(ctx, _cm_examples(ctx), body, _cm_explicit(ctx), share="model")


def _output(ctx: Context, method: str, value: Any, arg: str) -> npt.NDArray[Any]:
    call = f"model.{method}({arg})"
    ctx.state.setdefault("calls", []).append(call)
    return as_array(invoke(call, getattr(ctx.target, method), value), call=call)


def _add(
    props: Properties, name: str, description: str
) -> Callable[[_Check], Callable[[Context], None]]:
    """Decorator: register a check over an example's inputs as the property ``name``."""

    def register(check: _Check) -> Callable[[Context], None]:
        def run(ctx: Context) -> None:
            _run(ctx, check)

        return props.add(name, description)(run)

    return register


def _add_to_both(name: str, embedding: str, classification: str) -> Callable[[_Check], _Check]:
    """Decorator: register one check for both kinds, each with its own description."""

    def register(check: _Check) -> _Check:
        _add(EMBEDDING_MODEL, name, embedding)(check)
        _add(CLASSIFICATION_MODEL, name, classification)(check)
        return check

    return register


# --------------------------------------------------------------------------------------
# Examples
# --------------------------------------------------------------------------------------


def _image_shape_for(ctx: Context) -> tuple[int, ...] | None:
    if ctx.image_shape is not None:
        return tuple(ctx.image_shape)
    inner = getattr(ctx.target, "image_encoder_", None)
    if inner is None:  # an unfitted composite uses the encoder it was given
        inner = getattr(ctx.target, "image_encoder", None)
    for owner in (ctx.target, inner):
        shape = getattr(owner, "image_shape", None)
        if isinstance(shape, tuple):
            return shape
        width = getattr(owner, "n_features_in_", None)
        if isinstance(width, int) and not isinstance(width, bool):
            return (1, width)
    return None


def _em_examples(ctx: Context) -> Any:
    """Strategy of (images, texts): a batch of N images and a list of N texts."""
    from ._examples import embedding_model_examples

    return embedding_model_examples(_image_shape_for(ctx), ctx.image_dtypes)


def _em_explicit(ctx: Context) -> list[tuple[Any, Any]]:
    shape = _image_shape_for(ctx) or (4, 4)
    # float32 beside float64: an output dtype that follows the pixel dtype shows here
    # without relying on Hypothesis to draw a float image.
    dtypes = [np.dtype(d) for d in (ctx.image_dtypes or [np.uint8, np.float32, np.float64])]
    count = 3
    varied = hash_bytes(count * math.prod(shape)).astype(np.int64).reshape(count, *shape)
    varied[0] = 0  # an all-zero image must still give a finite row
    texts = ["", "A cat on the mat.", "一只猫 在桌子上 🐈‍⬛ Straße İstanbul e\u0301"]
    return [(_cast_pixels(varied, dtype), texts) for dtype in dtypes]


def _cast_pixels(pixels: npt.NDArray[Any], dtype: np.dtype[Any]) -> npt.NDArray[Any]:
    if dtype.kind == "b":
        return pixels > 127
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        pixels = np.clip(pixels, max(info.min, 0), info.max)
    cast: npt.NDArray[Any] = pixels.astype(dtype)
    return cast


def _cm_examples(ctx: Context) -> Any:
    from .strategies import feature_matrices

    assert ctx.n_features is not None
    if ctx.dtypes is None:
        return feature_matrices(ctx.n_features)
    return feature_matrices(ctx.n_features, dtypes=ctx.dtypes)


def _cm_explicit(ctx: Context) -> list[npt.NDArray[Any]]:
    assert ctx.n_features is not None
    X, _ = synthetic_classification_data()
    rows = np.resize(X.ravel(), (4, ctx.n_features)).copy()
    rows[1] = 0.0  # an all-zero row: a cosine classifier must still give finite scores
    return [rows.astype(dtype) for dtype in (ctx.dtypes or (np.float64, np.float32))]


# --------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------


@_add(
    EMBEDDING_MODEL,
    "protocol_2d",
    "encode_image and encode_text return numeric 2-D arrays with one row per input: "
    "(N, d) for a batch of N, (1, d) for a single image or a single str.",
)
def _em_protocol(ctx: Context, inputs: list[_Input], lines: list[str]) -> None:
    for method, batch, name in inputs:
        for value, arg, rows in ((batch, name, len(batch)), (batch[0], f"{name}[0]", 1)):
            out = _output(ctx, method, value, arg)
            call = f"model.{method}({arg})"
            if out.dtype.kind not in "biufc":
                raise Violation(f"{call} returned dtype {out.dtype}; expected a numeric dtype.")
            if out.ndim != 2 or out.shape[0] != rows:
                raise Violation(
                    f"{call} returned shape {shape_str(out.shape)}; expected ({rows}, d), a 2-D "
                    f"array with one row per input."
                )


@_add(
    CLASSIFICATION_MODEL,
    "protocol_2d",
    "predict returns real scores of shape (n_samples, n_classes), n_classes >= 1.",
)
def _cm_protocol(ctx: Context, inputs: list[_Input], lines: list[str]) -> None:
    ((method, X, arg),) = inputs
    out = _output(ctx, method, X, arg)
    if out.dtype.kind not in "biuf":
        raise Violation(f"model.predict(X) returned dtype {out.dtype}; expected real numbers.")
    if out.ndim != 2 or out.shape[0] != X.shape[0] or out.shape[1] < 1:
        raise Violation(
            f"model.predict(X) returned shape {shape_str(out.shape)} for X of shape "
            f"{shape_str(X.shape)}; expected ({X.shape[0]}, n_classes) with n_classes >= 1."
        )


@_add(
    EMBEDDING_MODEL,
    "width",
    "every call returns the same number of columns (d_image for images, d_text for texts), "
    "whatever the batch size and pixel dtype.",
)
def _em_width(ctx: Context, inputs: list[_Input], lines: list[str]) -> None:
    for method, value, arg in inputs:
        _assert_same_width(ctx, method, arg, _output(ctx, method, value, arg), lines)


@_add(
    CLASSIFICATION_MODEL,
    "width",
    "every call returns the same number of columns, len(model.classes_) when the model has "
    "classes_.",
)
def _cm_width(ctx: Context, inputs: list[_Input], lines: list[str]) -> None:
    ((method, X, arg),) = inputs
    out = _output(ctx, method, X, arg)
    classes = getattr(ctx.target, "classes_", None)
    if classes is not None and _width(out) != len(classes):
        raise Violation(
            f"model.predict(X) returned {_width(out)} columns but the model has "
            f"{len(classes)} classes_; column j must score classes_[j]."
        )
    _assert_same_width(ctx, method, arg, out, lines)


def _width(out: npt.NDArray[Any]) -> int | None:
    return out.shape[-1] if out.ndim else None


def _assert_same_width(
    ctx: Context, method: str, arg: str, out: npt.NDArray[Any], lines: list[str]
) -> None:
    """The number of columns must be the first example's (``lines``: this example's snippet)."""
    width = _width(out)
    seen = ctx.state.setdefault(f"width:{method}", (width, lines))
    if seen[0] != width:
        raise Violation(
            f"model.{method}({arg}) returned {width} columns here, {seen[0]} for the first "
            f"example checked:\n" + textwrap.indent("\n".join(seen[1]), "    ")
        )


@_add(
    EMBEDDING_MODEL,
    "dtype",
    "the output dtype does not depend on the input (pixel dtype, batch size) and equals "
    "the model's dtype attribute when it has one.",
)
def _em_dtype(ctx: Context, inputs: list[_Input], lines: list[str]) -> None:
    declared = getattr(ctx.target, "dtype", None)
    try:
        expected = None if declared is None else np.dtype(declared)
    except TypeError:
        expected = None
    images = inputs[0][1]
    for method, value, arg in inputs:
        out = _output(ctx, method, value, arg)
        if expected is not None:
            why = f" (model.dtype = {declared!r})"
            assert_dtype(call=f"model.{method}({arg})", out=out, expected=expected, why=why)
        seen = ctx.state.setdefault(f"dtype:{method}", (out.dtype, images.dtype))
        if seen[0] != out.dtype:
            raise Violation(
                f"model.{method}({arg}) returned dtype {out.dtype} here (images of dtype "
                f"{images.dtype}); the first example checked gave {seen[0]} (images of "
                f"dtype {seen[1]})."
            )


@_add_to_both(
    "finite",
    "every output entry is finite, also for an all-zero image or an empty text (never NaN).",
    "every score is finite (all-zero rows included).",
)
def _finite(ctx: Context, inputs: list[_Input], lines: list[str]) -> None:
    for method, value, arg in inputs:
        assert_finite(call=f"model.{method}({arg})", out=_output(ctx, method, value, arg))


@_add_to_both(
    "row_independence",
    "a batch encodes to the rows of its members encoded one at a time (batches of 1), "
    "within a tolerance set by the output dtype.",
    "the scores of a batch equal those of its rows predicted one at a time, within a "
    "tolerance set by the output dtype.",
)
def _row_independence(ctx: Context, inputs: list[_Input], lines: list[str]) -> None:
    for method, value, arg in inputs:
        batch = _output(ctx, method, value, arg)
        if batch.ndim != 2 or batch.shape[0] != len(value):
            return  # the 'protocol_2d' property reports this
        for i in range(len(value)):
            item = f"{arg}[{i}:{i + 1}]"
            single = _output(ctx, method, value[i : i + 1], item)
            try:
                _assert_rows_match(
                    ctx, call=f"model.{method}({item})", batch=batch, row=i, single=single
                )
            except Violation:
                # A random model also gives rows that differ: say so, rather than blame the batch.
                again = _output(ctx, method, value, arg)
                _assert_repeatable(f"model.{method}({arg})", again, batch)
                raise


def _tolerance(ctx: Context, dtype: np.dtype[Any]) -> float:
    if ctx.rtol is not None:
        return ctx.rtol
    return {8: 1e-9, 4: 1e-4, 2: 1e-2}.get(dtype.itemsize, 1e-9) if dtype.kind in "fc" else 0.0


def _assert_rows_match(
    ctx: Context, *, call: str, batch: npt.NDArray[Any], row: int, single: npt.NDArray[Any]
) -> None:
    expected = batch[row : row + 1]
    if single.shape != expected.shape:
        raise Violation(
            f"{call} for row {row} alone returned shape {shape_str(single.shape)}; expected "
            f"{shape_str(expected.shape)}."
        )
    tol = _tolerance(ctx, batch.dtype)
    # Non-finite entries must be the same alone (their being there is 'finite''s to
    # report, not a batch dependence); an inf must not widen the tolerance to inf.
    alone, in_batch = single.astype(np.complex128), expected.astype(np.complex128)
    finite = np.isfinite(alone) & np.isfinite(in_batch)
    same = (alone == in_batch) | (np.isnan(alone) & np.isnan(in_batch))
    scale = max(1.0, float(np.max(np.abs(in_batch), where=finite, initial=0.0)))
    error = np.where(finite, np.abs(alone - in_batch), np.where(same, 0.0, np.inf))
    if not np.all(error <= tol * scale):
        raise Violation(
            f"Row {row} of the batch result differs from {call} on that row alone by up to "
            f"{float(np.max(error)):.3g} (tolerance {tol:.3g} * {scale:.3g}); rows must not "
            f"depend on the rest of the batch.\nbatch row: {expected.tolist()}\n"
            f"alone:     {single.tolist()}"
        )


@_add_to_both(
    "deterministic",
    "encoding the same input twice gives identical bytes.",
    "predicting the same input twice gives identical bytes.",
)
def _deterministic(ctx: Context, inputs: list[_Input], lines: list[str]) -> None:
    for method, value, arg in inputs:
        first = _output(ctx, method, value, arg)
        second = _output(ctx, method, value, arg)
        _assert_repeatable(f"model.{method}({arg})", second, first)


# What a model that is not deterministic is told (PyTorch's dropout is the usual cause).
_RANDOMNESS_HINT = (
    "The model draws random numbers: a dropout (or other random) layer left in training "
    "mode (call model.eval() on a PyTorch module), or a random generator without a fixed seed."
)


def _assert_repeatable(call: str, second: npt.NDArray[Any], first: npt.NDArray[Any]) -> None:
    try:
        assert_same_bits(call=call, out=second, expected=first, ref="the first call")
    except Violation as exc:
        raise Violation(f"{exc.detail} {_RANDOMNESS_HINT}") from None


@_add_to_both(
    "no_mutation",
    "encode_image and encode_text do not modify their input.",
    "predict does not modify X.",
)
def _no_mutation(ctx: Context, inputs: list[_Input], lines: list[str]) -> None:
    for method, value, arg in inputs:
        before = copy.deepcopy(value)
        _output(ctx, method, value, arg)
        assert_unchanged(call=f"model.{method}({arg})", name=arg, before=before, after=value)


def _fresh(ctx: Context) -> None:
    explicit = _em_explicit(ctx) if _embedding(ctx) else _cm_explicit(ctx)
    calls = [(method, value) for ex in explicit for method, value, _ in _inputs(ctx, ex)]
    fresh_process(ctx, calls)


EMBEDDING_MODEL.add("fresh_process", _FRESH_PROCESS)(_fresh)
CLASSIFICATION_MODEL.add("fresh_process", _FRESH_PROCESS)(_fresh)
