"""scikit-learn's own tests of HashingVectorizer and random projection, run against mmref.

scikit-learn's test modules ``sklearn/feature_extraction/tests/test_text.py`` (the
tests that use ``HashingVectorizer``) and ``sklearn/tests/test_random_projection.py``
ship in its wheel. They are imported here afresh, with scikit-learn's classes replaced
by thin wrappers around mmref while the module is imported: ``HashingVectorizer`` by
``BagOfWordsTextEncoder``, ``SparseRandomProjection`` / ``GaussianRandomProjection`` and
their matrix functions by ``RandomProjectionImageEncoder``, and
``johnson_lindenstrauss_min_dim`` by mmref's. The wrappers only translate the interface
(parameter names, ``random_state`` to ``seed``, sparse matrix types); every computation is
mmref's.

A test that does not apply is in ``NOT_APPLICABLE`` with its reason: it must fail
(``xfail(strict=True)``), so a listed test that starts to pass fails the run and the list
can only shrink. Keys are pytest node names (with parameters) or a function name for
all of its parameters.
"""

from __future__ import annotations

import importlib.util
import inspect
import numbers
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

import scipy.sparse as sp  # noqa: E402
from sklearn.base import BaseEstimator, TransformerMixin  # noqa: E402
from sklearn.exceptions import (  # noqa: E402
    DataDimensionalityWarning as SklearnDataDimensionalityWarning,
)
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer  # noqa: E402

import mmref.image as mmref_image  # noqa: E402
from mmref.exceptions import DataDimensionalityWarning  # noqa: E402
from mmref.image import RandomProjectionImageEncoder  # noqa: E402
from mmref.text import BagOfWordsTextEncoder  # noqa: E402

SK_PATTERN = r"(?u)\b\w\w+\b"


# -- the wrappers -----------------------------------------------------------------------


class MmrefHashingVectorizer(TransformerMixin, BaseEstimator):
    """scikit-learn's ``HashingVectorizer`` interface over ``BagOfWordsTextEncoder``."""

    def __init__(
        self,
        *,
        input: str = "content",
        encoding: str = "utf-8",
        decode_error: str = "strict",
        strip_accents: Any = None,
        lowercase: bool = True,
        preprocessor: Any = None,
        tokenizer: Any = None,
        stop_words: Any = None,
        token_pattern: Any = SK_PATTERN,
        ngram_range: tuple[int, int] = (1, 1),
        analyzer: Any = "word",
        n_features: int = 2**20,
        binary: bool = False,
        norm: Any = "l2",
        alternate_sign: bool = True,
        dtype: Any = np.float64,
    ) -> None:
        self.input = input
        self.encoding = encoding
        self.decode_error = decode_error
        self.strip_accents = strip_accents
        self.lowercase = lowercase
        self.preprocessor = preprocessor
        self.tokenizer = tokenizer
        self.stop_words = stop_words
        self.token_pattern = token_pattern
        self.ngram_range = ngram_range
        self.analyzer = analyzer
        self.n_features = n_features
        self.binary = binary
        self.norm = norm
        self.alternate_sign = alternate_sign
        self.dtype = dtype

    def _encoder(self) -> BagOfWordsTextEncoder:
        if self.binary:
            raise NotImplementedError("binary=True (every stored value 1) has no mmref weighting")
        word_rule = self.analyzer == "word" and self.tokenizer is None
        # scikit-learn's default pattern is ignored (silently) where it does not apply.
        pattern = self.token_pattern
        if pattern == SK_PATTERN and not word_rule:
            pattern = None
        return BagOfWordsTextEncoder(
            self.n_features,
            ngram_range=self.ngram_range,
            token_pattern=pattern,
            unicode_form=None,
            lowercase=self.lowercase,
            alternate_sign=self.alternate_sign,
            normalize=self.norm,
            dtype=self.dtype,
            strip_accents=self.strip_accents,
            analyzer=self.analyzer,
            stop_words=self.stop_words,
            preprocessor=self.preprocessor,
            tokenizer=self.tokenizer,
        )

    def _docs(self, X: Any) -> list[Any]:
        """scikit-learn's ``decode``: read files, decode bytes (mmref takes str)."""
        if isinstance(X, str):
            raise ValueError("Iterable over raw text documents expected, string object received.")
        docs = []
        for doc in X:
            if self.input == "filename":
                with open(doc, "rb") as handle:
                    doc = handle.read()
            elif self.input == "file":
                doc = doc.read()
            if isinstance(doc, bytes):
                doc = doc.decode(self.encoding, self.decode_error)
            docs.append(doc)
        return docs

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.requires_fit = self._encoder()._mmref_requires_fit()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags

    def fit(self, X: Any, y: Any = None) -> MmrefHashingVectorizer:
        self._encoder().fit(self._docs(X))
        return self

    def partial_fit(self, X: Any, y: Any = None) -> MmrefHashingVectorizer:
        return self

    def transform(self, X: Any) -> Any:
        return sp.csr_matrix(self._encoder().transform_sparse(self._docs(X)))

    def fit_transform(self, X: Any, y: Any = None) -> Any:
        return self.fit(X).transform(X)

    def build_analyzer(self) -> Any:
        encoder = self._encoder()
        return lambda doc: encoder.tokenize(self._docs([doc])[0])


