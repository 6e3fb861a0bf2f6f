"""Tests of mmref.datasets: determinism, the specification, balance, and why fusion is needed."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest
from helpers import spec_derive_key as derive_key

import mmref.datasets as datasets
from mmref.classifiers import RidgeClassifier
from mmref.datasets import COLORS, SHAPES, ShapesDataset, make_shapes, split_indices

SHAPE_WORDS = ("circle", "square", "triangle", "cross", "圆", "方", "三角", "十字", "叉")
COLOR_WORDS_ZH = ("红色", "绿色", "蓝色")
# The shape names of the specification, per shape: English, Chinese.
SHAPE_NAMES = (("circle", "圆形"), ("square", "正方形"), ("triangle", "三角形"), ("cross", "十字"))

# The caption tables of the specification (SPEC.md), written out independently of the module.
TEMPLATES_EN = (
    "a {s} {c} {o}, {p}",
    "{c} {o}, {p}",
    "a {c} {o} at the {p}",
    "{s} {c} {o} at the {p}",
    "this {o} is {c}, {p}",
    "the {s} {o} at the {p} is {c}",
    "{p}: a {c} {o}",
    "a {c} {o}, {s}, {p}",
)
UNINFORMATIVE_EN = (
    "a {o}, {p}",
    "an image of a {s} {o} at the {p}",
    "what is this {o} at the {p}?",
    "a noisy photo, {s} {o}, {p}",
)
TEMPLATES_ZH = (
    "{s}{c}{o}在{p}",
    "{p}的{o}是{c}的",
    "{c}{o}，{p}",
    "{p}有{s}{c}{o}",
    "一个{c}{o}在{p}",
    "{c}的{s}{o}，{p}",
)
UNINFORMATIVE_ZH = ("{o}在{p}", "这是什么{o}？在{p}", "一个{s}{o}在{p}")
POSITIONS_EN = (
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
POSITIONS_ZH = ("左上", "上边", "右上", "左边", "中间", "右边", "左下", "下边", "右下")


@pytest.fixture(scope="module")
def data() -> ShapesDataset:
    return make_shapes(2000, seed=0)


def _assert_identical(a: ShapesDataset, b: ShapesDataset) -> None:
    assert a.images.dtype == b.images.dtype and a.images.shape == b.images.shape
    assert a.images.tobytes() == b.images.tobytes()
    assert a.texts == b.texts
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.labels.dtype == b.labels.dtype
    assert a.label_names == b.label_names


# --- determinism ---------------------------------------------------------------------


def test_two_calls_are_identical_bit_for_bit(data: ShapesDataset) -> None:
    _assert_identical(make_shapes(2000, seed=0), data)


def test_different_seeds_differ(data: ShapesDataset) -> None:
    other = make_shapes(2000, seed=1)
    assert not np.array_equal(other.labels, data.labels)
    assert (other.images != data.images).mean() > 0.5
    assert sum(a != b for a, b in zip(other.texts, data.texts, strict=True)) > 1000


def test_samples_do_not_depend_on_n_samples_or_chunking(monkeypatch: Any) -> None:
    big = make_shapes(100, seed=5)
    small = make_shapes(37, seed=5)
    _assert_identical(
        small, ShapesDataset(big.images[:37], big.texts[:37], big.labels[:37], big.label_names)
    )
    monkeypatch.setattr(datasets, "_CHUNK", 7)
    _assert_identical(make_shapes(100, seed=5), big)


def _reference_sample(
    seed: int, i: int, size: int, noise: float, p_silent: float, p_mention: float
) -> Any:
    """Sample ``i`` computed in pure Python from the specification (SPEC.md)."""

    def u(field: int) -> float:
        return (derive_key(seed, field, i) >> 11) * 2.0**-53

    k = len(SHAPES) * len(COLORS)
    block = i // k
    keys = [derive_key(seed, 1, block * k + j) for j in range(k)]
    label = sorted(range(k), key=lambda j: (keys[j], j))[i % k]
    shape, color = divmod(label, len(COLORS))
    s = float(size)
    r = s * (0.22 + 0.08 * u(2))
    cx = s * (0.5 + 0.07 * (2.0 * u(3) - 1.0))
    cy = s * (0.5 + 0.07 * (2.0 * u(4) - 1.0))
    brightness = 0.6 + 0.4 * u(5)
    image = np.empty((size, size), dtype=np.float32)
    for row in range(size):
        for col in range(size):
            dx, dy = (col + 0.5) - cx, (row + 0.5) - cy
            ax, ay = abs(dx), abs(dy)
            if SHAPES[shape] == "circle":
                dist = math.sqrt(ax * ax + ay * ay) - r
            elif SHAPES[shape] == "square":
                dist = max(ax, ay) - 0.85 * r
            elif SHAPES[shape] == "triangle":
                dist = max(dy - 0.75 * r, (1.75 * ax - dy - r) / math.sqrt(1.0 + 1.75 * 1.75))
            else:
                w = 0.3 * r
                dist = min(max(ax - r, ay - w), max(ax - w, ay - r))
            value = min(max(0.5 - dist, 0.0), 1.0) * brightness
            h = derive_key(seed, 9, i, row * size + col)
            value += (noise * 2.0**-32) * float((h >> 32) - (h & 0xFFFFFFFF))
            image[row, col] = min(max(value, 0.0), 1.0)
    chinese = u(6) >= 0.5
    silent = u(7) < p_silent
    named = u(11) < p_mention
    position = 3 * int(3.0 * u(4)) + int(3.0 * u(3))
    if chinese:
        pool = UNINFORMATIVE_ZH if silent else TEMPLATES_ZH
        words, sizes, places = COLOR_WORDS_ZH, ("小", "大"), POSITIONS_ZH
        noun = SHAPE_NAMES[shape][1] if named else "图形"
    else:
        pool = UNINFORMATIVE_EN if silent else TEMPLATES_EN
        words, sizes, places = COLORS, ("small", "large"), POSITIONS_EN
        noun = SHAPE_NAMES[shape][0] if named else "shape"
    template = pool[int(u(8) * len(pool))]
    text = template.format(c=words[color], s=sizes[int(u(2) >= 0.5)], p=places[position], o=noun)
    return label, image, text


@pytest.mark.parametrize(
    "seed, size, noise, p_silent, p_mention",
    [(0, 12, 0.15, 0.1, 0.25), (2**64 - 1, 9, 0.4, 0.5, 0.5), (-3, 16, 0.0, 0.0, 1.0)],
)
def test_matches_the_specification_bit_for_bit(
    seed: int, size: int, noise: float, p_silent: float, p_mention: float
) -> None:
    n = 40
    data = make_shapes(
        n,
        image_size=size,
        seed=seed,
        noise=noise,
        uninformative=p_silent,
        shape_mentions=p_mention,
    )
    for i in range(n):
        label, image, text = _reference_sample(seed, i, size, noise, p_silent, p_mention)
        assert data.labels[i] == label
        assert data.images[i].tobytes() == image.tobytes(), f"sample {i}"
        assert data.texts[i] == text


# --- shape of the output and balance -------------------------------------------------


def test_record_fields(data: ShapesDataset) -> None:
    assert data._fields == ("images", "texts", "labels", "label_names")
    assert data.images.shape == (2000, 28, 28) and data.images.dtype == np.float32
    assert data.images.min() >= 0.0 and data.images.max() <= 1.0
    assert isinstance(data.texts, tuple) and len(data.texts) == 2000
    assert all(isinstance(t, str) and t for t in data.texts)
    assert data.labels.shape == (2000,) and data.labels.dtype == np.int64
    assert len(data.label_names) == 12 == len(set(data.label_names))
    assert data.label_names[0] == "red circle"
    assert data.label_names == tuple(f"{c} {s}" for s in SHAPES for c in COLORS)


def test_labels_are_balanced(data: ShapesDataset) -> None:
    counts = np.bincount(data.labels, minlength=12)
    assert counts.min() >= 2000 // 12 and counts.max() <= 2000 // 12 + 1
    for start in range(0, 2000 - 12, 12):
        assert sorted(data.labels[start : start + 12]) == list(range(12))


def test_languages_and_uninformative_captions(data: ShapesDataset) -> None:
    # Binomial(2000, p) proportions: the bounds are more than 4 standard deviations wide.
    chinese = np.mean([bool(re.search("[\u4e00-\u9fff]", t)) for t in data.texts])
    assert 0.45 < chinese < 0.55
    silent = np.mean([not _colors_named(t) for t in data.texts])
    assert 0.07 < silent < 0.13
    assert len(set(data.texts)) > 50  # varied templates, not a handful of strings
    none = make_shapes(200, uninformative=0.0)
    assert all(len(_colors_named(t)) == 1 for t in none.texts)
    assert not any(_colors_named(t) for t in make_shapes(200, uninformative=1.0).texts)


def test_images_vary_in_size_position_and_brightness() -> None:
    clean = make_shapes(240, noise=0.0)
    mass = clean.images.sum(axis=(1, 2))
    assert mass.max() > 1.5 * mass.min()
    rows = np.arange(28)[None, :]
    centre_x = (clean.images.sum(axis=1) * rows).sum(axis=1) / mass
    assert centre_x.max() - centre_x.min() > 2.0  # pixels of jitter
    assert len(np.unique(clean.images.max(axis=(1, 2)))) > 200
    # Without noise the background is exactly 0 and the shape never touches the border.
    border = np.concatenate([clean.images[:, 0], clean.images[:, -1]], axis=1)
    assert (border == 0).all()
    big = make_shapes(12, image_size=64, noise=0.0)
    assert big.images.shape == (12, 64, 64) and (big.images[:, :, 0] == 0).all()


# --- the label needs both modalities ------------------------------------------------


def _colors_named(text: str) -> list[int]:
    pairs = enumerate(zip(COLORS, COLOR_WORDS_ZH, strict=True))
    return [j for j, (en, zh) in pairs if en in text or zh in text]


def _bag_of_words(texts: tuple[str, ...]) -> np.ndarray:
    tokens = [re.findall(r"[a-z]+|[\u4e00-\u9fff]", t) for t in texts]
    vocabulary = {w: j for j, w in enumerate(sorted({w for ts in tokens for w in ts}))}
    X = np.zeros((len(texts), len(vocabulary)))
    for i, ts in enumerate(tokens):
        for w in ts:
            X[i, vocabulary[w]] += 1.0
    return X


def _shapes_named(text: str) -> list[int]:
    return [j for j, (en, zh) in enumerate(SHAPE_NAMES) if en in text or zh in text]


def test_captions_name_only_the_true_shape_and_colour(data: ShapesDataset) -> None:
    named = 0
    for text, label in zip(data.texts, data.labels, strict=True):
        shape, color = divmod(int(label), 3)
        assert _colors_named(text) in ([], [color]), text
        generic = "shape" in text or "图形" in text
        if generic:  # no mention: no shape word of any kind
            assert not any(word in text for word in SHAPE_WORDS), text
        else:
            assert _shapes_named(text) == [shape], text
            named += 1
    # Binomial(2000, 0.25): sd 0.0097, the bounds are four sd wide.
    assert 0.21 < named / 2000 < 0.29
    for template in TEMPLATES_EN + TEMPLATES_ZH:
        assert template.count("{c}") == 1 and template.count("{o}") == template.count("{p}") == 1
    for template in UNINFORMATIVE_EN + UNINFORMATIVE_ZH:
        assert "{c}" not in template and template.count("{o}") == template.count("{p}") == 1


@pytest.mark.parametrize("p_mention", [0.0, 1.0])
def test_shape_mentions_never_or_always(p_mention: float) -> None:
    data = make_shapes(240, shape_mentions=p_mention, uninformative=0.3)
    for text, label in zip(data.texts, data.labels, strict=True):
        if p_mention == 0.0:
            assert not any(word in text for word in SHAPE_WORDS), text
        else:
            assert _shapes_named(text) == [label // 3], text


def _position_and_size(text: str) -> tuple[int, int, str | None]:
    """(vertical, horizontal) thirds of the position phrase, and the size word if any."""
    chinese = bool(re.search("[\u4e00-\u9fff]", text))
    places = POSITIONS_ZH if chinese else POSITIONS_EN
    found = [j for j, p in enumerate(places) if re.search(f"(^|[^a-z]){p}($|[^a-z])", text)]
    # "top left" also contains "top": the longest phrase found is the one used.
    vertical, horizontal = divmod(max(found, key=lambda j: len(places[j])), 3)
    sizes = re.findall(r"\b(?:small|large)\b", text) + re.findall("[小大]", text)
    assert len(sizes) <= 1, text
    return vertical, horizontal, (sizes[0] if sizes else None)


def test_captions_describe_the_position_and_size_seen_in_the_image() -> None:
    # Without noise every shape is symmetric about the vertical through its centre, so
    # the column of the centre of mass is the centre cx; circles, squares and crosses are
    # symmetric about the horizontal as well. The phrase thresholds lie 0.07 * 28 / 3 =
    # 0.65 pixel either side of the middle (14.0); the anti-aliasing error of the centre
    # of mass is a few hundredths of a pixel.
    n = 600
    data = make_shapes(n, noise=0.0, uninformative=0.5)
    mass = data.images.sum(axis=(1, 2))
    grid = np.arange(28) + 0.5
    col = (data.images.sum(axis=1) * grid).sum(axis=1) / mass - 14.0
    row = (data.images.sum(axis=2) * grid).sum(axis=1) / mass - 14.0
    parsed = [_position_and_size(t) for t in data.texts]
    vertical = np.array([v for v, _, _ in parsed])
    horizontal = np.array([h for _, h, _ in parsed])
    size = np.array([s or "" for _, _, s in parsed])
    assert (col[horizontal == 0] < -0.6).all() and (col[horizontal == 2] > 0.6).all()
    assert (np.abs(col[horizontal == 1]) < 0.7).all()
    symmetric = data.labels // 3 != SHAPES.index("triangle")
    assert (row[symmetric & (vertical == 0)] < -0.6).all()
    assert (row[symmetric & (vertical == 2)] > 0.6).all()
    assert (np.abs(row[symmetric & (vertical == 1)]) < 0.7).all()
    assert len(np.unique(3 * vertical + horizontal)) == 9
    # Size: the shape's area (mass over brightness, the value inside the shape) grows
    # with the radius, in [0.22, 0.26) * 28 for "small" and [0.26, 0.30) * 28 for
    # "large": area ratios from 1 to 1.86, 1.36 on average.
    area = mass / data.images.max(axis=(1, 2))
    large = np.isin(size, ("large", "大"))
    small = np.isin(size, ("small", "小"))
    for shape in range(len(SHAPES)):
        pick = data.labels // 3 == shape
        assert area[pick & small].max() < 1.02 * area[pick & large].min()
        assert area[pick & large].mean() > 1.2 * area[pick & small].mean()
    # Half the templates have a size word, a third of the uninformative Chinese ones:
    # 0.46 expected with uninformative=0.5, sd 0.02; the bounds are four sd wide.
    assert 0.38 < (large | small).mean() < 0.54


def test_each_modality_reveals_only_its_half_of_the_label(data: ShapesDataset) -> None:
    # Ridge on raw pixels and on a bag of words, trained on 1500 and tested on 500.
    # Chance is 1/4 for the shape and 1/3 for the colour; the thresholds leave several
    # binomial standard deviations (about 0.02) on either side. The words reveal the
    # shape only through the quarter of captions that name it: 0.25 + 0.75 / 4 = 0.44
    # expected, and chance among the captions that do not.
    train, test = split_indices(2000, 0.25, seed=0)
    shape, color = data.labels // 3, data.labels % 3
    pixels = data.images.reshape(2000, -1)
    words = _bag_of_words(data.texts)

    def accuracy(X: np.ndarray, y: np.ndarray, rows: np.ndarray = test) -> float:
        return RidgeClassifier(alpha=10.0).fit(X[train], y[train]).score(X[rows], y[rows])

    assert accuracy(pixels, shape) > 0.9
    assert accuracy(pixels, color) < 0.42
    assert accuracy(words, color) > 0.85
    assert 0.36 < accuracy(words, shape) < 0.52
    unnamed = test[[not _shapes_named(data.texts[i]) for i in test]]
    assert len(unnamed) > 300
    assert accuracy(words, shape, unnamed) < 0.34  # chance 0.25, sd about 0.024


# --- split_indices -------------------------------------------------------------------


def test_split_indices_partition() -> None:
    train, test = split_indices(2000, 0.25, seed=0)
    assert len(test) == 500 and len(train) == 1500
    assert train.dtype == np.intp and test.dtype == np.intp
    assert (np.diff(train) > 0).all() and (np.diff(test) > 0).all()
    np.testing.assert_array_equal(np.union1d(train, test), np.arange(2000))
    again = split_indices(2000, 0.25, seed=0)
    np.testing.assert_array_equal(again[1], test)
    assert not np.array_equal(split_indices(2000, 0.25, seed=1)[1], test)
    assert len(split_indices(10, 0.25)[1]) == 3  # floor(2.5 + 0.5)
    keys = [derive_key(7, 10, i) for i in range(20)]
    expected = sorted(sorted(range(20), key=lambda i: (keys[i], i))[:5])
    assert split_indices(20, 0.25, seed=7)[1].tolist() == expected


# --- errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        ({"n_samples": 0}, ValueError, "'n_samples' parameter of make_shapes"),
        ({"n_samples": 2.0}, TypeError, "'n_samples' parameter of make_shapes"),
        ({"image_size": 7}, ValueError, "'image_size' parameter"),
        ({"seed": "a"}, TypeError, "'seed' parameter"),
        ({"noise": -0.1}, ValueError, "'noise' parameter"),
        ({"uninformative": 1.5}, ValueError, "'uninformative' parameter"),
        ({"shape_mentions": -0.1}, ValueError, "'shape_mentions' parameter of make_shapes"),
        ({"shape_mentions": "0.5"}, TypeError, "'shape_mentions' parameter"),
    ],
)
def test_make_shapes_rejects_bad_arguments(kwargs: Any, error: type, pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        make_shapes(**kwargs)


@pytest.mark.parametrize(
    "args, error, pattern",
    [
        ((1,), ValueError, "'n_samples' parameter of split_indices"),
        ((10, 0.0), ValueError, "'test_fraction' parameter"),
        ((10, 1.0), ValueError, "'test_fraction' parameter"),
        ((10, 0.01), ValueError, r"gives 0 test sample\(s\)"),
        ((10, 0.97), ValueError, r"gives 10 test sample\(s\)"),
    ],
)
def test_split_indices_rejects_bad_arguments(args: Any, error: type, pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        split_indices(*args)
