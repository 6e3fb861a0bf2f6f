"""Core of the conformance kit: properties, results, the Hypothesis driver, assertions.

A *property* (SPEC.md, "Conformance") is a named requirement on one kind of target. Its
check function feeds examples to the target and raises :class:`Violation` at the first
example that breaks the requirement, carrying what was expected and what was got, and the
snippet that reproduces it. :func:`for_all` runs a few explicit examples, then the ones
Hypothesis draws (derandomized, no example database), and lets Hypothesis shrink a
failure to a minimal counterexample; it reaches Hypothesis only through
:mod:`mmref.strategies`, which builds every strategy and runs the draws.
:func:`run_one` turns the outcome into a :class:`CheckResult`.

The ``assert_*`` helpers word every violation the same way: ``<call> returned <what>;
expected <what> (<why>)``. Importing this module costs only NumPy; Hypothesis is
imported (with :mod:`mmref.strategies`) when a property runs.
"""

from __future__ import annotations

import copy
import textwrap
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from .._hashing import mix64
from ..exceptions import ConformanceError
from ._describe import literal, shape_str, summary
from ._stubs import StubPartialModel
from ._watch import Watch

__all__ = [
    "KINDS",
    "PROFILES",
    "STATUSES",
    "CheckResult",
    "Context",
    "Properties",
    "Property",
    "Skip",
    "Violation",
    "as_array",
    "assert_dtype",
    "assert_finite",
    "assert_raises",
    "assert_same_bits",
    "assert_shape",
    "assert_type",
    "assert_unchanged",
    "check_kind_name",
    "check_missing_methods",
    "check_rejects",
    "deep_equal",
    "for_all",
    "hash_bytes",
    "in_scope",
    "invoke",
    "raise_first",
    "reproduced_by",
    "run_one",
    "unit_floats",
]

#: The kinds of target the kit checks, in the order ``mmref conform`` lists them.
KINDS: tuple[str, ...] = (
    "joint-embedding",
    "classification",
    "embedding-model",
    "classification-model",
)

#: The profiles, each a set of properties: ``core`` holds exactly what the source
#: functions of the specification do; ``strict`` adds mmref's hardening (SPEC.md 12).
PROFILES: tuple[str, ...] = ("core", "strict")

