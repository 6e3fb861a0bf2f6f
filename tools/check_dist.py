"""Build the sdist and the wheel, then install each in a fresh environment and run it.

``python tools/check_dist.py`` (needs the ``build`` package: ``pip install -e ".[dev]"``)
checks what a user gets from ``pip install mmref``:

1. ``python -m build`` makes ``mmref-VERSION.tar.gz`` and ``mmref-VERSION-py3-none-any.whl``;
2. both hold the golden vectors (``mmref/conformance/golden.json``), ``mmref/py.typed``
   and the LICENSE;
3. each installs in a new virtual environment (outside this clone, so nothing is
   imported from the work tree), where ``mmref demo --samples 200`` and
   ``mmref conform golden`` pass.

.ci/run runs it. pip's cache makes the repeated NumPy and SciPy installs cheap.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIRED = ("mmref/conformance/golden.json", "mmref/py.typed", "mmref/__init__.py")


def _run(*cmd: str | Path, cwd: Path) -> str:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    done = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.stdout.write(done.stdout)
        sys.stderr.write(done.stderr)
        raise SystemExit(f"FAILED ({done.returncode}): {' '.join(str(c) for c in cmd)}")
    return done.stdout


def _members(path: Path) -> set[str]:
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as whl:
            return set(whl.namelist())
    with tarfile.open(path) as sdist:
        # Strip the leading mmref-VERSION/ so both archives are checked by the same names.
        return {name.partition("/")[2] for name in sdist.getnames()}


def _check_contents(path: Path) -> None:
    members = _members(path)
    missing = [name for name in REQUIRED if name not in members]
    if not any(name.endswith("LICENSE") for name in members):
        missing.append("LICENSE")
    if missing:
        raise SystemExit(f"FAILED: {path.name} lacks {', '.join(missing)}")
    print(f"{path.name}: holds {', '.join(REQUIRED)} and LICENSE", flush=True)


def _install_and_run(archive: Path, work: Path) -> None:
    env_dir = work / f"env-{archive.name}"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    _run(python, "-m", "pip", "install", "--quiet", archive, cwd=work)
    # From a folder outside the clone: the installed package is what runs.
    where = _run(python, "-c", "import mmref; print(mmref.__file__)", cwd=work).strip()
    if not where.startswith(str(env_dir)):
        raise SystemExit(f"FAILED: mmref imported from {where}, not from {env_dir}")
    demo = _run(env_dir / "bin" / "mmref", "demo", "--samples", "200", cwd=work)
    if "test accuracy" not in demo:
        raise SystemExit(f"FAILED: unexpected mmref demo output:\n{demo}")
    golden = _run(env_dir / "bin" / "mmref", "conform", "golden", cwd=work)
    print(golden.splitlines()[-1], flush=True)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="mmref-dist-") as tmp:
        work = Path(tmp)
        dist = work / "dist"
        _run(sys.executable, "-m", "build", "--outdir", dist, ROOT, cwd=work)
        archives = sorted(dist.glob("mmref-*.tar.gz")) + sorted(dist.glob("mmref-*.whl"))
        if len(archives) != 2:
            raise SystemExit(f"FAILED: expected one sdist and one wheel, got {archives}")
        for archive in archives:
            _check_contents(archive)
            _install_and_run(archive, work)
    print("sdist and wheel: built, complete, installed and run", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
