"""The planning rule in ordinal models (backends/pymc/plan_thresholds.py): each row's
Fisher information on its linear predictor at a pilot maximum-likelihood fit, and the
working residual, as for binomial and count responses.

Before: an ordinal model's terms were planned by counting rows (50 a group to be centred),
so ordinal::wine's 9 judges (8 ratings each) were non-centred (min bulk ESS 1,442-1,784 at
seeds 1 and 3; adaptive now: 2,754-4,208)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

import hierbayes as hb
from hierbayes.backends.pymc.adaptive import effect_precision
from hierbayes.backends.pymc.plan import plan_parameterization
from hierbayes.backends.pymc.plan_glm import glm_information, precision_known
from hierbayes.backends.pymc.plan_thresholds import threshold_working_rows

CUTS = np.array([-1.0, 0.5, 2.0])


def _ordinal(levels: int, rows: int, sd: float, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(levels), rows)
    x = rng.normal(size=levels * rows)
    eta = 0.8 * x + rng.normal(0, sd, levels)[g]
    y = (rng.logistic(size=eta.size) + eta > CUTS[:, None]).sum(axis=0)
    return pd.DataFrame({"y": pd.Categorical(y, categories=[0, 1, 2, 3], ordered=True), "x": x, "g": [f"g{k}" for k in g]})


def test_the_information_is_the_fisher_information_at_the_pilot_fit():
    df = _ordinal(levels=1, rows=4000, sd=0.0)
    model = hb.Model("y ~ x", df, family="cumulative")
    information, residual = threshold_working_rows(model.design, "logit")
    # the pilot recovers the slope and thresholds (the design's x is not centred here)
    eta = 0.8 * df["x"].to_numpy()
    F = expit(CUTS[None, :] - eta[:, None])
    density = F * (1 - F)
    cdf = np.column_stack([np.zeros(len(eta)), F, np.ones(len(eta))])
    pdf = np.column_stack([np.zeros(len(eta)), density, np.zeros(len(eta))])
    probability = np.diff(cdf, axis=1)
    slope = -np.diff(pdf, axis=1)  # dP_k / deta
    expected = np.sum(slope**2 / probability, axis=1)
    np.testing.assert_allclose(information, expected, rtol=0.15)
    assert abs(np.mean(information * residual)) < 0.05  # the scores sum to ~0 at the maximum
    y = df["y"].cat.codes.to_numpy()
    score = slope[np.arange(len(y)), y] / probability[np.arange(len(y)), y]
    assert np.corrcoef(residual, score / expected)[0, 1] > 0.99


def test_data_rich_groups_are_centred_and_sparse_ones_not():
    rich = hb.Model("y ~ x + (1 | g)", _ordinal(levels=40, rows=30, sd=1.0), family="cumulative")
    block = rich.design.groups[0]
    assert precision_known(block, rich.design, "logit")
    assert glm_information(block, rich.design, "logit").lower() > 1
    assert plan_parameterization(rich.design, None, "logit") == ["centered"]
    # the centred intercept holder, as a bernoulli's: it carries the thresholds' location (thresholds.py)
    compiled = rich.compile()
    assert compiled.parameterization == {"g": "centered"}
    assert "re_g__total" in {v.name for v in compiled.model.value_vars}
    sparse = hb.Model("y ~ x + (1 | g)", _ordinal(levels=300, rows=2, sd=0.3), family="cumulative")
    assert glm_information(sparse.design.groups[0], sparse.design, "logit").lower() < 1
    assert plan_parameterization(sparse.design, None, "logit") == ["noncentered"]


@pytest.mark.parametrize("link", ["logit", "probit", "cloglog"])
def test_every_link_gives_finite_positive_information(link):
    model = hb.Model("y ~ x + (1 | g)", _ordinal(levels=10, rows=20, sd=1.0), family="cumulative", link=link)
    information, residual = threshold_working_rows(model.design, link)
    assert np.all(np.isfinite(information)) and np.all(information > 0) and np.all(np.isfinite(residual))


def test_a_group_at_one_end_of_the_scale_has_no_curvature_to_scale_by():
    """Every answer the lowest (or the highest) category: the likelihood is monotone in the
    group's effect (no mode), so the adaptive form treats it as non-centred."""
    df = _ordinal(levels=10, rows=20, sd=1.0)
    codes = df["y"].cat.codes.to_numpy().copy()
    codes[df["g"].to_numpy() == "g0"] = 0
    codes[df["g"].to_numpy() == "g1"] = 3
    df["y"] = pd.Categorical(codes, categories=[0, 1, 2, 3], ordered=True)
    model = hb.Model("y ~ x + (1 | g)", df, family="cumulative")
    precision = effect_precision(model.design.groups[0], model.design, "logit")
    levels = list(model.design.groups[0].levels)
    assert precision[levels.index("g0")] == 0.0 and precision[levels.index("g1")] == 0.0
    assert np.all(np.delete(precision, [levels.index("g0"), levels.index("g1")]) > 1.0)
