"""A catalogue of wrong joint_embedding and multimodal_classification implementations.

Each entry is wrong in exactly one way (the order or number of model calls, signed zeros,
NaN payloads, a batch-size dependence, a dtype, an axis, the tie rule, a mutated input,
nondeterminism, a missing refusal, ...). The kit must give the right diagnosis: exactly
the properties that the one mistake breaks fail, the first of them names the mistake,
and its message states the facts a user needs (what was expected, what was got). The
correct implementations (mmref's, and differently written but equivalent ones) pass
every property.
"""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import mmref
from mmref import ConformanceError
from mmref.conformance import PROPERTIES, CheckResult, run_checks

FEW = 6  # drawn examples per property; the explicit examples always run on top

Fn = Callable[[Any, Any, Any], Any]


def statuses(kind: str, fn: Fn, *, strict: bool = False) -> dict[str, CheckResult]:
    results = run_checks(kind, fn, max_examples=FEW, strict=strict)
    return {r.name: r for r in results}


def failing(results: dict[str, CheckResult]) -> list[str]:
    return [name for name, r in results.items() if r.status == "FAIL"]


# --- joint_embedding ----------------------------------------------------------------------


def je_text_encoded_first(image: Any, text: Any, model: Any) -> Any:
    text_embedding = model.encode_text(text)
    image_embedding = model.encode_image(image)
    return np.concatenate((image_embedding, text_embedding), axis=1)


def je_encodes_image_twice(image: Any, text: Any, model: Any) -> Any:
    model.encode_image(image)  # e.g. a warm-up call left in
    return mmref.joint_embedding(image, text, model)


def je_passes_a_copy_of_text(image: Any, text: Any, model: Any) -> Any:
    image_embedding = model.encode_image(image)
    text_embedding = model.encode_text(list(text))
    return np.concatenate((image_embedding, text_embedding), axis=1)


def je_text_columns_first(image: Any, text: Any, model: Any) -> Any:
    image_embedding = model.encode_image(image)
    text_embedding = model.encode_text(text)
    return np.concatenate((text_embedding, image_embedding), axis=1)


def je_stacks_rows(image: Any, text: Any, model: Any) -> Any:
    return np.concatenate((model.encode_image(image), model.encode_text(text)), axis=0)


def je_loses_signed_zeros(image: Any, text: Any, model: Any) -> Any:
    out = mmref.joint_embedding(image, text, model)
    out[out == 0] = 0  # -0.0 becomes 0.0; integers and every other value are kept
    return out


def je_rewrites_nans(image: Any, text: Any, model: Any) -> Any:
    out = mmref.joint_embedding(image, text, model)
    if out.dtype.kind == "f":
        out[np.isnan(out)] = -np.nan  # every NaN is replaced by one constant NaN
    return out


def je_single_row_swapped(image: Any, text: Any, model: Any) -> Any:
    # A "fast path" for batches of one sample that joins the parts the wrong way round.
    image_embedding = model.encode_image(image)
    text_embedding = model.encode_text(text)
    if np.shape(image_embedding)[0] == 1:
        return np.concatenate((text_embedding, image_embedding), axis=1)
    return np.concatenate((image_embedding, text_embedding), axis=1)


def je_upcasts_to_float64(image: Any, text: Any, model: Any) -> Any:
    return mmref.joint_embedding(image, text, model).astype(np.float64)


def je_returns_list(image: Any, text: Any, model: Any) -> Any:
    return mmref.joint_embedding(image, text, model).tolist()


def je_reverses_text(image: Any, text: Any, model: Any) -> Any:
    out = mmref.joint_embedding(image, text, model)
    if isinstance(text, list):
        text.reverse()  # e.g. sorting the batch by length in place
    return out


def je_scales_image_in_place(image: Any, text: Any, model: Any) -> Any:
    out = mmref.joint_embedding(image, text, model)
    if isinstance(image, np.ndarray) and image.size:
        image[...] = 0  # the pixels of the caller's batch are overwritten
    return out


CALLS = {"je": itertools.count(), "cl": itertools.count()}  # reset by each test


