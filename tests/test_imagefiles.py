"""mmref.read_images on real files: formats, conversion rules, order, errors, determinism."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import mmref
from mmref.imagefiles import ImageFiles, image_paths

Image = pytest.importorskip("PIL.Image")
sklearn_datasets = pytest.importorskip("sklearn.datasets")


def _photo(name: str = "china.jpg") -> np.ndarray:
    return np.asarray(sklearn_datasets.load_sample_image(name))


def test_sample_photographs_decode_resize_embed_and_repeat(tmp_path: Path) -> None:
    for name in ("china.jpg", "flower.jpg"):
        Image.fromarray(_photo(name)).save(tmp_path / name.replace(".jpg", ".png"))
    first = mmref.read_images(tmp_path, size=(48, 64), mode="RGB")
    second = mmref.read_images(str(tmp_path), size=(48, 64), mode="RGB")
    assert first.shape == (2, 48, 64, 3) and first.dtype == np.uint8
    assert first.tobytes() == second.tobytes()
    # The two photographs differ, and a bilinear shrink keeps each one's mean colour.
    assert not np.array_equal(first[0], first[1])
    for i, name in enumerate(("china.jpg", "flower.jpg")):
        expected = _photo(name).reshape(-1, 3).mean(axis=0)
        assert np.allclose(first[i].reshape(-1, 3).mean(axis=0), expected, atol=4)
    grey = mmref.read_images(tmp_path, size=(48, 64), mode="L")
    assert grey.shape == (2, 48, 64)
    encoder = mmref.MultimodalEncoder()
    emb = encoder.encode_image(grey)
    assert emb.shape == (2, 256) and np.isfinite(emb).all()
    assert np.array_equal(emb, encoder.encode_image(mmref.read_images(tmp_path, size=(48, 64))))


def test_same_size_is_not_resampled_and_grey_is_pillow_luma(tmp_path: Path) -> None:
    rgb = _photo()[:40, :50]
    Image.fromarray(rgb).save(tmp_path / "a.png")
    out = mmref.read_images([tmp_path / "a.png"], size=(40, 50), mode="RGB")
    assert np.array_equal(out[0], rgb)
    grey = mmref.read_images([tmp_path / "a.png"], size=(40, 50), mode="L")[0]
    r, g, b = (rgb[..., i].astype(np.int64) for i in range(3))
    assert np.array_equal(grey, (19595 * r + 38470 * g + 7471 * b + 32768) >> 16)
    assert np.array_equal(grey, np.asarray(Image.fromarray(rgb).convert("L")))


def test_formats_jpeg_gif_bmp_tiff_webp(tmp_path: Path) -> None:
    rgb = _photo()[100:164, 200:264]
    names = ["a.jpg", "b.gif", "c.bmp", "d.tif", "e.webp"]
    for name in names:
        Image.fromarray(rgb).save(tmp_path / name)
    out = mmref.read_images(tmp_path, size=(64, 64), mode="RGB")
    assert out.shape == (5, 64, 64, 3)
    assert np.array_equal(out[2], rgb) and np.array_equal(out[3], rgb)  # lossless BMP, TIFF
    for lossy in (0, 1, 4):  # JPEG, GIF (256 colours) and WebP stay close
        assert np.abs(out[lossy].astype(int) - rgb).mean() < 12


def test_palette_with_transparency_is_composited_over_white(tmp_path: Path) -> None:
    image = Image.new("P", (4, 2))
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    image.putdata([0, 0, 1, 1, 0, 1, 0, 1])
    image.info["transparency"] = 1
    image.save(tmp_path / "p.png", transparency=1)
    out = mmref.read_images([tmp_path / "p.png"], size=(2, 4), mode="RGB")[0]
    assert out[0, 0].tolist() == [255, 0, 0]  # opaque red
    assert out[0, 2].tolist() == [255, 255, 255]  # transparent: white


def test_half_alpha_rule(tmp_path: Path) -> None:
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = 128
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    out = mmref.read_images([tmp_path / "a.png"], size=(2, 2), mode="RGB")[0]
    expected = [(c * 128 + 255 * 127 + 127) // 255 for c in (200, 0, 0)]
    assert out[0, 0].tolist() == expected


def test_sixteen_bit_grey_is_rounded_to_eight_bits(tmp_path: Path) -> None:
    values = np.array([[0, 128, 129, 257], [32767, 65279, 65535, 1000]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "g.png")
    with Image.open(tmp_path / "g.png") as opened:
        assert opened.mode.startswith("I")
    out = mmref.read_images([tmp_path / "g.png"], size=(2, 4))[0]
    assert out.tolist() == ((255 * values.astype(np.int64) + 32767) // 65535).tolist()
    colour = mmref.read_images([tmp_path / "g.png"], size=(2, 4), mode="RGB")[0]
    assert np.array_equal(colour[..., 1], out)


def test_bilevel_cmyk_and_first_frame(tmp_path: Path) -> None:
    Image.fromarray(np.array([[0, 255]], dtype=np.uint8)).convert("1").save(tmp_path / "a.png")
    assert mmref.read_images([tmp_path / "a.png"], size=(1, 2))[0].tolist() == [[0, 255]]
    Image.new("CMYK", (2, 2), (0, 255, 255, 0)).save(tmp_path / "c.tif")
    assert mmref.read_images([tmp_path / "c.tif"], size=(2, 2), mode="RGB")[0, 0, 0].tolist() == [
        255,
        0,
        0,
    ]
    frames = [Image.new("L", (3, 3), v) for v in (10, 200)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    with Image.open(tmp_path / "anim.gif") as opened:
        assert opened.n_frames == 2
    assert set(mmref.read_images([tmp_path / "anim.gif"], size=(3, 3)).ravel().tolist()) == {10}


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    pixels = np.zeros((2, 3), dtype=np.uint8)
    pixels[0, 0] = 255
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    image.save(tmp_path / "r.png", exif=exif)
    out = mmref.read_images([tmp_path / "r.png"], size=(3, 2))[0]
    assert np.array_equal(out, np.rot90(pixels, k=-1))


def test_directory_order_glob_and_list(tmp_path: Path) -> None:
    for i, name in enumerate(["b.png", "a.PNG", "c.jpeg", ".hidden.png", "notes.txt"]):
        if name.endswith("txt"):
            (tmp_path / name).write_text("x")
        else:
            Image.new("L", (2, 2), 10 * i).save(tmp_path / name, format="PNG")
    (tmp_path / "sub").mkdir()
    names = [Path(p).name for p in image_paths(tmp_path)]
    assert names == ["a.PNG", "b.png", "c.jpeg"]
    assert [Path(p).name for p in image_paths(str(tmp_path / "*.png"))] == ["b.png"]
    listing = tmp_path / "sub" / "list.txt"
    listing.write_text("../c.jpeg\n" + str(tmp_path / "b.png") + "\n\n")
    assert [Path(p).name for p in image_paths(listing)] == ["c.jpeg", "b.png"]
    out = mmref.read_images(listing, size=(2, 2))
    assert out[:, 0, 0].tolist() == [20, 0]


def test_batches_equal_whole_read(tmp_path: Path) -> None:
    for i in range(5):
        Image.fromarray(_photo()[i * 10 : i * 10 + 30, :40]).save(tmp_path / f"{i}.png")
    files = ImageFiles(image_paths(tmp_path), size=(8, 9), mode="RGB")
    whole = mmref.read_images(tmp_path, size=(8, 9), mode="RGB")
    assert np.array_equal(np.concatenate(list(files.batches(2))), whole)
    assert [len(b) for b in files.batches(2)] == [2, 2, 1]


def test_corrupt_truncated_and_missing_files_are_named(tmp_path: Path) -> None:
    Image.fromarray(_photo()).save(tmp_path / "full.jpg")
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 3])
    (tmp_path / "junk.png").write_bytes(b"not an image at all")
    with pytest.raises(ValueError, match="cut.jpg.*truncated"):
        mmref.read_images([tmp_path / "cut.jpg"], size=(4, 4))
    with pytest.raises(ValueError, match="junk.png: not an image"):
        mmref.read_images([tmp_path / "junk.png"], size=(4, 4))
    with pytest.raises(FileNotFoundError):
        mmref.read_images(tmp_path / "absent", size=(4, 4))
    with pytest.raises(ValueError, match="matches no files"):
        mmref.read_images(str(tmp_path / "*.webp"), size=(4, 4))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no image files"):
        mmref.read_images(tmp_path / "empty", size=(4, 4))
    with pytest.raises(ValueError, match="size must be a pair"):
        mmref.read_images(tmp_path, size=(0, 4))
    with pytest.raises(ValueError, match="mode must be"):
        mmref.read_images(tmp_path, size=(4, 4), mode="CMYK")
    with pytest.raises(TypeError, match="sequence of paths"):
        mmref.read_images([1, 2], size=(4, 4))  # type: ignore[list-item]


def test_decompression_bomb_limit_stays_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Image.new("L", (64, 64)).save(tmp_path / "big.png")  # over twice the limit: Pillow refuses
    Image.new("L", (40, 40)).save(tmp_path / "warn.png")  # over it: Pillow warns, mmref refuses
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    for name in ("big.png", "warn.png"):
        with pytest.raises(ValueError, match=f"{name}.*(pixels|decompression bomb)"):
            mmref.read_images([tmp_path / name], size=(4, 4))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2000)
    assert mmref.read_images([tmp_path / "warn.png"], size=(4, 4)).shape == (1, 4, 4)


def test_float_images_are_refused(tmp_path: Path) -> None:
    Image.fromarray(np.ones((2, 2), dtype=np.float32)).save(tmp_path / "f.tif")
    with pytest.raises(ValueError, match="f.tif: 32-bit float"):
        mmref.read_images([tmp_path / "f.tif"], size=(2, 2))


def test_without_pillow_the_error_gives_the_install_command(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['PIL'] = None\n"
        "import mmref\n"
        "try:\n"
        f"    mmref.read_images({str(tmp_path)!r}, size=(2, 2))\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    Image.new("L", (2, 2)).save(tmp_path / "a.png")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'mmref[images]'" in out.stdout


def test_import_mmref_does_not_import_pillow() -> None:
    code = "import sys, mmref; print('PIL' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
