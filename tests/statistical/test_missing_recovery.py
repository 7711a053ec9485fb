"""Issue 19's missing-data half: covariates missing at random at level 1 (a pupil's x) and
level 2 (a school's w), with the holes more likely where the observed outcome is high (rows)
and where a school's mean outcome is high (schools). Dropping incomplete rows selects on the
outcome, which biases the intercept down; ``missing="model"`` keeps the rows and imputes the
holes (x per row, w once per school), recovering the truth.

And SBC of a small model with an imputed predictor (``y ~ x + z + (1 | g)``, x with holes):
the population parameters and the imputed values rank uniformly. The simulation keeps the
predictors, so the imputation model's draws given the observed x stand in for its prior
(``backends/pymc/imputation_sim.conditioned_prior``); with a binary predictor the simulation also
draws its holes from the logistic imputation model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb

TRUTH = {"Intercept": 1.0, "x": 1.0, "w": 1.0}


def mar_sample(seed: int, J: int = 30, n: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(J), n)
    w = rng.normal(size=J)
    x = rng.normal(size=J * n)
    y = TRUTH["Intercept"] + TRUTH["x"] * x + TRUTH["w"] * w[g] + 0.5 * rng.normal(size=J)[g] + rng.normal(size=J * n)
    df = pd.DataFrame({"y": y, "x": x, "w": w[g], "g": [f"s{k}" for k in g]})
    px = 1 / (1 + np.exp(-2.5 * (y - np.median(y))))
    df.loc[rng.random(J * n) < 0.6 * px, "x"] = np.nan
    gy = pd.Series(y).groupby(g).mean().to_numpy()
    lose = rng.random(J) < 0.8 / (1 + np.exp(-3 * (gy - np.median(gy))))
    df.loc[lose[g], "w"] = np.nan
    return df


@pytest.mark.slow  # about 6 minutes: 3 data sets, each fitted twice
def test_imputation_recovers_the_truth_where_dropping_rows_is_biased():
    kw = {"draws": 300, "tune": 300, "chains": 2, "progressbar": False}
    bias_drop, bias_model, covered = [], [], []
    for seed in (1, 2, 3):
        df = mar_sample(seed)
        dropped = hb.Model("y ~ x + w + (1 | g)", df, missing="drop").fit(random_seed=seed, **kw)
        imputed = hb.Model("y ~ x + w + (1 | g)", df, missing="model").fit(random_seed=seed, **kw)
        assert {c.name: c.level for c in imputed.model.design.imputation.columns} == {"x": None, "w": "g"}
        table = imputed.imputed()
        assert (table.query("column == 'w'").level == "g").all()
        fd, fm = dropped.fixef(0.9), imputed.fixef(0.9)
        bias_drop.append(fd.loc["Intercept", "mean"] - TRUTH["Intercept"])
        bias_model.append(fm.loc["Intercept", "mean"] - TRUTH["Intercept"])
        covered += [bool(fm.loc[t, "lower"] <= TRUTH[t] <= fm.loc[t, "upper"]) for t in TRUTH]
    # measured: dropping rows -0.31, -0.51, ...; imputing -0.04, -0.07, ...
    assert np.mean(bias_drop) < -0.25
    assert abs(np.mean(bias_model)) < 0.12
    assert sum(covered) >= 7  # of 9 intervals at 90%


@pytest.mark.slow  # about 3-5 minutes (30 simulations took 7.7 min at 200 + 200 draws on a busy 2-core machine)
def test_sbc_of_a_model_with_an_imputed_predictor():
    rng = np.random.default_rng(0)
    J, n = 8, 5
    g = np.repeat(np.arange(J), n)
    df = pd.DataFrame({"g": [f"g{k}" for k in g], "x": rng.normal(size=J * n), "z": rng.normal(size=J * n)})
    df["y"] = rng.normal(size=J * n)  # placeholder: SBC simulates the response
    df.loc[rng.choice(J * n, 8, replace=False), "x"] = np.nan
    model = hb.Model("y ~ x + z + (1 | g)", df, missing="model")
    result = hb.sbc(model, n_sims=N_SIMS, draws=150, tune=150, chains=2, executor="serial", random_seed=3,
                    var_names=["Intercept", "b", "sd_g", "sigma", "Ymi_x", "mi_x_Intercept"])
    table = result.uniformity()
    assert table["p_value"].min() > 0.001, table
    assert (table["p_value"] > 0.01).mean() >= 0.9, table


N_SIMS = 24


@pytest.mark.slow  # about 4-6 minutes on a busy 2-core machine
def test_sbc_of_a_model_with_an_imputed_binary_predictor():
    """The holes of a binary predictor are summed out of the fit; the simulation draws them
    from the logistic imputation model (``Dmi_d``) given the observed values."""
    rng = np.random.default_rng(1)
    J, n = 8, 5
    g = np.repeat(np.arange(J), n)
    z = rng.normal(size=J * n)
    df = pd.DataFrame({"g": [f"g{k}" for k in g], "z": z, "d": (rng.random(J * n) < 1 / (1 + np.exp(-z))).astype(float)})
    df["y"] = rng.normal(size=J * n)  # placeholder: SBC simulates the response
    df.loc[rng.choice(J * n, 8, replace=False), "d"] = np.nan
    model = hb.Model("y ~ d + z + (1 | g)", df, missing="model")
    assert [c.kind for c in model.design.imputation.columns] == ["binary"]
    result = hb.sbc(model, n_sims=N_SIMS, draws=150, tune=150, chains=2, executor="serial", random_seed=5,
                    var_names=["Intercept", "b", "sd_g", "sigma", "mi_d_Intercept"])
    table = result.uniformity()
    assert table["p_value"].min() > 0.001, table
    assert (table["p_value"] > 0.01).mean() >= 0.9, table
