"""Save and load mmref models without pickle.

File format (``format_version`` 1)
----------------------------------
A zip archive with these members, in this order, all stored uncompressed
with a fixed timestamp (so saving the same object twice gives identical
bytes):

``manifest.json``
    UTF-8 JSON, keys sorted::

        {"format": "mmref-model", "format_version": 1, "mmref_version": "0.1.0",
         "object": OBJECT,
         "arrays": [{"name": "arrays/0.npy", "dtype": "<f8", "shape": [3, 4],
                     "sha256": "..."}, ...]}

    ``OBJECT`` is ``{"class": NAME, "params": {...}, "state": {...}}``: the
    class name (looked up in a fixed allowlist, never imported by name), the
    constructor parameters and the fitted attributes (public attributes whose
    names end in ``_``). Values are JSON scalars, lists, or tagged objects:
    ``{"tuple": [...]}``, ``{"dict": {...}}`` (string keys),
    ``{"float": "nan" | "inf" | "-inf"}``, ``{"dtype": "float32"}`` (a NumPy
    numeric type), ``{"array": "arrays/0.npy"}`` and ``{"object": OBJECT}``
    (a nested model, such as the encoders inside a MultimodalEncoder). Values
    nest at most 32 levels deep: the top ``OBJECT`` is level 1, and each list,
    tagged value and nested ``OBJECT`` inside it adds a level (scalars and the
    ``params`` / ``state`` mappings add none).
``arrays/<i>.npy``
    NumPy ``.npy`` (format 1.0 to 3.0), numeric or fixed-width string dtypes
    only, never object arrays.

Encoders store only their parameters: their projection matrices regenerate
from the seed. Loading checks each member's size before reading it, each
array's dtype, shape and sha256 against the manifest, then checks the object
it built: every float array in the fitted state is finite, every nested model
has the methods of its role (``encode_image`` for an image encoder,
``encode_text`` for a text encoder, both for the encoder of an
``AlignedEncoder`` or ``ZeroShotClassifier``, a ``CCAAlignment`` as an
alignment), and a classifier's fitted state is consistent (its
``_check_state``: labels, widths and shapes). It raises
:class:`~mmref.exceptions.ModelFileError` on anything unexpected.

Untrusted files (SPEC.md, section 10.1): duplicate or unreferenced members are refused,
arrays are read straight into their result (peak memory: ``max_bytes`` plus a few MiB),
and :mod:`mmref._model_checks` checks every parameter and fitted attribute as the
constructor and ``fit`` would, the resource bounds and the token pattern.
"""

from __future__ import annotations

import inspect
import io
import math
import os
import reprlib
import tokenize
from typing import TYPE_CHECKING, Any

import numpy as np

from ._validation import check_bool_param, check_int_param
from .exceptions import ModelFileError

if TYPE_CHECKING:
    import zipfile

# hashlib, json, zipfile and the temporary-file machinery are imported inside save and
# load: together they would double the time of `import mmref`, which never needs them.

__all__ = ["load", "save"]

FORMAT = "mmref-model"
FORMAT_VERSION = 1
_MANIFEST = "manifest.json"
_MANIFEST_MAX_BYTES = 16 << 20
_DEFAULT_MAX_BYTES = 1 << 30
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
# An .npy header is at most this long (NumPy pads it to 64-byte multiples; 2.0 allows 4 GiB
# but never writes more than a few hundred bytes for the shapes and dtypes allowed here).
_NPY_HEADER_MAX = 65536
# Array members are read in pieces of this size, straight into the result.
_READ_CHUNK = 1 << 20
# Only these array kinds may be stored: bool, integers, floats, complex, str.
_ARRAY_KINDS = frozenset("biufcU")
# Deeper values are refused: no model nests more than a few levels, and recursion on a
# hostile manifest must stop long before Python's recursion limit.
_MAX_DEPTH = 32
# The methods each nested model must have, by class and attribute. None is allowed only
# where the constructor documents it (the default encoders of a MultimodalEncoder).
_ROLES: dict[str, dict[str, tuple[tuple[str, ...], bool]]] = {
    "MultimodalEncoder": {
        "image_encoder": (("encode_image",), True),
        "text_encoder": (("encode_text",), True),
        "image_encoder_": (("encode_image",), False),
        "text_encoder_": (("encode_text",), False),
    },
    "AlignedEncoder": {"encoder": (("encode_image", "encode_text"), False)},
    "ZeroShotClassifier": {"aligned_encoder": (("encode_image", "encode_text"), False)},
    "MultimodalPipeline": {
        "encoder": (("encode_image", "encode_text"), True),
        "classifier": (("fit", "predict"), True),
        "encoder_": (("encode_image", "encode_text"), False),
        "classifier_": (("predict",), False),
    },
}


