"""Toeplitz and AR(p) residual structures (hierbayes/spec/residual_toeplitz.py): the lag
correlations from partial autocorrelations, the likelihood, priors, tables, and recovery."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import pytest
import scipy.linalg as sl
from scipy.stats import multivariate_normal

import hierbayes as hb
from hierbayes.backends.pymc.rside import residual_loglik
from hierbayes.errors import PriorError
from hierbayes.spec.residual_toeplitz import lag_correlations

HERE = Path(__file__).parent

#: nlme 3.1.162 on tests/rside/data/ovary_ar1.csv (Mare as character):
#:   f <- lme(follicles ~ s + c, data = d, random = ~ 1 | Mare, correlation = corARMA(form = ~ t | Mare, p = 2))
#: REML: Phi = (0.5386104929, 0.1446712294) -> partial autocorrelations (Phi1 / (1 - Phi2), Phi2);
#: fixed effects with their SEs; and update(f, method = "ML") printed with digits = 15.
OVARY_AR2 = {
    "pacf": (0.5386104929 / (1 - 0.1446712294), 0.1446712294),
    "fixed": {"Intercept": (12.1445487990, 0.9473707554), "s": (-2.8992271831, 0.5110786234), "c": (-0.8652938278, 0.5432926142)},
}
OVARY_AR2_ML = {"phi": (0.530446364861415, 0.142710531756482), "beta": (12.146675107636, -2.90849469376433, -0.866070191992681),
                "sigma": 3.71692050698617, "tau": 2.52427399564755, "logLik": -773.965417012101}


def _ovary() -> pd.DataFrame:
    data = pd.read_csv(HERE / "data" / "ovary_ar1.csv")
    data["Mare"] = data["Mare"].astype(str)
    return data


def _panel(n: int, acf: np.ndarray, seed: int, drop=(3, 7, 12)) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    T = len(acf)
    e = rng.multivariate_normal(np.zeros(T), sl.toeplitz(acf), size=n)
    df = pd.DataFrame({"id": np.repeat([f"s{i:03d}" for i in range(n)], T), "t": np.tile(np.arange(1, T + 1), n),
                       "x": rng.normal(size=T * n)})
    df["y"] = 1.0 + 0.5 * df["x"] + e.ravel()
    return df.drop(index=list(drop)).reset_index(drop=True)  # a few missed visits


def test_partial_autocorrelations_give_the_ar2_correlations_and_positive_definite_toeplitz():
    phi1, phi2 = 0.5, 0.3
    acf = [1.0, phi1 / (1 - phi2)]
    for _ in range(6):
        acf.append(phi1 * acf[-1] + phi2 * acf[-2])
    np.testing.assert_allclose(lag_correlations(np.array([[acf[1], phi2]]), 7, np)[0], acf)
    partial = np.random.default_rng(0).uniform(-0.95, 0.95, size=(20, 6))
    for row in lag_correlations(partial, 6, np):
        assert np.linalg.eigvalsh(sl.toeplitz(row)).min() > 0


def test_ar2_is_toeplitz_with_zero_partials_beyond_lag_2():
    times = np.array([[1.0, 2.0, 4.0, 7.0]])
    ar2 = hb.residuals("ar 2", time="t").spec.correlation({"ar2_pacf": np.array([[0.6, -0.3]])}, times, np)
    toep = hb.residuals("toeplitz", time="t").spec.correlation({"toep_pacf": np.array([[0.6, -0.3, 0, 0, 0, 0]])}, times, np)
    np.testing.assert_allclose(ar2, toep)
    assert ar2[0, 0, 1] == pytest.approx(0.6)


@pytest.mark.parametrize("kind, size", [("toeplitz", 4), ("ar2", 2)])
def test_likelihood_is_the_multivariate_normal_with_the_toeplitz_correlation(kind, size):
    df = _panel(6, np.array([1.0, 0.5, 0.3, 0.2, 0.1]), seed=2)
    m = hb.Model("y ~ x + (1 | id)", df, residuals=hb.residuals(kind, time="t"))
    rd = m.design.residuals
    assert rd.parameter_size(rd.kind.parameters[0]) == size
    partial = np.array([0.5, -0.2, 0.3, 0.1])[:size]
    resid = np.random.default_rng(1).normal(size=len(df))
    Z = m.design.groups[0].X
    with pm.Model() as model:
        value = residual_loglik(pt.as_tensor(resid), rd, pt.as_tensor(1.3), pt.as_tensor(np.array([0.7])), Z)
    point = model.initial_point()
    point[f"{rd.kind.parameters[0].name}_interval__"] = 2 * np.arctanh(partial)  # Uniform(-1, 1): x = tanh(y / 2)
    expr = model.replace_rvs_by_values([value])[0]
    got = float(model.compile_fn(expr, inputs=model.value_vars, point_fn=True, mode="FAST_COMPILE")(point))
    acf = lag_correlations(partial[None], 4, np)[0]
    expected = 0.0
    for _, rows in df.groupby("id"):
        t = rows["t"].to_numpy(int)
        V = 1.3**2 * acf[np.abs(t[:, None] - t[None, :])] + 0.7**2
        expected += multivariate_normal(np.zeros(len(t)), V).logpdf(resid[rows.index])
    assert got == pytest.approx(expected, rel=1e-9)


def test_priors_tables_and_predictions_on_prior_draws():
    df = _panel(30, np.array([1.0, 0.6, 0.45, 0.1, 0.05]), seed=1)
    model = hb.Model("y ~ x", df, residuals=hb.residuals("toeplitz", time="t", group="id"))
    frame = model.priors.to_frame()
    assert frame.loc[frame["class"] == "toep_pacf", "prior"].item() == "Uniform(lower=-1, upper=1)"
    with pytest.raises(PriorError, match=r"prior for 'toep_pacf'.*leaves the parameter's range \[-1, 1\]"):
        hb.Model("y ~ x", df, residuals=hb.residuals("toeplitz", time="t", group="id"),
                 priors={"toep_pacf": hb.Prior("Uniform", lower=-2, upper=1)})
    fit = model.fit(backend="prior", draws=25, chains=2, random_seed=1, progressbar=False)
    table = fit.varcorr().set_index("term")
    assert [f"toep_pacf({k})" for k in range(1, 5)] + [f"cor(lag {k})" for k in range(1, 5)] == list(table.index[1:])
    assert table.loc["cor(lag 1)", "mean"] == pytest.approx(table.loc["toep_pacf(1)", "mean"])
    post = fit.idata.posterior
    p1, p2 = post["toep_pacf"].values[..., 0], post["toep_pacf"].values[..., 1]
    assert table.loc["cor(lag 2)", "mean"] == pytest.approx(np.mean(p2 * (1 - p1**2) + p1**2))
    assert np.isfinite(fit.ppc().yrep).all() and np.isfinite(fit.idata.log_likelihood["y"].values).all()


def test_toeplitz_needs_whole_number_times():
    df = _panel(4, np.array([1.0, 0.5, 0.2]), seed=3, drop=())
    df["t"] = df["t"] + 0.5 * (df["id"] == "s001")
    with pytest.raises(hb.DataError, match=r"residuals toeplitz: the time column 't' must hold whole numbers"):
        hb.Model("y ~ x + (1|id)", df, residuals=hb.residuals("toeplitz", time="t"))


@pytest.mark.slow
def test_toeplitz_recovery():
    acf = np.array([1.0, 0.6, 0.45, 0.1, 0.05])
    df = _panel(200, acf, seed=5)
    fit = hb.Model("y ~ x", df, residuals=hb.residuals("toeplitz", time="t", group="id")).fit(
        draws=400, tune=400, chains=2, random_seed=1, progressbar=False
    )
    table = fit.varcorr().set_index("term")
    for k in range(1, 5):
        row = table.loc[f"cor(lag {k})"]
        # lag 4 rests on one pair per subject (visits 1 and 5): judge each lag by its own sd
        assert abs(row["mean"] - acf[k]) < 3 * row["sd"], (k, row["mean"], row["sd"])
    assert table.loc["cor(lag 1)", "sd"] < 0.05
    assert abs(float(fit.fixef().loc["x", "mean"]) - 0.5) < 0.1


def test_ar2_likelihood_is_nlmes_corarma_at_its_ml_estimates():
    data = _ovary()
    model = hb.Model("follicles ~ s + c + (1|Mare)", data, residuals=hb.residuals("ar2", time="t"))
    ml = OVARY_AR2_ML
    phi1, phi2 = ml["phi"]
    partial = np.array([phi1 / (1 - phi2), phi2])
    resid = data["follicles"].to_numpy(float) - np.column_stack(
        [np.ones(len(data)), data["s"], data["c"]]) @ np.asarray(ml["beta"])
    with pm.Model() as m:
        value = residual_loglik(pt.as_tensor(resid), model.design.residuals, pt.as_tensor(ml["sigma"]),
                                pt.as_tensor(np.array([ml["tau"]])), model.design.groups[0].X)
    point = m.initial_point()
    point["ar2_pacf_interval__"] = 2 * np.arctanh(partial)
    expr = m.replace_rvs_by_values([value])[0]
    got = float(m.compile_fn(expr, inputs=m.value_vars, point_fn=True, mode="FAST_COMPILE")(point))
    assert got == pytest.approx(ml["logLik"], abs=1e-6)


@pytest.mark.slow
def test_ar2_against_nlme():
    fit = hb.Model("follicles ~ s + c + (1|Mare)", _ovary(), residuals=hb.residuals("ar2", time="t")).fit(
        draws=1000, tune=1000, chains=2, random_seed=1, progressbar=False
    )
    fixef = fit.fixef()
    for term, (estimate, _) in OVARY_AR2["fixed"].items():
        assert abs(fixef.loc[term, "mean"] - estimate) < 0.5 * fixef.loc[term, "sd"], term
    pacf = fit.idata.posterior["ar2_pacf"].values.reshape(-1, 2)
    assert np.median(pacf[:, 0]) == pytest.approx(OVARY_AR2["pacf"][0], rel=0.2)
    # the lag-2 partial (0.145, nlme's 95% 0.02-0.27) is judged by the interval, not within 20%
    assert np.quantile(pacf[:, 1], 0.025) < OVARY_AR2["pacf"][1] < np.quantile(pacf[:, 1], 0.975)
