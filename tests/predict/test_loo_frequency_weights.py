"""PSIS-LOO of a frequency-weighted fit is the LOO of its expanded data (one copy left out at
a time): checked on the same draws against ArviZ's loo of the expanded rows' log-likelihood.
It had left out whole cells (MASS's housing: elpd -1,871 and p_loo 236 against -1,748 and
8.2 for the 1,681 answers themselves)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import hierbayes as hb


@pytest.fixture(scope="module")
def weighted_fit():
    rng = np.random.default_rng(2)
    cells = pd.DataFrame({"x": np.repeat([0.0, 1.0, 2.0], 4), "y": np.tile([0, 1, 2, 4], 3)})
    cells["n"] = rng.integers(1, 9, size=len(cells))
    # prior draws narrow enough to stand in for a posterior (PSIS needs estimable tails)
    priors = {"b": hb.Prior("Normal", mu=0.3, sigma=0.05), "Intercept": hb.Prior("Normal", mu=0.2, sigma=0.05)}
    return hb.Model("y ~ x", cells, family="poisson", weights="n", priors=priors).fit(
        backend="prior", draws=500, chains=2, random_seed=1)


def test_loo_of_frequency_weights_is_the_loo_of_the_expanded_rows(weighted_fit):
    import arviz_stats as az

    fit = weighted_fit
    weights = fit.model.data["n"].to_numpy()
    got = fit.loo()
    ll = fit.idata["log_likelihood"].to_dataset()["y"]
    one_copy = ll / xr.DataArray(weights.astype(float), dims=ll.dims[-1])
    expanded = one_copy.isel({ll.dims[-1]: np.repeat(np.arange(len(weights)), weights)})
    expanded = expanded.assign_coords({ll.dims[-1]: np.arange(expanded.sizes[ll.dims[-1]])})
    tree = xr.DataTree.from_dict({"posterior": fit.posterior, "log_likelihood": xr.Dataset({"y": expanded})})
    want = az.loo(tree, pointwise=True, var_name="y")
    assert got.n_data_points == int(weights.sum()) == want.n_data_points
    assert got.elpd == pytest.approx(want.elpd, rel=1e-10)
    assert got.p == pytest.approx(want.p, rel=1e-8)
    assert got.se == pytest.approx(want.se, rel=1e-8)
    assert float(got.elpd_i.sum()) == pytest.approx(got.elpd, rel=1e-10)


def test_compare_counts_the_copies_too(weighted_fit):
    other = hb.Model("y ~ 1", weighted_fit.model.data, family="poisson", weights="n",
                     priors={"Intercept": hb.Prior("Normal", mu=0.6, sigma=0.05)}).fit(
        backend="prior", draws=500, chains=2, random_seed=2)
    table = hb.compare({"slope": weighted_fit, "flat": other})
    assert table.loc["slope", "elpd"] == pytest.approx(weighted_fit.loo().elpd, rel=1e-10)
    assert table.loc["flat", "elpd"] == pytest.approx(other.loo().elpd, rel=1e-10)


def test_loo_of_collapsed_cells_says_it_leaves_out_cells():
    rng = np.random.default_rng(3)
    rows = pd.DataFrame({"x": np.repeat([0.0, 1.0], 30), "g": np.tile(["a", "b", "c"], 20)})
    rows["y"] = rng.binomial(1, 0.4, size=len(rows))
    priors = {"b": hb.Prior("Normal", mu=0.3, sigma=0.05), "Intercept": hb.Prior("Normal", mu=-0.4, sigma=0.05),
              "sd:g": hb.Prior("HalfNormal", sigma=0.05)}
    fit = hb.Model("y ~ x + (1 | g)", rows, family="bernoulli", priors=priors).fit(
        backend="prior", draws=500, chains=2, random_seed=1)
    with pytest.warns(UserWarning, match=r"elpd_loo is over the 6 binomial cells this fit collapsed its 60 rows into"):
        fit.loo()


def test_a_check_of_frequency_weights_says_its_replications_are_coarse(weighted_fit):
    check = weighted_fit.ppc(random_seed=1)
    assert "each row's replication is one draw counted w times" in repr(check)
    assert "df.index.repeat" in check.pvalues().attrs["weights"]
