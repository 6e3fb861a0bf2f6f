"""What :func:`mmref.load` checks on an object it built from a model file.

The file format itself (members, sizes, hashes, dtypes, nesting) is checked by
:mod:`mmref.persistence`. Here the object is checked as ``fit`` would leave it:

- every parameter passes the validation that the constructor's class runs at
  ``fit`` or first use (the same messages);
- every fitted attribute is one that the class's ``fit`` sets, of the type,
  shape and range ``fit`` produces, consistent with the parameters and with
  the other fitted attributes (all of them or none);
- resource bounds: whatever a file says, using the model costs what the
  caller allowed with ``max_bytes``. The output width (image
  ``n_components``, the text encoder's columns) times 8 KiB is at most
  ``max_bytes`` (1024 float64 rows of output fit in it; 131,072 columns with
  the default 1 GiB), as are an image encoder's ``max_matrix_bytes`` and
  ``batch_size`` rows of output; a text encoder's n-grams are at most
  ``MAX_NGRAM`` tokens long;
- a text encoder's ``token_pattern`` is one of ``SAFE_TOKEN_PATTERNS``
  (which Python's ``re`` runs in linear time), unless the caller trusts the
  file.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._tokenize import SKLEARN_TOKEN_PATTERN
from ._validation import check_float_param, check_int_param, describe, shape_str
from .exceptions import ModelFileError

__all__ = ["FITTED_ATTRIBUTES", "MAX_NGRAM", "SAFE_TOKEN_PATTERNS", "check_model"]

#: Token patterns a model file may hold without ``trust_token_pattern``: each is a run of
#: one character class, which ``re`` matches in time linear in the text.
SAFE_TOKEN_PATTERNS: frozenset[str | None] = frozenset(
    {None, SKLEARN_TOKEN_PATTERN, r"(?u)\b\w+\b", r"\b\w+\b", r"\w+", r"(?u)\w+", r"\S+"}
)

#: The longest n-gram (``ngram_range[1]``) a model file may ask for.
MAX_NGRAM = 16

#: The fitted attributes each class's ``fit`` sets; a file may hold no others.
FITTED_ATTRIBUTES: dict[str, frozenset[str]] = {
    "RandomProjectionImageEncoder": frozenset({"n_features_in_"}),
    "BagOfWordsTextEncoder": frozenset({"vocabulary_", "idf_", "n_features_out_"}),
    "MultimodalEncoder": frozenset({"image_encoder_", "text_encoder_"}),
    "MultimodalPipeline": frozenset({"encoder_", "classifier_"}),
    "NearestCentroidClassifier": frozenset({"classes_", "n_features_in_", "centroids_"}),
    "RidgeClassifier": frozenset({"classes_", "n_features_in_", "coef_", "intercept_"}),
    "SoftmaxClassifier": frozenset(
        {"classes_", "n_features_in_", "coef_", "intercept_", "n_iter_"}
    ),
    "CCAAlignment": frozenset(
        {
            "image_mean_",
            "text_mean_",
            "image_weights_",
            "text_weights_",
            "canonical_correlations_",
            "n_image_features_in_",
            "n_text_features_in_",
            "n_samples_fit_",
        }
    ),
    "AlignedEncoder": frozenset(),
    "ZeroShotClassifier": frozenset(),
}

# Output rows that must fit in max_bytes at the widest output a file may declare.
_ROWS = 1024


def check_model(obj: Any, *, max_bytes: int, trust_token_pattern: bool) -> None:
    """Check a freshly loaded object (its nested models are checked when they are built).

    Raises
    ------
    ModelFileError, ValueError, TypeError
        Naming the first parameter or attribute that ``fit`` would not have
        produced, or the bound it exceeds (``mmref.load`` reports each as a
        :class:`~mmref.exceptions.ModelFileError`).
    """
    owner = type(obj).__name__
    state = {k: v for k, v in vars(obj).items() if k.endswith("_") and not k.startswith("_")}
    if owner == "RandomProjectionImageEncoder":
        _check_image(obj, state, max_bytes)
    elif owner == "BagOfWordsTextEncoder":
        _check_text(obj, state, max_bytes, trust_token_pattern)
    elif owner in ("MultimodalEncoder", "MultimodalPipeline"):
        _all_or_none(owner, state, FITTED_ATTRIBUTES[owner])
    elif owner in ("NearestCentroidClassifier", "RidgeClassifier", "SoftmaxClassifier"):
        _check_classifier(obj, state)
    elif owner == "CCAAlignment":
        _check_cca(obj, state)
    elif owner == "ZeroShotClassifier":
        _ = obj.classes_  # parses and validates class_prompts


def _check_image(obj: Any, state: dict[str, Any], max_bytes: int) -> None:
    owner = "RandomProjectionImageEncoder"
    params = obj._params()  # the validation transform runs, with its messages
    k = params.n_components
    _bound(owner, "n_components", k * 8 * _ROWS, max_bytes, "n_components * 8 KiB")
    _bound(owner, "max_matrix_bytes", params.max_matrix_bytes, max_bytes, "max_matrix_bytes")
    _bound(
        owner, "batch_size", params.batch_size * k * 8, max_bytes, "batch_size * n_components * 8"
    )
    if "n_features_in_" not in state:
        return
    d = _int_attr(owner, "n_features_in_", state["n_features_in_"], 1, max_bytes)
    if params.image_shape is not None and d != math.prod(params.image_shape):
        raise ModelFileError(
            f"{owner}.n_features_in_ is {d}, but image_shape {params.image_shape} has "
            f"{math.prod(params.image_shape)} pixels; fit sets it to the pixels per image."
        )
    if params.method == "srht" and k > d:
        raise ModelFileError(
            f"{owner} has n_components={k} for n_features_in_={d}; method='srht' needs "
            f"n_components <= n_features_in_, as fit checks."
        )


def _check_text(obj: Any, state: dict[str, Any], max_bytes: int, trust: bool) -> None:
    owner = "BagOfWordsTextEncoder"
    pattern = obj.token_pattern
    if not trust and pattern not in SAFE_TOKEN_PATTERNS:
        raise ModelFileError(
            f"{owner}.token_pattern is {describe(pattern)}, which is not one of the patterns "
            f"known to tokenize in linear time ({', '.join(repr(p) for p in _SAFE_LISTED)}); "
            f"a regular expression can take exponential time, so load this file with "
            f"trust_token_pattern=True (mmref embed --trust-token-pattern) only if you trust it"
        )
    cfg = obj._params()  # the validation transform runs, with its messages
    if cfg.ngram_range[1] > MAX_NGRAM:
        raise ModelFileError(
            f"{owner}.ngram_range is {cfg.ngram_range}; a model file may count n-grams of at "
            f"most {MAX_NGRAM} tokens"
        )
    if isinstance(cfg.vocabulary, list):
        width = len(cfg.vocabulary)
    elif cfg.vocabulary is None:
        width = cfg.n_features
    else:
        vocabulary = state.get("vocabulary_")
        width = len(vocabulary) if isinstance(vocabulary, dict) else 0
    _bound(owner, "the number of columns", width * 8 * _ROWS, max_bytes, "columns * 8 KiB")
    if not state:
        return
    expected = {"n_features_out_"}
    if cfg.vocabulary is not None:
        expected.add("vocabulary_")
    if cfg.weighting == "tfidf":
        expected.add("idf_")
    if set(state) != expected:
        raise ModelFileError(
            f"{owner} with vocabulary={describe(obj.vocabulary)} and "
            f"weighting={cfg.weighting!r} is fitted with {', '.join(sorted(expected))}; the "
            f"file holds {', '.join(sorted(state))}"
        )
    if "vocabulary_" in state:
        # The file's JSON sorts keys; fit's dict lists the terms in column order.
        obj.vocabulary_ = _check_vocabulary(state["vocabulary_"], cfg)
    out = _int_attr(owner, "n_features_out_", state["n_features_out_"], 1, None)
    if out != width:
        raise ModelFileError(f"{owner}.n_features_out_ is {out}; fit sets it to {width} here.")
    if "idf_" in state:
        idf = _float_array(owner, "idf_", state["idf_"], (width,))
        if not bool((idf >= 1.0).all()):
            raise ModelFileError(f"{owner}.idf_ holds values below 1; fit gives ln(...) + 1 >= 1.")


def _check_vocabulary(vocabulary: Any, cfg: Any) -> dict[str, int]:
    """The checked vocabulary, its terms in column order."""
    owner = "BagOfWordsTextEncoder"
    if not isinstance(vocabulary, dict) or not vocabulary:
        raise ModelFileError(
            f"{owner}.vocabulary_ is {describe(vocabulary)}; expected a non-empty dict of "
            f"term to column."
        )
    columns = list(vocabulary.values())
    if any(type(v) is not int for v in columns) or sorted(columns) != list(range(len(columns))):
        raise ModelFileError(
            f"{owner}.vocabulary_ must map its terms, in order, to the columns 0, 1, 2, ..."
        )
    terms = sorted(vocabulary, key=vocabulary.__getitem__)
    ordered = {term: i for i, term in enumerate(terms)}
    if isinstance(cfg.vocabulary, list):
        if terms != cfg.vocabulary:
            raise ModelFileError(f"{owner}.vocabulary_ differs from the vocabulary parameter.")
        return ordered
    try:
        for term in terms:
            term.encode("utf-8")
    except UnicodeEncodeError:
        raise ModelFileError(f"{owner}.vocabulary_ holds a term with a lone surrogate.") from None
    if terms != sorted(terms):
        raise ModelFileError(
            f"{owner}.vocabulary_ is not in code point order, the order fit learns it in."
        )
    if cfg.max_features is not None and len(terms) > cfg.max_features:
        raise ModelFileError(
            f"{owner}.vocabulary_ has {len(terms)} terms, more than max_features="
            f"{cfg.max_features}."
        )
    return ordered


def _check_classifier(obj: Any, state: dict[str, Any]) -> None:
    owner = type(obj).__name__
    obj._params()  # the validation fit runs, with its messages
    # _check_state (run by load) has checked classes_, n_features_in_ and the weights.
    if owner == "SoftmaxClassifier" and "classes_" in state:
        if "n_iter_" not in state:
            raise ModelFileError(f"{owner} has classes_ but lacks n_iter_.")
        _int_attr(owner, "n_iter_", state["n_iter_"], 0, int(obj.max_iter))
    elif "n_iter_" in state and "classes_" not in state:
        raise ModelFileError(f"{owner} has n_iter_ but lacks classes_.")


def _check_cca(obj: Any, state: dict[str, Any]) -> None:
    owner = "CCAAlignment"
    k = check_int_param(obj.n_components, name="n_components", owner=owner, min_value=1)
    check_float_param(obj.reg, name="reg", owner=owner, low=0.0)
    if not _all_or_none(owner, state, FITTED_ATTRIBUTES[owner]):
        return
    p = _int_attr(owner, "n_image_features_in_", state["n_image_features_in_"], 1, None)
    q = _int_attr(owner, "n_text_features_in_", state["n_text_features_in_"], 1, None)
    n = _int_attr(owner, "n_samples_fit_", state["n_samples_fit_"], 2, None)
    if k > min(n - 1, p, q):
        raise ModelFileError(
            f"{owner} has n_components={k}, more than min(n_samples_fit_ - 1, "
            f"n_image_features_in_, n_text_features_in_) = {min(n - 1, p, q)}, as fit checks."
        )
    _float_array(owner, "image_mean_", state["image_mean_"], (p,))
    _float_array(owner, "text_mean_", state["text_mean_"], (q,))
    _float_array(owner, "image_weights_", state["image_weights_"], (p, k))
    _float_array(owner, "text_weights_", state["text_weights_"], (q, k))
    corr = _float_array(owner, "canonical_correlations_", state["canonical_correlations_"], (k,))
    if not (bool(((corr >= 0.0) & (corr <= 1.0)).all()) and bool((corr[1:] <= corr[:-1]).all())):
        raise ModelFileError(
            f"{owner}.canonical_correlations_ must be non-increasing values in [0, 1]."
        )


_SAFE_LISTED = sorted(p for p in SAFE_TOKEN_PATTERNS if p is not None)


def _all_or_none(owner: str, state: dict[str, Any], names: frozenset[str]) -> bool:
    if not state:
        return False
    missing = sorted(names - set(state))
    if missing:
        raise ModelFileError(
            f"{owner} has the fitted attribute {sorted(state)[0]} but lacks {missing[0]}; "
            f"fit sets all of {', '.join(sorted(names))}."
        )
    return True


def _int_attr(owner: str, name: str, value: Any, low: int, high: int | None) -> int:
    if (
        not isinstance(value, int | np.integer)
        or isinstance(value, bool | np.bool_)
        or value < low
        or (high is not None and value > high)
    ):
        bound = f"an int >= {low}" if high is None else f"an int in [{low}, {high}]"
        raise ModelFileError(f"{owner}.{name} is {describe(value)}; expected {bound}.")
    return int(value)


def _float_array(
    owner: str, name: str, value: Any, shape: tuple[int, ...]
) -> np.ndarray[Any, np.dtype[np.float64]]:
    if not isinstance(value, np.ndarray) or value.dtype != np.float64 or value.shape != shape:
        raise ModelFileError(
            f"{owner}.{name} is {describe(value)}; expected a float64 array of shape "
            f"{shape_str(shape)}."
        )
    return value


def _bound(owner: str, name: str, cost: int, max_bytes: int, what: str) -> None:
    if cost > max_bytes:
        raise ModelFileError(
            f"{owner}: {name} is too large for a model file: {what} = {cost} bytes exceeds "
            f"max_bytes={max_bytes} (raise max_bytes only for a file you trust)"
        )
