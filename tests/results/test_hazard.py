"""Hazard-ratio metric of the weibull and exponential families (issue 16).

The transform is checked exactly against survreg's kidney fit (``derived.ph`` of
tests/survival/refs/kidney_weibull.json: log-hazard coefficients -b / scale), the labels and
options on prior draws, and a posterior against survreg's hazard ratios in one small fit.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import hierbayes as hb
from hierbayes.errors import SpecError
from hierbayes.families import get_family
from hierbayes.results.hazard import log_hazard_draws
from hierbayes.spec import parse_formula
from hierbayes.spec.serialize import spec_from_dict, spec_to_dict

SURV = Path(__file__).parents[1] / "survival"
REF = json.loads((SURV / "refs" / "kidney_weibull.json").read_text())
KIDNEY = "time | cens(censored) ~ age + sex + disease"


def kidney() -> pd.DataFrame:
    data = pd.read_csv(SURV / "data" / "kidney.csv")
    factors = json.loads((SURV / "data" / "factors.json").read_text())["kidney"]
    for column, info in factors.items():
        data[column] = pd.Categorical(data[column].astype(str), categories=info["levels"])
    return data


def one_draw(terms: list[str], values: np.ndarray, shape: float | None) -> tuple[xr.DataArray, xr.Dataset]:
    draws = xr.DataArray(values.reshape(1, 1, -1), dims=("chain", "draw", "term"), coords={"term": terms})
    post = xr.Dataset({} if shape is None else {"shape": xr.DataArray([[shape]], dims=("chain", "draw"))})
    return draws, post


def test_weibull_log_hazard_equals_survreg_ph_coefficients() -> None:
    terms = [f["term"] for f in REF["fixed_effects"]]
    beta = np.array([f["estimate"] for f in REF["fixed_effects"]])
    brms = REF["derived"]["brms"]
    beta[0] = brms["Intercept"]  # brms' mean-parameterised intercept
    draws, post = one_draw(terms, beta, brms["shape"])
    got = log_hazard_draws(draws, post, get_family("weibull")).values.ravel()
    want = [c["estimate"] for c in REF["derived"]["ph"]["coefficients"]]
    np.testing.assert_allclose(got, want, rtol=1e-9)


def test_exponential_log_hazard_is_minus_the_coefficient() -> None:
    draws, post = one_draw(["Intercept", "x"], np.array([2.0, 0.5]), None)
    got = log_hazard_draws(draws, post, get_family("exponential")).values.ravel()
    # k = 1: lgamma(2) = 0, so the baseline log hazard is -b0
    np.testing.assert_allclose(got, [-2.0, -0.5])


def test_other_families_and_bad_metrics_are_refused() -> None:
    draws, post = one_draw(["x"], np.array([0.5]), None)
    with pytest.raises(SpecError, match="proportional-hazards families.*'lognormal'"):
        log_hazard_draws(draws, post, get_family("lognormal"))
    spec = parse_formula(KIDNEY)
    with pytest.raises(SpecError, match="not one of"):
        hb.ModelSpec(spec.response, spec.fixed, family="weibull", metric="ph")
    with pytest.raises(SpecError, match="use metric='aft'"):
        hb.ModelSpec(spec.response, spec.fixed, family="loglogistic", metric="hr")
    with pytest.raises(SpecError, match="for survival families, not for 'gaussian'"):
        hb.ModelSpec(spec.response, spec.fixed, family="gaussian", metric="aft")


def test_metric_is_saved_with_the_spec() -> None:
    spec = parse_formula(KIDNEY)
    spec = hb.ModelSpec(spec.response, spec.fixed, family="weibull", metric="hr")
    assert spec_from_dict(spec_to_dict(spec)).metric == "hr"


@pytest.fixture(scope="module")
def prior_fit():
    model = hb.Model(KIDNEY + " + (1 | patient)", data=kidney(), family="weibull")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(draws=100, chains=2, random_seed=3, backend="prior", progressbar=False)


def test_tables_label_and_compute_each_metric(prior_fit) -> None:
    post = prior_fit.posterior
    aft = prior_fit.fixef()
    assert aft.attrs["estimate"] == "coefficient (log-time (AFT) scale)"
    hr = prior_fit.fixef(metric="hr")
    assert hr.attrs["estimate"] == "hazard ratio" and hr.attrs["exponentiated"]
    k = post["shape"].values
    want = np.median(np.exp(-k * post["b"].sel({post["b"].dims[-1]: "age"}).values))
    assert hr.loc["age", "median"] == pytest.approx(want)
    b0 = post["Intercept"].values
    base = np.median(np.exp(-k * (b0 - np.vectorize(math.lgamma)(1 + 1 / k))))
    assert hr.loc["Intercept", "median"] == pytest.approx(base)
    loghr = prior_fit.fixef(metric="loghr")
    assert loghr.attrs["estimate"] == "coefficient (log-hazard (proportional hazards) scale)"
    assert prior_fit.fixef(metric="loghr", exponentiate=True).attrs["estimate"] == "hazard ratio"
    assert prior_fit.fixef(metric="aft", exponentiate=True).attrs["estimate"] == "time ratio"
    text = str(prior_fit.summary(metric="hr"))
    assert "hazard ratio" in text and "exp(-shape * coefficient)" in text


def test_lognormal_summary_refuses_hazard_ratios() -> None:
    model = hb.Model(KIDNEY, data=kidney(), family="lognormal")
    fit = model.fit(draws=20, chains=1, random_seed=1, backend="prior", progressbar=False)
    with pytest.raises(SpecError, match="not for 'lognormal'"):
        fit.fixef(metric="hr")


@pytest.mark.slow
def test_weibull_hazard_ratios_agree_with_survreg() -> None:
    """survreg(Surv(time, status) ~ age + sex + disease, dist = "weibull") on kidney: hazard
    ratio exp(-coef / scale); the posterior median of each log hazard ratio within one
    posterior sd of survreg's (flat-ish priors, 76 rows)."""
    model = hb.Model(KIDNEY, data=kidney(), family="weibull")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = model.fit(draws=400, chains=2, random_seed=1, progressbar=False)
    table = fit.fixef(metric="loghr")
    for ref in REF["derived"]["ph"]["coefficients"]:
        term = "Intercept" if ref["term_r"] == "(Intercept)" else None
        term = term or next(f["term"] for f in REF["fixed_effects"] if f["term_r"] == ref["term_r"])
        row = table.loc[term]
        assert abs(row["median"] - ref["estimate"]) < row["sd"], (term, row["median"], ref["estimate"])
    hr = fit.fixef(metric="hr")
    sex = [f["term"] for f in REF["fixed_effects"] if f["term_r"] == "sexfemale"][0]
    assert hr.loc[sex, "median"] == pytest.approx(0.1896, rel=0.35)


