"""The shape of the package: no import cycles, the core never imports the Lino layer, the demo uses the API."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "notify"
#: What a settings module may import: helpers that load no models (settings load before the apps).
SETTINGS_HELPERS = {"notify.celery_tasks", "notify.push.keys"}


def _modules(root: Path, prefix: str) -> dict[str, Path]:
    found = {}
    for path in root.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(root).with_suffix("").parts
        name = ".".join((prefix, *parts)).removesuffix(".__init__")
        found[name] = path
    return found


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return lines


def imports(name: str, path: Path) -> set[str]:
    """Return the modules ``name`` imports, at any depth of the file, except for type checking only."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    skip = _type_checking_lines(tree)
    found = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            found.update(f"{base}.{alias.name}" for alias in node.names)
            found.add(base)
    return found


def graph() -> dict[str, set[str]]:
    """Return the import graph between the modules of the notify package."""
    modules = _modules(PACKAGE, "notify")
    return {name: {m for m in imports(name, path) if m in modules and m != name} for name, path in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Return the groups of modules that import each other, directly or not (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in edges[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in edges:
        if node not in index:
            visit(node)
    return groups


def test_cycles_are_found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_of_the_package_imports_another_that_imports_it_back():
    assert cycles(graph()) == []


def test_the_core_never_imports_the_lino_layer():
    offenders = {name: sorted(m for m in deps if m.startswith("notify.lino"))
                 for name, deps in graph().items() if not name.startswith("notify.lino")}
    assert {name: deps for name, deps in offenders.items() if deps} == {}


def test_the_demo_imports_only_the_api_and_the_lino_layer():
    wrong = {}
    for name, path in _modules(ROOT / "demo", "demo").items():
        allowed = SETTINGS_HELPERS if name.endswith(".settings") else set()
        used = {m for m in imports(name, path) if m == "notify" or m.startswith("notify.")}
        bad = {m for m in used if not m.startswith(("notify.api", "notify.lino", *allowed))}
        if bad:
            wrong[name] = sorted(bad)
    assert wrong == {}
