"""Running the conformance properties: :func:`run_checks` and the ``check_*`` entry points.

:func:`run_checks` validates the kind, the target, the property names and the options,
prepares a classification model (fitting a copy when it has no ``n_features_in_``), then
runs each property of the kind and the profile in order and returns one
:class:`CheckResult` per property. The ``core`` profile runs the ``core`` properties;
``strict`` runs them and then the ``strict`` ones. The run happens in a worker thread
watched by the caller's (:mod:`._watch`): a step that calls the target and takes longer
than ``timeout`` seconds fails its property, and the properties after it are reported
``SKIP``. The ``check_*`` functions run every property of their kind and profile and
raise :class:`mmref.ConformanceError` for the first failure that is not a known failure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..exceptions import ConformanceError
from ._classification import CLASSIFICATION
from ._core import (
    CheckResult,
    Context,
    Property,
    check_kind_name,
    raise_first,
    run_one,
)
from ._joint import JOINT_EMBEDDING
from ._models import CLASSIFICATION_MODEL, EMBEDDING_MODEL
from ._targets import check_target, importable_name, prepare_classification_model
from ._watch import DEFAULT_TIMEOUT, TimedOut, Watch, check_timeout, run_watched

__all__ = [
    "DTYPE_PRESETS",
    "MAX_EXAMPLES",
    "PROPERTIES",
    "PROPERTY_PROFILES",
    "check_classification_model",
    "check_dtypes",
    "check_embedding_model",
    "check_joint_embedding",
    "check_max_examples",
    "check_multimodal_classification",
    "check_property",
    "properties_of",
    "run_checks",
]

_REGISTRY: dict[str, dict[str, Property]] = {
    props.kind: props.by_name
    for props in (JOINT_EMBEDDING, CLASSIFICATION, EMBEDDING_MODEL, CLASSIFICATION_MODEL)
}

#: ``{kind: {property name: what it asserts}}`` for every property of every kind.
PROPERTIES: dict[str, dict[str, str]] = {
    kind: {name: p.description for name, p in props.items()} for kind, props in _REGISTRY.items()
}

#: ``{kind: {property name: "core" or "strict"}}``: the profile each property belongs to.
PROPERTY_PROFILES: dict[str, dict[str, str]] = {
    kind: {name: p.profile for name, p in props.items()} for kind, props in _REGISTRY.items()
}

#: The most Hypothesis examples per property a run may ask for (SPEC.md 12.7).
MAX_EXAMPLES = 100_000


_TORCH_INTEGERS = ("uint8", "int8", "int16", "int32", "int64")
_TORCH_FLOATS = ("float16", "float32", "float64")

#: ``{preset: {kind: dtype names}}``: the dtypes a framework's tensors support, per kind.
#: ``torch``: no uint16/32/64 (torch cannot promote them), no bool scores (torch.argmax
#: refuses bool), float32/float64 inputs for a classification model.
DTYPE_PRESETS: dict[str, dict[str, tuple[str, ...]]] = {
    "torch": {
        "joint-embedding": ("bool", *_TORCH_INTEGERS, *_TORCH_FLOATS, "complex64", "complex128"),
        "classification": (*_TORCH_INTEGERS, *_TORCH_FLOATS),
        "embedding-model": ("bool", *_TORCH_INTEGERS, *_TORCH_FLOATS),
        "classification-model": ("float32", "float64"),
    }
}

# The dtype kinds each kind of target can be given: embeddings of any number, real scores,
# real pixels, float features.
_DTYPE_KINDS = {
    "joint-embedding": ("biufc", "numbers (bool, integer, float or complex)"),
    "classification": ("biuf", "real numbers (bool, integer or float)"),
    "embedding-model": ("biuf", "real numbers (bool, integer or float)"),
    "classification-model": ("f", "floats"),
}


def check_dtypes(
    kind: str, dtypes: str | Sequence[npt.DTypeLike] | None
) -> tuple[np.dtype[Any], ...] | None:
    """The dtypes a run of ``kind`` draws from: ``dtypes`` checked, or a preset's.

    Parameters
    ----------
    kind : str
        One of :data:`~mmref.conformance.KINDS`.
    dtypes : str, sequence of dtype-like, or None
        The name of a preset of :data:`DTYPE_PRESETS` (``"torch"``), a string of
        comma-separated dtype names (``"float32,float64"``), or dtypes; None: the
        kit's defaults (every dtype the specification admits).

    Returns
    -------
    dtypes : tuple of numpy.dtype, or None
        Without repeats, in the order given.

    Raises
    ------
    ValueError
        If ``dtypes`` is empty, names no NumPy dtype, or holds a dtype the kind
        cannot be given (a complex score, an integer feature matrix).

    Examples
    --------
    >>> from mmref.conformance import check_dtypes
    >>> [str(d) for d in check_dtypes("classification", "torch")]
    ['uint8', 'int8', 'int16', 'int32', 'int64', 'float16', 'float32', 'float64']
    """
    check_kind_name(kind)
    if dtypes is None:
        return None
    if isinstance(dtypes, str):
        preset = DTYPE_PRESETS.get(dtypes.strip())
        names: Sequence[Any] = (
            preset[kind] if preset else [d.strip() for d in dtypes.split(",") if d.strip()]
        )
    else:
        names = list(dtypes)
    result: list[np.dtype[Any]] = []
    allowed, what = _DTYPE_KINDS[kind]
    for name in names:
        try:
            dtype = np.dtype(name)
        except TypeError:
            raise ValueError(
                f"dtypes must name NumPy dtypes (or a preset: {', '.join(DTYPE_PRESETS)}). "
                f"Got {name!r}, which is not a dtype."
            ) from None
        if dtype.kind not in allowed:
            raise ValueError(f"dtypes for {kind} must be {what}. Got {dtype} instead.")
        if dtype not in result:
            result.append(dtype)
    if not result:
        raise ValueError(f"dtypes must name at least one dtype. Got {dtypes!r} instead.")
    return tuple(result)


def check_max_examples(max_examples: int | None) -> int | None:
    """``max_examples`` if None or an int in ``[1, MAX_EXAMPLES]``, else ValueError.

    Raises
    ------
    ValueError
        If ``max_examples`` is not None and not an int from 1 to :data:`MAX_EXAMPLES`.
    """
    if max_examples is None:
        return None
    if (
        isinstance(max_examples, bool)
        or not isinstance(max_examples, int)
        or not 1 <= max_examples <= MAX_EXAMPLES
    ):
        raise ValueError(
            f"max_examples must be an integer from 1 to {MAX_EXAMPLES}, or None. "
            f"Got {max_examples!r} instead."
        )
    return max_examples


def check_joint_embedding(
    fn: Callable[..., Any],
    *,
    max_examples: int | None = None,
    known_failures: Mapping[str, str] | None = None,
    strict: bool = False,
    timeout: float | None = DEFAULT_TIMEOUT,
    dtypes: str | Sequence[npt.DTypeLike] | None = None,
) -> list[CheckResult]:
    """Check a ``joint_embedding(image, text, model)`` implementation against the SPEC.

    The function is called with stub models (:class:`mmref.testing.StubEmbeddingModel`)
    returning embeddings of arbitrary widths (0 to 5 columns), row counts
    (0 to 5) and dtypes (bool to complex, NaN and ``-0.0`` included), and
    with image batches and text lists as ``image`` and ``text``.

    Parameters
    ----------
    fn : callable
        The implementation under test.
    max_examples : int, default=None
        Hypothesis examples per property (explicit examples come on top), from 1
        to :data:`MAX_EXAMPLES`; None uses the current Hypothesis profile's
        ``max_examples``.
    known_failures : mapping of str to str, default=None
        ``{property name: reason}`` for violations you know of; they are
        reported as ``XFAIL`` instead of raising.
    strict : bool, default=False
        Check the ``strict`` profile (the ``core`` properties, then mmref's
        hardening: exact exception types, non-2-D outputs, ...) instead of ``core``
        (what the source functions of the specification do).
    timeout : float or None, default=60.0
        Seconds the calls of one example may take; a property whose calls take
        longer fails, and the properties after it are skipped. The calls run in a
        daemon thread that cannot be stopped: it is left running. None: no limit.
    dtypes : str or sequence of dtype-like, default=None
        Draw the model outputs only in these dtypes: the ones your implementation
        supports, e.g. ``"float32,float64"`` or the preset ``"torch"`` (see
        :func:`check_dtypes`); dtype promotion is checked within them. None: every
        numeric dtype (bool to complex).

    Returns
    -------
    results : list of CheckResult
        One per property of the profile, in the order of
        ``PROPERTIES["joint-embedding"]``.

    Raises
    ------
    ConformanceError
        For the first property that fails and is not a known failure; the
        message names the property, the minimal counterexample and a snippet
        reproducing it, and lists the other failing properties.

    Examples
    --------
    >>> import mmref
    >>> from mmref.conformance import check_joint_embedding
    >>> results = check_joint_embedding(mmref.joint_embedding, max_examples=5, strict=True)
    >>> sorted({r.status for r in results})
    ['PASS']
    """
    return raise_first(
        run_checks(
            "joint-embedding",
            fn,
            max_examples=max_examples,
            known_failures=known_failures,
            strict=strict,
            timeout=timeout,
            dtypes=dtypes,
        )
    )


def check_multimodal_classification(
    fn: Callable[..., Any],
    *,
    max_examples: int | None = None,
    known_failures: Mapping[str, str] | None = None,
    strict: bool = False,
    timeout: float | None = DEFAULT_TIMEOUT,
    dtypes: str | Sequence[npt.DTypeLike] | None = None,
) -> list[CheckResult]:
    """Check a ``multimodal_classification(joint_embedding, labels, model)`` implementation.

    The function is called with stub models
    (:class:`mmref.testing.StubClassificationModel`) returning score
    matrices with frequent ties, ``+-0.0``, ``+-inf`` and extreme values, in
    every real dtype.

    Parameters
    ----------
    fn : callable
        The implementation under test.
    max_examples, known_failures, strict, timeout
        As in :func:`check_joint_embedding`.
    dtypes : str or sequence of dtype-like, default=None
        Draw the scores only in these dtypes (real ones), e.g. ``"torch"``
        (``torch.argmax`` refuses bool); None: every real dtype.

    Returns
    -------
    results : list of CheckResult
        One per property of the profile, in the order of ``PROPERTIES["classification"]``.

    Raises
    ------
    ConformanceError
        As in :func:`check_joint_embedding`.

    Examples
    --------
    >>> import mmref
    >>> from mmref.conformance import check_multimodal_classification
    >>> results = check_multimodal_classification(mmref.multimodal_classification, max_examples=5)
    >>> [r.name for r in results if r.status != "PASS"]
    []
    """
    return raise_first(
        run_checks(
            "classification",
            fn,
            max_examples=max_examples,
            known_failures=known_failures,
            strict=strict,
            timeout=timeout,
            dtypes=dtypes,
        )
    )


def check_embedding_model(
    model: Any,
    *,
    max_examples: int | None = None,
    known_failures: Mapping[str, str] | None = None,
    image_shape: tuple[int, ...] | None = None,
    image_dtypes: Sequence[npt.DTypeLike] | None = None,
    rtol: float | None = None,
    spec: str | None = None,
    strict: bool = False,
    timeout: float | None = DEFAULT_TIMEOUT,
    dtypes: str | Sequence[npt.DTypeLike] | None = None,
) -> list[CheckResult]:
    """Check an embedding model (``encode_image`` and ``encode_text``) against the protocol.

    Parameters
    ----------
    model : EmbeddingModel
        The model under test, ready to encode (fitted if it needs fitting).
    max_examples, known_failures, strict, timeout
        As in :func:`check_joint_embedding` (every model property is ``core``).
    image_shape : tuple of int, default=None
        The shape of one image the model accepts; a batch is
        ``(N, *image_shape)``. None takes ``model.image_shape`` (or
        the ``image_shape`` of ``model.image_encoder_``, else of ``model.image_encoder``)
        when it is a tuple, else
        ``(1, n_features_in_)`` for a fitted image encoder, else draws 2-D
        ``(H, W)`` shapes (a 3-D array is then a batch).
    image_dtypes : sequence of dtype, default=None
        Pixel dtypes to try; None tries all of
        :data:`mmref.strategies.PIXEL_DTYPES`.
    dtypes : str or sequence of dtype-like, default=None
        The same as ``image_dtypes`` (give one of them), also as a string:
        ``"uint8,float32"`` or the preset ``"torch"``.
    rtol : float, default=None
        Tolerance of ``row_independence``: ``|batch - single| <= rtol *
        max(1, max|row|)``. None derives it from the output dtype: ``1e-9``
        for float64, ``1e-4`` for float32, ``1e-2`` for float16, ``0`` for
        integers.
    spec : str, default=None
        The ``MODULE:ATTR`` the model came from, used to rebuild it in a fresh
        process and in reproducing snippets.

    Returns
    -------
    results : list of CheckResult

    Raises
    ------
    ConformanceError
        As in :func:`check_joint_embedding`.

    Examples
    --------
    >>> from mmref.image import RandomProjectionImageEncoder
    >>> from mmref.multimodal import MultimodalEncoder
    >>> from mmref.text import BagOfWordsTextEncoder
    >>> from mmref.conformance import check_embedding_model
    >>> model = MultimodalEncoder(RandomProjectionImageEncoder(16), BagOfWordsTextEncoder(64))
    >>> results = check_embedding_model(model, max_examples=3, image_shape=(8, 8))
    >>> {r.name: r.status for r in results}["row_independence"]
    'PASS'
    """
    return raise_first(
        run_checks(
            "embedding-model",
            model,
            max_examples=max_examples,
            known_failures=known_failures,
            image_shape=image_shape,
            image_dtypes=image_dtypes,
            rtol=rtol,
            spec=spec,
            strict=strict,
            timeout=timeout,
            dtypes=dtypes,
        )
    )


def check_classification_model(
    model: Any,
    *,
    max_examples: int | None = None,
    known_failures: Mapping[str, str] | None = None,
    n_features: int | None = None,
    rtol: float | None = None,
    spec: str | None = None,
    strict: bool = False,
    timeout: float | None = DEFAULT_TIMEOUT,
    dtypes: str | Sequence[npt.DTypeLike] | None = None,
) -> list[CheckResult]:
    """Check a classification model (``predict``) against the protocol.

    Parameters
    ----------
    model : ClassificationModel
        The model under test. A model without ``n_features_in_`` that has a
        ``fit(X, y)`` method is fitted first (a deep copy of it) on a small
        deterministic three-class data set (see
        :func:`prepare_classification_model`).
    max_examples, known_failures, rtol, spec, strict, timeout
        As in :func:`check_embedding_model`.
    n_features : int, default=None
        Input width; None takes ``model.n_features_in_``.
    dtypes : str or sequence of dtype-like, default=None
        The float dtypes of the inputs ``X``; None: float64 and float32.

    Returns
    -------
    results : list of CheckResult

    Raises
    ------
    ConformanceError
        As in :func:`check_joint_embedding`.

    Examples
    --------
    >>> from mmref.classifiers import NearestCentroidClassifier
    >>> from mmref.conformance import check_classification_model
    >>> results = check_classification_model(NearestCentroidClassifier(), max_examples=3)
    >>> [r.name for r in results]  # doctest: +NORMALIZE_WHITESPACE
    ['protocol_2d', 'width', 'finite', 'row_independence', 'deterministic', 'no_mutation',
     'fresh_process']
    """
    return raise_first(
        run_checks(
            "classification-model",
            model,
            max_examples=max_examples,
            known_failures=known_failures,
            n_features=n_features,
            rtol=rtol,
            spec=spec,
            strict=strict,
            timeout=timeout,
            dtypes=dtypes,
        )
    )


def run_checks(
    kind: str,
    target: Any,
    *,
    max_examples: int | None = None,
    known_failures: Mapping[str, str] | None = None,
    select: Sequence[str] | None = None,
    spec: str | None = None,
    image_shape: tuple[int, ...] | None = None,
    image_dtypes: Sequence[npt.DTypeLike] | None = None,
    n_features: int | None = None,
    rtol: float | None = None,
    strict: bool = False,
    timeout: float | None = DEFAULT_TIMEOUT,
    dtypes: str | Sequence[npt.DTypeLike] | None = None,
) -> list[CheckResult]:
    """Run the properties of ``kind`` on ``target`` and return every result; never raises them.

    A classification model is prepared with :func:`prepare_classification_model`
    first.

    Parameters
    ----------
    kind : str
        One of :data:`~mmref.conformance.KINDS`.
    target : callable or model
        The function or model under test.
    max_examples, known_failures
        As in :func:`check_joint_embedding`.
    select : sequence of str, default=None
        Run only these properties (still in the order of ``PROPERTIES[kind]``),
        whatever their profile; None runs those of the profile.
    spec : str, default=None
        The ``MODULE:ATTR`` the target came from, for snippets and the fresh
        process; None guesses it for a module-level function.
    image_shape, image_dtypes
        As in :func:`check_embedding_model` (embedding models only).
    n_features : int, default=None
        As in :func:`check_classification_model` (classification models only).
    rtol : float, default=None
        As in :func:`check_embedding_model` (the model kinds only).
    strict, timeout
        As in :func:`check_joint_embedding`.
    dtypes : str or sequence of dtype-like, default=None
        The dtypes drawn (see :func:`check_dtypes`): model outputs for the function
        kinds, pixels for an embedding model (as ``image_dtypes``), inputs for a
        classification model.

    Returns
    -------
    results : list of CheckResult
        One per property run, ``PASS``, ``FAIL``, ``XFAIL``, ``XPASS`` or ``SKIP``
        (also for the properties after one that timed out).

    Raises
    ------
    ValueError
        If ``kind``, a name in ``select`` or in ``known_failures`` is unknown,
        ``max_examples`` or ``timeout`` is out of bounds, ``dtypes`` is not valid
        for the kind, or both ``dtypes`` and ``image_dtypes`` are given.
    TypeError
        If ``target`` is not of the kind (not callable, or lacks the methods), or
        fitting a copy of a classification model fails.
    TimeoutError
        If fitting a copy of a classification model takes longer than ``timeout``.
    """
    known = dict(known_failures or {})
    props = properties_of(kind, [*known, *(select or [])])
    max_examples = check_max_examples(max_examples)
    scope = check_dtypes(kind, dtypes)
    if kind == "embedding-model" and scope is not None:
        if image_dtypes is not None:
            raise ValueError("give dtypes or image_dtypes, not both (they are the same).")
        image_dtypes = scope
    from . import strategies  # noqa: F401  (here, so that a missing Hypothesis says so, once)

    watch = Watch(check_timeout(timeout))
    check_target(kind, target)
    if spec is None and kind in ("joint-embedding", "classification"):
        spec = importable_name(target)
    ctx = Context(
        kind=kind,
        target=target,
        max_examples=max_examples,
        spec=spec,
        image_shape=image_shape,
        image_dtypes=image_dtypes,
        n_features=n_features,
        rtol=rtol,
        dtypes=scope,
        watch=watch,
    )
    chosen = [
        prop
        for name, prop in props.items()
        if (name in select if select is not None else strict or prop.profile == "core")
    ]
    results: list[CheckResult] = []

    def work() -> None:
        if kind == "classification-model":
            with watch.step("fitting a copy of the model"):
                try:
                    ctx.target, ctx.n_features = prepare_classification_model(target, n_features)
                except TypeError:
                    raise
                except BaseException as exc:  # the model's own failure
                    raise TypeError(
                        f"preparing the model raised {type(exc).__name__}: {exc}"
                    ) from None
            ctx.fitted_by_kit = ctx.target is not target
        for prop in chosen:
            results.append(run_one(prop, ctx, known.get(prop.name)))

    try:
        run_watched(work, watch)
    except TimedOut as exc:
        if len(results) == len(chosen) or not ctx.property_name:
            raise TimeoutError(str(exc)) from None
        return _timed_out(chosen, results, exc)
    return results


def _timed_out(chosen: list[Property], done: list[CheckResult], exc: TimedOut) -> list[CheckResult]:
    """The results so far, a FAIL for the property that timed out, SKIP for the rest."""
    results = list(done)
    stuck = chosen[len(results)]
    message = (
        f"[{stuck.kind}] property '{stuck.name}' failed: {stuck.description}\n"
        f"The target did not return within {exc.timeout:g} s (the timeout); the call was "
        "left running in the background and the run stopped here."
    )
    results.append(CheckResult(stuck.kind, stuck.name, "FAIL", message))
    reason = f"not run: the run stopped when '{stuck.name}' timed out"
    results += [CheckResult(p.kind, p.name, "SKIP", reason) for p in chosen[len(results) :]]
    return results


def check_property(
    kind: str,
    name: str,
    target: Any,
    *,
    max_examples: int | None = None,
    spec: str | None = None,
    image_shape: tuple[int, ...] | None = None,
    image_dtypes: Sequence[npt.DTypeLike] | None = None,
    n_features: int | None = None,
    rtol: float | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    dtypes: str | Sequence[npt.DTypeLike] | None = None,
) -> CheckResult:
    """Run one property (of either profile); raise :class:`ConformanceError` if it fails.

    This is what each test of :func:`mmref.testing.conformance_tests` calls.

    Parameters
    ----------
    kind : str
        One of :data:`~mmref.conformance.KINDS`.
    name : str
        A property of ``kind`` (a key of ``PROPERTIES[kind]``).
    target : callable or model
        The function or model under test.
    max_examples, spec, image_shape, image_dtypes, n_features, rtol, timeout, dtypes
        As in :func:`run_checks`.

    Returns
    -------
    result : CheckResult
        ``PASS``, or ``SKIP`` for a property that cannot apply to the target
        (see ``fresh_process``).

    Raises
    ------
    ConformanceError
        If the property fails; the message is the result's.
    ValueError
        If ``kind`` or ``name`` is unknown.
    TypeError
        If ``target`` is not of the kind.
    """
    (result,) = run_checks(
        kind,
        target,
        max_examples=max_examples,
        select=[name],
        spec=spec,
        image_shape=image_shape,
        image_dtypes=image_dtypes,
        n_features=n_features,
        rtol=rtol,
        timeout=timeout,
        dtypes=dtypes,
    )
    if result.status == "FAIL":
        raise ConformanceError(result.message)
    return result


def properties_of(kind: str, names: Sequence[str] = ()) -> dict[str, Property]:
    """The properties of ``kind`` by name, in order.

    Parameters
    ----------
    kind : str
        One of :data:`~mmref.conformance.KINDS`.
    names : sequence of str, default=()
        Property names that must exist for ``kind`` (known failures, a selection).

    Returns
    -------
    properties : dict of str to Property
        Every property of ``kind``, in the order they run and are reported.

    Raises
    ------
    ValueError
        If ``kind`` or a name in ``names`` is unknown.
    """
    check_kind_name(kind)
    props = _REGISTRY[kind]
    for name in names:
        if name not in props:
            raise ValueError(
                f"{name!r} is not a property of kind {kind!r}; the properties are "
                f"{', '.join(props)}."
            )
    return props
