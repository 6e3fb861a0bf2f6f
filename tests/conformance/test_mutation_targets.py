"""Targets as a user names and prepares them (mmref.conformance._targets).

Resolving ``MODULE:ATTR`` (instances, factories, dotted attributes, hostile modules),
the checks on what a target is, the data set a model is fitted on (recomputed here from
its documented formula), and the fresh process: a model that claims determinism but is
not deterministic across processes is caught, a deterministic one passes, and the
reasons a fresh process cannot be used are reported as such.
"""

from __future__ import annotations

import inspect
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mmref.conformance import (
    claims_determinism,
    prepare_classification_model,
    resolve_target,
    run_checks,
)
from mmref.conformance._targets import (
    check_target,
    child_main,
    import_spec,
    importable_name,
    synthetic_classification_data,
)

FEW = 2

MODULE = '''
import os
import sys

import numpy as np

class Model:
    n_features_in_ = 2
    def predict(self, X):
        return np.asarray(X, dtype=float) * [1.0, -1.0]

class Namespace:
    class Inner:
        model = Model()

model = Model()

def make_model():
    return Model()

def failing_factory():
    raise RuntimeError("no weights file")

def exiting_factory():
    raise SystemExit(5)

def needs_arguments(a):
    return Model()

def function(image, text, model):
    return None

def two_arguments(image, text):
    return None

class Unfitted:
    """Fitted by the kit: remembers how many classes it saw."""
    __mmref_deterministic__ = True
    def fit(self, X, y):
        self.n_features_in_ = X.shape[1]
        self.k_ = len(set(y.tolist()))
        return self
    def predict(self, X):
        return np.repeat(np.asarray(X, dtype=float)[:, :1], self.k_, axis=1)

class Salted:
    """Claims determinism, but its scores depend on the process's str hash seed."""
    __mmref_deterministic__ = True
    n_features_in_ = 2
    def predict(self, X):
        X = np.asarray(X, dtype=float)
        return X + float(hash("salt") % 2**40)  # equal under two seeds: 2**-40

class FailsInAChild:
    """Deterministic, but refuses to work in any process but the one that made it."""
    __mmref_deterministic__ = True
    n_features_in_ = 2
    def __init__(self):
        import os
        self.pid = os.getpid()
    def predict(self, X):
        import os
        if os.getpid() != self.pid:
            raise RuntimeError("license server unreachable")
        return np.asarray(X, dtype=float)

class Embedder:
    """A deterministic embedding model, for the fresh process's entry point."""
    __mmref_deterministic__ = True
    def encode_image(self, images):
        images = np.asarray(images, dtype=float)
        return images.reshape(len(images), -1)[:, :2] * 2.0
    def encode_text(self, texts):
        return np.array([[float(len(t)), 1.0] for t in texts])

class Scaled:
    __mmref_deterministic__ = True
    n_features_in_ = 2
    def __init__(self, scale):
        self.scale = scale
    def predict(self, X):
        return np.asarray(X, dtype=float) * self.scale

def from_environment():
    """A factory configured by the environment, as deployments often are."""
    return Scaled(float(os.environ["MMREF_MUTATION_TARGETS_SCALE"]))

class CrashesInAChild:
    """Deterministic here; in any other process its native code crashes the interpreter."""
    __mmref_deterministic__ = True
    n_features_in_ = 2
    def __init__(self, exit_code):
        self.pid = os.getpid()
        self.exit_code = exit_code
    def predict(self, X):
        if os.getpid() != self.pid:
            lines = b"".join(b"native line %d\\n" % i for i in range(1, 7))
            sys.stderr.buffer.write(lines + b"bad byte \\xff\\n")
            sys.stderr.flush()
            os._exit(self.exit_code)
        return np.asarray(X, dtype=float)

class BoundToItsProcess:
    """Deterministic, but its pickle loads only in the process that made it."""
    __mmref_deterministic__ = True
    n_features_in_ = 2
    def __init__(self):
        self.pid = os.getpid()
    def __setstate__(self, state):
        if state["pid"] != os.getpid():
            raise RuntimeError("bound to its process")
        self.__dict__.update(state)
    def predict(self, X):
        return np.asarray(X, dtype=float)

class HostileInstance:
    def __getattr__(self, name):
        raise RuntimeError("attribute access refused")

hostile = HostileInstance()

not_a_model = 42
'''

HOSTILE = """
def __getattr__(name):
    raise RuntimeError("lazy attribute failed")
"""


