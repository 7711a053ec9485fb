"""The architecture contract, checked on the package's own imports (docs/architecture.md):
no import cycles, PyMC/PyTensor/JAX only in backends/, no private name imported across modules,
no module over 500 lines (over 400 only with a 'Size:' reason in its docstring), and the layer
contracts of pyproject.toml's [tool.importlinter] kept. Each check is also run on a small package
that breaks it, so none of them can pass vacuously."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import textwrap

import archscan
import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "hierbayes"
PROJECT = PACKAGE.parent


@pytest.fixture(scope="module")
def hierbayes_scan() -> archscan.Scan:
    return archscan.scan(PACKAGE)


def test_no_import_cycles(hierbayes_scan):
    assert archscan.cycles(hierbayes_scan) == []


def test_pymc_pytensor_jax_only_in_backends(hierbayes_scan):
    assert hierbayes_scan.heavy == []


def test_no_private_name_imported_across_modules(hierbayes_scan):
    assert hierbayes_scan.private == []


def test_tests_reach_no_private_name_of_the_package():
    assert archscan.private_uses(PROJECT / "tests", "hierbayes") == []


def test_module_sizes(hierbayes_scan):
    assert archscan.oversized(hierbayes_scan) == []


def test_import_linter_contracts():
    lint = shutil.which("lint-imports", path=os.path.dirname(sys.executable)) or shutil.which("lint-imports")
    assert lint, "import-linter is a test dependency (pyproject.toml [project.optional-dependencies] test)"
    run = subprocess.run([lint, "--no-cache"], cwd=PROJECT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


# ------------------------------------------------------------ each check can fail


def _package(tmp_path: pathlib.Path, files: dict[str, str]) -> pathlib.Path:
    root = tmp_path / "toy"
    for name, text in {"__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def test_scan_finds_a_cycle_through_a_function_level_import(tmp_path):
    root = _package(tmp_path, {
        "a.py": "from .b import g\n",
        "b.py": "def g():\n    from .a import f\n",
    })
    assert archscan.cycles(archscan.scan(root)) == [["toy.a", "toy.b"]]


def test_scan_finds_a_type_checking_import_in_a_cycle(tmp_path):
    root = _package(tmp_path, {
        "a.py": "from .b import g\n",
        "b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import f\n",
    })
    assert archscan.cycles(archscan.scan(root)) == [["toy.a", "toy.b"]]


def test_scan_finds_pymc_outside_backends(tmp_path):
    root = _package(tmp_path, {
        "backends/__init__.py": "import pymc\n",
        "stats.py": "def f():\n    from jax import numpy\n",
    })
    assert archscan.scan(root).heavy == [("toy.stats", "jax")]


def test_scan_finds_a_private_name_imported_across_modules(tmp_path):
    root = _package(tmp_path, {"a.py": "_hidden = 1\n", "b.py": "from .a import _hidden, __doc__\n"})
    assert archscan.scan(root).private == [("toy.b", "toy.a", "_hidden")]


def test_scan_finds_private_names_reached_by_tests(tmp_path):
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_a.py").write_text(textwrap.dedent("""
        import importlib
        import toy.a as a
        from toy.b import _hidden, __doc__, Public
        from other import _fine
        m = importlib.import_module("toy.c")

        def test(monkeypatch):
            a._helper()
            Public._method()
            monkeypatch.setattr(m, "_state", 1)
            monkeypatch.setattr(m, "public", 1)
            _fine._x
    """))
    found = [(line, what) for _, line, what in archscan.private_uses(tests, "toy")]
    assert found == [(4, "from toy.b import _hidden"), (9, "a._helper"), (10, "Public._method"),
                     (11, "setattr(m, '_state')")]


def test_scan_finds_oversized_modules(tmp_path):
    body = "x = 1\n" * 450
    root = _package(tmp_path, {
        "big.py": "x = 1\n" * 501,
        "unexplained.py": body,
        "explained.py": '"""Size: one state machine that reads best whole."""\n' + body,
    })
    found = {module: reason for module, _, reason in archscan.oversized(archscan.scan(root))}
    assert set(found) == {"toy.big", "toy.unexplained"}
    assert "over 500" in found["toy.big"]


def test_import_linter_reports_an_upward_import(tmp_path):
    root = _package(tmp_path, {
        "spec.py": "X = 1\n",
        "design.py": "from .spec import X\n",
        "low.py": "from .design import X\n",  # a lower layer reaching up
    })
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent("""
        [tool.importlinter]
        root_package = "toy"
        [[tool.importlinter.contracts]]
        name = "toy layers"
        type = "layers"
        containers = ["toy"]
        layers = ["design", "spec", "low"]
    """))
    lint = shutil.which("lint-imports", path=os.path.dirname(sys.executable)) or shutil.which("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(root.parent)}
    run = subprocess.run([lint, "--no-cache"], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert run.returncode != 0
    assert "toy.low -> toy.design" in run.stdout