def save(obj: Any, path: str | os.PathLike[str]) -> None:
    """Save an mmref model to ``path`` (atomically: complete or not at all).

    Parameters
    ----------
    obj : model
        An mmref encoder, ``MultimodalEncoder``, classifier, alignment or
        ``ZeroShotClassifier``.
    path : str or path-like
        The destination file; conventionally ``*.mmref``. An existing file is
        replaced only once the new one is complete and fsynced.

    Raises
    ------
    TypeError
        If ``obj`` is not a class mmref can save, or holds a value that has no
        representation in the format (an object array, an arbitrary object).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import mmref
    >>> path = os.path.join(tempfile.mkdtemp(), "encoder.mmref")
    >>> mmref.save(mmref.RandomProjectionImageEncoder(n_components=8, seed=3), path)
    >>> restored = mmref.load(path)
    >>> restored.n_components, restored.seed
    (8, 3)
    """
    import hashlib
    import json
    import zipfile

    from ._io import atomic_output

    arrays: list[np.ndarray[Any, Any]] = []
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "mmref_version": _version(),
        "object": _encode_object(obj, arrays),
    }
    members: list[tuple[str, bytes]] = []
    entries = []
    for i, array in enumerate(arrays):
        name = f"arrays/{i}.npy"
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, array, allow_pickle=False)
        data = buffer.getvalue()
        members.append((name, data))
        entries.append(
            {
                "name": name,
                "dtype": np.lib.format.dtype_to_descr(array.dtype),
                "shape": list(array.shape),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
    manifest["arrays"] = entries
    text = json.dumps(manifest, sort_keys=True, indent=1, ensure_ascii=False, allow_nan=False)
    with atomic_output(path) as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED) as zf:
        for name, data in [(_MANIFEST, text.encode("utf-8")), *members]:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.create_system = 3  # Unix, also on Windows: the same bytes everywhere
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)


