"""Parameter recovery on simulated data for each covariance structure.

Each test simulates from known values, fits, and requires every hyperparameter's true
value inside its 99% posterior interval (a fixed seed keeps the check deterministic; with
~8 checked quantities a correct sampler fails such a check about 8% of the time per seed,
so a failure here is worth a look, and persistent failures across seeds are a bug).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import fit_quiet

import hierbayes as hb


def simulate(cov: np.ndarray, beta: np.ndarray, sigma: float, J: int = 40, n: int = 15, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    K = cov.shape[0]
    u = rng.multivariate_normal(np.zeros(K), cov, size=J)
    g = np.repeat(np.arange(J), n)
    X = np.column_stack([np.ones(J * n), rng.normal(size=(J * n, K - 1))])
    y = X @ beta + np.einsum("nk,nk->n", X, u[g]) + rng.normal(0, sigma, J * n)
    df = pd.DataFrame(X[:, 1:], columns=[f"x{k}" for k in range(1, K)])
    df["y"] = y
    df["g"] = pd.Categorical([f"g{j:02d}" for j in g])
    return df


def inside(table: pd.DataFrame, key: tuple[str, str], value: float) -> None:
    row = table.set_index(["group", "term"]).loc[key]
    assert row["lower"] <= value <= row["upper"], f"{key}: {value} outside [{row['lower']:.3f}, {row['upper']:.3f}]"


def fixed_inside(fit, beta: np.ndarray) -> None:
    fe = fit.fixef(prob=0.99)
    for term, value in zip(["Intercept", "x1", "x2"], beta):
        if term in fe.index:
            assert fe.loc[term, "lower"] <= value <= fe.loc[term, "upper"], term


@pytest.mark.slow
def test_unstructured_recovery():
    sd = np.array([1.0, 0.5, 0.8])
    cor = np.array([[1, 0.5, -0.3], [0.5, 1, 0.2], [-0.3, 0.2, 1]])
    df = simulate(np.outer(sd, sd) * cor, np.array([2.0, 1.0, -0.5]), 1.0, seed=11)
    fit = fit_quiet(hb.Model("y ~ x1 + x2 + (x1 + x2 | g)", data=df))
    vc = fit.varcorr(prob=0.99)
    for name, value in zip(["Intercept", "x1", "x2"], sd):
        inside(vc, ("g", f"sd({name})"), value)
    inside(vc, ("g", "cor(Intercept,x1)"), 0.5)
    inside(vc, ("g", "cor(Intercept,x2)"), -0.3)
    inside(vc, ("Residual", "sd(Residual)"), 1.0)
    fixed_inside(fit, np.array([2.0, 1.0, -0.5]))


@pytest.mark.slow
def test_independent_recovery():
    sd = np.array([1.2, 0.6])
    df = simulate(np.diag(sd**2), np.array([1.0, 0.5]), 0.7, seed=12)
    fit = fit_quiet(hb.Model("y ~ x1 + (x1 || g)", data=df))
    vc = fit.varcorr(prob=0.99)
    assert not any(vc["term"].str.startswith("cor")), "independent blocks have no correlation"
    inside(vc, ("g", "sd(Intercept)"), 1.2)
    inside(vc, ("g", "sd(x1)"), 0.6)
    inside(vc, ("Residual", "sd(Residual)"), 0.7)
    fixed_inside(fit, np.array([1.0, 0.5]))


@pytest.mark.slow
def test_identity_recovery():
    df = simulate(np.eye(2) * 0.8**2, np.array([1.0, 0.5]), 0.7, seed=13)
    fit = fit_quiet(hb.Model("y ~ x1 + (x1 | g)", data=df, covariance={"g": "identity"}))
    assert fit.spec.groups[0].covariance is hb.Covariance.IDENTITY
    vc = fit.varcorr(prob=0.99)
    sds = vc[vc["group"] == "g"]
    # one shared sd: both rows report the same draws
    assert sds["mean"].nunique() == 1
    inside(vc, ("g", "sd(x1)"), 0.8)
    fixed_inside(fit, np.array([1.0, 0.5]))


@pytest.mark.slow
def test_exchangeable_recovery():
    K, s, rho = 3, 0.9, 0.4
    cov = s**2 * ((1 - rho) * np.eye(K) + rho * np.ones((K, K)))
    df = simulate(cov, np.array([0.0, 1.0, 1.0]), 0.8, seed=14)
    fit = fit_quiet(hb.Model("y ~ x1 + x2 + (x1 + x2 | g)", data=df, covariance={"g": "exchangeable"}))
    vc = fit.varcorr(prob=0.99)
    cors = vc[vc["term"].str.startswith("cor")]
    assert len(cors) == 3 and cors["mean"].nunique() == 1, "one common correlation"
    inside(vc, ("g", "sd(Intercept)"), s)
    inside(vc, ("g", "cor(Intercept,x1)"), rho)
    inside(vc, ("Residual", "sd(Residual)"), 0.8)


def test_covariance_error_names_valid_structures():
    df = simulate(np.eye(2), np.array([1.0, 0.5]), 0.7)
    with pytest.raises(hb.SpecError, match="valid"):
        hb.Model("y ~ x1 + (x1 | g)", data=df, covariance={"g": "toeplitz"})
    with pytest.raises(hb.SpecError, match="not a grouping factor"):
        hb.Model("y ~ x1 + (x1 | g)", data=df, covariance={"school": "identity"})
