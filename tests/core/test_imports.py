"""The core's modules import one another one way: no import cycles, counting imports inside functions too."""

from __future__ import annotations

import ast
from pathlib import Path

import frechet

PACKAGE = Path(frechet.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of ``tree`` except those under ``if TYPE_CHECKING:`` (annotations only, never imported)."""
    nodes, pending = [], [tree]
    while pending:
        node = pending.pop()
        nodes.append(node)
        for child in ast.iter_child_nodes(node):
            test = child.test if isinstance(child, ast.If) else None
            if test is not None and "TYPE_CHECKING" in ast.unparse(test):
                pending.extend(child.orelse)
            else:
                pending.append(child)
    return nodes


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The frechet modules ``path`` imports anywhere in its code, inside functions too (``from frechet import x``
    counts x if it is a module)."""
    found = set()
    for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(name for name in names if name in modules)
    return found


def import_graph() -> dict[str, set[str]]:
    """{module: frechet modules it imports} over every module of the package, the package itself left out."""
    paths = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    modules = set(paths)
    return {name: _imports(path, modules) - {name, "frechet"} for name, path in paths.items() if name != "frechet"}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Cycles as paths that return to their start: for each module, the first one found back to it, each set of
    modules reported once."""
    found, seen = [], set()
    for start in sorted(graph):
        paths, visited = [[start]], {start}
        while paths:  # breadth first: the shortest way back to start
            path = paths.pop(0)
            for child in sorted(graph.get(path[-1], ())):
                if child == start:
                    if frozenset(path) not in seen:
                        seen.add(frozenset(path))
                        found.append(path + [start])
                    paths.clear()
                    break
                if child not in visited:
                    visited.add(child)
                    paths.append(path + [child])
    return found


def test_the_core_has_no_import_cycles():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_planted_cycle():
    graph = import_graph()
    assert "frechet.stats" in graph["frechet.statsfiles"]
    graph["frechet.stats"] = graph["frechet.stats"] | {"frechet.statsfiles"}
    assert any(cycle[0] == cycle[-1] and "frechet.stats" in cycle for cycle in cycles(graph))
