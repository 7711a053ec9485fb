"""Families beyond the normal: support checks, link-scale default priors, the numpy
log-likelihood (against scipy and against the PyMC model), ICC definitions, exponentiated
tables, fits against lme4/brms (cbpp binomial, epilepsy poisson), parameter recovery for
every family and link, and bernoulli rows vs aggregated binomial counts.

Simulated data are drawn here with numpy directly (a latent-variable draw for the ordinal
family), not with ``Family.simulate``, so the recovery tests do not check the code against
itself.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from conftest import fit_quiet, lme4_fixed, load_ref
from scipy import integrate, special, stats

import hierbayes as hb
from hierbayes.errors import DataError, PriorError, SpecError
from hierbayes.families import FAMILIES, get_family, icc_level1_variance
from hierbayes.predict.loglik import pointwise_log_likelihood

# ------------------------------------------------------------------ simulated data

FAMILY_LINKS = [
    ("bernoulli", "logit"), ("bernoulli", "probit"), ("bernoulli", "cloglog"),
    ("binomial", "logit"), ("binomial", "probit"), ("binomial", "cloglog"),
    ("poisson", "log"), ("negbinomial", "log"),
    ("cumulative", "logit"), ("cumulative", "probit"),
    ("student", "identity"), ("gamma", "log"),
]
THRESHOLDS = (-1.0, 0.3, 1.5)
# True values per family: Intercept (absent for ordinal), slope of x, sd of the group
# intercepts, family parameters.
TRUTH: dict[str, dict[str, float]] = {
    "bernoulli": {"Intercept": -0.3, "x": 0.8, "sd": 0.7},
    "binomial": {"Intercept": -0.5, "x": 0.5, "sd": 0.6},
    "poisson": {"Intercept": 0.3, "x": 0.4, "sd": 0.6},
    "negbinomial": {"Intercept": 0.5, "x": 0.4, "sd": 0.5, "phi": 3.0},
    "cumulative": {"x": 0.8, "sd": 0.8},
    "student": {"Intercept": 2.0, "x": 1.0, "sd": 0.6, "sigma": 1.0, "nu": 4.0},
    "gamma": {"Intercept": 1.0, "x": 0.5, "sd": 0.5, "shape": 4.0},
}
SIM_ROWS = {"G": 30, "n": 10}


def simulate(family: str, link: str, seed: int, G: int = 30, n: int = 10) -> pd.DataFrame:
    """Rows y, x, g (and trials n) from the model with the TRUTH values."""
    truth = TRUTH[family]
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(G), n)
    x = rng.normal(size=G * n)
    u = rng.normal(0.0, truth["sd"], G)
    eta = truth.get("Intercept", 0.0) + truth["x"] * x + u[g]
    df = pd.DataFrame({"x": x, "g": [f"g{i:02d}" for i in g]})
    if family == "binomial":
        df["size"] = rng.integers(1, 11, size=len(eta))
    y = simulate_response(family, link, eta, rng, df.get("size"))
    if family == "cumulative":
        labels = ["none", "mild", "moderate", "severe"]
        df["y"] = pd.Categorical(np.asarray(labels)[y], categories=labels, ordered=True)
    else:
        df["y"] = y
    return df


def simulate_response(family: str, link: str, eta: np.ndarray, rng, size=None) -> np.ndarray:
    """A response drawn at linear predictor ``eta`` with the TRUTH family parameters
    (category codes 0..3 for the ordinal family, ``size`` trials for the binomial)."""
    truth = TRUTH[family]
    if family in ("bernoulli", "binomial"):
        p = {"logit": special.expit, "probit": special.ndtr,
             "cloglog": lambda e: -np.expm1(-np.exp(e))}[link](eta)
        return rng.binomial(1 if family == "bernoulli" else np.asarray(size), p)
    if family == "poisson":
        return rng.poisson(np.exp(eta))
    if family == "negbinomial":  # gamma-poisson mixture: var = mu + mu^2 / phi
        phi = truth["phi"]
        return rng.poisson(rng.gamma(phi, np.exp(eta) / phi))
    if family == "student":
        return eta + truth["sigma"] * rng.standard_t(truth["nu"], size=len(eta))
    if family == "gamma":
        return rng.gamma(truth["shape"], np.exp(eta) / truth["shape"])
    if family == "cumulative":  # latent y* = eta + e, category = thresholds below y*
        e = rng.logistic(size=len(eta)) if link == "logit" else rng.normal(size=len(eta))
        return np.sum((eta + e)[:, None] > np.asarray(THRESHOLDS)[None, :], axis=1)
    raise AssertionError(f"no simulation for family {family!r}")


def formula_for(family: str) -> str:
    return ("y | trials(size)" if family == "binomial" else "y") + " ~ x + (1 | g)"


def true_values(family: str) -> dict[str, float]:
    """Truth keyed like the tables: fixef terms, ("g", "sd(Intercept)"), ("Residual", "sigma") and
    ("Family", aux) for the family's other parameters."""
    truth = TRUTH[family]
    out: dict = {}
    if family == "cumulative":
        out.update({f"Intercept[{k + 1}]": c for k, c in enumerate(THRESHOLDS)})
    else:
        out["Intercept"] = truth["Intercept"]
    out["x"] = truth["x"]
    out[("g", "sd(Intercept)")] = truth["sd"]
    for aux in ("sigma", "nu", "phi", "shape"):
        if aux in truth:
            out[("Residual" if aux == "sigma" else "Family", aux)] = truth[aux]
    return out


