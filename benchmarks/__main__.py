"""Run the benchmarks: ``python -m benchmarks [--quick] [--json PATH] [-k SUBSTRING]``."""

from __future__ import annotations

import sys

from .cli import run_main

sys.exit(run_main())