@pytest.fixture(scope="module")
def user_module(tmp_path_factory: pytest.TempPathFactory) -> Any:
    directory = tmp_path_factory.mktemp("targets")
    name = "mmref_mutation_targets_module"
    (directory / f"{name}.py").write_text(MODULE)
    (directory / f"{name}_hostile.py").write_text(HOSTILE)
    (directory / f"{name}_broken.py").write_text("raise ImportError('half installed')\n")
    (directory / f"{name}_exits.py").write_text("import sys\nsys.exit(3)\n")
    sys.path.insert(0, str(directory))
    try:
        yield __import__(name)
    finally:
        sys.path.remove(str(directory))


# --- resolving MODULE:ATTR -----------------------------------------------------------------


def test_resolve_target_returns_instances_and_calls_factories(user_module: Any) -> None:
    name = user_module.__name__
    kind = "classification-model"
    assert resolve_target(f"{name}:model", kind) is user_module.model
    assert type(resolve_target(f"{name}:make_model", kind)) is user_module.Model
    assert type(resolve_target(f"{name}:Model", kind)) is user_module.Model  # a class
    inner = user_module.Namespace.Inner.model
    assert resolve_target(f"{name}:Namespace.Inner.model", kind) is inner
    assert resolve_target(f"{name}:function", "joint-embedding") is user_module.function


@pytest.mark.parametrize(
    ("attr", "kind", "error", "message"),
    [
        ("failing_factory", "classification-model", TypeError,
         "calling the factory {m}:failing_factory() raised RuntimeError: no weights file"),
        ("exiting_factory", "classification-model", TypeError, "raised SystemExit: 5"),
        ("needs_arguments", "classification-model", TypeError,
         "{m}:needs_arguments is not a classification-model and cannot be called without"),
        ("not_a_model", "classification-model", TypeError,
         "{m}:not_a_model is 42: not a classification-model (it lacks predict)"),
        ("model", "embedding-model", TypeError, "lacks encode_image and encode_text"),
        ("Model", "joint-embedding", TypeError, "must be a function"),
        ("two_arguments", "joint-embedding", TypeError, "three positional arguments"),
        ("nothing", "joint-embedding", ImportError, "has no attribute 'nothing'"),
        ("Namespace.nothing", "joint-embedding", ImportError,
         "has no attribute 'Namespace.nothing'"),
    ],
)  # fmt: skip
def test_resolve_target_says_what_is_wrong(
    user_module: Any, attr: str, kind: str, error: type[Exception], message: str
) -> None:
    name = user_module.__name__
    with pytest.raises(error) as caught:
        resolve_target(f"{name}:{attr}", kind)
    assert message.format(m=name) in str(caught.value)


@pytest.mark.parametrize(
    ("suffix", "message"),
    [
        ("_broken", "ImportError: half installed"),
        ("_exits", "SystemExit: 3"),
        ("_nonexistent", "ModuleNotFoundError"),
    ],
)
def test_a_module_that_cannot_be_imported_is_an_import_error(
    user_module: Any, suffix: str, message: str
) -> None:
    module = user_module.__name__ + suffix
    with pytest.raises(ImportError, match=f"cannot import module '{module}'") as caught:
        resolve_target(f"{module}:fn", "joint-embedding")
    assert message in str(caught.value)


def test_a_hostile_module_getattr_is_an_import_error(user_module: Any) -> None:
    module = user_module.__name__ + "_hostile"
    with pytest.raises(ImportError, match="raised RuntimeError: lazy attribute failed"):
        resolve_target(f"{module}:fn", "joint-embedding")


@pytest.mark.parametrize("spec", ["", ":fn", "module", "module:", "module:"])
def test_resolve_target_needs_module_and_attr(spec: str) -> None:
    with pytest.raises(ValueError, match="must have the form MODULE:ATTR"):
        resolve_target(spec, "joint-embedding")


def test_import_spec_may_name_a_module_alone() -> None:
    assert import_spec("mmref.reference", require_attr=False).__name__ == "mmref.reference"
    for spec in ("", "mmref.reference:"):
        with pytest.raises(ValueError) as caught:
            import_spec(spec, require_attr=False)
        assert str(caught.value) == (
            f"The target must have the form MODULE or MODULE:ATTR. Got {spec!r} instead."
        )


def test_the_current_directory_is_importable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mmref_cwd_target.py").write_text("def fn(image, text, model):\n    return None\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    # Imported by an earlier run in this process (mutmut forks its workers after its
    # stats run): only a fresh import shows where the module is looked for.
    monkeypatch.delitem(sys.modules, "mmref_cwd_target", raising=False)
    assert resolve_target("mmref_cwd_target:fn", "joint-embedding").__name__ == "fn"


