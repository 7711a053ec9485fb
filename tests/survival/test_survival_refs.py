"""Checks of the survival / censoring references themselves (no hierbayes import).

The log-likelihood of every reference is recomputed here from the CSV and the JSON estimates with
scipy, independently of R: survreg's fits directly, the random-intercept (frailty) fits by
integrating each group's random intercept on a fine grid (make_refs.R uses Gauss-Hermite
quadrature). This pins down the parameterisation the JSON notes describe (weibull shape =
1 / scale, brms' mean-parameterised intercept, the hazard-ratio metric) before a hierbayes fit is
compared with them.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

HERE = Path(__file__).parent
FACTORS = json.loads((HERE / "data" / "factors.json").read_text())


def load(name: str) -> dict:
    return json.loads((HERE / "refs" / f"{name}.json").read_text())


def design(data: pd.DataFrame, terms: list[str]) -> np.ndarray:
    """Design columns for hierbayes' term names.

    ``Intercept``, a numeric column ``x``, a factor level ``f[level]``, products with ``:``.
    """
    cols = []
    for term in terms:
        col = np.ones(len(data))
        if term != "Intercept":
            for part in term.split(":"):
                if "[" in part:
                    var, level = part[:-1].split("[")
                    col = col * (data[var].astype(str) == level).to_numpy(float)
                else:
                    col = col * data[part].to_numpy(float)
        cols.append(col)
    return np.column_stack(cols)


def row_loglik(ref: dict, data: pd.DataFrame, eta: np.ndarray) -> np.ndarray:
    """Per-row log-likelihood of the reference's family and censoring at linear predictor eta.

    eta is (n,) or (n, k): k values of the linear predictor per row.
    """
    scale = ref["scale"]

    def col(name: str) -> np.ndarray:
        values = data[name].to_numpy()
        return values[:, None] if eta.ndim == 2 else values

    if ref["data"] in ("data/kidney.csv", "data/rats.csv"):
        t, event = col("time").astype(float), col("status") == 1
        if ref["family"] == "weibull":
            dist = stats.weibull_min(c=1 / scale, scale=np.exp(eta))
        else:
            dist = stats.lognorm(s=scale, scale=np.exp(eta))
        return np.where(event, dist.logpdf(t), dist.logsf(t))
    d = stats.norm(eta, scale)
    if ref["data"] == "data/interval_sim.csv":
        lo, hi, cens = col("lo").astype(float), col("hi").astype(float), col("cens")
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.select(
                [cens == "none", cens == "left", cens == "right"],
                [d.logpdf(lo), d.logcdf(hi), d.logsf(lo)],
                np.log(d.cdf(hi) - d.cdf(lo)),
            )
    y = col("exercise" if "exercise" in data else "y").astype(float)
    left = col("censored") == "left"
    return np.where(left, d.logcdf(0.0), d.logpdf(y))


def estimates(ref: dict) -> tuple[list[str], np.ndarray]:
    terms = [f["term"] for f in ref["fixed_effects"]]
    return terms, np.array([f["estimate"] for f in ref["fixed_effects"]])


NO_GROUP = ["kidney_weibull", "kidney_lognormal", "interval_sim_nogroup", "blackmore_tobit_nogroup"]
WITH_GROUP = {
    "kidney_weibull_frailty": "patient",
    "kidney_weibull_frailty_lme4": "patient",
    "interval_sim_frailty": "g",
    "blackmore_tobit_frailty": "subject",
    "tobit_sim_frailty": "g",
    "rats_weibull_frailty": "litter",
}


@pytest.mark.parametrize("name", NO_GROUP)
def test_survreg_loglik_recomputed(name):
    ref = load(name)
    data = pd.read_csv(HERE / ref["data"])
    assert len(data) == ref["n_obs"]
    terms, beta = estimates(ref)
    ll = row_loglik(ref, data, design(data, terms) @ beta).sum()
    assert ll == pytest.approx(ref["logLik"], abs=1e-6)


@pytest.mark.parametrize("name", list(WITH_GROUP))
def test_marginal_loglik_recomputed(name):
    """The random intercept integrated on a fine grid (trapezoid rule), not by R's quadrature."""
    ref = load(name)
    data = pd.read_csv(HERE / ref["data"])
    terms, beta = estimates(ref)
    eta = design(data, terms) @ beta
    sd = ref["group_effects"][0]["sd"]
    u = np.linspace(-10 * sd, 10 * sd, 2001)
    group = pd.factorize(data[WITH_GROUP[name]])[0]
    rows = row_loglik(ref, data, np.add.outer(eta, u))
    h = np.zeros((group.max() + 1, len(u)))
    np.add.at(h, group, rows)
    h += stats.norm.logpdf(u, 0, sd)
    top = h.max(axis=1, keepdims=True)
    total = (top[:, 0] + np.log(np.trapezoid(np.exp(h - top), u, axis=1))).sum()
    assert total == pytest.approx(ref["logLik"], abs=1e-6)


