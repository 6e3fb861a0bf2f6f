"""A golden-vector client in Python: serves a namespace over mmref's line protocol.

Run by the harness, not by hand::

    mmref conform golden --against-command "python examples/golden_client.py [MODULE[:ATTR]]"

``MODULE[:ATTR]`` names the implementation as ``--against`` does (a namespace with some
of mmref's names: ``mix64``, ``derive_key``, ``murmurhash3_32``, ``joint_embedding``,
``multimodal_classification``, ``RandomProjectionImageEncoder``,
``BagOfWordsTextEncoder``); without it, the installed mmref as ``mmref conform golden``
checks it. Either way the report is the one ``--against`` gives.

The protocol (SPEC.md, "Golden vectors over a line protocol"): write a hello line, then
read one JSON request per line and write one JSON answer per line, flushing each. This
file is self-contained on purpose (NumPy and the implementation only): it is what a
client in any language does.
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any

import numpy as np

from mmref.testing import StubClassificationModel, StubEmbeddingModel

PROTOCOL = "mmref-golden-protocol/1"
NAMES = (
    "mix64",
    "derive_key",
    "murmurhash3_32",
    "joint_embedding",
    "multimodal_classification",
    "RandomProjectionImageEncoder",
    "BagOfWordsTextEncoder",
)


def load_namespace(spec: str | None) -> Any:
    if spec is None:
        # The installed mmref under the golden cases' names, as `mmref conform golden` uses it.
        from mmref.conformance._golden_format import MmrefNamespace

        return MmrefNamespace()
    module_name, _, attr = spec.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in filter(None, attr.split(".")):
        obj = getattr(obj, part)
    return obj


# --- values on the wire: arrays bit for bit ------------------------------------------


def decode(value: Any) -> Any:
    if not (isinstance(value, dict) and "dtype" in value and "data" in value):
        return value
    name, shape, data = value["dtype"], value["shape"], value["data"]
    dtype = np.dtype(np.intp) if name == "intp" else np.dtype(name)
    if dtype.kind == "c":
        part = f"u{dtype.itemsize // 2}"
        words = np.array([int(x, 16) for pair in data for x in pair], dtype=part)
        return words.view(dtype).reshape(shape)
    if dtype.kind == "f" or dtype.itemsize == 8:  # floats and 64-bit integers: hex bits
        return np.array([int(x, 16) for x in data], f"u{dtype.itemsize}").view(dtype).reshape(shape)
    return np.array(data, dtype=dtype).reshape(shape)


def encode(value: Any) -> Any:
    if isinstance(value, list):  # tokens
        return value
    a = np.asarray(value)
    name = "intp" if a.dtype == np.intp and a.dtype.kind == "i" else a.dtype.name
    flat = np.ascontiguousarray(a).ravel()
    width = 2 * (a.dtype.itemsize // (2 if a.dtype.kind == "c" else 1))
    if a.dtype.kind == "c":
        bits = flat.view(f"u{width // 2}").reshape(-1, 2).tolist()
        data: list[Any] = [[f"0x{re:0{width}X}", f"0x{im:0{width}X}"] for re, im in bits]
    elif a.dtype.kind == "f" or a.dtype.itemsize == 8:
        data = [f"0x{b:0{width}X}" for b in flat.view(f"u{width // 2}").tolist()]
    else:
        data = flat.tolist()
    return {"dtype": name, "shape": list(a.shape), "data": data}


# --- calls, as SPEC.md's table of golden functions says ------------------------------


def call(namespace: Any, function: str, args: dict[str, Any]) -> Any:
    owner, _, method = function.partition(".")
    impl = getattr(namespace, owner)
    if function == "mix64":
        return impl(args["z"])
    if function == "derive_key":
        return np.uint64(impl(int(args["seed"]), *(int(w) for w in args["words"])))
    if function == "murmurhash3_32":
        seed = int(args["seed"])
        return np.array([impl(k.encode("utf-8"), seed) for k in args["keys"]], dtype=np.uint32)
    if function == "joint_embedding":
        return impl(None, None, StubEmbeddingModel(args["image_embedding"], args["text_embedding"]))
    if function == "multimodal_classification":
        return impl(args["joint_embedding"], None, StubClassificationModel(args["scores"]))
    params = {k: param(v) for k, v in args["params"].items()}
    encoder = impl(**params)
    if "fit" in args:
        encoder.fit(args["fit"])
    result = getattr(encoder, method)(args["input"])
    return result.toarray() if hasattr(result, "toarray") else result


def param(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("dtype:"):
        return np.dtype(value[len("dtype:") :])
    return tuple(value) if isinstance(value, list) else value


def answer(namespace: Any, request: dict[str, Any]) -> dict[str, Any]:
    args = {k: decode(v) for k, v in request["args"].items()}
    try:
        result = call(namespace, request["function"], args)
    except Exception as exc:
        bases = [c.__name__ for c in type(exc).__mro__[1:] if c not in (BaseException, object)]
        error = {"type": type(exc).__name__, "message": str(exc), "bases": bases}
        return {"id": request["id"], "error": error}
    return {"id": request["id"], "result": encode(result)}


def main(argv: list[str]) -> int:
    namespace = load_namespace(argv[0] if argv else None)
    from mmref import __version__

    provided = [name for name in NAMES if getattr(namespace, name, None) is not None]
    hello = {
        "protocol": PROTOCOL,
        "name": "examples/golden_client.py" + (f" {argv[0]}" if argv else ""),
        "version": __version__,
        "functions": provided,
    }
    out = sys.stdout
    out.write(json.dumps(hello) + "\n")
    out.flush()
    for line in sys.stdin:
        reply = answer(namespace, json.loads(line))
        # ASCII-only JSON: any string, even one with a lone surrogate, survives the pipe.
        out.write(json.dumps(reply, ensure_ascii=True) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
