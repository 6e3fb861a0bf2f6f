"""``mmref embed`` and its streaming readers, as a user sees them.

Rows read back exactly (any .npy version and order, .npz members, captions in .txt
and .jsonl), each encoder option builds the model it names, every bad argument or
input is refused with its exit status and one line naming it, and nothing is written
when a run fails.
"""

from __future__ import annotations

import json
import re
import signal
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import EMBED_CAPTIONS as CAPTIONS
from helpers import embed_inputs as _inputs

import mmref
from mmref import _stream
from mmref._stream import DataError, ImageSource, TextSource, auto_batch_size, embed_rows
from mmref.cli import main


def _npy(path: Path, array: np.ndarray, version: tuple[int, int] | None = None) -> Path:
    with open(path, "wb") as handle:
        np.lib.format.write_array(handle, array, version=version)
    return path


# --- reading images ------------------------------------------------------------------


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
@pytest.mark.parametrize("order", ["C", "F"])
def test_every_npy_version_and_order_reads_like_np_load(
    tmp_path: Path, version: tuple[int, int], order: str
) -> None:
    images = (np.arange(7 * 3 * 4 * 2) % 251).astype(np.int16).reshape(7, 3, 4, 2)
    path = _npy(tmp_path / "i.npy", np.asarray(images, order=order), version)
    source = ImageSource(str(path))
    assert source.n_rows == 7 and source.shape == (7, 3, 4, 2) and source.dtype == np.int16
    for start, stop in [(0, 7), (0, 1), (2, 5), (6, 7), (3, 3)]:
        got = source.read(start, stop)
        assert got.shape == (stop - start, 3, 4, 2) and got.dtype == np.int16
        assert got.flags.c_contiguous and got.tobytes() == images[start:stop].tobytes()


@pytest.mark.parametrize(("rows", "side"), [(600, 90), (3000, 3)])
def test_fortran_order_reads_far_apart_and_in_several_spans(
    tmp_path: Path, rows: int, side: int
) -> None:
    # 600 rows of 90x90 uint8: runs close together, read in more than one span of 4 MiB;
    # 3000 rows of 3x3 float64: runs more than 16 KiB apart, read one by one.
    dtype = np.uint8 if rows == 600 else np.float64
    images = (np.arange(rows * side * side) % 241).astype(dtype).reshape(rows, side, side)
    source = ImageSource(str(_npy(tmp_path / "f.npy", np.asfortranarray(images))))
    for start, stop in [(0, 10), (rows - 7, rows), (5, 6)]:
        assert source.read(start, stop).tobytes() == images[start:stop].tobytes()


@pytest.mark.parametrize("order", ["C", "F"])
def test_a_file_cut_short_after_opening_is_refused(tmp_path: Path, order: str) -> None:
    images = np.asarray(np.arange(6 * 16.0).reshape(6, 4, 4), order=order)
    path = _npy(tmp_path / "i.npy", images)
    source = ImageSource(str(path))
    data = path.read_bytes()
    path.write_bytes(data[:-8])
    with pytest.raises(DataError, match="ended early"):
        source.read(0, 6)


@pytest.mark.parametrize("extra", [0, 1])
def test_a_truncated_npy_is_refused_when_opened(tmp_path: Path, extra: int) -> None:
    path = _npy(tmp_path / "i.npy", np.zeros((3, 2, 2)))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 1] if extra == 0 else data + b"\0")
    if extra:  # a longer file holds all the promised rows
        assert ImageSource(str(path)).read(0, 3).tobytes() == np.zeros((3, 2, 2)).tobytes()
    else:
        with pytest.raises(DataError, match="truncated"):
            ImageSource(str(path))


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((2, 3, 3), dtype=np.complex128), "real numbers"),
        (np.array([[["a"]]]), "real numbers"),
        (np.zeros((2, 3)), r"expected \(N, H, W\)"),
        (np.zeros((2, 3, 3, 1, 1)), r"expected \(N, H, W\)"),
    ],
)
def test_images_that_are_not_real_image_arrays_are_refused(
    tmp_path: Path, array: np.ndarray, message: str
) -> None:
    with pytest.raises(DataError, match=message):
        ImageSource(str(_npy(tmp_path / "i.npy", array)))
    np.savez(tmp_path / "a.npz", pixels=array)
    with pytest.raises(DataError, match=message):
        ImageSource(str(tmp_path / "a.npz"), "pixels")


