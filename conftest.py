"""Root pytest configuration: skip doctests of optional modules whose extras are missing."""

from __future__ import annotations

import importlib.util

collect_ignore = (
    []
    if importlib.util.find_spec("dask") and importlib.util.find_spec("distributed")
    else ["mmref/dask.py"]
)
