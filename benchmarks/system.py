"""System cases, each contender in a fresh interpreter: ``import mmref`` and ``mmref embed``.

``system.import``: the time and memory of ``import mmref`` against
``import numpy`` (the peer, and the floor: mmref imports it). The child times
the import itself; the peak RSS is the child's ``VmHWM`` above its RSS before
the import; the tracemalloc peak comes from one more run with tracemalloc
started before the import.

``system.demo`` (full runs only): ``python -m mmref demo`` timed from outside
(issue 19 compares it idle and with one core busy, ``--busy``).

``system.embed`` (full runs only): ``python -m mmref embed`` on a 2 GiB
``.npy`` of uint8 images (131072 x 128 x 128) written to a temporary
directory, timed from outside (wall clock, interpreter start included); the
peak RSS is the child's ``VmHWM``, read in the child after the CLI returns
(``python -m benchmarks.memory --run-module``). Limit: reading the file once.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from . import data
from .harness import Case, Contender, MemoryResult, Prepared, SelfTimed, Target, Unavailable

__all__ = ["cases"]

_ROOT = Path(__file__).resolve().parent.parent
_EMBED_SHAPE = (131_072, 128, 128)  # uint8: exactly 2 GiB of pixels
_STREAM_PIXELS = 9  # benchmarks.data uses streams 1-8

_CHILD = """
import json, time
def status(field):
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
{trace_start}
import sys
modules = len(sys.modules)
base = status('VmRSS')
start = time.perf_counter()
{statement}
seconds = time.perf_counter() - start
traced = {trace_peak}
print(json.dumps({{"seconds": seconds, "peak_rss": status('VmHWM'), "base": base,
                  "traced": traced, "modules": len(sys.modules) - modules}}))