def je_every_other_call_reversed(image: Any, text: Any, model: Any) -> Any:
    out = mmref.joint_embedding(image, text, model)
    return out[::-1].copy() if next(CALLS["je"]) % 2 else out


def je_source(image: Any, text: Any, model: Any) -> Any:
    """The specification's source, verbatim: core conforming, no hardening."""
    image_embedding = model.encode_image(image)
    text_embedding = model.encode_text(text)
    return np.concatenate((image_embedding, text_embedding), axis=1)


def je_broadcasts_one_text_row(image: Any, text: Any, model: Any) -> Any:
    if not hasattr(model, "encode_image") or not hasattr(model, "encode_text"):
        raise TypeError("model needs encode_image and encode_text")
    image_embedding = np.asarray(model.encode_image(image))
    text_embedding = np.asarray(model.encode_text(text))
    if image_embedding.ndim == text_embedding.ndim == 2 and text_embedding.shape[0] == 1:
        text_embedding = np.repeat(text_embedding, image_embedding.shape[0], axis=0)
    return mmref.joint_embedding(image, text, _Fixed(image_embedding, text_embedding))


class _Fixed:
    def __init__(self, image_embedding: Any, text_embedding: Any) -> None:
        self.image_embedding, self.text_embedding = image_embedding, text_embedding

    def encode_image(self, image: Any) -> Any:
        return self.image_embedding

    def encode_text(self, text: Any) -> Any:
        return self.text_embedding


def je_checks_all_but_dtype(image: Any, text: Any, model: Any) -> Any:
    """Hardened by hand, but strings and objects are joined."""
    if not hasattr(model, "encode_image") or not hasattr(model, "encode_text"):
        raise TypeError("model needs encode_image and encode_text")
    image_embedding = np.asarray(model.encode_image(image))
    text_embedding = np.asarray(model.encode_text(text))
    if image_embedding.ndim != 2 or text_embedding.ndim != 2:
        raise ValueError("embeddings must be 2-D")
    if image_embedding.shape[0] != text_embedding.shape[0]:
        raise ValueError("row counts differ")
    return np.concatenate((image_embedding, text_embedding), axis=1)


def je_row_mismatch_is_a_runtime_error(image: Any, text: Any, model: Any) -> Any:
    try:
        return mmref.joint_embedding(image, text, model)
    except ValueError as exc:
        if "rows" in str(exc) or "row" in str(exc):
            raise RuntimeError(str(exc)) from None
        raise


def je_looks_up_methods_lazily(image: Any, text: Any, model: Any) -> Any:
    # Calls encode_image before finding out that encode_text is missing.
    if not hasattr(model, "encode_image"):
        raise TypeError("model has no encode_image")
    image_embedding = np.asarray(model.encode_image(image))
    encode_text = getattr(model, "encode_text", None)
    if encode_text is None:
        raise TypeError("model has no encode_text")
    return mmref.joint_embedding(image, text, _Fixed(image_embedding, encode_text(text)))


