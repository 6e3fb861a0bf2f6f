"""The counting engine at its real sizes, against scikit-learn (mmref/_text_counts.py).

Written to kill the mutants tools/mutation.py finds in mmref/_text_counts.py. The other
text tests shrink the chunk size to reach the chunked paths with small inputs; these
check, with the sizes a user meets, that a batch cut into chunks of whole texts and a
text longer than two chunks cut into pieces are counted exactly as scikit-learn counts
them whole (word, character and word-bounded character n-grams, stop words, a
vocabulary, hashing with and without alternate signs), and that learning a vocabulary
over several chunks keeps the documented document frequencies.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mmref.text import BagOfWordsTextEncoder

sk_text = pytest.importorskip("sklearn.feature_extraction.text")

SK_PATTERN = r"(?u)\b\w\w+\b"
PARITY = {"token_pattern": SK_PATTERN, "unicode_form": None, "normalize": False}
# Latin with accents, a German sharp s, CJK, digits, underscores and stop words.
VOCABULARY = (
    "the a of lorem ipsum dolor sit amet café naïve Über straße 東京 data 42 x_y "
    "it is and or not be to"
)
WORDS = np.array(VOCABULARY.split())


def _prose(n_words: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    seps = np.array([" ", " ", " ", ", ", ". ", "\n", "  ", "!\t"])
    words = rng.choice(WORDS, size=n_words)
    gaps = rng.choice(seps, size=n_words)
    return "".join(w + g for w, g in zip(words.tolist(), gaps.tolist(), strict=True))


def _assert_csr_equal(ours: Any, theirs: Any) -> None:
    theirs = theirs.copy()
    theirs.sort_indices()
    assert ours.shape == theirs.shape
    np.testing.assert_array_equal(ours.indptr, theirs.indptr)
    np.testing.assert_array_equal(ours.indices, theirs.indices)
    np.testing.assert_array_equal(ours.data, theirs.data)  # explicit zeros included


@pytest.fixture(scope="module")
def long_text() -> str:
    return _prose(60_000, seed=1)  # about 283,000 characters: longer than two chunks


@pytest.fixture(scope="module")
def many_texts() -> list[str]:
    # About 230,000 characters in 3,000 texts: several chunks of whole texts.
    return [_prose(int(n), seed=i) for i, n in enumerate(np.arange(3000) % 23 + 1)]


CASES = [
    {"ngram_range": (1, 1)},
    {"ngram_range": (1, 3)},
    {"ngram_range": (2, 2), "stop_words": "english"},
    {"ngram_range": (2, 4), "analyzer": "char"},
    {"ngram_range": (1, 3), "analyzer": "char_wb"},
    {"ngram_range": (1, 2), "strip_accents": "unicode"},
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("alternate_sign", [True, False])
def test_a_long_text_is_hashed_as_scikit_learn_hashes_it_whole(
    long_text: str, case: dict[str, Any], alternate_sign: bool
) -> None:
    params = dict(case)
    if params.get("analyzer", "word") != "word":
        params["token_pattern"] = None
    ours = BagOfWordsTextEncoder(
        2**18, alternate_sign=alternate_sign, **{**PARITY, **params}
    ).transform_sparse(["short one", long_text, "and another"])
    theirs = sk_text.HashingVectorizer(
        n_features=2**18, norm=None, alternate_sign=alternate_sign, **case
    ).transform(["short one", long_text, "and another"])
    _assert_csr_equal(ours, theirs)


@pytest.mark.parametrize("n_features", [7, 1000, 2**20])
def test_a_batch_of_many_chunks_is_hashed_as_scikit_learn_hashes_it(
    many_texts: list[str], n_features: int
) -> None:
    ours = BagOfWordsTextEncoder(n_features, ngram_range=(1, 2), **PARITY)
    theirs = sk_text.HashingVectorizer(n_features=n_features, norm=None, ngram_range=(1, 2))
    _assert_csr_equal(ours.transform_sparse(many_texts), theirs.transform(many_texts))


@pytest.mark.parametrize("case", CASES)
def test_a_vocabulary_counts_long_texts_and_many_chunks_as_count_vectorizer(
    long_text: str, many_texts: list[str], case: dict[str, Any]
) -> None:
    params = dict(case)
    if params.get("analyzer", "word") != "word":
        params["token_pattern"] = None
    texts = [*many_texts[:300], long_text, *many_texts[300:600]]
    counter = sk_text.CountVectorizer(**case).fit(texts)
    vocabulary = sorted(counter.vocabulary_, key=counter.vocabulary_.__getitem__)
    ours = BagOfWordsTextEncoder(vocabulary=vocabulary, **{**PARITY, **params})
    _assert_csr_equal(ours.transform_sparse(texts), counter.transform(texts))


@pytest.mark.parametrize(
    ("min_df", "max_features"), [(1, None), (3, None), (0.01, None), (0.2, 40), (1, 7)]
)
def test_learning_over_many_chunks_keeps_count_vectorizers_terms(
    many_texts: list[str], min_df: float, max_features: int | None
) -> None:
    texts = many_texts[:2500]
    counter = sk_text.CountVectorizer(
        min_df=min_df, max_features=max_features, ngram_range=(1, 2)
    ).fit(texts)
    ours = BagOfWordsTextEncoder(
        vocabulary="learn", min_df=min_df, max_features=max_features, ngram_range=(1, 2), **PARITY
    ).fit(texts)
    assert ours.vocabulary_ == counter.vocabulary_
    _assert_csr_equal(ours.transform_sparse(texts), counter.transform(texts))


def test_tfidf_idf_counts_documents_across_chunks(many_texts: list[str]) -> None:
    texts = many_texts[:2500]
    theirs = sk_text.TfidfVectorizer(norm=None).fit(texts)
    ours = BagOfWordsTextEncoder(vocabulary="learn", weighting="tfidf", **PARITY).fit(texts)
    assert ours.vocabulary_ == theirs.vocabulary_
    np.testing.assert_allclose(ours.idf_, theirs.idf_, rtol=1e-15)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        (
            {"preprocessor": lambda t: t if t == "ok" else b"x"},
            r"must return a str\. On texts\[1\] it returned bytes\.",
        ),
        (
            {"preprocessor": lambda t: t if t == "ok" else None},
            r"must return a str\. On texts\[1\] it returned NoneType",
        ),
        ({"tokenizer": lambda t: 5}, r"iterable of str\. On texts\[0\] it returned int\."),
        ({"tokenizer": lambda t: "ab"}, r"iterable of str\. On texts\[0\] it returned str\."),
        ({"analyzer": lambda t: [1]}, r"On texts\[0\] it returned an item of type int\."),
    ],
)
def test_a_callable_of_the_wrong_type_is_named_with_what_it_returned(
    params: dict[str, Any], match: str
) -> None:
    first = "ok" if "preprocessor" in params else "bad"
    with pytest.raises(TypeError, match=match):
        BagOfWordsTextEncoder(**params).transform([first, "bad"])


@pytest.mark.parametrize(
    ("strip_accents", "lowercase"), [("unicode", True), ("ascii", True), (None, False)]
)
@pytest.mark.parametrize("analyzer", ["char", "char_wb"])
def test_a_long_text_is_preprocessed_for_character_ngrams_as_scikit_learn(
    long_text: str, strip_accents: str | None, lowercase: bool, analyzer: str
) -> None:
    params: dict[str, Any] = {
        "ngram_range": (1, 2),
        "analyzer": analyzer,
        "strip_accents": strip_accents,
        "lowercase": lowercase,
    }
    ours = BagOfWordsTextEncoder(2**18, **{**PARITY, "token_pattern": None, **params})
    theirs = sk_text.HashingVectorizer(n_features=2**18, norm=None, **params)
    texts = ["short one", long_text, "and another"]
    _assert_csr_equal(ours.transform_sparse(texts), theirs.transform(texts))


# --- The paths a long text takes, the column codes' integer types, the first entry of
# a batch, cancelled rows, and the documented memory of a long text.

LONG = 2 * 2**17 + 1000  # longer than two chunks of about 130,000 characters


def _sk_hashing(**params: Any) -> Any:
    return sk_text.HashingVectorizer(norm=params.pop("norm", None), **params)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ({"token_pattern": r"(?u)\b\w+\b"}, {"token_pattern": r"(?u)\b\w+\b"}),
        ({"lowercase": False}, {"lowercase": False}),
        ({"preprocessor": str.swapcase}, {"preprocessor": str.swapcase}),
        (
            {"tokenizer": str.split, "token_pattern": None},
            {"tokenizer": str.split, "token_pattern": None},
        ),
        ({"analyzer": str.split, "token_pattern": None}, {"analyzer": str.split}),
    ],
    ids=["token_pattern", "lowercase", "preprocessor", "tokenizer", "analyzer"],
)
def test_a_long_text_keeps_the_regex_and_callables_as_scikit_learn(
    long_text: str, ours: dict[str, Any], theirs: dict[str, Any]
) -> None:
    # A custom token_pattern, a callable or lowercase=False must reach a text longer
    # than two chunks exactly as it reaches a short one.
    texts = ["Short One", long_text.replace("lorem", "Lorem"), "and Another"]
    encoder = BagOfWordsTextEncoder(2**18, **{**PARITY, "ngram_range": (1, 2), **ours})
    if "analyzer" in ours:
        encoder.set_params(ngram_range=(1, 1))
    expected = _sk_hashing(
        n_features=2**18, ngram_range=(1, 1) if "analyzer" in ours else (1, 2), **theirs
    )
    _assert_csr_equal(encoder.transform_sparse(texts), expected.transform(texts))


def test_n_grams_across_pieces_of_a_long_text_made_of_very_long_words() -> None:
    # Pieces are cut between tokens; a piece holding fewer tokens than an n-gram spans
    # must still pass all of them on to the next piece.
    texts = ["aa " + "x" * 200_000 + " " + "y" * 200_000 + " cc " + "z" * 150_000 + " dd"]
    ours = BagOfWordsTextEncoder(2**18, ngram_range=(1, 3), **PARITY)
    theirs = _sk_hashing(n_features=2**18, ngram_range=(1, 3))
    _assert_csr_equal(ours.transform_sparse(texts), theirs.transform(texts))


@pytest.mark.parametrize("analyzer", ["word", "char", "char_wb"])
def test_a_lone_surrogate_in_a_long_text_is_named_by_its_index(analyzer: str) -> None:
    text = "word " * (LONG // 5) + "\ud800 end"
    params: dict[str, Any] = {"analyzer": analyzer}
    if analyzer != "word":
        params["token_pattern"] = None
    encoder = BagOfWordsTextEncoder(**params)
    with pytest.raises(
        ValueError,
        match=rf"^texts\[1\] contains a lone surrogate \(U\+D800 at position {LONG // 5 * 5}\)",
    ):
        encoder.transform(["ok", text, "ok"])


@pytest.mark.parametrize("analyzer", ["word", "char", "char_wb"])
def test_a_long_text_that_normalizes_to_nothing_is_an_empty_row(analyzer: str) -> None:
    texts = ["aa bb", "\u0301" * LONG, "cc dd"]  # only combining accents: stripped whole
    params: dict[str, Any] = {"analyzer": analyzer, "strip_accents": "unicode"}
    ours = BagOfWordsTextEncoder(64, **{**PARITY, **params, "token_pattern": None})
    if analyzer == "word":
        ours.set_params(token_pattern=SK_PATTERN)
    theirs = _sk_hashing(n_features=64, **params)
    result = ours.transform_sparse(texts)
    _assert_csr_equal(result, theirs.transform(texts))
    assert result.indptr[2] == result.indptr[1]


def _term_in(column: int, width: int, negative: bool | None) -> str:
    """A word token that scikit-learn's FeatureHasher puts in ``column`` (with that sign)."""
    from sklearn.utils import murmurhash3_32

    for i in range(10**6):
        term = f"w{i}"
        h = murmurhash3_32(term, seed=0)
        if abs(h) % width == column and (negative is None or (h < 0) == negative):
            return term
    raise AssertionError("no such term")  # pragma: no cover


