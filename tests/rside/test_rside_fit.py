"""Fitting gaussian models with residual (R-side) structures.

Fast: tables, PPC, log-likelihood and saving on prior draws; the R-side conditional draws of
integrated-out effects against the independent-residual ones; one small AR(1) fit.
Slow: nlme's REML fits (tests/rside/refs, README there) and recovery on simulated data.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.predict.rside_predict import residual_noise
from hierbayes.results.conditional import conditional_group_effects
from hierbayes.results.rside_conditional import rside_group_effects

HERE = Path(__file__).parent


def _load(name: str) -> tuple[dict, pd.DataFrame]:
    ref = json.loads((HERE / "refs" / f"{name}.json").read_text())
    data = pd.read_csv(HERE / "data" / f"{name}.csv")
    factors = json.loads((HERE / "data" / "factors.json").read_text())[name]
    for column in factors:
        data[column] = data[column].astype(str)
    return ref, data


def _ar1_panel(n_groups: int, n_times: int, phi: float, seed: int, sd_group: float = 1.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for j in range(n_groups):
        u = sd_group * rng.normal()
        e = rng.normal() / np.sqrt(1 - phi**2)
        for t in range(n_times):
            e = phi * e + rng.normal() if t else e
            x = rng.normal()
            rows.append((f"s{j:03d}", t + 1, x, 1.0 + 0.5 * x + u + e))
    return pd.DataFrame(rows, columns=["g", "t", "x", "y"])


# ---------------------------------------------------------------- fast


def test_tables_ppc_loglik_and_saving_on_prior_draws(tmp_path):
    _, data = _load("orthodont_unstructured")
    rs = hb.residuals("unstructured", time="visit", group="Subject")
    fit = hb.Model("distance ~ age * Sex", data, residuals=rs).fit(
        backend="prior", draws=50, chains=2, random_seed=1, progressbar=False
    )
    terms = list(fit.varcorr()["term"])
    assert terms[:2] == ["sd(Residual)", "unstr_cor(1,2)"]
    assert "unstr_cor(mean)" in terms and "sigma_ratio(4)" in terms and "sigma_ratio(1)" not in terms
    # the per-visit sds themselves, as mmrm users read them: sd(Residual) x sigma_ratio(visit)
    table = fit.varcorr().set_index("term")
    assert table.loc["sigma(4)", "mean"] == pytest.approx(float(
        (fit.posterior["sigma"] * fit.posterior["sigma_ratio"].sel(resid_sd_level="4")).mean()))
    assert "sigma(1)" not in terms  # visit 1's sd is sd(Residual)
    summary = str(fit.summary())
    assert "Residuals: unstructured(time=visit, group=Subject); sd(Residual) is the sd at visit=1," in summary
    assert "Groups: none (residuals correlated within Subject: 27)" in summary
    yrep = fit.ppc().yrep
    assert yrep.shape == (100, 108) and np.isfinite(yrep).all()
    # what a lag or a distance is measured in (nlme's corAR1(form = ~ age | Subject) counts years)
    for kind, note in (("ar1", "lags count units of 'age' (lag 1: rows 1 age apart)"),
                       ("exponential", "distances in units of 'age'")):
        other = hb.Model("distance ~ age * Sex", data, residuals=hb.residuals(kind, time="age", group="Subject"))
        text = str(other.fit(backend="prior", draws=50, chains=2, random_seed=1, progressbar=False).summary())
        text = " ".join(text.split())  # prose lines are wrapped at 88 columns
        assert f"Residuals: {kind}(time=age, group=Subject); {note}" in text
    loglik = fit.idata.log_likelihood["y"].values
    assert loglik.shape == (2, 50, 108) and np.isfinite(loglik).all()
    path = tmp_path / "mmrm.nc"
    fit.save(path)
    loaded = hb.load(path)
    assert loaded.spec.residuals == rs
    np.testing.assert_allclose(loaded.idata.log_likelihood["y"].values, loglik)


def test_summary_names_the_reference_level_of_by_sds():
    _, data = _load("orthodont_unstructured")
    rs = hb.residuals("ar", order=1, time="visit", group="Subject", by="Sex")
    fit = hb.Model("distance ~ age * Sex + (1 | Subject)", data, residuals=rs).fit(
        backend="prior", draws=20, chains=1, random_seed=1, progressbar=False
    )
    summary = str(fit.summary())
    assert "sd(Residual) is the sd at Sex=Female, sigma_ratio(level)" in summary
    assert "sigma_ratio(Male)" in summary and "Groups: Subject (27)" in summary
    assert "Group-level, residual and family parameters" in summary  # ar1_phi is not a group sd


def test_ppc_residuals_follow_the_block_covariance():
    df = _ar1_panel(40, 6, 0.7, seed=3)
    fit = hb.Model("y ~ x + (1|g)", df, residuals=hb.residuals("ar1", time="t")).fit(
        backend="prior", draws=20, chains=1, random_seed=2, progressbar=False
    )
    post = fit.idata.posterior.to_dataset()
    phi = float(post["ar1_phi"].values[0, 0])
    rng = np.random.default_rng(0)
    noise = residual_noise(post.isel(draw=[0] * 200).assign_coords(draw=np.arange(200)), fit.model.design.residuals, rng)
    rows = fit.model.design.residuals.rows
    # lag-1 correlation of the replicated residuals is the draw's phi
    lag1 = np.corrcoef(noise[:, rows[:, 2]].ravel(), noise[:, rows[:, 3]].ravel())[0, 1]
    assert abs(lag1 - phi) < 0.06


def test_conditional_draws_match_independent_residuals():
    """With independent residuals the R-side conditional draws are the usual ones."""
    df = _ar1_panel(12, 4, 0.0, seed=5)
    fit = hb.Model("y ~ x + (1|g)", df, residuals=hb.residuals("independent", group="g")).fit(
        backend="prior", draws=1, chains=1, random_seed=1, progressbar=False
    )
    post = fit.idata.posterior.to_dataset().isel(draw=[0] * 4000).assign_coords(draw=np.arange(4000))
    a = rside_group_effects(post, fit.model.design, "g", np.random.default_rng(1))
    b = conditional_group_effects(post, fit.model.design, "g", np.random.default_rng(2))
    se = np.sqrt((a.var("draw") + b.var("draw")) / 4000)
    assert float(np.max(np.abs(a.mean("draw") - b.mean("draw")) / se)) < 4.5
    np.testing.assert_allclose(a.std("draw"), b.std("draw"), rtol=0.08)


@pytest.mark.slow
def test_small_ar1_fit():
    df = _ar1_panel(20, 6, 0.6, seed=11, sd_group=0.5)
    fit = hb.Model("y ~ x + (1|g)", df, residuals=hb.residuals("ar 1", time="t", group="g")).fit(
        draws=200, tune=200, chains=2, random_seed=1, progressbar=False
    )
    post = fit.idata.posterior.to_dataset()
    assert 0.3 < float(post["ar1_phi"].mean()) < 0.85
    assert abs(float(post["b"].mean()) - 0.5) < 0.15
    assert fit.info.parameterization == {"g": "marginal"}
    assert post["re_g"].shape == (2, 200, 20, 1)


# ---------------------------------------------------------------- slow: against nlme

CASES = {
    "ovary_ar1": ("follicles ~ s + c + (1|Mare)", hb.residuals("ar1", time="t", group="Mare"), "ar1_phi", "phi"),
    "orthodont_varident": ("distance ~ age * Sex + (1|Subject)", hb.residuals("independent", by="Sex"), "sigma_ratio", "sd_ratio"),
    "orthodont_unstructured": ("distance ~ age * Sex", hb.residuals("unstructured", time="visit", group="Subject"), "unstr_cor", "mean_correlation"),
}
# bodyweight_exp (exponential range): tests/rside/test_rside_bodyweight.py says why its range is
# compared with the exact posterior rather than with nlme's REML estimate.


def _reference_value(ref: dict, key: str) -> float:
    value = ref["structure"][key]
    return float(value["Male"]) if isinstance(value, dict) else float(value)


def _posterior_value(post, name: str) -> float:
    draws = post[name].values
    if name == "unstr_cor":  # mean of the correlations above the diagonal, per draw
        k = draws.shape[-1]
        upper = np.triu_indices(k, 1)
        return float(np.median(draws[..., upper[0], upper[1]].mean(axis=-1)))
    return float(np.median(draws))


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_against_nlme(name):
    formula, rs, param, key = CASES[name]
    ref, data = _load(name)
    fit = hb.Model(formula, data, residuals=rs).fit(draws=1000, tune=1000, chains=2, random_seed=1, progressbar=False)
    fixef = fit.fixef()
    for row in ref["fixed_effects"]:
        est = fixef.loc[row["term"]]
        assert abs(est["mean"] - row["estimate"]) < 0.5 * est["sd"], (row["term"], est["mean"], row["estimate"])
    value, expected = _posterior_value(fit.idata.posterior, param), _reference_value(ref, key)
    assert abs(value / expected - 1) < 0.2, (param, value, expected)


# ---------------------------------------------------------------- slow: recovery


@pytest.mark.slow
def test_ar1_recovery():
    df = _ar1_panel(80, 8, 0.5, seed=21)
    fit = hb.Model("y ~ x + (1|g)", df, residuals=hb.residuals("ar1", time="t")).fit(
        draws=500, tune=500, chains=2, random_seed=2, progressbar=False
    )
    phi = fit.idata.posterior["ar1_phi"].values
    assert np.quantile(phi, 0.005) < 0.5 < np.quantile(phi, 0.995)
    assert abs(float(np.median(phi)) - 0.5) < 0.1


@pytest.mark.slow
def test_unstructured_recovery():
    rng = np.random.default_rng(8)
    cor = np.array([[1.0, 0.6, 0.4], [0.6, 1.0, 0.7], [0.4, 0.7, 1.0]])
    sd = np.array([1.0, 1.5, 2.0])
    n = 150
    e = rng.multivariate_normal(np.zeros(3), cor * np.outer(sd, sd), size=n)
    df = pd.DataFrame({
        "id": np.repeat(np.arange(n).astype(str), 3),
        "visit": np.tile(["v1", "v2", "v3"], n),
        "arm": np.repeat(rng.integers(0, 2, n), 3),
    })
    df["y"] = 2.0 + 1.0 * df["arm"] + e.ravel()
    fit = hb.Model("y ~ arm", df, residuals=hb.residuals("unstructured", time="visit", group="id")).fit(
        draws=500, tune=500, chains=2, random_seed=3, progressbar=False
    )
    post = fit.idata.posterior.to_dataset()
    est = post["unstr_cor"].median(("chain", "draw")).values
    np.testing.assert_allclose(est, cor, atol=0.12)
    ratio = post["sigma_ratio"].median(("chain", "draw")).values
    np.testing.assert_allclose(ratio, sd[1:] / sd[0], rtol=0.15)


def test_new_responses_use_the_sd_of_their_level():
    df = _ar1_panel(10, 4, 0.0, seed=6)
    df["site"] = np.where(df["g"] < "s005", "north", "south")
    fit = hb.Model("y ~ x + (1|g)", df, residuals=hb.residuals("independent", by="site")).fit(
        backend="prior", draws=300, chains=2, random_seed=1, progressbar=False
    )
    post = fit.idata.posterior
    noise = (fit.predict(kind="response", random_seed=1).draws - fit.predict(kind="mean").draws).values
    sd = post["sigma"].values[..., None] * np.where(df["site"] == "south", post["sigma_ratio"].values[..., 0:1], 1.0)
    assert np.mean((noise / sd) ** 2) == pytest.approx(1.0, abs=0.05)
    with pytest.raises(hb.DataError, match="new responses need the column 'site'"):
        fit.predict(df.drop(columns="site"), kind="response")
    with pytest.raises(hb.DataError, match=r"'site' has levels the model has no residual sd for: \['east'\]"):
        fit.predict(df.assign(site="east"), kind="response")