def intervals(fit, prob: float) -> dict:
    """(lower, upper) per parameter, keyed like :func:`true_values`."""
    out = {t: (r.lower, r.upper) for t, r in fit.fixef(prob).iterrows()}
    for r in fit.varcorr(prob).itertuples(index=False):
        out[(r.group, r.term)] = (r.lower, r.upper)
    return out


def fit_family(family: str, link: str, seed: int, draws: int = 500, chains: int = 4, **rows):
    df = simulate(family, link, seed, **{**SIM_ROWS, **rows})
    model = hb.Model(formula_for(family), data=df, family=family, link=link)
    return fit_quiet(model, draws=draws, tune=draws, chains=chains, random_seed=seed)


# ================================================================ registry and checks


def test_registry_names_aliases_and_links() -> None:
    assert {"gaussian", "bernoulli", "binomial", "poisson", "negbinomial", "cumulative",
            "student", "gamma"} <= set(FAMILIES)
    assert get_family("negativebinomial").name == "negbinomial"
    assert get_family("t").name == "student"
    assert get_family("bernoulli").links == ("logit", "probit", "cloglog")
    assert get_family("cumulative").links == ("logit", "probit", "cloglog", "loglog", "cauchit")
    assert get_family("student").aux == ("sigma", "nu")
    with pytest.raises(SpecError, match="unknown family 'poison'.*'poisson'"):
        get_family("poison")
    with pytest.raises(SpecError, match="link 'probit' is not available for family 'poisson'"):
        hb.Model("y ~ x", pd.DataFrame({"y": [1, 2, 3], "x": [0.0, 1, 2]}), family="poisson", link="probit")


def _toy(y, **extra) -> pd.DataFrame:
    n = len(y)
    return pd.DataFrame({"y": y, "x": np.linspace(0, 1, n), **extra}, index=[f"r{i}" for i in range(n)])


@pytest.mark.parametrize(
    ("family", "frame", "formula", "message"),
    [
        ("bernoulli", _toy([0, 1, 2, 1, 0.5]), "y ~ x", r"response 'y' must be 0 or 1 .*found 2, 0.5 \(rows r2, r4\)"),
        ("bernoulli", _toy([0, 1, 1, 0], n=[2] * 4), "y | trials(n) ~ x", "use family='binomial'"),
        # lme4's cbpp with family= forgotten: a gaussian fit to the successes alone, until refused
        ("gaussian", _toy([2, 3, 4, 0], n=[14, 12, 9, 5]), "cbind(y, n - y) ~ x",
         r"the gaussian family takes no number of trials; successes out of trials are family='binomial' "
         r"\(the default family is gaussian\); else drop trials\(\)/cbind\(\)"),
        ("poisson", _toy([2, 3, 4, 0], n=[14, 12, 9, 5]), "y | trials(n) ~ x", "the poisson family takes no number of trials"),
        ("binomial", _toy([0, 3, 1, 2], n=[2, 2, 2, 2]), "y | trials(n) ~ x", r"between 0 and the number of trials.*found 3 \(rows r1\)"),
        ("binomial", _toy([0, 1, 1, 2]), "y ~ x", r"needs the number of trials; write 'y \| trials\(n\)"),
        # R's glm(prop ~ x, weights = n): the advice had been 'prop | trials(n)', then refused again
        ("binomial", _toy([0, 0.25, 0.5, 1]), "y ~ x",
         r"needs the number of trials; 'y' holds proportions: .* df\['k'\] = \(df\['y'\] \* df\['n'\]\)\.round\(\) "
         r"and 'k \| trials\(n\) ~ x'"),
        ("binomial", _toy([0, 0.25, 0.5, 1], n=[4] * 4), "y | trials(n) ~ x",
         r"between 0 and the number of trials.*found 0.25, 0.5 \(rows r1, r2\); 'y' holds proportions"),
        ("binomial", _toy([0, 1, 1, 2], n=[2, 2, -1, 2.5]), "y | trials(n) ~ x", r"trials .* non-negative integers; found -1, 2.5 \(rows r2, r3\)"),
        ("poisson", _toy([0, 1, -1, 2.5]), "y ~ x", r"non-negative integer counts for the poisson family; found -1, 2.5 \(rows r2, r3\)"),
        ("negbinomial", _toy([0, 1, 2, 0.5]), "y ~ x", r"negbinomial family; found 0.5 \(rows r3\)"),
        ("gamma", _toy([1.0, 0.0, 2.0, -1.0]), "y ~ x", r"must be > 0 for the gamma family; found 0, -1 \(rows r1, r3\)"),
        ("cumulative", _toy(["a", "b", "a", "c"]), "y ~ x", "needs an ordered categorical"),
        ("cumulative", _toy(pd.Categorical(["a", "b", "a", "c"])), "y ~ x", "unordered categorical"),
        ("cumulative", _toy([1, 2, 1.5, -1]), "y ~ x", r"integer category codes .*found 1.5, -1 \(rows r2, r3\)"),
        ("cumulative", _toy([1, 1, 1, 1]), "y ~ x", "single category"),
        ("cumulative", _toy(pd.Categorical(["a"] * 4, categories=["a", "b"], ordered=True)), "y ~ x", "single category"),
    ],
)
def test_response_outside_support_names_column_and_rows(family, frame, formula, message) -> None:
    with pytest.raises(DataError, match=message):
        hb.Model(formula, data=frame, family=family)


