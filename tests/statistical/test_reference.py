"""Posterior summaries against lme4 (and Stata) on the classic data sets.

With weak priors and enough data the posterior mean sits within a fraction of a posterior
sd of the ML/REML estimate; sds of group effects are right-skewed, so they are compared
through the posterior median with a relative tolerance that widens with fewer groups.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fit_quiet, lme4_fixed, load_ref

import hierbayes as hb


def _varcorr(fit) -> dict[tuple[str, str], dict]:
    t = fit.varcorr()
    return {(r.group, r.term): r._asdict() for r in t.itertuples(index=False)}


def check_fixed(fit, expected: dict[str, float], within_sd: float = 0.3) -> None:
    fe = fit.fixef()
    for term, value in expected.items():
        row = fe.loc[term]
        z = abs(row["mean"] - value) / row["sd"]
        assert z < within_sd, f"{term}: posterior mean {row['mean']:.4f} vs {value:.4f} ({z:.2f} sd)"


def check_sd(vc: dict, key: tuple[str, str], value: float, rel: float) -> None:
    med = vc[key]["median"]
    assert abs(med - value) / value < rel, f"{key}: median {med:.4f} vs {value:.4f}"


@pytest.fixture(scope="module")
def sleep_fit():
    # the fit test_predict makes (4 chains x 400 draws): made once per test process
    from test_predict import sleep_fit as shared_sleep_fit

    return shared_sleep_fit()


@pytest.mark.slow
def test_sleepstudy_against_lme4_reml(sleep_fit):
    ref = load_ref("lme4", "sleep_slopes")
    check_fixed(sleep_fit, {"Intercept": 251.41, "Days": 10.47})
    vc = _varcorr(sleep_fit)
    check_sd(vc, ("Subject", "sd(Intercept)"), 24.74, 0.20)
    check_sd(vc, ("Subject", "sd(Days)"), 5.92, 0.20)
    check_sd(vc, ("Residual", "sd(Residual)"), 25.59, 0.20)
    assert lme4_fixed(ref)["Days"] == pytest.approx(10.467, abs=1e-3)
    assert sleep_fit.diagnostics.divergences == 0


def test_sleepstudy_tables_shape(sleep_fit):
    fe = sleep_fit.fixef()
    assert list(fe.index) == ["Intercept", "Days"]
    for col in ("mean", "sd", "lower", "upper", "r_hat", "ess_bulk"):
        assert col in fe.columns
    assert "95%" in fe.attrs["interval"]
    re = sleep_fit.ranef()["Subject"]
    assert len(re) == 18 and set(re.columns.get_level_values(0)) == {"Intercept", "Days"}
    co = sleep_fit.coef()["Subject"]
    # coef = fixef + ranef, draw by draw, so the means add up exactly
    np.testing.assert_allclose(
        co[("Days", "mean")].to_numpy(), re[("Days", "mean")].to_numpy() + fe.loc["Days", "mean"], rtol=1e-9
    )
    vc = sleep_fit.varcorr()
    assert list(vc["term"]) == ["sd(Intercept)", "sd(Days)", "cor(Intercept,Days)", "sd(Residual)"]
    assert list(vc["group"]) == ["Subject", "Subject", "Subject", "Residual"]
    icc = sleep_fit.icc()
    assert icc.loc[0, "group"] == "Subject" and "Days = 0" in icc.loc[0, "at"]
    assert 0 < icc.loc[0, "lower"] < icc.loc[0, "mean"] < icc.loc[0, "upper"] < 1


def test_summary_text_and_html(sleep_fit):
    text = str(sleep_fit.summary())
    for needle in ("Fixed effects", "sd(Days)", "cor(Intercept,Days)", "Intraclass", "divergences", "R-hat"):
        assert needle in text
    html = sleep_fit.summary()._repr_html_()
    assert "<table" in html and "sd(Residual)" in html


def test_lme4_conditional_modes(sleep_fit):
    """Group effects of the first subjects agree with lme4's conditional modes (BLUPs)."""
    ref = load_ref("lme4", "sleep_slopes")["random_effects_first5"]["Subject"]
    re = sleep_fit.ranef()["Subject"]
    for entry in ref:
        row = re.loc[entry["group"]]
        for term, key in (("(Intercept)", "Intercept"), ("Days", "Days")):
            z = abs(row[(key, "mean")] - entry["values"][term]) / row[(key, "sd")]
            assert z < 0.5, (entry["group"], key, z)


