"""The package's shape: no import circles among lambdaops' own modules.

A static check with ``ast``: every ``import`` in a module counts, at module level or
inside a function (a late import still ties the two modules together for a reader, and
runs on some path), except under ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

import lambdaops

PACKAGE = Path(lambdaops.__file__).resolve().parent

#: Circles another part of issue 14 is removing, each by the one edge that closes it.
#: Remove an entry once its edge is gone (test_known_circles_are_gone then passes).
KNOWN: set[tuple[str, str]] = set()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _statements(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of ``tree`` except what sits under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in (child, *_statements(child)))
            continue
        yield node
        yield from _statements(node)


def imports_of(name: str, source: str, modules: Mapping[str, object]) -> set[str]:
    """The lambdaops modules that module ``name`` imports."""
    is_package = name in MODULES and MODULES[name].name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _statements(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            for alias in node.names:
                if f"{base}.{alias.name}" in modules:  # from lambdaops import _output
                    found.add(f"{base}.{alias.name}")
                elif base in modules:  # from lambdaops._render import quote
                    found.add(base)
    found.discard(name)
    return found


def circles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return {name: imports_of(name, path.read_text(), MODULES) for name, path in MODULES.items()}


def test_the_walk_sees_every_kind_of_import() -> None:
    modules = dict.fromkeys(["lambdaops", "lambdaops._a", "lambdaops._b", "lambdaops.local._c"])
    source = """
from typing import TYPE_CHECKING
import lambdaops._a
from lambdaops import _b, instrument
from . import _d

def late():
    from lambdaops.local._c import thing

if TYPE_CHECKING:
    from lambdaops._z import Hint
"""
    assert imports_of("lambdaops._x", source, modules) == {
        "lambdaops",  # ``instrument`` is the package's, not a module
        "lambdaops._a",
        "lambdaops._b",
        "lambdaops.local._c",
    }
    assert imports_of("lambdaops.local._c", "from ._e import f\nfrom .. import _a\n", modules) == {
        "lambdaops._a"
    }


def test_circles_finds_a_circle_through_three_modules() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}
    assert circles(graph) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles(graph: dict[str, set[str]]) -> None:
    assert len(graph) == len(MODULES) > 40
    pruned = {name: {d for d in deps if (name, d) not in KNOWN} for name, deps in graph.items()}
    assert circles(pruned) == []


def test_the_cli_and_logger_circles_are_gone(graph: dict[str, set[str]]) -> None:
    below_cli = [n for n in graph if n.startswith(("lambdaops.layer", "lambdaops.local"))]
    assert len(below_cli) > 10
    assert [n for n in below_cli if "lambdaops.cli" in graph[n]] == []
    assert "lambdaops._logger" not in graph["lambdaops._stdlib"]


def test_known_circles_are_gone(graph: dict[str, set[str]]) -> None:
    assert [edge for edge in sorted(KNOWN) if edge[1] in graph[edge[0]]] == []
    assert circles(graph) == []