def test_ordinal_design_drops_intercept_and_keeps_labels() -> None:
    df = simulate("cumulative", "logit", seed=0).assign(f=lambda d: np.where(d.x > 0, "hi", "lo"))
    model = hb.Model("y ~ x + f + (1 | g)", data=df, family="cumulative")
    d = model.design
    assert d.fixed_names == ("x", "f[lo]") and not d.has_intercept  # reduced-rank coding kept
    assert d.encoder.response_levels == ("none", "mild", "moderate", "severe")
    np.testing.assert_array_equal(d.y, df["y"].cat.codes.to_numpy())
    assert d.encoder.encode_new(df.head(4)).X.shape == (4, 2)
    codes = hb.Model("y ~ x", data=df.assign(y=df["y"].cat.codes + 1), family="cumulative").design
    np.testing.assert_array_equal(codes.y, d.y)  # codes 1..K are read as categories 1..K
    with pytest.raises(SpecError, match="thresholds in place of an intercept"):
        hb.Model("y ~ 0 + x", data=df, family="cumulative")


# ======================================================================= priors


def test_default_priors_are_on_the_link_scale() -> None:
    df = simulate("bernoulli", "logit", seed=0)
    p = (df["y"].sum() + 0.5) / (len(df) + 1)
    logit = hb.Model("y ~ x + (1 | g)", data=df, family="bernoulli").priors
    assert logit.get("Intercept").kwargs == pytest.approx({"mu": special.logit(p), "sigma": 2.5})
    assert logit.get("b", None, "x").kwargs["sigma"] == pytest.approx(2.5 / df["x"].std(ddof=0))
    assert logit.get("sd", "g", "Intercept").kwargs == {"nu": 3.0, "sigma": 1.0}
    probit = hb.Model("y ~ x + (1 | g)", data=df, family="bernoulli", link="probit").priors
    unit = stats.logistic.pdf(0) / stats.norm.pdf(0)  # a probit unit is 0.627 logit units
    assert probit.get("Intercept").kwargs == pytest.approx({"mu": special.ndtri(p), "sigma": 2.5 * unit})
    assert probit.get("sd", "g", "Intercept").kwargs["sigma"] == pytest.approx(unit)


def test_family_parameter_and_threshold_priors_are_listed() -> None:
    counts = simulate("negbinomial", "log", seed=0)
    text = str(hb.Model(formula_for("negbinomial"), data=counts, family="negbinomial").priors)
    assert "phi" in text and "Gamma(alpha=0.01, beta=0.01)" in text
    st = hb.Model(formula_for("student"), data=simulate("student", "identity", 0), family="t").priors
    assert st.get("nu") == hb.Prior("Gamma", alpha=2.0, beta=0.1)
    assert st.get("sigma").dist == "HalfStudentT"
    ga = hb.Model(formula_for("gamma"), data=simulate("gamma", "log", 0), family="gamma").priors
    assert ga.get("shape").dist == "Gamma"
    df = simulate("cumulative", "logit", seed=0)
    table = hb.Model("y ~ x + (1 | g)", data=df, family="cumulative",
                     priors={"Intercept:2": hb.Prior("Normal", mu=0.0, sigma=1.0)}).priors
    cum = np.cumsum(np.bincount(df["y"].cat.codes, minlength=4) + 0.5)[:-1] / (len(df) + 2.0)
    assert table.get("Intercept", None, "1").kwargs["mu"] == pytest.approx(special.logit(cum[0]))
    assert table.get("Intercept", None, "2").kwargs == {"mu": 0.0, "sigma": 1.0}
    assert [e.address.term for e in table.entries if e.address.kind == "Intercept"] == ["1", "2", "3"]
    with pytest.raises(PriorError, match="positive"):
        hb.Model(formula_for("gamma"), data=simulate("gamma", "log", 0), family="gamma",
                 priors={"shape": hb.Prior("Normal", mu=0.0, sigma=1.0)})


def test_rows_and_aggregated_counts_get_the_same_default_priors() -> None:
    rows, cells = _rows_and_cells()
    a = hb.Model("y ~ x + (1 | g)", data=rows, family="bernoulli").priors.to_frame()
    b = hb.Model("y | trials(n) ~ x + (1 | g)", data=cells, family="binomial").priors.to_frame()
    pd.testing.assert_frame_equal(a, b)


# ============================================================ numpy log-likelihood

ETA = np.array([[-30.0, -3.0, -0.4, 0.0, 0.7, 2.5, 30.0]])
LINKS_BINARY = ["logit", "probit", "cloglog"]
FAST = {"mode": "FAST_COMPILE"}


@pytest.mark.parametrize("link", LINKS_BINARY)
def test_binomial_loglik_matches_scipy_and_stays_finite(link) -> None:
    fam = get_family("binomial")
    n = np.array([5, 5, 5, 5, 5, 5, 5])
    y = np.array([0, 1, 2, 5, 3, 4, 5])
    ll = fam.log_likelihood(y, ETA, link, {}, n)
    p = {"logit": special.expit, "probit": special.ndtr, "cloglog": lambda e: -np.expm1(-np.exp(e))}[link](ETA)
    ref = stats.binom.logpmf(y, n, p)
    ok = np.isfinite(ref)
    np.testing.assert_allclose(ll[ok], ref[ok], rtol=1e-6, atol=1e-9)
    assert np.isfinite(ll).all()  # where p rounds to 0 or 1 scipy gives -inf; we do not
    bern = get_family("bernoulli").log_likelihood(np.array([1, 0]), np.array([[-40.0, 40.0]]), link, {}, None)
    assert np.isfinite(bern).all() and (bern < -10).all()


