"""ParamsMixin and TransformerMixin: scikit-learn's parameter conventions without scikit-learn."""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmref._base import ParamsMixin, TransformerMixin


class Inner(ParamsMixin):
    def __init__(self, alpha: float = 1.0, *, name: str = "inner") -> None:
        self.alpha = alpha
        self.name = name


class Outer(ParamsMixin, TransformerMixin):
    _mmref_regenerable_ = ("_cache",)

    def __init__(self, inner: Any = None, scale: float = 2.0, tags: Any = (1, 2)) -> None:
        self.inner = inner
        self.scale = scale
        self.tags = tags

    def fit(self, X: Any, y: Any = None) -> Outer:
        self.n_features_in_ = np.asarray(X).shape[1]
        self._cache = np.zeros(10_000)  # stands in for a large regenerable matrix
        return self

    def transform(self, X: Any) -> Any:
        return np.asarray(X) * self.scale


def test_get_params_reads_constructor_arguments_unchanged() -> None:
    inner = Inner(3.0)
    tags = [1, 2, 3]
    outer = Outer(inner, tags=tags)
    shallow = outer.get_params(deep=False)
    assert list(shallow) == ["inner", "scale", "tags"]  # sorted, as scikit-learn sorts
    assert shallow["inner"] is inner and shallow["tags"] is tags
    deep = outer.get_params()
    assert deep == {**shallow, "inner__alpha": 3.0, "inner__name": "inner"}


def test_set_params_sets_top_level_and_nested_and_returns_self() -> None:
    outer = Outer(Inner())
    assert outer.set_params(scale=5.0, inner__alpha=0.5, inner__name="x") is outer
    assert outer.scale == 5.0 and outer.inner.alpha == 0.5 and outer.inner.name == "x"
    replacement = Inner(9.0)
    # Replacing a sub-estimator and setting its parameters in one call uses the new one.
    outer.set_params(inner=replacement, inner__name="new")
    assert outer.inner is replacement and replacement.name == "new"
    assert outer.set_params() is outer


def test_set_params_rejects_unknown_names_listing_the_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"Invalid parameter 'scal' for Outer; valid .*scale"):
        Outer().set_params(scal=1)
    with pytest.raises(ValueError, match="Invalid parameter 'beta' for Inner"):
        Outer(Inner()).set_params(inner__beta=1)
    with pytest.raises(ValueError, match="has no parameters to set"):
        Outer(inner=None).set_params(inner__alpha=1)


def test_set_params_does_not_validate() -> None:
    # Validation happens at fit / first use, never in set_params (scikit-learn convention).
    assert Outer().set_params(scale="not a number").scale == "not a number"


def test_repr_shows_parameters_that_differ_from_defaults() -> None:
    assert repr(Outer()) == "Outer()"
    assert repr(Outer(Inner(2.5), scale=3.0)) == "Outer(inner=Inner(alpha=2.5), scale=3.0)"
    # An equal value of another type is not the default (1 is not 1.0 for a dtype-like param).
    assert repr(Inner(1)) == "Inner(alpha=1)"
    assert repr(Outer(tags=np.arange(3))) == "Outer(tags=array([0, 1, 2]))"
    assert len(repr(Inner(name="x" * 1000))) < 230


def test_pickle_and_deepcopy_drop_regenerable_caches_only() -> None:
    outer = Outer(Inner(), scale=3.0).fit(np.ones((2, 4)))
    outer.fitted_ = "kept"
    restored = pickle.loads(pickle.dumps(outer))
    assert not hasattr(restored, "_cache")
    assert restored.n_features_in_ == 4 and restored.fitted_ == "kept"
    assert restored.get_params(deep=False).keys() == outer.get_params(deep=False).keys()
    assert len(pickle.dumps(outer)) < 1000 < outer._cache.nbytes
    assert not hasattr(copy.deepcopy(outer), "_cache")
    assert hasattr(outer, "_cache")  # the original keeps its cache


def test_fit_transform_is_fit_then_transform() -> None:
    X = np.arange(6.0).reshape(3, 2)
    est = Outer(scale=4.0)
    np.testing.assert_array_equal(est.fit_transform(X), X * 4.0)
    assert est.n_features_in_ == 2


def test_varargs_constructors_are_refused() -> None:
    class Bad(ParamsMixin):
        def __init__(self, *layers: int) -> None:
            self.layers = layers

    with pytest.raises(RuntimeError, match=r"takes \*layers"):
        Bad(1, 2).get_params()


def test_no_constructor_means_no_parameters() -> None:
    class Plain(ParamsMixin):
        pass

    assert Plain().get_params() == {} and repr(Plain()) == "Plain()"


@given(
    alpha=st.floats(allow_nan=False) | st.integers() | st.none(),
    name=st.text(max_size=20),
)
def test_round_trip_through_the_constructor(alpha: Any, name: str) -> None:
    inner = Inner(alpha, name=name)
    again = Inner(**inner.get_params())
    assert again.get_params() == inner.get_params()


def test_sklearn_clone_and_tags() -> None:
    pytest.importorskip("sklearn")
    from sklearn.base import clone
    from sklearn.utils import get_tags

    outer = Outer(Inner(4.0), scale=1.5).fit(np.ones((1, 3)))
    twin = clone(outer)
    assert twin is not outer and twin.inner is not outer.inner
    params = twin.get_params()
    assert params.pop("inner").get_params() == Inner(4.0).get_params()
    assert params == {k: v for k, v in outer.get_params().items() if k != "inner"}
    assert not hasattr(twin, "n_features_in_")  # clone is unfitted
    tags = get_tags(outer)
    assert tags.transformer_tags is not None and tags.requires_fit
    assert tags.target_tags.required is False and tags.estimator_type is None
    assert get_tags(Inner()).transformer_tags is None


def test_importing_the_mixin_does_not_import_sklearn() -> None:
    code = "import sys, mmref._base; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