def test_resolve_target_refuses_an_unknown_kind(user_module: Any) -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        resolve_target(f"{user_module.__name__}:model", "model")


def test_a_model_whose_attributes_raise_is_a_type_error_quoting_it() -> None:
    class Hostile:
        def __getattr__(self, name: str) -> Any:
            raise RuntimeError("attribute access refused")

    for kind in ("embedding-model", "classification-model"):
        with pytest.raises(TypeError, match="RuntimeError: attribute access refused"):
            check_target(kind, Hostile())


def test_check_target_accepts_what_it_should() -> None:
    check_target("joint-embedding", lambda image, text, model: None)
    check_target("classification", lambda *args: None)
    check_target("joint-embedding", max)  # a builtin without a signature is accepted

    class Model:
        def predict(self, X: Any) -> Any:
            return X

    check_target("classification-model", Model())
    with pytest.raises(TypeError, match="must have the methods predict"):
        check_target("classification-model", Model)  # the class, not a model
    with pytest.raises(TypeError, match="must be a function"):
        check_target("classification", Model)


def test_importable_name_of_functions() -> None:
    assert importable_name(resolve_target) == "mmref.conformance._targets:resolve_target"
    assert importable_name(np.argmax) == "numpy:argmax"
    assert importable_name(lambda: None) is None

    def local() -> None: ...

    assert importable_name(local) is None
    assert importable_name(object()) is None
    assert importable_name(type("InMain", (), {"__module__": "__main__"})) is None


def test_claims_determinism() -> None:
    class Claims:
        __mmref_deterministic__ = 1

    class Denies:
        __mmref_deterministic__ = 0

    class Silent:
        __mmref_deterministic__ = None

    assert claims_determinism(Claims()) is True
    assert claims_determinism(Denies()) is False
    assert claims_determinism(Silent()) is False
    classifiers = pytest.importorskip("mmref.classifiers")
    assert claims_determinism(classifiers.RidgeClassifier())
    mmref_named = type("Model", (), {"__module__": "mmref_other.models"})
    assert not claims_determinism(mmref_named())


# --- preparing a classification model ------------------------------------------------------


def splitmix64_finalizer(z: int) -> int:
    mask = 2**64 - 1
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9 & mask
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB & mask
    return z ^ (z >> 31)


def test_the_fitting_data_are_the_documented_formula() -> None:
    golden = 0x9E3779B97F4A7C15
    assert splitmix64_finalizer(golden) == 0xE220A8397B1DCDAF  # SPEC.md's test vector
    u = [(splitmix64_finalizer((m + golden) % 2**64) >> 11) * 2.0**-53 for m in range(360)]
    y_expected = np.arange(60) % 3
    X_expected = np.array(u).reshape(60, 6) - 0.5
    X_expected[np.arange(60), y_expected] += 4.0
    X, y = synthetic_classification_data()
    assert X.dtype == np.float64 and y.dtype == np.int64
    np.testing.assert_array_equal(y, y_expected)
    np.testing.assert_array_equal(X, X_expected)


def test_prepare_returns_a_model_with_a_width_as_it_is() -> None:
    class Wide:
        n_features_in_ = np.int64(7)

        def fit(self, X: Any, y: Any) -> None:
            raise AssertionError("never fitted")

    model = Wide()
    assert prepare_classification_model(model) == (model, 7)
    assert prepare_classification_model(model, n_features=3) == (model, 3)
    assert isinstance(prepare_classification_model(model)[1], int)


def test_prepare_fits_a_copy_on_three_classes_of_six_features(user_module: Any) -> None:
    model = user_module.Unfitted()
    fitted, width = prepare_classification_model(model)
    assert fitted is not model and not hasattr(model, "k_")
    assert (width, fitted.n_features_in_, fitted.k_) == (6, 6, 3)


def test_a_bool_is_not_a_width() -> None:
    class Flagged:
        n_features_in_ = True

        def predict(self, X: Any) -> Any:
            return X

    with pytest.raises(TypeError, match="Cannot tell the number of input features of Flagged"):
        prepare_classification_model(Flagged())


# --- the fresh process ---------------------------------------------------------------------


def fresh(model: Any, **options: Any) -> Any:
    (result,) = run_checks(
        "classification-model", model, max_examples=FEW, select=["fresh_process"], **options
    )
    return result


