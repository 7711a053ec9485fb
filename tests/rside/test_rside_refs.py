"""Checks of the R-side structure references themselves (no hierbayes import).

Given the variance parameters a reference reports (random-intercept sd, residual sd, AR(1) phi,
exponential range, sd ratios, unstructured correlations), the REML fixed effects are the GLS
estimates under the implied marginal covariance, and their SEs come from (X' V^-1 X)^-1. Checking
both here, from the CSV alone, pins down what each structure parameter means (which time index,
which level is the reference of a ratio, which sd residual_sd is) before a hierbayes fit is
compared with them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

HERE = Path(__file__).parent


def load(name: str) -> tuple[dict, pd.DataFrame]:
    ref = json.loads((HERE / "refs" / f"{name}.json").read_text())
    return ref, pd.read_csv(HERE / "data" / f"{name}.csv")


def design(data: pd.DataFrame, terms: list[str]) -> np.ndarray:
    """Design columns for hierbayes' term names (``Intercept``, ``x``, ``f[level]``, ``a:b``)."""
    cols = []
    for term in terms:
        col = np.ones(len(data))
        if term != "Intercept":
            for part in term.split(":"):
                if "[" in part:
                    var, level = part[:-1].split("[")
                    col = col * (data[var].astype(str) == level).to_numpy(float)
                else:
                    col = col * data[part].to_numpy(float)
        cols.append(col)
    return np.column_stack(cols)


def block_covariance(name: str, ref: dict, rows: pd.DataFrame) -> np.ndarray:
    """The marginal covariance of one subject's rows implied by the reference's parameters."""
    sigma, st = ref["residual_sd"], ref["structure"]
    re_var = ref["random_effects"][0]["sd"] ** 2 if ref["random_effects"] else 0.0
    if name == "ovary_ar1":
        t = rows["t"].to_numpy(float)
        resid = sigma**2 * st["phi"] ** np.abs(np.subtract.outer(t, t))
    elif name == "orthodont_ar1":  # nlme's corAR1 over age: phi^|age_i - age_j| (lags 2, 4, 6)
        t = rows["age"].to_numpy(float)
        resid = sigma**2 * st["phi"] ** np.abs(np.subtract.outer(t, t))
    elif name == "bodyweight_exp":
        t = rows["Time"].to_numpy(float)
        resid = sigma**2 * np.exp(-np.abs(np.subtract.outer(t, t)) / st["range"])
    elif name == "orthodont_varident":
        sd = rows["Sex"].map(st["residual_sd_by_level"]).to_numpy(float)
        resid = np.diag(sd**2)
    else:
        v = rows["visit"].to_numpy(int) - 1
        resid = np.asarray(st["covariance_matrix"])[np.ix_(v, v)]
    return resid + re_var


@pytest.mark.parametrize(
    "name", ["ovary_ar1", "orthodont_varident", "orthodont_unstructured", "bodyweight_exp", "orthodont_ar1"]
)
def test_fixed_effects_are_gls_under_the_reported_covariance(name):
    ref, data = load(name)
    assert len(data) == ref["n_obs"]
    terms = [f["term"] for f in ref["fixed_effects"]]
    group = ref["structure"].get("group") or ref["random_effects"][0]["group"]
    y_col = ref["call"].split("(")[1].split("~")[0].strip()
    xtvx = np.zeros((len(terms), len(terms)))
    xtvy = np.zeros(len(terms))
    for _, rows in data.groupby(group, sort=False):
        x = design(rows, terms)
        v_inv = np.linalg.inv(block_covariance(name, ref, rows))
        xtvx += x.T @ v_inv @ x
        xtvy += x.T @ v_inv @ rows[y_col].to_numpy(float)
    cov = np.linalg.inv(xtvx)
    np.testing.assert_allclose(cov @ xtvy, [f["estimate"] for f in ref["fixed_effects"]],
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), [f["se"] for f in ref["fixed_effects"]],
                               rtol=1e-6)


def test_orthodont_ar1_sign_is_not_identified():
    """nlme reports phi and -phi with one log-likelihood (every lag over age is even), and its
    default start (phi = 0) stays at the independence fit."""
    st = load("orthodont_ar1")[0]["structure"]
    assert st["start_minus"]["phi"] == pytest.approx(-st["phi"], rel=1e-8)
    assert st["start_minus"]["logLik"] == pytest.approx(load("orthodont_ar1")[0]["logLik"], rel=1e-10)
    assert st["default_start"]["phi"] == 0.0
    assert st["default_start"]["logLik"] < load("orthodont_ar1")[0]["logLik"] - 10


def test_unstructured_summaries_are_consistent():
    ref, _ = load("orthodont_unstructured")
    st = ref["structure"]
    cor = np.asarray(st["correlation_matrix"])
    pairs = [c["corr"] for c in st["correlations"]]
    assert st["mean_correlation"] == pytest.approx(np.mean(pairs))
    np.testing.assert_allclose(cor[np.triu_indices(4, 1)], pairs)
    sd = np.asarray(st["sd_by_visit"])
    assert sd[0] == pytest.approx(ref["residual_sd"])
    np.testing.assert_allclose(sd / sd[0], [st["sd_ratio"][str(v)] for v in range(1, 5)])
    np.testing.assert_allclose(np.asarray(st["covariance_matrix"]), cor * np.outer(sd, sd))
