"""The conformance kit's driver and examples: the kit's properties reach Hypothesis only here.

Importing this module imports :mod:`mmref.conformance.strategies` first, so a missing
Hypothesis gives that module's one-line install hint.
"""

# ruff: noqa: I001  (the order of the imports is the point; see the comment below)

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

# First, so that a missing Hypothesis raises strategies' one-line install hint.
from .strategies import (
    EMBEDDING_DTYPES,
    PIXEL_DTYPES,
    SCORE_DTYPES,
    embedding_pairs,
    feature_matrices,
    image_batches,
    score_matrices,
    text_batches,
)

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky
from hypothesis.extra import numpy as hnp


def run_examples(
    strategy: st.SearchStrategy[Any],
    body: Callable[[Any], None],
    max_examples: int | None,
    flaky: Callable[[BaseException], BaseException],
) -> None:
    """Run ``body`` on examples drawn from ``strategy``, as every conformance property does.

    Derandomized, without example database, deadline or health checks, and quiet;
    ``max_examples=None`` takes the active profile's. A failure is shrunk to a minimal
    example and replayed, so the exception that propagates is the minimal
    counterexample's; one that does not happen again on replay (Hypothesis's ``Flaky``)
    raises ``flaky(error)`` instead.
    """
    configured: Any = settings(
        max_examples=max_examples or settings().max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        print_blob=False,
    )
    decorate: Any = given(strategy)
    run: Callable[[], None] = configured(decorate(body))
    try:
        run()
    except Flaky as exc:
        raise flaky(exc) from None


# The strategies are built once and cached: building a strategy inside a draw costs more
# than the draw (Hypothesis inspects every composite function's source).


def draw_examples(strategy: st.SearchStrategy[Any], max_examples: int | None) -> list[Any]:
    """Deep copies of the examples Hypothesis draws from ``strategy`` for a passing test.

    The same settings as :func:`run_examples`, so a property checking these sees the
    examples its own search would draw (up to Hypothesis's seed).
    """
    drawn: list[Any] = []
    run_examples(
        strategy, lambda example: drawn.append(copy.deepcopy(example)), max_examples, _same
    )
    return drawn


def _same(exc: BaseException) -> BaseException:
    return exc


@functools.cache
def joint_embedding_examples(
    *, min_rows: int, dtypes: tuple[np.dtype[Any], ...] | None = None
) -> st.SearchStrategy[tuple[Any, Any, Any, Any]]:
    """(image_output, text_output, image, text) with matching row counts.

    The outputs' dtypes are drawn from ``dtypes`` (None: every one NumPy joins).
    """
    pairs = embedding_pairs(min_rows=min_rows, dtypes=dtypes or EMBEDDING_DTYPES)
    sizes = range(6)  # embedding_pairs draws at most 5 rows
    images = [image_batches(min_size=n, max_size=n, shape=(2, 3)) for n in sizes]
    captions = [text_batches(min_size=n, max_size=n, max_text_size=6) for n in sizes]

    @st.composite
    def draw(drawer: Any) -> tuple[Any, Any, Any, Any]:
        image_output, text_output = drawer(pairs)
        n = image_output.shape[0]
        return image_output, text_output, drawer(images[n]), drawer(captions[n])

    return draw()


def fixed(examples: Sequence[Any]) -> st.SearchStrategy[Any]:
    """Exactly these examples (Hypothesis stops once it has run each)."""
    return st.sampled_from(list(examples))


@functools.cache
def joint_embedding_source_errors() -> st.SearchStrategy[Any]:
    """Model outputs the source refuses: unequal row counts, or not 2-D but not both 3-D."""
    return st.one_of(
        bad_joint_embedding_examples(bad_rows=True),
        bad_joint_embedding_examples(bad_rows=False, source_raises=True),
    )


@functools.cache
def bad_joint_embedding_examples(
    *, bad_rows: bool, source_raises: bool = False
) -> st.SearchStrategy[Any]:
    """Bad model outputs: 2-D with unequal row counts if ``bad_rows``, else one or both not 2-D.

    With ``source_raises``, never two 3-D outputs (which the source joins without error).
    """
    dims = st.integers(0, 3)
    ndim_pairs = [(1, 1), (1, 2), (2, 1), (0, 2), (3, 3), (2, 3), (1, 3)]
    if source_raises:
        ndim_pairs.remove((3, 3))

    @st.composite
    def draw(drawer: Any) -> tuple[Any, Any, Any, Any]:
        dtype = drawer(st.sampled_from([np.float64, np.float32, np.int64]))
        n = drawer(st.integers(1, 4))
        if bad_rows:
            m = drawer(st.integers(0, 4).filter(lambda m: m != n))
            shapes: list[tuple[int, ...]] = [(n, drawer(dims)), (m, drawer(dims))]
        else:
            ndims = drawer(st.sampled_from(ndim_pairs))
            shapes = [shape_of_ndim(nd, n, drawer(st.integers(1, 3))) for nd in ndims]
        if drawer(st.booleans()):
            shapes.reverse()
        arrays = [drawer(_small_int_arrays(np.dtype(dtype), s)) for s in shapes]
        return arrays[0], arrays[1], np.zeros((n, 2, 3)), ["t"] * n

    return draw()


