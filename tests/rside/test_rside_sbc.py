"""SBC of models with residual structures (issue 15).

Fast: the row form SBC simulates from (each residual group's rows one multivariate normal,
the group terms sampled) has the same likelihood as the fitted residual-structure form, the
structure's parameters are ranked by default (only the lower triangle of ``unstr_cor``), and
simulated responses come back in the design's row order.
Slow: SBC (50 simulations, serial, 2 chains x 200 draws) of ``y ~ x + (1 | g)`` with AR(1)
residuals and of an MMRM (``y ~ x``, unstructured residuals over 3 visits, a residual sd per
visit); every ranked parameter's ranks must be uniform (chi-square over 5 bins, p > 0.01).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.backends import get_backend
from hierbayes.backends.pymc.compile import compile_model
from hierbayes.sbc import SBCResult, correlation_names, default_targets


def _ar1_model(J: int = 8, T: int = 5, seed: int = 0) -> hb.Model:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"g": np.repeat([f"g{j}" for j in range(J)], T), "t": np.tile(np.arange(1, T + 1), J)})
    df["x"] = rng.normal(size=len(df))
    df["y"] = rng.normal(size=len(df))  # placeholder: SBC simulates the response
    return hb.Model("y ~ x + (1 | g)", df, residuals=hb.residuals("ar1", time="t", group="g"))


def _mmrm_model(n: int = 20, seed: int = 0, shuffle: bool = False) -> hb.Model:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"id": np.repeat([f"s{i:02d}" for i in range(n)], 3), "visit": np.tile(["v1", "v2", "v3"], n)})
    df["x"] = rng.normal(size=len(df))
    df["y"] = rng.normal(size=len(df))
    if shuffle:
        df = df.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return hb.Model("y ~ x", df, residuals=hb.residuals("unstructured", time="visit", group="id"))


# ---------------------------------------------------------------------------- fast


@pytest.mark.slow  # 6-9 s of cold compilation
def test_row_form_has_the_likelihood_of_the_fitted_form() -> None:
    model = _mmrm_model(n=6, seed=1, shuffle=True)
    fitted = compile_model(model.design, model.priors, {}).model
    rows = compile_model(model.design, model.priors, {}, likelihood_form="rows").model
    assert len(rows.observed_RVs) == 1 and not fitted.observed_RVs
    point = fitted.initial_point()
    rng = np.random.default_rng(2)
    point = {k: v + rng.uniform(-0.4, 0.4, size=np.shape(v)) for k, v in point.items()}
    assert set(point) == set(rows.initial_point())
    np.testing.assert_allclose(rows.compile_logp(mode="FAST_COMPILE")(point), fitted.compile_logp(mode="FAST_COMPILE")(point), rtol=1e-10)


def test_structure_parameters_are_default_targets() -> None:
    ar1 = _ar1_model()
    assert default_targets(ar1) == ["Intercept", "b", "sd_g", "sigma", "ar1_phi"]
    mmrm = _mmrm_model()
    assert default_targets(mmrm) == ["Intercept", "b", "sigma", "unstr_cor", "sigma_ratio"]
    assert "unstr_cor" in correlation_names(mmrm.spec, mmrm.design)
    assert "ar1_phi" not in correlation_names(ar1.spec, ar1.design)


@pytest.mark.slow  # 25-65 s: compiles the prior simulation of an MMRM
def test_simulated_responses_follow_the_rows() -> None:
    # shuffled rows: a response simulated per group must land on its own rows, so the
    # visit-3 rows (sd sigma * sigma_ratio[v3]) are told apart by their spread
    model = _mmrm_model(n=30, seed=3, shuffle=True)
    sim = get_backend().simulate_prior(model.design, model.priors, {}, ["sigma_ratio", "Intercept", "b"], 200, 4)
    assert sim.y.shape == (200, 90)
    assert sim.labels["sigma_ratio"] == [["v2", "v3"]]
    X = model.design.X
    mean = sim.values["Intercept"][:, None] + sim.values["b"][:, :1] * X[:, -1][None]  # y ~ x: b has one column
    visit = model.data["visit"].to_numpy()
    spread = {v: np.std(sim.y[:, visit == v] - mean[:, visit == v], axis=1) for v in ("v1", "v3")}
    log_ratio = np.log(spread["v3"] / spread["v1"])
    # with 30 rows per visit, the spread ratio tracks the drawn sd ratio closely
    assert np.corrcoef(log_ratio, np.log(sim.values["sigma_ratio"][:, 1]))[0, 1] > 0.9


# ---------------------------------------------------------------------------- slow: SBC


def _check(res: SBCResult, n_sims: int, name: str, seconds: float) -> None:
    print(f"\n[{name}] wall {seconds:.0f} s")
    print(res)
    print(res.fits[["divergences", "max_r_hat", "min_ess_bulk", "seconds"]].describe().round(3))
    assert res.n_sims == n_sims
    assert (res.fits["error"] == "").all(), res.fits.loc[res.fits["error"] != "", "error"].tolist()
    ranks = res.ranks.to_numpy()
    assert np.isfinite(ranks).all() and ranks.min() >= 0 and ranks.max() <= res.ranked_draws
    table = res.uniformity(bins=5)
    bad = table[table["p_value"] <= 0.01]
    assert bad.empty, f"non-uniform SBC ranks:\n{bad}\n{res.bin_counts(5)}"


@pytest.mark.slow
def test_sbc_ar1_residuals_with_random_intercept() -> None:
    model = _ar1_model(J=8, T=5, seed=21)
    start = time.perf_counter()
    res = hb.sbc(model, n_sims=50, draws=200, tune=200, chains=2, random_seed=2026, executor="serial")
    _check(res, 50, "AR(1) + (1 | g)", time.perf_counter() - start)
    assert set(res.parameters) == {"Intercept", "b[x]", "sd_g[Intercept]", "sigma", "ar1_phi"}


@pytest.mark.slow
def test_sbc_unstructured_mmrm() -> None:
    model = _mmrm_model(n=20, seed=22)
    start = time.perf_counter()
    res = hb.sbc(model, n_sims=50, draws=200, tune=200, chains=2, random_seed=2027, executor="serial")
    _check(res, 50, "MMRM unstructured, 3 visits", time.perf_counter() - start)
    assert set(res.parameters) == {
        "Intercept", "b[x]", "sigma", "unstr_cor[v2,v1]", "unstr_cor[v3,v1]", "unstr_cor[v3,v2]",
        "sigma_ratio[v2]", "sigma_ratio[v3]",
    }
