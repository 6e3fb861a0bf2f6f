"""mmref.save / mmref.load: round trips, identical bytes, and refusal of anything tampered."""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import mmref
from mmref.alignment import AlignedEncoder, CCAAlignment
from mmref.exceptions import DataDimensionalityWarning, ModelFileError
from mmref.multimodal import MultimodalEncoder
from mmref.persistence import load, save
from mmref.zeroshot import ZeroShotClassifier

RNG_X = np.linspace(-1.0, 1.0, 60 * 5).reshape(60, 5) ** 3 + np.tile(np.arange(5.0), (60, 1)) / 7
LABELS = np.array(["cat", "dog", "emu"])[np.arange(60) % 3]
IMAGES = (np.arange(6 * 8 * 8) % 251).reshape(6, 8, 8).astype(np.uint8)
TEXTS = ["a red circle", "un", "一个蓝色的方块", "", "green cross", "黄色的三角形 yellow"]


def _fit_default(model: MultimodalEncoder) -> MultimodalEncoder:
    """Fit on IMAGES and TEXTS: the default image encoder (256 components) warns on 8x8."""
    with pytest.warns(DataDimensionalityWarning, match=r"\(64 < 256\)"):
        return model.fit(IMAGES, TEXTS)


def _aligned() -> AlignedEncoder:
    encoder = MultimodalEncoder(
        mmref.RandomProjectionImageEncoder(8), mmref.BagOfWordsTextEncoder(8)
    )
    return AlignedEncoder(encoder, CCAAlignment(2)).fit(IMAGES, TEXTS)


X_SHIFTED = RNG_X + np.where(LABELS == "dog", 1.0, 0.0)[:, None]
# Factories, so that a test builds (and fits) only the model it uses.
MODELS: dict[str, Callable[[], Any]] = {
    "image-sparse": lambda: mmref.RandomProjectionImageEncoder(n_components=16, seed=7),
    "image-gaussian": lambda: mmref.RandomProjectionImageEncoder(
        n_components=8, method="gaussian", dtype=np.float32
    ),
    "text-hashing": lambda: mmref.BagOfWordsTextEncoder(n_features=64, ngram_range=(1, 2)),
    "text-tfidf": lambda: mmref.BagOfWordsTextEncoder(vocabulary=None, weighting="tfidf").fit(
        TEXTS
    ),
    "multimodal": lambda: mmref.MultimodalEncoder(
        mmref.RandomProjectionImageEncoder(n_components=4), mmref.BagOfWordsTextEncoder()
    ),
    "multimodal-default": lambda: mmref.MultimodalEncoder(),
    "multimodal-fitted": lambda: _fit_default(MultimodalEncoder()),
    "multimodal-learned": lambda: _fit_default(
        MultimodalEncoder(text_encoder=mmref.BagOfWordsTextEncoder(vocabulary="learn"))
    ),
    "aligned": lambda: _aligned(),
    "zeroshot": lambda: ZeroShotClassifier(
        _aligned(), {"red": ["a red circle", "red"], "un": "un"}
    ),
    "zeroshot-list": lambda: ZeroShotClassifier(_aligned(), ["green cross", "a red circle"]),
    "centroid": lambda: mmref.NearestCentroidClassifier().fit(X_SHIFTED, LABELS),
    "ridge": lambda: mmref.RidgeClassifier(alpha=0.5).fit(X_SHIFTED, LABELS),
    "softmax": lambda: mmref.SoftmaxClassifier(C=2.0).fit(X_SHIFTED, np.arange(60) % 3),
}


def _model(name: str) -> Any:
    return MODELS[name]()


def _outputs(model: Any) -> list[np.ndarray]:
    outs = []
    if hasattr(model, "encode_image"):
        outs.append(np.asarray(model.encode_image(IMAGES)))
    if hasattr(model, "encode_text"):
        outs.append(np.asarray(model.encode_text(TEXTS)))
    if hasattr(model, "encode_classes"):  # a zero-shot classifier scores images
        outs.append(np.asarray(model.predict(IMAGES)))
    elif hasattr(model, "predict"):
        outs.append(np.asarray(model.predict(RNG_X)))
    return outs


