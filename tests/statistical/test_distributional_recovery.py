"""Slow checks of distributional models (``sigma ~ x + (1|g)``): recovery of simulated truth
and agreement with nlme's varIdent fit of Orthodont (residual sd by Sex)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb

RSIDE = Path(__file__).parent.parent / "rside"


def _fit(model, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(draws=1000, tune=1000, chains=4, random_seed=1, progressbar=False, **kwargs)


@pytest.mark.slow
def test_recovers_sigma_formula_with_group_term():
    rng = np.random.default_rng(11)
    n, groups = 1200, 30
    g = rng.integers(0, groups, n)
    df = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n), "g": [f"g{i}" for i in g]})
    truth = {"Intercept_sigma": 0.3, "b_sigma": 0.6, "sd_sigma_g": 0.4, "sd_g": 0.8, "b": 1.0}
    u = rng.normal(0, truth["sd_g"], groups)
    v = rng.normal(0, truth["sd_sigma_g"], groups)
    sigma = np.exp(truth["Intercept_sigma"] + truth["b_sigma"] * df["z"].to_numpy() + v[g])
    df["y"] = 2.0 + truth["b"] * df["x"] + u[g] + sigma * rng.normal(size=n)
    fit = _fit(hb.Model("y ~ x + (1|g)", df, sigma="~ z + (1|g)"))
    assert fit.diagnostics.divergences == 0
    table = fit.fixef(prob=0.9, dpar="sigma")
    sds = fit.varcorr(prob=0.9, dpar="sigma").iloc[0]
    checks = {
        "Intercept_sigma": (table.loc["Intercept", "lower"], table.loc["Intercept", "upper"]),
        "b_sigma": (table.loc["z", "lower"], table.loc["z", "upper"]),
        "sd_sigma_g": (sds["lower"], sds["upper"]),
        "b": tuple(fit.fixef(prob=0.9).loc["x", ["lower", "upper"]]),
    }
    for name, (lower, upper) in checks.items():
        assert lower < truth[name] < upper, (name, lower, upper, truth[name])
    # and the per-row sigma matters: LOO prefers it to a constant sigma clearly
    plain = _fit(hb.Model("y ~ x + (1|g)", df))
    assert fit.loo().elpd - plain.loo().elpd > 50


@pytest.mark.slow
def test_orthodont_residual_sd_by_sex_matches_nlme_varident():
    ref = json.loads((RSIDE / "refs" / "orthodont_varident.json").read_text())
    data = pd.read_csv(RSIDE / "data" / "orthodont_varident.csv")
    data["Sex"] = pd.Categorical(data["Sex"], categories=["Female", "Male"])
    fit = _fit(hb.Model("distance ~ age * Sex + (1|Subject)", data, sigma="~ Sex"))
    fixed = fit.fixef()
    for row in ref["fixed_effects"]:  # REML estimates within half a posterior sd
        est = fixed.loc[row["term"]]
        assert abs(est["mean"] - row["estimate"]) < 0.5 * est["sd"], (row["term"], est["mean"], row["estimate"])
    post = fit.posterior
    ratio = float(np.exp(post["b_sigma"].sel(b_sigma_term="Sex[Male]")).median())
    female = float(np.exp(post["Intercept_sigma"]).median())
    assert ratio == pytest.approx(ref["structure"]["sd_ratio"]["Male"], rel=0.2)
    assert female == pytest.approx(ref["residual_sd"], rel=0.2)
    subject_sd = float(post["sd_Subject"].median())
    assert subject_sd == pytest.approx(ref["random_effects"][0]["sd"], rel=0.2)


@pytest.mark.slow
def test_sbc_sigma_formula_with_group_term():
    import time

    rng = np.random.default_rng(21)
    J, n = 8, 12
    df = pd.DataFrame({
        "g": np.repeat([f"g{j}" for j in range(J)], n),
        "x": np.tile(np.linspace(-1.0, 1.0, n), J),
    })
    df["y"] = rng.normal(size=len(df))  # placeholder: SBC simulates the response
    priors = {
        "Intercept_sigma": hb.Prior("Normal", mu=0.0, sigma=0.5),
        "b_sigma": hb.Prior("Normal", mu=0.0, sigma=0.5),
        "sd_sigma": hb.Prior("HalfNormal", sigma=0.5),
        "sd": hb.Prior("HalfNormal", sigma=1.0),
    }
    model = hb.Model("y ~ x + (1 | g)", df, sigma="~ x + (1 | g)", priors=priors)
    start = time.perf_counter()
    res = hb.sbc(model, n_sims=60, draws=200, tune=200, chains=2, random_seed=7, executor="process", workers=2)
    print(f"\n[sigma ~ x + (1|g)] wall {time.perf_counter() - start:.0f} s\n{res}")
    assert set(res.parameters) == {
        "Intercept", "b[x]", "sd_g[Intercept]", "Intercept_sigma", "b_sigma[x]", "sd_sigma_g[Intercept]",
    }
    assert (res.fits["error"] == "").all()
    table = res.uniformity(bins=10)
    assert table[table["p_value"] <= 0.01].empty, table
