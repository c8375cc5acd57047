"""The package layout holds: no import circle, and each part imports only the parts below it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"
SHARED = {"app", "app.config", "app.extensions", "app.models", "app.logs", "app.inputs", "app.errors"}
SHARED |= {"app.manifest", "app.cli"}
BLUEPRINTS = {"api", "events", "install", "main", "oauth", "ops", "timeline"}
# What each part may import besides itself and the shared root modules (README "Architecture").
MAY_IMPORT: dict[str, set[str]] = {
    "layout": set(),
    "i18n": set(),  # the catalogs and the LANG mapping
    "bitrix24": {"layout"},
    "web": {"bitrix24"},
    "metrics": {"inbox", "bitrix24"},  # the inbox's figures, read at scrape time
    "portals": {"bitrix24", "layout", "web", "metrics"},
    "activities": {"bitrix24", "layout", "portals", "i18n"},
    "inbox": {"bitrix24", "layout", "portals", "activities", "metrics"},
}


def module_name(path: Path) -> str:
    """app/inbox/worker.py -> app.inbox.worker; a package's __init__ is the package."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in APP.rglob("*.py")}


def imports(path: Path) -> set[str]:
    """The app modules a file imports, at any depth of the file (lazy imports count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("app"):
            module = node.module or ""
            found |= {f"{module}.{a.name}" if f"{module}.{a.name}" in MODULES else module for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in MODULES}
    return found & MODULES.keys()


GRAPH = {name: imports(path) - {name} for name, path in MODULES.items()}


def part(module: str) -> str:
    """The package a module belongs to (`app.inbox.worker` -> inbox); the root modules are `root`."""
    if module in SHARED:
        return "root"
    return module.split(".")[1]


def test_no_module_imports_itself_through_others() -> None:
    assert _cycles(GRAPH) == []


def test_each_part_imports_only_the_parts_below_it() -> None:
    wrong = []
    for name, deps in GRAPH.items():
        own = part(name)
        if own not in MAY_IMPORT or name.endswith(
            ".cli"
        ):  # blueprints and CLIs sit on top; the root assembles
            continue
        allowed = MAY_IMPORT[own] | {own, "root"}
        wrong += [f"{name} -> {dep}" for dep in sorted(deps) if part(dep) not in allowed]
    assert wrong == []


def test_shared_root_modules_import_no_part_but_web_and_the_client() -> None:
    assembling = {"app", "app.cli"}  # the factory and the command line put the parts together
    wrong = [
        f"{name} -> {dep}"
        for name in SHARED - assembling
        for dep in sorted(GRAPH[name])
        if part(dep) not in {"root", "web", "bitrix24"}
    ]
    assert wrong == []


def test_the_root_keeps_at_most_ten_modules() -> None:
    assert len(list(APP.glob("*.py"))) <= 10


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles: strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(component for component in found if len(component) > 1)
