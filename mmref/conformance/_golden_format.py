"""The golden-vector format: arrays in JSON, how a case is called, how a result compares.

SPEC.md ("Golden vectors") is normative; in short, an array is ``{"dtype": name, "shape":
[...], "data": [flat values, C order]}``. Floats are JSON numbers in the shortest decimal
that round-trips float64 (hence float32 and float16), non-finite ones the strings
``"inf"``, ``"-inf"``, ``"nan"``; complex values ``[real, imag]`` pairs; ``uint64``
values ``"0x"`` + 16 hex digits, since many JSON readers hold numbers in doubles;
``"intp"`` is the platform's index integer.

A case's ``function`` is called on its decoded ``args`` as SPEC.md's table says
(:func:`call_case`). Without a tolerance the result must match exactly: same shape and
dtype, NaN matches NaN, and the sign of every real part agrees (``-0.0`` does not match
``0.0``); with one, ``|out - expected| <= atol + rtol * |expected|`` elementwise
(:func:`compare`).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from ._describe import shape_str
from ._stubs import StubClassificationModel, StubEmbeddingModel

__all__ = ["MmrefNamespace", "call_case", "compare", "decode", "decode_args", "encode_array"]


class MmrefNamespace:
    """The installed mmref under the names golden cases use; encoders only if present."""

    def __getattr__(self, name: str) -> Any:
        from .. import _hashing, reference

        if name in ("mix64", "derive_key"):
            return getattr(_hashing, name)
        if name == "murmurhash3_32":
            return _murmurhash3_32_of_bytes
        if name in ("joint_embedding", "multimodal_classification"):
            return getattr(reference, name)
        modules = {"RandomProjectionImageEncoder": "image", "BagOfWordsTextEncoder": "text"}
        if name in modules:
            try:
                module = importlib.import_module(f"mmref.{modules[name]}")
            except ImportError:
                raise AttributeError(name) from None
            return getattr(module, name)
        raise AttributeError(name)


def _murmurhash3_32_of_bytes(key: bytes, seed: int) -> int:
    """MurmurHash3_x86_32 of one byte string, unsigned: the golden cases' signature."""
    from .._hashing import murmurhash3_32

    data = np.frombuffer(key, dtype=np.uint8)
    starts, lengths = np.zeros(1, np.int64), np.full(1, len(key), np.int64)
    return int(murmurhash3_32(data, starts, lengths, seed)[0])


def call_case(function: str, impl: Any, method: str, args: dict[str, Any]) -> Any:
    """Call ``impl`` (``function``'s owner in the namespace) as SPEC.md's table says."""
    if function == "mix64":
        return impl(args["z"])
    if function == "murmurhash3_32":
        hashes = [impl(key.encode("utf-8"), int(args["seed"])) for key in args["keys"]]
        return np.array(hashes, dtype=np.uint32)
    if function == "derive_key":
        return np.uint64(impl(int(args["seed"]), *(int(w) for w in args["words"])))
    if function == "joint_embedding":
        model = StubEmbeddingModel(args["image_embedding"], args["text_embedding"])
        return impl(None, None, model)
    if function == "multimodal_classification":
        classifier = StubClassificationModel(args["scores"])
        return impl(args["joint_embedding"], None, classifier)
    encoder = impl(**{k: _decode_param(v) for k, v in args["params"].items()})
    if "fit" in args:
        encoder.fit(args["fit"])
    result = getattr(encoder, method)(args["input"])
    # A sparse projection matrix (scipy.sparse) is compared densely.
    return result.toarray() if hasattr(result, "toarray") else result


def _decode_param(value: Any) -> Any:
    """``"dtype:NAME"`` stands for ``np.dtype(NAME)`` and a JSON list for a tuple."""
    if isinstance(value, str) and value.startswith("dtype:"):
        return np.dtype(value[len("dtype:") :])
    return tuple(value) if isinstance(value, list) else value


def compare(out: Any, expected: Any, tolerance: Mapping[str, float] | None) -> str:
    """What is wrong with ``out`` (empty if it matches ``expected``)."""
    if isinstance(expected, list):  # tokens: arrays are decoded to ndarrays
        return "" if list(out) == expected else f"returned {out!r}; expected {expected!r}"
    out = np.asarray(out)
    if out.shape != expected.shape:
        return f"returned shape {shape_str(out.shape)}; expected {shape_str(expected.shape)}"
    if out.dtype != expected.dtype:
        return f"returned dtype {out.dtype}; expected {expected.dtype}"
    if tolerance is None:
        what = "bit for bit"
        wrong = out != expected
        if out.dtype.kind in "fc":  # NaN matches NaN; -0.0 does not match 0.0
            wrong &= ~(np.isnan(out) & np.isnan(expected))
            wrong |= np.signbit(out.real) != np.signbit(expected.real)
    else:
        rtol, atol = float(tolerance.get("rtol", 0.0)), float(tolerance.get("atol", 0.0))
        err = np.abs(out.astype(np.complex128) - expected)
        wrong = ~(err <= atol + rtol * np.abs(expected.astype(np.complex128)))
        what = f"beyond rtol={rtol:g}, atol={atol:g}"
    if not np.any(wrong):
        return ""
    i = tuple(int(v) for v in np.argwhere(wrong)[0])
    return f"differs from the golden vector {what}: at index {i} {out[i]!r} vs {expected[i]!r}"


def encode_array(array: npt.ArrayLike) -> dict[str, Any]:
    a = np.asarray(array)
    flat = a.ravel().tolist()
    if a.dtype.kind == "f":
        data: list[Any] = [_encode_float(x) for x in flat]
    elif a.dtype.kind == "c":
        data = [[_encode_float(x.real), _encode_float(x.imag)] for x in flat]
    elif a.dtype == np.uint64:
        data = [f"0x{x:016X}" for x in flat]
    else:
        data = flat
    dtype = "intp" if a.dtype == np.intp and a.dtype.kind == "i" else a.dtype.name
    return {"dtype": dtype, "shape": list(a.shape), "data": data}


def _encode_float(x: float) -> float | str:
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def decode(value: Any) -> Any:
    """An encoded array as an ndarray; any other JSON value as it is."""
    if not (isinstance(value, dict) and "dtype" in value and "data" in value):
        return value
    dtype = np.dtype(np.intp) if value["dtype"] == "intp" else np.dtype(value["dtype"])
    data = value["data"]
    if dtype.kind == "f":
        data = [float(x) for x in data]
    elif dtype.kind == "c":
        data = [complex(float(re), float(im)) for re, im in data]
    elif dtype == np.uint64:
        data = [int(x, 16) for x in data]
    return np.array(data, dtype=dtype).reshape(value["shape"])


def decode_args(args: Mapping[str, Any]) -> dict[str, Any]:
    return {k: decode(v) for k, v in args.items()}
