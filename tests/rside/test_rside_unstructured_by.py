"""Unstructured residual covariance with ``by=``: a correlation matrix per level (per arm)
and a residual sd per (level, visit)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import pytest
from scipy.stats import multivariate_normal

import hierbayes as hb
from hierbayes.backends.pymc.rside import residual_loglik
from hierbayes.predict.rside_predict import row_sd_ratio

COR = {"a": np.array([[1, 0.7, 0.5], [0.7, 1, 0.7], [0.5, 0.7, 1]]),
       "b": np.array([[1, 0.1, 0.0], [0.1, 1, 0.2], [0.0, 0.2, 1]])}
SD = {"a": np.array([1.0, 1.5, 2.0]), "b": np.array([1.0, 1.0, 1.0])}


def _trial(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        arm = "a" if i % 2 else "b"
        e = rng.multivariate_normal(np.zeros(3), COR[arm] * np.outer(SD[arm], SD[arm]))
        rows += [(f"s{i:03d}", arm, f"v{v + 1}", 2.0 + (arm == "a") + e[v]) for v in range(3)]
    return pd.DataFrame(rows, columns=["id", "arm", "visit", "y"]).drop(index=[4]).reset_index(drop=True)


def _model(df: pd.DataFrame) -> hb.Model:
    return hb.Model("y ~ arm * visit", df, residuals=hb.residuals("unstructured", time="visit", group="id", by="arm"))


def test_design_tables_and_new_responses():
    df = _trial(12, seed=1)
    model = _model(df)
    rd = model.design.residuals
    assert rd.sd_levels == ("a:v1", "a:v2", "a:v3", "b:v1", "b:v2", "b:v3")
    assert [rd.sd_levels[c] for c in rd.sd_codes[:3]] == [f"{a}:{v}" for a, v in zip(df["arm"][:3], df["visit"][:3], strict=True)]
    fit = model.fit(backend="prior", draws=20, chains=2, random_seed=1, progressbar=False)
    terms = list(fit.varcorr()["term"])
    assert "unstr_cor[a](v1,v2)" in terms and "unstr_cor[b](mean)" in terms and "sigma_ratio(b:v3)" in terms
    assert fit.idata.posterior["unstr_cor"].dims[2:] == ("resid_by", "resid_time", "resid_time_bis")
    assert np.isfinite(fit.ppc().yrep).all() and np.isfinite(fit.idata.log_likelihood["y"].values).all()
    with pytest.raises(hb.DataError, match=r"'arm' x 'visit' has levels the model has no residual sd for: \['c:v1'\]"):
        row_sd_ratio(fit.idata.posterior, rd, pd.DataFrame({"arm": ["a", "c"], "visit": ["v2", "v1"]}))
    ratio = row_sd_ratio(fit.idata.posterior, rd, pd.DataFrame({"arm": ["a", "b"], "visit": ["v1", "v3"]}))
    np.testing.assert_allclose(ratio[:, 0], 1.0)
    np.testing.assert_allclose(ratio[:, 1], fit.idata.posterior["sigma_ratio"].values[..., -1].ravel())
    assert np.isfinite(fit.predict(df.head(6), kind="response", random_seed=1).draws.values).all()


def test_likelihood_uses_each_arms_matrix_and_sds():
    df = _trial(6, seed=2)
    rd = _model(df).design.residuals
    resid = np.random.default_rng(3).normal(size=len(df))
    with pm.Model() as model:
        value = residual_loglik(pt.as_tensor(resid), rd, pt.as_tensor(1.4))
    rng = np.random.default_rng(4)
    point = {v.name: rng.normal(scale=0.5, size=model.initial_point()[v.name].shape) for v in model.value_vars}
    outputs = model.replace_rvs_by_values([value, model["unstr_cor"], model["sigma_ratio"]])
    fn = model.compile_fn(outputs, inputs=model.value_vars, point_fn=True, mode="FAST_COMPILE")
    got, cor, ratio = fn(point)
    assert not np.allclose(cor[0], cor[1])
    sds = dict(zip(rd.sd_levels, 1.4 * np.concatenate([[1.0], ratio]), strict=True))
    expected = 0.0
    for _, rows in df.groupby("id"):
        arm = rows["arm"].iloc[0]
        v = rows["visit"].str[1:].astype(int).to_numpy() - 1
        sd = np.array([sds[f"{arm}:{x}"] for x in rows["visit"]])
        V = cor[0 if arm == "a" else 1][np.ix_(v, v)] * np.outer(sd, sd)
        expected += multivariate_normal(np.zeros(len(v)), V).logpdf(resid[rows.index])
    assert float(got) == pytest.approx(expected, rel=1e-9)


@pytest.mark.slow
def test_recovery_per_arm():
    fit = _model(_trial(300, seed=8)).fit(draws=400, tune=400, chains=2, random_seed=3, progressbar=False)
    post = fit.idata.posterior.to_dataset()
    cor = post["unstr_cor"].median(("chain", "draw")).values
    np.testing.assert_allclose(cor[0], COR["a"], atol=0.12)
    np.testing.assert_allclose(cor[1], COR["b"], atol=0.15)
    ratio = dict(zip(fit.model.design.residuals.sd_levels[1:], post["sigma_ratio"].median(("chain", "draw")).values, strict=True))
    for key, expected in (("a:v2", 1.5), ("a:v3", 2.0), ("b:v1", 1.0), ("b:v3", 1.0)):
        assert ratio[key] == pytest.approx(expected, rel=0.15), key
