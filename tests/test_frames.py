"""scikit-learn's get_feature_names_out and set_output on mmref transformers; one-column frames."""

from __future__ import annotations

import numpy as np
import pytest

import mmref
from mmref import BagOfWordsTextEncoder, MultimodalEncoder, RandomProjectionImageEncoder

pd = pytest.importorskip("pandas")
sklearn = pytest.importorskip("sklearn")

CAPTIONS = ["a red circle", "一个蓝色的方块", "", "green cross"]


def test_feature_names() -> None:
    image = RandomProjectionImageEncoder(8)
    assert image.get_feature_names_out().tolist() == [f"image{i}" for i in range(8)]
    assert len(RandomProjectionImageEncoder().get_feature_names_out()) == 256
    text = BagOfWordsTextEncoder()
    names = text.get_feature_names_out()
    assert names.dtype == object and names[0] == "text0" and names[-1] == "text1023"
    learned = BagOfWordsTextEncoder(vocabulary="learn")
    with pytest.raises(mmref.NotFittedError):
        learned.get_feature_names_out()
    learned.fit(CAPTIONS)
    assert len(learned.get_feature_names_out()) == learned.transform(CAPTIONS).shape[1]
    joint = MultimodalEncoder(RandomProjectionImageEncoder(4), BagOfWordsTextEncoder(n_features=3))
    assert joint.get_feature_names_out().tolist() == [
        *(f"image__image{i}" for i in range(4)),
        *(f"text__text{i}" for i in range(3)),
    ]


def test_set_output_pandas_keeps_values_and_index() -> None:
    frame = pd.DataFrame({"caption": CAPTIONS}, index=[10, 11, 12, 13])
    text = BagOfWordsTextEncoder(n_features=16).set_output(transform="pandas")
    out = text.fit_transform(frame[["caption"]])
    assert isinstance(out, pd.DataFrame)
    assert out.columns.tolist() == [f"text{i}" for i in range(16)]
    assert out.index.tolist() == [10, 11, 12, 13]
    plain = BagOfWordsTextEncoder(n_features=16).transform(CAPTIONS)
    assert np.array_equal(out.to_numpy(), plain)
    images = np.arange(4 * 9, dtype=np.float64).reshape(4, 9)
    image = RandomProjectionImageEncoder(5).set_output(transform="pandas")
    out = image.transform(pd.DataFrame(images, index=list("abcd")))
    assert out.index.tolist() == list("abcd")
    assert np.array_equal(out.to_numpy(), RandomProjectionImageEncoder(5).transform(images))
    assert isinstance(image.set_output(transform="default").transform(images), np.ndarray)
    assert isinstance(image.set_output().transform(images), np.ndarray)  # None: unchanged
    with pytest.raises(ValueError, match="must be one of 'default', 'pandas', 'polars'"):
        image.set_output(transform="arrow")


def test_set_output_polars() -> None:
    pl = pytest.importorskip("polars")
    out = BagOfWordsTextEncoder(n_features=6).set_output(transform="polars").transform(CAPTIONS)
    assert isinstance(out, pl.DataFrame)
    assert out.columns == [f"text{i}" for i in range(6)]
    assert np.array_equal(out.to_numpy(), BagOfWordsTextEncoder(n_features=6).transform(CAPTIONS))
    frame = pl.DataFrame({"caption": CAPTIONS})
    assert np.array_equal(
        BagOfWordsTextEncoder(n_features=6).transform(frame),
        BagOfWordsTextEncoder(n_features=6).transform(CAPTIONS),
    )


def test_global_sklearn_config_is_followed_and_clone_keeps_the_setting() -> None:
    from sklearn.base import clone

    images = np.ones((2, 3, 3))
    with sklearn.config_context(transform_output="pandas"):
        assert isinstance(RandomProjectionImageEncoder(4).fit_transform(images), pd.DataFrame)
    assert isinstance(RandomProjectionImageEncoder(4).fit_transform(images), np.ndarray)
    cloned = clone(RandomProjectionImageEncoder(4).set_output(transform="pandas"))
    assert isinstance(cloned.fit_transform(images), pd.DataFrame)


def test_column_transformer_set_output_pandas() -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    pixels = [f"p{i}" for i in range(16)]
    rows = np.arange(8 * 16, dtype=np.float64).reshape(8, 16) % 7
    table = pd.DataFrame(rows, columns=pixels, index=range(100, 108))
    table["caption"] = [f"{c} {i}" for i, c in enumerate(CAPTIONS * 2)]
    features = ColumnTransformer(
        [
            ("image", RandomProjectionImageEncoder(8, image_shape=(16,)), pixels),
            ("text", BagOfWordsTextEncoder(n_features=32), ["caption"]),
        ]
    ).set_output(transform="pandas")
    out = features.fit_transform(table)
    assert isinstance(out, pd.DataFrame)
    assert out.index.tolist() == list(range(100, 108))
    assert out.columns[0] == "image__image0" and out.columns[-1] == "text__text31"
    # The caption column is embedded row by row, never as its header.
    captions = BagOfWordsTextEncoder(n_features=32).transform(list(table["caption"]))
    assert np.array_equal(out.filter(like="text__").to_numpy(), captions)
    model = Pipeline([("features", features), ("clf", LogisticRegression())])
    model.fit(table, [0, 1] * 4)
    assert model.predict(table).shape == (8,)


def test_one_column_inputs_are_rows_and_wider_ones_are_refused() -> None:
    text = BagOfWordsTextEncoder(n_features=64)
    expected = text.transform(CAPTIONS)
    frame = pd.DataFrame({"caption": CAPTIONS})
    assert np.array_equal(text.transform(frame), expected)
    assert np.array_equal(text.encode_text(frame), expected)
    assert np.array_equal(text.transform(np.array(CAPTIONS, dtype=object)[:, None]), expected)
    assert np.array_equal(text.transform(np.array(CAPTIONS)[:, None]), expected)
    with pytest.raises(TypeError, match="exactly one column"):
        text.transform(pd.DataFrame({"a": CAPTIONS, "b": CAPTIONS}))
    with pytest.raises(TypeError, match="texts\\[1\\]"):
        text.transform(pd.DataFrame({"caption": ["a", 3]}))
