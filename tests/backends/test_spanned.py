"""A no-intercept model whose fixed columns span an intercept (backends/pymc/spanned.py): the
transform is linear with a constant log-Jacobian, a group term carrying the location is the
model whose effects are drawn around 0 at corresponding points, and such a model converges
where it did not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm
import pytest
from conftest import fit_quiet
from pymc_checks import jax_function, random_points

import hierbayes as hb
from hierbayes.backends.pymc import compile as compile_module
from hierbayes.backends.pymc.compile import compile_model
from hierbayes.backends.pymc.spanned import spanned_location


def cells(n_groups: int = 30, per: int = 20, seed: int = 3) -> pd.DataFrame:
    """A bernoulli outcome with a 3-level factor (one column per level without an intercept),
    a covariate and a group intercept."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_groups), per)
    f = rng.choice(["a", "b", "c"], size=len(g))
    x = rng.normal(2.0, 1.0, size=len(g))
    eta = 0.5 + np.select([f == "a", f == "b"], [0.0, 0.7], -0.5) + 0.4 * (x - 2.0) + rng.normal(0, 1.0, n_groups)[g]
    y = rng.binomial(1, 1 / (1 + np.exp(-eta)))
    return pd.DataFrame({"y": y, "f": f, "x": x, "w": rng.integers(1, 4, len(g)), "g": [f"g{k}" for k in g]})


@pytest.mark.parametrize("weights", [False, True])
def test_the_basis_spans_the_ones_and_whitens_the_centred_columns(weights):
    df = cells()
    model = hb.Model("y ~ 0 + f + x + (1 | g)", df, family="bernoulli", weights="w" if weights else None)
    span = spanned_location(model.design, model.priors)
    assert span is not None and span.variable == "b__z"  # the joint default prior
    w, P = span.basis[:, 0], span.basis[:, 1:]
    assert np.allclose(span.M @ w, 1.0)
    row_w = model.design.row_weights if weights else np.ones(len(df))
    centred = span.M @ P - span.xbar
    assert np.allclose(row_w @ centred, 0.0, atol=1e-9)
    assert np.allclose(centred.T @ (row_w[:, None] * centred) / row_w.sum(), np.eye(P.shape[1]))


def test_the_transform_is_linear_with_a_constant_log_jacobian():
    span = spanned_location(*_design_priors("y ~ 0 + f + x + (1 | g)"))
    transform = span.transform()
    with pm.Model() as spanned:
        pm.Normal("t", 0.0, 2.0, shape=4, transform=transform)
    with pm.Model() as plain:
        pm.Normal("t", 0.0, 2.0, shape=4)
    logp_spanned, logp_plain = spanned.compile_logp(), plain.compile_logp()
    log_det = np.linalg.slogdet(span.basis)[1]
    rng = np.random.default_rng(1)
    for _ in range(4):
        t = rng.normal(0.0, 2.0, size=4)
        value = transform.forward(t).eval()
        assert np.allclose(transform.backward(value).eval(), t)
        # the first coordinate is the location at the columns' centre: M t there
        assert value[0] == pytest.approx(np.average(span.M @ t))
        assert logp_spanned({"t_spanned__": value}) == pytest.approx(logp_plain({"t": t}) + log_det, rel=1e-12)


def _design_priors(formula: str, **kwargs):
    model = hb.Model(formula, cells(), family="bernoulli", **kwargs)
    return model.design, model.priors


@pytest.mark.parametrize("priors,variable", [(None, "b__z"), ({"b": hb.Prior("Normal", mu=0, sigma=3)}, "b")])
def test_the_holder_carrying_the_location_is_a_shift(priors, variable, monkeypatch):
    """At corresponding points (``re_g`` read off the spanned model) the log density is the
    one of the model whose effects are drawn around 0, up to the constant log-Jacobian."""
    design, resolved = _design_priors("y ~ 0 + f + x + (1 | g)", priors=priors)
    plan = {"g": "centered"}
    spanned = compile_model(design, resolved, plan, likelihood_form="rows")
    m = spanned.model
    names = {v.name for v in m.value_vars}
    assert {"re_g__total", f"{variable}_spanned__"} <= names and "re_g" not in names
    with monkeypatch.context() as patch:
        patch.setattr(compile_module, "intercept_holder", lambda *a: None)
        plain = compile_model(design, resolved, plan, likelihood_form="rows")
    assert {"re_g", variable} <= {v.name for v in plain.model.value_vars}
    f_spanned = jax_function(m, [m.logp(), m["re_g"], m[variable], m["b"]])
    f_plain = jax_function(plain.model, [plain.model.logp(), plain.model["b"]])
    log_det = np.linalg.slogdet(spanned_location(design, resolved).basis)[1]
    rng = np.random.default_rng(5)
    for point in random_points(m, rng, n=4):
        lp, effects, t, b = f_spanned(*point)
        values = dict(zip([v.name for v in m.value_vars], point))
        values.update({"re_g": effects, variable: t})
        plain_lp, plain_b = f_plain(*[values[v.name] for v in plain.model.value_vars])
        assert lp == pytest.approx(plain_lp + log_det, rel=1e-10)
        assert np.allclose(b, plain_b)
    assert not np.allclose(effects, values["re_g__total"])  # the shift is real


@pytest.mark.parametrize("formula,kwargs", [
    ("y ~ f + x + (1 | g)", {}),  # an intercept: the usual holder
    ("y ~ 0 + x + (1 | g)", {}),  # one column, no intercept in its span
    ("y ~ 0 + x + I(x ** 2) + (1 | g)", {}),  # columns that do not span one
    ("y ~ 0 + f + x + (1 | g)", {"priors": {"b:x": hb.Prior("StudentT", nu=3, mu=0, sigma=2)}}),  # two variables
])
def test_models_without_a_spanned_location(formula, kwargs):
    assert spanned_location(*_design_priors(formula, **kwargs)) is None


@pytest.mark.slow
def test_a_cell_means_glmm_converges_with_defaults():
    """Before the location: min bulk ESS 1,533 at this seed (the factor's coefficients,
    trading against the group effects' mean); with it 4,183."""
    fit = fit_quiet(hb.Model("y ~ 0 + f + x + (1 | g)", cells(n_groups=40, per=30), family="bernoulli"),
                    random_seed=1, draws=1000, tune=1000)  # the defaults
    d = fit.diagnostics
    assert d.divergences == 0 and d.max_r_hat <= 1.01 and d.min_ess_bulk >= 2000


def test_the_start_jitter_names_the_spanned_value_variable():
    """A long-tailed column narrows the joint prior's start jitter (fixed.start_jitter); under
    the location its value variable is ``b__z_spanned__`` and keeps the narrowed width."""
    df = cells().assign(big=lambda d: np.exp(2.0 * (d["x"] - 2.0)))
    compiled = compile_model(*_design_priors_of(df, "y ~ 0 + f + big + (1 | g)"), {"g": "centered"})
    assert "b__z_spanned__" in {v.name for v in compiled.model.value_vars}
    assert set(compiled.start_jitter) == {"b__z_spanned__"} and 0 < compiled.start_jitter["b__z_spanned__"] < 1


def _design_priors_of(df: pd.DataFrame, formula: str):
    model = hb.Model(formula, df, family="bernoulli")
    return model.design, model.priors
