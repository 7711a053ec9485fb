"""Censored, truncated and survival-time outcomes (issue 16): syntax, design checks, the numpy
log-likelihood (against scipy and the R references' log-likelihoods), the PyMC likelihood
(against the numpy one) and fits against tests/survival/refs.

Reference comparisons: the references are ML fits (survreg, or make_refs.R's ml_ghq with the
random intercept integrated out); a posterior mean with hierbayes' weakly informative default
priors should sit within about one posterior sd of the ML estimate when the likelihood
dominates, which is what the slow tests check for the fixed effects. The weibull intercept is
compared on brms' mean scale (``derived.brms``). The kidney weibull frailty fit is also compared
with lme4's fit of the same model (``kidney_weibull_frailty_lme4``, a poisson GLMM with the shape
profiled), within 0.5 posterior sd.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

import hierbayes as hb
from hierbayes.errors import DataError, FormulaSyntaxError, SpecError
from hierbayes.families import Censoring, censored_log_likelihood, get_family
from hierbayes.spec import parse_formula
from hierbayes.spec.serialize import spec_from_dict, spec_to_dict

HERE = Path(__file__).parent
FACTORS = json.loads((HERE / "data" / "factors.json").read_text())


def load_data(name: str) -> pd.DataFrame:
    data = pd.read_csv(HERE / "data" / f"{name}.csv")
    for column, info in FACTORS[name].items():
        data[column] = pd.Categorical(data[column].astype(str), categories=info["levels"])
    return data


def load_ref(name: str) -> dict:
    return json.loads((HERE / "refs" / f"{name}.json").read_text())


# ---------------------------------------------------------------------------- syntax

ROUND_TRIP = [
    ("time | cens(censored) ~ age + (1 | patient)", "time | cens(censored)"),
    ("y | cens(c, y2) ~ x", "y | cens(c, y2)"),
    ("y | cens(c, y2 = hi) ~ x", "y | cens(c, hi)"),
    ("y | cens(c, log(y2)) ~ x", "y | cens(c, log(y2))"),
    ("y | cens(c, y2 = hi * 2) ~ x", "y | cens(c, hi * 2)"),
    ("y | trunc(lb = 0) ~ x", "y | trunc(lb = 0)"),
    ("y | trunc(ub=10) ~ x", "y | trunc(ub = 10)"),
    ("y | trunc(lb = 0, ub = 10.5) ~ x", "y | trunc(lb = 0, ub = 10.5)"),
    ("y | trunc(lo) ~ x", "y | trunc(lb = lo)"),
    ("y | cens(c) + trunc(lb = 0) ~ x", "y | cens(c) + trunc(lb = 0)"),
    ("y | trials(n) ~ x", "y | trials(n)"),
    ("time | event(d) ~ x", "time | event(d)"),
    ("time | event(status == 2) ~ x", "time | event(status == 2)"),
]


@pytest.mark.parametrize(("text", "lhs"), ROUND_TRIP)
def test_response_round_trip(text: str, lhs: str) -> None:
    spec = parse_formula(text)
    assert spec.response.to_formula() == lhs
    assert parse_formula(spec.to_formula()).response == spec.response
    assert spec_from_dict(spec_to_dict(spec)) == spec


SYNTAX_ERRORS = [
    ("y | x ~ z", ("unknown addition term 'x'", "cens(c)"), 4),
    ("y | foo(c) ~ x", ("unknown addition term 'foo(c)'",), 4),
    ("y | cens(c) + cens(d) ~ x", ("cens() is given twice",), 14),
    ("y | cens(a, b, c) ~ x", ("cens() takes", "got 3"), 4),
    ("y | trunc(lb=0, lb=1) ~ x", ("trunc() takes a lower bound lb", "'lb=1'"), 16),
    ("y | trunc(mid=3) ~ x", ("'mid=3'",), 10),
    ("y | trunc(lb = log(x)) ~ x", ("number or a column name", "log(x)"), 10),
    ("y | trials(n) + cens(c) ~ x", ("trials() cannot be combined",), 4),
]


@pytest.mark.parametrize(("text", "words", "position"), SYNTAX_ERRORS, ids=[e[0] for e in SYNTAX_ERRORS])
def test_syntax_errors(text: str, words: tuple[str, ...], position: int) -> None:
    with pytest.raises(FormulaSyntaxError) as info:
        parse_formula(text)
    for word in words:
        assert word in str(info.value)
    assert info.value.position == position


# ---------------------------------------------------------------------------- design


def small_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "y": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        "x": [0.1, 0.5, -0.3, 1.2, 0.7, -1.0],
        "c": ["none", "right", "left", "interval", "none", "right"],
        "y2": [np.nan, np.nan, np.nan, 6.0, np.nan, np.nan],
    })


def test_design_censoring_codes_and_new_data() -> None:
    data = small_frame()
    model = hb.Model("y | cens(c, y2) ~ x", data=data, family="weibull")
    cens = model.design.censoring
    assert cens.code.tolist() == [0, 1, -1, 2, 0, 1]
    assert cens.upper[3] == 6.0 and np.isnan(cens.upper[0])
    assert cens.counts() == {"left": 1, "none": 2, "right": 2, "interval": 1}
    numeric = data.assign(c=[0, 1, -1, 2, 0, 1])
    assert hb.Model("y | cens(c, y2) ~ x", data=numeric).design.censoring.code.tolist() == cens.code.tolist()
    boolean = data.assign(c=[False, True, False, False, False, True])
    assert hb.Model("y | cens(c) ~ x", data=boolean).design.censoring.code.tolist() == [0, 1, 0, 0, 0, 1]
    new = model.design.encoder.encode_new(pd.DataFrame({"x": [0.0, 1.0]}))  # no y, c or y2
    assert new.X.shape == (2, 2)
    assert hb.Model("y ~ x", data=data).design.censoring is None


def test_design_truncation_bounds() -> None:
    data = small_frame().assign(lo=0.5)
    cens = hb.Model("y | trunc(lb = 0, ub = 10) ~ x", data=data).design.censoring
    assert cens.code.tolist() == [0] * 6 and cens.lb.tolist() == [0.0] * 6 and cens.ub.tolist() == [10.0] * 6
    cens = hb.Model("y | cens(c, y2) + trunc(lb = lo) ~ x", data=data).design.censoring
    assert cens.ub is None and cens.lb.tolist() == [0.5] * 6


DESIGN_ERRORS = [
    ("y | cens(c) ~ x", {"c": ["none", "rite", "left", "none", "x", "none"]}, "gaussian", DataError,
     ("censoring indicator column 'c'", "'rite', 'x'", "rows 1, 4")),
    ("y | cens(c) ~ x", {"c": [0, 1, 3, 0, 0, 0]}, "gaussian", DataError, ("column 'c'", "3", "rows 2")),
    ("y | cens(c) ~ x", {}, "gaussian", DataError, ("marks interval-censored rows", "rows 3", "cens(c, y2)")),
    ("y | cens(c, y2) ~ x", {"y2": [np.nan, np.nan, np.nan, 3.5, np.nan, np.nan]}, "gaussian", DataError,
     ("upper bound 'y2' must be above the response 'y'", "3.5", "rows 3")),
    ("y | cens(c, y2) ~ x", {"y2": [np.nan] * 6}, "gaussian", DataError,
     ("'y2' is missing or not a finite number at interval-censored rows", "rows 3")),
    ("y | cens(c, hi) ~ x", {}, "gaussian", DataError, ("column 'hi'", "not in the data")),
    ("y | cens(c, y2) ~ x", {"y": [1.0, -2.0, 3.0, 4.0, 0.0, 6.0]}, "weibull", DataError,
     ("must be > 0 for the weibull family", "rows 1, 4")),
    ("y | trunc(lb = 2) ~ x", {}, "gaussian", DataError, ("below the lower truncation bound lb = 2", "rows 0")),
    ("y | trunc(ub = 5) ~ x", {}, "gaussian", DataError, ("above the upper truncation bound ub = 5", "rows 5")),
    ("y | trunc(lb = 7, ub = 0) ~ x", {}, "gaussian", DataError, ("lb must be below ub",)),
    ("y | cens(c) ~ x", {"y": [1, 0, 1, 1, 0, 1], "c": ["none"] * 6}, "bernoulli", SpecError,
     ("bernoulli family cannot be censored",)),
    ("y | cens(c, y2) ~ x", {"y": [1, 2, 3, 4, 5, 6]}, "poisson", SpecError,
     ("poisson family can be left- or right-censored (cens(c)), not interval-censored or truncated",)),
]


@pytest.mark.parametrize(("formula", "change", "family", "error", "words"), DESIGN_ERRORS)
def test_design_errors(formula, change, family, error, words) -> None:
    data = small_frame().assign(**change)
    with pytest.raises(error) as info:
        hb.Model(formula, data=data, family=family)
    for word in words:
        assert word in str(info.value), str(info.value)


def test_numpy_loglik_refuses_family_without_cdf() -> None:
    with pytest.raises(SpecError, match="bernoulli family cannot be censored"):
        censored_log_likelihood(get_family("bernoulli"), np.ones(2), np.zeros(2), "logit", {}, None,
                                Censoring(np.array([0, 1], dtype=np.int8)))


# ------------------------------------------------------------ numpy log-likelihood vs scipy


def scipy_dist(family: str, eta: np.ndarray, aux: dict):
    if family == "weibull":
        k = aux["shape"]
        return stats.weibull_min(k, scale=np.exp(eta - special.gammaln(1 + 1 / k)))
    if family == "exponential":
        return stats.expon(scale=np.exp(eta))
    if family == "lognormal":
        return stats.lognorm(aux["sigma"], scale=np.exp(eta))
    if family == "loglogistic":
        return stats.fisk(aux["shape"], scale=np.exp(eta))
    if family == "gaussian":
        return stats.norm(eta, aux["sigma"])
    if family == "student":
        return stats.t(aux["nu"], eta, aux["sigma"])
    return stats.gamma(aux["shape"], scale=np.exp(eta) / aux["shape"])


AUX = {"weibull": {"shape": 1.7}, "exponential": {}, "lognormal": {"sigma": 0.8},
       "loglogistic": {"shape": 2.5}, "gaussian": {"sigma": 1.3}, "student": {"sigma": 1.1, "nu": 4.0},
       "gamma": {"shape": 3.0}}


@pytest.mark.parametrize("family", list(AUX))
def test_numpy_loglik_matches_scipy(family: str) -> None:
    rng = np.random.default_rng(3)
    n = 40
    eta = rng.normal(1.0, 0.4, n)
    y = np.exp(rng.normal(1.0, 0.6, n))
    code = np.tile(np.array([0, -1, 1, 2], dtype=np.int8), n // 4)
    upper = np.where(code == 2, y * 1.5, np.nan)
    fam = get_family(family)
    link = fam.default_link
    dist = scipy_dist(family, eta, AUX[family])
    expected = np.select(
        [code == 0, code == -1, code == 1],
        [dist.logpdf(y), dist.logcdf(y), dist.logsf(y)],
        np.log(dist.cdf(np.where(code == 2, upper, y * 2)) - dist.cdf(y)),
    )
    got = censored_log_likelihood(fam, y, eta, link, AUX[family], None, Censoring(code, upper))
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(fam.log_likelihood(y, eta, link, AUX[family], None), dist.logpdf(y), rtol=1e-8)
    # truncation to (0.5, 20) and to (0.5, inf): minus log P(lb < Y < ub)
    lb, ub = np.full(n, 0.5), np.full(n, 20.0)
    trunc = censored_log_likelihood(fam, y, eta, link, AUX[family], None, Censoring(code, upper, lb, ub))
    np.testing.assert_allclose(trunc, expected - np.log(dist.cdf(ub) - dist.cdf(lb)), rtol=1e-8)
    left_only = censored_log_likelihood(fam, y, eta, link, AUX[family], None, Censoring(code, upper, lb))
    np.testing.assert_allclose(left_only, expected - dist.logsf(lb), rtol=1e-8)
    # draws x rows
    aux2 = {k: np.array([[v], [v]]) for k, v in AUX[family].items()}
    two = censored_log_likelihood(fam, y, np.vstack([eta, eta]), link, aux2, None, Censoring(code, upper))
    np.testing.assert_allclose(two, np.vstack([expected, expected]), rtol=1e-8, atol=1e-10)


def test_weibull_right_tail_is_finite() -> None:
    fam = get_family("weibull")
    got = censored_log_likelihood(fam, np.array([1e4]), np.array([0.0]), "log", {"shape": 2.0}, None,
                                  Censoring(np.array([1], dtype=np.int8)))
    assert np.isfinite(got).all() and got[0] < -1e7


# ------------------------------------------------ parameterisation against the R references


def ref_loglik(name: str, formula: str, family: str, data: pd.DataFrame) -> tuple[float, float]:
    """(our summed log-likelihood at the reference's ML estimates, the reference's logLik)."""
    ref = load_ref(name)
    model = hb.Model(formula, data=data, family=family)
    design = model.design
    est = {f["term"]: f["estimate"] for f in ref["fixed_effects"]}
    beta = np.array([est[t] for t in design.fixed_names])
    scale = ref["scale"]
    if family == "weibull":  # brms' mean parameterisation: intercept + lgamma(1 + scale)
        beta[0] += special.gammaln(1 + scale)
        aux = {"shape": 1 / scale}
    else:
        aux = {"sigma": scale}
    fam = get_family(family)
    ll = censored_log_likelihood(fam, design.y, design.X @ beta, fam.default_link, aux, None, design.censoring)
    return float(ll.sum()), ref["logLik"]


@pytest.mark.parametrize(("name", "formula", "family", "data"), [
    ("kidney_weibull", "time | cens(censored) ~ age + sex + disease", "weibull", "kidney"),
    ("kidney_lognormal", "time | cens(censored) ~ age + sex + disease", "lognormal", "kidney"),
    ("blackmore_tobit_nogroup", "exercise | cens(censored) ~ age8 * group", "gaussian", "blackmore_tobit"),
    ("interval_sim_nogroup", "y | cens(cens, y2) ~ x", "gaussian", "interval_sim"),
])
def test_loglik_at_reference_estimates(name, formula, family, data) -> None:
    ours, theirs = ref_loglik(name, formula, family, load_data(data))
    assert ours == pytest.approx(theirs, abs=1e-6)


# ---------------------------------------------------------- the PyMC likelihood = numpy's


# weibull, exponential, gamma and student compile for 5-9 s each: in the slow suite
_SLOW_COMPILE = pytest.mark.slow


@pytest.mark.parametrize("family", [pytest.param("weibull", marks=_SLOW_COMPILE), pytest.param("exponential", marks=_SLOW_COMPILE),
                                    "lognormal", "loglogistic", "gaussian", pytest.param("gamma", marks=_SLOW_COMPILE),
                                    pytest.param("student", marks=_SLOW_COMPILE)])
def test_pymc_logp_matches_numpy(family: str) -> None:
    from hierbayes.backends.pymc.compile import compile_model

    data = small_frame().assign(lo=0.2)
    model = hb.Model("y | cens(c, y2) + trunc(lb = lo, ub = 30) ~ x", data=data, family=family)
    pm_model = compile_model(model.design, model.priors).model
    fam = get_family(family)
    # b = 0: eta is the intercept, 1.2, on every row
    point = {k: np.zeros_like(v) for k, v in pm_model.initial_point().items()}
    point["Intercept_c"] = np.array(1.2)
    aux = {}
    for name, value in AUX[family].items():
        point[f"{name}_log__"] = np.log(value)
        aux[name] = value
    logp = pm_model.compile_fn(pm_model.logp(vars=pm_model.observed_RVs, sum=False)[0],
                               inputs=pm_model.value_vars, on_unused_input="ignore")(point)
    expected = censored_log_likelihood(fam, model.design.y, np.full(6, 1.2), fam.default_link, aux, None,
                                       model.design.censoring)
    np.testing.assert_allclose(logp, expected, rtol=1e-6)


# ---------------------------------------------------------------------------- fits


def kidney_fit(family: str, **kwargs):
    model = hb.Model("time | cens(censored) ~ age + sex + disease + (1 | patient)", data=load_data("kidney"),
                     family=family)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(progressbar=False, **kwargs)


def test_kidney_weibull_draws_loglik_and_labels() -> None:
    # prior draws (no compile): names, the censored pointwise log-likelihood and the labels;
    # the posterior against survreg and the ML frailty fit is in the slow reference tests
    fit = kidney_fit("weibull", draws=150, chains=2, random_seed=2, backend="prior")
    assert set(fit.posterior["shape"].dims) == {"chain", "draw"}
    ll = fit.idata["log_likelihood"]["y"]
    # no NaN; -inf only where a prior draw puts an observed time impossibly far in a tail
    assert ll.shape[-1] == 76 and not np.isnan(ll.values).any() and np.isfinite(ll.values).mean() > 0.5
    assert fit.fixef().attrs["estimate"] == "coefficient (log-time (AFT) scale)"
    assert fit.fixef(exponentiate=True).attrs["estimate"] == "time ratio"


def test_residuals_of_censored_rows_are_marked_and_warned() -> None:
    fit = kidney_fit("weibull", draws=20, chains=1, random_seed=2, backend="prior")
    censored = fit.model.design.censoring.code == 1
    with pytest.warns(UserWarning, match=r"18 of the 76 rows are censored \(18 right\): their residual is "
                                         r"taken at the recorded bound.*'censoring' column marks them"):
        table = fit.residuals()
    assert (table["censoring"].to_numpy() == np.where(censored, "right", "none")).all()
    with pytest.warns(UserWarning, match="rows are censored"):
        draws = fit.residuals(summary=False)
    assert (draws["censoring"].values == table["censoring"].to_numpy()).all()


def test_censored_gaussian_is_not_integrated_out() -> None:
    from hierbayes.backends.pymc.plan import plan_parameterization

    data = load_data("tobit_sim")
    model = hb.Model("y | cens(censored) ~ x + (1 | g)", data=data)
    assert "marginal" not in plan_parameterization(model.design, None, "identity")
    uncensored = hb.Model("y ~ x + (1 | g)", data=data)
    assert "marginal" in plan_parameterization(uncensored.design, None, "identity")
    with pytest.raises(SpecError, match="integrates group effects out"):
        plan_parameterization(model.design, "marginal", "identity")


def fixed_summary(fit) -> pd.DataFrame:
    b = fit.posterior["b"]
    dim = [d for d in b.dims if d not in ("chain", "draw")][0]
    out = pd.DataFrame({"mean": b.mean(("chain", "draw")).values, "sd": b.std(("chain", "draw")).values},
                       index=[str(v) for v in b[dim].values])
    icpt = fit.posterior["Intercept"]
    out.loc["Intercept"] = [float(icpt.mean()), float(icpt.std())]
    return out


def check_fixed(fit, ref: dict, k: float, intercept: float | None = None) -> None:
    table = fixed_summary(fit)
    for f in ref["fixed_effects"]:
        target = intercept if (f["term"] == "Intercept" and intercept is not None) else f["estimate"]
        row = table.loc[f["term"]]
        assert abs(row["mean"] - target) < k * row["sd"], (f["term"], row["mean"], target, row["sd"])


@pytest.mark.slow
def test_kidney_weibull_frailty_matches_reference() -> None:
    ref = load_ref("kidney_weibull_frailty")
    fit = kidney_fit("weibull", draws=500, chains=2, random_seed=1)
    check_fixed(fit, ref, 1.0, intercept=ref["derived"]["brms"]["Intercept"])
    shape = float(fit.posterior["shape"].median())
    assert shape == pytest.approx(ref["derived"]["brms"]["shape"], rel=0.2)
    sd = float(fit.posterior["sd_patient"].median())
    lo, hi = ref["group_effects"][0]["sd_ci95"]
    assert lo < sd < hi
    # an established implementation: lme4's glmer on the equivalent poisson GLMM (make_ref_lme4.R)
    lme4 = load_ref("kidney_weibull_frailty_lme4")
    check_fixed(fit, lme4, 0.5, intercept=lme4["derived"]["brms"]["Intercept"])
    shape_draws = fit.posterior["shape"]
    assert abs(float(shape_draws.mean()) - lme4["derived"]["brms"]["shape"]) < 0.5 * float(shape_draws.std())
    # the frailty sd is weakly identified (38 patients; the profile log-likelihood falls 0.36 from the
    # ML estimate to sd = 0, Wald 95% interval 0.16-1.28): the posterior median, not a mode, sits
    # above the ML estimate; ask for the same scale (0.75-1.5 times) and the ML sd inside the
    # posterior's central 50% interval
    sd_ml = lme4["group_effects"][0]["sd"]
    assert 0.75 * sd_ml < sd < 1.5 * sd_ml
    q25, q75 = np.quantile(fit.posterior["sd_patient"].values, [0.25, 0.75])
    assert q25 < sd_ml < q75


@pytest.mark.slow
def test_kidney_lognormal_frailty_matches_reference() -> None:
    ref = load_ref("kidney_lognormal_frailty")  # ML sd at 0: the fixed effects are survreg's
    fit = kidney_fit("lognormal", draws=500, chains=2, random_seed=1)
    check_fixed(fit, ref, 1.0)
    assert float(fit.posterior["sigma"].median()) == pytest.approx(ref["scale"], rel=0.25)


@pytest.mark.slow
def test_rats_stata_mestreg_matches_ml_frailty() -> None:
    """survival's rats (100 litters of 3) through Stata's command, as a Stata user writes it after
    ``stset time, failure(status)``, with every default; against the quadrature ML fit of the same
    weibull frailty model (make_refs.R). ``rx`` within 0.5 posterior sd. With 42 events in 300
    rows the posteriors of the intercept and of ``sex`` are skewed and their means sit 0.5-0.6
    posterior sd from the ML estimates (a mode): with priors 20 times wider (Intercept
    Normal(4.5, 20), litter sd HalfStudentT(3, 5)) the posterior means move by 0.003 and 0.007,
    so the data, not the default prior, put them there; they are compared through the ML
    estimate lying in the central 50% posterior interval. The Intercept is brms' log mean
    time, and the table's note gives survreg's / Stata's ``_cons``, compared too."""
    ref = load_ref("rats_weibull_frailty")
    data = pd.read_csv(HERE / "data" / "rats.csv")
    spec = hb.from_stata("mestreg rx i.sex || litter:, distribution(weibull) time", time="time", failure="status")
    fit = hb.Model(spec, data).fit(random_seed=1, progressbar=False)
    assert fit.diagnostics.divergences == 0
    table = fit.fixef()
    assert table["r_hat"].max() <= 1.01
    names = {"Intercept": "Intercept", "rx": "rx", "sex[m]": "C(sex)[m]"}
    for f in ref["fixed_effects"]:
        row = table.loc[names[f["term"]]]
        target = ref["derived"]["brms"]["Intercept"] if f["term"] == "Intercept" else f["estimate"]
        if f["term"] == "rx":
            assert abs(row["mean"] - target) < 0.5 * row["sd"], (f["term"], row["mean"], target)
        else:
            draws = fit.posterior["b"].sel(b_term=names[f["term"]]) if f["term"] != "Intercept" else fit.posterior["Intercept"]
            lo, hi = np.quantile(draws.values, [0.25, 0.75])
            assert lo < target < hi, (f["term"], lo, hi, target)
    cons = float(re.search(r": mean (-?[0-9.]+), sd", table.attrs["note"]).group(1))
    cons_draws = (fit.posterior["Intercept"] - special.gammaln(1.0 + 1.0 / fit.posterior["shape"])).values
    assert cons == pytest.approx(float(cons_draws.mean()), abs=1e-3)
    lo, hi = np.quantile(cons_draws, [0.25, 0.75])
    assert lo < ref["fixed_effects"][0]["estimate"] < hi
    assert float(fit.posterior["shape"].median()) == pytest.approx(1 / ref["scale"], rel=0.1)
    lo, hi = ref["group_effects"][0]["sd_ci95"]
    assert lo < float(fit.posterior["sd_litter"].median()) < hi