@pytest.fixture(scope="module")
def gcse_ri_fit(gcse):
    return fit_quiet(hb.Model("gcse ~ lrt + (1 | school)", data=gcse))


@pytest.fixture(scope="module")
def gcse_rs_fit(gcse):
    return fit_quiet(hb.Model("gcse ~ lrt + (lrt | school)", data=gcse))


@pytest.mark.slow
def test_gcse_random_intercept_matches_stata(gcse, gcse_ri_fit):
    assert len(gcse) == 4057 and gcse["school"].nunique() == 64
    check_fixed(gcse_ri_fit, {"lrt": 0.5633, "Intercept": 0.0316})
    vc = _varcorr(gcse_ri_fit)
    check_sd(vc, ("school", "sd(Intercept)"), 3.042, 0.10)
    check_sd(vc, ("Residual", "sd(Residual)"), 7.523, 0.10)


@pytest.mark.slow
def test_gcse_random_slope_matches_stata(gcse_rs_fit):
    check_fixed(gcse_rs_fit, {"lrt": 0.5568, "Intercept": -0.1078})
    vc = _varcorr(gcse_rs_fit)
    check_sd(vc, ("school", "sd(lrt)"), 0.1205, 0.10)
    check_sd(vc, ("school", "sd(Intercept)"), 3.013, 0.10)
    check_sd(vc, ("Residual", "sd(Residual)"), 7.442, 0.10)
    assert abs(vc[("school", "cor(Intercept,lrt)")]["mean"] - 0.497) < 0.15


@pytest.mark.slow
def test_penicillin_crossed_against_lme4():
    ref = load_ref("lme4", "penicillin_crossed")
    fit = fit_quiet(hb.Model("diameter ~ 1 + (1|plate) + (1|sample)", data=hb.datasets.load("Penicillin")))
    check_fixed(fit, lme4_fixed(ref))
    vc = _varcorr(fit)
    groups = ref["variance_components"]["groups"]
    check_sd(vc, ("plate", "sd(Intercept)"), groups["plate"]["sd"]["(Intercept)"], 0.15)  # 24 plates
    check_sd(vc, ("sample", "sd(Intercept)"), groups["sample"]["sd"]["(Intercept)"], 0.30)  # 6 samples
    check_sd(vc, ("Residual", "sd(Residual)"), ref["variance_components"]["residual_sd"], 0.10)
    for (g, _), row in vc.items():
        if g != "Residual":
            value = groups[g]["sd"]["(Intercept)"]
            assert row["lower"] < value < row["upper"]


@pytest.mark.slow
def test_pastes_nested_against_lme4():
    ref = load_ref("lme4", "pastes_nested")
    fit = fit_quiet(hb.Model("strength ~ 1 + (1|batch/cask)", data=hb.datasets.load("Pastes")))
    assert [g.group for g in fit.spec.groups] == ["batch", "batch:cask"]
    assert fit.model.design.groups[1].n_levels == 30
    check_fixed(fit, lme4_fixed(ref))
    vc = _varcorr(fit)
    groups = ref["variance_components"]["groups"]
    check_sd(vc, ("batch:cask", "sd(Intercept)"), groups["cask:batch"]["sd"]["(Intercept)"], 0.15)
    # 10 batches and an sd small next to the cask sd: only a weak check is defensible
    batch = vc[("batch", "sd(Intercept)")]
    assert batch["lower"] < groups["batch"]["sd"]["(Intercept)"] < batch["upper"]
    check_sd(vc, ("Residual", "sd(Residual)"), ref["variance_components"]["residual_sd"], 0.15)