def load(
    path: str | os.PathLike[str],
    *,
    max_bytes: int = _DEFAULT_MAX_BYTES,
    trust_token_pattern: bool = False,
) -> Any:
    """Load a model saved by :func:`save`, never unpickling or importing anything named in it.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.
    max_bytes : int, default=1 GiB
        The most uncompressed bytes the file may hold; checked against the
        zip directory before anything is read, and again while reading. It
        also bounds what the loaded model may cost to use (see the module
        docstring): raise it only for a file you trust.
    trust_token_pattern : bool, default=False
        Accept a text encoder's ``token_pattern`` that is not one of the
        patterns known to tokenize in linear time (SPEC.md, section 10.1).
        Python's ``re`` can take exponential time on some patterns (such as
        ``(a|aa)+$``), so pass True only for a file you trust.

    Returns
    -------
    obj : model
        A new object equal in parameters and fitted state to the one saved.

    Raises
    ------
    TypeError
        If ``max_bytes`` is not an int (or is a bool), or ``trust_token_pattern``
        is not a bool; checked before the file is opened.
    ValueError
        If ``max_bytes`` is less than 1 (a plain ValueError, not a ModelFileError).
    ModelFileError
        On any problem with the file, with a one-line reason: not an mmref
        model file, an unknown format version, truncated or tampered with (a
        member missing, duplicated, too large, unreferenced or differing from
        the manifest), a class mmref does not save, values nested more than
        32 levels deep, a parameter or fitted attribute that the constructor
        or ``fit`` would not produce, a resource bound exceeded, or an
        untrusted ``token_pattern``.
    FileNotFoundError
        If ``path`` does not exist.

    Notes
    -----
    Peak memory: the arrays of the file (at most ``max_bytes`` in total) plus
    a few MiB, whatever the file declares.
    """
    import zipfile

    # Checked before the file is opened: a bad argument is the caller's error, not the file's.
    max_bytes = check_int_param(max_bytes, name="max_bytes", owner="mmref.load", min_value=1)
    trust_token_pattern = check_bool_param(
        trust_token_pattern, name="trust_token_pattern", owner="mmref.load"
    )
    name = os.fspath(path)
    try:
        with zipfile.ZipFile(name) as zf:
            return _load_zip(zf, name, max_bytes, trust_token_pattern)
    except ModelFileError as exc:
        raise ModelFileError(_one_line(str(exc))) from None
    except zipfile.BadZipFile as exc:
        raise ModelFileError(
            _one_line(f"{name!r} is not an mmref model file (not a zip archive: {exc})")
        ) from None
    except (OSError, EOFError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ModelFileError(
            _one_line(f"{name!r} could not be read as an mmref model file: {exc}")
        ) from None
    except (
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        AttributeError,
        OverflowError,
        RecursionError,
        RuntimeError,  # zipfile: an encrypted member
        NotImplementedError,  # zipfile: an unsupported compression method
    ) as exc:
        raise ModelFileError(
            _one_line(f"{name!r} is not a valid mmref model file: {type(exc).__name__}: {exc}")
        ) from None


def _one_line(message: str) -> str:
    return message.replace("\r", " ").replace("\n", " ")


def _version() -> str:
    from ._version import __version__

    return __version__


def _registry() -> dict[str, type]:
    """The classes that may appear in a file. Names map to classes here, never via import."""
    from . import classifiers, image, multimodal, pipeline, text

    classes: list[type] = [
        image.RandomProjectionImageEncoder,
        text.BagOfWordsTextEncoder,
        multimodal.MultimodalEncoder,
        classifiers.NearestCentroidClassifier,
        classifiers.RidgeClassifier,
        classifiers.SoftmaxClassifier,
        pipeline.MultimodalPipeline,
    ]
    try:
        from . import alignment, zeroshot

        classes += [alignment.CCAAlignment, alignment.AlignedEncoder, zeroshot.ZeroShotClassifier]
    except (ImportError, AttributeError):  # the alignment module is optional here
        pass
    return {cls.__name__: cls for cls in classes}


# --- writing ---------------------------------------------------------------------------


def _encode_object(obj: Any, arrays: list[np.ndarray[Any, Any]]) -> dict[str, Any]:
    cls = type(obj)
    if _registry().get(cls.__name__) is not cls:
        raise TypeError(
            f"mmref.save cannot save an object of type {cls.__name__}; expected one of "
            f"{', '.join(sorted(_registry()))}."
        )
    params = {name: getattr(obj, name) for name in _init_params(cls)}
    state = {
        name: value
        for name, value in sorted(vars(obj).items())
        if name.endswith("_") and not name.startswith("_") and name not in _transient(cls)
    }
    return {
        "class": cls.__name__,
        "params": {k: _encode(v, arrays, f"{cls.__name__}.{k}") for k, v in params.items()},
        "state": {k: _encode(v, arrays, f"{cls.__name__}.{k}") for k, v in state.items()},
    }


def _init_params(cls: type) -> list[str]:
    signature = inspect.signature(cls)
    return [
        p.name
        for p in signature.parameters.values()
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


def _transient(cls: type) -> frozenset[str]:
    """Fitted attributes that regenerate from the parameters and are not stored."""
    return frozenset(getattr(cls, "_mmref_transient_", ()))


def _encode(value: Any, arrays: list[np.ndarray[Any, Any]], where: str) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else {"float": repr(number)}
    if isinstance(value, tuple):
        return {"tuple": [_encode(v, arrays, where) for v in value]}
    if isinstance(value, list):
        return [_encode(v, arrays, where) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError(f"mmref.save: {where} is a dict with non-string keys")
        return {"dict": {k: _encode(v, arrays, where) for k, v in value.items()}}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in _ARRAY_KINDS:
            raise TypeError(f"mmref.save: {where} is an array of dtype {value.dtype}")
        arrays.append(np.ascontiguousarray(value))
        return {"array": f"arrays/{len(arrays) - 1}.npy"}
    dtype = _as_numeric_dtype(value)
    if dtype is not None:
        return {"dtype": dtype.name}
    if type(value).__name__ in _registry():
        return {"object": _encode_object(value, arrays)}
    raise TypeError(
        f"mmref.save: {where} holds a value of type {type(value).__name__}, which the "
        f"model file format cannot represent"
    )


def _as_numeric_dtype(value: Any) -> np.dtype[Any] | None:
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        dtype = np.dtype(value)
        if dtype.kind in "biufc":
            return dtype
    return None


# --- reading ---------------------------------------------------------------------------


def _load_zip(zf: zipfile.ZipFile, name: str, max_bytes: int, trust_pattern: bool) -> Any:
    import json

    members = zf.infolist()
    infos = {info.filename: info for info in members}
    if len(infos) != len(members):
        from collections import Counter

        counts = Counter(info.filename for info in members)
        twice = sorted(n for n, count in counts.items() if count > 1)
        raise ModelFileError(
            f"{name!r} holds several members named {reprlib.repr(twice[:5])}; a model file "
            f"names each member once"
        )
    total = sum(info.file_size for info in members)
    if total > max_bytes:
        raise ModelFileError(
            f"{name!r} declares {total} uncompressed bytes, more than max_bytes={max_bytes}; "
            f"refusing to read it (raise max_bytes if the file is trusted)"
        )
    if _MANIFEST not in infos:
        raise ModelFileError(f"{name!r} is not an mmref model file: it has no {_MANIFEST}")
    raw = _read_member(zf, infos[_MANIFEST], min(_MANIFEST_MAX_BYTES, max_bytes), name)
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise ModelFileError(
            f"{name!r}: the manifest nests values more than {_MAX_DEPTH} levels deep"
        ) from None
    except ValueError as exc:  # also UnicodeDecodeError, and integers of too many digits
        raise ModelFileError(f"{name!r}: the manifest is not valid UTF-8 JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFileError(f"{name!r} is not an mmref model file (format is not {FORMAT!r})")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise ModelFileError(
            f"{name!r} has format_version {reprlib.repr(version)}; this mmref reads version "
            f"{FORMAT_VERSION} only"
        )
    if not isinstance(manifest.get("mmref_version"), str):
        raise ModelFileError(f"{name!r}: the manifest's 'mmref_version' is missing or not a str")
    entries: dict[str, Any] = {}
    for entry in _list(manifest.get("arrays"), "arrays", name):
        array_name = _field(entry, "name", str, name)
        if array_name in entries or array_name == _MANIFEST:
            raise ModelFileError(f"{name!r}: the manifest lists the array {array_name!r} twice")
        entries[array_name] = entry
    extra = sorted(set(infos) - set(entries) - {_MANIFEST})
    if extra:
        raise ModelFileError(f"{name!r} holds members the manifest does not list: {extra[:5]}")
    referenced = _array_references(manifest.get("object"))
    not_listed = sorted(referenced - set(entries))
    if not_listed:
        raise ModelFileError(
            f"{name!r}: the array {reprlib.repr(not_listed[0])} is not listed in the manifest"
        )
    unused = sorted(set(entries) - referenced)
    if unused:
        raise ModelFileError(
            f"{name!r}: the manifest lists arrays that the object never refers to: "
            f"{reprlib.repr(unused[:5])}"
        )
    # Sizes first, from the manifest alone: nothing is read if they exceed the cap.
    declared = 0
    for array_name, entry in entries.items():
        if array_name not in infos:
            raise ModelFileError(f"{name!r}: the array member {array_name!r} is missing")
        declared += _array_spec(entry, f"{name!r}: array {array_name!r}", max_bytes)[2]
    if declared > max_bytes:
        raise ModelFileError(
            f"{name!r}: its arrays declare {declared} bytes, more than max_bytes={max_bytes}"
        )
    arrays = {
        array_name: _read_array(zf, infos[array_name], entry, max_bytes, name)
        for array_name, entry in entries.items()
    }
    registry = _registry()
    limits = _Limits(max_bytes, trust_pattern)
    try:
        return _decode_object(manifest.get("object"), arrays, registry, 0, limits)
    except ModelFileError as exc:
        raise ModelFileError(f"{name!r}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{name!r}: the stored parameters are not valid: {exc}") from None


class _Limits:
    """What a loaded model may cost, and whether its token patterns are trusted."""

    def __init__(self, max_bytes: int, trust_pattern: bool) -> None:
        self.max_bytes = max_bytes
        self.trust_pattern = trust_pattern


def _array_references(value: Any) -> set[str]:
    """The array names that ``{"array": NAME}`` values anywhere in ``value`` refer to.

    Iterative, so that a deeply nested manifest cannot exhaust the stack (the
    decoder refuses nesting beyond ``_MAX_DEPTH`` anyway).
    """
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if len(item) == 1 and isinstance(item.get("array"), str):
                found.add(item["array"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, name: str) -> bytes:
    import zipfile

    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ModelFileError(
            f"{name!r}: member {info.filename!r} uses zip compression method "
            f"{info.compress_type}; mmref reads stored (0) and deflate (8) members only"
        )
    if info.file_size > limit:
        raise ModelFileError(
            f"{name!r}: member {info.filename!r} declares {info.file_size} bytes, more than "
            f"the limit of {limit}"
        )
    # Read at most one byte past the declared size: a forged directory entry cannot
    # make us allocate more than the limit.
    with zf.open(info) as handle:
        data = handle.read(info.file_size + 1)
    if len(data) != info.file_size:
        raise ModelFileError(f"{name!r}: member {info.filename!r} is truncated or altered")
    return data


def _array_spec(
    entry: Any, where: str, max_bytes: int
) -> tuple[tuple[int, ...], np.dtype[Any], int]:
    """The manifest's shape, dtype and data size of an array entry, checked."""
    descr = entry.get("dtype")
    if not isinstance(entry.get("shape"), list):
        raise ModelFileError(f"{where}: the manifest field 'shape' is not a list")
    shape = tuple(entry["shape"])
    if not isinstance(entry.get("sha256"), str):
        raise ModelFileError(f"{where}: the manifest entry lacks a valid 'sha256'")
    if len(shape) > 32 or not all(
        isinstance(s, int) and not isinstance(s, bool) and 0 <= s <= max_bytes for s in shape
    ):
        raise ModelFileError(f"{where}: the manifest shape {reprlib.repr(shape)} is not a shape")
    if not isinstance(descr, str):
        raise ModelFileError(f"{where}: the manifest dtype {reprlib.repr(descr)} is not valid")
    try:
        dtype = np.dtype(np.lib.format.descr_to_dtype(descr))  # type: ignore[arg-type]
    except (TypeError, ValueError, SyntaxError):
        raise ModelFileError(f"{where}: the manifest dtype {descr!r} is not valid") from None
    if dtype.kind not in _ARRAY_KINDS or dtype.hasobject or dtype.itemsize == 0:
        raise ModelFileError(f"{where}: dtype {dtype} is not allowed in model files")
    expected = math.prod(shape) * dtype.itemsize
    if expected > max_bytes:
        raise ModelFileError(f"{where}: {expected} bytes exceed max_bytes={max_bytes}")
    return shape, dtype, expected


class _HashingReader:
    """A member being read: every byte goes through sha256 and is counted."""

    def __init__(self, handle: Any) -> None:
        import hashlib

        self.handle = handle
        self.digest = hashlib.sha256()
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data: bytes = self.handle.read(size)
        self.digest.update(data)
        self.count += len(data)
        return data

    def readinto(self, view: memoryview) -> int:
        n: int = self.handle.readinto(view)
        self.digest.update(view[:n])
        self.count += n
        return n


def _read_array(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, entry: Any, max_bytes: int, name: str
) -> np.ndarray[Any, Any]:
    """Read an array member straight into the result: no copy of its bytes is ever held."""
    where = f"{name!r}: array {info.filename!r}"
    shape, dtype, expected = _array_spec(entry, where, max_bytes)
    if info.file_size > expected + _NPY_HEADER_MAX:
        raise ModelFileError(
            f"{where}: the member declares {info.file_size} bytes, more than the "
            f"{expected} data bytes of the manifest's shape and dtype and a header"
        )
    with zf.open(info) as handle:
        reader = _HashingReader(handle)
        try:
            version = np.lib.format.read_magic(reader)
            header_reader = {
                (1, 0): np.lib.format.read_array_header_1_0,
                (2, 0): np.lib.format.read_array_header_2_0,
                # 3.0 differs from 2.0 only in a UTF-8 header; the dtypes allowed are ASCII.
                (3, 0): np.lib.format.read_array_header_2_0,
            }.get(version)
            if header_reader is None:
                raise ValueError(f"unsupported .npy version {version}")
            file_shape, fortran, file_dtype = header_reader(reader)
        # NumPy parses the header with Python's tokenizer, which from Python 3.12 raises
        # TokenError (not a SyntaxError) on some bytes, e.g. a vertical tab.
        except (ValueError, SyntaxError, EOFError, tokenize.TokenError) as exc:
            raise ModelFileError(f"{where}: not a valid .npy member ({exc})") from None
        if tuple(file_shape) != shape or file_dtype != dtype:
            raise ModelFileError(
                f"{where}: holds dtype {file_dtype} and shape {file_shape}, but the manifest "
                f"says {dtype} and {shape}"
            )
        if fortran:
            raise ModelFileError(f"{where}: is stored in Fortran order, which save never writes")
        flat = np.empty(expected // dtype.itemsize, dtype=dtype)
        view = memoryview(flat.view(np.uint8).data)
        filled = 0
        while filled < expected:
            n = reader.readinto(view[filled : filled + _READ_CHUNK])
            if n == 0:
                break
            filled += n
        if filled != expected or reader.read(1):
            raise ModelFileError(
                f"{where}: holds a different number of data bytes than the {expected} expected"
            )
    if reader.count != info.file_size:
        raise ModelFileError(f"{name!r}: member {info.filename!r} is truncated or altered")
    if reader.digest.hexdigest() != entry["sha256"]:
        raise ModelFileError(f"{where}: the sha256 does not match the manifest (tampered?)")
    return flat.reshape(shape)


def _decode_object(
    spec: Any,
    arrays: dict[str, np.ndarray[Any, Any]],
    registry: dict[str, type],
    depth: int,
    limits: _Limits,
) -> Any:
    from ._model_checks import FITTED_ATTRIBUTES, check_model

    if not isinstance(spec, dict):
        raise ModelFileError("the stored object is not a JSON object")
    class_name = spec.get("class")
    cls = registry.get(class_name) if isinstance(class_name, str) else None
    if cls is None:
        raise ModelFileError(
            f"class {reprlib.repr(class_name)} is not one mmref loads; expected one of "
            f"{', '.join(sorted(registry))}"
        )
    params = spec.get("params")
    state = spec.get("state")
    if not isinstance(params, dict) or not isinstance(state, dict):
        raise ModelFileError(f"the {class_name} entry lacks 'params' or 'state'")
    unknown = set(params) - set(_init_params(cls))
    if unknown:
        raise ModelFileError(f"{class_name} has no parameters {reprlib.repr(sorted(unknown))}")
    decoded_params = {k: _decode(v, arrays, registry, depth + 1, limits) for k, v in params.items()}
    for key, value in decoded_params.items():
        _check_role(cls.__name__, key, value, registry)
    obj = cls(**decoded_params)
    fitted = FITTED_ATTRIBUTES.get(cls.__name__, frozenset())
    for key, value in state.items():
        if not (
            isinstance(key, str)
            and key.isidentifier()
            and key.endswith("_")
            and not key.startswith("_")
        ):
            raise ModelFileError(f"{class_name} state has an invalid attribute name {key!r}")
        if key not in fitted:
            raise ModelFileError(
                f"{class_name} state has the attribute {reprlib.repr(key)}, which fit never "
                f"sets; expected some of {', '.join(sorted(fitted)) or 'none'}"
            )
        decoded = _decode(value, arrays, registry, depth + 1, limits)
        _check_role(cls.__name__, key, decoded, registry)
        _check_finite(decoded, f"{class_name}.{key}")
        setattr(obj, key, decoded)
    check_state = getattr(obj, "_check_state", None)
    if callable(check_state):
        check_state()
    check_model(obj, max_bytes=limits.max_bytes, trust_token_pattern=limits.trust_pattern)
    return obj


def _decode(
    value: Any,
    arrays: dict[str, np.ndarray[Any, Any]],
    registry: dict[str, type],
    depth: int,
    limits: _Limits,
) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if depth >= _MAX_DEPTH:
        raise ModelFileError(f"the manifest nests values more than {_MAX_DEPTH} levels deep")
    if isinstance(value, list):
        return [_decode(v, arrays, registry, depth + 1, limits) for v in value]
    if not isinstance(value, dict) or len(value) != 1:
        raise ModelFileError(f"unexpected value {reprlib.repr(value)}")
    ((tag, inner),) = value.items()
    if tag == "tuple" and isinstance(inner, list):
        return tuple(_decode(v, arrays, registry, depth + 1, limits) for v in inner)
    if tag == "dict" and isinstance(inner, dict):
        return {str(k): _decode(v, arrays, registry, depth + 1, limits) for k, v in inner.items()}
    if tag == "float" and inner in ("nan", "inf", "-inf"):
        return float(inner)
    if tag == "dtype" and isinstance(inner, str):
        try:
            dtype = np.dtype(inner)
        except TypeError:
            dtype = np.dtype(object)
        if dtype.kind not in "biufc":
            raise ModelFileError(f"dtype {inner!r} is not a numeric dtype")
        return dtype.type
    if tag == "array" and isinstance(inner, str):
        if inner not in arrays:
            raise ModelFileError(f"the array {inner!r} is not listed in the manifest")
        return arrays[inner]
    if tag == "object":
        return _decode_object(inner, arrays, registry, depth + 1, limits)
    raise ModelFileError(f"unexpected tagged value {reprlib.repr(tag)}")


def _check_role(class_name: str, key: str, value: Any, registry: dict[str, type]) -> None:
    """Refuse a nested model that cannot play its part (e.g. a classifier as an image encoder)."""
    if class_name == "AlignedEncoder" and key == "alignment":
        # Registered together with AlignedEncoder, so always present here.
        if type(value) is not registry["CCAAlignment"]:
            raise ModelFileError(f"{class_name}.{key} is {_kind(value)}; expected a CCAAlignment")
        return
    role = _ROLES.get(class_name, {}).get(key)
    if role is None:
        return
    methods, none_ok = role
    if value is None and none_ok:
        return
    missing = [m for m in methods if not callable(getattr(value, m, None))]
    if missing:
        raise ModelFileError(
            f"{class_name}.{key} is {_kind(value)}, which lacks {' and '.join(missing)}; "
            f"expected an encoder with {' and '.join(methods)}"
        )


def _check_finite(value: Any, where: str) -> None:
    """Refuse NaN or infinity in a float array of the fitted state, however nested."""
    if isinstance(value, np.ndarray):
        flat = value.reshape(-1)
        step = _READ_CHUNK // 8  # in blocks: the check costs 128 KiB, not 1 byte per value
        if value.dtype.kind in "fc" and not all(
            np.isfinite(flat[i : i + step]).all() for i in range(0, flat.size, step)
        ):
            raise ModelFileError(f"{where} holds NaN or infinity; expected finite values")
    elif isinstance(value, list | tuple):
        for item in value:
            _check_finite(item, where)
    elif isinstance(value, dict):
        for item in value.values():
            _check_finite(item, where)


def _kind(value: Any) -> str:
    return "None" if value is None else f"a {type(value).__name__}"


def _list(value: Any, what: str, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise ModelFileError(f"{name!r}: the manifest field {what!r} is not a list")
    return value


def _field(entry: Any, key: str, kind: type, name: str) -> Any:
    value = entry.get(key) if isinstance(entry, dict) else None
    if not isinstance(value, kind):
        raise ModelFileError(f"{name!r}: a manifest array entry lacks a valid {key!r}")
    return value
