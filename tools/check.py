"""The one test command: lint, type-check and run the whole test suite.

README.md's test set-up command ends in ``python tools/check.py`` and .ci/run runs it
first, so what a contributor runs and what CI runs cannot drift apart (.ci/run then
also builds the API reference and the packages, and runs the tests on the oldest
supported versions and the newest Python). Extra arguments go to pytest
(``python tools/check.py -k axis``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    steps = [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["mypy"],
        ["pytest", "--hypothesis-profile=ci", *argv],
        # Tiny sizes: the benchmarks must keep running; their numbers are not checked here.
        ["benchmarks", "--quick"],
        # No mutant of the two specification functions or their checks may survive.
        ["tools.mutation", "reference", "_validation:reference", "--check", "--no-write"],
    ]
    for step in steps:
        print("+", " ".join(step), flush=True)
        code = subprocess.call([sys.executable, "-m", *step], cwd=ROOT)
        if code != 0:
            print(f"FAILED: {' '.join(step)} exited with {code}", file=sys.stderr)
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
