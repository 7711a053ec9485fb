"""brms' ``y | se(s)``: a known residual sd per row (random-effects meta-analysis), rewritten
into ``sigma ~ 0 + offset(log(s))`` (hierbayes/spec/known_sd.py).

Data: metafor's BCG trials (``tests/data/bcg.csv``), made and fitted in R 4.x, metafor 4.x::

    library(metafor)
    dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
    dat$sei <- sqrt(dat$vi)
    rma(yi, vi, data = dat, method = "REML")
    # mu -0.7145 (se 0.1798), tau^2 0.3132 (tau 0.5597)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

import hierbayes as hb
from hierbayes.errors import DataError, FormulaSyntaxError, SpecError
from hierbayes.spec import parse_formula
from hierbayes.spec.distributional import parse_aux_formula

DATA = Path(__file__).parents[1] / "data" / "bcg.csv"
FORMULA = "yi | se(sei) ~ 1 + (1 | trial)"
METAFOR_MU, METAFOR_TAU = -0.7145, 0.5597


@pytest.fixture(scope="module")
def bcg() -> pd.DataFrame:
    return pd.read_csv(DATA)


def test_se_is_a_known_sigma(bcg) -> None:
    spec = parse_formula(FORMULA)
    assert spec.aux_formulas["sigma"] == parse_aux_formula("sigma", "~ 0 + offset(log(sei))")
    assert spec.aux_formulas["sigma"].known and not parse_aux_formula("sigma", "~ 1 + offset(log(sei))").known
    assert parse_formula("yi | se(sei, sigma = FALSE) ~ 1", family="student").aux_formulas == spec.aux_formulas
    model = hb.Model(FORMULA, bcg)  # one row per trial: tau, not a second residual variance
    assert "sigma" not in set(model.priors.to_frame()["class"])
    (sub,) = [d for name, d in model.design.distributional if name == "sigma"]
    np.testing.assert_allclose(sub.offset, np.log(bcg["sei"].to_numpy()))
    with pytest.raises(DataError, match="one observation per level of 'trial'"):
        hb.Model("yi ~ 1 + (1 | trial)", bcg)  # without se() the two variances are one


@pytest.mark.parametrize(("formula", "family", "error", "message"), [
    ("yi | se(sei, sigma = TRUE) ~ 1", "gaussian", FormulaSyntaxError, r"se\(sei, sigma = TRUE\) is not available"),
    ("yi | se(sqrt(vi)) ~ 1", "gaussian", FormulaSyntaxError, r"se\(\) takes a column of standard errors, found 'sqrt"),
    ("yi | se(sei) ~ 1", "poisson", SpecError, r"se\(sei\) gives each row's known residual sd, but family 'poisson'"),
    ("yi | se(sei) + se(sei) ~ 1", "gaussian", FormulaSyntaxError, r"se\(\) is given twice"),
])
def test_se_errors(formula, family, error, message) -> None:
    with pytest.raises(error, match=message):
        parse_formula(formula, family=family)


def test_se_data_and_argument_errors(bcg) -> None:
    with pytest.raises(SpecError, match=r"se\(\) makes the residual sd known; sigma= contradicts it"):
        hb.Model(FORMULA, bcg, sigma="~ 1")
    with pytest.raises(DataError, match=r"offset 'log\(sei\)' has non-finite values .* at row 2"):
        hb.Model(FORMULA, bcg.assign(sei=bcg["sei"].where(bcg.index != 2, 0.0)))


def test_a_known_sigma_in_the_summary_tables_predictions_and_files(bcg, tmp_path) -> None:
    fit = hb.Model(FORMULA, bcg).fit(backend="prior", draws=50, chains=2, random_seed=1)
    text = str(fit.summary())
    assert "known, not estimated: each row's sigma is exp(log(sei))" in text and "(none)" not in text
    assert fit.fixef(dpar="sigma").empty  # had raised KeyError 'chain'
    new = bcg.head(3)
    draws = fit.predict(new, kind="response", random_seed=1).values
    assert draws.shape[-1] == 3 and np.isfinite(draws).all()
    fit.save(tmp_path / "fit.nc")
    loaded = hb.load(tmp_path / "fit.nc")
    assert loaded.spec.aux_formulas["sigma"].known
    np.testing.assert_allclose(loaded.predict(new, kind="response", random_seed=1).values, draws)


def exact_posterior(y: np.ndarray, se: np.ndarray, m0: float, s0: float, tau_scale: float) -> dict[str, float]:
    """mu ~ Normal(m0, s0), tau ~ HalfNormal(tau_scale), y_i ~ Normal(mu, se_i^2 + tau^2): mu
    integrated out in closed form on a fine grid of tau."""
    tau = np.linspace(1e-6, 6 * tau_scale, 60001)
    v = se[None, :] ** 2 + tau[:, None] ** 2
    precision = 1 / s0**2 + (1 / v).sum(1)
    mean = (m0 / s0**2 + (y / v).sum(1)) / precision
    log_ml = (-0.5 * np.log(v).sum(1) - 0.5 * np.log(precision)
              - 0.5 * (m0**2 / s0**2 + (y**2 / v).sum(1) - precision * mean**2))
    log_post = log_ml + stats.halfnorm.logpdf(tau, scale=tau_scale)
    w = np.exp(log_post - special.logsumexp(log_post))
    cdf = np.cumsum(w)
    return {"mu": float(w @ mean), "mu_sd": float(np.sqrt(w @ (1 / precision + mean**2) - (w @ mean) ** 2)),
            "tau": float(w @ tau), "tau_median": float(tau[np.searchsorted(cdf, 0.5)])}


@pytest.mark.slow
def test_meta_analysis_matches_the_exact_posterior_and_metafor(bcg) -> None:
    priors = {"Intercept": hb.Prior("Normal", mu=0, sigma=2), "sd:trial:Intercept": hb.Prior("HalfNormal", sigma=1)}
    fit = hb.Model(FORMULA, bcg, priors=priors).fit(random_seed=1, progressbar=False)
    exact = exact_posterior(bcg["yi"].to_numpy(), bcg["sei"].to_numpy(), 0.0, 2.0, 1.0)
    mu, tau = (fit.posterior[v].to_numpy().ravel() for v in ("Intercept", "sd_trial"))
    assert abs(mu.mean() - exact["mu"]) < 0.05 * exact["mu_sd"] + 4 * mu.std() / np.sqrt(1000)
    assert abs(mu.std() - exact["mu_sd"]) < 0.05 * exact["mu_sd"]
    assert abs(tau.mean() - exact["tau"]) < 0.02 and abs(np.median(tau) - exact["tau_median"]) < 0.02
    assert fit.diagnostics.divergences == 0 and fit.diagnostics.max_r_hat <= 1.01
    # defaults: metafor's REML estimate of mu within 0.1 posterior sd, tau within the interval
    default = hb.Model(FORMULA, bcg).fit(random_seed=1, progressbar=False)
    mu, tau = (default.posterior[v].to_numpy().ravel() for v in ("Intercept", "sd_trial"))
    assert abs(mu.mean() - METAFOR_MU) < 0.1 * mu.std()
    assert np.quantile(tau, 0.25) < METAFOR_TAU < np.quantile(tau, 0.75)
