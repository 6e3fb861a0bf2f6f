"""Golden vectors: input/output pairs of every exact algorithm of the specification.

:func:`make_golden` computes them with the installed mmref; ``mmref/conformance/golden.json`` ships
them (one case per line, :func:`write_golden`); :func:`run_golden` checks an
implementation against them. SPEC.md ("Golden vectors") is the normative description
of the format (arrays and comparison: :mod:`mmref.conformance._golden_format`); a case is::

    {"id": str, "function": str, "args": {name: value}, "expected": value | {"raises": name},
     "tolerance": {"rtol": float, "atol": float}}   # tolerance optional

Every input is a literal or comes from ``mix64`` of counters, and every expected value is
computed by calling mmref on the *decoded* arguments through the same code path that
:func:`run_golden` uses, so the file is the same on every machine and a reader that
parses it as specified reproduces it. Expected errors of the two functions are the
spec's (``ValueError``), not whatever mmref raises.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .._hashing import GOLDEN
from ._core import CheckResult, hash_bytes, raise_first, unit_floats
from ._describe import summary
from ._golden_format import MmrefNamespace, call_case, compare, decode, decode_args, encode_array
from ._watch import DEFAULT_TIMEOUT, TimedOut, Watch, check_timeout, run_watched

__all__ = [
    "GOLDEN_FORMAT",
    "check_golden",
    "judge_case",
    "load_golden",
    "make_golden",
    "run_golden",
    "write_golden",
]

#: The ``format`` field of a golden-vector file this version reads and writes.
GOLDEN_FORMAT = "mmref-golden/1"


def make_golden(encoders: Sequence[str] = ("image", "text")) -> dict[str, Any]:
    """Compute the golden vectors of the specification with the installed mmref.

    The cases cover the hash primitives (``mix64``, ``derive_key``,
    ``murmurhash3_32`` of UTF-8 keys), the two
    functions (dtype promotion, ``-0.0``, NaN, ties, infinities, empty
    batches) and their errors, and the encoders named in ``encoders``
    (tokens and ``encode_text`` for ``"text"``; ``encode_image``
    and projection matrices for ``"image"``). All inputs are fixed literals or
    come from ``mix64`` of counters, so the file is the same on every machine.

    Parameters
    ----------
    encoders : sequence of {"image", "text"}, default=("image", "text")
        Which encoders' cases to compute (their modules are imported).

    Returns
    -------
    golden : dict
        The JSON-ready document: ``{"format", "spec", "generated_by", "cases"}``.
    """
    from .._version import __version__

    cases = _hash_cases() + _murmurhash_cases() + _function_cases()
    if "text" in encoders:
        cases += _text_cases()
    if "image" in encoders:
        cases += _image_cases()
    return {
        "format": GOLDEN_FORMAT,
        "spec": "mmref spec 1",
        "generated_by": f"mmref {__version__}",
        "cases": cases,
    }


def write_golden(
    path: str | os.PathLike[str] | None = None, encoders: Sequence[str] = ("image", "text")
) -> Path:
    """Write :func:`make_golden` as JSON to ``path`` (default: ``mmref/conformance/golden.json``).

    One case per line, so that a change to the specification shows as a
    readable diff of the cases it touches.

    Parameters
    ----------
    path : str or os.PathLike, default=None
        The file to (over)write; None writes the ``golden.json`` next to this
        module, the one the package ships.
    encoders : sequence of {"image", "text"}, default=("image", "text")
        As in :func:`make_golden`.

    Returns
    -------
    path : pathlib.Path
        The file written.

    Raises
    ------
    OSError
        If the file cannot be written.
    """
    document = make_golden(encoders)
    header = {k: v for k, v in document.items() if k != "cases"}
    lines = [json.dumps(header, ensure_ascii=False)[:-1] + ', "cases": [']
    cases = [json.dumps(case, ensure_ascii=False) for case in document["cases"]]
    lines += [f" {case}," for case in cases[:-1]] + [f" {cases[-1]}", "]}"]
    target = Path(path) if path is not None else Path(__file__).with_name("golden.json")
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def load_golden(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Read a golden-vector file (default: the one shipped in the mmref package).

    Parameters
    ----------
    path : str or os.PathLike, default=None
        The JSON file to read; None reads the shipped ``golden.json``.

    Returns
    -------
    golden : dict
        The document: ``{"format", "spec", "generated_by", "cases"}``, arrays
        still encoded as in SPEC.md ("Golden vectors").

    Raises
    ------
    ValueError
        If the file's ``format`` is not :data:`GOLDEN_FORMAT` (or it is not JSON).
    OSError
        If the file cannot be read.
    """
    if path is None:
        from importlib import resources

        text = (
            resources.files("mmref.conformance").joinpath("golden.json").read_text(encoding="utf-8")
        )
    else:
        text = Path(path).read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    if document.get("format") != GOLDEN_FORMAT:
        raise ValueError(
            f"The golden file has format {document.get('format')!r}; this mmref reads "
            f"{GOLDEN_FORMAT!r}."
        )
    return document


