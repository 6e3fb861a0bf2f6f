"""mmref.dask against a real two-process distributed.LocalCluster.

The cluster is started once for the module and stopped at its end. Results
are compared with the in-memory encoders: bit for bit on the same row blocks,
within rtol 1e-12 on the whole array.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
db = pytest.importorskip("dask.bag")
distributed = pytest.importorskip("distributed")

import mmref  # noqa: E402
from mmref import dask as mdask  # noqa: E402
from mmref._stream import DataError, ImageSource, TextSource  # noqa: E402
from mmref.image import RandomProjectionImageEncoder  # noqa: E402
from mmref.multimodal import MultimodalEncoder  # noqa: E402
from mmref.text import BagOfWordsTextEncoder  # noqa: E402

CAPTIONS = [
    "a red circle",
    "两只猫",
    "Ｔｏｋｙｏ at night",
    "",
    "a blue square next to a red circle",
    "café au lait",
    "three dots",
]


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with (
        distributed.LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            # Its HTTP server still starts without a dashboard; on a taken default port
            # (a user's own Dask, another test run) it would warn, an error under pytest.
            dashboard_address=":0",
            worker_dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as c,
    ):
        yield c


def _images(n: int, shape: tuple[int, ...] = (6, 5)) -> np.ndarray[Any, Any]:
    # Deterministic, not constant: distinct rows of mixed sign.
    values = np.arange(n * int(np.prod(shape)), dtype=np.float64)
    return np.sin(values * 0.37).reshape(n, *shape) * 50


def _captions(n: int) -> list[str]:
    return [f"{CAPTIONS[i % len(CAPTIONS)]} {i}" for i in range(n)]


@pytest.mark.parametrize("method", ["sparse", "gaussian", "srht"])
def test_encode_images_matches_in_memory_blocks_bit_for_bit(client: Any, method: str) -> None:
    images = _images(23)
    encoder = RandomProjectionImageEncoder(16, method=method, seed=7, image_shape=(6, 5))
    lazy = mdask.encode_images(da.from_array(images, chunks=(5, 6, 5)), encoder)
    assert lazy.shape == (23, 16) and lazy.chunks == ((5, 5, 5, 5, 3), (16,))
    result = client.compute(lazy).result()
    blocks = np.concatenate([encoder.encode_image(images[i : i + 5]) for i in range(0, 23, 5)])
    assert result.dtype == blocks.dtype
    np.testing.assert_array_equal(result, blocks)
    np.testing.assert_allclose(result, encoder.encode_image(images), rtol=1e-12, atol=0)


def test_encode_images_of_4d_color_images_with_float32(client: Any) -> None:
    images = _images(9, (4, 3, 3)).astype(np.float32)
    encoder = RandomProjectionImageEncoder(
        8, image_shape=(4, 3, 3), dtype=np.float32, method="gaussian"
    )
    lazy = mdask.encode_images(da.from_array(images, chunks=(4, 4, 3, 3)), encoder)
    result = client.compute(lazy).result()
    assert result.dtype == np.float32
    blocks = np.concatenate([encoder.encode_image(images[i : i + 4]) for i in range(0, 9, 4)])
    np.testing.assert_array_equal(result, blocks)


def test_encode_texts_from_an_array_and_from_a_bag(client: Any) -> None:
    texts = _captions(17)
    encoder = BagOfWordsTextEncoder(64, ngram_range=(1, 2))
    expected = encoder.encode_text(texts)
    array = da.from_array(np.array(texts, dtype=object), chunks=6)
    from_array = client.compute(mdask.encode_texts(array, encoder)).result()
    np.testing.assert_array_equal(from_array, expected)
    bag = db.from_sequence(texts, npartitions=3)
    lazy = mdask.encode_texts(bag, encoder)
    assert np.isnan(lazy.shape[0]) and lazy.shape[1] == 64
    np.testing.assert_array_equal(client.compute(lazy).result(), expected)


def test_encode_texts_with_a_learned_vocabulary_travels_fitted(client: Any) -> None:
    texts = _captions(12)
    encoder = BagOfWordsTextEncoder(vocabulary="learn", weighting="tfidf").fit(texts)
    array = da.from_array(np.array(texts), chunks=5)  # a unicode (<U) array this time
    result = client.compute(mdask.encode_texts(array, encoder)).result()
    np.testing.assert_array_equal(result, encoder.encode_text(texts))


def test_joint_embedding_equals_the_reference(client: Any) -> None:
    images = _images(14)
    texts = _captions(14)
    model = MultimodalEncoder(
        RandomProjectionImageEncoder(12, image_shape=(6, 5), seed=3), BagOfWordsTextEncoder(32)
    )
    expected = mmref.joint_embedding(images, texts, model)
    image_array = da.from_array(images, chunks=(4, 6, 5))
    # Text chunks differ from the image chunks: they are rechunked to match.
    text_array = da.from_array(np.array(texts, dtype=object), chunks=5)
    lazy = mdask.joint_embedding(image_array, text_array, model)
    assert lazy.chunks == ((4, 4, 4, 2), (44,))
    result = client.compute(lazy).result()
    blocks = np.concatenate(
        [mmref.joint_embedding(images[i : i + 4], texts[i : i + 4], model) for i in range(0, 14, 4)]
    )
    np.testing.assert_array_equal(result, blocks)
    np.testing.assert_allclose(result, expected, rtol=1e-12, atol=0)
    from_bag = mdask.joint_embedding(image_array, db.from_sequence(texts, npartitions=3), model)
    np.testing.assert_array_equal(client.compute(from_bag).result(), blocks)


def test_pickled_encoders_are_small_even_after_use() -> None:
    images = _images(4, (28, 28))
    for method in ("sparse", "gaussian", "srht"):
        encoder = RandomProjectionImageEncoder(256, method=method, image_shape=(28, 28))
        encoder.fit(images).encode_image(images)  # builds and caches the projection
        size = len(pickle.dumps(encoder))
        assert size < 10_000, (method, size)
        restored = pickle.loads(pickle.dumps(encoder))
        np.testing.assert_array_equal(restored.encode_image(images), encoder.encode_image(images))
    model = MultimodalEncoder()
    model.embed(images[:, :8, :8], ["a", "b", "c", "d"])
    assert len(pickle.dumps(model)) < 10_000


def test_bad_inputs_raise_clear_errors() -> None:
    encoder = RandomProjectionImageEncoder(4, image_shape=(6, 5))
    with pytest.raises(ValueError, match=r"chunked along axis 1.*rechunk\(\{1: -1\}\)"):
        mdask.encode_images(da.from_array(_images(4), chunks=(2, 3, 5)), encoder)
    with pytest.raises(TypeError, match="must be a dask array"):
        mdask.encode_images(_images(4), encoder)
    with pytest.raises(TypeError, match="callable encode_image"):
        mdask.encode_images(da.from_array(_images(4)), BagOfWordsTextEncoder())
    flat = RandomProjectionImageEncoder(4)  # image_shape=None: a 2-D array is ONE image
    with pytest.raises(ValueError, match="1 row.*batch of 2"):
        mdask.encode_images(da.from_array(_images(4, (30,))), flat)
    with pytest.raises(ValueError, match="expected a 1-D dask array"):
        mdask.encode_texts(da.from_array(np.array([["a"]])), BagOfWordsTextEncoder())
    with pytest.raises(ValueError, match="4 samples but texts holds 3"):
        mdask.joint_embedding(
            da.from_array(_images(4)), da.from_array(np.array(["a", "b", "c"])), MultimodalEncoder()
        )


def _write_inputs(tmp_path: Path, n: int, *, crlf: bool = False) -> tuple[str, str]:
    images = (np.arange(n * 3 * 4 * 2) % 251).astype(np.uint8).reshape(n, 3, 4, 2)
    image_path = str(tmp_path / "images.npy")
    np.save(image_path, images)
    text_path = str(tmp_path / "captions.txt")
    end = "\r\n" if crlf else "\n"
    Path(text_path).write_bytes(end.join(_captions(n)).encode("utf-8"))  # no final newline
    return image_path, text_path


def _single_machine(image_path: str, text_path: str, model: Any, batch: int) -> Any:
    images = np.load(image_path)
    images = images.reshape(images.shape[0], images.shape[1], -1)
    texts = _captions(images.shape[0])
    return np.concatenate(
        [
            mmref.joint_embedding(images[i : i + batch], texts[i : i + batch], model)
            for i in range(0, len(texts), batch)
        ]
    )


@pytest.mark.parametrize("crlf", [False, True])
def test_embed_files_streams_blocks_in_order(client: Any, tmp_path: Path, crlf: bool) -> None:
    image_path, text_path = _write_inputs(tmp_path, 37, crlf=crlf)
    model = MultimodalEncoder(RandomProjectionImageEncoder(8), BagOfWordsTextEncoder(16))
    output = str(tmp_path / "out.npy")
    seen: list[int] = []
    shape = mdask.embed_files(
        ImageSource(image_path),
        TextSource(text_path),
        model,
        output,
        n_rows=37,
        batch_size=5,
        dtype=np.dtype(np.float32),
        scheduler=client.scheduler.address,  # a fresh client, as the CLI connects
        progress=seen.append,
        max_in_flight=3,
    )
    assert shape == (37, 24) and seen == [5] * 7 + [2]
    written = np.load(output)
    assert written.dtype == np.float32
    np.testing.assert_array_equal(
        written, _single_machine(image_path, text_path, model, 5).astype(np.float32)
    )


def test_embed_files_one_input_and_jsonl(client: Any, tmp_path: Path) -> None:
    path = tmp_path / "captions.jsonl"
    texts = _captions(11)
    path.write_text("".join(f'{{"caption": "{t}"}}\n' for t in texts), encoding="utf-8")
    output = str(tmp_path / "texts.npy")
    model = BagOfWordsTextEncoder(16)
    mdask.embed_files(None, TextSource(str(path), "caption"), model, output, 11, 4, None, client)
    np.testing.assert_array_equal(np.load(output), model.encode_text(texts))


def test_embed_files_bad_data_leaves_no_output(client: Any, tmp_path: Path) -> None:
    image_path, text_path = _write_inputs(tmp_path, 12)
    lines = Path(text_path).read_bytes().split(b"\n")
    lines[9] = b"\xff\xfe broken"
    Path(text_path).write_bytes(b"\n".join(lines))
    output = tmp_path / "out.npy"
    with pytest.raises(DataError, match="line 10 is not valid UTF-8"):
        mdask.embed_files(
            ImageSource(image_path), TextSource(text_path), MultimodalEncoder(), str(output),
            12, 4, None, client,
        )  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["captions.txt", "images.npy"]


def test_embed_files_refuses_npz_members(tmp_path: Path) -> None:
    path = tmp_path / "images.npz"
    np.savez(path, pixels=np.zeros((3, 2, 2)))
    with pytest.raises(DataError, match="cannot be read by row range"):
        mdask.embed_files(
            ImageSource(str(path), "pixels"), None, MultimodalEncoder(), str(tmp_path / "o.npy"),
            3, 2, None, "tcp://127.0.0.1:1",
        )  # fmt: skip


@pytest.mark.parametrize("n_lines, step", [(50, 3), (120_000, 997)])
def test_line_offsets_find_every_block_start(tmp_path: Path, n_lines: int, step: int) -> None:
    # 120,000 lines of up to 40 bytes span several of the 1 MiB chunks read at a time.
    path = tmp_path / "lines.txt"
    lines = [("x" * (i * 7919 % 41)) for i in range(n_lines)]
    path.write_text("\n".join(lines), encoding="utf-8")
    starts = list(range(0, n_lines, step))
    offsets = mdask._line_offsets(str(path), starts)
    data = path.read_bytes()
    assert offsets == [len("\n".join(lines[:s])) + (s > 0) for s in starts]
    assert all(
        data[o : o + 64].split(b"\n")[0] == lines[s].encode()
        for o, s in zip(offsets, starts, strict=True)
    )


def test_embed_files_unreachable_scheduler_is_a_connection_error(tmp_path: Path) -> None:
    texts = tmp_path / "captions.txt"
    texts.write_text("a\nb\n", encoding="utf-8")
    with pytest.raises(ConnectionError, match="cannot connect to the Dask scheduler"):
        mdask.embed_files(
            None, TextSource(str(texts)), BagOfWordsTextEncoder(), str(tmp_path / "o.npy"),
            2, 1, None, "tcp://127.0.0.1:1", connect_timeout=0.5,
        )  # fmt: skip
    assert not (tmp_path / "o.npy").exists()


def test_cli_embed_with_scheduler_equals_the_single_machine_run(
    client: Any, tmp_path: Path
) -> None:
    from mmref.cli import main

    image_path, text_path = _write_inputs(tmp_path, 23)
    common = ["embed", "--images", image_path, "--texts", text_path, "--batch-size", "4"]
    local, remote = str(tmp_path / "local.npy"), str(tmp_path / "remote.npy")
    assert main([*common, "--output", local]) == 0
    assert main([*common, "--output", remote, "--scheduler", client.scheduler.address]) == 0
    assert Path(local).read_bytes() == Path(remote).read_bytes()
