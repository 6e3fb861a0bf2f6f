"""Golden vectors over a line protocol: check an implementation in any language.

``mmref conform golden --against-command "CMD ..."`` starts ``CMD`` as a child process
(no shell: the string is split with :func:`shlex.split`, POSIX rules) and speaks
``mmref-golden-protocol/1`` over its stdin and stdout, one JSON document per line
(SPEC.md, "Over a line protocol", in section 13, is normative):

- the child first writes a *hello*: ``{"protocol": "mmref-golden-protocol/1", "name": str,
  "version": str, "functions": [str, ...]}``;
- for every case whose function (or the class before the dot) it declares, mmref writes
  ``{"id": str, "function": str, "args": {...}}`` and the child answers with one line,
  ``{"id": same, "result": value}``, ``{"id": same, "error": {"type": str, "message":
  str}}`` (an error raised on purpose) or ``{"id": same, "unsupported": str}``.

Arrays travel bit for bit: ``{"dtype", "shape", "data"}`` with floats as the hexadecimal
bit patterns of their IEEE 754 encoding and 64-bit integers as the hexadecimal of their
64 bits (:func:`encode_wire`, :func:`decode_wire`). Every verdict is reached by the same
comparison as ``--against MODULE`` (``judge_case``), so the reports agree.

A child that crashes, prints something that is not an answer, answers another case or
does not answer within ``timeout`` seconds fails that case, and every later case fails
as not run; it never passes. The child runs in its own process group (POSIX) and is
always stopped and reaped: at the end, on an error and on ``KeyboardInterrupt``.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shlex
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from ._core import CheckResult
from ._golden import judge_case, load_golden
from ._golden_format import decode_args

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_LINE_BYTES",
    "PROTOCOL",
    "ProtocolError",
    "decode_wire",
    "encode_wire",
    "run_golden_command",
]

#: The ``protocol`` field of the hello line this version speaks.
PROTOCOL = "mmref-golden-protocol/1"

#: Seconds the child has for its hello and for each answer, unless told otherwise.
DEFAULT_TIMEOUT = 60.0

#: The longest line (in bytes, newline included) read from the child.
MAX_LINE_BYTES = 32 * 2**20

# Seconds a child that has been sent end-of-input gets to exit before it is terminated,
# and a terminated one before it is killed.
GRACE = 2.0
KILL: int = getattr(signal, "SIGKILL", signal.SIGTERM)

WIRE_DTYPES = (
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "intp",
    "float16",
    "float32",
    "float64",
    "complex64",
    "complex128",
)

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,99}")


class ProtocolError(Exception):
    """The command cannot be started or does not open the protocol with a valid hello.

    ``mmref conform golden --against-command`` reports it with exit status 2 (could not
    check); a child that breaks the protocol *after* its hello fails cases instead.
    """


def run_golden_command(
    command: str | Sequence[str],
    *,
    golden: Mapping[str, Any] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_line_bytes: int = MAX_LINE_BYTES,
    on_hello: Callable[[Mapping[str, Any]], None] | None = None,
) -> list[CheckResult]:
    """Check every golden case against an implementation run as a child process.

    Parameters
    ----------
    command : str or sequence of str
        The command: a string is split with :func:`shlex.split` (POSIX rules: quotes and
        backslashes; no shell, so no variables, globs, pipes or redirections), a
        sequence is used as it is. The first word is looked up on ``PATH``.
    golden : mapping, default=None
        A golden document; None loads the shipped ``golden.json``.
    timeout : float, default=30.0
        Seconds the child has for its hello line and for each answer.
    max_line_bytes : int, default=32 MiB
        The longest line read from the child; a longer one fails the case. Memory: at
        most this much per line read, plus the decoded result.
    on_hello : callable, default=None
        Called with the child's hello (a dict) before the first case is sent.

    Returns
    -------
    results : list of CheckResult
        One per case, in the document's order, as :func:`run_golden` returns them:
        ``PASS``, ``FAIL`` or ``SKIP`` (a function the hello does not declare, or a case
        the child answers ``unsupported``).

    Raises
    ------
    ProtocolError
        If the command cannot be started, or its first line is not a valid hello
        within ``timeout`` seconds.
    ValueError
        If ``timeout`` or ``max_line_bytes`` is not positive.
    """
    if not timeout > 0:
        raise ValueError(f"The 'timeout' parameter must be a positive number. Got {timeout}.")
    if max_line_bytes < 1:
        raise ValueError(
            f"The 'max_line_bytes' parameter must be a positive int. Got {max_line_bytes}."
        )
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    if not argv:
        raise ProtocolError("the command is empty")
    document = golden if golden is not None else load_golden()
    child: Child | None = None
    try:
        child = Child(argv, max_line_bytes)
        try:
            hello = check_hello(child.receive(timeout, "its hello"))
        except Broken as exc:
            raise ProtocolError(f"{shlex.join(argv)} {exc}") from None
        if on_hello is not None:
            on_hello(hello)
        declared = set(hello["functions"])
        results = []
        broken = ""
        for case in document["cases"]:
            function: str = case["function"]
            owner = function.partition(".")[0]
            if function not in declared and owner not in declared:
                what = function if any(f.startswith(owner + ".") for f in declared) else owner
                results.append(
                    CheckResult("golden", case["id"], "SKIP", f"the implementation has no {what}")
                )
            elif broken:
                results.append(fail(case, f"not run: the implementation {broken}"))
            else:
                try:
                    results.append(run_case(child, case, timeout))
                except Broken as exc:
                    broken = f"broke the protocol at case {case['id']!r}"
                    results.append(fail(case, f"the implementation {exc}"))
        child.finish()
        return results
    finally:
        if child is not None:
            child.stop()


class Broken(Exception):
    """The child broke the protocol; the message completes "the implementation ..."."""


class Child:
    """A child process answering one line per request, with deadlines on both pipes.

    A writer thread sends requests and a reader thread reads one line per answer awaited,
    so neither a child that never reads nor one that never writes blocks the caller
    beyond its deadline; unasked output stays in the pipe.
    """

    def __init__(self, argv: list[str], max_line_bytes: int) -> None:
        self.argv = argv
        self.max_line_bytes = max_line_bytes
        self.stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop)
        try:
            self.process = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.stderr,
                start_new_session=os.name == "posix",
            )
        except (OSError, ValueError) as exc:
            self.stderr.close()
            raise ProtocolError(f"cannot start {shlex.join(argv)}: {exc}") from None
        try:
            self.finished = False
            self.requests: queue.Queue[bytes | None] = queue.Queue()
            self.wanted = threading.Semaphore(0)
            self.lines: queue.Queue[bytes] = queue.Queue()
            self.threads = [
                threading.Thread(target=self.write_loop, daemon=True),
                threading.Thread(target=self.read_loop, daemon=True),
            ]
            for thread in self.threads:
                thread.start()
        except BaseException:  # KeyboardInterrupt included: no child is left behind
            self.process.kill()
            self.process.wait()
            self.stderr.close()
            raise

    def write_loop(self) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        try:
            while (request := self.requests.get()) is not None:
                stdin.write(request)
                stdin.flush()
        except (OSError, ValueError):  # the child is gone or stopped reading
            pass
        finally:
            with contextlib.suppress(OSError):
                stdin.close()

    def read_loop(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        while True:
            self.wanted.acquire()
            try:
                line = stdout.readline(self.max_line_bytes + 1)
            except (OSError, ValueError):
                line = b""
            self.lines.put(line)
            if not line.endswith(b"\n"):  # end of output, or a line too long to read on
                return

    def send(self, message: Mapping[str, Any]) -> None:
        text = json.dumps(message, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
        self.requests.put(text.encode("ascii") + b"\n")

    def receive(self, timeout: float, what: str) -> Any:
        """The next line, parsed; :class:`Broken` if there is none in time or it is not JSON."""
        self.wanted.release()
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise Broken(f"did not answer {what} within {timeout:g} s") from None
        if not line.endswith(b"\n"):
            if len(line) > self.max_line_bytes:
                raise Broken(f"wrote a line longer than {self.max_line_bytes} bytes for {what}")
            raise Broken(f"{self.exit_description()} before answering {what}")
        try:
            return json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise Broken(f"wrote {shorten(line)} for {what}, which is not a JSON line") from None

    def exit_description(self) -> str:
        try:
            status = self.process.wait(GRACE)
        except subprocess.TimeoutExpired:
            return "closed its output"
        return f"exited with status {status}{self.stderr_tail()}"

    def stderr_tail(self) -> str:
        """The end of the child's stderr on one line: where a traceback names the error."""
        try:
            size = self.stderr.seek(0, os.SEEK_END)
            self.stderr.seek(max(0, size - 4096))
            tail = self.stderr.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""
        lines = [line.strip() for line in tail.splitlines() if line.strip()][-12:]
        return f" (stderr: ...{shorten(' | '.join(lines)[-600:], 600)})" if lines else ""

    def finish(self) -> None:
        """Send end of input: a polite child exits, which :meth:`stop` waits for."""
        self.finished = True
        self.requests.put(None)

    def stop(self) -> None:
        """Stop the child (and its process group) and reap it; idempotent."""
        self.requests.put(None)
        process = self.process
        try:
            if process.poll() is None:
                try:
                    process.wait(GRACE if self.finished else 0.05)
                except subprocess.TimeoutExpired:
                    self.signal(signal.SIGTERM)
                    try:
                        process.wait(GRACE)
                    except subprocess.TimeoutExpired:
                        self.signal(KILL)
                        process.wait()
        finally:
            if process.poll() is None:  # interrupted while stopping: leave no child behind
                process.kill()
                process.wait()
            # Its own children, if any, share its process group, whose id cannot be
            # reused while any of them lives.
            self.signal(KILL)
            self.wanted.release()
            for thread in self.threads:
                thread.join(GRACE)
            for pipe in (process.stdout, self.stderr):
                if pipe is not None:
                    pipe.close()

    def signal(self, signum: int) -> None:
        try:
            if os.name == "posix":
                os.killpg(self.process.pid, signum)
            elif self.process.poll() is None:
                self.process.terminate()
        except (ProcessLookupError, PermissionError):
            pass


