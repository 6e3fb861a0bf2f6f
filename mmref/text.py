"""Bag-of-words text encoder: Unicode- and CJK-aware, hashed or with a vocabulary.

:class:`BagOfWordsTextEncoder` turns each text into a row of term weights.

**Terms.** The text is preprocessed: normalized (``unicode_form``, NFKC by
default), lowercased and, with ``strip_accents``, NFKD-decomposed and stripped
of its non-ASCII (``"ascii"``) or combining (``"unicode"``) characters; a
callable ``preprocessor`` replaces these steps. With ``analyzer="word"`` the
tokens are the maximal runs of word characters (Python's ``\\w``:
``str.isalnum()`` or ``"_"``), except that every CJK character (Han,
Hiragana, Katakana) is a token by itself (or the matches of
``token_pattern``, or the output of a callable ``tokenizer``); tokens in
``stop_words`` are dropped, and the terms are the n-grams of the remaining
tokens for ``n`` in ``ngram_range``, joined with one space. With ``"char"``
and ``"char_wb"`` the terms are character n-grams (of the whole text, or of
each whitespace-separated word padded with one space on both sides), as in
scikit-learn. A callable ``analyzer`` returns the terms itself.

**Columns.** In hashing mode (``vocabulary=None``) a term ``t`` goes to column
``|h| mod n_features`` with sign ``+1 if h >= 0 else -1``, where ``h`` is the
signed 32-bit MurmurHash3_x86_32 of the UTF-8 bytes of ``t`` -- exactly
scikit-learn's ``HashingVectorizer``. In vocabulary mode column ``j`` counts
the ``j``-th vocabulary term and other terms are ignored.

**Weights.** With ``v`` the signed count of a (row, column) pair: ``count``
gives ``v``, ``binary`` ``sign(v)``, ``log`` ``sign(v) (1 + ln |v|)`` and
``tfidf`` ``v idf_j`` with scikit-learn's smoothed
``idf_j = ln((1 + n) / (1 + df_j)) + 1`` over the ``n`` fitted texts. With
``normalize`` each row is divided by its Euclidean norm (``"l2"``, the
default) or by the sum of its absolute values (``"l1"``); rows of zeros stay
zero.

SPEC.md ("Text encoder") defines every step bit for bit.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from ._atomic import keep_caches, publish, snapshot
from ._base import ParamsMixin, TransformerMixin
from ._frames import FeatureNamesMixin, one_column
from ._stopwords import STOP_LISTS
from ._text_counts import (
    chunk_counts,
    chunk_spans,
    l1_normalize,
    l2_normalize,
    learn_vocabulary,
    term_spans,
)
from ._tokenize import SKLEARN_TOKEN_PATTERN, TermLookup
from ._typing import AccentStrip, Analyzer, FloatDTypeLike, Norm, NormalForm, Weighting
from ._validation import (
    check_bool_param,
    check_fitted,
    check_int_param,
    check_option,
    describe,
    param_error,
)
from .exceptions import NotFittedError

__all__ = ["BagOfWordsTextEncoder"]

_OWNER = "BagOfWordsTextEncoder"
_FORMS = (None, "NFC", "NFKC", "NFD", "NFKD")
_WEIGHTINGS = ("count", "binary", "log", "tfidf")
_ACCENTS = (None, "ascii", "unicode")
_ANALYZERS = ("word", "char", "char_wb")


class BagOfWordsTextEncoder(FeatureNamesMixin, ParamsMixin, TransformerMixin):
    """Encode texts as bags of words (n-grams): hashed, or counted against a vocabulary.

    Parameters
    ----------
    n_features : int, default=1024
        Number of columns in hashing mode, in ``[1, 2**31 - 1]``. Unused when
        there is a vocabulary.
    vocabulary : None, "learn" or sequence of str, default=None
        ``None``: hashing mode, nothing to fit. ``"learn"``: ``fit`` collects
        the vocabulary (``min_df``, ``max_features``). A sequence: its terms,
        in order, are the columns; terms are compared with the normalized,
        lowercased n-grams byte for byte.
    ngram_range : tuple (min_n, max_n), default=(1, 1)
        Count the n-grams for ``min_n <= n <= max_n``, ``1 <= min_n <= max_n``.
    token_pattern : str or None, default=None
        ``None``: mmref's rule (runs of word characters, CJK characters
        alone). A regular expression: the tokens are ``re.findall`` of it (the
        text of its one group, if it has one). scikit-learn's default
        ``r"(?u)\\b\\w\\w+\\b"`` takes the fast vectorized path; other
        patterns run ``re`` document by document.
    unicode_form : {"NFKC", "NFC", "NFD", "NFKD"} or None, default="NFKC"
        Unicode normalization applied first; ``None`` skips it.
    lowercase : bool, default=True
        Apply ``str.lower`` after normalization.
    weighting : {"count", "binary", "log", "tfidf"}, default="count"
        Term weighting (see Notes); ``"tfidf"`` needs ``fit``.
    alternate_sign : bool, default=True
        Hashing mode: give each term the sign of its hash, so that collisions
        cancel in expectation. Ignored with a vocabulary.
    normalize : {"l2", "l1"}, bool or None, default=True
        Row normalization, as scikit-learn's ``norm``: ``"l2"`` (or ``True``)
        divides every row by its Euclidean norm, ``"l1"`` by the sum of its
        absolute values; ``None`` (or ``False``) leaves the rows as they are.
    seed : int, default=0
        MurmurHash3 seed in ``[0, 2**32 - 1]`` (hashing mode).
    dtype : {np.float64, np.float32}, default=np.float64
        Output dtype; all arithmetic is done in float64, then rounded once.
    min_df : int or float, default=1
        ``vocabulary="learn"``: keep terms found in at least ``min_df``
        texts (an int), or in at least that fraction of them (a float in
        ``[0, 1]``).
    max_features : int or None, default=None
        ``vocabulary="learn"``: keep only the terms with the largest total
        counts, ties going to the earlier term in code point order.
    strip_accents : {"ascii", "unicode"} or None, default=None
        After lowercasing, decompose the text (NFKD) and drop its non-ASCII
        characters (``"ascii"``) or its combining characters
        (``"unicode"``), as scikit-learn's ``strip_accents_ascii`` and
        ``strip_accents_unicode`` do. Vectorized.
    analyzer : {"word", "char", "char_wb"} or callable, default="word"
        ``"word"``: word n-grams. ``"char"``: character n-grams of the
        preprocessed text, after every run of two or more whitespace
        characters became one space. ``"char_wb"``: character n-grams of each
        whitespace-separated word padded with one space on both sides (a
        padded word shorter than ``min_n`` is one term). Both are vectorized.
        A callable takes each raw text and returns its terms (an iterable of
        str), replacing every other step (``unicode_form``, ``lowercase`` and
        the others are not applied); it runs once per text, in Python.
    stop_words : "english", sequence of str or None, default=None
        ``analyzer="word"``: tokens (after preprocessing) equal to one of these
        words are dropped before the n-grams are formed. ``"english"`` is
        scikit-learn's list of 318 words (SPEC.md lists it).
    preprocessor : callable or None, default=None
        Takes each raw text and returns a str, replacing normalization,
        lowercasing and accent stripping (as in scikit-learn). It runs once per
        text, in Python.
    tokenizer : callable or None, default=None
        ``analyzer="word"``: takes each preprocessed text and returns its
        tokens (an iterable of str), instead of the word rule or
        ``token_pattern``. It runs once per text, in Python.

    Attributes
    ----------
    vocabulary_ : dict of str to int
        Term to column, after ``fit`` with a vocabulary.
    idf_ : ndarray of shape (n_columns,)
        Inverse document frequencies, after ``fit`` with ``weighting="tfidf"``.
    n_features_out_ : int
        Number of columns of the output, after ``fit``.

    Notes
    -----
    ``v`` is the signed count of a (text, column) pair: the number of the
    text's terms that go to the column, each counted with its sign in hashing
    mode. ``count``: ``v``; ``binary``: ``sign(v)``; ``log``:
    ``sign(v) (1 + ln |v|)`` (0 for 0); ``tfidf``: ``v idf_j``. A pair that at
    least one term reaches is stored in ``transform_sparse`` even when its
    signs cancel to 0, as scikit-learn stores it.

    With ``token_pattern=r"(?u)\\b\\w\\w+\\b"`` (for ``analyzer="word"``
    without a ``tokenizer``), ``unicode_form=None`` and the other parameters as
    in scikit-learn (``normalize`` for ``norm``), ``transform_sparse`` equals
    ``sklearn.feature_extraction.text.HashingVectorizer(n_features=n_features,
    norm=norm, ngram_range=ngram_range, strip_accents=..., analyzer=...,
    stop_words=..., preprocessor=..., tokenizer=...).transform`` exactly, and
    in vocabulary mode ``CountVectorizer`` gives the same counts.

    Parameters that the analyzer would ignore are refused with a ValueError
    (scikit-learn warns instead): ``tokenizer``, ``stop_words`` and
    ``token_pattern`` unless ``analyzer="word"``, ``token_pattern`` with a
    ``tokenizer``, and ``preprocessor``, ``strip_accents`` and a
    ``ngram_range`` other than ``(1, 1)`` with a callable ``analyzer``. A
    callable that raises is reported as a ValueError naming it and the index
    of the text (the original exception is its ``__cause__``); one that
    returns the wrong type, as a TypeError.

    Memory: a call works through chunks of about 130,000 characters of whole
    texts; a text longer than two chunks is tokenized in pieces of that size,
    cut between tokens. Besides the output, a chunk or piece needs about 20
    bytes per character of English text (35 with bigrams) and about 80 bytes
    per character of CJK text (150 with bigrams); a long text adds about 8
    bytes per character for its normalized copy. (Custom ``token_pattern``
    regexes and ``fit`` with ``vocabulary="learn"`` take long texts whole.)
    ``transform`` returns ``n_texts * n_columns`` values; ``transform_sparse``
    12 bytes per stored entry.

    Examples
    --------
    >>> from mmref.text import BagOfWordsTextEncoder
    >>> encoder = BagOfWordsTextEncoder(n_features=8, normalize=False)
    >>> encoder.tokenize("Ｔｏｋｙｏ is 東京!")
    ['tokyo', 'is', '東', '京']
    >>> encoder.encode_text(["a cat", "a cat and a cat"]).shape
    (2, 8)
    >>> vocab = BagOfWordsTextEncoder(vocabulary=["cat", "dog"], normalize=False)
    >>> vocab.transform(["Cat, dog, CAT!"])
    array([[2., 1.]])
    """

    # The term lookup of a learned vocabulary is rebuilt from ``vocabulary_`` on demand.
    _mmref_regenerable_ = ("_lookup",)
    _mmref_input_tags_: ClassVar[dict[str, Any]] = {"string": True, "two_d_array": False}

    # Set by fit, all at once (see mmref._atomic).
    vocabulary_: dict[str, int]
    idf_: npt.NDArray[np.float64]
    n_features_out_: int

    def __init__(
        self,
        n_features: int = 1024,
        *,
        vocabulary: str | Sequence[str] | None = None,
        ngram_range: tuple[int, int] = (1, 1),
        token_pattern: str | None = None,
        unicode_form: NormalForm | None = "NFKC",
        lowercase: bool = True,
        weighting: Weighting = "count",
        alternate_sign: bool = True,
        normalize: bool | Norm | None = True,
        seed: int = 0,
        dtype: FloatDTypeLike = np.float64,
        min_df: float = 1,
        max_features: int | None = None,
        strip_accents: AccentStrip | None = None,
        analyzer: Analyzer | Callable[[str], Iterable[str]] = "word",
        stop_words: str | Sequence[str] | None = None,
        preprocessor: Callable[[str], str] | None = None,
        tokenizer: Callable[[str], Iterable[str]] | None = None,
    ) -> None:
        self.n_features = n_features
        self.vocabulary = vocabulary
        self.ngram_range = ngram_range
        self.token_pattern = token_pattern
        self.unicode_form = unicode_form
        self.lowercase = lowercase
        self.weighting = weighting
        self.alternate_sign = alternate_sign
        self.normalize = normalize
        self.seed = seed
        self.dtype = dtype
        self.min_df = min_df
        self.max_features = max_features
        self.strip_accents = strip_accents
        self.analyzer = analyzer
        self.stop_words = stop_words
        self.preprocessor = preprocessor
        self.tokenizer = tokenizer

    def _mmref_requires_fit(self) -> bool:
        # Hashing with "count" / "binary" / "log" weighting works unfitted (as
        # HashingVectorizer); a learned vocabulary and tf-idf weights come from fit.
        learn = isinstance(self.vocabulary, str) and self.vocabulary == "learn"
        return learn or self.weighting == "tfidf"

    # -- public API -----------------------------------------------------------------------

    def fit(self, texts: Iterable[str], y: object = None) -> BagOfWordsTextEncoder:
        """Learn what the configuration needs: the vocabulary and/or the idf weights.

        Parameters
        ----------
        texts : sequence of str of length n_texts
            The training texts.
        y : None
            Ignored.

        Returns
        -------
        self : BagOfWordsTextEncoder

        Notes
        -----
        Learning a vocabulary keeps one Python entry per distinct term (about
        150 bytes each); everything else is chunked like ``transform``.
        """
        cfg = self._params()
        docs = _as_texts(texts, "fit")
        lookup = None
        if cfg.vocabulary == "learn":
            terms, df = learn_vocabulary(docs, cfg)
            if not terms:
                raise ValueError(
                    f"{_OWNER}.fit learned an empty vocabulary from {len(docs)} text(s): no "
                    f"term was found (in at least min_df={describe(cfg.min_df)} texts)."
                )
            lookup = TermLookup(terms)
        elif cfg.vocabulary is not None:
            lookup = TermLookup(cfg.vocabulary)
        # Computed into `state`, then published in one step: a transform running meanwhile
        # uses the old fitted state or the new one, never a mix or none.
        state: dict[str, Any] = {}
        if lookup is not None:
            state["vocabulary_"] = {term: i for i, term in enumerate(lookup.terms)}
        width = len(lookup.terms) if lookup is not None else cfg.n_features
        if cfg.weighting == "tfidf":
            if cfg.vocabulary != "learn":
                df = np.zeros(width, dtype=np.int64)
                for span in chunk_spans(docs):
                    _, cols, _ = chunk_counts(docs, span, cfg, lookup, width)
                    df += np.bincount(cols, minlength=width)
            n = float(len(docs) + 1)
            state["idf_"] = np.log(n / (df.astype(np.float64) + 1.0)) + 1.0
        if cfg.vocabulary == "learn":
            state["_lookup"] = lookup
        state["n_features_out_"] = width
        publish(self, state, drop=("vocabulary_", "idf_", "_lookup", "n_features_out_"))
        return self

    def fit_transform(self, texts: Iterable[str], y: object = None) -> npt.NDArray[np.floating]:
        """Fit, then transform the same texts (read once, so any iterable works).

        Parameters
        ----------
        texts : sequence of str of length n_texts
            The training texts.
        y : None
            Ignored.

        Returns
        -------
        X : ndarray of shape (n_texts, n_columns)
            ``self.fit(texts).transform(texts)``.
        """
        docs = _as_texts(texts, "fit_transform")
        return self.fit(docs).transform(docs)

    def transform(self, texts: Iterable[str]) -> npt.NDArray[np.floating]:
        """Encode texts as a dense matrix.

        Parameters
        ----------
        texts : sequence of str of length n_texts
            A list, tuple, array or any iterable of strings (not a single str:
            use ``encode_text`` or wrap it in a list).

        Returns
        -------
        X : ndarray of shape (n_texts, n_columns)
            ``n_columns`` is ``n_features`` in hashing mode, else the vocabulary
            size; dtype ``dtype``. Memory: ``n_texts * n_columns`` values.

        Raises
        ------
        TypeError
            If an item is not a str (the message names its index).
        ValueError
            If an item contains a lone surrogate.
        NotFittedError
            If the configuration needs ``fit`` (a learned vocabulary, tf-idf).
        """
        docs = _as_texts(texts, "transform")
        model, (cfg, lookup, width) = self._fitted_model()
        out = np.zeros((len(docs), width), dtype=cfg.dtype)
        for span in chunk_spans(docs):
            rows, cols, values = model._weighted(docs, span, cfg, lookup, width)
            out[rows + span[0], cols] = values
        return out

    def transform_sparse(self, texts: Iterable[str]) -> Any:
        """Encode texts as a sparse matrix (for large ``n_columns``).

        Parameters
        ----------
        texts : sequence of str of length n_texts
            As for ``transform``.

        Returns
        -------
        X : scipy.sparse.csr_array of shape (n_texts, n_columns)
            Same values as ``transform``, dtype ``dtype``. Column indices are
            sorted within each row, and every (text, column) pair reached by a
            term is stored, even if its value is 0 (signs that cancel), as
            scikit-learn stores it. Indices are int32 unless there are more
            than ``2**31 - 1`` entries. Memory: about 12 bytes per stored entry.
        """
        import scipy.sparse as sp

        docs = _as_texts(texts, "transform_sparse")
        model, (cfg, lookup, width) = self._fitted_model()
        parts_r, parts_c, parts_v = [], [], []
        for span in chunk_spans(docs):
            rows, cols, values = model._weighted(docs, span, cfg, lookup, width)
            # Per chunk: entries per row (rows are sorted), columns as int32 (a column is
            # below 2**31), so the batch is never held as int64 rows and columns.
            parts_r.append(np.bincount(rows, minlength=span[1] - span[0]))
            parts_c.append(cols.astype(np.int32))
            parts_v.append(values.astype(cfg.dtype, copy=False))
        per_row = np.concatenate(parts_r) if parts_r else np.zeros(0, np.int64)
        cols = np.concatenate(parts_c) if parts_c else np.zeros(0, np.int32)
        values = np.concatenate(parts_v) if parts_v else np.zeros(0, cfg.dtype)
        index_dtype = np.int32 if cols.size <= np.iinfo(np.int32).max else np.int64
        indptr = np.zeros(len(docs) + 1, dtype=index_dtype)
        np.cumsum(per_row, out=indptr[1:])
        return sp.csr_array(
            (values, cols.astype(index_dtype, copy=False), indptr),
            shape=(len(docs), width),
            copy=False,
        )

    def encode_text(self, text: str | Iterable[str]) -> npt.NDArray[np.floating]:
        """Model protocol: a str gives one row, a sequence of str one row per text.

        Parameters
        ----------
        text : str or sequence of str
            One text, or a batch of texts.

        Returns
        -------
        embedding : ndarray of shape (n_texts, n_columns)
            ``transform`` of ``[text]`` or of ``text``.
        """
        return self.transform([text] if isinstance(text, str) else _as_texts(text, "encode_text"))

    def tokenize(self, text: str) -> list[str]:
        """Return the terms (n-grams) of ``text`` that the encoder counts, in order.

        Parameters
        ----------
        text : str
            One text.

        Returns
        -------
        terms : list of str
            The n-grams in scikit-learn's analyzer order: all n-grams of the
            smallest ``n`` by position, then those of the next ``n``. Terms
            outside a vocabulary are included.

        Examples
        --------
        >>> from mmref.text import BagOfWordsTextEncoder
        >>> BagOfWordsTextEncoder(ngram_range=(1, 2)).tokenize("日本語 OK")
        ['日', '本', '語', 'ok', '日 本', '本 語', '語 ok']
        """
        if not isinstance(text, str):
            raise TypeError(
                f"tokenize expects a str. Got {describe(text)} of type "
                f"{type(text).__name__} instead."
            )
        cfg = self._params()
        parts = term_spans([text], 0, cfg)
        if not parts:
            return []
        data = parts[0][0]
        raw = data.tobytes()
        starts = np.concatenate([p[1] for p in parts])
        lengths = np.concatenate([p[2] for p in parts])
        if cfg.analyzer == "char_wb":
            # scikit-learn's order: word by word, then by n, then by position. A padded
            # word starts at a space that follows a space (or the start of the buffer).
            space = data == 0x20
            heads = np.flatnonzero(space & np.concatenate([[True], space[:-1]]))
            word = np.searchsorted(heads, starts, side="right")
            part = np.repeat(np.arange(len(parts)), [p[1].size for p in parts])
            order = np.lexsort((starts, part, word))
            starts, lengths = starts[order], lengths[order]
        spans = zip(starts.tolist(), lengths.tolist(), strict=True)
        return [raw[s : s + n].decode("utf-8") for s, n in spans]

    # -- internals ------------------------------------------------------------------------

    _mmref_feature_prefix_ = "text"

    def _mmref_n_features_out(self) -> int:
        return self._fitted_model()[1][2]

    def _fitted_model(
        self,
    ) -> tuple[BagOfWordsTextEncoder, tuple[_Params, TermLookup | None, int]]:
        """A snapshot of the encoder (one step) and its ``_ready()``; a rebuilt lookup is kept."""
        source = self.__dict__
        model = snapshot(self)
        ready = model._ready()
        keep_caches(source, model, ("_lookup",), ("vocabulary_",))
        return model, ready

    def _ready(self) -> tuple[_Params, TermLookup | None, int]:
        """Validate; check that what the configuration needs is fitted; return the lookup."""
        cfg = self._params()
        lookup = None
        if cfg.vocabulary == "learn":
            check_fitted(self, "vocabulary_")
            lookup = self.__dict__.get("_lookup")
            if lookup is None:  # dropped by pickling: rebuild from the fitted vocabulary
                terms = sorted(self.vocabulary_, key=self.vocabulary_.__getitem__)
                lookup = self._lookup = TermLookup(terms)
        elif cfg.vocabulary is not None:
            # Rebuilt per call (vectorized, O(vocabulary)), so set_params can never leave
            # a stale vocabulary behind.
            lookup = TermLookup(cfg.vocabulary)
        width = len(lookup.terms) if lookup is not None else cfg.n_features
        if cfg.weighting == "tfidf":
            check_fitted(self, "idf_")
            if self.idf_.size != width:
                raise NotFittedError(
                    f"This {_OWNER} was fitted for {self.idf_.size} columns but its parameters "
                    f"now give {width}. Call 'fit' again."
                )
        return cfg, lookup, width

    def _weighted(
        self,
        docs: list[str],
        span: tuple[int, int],
        cfg: _Params,
        lookup: TermLookup | None,
        width: int,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Weighted, normalized entries of one chunk as (row, column, value)."""
        rows, cols, values = chunk_counts(docs, span, cfg, lookup, width)
        if cfg.weighting == "binary":
            values = np.sign(values)
        elif cfg.weighting == "log":
            magnitude = np.abs(values)
            np.log(magnitude, out=magnitude, where=magnitude > 0)
            magnitude += 1.0
            values = np.copysign(magnitude, values) * (values != 0)
        elif cfg.weighting == "tfidf":
            values = values * self.idf_[cols]
        if cfg.norm == "l2":
            l2_normalize(rows, values, span[1] - span[0])
        elif cfg.norm == "l1":
            l1_normalize(rows, values, span[1] - span[0])
        return rows, cols, values

    def _params(self) -> _Params:
        """The constructor parameters, validated (checked at each fit and first use)."""
        own: dict[str, Any] = {"owner": _OWNER}
        n_features = check_int_param(
            self.n_features, name="n_features", min_value=1, max_value=2**31 - 1, **own
        )
        vocabulary = _check_vocabulary(self.vocabulary)
        ngram_range = _check_ngram_range(self.ngram_range)
        pattern = self.token_pattern
        if pattern is not None and not isinstance(pattern, str):
            raise TypeError(
                f"The 'token_pattern' parameter of {_OWNER} must be a str or None. "
                f"Got {describe(pattern)} of type {type(pattern).__name__} instead."
            )
        regex: re.Pattern[str] | None = None
        if pattern is not None and pattern != SKLEARN_TOKEN_PATTERN:
            try:
                regex = re.compile(pattern)
            except re.error as exc:
                raise param_error(
                    _OWNER, "token_pattern", f"a valid regex ({exc})", pattern
                ) from None
            if regex.groups > 1:
                raise param_error(_OWNER, "token_pattern", "a regex with at most 1 group", pattern)
        sklearn_rule = pattern == SKLEARN_TOKEN_PATTERN
        unicode_form = check_option(self.unicode_form, name="unicode_form", options=_FORMS, **own)
        lowercase = check_bool_param(self.lowercase, name="lowercase", **own)
        weighting = check_option(self.weighting, name="weighting", options=_WEIGHTINGS, **own)
        alternate_sign = check_bool_param(self.alternate_sign, name="alternate_sign", **own)
        norm = _check_normalize(self.normalize)
        seed = check_int_param(self.seed, name="seed", min_value=0, max_value=2**32 - 1, **own)
        dtype: np.dtype[Any] | None
        try:
            dtype = np.dtype(self.dtype)
        except TypeError:
            dtype = None
        if dtype is None or dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise param_error(_OWNER, "dtype", "np.float32 or np.float64", self.dtype)
        min_df = _check_min_df(self.min_df)
        max_features = None
        if self.max_features is not None:
            max_features = check_int_param(
                self.max_features, name="max_features", min_value=1, **own
            )
        strip_accents = check_option(
            self.strip_accents, name="strip_accents", options=_ACCENTS, **own
        )
        analyzer = self.analyzer
        if not callable(analyzer):
            analyzer = check_option(analyzer, name="analyzer", options=_ANALYZERS, **own)
        preprocessor = _check_callable(self.preprocessor, "preprocessor")
        tokenizer = _check_callable(self.tokenizer, "tokenizer")
        stop_words = _check_stop_words(self.stop_words)
        _check_unused(self, analyzer, ngram_range)
        if vocabulary != "learn" and (min_df != 1 or max_features is not None):
            raise ValueError(
                f"The 'min_df' and 'max_features' parameters of {_OWNER} only apply with "
                f"vocabulary='learn'. Got vocabulary={describe(self.vocabulary)}, "
                f"min_df={describe(self.min_df)}, max_features={describe(self.max_features)}."
            )
        return _Params(
            n_features=n_features,
            vocabulary=vocabulary,
            ngram_range=ngram_range,
            regex=regex,
            sklearn_rule=sklearn_rule,
            unicode_form=unicode_form,
            lowercase=lowercase,
            weighting=weighting,
            alternate_sign=alternate_sign,
            norm=norm,
            seed=seed,
            dtype=dtype,
            min_df=min_df,
            max_features=max_features,
            strip_accents=strip_accents,
            analyzer=analyzer,
            preprocessor=preprocessor,
            tokenizer=tokenizer,
            stop_words=stop_words,
            stop_lookup=TermLookup(sorted(stop_words)) if stop_words else None,
        )


