"""What the kit tells a PyTorch user, checked without torch.

The dtypes a run draws (``dtypes=`` / ``--dtypes``, the ``torch`` preset), the image
shape (``--image-shape``), and the messages: a tensor returned where an array is due
points to ``mmref.adapters.to_numpy``, a random model is told about dropout and
``.eval()``, and a model property's snippet repeats the call that failed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mmref.conformance import DTYPE_PRESETS, KINDS, check_dtypes, check_property, run_checks
from mmref.exceptions import ConformanceError


def test_the_torch_preset_leaves_out_what_torch_cannot_take() -> None:
    assert set(DTYPE_PRESETS["torch"]) == set(KINDS)
    joint = [str(d) for d in check_dtypes("joint-embedding", "torch")]
    assert joint == [
        "bool", "uint8", "int8", "int16", "int32", "int64",
        "float16", "float32", "float64", "complex64", "complex128",
    ]  # fmt: skip
    assert "bool" not in [str(d) for d in check_dtypes("classification", "torch")]
    assert [str(d) for d in check_dtypes("classification-model", "torch")] == [
        "float32",
        "float64",
    ]


def test_dtypes_are_parsed_and_checked_for_the_kind() -> None:
    assert check_dtypes("classification", None) is None
    assert check_dtypes("classification", " float32, float64,float32 ") == (
        np.dtype("float32"),
        np.dtype("float64"),
    )
    assert check_dtypes("joint-embedding", [np.int64, "complex64"]) == (
        np.dtype("int64"),
        np.dtype("complex64"),
    )
    with pytest.raises(ValueError, match="Got 'float33', which is not a dtype"):
        check_dtypes("classification", "float32,float33")
    with pytest.raises(ValueError, match="dtypes for classification must be real numbers"):
        check_dtypes("classification", "complex64")
    with pytest.raises(ValueError, match="dtypes for classification-model must be floats"):
        check_dtypes("classification-model", "int64")
    with pytest.raises(ValueError, match="at least one dtype"):
        check_dtypes("joint-embedding", " , ")
    with pytest.raises(ValueError, match="kind must be one of"):
        check_dtypes("golden", "float32")


def _recording_concatenate(seen: list[tuple[str, str]]) -> Any:
    def fn(image: Any, text: Any, model: Any) -> Any:
        a, b = np.asarray(model.encode_image(image)), np.asarray(model.encode_text(text))
        seen.append((str(a.dtype), str(b.dtype)))
        return np.concatenate((a, b), axis=1)

    return fn


def test_a_scoped_run_draws_only_those_dtypes_and_mixes_them() -> None:
    seen: list[tuple[str, str]] = []
    results = run_checks(
        "joint-embedding",
        _recording_concatenate(seen),
        max_examples=20,
        dtypes="float16,int64",
        select=["dtype"],
    )
    assert [r.status for r in results] == ["PASS"]
    assert {d for pair in seen for d in pair} == {"float16", "int64"}
    assert ("float16", "int64") in seen or ("int64", "float16") in seen


def test_a_promotion_that_differs_from_numpy_fails_dtype_with_both_dtypes() -> None:
    def torch_like(image: Any, text: Any, model: Any) -> Any:
        a, b = np.asarray(model.encode_image(image)), np.asarray(model.encode_text(text))
        out = np.concatenate((a, b), axis=1)
        # torch's rule: a float beside an integer keeps the float's dtype
        floats = [x.dtype for x in (a, b) if x.dtype.kind == "f"]
        return out.astype(floats[0]) if len(floats) == 1 else out

    with pytest.raises(ConformanceError, match=r"returned dtype float16; expected float64 = "):
        check_property("joint-embedding", "dtype", torch_like, dtypes="float16,int64")


def test_scores_are_drawn_in_scope() -> None:
    seen: set[str] = set()

    def argmax(joint: Any, labels: Any, model: Any) -> Any:
        scores = np.asarray(model.predict(joint))
        seen.add(str(scores.dtype))
        return np.argmax(scores, axis=1)

    check_property("classification", "reference", argmax, max_examples=20, dtypes="torch")
    assert seen and "bool" not in seen
    assert seen <= {str(d) for d in check_dtypes("classification", "torch")}


def test_dtypes_and_image_dtypes_are_the_same_setting() -> None:
    with pytest.raises(ValueError, match="give dtypes or image_dtypes, not both"):
        run_checks("embedding-model", _ShapeModel(), dtypes="uint8", image_dtypes=["uint8"])


class _ShapeModel:
    """Records the image shapes and dtypes it is given; one row per image."""

    def __init__(self) -> None:
        self.seen: set[tuple[tuple[int, ...], str]] = set()

    def encode_image(self, images: Any) -> Any:
        images = np.asarray(images)
        self.seen.add((images.shape[1:], str(images.dtype)))
        return np.ones((len(images), 2))

    def encode_text(self, texts: Any) -> Any:
        return np.ones((len(texts) if isinstance(texts, list) else 1, 1))


def test_embedding_model_images_have_the_shape_and_dtypes_given() -> None:
    model = _ShapeModel()
    results = run_checks(
        "embedding-model",
        model,
        max_examples=5,
        image_shape=(3, 5),
        dtypes="uint8,float32",
        select=["width"],
    )
    assert [r.status for r in results] == ["PASS"]
    batches = {s for s in model.seen if len(s[0]) == 2}
    assert {shape for shape, _ in batches} == {(3, 5)}
    assert {dtype for _, dtype in model.seen} == {"uint8", "float32"}


class _Tensor:
    """Looks like a tensor to the kit: it has detach."""

    def __init__(self, array: Any) -> None:
        self.array = np.asarray(array)

    def detach(self) -> Any:
        return self

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        return self.array


def test_a_tensor_result_is_told_about_to_numpy() -> None:
    def returns_tensor(image: Any, text: Any, model: Any) -> Any:
        return _Tensor(np.concatenate((model.encode_image(image), model.encode_text(text)), 1))

    with pytest.raises(ConformanceError) as raised:
        check_property("joint-embedding", "type", returns_tensor, max_examples=1)
    assert (
        "returned an object of type test_torch_messages._Tensor; expected a numpy.ndarray. "
        "Convert a tensor with mmref.adapters.to_numpy(result) before returning it."
    ) in str(raised.value)

    def returns_list(image: Any, text: Any, model: Any) -> Any:
        return np.concatenate((model.encode_image(image), model.encode_text(text)), 1).tolist()

    with pytest.raises(ConformanceError) as raised:
        check_property("joint-embedding", "type", returns_list, max_examples=1)
    assert "builtins.list; expected a numpy.ndarray.\n" in str(raised.value)


class _Random:
    """Dropout left on: a fresh random mask on every call."""

    image_shape = (2, 2)

    def __init__(self) -> None:
        self.rng = np.random.default_rng()

    def encode_image(self, images: Any) -> Any:
        flat = np.asarray(images, dtype=np.float64).reshape(len(images), -1)
        return flat * (self.rng.random(flat.shape) > 0.5) + 1.0

    def encode_text(self, texts: Any) -> Any:
        return np.ones((len(texts) if isinstance(texts, list) else 1, 1))


@pytest.mark.parametrize("name", ["deterministic", "row_independence"])
def test_a_random_model_is_told_about_dropout_and_eval(name: str) -> None:
    with pytest.raises(ConformanceError) as raised:
        check_property("embedding-model", name, _Random(), max_examples=2)
    message = str(raised.value)
    assert "differs from the first call bit for bit" in message
    assert (
        "The model draws random numbers: a dropout (or other random) layer left in training "
        "mode (call model.eval() on a PyTorch module), or a random generator without a "
        "fixed seed."
    ) in message
    snippet = message.split("reproduces it:\n", 1)[1]
    calls = [line.strip() for line in snippet.splitlines() if line.strip().startswith("out = ")]
    assert calls[-1] == "out = model.encode_image(images)"
    assert len(calls) >= 2  # the first call and the one that differed


class _BatchOnly:
    """Takes batches only: a single image of shape (2, 3) is read as 2 images."""

    image_shape = (2, 3)

    def encode_image(self, images: Any) -> Any:
        images = np.asarray(images, dtype=np.float64)
        return images.reshape(len(images), -1)[:, :2]

    def encode_text(self, texts: Any) -> Any:
        return np.ones((len(texts) if isinstance(texts, list) else 1, 1))


def test_protocol_2d_snippet_repeats_the_call_that_failed() -> None:
    with pytest.raises(ConformanceError) as raised:
        check_property("embedding-model", "protocol_2d", _BatchOnly(), max_examples=1)
    message = str(raised.value)
    assert "model.encode_image(images[0]) returned shape (2, 2); expected (1, d)" in message
    snippet = message.split("reproduces it:\n", 1)[1].splitlines()
    code = [line.strip() for line in snippet]
    assert code[-2:] == ["out = model.encode_image(images)", "out = model.encode_image(images[0])"]
    assert not any(line.startswith("text_embedding") for line in code)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mmref", "conform", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["classification", "m:f", "--dtypes", "complex64"], "argument --dtypes: dtypes for "),
        (["classification", "m:f", "--dtypes", "pixels"], "'pixels', which is not a dtype"),
        (["golden", "--dtypes", "float32"], "--dtypes goes with a property kind, not golden"),
        (["classification", "m:f", "--image-shape", "4,4"], "--image-shape goes with embedding"),
        (["embedding-model", "m:f", "--image-shape", "4,0"], "expected sizes >= 1 separated"),
        (["embedding-model", "m:f", "--image-shape", "4x4"], "expected sizes >= 1 separated"),
    ],
)
def test_bad_dtype_and_shape_options_are_usage_errors(
    args: list[str], message: str, tmp_path: Path
) -> None:
    done = _cli(*args, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_the_report_says_the_dtypes_and_the_cli_passes_the_shape(tmp_path: Path) -> None:
    (tmp_path / "shaped.py").write_text(
        "import numpy as np\n"
        "class Model:\n"
        "    def encode_image(self, images):\n"
        "        images = np.asarray(images)\n"
        "        assert images.shape[-2:] == (3, 5), images.shape\n"
        "        return np.ones((len(images) if images.ndim == 3 else 1, 2))\n"
        "    def encode_text(self, texts):\n"
        "        return np.ones((len(texts) if isinstance(texts, list) else 1, 1))\n"
    )
    args = ("embedding-model", "shaped:Model", "--max-examples", "3", "--dtypes", "uint8")
    done = _cli(*args, "--image-shape", "3,5", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[1] == "pixel dtypes drawn: uint8"
    undeclared = _cli(*args, cwd=tmp_path)
    assert undeclared.returncode == 1  # without the shape, images of other sizes come