@pytest.mark.parametrize("name", list(MODELS))
def test_round_trip_is_bit_for_bit(tmp_path: Path, name: str) -> None:
    model = _model(name)
    before = _outputs(model)
    save(model, tmp_path / "m.mmref")
    restored = load(tmp_path / "m.mmref")
    assert type(restored) is type(model)
    for a, b in zip(before, _outputs(restored), strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("name", list(MODELS))
def test_saving_twice_gives_identical_bytes(tmp_path: Path, name: str) -> None:
    model = _model(name)
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
    save(_model("ridge"), path)
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
        (lambda m: m.pop("mmref_version"), "'mmref_version' is missing or not a str"),
        (lambda m: m.update(mmref_version=1), "'mmref_version' is missing or not a str"),
        (lambda m: m["object"].update({"class": "os.system"}), "'os.system' is not one mmref"),
        (lambda m: m["object"]["params"].update(evil=1), "no parameters"),
        (lambda m: m["object"]["params"].update(alpha={"set": [1]}), "unexpected tagged value"),
        (lambda m: m["object"]["state"].update(coef_={"array": "x.npy"}), "not listed"),
        (lambda m: m["object"]["state"].update({"__class__": 1}), "invalid attribute name"),
        (lambda m: m["arrays"][0].update(shape=[10**6, 10**6]), "exceed max_bytes"),
        (lambda m: m["arrays"][0].update(dtype="|O"), "not allowed"),
        (lambda m: m["arrays"][0].update(shape=[1]), "manifest says"),
        (lambda m: m["arrays"][0].update(name=["arrays/0.npy"]), "lacks a valid 'name'"),
        (lambda m: m.update(format_version=[[[[[[[[1]]]]]]]]), r"format_version \[\[\[\[\[\[\["),
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


def test_zero_shot_parameters_survive_a_round_trip(tmp_path: Path) -> None:
    for name in ("zeroshot", "zeroshot-list"):
        model = _model(name)
        save(model, tmp_path / "z.mmref")
        restored = load(tmp_path / "z.mmref")
        assert restored.class_prompts == model.class_prompts
        assert type(restored.class_prompts) is type(model.class_prompts)
        assert restored.classes_.tolist() == model.classes_.tolist()
        assert isinstance(restored.aligned_encoder, AlignedEncoder)


# --- fitted MultimodalEncoder ----------------------------------------------------------


def test_a_fitted_default_multimodal_encoder_keeps_its_width_check(tmp_path: Path) -> None:
    model = _fit_default(MultimodalEncoder())
    save(model, tmp_path / "m.mmref")
    restored = load(tmp_path / "m.mmref")
    assert restored.image_encoder is None and restored.image_encoder_.n_features_in_ == 64
    wrong_width = np.zeros((2, 4, 4))
    for encoder in (model, restored):
        with pytest.raises(ValueError, match="64"):
            encoder.encode_image(wrong_width)


def test_a_learned_vocabulary_survives_with_a_default_image_encoder(tmp_path: Path) -> None:
    model = _model("multimodal-learned")
    save(model, tmp_path / "m.mmref")
    restored = load(tmp_path / "m.mmref")
    assert restored.text_encoder_.vocabulary_ == model.text_encoder_.vocabulary_
    assert len(restored.text_encoder_.vocabulary_) > 1
    assert restored.encode_text(TEXTS).shape == (len(TEXTS), len(model.text_encoder_.vocabulary_))
    with pytest.raises(ValueError):
        restored.encode_image(np.zeros((2, 4, 4)))


def test_an_unfitted_multimodal_encoder_stays_unfitted(tmp_path: Path) -> None:
    model = MultimodalEncoder()
    model.encode_image(IMAGES)  # using the lazily created defaults fits nothing
    save(model, tmp_path / "m.mmref")
    restored = load(tmp_path / "m.mmref")
    assert "image_encoder_" not in vars(restored) and "text_encoder_" not in vars(restored)
    # Unfitted, any width is accepted, as before saving.
    assert restored.encode_image(np.zeros((2, 4, 4))).shape == (2, 256)


# --- state checks on files whose sha256 values are all correct -------------------------


def _forge(
    tmp_path: Path,
    model: Any,
    edit: Any = None,
    arrays: dict[str, np.ndarray] | None = None,
    version: tuple[int, int] | None = None,
) -> Path:
    """Save ``model``, then apply ``edit`` to the manifest and replace state arrays by name.

    Every replaced array is written as a valid .npy member and its manifest entry (dtype,
    shape, sha256) is recomputed, so only the checks of the loaded state can refuse it.
    """
    path = tmp_path / "src.mmref"
    save(model, path)
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    manifest = json.loads(members["manifest.json"])
    for attribute, array in (arrays or {}).items():
        owner = manifest["object"]
        *nested, leaf = attribute.split(".")
        for key in nested:
            owner = owner["params"][key]["object"]
        member = owner["state"][leaf]["array"]
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, array, version=version, allow_pickle=False)
        members[member] = buffer.getvalue()
        (entry,) = [e for e in manifest["arrays"] if e["name"] == member]
        entry.update(
            dtype=np.lib.format.dtype_to_descr(array.dtype),
            shape=list(array.shape),
            sha256=hashlib.sha256(members[member]).hexdigest(),
        )
    if edit is not None:
        edit(manifest)
    # An edit that replaces an array reference leaves its array unreferenced, which load
    # refuses first: drop it, so that the check under test is the one that refuses.
    text = json.dumps(manifest["object"])
    manifest["arrays"] = [e for e in manifest["arrays"] if json.dumps(e["name"]) in text]
    listed = {e["name"] for e in manifest["arrays"]}
    members = {n: d for n, d in members.items() if n in listed or n == "manifest.json"}
    members["manifest.json"] = json.dumps(manifest).encode()
    return _write(tmp_path / "forged.mmref", members)


