"""The project's module-level import graph has no cycles, and the dependency runs one way: consent_app imports
nothing from collections_app, audit_app nothing from either, and the policy engine nothing but itself and the
standard library (DESIGN.md "Layout").

Edges are the imports at module level (not those inside functions, nor under `if TYPE_CHECKING:`), resolved to
the project's own modules: `from pkg import name` points at `pkg.name` when that is a module, else at `pkg`.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("audit_app", "consent_app", "collections_app", "config")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _project_modules() -> dict[str, Path]:
    modules = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            modules[_module_name(path)] = path
    return modules


def _top_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If) and "TYPE_CHECKING" not in ast.unparse(node.test) or isinstance(node, ast.Try):
            found += [n for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom)]
    return found


def import_graph() -> dict[str, set[str]]:
    modules = _project_modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _top_level_imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in node.names]
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    sys.setrecursionlimit(10_000)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycles():
    assert find_cycle(import_graph()) is None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_dependencies_run_one_way():
    graph = import_graph()
    upward = sorted(
        (source, target)
        for source, targets in graph.items()
        for target in targets
        if (source.startswith("consent_app") and target.startswith("collections_app"))
        or (source.startswith("audit_app") and target.startswith(("consent_app", "collections_app")))
        or (source.startswith("collections_app.policy") and not target.startswith("collections_app.policy"))
    )
    assert upward == []


# AppConfig.ready() is where Django wants start-up wiring that needs the models loaded: the one legitimate place
# for an import inside a function.
LOCAL_IMPORTS_ALLOWED = {("collections_app.apps", "ready")}


def function_local_project_imports() -> list[tuple[str, str, str]]:
    """(module, function, imported module) for every import of a project module inside a function: such an
    import hides a cycle from the graph above, so there must be none."""
    found = []
    for name, path in _project_modules().items():
        for func in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.ImportFrom):
                    target = node.module or ""
                    if node.level or target.startswith(APPS):
                        found.append((name, func.name, "." * node.level + target))
                elif isinstance(node, ast.Import):
                    found += [(name, func.name, a.name) for a in node.names if a.name.startswith(APPS)]
    return sorted(f for f in found if (f[0], f[1]) not in LOCAL_IMPORTS_ALLOWED)


def test_no_function_local_imports_of_project_modules():
    assert function_local_project_imports() == []
