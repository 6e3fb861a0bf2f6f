"""Scale-out with Dask: lazy embeddings of out-of-core or distributed data.

This module is optional: it needs ``dask[array,bag]`` (and ``distributed`` for
:func:`embed_files`), installed with ``pip install "mmref[dask]"``, and
``import mmref`` never imports it.

Every function here applies an in-memory model to one block of rows at a time,
so the result is what the in-memory model gives on those blocks::

    encode_images(images, encoder)     block i = encoder.encode_image(images block i)
    encode_texts(texts, encoder)       block i = encoder.encode_text(texts block i)
    joint_embedding(images, texts, m)  block i = mmref.joint_embedding(images block i,
                                                                       texts block i, m)

and the blocks are stacked in order. With the same row chunking, the result
equals the in-memory blocks bit for bit. mmref's encoders compute every output
row from that row alone, so with any chunking the result equals
``encoder.encode_image(images.compute())`` up to the rounding of a matrix
product whose BLAS blocking may depend on the number of rows (within
``rtol=1e-12``; the sparse and SRHT image projections and the text encoder
are exact).

Models travel to the workers as their parameters and fitted state: mmref's
encoders leave their projection matrices out of their pickles (a pickled
encoder is a few hundred bytes, even after use), and each worker regenerates
them from the seed on first use.
"""

# dask's public API is not annotated: calling it from typed code is expected here.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import collections
import copy
import math
import os
from collections.abc import Callable, Iterator
from typing import Any

import dask.array as da
import dask.bag as db
import numpy as np
import numpy.typing as npt
from dask.base import compute
from dask.delayed import delayed

from ._stream import DataError, ImageSource, TextSource, embed_rows, write_embeddings
from ._validation import describe, model_output, shape_str
from .reference import joint_embedding as _reference_joint_embedding

__all__ = ["embed_files", "encode_images", "encode_texts", "joint_embedding"]


def encode_images(images: Any, encoder: Any) -> Any:
    """Embed a dask array of images lazily, one block of rows at a time.

    Parameters
    ----------
    images : dask.array.Array of shape ``(n_samples, *image_shape)``
        Chunked along the sample axis only (one chunk along every other axis).
    encoder : object with ``encode_image``
        Called on each block; it must treat a block as a batch (one output
        row per image), e.g. ``RandomProjectionImageEncoder`` with
        ``image_shape`` given, or with ``image_shape=None`` and 3-D or 4-D
        images.

    Returns
    -------
    embedding : dask.array.Array of shape (n_samples, d_image)
        Chunked as ``images`` along the rows, one chunk along the columns.

    Raises
    ------
    TypeError
        If ``images`` is not a dask array or ``encoder`` has no ``encode_image``.
    ValueError
        If ``images`` is chunked along an axis other than the first, or the
        encoder does not return one row per image.

    Notes
    -----
    Building the graph calls ``encoder.encode_image`` once on two all-zero
    images to learn the output width and dtype. Memory per task: one block of
    images and its embedding.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from mmref.dask import encode_images
    >>> from mmref.image import RandomProjectionImageEncoder
    >>> encoder = RandomProjectionImageEncoder(8, image_shape=(4, 4))
    >>> images = np.arange(6 * 16, dtype=np.uint8).reshape(6, 4, 4)
    >>> lazy = encode_images(da.from_array(images, chunks=(2, 4, 4)), encoder)
    >>> lazy.shape, lazy.chunks
    ((6, 8), ((2, 2, 2), (8,)))
    >>> bool((lazy.compute() == encoder.encode_image(images)).all())
    True
    """
    _check_method(encoder, "encode_image", "encoder")
    _check_images(images)
    width, dtype = _probe(
        encoder.encode_image, np.zeros((2, *images.shape[1:]), images.dtype), "encode_image"
    )
    return images.map_blocks(
        _encode_image_block,
        encoder,
        dtype=dtype,
        chunks=(images.chunks[0], (width,)),
        drop_axis=list(range(2, images.ndim)),
        meta=np.empty((0, 0), dtype=dtype),
    )


