"""Censored counts (issue 16): poisson and negbinomial with ``y | cens(c)``, left and right.

A right-censored count y means Y > y and a left-censored one Y <= y (brms / Stan); the numpy
log CDF / survival are checked against scipy, the PyMC likelihood against the numpy one, and
a censored poisson fit recovers the rate the censoring hides.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import hierbayes as hb
from hierbayes.errors import SpecError
from hierbayes.families import Censoring, censored_log_likelihood, get_family

PHI = 2.5


def scipy_count(family: str, eta: np.ndarray):
    mu = np.exp(eta)
    return stats.poisson(mu) if family == "poisson" else stats.nbinom(PHI, PHI / (PHI + mu))


@pytest.mark.parametrize("family", ["poisson", "negbinomial"])
def test_numpy_tails_match_scipy(family: str) -> None:
    rng = np.random.default_rng(4)
    n = 30
    eta = rng.normal(1.0, 0.7, n)
    y = rng.integers(0, 12, n).astype(float)
    code = np.tile(np.array([0, -1, 1], dtype=np.int8), n // 3)
    dist = scipy_count(family, eta)
    expected = np.select([code == 0, code == -1], [dist.logpmf(y), dist.logcdf(y)], dist.logsf(y))
    aux = {"phi": PHI} if family == "negbinomial" else {}
    got = censored_log_likelihood(get_family(family), y, eta, "log", aux, None, Censoring(code))
    np.testing.assert_allclose(got, expected, rtol=1e-8)


def frame() -> pd.DataFrame:
    return pd.DataFrame({"y": [0, 3, 5, 2, 9, 4], "x": [0.1, 0.5, -0.3, 1.2, 0.7, -1.0],
                         "c": ["none", "right", "left", "none", "right", "none"]})


@pytest.mark.slow  # 15-30 s of cold compilation: in the slow suite
@pytest.mark.parametrize("family", ["poisson", "negbinomial"])
def test_pymc_logp_matches_numpy(family: str) -> None:
    from hierbayes.backends.pymc.compile import compile_model

    model = hb.Model("y | cens(c) ~ x", data=frame(), family=family)
    pm_model = compile_model(model.design, model.priors).model
    point = {k: np.zeros_like(v) for k, v in pm_model.initial_point().items()}
    point["Intercept_c"] = np.array(1.1)
    aux = {}
    if family == "negbinomial":
        point["phi_log__"], aux["phi"] = np.log(PHI), PHI
    logp = pm_model.compile_fn(pm_model.logp(vars=pm_model.observed_RVs, sum=False)[0],
                               inputs=pm_model.value_vars, on_unused_input="ignore")(point)
    expected = censored_log_likelihood(get_family(family), model.design.y, np.full(6, 1.1), "log", aux, None,
                                       model.design.censoring)
    np.testing.assert_allclose(logp, expected, rtol=1e-6)


def test_counts_refuse_intervals_and_truncation() -> None:
    data = frame().assign(c=["none", "interval", "none", "none", "none", "none"], y2=[np.nan, 5, np.nan, np.nan, np.nan, np.nan])
    with pytest.raises(SpecError, match="can be left- or right-censored"):
        hb.Model("y | cens(c, y2) ~ x", data=data, family="poisson")
    with pytest.raises(SpecError, match="not interval-censored or truncated"):
        hb.Model("y | trunc(lb = 0) ~ x", data=frame(), family="negbinomial")


@pytest.mark.slow
def test_right_censored_poisson_recovers_the_rate() -> None:
    """Counts above 4 recorded as '5 or more' (right-censored at 4): the fit finds the true log
    rate 1.6 (mean 5) where the naive fit on the recorded values is biased low."""
    rng = np.random.default_rng(7)
    y = rng.poisson(np.exp(1.6), 300)
    data = pd.DataFrame({"y": np.minimum(y, 5), "c": np.where(y >= 5, "right", "none")})
    data.loc[data.c == "right", "y"] = 4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = hb.Model("y | cens(c) ~ 1", data=data, family="poisson").fit(
            draws=300, tune=300, chains=2, random_seed=1, progressbar=False)
    icpt = fit.fixef().loc["Intercept"]
    assert icpt["lower"] < 1.6 < icpt["upper"]
    assert np.log(data["y"].mean()) < icpt["lower"]
