"""Normalizing only the documents that can change (mmref/_tokenize.py, issue 19).

``_normalize_documents`` must give exactly ``unicodedata.normalize`` of the whole
NUL-joined batch, for every normal form, whatever mix of stable and unstable
characters the documents hold.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmref import _tokenize

FORMS = ("NFC", "NFD", "NFKC", "NFKD")
# Characters that compose, reorder or decompose, and stable ones around them.
TRICKY = (
    "e\u0301\u0327\u0323Ａ１，。é\u00a0ﬁ\u1100\u1161\u11a8가\u0bc6\u0bbe\u0b47\u0b3e"
    "\u212b\u2126\uf900\u0344ǅ①ｶﾞ\u3099\u309a か日本語 word-"
)


def _points(text: str) -> np.ndarray:  # type: ignore[type-arg]
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")


def _check(docs: list[str], form: str) -> None:
    text = "\0".join(docs)
    points = None if text.isascii() else _points(text)
    out, out_points = _tokenize._normalize_documents(text, points, form)  # type: ignore[arg-type]
    assert out == unicodedata.normalize(form, text)
    if out_points is not None:
        assert out_points.tobytes() == _points(out).tobytes()


@pytest.mark.parametrize("form", FORMS)
@given(docs=st.lists(st.text(alphabet=st.sampled_from(TRICKY + "ab ."), max_size=12), min_size=1))
def test_documents_normalize_as_the_whole_batch(form: str, docs: list[str]) -> None:
    _check(docs, form)


@pytest.mark.parametrize("form", FORMS)
@given(
    docs=st.lists(
        st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0")),
        min_size=1,
        max_size=8,
    )
)
def test_any_text_normalizes_as_the_whole_batch(form: str, docs: list[str]) -> None:
    _check(docs, form)


@pytest.mark.parametrize("form", FORMS)
def test_a_few_unstable_lines_among_many(form: str) -> None:
    # The case the shortcut is for: most documents are left as they are.
    docs = [f"plain English prose, line {i}" for i in range(50)]
    docs[7] = "cafe\u0301 ﬁne"
    docs[31] = "Å\u0327 ｶﾞ"
    _check(docs, form)
    _check(["日本語，。"] * 5 + ["e\u0301"], form)


def test_stable_characters_are_those_that_never_change() -> None:
    points = _points("a日。é\u0301\u1161\u0bbeＡ")
    flags = _tokenize._unstable(points, "NFKC").tolist()
    assert flags == [False, False, False, False, True, True, True, True]


def test_every_second_of_a_composition_is_a_mark_or_a_hangul_jamo() -> None:
    # The premise of _unstable, checked on this Python's Unicode database.
    for code in range(0x110000):
        parts = unicodedata.decomposition(chr(code)).split()
        if len(parts) == 2 and not parts[0].startswith("<"):
            second = chr(int(parts[1], 16))
            assert unicodedata.category(second).startswith("M") or "\u1160" <= second <= "\u11ff"


@pytest.mark.parametrize("form", FORMS)
def test_ascii_is_never_looked_up_because_it_never_changes(form: str) -> None:
    # The premise of skipping ASCII in _unstable and _decompose_singletons.
    for code in range(128):
        char = chr(code)
        assert unicodedata.normalize(form, char) == char
        assert unicodedata.combining(char) == 0
        assert not unicodedata.category(char).startswith("M")
        assert not unicodedata.decomposition(char)
    points = _points("plain ASCII, then é\u0301 and ﬁ")
    flags = _tokenize._unstable(points, form)  # type: ignore[arg-type]
    assert flags.shape == points.shape
    assert not flags[points < 0x80].any()
    assert flags[points == 0x301].all()  # the combining acute accent
