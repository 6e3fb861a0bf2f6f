"""The model-file loader, as a user relies on it: every tampering refused, valid files kept exact.

Built systematically from real saved files, one per estimator kind: every field of
the manifest (top level, each array entry, each stored object, each parameter and
fitted attribute) is deleted or given a value of the wrong kind, and every stored
array is replaced (with its manifest entry and sha256 recomputed, so that only the
checks of the loaded state can refuse it) by arrays of every kind (integer, float,
complex; finite, NaN, infinite), or has its bytes altered without the manifest
knowing. Each is refused with a one-line ModelFileError; an untampered file (and one
rewritten with the same values) loads bit-identically.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import mmref
from mmref.alignment import AlignedEncoder, CCAAlignment
from mmref.exceptions import ModelFileError
from mmref.multimodal import MultimodalEncoder
from mmref.persistence import load, save
from mmref.zeroshot import ZeroShotClassifier

X = np.linspace(-1.0, 1.0, 40 * 4).reshape(40, 4) ** 3 + np.tile(np.arange(4.0), (40, 1)) / 5
LABELS = np.array(["cat", "dog", "emu"])[np.arange(40) % 3]
X_SHIFTED = X + np.where(LABELS == "dog", 1.0, 0.0)[:, None]
IMAGES = (np.arange(6 * 4 * 4) % 251).reshape(6, 4, 4).astype(np.uint8)
TEXTS = ["a red circle", "un", "blue square", "", "green cross", "yellow triangle red"]


def _aligned() -> AlignedEncoder:
    encoder = MultimodalEncoder(
        mmref.RandomProjectionImageEncoder(4), mmref.BagOfWordsTextEncoder(4)
    )
    return AlignedEncoder(encoder, CCAAlignment(2)).fit(IMAGES, TEXTS)


# One fitted model of every kind a file can hold.
KINDS: dict[str, Callable[[], Any]] = {
    "image": lambda: mmref.RandomProjectionImageEncoder(4, image_shape=(4, 4), seed=3).fit(IMAGES),
    "text-tfidf": lambda: mmref.BagOfWordsTextEncoder(
        vocabulary="learn", weighting="tfidf", max_features=8
    ).fit(TEXTS),
    "text-fixed": lambda: mmref.BagOfWordsTextEncoder(vocabulary=["zz", "red", "é", "un"]).fit(
        TEXTS
    ),
    "multimodal": lambda: MultimodalEncoder(
        mmref.RandomProjectionImageEncoder(4), mmref.BagOfWordsTextEncoder(8)
    ).fit(IMAGES, TEXTS),
    "centroid": lambda: mmref.NearestCentroidClassifier().fit(X_SHIFTED, LABELS),
    "ridge": lambda: mmref.RidgeClassifier(alpha=0.5).fit(X_SHIFTED, LABELS),
    "softmax": lambda: mmref.SoftmaxClassifier(C=2.0).fit(X_SHIFTED, np.arange(40) % 3),
    "cca": lambda: CCAAlignment(2).fit(X, X[:, ::-1] ** 2),
    "aligned": _aligned,
    "zeroshot": lambda: ZeroShotClassifier(_aligned(), {"red": ["a red circle"], "un": "un"}),
}


@functools.cache
def _saved(kind: str) -> tuple[Any, bytes, dict[str, bytes]]:
    """The model of ``kind``, its file's bytes and its members (built once per session)."""
    model = KINDS[kind]()
    buffer = io.BytesIO()
    path = Path(_tmp()) / f"{kind}.mmref"
    save(model, path)
    data = path.read_bytes()
    buffer.write(data)
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    return model, data, members


@functools.lru_cache(maxsize=1)
def _tmp() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="mmref-tamper-")


def _manifest(kind: str) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(_saved(kind)[2]["manifest.json"])
    return manifest


