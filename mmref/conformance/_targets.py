"""The target of a conformance run: resolving it, preparing it, rebuilding it elsewhere.

A target is named ``MODULE:ATTR`` (``ATTR`` may be dotted). For the two function kinds it
is a function of three positional arguments; for the model kinds an object with the
protocol's methods, or a zero-argument factory (a class or function) that returns one.

A classification model without ``n_features_in_`` is fitted (a deep copy of it) on a
fixed data set: 60 samples, 6 features, ``y[i] = i mod 3`` and
``X[i] = 4 e_{y[i]} + u[i] - 0.5``, where the 360 numbers ``u`` are
``(mix64(m + GOLDEN) >> 11) * 2**-53`` for ``m = 0..359`` in row-major order.

Determinism across processes (SPEC.md 12.6): a model claims it with a truthy
``__mmref_deterministic__`` (mmref's own classes claim it unless they set it to
``False``). :func:`fresh_process` runs fixed calls through the model here and in a new
interpreter with ``PYTHONHASHSEED=random``, which rebuilds the model from its
``MODULE:ATTR`` when one is known, else from a pickle, and compares the bytes.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .._hashing import GOLDEN
from ._core import (
    Context,
    Skip,
    Violation,
    as_array,
    assert_same_bits,
    check_kind_name,
    invoke,
    reproduced_by,
    unit_floats,
)
from ._describe import literal, summary

__all__ = [
    "check_target",
    "claims_determinism",
    "fresh_process",
    "import_spec",
    "importable_name",
    "prepare_classification_model",
    "resolve_target",
    "synthetic_classification_data",
]

# The methods a model of each model kind must have.
_MODEL_METHODS = {
    "embedding-model": ("encode_image", "encode_text"),
    "classification-model": ("predict",),
}


def claims_determinism(model: Any) -> bool:
    """Whether ``model`` claims the same output in every process (see the module docstring).

    Parameters
    ----------
    model : object
        The model under test.

    Returns
    -------
    claims : bool
        ``bool(model.__mmref_deterministic__)`` when the attribute is set (and
        not None); otherwise whether the model's class is defined in an
        ``mmref`` module.

    Examples
    --------
    >>> from mmref.conformance import claims_determinism
    >>> class Model:
    ...     __mmref_deterministic__ = True
    >>> claims_determinism(Model()), claims_determinism(object())
    (True, False)
    """
    claim = getattr(model, "__mmref_deterministic__", None)
    if claim is None:
        return type(model).__module__.split(".")[0] == "mmref"
    return bool(claim)


def resolve_target(spec: str, kind: str) -> Any:
    """Import ``MODULE:ATTR`` and return the function or model it names, for ``kind``.

    ``ATTR`` may be dotted (``module:Class.method``). For the model kinds,
    ``ATTR`` may name a model instance or a zero-argument factory (a class or
    function), which is called. The current directory is importable, as with
    ``python -m``.

    Parameters
    ----------
    spec : str
        ``MODULE:ATTR``, e.g. ``"mypackage.fusion:joint_embedding"``.
    kind : str
        One of :data:`~mmref.conformance.KINDS`.

    Returns
    -------
    target : callable or model
        The function (function kinds), or the model instance, made by the
        factory if ``ATTR`` names one (model kinds).

    Raises
    ------
    ValueError
        If ``spec`` is not of the form ``MODULE:ATTR`` or ``kind`` is unknown.
    ImportError
        If the module cannot be imported or lacks the attribute.
    TypeError
        If the object is not of the kind (e.g. a model where a function is
        expected, or a factory that needs arguments).

    Examples
    --------
    >>> from mmref.conformance import resolve_target
    >>> resolve_target("mmref:joint_embedding", "joint-embedding").__name__
    'joint_embedding'
    """
    check_kind_name(kind)
    obj = import_spec(spec, require_attr=True)
    if kind in _MODEL_METHODS:
        try:
            is_model = _is_model(obj, kind)
        except BaseException as exc:  # a hostile __getattr__
            raise TypeError(f"looking at {spec} raised {type(exc).__name__}: {exc}") from None
        if not is_model:
            obj = _call_factory(obj, spec, kind)
    check_target(kind, obj)
    return obj


def prepare_classification_model(model: Any, n_features: int | None = None) -> tuple[Any, int]:
    """Return a fitted classification model and its input width.

    A model with an integer ``n_features_in_`` (or given ``n_features``) is
    returned as is. A model without one that has ``fit`` is deep-copied and
    fitted on a deterministic data set of 60 samples, 6 features and three
    classes ``0, 1, 2`` (well separated blobs whose noise comes from mmref's
    hash, so the data are the same everywhere).

    Parameters
    ----------
    model : ClassificationModel
        The model under test; never modified.
    n_features : int, default=None
        The input width, if known; the model is then returned as is.

    Returns
    -------
    model : ClassificationModel
        ``model`` itself, or a fitted deep copy of it.
    n_features : int
        The number of input features ``predict`` expects.

    Raises
    ------
    TypeError
        If the width cannot be told and the model cannot be fitted.
    """
    if n_features is not None:
        return model, int(n_features)
    width = getattr(model, "n_features_in_", None)
    if isinstance(width, int | np.integer) and not isinstance(width, bool):
        return model, int(width)
    if callable(getattr(model, "fit", None)):
        X, y = synthetic_classification_data()
        fitted = copy.deepcopy(model)
        fitted.fit(X, y)
        return fitted, X.shape[1]
    raise TypeError(
        f"Cannot tell the number of input features of {type(model).__name__}: it has no "
        f"n_features_in_ attribute and no fit method. Pass n_features."
    )


def synthetic_classification_data() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """60 samples, 6 features, classes 0, 1, 2 in well separated blobs; noise from mix64.

    Returns
    -------
    X : ndarray of shape (60, 6), dtype float64
        ``X[i] = 4 e_{y[i]} + u[i] - 0.5`` (see the module docstring).
    y : ndarray of shape (60,), dtype int64
        ``y[i] = i mod 3``.
    """
    n, d = 60, 6
    y = np.arange(n, dtype=np.int64) % 3
    centers = np.zeros((3, d))
    centers[0, 0] = centers[1, 1] = centers[2, 2] = 4.0
    X = centers[y] + (unit_floats(n * d, GOLDEN) - 0.5).reshape(n, d)
    return X, y


def check_target(kind: str, obj: Any) -> None:
    """Raise TypeError unless ``obj`` is a target of ``kind`` (a known kind).

    Parameters
    ----------
    kind : str
        One of :data:`~mmref.conformance.KINDS`.
    obj : object
        The would-be target: a model with the kind's methods, or a function
        accepting three positional arguments.

    Raises
    ------
    TypeError
        If ``obj`` is not of the kind (the message says what it lacks), or if looking
        at it raises (a hostile ``__getattr__``, say: the message quotes the error).
    """
    try:
        _check_target(kind, obj)
    except TypeError:
        raise
    except BaseException as exc:  # a hostile __getattr__ or __class__
        raise TypeError(
            f"looking at the {kind} target raised {type(exc).__name__}: {exc}"
        ) from None


def _check_target(kind: str, obj: Any) -> None:
    if kind in _MODEL_METHODS:
        if not _is_model(obj, kind):
            raise TypeError(
                f"A {kind} must have the methods {_methods(kind)}; got {summary(obj)} of type "
                f"{type(obj).__name__}."
            )
        return
    if not callable(obj) or isinstance(obj, type):
        raise TypeError(f"A {kind} target must be a function; got {summary(obj)}.")
    try:
        inspect.signature(obj).bind(None, None, None)
    except TypeError:
        raise TypeError(
            f"A {kind} function must accept three positional arguments; "
            f"{getattr(obj, '__name__', obj)!r} has the signature {inspect.signature(obj)}."
        ) from None
    except ValueError:  # no signature available (some builtins): accept it
        pass


def import_spec(spec: str, *, require_attr: bool) -> Any:
    """The object ``MODULE:ATTR`` names (or the module, for ``MODULE`` alone if allowed).

    Parameters
    ----------
    spec : str
        ``MODULE:ATTR`` (``ATTR`` may be dotted), or ``MODULE``.
    require_attr : bool
        Whether ``MODULE`` alone is refused.

    Returns
    -------
    obj : object
        The attribute, or the module. The current directory is importable.

    Raises
    ------
    ValueError
        If ``spec`` does not have the required form.
    ImportError
        If the module cannot be imported (for any reason) or lacks the attribute.
    """
    module_name, sep, attr = spec.partition(":")
    if not module_name or (require_attr and not attr) or (sep and not attr):
        form = "MODULE:ATTR" if require_attr else "MODULE or MODULE:ATTR"
        raise ValueError(f"The target must have the form {form}. Got {spec!r} instead.")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        obj: Any = importlib.import_module(module_name)
    except BaseException as exc:  # sys.exit() at import too: cannot import
        raise ImportError(
            f"cannot import module {module_name!r}: {type(exc).__name__}: {exc}"
        ) from None
    for part in attr.split(".") if attr else []:
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ImportError(f"module {module_name!r} has no attribute {attr!r}") from None
        except BaseException as exc:  # a hostile module __getattr__
            raise ImportError(
                f"getting {part!r} of {module_name}:{attr} raised {type(exc).__name__}: {exc}"
            ) from None
    return obj


def importable_name(fn: Any) -> str | None:
    """``MODULE:QUALNAME`` of a function defined at module level, for snippets; else None.

    Parameters
    ----------
    fn : object
        Usually the function under test.

    Returns
    -------
    spec : str or None
        None for a function defined in ``__main__``, a local function or a
        lambda, or an object without ``__module__`` and ``__qualname__``.
    """
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)
    if not module or not qualname or module == "__main__" or "<" in qualname:
        return None
    return f"{module}:{qualname}"


def _methods(kind: str) -> str:
    return " and ".join(_MODEL_METHODS[kind])


def _is_model(obj: Any, kind: str) -> bool:
    """Whether ``obj`` has the kind's methods; raises what a hostile attribute access raises."""
    return not isinstance(obj, type) and all(
        callable(getattr(obj, m, None)) for m in _MODEL_METHODS[kind]
    )