@pytest.mark.parametrize(
    ("width", "alternate_sign", "column", "negative"),
    [
        (2**14, True, 2**14 - 1, True),  # the largest code of a signed width 2**14: 2**15 - 1
        (2**15, False, 2**15 - 1, None),  # the largest column of 2**15
        (2**15 + 1, False, 2**15, None),  # a column just past 16 bits
        (20_000, True, 19_999, False),
        (2**30, True, 2**30 - 1, True),  # the largest code of a signed width 2**30: 2**31 - 1
        (2**31 - 1, True, None, None),  # columns beyond 2**30 with signs: codes beyond 32 bits
        (2**31 - 1, False, None, None),
    ],
)
def test_the_largest_columns_of_a_width_are_counted(
    width: int, alternate_sign: bool, column: int | None, negative: bool | None
) -> None:
    words = ["aa", "bb", "w1", "w2", "w3", "w4", "w5", "w6", "w7"]
    if width == 2**30:
        # Two of the 2**32 hashes reach that code: -(2**30 - 1) and -(2**31 - 1). These
        # words were found by inverting MurmurHash3; scikit-learn's hash is checked below.
        words += ["aeacedy4", "abxnxwpw"]
    elif column is not None:
        words.append(_term_in(column, width, negative))
    texts = [" ".join(words), " ".join(words[::-1] * 2), "zz " + words[-1]]
    ours = BagOfWordsTextEncoder(width, alternate_sign=alternate_sign, **PARITY)
    theirs = _sk_hashing(n_features=width, alternate_sign=alternate_sign)
    expected = theirs.transform(texts)
    if column is not None:
        assert expected[0, column] != 0  # the column is reached
    _assert_csr_equal(ours.transform_sparse(texts), expected)


