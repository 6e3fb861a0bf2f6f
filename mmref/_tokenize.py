"""Batch tokenizer for :mod:`mmref.text`: whole batches of documents, no loop per token.

A batch of documents becomes one *token stream*: a UTF-8 byte buffer, the byte
offset and length of every token in it, and the index of the document each
token came from. The text goes through these steps, each done once for the
whole batch:

1. join the documents with NUL (U+0000), which is neither cased nor
   case-ignorable and is a normalization starter that composes with nothing,
   so that normalizing and lowercasing the joined text equals doing it
   document by document (Greek final sigma looks at its neighbours; NFKC
   reorders and composes across combining marks);
2. Unicode normalization (``unicodedata.normalize``, after replacing the
   characters whose decomposition is a single character, which changes no
   normal form but lets CJK text with fullwidth punctuation pass the quick
   check), then ``str.lower``;
3. one ``encode('utf-32-le')`` (or a 1-byte view for ASCII text) gives the
   code points, classified with a lookup table over all of Unicode;
4. tokens are runs of word characters, found from the class array by
   comparing each position with its left neighbour;
5. character positions become UTF-8 byte offsets through a cumulative sum of
   the UTF-8 length of every code point.

Text that is mostly ASCII (real English prose: a few accented letters, dashes
and quotes) skips steps 3 and 5: its UTF-8 bytes are classified directly
(each multi-byte character decoded from its bytes, its class given to all of
them), so offsets need no conversion. Only its documents with non-ASCII
characters go through steps 1 and 2 (together); the ASCII ones are their
own normal form and are lowercased with ``bytes.lower``.

Documents that contain NUL themselves are normalized one by one instead, so
that the separators stay unambiguous. See SPEC.md, "Text encoder", for the
normative definition of the classes.

The module also holds the exact term identity that vocabularies use:
:class:`TermLookup` and :func:`distinct_spans` compare byte spans 4 bytes at
a time, after a 64-bit hash has paired up the candidates.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from ._hashing import le_words, murmurhash3_32
from ._typing import AccentStrip, NormalForm

__all__ = [
    "CJK_RANGES",
    "SKLEARN_TOKEN_PATTERN",
    "Spans",
    "TermLookup",
    "TokenStream",
    "char_classes",
    "char_spans",
    "combining_table",
    "distinct_spans",
    "drop_terms",
    "list_stream",
    "ngram_spans",
    "normalize_text",
    "preprocess_docs",
    "regex_stream",
    "whitespace_table",
    "word_stream",
]

#: scikit-learn's default ``token_pattern``: maximal runs of two or more word characters.
SKLEARN_TOKEN_PATTERN = r"(?u)\b\w\w+\b"

#: Inclusive code point ranges whose word characters are tokens on their own:
#: Han ideographs (unified, extensions A-I, compatibility, and the Han-script
#: characters of the CJK Symbols and Punctuation block), Hiragana and Katakana
#: (with their phonetic extensions, supplements and halfwidth forms).
CJK_RANGES: tuple[tuple[int, int], ...] = (
    (0x3005, 0x3007),  # 々 〆 〇
    (0x3021, 0x3029),  # Hangzhou numerals
    (0x3038, 0x303B),  # Hangzhou numerals, vertical iteration mark
    (0x3040, 0x309F),  # Hiragana
    (0x30A0, 0x30FF),  # Katakana
    (0x31F0, 0x31FF),  # Katakana Phonetic Extensions
    (0x3400, 0x4DBF),  # CJK Unified Ideographs Extension A
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    (0xF900, 0xFAFF),  # CJK Compatibility Ideographs
    (0xFF66, 0xFF9F),  # Halfwidth Katakana
    (0x1AFF0, 0x1B16F),  # Kana Extended-B, Kana Supplement, Kana Extended-A, Small Kana
    (0x20000, 0x2A6DF),  # Extension B
    (0x2A700, 0x2EE5F),  # Extensions C, D, E, F, I
    (0x2F800, 0x2FA1F),  # CJK Compatibility Ideographs Supplement
    (0x30000, 0x323AF),  # Extensions G, H
)

WORD = 1  # class bit: a word character (str.isalnum() or "_")
CJK = 2  # class bit: a word character in CJK_RANGES, a token by itself


@dataclass
class TokenStream:
    """Tokens of a batch of documents, as spans of one UTF-8 buffer.

    Attributes
    ----------
    data : ndarray of uint8 of shape (n_bytes,)
        UTF-8 bytes.
    starts, lengths : ndarray of int64 of shape (n_tokens,)
        Byte offset and byte length of each token, in document order.
    docs : ndarray of int64 of shape (n_tokens,)
        Index of each token's document in the batch; non-decreasing.
    spaced : bool
        True if consecutive tokens of a document are separated by exactly one
        space byte, so that an n-gram is a contiguous span of ``data``.
    """

    data: npt.NDArray[np.uint8]
    starts: npt.NDArray[np.int64]
    lengths: npt.NDArray[np.int64]
    docs: npt.NDArray[np.int64]
    spaced: bool


@functools.cache
def char_classes() -> npt.NDArray[np.uint8]:
    """Return the class of every code point: a 1.1 MB uint8 table, built once.

    Bit ``WORD`` is set for Python's ``\\w`` (``str.isalnum()`` or ``"_"``),
    bit ``CJK`` additionally for word characters inside :data:`CJK_RANGES`.
    Built in about 0.1 s on first use (never at import).
    """
    every = np.arange(0x110000, dtype="<u4").tobytes().decode("utf-32-le", "surrogatepass")
    table = np.zeros(0x110000, dtype=np.uint8)
    # re's \w is exactly str.isalnum() or "_" (tests check every code point); scanning
    # all of Unicode as one string finds its runs far faster than 1.1 million calls.
    for match in re.finditer(r"\w+", every):
        table[match.start() : match.end()] = WORD
    for low, high in CJK_RANGES:
        block = table[low : high + 1]
        block[block == WORD] = WORD | CJK
    table.flags.writeable = False
    return table


def word_stream(
    docs: list[str],
    *,
    unicode_form: NormalForm | None,
    lowercase: bool,
    split_cjk: bool,
    min_len: int,
    strip_accents: AccentStrip | None = None,
) -> TokenStream:
    """Tokenize ``docs``: tokens are maximal runs of word characters.

    Parameters
    ----------
    docs : list of str
        The batch; already checked to hold only ``str``.
    unicode_form : {"NFC", "NFKC", "NFD", "NFKD"} or None
        Normalization applied first.
    lowercase : bool
        Apply ``str.lower`` after normalization.
    split_cjk : bool
        Make every CJK character a token by itself (mmref's default rule).
    min_len : int
        Drop tokens of fewer characters (2 reproduces scikit-learn's default pattern).

    Returns
    -------
    stream : TokenStream
        ``spaced`` is False: tokens are spans of the normalized text.

    Raises
    ------
    UnicodeEncodeError
        If the text holds a lone surrogate (the caller names the document).

    Notes
    -----
    Memory: about 30 bytes per character of the batch (the code points, their
    classes and the UTF-8 offsets), plus 24 bytes per token; for mostly-ASCII
    text, about 10 bytes per UTF-8 byte (the buffer, its lowercase copy and
    the classes), plus 24 bytes per token.
    """
    joined = "\0".join(docs)
    table = char_classes()
    char_start = None
    byte_offsets = True
    points = None
    data = None
    if joined.isascii():
        # ASCII text is its own normal form and has no accents to strip.
        raw = joined.encode("ascii")
        if lowercase:
            raw = raw.lower()  # str.lower of ASCII text, much faster
        data = np.frombuffer(raw, dtype=np.uint8)
        classes = np.frombuffer(raw.translate(_ascii_class_bytes()), dtype=np.uint8)
        nul = np.flatnonzero(data == 0)
        separated = nul.size == len(docs) - 1  # no document contains NUL itself
        doc_starts = _nul_starts(nul, data.size) if separated else _starts_from_lengths(docs)
    else:
        # A sample of about 4096 characters spares CJK text the UTF-8 encoding below.
        sample = joined[:: max(len(joined) // 4096, 1)]
        try:
            likely = 2 * len(sample.encode("utf-8")) <= 3 * len(sample) and min_len <= 2
            data = np.frombuffer(joined.encode("utf-8"), dtype=np.uint8) if likely else None
        except UnicodeEncodeError:  # a lone surrogate: preprocessing may drop it, or raise
            data = None
        if data is not None:
            mostly_ascii = 4 * (data.size - len(joined)) <= len(joined)
            nul = np.flatnonzero(data == 0) if mostly_ascii else np.zeros(0, dtype=np.intp)
            if mostly_ascii and nul.size == len(docs) - 1:
                # Mostly ASCII (real English prose): work on the UTF-8 bytes themselves,
                # so that offsets need no conversion; NUL bytes are the separators.
                data, nul = _prepare_utf8(data, nul, docs, unicode_form, lowercase, strip_accents)
                classes, char_start = _byte_classes(data, table)
                doc_starts = _nul_starts(nul, data.size)
            else:
                data = None
        if data is None:
            text, doc_starts, points = _preprocess(
                docs, unicode_form, lowercase, strip_accents, joined=joined
            )
            if text.isascii():
                data = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
                classes = table[:128][data]
                points = None
            else:
                byte_offsets = False
                if points is None:
                    points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
                classes = table[points]
                data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    n = int(classes.size)
    # Boundary i lies between characters i - 1 and i; both ends padded with non-words.
    word = np.zeros(n + 2, dtype=bool)
    np.not_equal(classes, 0, out=word[1:-1])
    prev, cur = word[:-1], word[1:]
    change = prev != cur
    split = None
    if split_cjk:
        cjk = np.zeros(n + 2, dtype=bool)
        np.greater_equal(classes, WORD | CJK, out=cjk[1:-1])
        if cjk.any():
            split = cjk[:-1] | cjk[1:]
            split &= prev
            split &= cur
            if char_start is not None:  # only between characters, not inside one
                split[1:-1] &= char_start
            change |= split
    bounds = np.flatnonzero(change)
    if split is None:  # runs of words and non-words alternate
        starts, ends = bounds[0::2], bounds[1::2]
    else:  # a split boundary ends one token and starts the next
        starts, ends = bounds[cur[bounds]], bounds[prev[bounds]]
    if min_len > 1 and byte_offsets and char_start is not None:
        # Byte spans (min_len is 2 here): a token of one character is exactly as long as
        # its lead byte announces.
        lead = data[starts]
        one_char = 1 + (lead >= 0xC0).astype(np.int64) + (lead >= 0xE0) + (lead >= 0xF0)
        keep = (ends - starts) > one_char
        starts, ends = starts[keep], ends[keep]
    elif min_len > 1:
        keep = (ends - starts) >= min_len
        starts, ends = starts[keep], ends[keep]
    per_doc = np.diff(np.searchsorted(starts, doc_starts))
    docs_of = np.repeat(np.arange(len(docs), dtype=np.int64), per_doc)
    if byte_offsets:
        byte_starts, byte_lengths = starts, ends - starts
    else:
        assert points is not None  # set for every non-ASCII text above
        utf8_len = np.ones(n, dtype=np.uint8)
        utf8_len += points >= 0x80
        utf8_len += points >= 0x800
        utf8_len += points >= 0x10000
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(utf8_len, out=offsets[1:])
        byte_starts = offsets[starts]
        byte_lengths = offsets[ends] - byte_starts
    return TokenStream(
        data,
        byte_starts.astype(np.int64, copy=False),
        byte_lengths.astype(np.int64, copy=False),
        docs_of.astype(np.int64, copy=False),
        spaced=False,
    )


@functools.cache
def _ascii_class_bytes() -> bytes:
    """``bytes.translate`` table: the class of each ASCII byte, 0 for the bytes >= 0x80."""
    return bytes(char_classes()[:128].tobytes() + bytes(128))


def _nul_starts(nul: npt.NDArray[np.intp], size: int) -> npt.NDArray[np.int64]:
    """``doc_starts`` of a buffer of ``size`` units whose separators are at ``nul``."""
    return np.concatenate(([0], nul + 1, [size + 1])).astype(np.int64)


def _prepare_utf8(
    data: npt.NDArray[np.uint8],
    nul: npt.NDArray[np.intp],
    docs: list[str],
    unicode_form: NormalForm | None,
    lowercase: bool,
    strip_accents: AccentStrip | None,
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.intp]]:
    """The preprocessing of ``_preprocess`` on the UTF-8 buffer of the NUL-joined ``docs``.

    ``nul`` holds the offsets of the separators (no document contains NUL). An
    ASCII document is its own normal form, has no accents and is lowercased by
    ``bytes.lower``; the few documents with other characters go through
    ``_preprocess`` together (normalization, ``str.lower``, whose result may
    depend on neighbours as Greek final sigma does, and accent stripping act
    on each document alone) and are written back. Returns the buffer and its
    NUL offsets.
    """
    raw = data.tobytes()
    base = np.frombuffer(raw.lower() if lowercase else raw, dtype=np.uint8)
    high = np.flatnonzero(data >= 0x80)
    if not high.size:
        return base, nul
    doc = np.searchsorted(nul, high)  # sorted: the document of each non-ASCII byte
    which = doc[np.concatenate(([True], doc[1:] != doc[:-1]))]
    text = _preprocess([docs[i] for i in which.tolist()], unicode_form, lowercase, strip_accents)[0]
    starts = np.concatenate(([0], nul + 1))[which]
    ends = np.concatenate((nul, [data.size]))[which]
    # Those documents' bytes, each with the NUL after it (if any), in one index.
    lengths = np.minimum(ends + 1, data.size) - starts
    inside = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    inside += np.arange(inside.size)
    encoded = text.encode("utf-8") + (b"\0" if ends[-1] < data.size else b"")
    new = np.frombuffer(encoded, dtype=np.uint8)
    if new.size == inside.size and np.array_equal(new == 0, data[inside] == 0):
        # Every document kept its length (the usual case): write them back in place.
        result = base.copy()
        result[inside] = new
        return result, nul
    out: list[bytes] = []
    previous = 0
    base_raw = base.tobytes()
    for a, b, piece in zip(starts.tolist(), ends.tolist(), encoded.split(b"\0"), strict=False):
        out += (base_raw[previous:a], piece)
        previous = b
    out.append(base_raw[previous:])
    result = np.frombuffer(b"".join(out), dtype=np.uint8)
    return result, np.flatnonzero(result == 0)


def _byte_classes(
    data: npt.NDArray[np.uint8], table: npt.NDArray[np.uint8]
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.bool_]]:
    """The class of the character each UTF-8 byte belongs to, and where characters start.

    ASCII bytes are looked up directly; each multi-byte character is decoded
    from its lead and continuation bytes, and its class given to all its bytes,
    so that runs of word bytes are exactly the runs of word characters.
    """
    classes = np.frombuffer(data.tobytes().translate(_ascii_class_bytes()), dtype=np.uint8)
    classes = classes.copy()
    lead = np.flatnonzero(data >= 0xC0)
    n_bytes = 2 + (data[lead] >= 0xE0).astype(np.int64) + (data[lead] >= 0xF0)
    code = data[lead].astype(np.int64)
    code &= np.where(n_bytes == 2, 0x1F, np.where(n_bytes == 3, 0x0F, 0x07))
    last = data.size - 1
    for k in (1, 2, 3):
        # Valid UTF-8 (str.encode made it): a character's bytes never run past the end.
        following = data[np.minimum(lead + k, last)] & 0x3F
        code = np.where(n_bytes > k, (code << 6) | following, code)
    lead_class = table[code]
    for k in (0, 1, 2, 3):
        more = n_bytes > k
        classes[lead[more] + k] = lead_class[more]
    char_start = (data[1:] & 0xC0) != 0x80
    return classes, char_start


def normalize_text(
    text: str,
    unicode_form: NormalForm | None,
    lowercase: bool,
    strip_accents: AccentStrip | None = None,
) -> str:
    """Apply the normalization, lowercasing and accent stripping of the tokenizers to one text."""
    return _preprocess([text], unicode_form, lowercase, strip_accents)[0]


def preprocess_docs(
    docs: list[str],
    unicode_form: NormalForm | None,
    lowercase: bool,
    strip_accents: AccentStrip | None,
) -> list[str]:
    """The built-in preprocessing of each document, as a list (for the per-document paths)."""
    if unicode_form is None and not lowercase and strip_accents is None:
        return docs
    text, doc_starts, _ = _preprocess(docs, unicode_form, lowercase, strip_accents)
    bounds = doc_starts.tolist()
    return [text[bounds[i] : bounds[i + 1] - 1] for i in range(len(docs))]


def regex_stream(
    docs: list[str],
    *,
    pattern: re.Pattern[str],
    unicode_form: NormalForm | None,
    lowercase: bool,
    strip_accents: AccentStrip | None = None,
    stop_words: frozenset[str] | None = None,
) -> TokenStream:
    """Tokenize ``docs`` with ``pattern.findall``, document by document (the slow path).

    Returns a ``spaced`` stream: the tokens joined with single spaces; tokens
    in ``stop_words`` are left out.
    """
    text, doc_starts, _ = _preprocess(docs, unicode_form, lowercase, strip_accents)
    text.encode("utf-8")  # raises on lone surrogates, as the fast path does
    bounds = doc_starts.tolist()
    # Slicing (not findall's pos/endpos) keeps ^, $ and look-behinds inside the document.
    found = [pattern.findall(text[bounds[i] : bounds[i + 1] - 1]) for i in range(len(docs))]
    if stop_words:
        found = [[t for t in tokens if t not in stop_words] for tokens in found]
    return list_stream(found)


def list_stream(token_lists: list[list[str]]) -> TokenStream:
    """A ``spaced`` stream of the given tokens of each document.

    Raises ``UnicodeEncodeError`` if a token holds a lone surrogate.
    """
    tokens = [t for doc_tokens in token_lists for t in doc_tokens]
    counts = np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists))
    joined = " ".join(tokens)
    raw = joined.encode("utf-8")
    if len(raw) == len(joined):
        lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
    else:
        lengths = np.fromiter(map(len, map(str.encode, tokens)), dtype=np.int64, count=len(tokens))
    starts = np.zeros(len(tokens), dtype=np.int64)
    np.cumsum(lengths[:-1] + 1, out=starts[1:])
    docs_of = np.repeat(np.arange(len(token_lists), dtype=np.int64), counts)
    return TokenStream(np.frombuffer(raw, dtype=np.uint8), starts, lengths, docs_of, spaced=True)


def drop_terms(stream: TokenStream, lookup: TermLookup) -> TokenStream:
    """The stream without the tokens that are terms of ``lookup`` (stop words)."""
    if not stream.starts.size:
        return stream
    keep = lookup.find(stream.data, stream.starts, stream.lengths) < 0
    if bool(keep.all()):
        return stream
    return TokenStream(
        stream.data, stream.starts[keep], stream.lengths[keep], stream.docs[keep], spaced=False
    )


Spans: TypeAlias = tuple[
    npt.NDArray[np.uint8], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]
]


def ngram_spans(stream: TokenStream, ngram_range: tuple[int, int], *, skip: int = 0) -> list[Spans]:
    """Return the n-grams of a token stream as byte spans, one part per ``n``.

    Part ``n`` is ``(data, starts, lengths, docs)``: the n-grams of ``n``
    consecutive tokens of one document joined with one space (U+0020), as
    scikit-learn joins them, in order of position (so ``docs`` is
    non-decreasing). Parts come in increasing ``n``: scikit-learn's analyzer
    order within a document. N-grams that end before token ``skip`` are left
    out (they were counted with the previous piece of a long text).

    Memory: if the stream is not ``spaced`` and ``ngram_range[1] > 1``, the
    tokens are first copied into a spaced buffer (about 6 bytes per byte of
    the stream's buffer); then 24 bytes per n-gram.
    """
    low, high = ngram_range
    data, starts, lengths, docs = stream.data, stream.starts, stream.lengths, stream.docs
    if high > 1 and not stream.spaced:
        data, starts = _spaced_copy(data, starts, lengths)
    n_tokens = int(starts.size)
    parts = []
    for n in range(low, high + 1):
        if n == 1:
            parts.append((data, starts[skip:], lengths[skip:], docs[skip:]))
            continue
        if n > n_tokens:
            break
        count = n_tokens - n + 1
        first = np.flatnonzero(docs[:count] == docs[n - 1 :])
        if skip:
            first = first[first + (n - 1) >= skip]
        last = first + (n - 1)
        first_starts = starts[first]
        parts.append((data, first_starts, starts[last] + lengths[last] - first_starts, docs[first]))
    return parts


def _spaced_copy(
    data: npt.NDArray[np.uint8], starts: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Copy the tokens into a new buffer, each followed by one space byte.

    Output byte ``j`` of token ``t`` comes from ``j - new_starts[t] + starts[t]``
    (its space from the byte after the token, then overwritten): one gather.
    Memory: 4 bytes per output byte for the source offsets (8 past 2**31 bytes).
    """
    new_starts = np.zeros(starts.size, dtype=np.int64)
    np.cumsum(lengths[:-1] + 1, out=new_starts[1:])
    size = int(new_starts[-1] + lengths[-1]) + 1 if starts.size else 0
    index_dtype = np.int32 if max(size, data.size + 1) < 2**31 else np.int64
    source = np.repeat((starts - new_starts).astype(index_dtype), lengths + 1)
    source += np.arange(size, dtype=index_dtype)
    padded = np.empty(data.size + 1, dtype=np.uint8)
    padded[:-1] = data
    out = np.take(padded, source)
    out[new_starts + lengths] = 0x20
    return out, new_starts


def char_spans(
    docs: list[str],
    ngram_range: tuple[int, int],
    *,
    unicode_form: NormalForm | None,
    lowercase: bool,
    strip_accents: AccentStrip | None,
    word_bounded: bool,
    skip: int = 0,
) -> list[Spans]:
    """Character n-grams of ``docs`` as byte spans (scikit-learn's ``char`` / ``char_wb``).

    After the preprocessing, every run of two or more whitespace characters
    (``str.isspace``) becomes one space U+0020 (a lone whitespace character
    stays as it is). ``word_bounded=False``: the terms are the windows of
    ``n`` consecutive characters of each document. ``word_bounded=True``: the
    words are the maximal runs of non-whitespace characters, each padded with
    one space on both sides; the terms are the windows of ``n`` characters of
    each padded word with ``n <= len``, and a padded word shorter than
    ``min_n`` is itself a term, once. Parts come one per ``n`` (and one for the
    short padded words), each in order of position. Windows lying wholly in the
    first ``skip`` characters (counted with the previous piece of a long text)
    are left out; ``skip`` is only used without ``word_bounded``.

    Memory: about 40 bytes per character, plus 24 bytes per n-gram.
    """
    low, high = ngram_range
    text, doc_starts, points = _preprocess(docs, unicode_form, lowercase, strip_accents)
    text.encode("utf-8")  # a lone surrogate raises here, as in the other paths
    codes = _code_points(text, points)
    n = int(codes.size)
    space = whitespace_table()[codes]
    separator = np.zeros(n, dtype=bool)
    separator[doc_starts[1:-1] - 1] = True
    if not word_bounded:
        # Runs of 2+ whitespace characters become one space; NUL separators are not
        # whitespace, so no run crosses a document boundary.
        pair = space[1:] & space[:-1]
        drop = np.zeros(n, dtype=bool)
        drop[1:] = pair
        if bool(pair.any()):
            head = np.zeros(n, dtype=bool)
            head[:-1] = pair & ~drop[:-1]
            codes = codes.copy()
            codes[head] = 0x20
            keep = ~drop
            codes = codes[keep]
            before = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(keep, out=before[1:])
            doc_starts = before[np.minimum(doc_starts, n)]
            doc_starts[-1] = codes.size + 1
        seg_starts = doc_starts[:-1]
        seg_lengths = np.diff(doc_starts) - 1
        seg_docs = np.arange(len(docs), dtype=np.int64)
    else:
        inside = np.zeros(n + 2, dtype=bool)
        np.logical_not(space | separator, out=inside[1:-1])
        bounds = np.flatnonzero(inside[1:] != inside[:-1])
        starts, ends = bounds[0::2], bounds[1::2]
        seg_lengths = ends - starts + 2
        seg_docs = np.searchsorted(doc_starts, starts, side="right") - 1
        seg_starts = np.zeros(starts.size, dtype=np.int64)
        np.cumsum(seg_lengths[:-1], out=seg_starts[1:])
        padded = np.full(int(seg_lengths.sum()), 0x20, dtype=codes.dtype)
        mark = np.zeros(n + 1, dtype=np.int8)
        mark[starts] = 1
        mark[ends] -= 1
        in_word = np.cumsum(mark[:-1]).astype(bool)
        first = np.zeros(n, dtype=np.int64)
        first[starts] = 1
        word_of = np.cumsum(first) - 1
        source = np.flatnonzero(in_word)
        padded[source + (seg_starts + 1 - starts)[word_of[source]]] = codes[source]
        codes = padded
    data, offsets = _utf8(codes)
    total = int(seg_lengths.sum())
    pos = np.repeat(seg_starts - (np.cumsum(seg_lengths) - seg_lengths), seg_lengths)
    pos += np.arange(total, dtype=np.int64)
    end = np.repeat(seg_starts + seg_lengths, seg_lengths)
    row = np.repeat(seg_docs, seg_lengths)
    parts: list[Spans] = []
    for size in range(low, high + 1):
        fits = pos + size <= end
        if not bool(fits.any()):
            break
        if skip:
            fits &= pos + size > skip
        where = np.flatnonzero(fits)
        first_chars = pos[where]
        byte_starts = offsets[first_chars]
        parts.append((data, byte_starts, offsets[first_chars + size] - byte_starts, row[where]))
    if word_bounded:
        short = np.flatnonzero(seg_lengths < low)
        byte_starts = offsets[seg_starts[short]]
        lengths = offsets[seg_starts[short] + seg_lengths[short]] - byte_starts
        parts.append((data, byte_starts, lengths, seg_docs[short]))
    return parts


@functools.cache
def whitespace_table() -> npt.NDArray[np.bool_]:
    """Whether each code point is whitespace (``str.isspace``, which is ``re``'s ``\\s``)."""
    every = np.arange(0x110000, dtype="<u4").tobytes().decode("utf-32-le", "surrogatepass")
    table = np.zeros(0x110000, dtype=bool)
    for match in re.finditer(r"\s+", every):
        table[match.start() : match.end()] = True
    table.flags.writeable = False
    return table


@functools.cache
def combining_table() -> npt.NDArray[np.bool_]:
    """Whether each code point has a nonzero canonical combining class (built once, ~0.2 s)."""
    table = np.fromiter(
        (unicodedata.combining(chr(c)) != 0 for c in range(0x110000)), dtype=bool, count=0x110000
    )
    table.flags.writeable = False
    return table


def _code_points(text: str, points: npt.NDArray[np.uint32] | None) -> npt.NDArray[Any]:
    """The code points of ``text``: uint8 for ASCII text, else uint32."""
    if text.isascii():
        return np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    if points is None:
        points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    return points


def _utf8(codes: npt.NDArray[Any]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """UTF-8 bytes of code points, and the byte offset of each (one more at the end)."""
    n = int(codes.size)
    if codes.dtype == np.uint8:
        return codes, np.arange(n + 1, dtype=np.int64)
    text = codes.astype("<u4").tobytes().decode("utf-32-le", "surrogatepass")
    data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    utf8_len = np.ones(n, dtype=np.uint8)
    utf8_len += codes >= 0x80
    utf8_len += codes >= 0x800
    utf8_len += codes >= 0x10000
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(utf8_len, out=offsets[1:])
    return data, offsets


def _strip_accents(text: str, mode: AccentStrip) -> str:
    """scikit-learn's ``strip_accents_ascii`` / ``strip_accents_unicode`` of a whole text.

    NFKD, then drop every non-ASCII character ("ascii") or every character
    with a nonzero combining class ("unicode"). Both act character by
    character after NFKD, which never reorders across NUL, so applying them to
    the NUL-joined batch equals applying them document by document.
    """
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    if mode == "ascii":
        return decomposed.encode("ascii", "ignore").decode("ascii")
    points = np.frombuffer(decomposed.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    marks = combining_table()[points]
    if not bool(marks.any()):
        return decomposed
    return str(points[~marks].tobytes().decode("utf-32-le", "surrogatepass"))


def _preprocess(
    docs: list[str],
    unicode_form: NormalForm | None,
    lowercase: bool,
    strip_accents: AccentStrip | None = None,
    *,
    joined: str | None = None,
) -> tuple[str, npt.NDArray[np.int64], npt.NDArray[np.uint32] | None]:
    """Normalize, lowercase and strip the accents of the batch.

    Returns the NUL-joined text, ``doc_starts`` (``len(docs) + 1`` entries:
    document ``i`` is ``text[doc_starts[i] : doc_starts[i + 1] - 1]``) and,
    when it was computed on the way, the text's code points (else None).
    ``joined`` is ``"\\0".join(docs)``, if the caller has it.
    """
    if joined is None:
        joined = "\0".join(docs)
    if unicode_form is None and not lowercase and strip_accents is None:
        return joined, _starts_from_lengths(docs), None
    if joined.count("\0") != len(docs) - 1:
        # Some document contains NUL itself: the separators are ambiguous, go one by one.
        out = []
        for doc in docs:
            if unicode_form is not None:
                doc = unicodedata.normalize(unicode_form, doc)
            if lowercase:
                doc = doc.lower()
            out.append(doc if strip_accents is None else _strip_accents(doc, strip_accents))
        return "\0".join(out), _starts_from_lengths(out), None
    text, points = joined, None
    if unicode_form is not None:
        text, points = _decompose_singletons(text, unicode_form)
        text, points = _normalize_documents(text, points, unicode_form)
    if lowercase:
        lowered = text.lower()
        if lowered != text:
            text, points = lowered, None
    if strip_accents is not None:
        stripped = _strip_accents(text, strip_accents)
        if stripped != text:
            text, points = stripped, None
    if len(text) == len(joined) and unicode_form is None and strip_accents is None:
        # Lowercasing never shortens a character, so equal lengths mean equal offsets.
        return text, _starts_from_lengths(docs), points
    if text.isascii():
        nul = np.flatnonzero(np.frombuffer(text.encode("ascii"), dtype=np.uint8) == 0)
    else:
        if points is None:
            points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
        nul = np.flatnonzero(points == 0)
    doc_starts = np.empty(len(docs) + 1, dtype=np.int64)
    doc_starts[0] = 0
    doc_starts[1:-1] = nul + 1
    doc_starts[-1] = len(text) + 1
    return text, doc_starts, points


def _decompose_singletons(text: str, form: NormalForm) -> tuple[str, npt.NDArray[np.uint32] | None]:
    """Replace each character whose full decomposition is one character by that character.

    The normal forms are unchanged by it (they start by fully decomposing every
    character), but afterwards far more texts pass ``unicodedata``'s quick
    check: fullwidth punctuation in CJK text would otherwise send the whole
    batch through the slow full normalization. Also returns the code points of
    the result (None for ASCII text).
    """
    if text.isascii():
        return text, None
    points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    # No ASCII character has a decomposition: look up the others only (real English
    # prose has a few of them).
    high = np.flatnonzero(points >= 0x80)
    before = points[high]
    after = _singleton_table(form.startswith("NFK"))[before]
    if np.array_equal(after, before):
        return text, points
    mapped = points.copy()
    mapped[high] = after
    return str(mapped.astype("<u4").tobytes().decode("utf-32-le", "surrogatepass")), mapped


def _normalize_documents(
    text: str, points: npt.NDArray[np.uint32] | None, form: NormalForm
) -> tuple[str, npt.NDArray[np.uint32] | None]:
    """``unicodedata.normalize(form, text)`` for NUL-separated documents free of NUL.

    NUL neither composes nor reorders with its neighbours, so each document
    normalizes on its own; a document made only of characters that
    :func:`_unstable` clears is unchanged by it. Only the other documents go
    through ``unicodedata`` (one call for all of them): real text in a Latin
    script has a few characters outside ASCII in a few lines, which would
    otherwise send the whole batch through the full normalization. Returns the
    code points too when the text is unchanged (None for ASCII text).
    """
    if points is None:  # ASCII: every normal form of it is itself
        return text, None
    unstable = _unstable(points, form)
    if not unstable.any():
        return text, points
    nul = np.flatnonzero(points == 0)
    docs = np.unique(np.searchsorted(nul, np.flatnonzero(unstable)))
    if 2 * docs.size > nul.size + 1:  # most documents: one call over the whole text
        normalized = unicodedata.normalize(form, text)
        return (text, points) if normalized == text else (normalized, None)
    starts = np.concatenate(([0], nul + 1))[docs].tolist()
    ends = np.concatenate((nul, [len(text)]))[docs].tolist()
    pieces = [text[a:b] for a, b in zip(starts, ends, strict=True)]
    normalized_pieces = unicodedata.normalize(form, "\0".join(pieces)).split("\0")
    if normalized_pieces == pieces:
        return text, points
    out: list[str] = []
    previous = 0
    for a, b, piece in zip(starts, ends, normalized_pieces, strict=True):
        out += (text[previous:a], piece)
        previous = b
    out.append(text[previous:])
    return "".join(out), None


# Per normal form, per code point: 1 if it may change under normalization in some context
# (see _unstable), 0 if not, -1 not looked up yet. Filled as code points are met.
_STABILITY: dict[str, npt.NDArray[np.int8]] = {}


def _unstable(points: npt.NDArray[np.uint32], form: NormalForm) -> npt.NDArray[np.bool_]:
    """Which characters may change, or change a neighbour, under normalization to ``form``.

    Stable: the character is its own normal form, has combining class 0 (never
    reordered) and is not a mark (general category M) nor a Hangul vowel or final
    jamo: every second character of a canonical composition is one of those, so a
    stable character never composes with what precedes it. A string of stable
    characters is its own normal form. Everything else counts as unstable (a
    superset is safe).
    """
    table = _STABILITY.get(form)
    if table is None:
        table = _STABILITY.setdefault(form, np.full(0x110000, -1, dtype=np.int8))
    # Every ASCII character is stable in every form: look up the others only.
    result = np.zeros(points.size, dtype=bool)
    high = np.flatnonzero(points >= 0x80)
    points = points[high]
    flags = table[points]
    unknown = flags < 0
    if unknown.any():
        for code in np.unique(points[unknown]).tolist():
            char = chr(code)
            stable = (
                unicodedata.is_normalized(form, char)
                and unicodedata.combining(char) == 0
                # Marks: every second character of a canonical composition is one.
                and not unicodedata.category(char).startswith("M")
                and not 0x1160 <= code <= 0x11FF  # Hangul vowels and finals compose
                and not 0xD800 <= code <= 0xDFFF
            )
            table[code] = 0 if stable else 1
        flags = table[points]
    result[high] = flags > 0
    return result


@functools.cache
def _singleton_table(compatibility: bool) -> npt.NDArray[np.uint32]:
    """Code point -> its full (compatibility or canonical) decomposition, if 1 character.

    Other code points map to themselves. Covers planes 0-2, where all
    singleton decompositions are; built in about 50 ms on first use.
    """
    form: NormalForm = "NFKD" if compatibility else "NFD"
    table = np.arange(0x110000, dtype=np.uint32)
    for code in range(0x30000):
        char = chr(code)
        if unicodedata.decomposition(char):
            full = unicodedata.normalize(form, char)
            if len(full) == 1:
                table[code] = ord(full)
    table.flags.writeable = False
    return table


def _starts_from_lengths(docs: list[str]) -> npt.NDArray[np.int64]:
    starts = np.zeros(len(docs) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, docs), dtype=np.int64, count=len(docs)) + 1, out=starts[1:])
    return starts


# -- term identity: exact, vectorized equality of byte spans ----------------------------

# Seeds of the two 32-bit hashes that make up a term's 64-bit lookup key. Only a
# shortcut: every match is confirmed byte by byte, so these never change a result.
_LOOKUP_SEEDS = (0x9747B28C, 0x5BD1E995)
# When at most this many span pairs are still equal after this many 4-byte steps, each is
# compared whole: a vectorized step costs microseconds however few pairs it touches.
_SCALAR_PAIRS = 4
_SCALAR_BLOCKS = 64


class TermLookup:
    """Exact term -> column lookup for byte spans, vectorized.

    Each term gets a 64-bit key from two MurmurHash3 values; a span's key is
    searched among the sorted term keys, and a hit is confirmed by comparing
    the bytes, so distinct terms never match even if their keys collide.
    """

    def __init__(self, terms: Sequence[str]) -> None:
        self.terms = list(terms)
        encoded = [t.encode("utf-8") for t in self.terms]
        lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
        starts = np.zeros(len(encoded), dtype=np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        self.data = np.frombuffer(b"".join(encoded) + b"\0\0\0\0", dtype=np.uint8)
        self.words = le_words(self.data)
        self.starts, self.lengths = starts, lengths
        keys = _key64(self.data, starts, lengths, self.words)
        self.order = np.argsort(keys, kind="stable")
        self.keys = keys[self.order]

    def find(
        self,
        data: npt.NDArray[np.uint8],
        starts: npt.NDArray[np.int64],
        lengths: npt.NDArray[np.int64],
        words: npt.NDArray[np.uint32] | None = None,
    ) -> npt.NDArray[np.int64]:
        """Column of each span's term, or -1 if it is not a vocabulary term.

        ``words`` is ``le_words(data)``, if the caller has it.
        """
        if words is None:
            words = le_words(data)
        keys = _key64(data, starts, lengths, words)
        result = np.full(keys.size, -1, dtype=np.int64)
        pos = np.searchsorted(self.keys, keys)
        todo = np.flatnonzero(pos < self.keys.size)
        pos = pos[todo]
        # Several terms may share a key (never seen, but possible): try each in turn.
        while todo.size:
            hit = self.keys[pos] == keys[todo]
            todo, pos = todo[hit], pos[hit]
            term = self.order[pos]
            same = _spans_equal(
                words,
                starts[todo],
                lengths[todo],
                self.words,
                self.starts[term],
                self.lengths[term],
            )
            result[todo[same]] = term[same]
            pos += 1
            more = ~same & (pos < self.keys.size)
            todo, pos = todo[more], pos[more]
        return result


def _key64(
    data: npt.NDArray[np.uint8],
    starts: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    words: npt.NDArray[np.uint32],
) -> npt.NDArray[np.uint64]:
    high = murmurhash3_32(data, starts, lengths, _LOOKUP_SEEDS[0], words=words)
    low = murmurhash3_32(data, starts, lengths, _LOOKUP_SEEDS[1], words=words)
    keys: npt.NDArray[np.uint64] = (high.astype(np.uint64) << np.uint64(32)) | low
    return keys


def _spans_equal(
    words_a: npt.NDArray[np.uint32],
    starts_a: npt.NDArray[np.int64],
    lengths_a: npt.NDArray[np.int64],
    words_b: npt.NDArray[np.uint32],
    starts_b: npt.NDArray[np.int64],
    lengths_b: npt.NDArray[np.int64],
) -> npt.NDArray[np.bool_]:
    """Whether each pair of byte spans is equal, compared 4 bytes at a time."""
    equal: npt.NDArray[np.bool_] = lengths_a == lengths_b
    idx = np.flatnonzero(equal)
    length = lengths_a[idx]
    pa, pb = starts_a[idx], starts_b[idx]
    block = 0
    while idx.size:
        if idx.size <= _SCALAR_PAIRS and int(length.max()) - 4 * block > 4 * _SCALAR_BLOCKS:
            # A few long spans left: compare each whole, in one step, not one step per word
            # (a single 1 MB token would otherwise take 250,000 steps).
            for i, n, a, b in zip(
                idx.tolist(), (length - 4 * block).tolist(), pa.tolist(), pb.tolist(), strict=True
            ):
                equal[i] = _span_equal(words_a, a, words_b, b, n)
            break
        remaining = length - 4 * block
        mask = np.where(remaining >= 4, 0xFFFFFFFF, (1 << (8 * remaining.clip(0, 3))) - 1)
        mask = mask.astype(np.uint32)
        differ = ((words_a[pa] ^ words_b[pb]) & mask) != 0
        equal[idx[differ]] = False
        go_on = ~differ & (remaining > 4)
        idx, length, pa, pb = idx[go_on], length[go_on], pa[go_on] + 4, pb[go_on] + 4
        block += 1
    return equal


def _span_equal(
    words_a: npt.NDArray[np.uint32], a: int, words_b: npt.NDArray[np.uint32], b: int, n: int
) -> bool:
    """Whether the ``n`` bytes at ``a`` (of ``words_a``) and ``b`` (of ``words_b``) are equal."""
    full = n // 4
    if not np.array_equal(words_a[a : a + 4 * full : 4], words_b[b : b + 4 * full : 4]):
        return False
    mask = np.uint32((1 << (8 * (n % 4))) - 1)
    return bool((words_a[a + 4 * full] ^ words_b[b + 4 * full]) & mask == 0)


def distinct_spans(
    data: npt.NDArray[np.uint8],
    starts: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    words: npt.NDArray[np.uint32],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Group equal byte spans exactly: (term index of each span, one span per term)."""
    keys = _key64(data, starts, lengths, words)
    term_of = np.full(keys.size, -1, dtype=np.int64)
    reps_parts = []
    todo = np.argsort(keys, kind="stable")
    n_terms = 0
    # Each round takes the first span of every key group as a term and claims the spans
    # equal to it; spans that merely share the key (never seen) wait for the next round.
    while todo.size:
        k = keys[todo]
        first = np.empty(todo.size, dtype=bool)
        first[0] = True
        np.not_equal(k[1:], k[:-1], out=first[1:])
        group = np.cumsum(first) - 1
        rep = todo[first][group]
        same = _spans_equal(words, starts[todo], lengths[todo], words, starts[rep], lengths[rep])
        term_of[todo[same]] = n_terms + group[same]
        reps_parts.append(todo[first])
        n_terms += int(first.sum())
        todo = todo[~same]
    reps = np.concatenate(reps_parts) if reps_parts else np.zeros(0, dtype=np.int64)
    return term_of, reps
