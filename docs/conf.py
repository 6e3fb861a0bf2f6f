"""Sphinx configuration of mmref's API reference.

Build: ``python -m sphinx -W -b html docs docs/_build/html`` (warnings are errors).

``api.rst`` is written here, before Sphinx reads the sources, from the ``__all__`` of
``mmref`` and of every public module (no part of the name starts with ``_``), so a
public name added later gets its page without anyone editing the docs. Each object is
documented once, under the first public path that names it (``mmref.RidgeClassifier``
rather than ``mmref.classifiers.RidgeClassifier``); the other paths say where it is.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import mmref

project = "mmref"
author = "the mmref developers"
copyright = "the mmref developers"
release = version = mmref.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
]
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": False}
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
intersphinx_mapping: dict[str, tuple[str, None]] = {}
templates_path = ["_templates"]
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path: list[str] = []
suppress_warnings = ["config.cache"]


def _public_modules() -> list[str]:
    names = ["mmref"]
    for info in pkgutil.walk_packages(mmref.__path__, "mmref."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return names


def _write_api(path: Path) -> None:
    seen: dict[int, str] = {}
    lines = [
        "API reference",
        "=============",
        "",
        "Every public name of mmref: the names in ``mmref.__all__`` and in the ``__all__``",
        "of each public module, one page each, from the docstrings. A name that several",
        "modules export is documented once, under the first of them listed here.",
        "",
    ]
    for module_name in _public_modules():
        module = importlib.import_module(module_name)
        public = list(getattr(module, "__all__", []))
        title = f"``{module_name}``"
        lines += [
            title,
            "-" * len(title),
            "",
            f".. automodule:: {module_name}",
            "   :no-members:",
            "",
        ]
        own, aliases = [], []
        for name in public:
            obj = getattr(module, name)
            if isinstance(obj, type(mmref)) or name == "__version__":
                continue  # submodules have their own section; the version is a string
            key = id(obj)
            if key in seen and not isinstance(obj, (str, int, float, tuple, dict, frozenset)):
                aliases.append(f"``{name}`` (see :obj:`{seen[key]}`)")
            else:
                seen.setdefault(key, f"{module_name}.{name}")
                own.append(name)
        if own:
            lines += [
                f".. currentmodule:: {module_name}",
                "",
                ".. autosummary::",
                "   :toctree: generated",
                "",
            ]
            lines += [f"   {name}" for name in own] + [""]
        if aliases:
            lines += ["Also exported here: " + ", ".join(aliases) + ".", ""]
    text = "\n".join(lines)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


_write_api(Path(__file__).resolve().parent / "api.rst")
