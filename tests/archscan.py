"""Reads a package's own imports (module level, function level and TYPE_CHECKING alike) and
reports what the architecture contract forbids: import cycles, heavy numerical back ends outside
``backends/``, private names imported across modules and oversized modules.

Used by tests/user/test_architecture.py on hierbayes and, to prove each check can fail, on small
packages written by the tests.
"""

from __future__ import annotations

import ast
import pathlib
from collections import defaultdict
from dataclasses import dataclass, field

HEAVY = ("pymc", "pytensor", "jax", "jaxlib", "numpyro", "nutpie")
SIZE_LIMIT = 500
SIZE_NEEDS_REASON = 400
SIZE_REASON_MARKER = "Size:"


@dataclass
class Scan:
    """Modules of a package and the edges between them."""

    modules: dict[str, pathlib.Path]
    edges: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    heavy: list[tuple[str, str]] = field(default_factory=list)
    private: list[tuple[str, str, str]] = field(default_factory=list)


def _module_names(package_dir: pathlib.Path) -> dict[str, pathlib.Path]:
    names = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def _absolute(module: str, path: pathlib.Path, node: ast.ImportFrom) -> str | None:
    if not node.level:
        return node.module
    base = module.split(".")
    if path.name != "__init__.py":
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def scan(package_dir: pathlib.Path) -> Scan:
    """Scan every module under ``package_dir`` (a package directory)."""
    root = package_dir.name
    result = Scan(_module_names(package_dir))
    for module, path in result.modules.items():
        in_backends = f"{root}.backends" in module
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [(alias.name, None) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                target = _absolute(module, path, node)
                if target is None:
                    continue
                targets = [(target, alias.name) for alias in node.names]
            else:
                continue
            for target, name in targets:
                if target.split(".")[0] in HEAVY and not in_backends:
                    result.heavy.append((module, target))
                if target != root and not target.startswith(root + "."):
                    continue
                submodule = f"{target}.{name}" if name else None
                if submodule in result.modules:
                    result.edges[module].add(submodule)
                    continue
                result.edges[module].add(target)
                if name and name.startswith("_") and not name.startswith("__") and target != module:
                    result.private.append((module, target, name))
    return result


def cycles(result: Scan) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in result.edges.get(v, ()):
            if w not in result.modules or w == v:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in result.modules:
        if module not in index:
            visit(module)
    return found


def oversized(result: Scan) -> list[tuple[str, int, str]]:
    """Modules over SIZE_LIMIT lines, or over SIZE_NEEDS_REASON without a stated reason."""
    out = []
    for module, path in result.modules.items():
        text = path.read_text()
        lines = len(text.splitlines())
        docstring = ast.get_docstring(ast.parse(text)) or ""
        if lines > SIZE_LIMIT:
            out.append((module, lines, f"over {SIZE_LIMIT} lines"))
        elif lines > SIZE_NEEDS_REASON and SIZE_REASON_MARKER not in docstring:
            out.append((module, lines, f"over {SIZE_NEEDS_REASON} lines without a '{SIZE_REASON_MARKER}' reason"))
    return out