def test_count_and_continuous_logliks_match_scipy() -> None:
    eta = np.array([[-1.0, 0.2, 1.5, 3.0]])
    mu = np.exp(eta)
    k = np.array([0, 1, 4, 30])
    np.testing.assert_allclose(get_family("poisson").log_likelihood(k, eta, "log", {}, None), stats.poisson.logpmf(k, mu))
    phi = np.array([2.5])
    np.testing.assert_allclose(
        get_family("negativebinomial").log_likelihood(k, eta, "log", {"phi": phi}, None),
        stats.nbinom.logpmf(k, phi[:, None], phi[:, None] / (phi[:, None] + mu)),
    )
    y = np.array([0.3, 1.0, 5.0, 20.0])
    np.testing.assert_allclose(
        get_family("gamma").log_likelihood(y, eta, "log", {"shape": np.array([3.0])}, None),
        stats.gamma.logpdf(y, 3.0, scale=mu / 3.0),
    )
    np.testing.assert_allclose(
        get_family("t").log_likelihood(y, eta, "identity", {"sigma": np.array([1.5]), "nu": np.array([4.0])}, None),
        stats.t.logpdf(y, 4.0, eta, 1.5),
    )


@pytest.mark.parametrize("link", ["logit", "probit"])
def test_ordinal_loglik_sums_to_one_and_matches_cdf_differences(link) -> None:
    fam = get_family("cumulative")
    cut = np.array([[-1.0, 0.3, 1.5], [-2.0, 0.0, 4.0]])  # two draws
    eta = np.array([[-40.0, -0.5, 0.0, 2.0, 40.0], [0.1, 0.2, 0.3, 0.4, 0.5]])
    F = special.expit if link == "logit" else special.ndtr
    probs = fam.mean(eta, link, {"Intercept": cut}, None)  # (2, 5, 4)
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0)
    for k in range(4):
        ll = fam.log_likelihood(np.full(5, k), eta, link, {"Intercept": cut}, None)
        upper = F(cut[:, k][:, None] - eta) if k < 3 else 1.0
        lower = F(cut[:, k - 1][:, None] - eta) if k > 0 else 0.0
        ref = np.log(upper - lower)
        ok = np.isfinite(ref) & (upper - lower > 1e-12)
        np.testing.assert_allclose(ll[ok], ref[ok], rtol=1e-7, atol=1e-12)
        assert np.isfinite(ll).all()  # the extreme rows stay finite in log space


def test_pmf_and_pdf_are_normalised() -> None:
    eta = np.array([[0.8]])
    ks = np.arange(0, 400)
    for name, aux in [("poisson", {}), ("negbinomial", {"phi": np.array([0.7])})]:
        total = np.exp(get_family(name).log_likelihood(ks, np.full((1, len(ks)), 0.8), "log", aux, None)).sum()
        assert total == pytest.approx(1.0, abs=1e-10)
    n = np.full(11, 10)
    total = np.exp(get_family("binomial").log_likelihood(np.arange(11), np.full((1, 11), 0.8), "cloglog", {}, n)).sum()
    assert total == pytest.approx(1.0, abs=1e-12)
    gamma = get_family("gamma")
    dens = lambda y: float(np.exp(gamma.log_likelihood(np.array([y]), eta, "log", {"shape": np.array([2.5])}, None))[0, 0])  # noqa: E731
    assert integrate.quad(dens, 0, np.inf)[0] == pytest.approx(1.0, abs=1e-7)


@pytest.mark.parametrize("family", ["bernoulli", "binomial", "poisson", "negbinomial", "cumulative", "student", "gamma"])
def test_simulate_matches_mean(family) -> None:
    """Family.simulate draws have the mean Family.mean gives (5-sigma Monte Carlo bound)."""
    fam = get_family(family)
    link = fam.default_link
    rng = np.random.default_rng(1)
    m = 200_000
    eta = np.full((1, m), 0.4)
    aux = {"phi": np.array([[2.0]]), "sigma": np.array([[1.3]]), "nu": np.array([[5.0]]),
           "shape": np.array([[3.0]]), "Intercept": np.array([[-1.0, 0.3, 1.5]])}
    aux = {k: v for k, v in aux.items() if k in fam.aux}
    trials = np.full(m, 7) if family == "binomial" else None
    draws = np.asarray(fam.simulate(rng, eta, link, aux, trials), dtype=float)
    if family == "cumulative":
        probs = fam.mean(eta[:, :1], link, aux, None)[0, 0]
        observed = np.bincount(draws.astype(int).ravel(), minlength=4) / m
        np.testing.assert_allclose(observed, probs, atol=5 * np.sqrt(0.25 / m))
        return
    expected = float(np.ravel(fam.mean(eta[:, :1], link, aux, None if trials is None else trials[:1]))[0])
    assert abs(draws.mean() - expected) < 5 * draws.std() / np.sqrt(m)


