"""Every relative import in bioSNN resolves, including those inside functions that only
run on rare paths (moving a module must not leave one behind)."""
from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "bioSNN"


def test_every_relative_import_resolves():
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        package = ".".join(parts[:-1])
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.ImportFrom) and node.level):
                continue
            name = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            try:
                module = importlib.import_module(name)
            except ModuleNotFoundError:
                bad.append(f"{path.name}:{node.lineno}: {name}")
                continue
            for alias in node.names:
                if alias.name == "*" or hasattr(module, alias.name):
                    continue
                try:
                    importlib.import_module(f"{name}.{alias.name}")
                except ModuleNotFoundError:
                    bad.append(f"{path.name}:{node.lineno}: {name}.{alias.name}")
    assert not bad, bad
