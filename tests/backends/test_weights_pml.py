"""``weight_method="pml"``: Stata's / WeMix's pseudo-maximum likelihood target for a gaussian
group term integrated out, ``sum_j w_j log ∫ prod_i f(y_ij | u)^(w_i|j) N(u | 0, tau^2) du``,
and the models it refuses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.errors import SpecError

PRIORS = {
    "Intercept": hb.Prior("Normal", mu=0, sigma=5),
    "b": hb.Prior("Normal", mu=0, sigma=2),
    "sd": hb.Prior("Exponential", lam=1),
    "sigma": hb.Prior("Exponential", lam=1),
}


def _data(seed: int = 2, n: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g, h, x = rng.integers(0, 6, n), rng.integers(0, 3, n), rng.normal(size=n)
    y = 1 + 0.5 * x + rng.normal(0, 1, 6)[g] + rng.normal(0, 1, n)
    return pd.DataFrame({
        "y": y, "x": x, "g": g.astype(str), "h": h.astype(str),
        "pass": (y > 1).astype(int), "w": rng.uniform(0.5, 3.0, n),
        "w2": (0.5 + 0.4 * g).astype(float),
    })


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


@pytest.mark.parametrize("scaling", ["none", "size"])
def test_pml_log_density_is_the_weighted_integrated_likelihood(scaling):
    df = _data()
    model = hb.Model("y ~ x + (1|g)", df, weights="w", group_weights={"g": "w2"}, weight_scaling=scaling,
                     weight_method="pml", priors=PRIORS)
    compiled = model.compile()
    assert compiled.parameterization == {"g": "marginal"}
    pm_model = compiled.model
    point = {k: v + 0.3 for k, v in pm_model.initial_point().items()}
    values = pm_model.compile_fn(
        [pm_model[n] for n in ("loglik_y", "Intercept", "b", "sigma", "sd_g")],
        inputs=pm_model.value_vars, on_unused_input="ignore", mode="FAST_COMPILE",
    )(point)
    potential, intercept, b, sigma, sd = (np.ravel(v) for v in values)
    block = model.design.groups[0]
    w2 = block.prior_weights
    a = model.design.row_weights / w2[block.codes]  # level-1 weights (scaled), conditional on the group
    eta = intercept[0] + b[0] * df["x"].to_numpy()
    expected = _pml_by_hand(df["y"].to_numpy(), eta, a, block.codes, w2, sigma[0], sd[0])
    assert float(potential[0]) == pytest.approx(expected, rel=1e-10, abs=1e-8)


def test_pml_differs_from_the_pseudo_posterior():
    df = _data()
    kw = {"weights": "w", "group_weights": {"g": "w2"}, "priors": PRIORS}
    pp = hb.Model("y ~ x + (1|g)", df, **kw).compile().model
    pml = hb.Model("y ~ x + (1|g)", df, weight_method="pml", **kw).compile().model
    point = {k: v + 0.3 for k, v in pp.initial_point().items()}
    assert pp.compile_logp(mode="FAST_COMPILE")(point) != pytest.approx(pml.compile_logp(mode="FAST_COMPILE")(point))


def test_unknown_weight_method():
    with pytest.raises(SpecError, match=r"weight_method='ml': valid values are \['pseudo-posterior', 'pml'\]"):
        hb.Model("y ~ x + (1|g)", _data(), group_weights={"g": "w2"}, weight_method="ml")


def test_pml_needs_level2_weights():
    with pytest.raises(SpecError, match="weight_method='pml'.*no group_weights"):
        hb.Model("y ~ x + (1|g)", _data(), weights="w", weight_method="pml")


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
    command = "mixed y x [pw=w] || g:, pweight(w2)"
    assert hb.Model(hb.from_stata(command), _data(), priors=PRIORS).spec.weight_method == "pseudo-posterior"
    model = hb.Model(hb.from_stata(command), _data(), priors=PRIORS, weight_method="pml")
    assert model.spec.weight_method == "pml"
    assert model.compile().parameterization == {"g": "marginal"}


@pytest.mark.slow  # ~30 s of cold compilation
def test_sandwich_cluster_terms_are_the_pml_groups():
    """The interval adjustment's per-group terms (results/weights_adjust.py) sum to the PML
    log-likelihood the sampler sees."""
    from hierbayes.results.weights_adjust import _cluster_loglik, _Parameters

    df = _data()
    model = hb.Model("y ~ x + (1|g)", df, weights="w", group_weights={"g": "w2"}, weight_method="pml", priors=PRIORS)
    pm_model = model.compile().model
    point = {k: v + 0.3 for k, v in pm_model.initial_point().items()}
    values = pm_model.compile_fn(
        [pm_model[n] for n in ("loglik_y", "Intercept", "b", "sigma", "sd_g")],
        inputs=pm_model.value_vars, on_unused_input="ignore",
    )(point)
    potential, intercept, b, sigma, sd = (np.ravel(v) for v in values)
    fit = model.fit(draws=5, chains=1, random_seed=1, progressbar=False, backend="prior")
    design = model.design
    theta = np.concatenate([intercept, b, np.log(sigma), np.log(sd)])
    par = _Parameters(fit.posterior, design)
    groups = _cluster_loglik(theta, par, design, np.asarray(design.y), design.row_weights, design.groups[0].prior_weights)
    assert float(potential[0]) == pytest.approx(groups.sum(), rel=1e-9)