def _seed(random_state: Any) -> int:
    if random_state is None:
        return 0
    if isinstance(random_state, numbers.Integral):
        return int(random_state)
    raise TypeError("mmref's matrices come from an integer seed, not a RandomState")


def _dense(X: Any) -> Any:
    """mmref projects dense pixels only and says so (``X.toarray()``): the wrapper does it."""
    return X.toarray() if sp.issparse(X) else X


class _MmrefProjection(TransformerMixin, BaseEstimator):
    method = "sparse"

    def _fit(self, X: Any) -> None:
        from sklearn.random_projection import johnson_lindenstrauss_min_dim

        n_samples, n_features = np.shape(X)
        k = self.n_components
        if k == "auto":
            k = int(johnson_lindenstrauss_min_dim(n_samples, eps=self.eps))
        dtype = np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64
        extra = {"density": self.density} if self.method == "sparse" else {}
        self._encoder = RandomProjectionImageEncoder(
            k,
            method=self.method,
            seed=_seed(self.random_state),
            normalize=False,
            dtype=dtype,
            max_matrix_bytes=2**31,
            **extra,
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DataDimensionalityWarning)
            self._encoder.fit(X)
        for warning in caught:  # mmref's warning, re-issued as scikit-learn's class
            if issubclass(warning.category, DataDimensionalityWarning):
                warnings.warn(str(warning.message), SklearnDataDimensionalityWarning, stacklevel=3)
            else:
                warnings.warn_explicit(
                    warning.message, warning.category, warning.filename, warning.lineno
                )
        self.n_components_ = k
        matrix = self._encoder.get_projection_matrix()
        self.components_ = sp.csr_matrix(matrix) if sp.issparse(matrix) else matrix
        if self.method == "sparse":
            self.density_ = 1 / np.sqrt(n_features) if self.density == "auto" else self.density
        if self.compute_inverse_components:
            self.inverse_components_ = self._encoder.inverse_transform(np.eye(k)).T

    def fit(self, X: Any, y: Any = None) -> Any:
        self._fit(_dense(X))
        self.n_features_in_ = np.shape(X)[1]
        return self

    def transform(self, X: Any) -> Any:
        if not hasattr(self, "_encoder"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("This projection is not fitted yet. Call 'fit' first.")
        return self._encoder.transform(_dense(X))

    def inverse_transform(self, X: Any) -> Any:
        return self._encoder.inverse_transform(_dense(X))


class MmrefSparseRandomProjection(_MmrefProjection):
    """scikit-learn's ``SparseRandomProjection`` interface over mmref (method="sparse")."""

    method = "sparse"

    def __init__(
        self,
        n_components: Any = "auto",
        *,
        density: Any = "auto",
        eps: float = 0.1,
        dense_output: bool = False,
        compute_inverse_components: bool = False,
        random_state: Any = None,
    ) -> None:
        self.n_components = n_components
        self.density = density
        self.eps = eps
        self.dense_output = dense_output
        self.compute_inverse_components = compute_inverse_components
        self.random_state = random_state


class MmrefGaussianRandomProjection(_MmrefProjection):
    """scikit-learn's ``GaussianRandomProjection`` interface over mmref (method="gaussian")."""

    method = "gaussian"

    def __init__(
        self,
        n_components: Any = "auto",
        *,
        eps: float = 0.1,
        compute_inverse_components: bool = False,
        random_state: Any = None,
    ) -> None:
        self.n_components = n_components
        self.eps = eps
        self.compute_inverse_components = compute_inverse_components
        self.random_state = random_state


def mmref_gaussian_random_matrix(n_components: int, n_features: int, random_state: Any = None):
    encoder = RandomProjectionImageEncoder(
        n_components, method="gaussian", seed=_seed(random_state)
    )
    return encoder.get_projection_matrix(n_features)


def mmref_sparse_random_matrix(
    n_components: int, n_features: int, density: Any = "auto", random_state: Any = None
):
    encoder = RandomProjectionImageEncoder(
        n_components, method="sparse", density=density, seed=_seed(random_state)
    )
    matrix = encoder.get_projection_matrix(n_features)
    return matrix.toarray() if density == 1 else sp.csr_matrix(matrix)


# -- importing scikit-learn's test modules with the wrappers in place --------------------


def _import_patched(relative: str, patches: dict[str, dict[str, Any]]) -> Any:
    """Import scikit-learn's test module ``relative`` afresh with ``patches`` applied."""
    path = Path(sklearn.__file__).parent / relative
    if not path.is_file():
        pytest.skip(f"scikit-learn's wheel does not ship {relative}", allow_module_level=True)
    saved = {
        (module, name): getattr(importlib.import_module(module), name)
        for module, names in patches.items()
        for name in names
    }
    try:
        for module, names in patches.items():
            for name, value in names.items():
                setattr(sys.modules[module], name, value)
        name = "mmref_sklearn_suite." + relative.replace("/", ".").removesuffix(".py")
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        for (module_name, attr), value in saved.items():
            setattr(sys.modules[module_name], attr, value)
    return module


_text = _import_patched(
    "feature_extraction/tests/test_text.py",
    {"sklearn.feature_extraction.text": {"HashingVectorizer": MmrefHashingVectorizer}},
)
_projection = _import_patched(
    "tests/test_random_projection.py",
    {
        "sklearn.random_projection": {
            "SparseRandomProjection": MmrefSparseRandomProjection,
            "GaussianRandomProjection": MmrefGaussianRandomProjection,
            "_sparse_random_matrix": mmref_sparse_random_matrix,
            "_gaussian_random_matrix": mmref_gaussian_random_matrix,
            "johnson_lindenstrauss_min_dim": mmref_image.johnson_lindenstrauss_min_dim,
        }
    },
)


def _tests(module: Any, *, mentioning: str | None = None) -> dict[str, Any]:
    found = {}
    for name, func in vars(module).items():
        wanted = name.startswith("test_") and inspect.isfunction(func)
        if wanted and (mentioning is None or mentioning in inspect.getsource(func)):
            found[name] = func
    return found


TEXT_TESTS = _tests(_text, mentioning="HashingVectorizer")
PROJECTION_TESTS = _tests(_projection)
for _name, _func in {**TEXT_TESTS, **PROJECTION_TESTS}.items():
    globals()[_name] = _func


@pytest.fixture
def global_random_seed() -> int:
    """scikit-learn's conftest fixture (its default value)."""
    return 42


# -- the tests that do not apply --------------------------------------------------------

_SPARSE_OUT = (
    "mmref projects dense pixels into a dense array: sparse input is refused (the wrapper "
    "densifies it) and the output is never sparse (dense_output=False does not exist)"
)
_UNUSED = (
    "a parameter the analyzer ignores is a ValueError naming it in mmref; scikit-learn warns "
    "and goes on"
)
NOT_APPLICABLE: dict[str, str] = {
    # HashingVectorizer (sklearn/feature_extraction/tests/test_text.py)
    "test_hashed_binary_occurrences": (
        "binary=True sets every stored value to 1 (cancelled and negative entries included); "
        "mmref's weighting='binary' is sign(v), so the wrapper refuses binary=True"
    ),
    "test_pickling_vectorizer": "it includes HashingVectorizer(binary=True) (see above)",
    "test_hashingvectorizer_nan_in_docs": (
        "mmref raises TypeError naming texts[i] for a non-str document; scikit-learn raises "
        "ValueError 'np.nan is an invalid document'"
    ),
    "test_n_features_in": (
        "fit checks every document: a dict document is a TypeError in mmref, ignored by "
        "scikit-learn's HashingVectorizer.fit"
    ),
    "test_vectorizers_invalid_ngram_range": (
        "mmref's message for ngram_range=(2, 1) names the parameter in mmref's words, not "
        "scikit-learn's 'Invalid value for ngram_range=(2, 1) lower boundary larger than the "
        "upper boundary.'"
    ),
    "test_vectorizer_stop_words_inconsistent": (
        "mmref does not warn that stop words are inconsistent with the preprocessing (its "
        "stop words are compared with the preprocessed tokens, as scikit-learn's)"
    ),
    "test_stop_word_validation_custom_preprocessor": (
        "scikit-learn's get_stop_words and _check_stop_words_consistency are not mmref API"
    ),
    "test_callable_analyzer_error[filename-FileNotFoundError--MmrefHashingVectorizer]": (
        "the test passes match='' to pytest.raises, which pytest warns about, and mmref's "
        "pytest configuration makes warnings errors"
    ),
    "test_unused_parameters_warn": _UNUSED,
    # random projection (sklearn/tests/test_random_projection.py)
    "test_too_many_samples_to_find_a_safe_embedding": (
        "n_components='auto' is scikit-learn's (mmref takes an int; the wrapper computes it "
        "with mmref's johnson_lindenstrauss_min_dim), and so is the ValueError when it exceeds "
        "n_features; mmref projects to more dimensions with a DataDimensionalityWarning"
    ),
    "test_random_projection_embedding_quality": (
        "a Johnson-Lindenstrauss bound checked on one random draw: mmref's Gaussian matrix "
        "for seed 0 gives a largest distance ratio of 1.232 > 1 + eps = 1.2; scikit-learn's "
        "own GaussianRandomProjection fails it too for random_state=2 (1.217)"
    ),
    "test_SparseRandomProj_output_representation": _SPARSE_OUT,
    "test_random_projection_feature_names_out": (
        "RandomProjectionImageEncoder has no get_feature_names_out (no feature names: "
        "image pixels in, embedding components out)"
    ),
    "test_random_projection_numerical_consistency[MmrefGaussianRandomProjection]": (
        "with dtype=float32 mmref computes the Gaussian matrix in float32 (SPEC 4.5's "
        "tolerance), so it differs from the float64 matrix by more than rtol=1e-7; "
        "scikit-learn draws in float64 and casts"
    ),
}


# scikit-learn's own classes, as some of the tests also take them as parameters.
OTHER_CLASSES = (CountVectorizer, TfidfVectorizer)


@pytest.fixture(autouse=True)
def _not_applicable(request: pytest.FixtureRequest) -> None:
    node = request.node
    params = getattr(getattr(node, "callspec", None), "params", {})
    for value in params.values():
        if value in OTHER_CLASSES or isinstance(value, OTHER_CLASSES):
            pytest.skip("this parametrization tests scikit-learn's own class, not mmref")
    reason = NOT_APPLICABLE.get(node.name) or NOT_APPLICABLE.get(node.originalname)
    if reason is not None:
        node.add_marker(pytest.mark.xfail(strict=True, reason=reason))


def test_the_suite_was_collected() -> None:
    assert len(TEXT_TESTS) >= 15, sorted(TEXT_TESTS)
    assert len(PROJECTION_TESTS) >= 15, sorted(PROJECTION_TESTS)
    unknown = {key.split("[")[0] for key in NOT_APPLICABLE} - {*TEXT_TESTS, *PROJECTION_TESTS}
    assert not unknown, unknown
