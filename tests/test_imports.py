"""The shape of mmref's import graph: one-way floors, no cycle, no private name across modules.

Every ``import`` and ``from ... import`` in mmref/ is read with :mod:`ast`, those inside
functions (lazy imports) included, and resolved to the mmref module it names. Three rules:

1. No cycle among modules.
2. A module imports only from its own floor or lower ones (``FLOORS`` below): the core
   never reaches the CLI; encoders never reach persistence, streaming, Dask or the kit.
3. No module imports another module's underscore name (``from .x import _name``) or reads
   one through an imported module (``from . import x`` then ``x._name``). Private modules
   themselves (``_hashing``) may be imported; inside them, names need no underscore.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "mmref"

# Lowest first. A module not listed here fails the test: place every new module on a floor.
FLOORS: list[tuple[str, set[str]]] = [
    (
        "foundation",
        {
            "exceptions",
            "protocols",
            "_typing",
            "_hashing",
            "_numeric",
            "_io",
            "_base",
            "_frames",
            "_atomic",
            "_stopwords",
            "_version",
            "_threads",
        },
    ),
    ("validation and the specification", {"_validation", "reference", "_testdata"}),
    (
        "engines",
        {"_projection", "_gaussian", "_tokenize", "_text_counts", "_classifier_base"},
    ),
    (
        "encoders and estimators",
        {
            "image",
            "text",
            "classifiers",
            "multimodal",
            "alignment",
            "zeroshot",
            "retrieval",
            "adapters",
            "datasets",
            "pipeline",
        },
    ),
    (
        "persistence, streaming and files",
        {
            "persistence",
            "_model_checks",
            "_stream",
            "dask",
            "imagefiles",
            "tables",
            "_outputs",
        },
    ),
    ("conformance kit", {"conformance", "conformance.*", "testing", "strategies"}),
    ("package face", {"__init__"}),
    ("command line", {"cli", "cli.*", "__main__"}),
]


def _module_names() -> dict[str, tuple[Path, bool]]:
    """``{dotted name: (path, is_package)}`` for every module of mmref."""
    names = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        names[".".join(parts)] = (path, is_package)
    return names


MODULES = _module_names()


def _resolve(module: str, is_package: bool, level: int, name: str | None) -> str:
    if level == 0:
        return name or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def _imports(module: str) -> list[tuple[str, str | None, str, int]]:
    """``(target module, imported attribute or None, bound name, line)`` of each mmref import.

    ``ast.walk`` visits every statement, so imports inside functions count too.
    """
    path, is_package = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "mmref" or alias.name.startswith("mmref."):
                    bound = alias.asname or alias.name.split(".")[0]
                    found.append((alias.name, None, bound, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, is_package, node.level, node.module)
            if target != "mmref" and not target.startswith("mmref."):
                continue
            for alias in node.names:
                bound = alias.asname or alias.name
                submodule = f"{target}.{alias.name}"
                if submodule in MODULES:
                    found.append((submodule, None, bound, node.lineno))
                else:
                    found.append((target, alias.name, bound, node.lineno))
    return found


def _edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {module: set() for module in MODULES}
    for module in MODULES:
        for target, _, _, _ in _imports(module):
            if target != module:
                edges[module].add(target)
    return edges


def _floor(module: str) -> int:
    local = module.removeprefix("mmref").removeprefix(".") or "__init__"
    for index, (_, members) in enumerate(FLOORS):
        for member in members:
            if local == member or (member.endswith(".*") and local.startswith(member[:-1])):
                return index
    raise AssertionError(f"mmref module {module} is on no floor: add it to FLOORS")


def test_every_module_is_on_exactly_one_floor() -> None:
    for module in MODULES:
        local = module.removeprefix("mmref").removeprefix(".") or "__init__"
        floors = [
            name
            for name, members in FLOORS
            if any(local == m or (m.endswith(".*") and local.startswith(m[:-1])) for m in members)
        ]
        assert len(floors) == 1, (module, floors)


def test_imports_go_down_or_sideways_never_up() -> None:
    upward = [
        f"{module} (floor {FLOORS[_floor(module)][0]!r}) imports {target} "
        f"(floor {FLOORS[_floor(target)][0]!r})"
        for module, targets in _edges().items()
        for target in sorted(targets)
        if _floor(target) > _floor(module)
    ]
    assert upward == []


def test_the_import_graph_has_no_cycle() -> None:
    edges = _edges()
    # Tarjan's strongly connected components: a component of more than one module,
    # or a module importing itself, is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(edges[module]):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    assert cycles == []


def test_no_underscore_name_is_imported_across_modules() -> None:
    crossings = []
    for module, (path, _) in MODULES.items():
        module_aliases = set()
        for target, attribute, bound, line in _imports(module):
            if attribute is None:
                if "." not in bound:  # ``import mmref.x`` binds mmref: x._name is not read
                    module_aliases.add(bound)
            elif attribute.startswith("_") and not attribute.startswith("__"):
                crossings.append(f"{path.name}:{line} imports {attribute} from {target}")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in module_aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                crossings.append(f"{path.name}:{node.lineno} reads {node.value.id}.{node.attr}")
    assert crossings == []


@pytest.mark.parametrize(
    "source",
    [
        "from ._hashing import _MASK64\n",
        "from . import _gaussian\nx = _gaussian._WORKERS\n",
        "def f():\n    from . import _gaussian as g\n    return g._WORKERS\n",
    ],
)
def test_the_underscore_rule_catches_what_it_should(
    source: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The checks above must be able to fail: run the underscore check on a fake module.
    fake = tmp_path / "fake.py"
    fake.write_text(source, encoding="utf-8")
    monkeypatch.setitem(MODULES, "mmref.fake", (fake, False))
    with pytest.raises(AssertionError):
        test_no_underscore_name_is_imported_across_modules()


def test_the_floor_and_cycle_rules_catch_what_they_should(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    upward = tmp_path / "upward.py"
    upward.write_text("def f():\n    from .cli import main\n", encoding="utf-8")
    monkeypatch.setitem(MODULES, "mmref.exceptions", (upward, False))
    with pytest.raises(AssertionError):  # a lazy import from the foundation to the CLI
        test_imports_go_down_or_sideways_never_up()
    with pytest.raises(AssertionError):  # cli -> ... -> exceptions -> cli
        test_the_import_graph_has_no_cycle()