def test_fresh_process_catches_a_salted_hash_and_passes_a_deterministic_model(
    user_module: Any,
) -> None:
    name = user_module.__name__
    # Rebuilt from MODULE:ATTR (prepared again, since the kit fitted it)...
    assert fresh(user_module.Unfitted(), spec=f"{name}:Unfitted").status == "PASS"
    # ... or from a pickle.
    salted = fresh(user_module.Salted())
    assert salted.status == "FAIL", salted
    assert "in a new process" in salted.message
    assert "# in two separate Python processes:" in salted.message


def test_fresh_process_reports_a_model_that_fails_in_the_new_process(user_module: Any) -> None:
    result = fresh(user_module.FailsInAChild())
    assert result.status == "FAIL"
    assert "In a new process, model.predict(value) raised RuntimeError" in result.message
    assert "license server unreachable" in result.message


def test_fresh_process_reports_a_target_string_that_cannot_be_rebuilt(user_module: Any) -> None:
    result = fresh(user_module.Salted(), spec=f"{user_module.__name__}:failing_factory")
    assert result.status == "FAIL"
    assert "The new process could not rebuild the model" in result.message
    assert "no weights file" in result.message


def test_fresh_process_skips_what_cannot_be_sent_to_a_new_process() -> None:
    class Local:
        __mmref_deterministic__ = True
        n_features_in_ = 2

        def predict(self, X: Any) -> Any:
            return np.asarray(X, dtype=float)

    try:
        pickle.dumps(Local())
    except Exception as exc:
        why = f"({type(exc).__name__}: {exc})"
    local = fresh(Local())
    assert local.status == "SKIP" and "cannot be pickled" in local.message
    assert why in local.message
    assert "spec='MODULE:ATTR'" in local.message


def test_fresh_process_is_skipped_for_models_that_do_not_claim_it(user_module: Any) -> None:
    result = fresh(user_module.model, spec=f"{user_module.__name__}:model")
    assert result.status == "SKIP" and "__mmref_deterministic__ = True" in result.message