def test_pointwise_loglik_equals_the_pymc_model_for_every_family_and_link() -> None:
    """The numpy log-likelihood agrees with PyMC's log-density of the compiled model at
    parameter values drawn from the priors (which reach far into the tails)."""
    import pymc as pm

    for family, link in FAMILY_LINKS:
        df = simulate(family, link, seed=3, G=6, n=5)
        model = hb.Model(formula_for(family), data=df, family=family, link=link)
        pm_model = model.pymc_model
        names = [v.name for v in pm_model.free_RVs + pm_model.deterministics]
        with pm_model:  # FAST_COMPILE: numba would compile each model for ~20 s
            prior = pm.sample_prior_predictive(draws=20, random_seed=4, var_names=names, compile_kwargs=FAST)
        draws = prior.prior.to_dataset()
        if family == "cumulative":  # forward sampling ignores the ordered transform
            for name in ("Intercept_c", "Intercept"):
                draws[name] = draws[name].copy(data=np.sort(draws[name].values, axis=-1))
        ours = pointwise_log_likelihood(draws, model.spec, model.design)
        with pm_model:
            theirs = pm.compute_log_likelihood(
                xr.DataTree.from_dict({"posterior": draws}), extend_inferencedata=False,
                progressbar=False, compile_kwargs=FAST,
            )["y"]
        assert ours.dims == ("chain", "draw", "obs") and ours.shape == theirs.shape
        a, b = ours.values, theirs.values
        assert np.isfinite(a).all(), (family, link)
        # PyMC's ordered models take log(p_k) of a difference that underflows for extreme
        # prior draws; elsewhere both are finite everywhere.
        ok = np.isfinite(b)
        assert ok.mean() > (0.25 if family == "cumulative" else 0.999), (family, link, ok.mean())
        np.testing.assert_allclose(a[ok], b[ok], rtol=1e-6, atol=1e-8, err_msg=f"{family}/{link}")


# ========================================================================== ICC


def test_icc_level1_variances_follow_nakagawa() -> None:
    for link, value in [("logit", math.pi**2 / 3), ("probit", 1.0), ("cloglog", math.pi**2 / 6)]:
        v, scale = icc_level1_variance(get_family("bernoulli"), link, 0.0, 0.5, {})
        assert v == pytest.approx(value) and "latent scale" in scale
    v, scale = icc_level1_variance(get_family("poisson"), "log", 1.2, 0.4, {})
    assert v == pytest.approx(math.log1p(1 / math.exp(1.2 + 0.2))) and "log-normal" in scale
    v, _ = icc_level1_variance(get_family("negbinomial"), "log", 1.2, 0.4, {"phi": 2.0})
    assert v == pytest.approx(math.log1p(1 / math.exp(1.4) + 0.5))
    v, _ = icc_level1_variance(get_family("gamma"), "log", 0.0, 0.4, {"shape": 4.0})
    assert v == pytest.approx(math.log1p(0.25))


# ================================================================ cbpp and epilepsy


@pytest.fixture(scope="module")
def cbpp_fit():
    df = hb.datasets.load("cbpp")
    return fit_quiet(hb.Model("incidence | trials(size) ~ period + (1|herd)", data=df, family="binomial"))


@pytest.fixture(scope="module")
def epilepsy_fit():
    df = hb.datasets.load("epilepsy")
    return fit_quiet(hb.Model("count ~ zAge + zBase * Trt + (1|patient)", data=df, family="poisson"))


LME4_TERMS = {"period2": "period[2]", "period3": "period[3]", "period4": "period[4]",
              "Trt1": "Trt[1]", "zBase:Trt1": "zBase:Trt[1]"}


def _check_fixed(fit, expected: dict[str, float], within_sd: float = 0.3) -> None:
    fe = fit.fixef()
    for term, value in expected.items():
        row = fe.loc[LME4_TERMS.get(term, term)]
        z = abs(row["mean"] - value) / row["sd"]
        assert z < within_sd, f"{term}: posterior mean {row['mean']:.4f} vs {value:.4f} ({z:.2f} sd)"


def _sd_median(fit, group: str) -> float:
    vc = fit.varcorr()
    return float(vc[(vc.group == group) & (vc.term == "sd(Intercept)")]["median"].iloc[0])


@pytest.mark.slow
def test_cbpp_binomial_against_glmer(cbpp_fit) -> None:
    ref = load_ref("lme4", "cbpp_binom")
    _check_fixed(cbpp_fit, lme4_fixed(ref))
    sd_ref = ref["variance_components"]["groups"]["herd"]["sd"]["(Intercept)"]
    assert abs(_sd_median(cbpp_fit, "herd") - sd_ref) / sd_ref < 0.25
    assert cbpp_fit.diagnostics.divergences == 0


@pytest.mark.slow
def test_cbpp_odds_ratios_and_latent_icc(cbpp_fit) -> None:
    link = cbpp_fit.fixef()
    odds = cbpp_fit.fixef(exponentiate=True)
    assert odds.attrs["estimate"] == "odds ratio" and link.attrs["estimate"] == "coefficient (logit scale)"
    # exp is monotone: the median and interval ends map through it (up to the linear
    # interpolation between order statistics)
    np.testing.assert_allclose(odds[["median", "lower", "upper"]], np.exp(link[["median", "lower", "upper"]]), rtol=1e-4)
    text = str(cbpp_fit.summary(exponentiate=True))
    assert "Fixed effects (odds ratios)" in text and "odds ratio" in text
    icc = cbpp_fit.icc()
    assert "latent scale (logit link: level-1 variance 3.29" in icc.attrs["scale"]
    assert "latent scale" in str(cbpp_fit.summary())
    sd = cbpp_fit.posterior["sd_herd"].values.ravel()
    assert icc.loc[0, "mean"] == pytest.approx(np.mean(sd**2 / (sd**2 + math.pi**2 / 3)), rel=1e-9)


