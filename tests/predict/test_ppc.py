"""Posterior and prior predictive checks: replicated data, test statistics with Bayesian
p-values, grouped checks, LOO-PIT; a poisson model of overdispersed counts must be
flagged and the negative binomial model of the same data must not."""

from __future__ import annotations

import numpy as np
import pytest
from test_predict import count_fit, logit_fit, sleep_fit

import hierbayes as hb
from hierbayes.results.stats import flatten_draws


@pytest.fixture(scope="module")
def poisson_check():
    return count_fit("poisson").ppc(random_seed=1)


@pytest.fixture(scope="module")
def negbin_check():
    return count_fit("negbinomial").ppc(random_seed=1)


@pytest.mark.slow  # two count models of their own, 4 x 400 draws (shared with the comparison)
def test_overdispersed_counts_flag_poisson_not_negbinomial(poisson_check, negbin_check):
    pois = poisson_check.pvalues()
    nb = negbin_check.pvalues()
    assert list(pois.index) == ["mean", "var", "prop_zero", "max"]
    # the mean is fitted by both; the variance only by the negative binomial
    assert 0.05 < pois.loc["mean", "p_value"] < 0.95
    assert pois.loc["var", "p_value"] < 0.005 and pois.loc["var", "extreme"]
    assert pois.loc["var", "observed"] > pois.loc["var", "rep_upper"]
    assert 0.05 < nb.loc["var", "p_value"] < 0.95 and not nb.loc["var", "extreme"]
    # more zeros than a poisson allows
    assert pois.loc["prop_zero", "p_value"] < 0.005
    assert 0.05 < nb.loc["prop_zero", "p_value"] < 0.95


@pytest.mark.slow  # two count models of their own, 4 x 400 draws (shared with the comparison)
def test_grouped_check_marks_misfitting_groups(poisson_check, negbin_check):
    pois = poisson_check.grouped(stats=("mean", "sd"))
    nb = negbin_check.grouped(stats=("mean", "sd"))
    assert set(pois.columns) >= {"g", "statistic", "n", "observed", "rep_mean", "rep_lower", "rep_upper", "p_value", "misfit"}
    assert len(pois) == 2 * 40 and (pois["n"] == 10).all()
    sd_pois = pois[pois.statistic == "sd"]
    sd_nb = nb[nb.statistic == "sd"]
    # within-group spread is too small under the poisson model in many groups
    assert sd_pois["misfit"].sum() >= 8
    assert sd_nb["misfit"].sum() <= 4
    # group means are fitted by the group intercepts under both
    assert pois[pois.statistic == "mean"]["misfit"].sum() <= 4
    # the observed group statistics are the raw ones
    df = count_fit("poisson").model.data
    raw = df.groupby("g", observed=True)["y"].mean()
    got = pois[pois.statistic == "mean"].set_index("g")["observed"]
    np.testing.assert_allclose(got.loc[raw.index], raw.to_numpy())


def test_replicated_data_and_p_value_definition():
    fit = sleep_fit()
    check = fit.ppc(random_seed=3)
    S = fit.posterior.sizes["chain"] * fit.posterior.sizes["draw"]
    n = fit.model.design.n_obs
    assert check.yrep.shape == (S, n)
    np.testing.assert_array_equal(check.y, fit.model.design.y)
    # one replicated data set per posterior draw: y_rep - mu has sd sigma
    mu = fit.predict().values
    resid_sd = (check.yrep - mu).std(axis=1)
    np.testing.assert_allclose(resid_sd.mean(), flatten_draws(fit.posterior["sigma"]).mean(), rtol=0.02)
    table = check.pvalues(stats=["mean", "sd", lambda y: np.quantile(y, 0.9, axis=-1)])
    obs, reps = check.statistic_draws("sd")
    assert table.loc["sd", "p_value"] == pytest.approx(np.mean(reps > obs) + 0.5 * np.mean(reps == obs))
    assert 0.05 < table.loc["mean", "p_value"] < 0.95
    assert "<lambda>" in table.index
    with pytest.raises(hb.SpecError, match="unknown test statistic"):
        check.pvalues(stats=["skewness"])
    with pytest.raises(hb.ArgumentError, match=r"pvalues\(\) takes no argument 'stat'. Did you mean 'stats'\?"):
        check.pvalues(stat="sd")
    with pytest.raises(hb.SpecError, match="no grouping factor 'nope'"):
        check.grouped("nope")
    # same seed, same replications
    np.testing.assert_array_equal(fit.ppc(random_seed=3).yrep, check.yrep)


def test_loo_pit_is_uniform_for_the_right_model(negbin_check):
    pit = negbin_check.loo_pit()
    assert pit.shape == (400,) and np.all((pit >= 0) & (pit <= 1))
    # a Kolmogorov-Smirnov distance well inside the 1% band of a uniform sample of 400
    grid = np.sort(pit)
    ks = np.max(np.abs(grid - (np.arange(1, 401) - 0.5) / 400))
    assert ks < 1.63 / np.sqrt(400)


@pytest.mark.slow
def test_binary_check_uses_calibration():
    check = logit_fit().ppc(ndraws=400, random_seed=1)
    assert check.response_kind == "binary"
    assert set(np.unique(check.yrep)) <= {0.0, 1.0}
    assert 0.05 < check.pvalues().loc["mean", "p_value"] < 0.95
    from hierbayes.plots import default_ppc_kind

    assert default_ppc_kind("binary") == "calibration"
    assert default_ppc_kind("count") == "rootogram"
    assert default_ppc_kind("continuous") == "density"


def test_prior_predictive_before_fitting():
    df = hb.datasets.load("sleepstudy")
    model = hb.Model("Reaction ~ Days + (Days | Subject)", df)
    check = model.prior_predictive(draws=200, random_seed=1)
    assert check.source == "prior" and check.yrep.shape == (200, 180)
    assert "prior_predictive" in check.idata.children and "prior" in check.idata.children
    table = check.pvalues()
    # weakly informative priors: replicated data sets vary far more than one data set
    assert table.loc["sd", "rep_upper"] > 2 * table.loc["sd", "observed"]
    # the prior's replicated means are centred near the data (priors are scaled to it)
    assert table.loc["mean", "rep_lower"] < table.loc["mean", "observed"] < table.loc["mean", "rep_upper"]
    with pytest.raises(hb.SpecError, match="posterior draws"):
        check.loo_pit()
    # reproducible
    again = model.prior_predictive(draws=200, random_seed=1)
    np.testing.assert_array_equal(again.yrep, check.yrep)


def test_a_grouped_sd_of_a_one_row_group_is_undefined_without_numpy_warnings():
    import warnings

    import pandas as pd

    rng = np.random.default_rng(4)
    data = pd.DataFrame({"y": rng.normal(size=31), "g": [f"g{i // 5}" for i in range(30)] + ["lone"]})
    fit = hb.Model("y ~ 1 + (1 | g)", data).fit(draws=100, tune=100, chains=2, random_seed=1, progressbar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # numpy's "Mean of empty slice" once leaked here
        table = fit.ppc().grouped(stats=("sd",))
    lone = table.set_index("g").loc["lone"]
    assert np.isnan(lone["rep_mean"]) and np.isnan(lone["observed"])
    assert np.isfinite(table.set_index("g").loc["g0", "rep_mean"])
