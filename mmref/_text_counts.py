"""Counting engine of the bag-of-words text encoder (:mod:`mmref.text`).

A batch of texts is cut into chunks of whole texts of about ``_CHUNK_CHARS``
characters (at most ``_CHUNK_DOCS`` texts); each chunk is tokenized and its
n-grams are mapped to columns: the ``j``-th vocabulary term to column ``j``,
or, in hashing mode, a term with signed 32-bit MurmurHash3 ``h`` to column
``|h| mod width`` with sign ``+1 if h >= 0 else -1`` (scikit-learn's
``FeatureHasher``). The signed count of a (row, column) pair is
``v = (entries) - 2 (negative entries)``; every pair that at least one term
reaches is kept, even when ``v = 0``. A text longer than ``2 * _CHUNK_CHARS``
is normalized whole and tokenized in pieces cut before a non-word character,
each piece carrying the last ``max_n - 1`` tokens of the one before, so that
every n-gram is counted once. L2 normalization sums the squares of a row in
column order, as scikit-learn does, so results are reproducible bit for bit.
Learning a vocabulary collects each distinct term's document frequency ``df``
and total count, keeps the terms with ``df >= min_df`` (a fraction of the
texts if ``min_df`` is a float), then the ``max_features`` largest counts
(ties to the earlier term in code point order), and sorts the terms.

SPEC.md ("Text encoder") defines every step bit for bit.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from ._hashing import le_words, murmurhash3_32
from ._tokenize import (
    Spans,
    TermLookup,
    TokenStream,
    char_spans,
    distinct_spans,
    drop_terms,
    list_stream,
    ngram_spans,
    normalize_text,
    preprocess_docs,
    regex_stream,
    word_stream,
)
from ._typing import AccentStrip, NormalForm

__all__ = [
    "CountConfig",
    "chunk_counts",
    "chunk_spans",
    "l1_normalize",
    "l2_normalize",
    "learn_vocabulary",
    "term_spans",
]

# A chunk holds about this many characters (whole documents) and at most this many
# documents. Small chunks keep the temporaries in cache and spare page faults (2**17 was
# the fastest of 2**15 .. 2**20 in benchmarks); row indices then fit in 16 bits.
_CHUNK_CHARS = 1 << 17
_CHUNK_DOCS = 1 << 16
# A long text is cut before a non-word character (never inside a token); for character
# n-grams, before a whitespace character.
_NON_WORD = re.compile(r"\W")
_SPACE = re.compile(r"\s")
_SPACES = re.compile(r"\s\s+")


class CountConfig(Protocol):
    """The validated encoder parameters that counting reads (``mmref.text``'s ``_Params``)."""

    @property
    def ngram_range(self) -> tuple[int, int]: ...
    @property
    def regex(self) -> re.Pattern[str] | None: ...
    @property
    def sklearn_rule(self) -> bool: ...
    @property
    def unicode_form(self) -> NormalForm | None: ...
    @property
    def lowercase(self) -> bool: ...
    @property
    def strip_accents(self) -> AccentStrip | None: ...
    @property
    def analyzer(self) -> str | Callable[[str], Any]: ...
    @property
    def preprocessor(self) -> Callable[[str], Any] | None: ...
    @property
    def tokenizer(self) -> Callable[[str], Any] | None: ...
    @property
    def stop_words(self) -> frozenset[str] | None: ...
    @property
    def stop_lookup(self) -> TermLookup | None: ...
    @property
    def alternate_sign(self) -> bool: ...
    @property
    def seed(self) -> int: ...
    @property
    def min_df(self) -> float: ...
    @property
    def max_features(self) -> int | None: ...


def chunk_counts(
    docs: list[str], span: tuple[int, int], cfg: CountConfig, lookup: TermLookup | None, width: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Signed counts of one chunk as (row, column, value), sorted by row then column."""
    chunk = docs[span[0] : span[1]]
    signed = lookup is None and cfg.alternate_sign
    code_max = (width << signed) - 1
    if len(chunk) == 1 and len(chunk[0]) > 2 * _CHUNK_CHARS and _vectorized(cfg):
        if cfg.analyzer == "word":
            return _counts_long(chunk[0], span[0], cfg, lookup, width)
        return _counts_long_chars(chunk[0], span[0], cfg, lookup, width)
    parts = _codes(term_spans(chunk, span[0], cfg), cfg, lookup, width)
    return _sum_duplicates(parts, signed, code_max, len(chunk))


def _vectorized(cfg: CountConfig) -> bool:
    """Whether the configuration runs no Python code per document (no regex, no callable)."""
    return (
        cfg.regex is None
        and cfg.preprocessor is None
        and cfg.tokenizer is None
        and (isinstance(cfg.analyzer, str))
    )


def _codes(
    spans: list[Spans], cfg: CountConfig, lookup: TermLookup | None, width: int
) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.integer[Any]]]]:
    """(rows, codes) of each part of n-gram spans; codes as ``_sum_duplicates`` takes them."""
    signed = lookup is None and cfg.alternate_sign
    code_max = (width << signed) - 1
    # Codes are sorted in a padded block; the padding value must exceed every code.
    code_dtype = (
        np.int16 if code_max < 2**15 - 1 else np.int32 if code_max < 2**31 - 1 else np.int64
    )
    parts: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.integer[Any]]]] = []
    words = le_words(spans[0][0]) if spans else None  # one buffer serves every part
    for data, starts, lengths, rows in spans:
        if lookup is not None:
            found = lookup.find(data, starts, lengths, words)
            known = found >= 0
            rows, code = rows[known], found[known].astype(code_dtype)
        else:
            h = murmurhash3_32(data, starts, lengths, cfg.seed, words=words)
            cols, negative = _hash_columns(h, width)
            code = cols.astype(code_dtype)
            if signed:
                code <<= 1
                code |= negative
        parts.append((rows, code))
    return parts


def _counts_long(
    text: str, index: int, cfg: CountConfig, lookup: TermLookup | None, width: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Counts of one long text, tokenized in pieces so that memory stays bounded.

    The normalized text is cut before a non-word character about every
    ``_CHUNK_CHARS`` characters (no token spans a cut). Each piece starts
    with the last ``max_n - 1`` tokens before it, joined with spaces, so that
    the n-grams across a cut are counted, once: n-grams lying wholly in that
    carried prefix are skipped. Memory: proportional to a piece, plus the
    normalized text and one entry per distinct column.
    """
    signed = lookup is None and cfg.alternate_sign
    keep = cfg.ngram_range[1] - 1
    carry: list[str] = []
    cols_parts, value_parts = [], []
    try:
        normalized = normalize_text(text, cfg.unicode_form, cfg.lowercase, cfg.strip_accents)
        start = 0
        while start < len(normalized):
            cut = _NON_WORD.search(normalized, start + _CHUNK_CHARS)
            stop = cut.start() if cut else len(normalized)
            piece = normalized[start:stop]
            stream = word_stream(
                [" ".join([*carry, piece]) if carry else piece],
                unicode_form=None,
                lowercase=False,
                split_cjk=not cfg.sklearn_rule,
                min_len=2 if cfg.sklearn_rule else 1,
            )
            if cfg.stop_lookup is not None:
                stream = drop_terms(stream, cfg.stop_lookup)
            parts = _codes(
                ngram_spans(stream, cfg.ngram_range, skip=len(carry)), cfg, lookup, width
            )
            _, cols, values = _sum_duplicates(parts, signed, (width << signed) - 1, 1)
            cols_parts.append(cols)
            value_parts.append(values)
            if keep:
                tail = slice(max(stream.starts.size - keep, 0), None)
                ends = zip(stream.starts[tail].tolist(), stream.lengths[tail].tolist(), strict=True)
                carry = [stream.data[s : s + n].tobytes().decode("utf-8") for s, n in ends]
            start = stop
    except UnicodeEncodeError:
        raise _surrogate_error([text], index) from None
    return _merge_pieces(cols_parts, value_parts)


def _counts_long_chars(
    text: str, index: int, cfg: CountConfig, lookup: TermLookup | None, width: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Character n-gram counts of one long text, in pieces (as ``_counts_long``).

    The preprocessed text (with its whitespace runs collapsed, which is
    idempotent) is cut before a whitespace character about every
    ``_CHUNK_CHARS`` characters. ``char_wb`` words never cross a cut; for
    ``char`` each piece starts with the last ``max_n - 1`` characters before
    it, and the n-grams starting in that carried prefix are skipped.
    """
    signed = lookup is None and cfg.alternate_sign
    keep = cfg.ngram_range[1] - 1 if cfg.analyzer == "char" else 0
    cols_parts, value_parts = [], []
    try:
        normalized = normalize_text(text, cfg.unicode_form, cfg.lowercase, cfg.strip_accents)
        normalized = _SPACES.sub(" ", normalized)
        start = 0
        while start < len(normalized):
            cut = _SPACE.search(normalized, start + _CHUNK_CHARS)
            stop = cut.start() if cut else len(normalized)
            carried = min(keep, start)
            spans = char_spans(
                [normalized[start - carried : stop]],
                cfg.ngram_range,
                unicode_form=None,
                lowercase=False,
                strip_accents=None,
                word_bounded=cfg.analyzer == "char_wb",
                skip=carried,
            )
            parts = _codes(spans, cfg, lookup, width)
            _, cols, values = _sum_duplicates(parts, signed, (width << signed) - 1, 1)
            cols_parts.append(cols)
            value_parts.append(values)
            start = stop
    except UnicodeEncodeError:
        raise _surrogate_error([text], index) from None
    return _merge_pieces(cols_parts, value_parts)


def _merge_pieces(
    cols_parts: list[npt.NDArray[np.int64]], value_parts: list[npt.NDArray[np.float64]]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Sum the counts of the pieces of one text per column."""
    if not cols_parts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=np.float64)
    # A column reached in several pieces is one stored entry, even if its sum is 0.
    cols, where = np.unique(np.concatenate(cols_parts), return_inverse=True)
    weights = np.concatenate(value_parts)
    summed = np.bincount(where, weights=weights, minlength=cols.size).astype(np.float64)
    return np.zeros(cols.size, dtype=np.int64), cols.astype(np.int64), summed


def term_spans(docs: list[str], offset: int, cfg: CountConfig) -> list[Spans]:
    """The terms of a chunk as byte spans, one part per ``n`` (``ngram_spans``' layout).

    The steps: preprocessing (the callable ``preprocessor``, or normalization,
    lowercasing and accent stripping), then character n-grams, or tokens (the
    word rule, a regex or the callable ``tokenizer``) without the stop words
    and their n-grams; a callable ``analyzer`` replaces all of it. A lone
    surrogate becomes a ValueError naming its text; a callable that raises or
    returns the wrong type, an error naming the callable and the text.
    """
    analyzer = cfg.analyzer
    if not isinstance(analyzer, str):
        terms = [_call(analyzer, "analyzer", doc, offset + i, list) for i, doc in enumerate(docs)]
        return ngram_spans(_list_stream(terms, offset, "analyzer"), (1, 1))
    form, lower, accents = cfg.unicode_form, cfg.lowercase, cfg.strip_accents
    preprocessor = cfg.preprocessor
    try:
        if preprocessor is not None:
            docs = [
                _call(preprocessor, "preprocessor", d, offset + i, str) for i, d in enumerate(docs)
            ]
            form, lower, accents = None, False, None
        if analyzer != "word":
            return char_spans(
                docs,
                cfg.ngram_range,
                unicode_form=form,
                lowercase=lower,
                strip_accents=accents,
                word_bounded=analyzer == "char_wb",
            )
        tokenizer = cfg.tokenizer
        stop = cfg.stop_words
        stream: TokenStream
        if tokenizer is not None:
            prepared = preprocess_docs(docs, form, lower, accents)
            found = [
                _call(tokenizer, "tokenizer", d, offset + i, list) for i, d in enumerate(prepared)
            ]
            if stop:
                found = [[t for t in tokens if t not in stop] for tokens in found]
            stream = _list_stream(found, offset, "tokenizer")
        elif cfg.regex is not None:
            stream = regex_stream(
                docs,
                pattern=cfg.regex,
                unicode_form=form,
                lowercase=lower,
                strip_accents=accents,
                stop_words=stop,
            )
        else:
            stream = word_stream(
                docs,
                unicode_form=form,
                lowercase=lower,
                split_cjk=not cfg.sklearn_rule,
                min_len=2 if cfg.sklearn_rule else 1,
                strip_accents=accents,
            )
            if cfg.stop_lookup is not None:
                stream = drop_terms(stream, cfg.stop_lookup)
    except UnicodeEncodeError:
        raise _surrogate_error(docs, offset) from None
    return ngram_spans(stream, cfg.ngram_range)


def _call(func: Callable[[str], Any], name: str, doc: str, index: int, kind: type) -> Any:
    """``func(doc)`` for a user callable: a str, or a list of str if ``kind`` is list."""
    try:
        result = func(doc)
    except Exception as exc:
        raise ValueError(
            f"The '{name}' callable of BagOfWordsTextEncoder raised {type(exc).__name__} on "
            f"texts[{index}]: {exc}"
        ) from exc
    if kind is str:
        if not isinstance(result, str):
            raise TypeError(
                f"The '{name}' callable of BagOfWordsTextEncoder must return a str. On "
                f"texts[{index}] it returned {type(result).__name__}."
            )
        return result
    if isinstance(result, (str, bytes)) or not hasattr(result, "__iter__"):
        raise TypeError(
            f"The '{name}' callable of BagOfWordsTextEncoder must return an iterable of str. "
            f"On texts[{index}] it returned {type(result).__name__}."
        )
    items = list(result)
    for item in items:
        if not isinstance(item, str):
            raise TypeError(
                f"The '{name}' callable of BagOfWordsTextEncoder must return an iterable of "
                f"str. On texts[{index}] it returned an item of type {type(item).__name__}."
            )
    return items


def _list_stream(token_lists: list[list[str]], offset: int, name: str) -> TokenStream:
    """``list_stream``, naming the text whose callable output holds a lone surrogate."""
    try:
        return list_stream(token_lists)
    except UnicodeEncodeError:
        for i, tokens in enumerate(token_lists):
            try:
                " ".join(tokens).encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(
                    f"The '{name}' callable of BagOfWordsTextEncoder returned a lone "
                    f"surrogate for texts[{offset + i}]; expected valid Unicode text."
                ) from None
        raise  # pragma: no cover


def _surrogate_error(docs: list[str], offset: int) -> ValueError:
    """The error for the first text of ``docs`` (at index ``offset``) with a lone surrogate."""
    for i, doc in enumerate(docs):
        try:
            doc.encode("utf-8")
        except UnicodeEncodeError as exc:
            return ValueError(
                f"texts[{offset + i}] contains a lone surrogate "
                f"(U+{ord(doc[exc.start]):04X} at position {exc.start}); expected valid "
                f"Unicode text."
            )
    raise AssertionError("no text with a lone surrogate")  # pragma: no cover


def chunk_spans(docs: list[str]) -> list[tuple[int, int]]:
    """Split the batch into runs of whole texts of about ``_CHUNK_CHARS`` characters.

    A text longer than ``2 * _CHUNK_CHARS`` is a chunk by itself (then cut
    into pieces by ``_counts_long``).
    """
    n = len(docs)
    if n == 0:
        return []
    lengths = np.fromiter(map(len, docs), dtype=np.int64, count=n)
    ends = np.cumsum(lengths + 1)
    cut = np.flatnonzero(np.diff((ends - 1) // _CHUNK_CHARS)) + 1
    long = np.flatnonzero(lengths > 2 * _CHUNK_CHARS)
    cut = np.union1d(cut, np.concatenate([long, long + 1]))
    bounds = [0, *cut[(cut > 0) & (cut < n)].tolist(), n]
    out: list[tuple[int, int]] = []
    for a, b in itertools.pairwise(bounds):
        out.extend((s, min(s + _CHUNK_DOCS, b)) for s in range(a, b, _CHUNK_DOCS))
    return out


def _hash_columns(
    h: npt.NDArray[np.uint32], width: int
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.bool_]]:
    """Column and sign of each hash, as scikit-learn's ``FeatureHasher`` computes them.

    For the signed value ``s`` of ``h``: column ``|s| mod width`` and negative
    iff ``s < 0``. ``|s|`` is taken as an unsigned 32-bit value, so
    ``s = -2**31`` gives ``2**31 mod width``, which is what scikit-learn's
    special case ``(2**31 - 1 - (width - 1)) % width`` equals.
    """
    negative = h >= np.uint32(2**31)
    # Branch-free |s|: with m = s >> 31 (0 or -1), |s| = (s ^ m) - m, wrapping mod 2**32.
    sign_mask = h.view(np.int32) >> np.int32(31)
    magnitude = (h.view(np.int32) ^ sign_mask).view(np.uint32)
    magnitude -= sign_mask.view(np.uint32)
    if width & (width - 1) == 0:  # a power of two: a mask is exact and much faster
        magnitude &= np.uint32(width - 1)
    else:
        magnitude %= np.uint32(width)
    return magnitude, negative


def _sum_duplicates(
    parts: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.integer[Any]]]],
    signed: bool,
    code_max: int,
    n_rows: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Sum the entries per (row, column); return them sorted, cancelled ones kept.

    Each part is ``(rows, codes)`` with ``rows`` non-decreasing; a code in
    ``[0, code_max]`` is ``2 column + negative`` if ``signed``, else the
    column. Sorting the codes of each row puts equal columns side by side.
    """
    code_dtype = parts[0][1].dtype if parts else np.dtype(np.int64)
    per_part = [np.bincount(rows, minlength=n_rows) for rows, _ in parts]
    counts = np.sum(per_part, axis=0) if per_part else np.zeros(n_rows, dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=np.float64)
    longest = int(counts.max())
    size = code_max + 1
    flat: npt.NDArray[np.integer[Any]]
    if n_rows * size <= 4 * total:
        # Dense enough (long texts): count every (row, code) with one bincount, which is
        # linear however long a row is.
        key = np.concatenate([rows * size + code for rows, code in parts])
        tally = np.bincount(key, minlength=n_rows * size)
        present = np.flatnonzero(tally)
        times = tally[present]
        flat = np.repeat(present % size, times)
        flat_rows = np.repeat(present // size, times)
    elif n_rows * longest <= 4 * total + 1024:
        # Short rows: one padded (n_rows, longest) block sorted along its rows, which
        # NumPy does with vectorized small sorts, far faster than one long sort.
        flat = _block_sorted(parts, per_part, n_rows, longest, code_dtype)
        flat_rows = np.repeat(np.arange(n_rows, dtype=np.int64), counts)
    else:
        # A few long rows among short ones (poems with long prefaces): the short rows
        # go through the padded block, the long ones through one sort of (row, code)
        # keys; then each row's sorted entries are put at the row's place.
        long_row = counts > (4 * total + 1024) // n_rows
        short_parts, long_keys = [], []
        for rows, code in parts:
            is_long = long_row[rows]
            short_parts.append((rows[~is_long], code[~is_long]))
            long_keys.append(rows[is_long] * size + code[is_long])
        flat_rows = np.repeat(np.arange(n_rows, dtype=np.int64), counts)
        in_long = long_row[flat_rows]
        flat = np.empty(total, dtype=code_dtype)
        key = np.concatenate(long_keys)
        key.sort(kind="stable")
        flat[in_long] = key % size
        width = int(counts[~long_row].max(initial=0))
        if width:
            short_per_part = [np.bincount(rows, minlength=n_rows) for rows, _ in short_parts]
            short = _block_sorted(short_parts, short_per_part, n_rows, width, code_dtype)
            flat[~in_long] = short
    pair = flat >> 1 if signed else flat
    first_of_pair = np.empty(flat.size, dtype=bool)
    first_of_pair[:1] = True
    np.not_equal(pair[1:], pair[:-1], out=first_of_pair[1:])
    first_of_pair[(np.cumsum(counts) - counts)[counts > 0]] = True
    group_starts = np.flatnonzero(first_of_pair)
    group_ends = np.append(group_starts[1:], flat.size)
    values = group_ends - group_starts
    if signed:  # value = entries - 2 * negative entries
        negatives = np.cumsum(flat & 1, dtype=np.int64)
        twice = negatives[group_ends - 1]
        twice[1:] -= negatives[group_starts[1:] - 1]
        values -= 2 * twice
    cols = pair[group_starts].astype(np.int64)
    return flat_rows[group_starts], cols, values.astype(np.float64)


def _block_sorted(
    parts: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.integer[Any]]]],
    per_part: list[npt.NDArray[np.int64]],
    n_rows: int,
    width: int,
    code_dtype: np.dtype[Any],
) -> npt.NDArray[np.integer[Any]]:
    """The codes of each row, sorted, row after row (rows of at most ``width`` entries).

    The codes go into a padded ``(n_rows, width)`` block, sorted along its rows.
    Memory: ``n_rows * width`` codes.
    """
    pad = np.iinfo(code_dtype).max
    block = np.full((n_rows, width), pad, dtype=code_dtype)
    used = np.zeros(n_rows, dtype=np.int64)
    for (rows, code), count in zip(parts, per_part, strict=True):
        # Entry q of the part, in row r, goes to slot used[r] + q - first[r] of row r.
        base = np.arange(0, n_rows * width, width, dtype=np.int64)
        base += used
        base -= np.cumsum(count) - count
        where = np.arange(rows.size, dtype=np.int64)
        where += base[rows]
        block.ravel()[where] = code
        used += count
    block.sort(axis=1)
    flat: npt.NDArray[np.integer[Any]] = block[block != pad]
    return flat


def l2_normalize(rows: npt.NDArray[np.int64], values: npt.NDArray[np.float64], n: int) -> None:
    """Divide each row's values by its L2 norm, in place; all-zero rows stay zero.

    ``rows`` is sorted and each row's entries are in column order. The sums of
    squares accumulate left to right in that order (``np.bincount`` adds its
    weights in input order), exactly like scikit-learn's
    ``inplace_csr_row_normalize_l2``, so the result is reproducible bit for bit.
    """
    norms = np.sqrt(np.bincount(rows, weights=values * values, minlength=n))
    norms[norms == 0.0] = 1.0
    values /= norms[rows]


def l1_normalize(rows: npt.NDArray[np.int64], values: npt.NDArray[np.float64], n: int) -> None:
    """Divide each row's values by the sum of their absolute values, in place.

    The sums accumulate in column order, like scikit-learn's
    ``inplace_csr_row_normalize_l1``; all-zero rows stay zero.
    """
    norms = np.bincount(rows, weights=np.abs(values), minlength=n)
    norms[norms == 0.0] = 1.0
    values /= norms[rows]


def learn_vocabulary(docs: list[str], cfg: CountConfig) -> tuple[list[str], npt.NDArray[np.int64]]:
    """Distinct terms of ``docs`` after min_df / max_features; return (sorted terms, df)."""
    stats: dict[str, list[int]] = {}
    for start, stop in chunk_spans(docs):
        parts = term_spans(docs[start:stop], start, cfg)
        data = parts[0][0] if parts else np.zeros(0, dtype=np.uint8)
        starts, lengths, rows = (
            np.concatenate([p[i] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
            for i in (1, 2, 3)
        )
        if not starts.size:
            continue
        words = le_words(data)
        term_of, reps = distinct_spans(data, starts, lengths, words)
        n_terms = reps.size
        tf = np.bincount(term_of, minlength=n_terms)
        pairs = np.unique(term_of * (stop - start) + rows)
        df = np.bincount(pairs // (stop - start), minlength=n_terms)
        raw = data.tobytes()
        for s, n, d, f in zip(
            starts[reps].tolist(), lengths[reps].tolist(), df.tolist(), tf.tolist(), strict=True
        ):
            term = raw[s : s + n].decode("utf-8")
            entry = stats.get(term)
            if entry is None:
                stats[term] = [d, f]
            else:
                entry[0] += d
                entry[1] += f
    min_count = cfg.min_df if isinstance(cfg.min_df, int) else cfg.min_df * len(docs)
    kept = [(term, d, f) for term, (d, f) in stats.items() if d >= min_count]
    if cfg.max_features is not None and len(kept) > cfg.max_features:
        kept.sort(key=lambda item: (-item[2], item[0]))
        kept = kept[: cfg.max_features]
    kept.sort(key=lambda item: item[0])
    return [t for t, _, _ in kept], np.array([d for _, d, _ in kept], dtype=np.int64)