def _write(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _refused(path: Path, why: Any = "", **kwargs: Any) -> ModelFileError:
    """Load ``path``, which must raise a one-line ModelFileError (``why`` names the case)."""
    try:
        load(path, **kwargs)
    except ModelFileError as exc:
        message = str(exc)
        assert "\n" not in message and "\r" not in message, why
        # SPEC.md 10.1: the message starts with the path (it must say which file).
        assert message.startswith(repr(str(path))), (why, message)
        return exc
    pytest.fail(f"loaded a file tampered with: {why}")


def _with_manifest(tmp_path: Path, kind: str, manifest: Any) -> Path:
    members = {**_saved(kind)[2], "manifest.json": json.dumps(manifest).encode()}
    return _write(tmp_path / "tampered.mmref", members)


# --- walking a manifest ----------------------------------------------------------------


def _objects(node: dict[str, Any], path: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
    """The path of every stored object (the top one and the nested models)."""
    yield path
    for section in ("params", "state"):
        for key, value in node[section].items():
            if isinstance(value, dict) and "object" in value:
                yield from _objects(value["object"], (*path, section, key, "object"))


def _get(manifest: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        manifest = manifest[key]
    return manifest


def _signature(node: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    return node["class"], tuple(sorted(node["state"]))


def _first_seen(kind: str) -> Iterator[tuple[Any, ...]]:
    """The objects of ``kind`` not seen in an earlier kind (the same class with the same
    fitted attributes): each is tested once."""
    manifest = _manifest(kind)
    earlier = {
        _signature(_get(_manifest(k), path))
        for k in list(KINDS)[: list(KINDS).index(kind)]
        for path in _objects(_manifest(k)["object"], ("object",))
    }
    for path in _objects(manifest["object"], ("object",)):
        signature = _signature(_get(manifest, path))
        if signature not in earlier:
            earlier.add(signature)
            yield path


# --- the valid files -------------------------------------------------------------------


def _state_arrays(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Every fitted attribute and parameter of ``obj`` and its nested models, by path."""
    out: dict[str, Any] = {}
    for key, value in sorted(vars(obj).items()):
        if key.startswith("_"):
            continue
        if hasattr(value, "get_params"):
            out.update(_state_arrays(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray):
        return (
            isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and a.tobytes() == b.tobytes()
        )
    return type(a) is type(b) and a == b


def _assert_same_state(model: Any, restored: Any) -> None:
    before, after = _state_arrays(model), _state_arrays(restored)
    assert before.keys() == after.keys()
    for key in before:
        assert _same(before[key], after[key]), key


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_valid_file_loads_bit_identically(tmp_path: Path, kind: str) -> None:
    model, data, members = _saved(kind)
    path = tmp_path / "valid.mmref"
    path.write_bytes(data)
    restored = load(path)
    assert type(restored) is type(model)
    _assert_same_state(model, restored)
    # The same manifest written again by another zip writer (deflated) loads the same.
    with zipfile.ZipFile(tmp_path / "deflated.mmref", "w", zipfile.ZIP_DEFLATED) as zf:
        for name, member in members.items():
            zf.writestr(name, member)
    _assert_same_state(model, load(tmp_path / "deflated.mmref"))
    # And its file is exactly what save writes again.
    save(restored, tmp_path / "again.mmref")
    assert (tmp_path / "again.mmref").read_bytes() == data


# --- the manifest's own fields ---------------------------------------------------------

_DELETE = object()
_WRONG = ["x", -1, 1.5, True, None, [], {}, {"dict": {}}]


def _edited(kind: str, path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    manifest = copy.deepcopy(_manifest(kind))
    parent = _get(manifest, path[:-1])
    if value is _DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return manifest


def _refuse_all(tmp_path: Path, kind: str, cases: Iterator[tuple[tuple[Any, ...], Any]]) -> None:
    count = 0
    for path, value in cases:
        manifest = _edited(kind, path, value)
        why = f"{kind}: {'.'.join(map(str, path))} = {'deleted' if value is _DELETE else value!r}"
        _refused(_with_manifest(tmp_path, kind, manifest), why)
        count += 1
    assert count


@pytest.mark.parametrize("kind", ["image", "ridge"])
def test_every_top_level_field_tampered_is_refused(tmp_path: Path, kind: str) -> None:
    manifest = _manifest(kind)

    def cases() -> Iterator[tuple[tuple[Any, ...], Any]]:
        for key, value in manifest.items():
            yield (key,), _DELETE
            for wrong in _WRONG:
                if key == "mmref_version" and isinstance(wrong, str):
                    continue  # any version string is accepted
                if wrong != value:
                    yield (key,), wrong
        for wrong in ("mmref-model2", "MMREF-MODEL", "mmref-mode", " mmref-model"):
            yield ("format",), wrong
        for wrong in (0, 2, 1.0001, "1", True, [1]):
            yield ("format_version",), wrong
        yield ("object",), {"class": manifest["object"]["class"]}
        yield ("object",), {"object": manifest["object"]}

    _refuse_all(tmp_path, kind, cases())


def test_format_version_one_as_a_float_is_still_version_one(tmp_path: Path) -> None:
    # JSON does not tell 1 from 1.0 apart in meaning: the version number is 1 either way.
    restored = load(_with_manifest(tmp_path, "ridge", _edited("ridge", ("format_version",), 1.0)))
    _assert_same_state(_saved("ridge")[0], restored)


@pytest.mark.parametrize("kind", ["ridge", "softmax"])
def test_every_field_of_every_array_entry_tampered_is_refused(tmp_path: Path, kind: str) -> None:
    manifest = _manifest(kind)

    def cases() -> Iterator[tuple[tuple[Any, ...], Any]]:
        for i, entry in enumerate(manifest["arrays"]):
            for key in entry:
                yield ("arrays", i, key), _DELETE
                for wrong in ("x", None, [], 1, {}):
                    yield ("arrays", i, key), wrong
            shape = entry["shape"]
            for wrong in (
                [*shape, 1], shape[:-1], [shape[0] + 1, *shape[1:]], [shape[0] - 1, *shape[1:]],
                [-s for s in shape], [True, *shape[1:]], [float(s) for s in shape], [1] * 33,
                [2**62, 2**62], [None],
            ):  # fmt: skip
                yield ("arrays", i, "shape"), wrong
            for dtype in ("<f4", ">f8", "<i8", "<c16", "<U3", "<U4", "|b1", "|O", "|V8", "<M8[s]"):
                if dtype != entry["dtype"]:
                    yield ("arrays", i, "dtype"), dtype
            for wrong in ("not a dtype", "[('a', '<f8')]", "<U0", "|S3"):
                yield ("arrays", i, "dtype"), wrong
            for wrong in (hashlib.sha256(b"").hexdigest(), entry["sha256"].upper(), ""):
                yield ("arrays", i, "sha256"), wrong
            others = [e["name"] for e in manifest["arrays"] if e["name"] != entry["name"]]
            for wrong in ("arrays/99.npy", "manifest.json", *others[:1]):
                yield ("arrays", i, "name"), wrong
        yield ("arrays",), [*manifest["arrays"], *manifest["arrays"][:1]]
        yield ("arrays",), manifest["arrays"][1:]
        yield ("arrays",), manifest["arrays"][::-1][:1] * 2

    _refuse_all(tmp_path, kind, cases())


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_field_of_every_stored_object_tampered_is_refused(tmp_path: Path, kind: str) -> None:
    manifest = _manifest(kind)

    def cases() -> Iterator[tuple[tuple[Any, ...], Any]]:
        for path in _first_seen(kind):
            node = _get(manifest, path)
            for key in ("class", "params", "state"):
                yield (*path, key), _DELETE
                for wrong in ("x", None, [], 1):
                    yield (*path, key), wrong
            for wrong in (node["class"].lower(), "os.system", "ModelFileError", "object"):
                yield (*path, "class"), wrong
            for other in ("RidgeClassifier", "SoftmaxClassifier", "BagOfWordsTextEncoder"):
                if other != node["class"]:
                    yield (*path, "class"), other
            yield (*path, "params", "not_a_parameter"), 1
            for name in ("not_fitted_", "_private_", "__class__", "fitted", "a-b_", "n_features_"):
                yield (*path, "state", name), 1

    _refuse_all(tmp_path, kind, cases())


def test_a_refusal_names_the_field_at_fault_and_what_was_expected(tmp_path: Path) -> None:
    def refused(path: tuple[Any, ...], value: Any) -> str:
        manifest = _edited("ridge", path, value)
        return str(_refused(_with_manifest(tmp_path, "ridge", manifest), path))

    assert "not_a_parameter" in refused(("object", "params", "not_a_parameter"), 1)
    message = refused(("object", "state", "not_fitted_"), 1)
    assert "not_fitted_" in message and "coef_" in message  # a fitted attribute it could be
    assert "'params'" in refused(("object", "params"), _DELETE)


def test_a_zip_without_a_manifest_is_refused_saying_so(tmp_path: Path) -> None:
    members = {k: v for k, v in _saved("ridge")[2].items() if k != "manifest.json"}
    assert "manifest.json" in str(_refused(_write(tmp_path / "bare.mmref", members), "bare"))


def test_a_reference_to_an_array_the_manifest_does_not_list_names_it(tmp_path: Path) -> None:
    manifest = _edited("ridge", ("object", "state", "classes_"), {"array": "arrays/9.npy"})
    assert "arrays/9.npy" in str(_refused(_with_manifest(tmp_path, "ridge", manifest), "ghost"))


def test_an_error_raised_deep_inside_still_names_the_file_and_the_error(tmp_path: Path) -> None:
    # An integer too large for a float (JSON allows it) fails in the estimator's own
    # parameter check with an OverflowError: the refusal keeps the file and what failed.
    manifest = _edited("ridge", ("object", "params", "alpha"), 10**400)
    assert "OverflowError" in str(_refused(_with_manifest(tmp_path, "ridge", manifest), "10**400"))


@pytest.mark.parametrize("dtype", ["datetime64[s]", "timedelta64[s]", "S3", "V8"])
def test_labels_of_a_dtype_save_never_writes_are_refused(tmp_path: Path, dtype: str) -> None:
    # classes_ may hold any label save accepts (bool, numbers, str); a forger's datetime,
    # bytes or raw-void labels, consistent with the manifest, are refused all the same.
    member = _get(_manifest("ridge"), ("object", "state", "classes_"))["array"]
    labels = np.arange(len(_original("ridge", member))).astype(dtype)
    error = _refused(_with_array(tmp_path, "ridge", member, _npy(labels), entry=True), dtype)
    assert "not allowed" in str(error)


def test_an_empty_params_or_state_means_the_defaults_unfitted(tmp_path: Path) -> None:
    restored = load(_with_manifest(tmp_path, "ridge", _edited("ridge", ("object", "params"), {})))
    assert restored.alpha == mmref.RidgeClassifier().alpha
    restored = load(_with_manifest(tmp_path, "image", _edited("image", ("object", "state"), {})))
    assert "n_features_in_" not in vars(restored) and restored.n_components == 4


def _fields(kind: str) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """(path, value) of every parameter and fitted attribute that is not a model or array."""
    manifest = _manifest(kind)
    for path in _first_seen(kind):
        for section in ("params", "state"):
            for key, value in _get(manifest, path)[section].items():
                if not (isinstance(value, dict) and ("object" in value or "array" in value)):
                    yield (*path, section, key), value


# An AlignedEncoder's parameters are both models, tested as objects of their own.
@pytest.mark.parametrize("kind", [kind for kind in KINDS if kind != "aligned"])
def test_every_parameter_and_fitted_value_tampered_is_refused(tmp_path: Path, kind: str) -> None:
    def cases() -> Iterator[tuple[tuple[Any, ...], Any]]:
        for path, value in _fields(kind):
            wrongs: list[Any] = ["x", -1, [1.5], {"float": "nan"}]
            if path[-2] == "state":
                wrongs += [1.5, True, None, [], {"dict": {}}, {"float": "inf"}, str(value)]
                wrongs += [{"array": "arrays/0.npy"}, {"tuple": [value]}]
            for wrong in wrongs:
                yield path, wrong

    _refuse_all(tmp_path, kind, cases())


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_fitted_attribute_dropped_is_refused_or_leaves_the_model_unfitted(
    tmp_path: Path, kind: str
) -> None:
    original = _manifest(kind)
    for path in _objects(original["object"], ("object",)):
        for key in _get(original, path)["state"]:
            manifest = _edited(kind, (*path, "state", key), _DELETE)
            # Drop the members nothing refers to any more, so that only the state is wrong.
            text = json.dumps(manifest["object"])
            manifest["arrays"] = [e for e in manifest["arrays"] if json.dumps(e["name"]) in text]
            listed = {e["name"] for e in manifest["arrays"]}
            members = {n: d for n, d in _saved(kind)[2].items() if n in listed}
            members["manifest.json"] = json.dumps(manifest).encode()
            dropped = _write(tmp_path / "dropped.mmref", members)
            if _get(manifest, (*path, "state")):  # fit sets all of its attributes or none
                _refused(dropped, f"{kind}: {path} without {key}")
                continue
            owner = load(dropped)  # the only one: the model is stored unfitted
            for step in path[1:]:
                if step not in ("params", "state", "object"):
                    owner = getattr(owner, step)
            assert key not in vars(owner)


# --- the arrays ------------------------------------------------------------------------


def _array_paths(kind: str) -> Iterator[tuple[tuple[Any, ...], str]]:
    """(path, member) of every array a model's state refers to, each class's once."""
    manifest = _manifest(kind)
    for path in _first_seen(kind):
        for key, value in _get(manifest, path)["state"].items():
            if isinstance(value, dict) and "array" in value:
                yield (*path, "state", key), value["array"]


def _npy(array: np.ndarray, version: tuple[int, int] | None = None) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, version=version, allow_pickle=False)
    return buffer.getvalue()


def _with_array(
    tmp_path: Path, kind: str, member: str, data: bytes, *, entry: bool | np.ndarray
) -> Path:
    """The file of ``kind`` with ``member`` replaced by ``data``; with ``entry``, its manifest
    entry (dtype, shape, sha256) is rewritten to match, as a careful forger would (the dtype
    and shape of the array ``entry``, or else of the member's header)."""
    manifest = copy.deepcopy(_manifest(kind))
    if entry is not False:
        if isinstance(entry, np.ndarray):
            shape, dtype = entry.shape, entry.dtype
        else:
            header = io.BytesIO(data)
            version = np.lib.format.read_magic(header)
            reader = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, _, dtype = reader(header)
        (item,) = [e for e in manifest["arrays"] if e["name"] == member]
        item.update(
            dtype=np.lib.format.dtype_to_descr(dtype),
            shape=list(shape),
            sha256=hashlib.sha256(data).hexdigest(),
        )
    members = {**_saved(kind)[2], member: data, "manifest.json": json.dumps(manifest).encode()}
    return _write(tmp_path / "array.mmref", members)


def _original(kind: str, member: str) -> np.ndarray:
    array: np.ndarray = np.load(io.BytesIO(_saved(kind)[2][member]), allow_pickle=False)
    return array


def _replacements(original: np.ndarray) -> Iterator[tuple[str, np.ndarray]]:
    """Arrays a fit never produces in place of ``original``: other kinds, not finite, shapes."""
    shape = original.shape
    ones = np.ones(shape)
    if original.dtype.kind == "f":
        yield "int64", ones.astype(np.int64)
        yield "bool", ones.astype(bool)
        yield "float32", original.astype(np.float32)
        yield "big-endian", original.astype(">f8")
        yield "str", original.astype(str)
        for where in (0, -1):
            for bad in (np.nan, np.inf, -np.inf):
                flat = original.copy().reshape(-1)
                flat[where] = bad
                yield f"float64 {bad} at {where}", flat.reshape(shape)
        payload = original.copy().reshape(-1)
        payload.view(np.uint64)[-1] = 0x7FF0000000000001  # a signalling NaN with a payload
        yield "float64 sNaN", payload.reshape(shape)
    else:
        yield "float64 nan", np.full(shape, np.nan)
    numbers = original if original.dtype.kind == "f" else ones
    yield "complex128", numbers.astype(np.complex128)
    for bad in (np.nan, np.inf, complex(0, np.inf)):
        flat = numbers.astype(np.complex128).reshape(-1)
        flat[-1] = bad
        yield f"complex128 {bad}", flat.reshape(shape)
    yield "complex64", numbers.astype(np.complex64)
    yield "one more row", np.concatenate([original, original[:1]])
    yield "one row less", original[1:]
    yield "transposed", original.T if original.ndim == 2 else original[None, :]
    yield "scalar", original.reshape(-1)[:1].reshape(())
    yield "flattened", original.reshape(-1, 1) if original.ndim == 1 else original.reshape(-1)


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_array_replaced_by_one_fit_never_produces_is_refused(
    tmp_path: Path, kind: str
) -> None:
    for path, member in _array_paths(kind):
        for label, array in _replacements(_original(kind, member)):
            forged = _with_array(tmp_path, kind, member, _npy(array), entry=True)
            _refused(forged, f"{kind}: {'.'.join(map(str, path))} as {label}")


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_array_member_altered_behind_the_manifest_is_refused(
    tmp_path: Path, kind: str
) -> None:
    for path, member in _array_paths(kind):
        data = _saved(kind)[2][member]
        original = _original(kind, member)
        header = len(data) - original.nbytes
        why = f"{kind}: {'.'.join(map(str, path))}"
        for position in (0, 6, 7, 9, header - 1, header, len(data) - 1):
            altered = bytearray(data)
            altered[position] ^= 0x01
            _refused(_with_array(tmp_path, kind, member, bytes(altered), entry=False), why)
        for cut in (data[:-1], data + b"\0", data[:header], b""):
            _refused(_with_array(tmp_path, kind, member, cut, entry=False), why)
        # The same values in other .npy versions: refused unless the manifest says so.
        for version in ((2, 0), (3, 0)):
            again = _npy(original, version)
            _refused(_with_array(tmp_path, kind, member, again, entry=False), why)
            restored = load(_with_array(tmp_path, kind, member, again, entry=True))
            _assert_same_state(_saved(kind)[0], restored)


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_array_member_forged_consistently_is_refused(tmp_path: Path, kind: str) -> None:
    for path, member in _array_paths(kind):
        original = _original(kind, member)
        why = f"{kind}: {'.'.join(map(str, path))}"
        if original.ndim == 2:  # Fortran order, the same values: save never writes it
            fortran = io.BytesIO()
            np.lib.format.write_array(fortran, np.asfortranarray(original))
            _refused(_with_array(tmp_path, kind, member, fortran.getvalue(), entry=True), why)
        data = bytearray(_npy(original))
        data[6] = 4  # an .npy version this loader does not read
        _refused(_with_array(tmp_path, kind, member, bytes(data), entry=original), why)
        # Header and manifest agree, but the data is one row short (or long).
        grown = _npy(np.concatenate([original, original[:1]]))
        short = grown[: -original[:1].nbytes]
        _refused(_with_array(tmp_path, kind, member, short, entry=True), why)
        longer = _npy(original) + original[:1].tobytes()
        _refused(_with_array(tmp_path, kind, member, longer, entry=True), why)


@pytest.mark.parametrize("where", [0, 131_071, 131_072, -1])
def test_a_non_finite_value_anywhere_in_a_large_array_is_refused(
    tmp_path: Path, where: int
) -> None:
    # Checked block by block: a value in the first, at the end of a block, at the start of
    # the next or at the very end of the array is found all the same.
    width = 100_000  # 300,000 values: three blocks of the finiteness check
    model = mmref.RidgeClassifier()
    model.classes_ = np.array(["a", "b", "c"])
    model.coef_ = np.ones((3, width))
    model.coef_.reshape(-1)[where] = np.inf
    model.intercept_ = np.zeros(3)
    model.n_features_in_ = width
    save(model, tmp_path / "wide.mmref")
    members = {}
    with zipfile.ZipFile(tmp_path / "wide.mmref") as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    error = _refused(_write(tmp_path / "nan.mmref", members), where)
    assert "RidgeClassifier.coef_ holds NaN or infinity" in str(error)


def _references(node: dict[str, Any]) -> Iterator[str]:
    """The array names of an OBJECT depth-first, parameters before state, names sorted."""
    for section in ("params", "state"):
        for key in sorted(node[section]):
            yield from _value_references(node[section][key])


def _value_references(value: Any) -> Iterator[str]:
    if isinstance(value, list):
        for item in value:
            yield from _value_references(item)
    elif isinstance(value, dict):
        ((tag, inner),) = value.items()
        if tag == "array":
            yield inner
        elif tag == "object":
            yield from _references(inner)
        elif tag in ("tuple", "dict"):
            for item in inner if tag == "tuple" else inner.values():
                yield from _value_references(item)


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_saved_file_is_exactly_the_bytes_the_specification_gives(kind: str) -> None:
    # SPEC.md section 10: the zip's members, their order and fields, the manifest's JSON
    # layout and the .npy members are fixed, so that a file's bytes depend only on the model.
    _, data, members = _saved(kind)
    manifest = _manifest(kind)
    names = [f"arrays/{i}.npy" for i in range(len(manifest["arrays"]))]
    assert list(_references(manifest["object"])) == names
    assert [e["name"] for e in manifest["arrays"]] == names
    assert list(members) == ["manifest.json", *names]
    expected = io.BytesIO()
    with zipfile.ZipFile(expected, "w", zipfile.ZIP_STORED) as zf:
        text = json.dumps(manifest, sort_keys=True, indent=1, ensure_ascii=False, allow_nan=False)
        written = [("manifest.json", text.encode("utf-8"))]
        for entry in manifest["arrays"]:
            array = np.load(io.BytesIO(members[entry["name"]]), allow_pickle=False)
            member = _npy(array)
            assert entry["sha256"] == hashlib.sha256(member).hexdigest()
            assert entry["dtype"] == np.lib.format.dtype_to_descr(array.dtype)
            assert entry["shape"] == list(array.shape)
            written.append((entry["name"], member))
        for name, member in written:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.external_attr = 0o644 << 16
            zf.writestr(info, member)
    assert data == expected.getvalue()


def test_the_size_caps_hold_exactly(tmp_path: Path) -> None:
    _, data, members = _saved("ridge")
    path = tmp_path / "ridge.mmref"
    path.write_bytes(data)
    total = sum(len(m) for m in members.values())
    _assert_same_state(_saved("ridge")[0], load(path, max_bytes=total))
    assert "declares" in str(_refused(path, "one byte below", max_bytes=total - 1))
    # One byte is a valid cap, which this file exceeds.
    assert "declares" in str(_refused(path, "one byte", max_bytes=1))


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"max_bytes": 0}, ValueError),
        ({"max_bytes": -1}, ValueError),
        ({"max_bytes": True}, TypeError),
        ({"max_bytes": 1.5}, TypeError),
        ({"max_bytes": "1000"}, TypeError),
        ({"trust_token_pattern": "no"}, TypeError),
        ({"trust_token_pattern": 1}, TypeError),
    ],
)
def test_a_bad_argument_is_the_callers_error_not_the_files(
    tmp_path: Path, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    # Checked before the file is opened: the same error for a valid file and a missing one.
    path = tmp_path / "ridge.mmref"
    path.write_bytes(_saved("ridge")[1])
    for where in (path, tmp_path / "absent.mmref"):
        with pytest.raises(error, match=f"'{next(iter(kwargs))}' parameter of mmref.load ") as info:
            load(where, **kwargs)
        assert not isinstance(info.value, ModelFileError)


def test_the_manifest_may_be_16_mib_and_no_more(tmp_path: Path) -> None:
    members = _saved("ridge")[2]
    text = members["manifest.json"]
    for size, loads in ((16 << 20, True), ((16 << 20) + 1, False)):
        padded = text[:-1] + b" " * (size - len(text)) + b"}"
        path = _write(tmp_path / "big.mmref", {**members, "manifest.json": padded})
        if loads:
            _assert_same_state(_saved("ridge")[0], load(path))
        else:
            assert "declares" in str(_refused(path, size))


def test_arrays_declaring_more_than_max_bytes_together_are_refused_before_reading(
    tmp_path: Path,
) -> None:
    # Each of the two weight arrays declares 60% of the cap, the members themselves are
    # small: the sum is refused from the manifest alone.
    manifest = copy.deepcopy(_manifest("ridge"))
    cap = 1 << 20
    for entry in manifest["arrays"]:
        if entry["dtype"] == "<f8":
            entry["shape"] = [int(0.6 * cap) // 8]
    error = _refused(_with_manifest(tmp_path, "ridge", manifest), "sum", max_bytes=cap)
    assert "declare" in str(error)


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_members_compressed_other_than_by_deflate_are_refused(tmp_path: Path, method: int) -> None:
    path = tmp_path / "other.mmref"
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, member in _saved("ridge")[2].items():
            zf.writestr(name, member)
    assert "compression" in str(_refused(path, method))


def test_a_directory_or_unreadable_path_is_a_model_file_error(tmp_path: Path) -> None:
    assert "could not be read" in str(_refused(tmp_path, "a directory"))
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "absent.mmref")


@pytest.mark.parametrize(
    "value",
    [
        [{"array": "NAN"}],
        {"tuple": [1, {"array": "NAN"}]},
        {"dict": {"a": {"array": "NAN"}}},
        [[{"array": "NAN"}]],
    ],
    ids=["list", "tuple", "dict", "nested"],
)
def test_a_non_finite_array_nested_in_the_state_is_refused(tmp_path: Path, value: Any) -> None:
    members = dict(_saved("ridge")[2])
    manifest = copy.deepcopy(_manifest("ridge"))
    data = _npy(np.array([1.0, np.nan]))
    members["arrays/9.npy"] = data
    manifest["arrays"].append(
        {"name": "arrays/9.npy", "dtype": "<f8", "shape": [2],
         "sha256": hashlib.sha256(data).hexdigest()}
    )  # fmt: skip
    old = manifest["object"]["state"]["coef_"]["array"]
    manifest["arrays"] = [e for e in manifest["arrays"] if e["name"] != old]
    del members[old]
    text = json.dumps(value).replace('"NAN"', '"arrays/9.npy"')
    manifest["object"]["state"]["coef_"] = json.loads(text)
    members["manifest.json"] = json.dumps(manifest).encode()
    error = _refused(_write(tmp_path / "nested.mmref", members), value)
    assert "RidgeClassifier.coef_ holds NaN or infinity" in str(error)


@pytest.mark.parametrize(
    "value",
    [{"dtype": "U3"}, {"dtype": "object"}, {"dtype": "not a dtype"}, {"dtype": 3},
     {"float": "Infinity"}, {"float": 1.0}, {"array": 3}, {"tuple": "ab"}, {"dict": [1]},
     {"object": None}, {"object": {"class": "RidgeClassifier"}}],
)  # fmt: skip
def test_a_tagged_value_that_is_not_valid_is_refused(tmp_path: Path, value: Any) -> None:
    manifest = _edited("text-tfidf", ("object", "params", "dtype"), value)
    _refused(_with_manifest(tmp_path, "text-tfidf", manifest), value)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_dtype_parameter_comes_back_as_the_numpy_type(tmp_path: Path, dtype: str) -> None:
    manifest = _edited("image", ("object", "params", "dtype"), {"dtype": dtype})
    restored = load(_with_manifest(tmp_path, "image", manifest))
    assert restored.dtype is np.dtype(dtype).type
    assert restored.encode_image(IMAGES).dtype == np.dtype(dtype)


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_a_non_finite_parameter_is_saved_and_refused_by_name_at_load(
    tmp_path: Path, value: float
) -> None:
    # save stores any float (JSON has no inf or NaN: they are tagged); load then runs the
    # constructor's validation, which names the parameter and the value.
    path = tmp_path / "alpha.mmref"
    save(mmref.RidgeClassifier(alpha=value), path)
    error = str(_refused(path, value))
    assert "The 'alpha' parameter of RidgeClassifier" in error and repr(value) in error


def test_numpy_scalars_are_saved_as_the_python_values_they_hold(tmp_path: Path) -> None:
    model = mmref.RandomProjectionImageEncoder(
        np.int64(3), normalize=np.True_, seed=np.uint8(5), batch_size=np.int32(7)
    )
    save(model, tmp_path / "np.mmref")
    restored = load(tmp_path / "np.mmref")
    params = restored.get_params()
    assert (params["n_components"], params["seed"], params["batch_size"]) == (3, 5, 7)
    assert params["normalize"] is True
    model.set_params(normalize=np.False_)
    save(model, tmp_path / "np.mmref")
    assert load(tmp_path / "np.mmref").get_params()["normalize"] is False


@pytest.mark.parametrize(
    ("model", "where"),
    [
        (mmref.RandomProjectionImageEncoder(4, image_shape=(4, object())), "image_shape"),
        (mmref.BagOfWordsTextEncoder(vocabulary=["red", object()]), "vocabulary"),
        (mmref.BagOfWordsTextEncoder(vocabulary=[("red", object())]), "vocabulary"),
        (ZeroShotClassifier(_aligned(), {"red": object()}), "class_prompts"),
        (ZeroShotClassifier(_aligned(), object()), "class_prompts"),
    ],
    ids=["in-a-tuple", "in-a-list", "in-a-tuple-in-a-list", "in-a-dict", "itself"],
)
def test_a_value_the_format_cannot_hold_is_refused_naming_the_parameter(
    tmp_path: Path, model: Any, where: str
) -> None:
    # However deep inside a tuple or list, the refusal names the class and parameter.
    name = f"{type(model).__name__}.{where}"
    with pytest.raises(TypeError, match=rf"^mmref\.save: {name} holds a value of type object"):
        save(model, tmp_path / "object.mmref")
    assert not (tmp_path / "object.mmref").exists()


def test_a_dict_with_keys_that_are_not_strings_is_refused_naming_the_parameter(
    tmp_path: Path,
) -> None:
    model = ZeroShotClassifier(_aligned(), {1: "a red circle", "un": "un"})
    with pytest.raises(
        TypeError, match=r"^mmref\.save: ZeroShotClassifier\.class_prompts is a dict"
    ):
        save(model, tmp_path / "keys.mmref")
    assert not (tmp_path / "keys.mmref").exists()


def test_an_object_array_is_refused_naming_the_parameter_and_dtype(tmp_path: Path) -> None:
    model = ZeroShotClassifier(_aligned(), np.array(["a red circle", None], dtype=object))
    with pytest.raises(
        TypeError,
        match=r"^mmref\.save: ZeroShotClassifier\.class_prompts is an array of dtype object$",
    ):
        save(model, tmp_path / "objects.mmref")
    assert not (tmp_path / "objects.mmref").exists()


def test_an_object_mmref_does_not_save_is_refused_listing_the_classes_it_saves(
    tmp_path: Path,
) -> None:
    with pytest.raises(TypeError, match="cannot save an object of type dict") as info:
        save({"alpha": 1.0}, tmp_path / "dict.mmref")
    listed = str(info.value).split("expected one of ", 1)[1].rstrip(".").split(", ")
    # Each name listed is a class that save does write (one fitted model of each kind).
    saved = {type(_saved(kind)[0]).__name__ for kind in KINDS}
    assert saved <= set(listed) and len(listed) == len(set(listed))
    assert not (tmp_path / "dict.mmref").exists()


def test_a_fitted_value_the_format_cannot_hold_is_refused_naming_the_attribute(
    tmp_path: Path,
) -> None:
    model = copy.deepcopy(_saved("ridge")[0])
    model.classes_ = np.array(["cat", object()], dtype=object)
    with pytest.raises(TypeError, match=r"^mmref\.save: RidgeClassifier\.classes_ is an array"):
        save(model, tmp_path / "objects.mmref")
    model.classes_ = (object(),)
    with pytest.raises(TypeError, match=r"^mmref\.save: RidgeClassifier\.classes_ holds a value"):
        save(model, tmp_path / "objects.mmref")
    assert not (tmp_path / "objects.mmref").exists()


def test_an_altered_array_member_is_refused_naming_the_file_and_the_member(
    tmp_path: Path,
) -> None:
    kind = "ridge"
    member = _manifest(kind)["object"]["state"]["coef_"]["array"]
    data = _saved(kind)[2][member]
    original = _original(kind, member)
    flipped = bytearray(data)
    flipped[-1] ^= 0x01
    fortran = io.BytesIO()
    np.lib.format.write_array(fortran, np.asfortranarray(original))
    cases = {
        "sha256": (bytes(flipped), False),
        "header": (_npy(original.astype(np.float32)), False),
        "fortran": (fortran.getvalue(), True),
        "short": (data[:-8], False),
        "not npy": (b"\x93NUMPY" + data[8:], False),
        "oversized": (data + bytes(70_000), False),
    }
    for why, (forged, entry) in cases.items():
        path = _with_array(tmp_path, kind, member, forged, entry=entry)
        message = str(_refused(path, why))
        assert message.startswith(f"{str(path)!r}: ") and repr(member) in message, why


def test_an_array_member_with_fewer_data_bytes_than_its_header_is_refused(
    tmp_path: Path,
) -> None:
    # An unfitted encoder whose vocabulary parameter is an array: a short member must not
    # load as some other model (without a vocabulary, the encoder would hash words).
    model = mmref.BagOfWordsTextEncoder(vocabulary=np.array(["zz", "red", "é", "un"]))
    save(model, tmp_path / "vocabulary.mmref")
    with zipfile.ZipFile(tmp_path / "vocabulary.mmref") as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    manifest = json.loads(members["manifest.json"])
    (entry,) = manifest["arrays"]
    short = members[entry["name"]][: -np.dtype("<U3").itemsize]
    entry["sha256"] = hashlib.sha256(short).hexdigest()
    members.update({entry["name"]: short, "manifest.json": json.dumps(manifest).encode()})
    error = _refused(_write(tmp_path / "short.mmref", members), "one item short")
    assert "data bytes" in str(error)
    restored = load(tmp_path / "vocabulary.mmref")
    assert restored.vocabulary.tolist() == ["zz", "red", "é", "un"]


def test_an_npy_version_the_loader_does_not_read_is_refused_naming_it(tmp_path: Path) -> None:
    kind = "ridge"
    member = _manifest(kind)["object"]["state"]["coef_"]["array"]
    data = bytearray(_saved(kind)[2][member])
    data[6] = 4
    message = str(_refused(_with_array(tmp_path, kind, member, bytes(data), entry=False), 4))
    assert "(4, 0)" in message and repr(member) in message


@pytest.mark.parametrize(
    ("path", "value", "field", "shown"),
    [
        (("arrays",), {}, "arrays", ""),
        (("arrays", 0), 3, "name", ""),
        (("arrays", 0, "name"), 3, "name", ""),
        (("arrays", 0, "shape"), "x", "shape", ""),
        (("arrays", 0, "shape"), [-7], "shape", "(-7,)"),
        (("arrays", 0, "sha256"), None, "sha256", ""),
        (("arrays", 0, "dtype"), 12345, "dtype", "12345"),
        (("arrays", 0, "dtype"), "not a dtype", "dtype", "'not a dtype'"),
        (("arrays", 0, "dtype"), "|O", "dtype", "object"),
    ],
)
def test_a_tampered_array_entry_is_refused_naming_the_file_the_field_and_the_value(
    tmp_path: Path, path: tuple[Any, ...], value: Any, field: str, shown: str
) -> None:
    tampered = _with_manifest(tmp_path, "ridge", _edited("ridge", path, value))
    message = str(_refused(tampered, path))
    assert str(tampered) in message, path
    rest = message.replace(str(tampered), "")
    assert re.search(rf"\b{field}\b", rest) and shown in rest, path


def _vocabulary_file(tmp_path: Path, member_data: bytes, descr: str, shape: list[int]) -> Path:
    """An unfitted text encoder whose vocabulary array is ``member_data`` (manifest to match)."""
    save(mmref.BagOfWordsTextEncoder(vocabulary=np.array(["zz", "red"])), tmp_path / "v.mmref")
    with zipfile.ZipFile(tmp_path / "v.mmref") as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    manifest = json.loads(members["manifest.json"])
    (entry,) = manifest["arrays"]
    entry.update(dtype=descr, shape=shape, sha256=hashlib.sha256(member_data).hexdigest())
    members.update({entry["name"]: member_data, "manifest.json": json.dumps(manifest).encode()})
    return _write(tmp_path / "forged.mmref", members)


@pytest.mark.parametrize("descr", ["<M8[s]", "<m8[s]", "|V8", "<U0", "|S0"])
def test_an_array_of_a_kind_no_model_holds_is_refused_even_when_forged_consistently(
    tmp_path: Path, descr: str
) -> None:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": descr, "fortran_order": False, "shape": (2,)}
    )
    itemsize = np.dtype(np.lib.format.descr_to_dtype(descr)).itemsize
    path = _vocabulary_file(tmp_path, header.getvalue() + bytes(2 * itemsize), descr, [2])
    _refused(path, descr)


@pytest.mark.parametrize("labels", [np.arange(40) % 2 == 0, (np.arange(40) % 3).astype(np.int8)])
def test_a_classifier_with_one_byte_labels_loads_and_predicts_the_same(
    tmp_path: Path, labels: np.ndarray
) -> None:
    model = mmref.RidgeClassifier().fit(X_SHIFTED, labels)
    save(model, tmp_path / "bytes.mmref")
    restored = load(tmp_path / "bytes.mmref")
    assert restored.classes_.dtype == labels.dtype
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))