def _state(m: dict[str, Any]) -> dict[str, Any]:
    state: dict[str, Any] = m["object"]["state"]
    return state


@pytest.mark.parametrize(
    ("name", "edit", "arrays", "message"),
    [
        # The reviewer's case: a JSON list instead of an array, with a NaN in it.
        (
            "ridge",
            lambda m: _state(m).update(coef_=[[1e308, {"float": "nan"}]]),
            None,
            r"RidgeClassifier\.coef_ is \[\[1e\+308, nan\]\]; expected a float64 array",
        ),
        ("ridge", None, {"coef_": np.full((3, 5), np.nan)}, r"RidgeClassifier\.coef_ holds NaN"),
        (
            "ridge",
            None,
            {"coef_": np.zeros((2, 5))},
            r"coef_ has shape \(2, 5\); expected \(3, 5\)",
        ),
        ("ridge", None, {"coef_": np.zeros((3, 5), np.float32)}, r"coef_ is an array .* float32"),
        ("ridge", None, {"intercept_": np.zeros(4)}, r"intercept_ has shape \(4,\)"),
        ("ridge", None, {"classes_": np.array(["cat"])}, r"classes_ is an array of shape \(1,\)"),
        ("ridge", None, {"classes_": np.array(["dog", "cat", "emu"])}, "sorted unique"),
        ("ridge", lambda m: _state(m).update(n_features_in_=0), None, "n_features_in_ is 0"),
        ("ridge", lambda m: _state(m).update(n_features_in_=True), None, "n_features_in_ is True"),
        ("ridge", lambda m: _state(m).update(n_features_in_=4), None, r"expected \(3, 4\)"),
        ("ridge", lambda m: _state(m).pop("intercept_"), None, "lacks intercept_"),
        ("softmax", None, {"coef_": np.zeros((1, 5))}, r"SoftmaxClassifier\.coef_ has shape"),
        ("centroid", None, {"centroids_": np.zeros((3, 6))}, r"centroids_ has shape \(3, 6\)"),
        (
            "centroid",
            None,
            {"centroids_": np.full((3, 5), np.inf)},
            r"NearestCentroidClassifier\.centroids_ holds NaN or infinity",
        ),
        (
            "aligned",
            None,
            {"alignment.image_weights_": np.full((8, 2), np.nan)},
            r"CCAAlignment\.image_weights_ holds NaN",
        ),
        (
            "multimodal-fitted",
            lambda m: _state(m).update(image_encoder_=None),
            None,
            r"MultimodalEncoder\.image_encoder_ is None",
        ),
    ],
)
def test_refuses_inconsistent_fitted_state(
    tmp_path: Path, name: str, edit: Any, arrays: Any, message: str
) -> None:
    path = _forge(tmp_path, _model(name), edit, arrays)
    with pytest.raises(ModelFileError, match=message):
        load(path)


