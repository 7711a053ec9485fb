"""Censoring and truncation with other group structures than one random intercept (issue 16:
"both work with every group structure"): correlated random slopes, crossed and nested
factors, independent slopes (``||``) and a registered covariance structure.

Fast: each structure builds and compiles with censored and truncated rows, and its log
density and gradient are finite at jittered start points. Slow: a right-censored weibull
model with a correlated random slope and a crossed factor recovers its truth.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import special

import hierbayes as hb


def frame(seed: int = 3, groups: int = 30, per: int = 12, crossed: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = groups * per
    return pd.DataFrame({
        "g": np.repeat([f"g{j:02d}" for j in range(groups)], per),
        "h": [f"h{j}" for j in rng.integers(0, crossed, n)],
        "s": np.tile([f"s{j}" for j in range(3)], n // 3),
        "x": rng.normal(size=n),
    })


WEIBULL, GAUSSIAN = ("weibull", "y | cens(c)"), ("gaussian", "y | cens(c, y2) + trunc(lb = -8)")
STRUCTURES = [
    ("(1 + x | g)", None, *WEIBULL),
    ("(1 | g) + (1 | h)", None, *GAUSSIAN),
    ("(1 | g/s)", None, *WEIBULL),
    ("(1 + x || g)", None, *GAUSSIAN),
    ("(1 + x | g)", {"g": "exchangeable"}, *WEIBULL),
]


@pytest.mark.parametrize(("groups", "covariance", "family", "lhs"), [
    # the first (a correlated weibull slope) compiles for 10 s cold: in the slow suite
    pytest.param(*s, id=f"{s[2]} {s[0]}" + (" exchangeable" if s[1] else ""), marks=[pytest.mark.slow] if i == 0 else [])
    for i, s in enumerate(STRUCTURES)])
def test_structure_compiles_with_censored_rows(groups, covariance, family, lhs) -> None:
    import pytensor

    from hierbayes.backends.pymc.compile import compile_model
    from hierbayes.backends.pymc.nuts_setup import jittered_unconstrained, python_mode, start_point

    df = frame()
    rng = np.random.default_rng(1)
    df["y"] = np.exp(rng.normal(size=len(df))) if family == "weibull" else rng.normal(size=len(df))
    df["c"] = rng.choice(["none", "right", "left", "interval"] if family == "gaussian" else ["none", "right"], len(df))
    df["y2"] = np.where(df["c"] == "interval", df["y"] + 1.0, np.nan)
    model = hb.Model(f"{lhs} ~ x + {groups}", df, family=family, covariance=covariance)
    counts = model.design.censoring.counts()
    assert counts["none"] > 0 and counts["right"] > 0
    pm_model = compile_model(model.design, model.priors).model
    logp = pm_model.logp()
    check = pytensor.function(pm_model.value_vars, [logp, *pytensor.grad(logp, pm_model.value_vars)], mode=python_mode())
    starts = jittered_unconstrained(start_point(pm_model), 3, 1)
    for chain in range(3):
        value, *grads = check(*(s[chain] for s in starts))
        assert np.isfinite(value) and all(np.all(np.isfinite(g)) for g in grads)


@pytest.mark.slow
def test_weibull_with_a_random_slope_and_a_crossed_factor_recovers_its_truth() -> None:
    df = frame(seed=5, groups=40, per=15, crossed=10)
    rng = np.random.default_rng(8)
    shape, sd_g, sd_x, rho, sd_h = 1.5, 0.5, 0.3, 0.4, 0.3
    cov = np.array([[sd_g**2, rho * sd_g * sd_x], [rho * sd_g * sd_x, sd_x**2]])
    u = rng.multivariate_normal([0.0, 0.0], cov, 40)
    v = rng.normal(0.0, sd_h, 10)
    g = df["g"].str[1:].astype(int).to_numpy()
    h = df["h"].str[1:].astype(int).to_numpy()
    eta = 0.8 + 0.5 * df["x"].to_numpy() + u[g, 0] + u[g, 1] * df["x"].to_numpy() + v[h]
    t = np.exp(eta - special.gammaln(1.0 + 1.0 / shape)) * rng.weibull(shape, len(df))  # brms' mean scale
    follow_up = 4.0
    df["y"] = np.minimum(t, follow_up)
    df["c"] = np.where(t > follow_up, "right", "none")
    assert 0.1 < (df["c"] == "right").mean() < 0.4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = hb.Model("y | cens(c) ~ x + (1 + x | g) + (1 | h)", df, family="weibull").fit(
            draws=400, tune=400, chains=2, random_seed=2, progressbar=False)
    post = fit.posterior
    assert fit.diagnostics.divergences <= 4
    # the sds against those of the effects drawn (one data set: 40 and 10 levels pin those down,
    # not the population values)
    checks = [(0.5, post["b"].values.reshape(-1)), (shape, post["shape"].values.reshape(-1)),
              (v.std(), post["sd_h"].values.reshape(-1))]
    sd_g_draws = post["sd_g"].transpose("chain", "draw", "g__term").values.reshape(-1, 2)  # Intercept, x
    checks += [(u[:, 0].std(), sd_g_draws[:, 0]), (u[:, 1].std(), sd_g_draws[:, 1])]
    for truth, draws in checks:
        lo, hi = np.quantile(draws, [0.005, 0.995])
        assert lo < truth < hi, (truth, lo, hi)
