"""Shared test configuration: hypothesis profiles.

``ci``: derandomized, bounded, no deadline (CI machines are slow and shared).
``dev``: many more examples for deeper local runs.
Select with ``--hypothesis-profile=dev`` or ``HYPOTHESIS_PROFILE=dev``; the
default is ``ci`` so that a plain ``pytest`` is quick and reproducible.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=60,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=1000, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
