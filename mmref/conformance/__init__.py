"""Conformance kit: does an implementation follow mmref spec 1?

For someone who wrote their own ``joint_embedding`` or
``multimodal_classification`` (in their own code base, perhaps over PyTorch),
or their own encoder or classifier. Nothing needs editing to plug an
implementation in::

    from mmref.conformance import check_joint_embedding
    check_joint_embedding(my_joint_embedding)        # raises ConformanceError on a violation

or from the shell::

    mmref conform joint-embedding mypackage.fusion:joint_embedding --max-examples 200

Design
------
The kit checks *properties*, each small and addressable by ``(kind, name)``,
as in scikit-learn's ``check_estimator``. There are four kinds of target:

``joint-embedding``
    a function ``fn(image, text, model)`` like :func:`mmref.joint_embedding`;
``classification``
    a function ``fn(joint_embedding, labels, model)`` like
    :func:`mmref.multimodal_classification`;
``embedding-model``
    an object with ``encode_image`` and ``encode_text`` (:class:`mmref.EmbeddingModel`);
``classification-model``
    an object with ``predict`` (:class:`mmref.ClassificationModel`).

:data:`PROPERTIES` lists every property of every kind with the one sentence it
asserts, and :data:`PROPERTY_PROFILES` its profile: ``core`` (what the source functions
of the specification do; they pass it, verbatim) or ``strict`` (mmref's hardening on
top; ``strict=True`` checks both). Every call of the target runs in a watched worker
thread: whatever it raises (``SystemExit`` included) fails the property, and one that does
not return within ``timeout`` seconds fails it and ends the run (SPEC.md 12.9).
Inputs are drawn by Hypothesis from :mod:`mmref.strategies`
(derandomized, so a run is reproducible; no example database is written), plus
a few explicit examples per property that always run. A violation raises
:class:`mmref.ConformanceError` (an ``AssertionError``) naming the kind and
the property, what was expected and what was got, and the minimal
counterexample Hypothesis found, written as a snippet that reproduces it.
Known failures are listed as ``{property name: reason}``; they are reported
as ``XFAIL`` (or ``XPASS`` when they pass after all) instead of raising.

Determinism across processes
----------------------------
A model *claims* to give the same output in any process (whatever
``PYTHONHASHSEED``) by a truthy attribute ``__mmref_deterministic__``; mmref's
own models claim it implicitly (a class defined in an ``mmref`` module, unless
it sets the attribute to ``False``). For a model that claims it, the
``fresh_process`` property encodes fixed inputs in a new interpreter with a
random hash seed and compares the bytes. The new process rebuilds the model
from its ``MODULE:ATTR`` target string when one is known (always, from the
command line), otherwise from a pickle of the model; when neither is possible
the property is skipped with the reason.

Golden vectors
--------------
:func:`make_golden` computes the golden vectors of the specification (hash
primitives, the two functions, their errors and, when installed, the
encoders); ``mmref/conformance/golden.json`` ships them. :func:`check_golden` checks the
installed mmref, or any namespace of functions and classes with mmref's names,
against them: exact cases must agree bit for bit, float cases within the
case's ``rtol`` / ``atol``. SPEC.md ("Golden vectors") documents the format.
:func:`run_golden_command` checks an implementation in any language, run as a child
process that speaks the line protocol of SPEC.md ("Over a line protocol"); a child that
does not open it with a valid hello raises :class:`ProtocolError`.
Checking the golden vectors needs no Hypothesis (``mmref conform golden``
works without the ``testing`` extra).

Layout
------
This package's ``__init__`` is the public face; the kit lives in private modules whose
imports run one way, leaf first: ``_describe`` (messages and snippets) <- ``_stubs``
(the stub models, public as :mod:`mmref.testing`) <- :mod:`~mmref.conformance.strategies`
(the public Hypothesis strategies) <- ``_examples`` (the kit's driver and examples; with
``strategies`` the only modules that import Hypothesis) <- ``_core`` (results, the
driver, assertions; it imports ``_examples`` only when a property runs) <- ``_targets``
(resolving, preparing and rebuilding targets) <- ``_joint``, ``_classification`` and
``_models`` (the properties) <- ``_run`` (the runner); and ``_core`` <- ``_golden_format``
<- ``_golden`` (golden vectors) <- ``_command`` (the line protocol). ``_watch`` (the
worker thread and the timeout) is a leaf that ``_core``, ``_run`` and ``_golden`` use. The
command line (:mod:`mmref.cli.conform`) sits above the kit; the kit never imports it.

Importing this module costs only NumPy; Hypothesis is imported when a property runs.
"""

from __future__ import annotations

from ._command import ProtocolError, run_golden_command
from ._core import KINDS, PROFILES, CheckResult
from ._golden import (
    GOLDEN_FORMAT,
    check_golden,
    load_golden,
    make_golden,
    run_golden,
    write_golden,
)
from ._run import (
    DTYPE_PRESETS,
    MAX_EXAMPLES,
    PROPERTIES,
    PROPERTY_PROFILES,
    check_classification_model,
    check_dtypes,
    check_embedding_model,
    check_joint_embedding,
    check_multimodal_classification,
    check_property,
    properties_of,
    run_checks,
)
from ._targets import claims_determinism, prepare_classification_model, resolve_target
from ._watch import DEFAULT_TIMEOUT

__all__ = [
    "DEFAULT_TIMEOUT",
    "DTYPE_PRESETS",
    "GOLDEN_FORMAT",
    "KINDS",
    "MAX_EXAMPLES",
    "PROFILES",
    "PROPERTIES",
    "PROPERTY_PROFILES",
    "CheckResult",
    "ProtocolError",
    "check_classification_model",
    "check_dtypes",
    "check_embedding_model",
    "check_golden",
    "check_joint_embedding",
    "check_multimodal_classification",
    "check_property",
    "claims_determinism",
    "load_golden",
    "make_golden",
    "prepare_classification_model",
    "properties_of",
    "resolve_target",
    "run_checks",
    "run_golden",
    "run_golden_command",
    "write_golden",
]
