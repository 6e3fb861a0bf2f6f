"""Image files in: decode PNG, JPEG, BMP, GIF, TIFF and WebP into uint8 arrays, deterministically.

:func:`read_images` turns a directory, a glob, a ``.txt`` list of paths or a
sequence of paths into one array of shape ``(n, H, W)`` (``mode="L"``) or
``(n, H, W, 3)`` (``mode="RGB"``) of ``uint8``; :class:`ImageFiles` reads the
same images in batches (what ``mmref embed`` uses, in constant memory).
Decoding is done by Pillow, an optional extra (``pip install 'mmref[images]'``),
imported on first use.

Every file goes through the same steps, so the same file gives the same bytes
every run (SPEC.md, "Image files"):

1. Open with Pillow, accepting only the formats PNG, JPEG, BMP, GIF, TIFF and
   WEBP (never Pillow's other plug-ins), with Pillow's decompression-bomb
   limit on: an image of more than ``PIL.Image.MAX_IMAGE_PIXELS`` pixels
   (89,478,485 by default) is refused. Animated files give their first frame.
2. Apply the EXIF orientation (``PIL.ImageOps.exif_transpose``).
3. Convert to 8-bit grey (``L``) or ``RGB``:

   - 1-bit images: black 0, white 255.
   - Palette images: the palette colours, with the palette's transparency
     as alpha.
   - 16-bit and 32-bit integer grey (``I;16*``, ``I``): clipped to
     ``[0, 65535]``, then ``v8 = (255 v + 32767) // 65535`` (rounded to nearest).
     32-bit float images (``F``) are refused.
   - CMYK, YCbCr, LAB and HSV: Pillow's conversion to RGB (no colour profiles).
   - Alpha (``LA``, ``RGBA``, ``PA``, transparent palettes): composited over white,
     ``c' = (c a + 255 (255 - a) + 127) // 255``.
   - RGB to grey: ITU-R 601-2 luma as Pillow computes it,
     ``L = (19595 R + 38470 G + 7471 B + 32768) >> 16``; grey to RGB repeats ``L``.

4. Resize to ``(H, W)`` (ignoring the aspect ratio) with Pillow's bilinear
   filter (``Image.Resampling.BILINEAR``, antialiased when shrinking); an image
   already of that size is not resampled.

Directory order is the sorted order (Python's code-point order) of the file
names; a glob's order is the sorted order of the matched paths; a ``.txt``
list and a sequence keep their order.
"""

from __future__ import annotations

import glob
import os
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["IMAGE_EXTENSIONS", "ImageFiles", "image_paths", "read_images"]

# The file name extensions a directory listing keeps (compared in lower case).
IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp")
# The Pillow plug-ins mmref lets open a file: no other decoder ever sees its bytes.
_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP")
_MODES = ("L", "RGB")
_INSTALL = "pip install 'mmref[images]'"
_ORIENTATION = 0x0112  # the EXIF orientation tag
# A batch of decoded images stays near this size (ImageFiles.batches' default).
_BATCH_BYTES = 16 << 20


def read_images(
    source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    size: tuple[int, int],
    mode: str = "L",
) -> npt.NDArray[np.uint8]:
    """Decode image files into one uint8 array, deterministically.

    Parameters
    ----------
    source : str, path-like or sequence of them
        A directory (its files with an image extension, see
        :data:`IMAGE_EXTENSIONS`, in sorted name order; names starting with
        ``.`` are skipped), a glob pattern such as ``"photos/*.jpg"`` (the matched
        files in sorted order), a ``.txt`` file listing one path per line
        (relative paths are relative to the list's folder), a single image file,
        or a sequence of paths (in their order).
    size : tuple of (int, int)
        The output height and width ``(H, W)``; every image is resized to it.
    mode : {"L", "RGB"}, default="L"
        8-bit grey or colour; see the module docstring for the conversions.

    Returns
    -------
    images : ndarray of shape (n, H, W) or (n, H, W, 3), uint8

    Raises
    ------
    ImportError
        If Pillow is not installed; the message gives the install command.
    FileNotFoundError
        If ``source`` or a listed file does not exist.
    ValueError
        If a file cannot be decoded (corrupt, truncated, too large, of another
        format); the message names the file. If ``source`` holds no images.

    Notes
    -----
    Memory: the result, ``n * H * W`` (times 3 for RGB) bytes, plus one decoded
    image at its original size. Use :class:`ImageFiles` to read in batches.

    Examples
    --------
    >>> import mmref
    >>> images = mmref.read_images("photos/", size=(64, 64))  # doctest: +SKIP
    >>> images.shape, images.dtype  # doctest: +SKIP
    ((12, 64, 64), dtype('uint8'))
    """
    files = ImageFiles(image_paths(source), size=size, mode=mode)
    return files.read(0, files.n_rows)