def gaussian_fit(data: pd.DataFrame, formula: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hb.Model(formula, data=data).fit(draws=500, chains=2, random_seed=1, progressbar=False)


@pytest.mark.slow
def test_blackmore_tobit_frailty_matches_reference() -> None:
    ref = load_ref("blackmore_tobit_frailty")
    fit = gaussian_fit(load_data("blackmore_tobit"), "exercise | cens(censored) ~ age8 * group + (1 | subject)")
    check_fixed(fit, ref, 1.0)
    assert float(fit.posterior["sigma"].median()) == pytest.approx(ref["scale"], rel=0.05)
    assert float(fit.posterior["sd_subject"].median()) == pytest.approx(ref["group_effects"][0]["sd"], rel=0.1)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "data", "formula"), [
    ("tobit_sim_frailty", "tobit_sim", "y | cens(censored) ~ x + (1 | g)"),
    ("interval_sim_frailty", "interval_sim", "y | cens(cens, y2) ~ x + (1 | g)"),
])
def test_censored_gaussian_recovers_truth(name: str, data: str, formula: str) -> None:
    ref = load_ref(name)
    truth = ref["truth"]
    fit = gaussian_fit(load_data(data), formula)
    post = fit.posterior
    for value, draws in ((truth["x"], post["b"].values.reshape(-1)),
                         (truth["sd_g"], post["sd_g"].values.reshape(-1)),
                         (truth["sigma"], post["sigma"].values.reshape(-1))):
        lo, hi = np.quantile(draws, [0.01, 0.99])
        assert lo < value < hi
    check_fixed(fit, ref, 1.0)


@pytest.mark.parametrize("extra", [{"sigma": "~ x"}, {"residuals": "ar1"}])
def test_censoring_with_a_residual_structure_or_sigma_formula_is_refused(extra) -> None:
    df = pd.DataFrame({"y": np.arange(1.0, 21.0), "c": ["none"] * 18 + ["right"] * 2,
                       "t": list(range(5)) * 4, "g": np.repeat(list("abcd"), 5), "x": np.arange(20.0)})
    if "residuals" in extra:
        extra = {"residuals": hb.residuals("ar1", time="t", group="g")}
    with pytest.raises(hb.SpecError, match=r"y \| cens\(c\): censored or truncated responses cannot yet"):
        hb.Model("y | cens(c) ~ x + (1|g)", df, **extra)