# implementation, strict?, the properties that fail (in report order), and for one of them
# (the diagnosis) words its message must hold
JE_CATALOGUE: list[tuple[Fn, bool, list[str], str, list[str]]] = [
    (
        je_text_encoded_first,
        False,
        ["calls"],
        "calls",
        ["['encode_text', 'encode_image']", "expected ['encode_image', 'encode_text']"],
    ),
    (
        je_encodes_image_twice,
        False,
        ["calls"],
        "calls",
        ["['encode_image', 'encode_image', 'encode_text']"],
    ),
    (je_passes_a_copy_of_text, False, ["calls"], "calls", ["did not pass image to encode_image"]),
    (
        je_text_columns_first,
        False,
        ["order", "reference"],
        "order",
        ["out[:, :d_image] (d_image = 2)", "expected the image embedding"],
    ),
    (
        je_stacks_rows,
        False,
        [
            "calls",
            "type",
            "shape",
            "axis",
            "order",
            "dtype",
            "reference",
            "raises",
            "no_mutation",
            "deterministic",
        ],
        "axis",
        ["returned shape (4, 2); expected (2, 4)", "stacked along axis 0"],
    ),
    (
        je_loses_signed_zeros,
        False,
        ["reference"],
        "reference",
        ["differs from mmref.joint_embedding bit for bit", "at index (0, 1)", "-0.0"],
    ),
    (je_rewrites_nans, False, ["reference"], "reference", ["bit for bit", "at index (1, 2)"]),
    (
        je_single_row_swapped,
        False,
        ["order", "reference"],
        "order",
        ["(d_image = 2)", "shape (1, 2)", "expected the image embedding"],
    ),
    (
        je_upcasts_to_float64,
        False,
        ["dtype", "reference"],
        "dtype",
        ["returned dtype float64; expected int16", "np.result_type(int8, uint8)"],
    ),
    (
        je_returns_list,
        False,
        ["type", "shape", "axis", "dtype", "reference"],
        "type",
        ["returned an object of type builtins.list; expected a numpy.ndarray"],
    ),
    (
        je_reverses_text,
        False,
        ["no_mutation"],
        "no_mutation",
        ["modified its argument text", "['a cat', '猫']", "['猫', 'a cat']"],
    ),
    (je_scales_image_in_place, False, ["no_mutation"], "no_mutation", ["argument image"]),
    (
        je_every_other_call_reversed,
        False,
        ["order", "reference", "deterministic"],
        "deterministic",
        ["differs from the first call bit for bit"],
    ),
    (
        je_source,
        True,
        ["protocol_2d", "rejects_non_numeric", "rejects_missing_method"],
        "protocol_2d",
        ["returned array of shape (1, 2, 2)", "expected ValueError", "both must be 2-D"],
    ),
    (
        je_broadcasts_one_text_row,
        False,
        ["raises"],
        "raises",
        ["returned array of shape (2, 4)", "expected an exception", "shapes (2, 2) and (1, 2)"],
    ),
    (
        je_broadcasts_one_text_row,
        True,
        ["raises", "row_mismatch"],
        "row_mismatch",
        ["expected ValueError (the model returned 2 image rows and 1 text rows)"],
    ),
    (
        je_checks_all_but_dtype,
        True,
        ["rejects_non_numeric"],
        "rejects_non_numeric",
        ["expected TypeError", "dtypes <U1 and float64; both must be numbers"],
    ),
    (
        je_row_mismatch_is_a_runtime_error,
        True,
        ["row_mismatch"],
        "row_mismatch",
        ["raised RuntimeError", "expected ValueError"],
    ),
    (
        je_looks_up_methods_lazily,
        True,
        ["rejects_missing_method"],
        "rejects_missing_method",
        ["called model.encode_image before raising", "without encode_text"],
    ),
]


# --- multimodal_classification ------------------------------------------------------------


def cl_predicts_twice(joint_embedding: Any, labels: Any, model: Any) -> Any:
    model.predict(joint_embedding)  # e.g. a shape probe left in
    return mmref.multimodal_classification(joint_embedding, labels, model)


def cl_predicts_on_a_copy(joint_embedding: Any, labels: Any, model: Any) -> Any:
    return np.argmax(model.predict(np.array(joint_embedding)), axis=1)


def cl_argmax_axis0(joint_embedding: Any, labels: Any, model: Any) -> Any:
    return np.argmax(model.predict(joint_embedding), axis=0)


def cl_argmin(joint_embedding: Any, labels: Any, model: Any) -> Any:
    return np.argmin(model.predict(joint_embedding), axis=1)


def cl_ties_to_last(joint_embedding: Any, labels: Any, model: Any) -> Any:
    scores = np.asarray(model.predict(joint_embedding))
    return scores.shape[1] - 1 - np.argmax(scores[:, ::-1], axis=1)


def cl_negative_zero_below_zero(joint_embedding: Any, labels: Any, model: Any) -> Any:
    # Breaks ties by the sign bit, so -0.0 loses against 0.0.
    scores = np.asarray(model.predict(joint_embedding))
    if scores.dtype.kind == "f":
        scores = np.where((scores == 0) & np.signbit(scores), -np.finfo(scores.dtype).tiny, scores)
    return np.argmax(scores, axis=1)


def cl_int32(joint_embedding: Any, labels: Any, model: Any) -> Any:
    return mmref.multimodal_classification(joint_embedding, labels, model).astype(np.int32)


