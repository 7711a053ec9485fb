"""Weighted likelihoods: integer level-1 weights give exactly the log density of the data with
rows repeated, on every likelihood form (rows, gaussian cross-products, one term integrated out
with or without other sampled terms); level-2 weights add (w_j - 1) log N(u_j | 0, Sigma).
``weight_method="pml"``: Stata's / WeMix's pseudo-maximum likelihood target for a gaussian
group term integrated out, ``sum_j w_j log ∫ prod_i f(y_ij | u)^(w_i|j) N(u | 0, tau^2) du``,
and the models it refuses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import hierbayes as hb
from hierbayes.errors import SpecError
from hierbayes.results.weights_adjust import group_log_likelihoods

PRIORS = {
    "Intercept": hb.Prior("Normal", mu=0, sigma=5),
    "b": hb.Prior("Normal", mu=0, sigma=2),
    "sd": hb.Prior("Exponential", lam=1),
    "sigma": hb.Prior("Exponential", lam=1),
}


def _data(seed: int = 1, n: int = 48) -> pd.DataFrame:
    """``w``: integer (frequency) level-1 weights, ``wr``: real ones, ``w2``: level-2 weights of ``g``."""
    rng = np.random.default_rng(seed)
    g, h, x = rng.integers(0, 8, n), rng.integers(0, 4, n), rng.normal(size=n)
    y = 1 + 0.5 * x + rng.normal(0, 1, 8)[g] + rng.normal(0, 0.5, 4)[h] + rng.normal(0, 1, n)
    return pd.DataFrame({
        "y": y, "x": x, "g": g.astype(str), "h": h.astype(str), "c": rng.poisson(2, n),
        "pass": (y > 1).astype(int), "w": rng.integers(1, 4, n).astype(float),
        "wr": rng.uniform(0.5, 3.0, n), "w2": 0.3 + 0.1 * g,  # unscaled level-2 weights average at most 1
    })


def _logps(formula: str, family: str = "gaussian", priors=PRIORS, parameterization=None):
    """(weighted, repeated rows) log densities at one point, and the compiled weighted model."""
    df = _data()
    rep = df.loc[df.index.repeat(df["w"].astype(int))].reset_index(drop=True)
    weighted = hb.Model(formula, df, family=family, priors=priors, weights="w", parameterization=parameterization)
    compiled = weighted.compile()
    plan = dict(compiled.parameterization)
    repeated = hb.Model(formula, rep, family=family, priors=priors, parameterization=plan).compile()
    point = {k: v + 0.3 for k, v in compiled.model.initial_point().items()}
    return compiled.model.compile_logp(mode="FAST_COMPILE")(point), repeated.model.compile_logp(mode="FAST_COMPILE")(point), compiled


@pytest.mark.parametrize(
    "formula, parameterization, form",
    [
        ("y ~ x + (1|g)", None, "marginal"),
        # LKJ + sufficient statistics: ~35 s of cold compilation, so in the slow suite
        pytest.param("y ~ x + (x|g)", "noncentered", "sufficient statistics", marks=pytest.mark.slow),
        ("y ~ x + (1|g) + (1|h)", None, "marginal"),
        ("y ~ x + (1|g) + (1|h)", "noncentered", "rows"),
    ],
)
def test_gaussian_frequency_weights_are_repeated_rows(formula, parameterization, form):
    weighted, repeated, compiled = _logps(formula, parameterization=parameterization)
    assert compiled.likelihood == form
    assert weighted == pytest.approx(repeated, rel=1e-10, abs=1e-8)


def test_row_likelihood_frequency_weights_are_repeated_rows():
    priors = {k: v for k, v in PRIORS.items() if k != "sigma"}
    weighted, repeated, compiled = _logps("c ~ x + (1|g)", "poisson", priors)
    assert compiled.likelihood == "rows"
    assert weighted == pytest.approx(repeated, rel=1e-10)


def test_level2_weights_add_the_weighted_prior_of_the_effects():
    df = _data()
    kw = dict(priors=PRIORS, parameterization="centered")
    plain = hb.Model("y ~ x + (1|g)", df, **kw).compile().model
    weighted = hb.Model("y ~ x + (1|g)", df, group_weights={"g": "w2"}, **kw)
    compiled = weighted.compile().model
    point = {k: v + 0.3 for k, v in plain.initial_point().items()}
    re = point["re_g"][:, 0]
    sd = np.exp(point["sd_g_log__"])
    w2 = weighted.design.groups[0].prior_weights
    rows = weighted.design.row_weights
    # the rows carry w_j too (level-1 weights 1 conditional on the group)
    eta = point["Intercept_c"] + (df["x"] - np.average(df["x"], weights=rows)) * point["b"][0] + re[weighted.design.groups[0].codes]
    sigma = np.exp(point["sigma_log__"])
    loglik = stats.norm.logpdf(df["y"], eta, sigma)
    eta0 = point["Intercept_c"] + (df["x"] - df["x"].mean()) * point["b"][0] + re[weighted.design.groups[0].codes]
    expected = (
        plain.compile_logp(mode="FAST_COMPILE")(point)
        - stats.norm.logpdf(df["y"], eta0, sigma).sum() + (rows * loglik).sum()
        + ((w2 - 1) * stats.norm.logpdf(re, 0, sd)).sum()
    )
    assert compiled.compile_logp(mode="FAST_COMPILE")(point) == pytest.approx(expected, rel=1e-10)


def test_conditional_draws_of_integrated_effects_match_repeated_rows():
    """Prior draws stand in for the posterior: the exact conditional draws of the integrated
    effects (results/conditional.py) are those of the repeated data, draw for draw."""
    df = _data()
    rep = df.loc[df.index.repeat(df["w"].astype(int))].reset_index(drop=True)
    kw = dict(draws=20, tune=0, chains=1, random_seed=3, progressbar=False, backend="prior")
    a = hb.Model("y ~ x + (1|g)", df, weights="w", priors=PRIORS).fit(**kw)
    b = hb.Model("y ~ x + (1|g)", rep, priors=PRIORS).fit(**kw)
    assert a.info.parameterization == {"g": "marginal"}
    np.testing.assert_allclose(a.posterior["re_g"].values, b.posterior["re_g"].values, rtol=1e-8, atol=1e-10)


def test_summary_names_the_weights():
    fit = hb.Model("y ~ x + (1|g)", _data(), weights="w", weight_scaling="size", priors=PRIORS).fit(
        draws=20, chains=1, random_seed=1, progressbar=False, backend="prior"
    )
    text = str(fit.summary())
    assert "Weights: level 1 'w' (scaled to the group sizes within g)" in text


def _pml_by_hand(y, eta, a, codes, w2, sigma, tau) -> float:
    """``sum_j w_j log ∫ prod_i N(y_i | eta_i + u, sigma)^(a_i) N(u | 0, tau) du`` in closed form."""
    total = 0.0
    s2 = sigma**2
    for j, wj in enumerate(w2):
        rows = codes == j
        r, aj = y[rows] - eta[rows], a[rows]
        A, B, C = aj.sum(), (aj * r).sum(), (aj * r**2).sum()
        P = A / s2 + 1.0 / tau**2
        group = -0.5 * A * np.log(2 * np.pi * s2) - 0.5 * np.log(tau**2 * P) - 0.5 * C / s2 + 0.5 * B**2 / (s2**2 * P)
        total += wj * group
    return total


def _integrated_terms_at_a_point(model):
    """(loglik potential, Intercept, b, sigma, sd_g) of a model whose group term is integrated
    out, at its initial point shifted by 0.3."""
    compiled = model.compile()
    assert compiled.parameterization == {"g": "marginal"}
    pm_model = compiled.model
    point = {k: v + 0.3 for k, v in pm_model.initial_point().items()}
    values = pm_model.compile_fn(
        [pm_model[n] for n in ("loglik_y", "Intercept", "b", "sigma", "sd_g")],
        inputs=pm_model.value_vars, on_unused_input="ignore", mode="FAST_COMPILE",
    )(point)
    return tuple(np.ravel(v) for v in values)


@pytest.mark.parametrize("scaling", ["none", "size"])
def test_pml_log_density_is_the_weighted_integrated_likelihood(scaling):
    df = _data()
    model = hb.Model("y ~ x + (1|g)", df, weights="wr", group_weights={"g": "w2"}, weight_scaling=scaling,
                     weight_method="pml", priors=PRIORS)
    potential, intercept, b, sigma, sd = _integrated_terms_at_a_point(model)
    block = model.design.groups[0]
    w2 = block.prior_weights
    a = model.design.row_weights / w2[block.codes]  # level-1 weights (scaled), conditional on the group
    eta = intercept[0] + b[0] * df["x"].to_numpy()
    expected = _pml_by_hand(df["y"].to_numpy(), eta, a, block.codes, w2, sigma[0], sd[0])
    assert float(potential[0]) == pytest.approx(expected, rel=1e-10, abs=1e-8)


def test_pml_differs_from_the_pseudo_posterior():
    df = _data()
    kw = {"weights": "wr", "group_weights": {"g": "w2"}, "priors": PRIORS}
    pp = hb.Model("y ~ x + (1|g)", df, **kw).compile().model
    pml = hb.Model("y ~ x + (1|g)", df, weight_method="pml", **kw).compile().model
    point = {k: v + 0.3 for k, v in pp.initial_point().items()}
    assert pp.compile_logp(mode="FAST_COMPILE")(point) != pytest.approx(pml.compile_logp(mode="FAST_COMPILE")(point))


def test_unknown_weight_method():
    with pytest.raises(SpecError, match=r"weight_method='ml': valid values are \['pseudo-posterior', 'pml'\]"):
        hb.Model("y ~ x + (1|g)", _data(), group_weights={"g": "w2"}, weight_method="ml")


def test_pml_needs_level2_weights():
    with pytest.raises(SpecError, match="weight_method='pml'.*no group_weights"):
        hb.Model("y ~ x + (1|g)", _data(), weights="wr", weight_method="pml")


def test_pml_refused_for_sampled_effects_of_a_logit():
    with pytest.raises(SpecError, match="weight_method='pml'.*bernoulli model are sampled"):
        hb.Model("pass ~ x + (1|g)", _data(), family="bernoulli", group_weights={"g": "w2"}, weight_method="pml")


def test_pml_refused_when_the_weighted_term_is_sampled():
    model = hb.Model("y ~ x + (1|g)", _data(), group_weights={"g": "w2"}, weight_method="pml",
                     priors=PRIORS, parameterization="centered")
    with pytest.raises(SpecError, match="weight_method='pml' needs the effects of 'g'.*sampled"):
        model.compile()


def test_summary_and_spec_name_the_method():
    model = hb.Model("y ~ x + (1|g)", _data(), group_weights={"g": "w2"}, weight_method="pml", priors=PRIORS)
    assert "on the group's integrated likelihood" in model.design.weights.describe()
    assert "weight_method='pml'" in model.design.weights.describe()
    from hierbayes.spec.serialize import spec_from_dict, spec_to_dict

    assert spec_from_dict(spec_to_dict(model.spec)).weight_method == "pml"


def test_from_stata_keeps_the_pseudo_posterior_and_takes_pml():
    command = "mixed y x [pw=wr] || g:, pweight(w2)"
    assert hb.Model(hb.from_stata(command), _data(), priors=PRIORS).spec.weight_method == "pseudo-posterior"
    model = hb.Model(hb.from_stata(command), _data(), priors=PRIORS, weight_method="pml")
    assert model.spec.weight_method == "pml"
    assert model.compile().parameterization == {"g": "marginal"}


@pytest.mark.slow  # ~30 s of cold compilation
@pytest.mark.parametrize("method, weights", [("pseudo-posterior", "w"), ("pml", "wr")])
def test_level2_weighted_term_integrated_out_is_the_sum_of_the_groups(method, weights):
    """The integrated likelihood with level-1 and level-2 weights is the sum of the groups'
    weighted integrals: those of the interval adjustment (results/weights_adjust.py, checked
    against quadrature there), with ``pml`` Stata's per-group PML terms."""
    model = hb.Model("y ~ x + (1|g)", _data(), weights=weights, group_weights={"g": "w2"},
                     weight_method=method, priors=PRIORS)
    potential, intercept, b, sigma, sd = _integrated_terms_at_a_point(model)
    fit = model.fit(draws=5, chains=1, random_seed=1, progressbar=False, backend="prior")
    theta = np.concatenate([intercept, b, np.log(sigma), np.log(sd)])
    groups = group_log_likelihoods(fit.posterior, model.design, theta)
    assert float(potential[0]) == pytest.approx(groups.sum(), rel=1e-9)
    assert np.all(np.isfinite(fit.posterior["re_g"].values))