@pytest.mark.slow
def test_epilepsy_poisson_against_glmer_and_brms(epilepsy_fit) -> None:
    ref = load_ref("lme4", "epilepsy_pois")
    _check_fixed(epilepsy_fit, lme4_fixed(ref))
    sd_ref = ref["variance_components"]["groups"]["patient"]["sd"]["(Intercept)"]
    assert abs(_sd_median(epilepsy_fit, "patient") - sd_ref) / sd_ref < 0.25
    brms = {p["parameter"]: p for p in load_ref("brms", "epilepsy_pois")["parameters"]}
    fe = epilepsy_fit.fixef()
    for name, p in brms.items():
        if not name.startswith("b_"):
            continue
        ours = fe.loc[LME4_TERMS.get(name[2:], name[2:])]
        # two posteriors under similar weak priors: means within 0.3 posterior sd
        assert abs(ours["mean"] - p["mean"]) / p["sd"] < 0.3, name
        assert ours["sd"] == pytest.approx(p["sd"], rel=0.2), name
    sd_brms = brms["sd_patient__Intercept"]
    vc = epilepsy_fit.varcorr()
    ours_sd = vc[vc.group == "patient"].iloc[0]
    assert abs(ours_sd["mean"] - sd_brms["mean"]) / sd_brms["sd"] < 0.5


@pytest.mark.slow
def test_epilepsy_rate_ratios_and_count_icc(epilepsy_fit) -> None:
    irr = epilepsy_fit.fixef(exponentiate=True)
    assert irr.attrs["estimate"] == "incidence-rate ratio"
    assert "Fixed effects (incidence-rate ratios)" in str(epilepsy_fit.summary(exponentiate=True))
    icc = epilepsy_fit.icc()
    assert "log(1 + 1/lambda)" in icc.attrs["scale"]
    post = epilepsy_fit.posterior
    v = post["sd_patient"].values.ravel() ** 2
    lam = np.exp(post["Intercept_c"].values.ravel() + v / 2)
    assert icc.loc[0, "mean"] == pytest.approx(np.mean(v / (v + np.log1p(1 / lam))), rel=1e-9)
    with pytest.raises(SpecError, match="no ratio meaning"):
        get_family("bernoulli").ratio_label("probit")


def test_pointwise_loglik_in_chunks_of_draws_equals_one_pass(monkeypatch) -> None:
    """The log-likelihood is computed a few draws at a time to bound memory: any chunk size
    gives the same (chain, draw, obs) array, each chain in its own place."""
    import pymc as pm

    from hierbayes.predict import loglik

    df = simulate("poisson", "log", seed=5, G=6, n=5)
    model = hb.Model(formula_for("poisson"), data=df, family="poisson")
    pm_model = model.pymc_model
    names = [v.name for v in pm_model.free_RVs + pm_model.deterministics]
    with pm_model:
        prior = pm.sample_prior_predictive(draws=12, random_seed=9, var_names=names, compile_kwargs=FAST)
    flat = prior.prior.to_dataset()
    # 12 prior draws as 3 chains x 4 draws
    draws = xr.Dataset({
        k: (("chain", "draw", *v.dims[2:]), v.values.reshape(3, 4, *v.shape[2:]))
        for k, v in flat.data_vars.items()
    }).assign_coords({d: flat.coords[d] for d in flat.coords if d not in ("chain", "draw")})
    whole = pointwise_log_likelihood(draws, model.spec, model.design)
    monkeypatch.setattr(loglik, "CHUNK_ELEMENTS", 1)  # one draw (of every chain) at a time
    chunked = pointwise_log_likelihood(draws, model.spec, model.design)
    np.testing.assert_array_equal(whole.values, chunked.values)
    for c in range(3):
        one = pointwise_log_likelihood(draws.isel(chain=[c]), model.spec, model.design)
        np.testing.assert_allclose(whole.values[c], one.values[0], rtol=1e-12)  # BLAS blocking


@pytest.mark.slow
def test_loo_from_stored_loglik(cbpp_fit, epilepsy_fit) -> None:
    import arviz as az

    for fit in (cbpp_fit, epilepsy_fit):
        ll = fit.idata["log_likelihood"]["y"]
        assert ll.dims == ("chain", "draw", "obs") and ll.shape[-1] == fit.model.design.n_obs
        recomputed = pointwise_log_likelihood(fit.posterior, fit.spec, fit.model.design)
        np.testing.assert_allclose(ll.values, recomputed.values)
        assert np.isfinite(az.loo(fit.idata).elpd)


# =================================================== recovery, one fit per family


@pytest.fixture(scope="module")
def recovery_fits():
    cases = [("poisson", "log"), ("negbinomial", "log"), ("cumulative", "logit"),
             ("student", "identity"), ("gamma", "log")]
    # a different seed per family, so one unusual draw of the group effects is not shared
    return {case: fit_family(*case, seed=101 + i) for i, case in enumerate(cases)}


