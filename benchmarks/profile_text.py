"""``python -m benchmarks --profile-text``: where the time of the real-text cases goes.

For the real-text cases (:func:`benchmarks.text.english_prose_lines`: lines
of the Python Language Reference and standard-library docstrings, at the parity
settings (1, 1) and (1, 2) and with the default tokenizer;
:func:`benchmarks.text.chinese_prose`: sentence groups of the novel 三国演义,
(1, 2) against ``analyzer="char"``),
prints the wall time of ``transform_sparse``, HashingVectorizer's time, the
floor (one bare ``re.findall`` of the token pattern over the joined, lowercased
batch; for Chinese, ``re.findall(".", ...)``: one string per character), and a
profile of mmref's call grouped by stage: the time
spent in functions of :mod:`mmref._tokenize` (tokenizing), :mod:`mmref._hashing`
(hashing), :mod:`mmref._text_counts` (counting) and everything else (NumPy,
SciPy, the encoder). The profiler slows Python-level code more than C code, so
the stage shares are indicative; the wall times are measured without it.
"""

from __future__ import annotations

import cProfile
import pstats
import re
import statistics
import time
from collections.abc import Callable
from typing import Any

from .text import chinese_prose, english_prose_lines

__all__ = ["main", "stage_times"]

_PATTERN = r"(?u)\b\w\w+\b"
_STAGES = {"_tokenize": "tokenizing", "_hashing": "hashing", "_text_counts": "counting"}


def _median_time(func: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _caller(method: Callable[[list[str]], object], texts: list[str]) -> Callable[[], object]:
    return lambda: method(texts)


def stage_times(func: Callable[[], object]) -> dict[str, float]:
    """Seconds of ``func()`` under cProfile, by stage (own time of each module's functions)."""
    profiler = cProfile.Profile()
    profiler.runcall(func)
    stats: Any = pstats.Stats(profiler)
    out = dict.fromkeys([*_STAGES.values(), "other"], 0.0)
    for (filename, _, _), (_, _, own, _, _) in stats.stats.items():
        module = filename.rsplit("/", 1)[-1].removesuffix(".py")
        out[_STAGES.get(module, "other")] += own
    return out


def main(*, quick: bool) -> int:
    """Print the profile of the real-text cases; return 0."""
    n_en, n_zh = (500, 200) if quick else (100_000, 20_000)
    rounds = 1 if quick else 5
    parity = {"token_pattern": _PATTERN, "unicode_form": None, "lowercase": True}
    parity |= {"weighting": "count", "alternate_sign": True}
    english = english_prose_lines(n_en)
    chinese = chinese_prose(n_zh)
    _profile(
        f"real English prose: {n_en} lines of the Language Reference and docstrings",
        english,
        re.compile(_PATTERN),
        [
            ("parity (1, 1)", parity, (1, 1), {}),
            ("parity (1, 2)", parity, (1, 2), {}),
            ("default tokenizer (1, 1)", {}, (1, 1), {}),
        ],
        rounds,
    )
    _profile(
        f"real Chinese prose: {n_zh} sentence groups of 三国演义 (chapters 1-9)",
        chinese,
        re.compile(".", re.DOTALL),
        [("default tokenizer (1, 2) vs analyzer='char'", {}, (1, 2), {"analyzer": "char"})],
        rounds,
    )
    return 0


def _profile(
    title: str,
    texts: list[str],
    pattern: re.Pattern[str],
    settings: list[tuple[str, dict[str, Any], tuple[int, int], dict[str, Any]]],
    rounds: int,
) -> None:
    from mmref.text import BagOfWordsTextEncoder

    try:
        from sklearn.feature_extraction.text import HashingVectorizer
    except ImportError:
        HashingVectorizer = None
    print(f"{title}, {sum(map(len, texts))} characters")
    floor = _median_time(lambda: pattern.findall("\n".join(texts).lower()), rounds)
    print(f"floor: one re.findall over the joined, lowercased batch: {floor:.3f} s")
    for name, options, ngram, peer_options in settings:
        encoder = BagOfWordsTextEncoder(
            n_features=2**20, ngram_range=ngram, normalize=False, **options
        )
        encoder.transform_sparse(texts[:10])
        run = _caller(encoder.transform_sparse, texts)
        mine = _median_time(run, rounds)
        line = f"{name}: mmref {mine:.3f} s ({mine / floor:.1f}x the floor)"
        if HashingVectorizer is not None:
            peer = HashingVectorizer(n_features=2**20, norm=None, ngram_range=ngram, **peer_options)
            theirs = _median_time(_caller(peer.transform, texts), rounds)
            line += f", HashingVectorizer {theirs:.3f} s: {theirs / mine:.2f}x"
        print(line)
        stages = stage_times(run)
        total = sum(stages.values()) or 1.0
        print(
            "   profile (own time, under cProfile): "
            + ", ".join(f"{k} {v:.3f} s ({100 * v / total:.0f}%)" for k, v in stages.items())
        )
    print()
