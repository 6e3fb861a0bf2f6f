"""Image-file case: ``mmref embed`` on a folder of JPEGs against a bare Pillow loop.

``files.embed_jpegs``: ``python -m mmref embed --images DIR --image-size 128x128``
on a folder of 256x256 JPEGs (10,000 in full runs, 64 with ``--quick``) written
to a temporary directory, timed from outside (wall clock, interpreter start
included) with the child's peak RSS (``VmHWM``, via ``python -m
benchmarks.memory --run-module``). Limit: a bare Pillow loop in this process
that opens, decodes, converts to grey and resizes each file with the same
filter, the work mmref cannot avoid; mmref adds its conversion rules, the
embedding and the output. Target (issue 18): peak RSS under 300 MB.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .harness import Case, Contender, MemoryResult, Prepared, SelfTimed, Target, Unavailable

__all__ = ["cases"]

_ROOT = Path(__file__).resolve().parent.parent
_SIDE = 256
_TARGET_SIZE = (128, 128)


def cases(*, quick: bool) -> list[Case]:
    """The JPEG-folder case, at the --quick size if ``quick``."""
    n = 64 if quick else 10_000
    return [
        Case(
            "files.embed_jpegs",
            f"mmref embed on a folder of {n} JPEGs ({_SIDE}x{_SIDE}) -> 128x128 grey",
            _preparer(n),
            (
                Target(
                    "mmref embed on 10,000 JPEGs: peak RSS < 300 MB (issue 18)",
                    "issue 18",
                    "peak_rss_mib",
                    300 / 1.048576,
                ),
            ),
            memory="self",
            warmup=0,
        )
    ]


def _preparer(n: int) -> Callable[[], Prepared]:
    def prepare() -> Prepared:
        try:
            from PIL import Image
        except ImportError:
            raise Unavailable("Pillow is not installed (pip install 'mmref[images]')") from None
        tmp = tempfile.mkdtemp(prefix="mmref-bench-jpegs-")
        folder = os.path.join(tmp, "photos")
        os.mkdir(folder)
        paths = _write_jpegs(folder, n, Image)
        output = os.path.join(tmp, "embedding.npy")
        report = os.path.join(tmp, "report.json")
        size = f"{_TARGET_SIZE[0]}x{_TARGET_SIZE[1]}"
        cmd = [
            sys.executable, "-m", "benchmarks.memory", "--run-module", "mmref", "--report",
            report, "embed", "--images", folder, "--image-size", size, "--output", output,
            "--quiet",
        ]  # fmt: skip
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_ROOT), env.get("PYTHONPATH")]))
        peaks: list[int] = []

        def run_mmref() -> SelfTimed:
            start = time.perf_counter()
            subprocess.run(cmd, cwd=_ROOT, env=env, check=True, capture_output=True, timeout=3600)
            seconds = time.perf_counter() - start
            peak = json.loads(Path(report).read_text())["peak_rss"]
            if peak is not None:
                peaks.append(int(peak))
            return SelfTimed(seconds, peak_rss=peak)

        resample = Image.Resampling.BILINEAR
        width_height = (_TARGET_SIZE[1], _TARGET_SIZE[0])

        def pillow_loop() -> object:
            total = 0
            for path in paths:
                with Image.open(path) as image:
                    pixels = np.asarray(image.convert("L").resize(width_height, resample))
                total += int(pixels[0, 0])
            return total

        def probe() -> dict[str, MemoryResult]:
            return {"mmref": MemoryResult(None, max(peaks) if peaks else None, None)}

        contenders = [
            Contender(
                "mmref", f"python -m mmref embed --images DIR --image-size {size}", run_mmref
            ),
            Contender("limit", "Pillow open + convert('L') + resize, in-process loop", pillow_loop),
        ]
        megabytes = sum(os.path.getsize(p) for p in paths) / 2**20
        return Prepared(
            contenders,
            n,
            "images",
            notes=[f"{n} JPEGs, {megabytes:.0f} MiB; mmref's time includes interpreter start"],
            cleanup=lambda: shutil.rmtree(tmp, ignore_errors=True),
            memory_probe=probe,
        )

    return prepare


def _write_jpegs(folder: str, n: int, image_module: object) -> list[str]:
    """``n`` distinct smooth-with-texture 256x256 colour JPEGs (quality 90)."""
    y, x = np.mgrid[0:_SIDE, 0:_SIDE]
    paths = []
    for i in range(n):
        r = (x + 3 * i) % 256
        g = (y * (1 + i % 5)) % 256
        b = ((x ^ y) + i) % 256
        pixels = np.stack([r, g, b], axis=2).astype(np.uint8)
        path = os.path.join(folder, f"{i:05d}.jpg")
        image_module.fromarray(pixels).save(path, quality=90)  # type: ignore[attr-defined]
        paths.append(path)
    return paths
