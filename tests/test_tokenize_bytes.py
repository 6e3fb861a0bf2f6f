"""Tokenizing mostly-ASCII text on its UTF-8 bytes (mmref/_tokenize.py, issue 19).

Real English prose has a few non-ASCII characters in most chunks; such a
batch is lowercased with ``bytes.lower`` (plus ``str.lower`` of the documents
holding other characters) and classified byte by byte. Both must give exactly
what ``str.lower`` of each document and the word rule on its characters give.
"""

from __future__ import annotations

import re

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from mmref import _tokenize

# Characters whose lowercase is longer, shorter, context-dependent (final sigma) or
# ASCII; CJK, supplementary-plane and combining characters; a word run across them.
TRICKY = "İΣΑΣÉéǅ\u2126\u212aßﬁ東京ｶ𠀀\u0345\u0301²Ⓐ_\u3000"
MOSTLY_ASCII = st.text(alphabet=st.sampled_from("abcXYZ09 ,.-" * 8 + TRICKY), max_size=30)
TOKEN_RULES = [(False, 2), (True, 1), (False, 1)]


def _utf8(docs: list[str]) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[type-arg]
    data = np.frombuffer("\0".join(docs).encode("utf-8"), dtype=np.uint8)
    return data, np.flatnonzero(data == 0)


# TRICKY's CJK characters: 東京 (unified ideographs), ｶ (halfwidth), 𠀀 (Extension B).
_CJK = "\u4e00-\u9fff\uff66-\uff9f\U00020000-\U0002a6df"
_CJK_SPLIT = re.compile(f"[{_CJK}]|[^{_CJK}]+")


def _expected_tokens(doc: str, split_cjk: bool, min_len: int) -> list[str]:
    tokens = []
    for run in re.findall(r"\w+", doc.lower()):
        pieces = _CJK_SPLIT.findall(run) if split_cjk else [run]
        tokens += [p for p in pieces if len(p) >= min_len]
    return tokens


PREPROCESSING = [
    (None, True, None),
    ("NFKC", True, None),
    ("NFC", False, None),
    ("NFKD", True, "unicode"),
    (None, True, "ascii"),
]


@given(docs=st.lists(MOSTLY_ASCII, min_size=1, max_size=10), steps=st.sampled_from(PREPROCESSING))
def test_prepare_utf8_is_the_preprocessing_of_each_document(
    docs: list[str], steps: tuple[str | None, bool, str | None]
) -> None:
    form, lower, accents = steps
    data, nul = _utf8(docs)
    out, out_nul = _tokenize._prepare_utf8(data, nul, docs, form, lower, accents)  # type: ignore[arg-type]
    one_by_one = [_tokenize.normalize_text(d, form, lower, accents) for d in docs]  # type: ignore[arg-type]
    expected = "\0".join(one_by_one).encode("utf-8")
    assert out.tobytes() == expected
    assert out_nul.tolist() == [i for i, b in enumerate(expected) if b == 0]


def test_prepare_utf8_keeps_lengths_or_splices() -> None:
    # Same length (written back in place), longer (İ), shorter (Ω sign), final sigma.
    for docs in (
        ["Café OK", "plain"],
        ["ABC", "İstanbul X", "Y"],
        ["\u2126 Ohm", "Z"],
        ["ΑΣ ΣΑΣ."],
    ):
        data, nul = _utf8(docs)
        out, _ = _tokenize._prepare_utf8(data, nul, docs, None, True, None)
        assert out.tobytes().decode("utf-8").split("\0") == [d.lower() for d in docs]


@given(docs=st.lists(MOSTLY_ASCII, min_size=1, max_size=10), rule=st.sampled_from(TOKEN_RULES))
def test_byte_tokens_are_the_character_tokens(docs: list[str], rule: tuple[bool, int]) -> None:
    split_cjk, min_len = rule
    docs = [*docs, "plain ascii words " * 8]  # mostly ASCII, so the byte path runs
    stream = _tokenize.word_stream(
        docs, unicode_form=None, lowercase=True, split_cjk=split_cjk, min_len=min_len
    )
    raw = stream.data.tobytes()
    got: list[list[str]] = [[] for _ in docs]
    for s, n, d in zip(
        stream.starts.tolist(), stream.lengths.tolist(), stream.docs.tolist(), strict=True
    ):
        got[d].append(raw[s : s + n].decode("utf-8"))
    assert got == [_expected_tokens(doc, split_cjk, min_len) for doc in docs]


def test_byte_classes_give_every_byte_its_character_class() -> None:
    text = "a é 東 𠀀 ²_-"
    data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    classes, char_start = _tokenize._byte_classes(data, _tokenize.char_classes())
    table = _tokenize.char_classes()
    expected = [int(table[ord(c)]) for c in text for _ in c.encode("utf-8")]
    assert classes.tolist() == expected
    starts = [i == 0 for c in text for i in range(len(c.encode("utf-8")))]
    assert [True, *char_start.tolist()] == starts


@given(
    data=st.binary(min_size=1, max_size=40),
    cuts=st.lists(st.integers(0, 40), max_size=12),
)
def test_spaced_copy_joins_the_tokens_with_spaces(data: bytes, cuts: list[int]) -> None:
    # Tokens: disjoint spans in order, adjacent or not, possibly ending at the last byte.
    bounds = sorted({min(c, len(data)) for c in cuts})
    spans = [(a, b) for a, b in zip(bounds[::2], bounds[1::2], strict=False) if b > a]
    starts = np.array([a for a, _ in spans], dtype=np.int64)
    lengths = np.array([b - a for a, b in spans], dtype=np.int64)
    buffer = np.frombuffer(data, dtype=np.uint8)
    out, new_starts = _tokenize._spaced_copy(buffer, starts, lengths)
    expected = b"".join(data[a:b] + b" " for a, b in spans)
    assert out.tobytes() == expected
    offsets = np.cumsum([0] + [b - a + 1 for a, b in spans])[:-1]
    assert new_starts.tolist() == offsets.tolist()