def encode_texts(texts: Any, encoder: Any) -> Any:
    """Embed a dask bag or 1-D dask array of texts lazily, one partition at a time.

    Parameters
    ----------
    texts : dask.bag.Bag of str or dask.array.Array of shape (n_samples,)
        The texts; an array must be 1-D (dtype str or object holding str).
    encoder : object with ``encode_text``
        Called on each partition as a list of str.

    Returns
    -------
    embedding : dask.array.Array of shape (n_samples, d_text)
        For an array, chunked as ``texts``; for a bag, one chunk per
        partition, of unknown length (NaN in ``chunks``) until computed
        (``embedding.compute_chunk_sizes()`` finds them).

    Raises
    ------
    TypeError
        If ``texts`` is neither a bag nor a dask array, or ``encoder`` has no
        ``encode_text``.
    ValueError
        If the array is not 1-D, or the encoder does not return one row per text.

    Notes
    -----
    Building the graph calls ``encoder.encode_text(["", ""])`` once to learn
    the output width and dtype. Memory per task: one partition of texts and
    its embedding.

    Examples
    --------
    >>> import dask.bag as db
    >>> from mmref.dask import encode_texts
    >>> from mmref.text import BagOfWordsTextEncoder
    >>> encoder = BagOfWordsTextEncoder(16)
    >>> captions = ["a red circle", "a blue square", "two dots"]
    >>> lazy = encode_texts(db.from_sequence(captions, npartitions=2), encoder)
    >>> lazy.shape
    (nan, 16)
    >>> bool((lazy.compute() == encoder.encode_text(captions)).all())
    True
    """
    _check_method(encoder, "encode_text", "encoder")
    width, dtype = _probe(encoder.encode_text, ["", ""], "encode_text")
    meta = np.empty((0, 0), dtype=dtype)
    if isinstance(texts, db.Bag):
        encode = delayed(_encode_text_block, pure=True)
        blocks = [
            da.from_delayed(encode(part, encoder), shape=(math.nan, width), dtype=dtype, meta=meta)
            for part in texts.to_delayed()
        ]
        return da.concatenate(blocks, axis=0) if blocks else da.zeros((0, width), dtype=dtype)
    _check_texts_array(texts)
    return texts.map_blocks(
        _encode_text_block,
        encoder,
        dtype=dtype,
        chunks=(texts.chunks[0], (width,)),
        new_axis=1,
        meta=meta,
    )