"""


def cases(*, quick: bool) -> list[Case]:
    """The system cases (the embed case runs in full runs only)."""
    return [
        Case(
            "system.import",
            "import mmref vs import numpy, fresh interpreters",
            _import_preparer,
            memory="self",
        ),
        Case(
            "system.embed",
            "mmref embed on a 2 GiB .npy of uint8 images (128x128)",
            _embed_preparer,
            (
                Target(
                    "mmref embed: peak RSS < 300 MB (issue 6, for a 4 GB input)",
                    "issue 6",
                    "peak_rss_mib",
                    300 / 1.048576,
                ),
            ),
            memory="self",
            full_only=True,
            # The input was just written, so it is in the page cache: no warm-up run needed.
            warmup=0,
        ),
        Case(
            "system.demo",
            "mmref demo (2000 pairs), a fresh interpreter, timed from outside",
            _demo_preparer,
            memory="self",
            full_only=True,
        ),
    ]


def _demo_preparer() -> Prepared:
    command = [sys.executable, "-m", "mmref", "demo"]

    def run() -> object:
        return subprocess.run(command, capture_output=True, check=True, timeout=600, cwd=_ROOT)

    return Prepared([Contender("mmref", "python -m mmref demo", run)], 1, "runs")


def _child(statement: str, *, trace: bool) -> dict[str, float | int | None]:
    code = _CHILD.format(
        statement=statement,
        trace_start="import tracemalloc; tracemalloc.start()" if trace else "",
        trace_peak="tracemalloc.get_traced_memory()[1]" if trace else "None",
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    result: dict[str, float | int | None] = json.loads(out)
    return result


def _import_preparer() -> Prepared:
    statements = {"mmref": "import mmref", "peer": "import numpy"}
    last: dict[str, dict[str, float | int | None]] = {}

    def runner(key: str) -> Callable[[], SelfTimed]:
        def run() -> SelfTimed:
            last[key] = child = _child(statements[key], trace=False)
            return SelfTimed(float(child["seconds"] or 0.0))

        return run

    def probe() -> dict[str, MemoryResult]:
        # Peak RSS from the last timed run; tracemalloc from one more run with it started.
        out = {}
        for key, statement in statements.items():
            traced = _child(statement, trace=True)["traced"]
            peak, base = last[key]["peak_rss"], last[key]["base"]
            delta = int(peak) - int(base) if peak is not None and base is not None else None
            out[key] = MemoryResult(
                None if traced is None else int(traced), None if peak is None else int(peak), delta
            )
        return out

    def describe() -> list[str]:
        return [
            f"modules loaded: import mmref {last['mmref']['modules']}, "
            f"import numpy {last['peer']['modules']}"
        ]

    contenders = [Contender(key, statement, runner(key)) for key, statement in statements.items()]
    return Prepared(contenders, 1, "imports", memory_probe=probe, describe=describe)


def _embed_preparer() -> Prepared:
    if importlib.util.find_spec("mmref.__main__") is None:
        raise Unavailable("python -m mmref (the CLI) is not available")
    help_run = subprocess.run(
        [sys.executable, "-m", "mmref", "embed", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if help_run.returncode != 0:
        raise Unavailable("the 'mmref embed' command is not available")
    nbytes = int(np.prod(_EMBED_SHAPE))
    tmp = tempfile.mkdtemp(prefix="mmref-bench-")
    if shutil.disk_usage(tmp).free < 3 * nbytes:
        shutil.rmtree(tmp)
        raise Unavailable("less than 6 GiB free in the temporary directory")
    images = os.path.join(tmp, "images.npy")
    _write_images(images)
    output = os.path.join(tmp, "embedding.npy")
    report = os.path.join(tmp, "report.json")
    options = [opt for opt in (["--dtype", "float32"], ["--quiet"]) if opt[0] in help_run.stdout]
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.memory",
        "--run-module",
        "mmref",
        "--report",
        report,
        "embed",
        "--images",
        images,
        "--output",
        output,
        *[o for opt in options for o in opt],
    ]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_ROOT), env.get("PYTHONPATH")]))
    peaks: list[int] = []

    def run_mmref() -> SelfTimed:
        import time

        start = time.perf_counter()
        subprocess.run(cmd, cwd=_ROOT, env=env, check=True, capture_output=True, timeout=1800)
        seconds = time.perf_counter() - start
        peak = json.loads(Path(report).read_text())["peak_rss"]
        if peak is not None:
            peaks.append(int(peak))
        return SelfTimed(seconds, peak_rss=peak)

    def read_once() -> object:
        total = 0
        buffer = np.empty(1 << 23, dtype=np.uint64)  # 64 MiB
        view = memoryview(buffer.data).cast("B")
        with open(images, "rb", buffering=0) as f:
            while n := f.readinto(view):
                total += int(np.add.reduce(buffer[: n // 8]))
        return total

    def probe() -> dict[str, MemoryResult]:
        return {"mmref": MemoryResult(None, max(peaks) if peaks else None, None)}

    contenders = [
        Contender(
            "mmref",
            "python -m mmref embed " + " ".join(o for opt in options for o in opt),
            run_mmref,
        ),
        Contender("limit", "read the .npy once (readinto 64 MiB + np.add.reduce)", read_once),
    ]
    return Prepared(
        contenders,
        nbytes >> 20,
        "MiB",
        notes=[f"input {_EMBED_SHAPE} uint8 ({nbytes / 2**30:.1f} GiB)"],
        cleanup=lambda: shutil.rmtree(tmp, ignore_errors=True),
        memory_probe=probe,
    )


def _write_images(path: str) -> None:
    array = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=_EMBED_SHAPE)
    flat = array.reshape(-1)
    step = 1 << 27  # 128 MiB of pixels per chunk
    for a in range(0, flat.size, step):
        b = min(a + step, flat.size)
        words = data.hash_bits(0, _STREAM_PIXELS, a // 8, (b + 7) // 8).astype("<u8", copy=False)
        flat[a:b] = words.view(np.uint8)[: b - a]
    array.flush()
    del array