def cl_returns_list(joint_embedding: Any, labels: Any, model: Any) -> Any:
    return mmref.multimodal_classification(joint_embedding, labels, model).tolist()


def cl_sorts_labels(joint_embedding: Any, labels: Any, model: Any) -> Any:
    if isinstance(labels, list):
        labels.sort()
    return mmref.multimodal_classification(joint_embedding, labels, model)


def cl_normalizes_in_place(joint_embedding: Any, labels: Any, model: Any) -> Any:
    if isinstance(joint_embedding, np.ndarray) and joint_embedding.size:
        joint_embedding *= 2  # scaling the caller's array (a view, not a copy)
    return mmref.multimodal_classification(joint_embedding, labels, model)


def cl_uses_labels(joint_embedding: Any, labels: Any, model: Any) -> Any:
    out = mmref.multimodal_classification(joint_embedding, labels, model)
    return out if labels is None else np.minimum(out, max(len(labels) - 1, 0))


def cl_drops_the_last_row_of_big_batches(joint_embedding: Any, labels: Any, model: Any) -> Any:
    out = mmref.multimodal_classification(joint_embedding, labels, model)
    return out[:-1] if out.shape[0] > 2 else out  # an off-by-one in a chunked loop


def cl_random_ties(joint_embedding: Any, labels: Any, model: Any) -> Any:
    if next(CALLS["cl"]) % 2:
        return cl_ties_to_last(joint_embedding, labels, model)
    return mmref.multimodal_classification(joint_embedding, labels, model)


def cl_source(joint_embedding: Any, labels: Any, model: Any) -> Any:
    predictions = model.predict(joint_embedding)
    return np.argmax(predictions, axis=1)


def cl_checks_all_but_nan(joint_embedding: Any, labels: Any, model: Any) -> Any:
    if not hasattr(model, "predict"):
        raise TypeError("model has no predict")
    scores = np.asarray(model.predict(joint_embedding))
    if scores.dtype.kind not in "biuf":
        raise TypeError("scores must be real numbers")
    if scores.ndim != 2 or scores.shape[1] == 0:
        raise ValueError("scores must be 2-D with a column")
    if scores.shape[0] != np.shape(joint_embedding)[0]:
        raise ValueError("one row of scores per sample")
    return np.argmax(scores, axis=1)


def cl_accepts_3d_scores(joint_embedding: Any, labels: Any, model: Any) -> Any:
    if not hasattr(model, "predict"):
        raise TypeError("model has no predict")
    scores = np.asarray(model.predict(joint_embedding))
    if scores.ndim == 3:
        return np.argmax(scores[:, :, 0], axis=1)  # the trailing axis is "squeezed"
    return mmref.multimodal_classification(joint_embedding, labels, _Scores(scores))


class _Scores:
    def __init__(self, scores: Any) -> None:
        self.scores = scores

    def predict(self, X: Any) -> Any:
        return self.scores