def joint_embedding(images: Any, texts: Any, model: Any) -> Any:
    """:func:`mmref.joint_embedding` of dask collections, lazily, block by block.

    Parameters
    ----------
    images : dask.array.Array of shape ``(n_samples, *image_shape)``
        Chunked along the sample axis only.
    texts : dask.bag.Bag of str or dask.array.Array of shape (n_samples,)
        One text per image. An array is rechunked to the images' row chunks;
        a bag is first measured (one pass that computes only the length of
        each partition) and then rechunked likewise.
    model : EmbeddingModel
        An object with ``encode_image`` and ``encode_text``.

    Returns
    -------
    joint : dask.array.Array of shape (n_samples, d_image + d_text)
        Block ``i`` is ``mmref.joint_embedding(images block i, texts block i,
        model)``; chunked as ``images`` along the rows.

    Raises
    ------
    TypeError, ValueError
        As :func:`encode_images` and :func:`encode_texts`, and if ``images``
        and ``texts`` hold different numbers of samples.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> import mmref
    >>> from mmref.dask import joint_embedding
    >>> model = mmref.MultimodalEncoder(mmref.RandomProjectionImageEncoder(4, image_shape=(9,)))
    >>> images = np.arange(27.0).reshape(3, 9)
    >>> captions = np.array(["one", "two", "three"], dtype=object)
    >>> lazy = joint_embedding(da.from_array(images, chunks=(2, -1)),
    ...                        da.from_array(captions, chunks=1), model)
    >>> lazy.shape, lazy.chunks[0]
    ((3, 1028), (2, 1))
    >>> bool((lazy.compute() == mmref.joint_embedding(images, captions, model)).all())
    True
    """
    _check_method(model, "encode_image", "model")
    _check_method(model, "encode_text", "model")
    _check_images(images)
    if isinstance(texts, db.Bag):
        texts = _bag_to_array(texts)
    else:
        _check_texts_array(texts)
    if texts.shape[0] != images.shape[0]:
        raise ValueError(
            f"images holds {images.shape[0]} samples but texts holds {texts.shape[0]}; "
            f"expected one text per image."
        )
    texts = texts.rechunk({0: images.chunks[0]})
    probe = np.zeros((2, *images.shape[1:]), images.dtype)
    width, dtype = _probe(
        lambda image: _reference_joint_embedding(image, ["", ""], model), probe, "encode_image"
    )
    joint = delayed(_joint_block, pure=True)
    image_blocks = images.to_delayed().reshape(-1)
    text_blocks = texts.to_delayed().reshape(-1)
    blocks = [
        da.from_delayed(
            joint(image_block, text_block, model),
            shape=(rows, width),
            dtype=dtype,
            meta=np.empty((0, 0), dtype=dtype),
        )
        for image_block, text_block, rows in zip(
            image_blocks, text_blocks, images.chunks[0], strict=True
        )
    ]
    return da.concatenate(blocks, axis=0) if blocks else da.zeros((0, width), dtype=dtype)


def embed_files(
    images: ImageSource | None,
    texts: TextSource | None,
    model: Any,
    output: str,
    n_rows: int,
    batch_size: int,
    dtype: np.dtype[Any] | None,
    scheduler: Any,
    progress: Callable[[int], None] | None = None,
    *,
    max_in_flight: int | None = None,
    connect_timeout: float = 30.0,
) -> tuple[int, int]:
    """``mmref embed --scheduler ADDRESS``: embed files on a Dask cluster, write ``.npy`` output.

    Each task reads its own rows ``[start, start + batch_size)`` from the input
    files by path, embeds them exactly as the single-machine ``mmref embed``
    does, and returns the block; the blocks come back in order and are
    streamed into the output, which appears only when complete.

    Parameters
    ----------
    images : ImageSource or None
        A C- or Fortran-order ``.npy`` file (an ``.npz`` member cannot be read
        by row range, so it is refused).
    texts : TextSource or None
        A ``.txt`` or ``.jsonl`` caption file.
    model : EmbeddingModel
        Sent to the workers once (as its parameters and fitted state).
    output : str
        The ``.npy`` destination, written on this machine.
    n_rows : int
        The number of rows of the inputs.
    batch_size : int
        Rows per task.
    dtype : numpy dtype or None
        The output dtype; ``None`` keeps the model's.
    scheduler : str or distributed.Client
        The scheduler address (``tcp://host:8786``), or a connected client
        (used, not closed).
    progress : callable or None
        Called with the number of rows written after each block.
    max_in_flight : int or None
        The most blocks submitted and not yet written; default twice the
        number of worker threads (at least 2).
    connect_timeout : float, default=30.0
        Seconds to wait for the scheduler.

    Returns
    -------
    shape : tuple of int
        The shape ``(n_rows, d)`` written.

    Raises
    ------
    DataError
        For unusable input data (the CLI's exit status 1).
    ConnectionError
        If the scheduler cannot be reached within ``connect_timeout``.

    Notes
    -----
    Every worker must see the input files at the same paths as this machine
    (a shared or network file system, or identical copies), and have mmref
    installed. The output is written here. Memory on this machine: at most
    ``max_in_flight`` embedded blocks; on each worker, one block of input and
    output per thread. Caption files are scanned once here to find where
    each block's lines start, so each task reads only its own lines.
    """
    from distributed import Client

    if images is not None and images.key is not None:
        raise DataError(
            f"{images.path}: an .npz member cannot be read by row range, so it cannot be "
            f"embedded on a cluster; save the array as .npy (np.save) and pass that"
        )
    starts = list(range(0, n_rows, batch_size))
    offsets = _line_offsets(texts.path, starts) if texts is not None else [None] * len(starts)
    if texts is not None:
        # Workers may run in another directory: send them absolute paths.
        texts = copy.copy(texts)
        texts.path = os.path.abspath(texts.path)
    own_client = not isinstance(scheduler, Client)
    if own_client:
        try:
            client = Client(scheduler, set_as_default=False, timeout=connect_timeout)
        except (OSError, TimeoutError) as exc:
            raise ConnectionError(
                f"cannot connect to the Dask scheduler at {scheduler!r}: {exc}"
            ) from None
    else:
        client = scheduler
    try:
        if max_in_flight is None:
            threads = sum(client.nthreads().values())
            max_in_flight = max(2, 2 * threads)
        image_path = os.path.abspath(images.path) if images is not None else None
        [model_future] = client.scatter([model], broadcast=True, hash=False)
        pending: collections.deque[Any] = collections.deque()

        def blocks() -> Iterator[tuple[int, int, npt.NDArray[Any]]]:
            for start, offset in zip(starts, offsets, strict=True):
                stop = min(n_rows, start + batch_size)
                pending.append(
                    client.submit(
                        _embed_block,
                        image_path,
                        texts,
                        offset,
                        start,
                        stop,
                        model_future,
                        pure=False,
                    )
                )
                if len(pending) >= max_in_flight:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

        try:
            return write_embeddings(output, n_rows, blocks(), dtype, progress)
        finally:
            if pending:
                client.cancel(list(pending))
    finally:
        if own_client:
            client.close()


