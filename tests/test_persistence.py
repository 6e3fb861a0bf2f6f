"""mmref.save / mmref.load: round trips, identical bytes, and refusal of anything tampered."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import mmref
from mmref.exceptions import ModelFileError
from mmref.persistence import load, save

RNG_X = np.linspace(-1.0, 1.0, 60 * 5).reshape(60, 5) ** 3 + np.tile(np.arange(5.0), (60, 1)) / 7
LABELS = np.array(["cat", "dog", "emu"])[np.arange(60) % 3]
IMAGES = (np.arange(6 * 8 * 8) % 251).reshape(6, 8, 8).astype(np.uint8)
TEXTS = ["a red circle", "un", "一个蓝色的方块", "", "green cross", "黄色的三角形 yellow"]


def _models() -> dict[str, Any]:
    X = RNG_X + np.where(LABELS == "dog", 1.0, 0.0)[:, None]
    return {
        "image-sparse": mmref.RandomProjectionImageEncoder(n_components=16, seed=7),
        "image-gaussian": mmref.RandomProjectionImageEncoder(
            n_components=8, method="gaussian", dtype=np.float32
        ),
        "text-hashing": mmref.BagOfWordsTextEncoder(n_features=64, ngram_range=(1, 2)),
        "text-tfidf": mmref.BagOfWordsTextEncoder(vocabulary=None, weighting="tfidf").fit(TEXTS),
        "multimodal": mmref.MultimodalEncoder(
            mmref.RandomProjectionImageEncoder(n_components=4), mmref.BagOfWordsTextEncoder()
        ),
        "multimodal-default": mmref.MultimodalEncoder(),
        "centroid": mmref.NearestCentroidClassifier().fit(X, LABELS),
        "ridge": mmref.RidgeClassifier(alpha=0.5).fit(X, LABELS),
        "softmax": mmref.SoftmaxClassifier(C=2.0).fit(X, np.arange(60) % 3),
    }


def _outputs(model: Any) -> list[np.ndarray]:
    outs = []
    if hasattr(model, "encode_image"):
        outs.append(np.asarray(model.encode_image(IMAGES)))
    if hasattr(model, "encode_text"):
        outs.append(np.asarray(model.encode_text(TEXTS)))
    if hasattr(model, "predict"):
        outs.append(np.asarray(model.predict(RNG_X)))
    return outs


@pytest.mark.parametrize("name", list(_models()))
def test_round_trip_is_bit_for_bit(tmp_path: Path, name: str) -> None:
    model = _models()[name]
    before = _outputs(model)
    save(model, tmp_path / "m.mmref")
    restored = load(tmp_path / "m.mmref")
    assert type(restored) is type(model)
    for a, b in zip(before, _outputs(restored), strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("name", list(_models()))
def test_saving_twice_gives_identical_bytes(tmp_path: Path, name: str) -> None:
    model = _models()[name]
    save(model, tmp_path / "a.mmref")
    _outputs(model)  # using a model must not change what is saved
    save(model, tmp_path / "b.mmref")
    assert (tmp_path / "a.mmref").read_bytes() == (tmp_path / "b.mmref").read_bytes()


def test_encoders_store_parameters_not_matrices(tmp_path: Path) -> None:
    encoder = mmref.RandomProjectionImageEncoder(n_components=512, method="gaussian")
    encoder.encode_image(np.zeros((2, 64, 64)))
    save(encoder, tmp_path / "e.mmref")
    assert (tmp_path / "e.mmref").stat().st_size < 10_000


def test_refuses_unknown_objects(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="cannot save an object of type dict"):
        save({"a": 1}, tmp_path / "x.mmref")
    assert not (tmp_path / "x.mmref").exists()


# --- tampering -------------------------------------------------------------------------


def _saved(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    path = tmp_path / "ok.mmref"
    save(_models()["ridge"], path)
    with zipfile.ZipFile(path) as zf:
        return path, {n: zf.read(n) for n in zf.namelist()}


def _write(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _edit_manifest(members: dict[str, bytes], edit: Any) -> dict[str, bytes]:
    manifest = json.loads(members["manifest.json"])
    edit(manifest)
    return {**members, "manifest.json": json.dumps(manifest).encode()}


def test_refuses_a_changed_array(tmp_path: Path) -> None:
    _, members = _saved(tmp_path)
    name = "arrays/0.npy"
    data = bytearray(members[name])
    data[-1] ^= 1
    with pytest.raises(ModelFileError, match="sha256 does not match"):
        load(_write(tmp_path / "t.mmref", {**members, name: bytes(data)}))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m.update(format_version=2), "format_version 2"),
        (lambda m: m.update(format="other"), "not an mmref model file"),
        (lambda m: m["object"].update({"class": "os.system"}), "'os.system' is not one mmref"),
        (lambda m: m["object"]["params"].update(evil=1), "no parameters"),
        (lambda m: m["object"]["params"].update(alpha={"set": [1]}), "unexpected tagged value"),
        (lambda m: m["object"]["state"].update(coef_={"array": "x.npy"}), "not listed"),
        (lambda m: m["object"]["state"].update({"__class__": 1}), "invalid attribute name"),
        (lambda m: m["arrays"][0].update(shape=[10**6, 10**6]), "exceed max_bytes"),
        (lambda m: m["arrays"][0].update(dtype="|O"), "not allowed"),
        (lambda m: m["arrays"][0].update(shape=[1]), "manifest says"),
    ],
)
def test_refuses_a_tampered_manifest(tmp_path: Path, edit: Any, message: str) -> None:
    _, members = _saved(tmp_path)
    path = _write(tmp_path / "t.mmref", _edit_manifest(members, edit))
    with pytest.raises(ModelFileError, match=message):
        load(path).predict(RNG_X)


def test_refuses_missing_and_extra_members(tmp_path: Path) -> None:
    _, members = _saved(tmp_path)
    missing = {k: v for k, v in members.items() if k != "arrays/0.npy"}
    with pytest.raises(ModelFileError, match="missing"):
        load(_write(tmp_path / "m.mmref", missing))
    with pytest.raises(ModelFileError, match="does not list"):
        load(_write(tmp_path / "e.mmref", {**members, "payload.py": b"print(1)"}))


def test_refuses_a_pickle_bearing_array_without_running_it(tmp_path: Path) -> None:
    _, members = _saved(tmp_path)
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self) -> Any:
            return (Path.touch, (marker,))

    buffer = io.BytesIO()
    np.save(buffer, np.array([Exploit()], dtype=object), allow_pickle=True)
    evil = buffer.getvalue()
    assert b"touch" in evil  # the payload really is a pickle that would touch the marker

    def point_at_evil(m: dict[str, Any]) -> None:
        m["arrays"][0].update(dtype="|O", shape=[1])

    tampered = _edit_manifest({**members, "arrays/0.npy": evil}, point_at_evil)
    with pytest.raises(ModelFileError):
        load(_write(tmp_path / "t.mmref", tampered))
    # The same bytes under an honest numeric manifest entry are refused by the sha256.
    with pytest.raises(ModelFileError):
        load(_write(tmp_path / "u.mmref", {**members, "arrays/0.npy": evil}))
    assert not marker.exists()


def test_refuses_truncated_and_non_zip_files(tmp_path: Path) -> None:
    path, _ = _saved(tmp_path)
    data = path.read_bytes()
    (tmp_path / "cut.mmref").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError):
        load(tmp_path / "cut.mmref")
    (tmp_path / "text.mmref").write_text("hello")
    with pytest.raises(ModelFileError, match="not a zip archive"):
        load(tmp_path / "text.mmref")
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "absent.mmref")


def test_refuses_a_zip_bomb_before_inflating(tmp_path: Path) -> None:
    _, members = _saved(tmp_path)
    path = tmp_path / "bomb.mmref"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        zf.writestr("arrays/zeros.bin", b"\0" * (64 << 20))  # 64 MiB inflated, ~64 kB on disk
    assert path.stat().st_size < 1 << 20
    with pytest.raises(ModelFileError, match="more than max_bytes"):
        load(path, max_bytes=16 << 20)