@pytest.mark.slow
@pytest.mark.parametrize("case", [("poisson", "log"), ("negbinomial", "log"), ("cumulative", "logit"),
                                  ("student", "identity"), ("gamma", "log")])
def test_single_simulation_recovery(recovery_fits, case) -> None:
    """Every true value inside its 99% interval (about 5 parameters per family, so a
    correct model fails this with probability ~5%; fixed seeds make it reproducible)."""
    fit = recovery_fits[case]
    ints = intervals(fit, 0.99)
    for key, value in true_values(case[0]).items():
        lo, hi = ints[key]
        assert lo < value < hi, f"{case}: {key} = {value} outside ({lo:.3f}, {hi:.3f})"
    assert fit.diagnostics.divergences == 0


@pytest.mark.slow
def test_ordinal_fit_reports_thresholds_and_loo(recovery_fits) -> None:
    import arviz as az

    fit = recovery_fits[("cumulative", "logit")]
    fe = fit.fixef()
    assert list(fe.index) == ["Intercept[1]", "Intercept[2]", "Intercept[3]", "x"]
    assert (np.diff(fit.posterior["Intercept"].values, axis=-1) > 0).all()  # ordered in every draw
    assert fit.fixef(exponentiate=True).attrs["estimate"] == "odds ratio"
    assert "latent scale (logit link" in fit.icc().attrs["scale"]
    loo = az.loo(fit.idata)
    assert np.isfinite(loo.elpd) and fit.idata["log_likelihood"]["y"].shape[-1] == fit.model.design.n_obs
    # aux rows of the other families
    fit_terms = {c: list(recovery_fits[c].varcorr()["term"]) for c in recovery_fits}
    assert fit_terms[("student", "identity")][-2:] == ["sigma", "nu"]
    assert fit_terms[("negbinomial", "log")][-1] == "phi" and fit_terms[("gamma", "log")][-1] == "shape"
    with pytest.raises(SpecError, match="no ratio meaning"):
        recovery_fits[("student", "identity")].fixef(exponentiate=True)


# ======================================= bernoulli rows vs aggregated binomial counts


def _rows_and_cells() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(5)
    G, n = 25, 12
    g = np.repeat(np.arange(G), n)
    x = rng.integers(0, 2, size=G * n).astype(float)
    u = rng.normal(0, 0.7, G)
    y = rng.binomial(1, special.expit(-0.4 + 0.9 * x + u[g]))
    rows = pd.DataFrame({"y": y, "x": x, "g": [f"g{i:02d}" for i in g]})
    cells = rows.groupby(["g", "x"], as_index=False).agg(y=("y", "sum"), n=("y", "size"))
    return rows, cells


@pytest.fixture(scope="module")
def rows_and_cells_fits():
    rows, cells = _rows_and_cells()
    kw = dict(parameterization="noncentered")
    # collapse=False: Model would otherwise collapse the rows into the same cells itself
    a = fit_quiet(hb.Model("y ~ x + (1 | g)", data=rows, family="bernoulli", collapse=False, **kw), draws=1000)
    b = fit_quiet(hb.Model("y | trials(n) ~ x + (1 | g)", data=cells, family="binomial", **kw), draws=1000)
    return a, b


@pytest.mark.slow
def test_bernoulli_rows_and_binomial_cells_give_the_same_posterior(rows_and_cells_fits) -> None:
    """Means within 4 Monte Carlo standard errors (sd / sqrt(ESS), combined) and sds within
    4 standard errors of an sd estimate (about sd / sqrt(2 ESS)); also recovers the truth."""
    a, b = rows_and_cells_fits
    assert a.model.design.n_obs == 300 and b.model.design.n_obs == 50
    ta = pd.concat([a.fixef(), a.varcorr().set_index("term")])
    tb = pd.concat([b.fixef(), b.varcorr().set_index("term")])
    for term in ["Intercept", "x", "sd(Intercept)"]:
        ra, rb = ta.loc[term], tb.loc[term]
        mcse = math.hypot(ra["sd"] / math.sqrt(ra["ess_bulk"]), rb["sd"] / math.sqrt(rb["ess_bulk"]))
        assert abs(ra["mean"] - rb["mean"]) < 4 * mcse, term
        se_sd = math.hypot(ra["sd"] / math.sqrt(2 * ra["ess_bulk"]), rb["sd"] / math.sqrt(2 * rb["ess_bulk"]))
        assert abs(ra["sd"] - rb["sd"]) < 4 * se_sd, term
    for fit in (a, b):
        ints = intervals(fit, 0.99)
        for key, value in {"Intercept": -0.4, "x": 0.9, ("g", "sd(Intercept)"): 0.7}.items():
            assert ints[key][0] < value < ints[key][1], key
    # the log-likelihoods differ by log C(n, y) per cell only: same elpd up to that constant
    import arviz as az

    assert np.isfinite(az.loo(a.idata).elpd) and np.isfinite(az.loo(b.idata).elpd)


# ======================================= repeated-simulation coverage (every link)

COVERAGE_REPS = 20
COVERAGE_PROB = 0.9


def refit_target(key, design) -> tuple[str, int]:
    """The refitter's target and flat index for a key of :func:`true_values`."""
    if key == "Intercept":
        return "Intercept", 0
    if isinstance(key, str) and key.startswith("Intercept["):  # ordinal threshold k: 1..K-1
        return "Intercept", int(key[len("Intercept["):-1]) - 1
    if isinstance(key, tuple):
        group, term = key
        return (term, 0) if group in ("Residual", "Family") else (f"sd_{group}", 0)
    return "b", [n for n in design.fixed_names if n != "Intercept"].index(key)