# -- internals ------------------------------------------------------------------------------


def _check_method(model: Any, method: str, name: str) -> None:
    if not callable(getattr(model, method, None)):
        raise TypeError(
            f"{name} must have a callable {method} method; got {describe(model)} of type "
            f"{type(model).__name__}."
        )


def _check_images(images: Any) -> None:
    if not isinstance(images, da.Array):
        raise TypeError(
            f"images must be a dask array (n_samples, *image_shape); got {describe(images)} "
            f"of type {type(images).__name__}. Wrap NumPy data with dask.array.from_array."
        )
    if images.ndim < 2:
        raise ValueError(
            f"images has shape {shape_str(images.shape)}; expected a batch of at least 2 "
            f"dimensions (n_samples, ...)."
        )
    split = [axis for axis in range(1, images.ndim) if len(images.chunks[axis]) > 1]
    if split:
        spec = ", ".join(f"{axis}: -1" for axis in split)
        raise ValueError(
            f"images is chunked along axis {split[0]} ({len(images.chunks[split[0]])} chunks); "
            f"expected chunks along the sample axis (0) only, so that each block holds whole "
            f"images. Use images.rechunk({{{spec}}})."
        )


def _check_texts_array(texts: Any) -> None:
    if not isinstance(texts, da.Array):
        raise TypeError(
            f"texts must be a dask bag of str or a 1-D dask array of str; got "
            f"{describe(texts)} of type {type(texts).__name__}."
        )
    if texts.ndim != 1:
        raise ValueError(
            f"texts has shape {shape_str(texts.shape)}; expected a 1-D dask array of str "
            f"(n_samples,)."
        )


def _probe(method: Callable[[Any], Any], sample: Any, name: str) -> tuple[int, np.dtype[Any]]:
    """Width and dtype of the embeddings, from a call on two empty samples."""
    output = model_output(method(sample), method=name)
    if output.shape[0] != 2:
        raise ValueError(
            f"model.{name} returned {output.shape[0]} row(s) for a batch of 2 samples; "
            f"expected one row per sample (a model that treats a block as a batch)."
        )
    return output.shape[1], output.dtype