@dataclass(frozen=True)
class _Params:
    """The validated constructor parameters of an encoder (``_params()`` builds them)."""

    n_features: int
    vocabulary: str | list[str] | None
    ngram_range: tuple[int, int]
    regex: re.Pattern[str] | None
    sklearn_rule: bool
    unicode_form: NormalForm | None
    lowercase: bool
    weighting: Weighting
    alternate_sign: bool
    norm: Norm | None
    seed: int
    dtype: np.dtype[Any]
    min_df: float
    max_features: int | None
    strip_accents: AccentStrip | None
    analyzer: str | Callable[[str], Any]
    preprocessor: Callable[[str], Any] | None
    tokenizer: Callable[[str], Any] | None
    stop_words: frozenset[str] | None
    stop_lookup: TermLookup | None


def _check_vocabulary(value: object) -> str | list[str] | None:
    if value is None or (isinstance(value, str) and value == "learn"):
        return value
    expected = "None, 'learn' or a non-empty sequence of distinct str"
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise param_error(_OWNER, "vocabulary", expected, value)
    terms = _str_items("vocabulary", expected, list(value))
    if not terms or len(set(terms)) != len(terms):
        raise param_error(_OWNER, "vocabulary", expected, value)
    return terms


def _check_normalize(value: object) -> Norm | None:
    """``normalize``: True is "l2", False is None (the spellings before "l1" existed)."""
    if value is None or value is False or (isinstance(value, np.bool_) and not value):
        return None
    if value is True or isinstance(value, np.bool_):
        return "l2"
    if isinstance(value, str) and value in ("l1", "l2"):
        return "l1" if value == "l1" else "l2"
    raise param_error(_OWNER, "normalize", "'l2', 'l1', None, True ('l2') or False (None)", value)