@pytest.mark.slow
@pytest.mark.parametrize(("family", "link"), FAMILY_LINKS)
def test_coverage_of_90_percent_intervals(family, link) -> None:
    """Across COVERAGE_REPS simulated responses, each parameter (thresholds, sds, fixed
    effects, family parameters) is inside its 90% interval at the nominal rate.

    Conditional on the design: x, g (and the binomial trials) are those of one simulated
    data set; each replication draws new group effects and a new response from TRUTH and
    refits the model with one compiled log density (:mod:`refit_coverage`), not one JAX
    compilation per data set.

    Per parameter the number of covering replications is Binomial(20, 0.9) for calibrated
    intervals: at least 13 of 20 is required (P(X <= 12) = 4e-4, so ~60 such checks give a
    false alarm with probability ~2%). Pooled over the parameters of one family/link, the
    coverage must lie within 3 Monte Carlo standard errors of 0.9 (with a design effect of 2
    for the correlation between parameters of one replication).
    """
    import gc

    import jax
    from refit_coverage import CoverageRefitter

    G, n = 30, 8
    df = simulate(family, link, seed=1000, G=G, n=n)
    model = hb.Model(formula_for(family), data=df, family=family, link=link, collapse=False)
    design = model.design
    # the design keeps the data's rows in order: the responses below line up with it
    assert design.n_obs == len(df)
    np.testing.assert_array_equal(design.X[:, list(design.fixed_names).index("x")], df["x"])
    coded = df["y"].cat.codes if family == "cumulative" else df["y"]
    np.testing.assert_array_equal(design.y, coded)

    truth = TRUTH[family]
    g = np.repeat(np.arange(G), n)
    fixed = truth.get("Intercept", 0.0) + truth["x"] * df["x"].to_numpy()
    size = df["size"].to_numpy() if family == "binomial" else None

    def response(rep: int) -> np.ndarray:
        rng = np.random.default_rng(2000 + rep)
        u = rng.normal(0.0, truth["sd"], G)  # new group effects in every replication
        return simulate_response(family, link, fixed + u[g], rng, size)

    ys = [response(rep) for rep in range(COVERAGE_REPS)]
    study = CoverageRefitter(model, draws=300, chains=2, reference_y=ys[:5])
    targets = {key: refit_target(key, design) for key in true_values(family)}
    assert {name for name, _ in targets.values()} <= set(study.targets), (targets, study.targets)
    covered: dict = {}
    divergences = 0
    for rep, y in enumerate(ys):
        ints = study.intervals(y, seed=1000 + rep, prob=COVERAGE_PROB)
        divergences += ints.divergences
        for key, value in true_values(family).items():
            covered.setdefault(key, []).append(ints.covers(*targets[key], value))
    del study
    jax.clear_caches()  # free the compiled program before the next family/link
    gc.collect()
    counts = {k: int(sum(v)) for k, v in covered.items()}
    pooled = np.mean([c for v in covered.values() for c in v])
    # shown with pytest -s
    print(f"coverage {family}/{link}: {counts} pooled {pooled:.3f}, {divergences} divergences")
    low = {k: c for k, c in counts.items() if c < 13}
    assert not low, f"{family}/{link}: coverage counts out of {COVERAGE_REPS}: {counts}"
    se = math.sqrt(COVERAGE_PROB * (1 - COVERAGE_PROB) * 2 / (COVERAGE_REPS * len(covered)))
    assert abs(pooled - COVERAGE_PROB) < 3 * se, f"{family}/{link}: pooled coverage {pooled:.3f} ({counts})"


def test_ordinal_response_written_as_a_call_says_how_to_order_it():
    """MASS's housing: polr(Sat ~ ...) with Sat an ordered factor; ordered() on the left of a
    formula is a call, not a column."""
    df = pd.DataFrame({"Sat": ["Low", "High", "Medium"] * 4, "x": np.arange(12.0)})
    with pytest.raises(DataError, match=r"not 'ordered\(Sat.*pd.Categorical\(df\[col\], categories=\[\.\.\.\], ordered=True\)"):
        hb.Model('ordered(Sat, levels = c("Low", "Medium", "High")) ~ x', df, family="cumulative")
    with pytest.raises(DataError, match=r"add the column to the data$"):
        hb.Model("log(x) ~ Sat", df.assign(x=df["x"] + 1), family="cumulative")


def test_totals_given_as_failures_are_warned_of() -> None:
    # lme4's cbpp as cbind(incidence, size): trials incidence + size, silently (glmer too)
    cbpp = hb.datasets.load("cbpp")
    with pytest.warns(UserWarning, match=r"cbind\(incidence, size\): the second column counts failures.*'size' reads "
                                         r"like the number of trials .*write cbind\(incidence, size - incidence\) or "
                                         r"'incidence \| trials\(size\) ~ \.\.\.'"):
        hb.Model("cbind(incidence, size) ~ period + (1 | herd)", cbpp, family="binomial")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the advice, followed
        hb.Model("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp, family="binomial")
        hb.Model("incidence | trials(size) ~ period + (1 | herd)", cbpp, family="binomial")