def _checked_rows(output: Any, n: int, method: str) -> npt.NDArray[Any]:
    array = model_output(output, method=method)
    if array.shape[0] != n:
        raise ValueError(
            f"model.{method} returned {array.shape[0]} row(s) for a block of {n} samples; "
            f"expected one row per sample."
        )
    return array


def _encode_image_block(block: npt.NDArray[Any], encoder: Any) -> npt.NDArray[Any]:
    return _checked_rows(encoder.encode_image(block), block.shape[0], "encode_image")


def _encode_text_block(block: Any, encoder: Any) -> npt.NDArray[Any]:
    # tolist() turns NumPy str scalars into str and leaves anything else for the
    # encoder to reject with its own message.
    texts = block.tolist() if isinstance(block, np.ndarray) else list(block)
    return _checked_rows(encoder.encode_text(texts), len(texts), "encode_text")


def _joint_block(image: npt.NDArray[Any], text: npt.NDArray[Any], model: Any) -> Any:
    return _reference_joint_embedding(image, text.tolist(), model)


def _bag_to_array(texts: Any) -> Any:
    """A 1-D object dask array with the bag's partitions as chunks of known length."""
    lengths = compute(*[delayed(len)(part) for part in texts.to_delayed()])
    to_array = delayed(_as_object_array, pure=True)
    blocks = [
        da.from_delayed(to_array(part), shape=(n,), dtype=object, meta=np.empty(0, object))
        for part, n in zip(texts.to_delayed(), lengths, strict=True)
    ]
    return da.concatenate(blocks) if blocks else da.zeros(0, dtype=object)


def _as_object_array(items: Any) -> npt.NDArray[Any]:
    items = list(items)
    array = np.empty(len(items), dtype=object)
    array[:] = items
    return array


def _line_offsets(path: str, starts: list[int]) -> list[int]:
    """Byte offset of line ``s`` (0-based) of a file for each ``s`` in ``starts`` (sorted)."""
    offsets: list[int] = []
    wanted = np.asarray(starts, dtype=np.int64)
    lines_before = 0
    position = 0
    with open(path, "rb") as handle:
        while len(offsets) < len(starts) and (chunk := handle.read(1 << 20)):
            newlines = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == 10)
            # Line lines_before + j + 1 starts just after the j-th newline of this chunk.
            todo = wanted[len(offsets) :]
            if len(offsets) == 0 and todo.size and todo[0] == 0:
                offsets.append(0)
                todo = todo[1:]
            index = todo - lines_before - 1
            index = index[index < newlines.size]
            offsets.extend((position + newlines[index] + 1).tolist())
            lines_before += newlines.size
            position += len(chunk)
    if len(offsets) != len(starts):
        raise DataError(f"{path}: the file changed while being read (fewer lines than counted)")
    return offsets


def _read_lines(texts: TextSource, offset: int, start: int, stop: int) -> list[str]:
    lines = []
    with open(texts.path, "rb") as handle:
        handle.seek(offset)
        for number in range(start + 1, stop + 1):
            raw = handle.readline()
            if not raw:
                raise DataError(f"{texts.path}: the file ended at line {number - 1} (truncated?)")
            lines.append(texts._decode(raw, number))
    return lines


def _embed_block(
    image_path: str | None,
    texts: TextSource | None,
    offset: int | None,
    start: int,
    stop: int,
    model: Any,
) -> tuple[int, int, npt.NDArray[Any]]:
    """Rows ``start:stop`` of ``mmref embed``'s output (runs on a worker)."""
    image = ImageSource(image_path).read(start, stop) if image_path is not None else None
    text = None
    if texts is not None and offset is not None:
        text = _read_lines(texts, offset, start, stop)
    block = embed_rows(model, image, text, start, stop)
    return start, stop, block