def test_fresh_process_quotes_the_failing_call_made_in_this_process() -> None:
    class Broken:
        __mmref_deterministic__ = True
        n_features_in_ = 2

        def predict(self, X: Any) -> Any:
            raise RuntimeError("broken here already")

    class Unconvertible:
        __mmref_deterministic__ = True
        n_features_in_ = 2

        def predict(self, X: Any) -> Any:
            return Opaque()

    class Opaque:
        def __array__(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("no array")

    broken = fresh(Broken())
    assert broken.status == "FAIL"
    assert "model.predict(...) raised RuntimeError: broken here already" in broken.message
    opaque = fresh(Unconvertible())
    assert opaque.status == "FAIL"
    assert "predict returned Opaque, which np.asarray cannot convert" in opaque.message


def test_fresh_process_shows_the_two_process_snippet_and_what_differs(user_module: Any) -> None:
    salted = fresh(user_module.Salted())
    assert salted.status == "FAIL", salted
    assert (
        "model.predict(value) in a new process differs from the same call in this process "
        "bit for bit" in salted.message
    )
    lines = [line.strip() for line in salted.message.splitlines()]
    assert "# in two separate Python processes:" in lines
    assert "import numpy as np" in lines
    assert "print(np.asarray(model.predict(value)).tobytes().hex())" in lines
    (value_line,) = [line for line in lines if line.startswith("value = ")]
    value = eval(value_line.removeprefix("value = "), {"np": np})
    # The first call: the fitting data's first 8 values as 4 rows of 2, row 1 zero, float64.
    X, _ = synthetic_classification_data()
    rows = X.ravel()[:8].reshape(4, 2).copy()
    rows[1] = 0.0
    assert value.dtype == np.float64
    np.testing.assert_array_equal(value, rows)


def test_a_pickled_model_that_cannot_be_loaded_in_a_new_process_is_skipped(
    user_module: Any,
) -> None:
    result = fresh(user_module.BoundToItsProcess())
    assert result.status == "SKIP", result
    assert (
        "the pickled model cannot be loaded in a new process: RuntimeError: bound to its process"
        in result.message
    )


@pytest.mark.parametrize("exit_code", [0, 3])
def test_a_new_process_that_dies_fails_with_the_tail_of_its_stderr(
    user_module: Any, exit_code: int
) -> None:
    # Exit code 0 too: a process that ends without writing its outputs has not run the calls.
    result = fresh(user_module.CrashesInAChild(exit_code))
    assert result.status == "FAIL", result
    tail = " | ".join([*(f"native line {i}" for i in range(3, 7)), "bad byte \ufffd"])
    assert f"The new process could not rebuild or run the model: {tail}" in result.message
    assert "native line 2" not in result.message  # the last five lines only


def test_the_new_process_inherits_the_environment_and_leaves_no_files(
    user_module: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setenv("MMREF_MUTATION_TARGETS_SCALE", "2.5")
    # Something else put a pathlib.Path on sys.path (the import system ignores it).
    monkeypatch.setattr(sys, "path", [*sys.path, tmp_path])
    spec = f"{user_module.__name__}:from_environment"
    result = fresh(resolve_target(spec, "classification-model"), spec=spec)
    assert result.status == "PASS", result
    assert list(scratch.iterdir()) == []


def test_a_new_process_that_does_not_finish_in_time_fails_naming_the_limit(
    user_module: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A child that never finishes, without waiting for one: subprocess.run gives up at
    # the limit it was given. The limit is 60 s plus the timeout per call (two calls
    # for a classification model, float64 and float32), or 600 s without a timeout.
    limits: list[Any] = []

    def never_finishes(command: Any, **options: Any) -> Any:
        limits.append(options["timeout"])
        raise subprocess.TimeoutExpired(command, options["timeout"])

    monkeypatch.setattr(subprocess, "run", never_finishes)
    model = user_module.Scaled(1.0)
    for timeout, limit in [(None, "600"), (2.5, "65"), (60, "180")]:
        result = fresh(model, timeout=timeout)
        assert result.status == "FAIL", result
        assert f"The new process did not finish within {limit} s." in result.message
    assert limits == [600, 65, 180]


HASH_SEED_CHECK = """
import sys
from mmref.conformance import run_checks
import {module} as user_module
(result,) = run_checks(
    "classification-model", user_module.Salted(), max_examples=2, select=["fresh_process"]
)
print(result.status)
"""


def test_the_new_process_gets_another_hash_seed_than_a_fixed_one(
    user_module: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A process's own hash seed is fixed at its start: check from a process started with
    # PYTHONHASHSEED=0, whose new process must not inherit that seed.
    env = dict(
        os.environ,
        PYTHONHASHSEED="0",
        PYTHONPATH=os.pathsep.join(p for p in sys.path if isinstance(p, str) and p),
    )
    script = HASH_SEED_CHECK.format(module=user_module.__name__)
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["FAIL"], proc.stdout
    # Here too, with the fixed seed only in the environment.
    monkeypatch.setenv("PYTHONHASHSEED", "0")
    assert fresh(user_module.Salted()).status == "FAIL"


# --- the fresh process's entry point, run here --------------------------------------------


def run_child_main(tmp_path: Path, payload: dict[str, Any]) -> Any:
    """Write the payload as the parent does, run the entry point, read what it wrote."""
    path = tmp_path / "payload.pkl"
    path.write_bytes(pickle.dumps(payload))
    child_main(str(path))
    return pickle.loads((tmp_path / "outputs.pkl").read_bytes())


def test_child_main_rebuilds_the_model_from_its_target_and_runs_each_call(
    user_module: Any, tmp_path: Path
) -> None:
    images = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    texts = ["ab", "", "cde"]
    calls = [("encode_image", images), ("encode_text", texts), ("encode_image", images[:1])]
    payload = {
        "kind": "embedding-model",
        "calls": calls,
        "spec": f"{user_module.__name__}:Embedder",
        "prepare": False,
    }
    outputs = run_child_main(tmp_path, payload)
    model = user_module.Embedder()
    assert len(outputs) == len(calls)
    for out, (method, value) in zip(outputs, calls, strict=True):
        assert isinstance(out, np.ndarray)
        expected = getattr(model, method)(value)
        assert out.dtype == expected.dtype
        np.testing.assert_array_equal(out, expected)


def test_child_main_prepares_the_model_again_when_the_kit_fitted_it(
    user_module: Any, tmp_path: Path
) -> None:
    X = np.arange(12, dtype=np.float64).reshape(2, 6)
    payload = {
        "kind": "classification-model",
        "calls": [("predict", X)],
        "spec": f"{user_module.__name__}:Unfitted",
        "prepare": True,
    }
    (out,) = run_child_main(tmp_path, payload)
    np.testing.assert_array_equal(out, np.repeat(X[:, :1], 3, axis=1))  # fitted: 3 classes


def test_child_main_rebuilds_a_pickled_model(user_module: Any, tmp_path: Path) -> None:
    X = np.array([[1.0, 2.0], [-0.0, 3.5]])
    payload = {
        "kind": "classification-model",
        "calls": [("predict", X)],
        "model": pickle.dumps(user_module.model),
    }
    (out,) = run_child_main(tmp_path, payload)
    np.testing.assert_array_equal(out, X * [1.0, -1.0])
    assert out.tobytes() == (X * [1.0, -1.0]).tobytes()  # the signed zero too


def test_child_main_reports_a_model_it_cannot_rebuild(user_module: Any, tmp_path: Path) -> None:
    name = user_module.__name__
    payload = {
        "kind": "classification-model",
        "calls": [("predict", np.zeros((1, 2)))],
        "spec": f"{name}:failing_factory",
        "prepare": False,
    }
    assert run_child_main(tmp_path, payload) == (
        f"TypeError: calling the factory {name}:failing_factory() raised RuntimeError: "
        "no weights file"
    )


def test_child_main_reports_a_failing_call_and_runs_the_others(
    user_module: Any, tmp_path: Path
) -> None:
    bad, good = np.ones((2, 3)), np.ones((2, 2))
    try:
        user_module.model.predict(bad)
    except Exception as exc:
        expected = f"raised {type(exc).__name__}: {exc}"
    payload = {
        "kind": "classification-model",
        "calls": [("predict", bad), ("predict", good)],
        "spec": f"{user_module.__name__}:model",
        "prepare": False,
    }
    failed, out = run_child_main(tmp_path, payload)
    assert failed == expected
    np.testing.assert_array_equal(out, good * [1.0, -1.0])


# --- messages and precedence -----------------------------------------------------------------


def test_the_current_directory_comes_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # As with python -m: a module in the current directory shadows one of the same name
    # elsewhere on sys.path.
    name = "mmref_mutation_targets_shadowed"
    elsewhere, here = tmp_path / "elsewhere", tmp_path / "here"
    for directory in (elsewhere, here):
        directory.mkdir()
        (directory / f"{name}.py").write_text(f"WHERE = {directory.name!r}\n")
    monkeypatch.chdir(here)
    monkeypatch.setattr(sys, "path", [str(elsewhere), *(p for p in sys.path if p != "")])
    monkeypatch.delitem(sys.modules, name, raising=False)
    try:
        assert import_spec(f"{name}:WHERE", require_attr=True) == "here"
    finally:
        sys.modules.pop(name, None)


def test_target_errors_say_what_the_object_is() -> None:
    def two_arguments(image: Any, text: Any) -> None: ...

    class TwoArguments:
        def __call__(self, image: Any, text: Any) -> None: ...

        def __repr__(self) -> str:
            return "TwoArguments()"

    cases = [
        ("classification-model", 42,
         "A classification-model must have the methods predict; got 42 of type int."),
        ("joint-embedding", 42, "A joint-embedding target must be a function; got 42."),
        ("joint-embedding", two_arguments,
         "A joint-embedding function must accept three positional arguments; "
         f"'two_arguments' has the signature {inspect.signature(two_arguments)}."),
        ("classification", TwoArguments(),
         "A classification function must accept three positional arguments; "
         f"TwoArguments() has the signature {inspect.signature(TwoArguments())}."),
    ]  # fmt: skip
    for kind, obj, message in cases:
        with pytest.raises(TypeError) as caught:
            check_target(kind, obj)
        assert str(caught.value) == message


def test_a_target_whose_attributes_raise_is_quoted(user_module: Any) -> None:
    spec = f"{user_module.__name__}:hostile"
    with pytest.raises(TypeError) as caught:
        resolve_target(spec, "classification-model")
    assert str(caught.value) == f"looking at {spec} raised RuntimeError: attribute access refused"


def test_importable_name_of_an_instance_is_none(user_module: Any) -> None:
    # A callable instance has a module (its class's) but no qualified name of its own.
    assert importable_name(user_module.model) is None


def test_prepare_never_modifies_the_model_given() -> None:
    class Remembers:
        def __init__(self) -> None:
            self.seen: list[int] = []

        def fit(self, X: Any, y: Any) -> None:
            self.seen.append(len(y))
            self.n_features_in_ = X.shape[1]

        def predict(self, X: Any) -> Any:
            return X

    model = Remembers()
    fitted, _ = prepare_classification_model(model)
    assert fitted.seen == [60]
    assert model.seen == [] and not hasattr(model, "n_features_in_")