def check_hello(hello: Any) -> dict[str, Any]:
    """The hello line, checked; :class:`Broken` says what is wrong with it."""
    if not isinstance(hello, dict):
        raise Broken(f"wrote {shorten(json.dumps(hello))} as its hello; expected an object")
    if hello.get("protocol") != PROTOCOL:
        raise Broken(
            f"speaks protocol {shorten(json.dumps(hello.get('protocol')))}; expected {PROTOCOL!r}"
        )
    for key in ("name", "version"):
        if not isinstance(hello.get(key), str):
            raise Broken(f"has no {key!r} string in its hello")
    functions = hello.get("functions")
    if not (isinstance(functions, list) and all(isinstance(f, str) for f in functions)):
        raise Broken("has no 'functions' list of strings in its hello")
    return hello


def run_case(child: Child, case: Mapping[str, Any], timeout: float) -> CheckResult:
    """Send one case and judge the answer; :class:`Broken` when the stream is unusable."""
    args = {k: encode_wire(v) for k, v in decode_args(case["args"]).items()}
    child.send({"id": case["id"], "function": case["function"], "args": args})
    answer = child.receive(timeout, f"case {case['id']!r}")
    if not isinstance(answer, dict) or "id" not in answer:
        raise Broken(f"wrote {shorten(json.dumps(answer))}, which is not an answer with an id")
    if answer["id"] != case["id"]:
        raise Broken(f"answered case {shorten(json.dumps(answer['id']))} out of order")
    keys = {"result", "error", "unsupported"} & answer.keys()
    if len(keys) != 1:
        raise Broken("wrote an answer without exactly one of 'result', 'error', 'unsupported'")
    if "unsupported" in answer:
        reason = answer["unsupported"]
        why = shorten(reason if isinstance(reason, str) else json.dumps(reason))
        return CheckResult("golden", case["id"], "SKIP", f"the implementation declined: {why}")
    if "error" in answer:
        exc = decode_error(answer["error"])

        def call() -> Any:
            raise exc

        return judge_case(case, call)
    try:
        result = decode_wire(answer["result"])
    except ValueError as exc:
        return fail(case, f"returned a malformed result: {exc}")
    return judge_case(case, lambda: result)


