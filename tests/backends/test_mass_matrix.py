"""The mass matrix numpyro adapts: dense over the population-level parameters of small models
(fixed effects, sds, family parameters), diagonal over group effects and imputed values.

A dense matrix over the group effects too left one chain of four stuck at a step size near 0
(sd_inst 60-73 against a posterior median of 0.1) at seeds 3 and 6 on survival::lung's weibull
frailty model; the slow test fits it at those seeds with the defaults.

``tests/survival/data/lung.csv`` is survival::lung without the rows of unknown institution (R
4.2, survival 3.5)::

    lung2 <- subset(lung, !is.na(inst))
    write.csv(lung2[, c("inst", "time", "status", "age", "sex", "ph.ecog")], "lung.csv", row.names = FALSE)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.backends.pymc.sample import DENSE_MASS_MAX, dense_mass_of

LUNG = Path(__file__).parents[1] / "survival" / "data" / "lung.csv"
LUNG_FORMULA = "time | cens(2 - status) ~ age + sex + (1 | inst)"


def _value_names(model: hb.Model, block) -> list[str]:
    values = model.compile().model.value_vars
    return [values[i].name for i in block]


def test_an_integrated_model_is_dense_over_everything():
    sleep = hb.datasets.load("sleepstudy")
    model = hb.Model("Reaction ~ Days + (Days | Subject)", sleep)
    assert dense_mass_of(model.compile().model) is True


def test_sampled_group_effects_are_left_out_of_the_dense_block():
    model = hb.Model(LUNG_FORMULA, pd.read_csv(LUNG), family="weibull")
    block = dense_mass_of(model.compile().model)
    assert isinstance(block, list)
    names = _value_names(model, block)
    all_names = [v.name for v in model.compile().model.value_vars]
    assert [n for n in all_names if n not in names] == ["z_inst"]
    assert {"b__z", "sd_inst_log__", "shape_log__"} <= set(names)


def test_imputed_values_are_left_out_of_the_dense_block():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"x": rng.normal(size=30), "g": np.repeat(list("abc"), 10)})
    df["y"] = df["x"] + rng.normal(size=30)
    df.loc[[2, 5, 11], "x"] = np.nan
    model = hb.Model("y ~ x + (1 | g)", df, missing="model")
    block = dense_mass_of(model.compile().model)
    assert isinstance(block, list)
    left_out = {v.name for v in model.compile().model.value_vars} - set(_value_names(model, block))
    # the group effects of y's model and of x's imputation model, and the imputed values
    assert left_out == {"z_g", "mi_x_z", "Ymi_x"}


def test_a_large_model_is_diagonal():
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"g": np.repeat(np.arange(DENSE_MASS_MAX + 5), 3), "y": rng.poisson(2.0, 3 * (DENSE_MASS_MAX + 5))})
    model = hb.Model("y ~ 1 + (1 | g)", df, family="poisson")
    assert dense_mass_of(model.compile().model) is False


@pytest.mark.slow
@pytest.mark.parametrize("seed", [3, 6])
def test_lung_weibull_frailty_has_no_stuck_chain_with_the_defaults(seed):
    model = hb.Model(LUNG_FORMULA, pd.read_csv(LUNG), family="weibull")
    fit = model.fit(random_seed=seed, progressbar=False)
    by_chain = fit.posterior["sd_inst"].median("draw").values.ravel()
    assert np.all(by_chain < 1.0), by_chain
    assert fit.diagnostics.max_r_hat <= 1.01
    assert fit.diagnostics.divergences == 0