def _check_callable(value: object, name: str) -> Callable[[str], Any] | None:
    if value is None or callable(value):
        return value
    raise TypeError(
        f"The '{name}' parameter of {_OWNER} must be a callable or None. "
        f"Got {describe(value)} of type {type(value).__name__} instead."
    )


def _check_stop_words(value: object) -> frozenset[str] | None:
    expected = "None, 'english' or a sequence of str"
    if value is None:
        return None
    if isinstance(value, str):
        if value in STOP_LISTS:
            return STOP_LISTS[value]
        raise param_error(_OWNER, "stop_words", expected, value)
    if isinstance(value, (bytes, bytearray)) or not isinstance(value, Iterable):
        raise param_error(_OWNER, "stop_words", expected, value)
    words = _str_items("stop_words", expected, list(value))
    return frozenset(words)


def _str_items(name: str, expected: str, items: list[Any]) -> list[str]:
    """``items`` if each is a str of valid Unicode, else the error naming the first bad one."""
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise TypeError(
                f"The {name!r} parameter of {_OWNER} must be {expected}. "
                f"Item {i} is {describe(item)} of type {type(item).__name__}."
            )
        try:
            item.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(
                f"The {name!r} parameter of {_OWNER}: item {i} ({describe(item)}) contains "
                f"a lone surrogate; expected valid Unicode text."
            ) from None
    return items


