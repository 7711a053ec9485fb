"""Survival probabilities, quantiles and proportional-hazard log hazards of the families
(hierbayes.families.time_to_event): closed forms, scipy, and R's survreg predictions on kidney."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from hierbayes.errors import DataError, SpecError
from hierbayes.families import (
    get_family,
    log_hazard_ph,
    outcome_quantiles,
    survival_probabilities,
)

AUX = {"weibull": {"shape": 1.7}, "exponential": {}, "lognormal": {"sigma": 0.8},
       "loglogistic": {"shape": 2.5}, "gaussian": {"sigma": 1.3}, "student": {"sigma": 1.3, "nu": 5.0},
       "gamma": {"shape": 3.0}}


@pytest.mark.parametrize("family", sorted(AUX))
def test_quantile_inverts_the_cdf(family: str) -> None:
    fam = get_family(family)
    eta = np.array([[0.3, 1.1], [-0.2, 2.0]])
    p = [0.1, 0.5, 0.9]
    q = outcome_quantiles(fam, p, eta, fam.default_link, AUX[family])
    assert q.shape == (2, 2, 3)
    for i, pi in enumerate(p):
        np.testing.assert_allclose(np.exp(fam.log_cdf(q[..., i], eta, fam.default_link, AUX[family], None)), pi, rtol=1e-8)
    s = survival_probabilities(fam, [float(q[0, 0, 1])], eta, fam.default_link, AUX[family])
    assert s[0, 0, 0] == pytest.approx(0.5)


def test_closed_forms() -> None:
    eta = np.array([[np.log(10.0)]])
    # exponential with mean 10: S(t) = exp(-t / 10), median 10 log 2
    fam = get_family("exponential")
    s = survival_probabilities(fam, [0.0, 5.0, 20.0], eta, "log", {})
    np.testing.assert_allclose(s[0, 0], np.exp(-np.array([0.0, 5.0, 20.0]) / 10))
    assert outcome_quantiles(fam, [0.5], eta, "log", {})[0, 0, 0] == pytest.approx(10 * np.log(2))
    # weibull, mean 10, shape 2: scale 10 / Gamma(1.5); scipy's weibull_min
    fam = get_family("weibull")
    scale = 10 / special.gamma(1.5)
    s = survival_probabilities(fam, [0.0, 3.0, 12.0], eta, "log", {"shape": 2.0})
    np.testing.assert_allclose(s[0, 0], stats.weibull_min.sf([0.0, 3.0, 12.0], 2.0, scale=scale))
    q = outcome_quantiles(fam, [0.25, 0.5], eta, "log", {"shape": 2.0})
    np.testing.assert_allclose(q[0, 0], stats.weibull_min.ppf([0.25, 0.5], 2.0, scale=scale))
    # loglogistic: the median is exp(eta); scipy's fisk
    fam = get_family("loglogistic")
    np.testing.assert_allclose(outcome_quantiles(fam, [0.5, 0.8], eta, "log", {"shape": 3.0})[0, 0],
                               stats.fisk.ppf([0.5, 0.8], 3.0, scale=10.0))


def test_ph_log_hazard_is_log_density_minus_log_survival() -> None:
    # log h(t) = log f(t) - log S(t); at t = 1 that is the PH hook, and the difference
    # of two rows is the same at every t (proportional hazards): -k (eta_b - eta_a)
    eta = np.array([[1.0, 1.6]])
    for family, aux in (("weibull", {"shape": 1.7}), ("exponential", {})):
        fam = get_family(family)
        lh = log_hazard_ph(fam, eta, "log", aux)
        for t in (1.0, 0.3, 7.0):
            y = np.full(2, t)
            direct = fam.log_likelihood(y, eta, "log", aux, None) - fam.log_ccdf(y, eta, "log", aux, None)
            if t == 1.0:
                np.testing.assert_allclose(lh, direct)
            assert direct[0, 1] - direct[0, 0] == pytest.approx(lh[0, 1] - lh[0, 0])
        k = aux.get("shape", 1.0)
        assert lh[0, 1] - lh[0, 0] == pytest.approx(-k * 0.6)


def test_errors_name_the_family_and_the_probabilities() -> None:
    with pytest.raises(SpecError, match="lognormal family's hazard ratio changes with time"):
        log_hazard_ph(get_family("lognormal"), np.zeros((1, 1)), "identity", {"sigma": 1.0})
    with pytest.raises(SpecError, match="the poisson family has no quantile function"):
        outcome_quantiles(get_family("poisson"), [0.5], np.zeros((1, 1)), "log", {})
    with pytest.raises(SpecError, match="the bernoulli family has no survival function"):
        survival_probabilities(get_family("bernoulli"), [1.0], np.zeros((1, 1)), "logit", {})
    with pytest.raises(DataError, match=r"quantiles=\[0.5, 1.0\]: every probability must be strictly between 0 and 1"):
        outcome_quantiles(get_family("weibull"), [0.5, 1.0], np.zeros((1, 1)), "log", {"shape": 1.0})


# R 4.2, survival 3.5, on tests/survival/data/kidney.csv (sex: male, female; disease: other, GN, AN, PKD):
#   f <- survreg(Surv(time, status) ~ age + sex + disease, data = kd, dist = dist)
#   nd <- data.frame(age = c(30, 50, 45), sex = c("male", "female", "female"), disease = c("other", "GN", "PKD"))
#   predict(f, newdata = nd, type = "quantile", p = c(0.25, 0.5, 0.9))
#   1 - psurvreg(c(10, 50, 200), predict(f, nd, type = "lp"), f$scale, dist)   # per profile
SURVREG = {
    "weibull": dict(
        coef=[3.714427323, -0.001907486348, 1.607917771, -0.04933098426, -0.5206407711, 1.342463697], scale=0.9668404902,
        q=[[11.61871104, 27.18983528, 86.79760859], [53.14658654, 124.37239626, 397.03170170],
           [215.80732424, 505.02724244, 1612.18913123]],
        S=[[0.781662976936, 0.272108306041, 0.004254698924], [0.950168545697, 0.763315600483, 0.322084786785],
           [0.988074136811, 0.938575422555, 0.766503928577]]),
    "lognormal": dict(
        coef=[3.374922216, -0.002572189976, 1.511469214, -0.293682833, -0.4809335066, 0.7394959764], scale=1.128664498,
        q=[[12.63516603, 27.05188034, 114.91563735], [40.56178886, 86.84275744, 368.90562480],
           [115.45331184, 247.18544811, 1050.03692722]],
        S=[[0.81103716357, 0.29313751775, 0.03815557522], [0.97226061124, 0.68762906528, 0.22991712982],
           [0.99775773547, 0.92160276890, 0.57443407039]]),
    "exponential": dict(
        coef=[3.705537702, -0.001910910681, 1.611782459, -0.05802443083, -0.5181021279, 1.326432411], scale=1.0,
        q=[[11.04868104, 26.62092235, 88.43278986], [50.29224408, 121.17518097, 402.53523805],
           [202.72740979, 488.45564591, 1622.61453324]],
        S=[[0.770761072637, 0.272018763579, 0.005475142779], [0.944403209681, 0.751254821146, 0.318529080809],
           [0.985909625875, 0.931505737498, 0.752908390335]]),
    "loglogistic": dict(
        coef=[3.412711438, -0.003374143933, 1.635975047, -0.3920346498, -0.5866726672, 0.6218264704], scale=0.6465837295,
        q=[[13.47912631, 27.42588074, 113.54245072], [43.71100095, 88.93845727, 368.20295751],
           [122.52702871, 249.30485855, 1032.11579166]],
        S=[[0.82640470261, 0.28317171118, 0.04424276849], [0.96706900229, 0.70903763990, 0.22212692012],
           [0.99313189415, 0.92307179057, 0.58438610812]]),
}
# intercept, age, sex[female], disease[GN], disease[AN], disease[PKD]
PROFILES = np.array([[1, 30, 0, 0, 0, 0], [1, 50, 1, 1, 0, 0], [1, 45, 1, 0, 0, 1]], dtype=float)


def hierbayes_parameters(family: str, coef, scale):
    """survreg's estimates in hierbayes' (brms') parameterisation."""
    eta = PROFILES @ np.asarray(coef)
    if family == "weibull":  # mean-parameterised: intercept + lgamma(1 + scale), shape 1 / scale
        return eta + special.gammaln(1 + scale), {"shape": 1 / scale}
    if family == "loglogistic":
        return eta, {"shape": 1 / scale}
    if family == "lognormal":
        return eta, {"sigma": scale}
    return eta, {}


@pytest.mark.parametrize("family", sorted(SURVREG))
def test_matches_survreg_predictions(family: str) -> None:
    ref = SURVREG[family]
    eta, aux = hierbayes_parameters(family, ref["coef"], ref["scale"])
    fam = get_family(family)
    q = outcome_quantiles(fam, [0.25, 0.5, 0.9], eta[None], fam.default_link, aux)[0]
    np.testing.assert_allclose(q, ref["q"], rtol=1e-8)
    s = survival_probabilities(fam, [10, 50, 200], eta[None], fam.default_link, aux)[0]
    np.testing.assert_allclose(s, ref["S"], rtol=1e-8)