def fail(case: Mapping[str, Any], problem: str) -> CheckResult:
    message = f"[golden] case '{case['id']}' ({case['function']}) failed: {problem}"
    return CheckResult("golden", case["id"], "FAIL", message)


def decode_error(error: Any) -> Exception:
    """The exception an ``error`` answer stands for, named as the child names it.

    A ``type`` that is a built-in exception is that class; any other name gets a class of
    its own, derived from the first built-in exception among ``bases`` (so ``AxisError``
    with ``bases: ["ValueError", ...]`` counts as a ``ValueError``, as in Python).
    """
    if not isinstance(error, dict):
        error = {"type": "?", "message": json.dumps(error)}
    name, message, bases = error.get("type"), error.get("message", ""), error.get("bases", [])
    if not (isinstance(name, str) and IDENTIFIER.fullmatch(name)):
        name = "MalformedError"
    message = shorten(message if isinstance(message, str) else json.dumps(message), 500)
    builtin = builtin_exception(name)
    if builtin is not None:
        return builtin(message)
    names = [b for b in bases if isinstance(b, str)] if isinstance(bases, list) else []
    base = next((c for c in map(builtin_exception, names) if c is not None), Exception)
    cls = type(name, (base,), {"__module__": "mmref.conformance.child"})
    exc: Exception = cls(message)
    return exc


