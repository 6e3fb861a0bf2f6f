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