#: The statuses of a result, in the order the summary line counts them.
STATUSES = ("PASS", "FAIL", "XFAIL", "XPASS", "SKIP")


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one property (or one golden case).

    Attributes
    ----------
    kind : str
        One of :data:`KINDS`, or ``"golden"``.
    name : str
        The property's name (or the golden case's id).
    status : str
        ``"PASS"``, ``"FAIL"``, ``"XFAIL"`` (failed, as listed in known
        failures), ``"XPASS"`` (listed as a known failure but passed) or
        ``"SKIP"``.
    message : str
        Empty for a pass; the full :class:`ConformanceError` message for a
        failure; the reason for an expected failure or a skip.
    """

    kind: str
    name: str
    status: str
    message: str = ""


class Violation(Exception):
    """A property does not hold for one example; carries the reproducing snippet."""

    def __init__(self, detail: str, snippet: str = "") -> None:
        super().__init__(detail)
        self.detail = detail
        self.snippet = snippet


class Skip(Exception):
    """A property cannot be checked for this target (the message says why)."""


@dataclass
class Context:
    """Everything a property needs: the target and the options of the run.

    ``dtypes`` is the scope the run draws dtypes from (None: the kit's defaults);
    ``fitted_by_kit`` is True when the kit fitted a copy of a classification model, so
    that snippets and the fresh process do the same; ``state`` holds what a property
    remembers from one example to the next (the first width seen, say); ``watch``
    marks each step that calls the target, for the timeout (:mod:`._watch`).
    """

    kind: str
    target: Any
    max_examples: int | None
    spec: str | None = None
    image_shape: tuple[int, ...] | None = None
    image_dtypes: Sequence[npt.DTypeLike] | None = None
    n_features: int | None = None
    rtol: float | None = None
    dtypes: tuple[np.dtype[Any], ...] | None = None
    fitted_by_kit: bool = False
    state: dict[str, Any] = field(default_factory=dict)
    watch: Watch = field(default_factory=lambda: Watch(None))
    property_name: str = ""

    def setup_lines(self) -> list[str]:
        """Snippet lines that bind ``fn`` or ``model`` to the target."""
        name = "fn" if self.kind in ("joint-embedding", "classification") else "model"
        if self.spec is None:
            what = "function" if name == "fn" else "model"
            return [f"{name} = ...  # the {what} under test"]
        lines = [
            "from mmref.conformance import resolve_target",
            f"{name} = resolve_target({self.spec!r}, {self.kind!r})",
        ]
        if self.fitted_by_kit:
            lines[0] += ", prepare_classification_model"
            lines.append(f"{name}, _ = prepare_classification_model({name})")
        return lines


@dataclass(frozen=True)
class Property:
    """One requirement: its kind, name, the sentence it asserts, its check and its profile.

    ``profile`` is ``"core"`` (the source functions of the specification have it) or
    ``"strict"`` (mmref's hardening beyond the source); a strict run checks both.
    """

    kind: str
    name: str
    description: str
    run: Callable[[Context], None]
    profile: str = "core"


class Properties:
    """The properties of one kind, in the order they were added (and are reported).

    Examples
    --------
    >>> from mmref.conformance._core import Properties
    >>> props = Properties("classification")
    >>> @props.add("noop", "nothing at all.")
    ... def _noop(ctx):
    ...     pass
    >>> list(props.by_name)
    ['noop']
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.by_name: dict[str, Property] = {}

    def add(
        self, name: str, description: str, profile: str = "core"
    ) -> Callable[[Callable[[Context], None]], Callable[[Context], None]]:
        """Decorator: register a check function as the property ``name`` of ``profile``."""
        if profile not in PROFILES:
            raise ValueError(f"profile must be one of {PROFILES}. Got {profile!r} instead.")

        def register(run: Callable[[Context], None]) -> Callable[[Context], None]:
            self.by_name[name] = Property(self.kind, name, description, run, profile)
            return run

        return register


def check_kind_name(kind: str) -> None:
    """Raise ValueError unless ``kind`` is one of :data:`KINDS`.

    Raises
    ------
    ValueError
        If ``kind`` is not a kind, listing the kinds.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}. Got {kind!r} instead.")


def run_one(prop: Property, ctx: Context, reason: str | None) -> CheckResult:
    """Run one property on a target and say how it went; never raises a violation.

    Parameters
    ----------
    prop : Property
        The property to run.
    ctx : Context
        The target and the options of the run.
    reason : str or None
        Why the property is listed as a known failure; None when it is not.

    Returns
    -------
    result : CheckResult
        ``PASS``/``FAIL``, or ``XPASS``/``XFAIL`` (with ``reason``) for a known
        failure, or ``SKIP`` (with why); a failure's message holds the
        counterexample and its snippet.
    """
    ctx.property_name = prop.name
    try:
        # A property is about outputs and exceptions; warnings raised on the way (by the
        # implementation, NumPy or Hypothesis) must not turn into errors under -W error.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prop.run(ctx)
    except Skip as exc:
        return CheckResult(prop.kind, prop.name, "SKIP", str(exc))
    except BaseException as exc:  # a hostile target must never end the run
        if isinstance(exc, Violation):
            violation = exc
        else:  # e.g. the target's attribute access raised, outside any call the kit wraps
            violation = Violation(f"Checking the target raised {type(exc).__name__}: {exc}")
        if reason is not None:
            return CheckResult(prop.kind, prop.name, "XFAIL", reason)
        return CheckResult(prop.kind, prop.name, "FAIL", _format_failure(prop, violation))
    if reason is not None:
        return CheckResult(prop.kind, prop.name, "XPASS", reason)
    return CheckResult(prop.kind, prop.name, "PASS")


def raise_first(results: list[CheckResult]) -> list[CheckResult]:
    """Return ``results``, or raise ConformanceError for the first failure, naming the rest.

    Parameters
    ----------
    results : list of CheckResult
        The results of one run.

    Returns
    -------
    results : list of CheckResult
        The same list, when no result is a ``FAIL``.

    Raises
    ------
    ConformanceError
        With the first failure's message, followed by the names of the others.
    """
    failed = [r for r in results if r.status == "FAIL"]
    if failed:
        message = failed[0].message
        if len(failed) > 1:
            others = ", ".join(r.name for r in failed[1:])
            message += f"\n\nOther failing properties: {others}."
        raise ConformanceError(message)
    return results


def _format_failure(prop: Property, exc: Violation) -> str:
    lines = [
        f"[{prop.kind}] property '{prop.name}' failed: {prop.description}",
        exc.detail,
    ]
    if exc.snippet:
        lines.append("Minimal counterexample, as a snippet that reproduces it:")
        lines.append(textwrap.indent(exc.snippet, "    "))
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Hypothesis driver
# --------------------------------------------------------------------------------------


def for_all(
    ctx: Context,
    strategy: Any,
    body: Callable[[Any], None],
    explicit: Sequence[Any] = (),
    *,
    share: str | None = None,
) -> None:
    """Run ``body`` on the explicit examples, then on examples drawn from ``strategy``.

    Hypothesis shrinks a failure to a minimal example and replays it, so the
    ``Violation`` that propagates describes the minimal counterexample.

    With ``share``, the properties of one run that pass the same key check the same
    drawn examples: Hypothesis draws them once per run (drawing costs far more than
    most checks), and each property runs ``body`` on a deep copy of each. An example
    that fails is run again (a failure that does not recur is reported as
    nondeterminism, as Hypothesis's replay does); then the property's own Hypothesis
    search runs, to shrink the failure to a minimal counterexample; if that search
    finds none, the failing drawn example itself is reported.

    Parameters
    ----------
    ctx : Context
        The run; ``ctx.max_examples`` examples are drawn (None: the active
        Hypothesis profile's). Shared examples are kept in ``ctx.state``.
    strategy : SearchStrategy
        Where the drawn examples come from (built by :mod:`mmref.strategies`).
    body : callable
        ``body(example)``; raises :class:`Violation` for an example that breaks
        the property.
    explicit : sequence, default=()
        Examples that always run first, each on a deep copy.
    share : str, default=None
        The key under which the drawn examples are shared with other properties of
        the run that use the same strategy; None draws this property's own.

    Raises
    ------
    Violation
        For the first explicit example, or the minimal drawn example, that
        breaks the property; also when a failure does not reproduce on replay
        (the implementation is not deterministic).
    ImportError
        If Hypothesis is not installed.
    """
    from ._examples import draw_examples, run_examples  # the kit's only way in to Hypothesis

    what = f"property '{ctx.property_name}': one example's calls of the target"

    def timed(example: Any) -> None:
        with ctx.watch.step(what):
            body(example)

    for example in explicit:
        timed(copy.deepcopy(example))  # a mutating implementation must not alter the constants
    if share is None:
        run_examples(strategy, timed, ctx.max_examples, _not_reproduced)
        return
    key = f"examples:{share}"
    if key not in ctx.state:
        ctx.state[key] = draw_examples(strategy, ctx.max_examples)
    for example in ctx.state[key]:
        try:
            timed(copy.deepcopy(example))
        except Violation as found:
            try:
                timed(copy.deepcopy(example))  # the same example again, as Hypothesis replays
            except Violation:
                run_examples(strategy, timed, ctx.max_examples, _not_reproduced)  # shrinks it
                raise found from None
            raise _not_reproduced(found) from None


def in_scope(ctx: Context, explicit: Sequence[Any], *arrays: Callable[[Any], Any]) -> list[Any]:
    """The explicit examples whose arrays (``arrays``: how to get each) have dtypes in scope."""
    if ctx.dtypes is None:
        return list(explicit)
    return [ex for ex in explicit if all(np.asarray(get(ex)).dtype in ctx.dtypes for get in arrays)]


def _not_reproduced(exc: BaseException) -> Violation:
    """The violation for a failure that did not happen again on replay (Hypothesis's Flaky)."""
    inner = _first_violation(exc)
    detail = inner.detail if inner else str(exc)
    return Violation(
        "The failure did not reproduce when the same example was run again, so the "
        f"implementation is not deterministic. First failure: {detail}",
        inner.snippet if inner else "",
    )


def _first_violation(exc: BaseException) -> Violation | None:
    if isinstance(exc, Violation):
        return exc
    for inner in getattr(exc, "exceptions", ()):
        found = _first_violation(inner)
        if found is not None:
            return found
    return None


@contextmanager
def reproduced_by(snippet_lines: list[str]) -> Iterator[None]:
    """Attach the reproducing snippet to any violation raised in the block."""
    try:
        yield
    except Violation as exc:
        if not exc.snippet:
            exc.snippet = "\n".join(snippet_lines)
        raise


def check_rejects(
    ctx: Context,
    setup: Callable[[Context, Any], tuple[tuple[Any, ...], list[str]]],
    call: str,
    strategy: Any,
    explicit: Sequence[Any],
    why: Callable[[Any], str],
    error: type[Exception] = ValueError,
) -> None:
    """Check that ``ctx.target(*args)`` raises ``error`` for every example.

    Parameters
    ----------
    ctx : Context
        The run; ``ctx.target`` is the function under test.
    setup : callable
        ``setup(ctx, example)`` gives the call's arguments and the snippet making
        them; the snippet's last line (the reference call, which raises too) is
        left out.
    call : str
        How messages write the call, e.g. ``"fn(image, text, model)"``.
    strategy : SearchStrategy
        The drawn examples, as in :func:`for_all`.
    explicit : sequence
        Examples that always run first.
    why : callable
        ``why(example)``: why the example must be rejected, for the message.
    error : exception class, default=ValueError
        What must be raised (a subclass counts); ``Exception`` admits any.

    Raises
    ------
    Violation
        For the first example the target returns a value for, or raises
        another exception type for.
    """

    def check(example: Any) -> None:
        args, lines = setup(ctx, example)
        with reproduced_by(lines[:-1]):
            assert_raises(call=call, func=ctx.target, args=args, error=error, why=why(example))

    for_all(ctx, strategy, check, explicit)


def check_missing_methods(
    ctx: Context,
    *,
    call: str,
    protocol: tuple[str, ...],
    outputs: dict[str, Any],
    args: tuple[Any, ...],
) -> None:
    """``ctx.target(*args, model)`` for a model lacking each method must raise TypeError first.

    For each method of ``protocol`` left out in turn, the model has the others (returning
    ``outputs``); the call must raise ``TypeError`` (a subclass counts) and call no method.
    """
    names = call[call.index("(") + 1 : call.rindex(")")].split(", ")[:-1]
    for missing in protocol:
        model = StubPartialModel({m: outputs[m] for m in protocol if m != missing})
        lines = [
            "import numpy as np",
            "from mmref.testing import StubPartialModel",
            *ctx.setup_lines(),
            f"model = {model!r}  # no {missing}",
            *(f"{name} = {literal(arg)}" for name, arg in zip(names, args, strict=True)),
            f"{call}  # must raise TypeError before calling any method",
        ]
        why = f"the model has no {missing}"
        with ctx.watch.step(f"property '{ctx.property_name}'"), reproduced_by(lines):
            assert_raises(call=call, func=ctx.target, args=(*args, model), error=TypeError, why=why)
            if model.calls:
                raise Violation(
                    f"{call} called model.{model.calls[0]} before raising; a model without "
                    f"{missing} must be refused before any method is called (SPEC.md 1)."
                )


# --------------------------------------------------------------------------------------
# Calls and assertions
# --------------------------------------------------------------------------------------


def invoke(what: str, func: Callable[..., Any], *args: Any) -> Any:
    """``func(*args)``; any exception it raises is a violation described as ``what``.

    Parameters
    ----------
    what : str
        How the message names the call, e.g. ``"model.predict(X)"``.
    func : callable
        The implementation's function or method.
    *args
        Its arguments.

    Returns
    -------
    out : object
        What ``func`` returned.

    Raises
    ------
    Violation
        If ``func`` raised any exception (its type and message are quoted), also a
        BaseException that is not an Exception (``SystemExit``, ``KeyboardInterrupt``).
    """
    try:
        return func(*args)
    except BaseException as exc:  # any exception from the implementation is the finding
        raise Violation(f"{what} raised {_exception(exc)}") from None


def _exception(exc: BaseException) -> str:
    """``Type: message``, saying so when it is no Exception (which no call may raise)."""
    text = f"{type(exc).__name__}: {exc}"
    if not isinstance(exc, Exception):
        text += " (not an Exception: a conforming implementation never raises it)"
    return text


def as_array(value: Any, *, call: str) -> npt.NDArray[Any]:
    """``np.asarray(value)``; a value it cannot convert is a violation.

    Parameters
    ----------
    value : object
        What the implementation returned.
    call : str
        How the message names the call that returned it.

    Returns
    -------
    array : ndarray

    Raises
    ------
    Violation
        If ``np.asarray`` raises for ``value``.
    """
    try:
        return np.asarray(value)
    except Exception as exc:  # a result np.asarray cannot take is itself the finding
        raise Violation(
            f"{call} returned {type(value).__name__}, which np.asarray cannot convert "
            f"({type(exc).__name__}: {exc})."
        ) from None


def assert_type(*, call: str, out: Any) -> None:
    if not isinstance(out, np.ndarray):
        hint = (
            " Convert a tensor with mmref.adapters.to_numpy(result) before returning it."
            if callable(getattr(out, "detach", None))
            else ""
        )
        raise Violation(
            f"{call} returned an object of type {type(out).__module__}.{type(out).__qualname__}; "
            f"expected a numpy.ndarray.{hint}"
        )


def assert_shape(
    *, call: str, out: npt.NDArray[Any], expected: tuple[int, ...], why: str = ""
) -> None:
    if out.shape != expected:
        raise Violation(
            f"{call} returned shape {shape_str(out.shape)}; expected {shape_str(expected)}{why}."
        )


def assert_dtype(
    *, call: str, out: npt.NDArray[Any], expected: np.dtype[Any], why: str = ""
) -> None:
    if out.dtype != expected:
        raise Violation(f"{call} returned dtype {out.dtype}; expected {expected}{why}.")


def assert_same_bits(
    *, call: str, out: npt.NDArray[Any], expected: npt.NDArray[Any], ref: str
) -> None:
    """Same shape, dtype and bytes as ``expected`` (what ``ref`` returned)."""
    assert_shape(call=call, out=out, expected=expected.shape, why=f" (as {ref})")
    assert_dtype(call=call, out=out, expected=expected.dtype, why=f" (as {ref})")
    if out.tobytes() != expected.tobytes():
        diff = _first_difference(out, expected)
        raise Violation(
            f"{call} differs from {ref} bit for bit: at index {diff} it returned "
            f"{out[diff]!r}, expected {expected[diff]!r}."
        )


def assert_raises(
    *, call: str, func: Callable[..., Any], args: tuple[Any, ...], error: type[Exception], why: str
) -> None:
    """``func(*args)`` must raise ``error`` (or a subclass); ``Exception`` admits any."""
    expected = "an exception" if error is Exception else error.__name__
    try:
        out = func(*args)
    except error:
        return
    except BaseException as exc:  # a wrong exception type is the finding
        raise Violation(f"{call} raised {_exception(exc)}; expected {expected} ({why}).") from None
    raise Violation(f"{call} returned {summary(out)}; expected {expected} ({why}).")


def assert_unchanged(*, call: str, name: str, before: Any, after: Any) -> None:
    if not deep_equal(before, after):
        raise Violation(
            f"{call} modified its argument {name}: before the call it was {summary(before)}, "
            f"after it {summary(after)}."
        )


def assert_finite(*, call: str, out: npt.NDArray[Any]) -> None:
    if out.dtype.kind in "fc" and not np.all(np.isfinite(out)):
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(out))[0])
        raise Violation(f"{call} returned {out[index]!r} at index {index}; expected finite values.")


def deep_equal(a: Any, b: Any) -> bool:
    """Equality that compares arrays by dtype, shape and bytes, also inside lists and tuples."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and a.tobytes() == b.tobytes()
        )
    if isinstance(a, list | tuple):
        return (
            type(a) is type(b)
            and len(a) == len(b)
            and all(deep_equal(x, y) for x, y in zip(a, b, strict=True))
        )
    return bool(a == b)


def _first_difference(out: npt.NDArray[Any], expected: npt.NDArray[Any]) -> tuple[int, ...]:
    if not out.size:
        return (0,) * out.ndim
    # The bytes in C order, as tobytes compares them: a view of a Fortran-ordered result
    # (say, a transposed array) as bytes would raise instead of naming the difference.
    a = np.frombuffer(out.tobytes(), np.uint8).reshape(*out.shape, -1)
    b = np.frombuffer(expected.tobytes(), np.uint8).reshape(*expected.shape, -1)
    where = np.argwhere((a != b).any(axis=-1))
    return tuple(int(i) for i in where[0]) if len(where) else (0,) * out.ndim


# --------------------------------------------------------------------------------------
# Fixed inputs, from mix64 of counters: the same bits on every platform
# --------------------------------------------------------------------------------------


def unit_floats(count: int, salt: int) -> npt.NDArray[np.float64]:
    """``count`` floats in [0, 1): the top 53 bits of ``mix64(m + salt)``, ``m = 0, 1, ...``.

    Exact and platform independent: a 53-bit integer times ``2**-53`` is a float64.

    Parameters
    ----------
    count : int
        How many floats.
    salt : int
        Added to the counter (modulo ``2**64``), so that different uses get different numbers.

    Returns
    -------
    floats : ndarray of shape (count,), dtype float64
    """
    bits = mix64(np.arange(count, dtype=np.uint64) + np.uint64(salt))
    floats: npt.NDArray[np.float64] = (bits >> np.uint64(11)).astype(np.float64) * 2.0**-53
    return floats


def hash_bytes(count: int) -> npt.NDArray[np.uint8]:
    """``count`` bytes: the top byte of ``mix64(m)``, ``m = 0, 1, ...`` (pixels, say).

    Parameters
    ----------
    count : int
        How many bytes.

    Returns
    -------
    bytes : ndarray of shape (count,), dtype uint8
    """
    top: npt.NDArray[np.uint8] = (mix64(np.arange(count, dtype=np.uint64)) >> np.uint64(56)).astype(
        np.uint8
    )
    return top
