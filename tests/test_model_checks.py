"""What load accepts of a model file's parameters and fitted state, exactly at each bound.

The loader refuses what the constructor and ``fit`` would never produce, and what
would cost more than ``max_bytes`` to use; these tests put a file just inside and
just outside each such bound and check that the inside one loads (and works) and
the outside one is refused with a one-line ModelFileError naming what is wrong.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import mmref
from mmref.alignment import CCAAlignment
from mmref.exceptions import ModelFileError
from mmref.persistence import load, save

TEXTS = ["a red circle", "un", "blue square", "", "green cross", "yellow triangle red"]
X = np.linspace(-1.0, 1.0, 40 * 4).reshape(40, 4) ** 3 + np.tile(np.arange(4.0), (40, 1)) / 5


def _file(tmp_path: Path, model: Any, edit: Callable[[dict[str, Any]], None] | None = None) -> Path:
    """``model`` saved, with ``edit`` applied to its manifest's object."""
    path = tmp_path / "model.mmref"
    save(model, path)
    if edit is None:
        return path
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    manifest = json.loads(members["manifest.json"])
    edit(manifest["object"])
    # Arrays the edit left unreferenced are dropped: load refuses them first otherwise.
    text = json.dumps(manifest["object"])
    manifest["arrays"] = [e for e in manifest["arrays"] if json.dumps(e["name"]) in text]
    listed = {e["name"] for e in manifest["arrays"]}
    members = {n: d for n, d in members.items() if n in listed}
    members["manifest.json"] = json.dumps(manifest).encode()
    edited = tmp_path / "edited.mmref"
    with zipfile.ZipFile(edited, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return edited


def _with_array(tmp_path: Path, model: Any, attribute: str, array: np.ndarray) -> Path:
    """``model`` saved with its fitted array ``attribute`` replaced (manifest entry matching)."""
    import hashlib

    path = tmp_path / "model.mmref"
    save(model, path)
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    manifest = json.loads(members["manifest.json"])
    member = manifest["object"]["state"][attribute]["array"]
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array)
    members[member] = buffer.getvalue()
    (entry,) = [e for e in manifest["arrays"] if e["name"] == member]
    entry.update(
        dtype=np.lib.format.dtype_to_descr(array.dtype),
        shape=list(array.shape),
        sha256=hashlib.sha256(members[member]).hexdigest(),
    )
    members["manifest.json"] = json.dumps(manifest).encode()
    forged = tmp_path / "forged.mmref"
    with zipfile.ZipFile(forged, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return forged


def _refused(path: Path, *names: str, **kwargs: Any) -> None:
    with pytest.raises(ModelFileError) as info:
        load(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    for name in names:  # the message names what is wrong
        assert name in message, message


def _state(value: dict[str, Any], **changes: Any) -> None:
    value["state"].update(changes)


def _params(value: dict[str, Any], **changes: Any) -> None:
    value["params"].update(changes)


# --- resource bounds: what using the model may cost -------------------------------------


@pytest.mark.parametrize(
    ("params", "cost", "name", "what"),
    [
        ({"n_components": 4, "max_matrix_bytes": 1024, "batch_size": 8}, 4 * 8192,
         "n_components", "n_components * 8 KiB"),
        ({"n_components": 4, "max_matrix_bytes": 40_000, "batch_size": 8}, 40_000,
         "max_matrix_bytes", "max_matrix_bytes"),
        ({"n_components": 4, "max_matrix_bytes": 1024, "batch_size": 2048}, 2048 * 4 * 8,
         "batch_size", "batch_size * n_components * 8"),
    ],
)  # fmt: skip
def test_an_image_encoder_costs_at_most_max_bytes(
    tmp_path: Path, params: dict[str, int], cost: int, name: str, what: str
) -> None:
    path = _file(tmp_path, mmref.RandomProjectionImageEncoder(**params))
    restored = load(path, max_bytes=cost)
    assert restored.get_params() == mmref.RandomProjectionImageEncoder(**params).get_params()
    assert restored.encode_image(np.ones((3, 2, 2))).shape == (3, 4)
    # The message names the parameter and gives the cost, its formula and the limit.
    _refused(
        path,
        f"RandomProjectionImageEncoder: {name} is too large for a model file: "
        f"{what} = {cost} bytes exceeds max_bytes={cost - 1}",
        max_bytes=cost - 1,
    )


@pytest.mark.parametrize(
    ("model", "columns"),
    [
        (mmref.BagOfWordsTextEncoder(n_features=4), 4),
        (mmref.BagOfWordsTextEncoder(vocabulary=["a", "red", "zz"]), 3),
        (mmref.BagOfWordsTextEncoder(vocabulary="learn").fit(TEXTS), 10),
    ],
)
def test_a_text_encoder_has_at_most_max_bytes_over_8_kib_columns(
    tmp_path: Path, model: Any, columns: int
) -> None:
    assert model.encode_text(TEXTS).shape == (len(TEXTS), columns)
    path = _file(tmp_path, model)
    restored = load(path, max_bytes=columns * 8192)
    assert restored.encode_text(TEXTS).tobytes() == model.encode_text(TEXTS).tobytes()
    assert restored.encode_text(TEXTS).shape == (len(TEXTS), columns)
    _refused(
        path,
        "BagOfWordsTextEncoder: the number of columns is too large for a model file: "
        f"columns * 8 KiB = {columns * 8192} bytes exceeds max_bytes={columns * 8192 - 1}",
        max_bytes=columns * 8192 - 1,
    )


def test_an_unfitted_learned_vocabulary_costs_nothing_yet(tmp_path: Path) -> None:
    path = _file(tmp_path, mmref.BagOfWordsTextEncoder(vocabulary="learn"))
    assert load(path, max_bytes=4096).vocabulary == "learn"


@pytest.mark.parametrize(("ngram", "loads"), [(16, True), (17, False), (1000, False)])
def test_n_grams_are_at_most_16_tokens(tmp_path: Path, ngram: int, loads: bool) -> None:
    path = _file(
        tmp_path,
        mmref.BagOfWordsTextEncoder(n_features=16),
        lambda o: _params(o, ngram_range={"tuple": [1, ngram]}),
    )
    if loads:
        assert load(path).ngram_range == (1, ngram)
    else:
        _refused(path, "BagOfWordsTextEncoder.ngram_range")


# --- a fitted image encoder ------------------------------------------------------------


def test_an_image_encoder_has_at_most_max_bytes_input_features(tmp_path: Path) -> None:
    model = mmref.RandomProjectionImageEncoder(4, max_matrix_bytes=1024, batch_size=8)
    model.fit(np.ones((2, 3, 3)))
    cap = 1 << 16
    inside = _file(tmp_path, model, lambda o: _state(o, n_features_in_=cap))
    assert load(inside, max_bytes=cap).n_features_in_ == cap
    outside = _file(tmp_path, model, lambda o: _state(o, n_features_in_=cap + 1))
    _refused(outside, "RandomProjectionImageEncoder.n_features_in_", max_bytes=cap)
    for low in (1, 0, -1):
        path = _file(tmp_path, model, lambda o, low=low: _state(o, n_features_in_=low))
        if low >= 1:
            assert load(path).n_features_in_ == low
        else:
            _refused(path, "RandomProjectionImageEncoder.n_features_in_")


@pytest.mark.parametrize("delta", [-1, 0, 1])
def test_n_features_in_is_the_pixels_of_image_shape(tmp_path: Path, delta: int) -> None:
    model = mmref.RandomProjectionImageEncoder(4, image_shape=(3, 3)).fit(np.ones((2, 3, 3)))
    path = _file(tmp_path, model, lambda o: _state(o, n_features_in_=9 + delta))
    if delta == 0:
        restored = load(path)
        images = np.arange(18.0).reshape(2, 3, 3)
        assert restored.encode_image(images).tobytes() == model.encode_image(images).tobytes()
    else:
        _refused(path, "RandomProjectionImageEncoder.n_features_in_", "image_shape (3, 3)")


@pytest.mark.parametrize("features", [3, 4, 5])
def test_srht_needs_n_components_at_most_n_features_in(tmp_path: Path, features: int) -> None:
    model = mmref.RandomProjectionImageEncoder(4, method="srht").fit(np.ones((2, 4)))
    path = _file(tmp_path, model, lambda o: _state(o, n_features_in_=features))
    if features >= 4:
        assert load(path).n_features_in_ == features
    else:
        _refused(
            path, "RandomProjectionImageEncoder has n_components=4", f"n_features_in_={features}"
        )


# --- a fitted text encoder -------------------------------------------------------------


def _learned(**kwargs: Any) -> mmref.BagOfWordsTextEncoder:
    return mmref.BagOfWordsTextEncoder(vocabulary="learn", **kwargs).fit(TEXTS)


def test_idf_weights_are_at_least_one(tmp_path: Path) -> None:
    model = _learned(weighting="tfidf")
    width = len(model.vocabulary_)
    ones = np.ones(width)
    restored = load(_with_array(tmp_path, model, "idf_", ones))
    assert restored.idf_.tobytes() == ones.tobytes()
    below = ones.copy()
    below[-1] = np.nextafter(1.0, 0.0)
    _refused(_with_array(tmp_path, model, "idf_", below), "BagOfWordsTextEncoder.idf_")
    below = ones.copy()
    below[0] = 0.0
    _refused(_with_array(tmp_path, model, "idf_", below), "BagOfWordsTextEncoder.idf_")
    _refused(_with_array(tmp_path, model, "idf_", ones[:-1]), "BagOfWordsTextEncoder.idf_")


@pytest.mark.parametrize(
    ("vocabulary", "fragment"),
    [
        ({}, "vocabulary_ is {}; expected a non-empty dict"),
        ({"a": 0, "b": True}, "columns 0, 1, 2"),  # a bool for a column
        ({"a": 0, "b": 1.0}, "columns 0, 1, 2"),  # a float for a column
        ({"a": 0, "b": 1, "c": 3}, "columns 0, 1, 2"),  # a gap
        ({"a": 0, "b": 0}, "columns 0, 1, 2"),  # a column twice
        ({"b": 0, "a": 1}, "code point order"),  # terms out of order
        ({"a": 0, "\ud800": 1}, "lone surrogate"),
    ],
)
def test_a_learned_vocabulary_is_what_fit_learns(
    tmp_path: Path, vocabulary: Any, fragment: str
) -> None:
    model = _learned()

    def edit(o: dict[str, Any]) -> None:
        _state(o, vocabulary_={"dict": vocabulary}, n_features_out_=max(1, len(vocabulary)))

    _refused(_file(tmp_path, model, edit), "BagOfWordsTextEncoder.vocabulary_", fragment)


def test_a_learned_vocabulary_that_is_not_a_dict_is_named(tmp_path: Path) -> None:
    model = _learned()
    for wrong in ([1, 2], "ab", 3):
        edited = _file(tmp_path, model, lambda o, w=wrong: _state(o, vocabulary_=w))
        _refused(edited, f"BagOfWordsTextEncoder.vocabulary_ is {wrong!r}", max_bytes=4096)


def test_a_learned_vocabulary_may_be_any_sorted_terms(tmp_path: Path) -> None:
    model = _learned()
    terms = {"blue": 0, "red": 1, "zz": 2}

    def edit(o: dict[str, Any]) -> None:
        _state(o, vocabulary_={"dict": terms}, n_features_out_=3)

    restored = load(_file(tmp_path, model, edit))
    assert restored.vocabulary_ == terms
    assert restored.encode_text(["red red blue"]).shape == (1, 3)
    _refused(_file(tmp_path, model, lambda o: (edit(o), _state(o, n_features_out_=2))),
             "BagOfWordsTextEncoder.n_features_out_ is 2")  # fmt: skip


@pytest.mark.parametrize("max_features", [2, 3, 4])
def test_a_learned_vocabulary_has_at_most_max_features_terms(
    tmp_path: Path, max_features: int
) -> None:
    model = _learned(max_features=3)
    assert len(model.vocabulary_) == 3
    path = _file(tmp_path, model, lambda o: _params(o, max_features=max_features))
    if max_features >= 3:
        assert load(path).vocabulary_ == model.vocabulary_
    else:
        _refused(path, "BagOfWordsTextEncoder.vocabulary_ has 3 terms", "max_features=2")


def test_a_fixed_vocabulary_is_the_fitted_one(tmp_path: Path) -> None:
    model = mmref.BagOfWordsTextEncoder(vocabulary=["b", "a"]).fit(TEXTS)
    restored = load(_file(tmp_path, model))
    assert restored.vocabulary_ == {"b": 0, "a": 1}  # the parameter's order, not sorted
    _refused(
        _file(tmp_path, model, lambda o: _state(o, vocabulary_={"dict": {"a": 0, "b": 1}})),
        "BagOfWordsTextEncoder.vocabulary_",
    )


def test_a_hashing_encoder_is_fitted_with_its_width_only(tmp_path: Path) -> None:
    model = mmref.BagOfWordsTextEncoder(n_features=8).fit(TEXTS)
    assert load(_file(tmp_path, model)).n_features_out_ == 8
    for wrong in (7, 9, 0):
        _refused(_file(tmp_path, model, lambda o, w=wrong: _state(o, n_features_out_=w)),
                 f"BagOfWordsTextEncoder.n_features_out_ is {wrong}")  # fmt: skip
    extra = {"vocabulary_": {"dict": {"a": 0}}}
    _refused(
        _file(tmp_path, model, lambda o: _state(o, **extra)),
        "BagOfWordsTextEncoder with vocabulary=None",
        "vocabulary_",
    )


# --- classifiers and CCA -------------------------------------------------------------


@pytest.mark.parametrize(("n_iter", "loads"), [(-1, False), (0, True), (7, True), (8, False)])
def test_n_iter_is_at_most_max_iter(tmp_path: Path, n_iter: int, loads: bool) -> None:
    y = np.arange(40) % 2
    model = mmref.SoftmaxClassifier(max_iter=7).fit(X, y)
    path = _file(tmp_path, model, lambda o: _state(o, n_iter_=n_iter))
    if loads:
        restored = load(path)
        assert restored.n_iter_ == n_iter
        assert restored.predict(X).tobytes() == model.predict(X).tobytes()
    else:
        _refused(path, "SoftmaxClassifier.n_iter_")


def test_n_iter_without_the_rest_of_fit_is_refused(tmp_path: Path) -> None:
    for model in (mmref.SoftmaxClassifier(), mmref.NearestCentroidClassifier()):
        _refused(
            _file(tmp_path, model, lambda o: _state(o, n_iter_=3)), type(model).__name__, "n_iter_"
        )


def _cca() -> CCAAlignment:
    return CCAAlignment(2).fit(X, X[:, ::-1] ** 2)


@pytest.mark.parametrize(("n_samples", "loads"), [(1, False), (2, False), (3, True), (40, True)])
def test_cca_components_need_more_samples(tmp_path: Path, n_samples: int, loads: bool) -> None:
    model = _cca()
    path = _file(tmp_path, model, lambda o: _state(o, n_samples_fit_=n_samples))
    if loads:
        restored = load(path)
        assert restored.n_samples_fit_ == n_samples
        text = X[:3, ::-1] ** 2
        assert restored.transform_image(X[:3]).tobytes() == model.transform_image(X[:3]).tobytes()
        assert restored.transform_text(text).tobytes() == model.transform_text(text).tobytes()
    else:
        fragments = (
            ("CCAAlignment has n_components=2, more than min(", ") = 1")
            if n_samples == 2
            else (f"CCAAlignment.n_samples_fit_ is {n_samples}",)
        )
        _refused(path, *fragments)


def test_cca_components_are_at_most_the_features_of_each_side(tmp_path: Path) -> None:
    y = X[:, :2] ** 2
    model = CCAAlignment(2).fit(X, y)  # 2 text features: n_components == q
    assert load(_file(tmp_path, model)).n_text_features_in_ == 2
    model = CCAAlignment(2).fit(y, X)  # 2 image features: n_components == p
    assert load(_file(tmp_path, model)).n_image_features_in_ == 2
    edited = _file(tmp_path, model, lambda o: _params(o, n_components=3))
    _refused(edited, "CCAAlignment has n_components=3", ") = 2")
    for name in ("n_image_features_in_", "n_text_features_in_"):
        edited = _file(tmp_path, model, lambda o, n=name: _state(o, **{n: 1}))
        _refused(edited, "CCAAlignment has n_components=2", ") = 1")


@pytest.mark.parametrize(
    ("values", "loads"),
    [
        ([1.0, 1.0], True),
        ([0.0, 0.0], True),
        ([1.0, 0.0], True),
        ([0.5, 0.25], True),
        ([np.nextafter(1.0, 2.0), 0.5], False),
        ([0.5, -5e-324], False),
        ([0.25, 0.5], False),
        ([0.5, np.nextafter(0.5, 1.0)], False),
    ],
)
def test_canonical_correlations_are_non_increasing_in_0_1(
    tmp_path: Path, values: list[float], loads: bool
) -> None:
    model = _cca()
    array = np.array(values)
    path = _with_array(tmp_path, model, "canonical_correlations_", array)
    if loads:
        assert load(path).canonical_correlations_.tobytes() == array.tobytes()
    else:
        _refused(path, "CCAAlignment.canonical_correlations_")


def test_canonical_correlations_of_three_components_are_non_increasing(tmp_path: Path) -> None:
    model = CCAAlignment(3).fit(X, X[:, ::-1] ** 2)
    for values, loads in (([0.5, 0.4, 0.4], True), ([0.5, 0.4, 0.45], False)):
        array = np.array(values)
        path = _with_array(tmp_path, model, "canonical_correlations_", array)
        if loads:
            assert load(path).canonical_correlations_.tobytes() == array.tobytes()
        else:
            _refused(path, "CCAAlignment.canonical_correlations_")


@pytest.mark.parametrize(
    "attribute",
    ["image_mean_", "text_mean_", "image_weights_", "text_weights_", "canonical_correlations_"],
)
def test_cca_arrays_are_float64_of_the_fitted_shape(tmp_path: Path, attribute: str) -> None:
    model = _cca()
    array = getattr(model, attribute)
    for wrong in (array.astype(np.float32), array[:-1], array.reshape(-1)[:1], np.ones((4, 3))):
        _refused(_with_array(tmp_path, model, attribute, wrong), f"CCAAlignment.{attribute} is")
    # A JSON list in place of the array.
    listed = _file(tmp_path, model, lambda o: _state(o, **{attribute: array.tolist()}))
    _refused(listed, f"CCAAlignment.{attribute} is [", "expected a float64 array")
    valid = array * 0.5 if attribute == "canonical_correlations_" else array + 0.25
    restored = load(_with_array(tmp_path, model, attribute, valid))
    assert getattr(restored, attribute).tobytes() == valid.tobytes()


@pytest.mark.parametrize(
    "model",
    [
        _cca(),
        mmref.MultimodalEncoder(
            mmref.RandomProjectionImageEncoder(4), mmref.BagOfWordsTextEncoder(4)
        ).fit(np.ones((2, 2, 2)), ["a", "b"]),
    ],
    ids=["cca", "multimodal"],
)
def test_a_fitted_attribute_missing_is_named_with_all_that_fit_sets(
    tmp_path: Path, model: Any
) -> None:
    owner = type(model).__name__
    fitted = sorted(k for k in vars(model) if k.endswith("_") and not k.startswith("_"))
    for name in fitted:
        kept = [k for k in fitted if k != name]
        edited = _file(tmp_path, model, lambda o, n=name: o["state"].pop(n))
        _refused(
            edited,
            f"{owner} has the fitted attribute {kept[0]} but lacks {name}; "
            f"fit sets all of {', '.join(fitted)}.",
        )


@pytest.mark.parametrize("pattern", ["(a|aa)+$", "[a-z]+"])
def test_an_untrusted_token_pattern_is_named_with_the_patterns_allowed(
    tmp_path: Path, pattern: str
) -> None:
    from mmref._model_checks import SAFE_TOKEN_PATTERNS

    path = _file(tmp_path, mmref.BagOfWordsTextEncoder(8, token_pattern=pattern))
    allowed = ", ".join(sorted(repr(p) for p in SAFE_TOKEN_PATTERNS if p is not None))
    _refused(path, f"BagOfWordsTextEncoder.token_pattern is {pattern!r}", f"({allowed})")
    assert load(path, trust_token_pattern=True).token_pattern == pattern


def test_cca_ints_are_ints(tmp_path: Path) -> None:
    model = _cca()
    for name in ("n_image_features_in_", "n_text_features_in_", "n_samples_fit_"):
        for wrong in (True, 4.0, "4", None, -4, 0):
            _refused(
                _file(tmp_path, model, lambda o, n=name, w=wrong: _state(o, **{n: w})),
                f"CCAAlignment.{name}",
            )
    for wrong in ({"float": "inf"}, -1.0, "0.1"):
        _refused(
            _file(tmp_path, model, lambda o, w=wrong: _params(o, reg=w)), "'reg'", "CCAAlignment"
        )
    for wrong in (0, -1, 2.0, True):
        _refused(_file(tmp_path, model, lambda o, w=wrong: _params(o, n_components=w)),
                 "'n_components'", "CCAAlignment")  # fmt: skip


def test_an_unfitted_cca_loads_unfitted(tmp_path: Path) -> None:
    restored = load(_file(tmp_path, CCAAlignment(3, reg=0.5)))
    assert (restored.n_components, restored.reg) == (3, 0.5)
    assert not [k for k in vars(restored) if k.endswith("_") and not k.startswith("_")]


def test_a_zero_shot_classifier_with_duplicate_prompts_is_refused(tmp_path: Path) -> None:
    from mmref.alignment import AlignedEncoder
    from mmref.multimodal import MultimodalEncoder
    from mmref.zeroshot import ZeroShotClassifier

    images = np.arange(6 * 16.0).reshape(6, 4, 4) % 7
    encoder = MultimodalEncoder(
        mmref.RandomProjectionImageEncoder(4), mmref.BagOfWordsTextEncoder(4)
    )
    aligned = AlignedEncoder(encoder, CCAAlignment(2)).fit(images, TEXTS)
    model = ZeroShotClassifier(aligned, ["a", "b"])
    assert load(_file(tmp_path, model)).classes_.tolist() == ["a", "b"]
    _refused(_file(tmp_path, model, lambda o: _params(o, class_prompts=["a", "a"])),
             "class_prompts")  # fmt: skip


def test_the_smallest_fitted_models_load(tmp_path: Path) -> None:
    # One component, one column: the lower bounds themselves are valid.
    cca = CCAAlignment(1).fit(X, X[:, ::-1] ** 2)
    restored = load(_file(tmp_path, cca))
    assert restored.transform_image(X).tobytes() == cca.transform_image(X).tobytes()
    one = mmref.BagOfWordsTextEncoder(n_features=1).fit(TEXTS)
    assert load(_file(tmp_path, one)).n_features_out_ == 1


def test_a_missing_text_attribute_is_named_with_the_configuration(tmp_path: Path) -> None:
    model = mmref.BagOfWordsTextEncoder(vocabulary=["a", "b"]).fit(TEXTS)
    edited = _file(tmp_path, model, lambda o: o["state"].pop("vocabulary_"))
    _refused(
        edited,
        "BagOfWordsTextEncoder with vocabulary=['a', 'b'] and weighting='count' is fitted "
        "with n_features_out_, vocabulary_; the file holds n_features_out_",
    )
    tfidf = mmref.BagOfWordsTextEncoder(n_features=4, weighting="tfidf").fit(TEXTS)
    edited = _file(tmp_path, tfidf, lambda o: _state(o, extra_=1))
    _refused(edited, "extra_")
    edited = _file(tmp_path, tfidf, lambda o: o["state"].update(vocabulary_={"dict": {"a": 0}}))
    _refused(edited, "is fitted with idf_, n_features_out_; the file holds idf_, n_features_out_, "
             "vocabulary_")  # fmt: skip


def test_an_int_below_its_lower_bound_is_named_with_the_bound(tmp_path: Path) -> None:
    model = mmref.BagOfWordsTextEncoder(n_features=8).fit(TEXTS)
    edited = _file(tmp_path, model, lambda o: _state(o, n_features_out_=0))
    _refused(edited, "BagOfWordsTextEncoder.n_features_out_ is 0; expected an int >= 1.")
    y = np.arange(40) % 2
    softmax = mmref.SoftmaxClassifier(max_iter=7).fit(X, y)
    edited = _file(tmp_path, softmax, lambda o: _state(o, n_iter_=8))
    _refused(edited, "SoftmaxClassifier.n_iter_ is 8; expected an int in [0, 7].")


def test_a_pipeline_is_fitted_whole_or_not_at_all(tmp_path: Path) -> None:
    images = np.arange(6 * 16.0).reshape(6, 4, 4) % 5
    encoder = mmref.MultimodalEncoder(
        mmref.RandomProjectionImageEncoder(4), mmref.BagOfWordsTextEncoder(8)
    )
    pipeline = mmref.MultimodalPipeline(encoder, mmref.NearestCentroidClassifier())
    pipeline.fit(images, TEXTS, ["a", "b"] * 3)
    restored = load(_file(tmp_path, pipeline))
    joint = mmref.joint_embedding(images, TEXTS, pipeline)
    assert mmref.joint_embedding(images, TEXTS, restored).tobytes() == joint.tobytes()
    assert restored.predict(joint).tobytes() == pipeline.predict(joint).tobytes()
    for name, kept in (("encoder_", "classifier_"), ("classifier_", "encoder_")):
        edited = _file(tmp_path, pipeline, lambda o, n=name: o["state"].pop(n))
        _refused(edited, f"MultimodalPipeline has the fitted attribute {kept} but lacks {name}")
