"""The adaptive parameterization (backends/pymc/adaptive.py): exactly the model
``u_j ~ N(0, tau^2)`` in other coordinates, chosen where it applies, refused where it does not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.backends.pymc.adaptive import effect_precision
from hierbayes.backends.pymc.centring import crossed_interactions
from hierbayes.errors import SpecError

PRIORS = {
    "Intercept": hb.Prior("Normal", mu=0, sigma=5),
    "b": hb.Prior("Normal", mu=0, sigma=2),
    "sd": hb.Prior("Exponential", lam=1),
    "sigma": hb.Prior("Exponential", lam=1),
}


def _data(seed: int = 2, n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g, h, x = rng.integers(0, 6, n), rng.integers(0, 3, n), rng.normal(size=n)
    eta = 0.5 + 0.4 * x + rng.normal(0, 0.7, 6)[g] + rng.normal(0, 0.3, 3)[h]
    y = eta + rng.normal(0, 1, n)
    return pd.DataFrame({"y": y, "c": rng.poisson(np.exp(eta)), "x": x, "g": g.astype(str), "h": h.astype(str)})


@pytest.mark.parametrize("family, formula", [("poisson", "c ~ x + (1|g)"), ("gaussian", "y ~ x + (1|g) + (1|h)")])
def test_adaptive_is_the_centred_model_in_other_coordinates(family, formula):
    """``u = sd z / s_j`` adaptive and ``u = sd z'`` non-centred, ``s_j = sqrt(1 + P_j sd^2)``:
    log p_adaptive(z) = log p_noncentred(z / s) - sum_j log s_j at any point."""
    df = _data()
    plan = {"g": "adaptive"} if family == "poisson" else {"g": "adaptive", "h": "marginal"}
    priors = {k: v for k, v in PRIORS.items() if family == "gaussian" or k != "sigma"}
    adaptive = hb.Model(formula, df, family=family, priors=priors, parameterization=plan).compile()
    plain = hb.Model(formula, df, family=family, priors=priors,
                     parameterization={**plan, "g": "noncentered"}).compile()
    assert adaptive.parameterization["g"] == "adaptive"
    point = {k: v + 0.3 + 0.1 * np.arange(np.size(v)).reshape(np.shape(v))
             for k, v in adaptive.model.initial_point().items()}
    sd = float(np.exp(point["sd_g_log__"]).ravel()[0])
    design = hb.Model(formula, df, family=family).design
    link = "log" if family == "poisson" else "identity"
    precision = effect_precision(design.groups[0], design, link)
    spread = np.sqrt(1.0 + precision * sd**2)
    z = np.asarray(point["z_g"])
    other = dict(point, z_g=(z.ravel() / spread).reshape(z.shape))
    left = adaptive.model.compile_logp(mode="FAST_COMPILE")(point)
    right = plain.model.compile_logp(mode="FAST_COMPILE")(other)
    assert left == pytest.approx(right - float(np.sum(np.log(spread))), rel=1e-10)


def test_precision_is_the_summed_working_weight_of_a_fixed_effects_fit():
    """Poisson, log link: the IRLS weight of a row is its fitted mean, so a group's precision
    is the sum of the fitted means of a fixed-effects-only poisson fit over its rows."""
    df = _data()
    design = hb.Model("c ~ x + (1|g)", df, family="poisson").design
    precision = effect_precision(design.groups[0], design, "log")
    X = np.column_stack([np.ones(len(df)), df["x"]])
    beta = np.array([np.log(df["c"].mean() + 0.5), 0.0])
    for _ in range(50):  # Newton on the poisson log-likelihood
        mu = np.exp(X @ beta)
        beta = beta + np.linalg.solve(X.T @ (X * mu[:, None]), X.T @ (df["c"] - mu))
    expected = pd.Series(np.exp(X @ beta)).groupby(df["g"].to_numpy()).sum()
    assert precision == pytest.approx(expected.reindex(design.groups[0].levels).to_numpy(), rel=1e-6)


def test_gaussian_precision_is_rows_over_the_within_group_variance():
    df = _data()
    design = hb.Model("y ~ x + (1|g)", df).design
    precision = effect_precision(design.groups[0], design, "identity")
    X = np.column_stack([np.ones(len(df)), df["x"]])
    resid = df["y"] - X @ np.linalg.lstsq(X, df["y"], rcond=None)[0]
    within = resid - resid.groupby(df["g"]).transform("mean")
    sigma2 = float(np.sum(within**2)) / (len(df) - 6)
    counts = df.groupby("g").size().reindex(design.groups[0].levels).to_numpy()
    assert precision == pytest.approx(counts / sigma2, rel=1e-10)


def test_the_default_plan_is_adaptive_where_it_applies_and_what_was_asked_elsewhere():
    df = _data()
    chosen = hb.Model("c ~ x + (1|g) + (x|h)", df, family="poisson").compile().parameterization
    assert chosen["g"] == "adaptive" and chosen["h"] in ("centered", "noncentered")
    asked = hb.Model("c ~ x + (1|g)", df, family="poisson", parameterization={"g": "noncentered"}).compile()
    assert asked.parameterization["g"] == "noncentered"


def test_adaptive_is_refused_for_a_correlated_term_naming_it():
    model = hb.Model("c ~ x + (x|h)", _data(), family="poisson", parameterization={"h": "adaptive"})
    with pytest.raises(SpecError, match=r"'adaptive' for 'h'.*one-column term"):
        model.compile()


def _cells(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 400
    a, b, c = rng.integers(0, 4, n), rng.integers(0, 5, n), rng.integers(0, 6, n)
    eta = rng.normal(0, 0.5, 4)[a] + rng.normal(0, 0.5, 5)[b] + rng.normal(0, 0.3, 20)[a * 5 + b]
    return pd.DataFrame({"y": (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(int),
                         "a": a.astype(str), "b": b.astype(str), "c": c.astype(str)})


def test_a_crossed_interaction_is_adaptive_not_drawn_around_a_parent():
    """``(1|a:b)`` is nested in ``a`` and in ``b``, which are crossed: adaptive, and no term is
    drawn around a parent; a chain ``(1|a/c)`` is not a crossed interaction; what the user
    asks for is kept."""
    df = _cells()
    crossed = hb.Model("y ~ (1|a) + (1|b) + (1|a:b)", df, family="bernoulli")
    assert crossed_interactions(crossed.design) == [2]
    plan = crossed.compile().parameterization
    assert plan["a_b"] == "adaptive" and "nested" not in plan.values()
    asked = hb.Model("y ~ (1|a) + (1|b) + (1|a:b)", df, family="bernoulli",
                     parameterization={"a:b": "noncentered"}).compile().parameterization
    assert asked["a_b"] == "noncentered"
    chain = hb.Model("y ~ (1|a) + (1|a:c) + (1|a:c:b)", df, family="bernoulli")
    assert crossed_interactions(chain.design) == []
