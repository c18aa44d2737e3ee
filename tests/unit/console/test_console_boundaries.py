"""The console reaches the data only through the public HTTP API: it imports no service."""

from __future__ import annotations

import ast
from pathlib import Path

import web_console

SERVICES = ("customer_command", "customer_query", "equipment", "notifications", "customerhub")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_console_module_imports_a_service() -> None:
    modules = list(Path(web_console.__file__).parent.rglob("*.py"))
    assert len(modules) > 5
    crossing = {
        (path.name, name)
        for path in modules
        for name in imported_modules(path)
        if name.split(".")[0] in SERVICES
    }
    assert crossing == set()