CL_CATALOGUE: list[tuple[Fn, bool, list[str], str, list[str]]] = [
    (
        cl_predicts_twice,
        False,
        ["calls"],
        "calls",
        ["called model.predict 2 time(s)", "expected once, with joint_embedding itself"],
    ),
    (cl_predicts_on_a_copy, False, ["calls"], "calls", ["1 time(s), first with array"]),
    (
        cl_argmax_axis0,
        False,
        [
            "calls",
            "type",
            "shape",
            "dtype",
            "axis",
            "maximum",
            "ties",
            "reference",
            "labels_unused",
            "raises",
            "no_mutation",
            "deterministic",
        ],
        "axis",
        ["returned [0, 0, 1]; each row's only maximum is in columns [1, 2, 2]"],
    ),
    (
        cl_argmin,
        False,
        ["axis", "maximum", "reference"],
        "maximum",
        ["out[0] = 0 but row 0 of the scores is [1.0, 3.0, 3.0]", "is not at column 0"],
    ),
    (
        cl_ties_to_last,
        False,
        ["ties", "reference"],
        "ties",
        ["out[0] = 2", "first occurs at column 1", "ties go to the lowest index"],
    ),
    (
        cl_negative_zero_below_zero,
        False,
        ["ties", "reference"],
        "ties",
        ["out[1] = 1", "[-0.0, 0.0, -1.0]", "first occurs at column 0"],
    ),
    (
        cl_int32,
        False,
        ["dtype", "reference"],
        "dtype",
        ["returned dtype int32; expected " + str(np.dtype(np.intp)) + ".\n"],
    ),
    (
        cl_returns_list,
        False,
        ["type", "dtype", "reference"],
        "type",
        ["object of type builtins.list"],
    ),
    (
        cl_sorts_labels,
        False,
        ["no_mutation"],
        "no_mutation",
        ["modified its argument labels", "['cat', 'dog', 'bird']", "['bird', 'cat', 'dog']"],
    ),
    (
        cl_normalizes_in_place,
        False,
        ["no_mutation"],
        "no_mutation",
        ["modified its argument joint_embedding"],
    ),
    (
        cl_uses_labels,
        False,
        ["labels_unused"],
        "labels_unused",
        ["With labels=['only one label'] the result is", "labels is not used"],
    ),
    (
        cl_drops_the_last_row_of_big_batches,
        False,
        ["shape", "axis", "reference"],
        "shape",
        ["returned shape (2,); expected (3,)"],
    ),
    (
        cl_random_ties,
        False,
        ["ties", "reference", "labels_unused", "deterministic"],
        "deterministic",
        ["differs from the first call bit for bit"],
    ),
    (
        cl_source,
        True,
        [
            "protocol_2d",
            "row_mismatch",
            "rejects_nan",
            "rejects_non_numeric",
            "rejects_missing_method",
        ],
        "rejects_nan",
        ["expected ValueError (the scores contain NaN)"],
    ),
    (
        cl_checks_all_but_nan,
        True,
        ["rejects_nan"],
        "rejects_nan",
        ["fn(joint_embedding, labels, model) returned array", "the scores contain NaN"],
    ),
    (
        cl_accepts_3d_scores,
        True,
        ["protocol_2d"],
        "protocol_2d",
        ["the scores have shape (2, 3, 1); expected (n_samples, n_classes)"],
    ),
]

CATALOGUE = [("joint-embedding", *entry) for entry in JE_CATALOGUE] + [
    ("classification", *entry) for entry in CL_CATALOGUE
]


@pytest.mark.parametrize(
    ("kind", "wrong", "strict", "fails", "diagnosis", "words"),
    CATALOGUE,
    ids=[f"{entry[1].__name__}{'-strict' if entry[2] else ''}" for entry in CATALOGUE],
)
def test_each_wrong_implementation_gets_the_right_diagnosis(
    kind: str, wrong: Fn, strict: bool, fails: list[str], diagnosis: str, words: list[str]
) -> None:
    CALLS.update(je=itertools.count(), cl=itertools.count())
    results = statuses(kind, wrong, strict=strict)
    assert failing(results) == fails
    assert {r.status for r in results.values()} <= {"PASS", "FAIL"}
    message = results[diagnosis].message
    assert message.startswith(f"[{kind}] property '{diagnosis}' failed: ")
    for word in words:
        assert word in message
    # The user gets a snippet that rebuilds the counterexample and calls fn and the reference.
    snippet = message.split("Minimal counterexample, as a snippet that reproduces it:\n", 1)[1]
    assert f"fn = resolve_target('test_catalogue_functions:{wrong.__name__}', '{kind}')" in snippet
    assert "model = Stub" in snippet
    assert all(r.message == "" for r in results.values() if r.status == "PASS")


@pytest.mark.parametrize(
    ("kind", "wrong", "fails"),
    [
        ("joint-embedding", je_text_columns_first, ["order", "reference"]),
        ("classification", cl_argmin, ["axis", "maximum", "reference"]),
        ("classification", cl_int32, ["dtype", "reference"]),
    ],
)
def test_the_error_names_the_first_failing_property_and_lists_the_others(
    kind: str, wrong: Fn, fails: list[str]
) -> None:
    check = {
        "joint-embedding": mmref.conformance.check_joint_embedding,
        "classification": mmref.conformance.check_multimodal_classification,
    }[kind]
    with pytest.raises(ConformanceError) as info:
        check(wrong, max_examples=FEW)
    message = str(info.value)
    assert message.startswith(f"[{kind}] property '{fails[0]}' failed")
    assert message.endswith(f"\n\nOther failing properties: {', '.join(fails[1:])}.")


