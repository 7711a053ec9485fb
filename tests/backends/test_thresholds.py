"""The ordinal thresholds as a location and centred gaps (backends/pymc/thresholds.py): the
same prior as PyMC's ordered transform at mapped points, and a group term carrying the
location (the intercept holder) is a shift of the model whose effects are drawn around 0."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm
import pytest
from pymc_checks import jax_function, random_points

import hierbayes as hb
from hierbayes.backends.pymc import compile as compile_module
from hierbayes.backends.pymc.compile import compile_model
from hierbayes.backends.pymc.thresholds import THRESHOLDS_C, located_ordered


def ordinal_crossed(n_subjects: int = 30, n_items: int = 8, seed: int = 3) -> pd.DataFrame:
    """Subjects x items with a subject-level and an item-level covariate, 4 ordered answers."""
    rng = np.random.default_rng(seed)
    subject = np.repeat(np.arange(n_subjects), n_items)
    item = np.tile(np.arange(n_items), n_subjects)
    anger = rng.normal(size=n_subjects)[subject]
    hard = (np.arange(n_items) % 3 == 0).astype(float)[item]
    eta = 0.5 * anger - 0.8 * hard + rng.normal(0, 1.0, n_subjects)[subject] + rng.normal(0, 0.5, n_items)[item]
    y = np.searchsorted([-1.0, 0.3, 1.5], eta + rng.logistic(size=len(eta)))
    return pd.DataFrame({"y": y, "anger": anger, "hard": hard, "x": rng.normal(size=len(y)),
                         "subject": [f"s{k}" for k in subject], "item": [f"i{k}" for k in item]})


@pytest.mark.parametrize("k", [1, 2, 4])
def test_located_ordered_has_the_ordered_transforms_density_at_mapped_points(k):
    mu = np.linspace(-1.0, 2.0, k)
    with pm.Model() as located:
        pm.Normal("c", mu=mu, sigma=2.0, shape=k, transform=located_ordered())
    with pm.Model() as ordered:
        pm.Normal("c", mu=mu, sigma=2.0, shape=k, transform=pm.distributions.transforms.ordered)
    transform, reference = located_ordered(), pm.distributions.transforms.ordered
    logp_located, logp_ordered = located.compile_logp(), ordered.compile_logp()
    rng = np.random.default_rng(k)
    for _ in range(4):
        c = np.sort(rng.normal(0.5, 1.5, size=k))
        y = transform.forward(c).eval()
        assert y[0] == pytest.approx(-c.mean())
        assert np.allclose(transform.backward(y).eval(), c)
        a = logp_located({located.value_vars[0].name: y})
        b = logp_ordered({ordered.value_vars[0].name: reference.forward(c).eval()})
        assert a == pytest.approx(b, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("link", ["logit", "probit"])
def test_the_holder_carrying_the_thresholds_location_is_a_shift(link, monkeypatch):
    """At corresponding points (``re_item`` read off the located model) the log density is the
    one of the model whose item effects are drawn around 0 and whose rows see the thresholds."""
    df = ordinal_crossed()
    model = hb.Model("y ~ anger + hard + x + (1 | subject) + (1 | item)", df, family="cumulative", link=link)
    plan = {"subject": "noncentered", "item": "centered"}
    located = compile_model(model.design, model.priors, plan, likelihood_form="rows")
    m = located.model
    names = {v.name for v in m.value_vars}
    assert "re_item__total" in names and "re_item" not in names  # item carries the location
    assert m.rvs_to_transforms[m[THRESHOLDS_C]].name == "located"
    with monkeypatch.context() as patch:
        patch.setattr(compile_module, "intercept_holder", lambda *a: None)
        plain = compile_model(model.design, model.priors, plan, likelihood_form="rows")
    assert "re_item" in {v.name for v in plain.model.value_vars}
    f_located = jax_function(m, [m.logp(), m["re_item"], m["Intercept"]])
    f_plain = jax_function(plain.model, [plain.model.logp(), plain.model["Intercept"]])
    rng = np.random.default_rng(5)
    for point in random_points(m, rng, n=4):
        lp, effects, thresholds = f_located(*point)
        values = dict(zip([v.name for v in m.value_vars], point))
        values["re_item"] = effects
        plain_lp, plain_thresholds = f_plain(*[values[v.name] for v in plain.model.value_vars])
        assert lp == pytest.approx(plain_lp, rel=1e-10)
        assert np.allclose(thresholds, plain_thresholds)
    # the shift is real: the located model's likelihood does not see the location
    assert not np.allclose(effects, values["re_item__total"])


def test_a_model_without_a_centred_intercept_term_keeps_its_thresholds_in_the_likelihood():
    df = ordinal_crossed()
    model = hb.Model("y ~ anger + (1 | subject) + (1 | item)", df, family="cumulative")
    compiled = compile_model(model.design, model.priors, "noncentered")
    names = {v.name for v in compiled.model.value_vars}
    assert {"z_subject", "z_item"} <= names and not any(n.endswith("__total") for n in names)
    assert np.isfinite(compiled.model.compile_logp()(compiled.model.initial_point()))