@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int64, np.float32])
def test_images_of_every_real_dtype_are_read(tmp_path: Path, dtype: Any) -> None:
    images = (np.arange(2 * 9) % 3).astype(dtype).reshape(2, 3, 3)
    source = ImageSource(str(_npy(tmp_path / "i.npy", images)))
    assert source.read(0, 2).dtype == dtype


def test_a_version_this_reader_does_not_know_is_refused(tmp_path: Path) -> None:
    path = _npy(tmp_path / "i.npy", np.zeros((2, 2, 2)))
    data = bytearray(path.read_bytes())
    data[6] = 4
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match="not a readable .npy"):
        ImageSource(str(path))


@pytest.mark.parametrize("compressed", [False, True])
def test_an_npz_member_reads_whole(tmp_path: Path, compressed: bool) -> None:
    images = np.arange(5 * 2 * 3, dtype=np.float32).reshape(5, 2, 3)
    save = np.savez_compressed if compressed else np.savez
    save(tmp_path / "a.npz", pixels=images, other=np.zeros(3))
    source = ImageSource(str(tmp_path / "a.npz"), "pixels")
    assert source.n_rows == 5 and source.shape == (5, 2, 3) and source.dtype == np.float32
    assert source.read(1, 4).tobytes() == images[1:4].tobytes()
    with pytest.raises(DataError, match=r"no array 'pix' \(arrays: pixels, other\)"):
        ImageSource(str(tmp_path / "a.npz"), "pix")
    with pytest.raises(DataError, match="needs --key"):
        ImageSource(str(tmp_path / "a.npz"))


def test_an_npz_that_is_not_a_zip_or_holds_objects_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a valid .npz"):
        ImageSource(str(tmp_path / "bad.npz"), "x")
    np.savez(tmp_path / "o.npz", x=np.array([[[None]]], dtype=object))
    with pytest.raises(DataError, match="objects"):
        ImageSource(str(tmp_path / "o.npz"), "x")
    with zipfile.ZipFile(tmp_path / "empty.npz", "w"):
        pass
    with pytest.raises(DataError, match=r"arrays: none"):
        ImageSource(str(tmp_path / "empty.npz"), "x")


# --- reading captions ----------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 2, 5, 100])
def test_txt_captions_come_back_in_batches_of_the_size_asked(tmp_path: Path, size: int) -> None:
    path = tmp_path / "c.txt"
    path.write_bytes(b"one\r\ntwo\n\n  \nlast")
    source = TextSource(str(path))
    assert source.n_rows == 5 and not source.jsonl
    batches = list(source.batches(size))
    assert all(len(b) == size for b in batches[:-1]) and 0 < len(batches[-1]) <= size
    assert [c for b in batches for c in b] == ["one", "two", "", "  ", "last"]


def test_a_carriage_return_inside_a_caption_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_bytes(b"a\rb\r\nc\r\r\n")
    assert list(TextSource(str(path)).batches(10)) == [["a\rb", "c\r"]]


def test_jsonl_captions_by_field(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"text": "t1", "c": "x"}) + "\n" + json.dumps({"text": "t2"}))
    assert list(TextSource(str(path)).batches(10)) == [["t1", "t2"]]
    other = tmp_path / "c.txt"
    other.write_text(json.dumps({"c": "only"}) + "\r\n")
    source = TextSource(str(other), "c")  # a field makes any file JSON lines
    assert source.jsonl and list(source.batches(3)) == [["only"]]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{", "line 2 is not valid JSON"),
        ("[" * 100_000, "line 2 nests JSON values too deeply"),
        ('{"text": ' + "9" * 5000 + "}", "line 2 is not readable JSON"),
        ('["text"]', "line 2 has no string field 'text'"),
        ('{"text": 3}', "line 2 has no string field 'text'"),
        ('{"caption": "x"}', "line 2 has no string field 'text'"),
    ],
)
def test_a_bad_jsonl_line_is_named(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"text": "ok"}\n' + line + "\n")
    with pytest.raises(DataError, match=message) as info:
        list(TextSource(str(path)).batches(10))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("jsonl", [False, True])