def image_paths(
    source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
) -> list[str]:
    """The image files ``source`` names, in the order :func:`read_images` reads them.

    Parameters
    ----------
    source : str, path-like or sequence of them
        As for :func:`read_images`.

    Returns
    -------
    paths : list of str

    Raises
    ------
    FileNotFoundError
        If ``source`` is a path that does not exist (and is not a glob pattern).
    ValueError
        If ``source`` holds no image (an empty directory, a glob matching
        nothing, an empty list).
    """
    if isinstance(source, str | os.PathLike):
        text = os.fspath(source)
        if os.path.isdir(text):
            paths = [
                os.path.join(text, name)
                for name in sorted(os.listdir(text))
                if not name.startswith(".")
                and name.lower().endswith(IMAGE_EXTENSIONS)
                and os.path.isfile(os.path.join(text, name))
            ]
            what = f"the directory {text!r} holds no image files ({', '.join(IMAGE_EXTENSIONS)})"
        elif os.path.isfile(text) and text.lower().endswith(".txt"):
            paths = _list_file(text)
            what = f"the list {text!r} names no images"
        elif os.path.isfile(text):
            paths, what = [text], ""
        elif glob.has_magic(text):
            paths = sorted(p for p in glob.glob(text) if os.path.isfile(p))
            what = f"the pattern {text!r} matches no files"
        else:
            raise FileNotFoundError(2, "No such file or directory", text)
    elif isinstance(source, Sequence):
        paths = []
        for item in source:
            if not isinstance(item, str | os.PathLike):
                raise TypeError(
                    f"source must be a directory, a glob, a .txt list or a sequence of paths; "
                    f"the sequence holds a {type(item).__name__}"
                )
            paths.append(os.fspath(item))
        what = "source is an empty sequence of paths"
    else:
        raise TypeError(
            f"source must be a directory, a glob, a .txt list or a sequence of paths, "
            f"got {type(source).__name__}"
        )
    if not paths:
        raise ValueError(f"{what}; expected at least one image")
    return paths


