"""SBC of censored models (issue 16): a tobit frailty model (gaussian, left-censored at 0) and a
weibull frailty model (right-censored at fixed follow-up times).

A fixed pattern of censored rows cannot be simulated (the likelihood of a censored row is not
a density of its value), so SBC censors each simulated response by the model's censoring
mechanism (``hb.CensoringRule``: known limits) and each fit sees the rows its own response
censors. The backend then builds the censored likelihood with per-row masks that are data of
the compiled graph (one JAX compilation for all fits).

Fast: the mask form has the log density of the row-group form for the same censored data, and
a response that censors other rows changes only the masks. Slow: SBC, 50 simulations, serial,
2 chains x 200 draws; every ranked parameter's ranks uniform (chi-square over 5 bins, p > 0.01).
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.backends.pymc.compile import compile_model
from hierbayes.backends.pymc.refit import Refitter
from hierbayes.errors import SpecError
from hierbayes.families import Censoring
from hierbayes.sbc import SBCResult, sbc_settings

FOLLOW_UP = 3.0


def tobit_model(J: int = 12, n: int = 6, seed: int = 5) -> hb.Model:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"g": np.repeat([f"g{j:02d}" for j in range(J)], n)})
    df["x"] = rng.normal(size=len(df))
    df["y"] = np.maximum(rng.normal(0.3, 1.0, size=len(df)), 0.0)  # placeholder: SBC simulates it
    df["c"] = np.where(df["y"] <= 0, "left", "none")
    return hb.Model("y | cens(c) ~ x + (1 | g)", df, priors={
        "Intercept": hb.Prior("Normal", mu=0.3, sigma=0.5), "b": hb.Prior("Normal", mu=0, sigma=0.5),
        "sd:g": hb.Prior("HalfNormal", sigma=0.5), "sigma": hb.Prior("HalfNormal", sigma=1.0),
    })


def weibull_model(J: int = 12, n: int = 6, seed: int = 6) -> hb.Model:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"g": np.repeat([f"g{j:02d}" for j in range(J)], n)})
    df["x"] = rng.normal(size=len(df))
    df["t"] = np.minimum(rng.weibull(1.5, size=len(df)) * 1.5, FOLLOW_UP)
    df["censored"] = (df["t"] >= FOLLOW_UP).astype(int)
    return hb.Model("t | cens(censored) ~ x + (1 | g)", df, family="weibull", priors={
        "Intercept": hb.Prior("Normal", mu=0.3, sigma=0.5), "b": hb.Prior("Normal", mu=0, sigma=0.5),
        "sd:g": hb.Prior("HalfNormal", sigma=0.5), "shape": hb.Prior("Gamma", alpha=20.0, beta=13.0),
    })


# ---------------------------------------------------------------------------- fast


@pytest.mark.slow  # two 8-9 s cold compilations
@pytest.mark.parametrize(("make", "rule"), [
    (tobit_model, hb.CensoringRule(left=0.0)),
    (weibull_model, hb.CensoringRule(right=FOLLOW_UP)),
])
def test_mask_form_has_the_log_density_of_the_row_group_form(make, rule) -> None:
    model = make()
    rng = np.random.default_rng(1)
    y_raw = model.design.y * np.exp(rng.normal(0, 0.5, model.design.n_obs)) + (rule.left or 0) * 0
    y = rule.apply(np.where(rng.random(model.design.n_obs) < 0.2, -1.0 if rule.left is not None else 9.0, y_raw))
    ruled = rule.censoring(y, model.design.censoring)
    assert {-1, 1} & set(ruled.code.tolist())
    by_rule = compile_model(replace(model.design, y=y, censoring=ruled), model.priors, {"g": "noncentered"}).model
    plain = replace(ruled, rule=None)  # the same codes, read as a fixed pattern
    by_rows = compile_model(replace(model.design, y=y, censoring=plain), model.priors, {"g": "noncentered"}).model
    point = {k: v + rng.uniform(-0.3, 0.3, size=np.shape(v)) for k, v in by_rows.initial_point().items()}
    np.testing.assert_allclose(by_rule.compile_logp()(point), by_rows.compile_logp()(point), rtol=1e-10)


def test_other_censored_rows_change_only_the_lifted_masks() -> None:
    model = tobit_model()
    rule = hb.CensoringRule(left=0.0)
    rng = np.random.default_rng(2)
    ys = [rule.apply(rng.normal(0.2, 1.0, model.design.n_obs)) for _ in range(3)]
    design = replace(model.design, censoring=rule.censoring(ys[0], model.design.censoring))
    refit = Refitter(design, model.priors, {"g": "noncentered"}, ["Intercept"], sbc_settings(20, 20, 1, 0.9, 10).config, ys[:2])
    data = refit.data_for(ys[2])  # no GraphChanged: same graph, other masks
    masks = [d for d in data if d.dtype == bool]
    assert any(np.array_equal(m, ys[2] <= 0) for m in masks)


BINS = hb.CensoringRule(interval=np.arange(-1.0, 2.01, 0.5))


def test_interval_rule_stores_each_row_so_its_kind_can_be_read_back() -> None:
    y = np.array([-3.0, -1.0, -0.2, 0.49, 1.99, 2.0, 7.0])
    stored = BINS.apply(y)
    assert stored[0] < -1.0 and stored[1] == -1.0  # below the first edge: just below it
    np.testing.assert_array_equal(stored[2:], [-0.5, 0.0, 1.5, 2.0, 2.0])
    censoring = BINS.censoring(y, Censoring(np.zeros(7, dtype=np.int8)))
    np.testing.assert_array_equal(censoring.code, [-1, 2, 2, 2, 2, 1, 1])
    np.testing.assert_array_equal(censoring.upper[1:5], [-0.5, 0.0, 0.5, 2.0])
    again = BINS.censoring(stored, Censoring(np.zeros(7, dtype=np.int8)))  # from the stored values
    np.testing.assert_array_equal(again.code, censoring.code)
    np.testing.assert_array_equal(BINS.apply(stored), stored)


@pytest.mark.slow
def test_interval_rule_mask_form_has_the_log_density_of_the_row_group_form() -> None:
    model = tobit_model()
    rng = np.random.default_rng(3)
    y = BINS.apply(rng.normal(0.3, 1.2, model.design.n_obs))
    ruled = BINS.censoring(y, model.design.censoring)
    assert set(ruled.code.tolist()) == {-1, 1, 2}
    by_rule = compile_model(replace(model.design, y=y, censoring=ruled), model.priors, {"g": "noncentered"}).model
    by_rows = compile_model(replace(model.design, y=y, censoring=replace(ruled, rule=None)), model.priors,
                            {"g": "noncentered"}).model
    point = {k: v + rng.uniform(-0.3, 0.3, size=np.shape(v)) for k, v in by_rows.initial_point().items()}
    # the mask form takes the upper half's intervals from the survival side; PyMC 6's normal
    # log CDF is itself off by up to ~1e-7 relative, so the two sums agree to ~1e-9
    np.testing.assert_allclose(by_rule.compile_logp()(point), by_rows.compile_logp()(point), rtol=1e-8)


def test_other_binned_responses_change_only_the_masks_and_upper_edges() -> None:
    model = tobit_model()
    rng = np.random.default_rng(4)
    ys = [BINS.apply(rng.normal(0.3, 1.2, model.design.n_obs)) for _ in range(3)]
    design = replace(model.design, censoring=BINS.censoring(ys[0], model.design.censoring))
    refit = Refitter(design, model.priors, {"g": "noncentered"}, ["Intercept"], sbc_settings(20, 20, 1, 0.9, 10).config, ys[:2])
    data = refit.data_for(ys[2])
    left, right = BINS.masks(ys[2])
    for mask in (left, right):
        assert any(d.dtype == bool and np.array_equal(d, mask) for d in data)
    inside = BINS.inside(ys[2])
    assert any(d.dtype != bool and d.shape == ys[2].shape and np.allclose(d[inside], BINS.upper(ys[2])[inside])
               for d in data)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"interval": [0.0, 1.0], "left": 0.0}, "either interval edges or left / right limits"),
    ({"interval": [0.0, 0.0, 1.0]}, "strictly increasing"),
    ({"interval": [1.0]}, "at least two finite"),
    ({"interval": [0.0, np.inf]}, "at least two finite"),
])
def test_interval_rule_errors(kwargs, message) -> None:
    with pytest.raises(SpecError, match=message):
        hb.CensoringRule(**kwargs)


def test_sbc_of_a_censored_model_needs_the_rule() -> None:
    with pytest.raises(SpecError, match=r"needs its censoring mechanism: sbc\(..., censor="):
        hb.sbc(tobit_model(), n_sims=2, draws=10, tune=10, chains=1, ranked_draws=5, executor="serial")
    plain = hb.Model("y ~ x + (1 | g)", tobit_model().data)
    with pytest.raises(SpecError, match="the model has no cens"):
        hb.sbc(plain, n_sims=2, draws=10, tune=10, chains=1, ranked_draws=5, executor="serial",
               censor=hb.CensoringRule(left=0.0))


# ---------------------------------------------------------------------------- slow: SBC


def _check(res: SBCResult, n_sims: int, name: str, seconds: float) -> None:
    print(f"\n[{name}] wall {seconds:.0f} s")
    print(res)
    assert res.n_sims == n_sims
    assert (res.fits["error"] == "").all(), res.fits.loc[res.fits["error"] != "", "error"].tolist()
    table = res.uniformity(bins=5)
    bad = table[table["p_value"] <= 0.01]
    assert bad.empty, f"non-uniform SBC ranks:\n{bad}\n{res.bin_counts(5)}"


@pytest.mark.slow
def test_sbc_tobit_frailty() -> None:
    start = time.perf_counter()
    res = hb.sbc(tobit_model(), n_sims=50, draws=200, tune=200, chains=2, random_seed=2026, executor="serial",
                 censor=hb.CensoringRule(left=0.0))
    _check(res, 50, "tobit (left at 0) + (1 | g)", time.perf_counter() - start)
    assert set(res.parameters) == {"Intercept", "b[x]", "sd_g[Intercept]", "sigma"}


@pytest.mark.slow
def test_sbc_weibull_frailty() -> None:
    start = time.perf_counter()
    res = hb.sbc(weibull_model(), n_sims=50, draws=200, tune=200, chains=2, random_seed=2027, executor="serial",
                 censor=hb.CensoringRule(right=FOLLOW_UP))
    _check(res, 50, "weibull, right-censored at 3, + (1 | g)", time.perf_counter() - start)
    assert set(res.parameters) == {"Intercept", "b[x]", "sd_g[Intercept]", "shape"}