def test_a_binary_classifier_has_one_weight_row(tmp_path: Path) -> None:
    y = np.arange(60) % 2
    for cls in (mmref.RidgeClassifier, mmref.SoftmaxClassifier):
        model = cls().fit(RNG_X, y)
        assert model.coef_.shape == (1, 5)
        assert (
            load(_forge(tmp_path, model)).predict(RNG_X).tobytes() == model.predict(RNG_X).tobytes()
        )
        with pytest.raises(ModelFileError, match=r"coef_ has shape \(2, 5\); expected \(1, 5\)"):
            load(_forge(tmp_path, model, arrays={"coef_": np.zeros((2, 5))}))


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (
            MultimodalEncoder(image_encoder=mmref.RidgeClassifier()),
            r"MultimodalEncoder\.image_encoder is a RidgeClassifier, which lacks encode_image",
        ),
        (
            MultimodalEncoder(text_encoder=mmref.RandomProjectionImageEncoder()),
            r"text_encoder is a RandomProjectionImageEncoder, which lacks encode_text",
        ),
        (
            AlignedEncoder(MultimodalEncoder(), mmref.NearestCentroidClassifier()),
            r"AlignedEncoder\.alignment is a NearestCentroidClassifier; expected a CCAAlignment",
        ),
        (
            AlignedEncoder(mmref.BagOfWordsTextEncoder(), CCAAlignment()),
            r"AlignedEncoder\.encoder is a BagOfWordsTextEncoder, which lacks encode_image",
        ),
        (
            ZeroShotClassifier(mmref.RandomProjectionImageEncoder(), ["a", "b"]),
            r"ZeroShotClassifier\.aligned_encoder is a RandomProjectionImageEncoder",
        ),
    ],
)
def test_refuses_nested_models_in_the_wrong_role(tmp_path: Path, model: Any, message: str) -> None:
    save(model, tmp_path / "m.mmref")  # save stores whatever it can represent
    with pytest.raises(ModelFileError, match=message):
        load(tmp_path / "m.mmref")


def test_refuses_a_fitted_image_encoder_that_is_a_classifier(tmp_path: Path) -> None:
    def swap(m: dict[str, Any]) -> None:
        ridge = json.loads(json.dumps(m["object"]["state"]["text_encoder_"]))
        ridge["object"] = {"class": "RidgeClassifier", "params": {}, "state": {}}
        _state(m)["image_encoder_"] = ridge

    path = _forge(tmp_path, _model("multimodal-fitted"), swap)
    with pytest.raises(ModelFileError, match="image_encoder_ is a RidgeClassifier"):
        load(path)


def test_predict_checks_state_it_did_not_compute() -> None:
    model = pickle.loads(pickle.dumps(_model("ridge")))  # pickles drop the scoring arrays
    model.coef_ = model.coef_[:, :2]
    with pytest.raises(ModelFileError, match=r"coef_ has shape \(3, 2\); expected \(3, 5\)"):
        model.predict(RNG_X)


# --- nesting depth and .npy versions ---------------------------------------------------


def _nested_alpha(tmp_path: Path, lists: int) -> Path:
    """The ridge file with its 'alpha' parameter replaced by ``lists`` nested empty lists."""
    _, members = _saved(tmp_path)
    manifest = json.loads(members["manifest.json"])
    manifest["object"]["params"]["alpha"] = "DEEP"
    # Built as text: json.dumps itself cannot write 5000 levels.
    text = json.dumps(manifest).replace('"DEEP"', "[" * lists + "]" * lists)
    return _write(tmp_path / "deep.mmref", {**members, "manifest.json": text.encode()})


@pytest.mark.parametrize("lists", [32, 5000])
def test_refuses_deeply_nested_values(tmp_path: Path, lists: int) -> None:
    # The object is level 1, so 32 lists in one of its parameters make 33 levels.
    with pytest.raises(ModelFileError, match="more than 32 levels deep"):
        load(_nested_alpha(tmp_path, lists))