def _check_unused(
    encoder: BagOfWordsTextEncoder,
    analyzer: str | Callable[[str], Any],
    ngram_range: tuple[int, int],
) -> None:
    """Refuse parameters that the analyzer would ignore (scikit-learn warns; mmref raises)."""
    if callable(analyzer):
        ignored = {
            "preprocessor": encoder.preprocessor is not None,
            "ngram_range": ngram_range != (1, 1),
            "strip_accents": encoder.strip_accents is not None,
        }
        word_only = True
    else:
        ignored = {}
        word_only = analyzer != "word"
    if word_only:
        ignored["tokenizer"] = encoder.tokenizer is not None
        ignored["stop_words"] = encoder.stop_words is not None
        ignored["token_pattern"] = encoder.token_pattern is not None
    elif encoder.tokenizer is not None:
        ignored["token_pattern"] = encoder.token_pattern is not None
    for name, unused in ignored.items():
        if unused:
            reason = (
                "'tokenizer' is set"
                if not word_only
                else (
                    "'analyzer' is a callable" if callable(analyzer) else f"analyzer={analyzer!r}"
                )
            )
            raise ValueError(
                f"The '{name}' parameter of {_OWNER} has no effect when {reason}. "
                f"Got {name}={describe(getattr(encoder, name))}; leave it at its default."
            )


