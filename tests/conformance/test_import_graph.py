"""The kit's imports run one way: mmref's import graph, parsed with ast, has no cycle.

Two graphs: the imports every module makes when it is loaded (module level, outside
``if TYPE_CHECKING:``), over the whole package; and, for the conformance kit and its
faces (``mmref.conformance.*``, ``mmref.testing``, ``mmref.strategies``,
``mmref.cli.conform``), every import, the deferred ones inside functions included.
"""

from __future__ import annotations

import ast
from pathlib import Path

import mmref

PACKAGE = Path(mmref.__file__).parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
KIT = {
    m
    for m in MODULES
    if m.startswith("mmref.conformance") or m in ("mmref.testing", "mmref.strategies")
} | {"mmref.cli.conform"}


def imports(module: str, *, deferred: bool) -> set[str]:
    """The mmref modules ``module`` imports (``from PKG import SUBMODULE`` counts as SUBMODULE)."""
    path = MODULES[module]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) and not deferred:
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = module.split(".")
                    if path.name != "__init__.py":
                        base = base[:-1]
                    base = base[: len(base) - child.level + 1]
                    source = ".".join([*base, *([child.module] if child.module else [])])
                else:
                    source = child.module or ""
                for alias in child.names:
                    sub = f"{source}.{alias.name}"
                    found.add(sub if sub in MODULES else source)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return {m for m in found if m in MODULES and m != module}


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of ``graph`` as a list of modules (first == last), or [] if there is none."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def walk(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := walk(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state and (cycle := walk(start)):
            return cycle
    return []


def test_find_cycle_finds_cycles() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


def test_the_import_parser_sees_relative_and_deferred_imports() -> None:
    core = imports("mmref.conformance._core", deferred=True)
    assert {"mmref._hashing", "mmref.conformance._describe", "mmref.conformance._examples"} <= core
    assert "mmref.conformance._examples" not in imports("mmref.conformance._core", deferred=False)
    assert "mmref.conformance" in imports("mmref.testing", deferred=False)


def test_no_module_level_import_cycle_in_mmref() -> None:
    graph = {m: imports(m, deferred=False) for m in MODULES}
    assert find_cycle(graph) == []


def test_no_import_cycle_in_the_kit_deferred_imports_included() -> None:
    graph = {m: imports(m, deferred=True) & KIT for m in KIT}
    assert find_cycle(graph) == []


def test_the_kit_never_imports_the_command_line() -> None:
    for module in KIT - {"mmref.cli.conform"}:
        assert not any(m.startswith("mmref.cli") for m in imports(module, deferred=True)), module