def run_golden(
    against: Any = None,
    *,
    golden: Mapping[str, Any] | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> list[CheckResult]:
    """Check every golden case against an implementation; return the results.

    Parameters
    ----------
    against : object, default=None
        A namespace (module, class, any object) providing some of the names
        ``mix64``, ``derive_key``, ``joint_embedding``,
        ``multimodal_classification``, ``RandomProjectionImageEncoder`` and
        ``BagOfWordsTextEncoder`` with mmref's signatures. Cases whose name
        it lacks are skipped. None checks the installed mmref.
    golden : mapping, default=None
        A golden document; None loads the shipped ``golden.json``.
    timeout : float or None, default=60.0
        Seconds one case may take; a case that takes longer fails, the cases after
        it are skipped, and its call is left running in a daemon thread (as in
        :func:`mmref.conformance.run_checks`). None: no limit.

    Returns
    -------
    results : list of CheckResult
        One per case, in the document's order, of kind ``"golden"`` and named
        by the case's id: ``PASS``, ``FAIL`` (the message says what differs;
        any exception the call raises, ``SystemExit`` included, where none is
        expected) or ``SKIP`` (the implementation lacks the case's function or
        class). Never raises for a failing case.

    Raises
    ------
    ValueError
        If ``timeout`` is not None or a positive number.
    """
    document = golden if golden is not None else load_golden()
    namespace = MmrefNamespace() if against is None else against
    cases = list(document["cases"])
    watch = Watch(check_timeout(timeout))
    results: list[CheckResult] = []

    def work() -> None:
        for case in cases:
            with watch.step(f"golden case {case['id']!r}"):
                results.append(_run_case(case, namespace))

    try:
        run_watched(work, watch)
    except TimedOut as exc:
        done = list(results)
        stuck = cases[len(done)]["id"]
        message = (
            f"[golden] case '{stuck}' failed: the call did not return within {exc.timeout:g} s"
        )
        done.append(CheckResult("golden", stuck, "FAIL", message))
        reason = f"not run: the run stopped when '{stuck}' timed out"
        done += [CheckResult("golden", c["id"], "SKIP", reason) for c in cases[len(done) :]]
        return done
    return results


def check_golden(
    against: Any = None,
    *,
    golden: Mapping[str, Any] | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> list[CheckResult]:
    """Like :func:`run_golden`, but raise :class:`ConformanceError` on the first failing case.

    Parameters
    ----------
    against : object, default=None
        The implementation, as in :func:`run_golden`; None checks the
        installed mmref.
    golden : mapping, default=None
        A golden document; None loads the shipped ``golden.json``.
    timeout : float or None, default=60.0
        As in :func:`run_golden`.

    Returns
    -------
    results : list of CheckResult
        One per case, as :func:`run_golden` returns them, when none fails.

    Raises
    ------
    ConformanceError
        For the first failing case, naming it and what differs, and listing
        the other failing cases.

    Examples
    --------
    >>> from mmref.conformance import check_golden
    >>> results = check_golden()
    >>> "FAIL" in {r.status for r in results}
    False
    """
    return raise_first(run_golden(against, golden=golden, timeout=timeout))


def _run_case(case: Mapping[str, Any], namespace: Any) -> CheckResult:
    name = case["id"]
    owner, _, method = case["function"].partition(".")
    try:
        impl = getattr(namespace, owner, None)
    except BaseException as exc:  # a hostile namespace's __getattr__
        problem = f"getting {owner} raised {type(exc).__name__}: {exc}"
        return CheckResult("golden", name, "FAIL", f"[golden] case '{name}' failed: {problem}")
    if impl is None:
        return CheckResult("golden", case["id"], "SKIP", f"the implementation has no {owner}")
    return judge_case(
        case, lambda: call_case(case["function"], impl, method, decode_args(case["args"]))
    )


def judge_case(case: Mapping[str, Any], call: Callable[[], Any]) -> CheckResult:
    """The verdict on ``case`` of what ``call()`` returns or raises.

    :func:`run_golden` and the command protocol (``mmref.conformance._command``) both
    judge through it, so an implementation gets the same report whichever way it is
    reached. ``call`` returns the result (array-like, or a list of str for tokens) or
    raises the implementation's error.
    """
    name = case["id"]
    expected = case["expected"]
    raises = expected.get("raises") if isinstance(expected, dict) else None
    try:
        out = call()
    except BaseException as exc:  # compared with the expected error; SystemExit fails
        in_main = threading.current_thread() is threading.main_thread()
        if isinstance(exc, KeyboardInterrupt) and in_main:
            raise  # the user's Ctrl-C (the protocol runs here), not the implementation's
        # Subclasses count: NumPy's AxisError is a ValueError, as the SPEC requires.
        if (
            isinstance(exc, Exception)
            and raises is not None
            and any(c.__name__ == raises for c in type(exc).__mro__)
        ):
            return CheckResult("golden", name, "PASS")
        problem = f"raised {type(exc).__name__}: {exc}"
    else:
        try:
            if raises is not None:
                problem = f"returned {summary(np.asarray(out))}; expected {raises}"
            else:
                problem = compare(out, decode(expected), case.get("tolerance"))
        except BaseException as exc:  # a result NumPy cannot take
            problem = (
                f"returned {type(out).__name__}, which cannot be compared "
                f"({type(exc).__name__}: {exc})"
            )
    if problem:
        message = f"[golden] case '{name}' ({case['function']}) failed: {problem}"
        return CheckResult("golden", name, "FAIL", message)
    return CheckResult("golden", name, "PASS")


# --------------------------------------------------------------------------------------
# The cases of spec 1
# --------------------------------------------------------------------------------------


def _case(case_id: str, function: str, args: dict[str, Any], expected: Any) -> dict[str, Any]:
    return {"id": case_id, "function": function, "args": args, "expected": expected}


def _computed_case(
    case_id: str,
    function: str,
    args: dict[str, Any],
    *,
    rtol: float | None = None,
    atol: float | None = None,
) -> dict[str, Any]:
    """Call the installed mmref on the decoded ``args`` and record what it returns or raises.

    With ``rtol``, the case gets a tolerance whose ``atol`` defaults to ``rtol`` times
    the output's largest magnitude (at least 1), so that entries that cancel to near
    zero compare on the scale of their row rather than relative to themselves.
    """
    owner, _, method = function.partition(".")
    try:
        out = call_case(function, getattr(MmrefNamespace(), owner), method, decode_args(args))
    except (TypeError, ValueError) as exc:
        return _case(case_id, function, args, {"raises": type(exc).__name__})
    if isinstance(out, list):  # tokens
        return _case(case_id, function, args, out)
    out = np.asarray(out)
    case = _case(case_id, function, args, encode_array(out))
    if rtol is not None:
        if atol is None:
            atol = float(f"{rtol * float(np.max(np.abs(out), initial=1.0)):.3g}")
        case["tolerance"] = {"rtol": rtol, "atol": atol}
    return case


def _encoder_case(
    case_id: str,
    function: str,
    params: dict[str, Any],
    value: Any,
    *,
    rtol: float | None,
    atol: float | None = None,
    fit: Any = None,
) -> dict[str, Any]:
    """``Class(**params)``, fitted on ``fit`` if given, then ``.method(value)``."""
    encoded = {k: f"dtype:{np.dtype(v).name}" if k == "dtype" else v for k, v in params.items()}
    args: dict[str, Any] = {"params": encoded, "input": value}
    if fit is not None:
        args["fit"] = fit
    return _computed_case(case_id, function, args, rtol=rtol, atol=atol)


def _signed_unit_floats(count: int, salt: int) -> npt.NDArray[np.float64]:
    """``count`` floats in [-1, 1), exact (see :func:`unit_floats`)."""
    floats: npt.NDArray[np.float64] = unit_floats(count, salt) * 2.0 - 1.0
    return floats


def _hash_cases() -> list[dict[str, Any]]:
    mask = 2**64 - 1
    z = np.array(
        [0, 1, 2**63, mask, GOLDEN, (2 * GOLDEN) & mask, (3 * GOLDEN) & mask, 0x0123456789ABCDEF],
        dtype=np.uint64,
    )
    cases = [_computed_case("mix64/edges-and-splitmix64", "mix64", {"z": encode_array(z)})]
    for seed, words in [
        (0, []),
        (0, [0]),
        (1, [0]),
        (0, [1]),
        (42, [3, 7, 2**32]),
        (mask, [mask, 0]),
    ]:
        args = {
            "seed": encode_array(np.uint64(seed)),
            "words": encode_array(np.array(words, dtype=np.uint64)),
        }
        case_id = f"derive_key/{seed}/{'-'.join(map(str, words)) or 'none'}"
        cases.append(_computed_case(case_id, "derive_key", args))
    return cases


def _murmurhash_cases() -> list[dict[str, Any]]:
    keys = [
        "",
        "a",
        "ab",
        "abc",
        "abcd",
        "abcde",
        "Hello World!",
        "猫",
        "😀",
        "i\u0307",
        "東京 2024",
    ]
    return [
        _computed_case(
            f"murmurhash3_32/seed-{seed}", "murmurhash3_32", {"keys": keys, "seed": seed}
        )
        for seed in (0, 42, 2**32 - 1)
    ]


# The spec's requirement for invalid model outputs, not whatever mmref happens to raise.
_ERROR = {"raises": "ValueError"}


def _embeddings(image: npt.NDArray[Any], text: npt.NDArray[Any]) -> dict[str, Any]:
    return {"image_embedding": encode_array(image), "text_embedding": encode_array(text)}


def _scores(scores: npt.NDArray[Any], joint: npt.NDArray[Any]) -> dict[str, Any]:
    return {"scores": encode_array(scores), "joint_embedding": encode_array(joint)}


def _function_cases() -> list[dict[str, Any]]:
    values = _signed_unit_floats(64, 7)
    embeddings: list[tuple[str, npt.NDArray[Any], npt.NDArray[Any]]] = [
        (
            "float32+float64",
            values[:6].reshape(2, 3).astype(np.float32),
            values[6:10].reshape(2, 2),
        ),
        ("int8+uint8", np.array([[-128, 127], [0, -1]], np.int8), np.array([[255], [0]], np.uint8)),
        (
            "bool+float16",
            np.array([[True], [False]]),
            values[10:12].reshape(2, 1).astype(np.float16),
        ),
        (
            "special-values",
            np.array([[-0.0, np.inf, np.nan]]),
            np.array([[-np.inf, 5e-324, -1.7976931348623157e308]]),
        ),
        ("complex64+int64", np.array([[1 + 2j]], np.complex64), np.array([[2**40]], np.int64)),
        ("empty-batch", np.zeros((0, 3)), np.zeros((0, 2), np.float32)),
        ("zero-width-text", values[12:16].reshape(4, 1), np.zeros((4, 0))),
    ]
    errors = [
        ("1-D-image", np.zeros(3), np.zeros((1, 2))),
        ("3-D-text", np.zeros((2, 1)), np.zeros((2, 1, 1))),
        ("row-mismatch", np.zeros((2, 1)), np.zeros((3, 1))),
    ]
    cases = [
        _computed_case(f"joint_embedding/{name}", "joint_embedding", _embeddings(image, text))
        for name, image, text in embeddings
    ]
    cases += [
        _case(
            f"joint_embedding/error/{name}",
            "joint_embedding",
            _embeddings(image, text),
            dict(_ERROR),
        )
        for name, image, text in errors
    ]
    ties = np.array(
        [[1.0, 3.0, 3.0], [-0.0, 0.0, -1.0], [-np.inf, -np.inf, -np.inf], [np.inf, 1e308, np.inf]]
    )
    scores = [
        ("ties-zeros-infinities", ties),
        ("float32", values[16:40].reshape(6, 4).astype(np.float32)),
        ("int8-extremes", np.array([[-128, 127, 127], [0, 0, -128]], np.int8)),
        ("bool", np.array([[False, True, True], [False, False, False]])),
        ("one-class", values[40:43].reshape(3, 1)),
        ("empty-batch", np.zeros((0, 4))),
    ]
    bad_scores = [
        ("nan", np.array([[0.5, np.nan]]), np.zeros((1, 2))),
        ("1-D", np.array([0.5, 0.2]), np.zeros((1, 2))),
        ("no-columns", np.zeros((2, 0)), np.zeros((2, 2))),
        ("row-mismatch", np.zeros((2, 2)), np.zeros((3, 2))),
    ]
    function = "multimodal_classification"
    cases += [
        _computed_case(f"{function}/{name}", function, _scores(s, np.zeros((len(s), 2))))
        for name, s in scores
    ]
    cases += [
        _case(f"{function}/error/{name}", function, _scores(s, joint), dict(_ERROR))
        for name, s, joint in bad_scores
    ]
    return cases


_TEXTS = [
    "",
    "A cat on the mat.",
    "Hello, World! it's 2024 -- don't_stop",
    "一只猫在桌子上",
    "日本語のテキスト、カタカナ",
    "Straße İstanbul ΣΑΣ ὈΔΥΣΣΕΎΣ",
    "e\u0301cole ﬁn Ｔｏｋｙｏ ①",
    "emoji 😀🐈‍⬛ ok 👍🏽",
]


def _text_cases() -> list[dict[str, Any]]:
    fn = "BagOfWordsTextEncoder"
    texts = _TEXTS
    cases = [
        _encoder_case(f"text/tokenize/{i}", f"{fn}.tokenize", {}, t, rtol=None)
        for i, t in enumerate(texts)
    ]
    cases += [
        _encoder_case(
            f"text/tokenize-bigrams/{i}", f"{fn}.tokenize", {"ngram_range": [1, 2]}, t, rtol=None
        )
        for i, t in enumerate(texts[1:5], start=1)
    ]
    # Integer counts are exact; anything divided by a norm or through log gets a tolerance.
    runs: list[tuple[str, dict[str, Any], float | None, Any]] = [
        ("count-exact", {"n_features": 16, "normalize": False}, None, None),
        ("defaults-64", {"n_features": 64}, 1e-12, None),
        (
            "seed-bigrams-binary",
            {
                "n_features": 32,
                "seed": 7,
                "ngram_range": [1, 2],
                "weighting": "binary",
                "alternate_sign": False,
                "normalize": False,
            },
            None,
            None,
        ),
        ("log-float32", {"n_features": 32, "weighting": "log", "dtype": np.float32}, 1e-6, None),
        ("tfidf", {"n_features": 32, "weighting": "tfidf"}, 1e-12, texts),
        (
            "vocabulary",
            {
                "vocabulary": ["cat", "mat", "猫", "ok", "a cat"],
                "ngram_range": [1, 2],
                "normalize": False,
            },
            None,
            None,
        ),
        (
            "no-normalization-form",
            {"n_features": 16, "unicode_form": None, "lowercase": False, "normalize": False},
            None,
            None,
        ),
    ]
    for name, params, rtol, fit in runs:
        cases.append(
            _encoder_case(
                f"text/encode_text/{name}", f"{fn}.encode_text", params, texts, rtol=rtol, fit=fit
            )
        )
    cases.append(
        _encoder_case(
            "text/encode_text/one-str",
            f"{fn}.encode_text",
            {"n_features": 16},
            texts[1],
            rtol=1e-12,
        )
    )
    for name, value in (("none", None), ("number", [42]), ("nested", [["a"]])):
        cases.append(_encoder_case(f"text/error/{name}", f"{fn}.encode_text", {}, value, rtol=None))
    return cases + _text_options_cases()


# Texts for scikit-learn's other analyzers (SPEC 5.2-5.4): accents, runs of whitespace,
# stop words, words shorter than min_n.
_OPTION_TEXTS = [
    "C'était très   bien,\tn'est-ce pas ?",
    "The café is not   élite; Ǆ ß ø",
    "a  b\n\nc\u3000d",
    "東京は日本の首都です。",
    "",
]


def _text_options_cases() -> list[dict[str, Any]]:
    """Cases of strip_accents, analyzer, stop_words and normalize="l1" (issue 21)."""
    fn = "BagOfWordsTextEncoder"
    texts = _OPTION_TEXTS
    exact: dict[str, Any] = {"n_features": 64, "unicode_form": None, "normalize": False}
    tokenize: list[tuple[str, dict[str, Any]]] = [
        ("strip-accents-ascii", {"strip_accents": "ascii", "unicode_form": None}),
        ("strip-accents-unicode", {"strip_accents": "unicode", "unicode_form": None}),
        ("char-1-2", {"analyzer": "char", "ngram_range": [1, 2], "unicode_form": None}),
        ("char_wb-2-4", {"analyzer": "char_wb", "ngram_range": [2, 4], "unicode_form": None}),
        ("char_wb-4-5", {"analyzer": "char_wb", "ngram_range": [4, 5], "unicode_form": None}),
        ("stop-words-english", {"stop_words": "english", "ngram_range": [1, 2]}),
    ]
    cases = [
        _encoder_case(f"text/tokenize-{name}/{i}", f"{fn}.tokenize", params, t, rtol=None)
        for name, params in tokenize
        for i, t in enumerate(texts[:4])
    ]
    runs: list[tuple[str, dict[str, Any], float | None]] = [
        ("strip-accents-ascii", {**exact, "strip_accents": "ascii"}, None),
        ("strip-accents-unicode", {**exact, "strip_accents": "unicode"}, None),
        ("char-1-2", {**exact, "analyzer": "char", "ngram_range": [1, 2]}, None),
        ("char_wb-2-4", {**exact, "analyzer": "char_wb", "ngram_range": [2, 4]}, None),
        ("stop-words-english", {**exact, "stop_words": "english"}, None),
        ("stop-words-list", {**exact, "stop_words": ["bien", "the", "東"]}, None),
        ("l1", {"n_features": 32, "normalize": "l1"}, 1e-12),
        ("l2-spelled", {"n_features": 32, "normalize": "l2"}, 1e-12),
    ]
    for name, params, rtol in runs:
        cases.append(
            _encoder_case(f"text/encode_text/{name}", f"{fn}.encode_text", params, texts, rtol=rtol)
        )
    errors = [
        ("strip-accents", {"strip_accents": "latin"}),
        ("analyzer", {"analyzer": "chars"}),
        ("stop-words", {"stop_words": "french"}),
        ("stop-words-with-char", {"analyzer": "char", "stop_words": "english"}),
        ("normalize", {"normalize": "max"}),
    ]
    for name, params in errors:
        cases.append(
            _encoder_case(f"text/error/{name}", f"{fn}.encode_text", params, texts, rtol=None)
        )
    return cases


def _image_cases() -> list[dict[str, Any]]:
    fn = "RandomProjectionImageEncoder"
    batch = hash_bytes(3 * 6 * 5).reshape(3, 6, 5)
    batch[0] = 0  # an all-zero image gives a zero row, never NaN
    floats = _signed_unit_floats(2 * 30, 11).reshape(2, 30) * 100.0
    runs: list[tuple[str, dict[str, Any], Any, float]] = [
        ("sparse-auto", {"n_components": 8, "normalize": False}, batch, 1e-12),
        ("sparse-density-0.3", {"n_components": 8, "density": 0.3, "seed": 5}, batch, 1e-12),
        ("rademacher", {"n_components": 5, "density": 1.0, "seed": 7}, batch, 1e-12),
        ("gaussian", {"n_components": 6, "method": "gaussian", "seed": 1}, batch, 1e-10),
        ("srht", {"n_components": 6, "method": "srht", "seed": 3}, batch, 1e-10),
        ("float32", {"n_components": 8, "dtype": np.float32}, batch, 1e-5),
        (
            "flat-float64",
            {"n_components": 4, "image_shape": [30], "normalize": False},
            floats,
            1e-12,
        ),
        ("single-image", {"n_components": 4, "image_shape": [6, 5]}, batch[1], 1e-12),
    ]
    cases = [
        _encoder_case(
            f"image/encode_image/{name}", f"{fn}.encode_image", params, encode_array(x), rtol=rtol
        )
        for name, params, x, rtol in runs
    ]
    # The matrices themselves: with atol = 0, zeros must be exact and signs must agree, so
    # the sparse and Rademacher supports and signs are checked bit for bit.
    matrices: list[tuple[str, dict[str, Any], float, float]] = [
        ("sparse", {"n_components": 8, "density": 0.3, "seed": 5}, 1e-15, 0.0),
        ("rademacher", {"n_components": 5, "density": 1.0, "seed": 7}, 1e-15, 0.0),
        ("gaussian", {"n_components": 6, "method": "gaussian", "seed": 1}, 1e-12, 1e-13),
    ]
    for name, params, rtol, atol in matrices:
        cases.append(
            _encoder_case(
                f"image/matrix/{name}",
                f"{fn}.get_projection_matrix",
                params,
                30,
                rtol=rtol,
                atol=atol,
            )
        )
    bad = batch.astype(np.float64)
    bad[1, 2, 3] = np.nan
    errors: list[tuple[str, dict[str, Any], npt.NDArray[Any]]] = [
        ("nan", {"n_components": 4}, bad),
        ("srht-too-many-components", {"n_components": 31, "method": "srht"}, batch),
    ]
    for name, params, x in errors:
        cases.append(
            _encoder_case(
                f"image/error/{name}", f"{fn}.encode_image", params, encode_array(x), rtol=None
            )
        )
    return cases
