"""SPEC.md says enough for a clean-room port, and what it says is what the code does.

Each test pins one rule a second implementation would otherwise have to guess: the
contents, the stored state of every class, model-file zip details, the parameter-error
rule, ``get_projection_matrix``, when a missing model method is detected, the names a
golden ``--against`` module provides, and that docstrings cite sections that exist.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse

import mmref
from mmref.alignment import AlignedEncoder, CCAAlignment
from mmref.classifiers import NearestCentroidClassifier, RidgeClassifier, SoftmaxClassifier
from mmref.conformance import run_golden
from mmref.image import RandomProjectionImageEncoder
from mmref.multimodal import MultimodalEncoder
from mmref.text import BagOfWordsTextEncoder

ROOT = Path(__file__).resolve().parents[2]
SPEC = (ROOT / "SPEC.md").read_text(encoding="utf-8")

RNG = np.random.default_rng(0)
X = RNG.normal(size=(12, 4))
Y = np.arange(12) % 3
IMAGES = RNG.integers(0, 255, (6, 4, 4))
TEXTS = ["a b", "c d", "a", "b", "c", "d e"]


def section(title_start: str) -> str:
    """The text of the section whose heading starts with ``title_start``."""
    start = SPEC.index(title_start)
    level = SPEC[start:].split(" ", 1)[0]
    end = SPEC.find(f"\n{level} ", start + 1)
    return SPEC[start : end if end != -1 else len(SPEC)]


def test_contents_lists_every_top_level_section_in_order() -> None:
    headings = re.findall(r"^## (\d+)\. (.+)$", SPEC, flags=re.M)
    contents = SPEC.split("Contents:", 1)[1].split("\n\n", 1)[0]
    listed = re.findall(r"\[(\d+)\. [^\]]+\]\(#([^)]+)\)", contents)
    assert [n for n, _ in listed] == [n for n, _ in headings]
    for (number, title), (_, anchor) in zip(headings, listed, strict=True):
        slug = re.sub(r"[^\w\- ]", "", f"{number}. {title}".lower()).replace(" ", "-")
        assert anchor == slug, (number, title)


def test_the_state_check_is_stated_once() -> None:
    assert SPEC.count("**State check.**") == 1
    assert "**State check.**" in section("## 7. Classifiers")


def _saved_state(obj: Any, tmp_path: Path) -> list[str]:
    path = tmp_path / "model.mmref"
    mmref.save(obj, path)
    with zipfile.ZipFile(path) as zf:
        return sorted(json.loads(zf.read("manifest.json"))["object"]["state"])


def _state_table() -> dict[str, str]:
    rows = re.findall(r"^\| `(\w+)` \| (.+) \|$", section("## 10. Model files"), flags=re.M)
    return dict(rows)


def _names(cell: str) -> list[str]:
    return sorted(re.findall(r"`(\w+_)`", cell))


def test_the_stored_state_table_is_what_save_stores(tmp_path: Path) -> None:
    table = _state_table()
    pair = MultimodalEncoder(RandomProjectionImageEncoder(8), BagOfWordsTextEncoder(16))
    alignment = CCAAlignment(2).fit(RNG.normal(size=(12, 8)), RNG.normal(size=(12, 16)))
    fitted = {
        "RandomProjectionImageEncoder": RandomProjectionImageEncoder(8).fit(IMAGES),
        "MultimodalEncoder": pair.fit(IMAGES, TEXTS),
        "NearestCentroidClassifier": NearestCentroidClassifier().fit(X, Y),
        "RidgeClassifier": RidgeClassifier().fit(X, Y),
        "SoftmaxClassifier": SoftmaxClassifier().fit(X, Y),
        "CCAAlignment": CCAAlignment(2).fit(X, X[:, ::-1]),
        "AlignedEncoder": AlignedEncoder(pair, alignment),
    }
    for name, obj in fitted.items():
        assert _saved_state(obj, tmp_path) == _names(table[name]), name
        assert _saved_state(type(obj)(**obj.get_params(deep=False)), tmp_path) == [], name
    assert table["ZeroShotClassifier"] == "none"
    # The text encoder's row has three cases.
    assert _names(table["BagOfWordsTextEncoder"]) == ["idf_", "n_features_out_", "vocabulary_"]
    for params, state in [
        ({}, ["n_features_out_"]),
        ({"vocabulary": "learn"}, ["n_features_out_", "vocabulary_"]),
        ({"vocabulary": ["a", "b"]}, ["n_features_out_", "vocabulary_"]),
        ({"weighting": "tfidf"}, ["idf_", "n_features_out_"]),
    ]:
        assert _saved_state(BagOfWordsTextEncoder(**params).fit(TEXTS), tmp_path) == state
    assert set(table) >= set(fitted) | {"BagOfWordsTextEncoder", "ZeroShotClassifier"}


def test_model_file_zip_details(tmp_path: Path) -> None:
    path = tmp_path / "m.mmref"
    mmref.save(NearestCentroidClassifier().fit(X, Y), path)
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            assert info.create_system == 3
            assert info.external_attr == 0o644 << 16
            assert info.compress_type == zipfile.ZIP_STORED
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.extra == b"" and info.comment == b""
        manifest = zf.read("manifest.json")
        members = [(i.filename, zf.read(i)) for i in zf.infolist()]
    assert manifest.endswith(b"}") and not manifest.endswith(b"\n")
    assert json.loads(manifest)["mmref_version"] == mmref.__version__

    def rewrite(method: int, version: str = "myport 1.2") -> Path:
        out = tmp_path / f"{method}.mmref"
        with zipfile.ZipFile(out, "w", method) as zf:
            for name, data in members:
                if name == "manifest.json":
                    document = json.loads(data)
                    document["mmref_version"] = version
                    data = json.dumps(document, sort_keys=True, indent=1).encode()
                zf.writestr(name, data)
        return out

    loaded = mmref.load(rewrite(zipfile.ZIP_DEFLATED))  # another writer, deflated
    assert np.array_equal(loaded.predict(X), NearestCentroidClassifier().fit(X, Y).predict(X))
    with pytest.raises(mmref.ModelFileError, match="compression method 12"):
        mmref.load(rewrite(zipfile.ZIP_BZIP2))


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: RandomProjectionImageEncoder(8, density="x"), ValueError),
        (lambda: RandomProjectionImageEncoder(8, method=1), ValueError),
        (lambda: RandomProjectionImageEncoder(8, image_shape="28"), ValueError),
        (lambda: RandomProjectionImageEncoder("8"), TypeError),
        (lambda: RandomProjectionImageEncoder(8, normalize="yes"), TypeError),
        (lambda: BagOfWordsTextEncoder(vocabulary="abc"), ValueError),
        (lambda: BagOfWordsTextEncoder(ngram_range="12"), ValueError),
        (lambda: BagOfWordsTextEncoder(weighting="Count"), ValueError),
        (lambda: BagOfWordsTextEncoder(unicode_form=1), ValueError),
        (lambda: BagOfWordsTextEncoder(n_features="16"), TypeError),
        (lambda: NearestCentroidClassifier(metric=1), ValueError),
        (lambda: RidgeClassifier(alpha="1"), TypeError),
    ],
)
def test_the_parameter_error_rule(make: Any, error: type[Exception]) -> None:
    obj = make()  # stored unchanged, validated at first use
    with pytest.raises(error, match="parameter of"):
        if isinstance(obj, RandomProjectionImageEncoder):
            obj.encode_image(IMAGES)
        elif isinstance(obj, BagOfWordsTextEncoder):
            obj.encode_text(TEXTS)
        else:
            obj.fit(X, Y)


@pytest.mark.parametrize("method", ["sparse", "rademacher", "gaussian", "srht"])
def test_get_projection_matrix_is_as_specified(method: str) -> None:
    params: dict[str, Any] = {"method": method, "normalize": False}
    if method == "rademacher":
        params = {"method": "sparse", "density": 1.0, "normalize": False}
    encoder = RandomProjectionImageEncoder(5, **params)
    flat = IMAGES.reshape(len(IMAGES), -1).astype(np.float64)
    matrix = encoder.get_projection_matrix(flat.shape[1])
    assert matrix.shape == (5, flat.shape[1]) and matrix.dtype == np.float64
    if params["method"] == "sparse":
        assert isinstance(matrix, scipy.sparse.csr_array)
        values = np.unique(np.abs(matrix.data))
        assert len(values) == 1 and np.all(matrix.data != 0)
        matrix = matrix.toarray()
    else:
        assert isinstance(matrix, np.ndarray) and matrix.flags.c_contiguous
    np.testing.assert_allclose(encoder.transform(flat), flat @ matrix.T, rtol=1e-12, atol=1e-9)
    with pytest.raises(mmref.NotFittedError):
        encoder.get_projection_matrix()
    fitted = RandomProjectionImageEncoder(5, **params).fit(flat)
    assert np.array_equal(_dense(fitted.get_projection_matrix()), matrix)


def _dense(matrix: Any) -> Any:
    return matrix.toarray() if hasattr(matrix, "toarray") else matrix


def test_a_missing_model_method_is_detected_before_any_call() -> None:
    calls: list[str] = []

    class ImageOnly:
        def encode_image(self, image: Any) -> Any:
            calls.append("encode_image")
            return np.zeros((1, 2))

    with pytest.raises(TypeError, match="encode_text"):
        mmref.joint_embedding(None, None, ImageOnly())
    assert calls == []

    class BadImage(ImageOnly):
        def encode_text(self, text: Any) -> Any:
            calls.append("encode_text")
            return np.zeros((1, 2))

        def encode_image(self, image: Any) -> Any:
            calls.append("encode_image")
            return np.zeros(2)  # 1-D: refused before encode_text is called

    with pytest.raises(ValueError, match="2-D"):
        mmref.joint_embedding(None, None, BadImage())
    assert calls == ["encode_image"]


def test_golden_against_calls_murmurhash3_32_with_bytes_only() -> None:
    from mmref.conformance._golden_format import MmrefNamespace

    seen: set[type] = set()

    class Port:
        @staticmethod
        def murmurhash3_32(key: Any, seed: int) -> int:
            seen.add(type(key))
            assert isinstance(key, bytes)
            result: int = MmrefNamespace().murmurhash3_32(key, seed)
            return result

    results = [r for r in run_golden(Port()) if r.name.startswith("murmurhash3_32/")]
    assert results and {r.status for r in results} == {"PASS"}
    assert seen == {bytes}
    names = re.findall(r"^\| `(\w+)` \| `", section("### Checking an implementation"), re.M)
    assert names == [
        "mix64",
        "derive_key",
        "murmurhash3_32",
        "joint_embedding",
        "multimodal_classification",
        "RandomProjectionImageEncoder",
        "BagOfWordsTextEncoder",
    ]


def test_docstrings_cite_sections_that_exist() -> None:
    numbered = set(re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", SPEC, flags=re.M))
    named = re.findall(r"^#{2,3} (?:[\d.]+ )?(.+)$", SPEC, flags=re.M)
    cited = 0
    for path in (ROOT / "mmref").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for number in re.findall(r"SPEC\.md(?:,)? (?:section )?(\d+(?:\.\d+)?)\b", text):
            assert number in numbered, (path.name, number)
            cited += 1
        for title in re.findall(r'SPEC\.md(?:,)? \(?"([^"]+)"', text):
            assert any(title in heading for heading in named), (path.name, title)
            cited += 1
    assert cited >= 5
