"""A fully crossed design padded onto its grid of cells (backends/pymc/grid.py): the padded
sampler graph writes the linear predictor as an outer sum and is, exactly, the model's log
density plus independent standard normals on the padding levels; designs that are not fully
crossed keep the rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pymc_checks import padded_minus_real

import hierbayes as hb
from hierbayes.backends.pymc.graph_data import sampler_graph
from hierbayes.backends.pymc.grid import Grid, grid_codes, on_grid
from hierbayes.backends.pymc.padding import XLA_CPU_SPLIT_ROWS, grid_levels


def crossed(n_subjects: int, n_items: int = 12, seed: int = 0, family: str = "bernoulli") -> pd.DataFrame:
    """Every subject answers every item once, rows shuffled: a subject and an item covariate."""
    rng = np.random.default_rng(seed)
    subject = np.repeat(np.arange(n_subjects), n_items)
    item = np.tile(np.arange(n_items), n_subjects)
    anger = np.round(rng.normal(size=n_subjects), 3)[subject]
    hard = (np.arange(n_items) % 3 == 0).astype(float)[item]
    eta = -0.3 + 0.4 * anger - 0.8 * hard + rng.normal(0, 1.0, n_subjects)[subject] + rng.normal(0, 0.6, n_items)[item]
    if family in ("bernoulli", "binomial"):
        y = rng.binomial(1, 1 / (1 + np.exp(-eta)))
    elif family == "cumulative":
        y = 1 + np.searchsorted([-1.0, 0.0, 1.0], eta + rng.logistic(size=len(eta)))
    elif family == "gamma":
        y = rng.gamma(4.0, np.exp(0.3 * eta) / 4.0)
    else:
        y = rng.poisson(np.exp(0.5 + 0.3 * eta))
    df = pd.DataFrame({"y": y, "anger": anger, "hard": hard, "subject": [f"s{k}" for k in subject],
                       "item": [f"i{k}" for k in item], "exposure": rng.uniform(1, 3, len(y)),
                       "noise": rng.normal(size=len(y))})
    return df.iloc[rng.permutation(len(df))].reset_index(drop=True)



NONCENTERED = {"subject": "noncentered", "item": "noncentered"}
CASES = [
    # formula, family, parameterization, subjects (22: one padding level; 23 fills its bucket)
    ("y ~ anger + hard + (1 | subject) + (1 | item)", "bernoulli", None, 23),  # adaptive, mean-free
    ("y ~ anger + hard + (1 | subject) + (1 | item)", "bernoulli", NONCENTERED, 22),
    ("y ~ anger + hard + (1 | subject) + (1 | item)", "bernoulli", {"subject": "noncentered", "item": "centered"}, 22),
    ("y ~ 0 + anger + hard + (1 | subject) + (1 | item)", "bernoulli", NONCENTERED, 22),  # no intercept
    ("cbind(y, 1 - y) ~ anger + (1 | subject) + (1 | item)", "binomial", NONCENTERED, 22),  # trials
    ("y ~ anger + hard + offset(log(exposure)) + (1 | subject) + (1 | item)", "poisson", NONCENTERED, 22),
    ("y ~ hard + (1 | subject) + (1 | item)", "gamma", NONCENTERED, 22),
    ("y ~ anger + hard + (1 | subject) + (1 | item)", "cumulative", NONCENTERED, 22),
    # item carries the location of columns that span an intercept, and those columns mix
    # a subject and an item property (backends/pymc/spanned.py)
    ("y ~ 0 + C(hard) + anger + (1 | subject) + (1 | item)", "bernoulli", {"subject": "noncentered", "item": "centered"}, 22),
    # item carries the thresholds' location (backends/pymc/thresholds.py)
    ("y ~ anger + hard + (1 | subject) + (1 | item)", "cumulative", {"subject": "noncentered", "item": "centered"}, 22),
]


@pytest.mark.parametrize("formula,family,parameterization,subjects", CASES)
def test_the_grid_graph_is_the_model_plus_standard_normals(formula, family, parameterization, subjects):
    df = crossed(subjects, family=family)
    compiled = hb.Model(formula, df, family=family, parameterization=parameterization).compile()
    grid = compiled.padding.grid
    assert grid is not None and compiled.padding.rows == grid.size >= len(df)
    assert grid.mask().sum() == len(df)
    real, padded = sampler_graph(compiled.model), compiled.padded_graph()
    for difference, extra in padded_minus_real(real, padded, np.random.default_rng(1)):
        assert difference == pytest.approx(extra, abs=1e-8)


def test_the_grid_layout():
    df = crossed(22)
    grid = hb.Model(CASES[1][0], df, family="bernoulli", parameterization=NONCENTERED).compile().padding.grid
    assert grid.terms == (0, 1) and grid.shape == (23, 12)
    assert grid.fixed_term == (0, 1)  # anger belongs to the subjects, hard to the items
    first, second = grid_codes(grid)
    subjects = sorted(set(df["subject"]))
    items = sorted(set(df["item"]))
    # every row sits on the cell of its subject and item
    assert np.array_equal(first[grid.cells], [subjects.index(s) for s in df["subject"]])
    assert np.array_equal(second[grid.cells], [items.index(i) for i in df["item"]])


def test_rows_are_laid_on_their_cells():
    grid = Grid(terms=(0, 1), shape=(2, 3), cells=np.array([4, 0, 2]), fixed_term=())
    out = on_grid(np.array([10.0, 20.0, 30.0]), grid)
    assert out[[4, 0, 2]].tolist() == [10.0, 20.0, 30.0]
    assert np.all(out[[1, 3, 5]] == 10.0)  # the empty cells copy the first row
    filled = on_grid(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), grid, fill=np.array([0.5, 0.5]))
    assert filled.shape == (6, 2) and filled[1].tolist() == [0.5, 0.5] and filled[4].tolist() == [1.0, 2.0]
    assert grid.mask().tolist() == [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]


@pytest.mark.filterwarnings("ignore:grouping factors")  # the third term's labels cross the others
@pytest.mark.parametrize("change", ["a missing cell", "a cell twice", "a row covariate", "a slope", "three terms"])
def test_designs_that_are_not_fully_crossed_keep_their_rows(change):
    df = crossed(22)
    formula = "y ~ anger + hard + (1 | subject) + (1 | item)"
    if change == "a missing cell":
        df = df.iloc[1:]
    elif change == "a cell twice":
        df = pd.concat([df, df.iloc[:1]], ignore_index=True)
    elif change == "a row covariate":
        formula = "y ~ anger + noise + (1 | subject) + (1 | item)"
    elif change == "a slope":
        formula = "y ~ anger + hard + (1 + hard | subject) + (1 | item)"
    else:
        df = df.assign(block=[f"b{k % 5}" for k in range(len(df))])
        formula = "y ~ anger + (1 | subject) + (1 | item) + (1 | block)"
    padding = hb.Model(formula, df, family="bernoulli", parameterization="noncentered").compile().padding
    assert padding is not None and padding.grid is None


def test_grid_levels_stay_below_xla_threading_when_the_cells_do():
    # VerbAgg: 316 x 24 cells; 332 x 25 would cross 8,192, so the 24 items keep their count
    assert grid_levels(316, 24) == {0: 332, 1: 24} == grid_levels(314, 24)
    assert grid_levels(24, 316) == {0: 24, 1: 332}
    assert grid_levels(22, 12) == {0: 23, 1: 12}
    assert grid_levels(91, 90) == {0: 91, 1: 90}  # both keep their counts
    for first, second in [(40, 200), (100, 81), (7, 1170), (300, 27), (1000, 100)]:
        levels = grid_levels(first, second)
        assert levels[0] >= first and levels[1] >= second
        if first * second < XLA_CPU_SPLIT_ROWS:
            assert levels[0] * levels[1] < XLA_CPU_SPLIT_ROWS
        else:  # at most 9% more of each
            assert levels[0] <= first * 2 ** (1 / 8) + 1 and levels[1] <= second * 2 ** (1 / 8) + 1
