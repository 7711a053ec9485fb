"""Banded residual covariance (Stata's banded k; hierbayes/spec/residual_banded.py): the
parameterization keeps the matrix positive definite and zero beyond the band, the likelihood is
the multivariate normal, tables, and the errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import pytest
from scipy.stats import multivariate_normal

import hierbayes as hb
from hierbayes.backends.pymc.rside import residual_loglik
from hierbayes.spec.residual_banded import band_pairs, banded_correlation

HERE = Path(__file__).parent


def _orthodont() -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / "orthodont_unstructured.csv")


def _cpc_of(cor: np.ndarray, band: int) -> np.ndarray:
    """The canonical partial correlations of a banded correlation (numpy, for the round trip)."""
    L = np.linalg.cholesky(cor)
    out = []
    for i, j in band_pairs(len(cor), band):
        left = 1.0 - np.sum(L[i, max(0, i - band):j] ** 2)
        out.append(L[i, j] / np.sqrt(left))
    return np.array(out)


def test_banded_correlation_is_positive_definite_zero_beyond_the_band_and_covers_every_banded_matrix():
    rng = np.random.default_rng(0)
    for band in (1, 2, 3):
        n = len(band_pairs(6, band))
        for _ in range(100):
            cor = banded_correlation(rng.uniform(-0.999, 0.999, size=n), 6, band, np)
            assert np.linalg.eigvalsh(cor).min() > 0
            np.testing.assert_allclose(np.diag(cor), 1.0)
            far = np.abs(np.subtract.outer(np.arange(6), np.arange(6))) > band
            assert np.all(cor[far] == 0)
    # a banded correlation from elsewhere (an MA(1)-like tridiagonal one) comes back exactly
    target = np.eye(5) + 0.45 * (np.eye(5, k=1) + np.eye(5, k=-1))
    np.testing.assert_allclose(banded_correlation(_cpc_of(target, 1), 5, 1, np), target, atol=1e-12)
    assert len(band_pairs(4, 1)) == 3 and len(band_pairs(4, 2)) == 5 and len(band_pairs(4, 3)) == 6


def test_likelihood_is_the_multivariate_normal_with_visit_sds_and_band_correlations():
    df = _orthodont().drop(index=[5, 22]).reset_index(drop=True)  # two missed visits
    model = hb.Model("distance ~ age * Sex", df, residuals=hb.residuals("banded", order=1, time="visit", group="Subject"))
    rd = model.design.residuals
    assert rd.kind.name == "banded1" and rd.sd_levels == ("1", "2", "3", "4")
    cpc = np.array([0.5, -0.3, 0.6])
    ratio = np.array([1.2, 0.8, 1.5])
    resid = np.random.default_rng(1).normal(size=len(df))
    with pm.Model() as m:
        value = residual_loglik(pt.as_tensor(resid), rd, pt.as_tensor(1.7), None, None)
    point = m.initial_point()
    point["band_cor_cpc_interval__"] = 2 * np.arctanh(cpc)
    point["sigma_ratio_log__"] = np.log(ratio)
    expr = m.replace_rvs_by_values([value])[0]
    got = float(m.compile_fn(expr, inputs=m.value_vars, point_fn=True, mode="FAST_COMPILE")(point))
    cor = banded_correlation(cpc, 4, 1, np)
    sd = 1.7 * np.r_[1.0, ratio]
    cov = sd[:, None] * cor * sd[None, :]
    expected = 0.0
    for _, rows in df.groupby("Subject"):
        v = rows["visit"].to_numpy(int) - 1
        expected += multivariate_normal(np.zeros(len(v)), cov[np.ix_(v, v)]).logpdf(resid[rows.index])
    assert got == pytest.approx(expected, rel=1e-9)


def test_prior_draws_tables_and_predictions():
    df = _orthodont()
    model = hb.Model("distance ~ age * Sex", df,
                     residuals=hb.residuals("banded", order=2, time="visit", group="Subject", by="Sex"))
    frame = model.priors.to_frame()
    assert frame.loc[frame["class"] == "band_cor", "prior"].item() == "Uniform(lower=-1, upper=1)"
    fit = model.fit(backend="prior", draws=20, chains=2, random_seed=1, progressbar=False)
    cor = fit.idata.posterior["band_cor"]
    assert cor.dims[2:] == ("resid_by", "resid_time", "resid_time_bis")
    assert np.all(cor.isel(resid_time=3, resid_time_bis=0).values == 0)
    table = fit.varcorr().set_index("term")
    rows = [t for t in table.index if t.startswith("band_cor[Male]")]
    assert rows == ["band_cor[Male](1,2)", "band_cor[Male](1,3)", "band_cor[Male](2,3)", "band_cor[Male](2,4)",
                    "band_cor[Male](3,4)", "band_cor[Male](mean)"]  # (1,4) lies outside the band
    assert np.isfinite(fit.ppc().yrep).all() and np.isfinite(fit.idata.log_likelihood["y"].values).all()


@pytest.mark.slow
def test_banded_with_a_full_band_is_nlmes_unstructured_mmrm():
    """banded 3 over 4 visits is the unstructured covariance: against nlme's corSymm REML fit
    (tests/rside/refs/orthodont_unstructured.json, made by tests/rside/make_refs.R)."""
    ref = json.loads((HERE / "refs" / "orthodont_unstructured.json").read_text())
    fit = hb.Model("distance ~ age * Sex", _orthodont(),
                   residuals=hb.residuals("banded", order=3, time="visit", group="Subject")).fit(
        draws=400, tune=400, chains=2, random_seed=2, progressbar=False)
    table = fit.varcorr().set_index("term")
    for cell in ref["structure"]["correlations"]:
        assert table.loc[f"band_cor({cell['visit1']},{cell['visit2']})", "mean"] == pytest.approx(cell["corr"], abs=0.15)
    mean = np.mean([c["corr"] for c in ref["structure"]["correlations"]])
    assert table.loc["band_cor(mean)", "mean"] == pytest.approx(mean, rel=0.2)
    fixef = fit.fixef()
    for row in ref["fixed_effects"]:
        assert abs(fixef.loc[row["term"], "mean"] - row["estimate"]) < 0.5 * fixef.loc[row["term"], "sd"], row["term"]


@pytest.mark.parametrize("kwargs, error, message", [
    ({}, hb.SpecError, r"residuals\('banded'\) needs order= \(k\), as in hb.residuals\('banded', order=1, time=...\)"),
    ({"order": 4}, hb.DataError, (r"residuals banded4: needs groups with at least 5 time points; the largest group of "
                                  r"'Subject' \('F01', rows 64, 65, 66, 67\) has 4")),
])
def test_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        hb.Model("distance ~ age", _orthodont(), residuals=hb.residuals("banded", time="visit", group="Subject", **kwargs))


def test_visits_are_in_their_order_not_sorted_as_text():
    """A band joins neighbouring visits: "Week 4", "Week 8", "Week 12", "Week 24" as text or as
    an ordered Categorical (sorted as text, Week 12 came first and Week 8 - Week 12 was no
    pair); a Categorical's order is kept even where it is not natural, and numbers go by value."""
    rng = np.random.default_rng(3)
    weeks = ["Week 4", "Week 8", "Week 12", "Week 24"]
    df = pd.DataFrame({"id": np.repeat(np.arange(30), 4).astype(str), "week": np.tile(weeks, 30),
                       "y": rng.normal(size=120)})
    natural = ("Week 4", "Week 8", "Week 12", "Week 24")

    def visits(frame, time="week"):
        model = hb.Model("y ~ 1", frame, residuals=hb.residuals("banded", order=1, time=time, group="id"))
        return model.design.residuals.time_levels

    assert visits(df) == natural
    assert visits(df.assign(week=pd.Categorical(df["week"], categories=weeks, ordered=True))) == natural
    assert visits(df.assign(week=pd.Categorical(df["week"], categories=weeks[::-1]))) == natural[::-1]
    assert visits(df.assign(day=df["week"].str.slice(5).astype(int)), time="day") == ("4", "8", "12", "24")
    assert visits(df.assign(day=df["week"].str.slice(5)), time="day") == ("4", "8", "12", "24")


def test_the_reference_residual_sd_is_the_first_level_of_a_categorical():
    """``by=`` levels follow a Categorical's order, as the fixed effects' treatment coding does
    (Orthodont's Sex: Male first; as text, Female sorted first and sd_ratio was inverted)."""
    rng = np.random.default_rng(4)
    df = pd.DataFrame({"sex": np.repeat(["Male", "Female"], 20), "y": rng.normal(size=40)})
    df["sex"] = pd.Categorical(df["sex"], categories=["Male", "Female"])
    model = hb.Model("y ~ sex", df, residuals=hb.residuals("independent", by="sex", group="sex"))
    assert model.design.residuals.sd_levels == ("Male", "Female")