def test_the_last_term_of_a_vocabulary_of_2_to_the_15_terms_is_counted() -> None:
    vocabulary = [f"t{i:05d}" for i in range(2**15)]
    texts = ["t32767 t00000 t32767", "t16384 t32767", "nothing here"]
    ours = BagOfWordsTextEncoder(vocabulary=vocabulary, **PARITY).transform_sparse(texts)
    theirs = sk_text.CountVectorizer(vocabulary=vocabulary).transform(texts)
    _assert_csr_equal(ours, theirs)
    assert ours[0, 2**15 - 1] == 2


@pytest.mark.parametrize(
    "texts",
    [
        ["aa aa", "bb"],  # dense: few columns
        ["zz zz qq", "bb cc dd ee"],  # a padded block of short rows
        ["zz zz", *(["bb"] * 1500), " ".join(["cc", "dd", "ee"] * 2000)],  # a long row
    ],
    ids=["dense", "block", "long-row"],
)
@pytest.mark.parametrize("width", [4, 2**20])
@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ({}, {}),
        ({"normalize": "l2"}, {"norm": "l2"}),
        (
            {"weighting": "binary", "alternate_sign": False},
            {"binary": True, "alternate_sign": False},
        ),
    ],
    ids=["counts", "l2", "binary"],
)
def test_a_term_repeated_at_the_start_of_the_first_text_is_one_entry(
    texts: list[str], width: int, ours: dict[str, Any], theirs: dict[str, Any]
) -> None:
    # One entry of count 2, not two of count 1: the norm and the binary weight differ.
    encoder = BagOfWordsTextEncoder(width, **{**PARITY, **ours})
    expected = _sk_hashing(n_features=width, **theirs).transform(texts)
    _assert_csr_equal(encoder.transform_sparse(texts), expected)