def test_a_line_at_the_limit_is_read_and_one_byte_more_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jsonl: bool
) -> None:
    monkeypatch.setattr(_stream, "MAX_LINE_BYTES", 40)
    wrap = (lambda s: json.dumps({"text": s})) if jsonl else (lambda s: s)
    fits = "x" * (40 - len(wrap("")))
    path = tmp_path / ("c.jsonl" if jsonl else "c.txt")
    for ending in ("\n", "\r\n"):
        path.write_text(wrap(fits) + ending + wrap("b") + "\n", newline="")
        assert list(TextSource(str(path)).batches(5)) == [[fits, "b"]]
    path.write_text(wrap("b") + "\n" + wrap(fits), newline="")  # the last line, unended
    assert list(TextSource(str(path)).batches(5)) == [["b", fits]]
    path.write_text(wrap("b") + "\n" + wrap(fits + "y") + "\n")
    with pytest.raises(DataError, match="line 2 is longer than 40 bytes"):
        list(TextSource(str(path)).batches(5))


def test_invalid_utf8_names_the_line_and_byte(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_bytes(b"ok\nab\xffc\n")
    with pytest.raises(DataError, match="line 2 is not valid UTF-8 \\(byte 3 of the line\\)"):
        list(TextSource(str(path)).batches(10))


# --- batch sizes and rows ------------------------------------------------------------


@pytest.mark.parametrize("values", [1, 512, 513, 1000, 3 * 224 * 224, 4 << 20, 5 << 20])
def test_a_batch_is_about_32_mib_of_float64(values: int) -> None:
    rows = auto_batch_size(values)
    assert 1 <= rows <= 8192
    if 1 < rows < 8192:  # as many rows as fit in 32 MiB
        assert rows * values * 8 <= 32 << 20 < (rows + 1) * values * 8
    assert rows == max(1, min(8192, (32 << 20) // (8 * values)))


def test_embed_rows_joins_or_embeds_one_modality_and_names_bad_rows() -> None:
    model = mmref.MultimodalEncoder(
        mmref.RandomProjectionImageEncoder(4), mmref.BagOfWordsTextEncoder(8)
    )
    images = np.arange(2 * 9.0).reshape(2, 3, 3)
    texts = ["a b", "c"]
    joint = embed_rows(model, images, texts, 0, 2)
    assert joint.tobytes() == mmref.joint_embedding(images, texts, model).tobytes()
    assert embed_rows(model, images, None, 0, 2).tobytes() == model.encode_image(images).tobytes()
    assert embed_rows(model, None, texts, 0, 2).tobytes() == model.encode_text(texts).tobytes()
    bad = images.copy()
    bad[1, 0, 0] = np.nan
    with pytest.raises(DataError, match="^rows 10 to 11: "):
        embed_rows(model, bad, None, 10, 12)
    with pytest.raises(DataError, match="^rows 4 to 5: "):
        embed_rows(model, images, ["a"], 4, 6)


# --- the command ---------------------------------------------------------------------


def _embed(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["embed", *args])
    err = capsys.readouterr().err
    return code, err


@pytest.mark.parametrize(
    ("options", "image_kw", "text_kw"),
    [
        (["--dtype", "float32"], {"dtype": np.float32}, {"dtype": np.float32}),
        (["--seed", "9"], {"seed": 9}, {"seed": 9}),
        (["--image-components", "8"], {"n_components": 8}, {}),
        (["--text-features", "16"], {}, {"n_features": 16}),
        (["--image-method", "gaussian"], {"method": "gaussian"}, {}),
        (["--dtype", "float64", "--seed", "0"], {}, {}),
    ],
)
def test_each_encoder_option_builds_the_model_it_names(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    options: list[str],
    image_kw: dict[str, Any],
    text_kw: dict[str, Any],
) -> None:
    images, captions = _inputs(tmp_path)
    out = tmp_path / "out.npy"
    code, err = _embed(
        capsys, "--images", str(images), "--texts", str(captions), "--output", str(out), *options
    )
    assert (code, err) == (0, "")
    model = mmref.MultimodalEncoder(
        mmref.RandomProjectionImageEncoder(**image_kw), mmref.BagOfWordsTextEncoder(**text_kw)
    )
    expected = mmref.joint_embedding(np.load(images), CAPTIONS, model)
    got = np.load(out, allow_pickle=False)
    assert got.dtype == expected.dtype and got.tobytes() == expected.tobytes()


def test_a_model_file_embeds_as_the_model_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    images, captions = _inputs(tmp_path)
    model = mmref.MultimodalEncoder(
        mmref.RandomProjectionImageEncoder(5, seed=4), mmref.BagOfWordsTextEncoder(7)
    )
    mmref.save(model, tmp_path / "m.mmref")
    out = tmp_path / "out.npz"
    base = ["--model", str(tmp_path / "m.mmref"), "--output", str(out), "--batch-size", "4"]
    assert _embed(capsys, "--images", str(images), "--texts", str(captions), *base) == (0, "")
    with np.load(out) as archive:
        expected = mmref.joint_embedding(np.load(images), CAPTIONS, model)
        assert archive["embedding"].tobytes() == expected.tobytes()
    text_only = mmref.BagOfWordsTextEncoder(7)
    mmref.save(text_only, tmp_path / "t.mmref")
    base[1] = str(tmp_path / "t.mmref")
    assert _embed(capsys, "--texts", str(captions), *base) == (0, "")
    with np.load(out) as archive:
        assert archive["embedding"].tobytes() == text_only.encode_text(CAPTIONS).tobytes()
    code, err = _embed(capsys, "--images", str(images), *base)
    assert code == 1 and "has no encode_image method" in err
    mmref.save(mmref.RandomProjectionImageEncoder(3), tmp_path / "i.mmref")
    base[1] = str(tmp_path / "i.mmref")
    code, err = _embed(capsys, "--texts", str(captions), *base)
    assert code == 1 and "has no encode_text method" in err


def test_a_model_file_with_an_unsafe_token_pattern_needs_trust(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, captions = _inputs(tmp_path)
    mmref.save(mmref.BagOfWordsTextEncoder(8, token_pattern=r"[a-z]+"), tmp_path / "p.mmref")
    base = ["--texts", str(captions), "--model", str(tmp_path / "p.mmref")]
    out = tmp_path / "o.npy"
    code, err = _embed(capsys, *base, "--output", str(out))
    assert code == 1 and "trust" in err and not out.exists()
    assert _embed(capsys, *base, "--output", str(out), "--trust-token-pattern") == (0, "")
    expected = mmref.BagOfWordsTextEncoder(8, token_pattern=r"[a-z]+").encode_text(CAPTIONS)
    assert np.load(out).tobytes() == expected.tobytes()


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        ([], 2, "give --images, --texts or both, or --table"),
        (["--texts", "{captions}", "--key", "k"], 2, "--key goes with --images"),
        (["--images", "{images}", "--key", "k"], 2, "--key goes with an .npz"),
        (["--images", "{npz}"], 2, "name its array with --key"),
        (["--images", "{images}", "--text-field", "t"], 2, "--text-field goes with a .jsonl"),
        (["--texts", "{captions}", "--text-field", "t"], 2, "--text-field goes with a .jsonl"),
        (["--texts", "{captions}", "--trust-token-pattern"], 2, "--trust-token-pattern goes"),
        (["--texts", "{captions}", "--id-column", "id"], 2, "--id-column needs --output .npz"),
        (["--texts", "{captions}", "--model", "{model}", "--seed", "1"], 2, "--seed cannot"),
        (
            ["--texts", "{captions}", "--model", "{model}", "--image-components", "3",
             "--text-features", "4"],
            2,
            "--image-components, --text-features cannot be combined with --model",
        ),
        (["--texts", "{captions}", "--model", "{model}", "--image-method", "srht"], 2,
         "--image-method"),
        (["--texts", "{short}", "--images", "{images}"], 1, "holds 6 images but"),
        (["--texts", "{empty}"], 1, "no rows"),
        (["--images", "{none}"], 1, "no rows"),
        (["--texts", "{captions}", "--scheduler", "tcp://x:1", "--output-as", "npz"], 2, ".npy"),
    ],
)  # fmt: skip
def test_bad_arguments_and_inputs_are_refused_with_nothing_written(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    status: int,
    message: str,
) -> None:
    images, captions = _inputs(tmp_path)
    np.savez(tmp_path / "a.npz", x=np.zeros((2, 2, 2)))
    (tmp_path / "short.txt").write_text("one\n")
    (tmp_path / "empty.txt").write_text("")
    np.save(tmp_path / "none.npy", np.zeros((0, 2, 2)))
    mmref.save(mmref.BagOfWordsTextEncoder(4), tmp_path / "m.mmref")
    names = {
        "images": images, "captions": captions, "npz": tmp_path / "a.npz",
        "short": tmp_path / "short.txt", "empty": tmp_path / "empty.txt",
        "none": tmp_path / "none.npy", "model": tmp_path / "m.mmref",
    }  # fmt: skip
    out = tmp_path / "out.npy"
    if "--output-as" in args:
        out = tmp_path / "out.npz"
        args = args[:-2]
    out.write_bytes(b"earlier")
    filled = [a.format(**{k: str(v) for k, v in names.items()}) for a in args]
    before = sorted(p.name for p in tmp_path.iterdir())
    code, err = _embed(capsys, *filled, "--output", str(out))
    assert code == status, err
    assert message in err and err.count("\n") == 1
    # Each option the message is about is named as typed, a word of its own.
    for option in re.findall(r"--[a-z][\w-]*", message):
        assert re.search(rf"(?<![\w-]){option}(?![\w-])", err), (option, err)
    if "holds 6 images" in message:  # the two files that disagree are both named
        assert str(names["images"]) in err and str(names["short"]) in err
    assert out.read_bytes() == b"earlier"
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize("flag", ["--images", "--model"])
def test_an_output_that_is_an_input_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str
) -> None:
    images, captions = _inputs(tmp_path)
    mmref.save(mmref.MultimodalEncoder(), tmp_path / "m.npy")
    target = {"--images": images, "--texts": captions, "--model": tmp_path / "m.npy"}[flag]
    before = target.read_bytes()
    args = ["--images", str(images), "--texts", str(captions)]
    if flag == "--model":
        args += ["--model", str(target)]
    code, err = _embed(capsys, *args, "--output", str(target))
    assert code == 2 and f"is the same file as {flag}" in err
    assert target.read_bytes() == before


@pytest.mark.parametrize("flag", ["--texts", "--table"])
def test_an_output_linked_to_a_caption_file_or_table_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str
) -> None:
    # Captions and tables cannot be named as an output (the extensions differ), but a
    # link can point an output at one.
    source = tmp_path / ("captions.txt" if flag == "--texts" else "pairs.csv")
    source.write_text("caption\na red circle\n", encoding="utf-8")
    before = source.read_bytes()
    out = tmp_path / "out.npz"
    out.symlink_to(source)
    code, err = _embed(capsys, flag, str(source), "--text-column", "caption", "--output", str(out))
    assert code == 2 and re.search(rf"is the same file as {flag} (?![\w-])", err), err
    assert source.read_bytes() == before and out.is_symlink()


