"""The vectorised R-hat / ESS (hierbayes.results.mcmc_stats) give ArviZ's numbers."""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest
import xarray as xr
from arviz_base import rcParams
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hierbayes.results.mcmc_stats import average_ranks, convergence, ess_bulk, ess_tail, rank_rhat


def _chains(rng, C=4, D=400, P=30) -> np.ndarray:
    """AR(1) chains from white noise to phi=0.97, one chain shifted for some scalars, a
    constant scalar and a discrete one (ties in the ranks)."""
    phi = np.linspace(0.0, 0.97, P)
    phi[-3] = 1.0  # a random walk: Geyer's sums stay positive to the end
    x = np.empty((C, D, P))
    x[:, 0] = rng.normal(size=(C, P))
    for t in range(1, D):
        x[:, t] = phi * x[:, t - 1] + rng.normal(size=(C, P))
    x[C - 1, :, :8] += 1.5
    x[:, :, -1] = 2.0
    x[:, :, -2] = rng.integers(0, 3, size=(C, D))
    x[:, :, -4] = np.where(rng.random((C, D)) < 0.5, -x[:, :, -4], x[:, :, -4])  # sign flips: negative rho_1
    return x


@pytest.mark.parametrize(("C", "D"), [(4, 400), (2, 101), (1, 50), (4, 9), (3, 12)])
def test_same_numbers_as_arviz(C, D):
    x = _chains(np.random.default_rng(C * D), C=C, D=D)
    ds = xr.Dataset({"v": (("chain", "draw", "p"), x)})
    prob = rcParams["stats.ci_prob"]
    with np.errstate(all="ignore"):
        expected = {
            "bulk": az.ess(ds, method="bulk")["v"].values,
            "tail": az.ess(ds, method="tail")["v"].values,
            "rhat": az.rhat(ds)["v"].values,
        }
    ours = {"bulk": ess_bulk(x), "tail": ess_tail(x, prob), "rhat": rank_rhat(x)}
    for key in expected:
        np.testing.assert_allclose(ours[key], expected[key], rtol=1e-8, equal_nan=True, err_msg=key)
    if C > 1 and D >= 100:
        assert ours["rhat"][7] > 1.05 > ours["rhat"][10]  # the shifted chains are flagged


def test_convergence_in_one_call_equals_the_three_estimators(monkeypatch):
    import hierbayes.results.mcmc_stats as ms

    monkeypatch.setattr(ms, "BLOCK_VALUES", 4 * 400 * 7)  # blocks of 7 scalars
    x = _chains(np.random.default_rng(3))
    with np.errstate(all="ignore"):
        rhat, bulk, tail = convergence(x, 0.89)
        # blockwise FFTs round differently in the last digits
        np.testing.assert_allclose(rhat, rank_rhat(x), rtol=1e-10)
        np.testing.assert_allclose(bulk, ess_bulk(x), rtol=1e-10)
        np.testing.assert_allclose(tail, ess_tail(x, 0.89), rtol=1e-10)


@settings(max_examples=200, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 30)),
              elements=st.sampled_from([0.0, 1.0, 2.5, -3.0, np.nan])))
def test_tie_averaged_ranks_equal_scipys(rows):
    from scipy.stats import rankdata

    np.testing.assert_array_equal(average_ranks(rows), rankdata(rows, method="average", axis=1))
