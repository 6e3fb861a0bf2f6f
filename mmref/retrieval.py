"""Exact cross-modal retrieval by cosine similarity.

Given query embeddings ``Q`` of shape ``(m, d)`` and gallery embeddings ``G``
of shape ``(n, d)`` (for example aligned image and text embeddings from
:class:`mmref.alignment.CCAAlignment`), the score of query ``i`` and gallery
row ``j`` is their cosine similarity::

    score[i, j] = (Q[i] / |Q[i]|) . (G[j] / |G[j]|)

where a zero row stays zero, so its score with everything is ``0``. Gallery
rows are ranked by the total order "higher score first, then lower gallery
index": ties are broken by the index, never by chance, so every result is
deterministic. :func:`search` returns the first ``k`` rows of that order;
:func:`paired_ranks` the position of row ``i`` in query ``i``'s order (the
pairs share a row index); :func:`recall_at_k` the fraction of queries whose
paired row is among the first ``k``.

Selection is exact (no approximate index). Scores are computed for blocks of
queries against the whole gallery (at most about ``2**20`` scores per block,
so memory is bounded whatever the number of queries). When the gallery has
more than ``4c`` rows, ``c = max(64, 2k)``, each query's scores are cut into
``c`` contiguous chunks: the ``k``-th largest chunk maximum ``t`` is a lower
bound on the ``k``-th best score (``k`` chunks each hold a score ``>= t``), so
only the entries scoring ``>= t``, typically a few times ``k``, are sorted by
``(-score, index)``. Otherwise ``argpartition`` selects ``k`` entries, those
tied with the ``k``-th score are resolved to the lowest indices, and the ``k``
are sorted by ``(-score, index)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ._hashing import derive_keys
from ._numeric import normalize_rows
from ._validation import as_embeddings, check_int_param, param_error
from .alignment import CCAAlignment

__all__ = ["paired_ranks", "recall_at_k", "retrieval_report", "search"]

# Scores per query block: 2**20 float64 values are 8 MiB. The selection adds
# temporaries of up to about 5 times that when most scores tie, far less otherwise.
_BLOCK_SCORES = 2**20

# Lower bound on the chunks per row of _smallest_k's prefilter (see there).
_MIN_CHUNKS = 64

# Folded into the seed of the permutation that breaks the training pairs of the
# "shuffled" baseline of retrieval_report (ASCII "shuffle").
_SHUFFLE_TAG = 0x73687566666C65


def search(
    queries: Any, gallery: Any, k: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    """Find the ``k`` gallery rows most cosine-similar to each query, exactly.

    Parameters
    ----------
    queries : array-like of shape (n_queries, d)
        Real, finite query embeddings.
    gallery : array-like of shape (n_gallery, d)
        Real, finite gallery embeddings of the same width ``d``.
    k : int
        Number of neighbours per query, ``1 <= k <= n_gallery``.

    Returns
    -------
    indices : ndarray of shape (n_queries, k), dtype intp
        Gallery row indices, best first: by descending cosine similarity,
        ties by ascending index.
    scores : ndarray of shape (n_queries, k), dtype float64
        The cosine similarities of those rows (``0`` for a zero vector).

    Raises
    ------
    ValueError
        If an input is not 2-D, has no columns, contains NaN or infinity, the
        widths differ, or ``k`` is outside ``[1, n_gallery]``.
    TypeError
        If an input is not real-valued or ``k`` is not an int.

    Notes
    -----
    Memory: a normalized float64 copy of the gallery (``8 * n_gallery * d``
    bytes), the outputs (``16 * n_queries * k`` bytes), and per block of
    ``b = max(1, 2**20 // n_gallery)`` queries the ``8 * b * n_gallery``
    bytes of scores plus selection temporaries: typically about as much
    again, at most about ``50 * b * n_gallery`` bytes (when most scores tie),
    so about 50 MiB at worst unless ``n_gallery > 2**20``. Time is
    ``O(n_queries * n_gallery * d)`` for the scores plus a few passes over
    them.

    Examples
    --------
    >>> from mmref.retrieval import search
    >>> indices, scores = search([[1.0, 0.0]], [[0.0, 1.0], [2.0, 0.0], [1.0, 0.0]], k=2)
    >>> indices
    array([[1, 2]])
    >>> scores
    array([[1., 1.]])
    """
    q, g = _check_pair(queries, gallery)
    k = _check_k(k, g.shape[0], owner="search")
    g = normalize_rows(g, copy=True)
    indices = np.empty((q.shape[0], k), dtype=np.intp)
    scores = np.empty((q.shape[0], k))
    for start, stop, neg in _negated_score_blocks(q, g):
        top = _smallest_k(neg, k)
        indices[start:stop] = top
        np.negative(np.take_along_axis(neg, top, axis=1), out=scores[start:stop])
    return indices, scores


def paired_ranks(queries: Any, gallery: Any) -> npt.NDArray[np.intp]:
    """Rank of each query's paired gallery row (the same row index), 0 for the best.

    The rank of pair ``i`` is its position in the order :func:`search` uses:
    ``#{j : score[i, j] > score[i, i]} + #{j < i : score[i, j] == score[i, i]}``.

    Parameters
    ----------
    queries : array-like of shape (n_pairs, d)
        Real, finite query embeddings; row ``i`` is paired with gallery row ``i``.
    gallery : array-like of shape (n_pairs, d)
        Real, finite gallery embeddings, as many rows as ``queries``.

    Returns
    -------
    ranks : ndarray of shape (n_pairs,), dtype intp
        Values in ``[0, n_pairs - 1]``.

    Notes
    -----
    Memory: as :func:`search` (without the outputs), plus two boolean
    ``(b, n_pairs)`` masks per block.

    Examples
    --------
    >>> from mmref.retrieval import paired_ranks
    >>> # Query 1 scores both gallery rows equally: the tie goes to row 0.
    >>> paired_ranks([[1.0, 0.0], [1.0, 1.0]], [[0.9, 0.1], [0.1, 0.9]])
    array([0, 1])
    """
    q, g = _check_pair(queries, gallery)
    if q.shape[0] != g.shape[0]:
        raise ValueError(
            f"queries has {q.shape[0]} rows but gallery has {g.shape[0]}; paired retrieval "
            f"expects row i of queries to be paired with row i of gallery, the same "
            f"number of rows for both."
        )
    g = normalize_rows(g, copy=True)
    columns = np.arange(g.shape[0])
    ranks = np.empty(q.shape[0], dtype=np.intp)
    for start, stop, neg in _negated_score_blocks(q, g):
        rows = np.arange(start, stop)
        own = neg[rows - start, rows][:, None]
        better = np.count_nonzero(neg < own, axis=1)
        tied_before = np.count_nonzero((neg == own) & (columns < rows[:, None]), axis=1)
        ranks[start:stop] = better + tied_before
    return ranks


def recall_at_k(queries: Any, gallery: Any, k: int) -> float:
    """Fraction of queries whose paired gallery row is among their ``k`` nearest.

    Row ``i`` of ``queries`` is paired with row ``i`` of ``gallery``; "among
    the ``k`` nearest" uses the tie rule of :func:`search` (equivalently,
    ``paired_ranks(queries, gallery) < k``).

    Parameters
    ----------
    queries : array-like of shape (n_pairs, d)
        Real, finite query embeddings.
    gallery : array-like of shape (n_pairs, d)
        Real, finite gallery embeddings, as many rows as ``queries``.
    k : int
        ``1 <= k <= n_pairs``. Retrieving at random gives ``k / n_pairs``.

    Returns
    -------
    recall : float
        In ``[0, 1]``; ``0.0`` for zero pairs is impossible (``k`` would be
        out of range).

    Examples
    --------
    >>> from mmref.retrieval import recall_at_k
    >>> recall_at_k([[1.0, 0.0], [1.0, 1.0]], [[0.9, 0.1], [0.1, 0.9]], k=1)
    0.5
    """
    q, g = _check_pair(queries, gallery)
    k = _check_k(k, g.shape[0], owner="recall_at_k")
    ranks = paired_ranks(q, g)
    return int(np.count_nonzero(ranks < k)) / len(ranks)


def retrieval_report(
    image_train: Any,
    text_train: Any,
    image_test: Any,
    text_test: Any,
    *,
    ks: Sequence[int] = (1, 5),
    n_components: int = 32,
    reg: float = 1e-3,
    labels_test: Any = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Cross-modal retrieval on held-out pairs: aligned, shuffled-pairs baseline, chance.

    Fits :class:`~mmref.alignment.CCAAlignment` on the training pairs, maps the
    test embeddings into the shared space and measures paired recall@k in both
    directions: image-to-text (each test image queries the test captions; a
    hit is its own caption) and text-to-image.

    Raw image and text embeddings usually have different widths, so no cosine
    between them is defined. The baseline is therefore the same CCA fitted on
    *shuffled* training pairs, ``(image_train, text_train[perm])``, where
    ``perm`` lists ``i = 0 .. n_train - 1`` by ascending
    ``derive_key(seed, 0x73687566666C65, i)``: the same pipeline and
    shared-space width with no pairing to learn from. It lands near chance,
    ``k / n_test``. When the widths happen to be equal, the raw embeddings are
    scored too (key ``"raw"``).

    Parameters
    ----------
    image_train, text_train : array-like of shape (n_train, d_image), (n_train, d_text)
        Paired training embeddings.
    image_test, text_test : array-like of shape (n_test, d_image), (n_test, d_text)
        Paired test embeddings.
    ks : sequence of int, default=(1, 5)
        Cut-offs, each in ``[1, n_test]``.
    n_components, reg : int, float
        Passed to :class:`~mmref.alignment.CCAAlignment`.
    labels_test : array-like of shape (n_test,), default=None
        Class labels of the test pairs. If given, the report also holds the
        class-level precision@k: the mean fraction of a query's ``k`` nearest
        that share its label (chance: ``sum_c (n_c / n_test)**2``).
    seed : int, default=0
        Seed of the permutation of the shuffled baseline.

    Returns
    -------
    report : dict
        ``{"n_train", "n_test", "n_components", "canonical_correlations",
        "chance", "aligned", "shuffled", "raw"}`` and, with labels,
        ``"class_chance"``. ``chance`` maps ``"recall@k"`` to ``k / n_test``;
        ``aligned``, ``shuffled`` and ``raw`` (``None`` when the widths differ)
        map ``"image_to_text"`` and ``"text_to_image"`` to
        ``{"recall@k": float}`` and, with labels, also ``{"precision@k": float}``.
        All values are plain Python numbers, ready for ``json.dumps``.
    """
    owner = "retrieval_report"
    xtr = as_embeddings(image_train, name="image_train")
    ytr = as_embeddings(text_train, name="text_train")
    xte = as_embeddings(image_test, name="image_test")
    yte = as_embeddings(text_test, name="text_test")
    n_test = xte.shape[0]
    if yte.shape[0] != n_test:
        raise ValueError(
            f"image_test has {n_test} rows but text_test has {yte.shape[0]}; expected one "
            f"row per image-text pair, the same number for both."
        )
    if isinstance(ks, str | bytes) or not isinstance(ks, Sequence) or len(ks) == 0:
        raise param_error(owner, "ks", "a non-empty sequence of ints", ks)
    cutoffs = [_check_k(k, n_test, owner=owner, name="ks") for k in ks]
    labels = None
    if labels_test is not None:
        labels = np.asarray(labels_test)
        if labels.shape != (n_test,):
            raise ValueError(
                f"labels_test has shape {labels.shape}; expected ({n_test},), one label per "
                f"test pair."
            )
    seed = check_int_param(seed, name="seed", owner=owner)

    aligned = CCAAlignment(n_components, reg=reg).fit(xtr, ytr)
    shuffled = CCAAlignment(n_components, reg=reg).fit(xtr, ytr[_shuffle(seed, ytr.shape[0])])

    def directions(images: npt.NDArray[Any], texts: npt.NDArray[Any]) -> dict[str, Any]:
        return {
            "image_to_text": _scores(images, texts, cutoffs, labels),
            "text_to_image": _scores(texts, images, cutoffs, labels),
        }

    report: dict[str, Any] = {
        "n_train": int(xtr.shape[0]),
        "n_test": int(n_test),
        "n_components": int(aligned.image_weights_.shape[1]),
        "canonical_correlations": [float(c) for c in aligned.canonical_correlations_],
        "chance": {f"recall@{k}": k / n_test for k in cutoffs},
        "aligned": directions(aligned.transform_image(xte), aligned.transform_text(yte)),
        "shuffled": directions(shuffled.transform_image(xte), shuffled.transform_text(yte)),
        "raw": directions(xte, yte) if xte.shape[1] == yte.shape[1] else None,
    }
    if labels is not None:
        _, counts = np.unique(labels, return_counts=True)
        report["class_chance"] = float(np.sum((counts / n_test) ** 2))
    return report


def _check_pair(
    queries: Any, gallery: Any
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    q = as_embeddings(queries, name="queries")
    g = as_embeddings(gallery, name="gallery")
    if q.shape[1] != g.shape[1]:
        raise ValueError(
            f"queries has {q.shape[1]} columns but gallery has {g.shape[1]}; expected "
            f"embeddings of the same width in one space."
        )
    return q, g


def _check_k(k: Any, n_gallery: int, *, owner: str, name: str = "k") -> int:
    k = check_int_param(k, name=name, owner=owner, min_value=1)
    if k > n_gallery:
        raise param_error(
            owner, name, f"an int in [1, {n_gallery}] (the number of gallery rows)", k
        )
    return int(k)


def _negated_score_blocks(
    q: npt.NDArray[np.float64], g_normalized: npt.NDArray[np.float64]
) -> Iterator[tuple[int, int, npt.NDArray[np.float64]]]:
    """Yield ``(start, stop, -scores)`` for consecutive blocks of query rows."""
    n_gallery = g_normalized.shape[0]
    rows = max(1, _BLOCK_SCORES // max(1, n_gallery))
    for start in range(0, q.shape[0], rows):
        stop = min(start + rows, q.shape[0])
        neg = normalize_rows(q[start:stop], copy=True) @ g_normalized.T
        # Negated in place: the selection below then sorts ascending, stably.
        np.negative(neg, out=neg)
        yield start, stop, neg


def _shuffle(seed: int, n: int) -> npt.NDArray[np.intp]:
    """Rows ordered by ``derive_key(seed, _SHUFFLE_TAG, i)``, computed for all ``i`` at once."""
    keys = derive_keys(seed, (_SHUFFLE_TAG,), np.arange(n, dtype=np.uint64))
    order: npt.NDArray[np.intp] = np.argsort(keys, kind="stable")
    return order


def _smallest_k(neg: npt.NDArray[np.float64], k: int) -> npt.NDArray[np.intp]:
    """Columns of the ``k`` smallest entries of each row, ordered by (value, column)."""
    n = neg.shape[1]
    n_chunks = max(_MIN_CHUNKS, 2 * k)
    if n <= 4 * n_chunks:
        # The prefilter below would keep a large share of each row: select with
        # argpartition instead, then order the k selected by (value, column).
        part = _partition_k(neg, k)
        order = np.lexsort((part, np.take_along_axis(neg, part, axis=1)), axis=1)
        ordered: npt.NDArray[np.intp] = np.take_along_axis(part, order, axis=1)
        return ordered
    # Each row is cut into n_chunks contiguous chunks. The k-th smallest chunk
    # minimum t bounds the k-th smallest entry from above (k chunks each hold an
    # entry <= t), so the entries <= t include the k smallest and every entry
    # tied with the k-th: sorting just those candidates by (row, value, column)
    # is exact. Typically only a few times k entries per row pass the test.
    starts = (np.arange(n_chunks) * n) // n_chunks
    chunk_min = np.minimum.reduceat(neg, starts, axis=1)
    bound = np.partition(chunk_min, k - 1, axis=1)[:, k - 1 : k]
    rows, columns = np.nonzero(neg <= bound)
    candidates = np.lexsort((columns, neg[rows, columns], rows))
    first = np.searchsorted(rows[candidates], np.arange(neg.shape[0]))
    picked: npt.NDArray[np.intp] = columns[candidates[first[:, None] + np.arange(k)]]
    return picked


def _partition_k(neg: npt.NDArray[np.float64], k: int) -> npt.NDArray[np.intp]:
    """Columns of the ``k`` smallest entries per row, unordered; ties at the cut go lowest."""
    part = np.argpartition(neg, k - 1, axis=1)[:, :k]
    cut = np.take_along_axis(neg, part, axis=1).max(axis=1)
    # argpartition picks an arbitrary subset of the entries tied with the k-th
    # value; only rows with such a tie at the cut need the exact rule.
    tied = np.flatnonzero(np.count_nonzero(neg <= cut[:, None], axis=1) > k)
    if tied.size:
        sub = neg[tied]
        sub_cut = cut[tied][:, None]
        below = sub < sub_cut
        at = sub == sub_cut
        room = k - np.count_nonzero(below, axis=1)
        keep = below | (at & (np.cumsum(at, axis=1) <= room[:, None]))
        part[tied] = np.nonzero(keep)[1].reshape(tied.size, k)
    return part


def _scores(
    queries: npt.NDArray[np.float64],
    gallery: npt.NDArray[np.float64],
    cutoffs: list[int],
    labels: npt.NDArray[Any] | None,
) -> dict[str, float]:
    ranks = paired_ranks(queries, gallery)
    result = {f"recall@{k}": float(np.count_nonzero(ranks < k)) / ranks.shape[0] for k in cutoffs}
    if labels is not None:
        indices, _ = search(queries, gallery, max(cutoffs))
        same = labels[indices] == labels[:, None]
        for k in cutoffs:
            result[f"precision@{k}"] = float(np.mean(same[:, :k]))
    return result
