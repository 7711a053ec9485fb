"""The R-side likelihood: the whitened (Markov) route equals the dense Cholesky route, and
both equal the multivariate normal density computed directly."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import pytest
from scipy.stats import multivariate_normal

import hierbayes as hb
from hierbayes.backends.pymc.rside import residual_loglik


def _data() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    rows = [(f"g{j}", t, "a" if j % 2 else "b") for j in range(5) for t in (1, 2, 4, 5, 9)[: 3 + j % 3]]
    df = pd.DataFrame(rows, columns=["g", "t", "arm"])
    df["x"] = rng.normal(size=len(df))
    df["y"] = rng.normal(size=len(df))
    return df


def _loglik(rd, resid, Z, dense: bool, values: dict) -> float:
    if dense:
        rd = dataclasses.replace(rd, kind=dataclasses.replace(rd.kind, lag_correlation=None))
    with pm.Model() as model:
        value = residual_loglik(pt.as_tensor(resid), rd, pt.as_tensor(1.3), pt.as_tensor(np.array([[0.8, 0.0], [0.3, 0.5]])), Z)
    point = model.initial_point()
    point.update(values)
    expr = model.replace_rvs_by_values([value])[0]
    return float(model.compile_fn(expr, inputs=model.value_vars, point_fn=True, mode="FAST_COMPILE")(point))


def _direct(df, rd, resid, Z, corr) -> float:
    L = np.array([[0.8, 0.0], [0.3, 0.5]])
    total = 0.0
    for j in range(rd.n_groups):
        rows = rd.rows[j][rd.mask[j]]
        t = df["t"].to_numpy(float)[rows]
        sd = 1.3 * np.ones(len(rows))
        V = np.outer(sd, sd) * corr(np.abs(t[:, None] - t[None, :])) + Z[rows] @ L @ L.T @ Z[rows].T
        total += multivariate_normal(np.zeros(len(rows)), V).logpdf(resid[rows])
    return total


@pytest.mark.parametrize("kind, param, raw, corr", [
    ("ar1", "ar1_phi_interval__", 0.9, lambda d: (np.tanh(0.45)) ** d),
    ("exp", "exp_range_log__", np.log(3.0), lambda d: np.exp(-d / 3.0)),
])
def test_markov_route_equals_dense_and_direct(kind, param, raw, corr):
    df = _data()
    m = hb.Model("y ~ x + (1 + x | g)", df, residuals=hb.residuals(kind, time="t"))
    rd = m.design.residuals
    resid = np.random.default_rng(1).normal(size=len(df))
    Z = m.design.groups[0].X
    markov = _loglik(rd, resid, Z, False, {param: raw})
    dense = _loglik(rd, resid, Z, True, {param: raw})
    assert markov == pytest.approx(dense, rel=1e-9)
    assert markov == pytest.approx(_direct(df, rd, resid, Z, corr), rel=1e-9)


def test_dense_route_equals_direct_for_arma():
    df = _data()
    m = hb.Model("y ~ x + (1 + x | g)", df, residuals=hb.residuals("arma11", time="t"))
    rd = m.design.residuals
    resid = np.random.default_rng(2).normal(size=len(df))
    phi, theta = np.tanh(0.3), np.tanh(-0.2)  # interval transform of (-1, 1) at 0.6 and -0.4

    def corr(d):
        lag1 = (1 + phi * theta) * (phi + theta) / (1 + 2 * phi * theta + theta**2)
        return np.where(d == 0, 1.0, lag1 * phi ** np.maximum(d - 1, 0))

    value = _loglik(rd, resid, m.design.groups[0].X, True, {"arma_phi_interval__": 0.6, "arma_theta_interval__": -0.4})
    assert value == pytest.approx(_direct(df, rd, resid, m.design.groups[0].X, corr), rel=1e-9)