def _check_ngram_range(value: object) -> tuple[int, int]:
    expected = "a tuple (min_n, max_n) of ints with 1 <= min_n <= max_n"
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise param_error(_OWNER, "ngram_range", expected, value)
    low, high = value
    for v in (low, high):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise param_error(_OWNER, "ngram_range", expected, value)
    if not 1 <= int(low) <= int(high):
        raise param_error(_OWNER, "ngram_range", expected, value)
    return int(low), int(high)


def _check_min_df(value: object) -> float:
    expected = "an int >= 1 or a float in [0, 1]"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise param_error(_OWNER, "min_df", expected, value)
    if isinstance(value, numbers.Integral):
        if value < 1:
            raise param_error(_OWNER, "min_df", expected, value)
        return int(value)
    if not 0.0 <= float(value) <= 1.0:
        raise param_error(_OWNER, "min_df", expected, value)
    return float(value)


def _as_texts(texts: object, method: str) -> list[str]:
    """Return ``texts`` as a list of str, or raise naming the first bad item."""
    texts = one_column(texts)  # a one-column frame: its rows, never its header
    if isinstance(texts, str):
        raise TypeError(
            f"{_OWNER}.{method} expects a sequence of str, not a single str; wrap it in a "
            f"list (encode_text accepts a single str)."
        )
    if isinstance(texts, (bytes, bytearray)) or not isinstance(texts, Iterable):
        raise TypeError(
            f"{_OWNER}.{method} expects a sequence of str. Got {describe(texts)} of type "
            f"{type(texts).__name__} instead."
        )
    docs = list(texts)
    if not all(map(isinstance, docs, [str] * len(docs))):
        for i, doc in enumerate(docs):
            if not isinstance(doc, str):
                hint = " (decode bytes first)" if isinstance(doc, (bytes, bytearray)) else ""
                raise TypeError(
                    f"texts[{i}] passed to {_OWNER}.{method} is {describe(doc)} of type "
                    f"{type(doc).__name__}; expected str{hint}."
                )
    return docs