# --- correct implementations, written differently ------------------------------------------


def je_preallocated(image: Any, text: Any, model: Any) -> Any:
    image_embedding = np.asarray(model.encode_image(image))
    text_embedding = np.asarray(model.encode_text(text))
    if image_embedding.ndim != 2 or text_embedding.ndim != 2:
        raise ValueError("both embeddings must be 2-D")
    n, d_image = image_embedding.shape
    if text_embedding.shape[0] != n:
        raise ValueError("the embeddings must have the same number of rows")
    dtype = np.result_type(image_embedding, text_embedding)
    out = np.empty((n, d_image + text_embedding.shape[1]), dtype=dtype)
    out[:, :d_image] = image_embedding
    out[:, d_image:] = text_embedding
    return out


def cl_first_maximum(joint_embedding: Any, labels: Any, model: Any) -> Any:
    scores = np.asarray(model.predict(joint_embedding))
    return (scores == scores.max(axis=1, keepdims=True)).argmax(axis=1)


@pytest.mark.parametrize(
    ("kind", "right", "strict"),
    [
        ("joint-embedding", mmref.joint_embedding, True),
        ("joint-embedding", je_source, False),
        ("joint-embedding", je_preallocated, False),
        ("classification", mmref.multimodal_classification, True),
        ("classification", cl_source, False),
        ("classification", cl_first_maximum, False),
    ],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
def test_correct_implementations_pass_every_property(kind: str, right: Fn, strict: bool) -> None:
    results = statuses(kind, right, strict=strict)
    assert set(results) <= set(PROPERTIES[kind])
    assert failing(results) == []
    assert {r.status for r in results.values()} == {"PASS"}


# --- more wrong implementations, each checked on the one property it must fail ------------


def je_text_columns_reversed(image: Any, text: Any, model: Any) -> Any:
    image_embedding = model.encode_image(image)
    text_embedding = np.asarray(model.encode_text(text))
    return np.concatenate((image_embedding, text_embedding[:, ::-1]), axis=1)


def je_drops_empty_batches(image: Any, text: Any, model: Any) -> Any:
    out = mmref.joint_embedding(image, text, model)
    return out if out.shape[0] else np.zeros((0,), dtype=out.dtype)


def cl_argmax_of_the_features(joint_embedding: Any, labels: Any, model: Any) -> Any:
    return np.argmax(joint_embedding, axis=1)  # the model is never asked


def cl_flat_argmax(joint_embedding: Any, labels: Any, model: Any) -> Any:
    scores = np.asarray(model.predict(joint_embedding))
    return np.full(scores.shape[0], np.argmax(scores) % max(scores.shape[1], 1), dtype=np.intp)


def cl_out_of_range(joint_embedding: Any, labels: Any, model: Any) -> Any:
    scores = np.asarray(model.predict(joint_embedding))
    return np.argmax(scores, axis=1) + 1  # 1-based class indices


def cl_accepts_nan(joint_embedding: Any, labels: Any, model: Any) -> Any:
    scores = np.asarray(model.predict(joint_embedding))
    if scores.dtype.kind == "f" and np.isnan(scores).any():
        return np.nanargmax(np.where(np.isnan(scores), -np.inf, scores), axis=1)
    return mmref.multimodal_classification(joint_embedding, labels, _Scores(scores))


def cl_ignores_row_counts(joint_embedding: Any, labels: Any, model: Any) -> Any:
    scores = np.asarray(model.predict(joint_embedding))
    return mmref.multimodal_classification(scores, labels, _Scores(scores))


def cl_accepts_complex(joint_embedding: Any, labels: Any, model: Any) -> Any:
    scores = np.asarray(model.predict(joint_embedding))
    if scores.dtype.kind == "c":
        scores = scores.real
    return mmref.multimodal_classification(joint_embedding, labels, _Scores(scores))


MESSAGES: list[tuple[str, Fn, str, list[str]]] = [
    (
        "classification",
        cl_drops_the_last_row_of_big_batches,
        "shape",
        ["fn(joint_embedding, labels, model) returned shape (2,); expected (3,).\n"],
    ),
    (
        "classification",
        cl_drops_the_last_row_of_big_batches,
        "reference",
        [
            "fn(joint_embedding, labels, model) returned shape (2,); expected (3,) "
            "(as mmref.multimodal_classification).\n"
        ],
    ),
    (
        "joint-embedding",
        je_upcasts_to_float64,
        "reference",
        [
            "fn(image, text, model) returned dtype float64; expected int16 "
            "(as mmref.joint_embedding).\n"
        ],
    ),
    (
        "joint-embedding",
        je_text_columns_reversed,
        "order",
        ["out[:, d_image:] (d_image = 2)", "expected the text embedding"],
    ),
    (
        "joint-embedding",
        je_drops_empty_batches,
        "axis",
        ["returned shape (0,); expected (0, 0) (one row per sample, d_image + d_text columns)."],
    ),
    (
        "joint-embedding",
        je_passes_a_copy_of_text,
        "calls",
        ["(got array of shape (2, 2, 3) and dtype uint8:", "and ['a cat', '猫'])"],
    ),
    (
        "classification",
        cl_argmax_of_the_features,
        "calls",
        ["called model.predict 0 time(s); expected once, with joint_embedding itself."],
    ),
    (
        "classification",
        cl_flat_argmax,
        "axis",
        ["returned [1, 1, 1]; each row's only maximum is in columns [1, 2, 2]."],
    ),
    (
        "classification",
        cl_out_of_range,
        "maximum",
        ["out[2] = 3 but row 2 of the scores is [-inf, -inf, -5.0]", "is not at column 3."],
    ),
    (
        "classification",
        cl_argmin,
        "reference",
        ["differs from mmref.multimodal_classification bit for bit: at index (0,)"],
    ),
    (
        "classification",
        cl_source,
        "raises",
        [],  # passes: the source raises wherever the source raises
    ),
    (
        "classification",
        cl_accepts_nan,
        "rejects_nan",
        ["returned array of shape (1,)", "expected ValueError (the scores contain NaN)"],
    ),
    (
        "classification",
        cl_ignores_row_counts,
        "row_mismatch",
        ["expected ValueError (2 score rows for a joint_embedding of 3 rows)"],
    ),
    (
        "classification",
        cl_accepts_complex,
        "rejects_non_numeric",
        ["expected TypeError (the scores have dtype complex128; they must be real numbers)"],
    ),
    (
        "classification",
        cl_source,
        "rejects_missing_method",
        ["raised AttributeError", "expected TypeError (the model has no predict)"],
    ),
    (
        "classification",
        cl_accepts_3d_scores,
        "raises",
        [],
    ),
]


@pytest.mark.parametrize(
    ("kind", "wrong", "prop", "words"),
    MESSAGES,
    ids=[f"{entry[1].__name__}-{entry[2]}" for entry in MESSAGES],
)
def test_the_message_says_what_is_wrong(kind: str, wrong: Fn, prop: str, words: list[str]) -> None:
    (result,) = run_checks(kind, wrong, max_examples=FEW, select=[prop])
    assert result.status == ("FAIL" if words else "PASS")
    for word in words:
        assert word in result.message


def je_checks_its_inputs(image: Any, text: Any, model: Any) -> Any:
    """Correct, and strict about its inputs: one image per text."""
    if len(image) != len(text):
        raise ValueError("one image per text")
    return mmref.joint_embedding(image, text, model)


def je_byte_images_in_float32(image: Any, text: Any, model: Any) -> Any:
    out = mmref.joint_embedding(image, text, model)
    return out.astype(np.float32) if np.asarray(image).dtype == np.uint8 else out


def test_an_implementation_that_checks_its_inputs_gets_the_inputs_it_is_given() -> None:
    assert failing(statuses("joint-embedding", je_checks_its_inputs)) == []


def test_a_failure_that_depends_on_the_image_is_reproduced_by_its_snippet() -> None:
    (result,) = run_checks(
        "joint-embedding", je_byte_images_in_float32, max_examples=FEW, select=["dtype"]
    )
    assert "returned dtype float32; expected float64" in result.message
    snippet = textwrap.dedent(result.message.split("reproduces it:\n", 1)[1])
    namespace: dict[str, Any] = {}
    exec(snippet, namespace)
    assert namespace["image"].dtype == np.uint8
    assert namespace["out"].dtype == np.float32 and namespace["expected"].dtype == np.float64


def raises_value_error(image: Any, text: Any, model: Any) -> Any:
    raise ValueError("not today")


@pytest.mark.parametrize("prop", ["shape", "order", "dtype", "reference", "deterministic"])
def test_an_exception_from_fn_is_quoted_by_every_property(prop: str) -> None:
    (result,) = run_checks("joint-embedding", raises_value_error, max_examples=FEW, select=[prop])
    assert result.message.splitlines()[1] == "fn(image, text, model) raised ValueError: not today"


def cl_raises_value_error(joint_embedding: Any, labels: Any, model: Any) -> Any:
    raise ValueError("not today")


@pytest.mark.parametrize(
    "prop", ["type", "shape", "dtype", "axis", "maximum", "reference", "labels_unused"]
)
def test_an_exception_from_a_classification_fn_is_quoted_by_every_property(prop: str) -> None:
    (result,) = run_checks("classification", cl_raises_value_error, max_examples=FEW, select=[prop])
    assert result.message.splitlines()[1] == (
        "fn(joint_embedding, labels, model) raised ValueError: not today"
    )


def cl_checks_its_inputs(joint_embedding: Any, labels: Any, model: Any) -> Any:
    """Correct, and strict about its input: a 2-D joint embedding."""
    if np.ndim(joint_embedding) != 2:
        raise ValueError("joint_embedding must be 2-D")
    return np.argmax(model.predict(joint_embedding), axis=1)


def test_a_classification_fn_that_checks_its_input_gets_the_input_it_is_given() -> None:
    assert failing(statuses("classification", cl_checks_its_inputs)) == []


class _NoArray:
    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        raise RuntimeError("no array for you")


def cl_returns_unconvertible(joint_embedding: Any, labels: Any, model: Any) -> Any:
    return _NoArray()


def test_a_classification_result_numpy_cannot_convert_is_named() -> None:
    (result,) = run_checks(
        "classification", cl_returns_unconvertible, max_examples=FEW, select=["shape"]
    )
    assert result.message.splitlines()[1] == (
        "fn(joint_embedding, labels, model) returned _NoArray, which np.asarray cannot "
        "convert (RuntimeError: no array for you)."
    )


def cl_float32_features_tie_last(joint_embedding: Any, labels: Any, model: Any) -> Any:
    if np.asarray(joint_embedding).dtype == np.float32:
        return cl_ties_to_last(joint_embedding, labels, model)
    return mmref.multimodal_classification(joint_embedding, labels, model)


def test_the_classification_snippet_passes_the_same_joint_embedding_and_labels() -> None:
    (result,) = run_checks(
        "classification", cl_float32_features_tie_last, max_examples=30, select=["ties"]
    )
    namespace: dict[str, Any] = {}
    exec(textwrap.dedent(result.message.split("reproduces it:\n", 1)[1]), namespace)
    assert namespace["joint_embedding"].dtype == np.float32
    assert not np.array_equal(namespace["out"], namespace["expected"])

    (result,) = run_checks(
        "classification", cl_sorts_labels, max_examples=FEW, select=["no_mutation"]
    )
    namespace = {}
    exec(textwrap.dedent(result.message.split("reproduces it:\n", 1)[1]), namespace)
    assert namespace["labels"] == ["bird", "cat", "dog"]  # sorted in place by the call


def test_the_snippet_of_a_missing_refusal_calls_fn() -> None:
    (result,) = run_checks(
        "joint-embedding", je_broadcasts_one_text_row, max_examples=FEW, select=["raises"]
    )
    lines = textwrap.dedent(result.message.split("reproduces it:\n", 1)[1]).splitlines()
    assert lines[-1] == "out = fn(image, text, model)"  # no reference call: it raises
    namespace: dict[str, Any] = {}
    exec("\n".join(lines), namespace)
    assert namespace["out"].shape == (2, 4)
