"""Crash-safe output and the streaming input readers behind ``mmref embed``."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmref import _stream as _embed
from mmref._io import atomic_output
from mmref._stream import DataError, ImageSource, TextSource, auto_batch_size, write_embeddings


def test_atomic_output_replaces_only_on_success(tmp_path: Path) -> None:
    dest = tmp_path / "out.bin"
    dest.write_bytes(b"old")
    with atomic_output(dest) as handle:
        handle.write(b"new")
        assert dest.read_bytes() == b"old"  # not yet in place
    assert dest.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_atomic_output_keeps_old_file_and_removes_temporary(
    tmp_path: Path, error: type[BaseException]
) -> None:
    dest = tmp_path / "out.bin"
    dest.write_bytes(b"old")
    with pytest.raises(error), atomic_output(dest) as handle:
        handle.write(b"partial")
        raise error
    assert dest.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_atomic_output_needs_existing_directory(tmp_path: Path) -> None:
    with (
        pytest.raises(FileNotFoundError, match="does not exist"),
        atomic_output(tmp_path / "missing" / "out.bin"),
    ):
        pass


def test_image_source_reads_row_ranges(tmp_path: Path) -> None:
    images = np.arange(5 * 3 * 4, dtype=np.uint8).reshape(5, 3, 4)
    np.save(tmp_path / "x.npy", images)
    source = ImageSource(str(tmp_path / "x.npy"))
    assert source.n_rows == 5 and source.shape == (5, 3, 4)
    np.testing.assert_array_equal(source.read(1, 4), images[1:4])
    np.testing.assert_array_equal(source.read(4, 5), images[4:])


# (_MAX_GAP_BYTES, _SPAN_BYTES): the defaults, one read per run, and reads of a few runs.
READ_PLANS = [(16 << 10, 4 << 20), (0, 4 << 20), (1 << 30, 40)]


@pytest.mark.parametrize(("max_gap", "span"), READ_PLANS)
@pytest.mark.parametrize(
    ("shape", "dtype"), [((7, 3, 4), "<f4"), ((5, 2, 3, 2), ">f8"), ((9, 1, 2), "u1")]
)
def test_image_source_fortran_order_reads_like_np_load(
    tmp_path: Path, shape: tuple[int, ...], dtype: str, max_gap: int, span: int
) -> None:
    values = (np.arange(int(np.prod(shape))) % 251).astype(dtype).reshape(shape)
    np.save(tmp_path / "f.npy", np.asfortranarray(values))
    loaded = np.load(tmp_path / "f.npy", allow_pickle=False)
    assert loaded.flags.f_contiguous and not loaded.flags.c_contiguous
    source = ImageSource(str(tmp_path / "f.npy"))
    with mock.patch.multiple(_embed, _MAX_GAP_BYTES=max_gap, _SPAN_BYTES=span):
        for start in range(shape[0] + 1):
            for stop in range(start, shape[0] + 1):
                batch = source.read(start, stop)
                assert batch.flags.c_contiguous and batch.dtype == loaded.dtype
                np.testing.assert_array_equal(batch, loaded[start:stop], strict=True)


@given(
    shape=st.tuples(st.integers(1, 9), st.integers(0, 4), st.integers(1, 4), st.integers(1, 3)),
    ndim=st.sampled_from([3, 4]),
    dtype=st.sampled_from(["u1", "<i2", ">u4", "<f4", ">f8", "?"]),
    fortran=st.booleans(),
    plan=st.sampled_from(READ_PLANS),
    data=st.data(),
)
def test_image_source_reads_any_row_range_like_np_load(
    shape: tuple[int, ...],
    ndim: int,
    dtype: str,
    fortran: bool,
    plan: tuple[int, int],
    data: st.DataObject,
) -> None:
    shape = shape[:ndim]
    values = (np.arange(int(np.prod(shape))) % 251).astype(dtype).reshape(shape)
    start = data.draw(st.integers(0, shape[0]), label="start")
    stop = data.draw(st.integers(start, shape[0]), label="stop")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.npy"
        np.save(path, np.asfortranarray(values) if fortran else values)
        with mock.patch.multiple(_embed, _MAX_GAP_BYTES=plan[0], _SPAN_BYTES=plan[1]):
            batch = ImageSource(str(path)).read(start, stop)
        expected = np.load(path, allow_pickle=False)[start:stop]
    assert batch.flags.c_contiguous
    np.testing.assert_array_equal(batch, expected, strict=True)


def test_image_source_npz_member(tmp_path: Path) -> None:
    images = np.ones((2, 3, 3), dtype=np.float64)
    np.savez_compressed(tmp_path / "d.npz", pixels=images, other=np.zeros(3))
    source = ImageSource(str(tmp_path / "d.npz"), "pixels")
    np.testing.assert_array_equal(source.read(0, 2), images)
    with pytest.raises(DataError, match=r"no array 'missing' \(arrays: pixels, other\)"):
        ImageSource(str(tmp_path / "d.npz"), "missing")
    with pytest.raises(DataError, match="needs --key"):
        ImageSource(str(tmp_path / "d.npz"))


def test_image_source_rejects_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "t.npy"
    np.save(path, np.zeros((100, 8, 8)))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DataError, match="truncated"):
        ImageSource(str(path))


def test_image_source_rejects_object_arrays_without_unpickling(tmp_path: Path) -> None:
    path = tmp_path / "o.npy"
    np.save(path, np.array([[[None]]], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="object or pickled"):
        ImageSource(str(path))


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"not an npy file", "not a readable .npy"), (b"", "not a readable .npy")],
)
def test_image_source_rejects_garbage(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "g.npy"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        ImageSource(str(path))


def test_image_source_rejects_bad_shape_and_dtype(tmp_path: Path) -> None:
    np.save(tmp_path / "flat.npy", np.zeros(10))
    with pytest.raises(DataError, match=r"expected \(N, H, W\) or \(N, H, W, C\)"):
        ImageSource(str(tmp_path / "flat.npy"))
    np.save(tmp_path / "c.npy", np.zeros((1, 2, 2), dtype=np.complex128))
    with pytest.raises(DataError, match="complex128"):
        ImageSource(str(tmp_path / "c.npy"))


def test_text_source_lines_and_batches(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_bytes("one\r\ntwo 二\n\nfour".encode())
    source = TextSource(str(path))
    assert source.n_rows == 4
    assert list(source.batches(3)) == [["one", "two 二", ""], ["four"]]
    path.write_bytes(b"a\nb\n")
    assert TextSource(str(path)).n_rows == 2


def test_text_source_names_the_bad_utf8_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(b"fine\nalso fine\nbad \xff here\n")
    with pytest.raises(DataError, match="line 3 is not valid UTF-8"):
        list(TextSource(str(path)).batches(10))


def test_text_source_txt_keeps_blank_lines_even_at_the_end(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_bytes(b"a\n\nb\n\n")  # an empty caption in the middle and at the end
    source = TextSource(str(path))
    assert source.n_rows == 4 and list(source.batches(10)) == [["a", "", "b", ""]]
    path.write_bytes(b"a\r\n \t")
    assert list(TextSource(str(path)).batches(10)) == [["a", " \t"]]


@pytest.mark.parametrize(
    "ending", [b"\n\n", b"\n  ", b"\n \t\n", b"\r\n\r\n", b"\n\n\n\n", b" ", b""]
)
def test_text_source_jsonl_ignores_blank_lines_at_the_end(tmp_path: Path, ending: bytes) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(b'{"text": "x"}\n{"text": "y"}' + ending)
    source = TextSource(str(path))
    assert source.n_rows == 2
    assert list(source.batches(1)) == [["x"], ["y"]]


@pytest.mark.parametrize(("blank", "number"), [(b"", 2), (b" \t\r", 2), (b"  ", 1)])
def test_text_source_jsonl_blank_line_before_a_record_is_an_error(
    tmp_path: Path, blank: bytes, number: int
) -> None:
    path = tmp_path / "c.jsonl"
    records = [b'{"text": "x"}', b'{"text": "y"}']
    lines = [records[0], blank, records[1]] if number == 2 else [blank, *records]
    path.write_bytes(b"\n".join(lines) + b"\n\n")
    with pytest.raises(DataError, match=f"line {number} is blank; expected one JSON object"):
        TextSource(str(path))


@given(
    lines=st.lists(st.one_of(st.text(max_size=3), st.sampled_from(["", " ", "\t", "\r", " \r"]))),
    final_break=st.booleans(),
)
def test_text_source_jsonl_blank_lines_property(lines: list[str], final_break: bool) -> None:
    # A text becomes a record; a blank string stays a blank line.
    encoded = [json.dumps({"text": x}) if x.strip(" \t\r") else x for x in lines]
    kept = len(lines)
    while kept and not encoded[kept - 1].strip(" \t\r"):
        kept -= 1
    blanks = [i + 1 for i in range(kept) if not encoded[i].strip(" \t\r")]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.jsonl"
        path.write_bytes(("\n".join(encoded) + ("\n" if final_break else "")).encode())
        if blanks:
            with pytest.raises(DataError, match=f"line {blanks[0]} is blank"):
                TextSource(str(path))
            return
        source = TextSource(str(path))
        captions = [c for batch in source.batches(2) for c in batch]
    assert source.n_rows == kept and captions == lines[:kept]


def test_text_source_jsonl_trailing_blanks_across_read_chunks(tmp_path: Path) -> None:
    # The file is counted in 1 MiB chunks: the last record ends in the first chunk and
    # the blank tail fills the rest of it and all of the second.
    record = b'{"text": "caption"}\n'
    count = (1 << 20) // len(record) - 1
    path = tmp_path / "c.jsonl"
    path.write_bytes(record * count + b" \n" * (1 << 20))
    assert TextSource(str(path)).n_rows == count
    path.write_bytes(record * count + b" \n" * (1 << 20) + record)
    with pytest.raises(DataError, match=f"line {count + 1} is blank"):
        TextSource(str(path))
    short = b'{"text": "abc"}\n'  # 16 bytes: the first read ends with a whole record
    path.write_bytes(short * ((1 << 20) // 16) + b"\n" + short)
    with pytest.raises(DataError, match=f"line {(1 << 20) // 16 + 1} is blank"):
        TextSource(str(path))
    path.write_bytes(record * count + b" " * 30 + record + b"\n" * 10)  # a record straddles
    source = TextSource(str(path))
    assert source.n_rows == count + 1
    assert list(source.batches(count + 1)) == [["caption"] * (count + 1)]


def test_text_source_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(json.dumps({"caption": c}) for c in ["x", "y"]) + "\n")
    assert list(TextSource(str(path), "caption").batches(5)) == [["x", "y"]]
    with pytest.raises(DataError, match="line 1 has no string field 'text'"):
        list(TextSource(str(path)).batches(5))


def test_write_embeddings_streams_a_valid_npy(tmp_path: Path) -> None:
    blocks = [np.full((2, 3), i, dtype=np.float64) for i in range(3)]
    dest = tmp_path / "out.npy"
    seen: list[int] = []
    batches = ((2 * i, 2 * i + 2, b) for i, b in enumerate(blocks))
    shape = write_embeddings(str(dest), 6, batches, np.dtype(np.float32), seen.append)
    assert shape == (6, 3) and seen == [2, 2, 2]
    result = np.load(dest, allow_pickle=False)
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result, np.concatenate(blocks).astype(np.float32))


def test_write_embeddings_failure_leaves_nothing(tmp_path: Path) -> None:
    def batches() -> Iterator[tuple[int, int, np.ndarray]]:
        yield 0, 2, np.zeros((2, 3))
        raise DataError("bad row")

    with pytest.raises(DataError, match="bad row"):
        write_embeddings(str(tmp_path / "out.npy"), 4, batches(), None)
    assert list(tmp_path.iterdir()) == []


def test_auto_batch_size_bounds_memory() -> None:
    assert auto_batch_size(224 * 224 * 3) * 224 * 224 * 3 * 8 <= 32 << 20
    assert auto_batch_size(10**9) == 1
    assert auto_batch_size(1) == 8192


def test_atomic_output_gets_the_usual_file_mode(tmp_path: Path) -> None:
    import os

    mask = os.umask(0o022)
    try:
        with atomic_output(tmp_path / "out.bin") as handle:
            handle.write(b"x")
    finally:
        os.umask(mask)
    assert (tmp_path / "out.bin").stat().st_mode & 0o777 == 0o644


def test_image_source_rejects_npz_member_promising_more_than_it_holds(tmp_path: Path) -> None:
    import io
    import zipfile

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**7, 1000, 1000)}
    )
    with zipfile.ZipFile(tmp_path / "forged.npz", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("pixels.npy", header.getvalue() + b"\0" * 64)
    with pytest.raises(DataError, match="promises shape"):
        ImageSource(str(tmp_path / "forged.npz"), "pixels")


class _Recorder:
    """A model that records the shape ``encode_image`` receives."""

    def __init__(self, declares: bool | None) -> None:
        self.declares = declares
        self.seen: tuple[int, ...] = ()

    def __getattr__(self, name: str) -> object:
        if name == "takes_flat_channels" and self.declares is not None:
            return lambda: self.declares
        raise AttributeError(name)

    def encode_image(self, image: np.ndarray) -> np.ndarray:
        self.seen = image.shape
        return np.zeros((len(image), 1))


@pytest.mark.parametrize(
    ("declares", "seen"), [(True, (2, 3, 8)), (False, (2, 3, 4, 2)), (None, (2, 3, 4, 2))]
)
def test_embed_rows_reshapes_channels_only_for_a_model_that_declares_it(
    declares: bool | None, seen: tuple[int, ...]
) -> None:
    model = _Recorder(declares)
    _embed.embed_rows(model, np.zeros((2, 3, 4, 2)), None, 0, 2)
    assert model.seen == seen


def test_mmref_models_declare_flat_channels_from_their_image_encoder() -> None:
    import mmref

    shaped = mmref.RandomProjectionImageEncoder(4, image_shape=(3, 4, 2))
    flat = mmref.RandomProjectionImageEncoder(4)
    assert flat.takes_flat_channels() and not shaped.takes_flat_channels()
    assert mmref.MultimodalEncoder().takes_flat_channels()  # the default image encoder
    assert not mmref.MultimodalEncoder(shaped).takes_flat_channels()
    assert not mmref.MultimodalEncoder(_Recorder(None)).takes_flat_channels()
    fitted = mmref.MultimodalEncoder(shaped).fit(np.zeros((2, 3, 4, 2)))
    fitted.image_encoder = flat  # the fitted encoder, not the parameter, is in use
    assert not fitted.takes_flat_channels()
    aligned = mmref.AlignedEncoder(mmref.MultimodalEncoder(), mmref.CCAAlignment(1))
    assert aligned.takes_flat_channels()
    images = np.arange(2 * 3 * 4 * 2, dtype=np.float64).reshape(2, 3, 4, 2)
    out = _embed.embed_rows(mmref.MultimodalEncoder(flat), images, None, 0, 2)
    np.testing.assert_array_equal(out, flat.encode_image(images.reshape(2, 3, 8)))