def test_mestreg_fits_default_to_hazard_ratios_and_nohr_to_log_hazards() -> None:
    data = kidney().assign(infected=lambda d: 1 - d["censored"])
    command = "mestreg age i.sex || patient:, distribution(weibull)"
    for options, estimate in (("", "hazard ratio"), (" nohr", "coefficient (log-hazard (proportional hazards) scale)"),
                              (" time", "coefficient (log-time (AFT) scale)")):
        spec = hb.from_stata(command + options, time="time", failure="infected")
        fit = hb.Model(spec, data).fit(draws=20, chains=1, random_seed=1, backend="prior", progressbar=False)
        assert fit.fixef().attrs["estimate"] == estimate
        assert fit.fixef(metric="aft").attrs["estimate"] == "coefficient (log-time (AFT) scale)"
    assert "Fixed effects (hazard ratios)" in str(hb.Model(hb.from_stata(command, time="time", failure="infected"), data)
                                                  .fit(draws=20, chains=1, random_seed=1, backend="prior",
                                                       progressbar=False).summary())


def test_update_keeps_the_metric_while_the_family_has_it() -> None:
    from hierbayes.results.update import updated_spec

    spec = hb.from_stata("mestreg age || patient:, distribution(weibull)", time="time", failure="infected")
    assert updated_spec(spec, ". ~ . + sex", None, None).metric == "hr"
    assert updated_spec(spec, None, "exponential", None).metric == "hr"
    assert updated_spec(spec, None, "lognormal", None).metric is None


def test_weibull_aft_tables_give_survregs_intercept(prior_fit) -> None:
    """The weibull's Intercept is log mean time (brms); survreg and ``mestreg, time`` report
    ``_cons = Intercept - lgamma(1 + 1/shape)`` (the slopes agree): the AFT table says so
    and gives that number, computed draw by draw."""
    post = prior_fit.posterior
    k = post["shape"].values
    cons = post["Intercept"].values - np.vectorize(math.lgamma)(1 + 1 / k)
    for table in (prior_fit.fixef(), prior_fit.fixef(metric="aft")):
        assert "_cons = Intercept - lgamma(1 + 1/shape)" in table.attrs["note"]
        assert f"mean {cons.mean():.3f}" in table.attrs["note"]
    assert "note" not in prior_fit.fixef(exponentiate=True).attrs
    assert "_cons = Intercept" in str(prior_fit.summary())


def test_lognormal_aft_table_has_no_intercept_note() -> None:
    model = hb.Model(KIDNEY, data=kidney(), family="lognormal")
    fit = model.fit(draws=20, chains=1, random_seed=1, backend="prior", progressbar=False)
    assert "note" not in fit.fixef().attrs


def test_the_exponentials_hazard_note_has_no_shape() -> None:
    model = hb.Model(KIDNEY, data=kidney(), family="exponential")
    fit = model.fit(draws=20, chains=1, random_seed=1, backend="prior", progressbar=False)
    note = fit.fixef(metric="hr").attrs["note"]
    assert "hazard ratio = exp(-coefficient)" in note and "shape" not in note
