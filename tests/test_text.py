"""BagOfWordsTextEncoder: tokenizer, hashing parity with scikit-learn, vocabulary, weighting."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import numpy as np
import pytest
from helpers import HAVE_SKLEARN, requires_sklearn
from hypothesis import given
from hypothesis import strategies as st

import mmref._text_counts as text_module
from mmref import _tokenize
from mmref._text_counts import _hash_columns
from mmref.exceptions import NotFittedError
from mmref.text import BagOfWordsTextEncoder

if HAVE_SKLEARN:
    from sklearn.feature_extraction.text import (
        CountVectorizer,
        HashingVectorizer,
        TfidfTransformer,
        TfidfVectorizer,
    )
    from sklearn.preprocessing import normalize as sk_normalize
    from sklearn.utils import murmurhash3_32

SK_PATTERN = r"(?u)\b\w\w+\b"
PARITY = {"token_pattern": SK_PATTERN, "unicode_form": None, "normalize": False}

# Characters that exercise the tokenizer: ASCII, accents and combining marks, Greek
# (final sigma), Turkish dotted I (lowercases to two characters), CJK, kana, Hangul,
# digits of other scripts, emoji (4-byte UTF-8), ZWJ, punctuation, NUL, ligatures.
PIECES = list(
    "aAzZ09_ ,.!?-'\t\n"
    "éÉñß"
    "\u0301\u0308"
    "ΣσςΟΔ"
    "İı"
    "中文日本語漢字"
    "ひらがなカタカナｶﾀｶﾅ"
    "한국어"
    "٣४"
    "😀👍🏽"
    "\u200d"
    "\x00"
    "ﬁ①Ⅻ"
    "〇々ー"
)
documents = st.lists(
    st.one_of(
        st.text(alphabet=st.sampled_from(PIECES), max_size=40),
        st.text(max_size=20),  # any code point except surrogates
    ),
    max_size=8,
)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def assert_csr_equal(ours, theirs) -> None:
    theirs = theirs.copy()
    theirs.sort_indices()
    assert ours.shape == theirs.shape
    np.testing.assert_array_equal(ours.indptr, theirs.indptr)
    np.testing.assert_array_equal(ours.indices, theirs.indices)
    np.testing.assert_array_equal(ours.data, theirs.data)  # explicit zeros included


# -- hashing parity with scikit-learn ---------------------------------------------------


@requires_sklearn
@given(
    documents,
    st.sampled_from([(1, 1), (1, 2), (2, 3), (1, 3)]),
    st.sampled_from([1, 7, 1024, 1000, 2**20]),
)
def test_transform_sparse_equals_hashing_vectorizer(docs, ngram_range, n_features) -> None:
    ours = BagOfWordsTextEncoder(n_features, ngram_range=ngram_range, **PARITY)
    theirs = HashingVectorizer(
        n_features=n_features, norm=None, alternate_sign=True, ngram_range=ngram_range
    )
    if not docs:
        assert ours.transform_sparse(docs).shape == (0, n_features)
        return
    assert_csr_equal(ours.transform_sparse(docs), theirs.transform(docs))


@requires_sklearn
def test_parity_keeps_cancelled_entries_as_sklearn_does() -> None:
    # 'ab' and 'ba' land in the same 2 columns; with enough words some signs cancel.
    words = [f"w{i}" for i in range(200)]
    docs = [" ".join(words[i : i + 40]) for i in range(0, 160, 7)]
    ours = BagOfWordsTextEncoder(2, **PARITY).transform_sparse(docs)
    theirs = HashingVectorizer(n_features=2, norm=None).transform(docs)
    assert (theirs.data == 0).any(), "the fixture should contain a cancellation"
    assert_csr_equal(ours, theirs)


@requires_sklearn
def test_parity_on_a_large_mixed_corpus_with_chunking(monkeypatch) -> None:
    rng = np.random.default_rng(0)
    vocab = [
        "cat",
        "Dog",
        "ÉTÉ",
        "naïve",
        "中文",
        "日本",
        "x",
        "ΟΔΟΣ",
        "emoji😀",
        "İstanbul",
        "a_b",
    ]
    docs = [" ".join(rng.choice(vocab, size=int(rng.integers(0, 30)))) for _ in range(300)]
    docs.append(" ".join(vocab * 200))  # one long row among short ones
    monkeypatch.setattr(text_module, "_CHUNK_CHARS", 1000)
    monkeypatch.setattr(text_module, "_CHUNK_DOCS", 17)
    for ngram_range in [(1, 1), (1, 2)]:
        ours = BagOfWordsTextEncoder(4096, ngram_range=ngram_range, **PARITY)
        theirs = HashingVectorizer(n_features=4096, norm=None, ngram_range=ngram_range)
        assert_csr_equal(ours.transform_sparse(docs), theirs.transform(docs))


def test__hash_columns_follow_sklearn_including_minus_two_to_the_31() -> None:
    h = np.array([0, 1, 5, 2**31 - 1, 2**31, 2**31 + 1, 2**32 - 1], dtype=np.uint32)
    signed = h.view(np.int32).astype(np.int64)
    for width in [1, 2, 3, 7, 1024, 2**20 + 1, 2**31 - 1]:
        cols, negative = _hash_columns(h, width)
        # scikit-learn's _hashing_fast.pyx, verbatim.
        expected = [
            (2147483647 - (width - 1)) % width if v == -(2**31) else abs(v) % width
            for v in signed.tolist()
        ]
        assert cols.tolist() == expected
        assert negative.tolist() == (signed < 0).tolist()


@requires_sklearn
def test_hashed_column_of_a_word_matches_murmurhash3() -> None:
    enc = BagOfWordsTextEncoder(1000, normalize=False, seed=7, alternate_sign=True)
    for word in ["hello", "ü", "x_1", "한국", "中"]:
        h = murmurhash3_32(word, seed=7)
        row = enc.encode_text(word)[0]
        col = abs(h) % 1000
        assert row[col] == (1.0 if h >= 0 else -1.0)
        assert np.count_nonzero(row) == 1


# -- tokenizer --------------------------------------------------------------------------


def test_default_tokenizer_rules() -> None:
    enc = BagOfWordsTextEncoder()
    assert enc.tokenize("I saw 2 cats_and a dog!") == ["i", "saw", "2", "cats_and", "a", "dog"]
    assert enc.tokenize("東京タワーに行った") == list("東京タワーに行った")
    assert enc.tokenize("abc中文def") == ["abc", "中", "文", "def"]
    assert enc.tokenize("한국어 텍스트") == ["한국어", "텍스트"]  # Hangul is not split
    assert enc.tokenize("ﬁne Ｔｏｋｙｏ ①") == ["fine", "tokyo", "1"]  # NFKC
    assert enc.tokenize("") == []
    assert BagOfWordsTextEncoder(unicode_form=None).tokenize("ﬁne") == ["ﬁne"]
    assert BagOfWordsTextEncoder(lowercase=False).tokenize("Big Cat") == ["Big", "Cat"]


def test_ngrams_join_tokens_with_one_space_within_a_text() -> None:
    enc = BagOfWordsTextEncoder(ngram_range=(1, 3))
    assert enc.tokenize("a,  b\tc") == ["a", "b", "c", "a b", "b c", "a b c"]
    assert BagOfWordsTextEncoder(ngram_range=(2, 2)).tokenize("中文字") == ["中 文", "文 字"]
    assert BagOfWordsTextEncoder(ngram_range=(4, 5)).tokenize("a b c") == []


def test_lowercasing_is_per_text_even_when_batched() -> None:
    # Final sigma depends on the neighbours; 'İ' lowercases to two characters.
    docs = ["ΟΔΟΣ", "Σ", "İİ x", "aΣ", "Σb", "ΑΣ\x00Σ"]
    enc = BagOfWordsTextEncoder(1 << 16, unicode_form=None, normalize=False)
    batch = enc.transform(docs)
    for i, doc in enumerate(docs):
        np.testing.assert_array_equal(batch[i], enc.transform([doc])[0])
    assert enc.tokenize("ΟΔΟΣ ΟΔΟΣ") == ["οδος", "οδος"]
    assert enc.tokenize("İx") == ["i", "x"]  # "i" + U+0307 (a combining mark) + "x"


@requires_sklearn
@given(documents)
def test_tokenize_matches_sklearn_analyzer_for_its_pattern(docs) -> None:
    ours = BagOfWordsTextEncoder(ngram_range=(1, 2), token_pattern=SK_PATTERN, unicode_form=None)
    analyzer = CountVectorizer(ngram_range=(1, 2)).build_analyzer()
    for doc in docs:
        assert ours.tokenize(doc) == analyzer(doc)


@given(documents, st.sampled_from([None, "NFKC", "NFD"]), st.booleans())
def test_default_tokenizer_matches_a_per_text_regex_model(docs, form, lowercase) -> None:
    enc = BagOfWordsTextEncoder(unicode_form=form, lowercase=lowercase)
    cjk = "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in _tokenize.CJK_RANGES)
    token = re.compile(rf"(?:(?![{cjk}])\w)+|[{cjk}]")
    for doc in docs:
        t = unicodedata.normalize(form, doc) if form else doc
        t = t.lower() if lowercase else t
        expected = [m for m in token.findall(t) if re.fullmatch(r"\w+", m)]
        assert enc.tokenize(doc) == expected


def test_word_class_table_is_isalnum_or_underscore() -> None:
    table = _tokenize.char_classes()
    expected = np.array([chr(c).isalnum() or c == 0x5F for c in range(0x110000)], dtype=bool)
    np.testing.assert_array_equal(table != 0, expected)
    cjk = (table & _tokenize.CJK) != 0
    assert cjk[ord("中")] and cjk[ord("あ")] and cjk[ord("ア")] and cjk[0x20000]
    assert not cjk[ord("한")] and not cjk[ord("a")] and not cjk[ord("、")]


@requires_sklearn
def test_custom_token_pattern_uses_re_with_its_group() -> None:
    enc = BagOfWordsTextEncoder(token_pattern=r"<(\w+)>", lowercase=False, ngram_range=(1, 2))
    assert enc.tokenize("<Ab> x <c d> <e>") == ["Ab", "e", "Ab e"]
    sk = HashingVectorizer(n_features=64, norm=None, token_pattern=r"\S+", lowercase=False)
    ours = BagOfWordsTextEncoder(
        64, token_pattern=r"\S+", lowercase=False, unicode_form=None, normalize=False
    )
    docs = ["a-b c", "", "x😀 y", "^start ^x"]
    assert_csr_equal(ours.transform_sparse(docs), sk.transform(docs))
    anchored = BagOfWordsTextEncoder(token_pattern=r"^\w+", unicode_form=None)
    assert [anchored.tokenize(d) for d in ["ab cd", "ef"]] == [["ab"], ["ef"]]


@given(documents)
def test_rows_do_not_depend_on_the_batch(docs) -> None:
    enc = BagOfWordsTextEncoder(256, ngram_range=(1, 2), weighting="log")
    batch = enc.transform(docs)
    for i, doc in enumerate(docs):
        np.testing.assert_array_equal(batch[i], enc.encode_text(doc)[0])


# -- weighting, normalization, vocabulary ---------------------------------------------


def test_weightings_follow_their_formulas() -> None:
    docs = ["a a a b c c", "", "b b"]
    base: dict[str, Any] = {"n_features": 16, "normalize": False}
    counts = BagOfWordsTextEncoder(**base).transform(docs)
    binary = BagOfWordsTextEncoder(weighting="binary", **base).transform(docs)
    log = BagOfWordsTextEncoder(weighting="log", **base).transform(docs)
    np.testing.assert_array_equal(binary, np.sign(counts))
    safe = np.where(counts == 0, 1.0, np.abs(counts))
    np.testing.assert_array_equal(log, np.sign(counts) * (1.0 + np.log(safe)))
    assert sorted(np.abs(counts[0][counts[0] != 0]).tolist()) == [1.0, 2.0, 3.0]


def test_normalize_gives_unit_rows_and_zero_rows_for_empty_texts() -> None:
    enc = BagOfWordsTextEncoder(32)
    X = enc.transform(["a b c", "", "!!!", "x" * 10])
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), [1, 0, 0, 1])
    assert np.isfinite(X).all()


@requires_sklearn
def test_normalized_rows_equal_sklearn_normalize_bit_for_bit() -> None:
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(300)]
    docs = [" ".join(rng.choice(words, size=int(rng.integers(0, 400)))) for _ in range(60)]
    ours = BagOfWordsTextEncoder(
        512, token_pattern=SK_PATTERN, unicode_form=None, weighting="log"
    ).transform_sparse(docs)
    counts = HashingVectorizer(n_features=512, norm=None).transform(docs)
    counts.sort_indices()
    logged = counts.copy()
    logged.data = np.sign(logged.data) * (
        1 + np.log(np.where(logged.data == 0, 1, abs(logged.data)))
    )
    np.testing.assert_array_equal(ours.data, sk_normalize(logged, copy=True).data)


def test_explicit_vocabulary_counts_known_terms_only() -> None:
    enc = BagOfWordsTextEncoder(
        vocabulary=["dog", "cat", "cat dog"], ngram_range=(1, 2), normalize=False, dtype=np.float32
    )
    X = enc.transform(["Cat dog cat, bird!", "", "dogs"])
    np.testing.assert_array_equal(X, [[1, 2, 1], [0, 0, 0], [0, 0, 0]])
    assert X.dtype == np.float32
    assert enc.fit(["x"]).vocabulary_ == {"dog": 0, "cat": 1, "cat dog": 2}


@requires_sklearn
@given(documents)
def test_learned_vocabulary_equals_count_vectorizer(docs) -> None:
    docs = [*docs, "common words here", "common words"]
    ours = BagOfWordsTextEncoder(vocabulary="learn", ngram_range=(1, 2), **PARITY)
    theirs = CountVectorizer(ngram_range=(1, 2))
    expected = theirs.fit_transform(docs)
    assert ours.fit(docs).vocabulary_ == theirs.vocabulary_
    assert_csr_equal(ours.transform_sparse(docs), expected)


@requires_sklearn
def test_min_df_and_max_features_with_deterministic_ties() -> None:
    docs = ["b a c", "a b", "c d", "e"]
    enc = BagOfWordsTextEncoder(vocabulary="learn", min_df=2, normalize=False).fit(docs)
    assert enc.vocabulary_ == {"a": 0, "b": 1, "c": 2}
    # a, b, c all occur twice: the tie goes to the earlier terms in code point order.
    enc = BagOfWordsTextEncoder(vocabulary="learn", max_features=2).fit(docs)
    assert enc.vocabulary_ == {"a": 0, "b": 1}
    enc = BagOfWordsTextEncoder(vocabulary="learn", min_df=0.5).fit(docs)
    assert list(enc.vocabulary_) == ["a", "b", "c"]
    theirs = CountVectorizer(min_df=2, token_pattern=r"(?u)\b\w+\b").fit(docs)
    assert theirs.vocabulary_ == {"a": 0, "b": 1, "c": 2}


@requires_sklearn
def test_tfidf_with_learned_vocabulary_matches_tfidf_vectorizer() -> None:
    rng = np.random.default_rng(2)
    words = ["alpha", "beta", "gamma", "delta", "épsilon", "中文", "zeta"]
    docs = [" ".join(rng.choice(words, size=int(rng.integers(0, 12)))) for _ in range(80)]
    ours = BagOfWordsTextEncoder(
        vocabulary="learn",
        weighting="tfidf",
        token_pattern=SK_PATTERN,
        unicode_form=None,
        ngram_range=(1, 2),
    )
    theirs = TfidfVectorizer(ngram_range=(1, 2))
    expected = theirs.fit_transform(docs)
    X = ours.fit(docs).transform_sparse(docs)
    np.testing.assert_array_equal(ours.idf_, theirs.idf_)
    expected.sort_indices()
    np.testing.assert_array_equal(X.indices, expected.indices)
    np.testing.assert_allclose(X.data, expected.data, rtol=1e-15, atol=0)


@requires_sklearn
def test_tfidf_in_hashing_mode_matches_tfidf_transformer() -> None:
    docs = ["a b c", "a a", "", "b d e f", "a"] * 3
    ours = BagOfWordsTextEncoder(8, weighting="tfidf", **PARITY).fit(docs)
    counts = HashingVectorizer(n_features=8, norm=None).transform(docs)
    theirs = TfidfTransformer(norm=None).fit(counts)
    np.testing.assert_array_equal(ours.idf_, theirs.idf_)
    X = ours.transform_sparse(docs)
    np.testing.assert_allclose(X.toarray(), theirs.transform(counts).toarray(), rtol=1e-15)


def test_not_fitted_errors_name_fit() -> None:
    for enc in [
        BagOfWordsTextEncoder(vocabulary="learn"),
        BagOfWordsTextEncoder(weighting="tfidf"),
    ]:
        with pytest.raises(NotFittedError, match="'fit'"):
            enc.transform(["a"])
    enc = BagOfWordsTextEncoder(8, weighting="tfidf").fit(["a"])
    enc.set_params(n_features=16)
    with pytest.raises(NotFittedError, match="'fit' again"):
        enc.transform(["a"])


def test_lookup_is_exact_even_when_all_keys_collide(monkeypatch) -> None:
    def constant_keys(data, starts, lengths, words):
        return np.zeros(starts.size, dtype=np.uint64)

    monkeypatch.setattr(_tokenize, "_key64", constant_keys)
    docs = ["b a c a", "c c d", "ab ba"]
    enc = BagOfWordsTextEncoder(vocabulary="learn", normalize=False, token_pattern=r"\w+")
    X = enc.fit_transform(docs)
    assert enc.vocabulary_ == {"a": 0, "ab": 1, "b": 2, "ba": 3, "c": 4, "d": 5}
    np.testing.assert_array_equal(X, [[2, 0, 1, 0, 1, 0], [0, 0, 0, 0, 2, 1], [0, 1, 0, 1, 0, 0]])


# -- input checks and scale -----------------------------------------------------------


@pytest.mark.parametrize("bad", [None, b"bytes", 3, 2.5, ["nested"], ("t",)])
def test_non_str_items_raise_type_error_naming_the_index(bad) -> None:
    enc = BagOfWordsTextEncoder()
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        enc.transform(["fine", bad])
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        enc.encode_text(["fine", bad])


def test_lone_surrogate_raises_value_error_naming_the_index() -> None:
    enc = BagOfWordsTextEncoder()
    with pytest.raises(ValueError, match=r"texts\[2\].*surrogate"):
        enc.transform(["a", "b", "x\ud800y"])
    with pytest.raises(ValueError, match=r"texts\[0\].*surrogate"):
        BagOfWordsTextEncoder(token_pattern=r"\w").transform(["\udc00"])


def test_containers_and_single_strings() -> None:
    enc = BagOfWordsTextEncoder(16)
    assert enc.encode_text("one text").shape == (1, 16)
    assert enc.encode_text(np.array(["a", "b"])).shape == (2, 16)
    assert enc.transform(t for t in ["a", "b", "c"]).shape == (3, 16)
    assert enc.transform([]).shape == (0, 16)
    with pytest.raises(TypeError, match="single str"):
        enc.transform("not a list")
    for bad in [None, b"bytes", 5]:
        with pytest.raises(TypeError, match="sequence of str"):
            enc.transform(bad)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_features": 0}, "n_features"),
        ({"ngram_range": (2, 1)}, "ngram_range"),
        ({"ngram_range": 1}, "ngram_range"),
        ({"weighting": "tf"}, "weighting"),
        ({"unicode_form": "NFX"}, "unicode_form"),
        ({"dtype": np.int32}, "dtype"),
        ({"seed": -1}, "seed"),
        ({"token_pattern": "(a)(b)"}, "token_pattern"),
        ({"token_pattern": "("}, "token_pattern"),
        ({"vocabulary": ["a", "a"]}, "vocabulary"),
        ({"vocabulary": "words"}, "vocabulary"),
        ({"min_df": 2}, "only apply"),
        ({"vocabulary": "learn", "min_df": 1.5}, "min_df"),
        ({"vocabulary": "learn", "max_features": 0}, "max_features"),
    ],
)
def test_bad_parameters_raise_at_first_use(params, match) -> None:
    enc = BagOfWordsTextEncoder(**params)  # storing is always fine
    with pytest.raises(ValueError, match=match):
        enc.fit(["a b"])


def test_bad_parameter_types_raise_type_error() -> None:
    for params in [{"lowercase": 1}, {"token_pattern": 5}, {"vocabulary": [1, 2]}]:
        with pytest.raises(TypeError):
            BagOfWordsTextEncoder(**params).transform(["a"])


def test_pickled_learned_encoder_rebuilds_its_lookup() -> None:
    import pickle

    enc = BagOfWordsTextEncoder(vocabulary="learn", normalize=False).fit(["b a", "c"])
    copy = pickle.loads(pickle.dumps(enc))
    assert "_lookup" not in copy.__dict__
    np.testing.assert_array_equal(copy.transform(["a c c z"]), [[1, 0, 2]])


def test_get_and_set_params_round_trip() -> None:
    enc = BagOfWordsTextEncoder(64, weighting="binary")
    params = enc.get_params()
    assert params["n_features"] == 64 and params["weighting"] == "binary"
    clone = BagOfWordsTextEncoder(**params)
    np.testing.assert_array_equal(clone.transform(["a b"]), enc.transform(["a b"]))
    with pytest.raises(ValueError, match="Invalid parameter"):
        enc.set_params(colour="red")


@requires_sklearn
def test_a_one_megabyte_token_and_a_large_document() -> None:
    token = "ab1é" * (1 << 18)  # 1 MiB of characters, 1.25 MiB of UTF-8
    enc = BagOfWordsTextEncoder(1 << 20, **PARITY)
    X = enc.transform_sparse([token])
    h = murmurhash3_32(token, seed=0)
    assert X.indices.tolist() == [abs(h) % (1 << 20)]
    assert X.data.tolist() == [1.0 if h >= 0 else -1.0]
    rng = np.random.default_rng(3)
    words = np.array(["lorem", "ipsum", "dolor", "中文", "😀ok", "x"])
    doc = " ".join(rng.choice(words, size=200_000))  # about 1 MB
    theirs = HashingVectorizer(n_features=1 << 20, norm=None, ngram_range=(1, 2))
    assert_csr_equal(
        BagOfWordsTextEncoder(1 << 20, ngram_range=(1, 2), **PARITY).transform_sparse([doc]),
        theirs.transform([doc]),
    )


@given(st.text(max_size=30), st.sampled_from(["NFC", "NFD", "NFKC", "NFKD"]))
def test_decomposing_singletons_first_changes_no_normal_form(text, form) -> None:
    decomposed, _ = _tokenize._decompose_singletons(text, form)
    assert unicodedata.normalize(form, decomposed) == unicodedata.normalize(form, text)


def test_singleton_table_covers_every_decomposition() -> None:
    # The table is built over planes 0-2 only; no code point above has a decomposition.
    assert not any(unicodedata.decomposition(chr(c)) for c in range(0x30000, 0x110000))
    table = _tokenize._singleton_table(True)
    assert chr(table[ord("，")]) == "," and chr(table[ord("ｶ")]) == "カ"
    assert table[ord("ﬁ")] == ord("ﬁ")  # two characters: left to unicodedata


def test_empty_learned_vocabulary_is_an_error() -> None:
    with pytest.raises(ValueError, match="empty vocabulary"):
        BagOfWordsTextEncoder(vocabulary="learn").fit(["", "!!"])
    with pytest.raises(ValueError, match="empty vocabulary"):
        BagOfWordsTextEncoder(vocabulary="learn", min_df=3).fit(["a", "a b"])


def test_tfidf_with_an_explicit_vocabulary_and_float32() -> None:
    docs = ["a b", "a", "c"]
    enc = BagOfWordsTextEncoder(
        vocabulary=["a", "b", "z"], weighting="tfidf", normalize=False, dtype=np.float32
    )
    X = enc.fit(docs).transform_sparse(docs)
    n = 4.0  # three texts, smoothed
    idf = np.log(n / (np.array([2, 1, 0]) + 1.0)) + 1.0
    np.testing.assert_array_equal(enc.idf_, idf)
    assert X.dtype == np.float32
    np.testing.assert_array_equal(
        X.toarray(), np.array([[idf[0], idf[1], 0], [idf[0], 0, 0], [0, 0, 0]], np.float32)
    )


@given(
    st.lists(
        st.tuples(st.integers(0, 4), st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False)),
        max_size=40,
    )
)
def test_l2_normalize_sums_squares_left_to_right(entries) -> None:
    entries.sort(key=lambda e: e[0])  # stable: the order within a row is kept
    rows = np.array([r for r, _ in entries], dtype=np.int64)
    values = np.array([v for _, v in entries], dtype=np.float64)
    expected = values.copy()
    for r in range(5):
        total = 0.0
        for v in values[rows == r].tolist():
            total += v * v
        norm = float(np.sqrt(total)) or 1.0
        expected[rows == r] = values[rows == r] / norm
    text_module.l2_normalize(rows, values, 5)
    np.testing.assert_array_equal(values, expected)


def _naive_sums(parts, signed, n_rows):
    sums: dict[tuple[int, int], int] = {}
    for rows, codes in parts:
        for r, c in zip(rows.tolist(), codes.tolist(), strict=True):
            col, sign = (c >> 1, -1 if c & 1 else 1) if signed else (c, 1)
            sums[(r, col)] = sums.get((r, col), 0) + sign
    keys = sorted(sums)
    return [k[0] for k in keys], [k[1] for k in keys], [float(sums[k]) for k in keys]


@pytest.mark.parametrize(
    ("n_rows", "row_sizes", "code_max"),
    [
        (1, [5000], 15),  # dense: one bincount over (row, code)
        (50, [30] * 50, 2**21 - 1),  # short rows: the padded block sort
        (100, [2000] + [0] * 99, 2**21 - 1),  # one long row, wide codes: the key sort
        # Long rows among short ones: the block for the short, the key sort for the long.
        (200, [20] * 100 + [3000] + [20] * 98 + [3000], 2**21 - 1),
        (150, [2500] + [0, 7] * 74 + [1], 2**15 - 1),
        (3, [0, 0, 0], 7),  # nothing at all
    ],
)
@pytest.mark.parametrize("signed", [True, False])
def test_sum_duplicates_every_strategy_matches_a_naive_sum(
    n_rows, row_sizes, code_max, signed
) -> None:
    rng = np.random.default_rng(n_rows)
    parts = []
    for _ in range(2):  # two parts (unigrams, bigrams), each grouped by row
        sizes = rng.integers(0, np.array(row_sizes) + 1)
        rows = np.repeat(np.arange(n_rows, dtype=np.int64), sizes)
        codes = rng.integers(0, min(code_max, 40) + 1, size=rows.size).astype(np.int32)
        parts.append((rows, codes))
    got = text_module._sum_duplicates(parts, signed, code_max, n_rows)
    expected = _naive_sums(parts, signed, n_rows)
    assert [a.tolist() for a in got] == [list(e) for e in expected]


@given(
    st.text(alphabet=st.sampled_from(PIECES), min_size=0, max_size=300),
    st.sampled_from([(1, 1), (1, 2), (2, 3), (1, 4)]),
    st.sampled_from([None, SK_PATTERN]),
    st.sampled_from([None, ["a", "中", "文 字", "b c", "ab"]]),
)
def test_long_texts_cut_into_pieces_count_like_whole_texts(
    monkeypatch_module, text, ngram_range, pattern, vocabulary
) -> None:
    enc = BagOfWordsTextEncoder(
        64,
        ngram_range=ngram_range,
        token_pattern=pattern,
        vocabulary=vocabulary,
        normalize=False,
    )
    whole = enc.transform_sparse([text])
    with monkeypatch_module.context() as patch:
        patch.setattr(text_module, "_CHUNK_CHARS", 7)  # texts over 14 characters get cut
        pieces = enc.transform_sparse([text])
    assert_csr_equal(pieces, whole)


def test_a_long_text_is_a_chunk_of_its_own(monkeypatch) -> None:
    monkeypatch.setattr(text_module, "_CHUNK_CHARS", 10)
    docs = ["a", "b" * 5, "c " * 30, "d", "e" * 3, "f " * 11]
    chunks = text_module.chunk_spans(docs)
    assert (2, 3) in chunks and (5, 6) in chunks
    assert [i for a, b in chunks for i in range(a, b)] == list(range(len(docs)))


# -- scikit-learn's other analyzers: accents, characters, stop words, callables, l1 ------

DATA = __import__("pathlib").Path(__file__).parent / "data"


def english_prose() -> list[str]:
    """Paragraphs of English prose that ships with Python: stdlib module docstrings."""
    import argparse
    import collections
    import functools
    import inspect
    import json
    import textwrap
    import unittest

    paragraphs = []
    for obj in (argparse, collections, functools, inspect, json, textwrap, unittest, re, str):
        paragraphs += [p for p in (obj.__doc__ or "").split("\n\n") if p.strip()]
    return paragraphs


def prose(language: str) -> list[str]:
    """Lines of committed public-domain prose (tests/data/prose_<language>.txt)."""
    text = (DATA / f"prose_{language}.txt").read_text(encoding="utf-8")
    return [line for line in text.split("\n") if line.strip()]


# Each analyzer of scikit-learn with the mmref settings that reproduce it.
ANALYZERS = [
    ({"analyzer": "char", "ngram_range": (1, 2)}, {}),
    ({"analyzer": "char", "ngram_range": (2, 5)}, {}),
    ({"analyzer": "char_wb", "ngram_range": (2, 4)}, {}),
    ({"analyzer": "char_wb", "ngram_range": (1, 1)}, {}),
    ({"analyzer": "char_wb", "ngram_range": (3, 6)}, {}),
    ({"stop_words": "english", "ngram_range": (1, 3)}, {"token_pattern": SK_PATTERN}),
    ({"stop_words": ["bien", "the", "de", "之"]}, {"token_pattern": SK_PATTERN}),
    ({"token_pattern": r"\w+", "stop_words": ["a", "é"]}, {}),
]
ACCENTS = [None, "ascii", "unicode"]


def mmref_twin(settings: dict[str, Any], extra: dict[str, Any], **more: Any) -> Any:
    return BagOfWordsTextEncoder(unicode_form=None, **settings, **extra, **more)


@requires_sklearn
@given(
    documents,
    st.sampled_from(range(len(ANALYZERS))),
    st.sampled_from(ACCENTS),
    st.sampled_from([None, "l1", "l2"]),
)
def test_analyzers_equal_hashing_vectorizer(docs, which, accents, norm) -> None:
    settings, extra = ANALYZERS[which]
    ours = mmref_twin(settings, extra, strip_accents=accents, normalize=norm, n_features=1000)
    theirs = HashingVectorizer(n_features=1000, norm=norm, strip_accents=accents, **settings)
    if docs:
        assert_csr_equal(ours.transform_sparse(docs), theirs.transform(docs))
        analyzer = theirs.build_analyzer()
        assert [ours.tokenize(d) for d in docs] == [analyzer(d) for d in docs]


@requires_sklearn
@pytest.mark.parametrize("language", ["en", "fr", "zh"])
@pytest.mark.parametrize("accents", ACCENTS)
def test_analyzers_equal_sklearn_on_real_prose(language, accents) -> None:
    docs = english_prose() if language == "en" else prose(language)
    assert len(docs) >= 8
    for settings, extra in ANALYZERS:
        for norm in (None, "l1", "l2"):
            ours = mmref_twin(settings, extra, strip_accents=accents, normalize=norm)
            theirs = HashingVectorizer(
                n_features=1024, norm=norm, strip_accents=accents, **settings
            )
            assert_csr_equal(ours.transform_sparse(docs), theirs.transform(docs))
        # Vocabulary mode: the same terms and counts as CountVectorizer.
        learned = mmref_twin(settings, extra, strip_accents=accents, normalize=False)
        counts = learned.set_params(vocabulary="learn").fit_transform(docs)
        vectorizer = CountVectorizer(strip_accents=accents, **settings)
        expected = vectorizer.fit_transform(docs).toarray()
        assert learned.vocabulary_ == vectorizer.vocabulary_
        np.testing.assert_array_equal(counts, expected)


def test_accent_stripping_examples() -> None:
    def terms(accents: str | None, text: str) -> list[str]:
        return BagOfWordsTextEncoder(strip_accents=accents, unicode_form=None).tokenize(text)

    assert terms(None, "C'était très Ǆ") == ["c", "était", "très", "ǆ"]
    assert terms("ascii", "C'était très Ǆ ß") == ["c", "etait", "tres", "dz"]
    # "unicode" keeps base characters that have no ASCII form (ß, ø), drops only marks.
    assert terms("unicode", "C'était très Ǆ ß ø") == ["c", "etait", "tres", "dz", "ß", "ø"]


def test_char_wb_pads_words_and_counts_short_ones_once() -> None:
    enc = BagOfWordsTextEncoder(analyzer="char_wb", ngram_range=(3, 5))
    assert enc.tokenize("a\u3000bc") == [" a ", " bc", "bc ", " bc "]
    assert BagOfWordsTextEncoder(analyzer="char", ngram_range=(2, 2)).tokenize("a \n\tb\nc") == [
        "a ",
        " b",
        "b\n",
        "\nc",
    ]


def test_normalize_spellings() -> None:
    docs = ["a b b c", "", "c"]
    for old, new in [(True, "l2"), (False, None)]:
        a = BagOfWordsTextEncoder(normalize=old).transform(docs)
        b = BagOfWordsTextEncoder(normalize=new).transform(docs)
        np.testing.assert_array_equal(a, b)
    l1 = BagOfWordsTextEncoder(normalize="l1", alternate_sign=False).transform(docs)
    np.testing.assert_allclose(np.abs(l1).sum(axis=1), [1.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="'normalize'"):
        BagOfWordsTextEncoder(normalize="max").transform(docs)


def test_callables_run_per_text_and_errors_name_the_text() -> None:
    seen: list[str] = []

    def tokenizer(text: str) -> list[str]:
        seen.append(text)
        if text == "boom":
            raise KeyError("no")
        return text.split()

    enc = BagOfWordsTextEncoder(tokenizer=tokenizer, lowercase=True, unicode_form=None)
    enc.transform(["A b", "C"])
    assert seen == ["a b", "c"]
    with pytest.raises(ValueError, match=r"'tokenizer' callable.*KeyError.*texts\[2\]") as info:
        enc.transform(["x", "y", "BOOM"])
    assert isinstance(info.value.__cause__, KeyError)
    bad_returns = [
        ({"tokenizer": lambda t: 5}, "'tokenizer'.*iterable of str"),
        ({"tokenizer": lambda t: "a string"}, "'tokenizer'.*iterable of str"),
        ({"analyzer": lambda t: [1]}, "'analyzer'.*item of type int"),
        ({"preprocessor": lambda t: b"x"}, "'preprocessor'.*must return a str"),
    ]
    for params, match in bad_returns:
        with pytest.raises(TypeError, match=match):
            BagOfWordsTextEncoder(**params).transform(["ok", "ok"])
    with pytest.raises(ValueError, match=r"'analyzer' callable.*lone surrogate.*texts\[1\]"):
        BagOfWordsTextEncoder(analyzer=lambda t: [t + "\ud800"] * (t == "b")).transform(["a", "b"])


def test_a_callable_analyzer_replaces_every_other_step() -> None:
    enc = BagOfWordsTextEncoder(analyzer=lambda t: t.split("|"), vocabulary=["Ab", "c d"])
    np.testing.assert_array_equal(
        enc.set_params(normalize=False).transform(["Ab|c d|Ab", "ab"]), [[2, 1], [0, 0]]
    )


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"strip_accents": "latin"}, ValueError, "strip_accents"),
        ({"analyzer": "chars"}, ValueError, "analyzer"),
        ({"stop_words": "french"}, ValueError, "stop_words"),
        ({"stop_words": 3}, ValueError, "stop_words"),
        ({"stop_words": ["a", 1]}, TypeError, "stop_words"),
        ({"stop_words": ["\ud800"]}, ValueError, "stop_words"),
        ({"preprocessor": "lower"}, TypeError, "preprocessor"),
        ({"tokenizer": 1}, TypeError, "tokenizer"),
        ({"analyzer": "char", "stop_words": "english"}, ValueError, "'stop_words'.*char"),
        ({"analyzer": "char_wb", "tokenizer": str.split}, ValueError, "'tokenizer'"),
        ({"analyzer": "char", "token_pattern": r"\w+"}, ValueError, "'token_pattern'"),
        ({"tokenizer": str.split, "token_pattern": r"\w+"}, ValueError, "'token_pattern'"),
        ({"analyzer": str.split, "ngram_range": (1, 2)}, ValueError, "'ngram_range'.*callable"),
        ({"analyzer": str.split, "preprocessor": str.lower}, ValueError, "'preprocessor'"),
        ({"analyzer": str.split, "strip_accents": "ascii"}, ValueError, "'strip_accents'"),
    ],
)
def test_bad_new_parameters_name_the_argument(params, error, match) -> None:
    enc = BagOfWordsTextEncoder(**params)
    with pytest.raises(error, match=match):
        enc.transform(["a b"])


LONG_CASES = [
    ({"analyzer": "char"}, (1, 3)),
    ({"analyzer": "char_wb"}, (2, 4)),
    ({"analyzer": "char", "strip_accents": "unicode"}, (2, 2)),
    ({"stop_words": ["a", "中"]}, (1, 2)),
]


@given(
    st.lists(st.sampled_from([*PIECES, "  ", "\n\n", "\u3000 "]), max_size=200).map("".join),
    st.sampled_from(LONG_CASES),
)
def test_long_texts_in_pieces_for_the_new_analyzers(monkeypatch_module, text, case) -> None:
    settings, ngram_range = case
    enc = BagOfWordsTextEncoder(64, ngram_range=ngram_range, normalize=False, **settings)
    whole = enc.transform_sparse([text])
    with monkeypatch_module.context() as patch:
        patch.setattr(text_module, "_CHUNK_CHARS", 7)
        pieces = enc.transform_sparse([text])
    assert_csr_equal(pieces, whole)


def test_whitespace_and_combining_tables_follow_python() -> None:
    space = _tokenize.whitespace_table()
    combining = _tokenize.combining_table()
    for code in range(0x110000):
        char = chr(code)
        assert space[code] == char.isspace()
        assert combining[code] == (unicodedata.combining(char) != 0)


@requires_sklearn
def test_english_stop_words_are_sklearns() -> None:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    from mmref._stopwords import ENGLISH_STOP_WORDS as ours

    assert ours == ENGLISH_STOP_WORDS


def _split_commas(text: str) -> list[str]:
    return text.split(",")


def sklearn_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """scikit-learn warns about its default token_pattern when something replaces it."""
    word_rule = settings.get("analyzer", "word") == "word" and "tokenizer" not in settings
    return settings if word_rule else {**settings, "token_pattern": None}


CALLABLES = [
    {"tokenizer": str.split, "ngram_range": (1, 2)},
    {"tokenizer": str.split, "stop_words": ["a", "é"], "strip_accents": "unicode"},
    {"preprocessor": str.upper, "analyzer": "char", "ngram_range": (1, 2)},
    {"preprocessor": str.upper, "analyzer": "char_wb", "ngram_range": (2, 3)},
    {"analyzer": _split_commas},
]


@requires_sklearn
@given(documents, st.sampled_from(range(len(CALLABLES))))
def test_callables_equal_hashing_vectorizer(docs, which) -> None:
    settings = CALLABLES[which]
    ours = BagOfWordsTextEncoder(1000, unicode_form=None, normalize=False, **settings)
    theirs = HashingVectorizer(n_features=1000, norm=None, **sklearn_settings(settings))
    if docs:
        assert_csr_equal(ours.transform_sparse(docs), theirs.transform(docs))
    word_rule = BagOfWordsTextEncoder(
        1000, token_pattern=SK_PATTERN, preprocessor=str.upper, stop_words=["THE"]
    )
    sk_rule = HashingVectorizer(n_features=1000, preprocessor=str.upper, stop_words=["THE"])
    if docs:
        assert_csr_equal(word_rule.transform_sparse(docs), sk_rule.transform(docs))


@requires_sklearn
@pytest.mark.parametrize("language", ["en", "fr", "zh"])
def test_callables_equal_sklearn_on_real_prose(language) -> None:
    docs = english_prose() if language == "en" else prose(language)
    for settings in CALLABLES:
        ours = BagOfWordsTextEncoder(unicode_form=None, normalize=False, **settings)
        theirs = HashingVectorizer(n_features=1024, norm=None, **sklearn_settings(settings))
        assert_csr_equal(ours.transform_sparse(docs), theirs.transform(docs))
        learned = BagOfWordsTextEncoder(
            vocabulary="learn", unicode_form=None, normalize=False, **settings
        )
        counts = learned.fit_transform(docs)
        vectorizer = CountVectorizer(**sklearn_settings(settings))
        np.testing.assert_array_equal(counts, vectorizer.fit_transform(docs).toarray())
        assert learned.vocabulary_ == vectorizer.vocabulary_