def _call_factory(obj: Any, spec: str, kind: str) -> Any:
    if not callable(obj):
        raise TypeError(
            f"{spec} is {summary(obj)}: not a {kind} (it lacks {_methods(kind)}) and not a "
            f"zero-argument factory."
        )
    try:
        inspect.signature(obj).bind()
    except TypeError:
        raise TypeError(f"{spec} is not a {kind} and cannot be called without arguments.") from None
    except ValueError:  # builtins without a signature: just try the call
        pass
    try:
        return obj()
    except BaseException as exc:  # the factory's own failure, sys.exit() too
        raise TypeError(
            f"calling the factory {spec}() raised {type(exc).__name__}: {exc}"
        ) from None


# --------------------------------------------------------------------------------------
# Fresh-process determinism
# --------------------------------------------------------------------------------------

# Generous: the child only imports NumPy, mmref and the model, then runs a few calls.
_CHILD_TIMEOUT = 600


def fresh_process(ctx: Context, calls: list[tuple[str, Any]]) -> None:
    """Check that ``getattr(model, method)(value)`` for each call gives the same bytes anew.

    Parameters
    ----------
    ctx : Context
        The run; ``ctx.target`` is the model, rebuilt in the new process from
        ``ctx.spec`` (prepared again if the kit fitted it) or from a pickle.
    calls : list of (str, object)
        ``(method, value)`` pairs, run here and in the new process.

    Raises
    ------
    Skip
        For a model that claims no determinism, or that cannot be rebuilt in
        the new process for want of a ``MODULE:ATTR`` or a loadable pickle.
    Violation
        If a call's bytes differ, or the new process fails to rebuild or run
        the model.
    """
    if not claims_determinism(ctx.target):
        raise Skip(
            "the model does not claim cross-process determinism (set __mmref_deterministic__ "
            "= True to claim it)"
        )
    with ctx.watch.step(f"property '{ctx.property_name}': the model's calls in this process"):
        expected = [
            as_array(
                invoke(f"model.{method}(...)", getattr(ctx.target, method), value), call=method
            )
            for method, value in calls
        ]
    payload: dict[str, Any] = {"kind": ctx.kind, "calls": calls}
    if ctx.spec is not None:
        payload["spec"] = ctx.spec
        payload["prepare"] = ctx.fitted_by_kit
    else:
        try:
            payload["model"] = pickle.dumps(ctx.target)
        except Exception as exc:  # unpicklable models are common (lambdas, locks, handles)
            raise Skip(
                f"no MODULE:ATTR to rebuild the model in a new process and it cannot be "
                f"pickled ({type(exc).__name__}: {exc}); pass spec='MODULE:ATTR'"
            ) from None
    # The new process gets a minute to start (import NumPy, mmref and the model), plus the
    # timeout for each call; it is killed after that.
    limit = _CHILD_TIMEOUT if ctx.watch.timeout is None else 60 + ctx.watch.timeout * len(calls)
    outputs = _run_child(payload, limit)
    if isinstance(outputs, str):
        if "model" in payload:  # pickles of classes defined in __main__ cannot be loaded
            raise Skip(f"the pickled model cannot be loaded in a new process: {outputs}")
        raise Violation(f"The new process could not rebuild the model: {outputs}")
    for (method, value), out, exp in zip(calls, outputs, expected, strict=True):
        lines = [
            "# in two separate Python processes:",
            "import numpy as np",
            *ctx.setup_lines(),
            f"value = {literal(value)}",
            f"print(np.asarray(model.{method}(value)).tobytes().hex())",
        ]
        with reproduced_by(lines):
            if isinstance(out, str):
                raise Violation(f"In a new process, model.{method}(value) {out}")
            assert_same_bits(
                call=f"model.{method}(value) in a new process",
                out=out,
                expected=exp,
                ref="the same call in this process",
            )


