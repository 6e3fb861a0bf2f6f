"""Crash-safe output and the streaming input readers behind ``mmref embed``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from mmref._embed import DataError, ImageSource, TextSource, auto_batch_size, write_embeddings
from mmref._io import atomic_output


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


def test_image_source_fortran_order(tmp_path: Path) -> None:
    images = np.asfortranarray(np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4))
    np.save(tmp_path / "f.npy", images)
    np.testing.assert_array_equal(ImageSource(str(tmp_path / "f.npy")).read(0, 2), images)


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
