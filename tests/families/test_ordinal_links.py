"""Cumulative models with ordinal::clm's cloglog, loglog and cauchit links, against clm's
log-likelihood on the wine data (tests/classic/data/wine.csv, ordinal's ``wine``) and clmm's
estimates. R calls (ordinal 2022.11.16):

    clm(rating ~ temp + contact, data = wine, link = lk)        # coefficients and logLik below
    clmm(rating ~ temp + contact + (1|judge), data = wine, link = lk, nAGQ = 10)

clmm swaps two of them: its logLik() for link = "cloglog" is the marginal likelihood (60-point
Gauss-Hermite over the judges, by hand in R) of F(x) = exp(-exp(-x)) at its estimates, -82.726,
and its "loglog" that of F(x) = 1 - exp(-exp(x)), -81.523; clm's are as documented (its logLik
is the sum below). So the cloglog reference here is clmm's "loglog" fit and the other way round.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.backends.pymc.ordinal_links import cumulative_logp
from hierbayes.families import get_family

WINE = Path(__file__).parents[1] / "classic" / "data" / "wine.csv"

#: clm's thresholds 1|2..4|5, tempwarm, contactyes and logLik, printed with sprintf("%.10f")
CLM = {
    "cloglog": ([-1.7400823673, 0.2963290975, 1.7288553430, 2.5967970488], [1.6057600909, 0.8597136565], -86.6340792088),
    "loglog": ([-0.3024414631, 1.1786047751, 2.6062328875, 3.8148228730], [1.5330181817, 0.9056444276], -87.7178551430),
    # clm's logLik() says -92.5158306692 for cauchit; R's sum over rows of
    # log(pcauchy(th[y + 1] - eta) - pcauchy(th[y] - eta)) at its estimates is this:
    "cauchit": ([-2.5110298991, 0.8802347998, 2.8657555771, 4.5411597201], [1.9629083900, 1.2182887169], -92.5155540343),
}
#: clmm (nAGQ = 10) thresholds 1|2..4|5, tempwarm, contactyes, sd(judge), under the link named
#: here (clmm's "loglog" fit for cloglog and its "cloglog" fit for loglog: see above)
CLMM = {
    "cloglog": ((-1.7878, 0.5293, 2.3567, 3.4927), 2.0468, 1.2256, 0.7951),
    "loglog": ((-0.4973, 1.4401, 3.1903, 4.5524), 1.9744, 1.1282, 0.7596),
    "cauchit": ((-2.0608, 1.6550, 4.7171, 7.0413), 3.2649, 2.1881, 1.3119),
}


def wine() -> pd.DataFrame:
    data = pd.read_csv(WINE, dtype={"judge": str})
    return data.assign(rating=pd.Categorical(data["rating"], categories=[1, 2, 3, 4, 5], ordered=True))


def _codes_and_eta(link: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    data = pd.read_csv(WINE)
    cuts, (warm, contact), _ = CLM[link]
    eta = warm * (data["temp"] == "warm") + contact * (data["contact"] == "yes")
    return data["rating"].to_numpy() - 1, eta.to_numpy(float), np.asarray(cuts)


@pytest.mark.parametrize("link", sorted(CLM))
def test_the_log_likelihood_is_clms(link):
    codes, eta, cuts = _codes_and_eta(link)
    loglik = get_family("cumulative").log_likelihood(codes, eta, link, {"Intercept": cuts}, None)
    assert loglik.sum() == pytest.approx(CLM[link][2], abs=1e-8)


@pytest.mark.parametrize("link", sorted(CLM))
def test_the_samplers_log_probability_is_clms(link):
    import pytensor.tensor as pt

    codes, eta, cuts = _codes_and_eta(link)
    logp = cumulative_logp(link)(pt.as_tensor(codes), pt.as_tensor(eta), pt.as_tensor(cuts))
    assert float(logp.sum().eval()) == pytest.approx(CLM[link][2], abs=1e-8)
    # the gradient is finite for rows in every category, far out in the tails too
    eta_far = pt.dvector("eta")
    far = cumulative_logp(link)(pt.as_tensor(np.array([0, 1, 2, 3, 4, 0, 4])), eta_far, pt.as_tensor(cuts)).sum()
    values = np.array([0.0, 0.5, 1.0, 2.0, 3.0, -8.0, 8.0])
    assert np.isfinite(far.eval({eta_far: values}))
    assert np.all(np.isfinite(pt.grad(far, eta_far).eval({eta_far: values})))


@pytest.mark.parametrize("link", ["cloglog", "loglog", "cauchit"])
def test_probabilities_sum_to_one_and_match_the_log_likelihood(link):
    family = get_family("cumulative")
    eta, cuts = np.array([[-3.0, 0.0, 2.5]]), np.array([-1.0, 0.5, 2.0])
    p = family.mean(eta, link, {"Intercept": cuts}, None)
    assert np.allclose(p.sum(axis=-1), 1.0)
    for k in range(4):
        loglik = family.log_likelihood(np.full(3, k), eta, link, {"Intercept": cuts}, None)
        assert np.allclose(np.exp(loglik), p[..., k])


def test_a_link_cumulative_does_not_have_is_refused():
    with pytest.raises(hb.SpecError, match="cumulative"):
        hb.Model("rating ~ temp + (1 | judge)", wine(), family="cumulative", link="log")


def test_loglog_has_the_gumbels_latent_variance_and_cauchit_none():
    family = get_family("cumulative")
    assert family.latent_variance("loglog") == pytest.approx(np.pi**2 / 6)
    assert family.latent_variance("cauchit") is None


@pytest.mark.slow  # three fits of 4 x (1000 + 1000)
@pytest.mark.parametrize("link", sorted(CLMM))
def test_wine_with_each_link_against_clmm(link):
    fit = hb.Model("rating ~ temp + contact + (1 | judge)", wine(), family="cumulative", link=link).fit(
        random_seed=1, progressbar=False)
    d = fit.diagnostics
    assert d.divergences == 0 and d.max_r_hat <= 1.01 and d.min_ess_bulk >= 400
    fixef = fit.fixef().set_index("term") if "term" in fit.fixef() else fit.fixef()
    thresholds, warm, contact, sd = CLMM[link]
    terms = [f"Intercept[{k}]" for k in range(1, 5)] + ["temp[warm]", "contact[yes]"]
    for term, reference in zip(terms, [*thresholds, warm, contact]):
        assert abs(fixef.loc[term, "mean"] - reference) <= 0.5 * fixef.loc[term, "sd"], (term, fixef.loc[term])
    sd_judge = float(fit.varcorr().iloc[0]["median"])
    assert 0.8 * sd < sd_judge < 1.3 * sd  # 9 judges: the posterior's median sits above the ML estimate
    if link == "cauchit":
        with pytest.raises(hb.SpecError, match="Cauchy has none"):
            fit.icc()
    else:
        assert 0 < float(fit.icc().iloc[0]["mean"]) < 1