def test_jsonl_captions_by_field_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "captions.jsonl"
    path.write_text("".join(json.dumps({"c": c}) + "\n" for c in CAPTIONS), encoding="utf-8")
    out = tmp_path / "out.npy"
    args = ["--texts", str(path), "--text-field", "c", "--output", str(out)]
    assert _embed(capsys, *args) == (0, "")
    assert np.load(out).tobytes() == mmref.BagOfWordsTextEncoder().encode_text(CAPTIONS).tobytes()


def test_bad_rows_are_named_by_their_batch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    images = np.arange(6 * 4.0).reshape(6, 2, 2)
    images[3, 1, 0] = np.nan
    np.save(tmp_path / "images.npy", images)
    out = tmp_path / "out.npy"
    args = ["--images", str(tmp_path / "images.npy"), "--output", str(out), "--batch-size", "2"]
    code, err = _embed(capsys, *args)
    assert code == 1 and "error: rows 2 to 3: " in err, err
    assert not out.exists()


def test_an_output_beside_the_inputs_is_written_and_signals_are_restored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    images, _ = _inputs(tmp_path)
    out = tmp_path / "out.npy"
    out.write_bytes(b"earlier")  # an existing output that is no input is replaced
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}
    assert _embed(capsys, "--images", str(images), "--output", str(out)) == (0, "")
    assert {s: signal.getsignal(s) for s in before} == before
    assert np.load(out).shape == (6, 256)


def test_a_signal_while_embedding_stops_the_run_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    images, _ = _inputs(tmp_path)
    out = tmp_path / "out.npy"
    real = _stream.embed_rows
    calls = []

    def embed_then_signal(*args: Any) -> Any:
        calls.append(args[3])
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return real(*args)

    import mmref.cli.embed as command

    monkeypatch.setattr(command, "embed_rows", embed_then_signal)
    code, err = _embed(capsys, "--images", str(images), "--output", str(out), "--batch-size", "2")
    assert code == 130 and "interrupted" in err
    assert calls == [0, 2] and sorted(p.name for p in tmp_path.iterdir()) == [
        "captions.txt",
        "images.npy",
    ]