def test_a_nested_model_that_cannot_play_its_part_is_refused_naming_what_it_lacks(
    tmp_path: Path,
) -> None:
    ridge = {"class": "RidgeClassifier", "params": {}, "state": {}}
    manifest = _edited("aligned", ("object", "params", "encoder"), {"object": ridge})
    message = str(_refused(_with_manifest(tmp_path, "aligned", manifest), "a classifier"))
    lacks = message.split("which lacks ", 1)[1].split(";")[0]
    assert lacks.split(" and ") == ["encode_image", "encode_text"]
    expected = message.split("expected an encoder with ", 1)[1]
    assert expected.split(" and ") == ["encode_image", "encode_text"]


@pytest.mark.parametrize("value", [{}, {"dict": {}, "tuple": [1]}, {"x1": 5, "y2": 6}])
def test_a_value_that_is_not_one_tagged_value_is_refused_showing_it(
    tmp_path: Path, value: Any
) -> None:
    manifest = _edited("ridge", ("object", "params", "alpha"), value)
    message = str(_refused(_with_manifest(tmp_path, "ridge", manifest), value))
    assert repr(value) in message


@pytest.mark.parametrize(
    ("opening", "inner", "closing"),
    [('{"tuple": [', "", "]}"), ('{"dict": {"a": ', "1", "}}"), ("[", "", "]")],
    ids=["tuples", "dicts", "lists"],
)
@pytest.mark.parametrize("levels", [31, 32, 200])
def test_values_nested_past_the_limit_are_refused_for_every_kind_of_value(
    tmp_path: Path, opening: str, inner: str, closing: str, levels: int
) -> None:
    # The object is level 1: 32 nested values in one of its parameters make 33 levels;
    # 31 make 32, which are decoded and then refused by the validation of 'alpha'.
    manifest = _edited("ridge", ("object", "params", "alpha"), "DEEP")
    text = json.dumps(manifest).replace('"DEEP"', opening * levels + inner + closing * levels)
    members = {**_saved("ridge")[2], "manifest.json": text.encode()}
    error = str(_refused(_write(tmp_path / "deep.mmref", members), levels))
    if levels == 31:
        assert "The 'alpha' parameter of RidgeClassifier" in error
    else:
        assert "more than 32 levels deep" in error


