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


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_uses(test_dir: pathlib.Path, package: str) -> list[tuple[str, int, str]]:
    """(file, line, what) for every private name of ``package`` that a test file reaches:
    ``from package.x import _y``, ``x._y`` with ``x`` imported from the package (a module or
    a class), and ``monkeypatch.setattr(x, "_y", ...)``."""
    out = []
    for path in sorted(test_dir.rglob("*.py")):
        tree = ast.parse(path.read_text())
        bound: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == package:
                for alias in node.names:
                    if _private(alias.name):
                        out.append((str(path), node.lineno, f"from {node.module} import {alias.name}"))
                    bound.add(alias.asname or alias.name)
            elif isinstance(node, ast.Import):
                bound.update((a.asname or a.name).split(".")[0] for a in node.names if a.name.split(".")[0] == package)
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and "import_module" in ast.unparse(node.value.func):
                if node.value.args and isinstance(node.value.args[0], ast.Constant) and str(node.value.args[0].value).startswith(package):
                    bound.update(t.id for t in node.targets if isinstance(t, ast.Name))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and _private(node.attr):
                base = node.value
                while isinstance(base, ast.Attribute):
                    base = base.value
                if isinstance(base, ast.Name) and base.id in bound:
                    out.append((str(path), node.lineno, ast.unparse(node)))
            elif isinstance(node, ast.Call) and ast.unparse(node.func).endswith("setattr") and len(node.args) >= 2:
                target, name = node.args[0], node.args[1]
                if isinstance(target, ast.Name) and target.id in bound and isinstance(name, ast.Constant) \
                        and isinstance(name.value, str) and _private(name.value):
                    out.append((str(path), node.lineno, f"setattr({target.id}, {name.value!r})"))
    return sorted(set(out))
