"""RandomProjectionImageEncoder's refusals name the argument (``X`` for a batch, ``image``
for encode_image), what was wrong and what is expected; and the outputs that only some
inputs reach: the image an overflow is reported for, the SRHT matrix in float32."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import scipy.sparse

from mmref.image import RandomProjectionImageEncoder

FLAT = "For color or flat images, set image_shape, e.g. image_shape=(H, W, 3) or (784,)."


def _fitted(**params: Any) -> RandomProjectionImageEncoder:
    return RandomProjectionImageEncoder(4, normalize=False, **params).fit(np.zeros((2, 6)))


def _shaped() -> RandomProjectionImageEncoder:
    return RandomProjectionImageEncoder(4, image_shape=(2, 3))


REFUSALS: list[tuple[str, Callable[[Any], Any], Any, type[Exception], list[str]]] = [
    # (case, method, argument, error, the parts the message must hold, in order)
    (
        "text",
        lambda a: _fitted().transform(a),
        "abc",
        TypeError,
        ["X is a str; expected an array of pixel values (bool, integer or float), not text."],
    ),
    (
        "bytes",
        lambda a: _fitted().encode_image(a),
        b"ab",
        TypeError,
        ["image is a bytes; expected an array of pixel values"],
    ),
    (
        "sparse batch",
        lambda a: _fitted().transform(a),
        scipy.sparse.csr_matrix(np.ones((2, 6))),
        TypeError,
        ["X is a scipy.sparse csr_matrix; sparse input is not supported.", "(X.toarray())."],
    ),
    (
        "sparse image",
        lambda a: _fitted().encode_image(a),
        scipy.sparse.csr_array(np.ones((1, 6))),
        TypeError,
        ["image is a scipy.sparse csr_array; sparse input is not supported.", "(image.toarray())."],
    ),
    (
        "complex",
        lambda a: _fitted().transform(a),
        np.zeros((2, 6), complex),
        TypeError,
        ["X has dtype complex128; expected bool, integer or float16/32/64"],
    ),
    (
        "ragged",
        lambda a: _fitted().transform(a),
        [[1, 2], [3]],
        ValueError,
        ["X is a ragged list of images"],
    ),
    (
        "1-D batch",
        lambda a: _fitted().transform(a),
        np.zeros(6),
        ValueError,
        [
            "X has shape (6,); expected a batch of at least 2 dimensions (n_samples, ...). ",
            FLAT,
            " Reshape your data: X.reshape(1, -1) holds one flat image, X.reshape(-1, 1) one "
            "pixel per image.",
        ],
    ),
    (
        "1-D image",
        lambda a: _fitted().encode_image(a),
        np.zeros(6),
        ValueError,
        ["image has shape (6,); expected a 2-D image (H, W) or a 3-D batch (N, H, W). ", FLAT],
    ),
    (
        "image of the wrong shape",
        lambda a: _shaped().encode_image(a),
        np.zeros((4, 4)),
        ValueError,
        [
            "image has shape (4, 4); expected one image of shape (2, 3) or a batch of shape "
            "(n_images, 2, 3) for image_shape=(2, 3)."
        ],
    ),
    (
        "batch of the wrong shape",
        lambda a: _shaped().transform(a),
        np.zeros((2, 3)),
        ValueError,
        ["X has shape (2, 3); expected a batch of shape (n_images, 2, 3) for image_shape=(2, 3)."],
    ),
]


@pytest.mark.parametrize(
    ("method", "argument", "error", "parts"),
    [case[1:] for case in REFUSALS],
    ids=[case[0] for case in REFUSALS],
)
def test_a_refusal_names_the_argument_what_is_wrong_and_what_is_expected(
    method: Callable[[Any], Any], argument: Any, error: type[Exception], parts: list[str]
) -> None:
    with pytest.raises(error) as raised:
        method(argument)
    message = str(raised.value)
    # The argument's name comes first, then each part in order.
    assert message.startswith(parts[0]), message
    position = 0
    for part in parts:
        found = message.find(part, position)
        assert found >= 0, (part, message)
        position = found + len(part)


def test_a_single_image_refusal_offers_no_batch_reshape() -> None:
    with pytest.raises(ValueError, match="expected a 2-D image") as raised:
        _fitted().encode_image(np.zeros(6))
    assert str(raised.value).endswith(FLAT)


def test_a_batch_refusal_does_not_offer_the_single_image_shape() -> None:
    with pytest.raises(ValueError, match="expected a batch") as raised:
        _shaped().transform(np.zeros((2, 3)))
    assert "one image" not in str(raised.value)


def test_an_overflowing_projection_names_the_image_it_came_from() -> None:
    X = np.zeros((3, 6), np.float32)
    X[1] = 3e38  # finite in float32; the sum of its projection is not
    with pytest.raises(ValueError, match=r"^The projection of image 1 overflowed float32"):
        _fitted(dtype=np.float32).transform(X)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_srht_matrix_is_the_transform_of_the_unit_images_bit_for_bit(dtype: Any) -> None:
    encoder = RandomProjectionImageEncoder(5, method="srht", normalize=False, dtype=dtype)
    d = 12
    matrix = encoder.get_projection_matrix(d)
    assert matrix.dtype == np.dtype(dtype)
    assert np.array_equal(encoder.transform(np.eye(d, dtype=dtype)), matrix.T)


SHAPE_EXPECTED = (
    "The 'image_shape' parameter of RandomProjectionImageEncoder must be None or a tuple of "
    "positive ints such as (28, 28) or (32, 32, 3). Got {} instead."
)


@pytest.mark.parametrize("image_shape", [(), "ab", (2.5, 3), [True, 2], (0, 3), (3, -1)])
def test_a_bad_image_shape_is_refused_in_scikit_learns_words(image_shape: Any) -> None:
    with pytest.raises(ValueError) as raised:
        RandomProjectionImageEncoder(4, image_shape=image_shape).fit(np.zeros((2, 6)))
    assert str(raised.value) == SHAPE_EXPECTED.format(repr(image_shape))


@pytest.mark.parametrize(
    ("image_shape", "X"), [((1, 3), np.zeros((2, 1, 3))), (1, np.ones((2, 1)))]
)
def test_an_image_shape_with_sides_of_one_pixel_is_accepted(image_shape: Any, X: Any) -> None:
    encoder = RandomProjectionImageEncoder(1, image_shape=image_shape).fit(X)
    assert encoder.transform(X).shape == (2, 1)


def test_a_bad_n_components_names_the_encoder() -> None:
    with pytest.raises(ValueError, match=r"^The 'n_components' parameter of RandomProjection"):
        RandomProjectionImageEncoder(0).fit(np.zeros((2, 6)))


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        (
            {"method": "dense"},
            ValueError,
            "The 'method' parameter of RandomProjectionImageEncoder must be one of "
            "{'sparse', 'gaussian', 'srht'}. Got 'dense' instead.",
        ),
        (
            {"density": "foo"},
            ValueError,
            "The 'density' parameter of RandomProjectionImageEncoder must be \"auto\" or a "
            "float in (0, 1]. Got 'foo' instead.",
        ),
        (
            {"density": [1]},
            TypeError,
            "The 'density' parameter of RandomProjectionImageEncoder must be a float in (0, 1]. "
            "Got [1] of type list instead.",
        ),
        (
            {"normalize": "yes"},
            TypeError,
            "The 'normalize' parameter of RandomProjectionImageEncoder must be a bool. "
            "Got 'yes' of type str instead.",
        ),
        (
            {"dtype": np.int32},
            ValueError,
            "The 'dtype' parameter of RandomProjectionImageEncoder must be numpy.float64 or "
            "numpy.float32. Got <class 'numpy.int32'> instead.",
        ),
        (
            {"batch_size": 0},
            ValueError,
            "The 'batch_size' parameter of RandomProjectionImageEncoder must be an int >= 1. "
            "Got 0 instead.",
        ),
        (
            {"max_matrix_bytes": -1},
            ValueError,
            "The 'max_matrix_bytes' parameter of RandomProjectionImageEncoder must be an int "
            ">= 0. Got -1 instead.",
        ),
        (
            {"seed": -1},
            ValueError,
            "The 'seed' parameter of RandomProjectionImageEncoder must be an int in "
            "[0, 18446744073709551615]. Got -1 instead.",
        ),
        (
            {"density": 1e-30},
            ValueError,
            "The 'density' parameter of RandomProjectionImageEncoder must be a float in "
            "(2**-64, 1]. Got 1e-30 instead.",
        ),
    ],
)
def test_a_bad_parameter_is_refused_naming_the_encoder_and_the_valid_values(
    params: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as raised:
        RandomProjectionImageEncoder(4, **params).fit(np.zeros((2, 6)))
    assert str(raised.value) == message


def test_the_default_is_256_components() -> None:
    # The documented default (numpydoc: n_components : int, default=256).
    X = np.zeros((2, 300))
    assert RandomProjectionImageEncoder().fit(X).transform(X).shape == (2, 256)