@pytest.mark.parametrize("value", [{"float": "1.5"}, {"float": 2.0}, {"tuple": "nan"}])
def test_a_number_hidden_in_a_tagged_value_is_not_read_as_a_float(
    tmp_path: Path, value: Any
) -> None:
    # Only {"float": "nan" | "inf" | "-inf"} is a float; 'alpha' would accept any number.
    manifest = _edited("ridge", ("object", "params", "alpha"), value)
    _refused(_with_manifest(tmp_path, "ridge", manifest), value)


@pytest.mark.parametrize("name", ["not a dtype", "float99", "U3"])
def test_a_dtype_parameter_that_is_not_a_numeric_dtype_is_refused_naming_it(
    tmp_path: Path, name: str
) -> None:
    manifest = _edited("image", ("object", "params", "dtype"), {"dtype": name})
    message = str(_refused(_with_manifest(tmp_path, "image", manifest), name))
    assert repr(name) in message


@pytest.mark.parametrize("value", [{"bogus": "arrays/0.npy"}, {"Array": "text"}])
def test_an_unknown_tag_is_refused_naming_the_tag(tmp_path: Path, value: Any) -> None:
    manifest = _edited("ridge", ("object", "params", "alpha"), value)
    message = str(_refused(_with_manifest(tmp_path, "ridge", manifest), value))
    assert f"tagged value {next(iter(value))!r}" in message


def test_a_class_mmref_does_not_load_is_refused_listing_the_classes_it_loads(
    tmp_path: Path,
) -> None:
    manifest = _edited("ridge", ("object", "class"), "os.system")
    message = str(_refused(_with_manifest(tmp_path, "ridge", manifest), "os.system"))
    listed = message.split("expected one of ", 1)[1].split(", ")
    assert {type(_saved(kind)[0]).__name__ for kind in KINDS} <= set(listed)