class ImageFiles:
    """Image files read in batches: the file counterpart of an ``(n, H, W[, 3])`` array.

    Parameters
    ----------
    paths : sequence of str
        The files, in order (see :func:`image_paths`).
    size : tuple of (int, int)
        ``(H, W)``, the size every image is resized to.
    mode : {"L", "RGB"}, default="L"
        8-bit grey or colour.

    Attributes
    ----------
    shape : tuple of int
        ``(n, H, W)`` or ``(n, H, W, 3)``.
    dtype : numpy.dtype
        ``uint8``.
    n_rows : int
        The number of images.

    Notes
    -----
    Pillow is imported when the object is made, so a missing Pillow fails
    before any work. Files are opened only by :meth:`read`.
    """

    def __init__(self, paths: Sequence[str], *, size: tuple[int, int], mode: str = "L") -> None:
        self.paths = list(paths)
        self.size = _check_size(size)
        if mode not in _MODES:
            raise ValueError(f"mode must be 'L' or 'RGB', got {mode!r}")
        self.mode = mode
        _pillow()
        tail = (3,) if mode == "RGB" else ()
        self.shape: tuple[int, ...] = (len(self.paths), *self.size, *tail)
        self.dtype: np.dtype[Any] = np.dtype(np.uint8)

    @property
    def n_rows(self) -> int:
        """The number of images."""
        return len(self.paths)

    def read(self, start: int, stop: int) -> npt.NDArray[np.uint8]:
        """Decode images ``start:stop`` into a new array of shape ``(stop - start, *shape[1:])``."""
        out = np.empty((max(0, stop - start), *self.shape[1:]), dtype=np.uint8)
        for i, path in enumerate(self.paths[start:stop]):
            out[i] = _decode_image(path, self.size, self.mode)
        return out

    def batches(self, batch_size: int | None = None) -> Iterator[npt.NDArray[np.uint8]]:
        """Yield the images in order, ``batch_size`` at a time (default: about 16 MiB)."""
        if batch_size is None:
            batch_size = max(1, _BATCH_BYTES // max(1, int(np.prod(self.shape[1:]))))
        for start in range(0, self.n_rows, batch_size):
            yield self.read(start, min(self.n_rows, start + batch_size))


def _decode_image(path: str, size: tuple[int, int], mode: str) -> npt.NDArray[np.uint8]:
    """One file as an ``(H, W)`` or ``(H, W, 3)`` uint8 array, by the module's rules.

    Raises ValueError naming ``path`` for anything Pillow cannot decode.
    """
    pil = _pillow()
    image_module, ops = pil
    try:
        with warnings.catch_warnings():
            # Above MAX_IMAGE_PIXELS Pillow only warns; mmref refuses (2x above, Pillow does too).
            warnings.simplefilter("error", image_module.DecompressionBombWarning)
            with image_module.open(path, formats=_FORMATS) as opened:
                opened.seek(0)
                opened.load()
                # exif_transpose copies even an upright image: call it only when needed.
                upright = opened.getexif().get(_ORIENTATION, 1) in (None, 1)
                image = opened if upright else ops.exif_transpose(opened)
                image = _to_8bit(image, mode, path, image_module)
                if image.size != (size[1], size[0]):
                    image = image.resize((size[1], size[0]), image_module.Resampling.BILINEAR)
                pixels = np.asarray(image, dtype=np.uint8)
    except FileNotFoundError:
        raise
    except image_module.DecompressionBombWarning as exc:
        raise ValueError(f"{path}: refused, too many pixels ({exc})") from None
    except image_module.UnidentifiedImageError:
        raise ValueError(
            f"{path}: not an image mmref reads (PNG, JPEG, BMP, GIF, TIFF or WebP)"
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError, image_module.DecompressionBombError) as exc:
        raise ValueError(f"{path}: cannot decode the image ({exc})") from None
    return np.ascontiguousarray(pixels)


def _to_8bit(image: Any, mode: str, path: str, image_module: Any) -> Any:
    """The module docstring's step 3: a Pillow image in mode ``L`` or ``RGB``."""
    source = image.mode
    if source == "F":
        raise ValueError(f"{path}: 32-bit float images (mode F) are not supported")
    if source in ("I", "I;16", "I;16L", "I;16B", "I;16N"):
        wide = np.clip(np.asarray(image).astype(np.int64), 0, 65535)
        grey = image_module.fromarray(((255 * wide + 32767) // 65535).astype(np.uint8))
        return grey.convert("RGB") if mode == "RGB" else grey
    if source == "1":
        image = image.convert("L")
    elif source == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif source == "PA":
        image = image.convert("RGBA")
    elif source in ("La", "RGBa"):
        image = image.convert("LA" if source == "La" else "RGBA")
    elif source not in ("L", "LA", "RGB", "RGBA"):
        image = image.convert("RGB")  # CMYK, YCbCr, LAB, HSV, RGBX
    if image.mode in ("LA", "RGBA"):
        pixels = np.asarray(image)
        colour = pixels[:, :, :-1].astype(np.uint32)
        alpha = pixels[:, :, -1:].astype(np.uint32)
        over_white = ((colour * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)
        if over_white.shape[2] == 1:
            over_white = over_white[:, :, 0]
        image = image_module.fromarray(over_white)
    # Pillow's RGB -> L is ITU-R 601-2 luma in 16-bit fixed point (the docstring's formula).
    return image if image.mode == mode else image.convert(mode)


def _list_file(path: str) -> list[str]:
    """The paths in a ``.txt`` list, relative ones taken from the list's folder."""
    folder = os.path.dirname(path)
    paths = []
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not valid UTF-8 (byte {exc.start + 1})") from None
    while lines and not lines[-1].strip():
        lines.pop()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            raise ValueError(f"{path}: line {number} is blank; expected one image path per line")
        paths.append(os.path.join(folder, line))
    return paths


def _check_size(size: Any) -> tuple[int, int]:
    ok = (
        isinstance(size, tuple | list)
        and len(size) == 2
        and all(isinstance(s, int | np.integer) and not isinstance(s, bool) for s in size)
        and all(0 < int(s) <= 1 << 16 for s in size)
    )
    if not ok:
        raise ValueError(f"size must be a pair (H, W) of integers in [1, 65536], got {size!r}")
    return int(size[0]), int(size[1])


def _pillow() -> tuple[Any, Any]:
    try:
        from PIL import Image, ImageOps
    except ImportError:
        raise ImportError(f"reading image files needs Pillow: {_INSTALL}") from None
    return Image, ImageOps