def test_nesting_up_to_the_limit_is_decoded(tmp_path: Path) -> None:
    # 31 lists make 32 levels: decoded, then refused by the constructor's own validation
    # of 'alpha' (which load runs), not by the nesting limit.
    with pytest.raises(ModelFileError, match=r"The 'alpha' parameter of RidgeClassifier .*\[\[\["):
        load(_nested_alpha(tmp_path, 31))


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
def test_reads_every_npy_format_version(tmp_path: Path, version: tuple[int, int]) -> None:
    model = _model("ridge")
    arrays = {name: getattr(model, name) for name in ("classes_", "coef_", "intercept_")}
    restored = load(_forge(tmp_path, model, arrays=arrays, version=version))
    assert restored.predict(RNG_X).tobytes() == model.predict(RNG_X).tobytes()
    assert restored.classes_.tolist() == model.classes_.tolist()


# --- hostile files (issue 17): every parameter and attribute checked, bounded cost -----


def _saved_members(tmp_path: Path, model: Any) -> dict[str, bytes]:
    path = tmp_path / "src.mmref"
    save(model, path)
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _reload_edited(tmp_path: Path, model: Any, edit: Any, **kwargs: Any) -> Any:
    members = _edit_manifest(_saved_members(tmp_path, model), edit)
    return load(_write(tmp_path / "edited.mmref", members), **kwargs)


@pytest.mark.parametrize("pattern", ["(a|aa)+$", r"(\w+\s?)*$", r"\w+"])
def test_a_token_pattern_from_a_file_must_be_known_safe_or_trusted(
    tmp_path: Path, pattern: str
) -> None:
    from mmref._model_checks import SAFE_TOKEN_PATTERNS

    for model in (
        mmref.BagOfWordsTextEncoder(token_pattern=pattern),
        MultimodalEncoder(text_encoder=mmref.BagOfWordsTextEncoder(token_pattern=pattern)),
    ):
        path = tmp_path / "pattern.mmref"
        save(model, path)
        if pattern in SAFE_TOKEN_PATTERNS:
            assert _token_pattern(load(path)) == pattern
            continue
        with pytest.raises(ModelFileError, match="trust_token_pattern=True"):
            load(path)
        assert _token_pattern(load(path, trust_token_pattern=True)) == pattern


def _token_pattern(model: Any) -> str:
    params = model.get_params(deep=True)
    pattern: str = params.get("token_pattern", params.get("text_encoder__token_pattern"))
    return pattern


def test_every_safe_token_pattern_loads(tmp_path: Path) -> None:
    from mmref._model_checks import SAFE_TOKEN_PATTERNS

    for pattern in SAFE_TOKEN_PATTERNS:
        save(mmref.BagOfWordsTextEncoder(token_pattern=pattern), tmp_path / "p.mmref")
        assert load(tmp_path / "p.mmref").token_pattern == pattern


