"""Targets as a user names and prepares them (mmref.conformance._targets).

Resolving ``MODULE:ATTR`` (instances, factories, dotted attributes, hostile modules),
the checks on what a target is, the data set a model is fitted on (recomputed here from
its documented formula), and the fresh process: a model that claims determinism but is
not deterministic across processes is caught, a deterministic one passes, and the
reasons a fresh process cannot be used are reported as such.
"""

from __future__ import annotations

import sys
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
    import_spec,
    importable_name,
    synthetic_classification_data,
)

FEW = 2

MODULE = '''
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
        return X + float(hash("salt") % 997)

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
        with pytest.raises(ValueError, match="MODULE or MODULE:ATTR"):
            import_spec(spec, require_attr=False)


def test_the_current_directory_is_importable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mmref_cwd_target.py").write_text("def fn(image, text, model):\n    return None\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
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

    local = fresh(Local())
    assert local.status == "SKIP" and "cannot be pickled" in local.message
    assert "spec='MODULE:ATTR'" in local.message


def test_fresh_process_is_skipped_for_models_that_do_not_claim_it(user_module: Any) -> None:
    result = fresh(user_module.model, spec=f"{user_module.__name__}:model")
    assert result.status == "SKIP" and "__mmref_deterministic__ = True" in result.message
