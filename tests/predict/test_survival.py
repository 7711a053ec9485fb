"""Predictions for survival outcomes (issue 16): survival curves and median survival per profile
(fit.survival), E[T] and quantiles through predict(), the Kaplan-Meier check, hazard ratios through
margins, LOO with the censored likelihood and the latent-scale ICC.

Fast tests use prior draws (backend="prior") whose parameters are then set to known values, so
every number has a closed form (or R's survreg prediction); fits of kidney are in the slow tests.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

import hierbayes as hb
from hierbayes.errors import DataError, SpecError
from hierbayes.families import censored_log_likelihood, get_family
from hierbayes.predict.km import kaplan_meier, km_check, step_values
from hierbayes.predict.survival import survival_curves

matplotlib.use("Agg")
import matplotlib.pyplot as plt

SURV = Path(__file__).parents[1] / "survival"
FACTORS = json.loads((SURV / "data" / "factors.json").read_text())
FORMULA = "time | cens(censored) ~ age + sex + disease"
# survreg(Surv(time, status) ~ age + sex + disease, data = kd, dist = "weibull") (R 4.2, survival 3.5)
SURVREG_WEIBULL = dict(coef=[3.714427323, -0.001907486348, 1.607917771, -0.04933098426, -0.5206407711, 1.342463697],
                       scale=0.9668404902)
PROFILES = pd.DataFrame({"age": [30, 50, 45], "sex": ["male", "female", "female"], "disease": ["other", "GN", "PKD"]})
# predict(f, newdata = PROFILES, type = "quantile", p = 0.5) and 1 - psurvreg(c(10, 50, 200), lp, f$scale)
SURVREG_MEDIAN = [27.18983528, 124.37239626, 505.02724244]
SURVREG_S = [[0.781662976936, 0.272108306041, 0.004254698924], [0.950168545697, 0.763315600483, 0.322084786785],
             [0.988074136811, 0.938575422555, 0.766503928577]]


def kidney() -> pd.DataFrame:
    data = pd.read_csv(SURV / "data" / "kidney.csv")
    for column, info in FACTORS["kidney"].items():
        data[column] = pd.Categorical(data[column].astype(str), categories=info["levels"])
    return data


def prior_fit(formula: str, family: str = "weibull", draws: int = 100):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hb.Model(formula, data=kidney(), family=family).fit(
            draws=draws, chains=2, backend="prior", progressbar=False, random_seed=3)


def set_draws(fit, **values) -> None:
    """Every draw of each named variable set to ``value`` (broadcast over its own dims)."""
    tree = fit.stored_idata()  # without the log-likelihood of the old draws
    post = tree.posterior.to_dataset()
    for name, value in values.items():
        da = post[name]
        post[name] = da.copy(data=np.broadcast_to(np.asarray(value, dtype=float), da.shape).copy())
    tree["posterior"] = post
    fit.idata = tree


def survreg_weibull_fit(formula: str = FORMULA, sd: float | None = None):
    """A prior fit whose every draw is survreg's weibull estimate (brms' parameterisation)."""
    fit = prior_fit(formula)
    coef, scale = SURVREG_WEIBULL["coef"], SURVREG_WEIBULL["scale"]
    values = dict(Intercept=coef[0] + special.gammaln(1 + scale), b=coef[1:], shape=1 / scale)
    if sd is not None:
        values["sd_patient"] = sd
    set_draws(fit, **values)
    return fit


# ------------------------------------------------------------------ survival curves and quantiles


def test_survival_curves_match_survreg_without_frailty() -> None:
    fit = survreg_weibull_fit()
    curves = fit.survival(PROFILES, times=[10, 50, 200])
    table = curves.summary()
    assert list(table.columns) == ["profile", "age", "sex", "disease", "time", "mean", "median", "lower", "upper"]
    np.testing.assert_allclose(table["median"].to_numpy().reshape(3, 3), SURVREG_S, rtol=1e-8)
    np.testing.assert_allclose(table["lower"], table["upper"])  # every draw the same
    median = curves.median_survival()
    np.testing.assert_allclose(median["median"], SURVREG_MEDIAN, rtol=1e-8)
    assert median.attrs["what"] == "quantiles of time (uncensored)"
    assert curves.re == "none"  # no group terms: the plot's title does not speak of group effects


def test_quantiles_beyond_follow_up_are_marked_and_warned_of() -> None:
    # cgd: a median survival of 1149 days beyond 440 days of follow-up had been given without a word
    fit = survreg_weibull_fit()
    curves = fit.survival(PROFILES, times=[10.0], quantiles=[0.5, 0.999])
    end = kidney()["time"].max()
    with pytest.warns(UserWarning, match=rf"p = 0\.999 of profile 1 \(1148\).*: beyond the largest observed time "
                                         rf"\({end:g}\); such a quantile comes from the family's tail"):
        table = curves.quantiles()
    np.testing.assert_array_equal(table["beyond_follow_up"], table["median"] > end)
    assert table["beyond_follow_up"].any() and not table.query("p == 0.5")["beyond_follow_up"].any()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        curves.median_survival()  # every median within follow-up: no warning


def test_group_effects_include_exclude_new_marginal() -> None:
    sd = 0.8
    fit = survreg_weibull_fit(FORMULA + " + (1 | patient)", sd=sd)
    u = np.linspace(-1, 1, 38)[:, None]  # patient effects on log time
    set_draws(fit, re_patient=u)
    one = PROFILES.iloc[:1]
    base = survival_curves(fit.posterior, fit.model.built, one, times=[10.0], re="exclude").median_survival()
    assert base["median"].iloc[0] == pytest.approx(SURVREG_MEDIAN[0], rel=1e-8)
    assert "patient" not in base.columns  # no grouping column needed, none shown
    # the profile's own patient: its effect shifts log time (an AFT model)
    own = fit.survival(one.assign(patient=38), times=[10.0], re="include").median_survival()
    assert own["median"].iloc[0] == pytest.approx(SURVREG_MEDIAN[0] * np.exp(1.0), rel=1e-8)
    with pytest.raises(DataError, match=r"newdata has no grouping column \['patient'\]; add it, or pass "
                                        r"re='marginal' \(the population-averaged curve\), re='new'"):
        fit.survival(one, re="include")
    # a new patient: per draw one effect from N(0, sd^2); log median survival spreads by sd
    new = survival_curves(fit.posterior, fit.model.built, one, times=[10.0], re="new", random_seed=1)
    log_median = np.log(new.quantile_draws[:, 0, 0])
    assert np.std(log_median) == pytest.approx(sd, rel=0.15)
    assert np.median(log_median) == pytest.approx(np.log(SURVREG_MEDIAN[0]), abs=0.2)
    # population-averaged: E_u[S(t | u)] by quadrature against a direct integral
    marginal = fit.survival(one, times=[10.0, 50.0], re="marginal")
    k, eta0 = 1 / SURVREG_WEIBULL["scale"], np.log(SURVREG_MEDIAN[0]) - np.log(np.log(2)) / (1 / SURVREG_WEIBULL["scale"])
    z = np.linspace(-8, 8, 4001)
    for i, t in enumerate((10.0, 50.0)):
        direct = np.trapezoid(np.exp(-(t / np.exp(eta0 + sd * z)) ** k) * stats.norm.pdf(z), z)
        assert marginal.summary()["median"].iloc[i] == pytest.approx(direct, rel=1e-6)
    # its median solves E_u[S(t | u)] = 1/2
    t = marginal.median_survival()["median"].iloc[0]
    assert np.trapezoid(np.exp(-(t / np.exp(eta0 + sd * z)) ** k) * stats.norm.pdf(z), z) == pytest.approx(0.5, abs=1e-6)


def test_default_times_plot_and_errors() -> None:
    fit = survreg_weibull_fit()
    curves = fit.survival(PROFILES, quantiles=[0.25, 0.5])
    assert curves.times[0] == 0 and curves.times[-1] == kidney()["time"].max() and len(curves.times) == 60
    assert np.all(curves.summary().query("time == 0")["median"] == 1.0)
    assert len(curves.quantiles()) == 6 and list(curves.quantiles()["p"][:2]) == [0.25, 0.5]
    fig = curves.plot()
    ax = fig.axes[0]
    assert len(ax.lines) == 3 and "profile" not in ax.get_legend().get_texts()[0].get_text()
    plt.close(fig)
    with pytest.raises(SpecError, match=r"re='group': valid values are \['include', 'exclude', 'new', 'marginal'\]"):
        fit.survival(PROFILES, re="group")
    with pytest.raises(DataError, match=r"times=\[nan\]: give one or more finite times"):
        fit.survival(PROFILES, times=[np.nan])
    with pytest.raises(DataError, match=r"quantiles=\[0.0\]"):
        fit.survival(PROFILES, quantiles=[0.0])
    with pytest.raises(SpecError, match=r"add 0.5 for the median"):
        fit.survival(PROFILES, quantiles=[0.25]).median_survival()
    with pytest.raises(SpecError, match="the bernoulli family has no survival function"):
        survival_curves(fit.posterior, hb.Model("status ~ age", data=kidney(), family="bernoulli").built, None)


def test_predict_gives_the_uncensored_outcome() -> None:
    # kind="mean" is E[T] of the uncensored weibull (not of the censored observation), and
    # kind="response" draws uncensored times: their median is the median survival time
    fit = survreg_weibull_fit()
    mean = fit.predict(PROFILES, kind="mean").summary()["mean"].to_numpy()
    scale = SURVREG_WEIBULL["scale"]
    eta = np.array(SURVREG_MEDIAN) / np.log(2) ** scale  # the Weibull scales
    np.testing.assert_allclose(mean, eta * special.gamma(1 + scale), rtol=1e-8)
    draws = fit.predict(PROFILES.iloc[:1], kind="response", random_seed=1).values[:, 0]
    assert np.median(draws) == pytest.approx(SURVREG_MEDIAN[0], rel=0.2)
    assert draws.max() > kidney()["time"].max() / 10  # not stopped at any censoring time


# ------------------------------------------------------------------ Kaplan-Meier


def test_kaplan_meier_matches_survfit() -> None:
    # R 4.2, survival 3.5:  km <- survfit(Surv(time, status) ~ 1, data = kd); km$time; km$surv
    # (kd = tests/survival/data/kidney.csv; survfit also lists censoring-only times, left out here)
    data = kidney()
    times, surv = kaplan_meier(data["time"], data["status"] == 1)
    r_at = {2: 0.9868421053, 7: 0.9590437361, 8: 0.9312453669, 30: 0.6448711426, 53: 0.5500503683,
            113: 0.4655598729, 152: 0.3332428564, 562: 0.0}
    for t, value in r_at.items():
        assert step_values(times, surv, np.array([t]))[0] == pytest.approx(value, abs=1e-9)
    # censored at 4-6: S stays at its value after 2 until 7
    assert step_values(times, surv, np.array([0.0, 1.99, 6.5])).tolist() == pytest.approx([1.0, 1.0, 0.9868421053])
    # small case with ties of an event and a censoring at 3 (the censored row is at risk at 3):
    # survfit(Surv(c(1, 3, 3, 4, 6), c(1, 1, 0, 1, 0)) ~ 1)$surv = 0.8, 0.6, 0.3, 0.3
    times, surv = kaplan_meier([1, 3, 3, 4, 6], [True, True, False, True, False])
    assert times.tolist() == [1, 3, 4] and surv == pytest.approx([0.8, 0.6, 0.3])
    with pytest.raises(DataError, match="a time is missing"):
        kaplan_meier([1.0, np.nan], [True, True])


def test_km_check_censors_replicates_like_the_data() -> None:
    fit = survreg_weibull_fit()
    check = fit.ppc(ndraws=40, random_seed=2)
    assert check.response_kind == "censored" and check.plot_kinds[0] == "km"
    result = check.kaplan_meier()
    assert result.replicates.shape == (40, 200) and result.observed[0] == 1.0
    # a replicate of a right-censored row never fails after the row's censoring time
    y, right = check.y, fit.model.design.censoring.code == 1
    last = y[right].max()
    after = result.grid > max(last, y[~right].max())
    assert np.all(np.diff(result.replicates[:, after], axis=1) == 0)
    # at survreg's estimate the data's curve lies mostly within the replicates' band
    assert result.summary(0.9)["outside"].mean() < 0.2
    fig = check.plot()
    assert "Kaplan-Meier" in fig.axes[0].get_title()
    plt.close(fig)


def test_km_check_refuses_left_censoring() -> None:
    data = pd.read_csv(SURV / "data" / "tobit_sim.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = hb.Model("y | cens(censored) ~ x", data=data).fit(draws=20, chains=1, backend="prior", progressbar=False)
    check = fit.ppc()
    assert check.response_kind == "continuous"
    with pytest.raises(SpecError, match="a Kaplan-Meier check needs exact and right-censored rows only"):
        km_check(check)


# ------------------------------------------------------------------ hazard ratios, LOO, ICC


def test_hazard_ratio_through_margins() -> None:
    fit = survreg_weibull_fit()
    pairs = fit.margins(at="sex", kind="log_hazard", groups="exclude").pairs().summary()
    # survreg's sexfemale coefficient on log time is b = 1.6079; on the log hazard: -b / scale
    hr = np.exp(-SURVREG_WEIBULL["coef"][2] / SURVREG_WEIBULL["scale"])
    assert pairs.attrs["ratio"] == "hazard ratio (later level / earlier level)"
    assert pairs["contrast"].iloc[0] == "female - male"
    assert pairs["ratio"].iloc[0] == pytest.approx(hr, rel=1e-8)
    time_ratio = fit.contrasts("sex", kind="linear", groups="exclude").summary()
    assert time_ratio.attrs["ratio"].startswith("time ratio")
    assert time_ratio["ratio"].iloc[0] == pytest.approx(np.exp(SURVREG_WEIBULL["coef"][2]), rel=1e-8)
    lognormal = prior_fit(FORMULA, family="lognormal", draws=20)
    with pytest.raises(SpecError, match="lognormal family's hazard ratio changes with time"):
        lognormal.margins(at="sex", kind="log_hazard")


def test_loo_uses_the_censored_likelihood() -> None:
    fit = survreg_weibull_fit()
    set_draws(fit, shape=np.linspace(0.9, 1.2, 200).reshape(2, 100))  # some spread for PSIS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loo = fit.loo()
    design, fam = fit.model.design, get_family("weibull")
    eta = design.X @ np.r_[SURVREG_WEIBULL["coef"][0] + special.gammaln(1 + SURVREG_WEIBULL["scale"]),
                           SURVREG_WEIBULL["coef"][1:]]
    shape = fit.posterior["shape"].values.reshape(-1, 1)
    eta = np.broadcast_to(eta, (shape.shape[0], eta.size))
    ll = censored_log_likelihood(fam, design.y, eta, "log", {"shape": shape}, None, design.censoring)
    right = design.censoring.code == 1
    np.testing.assert_allclose(ll[:, right], fam.log_ccdf(design.y[right], eta[:, right], "log", {"shape": shape}, None))
    np.testing.assert_allclose(fit.idata["log_likelihood"]["y"].values.reshape(ll.shape), ll)
    lppd = np.log(np.mean(np.exp(ll), axis=0)).sum()  # elpd_loo = lppd - p_loo, p_loo small here
    assert 0 < lppd - float(loo.elpd) < 3
    assert float(loo.elpd) > np.sum(fam.log_likelihood(design.y, eta[0], "log", {"shape": 1 / 0.9667}, None)) + 10


def test_icc_on_the_latent_log_time_scale() -> None:
    fit = survreg_weibull_fit(FORMULA + " + (1 | patient)", sd=0.5)
    icc = fit.icc()
    k = 1 / SURVREG_WEIBULL["scale"]
    expected = 0.25 / (0.25 + np.pi**2 / 6 / k**2)
    assert icc["mean"].iloc[0] == pytest.approx(expected, rel=1e-8)
    assert "latent log-time scale" in " ".join(map(str, [*icc.attrs.values(), *icc.columns, *icc.astype(str).values.ravel()]))


# ------------------------------------------------------------------ fits (slow)

# predict(survreg(Surv(time, status) ~ age + sex + disease, data = kd, dist = "lognormal"),
#         newdata = PROFILES, type = "quantile", p = 0.5)   (R 4.2, survival 3.5)
SURVREG_LOGNORMAL_MEDIAN = [27.05188034, 86.84275744, 247.18544811]


@pytest.mark.slow
@pytest.mark.parametrize(("family", "reference"), [("weibull", SURVREG_MEDIAN), ("lognormal", SURVREG_LOGNORMAL_MEDIAN)])
def test_kidney_median_survival_agrees_with_survreg(family: str, reference: list[float]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = hb.Model(FORMULA, data=kidney(), family=family).fit(draws=500, chains=2, random_seed=1, progressbar=False)
    median = fit.survival(PROFILES).median_survival(prob=0.9)
    # weakly informative priors, 76 rows: the posterior median of the median survival time
    # sits near the ML prediction, which lies well inside the 90% interval
    for row, ml in zip(median.itertuples(), reference, strict=True):
        assert row.lower < ml < row.upper
        assert row.median == pytest.approx(ml, rel=0.25)
    result = fit.ppc(ndraws=200, random_seed=1).kaplan_meier()
    assert result.summary(0.9)["outside"].mean() < 0.1


def test_marginal_curve_and_quantiles_of_a_censored_gaussian() -> None:
    # tobit with a random intercept: the population-averaged outcome is N(mu, sigma^2 + sd^2)
    data = pd.read_csv(SURV / "data" / "tobit_sim.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = hb.Model("y | cens(censored) ~ x + (1 | g)", data=data).fit(
            draws=20, chains=2, backend="prior", progressbar=False, random_seed=1)
    set_draws(fit, Intercept=0.5, b=[1.0], sigma=1.0, sd_g=0.8)
    curves = fit.survival(pd.DataFrame({"x": [0.3]}), times=[0.8, 2.0], re="marginal", quantiles=[0.5, 0.9])
    total = np.sqrt(1 + 0.8**2)
    np.testing.assert_allclose(curves.summary()["median"], stats.norm.sf([0.8, 2.0], 0.8, total), rtol=1e-6)
    np.testing.assert_allclose(curves.quantiles()["median"], stats.norm.ppf([0.5, 0.9], 0.8, total), rtol=1e-6)


@pytest.mark.slow
def test_kidney_frailty_hazard_ratios_agree_with_ml() -> None:
    # tests/survival/refs/kidney_weibull_frailty.json: ML with the gaussian frailty integrated
    # out (make_refs.R's ml_ghq); derived.ph holds -b / scale (log hazard ratios) and their SEs
    ref = json.loads((SURV / "refs" / "kidney_weibull_frailty.json").read_text())
    ml = {c["term_r"]: c for c in ref["derived"]["ph"]["coefficients"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = hb.Model(FORMULA + " + (1 | patient)", data=kidney(), family="weibull").fit(
            draws=500, chains=2, random_seed=1, progressbar=False)
    sex = fit.margins(at="sex", kind="log_hazard", groups="exclude").pairs().summary()
    disease = fit.contrasts("disease", kind="log_hazard", groups="exclude").summary().set_index("contrast")
    for table, row, term in ((sex, 0, "sexfemale"), (disease, "GN - other", "diseaseGN"),
                             (disease, "AN - other", "diseaseAN"), (disease, "PKD - other", "diseasePKD")):
        got = table.loc[row]
        assert abs(got["median"] - ml[term]["estimate"]) < ml[term]["se"], (term, got["median"])
        assert got["ratio_lower"] < ml[term]["hazard_ratio"] < got["ratio_upper"]
    # a new patient's median survival is wider than the typical patient's
    profile = PROFILES.iloc[:1]
    typical = fit.survival(profile, re="exclude").median_survival().iloc[0]
    new = fit.survival(profile, re="new", random_seed=1).median_survival().iloc[0]
    assert new["upper"] / new["lower"] > typical["upper"] / typical["lower"]


def test_r2_refuses_censored_rows() -> None:
    # it had computed var(y - mu) at the bounds of the kidney data's 18 censored times, and said nothing
    fit = prior_fit(FORMULA, draws=20)
    counts = fit.model.design.censoring.counts()
    with pytest.raises(DataError, match=rf"R-squared needs the responses themselves: {counts['right']} of the 76 rows "
                                        rf"are censored \({counts['right']} right\).*fit\.ppc\(\) compares"):
        fit.r2()