@pytest.mark.parametrize(
    ("model", "edit", "message"),
    [
        # Parameters: the constructor's validation, run at load.
        (mmref.RidgeClassifier(), lambda m: _params(m).update(alpha=-1.0), "'alpha' parameter"),
        (
            mmref.BagOfWordsTextEncoder(),
            lambda m: _params(m).update(weighting="bogus"),
            "'weighting' parameter",
        ),
        (
            mmref.RandomProjectionImageEncoder(),
            lambda m: _params(m).update(method="magic"),
            "'method' parameter",
        ),
        (CCAAlignment(), lambda m: _params(m).update(reg=-1.0), "'reg' parameter"),
        (
            mmref.SoftmaxClassifier(),
            lambda m: _params(m).update(max_iter="100"),
            "'max_iter' parameter",
        ),
        # Resource bounds.
        (
            mmref.RandomProjectionImageEncoder(),
            lambda m: _params(m).update(n_components=3_000_000),
            "n_components is too large for a model file",
        ),
        (
            mmref.RandomProjectionImageEncoder(),
            lambda m: _params(m).update(max_matrix_bytes=2**40),
            "max_matrix_bytes is too large",
        ),
        (
            mmref.BagOfWordsTextEncoder(),
            lambda m: _params(m).update(n_features=2**31 - 1),
            "number of columns is too large",
        ),
        (
            mmref.BagOfWordsTextEncoder(),
            lambda m: _params(m).update(ngram_range={"tuple": [1, 1000]}),
            "at most 16 tokens",
        ),
        # Fitted state: what fit sets, of its types, shapes and ranges.
        (
            mmref.RandomProjectionImageEncoder(16).fit(np.zeros((1, 64))),
            lambda m: _state(m).update(n_features_in_="64"),
            r"n_features_in_ is '64'; expected an int in \[1, ",
        ),
        (
            mmref.RandomProjectionImageEncoder(16, image_shape=(8, 8)).fit(np.zeros((1, 8, 8))),
            lambda m: _state(m).update(n_features_in_=65),
            r"image_shape \(8, 8\) has 64 pixels",
        ),
        (
            mmref.RandomProjectionImageEncoder(),
            lambda m: _state(m).update(coef_=1),
            "which fit never sets",
        ),
        (
            mmref.BagOfWordsTextEncoder(vocabulary="learn").fit(TEXTS),
            lambda m: _state(m).update(n_features_out_=3),
            "n_features_out_ is 3",
        ),
        (
            mmref.BagOfWordsTextEncoder(vocabulary="learn").fit(TEXTS),
            lambda m: _state(m).update(vocabulary_={"dict": {"b": 0, "a": 1}}),
            "code point order",
        ),
        (
            mmref.BagOfWordsTextEncoder(vocabulary="learn").fit(TEXTS),
            lambda m: _state(m).update(vocabulary_={"dict": {"a": 0, "b": 2}}),
            "columns 0, 1, 2",
        ),
        (
            mmref.BagOfWordsTextEncoder(vocabulary="learn").fit(TEXTS),
            lambda m: _state(m).pop("n_features_out_"),
            "is fitted with n_features_out_, vocabulary_",
        ),
        (
            mmref.BagOfWordsTextEncoder(vocabulary=["a", "b"]).fit(TEXTS),
            lambda m: _state(m).update(vocabulary_={"dict": {"b": 0, "a": 1}}),
            "differs from the vocabulary parameter",
        ),
        (
            mmref.SoftmaxClassifier().fit(RNG_X, LABELS),
            lambda m: _state(m).update(n_iter_="3"),
            r"n_iter_ is '3'; expected an int in \[0, 100\]",
        ),
        (
            mmref.SoftmaxClassifier().fit(RNG_X, LABELS),
            lambda m: _state(m).pop("n_iter_"),
            "lacks n_iter_",
        ),
        (
            CCAAlignment(2).fit(RNG_X, RNG_X[:, ::-1] ** 2),
            lambda m: _state(m).pop("n_samples_fit_"),
            "lacks n_samples_fit_",
        ),
        (
            CCAAlignment(2).fit(RNG_X, RNG_X[:, ::-1] ** 2),
            lambda m: _state(m).update(n_image_features_in_=4),
            r"image_mean_ is an array of shape \(5,\)",
        ),
        (
            CCAAlignment(2).fit(RNG_X, RNG_X[:, ::-1] ** 2),
            lambda m: _params(m).update(n_components=6),
            "more than min",
        ),
        (
            ZeroShotClassifier(_aligned(), ["a", "b"]),
            lambda m: _state(m).update(classes_=[1, 2]),
            "which fit never sets",
        ),
        (
            ZeroShotClassifier(_aligned(), ["a", "b"]),
            lambda m: _params(m).update(class_prompts=[]),
            "'class_prompts' parameter",
        ),
    ],
)
def test_load_checks_parameters_and_state_as_the_constructor_and_fit_would(
    tmp_path: Path, model: Any, edit: Any, message: str
) -> None:
    with pytest.raises(ModelFileError, match=message) as info:
        _reload_edited(tmp_path, model, edit)
    assert "\n" not in str(info.value)


def _params(m: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = m["object"]["params"]
    return params


def test_resource_bounds_follow_max_bytes(tmp_path: Path) -> None:
    model = mmref.RandomProjectionImageEncoder(n_components=200_000)
    path = tmp_path / "wide.mmref"
    save(model, path)
    with pytest.raises(ModelFileError, match="n_components is too large"):
        load(path)
    assert load(path, max_bytes=4 << 30).n_components == 200_000


def test_refuses_an_array_that_nothing_refers_to(tmp_path: Path) -> None:
    members = _saved_members(tmp_path, _model("ridge"))
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.zeros(1000))
    data = buffer.getvalue()

    def add(m: dict[str, Any]) -> None:
        m["arrays"].append(
            {"name": "arrays/9.npy", "dtype": "<f8", "shape": [1000],
             "sha256": hashlib.sha256(data).hexdigest()}
        )  # fmt: skip

    edited = _edit_manifest({**members, "arrays/9.npy": data}, add)
    with pytest.raises(ModelFileError, match=r"never refers to: \['arrays/9.npy'\]"):
        load(_write(tmp_path / "extra.mmref", edited))