@functools.lru_cache(maxsize=1024)
def _small_int_arrays(dtype: np.dtype[Any], shape: tuple[int, ...]) -> st.SearchStrategy[Any]:
    return hnp.arrays(dtype, shape, elements=st.integers(-3, 3))


def shape_of_ndim(ndim: int, n: int, d: int) -> tuple[int, ...]:
    return {0: (), 1: (d,), 2: (n, d), 3: (n, d, 2)}[ndim]


@functools.cache
def classification_examples(
    dtypes: tuple[np.dtype[Any], ...] | None = None,
) -> st.SearchStrategy[tuple[Any, Any, Any]]:
    """(scores, joint_embedding, labels); the scores' dtypes from ``dtypes`` (None: any real)."""
    scores_strategy = score_matrices(dtypes=dtypes or SCORE_DTYPES)
    joints = [feature_matrices(2, min_rows=n, max_rows=n) for n in range(9)]  # n <= 8

    @st.composite
    def draw(drawer: Any) -> tuple[Any, Any, Any]:
        scores = drawer(scores_strategy)
        n, k = scores.shape
        joint = drawer(joints[n]) if n else np.zeros((0, 2))
        labels = drawer(
            st.sampled_from([None, [f"class {k - j}" for j in range(k)], np.arange(k) + 10])
        )
        return scores, joint, labels

    return draw()


@functools.cache
def unique_max_scores() -> st.SearchStrategy[tuple[Any, Any, Any]]:
    """Square and non-square score matrices whose rows each have one strict maximum."""

    @st.composite
    def draw(drawer: Any) -> tuple[Any, Any, Any]:
        n = drawer(st.integers(1, 5))
        k = drawer(st.sampled_from([n, drawer(st.integers(1, 5))]))
        best = drawer(st.lists(st.integers(0, k - 1), min_size=n, max_size=n))
        scores = np.zeros((n, k))
        scores[np.arange(n), best] = 1.0
        return scores, np.zeros((n, 2)), None

    return draw()


@functools.cache
def bad_classification_examples(kind: str) -> st.SearchStrategy[tuple[Any, Any, Any]]:
    """Examples ``multimodal_classification`` must reject: ``kind`` is "nan", "rows" or "shape".

    Or "source": the scores the source refuses (0-D, 1-D, no columns; not 3-D).
    """
    scores_strategy = score_matrices(min_rows=1, max_rows=4, dtypes=[np.float64, np.float32])

    @st.composite
    def draw(drawer: Any) -> tuple[Any, Any, Any]:
        scores = drawer(scores_strategy)
        n, k = scores.shape
        if kind == "nan":
            rows = drawer(st.sets(st.integers(0, n - 1), min_size=1))
            for r in rows:
                scores[r, drawer(st.integers(0, k - 1))] = np.nan
            return scores, np.zeros((n, 2)), None
        if kind == "rows":
            m = drawer(st.integers(0, 5).filter(lambda m: m != n))
            return scores, np.zeros((m, 2)), None
        ndims: list[Any] = [0, 1, "no columns"] if kind == "source" else [0, 1, 3, "no columns"]
        ndim = drawer(st.sampled_from(ndims))
        if ndim == "no columns":
            return np.zeros((n, 0), scores.dtype), np.zeros((n, 2)), None
        bad = {0: scores[0, 0], 1: scores[0], 3: scores[:, :, None]}[ndim]
        rows = 1 if ndim in (0, 1) else n
        return np.asarray(bad), np.zeros((rows, 2)), None

    return draw()


def embedding_model_examples(
    shape: tuple[int, ...] | None, dtypes: Sequence[npt.DTypeLike] | None
) -> st.SearchStrategy[tuple[Any, Any]]:
    """(images, texts): N images of ``shape`` and ``dtypes`` (None: any) and N texts."""
    dtype_pool = st.sampled_from([np.dtype(d) for d in dtypes or PIXEL_DTYPES])
    sizes = range(5)
    batches = [image_batches(min_size=n, max_size=n, shape=shape, dtype=dtype_pool) for n in sizes]
    captions = [text_batches(min_size=n, max_size=n) for n in sizes]

    @st.composite
    def draw(drawer: Any) -> tuple[Any, Any]:
        n = drawer(st.integers(1, 4))
        return drawer(batches[n]), drawer(captions[n])

    return draw()
