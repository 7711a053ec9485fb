"""The README's ```python blocks run as written, top to bottom, in one session.

A user pastes the blocks in order into one Python session; so does the slow test here (in a
temporary directory, since the blocks write files). The fast tests check that every block
parses and that every name a block reads is defined by an earlier block or by the block
itself, so a README that cannot run fails in ``make test`` without fitting anything.
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Block:
    """One ```python block: its code and the README line its first code line is on."""

    code: str
    line: int

    @property
    def label(self) -> str:
        return f"README.md block at line {self.line}"


def python_blocks(text: str) -> list[Block]:
    """The ```python blocks of a Markdown text, in order (other fences are skipped)."""
    return [
        Block(match.group(1), text.count("\n", 0, match.start(1)) + 1) for match in FENCE.finditer(text)
    ]


def names_bound(tree: ast.AST) -> set[str]:
    """Names a block defines: assignment targets, imports, function/class names, arguments."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            bound.add(node.id)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return bound


def names_read(tree: ast.AST) -> set[str]:
    """Names a block reads."""
    return {
        node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }


def undefined_names(blocks: list[Block]) -> dict[str, set[str]]:
    """Per block label, the names it reads that no earlier block (nor itself) defines."""
    known = set(dir(builtins))
    missing: dict[str, set[str]] = {}
    for block in blocks:
        tree = ast.parse(block.code, filename=block.label)
        known |= names_bound(tree)
        unknown = names_read(tree) - known
        if unknown:
            missing[block.label] = unknown
    return missing


# ================================================================== fast checks


def test_readme_has_python_blocks():
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 5, [b.label for b in blocks]
    assert all(b.code.strip() for b in blocks)


def test_every_readme_block_parses():
    for block in python_blocks(README.read_text(encoding="utf-8")):
        compile(block.code, block.label, "exec")


def test_every_name_a_readme_block_reads_is_defined_before():
    assert undefined_names(python_blocks(README.read_text(encoding="utf-8"))) == {}


def test_name_check_catches_a_name_defined_only_later():
    text = (
        "```python\nfit.predict(newdata)\n```\n\n```\nmake test\n```\n\n"
        "```python\nfit = 1\nnewdata = 2\n```\n"
    )
    blocks = python_blocks(text)
    assert [b.line for b in blocks] == [2, 10]
    assert undefined_names(blocks) == {"README.md block at line 2": {"fit", "newdata"}}


# ================================================================== the real run


@pytest.fixture(scope="module")
def readme_session(tmp_path_factory, monkeypatch_module):
    """Execute every block, in order, in one namespace; return the namespace."""
    monkeypatch_module.chdir(tmp_path_factory.mktemp("readme"))
    namespace: dict = {"__name__": "__readme__"}
    for block in python_blocks(README.read_text(encoding="utf-8")):
        exec(compile(block.code, block.label, "exec"), namespace)  # noqa: S102 - the README's own code
        plt.close("all")
    return namespace


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


# both slow tests read one README session: on one xdist worker (`--dist loadgroup`) it runs once
@pytest.mark.xdist_group("readme_session")
def test_xdist_groups_the_readme_session_tests(request):
    """Under ``--dist loadgroup`` a grouped test's id carries its group; pytest 9.2 dropped it
    (pytest-dev/pytest-xdist#1386) and the 4-minute README session ran on both workers."""
    if not getattr(request.config.option, "loadgroup", False):  # set on xdist's workers
        pytest.skip("not run by pytest-xdist with --dist loadgroup")
    assert request.node.nodeid.endswith("@readme_session"), request.node.nodeid


@pytest.mark.slow
@pytest.mark.xdist_group("readme_session")
def test_readme_runs_top_to_bottom(readme_session):
    assert readme_session["fit"].model.spec.family == "bernoulli"
    assert Path("school_effects.png").stat().st_size > 0
    pred = readme_session["pred"]
    assert pred.summary().shape[0] == len(readme_session["newdata"])
    assert re.search(r"-?\d+\.\d", repr(pred))


@pytest.mark.slow
@pytest.mark.xdist_group("readme_session")
def test_readme_mrp_fit_is_clean(readme_session):
    """The flagship example: the README's MRP model, default settings but 2,000 draws per chain
    (no seed): no divergences, R-hat <= 1.01, bulk ESS >= 400. Every term adaptive
    (backends/pymc/adaptive.py), the terms' means non-centred and absorbed by the intercept
    (backends/pymc/mean_free.py). At the default 1,000 draws: 0 divergences at every seed tried,
    but sd(educ) (5 levels) gets ~1,000 bulk ESS of 4,000 draws, uncorrelated (|r| < 0.05) with
    the other sds and the fixed effects (so a dense mass block would not help), and its R-hat
    was 1.004-1.009 at seeds 11-15, 1.005 at seed 6 and 1.013 in a CI run without a seed: the
    Monte Carlo error of a heavy-tailed sd, which 2,000 draws per chain halve. Before adaptive:
    1 divergence at seeds 1 and 4."""
    fit = readme_session["fit"]
    assert "survey" in readme_session and fit.model.data is readme_session["survey"]
    diagnostics = fit.diagnostics
    assert diagnostics.divergences == 0, str(diagnostics)
    assert diagnostics.max_r_hat <= 1.01, str(diagnostics)
    assert np.isfinite(diagnostics.min_ess_bulk) and diagnostics.min_ess_bulk >= 400, str(diagnostics)