def builtin_exception(name: str) -> type[Exception] | None:
    import builtins

    cls = getattr(builtins, name, None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        return cls
    return None


def shorten(text: str | bytes, limit: int = 120) -> str:
    if isinstance(text, bytes):
        text = repr(text[: limit + 1])
    return text if len(text) <= limit else text[:limit] + "..."


# --------------------------------------------------------------------------------------
# Values on the wire
# --------------------------------------------------------------------------------------


def encode_wire(value: Any) -> Any:
    """An ndarray (or NumPy scalar) as a wire array; any other JSON value as it is.

    ``data`` holds the values in C order: bool as ``true``/``false``; integers of up to 32
    bits as JSON numbers; 64-bit integers (``int64``, ``uint64``, ``intp``) as ``"0x"``
    and 16 upper-case hex digits of their two's complement bits; ``float16``/``32``/``64``
    as ``"0x"`` and 4/8/16 hex digits of their IEEE 754 bits; complex values as
    ``[real, imag]`` pairs of those.
    """
    if not isinstance(value, (np.ndarray, np.generic)):
        return value
    a = np.asarray(value)
    name = "intp" if a.dtype == np.intp and a.dtype.kind == "i" else a.dtype.name
    if name not in WIRE_DTYPES:
        raise ValueError(f"dtype {a.dtype} has no wire encoding")
    flat = np.ascontiguousarray(a).ravel()
    if a.dtype.kind == "c":
        parts = flat.view(flat.real.dtype).reshape(-1, 2)
        data: list[Any] = [[hex_bits(p[0]), hex_bits(p[1])] for p in bits_of(parts)]
    elif a.dtype.kind == "f" or a.dtype.itemsize == 8:
        data = [hex_bits(v) for v in bits_of(flat)]
    else:
        data = flat.tolist()
    return {"dtype": name, "shape": list(a.shape), "data": data}


def bits_of(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    return a.view(np.dtype(f"u{a.dtype.itemsize}"))


def hex_bits(bits: Any) -> str:
    return f"0x{int(bits):0{2 * bits.dtype.itemsize}X}"


def decode_wire(value: Any) -> Any:
    """A wire array as an ndarray, a list of str as it is; ``ValueError`` for anything else.

    Strict: the dtype must be one of the wire dtypes, the shape a list of non-negative
    ints whose product is the number of values, and every value of its dtype's form.
    """
    if isinstance(value, list):
        if not all(isinstance(v, str) for v in value):
            raise ValueError("a list result must be a list of strings")
        return value
    if not (isinstance(value, dict) and {"dtype", "shape", "data"} <= value.keys()):
        raise ValueError("expected an array {dtype, shape, data} or a list of strings")
    name, shape, data = value["dtype"], value["shape"], value["data"]
    if name not in WIRE_DTYPES:
        raise ValueError(f"unknown dtype {shorten(json.dumps(name))}")
    if not (
        isinstance(shape, list)
        and len(shape) <= 32
        and all(type(n) is int and n >= 0 for n in shape)
    ):
        raise ValueError(f"shape {shorten(json.dumps(shape))} is not a list of sizes")
    if not isinstance(data, list) or len(data) != int(np.prod(shape, dtype=object)):
        raise ValueError(f"shape {shape} does not match the number of values")
    dtype = np.dtype(np.intp) if name == "intp" else np.dtype(name)
    if dtype.kind == "b":
        if not all(type(v) is bool for v in data):
            raise ValueError("bool values must be true or false")
        return np.array(data, dtype=bool).reshape(shape)
    if dtype.kind in "iu" and dtype.itemsize < 8:
        info = np.iinfo(name)
        if not all(type(v) is int and info.min <= v <= info.max for v in data):
            raise ValueError(f"{name} values must be JSON integers in [{info.min}, {info.max}]")
        return np.array(data, dtype=dtype).reshape(shape)
    if dtype.kind == "c":
        if not all(isinstance(v, list) and len(v) == 2 for v in data):
            raise ValueError(f"{name} values must be [real, imag] pairs")
        part = np.dtype(f"f{dtype.itemsize // 2}")
        pairs = [parse_bits(p, part.itemsize) for v in data for p in v]
        return np.array(pairs, dtype=f"u{part.itemsize}").view(dtype).reshape(shape)
    words = [parse_bits(v, dtype.itemsize) for v in data]
    return np.array(words, dtype=f"u{dtype.itemsize}").view(dtype).reshape(shape)


def parse_bits(text: Any, itemsize: int) -> int:
    digits = 2 * itemsize
    if not (
        isinstance(text, str)
        and len(text) == digits + 2
        and text.startswith("0x")
        and all(c in "0123456789abcdefABCDEF" for c in text[2:])
    ):
        raise ValueError(f"expected '0x' and {digits} hex digits, got {shorten(json.dumps(text))}")
    return int(text[2:], 16)