def _run_child(payload: dict[str, Any], limit: float) -> list[Any] | str:
    """Run the calls in a new interpreter; the outputs, or why the model could not be rebuilt."""
    with tempfile.TemporaryDirectory(prefix="mmref-conform-") as tmp:
        path = Path(tmp, "payload.pkl")
        path.write_bytes(pickle.dumps(payload))
        # The child imports what the parent can (test modules, the current directory), but
        # gets its own random hash seed.
        path_entries = [p for p in sys.path if isinstance(p, str) and p]
        env = dict(os.environ, PYTHONHASHSEED="random", PYTHONPATH=os.pathsep.join(path_entries))
        code = (
            "import sys; from mmref.conformance._targets import child_main; child_main(sys.argv[1])"
        )
        try:
            proc = subprocess.run(
                [sys.executable, "-c", code, str(path)],
                capture_output=True,
                env=env,
                cwd=os.getcwd(),
                check=False,
                timeout=limit,
            )
        except subprocess.TimeoutExpired:
            raise Violation(f"The new process did not finish within {limit:g} s.") from None
        if proc.returncode != 0 or not Path(tmp, "outputs.pkl").exists():
            stderr = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-5:]
            raise Violation(
                "The new process could not rebuild or run the model: " + " | ".join(stderr)
            )
        result: list[Any] | str = pickle.loads(Path(tmp, "outputs.pkl").read_bytes())
        return result


def child_main(path: str) -> None:
    """Entry point of the fresh process: rebuild the model, run the calls, pickle the outputs."""
    payload = pickle.loads(Path(path).read_bytes())
    out_path = Path(path).with_name("outputs.pkl")
    try:
        if "spec" in payload:
            model = resolve_target(payload["spec"], payload["kind"])
            if payload["prepare"]:
                model, _ = prepare_classification_model(model)
        else:
            model = pickle.loads(payload["model"])
    except BaseException as exc:  # reported to the parent, which decides
        out_path.write_bytes(pickle.dumps(f"{type(exc).__name__}: {exc}"))
        return
    outputs: list[Any] = []
    for method, value in payload["calls"]:
        try:
            outputs.append(np.asarray(getattr(model, method)(value)))
        except BaseException as exc:  # reported to the parent as the finding
            outputs.append(f"raised {type(exc).__name__}: {exc}")
    out_path.write_bytes(pickle.dumps(outputs))