@pytest.mark.parametrize("name", ["kidney_weibull", "kidney_weibull_frailty"])
def test_weibull_brms_and_hazard_metrics(name):
    ref = load(name)
    data = pd.read_csv(HERE / ref["data"])
    terms, beta = estimates(ref)
    scale = ref["scale"]
    derived = ref["derived"]
    # brms: shape k = 1 / scale, Weibull scale = mu / Gamma(1 + 1/k), mu = exp(eta_brms)
    k = derived["brms"]["shape"]
    assert k == pytest.approx(1 / scale)
    beta_brms = beta.copy()
    beta_brms[0] = derived["brms"]["Intercept"]
    mu = np.exp(design(data, terms) @ beta_brms)
    aft = stats.weibull_min(c=1 / scale, scale=np.exp(design(data, terms) @ beta))
    brms = stats.weibull_min(c=k, scale=mu / math.gamma(1 + 1 / k))
    t = data["time"].to_numpy(float)
    np.testing.assert_allclose(brms.logpdf(t), aft.logpdf(t), rtol=1e-10)
    # proportional hazards: h(t | x) = h0(t) exp(x' gamma), gamma = -beta / scale
    ph = np.array([c["estimate"] for c in derived["ph"]["coefficients"]])
    np.testing.assert_allclose(ph, -beta / scale, rtol=1e-12)
    hazard = aft.pdf(t) / aft.sf(t)
    lin = design(data, terms)[:, 1:] @ ph[1:]
    ratio = hazard / np.exp(lin)
    np.testing.assert_allclose(ratio / ratio[0], (t / t[0]) ** (1 / scale - 1), rtol=1e-8)


def test_kidney_weibull_frailty_lme4_agrees_with_ml_ghq():
    """lme4's profiled poisson-GLMM fit (make_ref_lme4.R) is the same ML fit as make_refs.R's ml_ghq."""
    lme4, ml = load("kidney_weibull_frailty_lme4"), load("kidney_weibull_frailty")
    assert [f["term"] for f in lme4["fixed_effects"]] == [f["term"] for f in ml["fixed_effects"]]
    for a, b in zip(lme4["fixed_effects"], ml["fixed_effects"]):
        assert abs(a["estimate"] - b["estimate"]) < 0.001 * b["se"], a["term"]
    assert lme4["scale"] == pytest.approx(ml["scale"], rel=1e-5)
    assert lme4["log_scale_se_profile"] == pytest.approx(ml["log_scale_se"], rel=0.01)
    assert lme4["group_effects"][0]["sd"] == pytest.approx(ml["group_effects"][0]["sd"], rel=1e-4)
    assert lme4["logLik"] == pytest.approx(ml["logLik"], abs=1e-6)
    # the log-hazard (glmer) scale is the AFT scale times -shape
    ph = np.array([c["estimate"] for c in lme4["ph"]["coefficients"]])
    np.testing.assert_allclose(ph, -estimates(lme4)[1] / lme4["scale"], rtol=1e-10)
    assert lme4["checks"]["logLik_nAGQ_15_minus_nAGQ_25"] == pytest.approx(0, abs=1e-6)


def test_kidney_lognormal_frailty_boundary_is_the_model_without_frailty():
    ref, plain = load("kidney_lognormal_frailty"), load("kidney_lognormal")
    assert ref["group_effects"][0]["sd"] == 0
    assert ref["logLik"] == plain["logLik"]
    assert all(p["logLik_minus_max"] <= 1e-6 for p in ref["profile_logLik_sd"])


def test_simulated_truths_are_recorded_and_plausible():
    for name in ("interval_sim_frailty", "tobit_sim_frailty"):
        ref = load(name)
        truth = ref["truth"]
        for fe in ref["fixed_effects"]:
            assert abs(fe["estimate"] - truth[fe["term"]]) < 3 * fe["se"]
        g = ref["group_effects"][0]
        assert g["sd_ci95"][0] < truth["sd_g"] < g["sd_ci95"][1]