@pytest.mark.parametrize("norm", ["l1", "l2"])
def test_a_row_whose_signs_cancel_stays_zero_when_normalized(norm: str) -> None:
    plus, minus = _term_in(0, 1, False), _term_in(0, 1, True)
    texts = [f"{plus} {minus}", f"{plus} {plus} {minus}", f"{minus}"]
    ours = BagOfWordsTextEncoder(1, **{**PARITY, "normalize": norm}).transform_sparse(texts)
    theirs = _sk_hashing(n_features=1, norm=norm).transform(texts)
    _assert_csr_equal(ours, theirs)
    assert ours.data.tolist() == [0.0, 1.0, -1.0]


@pytest.mark.parametrize(
    ("ngram_range", "expected"),
    [
        ((1, 1), {"again": 0, "hello": 1, "world": 2}),
        ((2, 2), {"hello world": 0, "world again": 1}),
    ],
)
def test_learning_goes_on_after_a_chunk_without_terms(
    ngram_range: tuple[int, int], expected: dict[str, int]
) -> None:
    texts = ["!" * LONG, "hello world", "world again"]  # the long text is a chunk of its own
    counter = sk_text.CountVectorizer(ngram_range=ngram_range).fit(texts)
    ours = BagOfWordsTextEncoder(vocabulary="learn", ngram_range=ngram_range, **PARITY)
    assert ours.fit(texts).vocabulary_ == counter.vocabulary_ == expected


