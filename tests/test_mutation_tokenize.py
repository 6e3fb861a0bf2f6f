"""The text encoder against a plain transcription of its specification (SPEC.md, "Text encoder").

Written to kill the mutants tools/mutation.py finds in the tokenizer, the hashing and
the counting (mmref/_tokenize.py, _hashing.py, _text_counts.py): every check here is
on what the public encoder returns, for texts drawn from an alphabet that visits each
path of the batch tokenizer (ASCII only, 2-, 3- and 4-byte UTF-8, CJK characters that
are tokens by themselves, characters that normalization changes or splits, NUL inside a
document, final sigma).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmref.text import BagOfWordsTextEncoder

sklearn_murmurhash = pytest.importorskip("sklearn.utils").murmurhash3_32

# SPEC.md's CJK ranges, as far as the alphabet below reaches them.
_CJK = ((0x3005, 0x3007), (0x3040, 0x30FF), (0x4E00, 0x9FFF), (0xFF66, 0xFF9F), (0x20000, 0x2A6DF))
ALPHABET = (
    "ab Zz_09 ,.-\t\n"  # ASCII words, digits, underscore, separators
    "éßİΣσςΑ"  # 2-byte letters; Σ lowercases to σ or ς by position; İ lengthens
    "ﬁＡ１，"  # ligature and fullwidth forms (NFKC maps them to ASCII)
    "e\u0301"  # a combining mark: composes under NFC/NFKC
    "日本語ひらカタｶ々한٣"  # CJK (tokens by themselves), halfwidth kana, Hangul, Arabic digit
    "😀𠀀\U0001d400"  # 4-byte: an emoji (not a word), a Han ideograph, a math letter
    "\0"  # NUL inside a document
    "\x80\u07ff\u0800\uffff\U00010000"  # the first and last code points of each UTF-8 length
    "\u00aa\u0800\U00010000"  # ... that are word characters: ª, ࠀ, 𐀀
)
texts = st.text(alphabet=ALPHABET, max_size=24)
FORMS = [None, "NFC", "NFKC", "NFD", "NFKD"]


def _is_cjk(char: str) -> bool:
    return any(low <= ord(char) <= high for low, high in _CJK)


def oracle_tokens(text: str, form: str | None, lowercase: bool, pattern: str | None) -> list[str]:
    if form is not None:
        text = unicodedata.normalize(form, text)
    if lowercase:
        text = text.lower()
    if pattern is not None:
        return re.findall(pattern, text)
    tokens, current = [], ""
    for char in text:
        word = char.isalnum() or char == "_"
        if word and _is_cjk(char):
            if current:
                tokens.append(current)
            tokens.append(char)
            current = ""
        elif word:
            current += char
        else:
            if current:
                tokens.append(current)
            current = ""
    if current:
        tokens.append(current)
    return tokens


def oracle_terms(tokens: list[str], ngram_range: tuple[int, int]) -> list[str]:
    low, high = ngram_range
    return [
        " ".join(tokens[i : i + n])
        for n in range(low, high + 1)
        for i in range(len(tokens) - n + 1)
    ]


def oracle_hashed(
    docs: list[str], *, n_features: int, seed: int, alternate_sign: bool, **params: Any
) -> np.ndarray:
    form, lowercase = params.get("unicode_form", "NFKC"), params.get("lowercase", True)
    ngram_range = params.get("ngram_range", (1, 1))
    out = np.zeros((len(docs), n_features))
    for row, doc in enumerate(docs):
        tokens = oracle_tokens(doc, form, lowercase, params.get("token_pattern"))
        for term in oracle_terms(tokens, ngram_range):
            h = int(sklearn_murmurhash(term.encode("utf-8"), seed=seed, positive=False))
            out[row, abs(h) % n_features] += (1 if h >= 0 else -1) if alternate_sign else 1
    return out


def _weigh(counts: np.ndarray, weighting: str, normalize: bool) -> np.ndarray:
    if weighting == "binary":
        counts = np.sign(counts)
    elif weighting == "log":
        counts = np.array(
            [[math.copysign(1 + math.log(abs(v)), v) if v else 0.0 for v in r] for r in counts]
        ).reshape(counts.shape)
    if normalize:
        norms = np.sqrt((counts**2).sum(axis=1, keepdims=True))
        counts = np.divide(counts, norms, out=np.zeros_like(counts), where=norms > 0)
    return counts


@settings(max_examples=60)
@given(
    st.lists(texts, min_size=1, max_size=5),
    st.sampled_from(FORMS),
    st.booleans(),
    st.sampled_from([(1, 1), (1, 2), (2, 3), (3, 3)]),
)
def test_tokenize_is_the_specified_rule(
    docs: list[str], form: str | None, lowercase: bool, ngram_range: tuple[int, int]
) -> None:
    encoder = BagOfWordsTextEncoder(unicode_form=form, lowercase=lowercase, ngram_range=ngram_range)
    for doc in docs:
        expected = oracle_terms(oracle_tokens(doc, form, lowercase, None), ngram_range)
        assert encoder.tokenize(doc) == expected, doc


@settings(max_examples=60)
@given(
    st.lists(texts, min_size=1, max_size=6),
    st.sampled_from(FORMS),
    st.booleans(),
    st.sampled_from([(1, 1), (1, 2), (2, 2), (1, 3)]),
    st.sampled_from([1, 2, 7, 1024, 2**31 - 1]),
    st.sampled_from([0, 1, 42, 2**32 - 1]),
    st.booleans(),
    st.sampled_from(["count", "binary", "log"]),
    st.booleans(),
)
def test_hashed_rows_are_the_specified_counts(
    docs: list[str],
    form: str | None,
    lowercase: bool,
    ngram_range: tuple[int, int],
    n_features: int,
    seed: int,
    alternate_sign: bool,
    weighting: str,
    normalize: bool,
) -> None:
    n_features = min(n_features, 4096)  # a dense oracle
    params = {"unicode_form": form, "lowercase": lowercase, "ngram_range": ngram_range}
    encoder = BagOfWordsTextEncoder(
        n_features,
        seed=seed,
        alternate_sign=alternate_sign,
        weighting=weighting,
        normalize=normalize,
        **params,
    )
    counts = oracle_hashed(
        docs, n_features=n_features, seed=seed, alternate_sign=alternate_sign, **params
    )
    expected = _weigh(counts, weighting, normalize)
    np.testing.assert_allclose(encoder.transform(docs), expected, rtol=1e-12, atol=1e-15)


@settings(max_examples=60)
@given(st.lists(texts, min_size=1, max_size=6), st.sampled_from([(1, 1), (1, 2)]))
def test_scikit_learns_pattern_and_any_regex_give_their_findall(
    docs: list[str], ngram_range: tuple[int, int]
) -> None:
    for pattern in (r"(?u)\b\w\w+\b", r"[a-zé]+|\d", r"(\w)\w*"):
        params = {"token_pattern": pattern, "ngram_range": ngram_range}
        encoder = BagOfWordsTextEncoder(64, normalize=False, **params)
        expected = oracle_hashed(docs, n_features=64, seed=0, alternate_sign=True, **params)
        np.testing.assert_array_equal(encoder.transform(docs), expected)
        for doc in docs:
            tokens = oracle_tokens(doc, "NFKC", True, pattern)
            assert encoder.tokenize(doc) == oracle_terms(tokens, ngram_range)


@settings(max_examples=60)
@given(
    st.lists(texts, min_size=1, max_size=8),
    st.lists(texts, min_size=1, max_size=8),
    st.sampled_from([(1, 1), (1, 2)]),
)
def test_a_vocabulary_counts_exactly_its_terms(
    vocab_docs: list[str], docs: list[str], ngram_range: tuple[int, int]
) -> None:
    # The vocabulary: terms that occur, near misses (a prefix, an extension) and absent ones.
    seen = Counter(
        t
        for d in vocab_docs
        for t in oracle_terms(oracle_tokens(d, "NFKC", True, None), ngram_range)
    )
    terms = sorted(seen)
    vocabulary = list(
        dict.fromkeys(
            [*terms, *(t[:-1] for t in terms if len(t) > 1), *(t + "x" for t in terms), "zzz"]
        )
    )
    encoder = BagOfWordsTextEncoder(vocabulary=vocabulary, ngram_range=ngram_range, normalize=False)
    expected = np.zeros((len(docs), len(vocabulary)))
    column = {t: j for j, t in enumerate(vocabulary)}
    for row, doc in enumerate(docs):
        for term in oracle_terms(oracle_tokens(doc, "NFKC", True, None), ngram_range):
            if term in column:
                expected[row, column[term]] += 1
    np.testing.assert_array_equal(encoder.transform(docs), expected)


@settings(max_examples=40)
@given(st.lists(texts, min_size=1, max_size=10), st.integers(1, 3), st.sampled_from([None, 1, 3]))
def test_a_learned_vocabulary_is_the_specified_one(
    docs: list[str], min_df: int, max_features: int | None
) -> None:
    encoder = BagOfWordsTextEncoder(
        vocabulary="learn", min_df=min_df, max_features=max_features, normalize=False
    )
    per_doc = [Counter(oracle_tokens(d, "NFKC", True, None)) for d in docs]
    df = Counter(t for c in per_doc for t in c)
    total = Counter(t for c in per_doc for t in c.elements())
    kept = sorted(t for t in df if df[t] >= min_df)
    if max_features is not None:
        kept = sorted(sorted(kept, key=lambda t: (-total[t], t))[:max_features])
    if not kept:
        with pytest.raises(ValueError, match="learned an empty vocabulary"):
            encoder.fit(docs)
        return
    encoder.fit(docs)
    assert encoder.vocabulary_ == {t: j for j, t in enumerate(kept)}
    expected = np.array([[c[t] for t in kept] for c in per_doc], dtype=float).reshape(
        len(docs), len(kept)
    )
    np.testing.assert_array_equal(encoder.transform(docs), expected)


def test_long_documents_count_like_short_ones() -> None:
    # A text long enough to be cut into pieces counts every n-gram once, across the cuts.
    rng = np.random.default_rng(5)
    words = ["alpha", "beta", "日本", "é", "zz_9", "ﬁx", "Σας"]
    doc = " ".join(rng.choice(words, size=100_000))  # 400 000 characters: cut in 3 pieces
    short = [doc[: len(doc) // 7], "beta alpha"]
    for ngram_range in [(1, 1), (1, 3), (2, 2)]:
        encoder = BagOfWordsTextEncoder(97, ngram_range=ngram_range, normalize=False)
        expected = oracle_hashed(
            [doc, *short], n_features=97, seed=0, alternate_sign=True, ngram_range=ngram_range
        )
        np.testing.assert_array_equal(encoder.transform([doc, *short]), expected)


@pytest.mark.parametrize("form", ["NFKC", None])
@pytest.mark.parametrize(
    "bad",
    [
        "ba \ud800 x",
        "\u2126 \ud800",  # with a character whose decomposition is a single one (Ω)
        "e\u0301 \ud800",  # with a character that normalization composes
        "AB \ud800",  # with letters that lowercasing changes
        "\x80\ud800",
    ],
)
def test_lone_surrogates_are_refused_naming_the_document(form: str | None, bad: str) -> None:
    encoder = BagOfWordsTextEncoder(unicode_form=form)
    position = bad.index("\ud800")
    message = (
        f"texts[1] contains a lone surrogate (U+D800 at position {position}); "
        "expected valid Unicode text."
    )
    for call in (encoder.transform, BagOfWordsTextEncoder(vocabulary="learn").fit):
        with pytest.raises(ValueError) as info:
            call(["fine", bad, "fine too"])
        assert str(info.value) == message
    with pytest.raises(ValueError) as info:
        encoder.transform(["fine", bad + " word" * 200_000])  # a long text, cut in pieces
    assert str(info.value) == message


def test_normalization_that_moves_document_boundaries_keeps_each_documents_terms() -> None:
    # "ﬁ" grows by one character under NFKC and "e" + combining acute shrinks by one: the
    # batch keeps its length while both documents' boundaries move.
    docs = ["\ufb01 a", "e\u0301 b", "c", "\ufb03 \ufb03 x", "e\u0301" * 4 + " b"]
    encoder = BagOfWordsTextEncoder(64, normalize=False)
    expected = oracle_hashed(docs, n_features=64, seed=0, alternate_sign=True)
    np.testing.assert_array_equal(encoder.transform(docs), expected)
    assert [encoder.tokenize(d) for d in docs] == [
        ["fi", "a"],
        ["\u00e9", "b"],
        ["c"],
        ["ffi", "ffi", "x"],
        ["\u00e9" * 4, "b"],
    ]
    # Each pair of neighbours keeps the batch's length while moving the boundary.
    for pair in (docs[:2], docs[3:]):
        np.testing.assert_array_equal(
            encoder.transform(pair),
            oracle_hashed(pair, n_features=64, seed=0, alternate_sign=True),
        )


@pytest.mark.parametrize(
    ("params", "seen"),
    [
        ({"unicode_form": "NFKC", "lowercase": False}, ["fi Café", "A"]),
        ({"unicode_form": "NFKC", "lowercase": True}, ["fi café", "a"]),
        ({"unicode_form": None, "lowercase": False, "strip_accents": "unicode"}, ["fi Cafe", "A"]),
        ({"unicode_form": None, "lowercase": False}, ["ﬁ Café", "Ａ"]),
    ],
)
def test_a_callable_tokenizer_sees_each_text_preprocessed(
    params: dict[str, Any], seen: list[str]
) -> None:
    calls: list[str] = []

    def tokenizer(text: str) -> list[str]:
        calls.append(text)
        return text.split()

    BagOfWordsTextEncoder(16, tokenizer=tokenizer, **params).transform(["ﬁ Café", "Ａ"])
    assert calls == seen
