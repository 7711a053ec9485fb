"""The implicit-nesting warning: (1|batch) + (1|cask) with cask labels reused in every batch.

lme4 semantics stay (3 shared casks are fitted, as lmer does); the design warns and says how
to write the nesting. Crossed designs (Penicillin, subjects x items) do not warn.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.design import build_design
from hierbayes.design.nesting import ImplicitNestingWarning, implicit_nesting_pairs, looks_implicitly_nested
from hierbayes.spec import parse_formula


def build_quietly(formula: str, df: pd.DataFrame):
    """Build, turning an ImplicitNestingWarning into an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", ImplicitNestingWarning)
        return build_design(parse_formula(formula), df)


def test_pastes_batch_plus_cask_warns_and_says_how_to_nest():
    pastes = hb.datasets.load("Pastes")
    with pytest.warns(ImplicitNestingWarning) as record:
        design = build_design(parse_formula("strength ~ 1 + (1 | batch) + (1 | cask)"), pastes)
    message = str(record[0].message)
    assert "'batch' and 'cask'" in message
    assert "(1|batch/cask)" in message and "(1|batch:cask)" in message
    # lme4's meaning is kept: 3 shared casks
    assert [b.n_levels for b in design.groups] == [10, 3]


@pytest.mark.parametrize(
    "formula",
    [
        "strength ~ 1 + (1 | batch/cask)",
        "strength ~ 1 + (1 | batch) + (1 | batch:cask)",
        "strength ~ 1 + (1 | batch) + (1 | cask) + (1 | batch:cask)",
        "strength ~ 1 + (1 | batch) + (1 | sample)",  # labels unique across batches
    ],
)
def test_explicit_nesting_or_unique_labels_do_not_warn(formula):
    build_quietly(formula, hb.datasets.load("Pastes"))


def test_penicillin_crossed_does_not_warn():
    # every sample on every plate, one row per (plate, sample): crossed
    build_quietly("diameter ~ 1 + (1 | plate) + (1 | sample)", hb.datasets.load("Penicillin"))


def test_insteval_students_by_departments_does_not_warn():
    # students rate lecturers of several departments: crossed, 39% of the pairs occur
    build_quietly("y ~ 1 + (1 | s) + (1 | d) + (1 | dept)", hb.datasets.load("InstEval"))


def simulated(outer: int, inner_per_outer: list[int] | int, rows: int, reuse: bool, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sizes = inner_per_outer if isinstance(inner_per_outer, list) else [inner_per_outer] * outer
    records = []
    for o, k in enumerate(sizes):
        for i in range(k):
            label = f"c{i}" if reuse else f"o{o}c{i}"
            records += [{"o": f"o{o}", "i": label} for _ in range(rows)]
    df = pd.DataFrame(records)
    df["y"] = rng.normal(size=len(df))
    return df


def test_simulated_nested_designs():
    # reused labels, balanced and unbalanced (2 to 4 classes per school, 80% of pairs occur)
    for df in (simulated(12, 3, 4, reuse=True), simulated(10, [4, 4, 3, 4, 4, 2, 4, 3, 4, 4], 5, reuse=True)):
        with pytest.warns(ImplicitNestingWarning):
            design = build_design(parse_formula("y ~ 1 + (1 | o) + (1 | i)"), df)
        assert implicit_nesting_pairs(design.groups) == [("o", "i")]
    # unique labels: nested by the codes, no warning
    build_quietly("y ~ 1 + (1 | o) + (1 | i)", simulated(12, 3, 4, reuse=False))


def test_simulated_crossed_designs_do_not_warn():
    rng = np.random.default_rng(1)
    # subjects x items, one response per pair
    full = pd.DataFrame([(f"s{s}", f"i{i}") for s in range(20) for i in range(8)], columns=["subj", "item"])
    full["y"] = rng.normal(size=len(full))
    build_quietly("y ~ 1 + (1 | subj) + (1 | item)", full)
    # sparse crossing with replicates: each subject sees 3 of 12 items twice
    rows = [(f"s{s}", f"i{i}") for s in range(30) for i in rng.choice(12, 3, replace=False) for _ in range(2)]
    sparse = pd.DataFrame(rows, columns=["subj", "item"])
    sparse["y"] = rng.normal(size=len(sparse))
    build_quietly("y ~ 1 + (1 | subj) + (1 | item)", sparse)


def test_survey_crossings_are_not_called_nested():
    """The README's MRP model: demographic factors crossed on purpose, dozens of respondents per
    cell, and interactions built with ':' (a false alarm on every MRP fit before)."""
    survey = hb.datasets.load("survey")
    spec = parse_formula(
        "y ~ male + repvote + region + (1|state) + (1|eth) + (1|educ) + (1|age)"
        " + (1|male:eth) + (1|educ:age) + (1|educ:eth)",
        family="bernoulli",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ImplicitNestingWarning)
        build_design(spec, survey)


def test_a_crossed_cell_with_many_rows_is_not_a_unit():
    rng = np.random.default_rng(3)
    outer = np.repeat(np.arange(10), 60)
    inner = rng.integers(0, 3, size=outer.size)
    assert not looks_implicitly_nested(outer, inner)
    assert looks_implicitly_nested(np.repeat(np.arange(10), 6), np.tile(np.repeat(np.arange(3), 2), 10))