def test_a_callable_that_fails_is_named_with_the_index_of_its_text() -> None:
    def analyzer(text: str) -> list[str]:
        if text == "bad":
            raise KeyError("boom")
        return text.split()

    with pytest.raises(
        ValueError,
        match=r"^The 'analyzer' callable of BagOfWordsTextEncoder raised KeyError on texts\[1\]",
    ):
        BagOfWordsTextEncoder(analyzer=analyzer).transform(["ok", "bad"])
    with pytest.raises(
        ValueError,
        match=r"^The 'tokenizer' callable of BagOfWordsTextEncoder returned a lone surrogate "
        r"for texts\[1\]; expected valid Unicode text\.",
    ):
        BagOfWordsTextEncoder(tokenizer=lambda t: [t, "\ud800"] if t == "bad" else [t]).transform(
            ["ok", "bad"]
        )


@pytest.mark.parametrize("analyzer", ["word", "char"])
def test_a_long_text_costs_the_documented_memory(analyzer: str) -> None:
    # The docstring's bound: a long text is tokenized in pieces of about 130,000
    # characters; besides its normalized copy (about 8 bytes per character) only a piece
    # is held at a time (with the pieces' own cost, about 2 bytes per character here for
    # words, 11 for characters). Tokenizing the text whole costs 30 to 130.
    long_text = _prose(600_000, seed=5)  # about 2,800,000 characters: 21 pieces
    params: dict[str, Any] = {"analyzer": analyzer, "ngram_range": (1, 2)}
    params["token_pattern"] = SK_PATTERN if analyzer == "word" else None
    encoder = BagOfWordsTextEncoder(2**18, **{**PARITY, **params})
    encoder.transform_sparse(["warm up"])
    result, peak = _peak_memory(lambda: encoder.transform_sparse(["a b", long_text, "c d"]))
    assert result.shape == (3, 2**18)
    assert peak < 16 * len(long_text)


def test_a_batch_of_short_texts_costs_the_documented_memory() -> None:
    # The docstring's bound: the batch is worked through in chunks of about 130,000
    # characters, each needing about 35 bytes per character with bigrams besides the
    # output (whose parts are joined once at the end). Counting the batch as one chunk
    # costs about 30 bytes per character of the whole batch.
    texts = [_prose(int(n), seed=i) for i, n in enumerate(np.arange(20_000) % 50 + 1)]
    encoder = BagOfWordsTextEncoder(2**18, ngram_range=(1, 2), **PARITY)
    encoder.transform_sparse(["warm up"])
    result, peak = _peak_memory(lambda: encoder.transform_sparse(texts))
    output = result.data.nbytes + result.indices.nbytes + result.indptr.nbytes
    assert sum(map(len, texts)) > 2_000_000  # about 18 chunks
    assert peak < 2 * output + 2 * 35 * 2**17


def test_a_long_row_among_many_short_ones_costs_the_documented_memory() -> None:
    # One chunk (about 61,000 characters) of 5,000 one-word texts and one text of 17,000
    # words costs less than the docstring's bound for a whole chunk (about 130,000
    # characters at 35 bytes each with bigrams); it takes about 3 MB. Padding every row to
    # the longest one (34,000 uni- and bigrams) would cost 5,000 x 34,000 codes.
    texts = ["aa"] * 5000 + [" ".join(["bb", "cc", "dd", "ee"] * 4250)]
    encoder = BagOfWordsTextEncoder(2**18, ngram_range=(1, 2), **PARITY)
    encoder.transform_sparse(["warm up"])
    result, peak = _peak_memory(lambda: encoder.transform_sparse(texts))
    expected = _sk_hashing(n_features=2**18, ngram_range=(1, 2)).transform(texts)
    _assert_csr_equal(result, expected)
    assert peak < 35 * 2**17


def _peak_memory(call: Any) -> tuple[Any, int]:
    """``call()``'s result and the peak of the memory it allocated (tracemalloc)."""
    import tracemalloc

    tracemalloc.start()
    try:
        result = call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak
