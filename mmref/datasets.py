"""A deterministic synthetic data set of image-caption pairs where fusion matters.

:func:`make_shapes` draws grey-scale images of geometric shapes (circle,
square, triangle, cross) and captions in English or Chinese. The label is the
pair (colour, shape), e.g. ``"red circle"``. The colour is stated only in the
caption (images are grey). The shape is drawn in every image, but a caption
names it only with probability ``shape_mentions`` (a quarter by default);
otherwise it says "shape" (图形). So an image-only model can at best find the
shape, a text-only model the colour and, for the captions that name it, the
shape; only the joint embedding finds both for every sample. Some captions
state no colour at all.

Captions also describe what the image shows independently of the label: the
position of the shape (which third of its horizontal and vertical range its
centre falls in: "top left", "centre", ...) in every caption and its size
("small", "large") in about half. This content, together with the shape
names, is what the two modalities share: a shared embedding space learnt from
the pairs without labels (:class:`mmref.alignment.CCAAlignment`) finds it, so
an image retrieves its own caption, and a caption its image, far above chance.
Position and size are drawn independently of the label and tell nothing
about it.

All randomness comes from :mod:`mmref._hashing`: each sample's parameters are
uniform numbers ``u = (derive_key(seed, field, i) >> 11) * 2**-53`` and the
pixel noise uses ``derive_key(seed, field, i, pixel)``. Images are computed
with ``+ - * /``, ``sqrt``, ``abs``, ``min``, ``max`` only (all correctly
rounded in IEEE 754), so the output is the same bit for bit on every platform
and NumPy version, and sample ``i`` does not depend on ``n_samples`` (a larger
data set extends a smaller one). SPEC.md gives every constant.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from ._hashing import GOLDEN, derive_keys, mix64
from ._validation import check_float_param, check_int_param

__all__ = ["COLORS", "SHAPES", "ShapesDataset", "make_shapes", "split_indices"]

SHAPES = ("circle", "square", "triangle", "cross")
COLORS = ("red", "green", "blue")
_COLORS_ZH = ("红色", "绿色", "蓝色")
_SIZES = ("small", "large")
_SIZES_ZH = ("小", "大")

# Words folded into derive_key after the seed: one per random quantity.
_FIELD_LABEL = 1
_FIELD_SIZE = 2
_FIELD_X = 3
_FIELD_Y = 4
_FIELD_BRIGHTNESS = 5
_FIELD_LANGUAGE = 6
_FIELD_INFORMATIVE = 7
_FIELD_TEMPLATE = 8
_FIELD_NOISE = 9
_FIELD_SPLIT = 10
_FIELD_MENTION = 11

# Caption templates. {c} is the colour word, {s} the size word, {p} the position
# phrase and {o} the object noun: the shape's name or a generic noun. Every template
# has {o} and {p} once; informative ones have {c} once, uninformative ones never.
_TEMPLATES_EN = (
    "a {s} {c} {o}, {p}",
    "{c} {o}, {p}",
    "a {c} {o} at the {p}",
    "{s} {c} {o} at the {p}",
    "this {o} is {c}, {p}",
    "the {s} {o} at the {p} is {c}",
    "{p}: a {c} {o}",
    "a {c} {o}, {s}, {p}",
)
_UNINFORMATIVE_EN = (
    "a {o}, {p}",
    "an image of a {s} {o} at the {p}",
    "what is this {o} at the {p}?",
    "a noisy photo, {s} {o}, {p}",
)
_TEMPLATES_ZH = (
    "{s}{c}{o}在{p}",
    "{p}的{o}是{c}的",
    "{c}{o}，{p}",
    "{p}有{s}{c}{o}",
    "一个{c}{o}在{p}",
    "{c}的{s}{o}，{p}",
)
_UNINFORMATIVE_ZH = (
    "{o}在{p}",
    "这是什么{o}？在{p}",
    "一个{s}{o}在{p}",
)
# Object nouns: the shape names (SHAPES order) and the generic noun used otherwise.
_SHAPE_NAMES_ZH = ("圆形", "正方形", "三角形", "十字")
_GENERIC = "shape"
_GENERIC_ZH = "图形"
# Position phrases, indexed 3 * vertical + horizontal: vertical 0 top, 1 middle,
# 2 bottom (row grows downwards); horizontal 0 left, 1 centre, 2 right.
_POSITIONS = (
    "top left",
    "top",
    "top right",
    "left",
    "centre",
    "right",
    "bottom left",
    "bottom",
    "bottom right",
)
_POSITIONS_ZH = ("左上", "上边", "右上", "左边", "中间", "右边", "左下", "下边", "右下")

# The triangle's slanted sides: |dx| * 1.75 = dy + r, normalized by sqrt(1 + 1.75^2).
_TRIANGLE_NORM = math.sqrt(1.0 + 1.75 * 1.75)
# Samples drawn per chunk, bounding the float64 temporaries to a few arrays of
# _CHUNK * image_size**2 values.
_CHUNK = 1024
# Shape radius in [0.22, 0.30) * image_size; centre within +-0.07 * image_size of the
# middle. Larger jitter blurs the class centroids until nearest-centroid on images fails.
_RADIUS_MIN = 0.22
_RADIUS_RANGE = 0.08
_JITTER = 0.07


class ShapesDataset(NamedTuple):
    """The record :func:`make_shapes` returns.

    Attributes
    ----------
    images : ndarray of shape (n_samples, image_size, image_size), float32
        Grey-scale images with values in ``[0, 1]``.
    texts : tuple of str, length n_samples
        One caption per image, English or Chinese.
    labels : ndarray of shape (n_samples,), int64
        Class index ``shape * len(COLORS) + colour`` in ``[0, n_classes)``.
    label_names : tuple of str, length n_classes
        ``label_names[j]`` is class ``j``'s name, e.g. ``"red circle"``.
    """

    images: npt.NDArray[np.float32]
    texts: tuple[str, ...]
    labels: npt.NDArray[np.int64]
    label_names: tuple[str, ...]


def make_shapes(
    n_samples: int = 2000,
    *,
    image_size: int = 28,
    seed: int = 0,
    noise: float = 0.15,
    uninformative: float = 0.1,
    shape_mentions: float = 0.25,
) -> ShapesDataset:
    """Generate grey-scale shape images with bilingual captions; the label needs both.

    Parameters
    ----------
    n_samples : int, default=2000
        Number of image-caption pairs, ``>= 1``.
    image_size : int, default=28
        Height and width of the images in pixels, in ``[8, 1024]``.
    seed : int, default=0
        Any integer (taken modulo ``2**64``); the data set is a pure function
        of the arguments.
    noise : float, default=0.15
        Amplitude of the additive pixel noise, ``>= 0``: each pixel gets
        ``noise * (u1 - u2)`` for two uniform numbers (a triangular
        distribution on ``(-noise, noise)``) before clipping to ``[0, 1]``.
    uninformative : float, default=0.1
        Probability, in ``[0, 1]``, that a caption states no colour.
    shape_mentions : float, default=0.25
        Probability, in ``[0, 1]``, that a caption names the shape (``"a
        red circle, top left"``); otherwise it uses a generic noun (``"a red
        shape, top left"``). At ``0`` no caption names a shape, so the shape
        is known from the image only.

    Returns
    -------
    dataset : ShapesDataset
        ``(images, texts, labels, label_names)``: 12 classes (4 shapes x 3
        colours). Labels are balanced: each consecutive block of 12 samples
        holds every class once.

    Notes
    -----
    Each sample has its own size, position (jittered around the centre),
    brightness and noise. About half of the captions are English, half
    Chinese. Every caption gives the position of the shape and about half
    give its size; informative captions state the colour exactly once.

    Costs about ``30 * min(n_samples, 1024) * image_size**2`` bytes of scratch
    beyond the output; 2000 samples of 28 x 28 take a few tens of milliseconds.

    Examples
    --------
    >>> from mmref.datasets import make_shapes
    >>> data = make_shapes(24, seed=1)
    >>> data.images.shape, data.images.dtype, len(data.texts)
    ((24, 28, 28), dtype('float32'), 24)
    >>> data.label_names[:4]
    ('red circle', 'green circle', 'blue circle', 'red square')
    >>> sorted(data.labels.tolist()) == sorted(list(range(12)) * 2)
    True
    >>> data.texts[0], data.label_names[data.labels[0]]
    ('large green square at the right', 'green square')
    >>> data.texts[3], data.label_names[data.labels[3]]
    ('左边的图形是红色的', 'red circle')
    """
    n = check_int_param(n_samples, name="n_samples", owner="make_shapes", min_value=1)
    size = check_int_param(
        image_size, name="image_size", owner="make_shapes", min_value=8, max_value=1024
    )
    seed = check_int_param(seed, name="seed", owner="make_shapes")
    noise = check_float_param(noise, name="noise", owner="make_shapes", low=0.0)
    p_uninformative = check_float_param(
        uninformative, name="uninformative", owner="make_shapes", low=0.0, high=1.0
    )
    p_mention = check_float_param(
        shape_mentions, name="shape_mentions", owner="make_shapes", low=0.0, high=1.0
    )
    n_colors = len(COLORS)
    labels = _balanced_labels(seed, n, len(SHAPES) * n_colors)
    index = np.arange(n, dtype=np.uint64)
    u_size = _uniform(seed, _FIELD_SIZE, index)
    u_x = _uniform(seed, _FIELD_X, index)
    u_y = _uniform(seed, _FIELD_Y, index)
    images = np.empty((n, size, size), dtype=np.float32)
    for start in range(0, n, _CHUNK):
        part = slice(start, start + _CHUNK)
        images[part] = _draw(
            seed,
            index[part],
            labels[part] // n_colors,
            u_size[part],
            u_x[part],
            u_y[part],
            size=size,
            noise=noise,
        )
    texts = _captions(
        seed, index, labels, u_size, u_x, u_y, p_uninformative=p_uninformative, p_mention=p_mention
    )
    label_names = tuple(f"{color} {shape}" for shape in SHAPES for color in COLORS)
    return ShapesDataset(images, texts, labels, label_names)


def split_indices(
    n_samples: int, test_fraction: float = 0.25, *, seed: int = 0
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Split ``range(n_samples)`` into train and test indices, deterministically.

    The test set is the ``n_test = floor(test_fraction * n_samples + 0.5)``
    indices ``i`` with the smallest ``derive_key(seed, 10, i)`` (ties, which
    need a 64-bit collision, go to the smaller ``i``); the rest is the
    training set.

    Parameters
    ----------
    n_samples : int
        Number of samples, ``>= 2``.
    test_fraction : float, default=0.25
        Fraction of samples in the test set, in ``(0, 1)``; both sets must end
        up non-empty.
    seed : int, default=0
        Any integer.

    Returns
    -------
    train, test : ndarray of intp
        Sorted, disjoint, together ``0 .. n_samples - 1``.

    Examples
    --------
    >>> from mmref.datasets import split_indices
    >>> train, test = split_indices(8, 0.25, seed=3)
    >>> len(train), len(test), sorted(train.tolist() + test.tolist()) == list(range(8))
    (6, 2, True)
    """
    n = check_int_param(n_samples, name="n_samples", owner="split_indices", min_value=2)
    fraction = check_float_param(
        test_fraction,
        name="test_fraction",
        owner="split_indices",
        low=0.0,
        high=1.0,
        closed="neither",
    )
    seed = check_int_param(seed, name="seed", owner="split_indices")
    n_test = math.floor(fraction * n + 0.5)
    if not 0 < n_test < n:
        raise ValueError(
            f"split_indices: test_fraction={fraction} of n_samples={n} gives {n_test} test "
            f"sample(s); expected between 1 and {n - 1}. Choose a larger n_samples or a "
            f"test_fraction further from 0 and 1."
        )
    keys = _keys(seed, _FIELD_SPLIT, np.arange(n, dtype=np.uint64))
    order = np.argsort(keys, kind="stable")
    test = np.sort(order[:n_test]).astype(np.intp)
    train = np.sort(order[n_test:]).astype(np.intp)
    return train, test


def _keys(seed: int, field: int, index: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """``derive_key(seed, field, i)`` for every ``i`` in ``index``, vectorized."""
    return derive_keys(seed, (field,), index)


def _to_unit(keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.float64]:
    """Map 64-bit keys to float64 in ``[0, 1)`` from their top 53 bits (exact)."""
    unit: npt.NDArray[np.float64] = (keys >> np.uint64(11)).astype(np.float64) * (2.0**-53)
    return unit


def _uniform(seed: int, field: int, index: npt.NDArray[np.uint64]) -> npt.NDArray[np.float64]:
    return _to_unit(_keys(seed, field, index))


def _balanced_labels(seed: int, n: int, n_classes: int) -> npt.NDArray[np.int64]:
    """Within each block of ``n_classes`` samples, a hash-shuffled permutation of the classes."""
    n_blocks = -(-n // n_classes)
    keys = _keys(seed, _FIELD_LABEL, np.arange(n_blocks * n_classes, dtype=np.uint64))
    perm = np.argsort(keys.reshape(n_blocks, n_classes), axis=1, kind="stable")
    return perm.reshape(-1)[:n].astype(np.int64)


def _draw(
    seed: int,
    index: npt.NDArray[np.uint64],
    shapes: npt.NDArray[np.int64],
    u_size: npt.NDArray[np.float64],
    u_x: npt.NDArray[np.float64],
    u_y: npt.NDArray[np.float64],
    *,
    size: int,
    noise: float,
) -> npt.NDArray[np.float32]:
    """Render one chunk of images (float64 internally, float32 out)."""
    n = index.shape[0]
    s = float(size)
    radius = s * (_RADIUS_MIN + _RADIUS_RANGE * u_size)
    cx = s * (0.5 + _JITTER * (2.0 * u_x - 1.0))
    cy = s * (0.5 + _JITTER * (2.0 * u_y - 1.0))
    brightness = 0.6 + 0.4 * _uniform(seed, _FIELD_BRIGHTNESS, index)
    centers = np.arange(size, dtype=np.float64) + 0.5
    dx = centers[None, None, :] - cx[:, None, None]
    dy = centers[None, :, None] - cy[:, None, None]
    r = radius[:, None, None]
    adx = np.abs(dx)
    ady = np.abs(dy)
    # Signed distance (pixels, negative inside) to each shape; each sample keeps its own.
    dist = np.empty((n, size, size))
    for shape, name in enumerate(SHAPES):
        pick = shapes == shape
        if not pick.any():
            continue
        rp, ax, ay, yy = r[pick], adx[pick], ady[pick], dy[pick]
        if name == "circle":
            d = np.sqrt(ax * ax + ay * ay) - rp
        elif name == "square":
            d = np.maximum(ax, ay) - 0.85 * rp
        elif name == "triangle":
            d = np.maximum(yy - 0.75 * rp, (1.75 * ax - yy - rp) / _TRIANGLE_NORM)
        else:  # cross: two bars of half-width 0.3 r and half-length r
            w = 0.3 * rp
            d = np.minimum(np.maximum(ax - rp, ay - w), np.maximum(ax - w, ay - rp))
        dist[pick] = d
    # Coverage ramps from 1 to 0 across one pixel around the boundary (anti-aliasing).
    image = np.clip(0.5 - dist, 0.0, 1.0)
    image *= brightness[:, None, None]
    if noise > 0.0:
        pixel = np.arange(size * size, dtype=np.uint64)
        keys = mix64((_keys(seed, _FIELD_NOISE, index)[:, None] ^ pixel) + np.uint64(GOLDEN))
        high = (keys >> np.uint64(32)).astype(np.float64)
        low = (keys & np.uint64(0xFFFFFFFF)).astype(np.float64)
        image += (noise * 2.0**-32) * (high - low).reshape(n, size, size)
        np.clip(image, 0.0, 1.0, out=image)
    return image.astype(np.float32)


def _captions(
    seed: int,
    index: npt.NDArray[np.uint64],
    labels: npt.NDArray[np.int64],
    u_size: npt.NDArray[np.float64],
    u_x: npt.NDArray[np.float64],
    u_y: npt.NDArray[np.float64],
    *,
    p_uninformative: float,
    p_mention: float,
) -> tuple[str, ...]:
    """One caption per sample: a template filled with its colour, size, position and noun."""
    chinese = (_uniform(seed, _FIELD_LANGUAGE, index) >= 0.5).tolist()
    silent = (_uniform(seed, _FIELD_INFORMATIVE, index) < p_uninformative).tolist()
    named = (_uniform(seed, _FIELD_MENTION, index) < p_mention).tolist()
    u_template = _uniform(seed, _FIELD_TEMPLATE, index).tolist()
    large = (u_size >= 0.5).tolist()
    # floor(3 u) in {0, 1, 2}: which third of the jitter range the centre lies in.
    where = (3 * (3.0 * u_y).astype(np.int64) + (3.0 * u_x).astype(np.int64)).tolist()
    shapes, colors = np.divmod(labels, len(COLORS))
    texts: list[str] = []
    for i, (shape, color) in enumerate(zip(shapes.tolist(), colors.tolist(), strict=True)):
        pools: tuple[Any, ...]
        if chinese[i]:
            pools = (
                _UNINFORMATIVE_ZH if silent[i] else _TEMPLATES_ZH,
                _COLORS_ZH,
                _SIZES_ZH,
                _POSITIONS_ZH,
                _SHAPE_NAMES_ZH[shape] if named[i] else _GENERIC_ZH,
            )
        else:
            pools = (
                _UNINFORMATIVE_EN if silent[i] else _TEMPLATES_EN,
                COLORS,
                _SIZES,
                _POSITIONS,
                SHAPES[shape] if named[i] else _GENERIC,
            )
        templates, color_words, size_words, positions, noun = pools
        template = templates[int(u_template[i] * len(templates))]
        texts.append(
            template.format(
                c=color_words[color], s=size_words[int(large[i])], p=positions[where[i]], o=noun
            )
        )
    return tuple(texts)
