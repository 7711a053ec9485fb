"""The target acceptance of a model whose group terms are all integrated out or drawn around
an integrated-out chain top (chain_target.py): 0.8 there, the planning rule's elsewhere.

Classic analyses under the rule: only mlmRev's Contraception ``(1 | district/urban)`` (60
districts) moves, 0.95 -> 0.8; mmmec's 9 nations and Arabidopsis' 9 populations stay at 0.95.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from classic.cases import CASES

import hierbayes as hb
from hierbayes.backends.pymc.centring import nesting
from hierbayes.backends.pymc.chain_target import TARGET_ACCEPT_CHAIN, chain_target
from hierbayes.backends.pymc.integrated_top import integrated_tops


def _case_model(name: str, **kwargs) -> hb.Model:
    case = next(c for c in CASES if c.name == name)
    return hb.Model(case.formula, case.data(), family=case.family, **kwargs)


def test_contraception_chain_samples_at_numpyros_default() -> None:
    compiled = _case_model("contraception_nested").compile()
    assert compiled.parameterization == {"district": "noncentered", "district_urban": "nested"}
    assert compiled.target_accept == TARGET_ACCEPT_CHAIN == 0.8


def test_a_named_form_keeps_the_planning_rules_target() -> None:
    """The evidence is for the forms the rule chose: a user's own choice gets 0.95, even when
    it is the same form."""
    compiled = _case_model("contraception_nested", parameterization={"district": "noncentered"}).compile()
    assert compiled.parameterization["district_urban"] == "nested"
    assert compiled.target_accept == 0.95


@pytest.mark.parametrize("name", ["mmmec", "arabidopsis"])
def test_a_top_of_few_levels_keeps_the_planning_rules_target(name: str) -> None:
    compiled = _case_model(name).compile()
    assert "nested" in compiled.parameterization.values()
    assert compiled.target_accept == 0.95


def _three_levels() -> hb.Model:
    """``(1 | a/b/c)``: 12 a, 3 b in each, 2 c in each b, 2 rows a cell."""
    rng = np.random.default_rng(2)
    a = np.repeat(np.arange(12), 12)
    b = a * 3 + np.tile(np.repeat(np.arange(3), 4), 12)
    c = b * 2 + np.tile(np.repeat(np.arange(2), 2), 36)
    frame = pd.DataFrame({"y": rng.normal(size=len(a)), "a": a.astype(str), "b": b.astype(str), "c": c.astype(str)})
    return hb.Model("y ~ 1 + (1 | a) + (1 | a:b) + (1 | a:b:c)", frame)


@pytest.mark.parametrize(
    "plan, expected",
    [
        (["noncentered", "nested", "nested"], 0.8),  # c around b around the integrated-out a
        (["noncentered", "noncentered", "nested"], None),  # b the top, a sampled on its own
        (["noncentered", "nested", "marginal"], 0.8),  # c integrated out
        (["noncentered", "nested", "noncentered"], None),  # c sampled on its own
    ],
)
def test_every_term_must_hang_from_an_integrated_top(plan: list[str], expected: float | None) -> None:
    design = _three_levels().design
    nests = nesting(design, plan)
    tops = integrated_tops(design.groups, plan, nests)
    assert chain_target(design, plan, [None] * 3, nests, tops) == expected


def test_no_chain_no_target() -> None:
    design = _three_levels().design
    assert chain_target(design, ["noncentered", "marginal", "noncentered"], [None] * 3, {}, {}) is None


@pytest.mark.parametrize(("tops", "per_top", "expected"), [(12, 2, 0.8), (10, 2, None), (12, 1.5, None)])
def test_the_top_needs_more_than_10_levels_and_the_children_20(tops: int, per_top: float, expected) -> None:
    """12 tops of 2 children: 0.8; 10 tops (at FEW_LEVELS_INTEGRATED): None; 12 tops of 18
    children (below MIN_CENTRED_LEVELS): None."""
    children = int(tops * per_top)
    parent = np.arange(children) * tops // children  # each top holds 1-2 children
    frame = pd.DataFrame({"a": np.repeat(parent, 4).astype(str), "b": np.repeat(np.arange(children), 4).astype(str)})
    frame["y"] = np.random.default_rng(3).normal(size=len(frame))
    design = hb.Model("y ~ 1 + (1 | a) + (1 | b)", frame).design
    plan = ["noncentered", "nested"]
    nests = nesting(design, plan)
    assert chain_target(design, plan, [None] * 2, nests, integrated_tops(design.groups, plan, nests)) == expected