def test_refuses_duplicate_member_names(tmp_path: Path) -> None:
    import warnings

    members = _saved_members(tmp_path, _model("ridge"))
    path = tmp_path / "dup.mmref"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate it writes
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in members.items():
                zf.writestr(name, data)
            zf.writestr("arrays/0.npy", members["arrays/0.npy"])
    with pytest.raises(ModelFileError, match=r"several members named \['arrays/0.npy'\]"):
        load(path)


def test_a_huge_number_in_the_manifest_is_a_model_file_error(tmp_path: Path) -> None:
    members = _saved_members(tmp_path, _model("ridge"))
    text = members["manifest.json"].decode().replace('"alpha": 0.5', '"alpha": ' + "9" * 5000)
    path = _write(tmp_path / "big.mmref", {**members, "manifest.json": text.encode()})
    with pytest.raises(ModelFileError, match="manifest is not valid") as info:
        load(path)
    assert "\n" not in str(info.value)


def test_every_corruption_of_the_manifest_is_a_one_line_model_file_error(
    tmp_path: Path,
) -> None:
    # Cut the manifest at every 7th byte and replace each value in turn by values of other
    # JSON types: whatever comes out, load raises ModelFileError in one line or succeeds.
    members = _saved_members(tmp_path, _model("softmax"))
    manifest = members["manifest.json"]
    variants = [manifest[:cut] for cut in range(0, len(manifest), 7)]
    replacements = [b"null", b"true", b"-1", b"1e999", b'"x"', b"[]", b"{}", b'{"dict": {}}']
    for start in range(len(manifest)):
        if manifest[start : start + 2] == b": ":
            end = start + 2
            while end < len(manifest) and manifest[end : end + 1] not in b",\n}":
                end += 1
            variants.extend(manifest[: start + 2] + r + manifest[end:] for r in replacements)
    for i, variant in enumerate(variants):
        path = _write(tmp_path / f"v{i}.mmref", {**members, "manifest.json": variant})
        try:
            load(path)
        except ModelFileError as exc:
            assert "\n" not in str(exc)
        path.unlink()


@pytest.mark.skipif(
    not os.access("/proc/self/clear_refs", os.W_OK), reason="needs Linux's /proc peak RSS reset"
)
@pytest.mark.skipif(
    "MUTANT_UNDER_TEST" in os.environ,
    reason="under tools/mutation.py, mutmut's trampolines import mutmut inside the measured load",
)
def test_load_peak_memory_stays_within_the_cap(tmp_path: Path) -> None:
    import subprocess
    import sys

    # A 48 MiB coefficient array loaded under a 64 MiB cap: the loader used to hold three
    # copies of it (the member's bytes, its payload, the array).
    model = mmref.RidgeClassifier().fit(RNG_X, LABELS)
    wide = 6 << 20
    model.coef_ = np.ones((1, wide))
    model.intercept_ = np.zeros(1)
    model.classes_ = np.array(["a", "b"])
    model.n_features_in_ = wide
    path = tmp_path / "wide.mmref"
    save(model, path)
    # The child resets its peak RSS (VmHWM) after its imports: ru_maxrss would carry the
    # parent's peak over the fork and exec, and hide the loader's.
    script = (
        "import sys, mmref\n"
        "def status(key):\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith(key):\n"
        "            return int(line.split()[1]) * 1024\n"
        "with open('/proc/self/clear_refs', 'w') as f:\n"
        "    f.write('5')\n"
        "before = status('VmRSS:')\n"
        f"obj = mmref.load(sys.argv[1], max_bytes={64 << 20})\n"
        f"assert obj.coef_.shape == (1, {wide})\n"
        "print(status('VmHWM:') - before)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    grown = int(done.stdout)
    # The array itself is 48 MiB; the cap is 64 MiB; allow 16 MiB for everything else.
    assert grown <= (64 << 20) + (16 << 20), f"load grew the peak RSS by {grown} bytes"
