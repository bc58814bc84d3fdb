"""The import gate: no import cycle between the modules of ``server``.

The graph is read from the source with ``ast`` (nothing is imported). An edge ``a → b`` is an import statement in
``a`` that names module ``b`` of ``server``: ``import b``, ``from b import name``, or ``from package import b`` when
``b`` is a module. Only imports that run when ``a`` is loaded count: those at module level, including the ones under
``try``/``if``, but not those under ``if TYPE_CHECKING:`` (read by type checkers only). An import inside a function
runs when the function is called; this codebase uses that on purpose to load something late (a model module from a
worker action, an app's selectors from another app's view). Such imports are listed by :func:`import_graph` too,
marked ``deferred``, so a report can count the cycles they would close, but the gate is on module level.

``python server/apps/core/tests/test_imports.py`` prints the cycles at both levels.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]
PACKAGE = "server"


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int
    deferred: bool  # inside a function, a method or a lambda: runs when it is called


def module_names(root: Path = ROOT, package: str = PACKAGE) -> dict[str, Path]:
    """Every module of ``package`` by dotted name (a package by its own name, not ``….__init__``)."""
    names = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.Module) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """The module's import statements with whether each is deferred; those under ``if TYPE_CHECKING:`` are left
    out."""

    def visit(node: ast.AST, deferred: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child, deferred
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for statement in child.orelse:
                    yield from visit(ast.Module(body=[statement], type_ignores=[]), deferred)
            else:
                inner = deferred or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
                yield from visit(child, inner)

    yield from visit(tree, False)


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, known: set[str]) -> Iterable[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        anchor = module.split(".") if is_package else module.split(".")[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    return [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]


def import_graph(root: Path = ROOT, package: str = PACKAGE) -> list[Import]:
    """Every import of one module of ``package`` by another (or by itself)."""
    modules = module_names(root, package)
    known = set(modules)
    found = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node, deferred in _import_nodes(tree):
            for target in _targets(node, module, path.name == "__init__.py", known):
                if target in known:
                    found.append(Import(module, target, node.lineno, deferred))
    return found


def cycles(imports: Iterable[Import]) -> list[list[str]]:
    """The import cycles: each strongly connected group of modules (two or more, or one importing itself), sorted.
    Tarjan's algorithm, written out iteratively so a deep graph cannot overflow the stack."""
    edges: dict[str, set[str]] = {}
    for each in imports:
        edges.setdefault(each.importer, set()).add(each.imported)
        edges.setdefault(each.imported, set())
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = lowlink[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    parent = work[-1][0]
                    lowlink[parent] = min(lowlink[parent], lowlink[node])
                if lowlink[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1 or node in edges[node]:
                        groups.append(sorted(group))
            elif child not in index:
                index[child] = lowlink[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(edges[child]))))
            elif child in on_stack:
                lowlink[node] = min(lowlink[node], index[child])
    return sorted(groups)


def describe(group: list[str], imports: Iterable[Import]) -> str:
    """A cycle's modules and the import lines that join them."""
    members = set(group)
    joins = {each for each in imports if each.importer in members and each.imported in members}
    lines = [
        f"  {each.importer}:{each.line} imports {each.imported}{' (in a function)' if each.deferred else ''}"
        for each in sorted(joins, key=lambda each: (each.importer, each.line, each.imported))
    ]
    return "cycle of " + ", ".join(group) + ":\n" + "\n".join(lines)


def test_the_graph_sees_the_imports_it_should():
    """The gate only means something if the graph is right: spot checks of each kind of import."""
    imports = import_graph()
    edges = {(each.importer, each.imported): each.deferred for each in imports}
    # ``from package import module``
    assert ("server.apps.streamer.api.views", "server.apps.streamer.services.upload") in edges
    # ``from module import name``
    assert edges[("server.apps.streamer.jobs", "server.apps.worker.actions")] is False
    # an import inside a function body (Django's createsuperuser goes through the manager, which calls the service)
    assert edges[("server.apps.authentication.models", "server.apps.authentication.services")] is True
    # a relative import
    assert ("server.config.settings.test", "server.config.settings.base") in edges
    # ``if TYPE_CHECKING:`` is for type checkers only
    assert ("server.apps.stream.values", "server.apps.stream.models") not in edges


def test_no_module_level_import_cycles():
    imports = [each for each in import_graph() if not each.deferred]
    found = cycles(imports)
    assert not found, "import cycles at module level:\n" + "\n".join(describe(group, imports) for group in found)


def test_cycles_are_found():
    """The detector itself, on a made-up graph: a three-module loop, a module importing itself, and a chain."""
    made_up = [
        Import("a", "b", 1, False),
        Import("b", "c", 1, False),
        Import("c", "a", 1, False),
        Import("d", "d", 1, False),
        Import("e", "a", 1, False),
    ]
    assert cycles(made_up) == [["a", "b", "c"], ["d"]]


if __name__ == "__main__":
    graph = import_graph()
    for label, edges in (
        ("module level", [each for each in graph if not each.deferred]),
        ("with imports in functions", graph),
    ):
        groups = cycles(edges)
        print(f"{label}: {len(groups)} cycle(s), {sum(map(len, groups))} modules")
        for group in groups:
            print(describe(group, edges))
    sys.exit(0)
