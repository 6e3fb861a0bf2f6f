"""Deterministic benchmark data from mmref's counter-based hashing.

Every value is a pure function of (seed, stream, index) through
:func:`mmref.testing.mix64`: the same data on every machine and in every
process (the memory subprocess regenerates exactly what the timing process
used). Streams are SplitMix64 sequences ``mix64(key + GOLDEN * i)`` with
``key = derive_key(seed, stream)``.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import numpy.typing as npt

from mmref.testing import GOLDEN, derive_key, mix64

__all__ = [
    "chinese_sentences",
    "classification_data",
    "english_captions",
    "hash_bits",
    "images",
    "uniform",
    "zipf_ranks",
]

_PIXEL_PERIOD = 1_000_003

_STREAM_IMAGES = 1
_STREAM_WORDS = 2
_STREAM_LENGTHS = 3
_STREAM_CHARS = 4
_STREAM_LABELS = 5
_STREAM_CENTERS = 6
_STREAM_NOISE = 7
_STREAM_VOCAB = 8


def hash_bits(seed: int, stream: int, start: int, stop: int) -> npt.NDArray[np.uint64]:
    """Words ``start:stop`` of the SplitMix64 stream of ``derive_key(seed, stream)``."""
    counter = np.arange(start, stop, dtype=np.uint64)
    counter *= np.uint64(GOLDEN)
    counter += np.uint64(derive_key(seed, stream))
    return mix64(counter)


def uniform(seed: int, stream: int, n: int, *, start: int = 0) -> npt.NDArray[np.float64]:
    """``n`` floats in [0, 1) with 53 random bits each."""
    bits = hash_bits(seed, stream, start, start + n)
    # The int64 view converts much faster than astype from uint64; the top 53 bits fit.
    out: npt.NDArray[np.float64] = (bits >> np.uint64(11)).view(np.int64) * (1.0 / (1 << 53))
    return out


def images(n: int, d: int, dtype: Any, *, seed: int = 0) -> npt.NDArray[Any]:
    """An ``(n, d)`` C-contiguous array of pixels uniform in [0, 1).

    Filled row-major with a block of ``_PIXEL_PERIOD`` hashed values, repeated:
    hashing 75 million pixels would take seconds per case, and a projection's
    speed does not depend on the values. The period is prime, so no two
    neighbouring images are equal.
    """
    out = np.empty((n, d), dtype=dtype)
    flat = out.reshape(-1)
    block = uniform(seed, _STREAM_IMAGES, _PIXEL_PERIOD).astype(dtype)
    for a in range(0, flat.size, _PIXEL_PERIOD):
        b = min(a + _PIXEL_PERIOD, flat.size)
        flat[a:b] = block[: b - a]
    return out


def zipf_ranks(u: npt.NDArray[np.float64], n_ranks: int, exponent: float) -> npt.NDArray[np.intp]:
    """Map uniforms to ranks ``0..n_ranks-1`` with P(rank r) proportional to (r+1)**-exponent."""
    weights = np.arange(1, n_ranks + 1, dtype=np.float64) ** -exponent
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    ranks: npt.NDArray[np.intp] = np.minimum(np.searchsorted(cdf, u, side="right"), n_ranks - 1)
    return ranks


_SYLLABLES = [c + v for c in "bcdfghklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ou", "ea")]
# The most frequent ranks are real words, so that common captions look like captions.
_COMMON = (
    "a the of on in with and is at near two red blue small large dog cat man woman "
    "child street water table grass white black sitting standing running holding"
)
_FUNCTION_WORDS = _COMMON.split()


def _english_vocabulary(size: int, seed: int) -> list[str]:
    bits = hash_bits(seed, _STREAM_VOCAB, 0, 4 * size).reshape(size, 4)
    n_syll = len(_SYLLABLES)
    words = list(_FUNCTION_WORDS)
    for row in bits[len(words) :].tolist():
        length = 1 + row[0] % 3
        words.append("".join(_SYLLABLES[row[1 + i] % n_syll] for i in range(length)))
    return words[:size]


def english_captions(
    n: int, *, seed: int = 0, vocabulary_size: int = 20_000, exponent: float = 1.1
) -> list[str]:
    """``n`` English-like captions of 8-20 words from a Zipf-distributed vocabulary.

    The first word is capitalized and each caption ends with a full stop, as
    captions do.
    """
    vocab = np.array(_english_vocabulary(vocabulary_size, seed), dtype=object)
    lengths = 8 + (hash_bits(seed, _STREAM_LENGTHS, 0, n) % np.uint64(13)).astype(np.intp)
    ends = np.cumsum(lengths)
    words = vocab[zipf_ranks(uniform(seed, _STREAM_WORDS, int(ends[-1])), vocab.size, exponent)]
    captions = []
    start = 0
    for end in ends.tolist():
        text = " ".join(words[start:end])
        captions.append(text[:1].upper() + text[1:] + ".")
        start = end
    return captions


def chinese_sentences(
    n: int, *, seed: int = 0, n_characters: int = 3500, exponent: float = 1.0
) -> list[str]:
    """``n`` Chinese-like sentences of 10-40 CJK characters (Zipf over a character set).

    A comma follows every 8th character position with probability 1/2 and each
    sentence ends with a full stop, both full-width.
    """
    # A fixed set of code points in the CJK Unified Ideographs block (U+4E00..U+9FFF).
    charset = 0x4E00 + (hash_bits(seed, _STREAM_VOCAB, 0, n_characters) % np.uint64(0x5200))
    lengths = 10 + (hash_bits(seed, _STREAM_LENGTHS, 0, n) % np.uint64(31)).astype(np.intp)
    total = int(lengths.sum())
    codes = charset[zipf_ranks(uniform(seed, _STREAM_CHARS, total), n_characters, exponent)]
    codes = codes.astype(np.uint32)
    position = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    comma = (position % 8 == 7) & (hash_bits(seed, _STREAM_WORDS, 0, total) >> np.uint64(63) == 1)
    codes[comma] = ord("，")
    # One decode of the whole batch, sentences separated by newlines, then one split.
    ends = np.cumsum(lengths)
    joined = np.insert(codes, np.repeat(ends, 2), [ord("。"), ord("\n")] * n)
    return joined.tobytes().decode("utf-32-le").split("\n")[:n]


@functools.lru_cache(maxsize=1)
def classification_data(
    n: int, d: int, n_classes: int, *, seed: int = 0, separation: float = 0.15
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.intp]]:
    """Features ``(n, d)``: class centers plus uniform noise in [-1, 1); labels ``0..n_classes-1``.

    The last result is cached (six classifier cases share it); do not modify it.
    """
    labels = (hash_bits(seed, _STREAM_LABELS, 0, n) % np.uint64(n_classes)).astype(np.intp)
    centers = separation * (2.0 * uniform(seed, _STREAM_CENTERS, n_classes * d) - 1.0)
    X = 2.0 * uniform(seed, _STREAM_NOISE, n * d).reshape(n, d) - 1.0
    X += centers.reshape(n_classes, d)[labels]
    return X, labels
