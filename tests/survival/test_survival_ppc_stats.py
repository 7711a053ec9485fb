"""Test statistics of a predictive check of censored data compare like with like. By default a
right-censored response is checked by its Kaplan-Meier median and restricted mean survival
time; statistics asked for by name are computed on replicates each censored where its row
was (right: min(y_rep, c); left: max(y_rep, c)), as the Kaplan-Meier check has them. They had compared the recorded censoring times with uncensored
replicates and called a well-fitting Weibull model of lung's survival extreme (p = 0.999 for
the mean, 1.0 for sd and max)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb


def _censored(kinds) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    n = 60
    df = pd.DataFrame({"x": rng.normal(size=n)})
    df["y"] = 1.0 + 0.5 * df["x"] + rng.normal(size=n)
    df["c"] = rng.choice(kinds, size=n)
    return df


def test_replicates_are_censored_where_their_rows_were():
    df = _censored(["none", "right", "left"])
    fit = hb.Model("y | cens(c) ~ x", df).fit(backend="prior", draws=50, chains=2, random_seed=1)
    check = fit.ppc(random_seed=1)
    raw, seen, y = check.yrep, check.yrep_as_observed, df["y"].to_numpy()
    right, left, exact = (df["c"] == "right").to_numpy(), (df["c"] == "left").to_numpy(), (df["c"] == "none").to_numpy()
    np.testing.assert_array_equal(seen[:, right], np.minimum(raw[:, right], y[right]))
    np.testing.assert_array_equal(seen[:, left], np.maximum(raw[:, left], y[left]))
    np.testing.assert_array_equal(seen[:, exact], raw[:, exact])
    observed, replicated = check.statistic_draws("max")
    np.testing.assert_allclose(replicated, seen.max(axis=1))
    assert check.pvalues(["max"]).loc["max", "observed"] == pytest.approx(observed)


@pytest.mark.parametrize("response, lower, upper", [
    ("y | tobit(ll = 0.5)", 0.5, np.inf),
    ("y | tobit(ll = 0.5, ul = 2)", 0.5, 2.0),
])
def test_a_tobits_replicates_are_censored_at_its_limits_on_every_row(response, lower, upper):
    # only the rows the data censored had been: AER's Affairs (ll = 0) had 16% of its
    # replicates below 0 and p = 0 / 1 for mean, sd, min and max
    df = _censored(["none"])
    fit = hb.Model(f"{response} ~ x", df).fit(backend="prior", draws=50, chains=2, random_seed=1)
    check = fit.ppc(random_seed=1)
    raw, seen = check.yrep, check.yrep_as_observed
    assert (raw < lower).any() and seen.min() >= lower and seen.max() <= upper
    np.testing.assert_array_equal(seen, np.clip(raw, lower, upper))


def test_a_tobit_limit_given_as_a_column_is_said_to_censor_only_the_data_censored_rows():
    df = _censored(["none"]).assign(lim=0.5)
    fit = hb.Model("y | tobit(ll = lim) ~ x", df).fit(backend="prior", draws=20, chains=2, random_seed=1)
    with pytest.warns(UserWarning, match="a tobit limit given as a column censors only the rows the data censored"):
        fit.ppc(random_seed=1).pvalues()


def test_interval_censored_rows_are_named_in_a_warning():
    df = _censored(["none", "interval"])
    df["y2"] = df["y"] + 1.0
    fit = hb.Model("y | cens(c, y2) ~ x", df).fit(backend="prior", draws=20, chains=2, random_seed=1)
    with pytest.warns(UserWarning, match="interval-censored rows' recorded lower bounds"):
        fit.ppc(random_seed=1).pvalues()


def test_kaplan_meier_summaries_by_hand():
    from hierbayes.predict.km import km_summaries

    assert km_summaries(np.array([1.0, 2, 3, 4]), np.ones(4, bool), 4.0) == (2.0, pytest.approx(2.5))
    # row 2 censored: S = 0.75 after 1, 0.375 after 3, 0 after 4
    median, rmst = km_summaries(np.array([1.0, 2, 3, 4]), np.array([True, False, True, True]), 4.0)
    assert median == 3.0 and rmst == pytest.approx(1 + 0.75 * 2 + 0.375)
    assert np.isnan(km_summaries(np.array([1.0, 2, 3]), np.array([True, False, False]), 3.0)[0])


def test_right_censored_checks_default_to_kaplan_meier_statistics():
    # moments of recorded times are not comparable: events' replicates run past follow-up
    from hierbayes.predict.km import km_summaries

    df = _censored(["none", "right"]).assign(y=lambda d: np.exp(d["y"]))
    fit = hb.Model("y | cens(c) ~ x", df, family="weibull").fit(backend="prior", draws=50, chains=2, random_seed=1)
    table = fit.ppc(random_seed=1).pvalues()
    right = (df["c"] == "right").to_numpy()
    median, rmst = km_summaries(df["y"].to_numpy(), ~right, float(df["y"].max()))
    assert list(table.index) == ["km_median", "rmst"] and "Kaplan-Meier" in table.attrs["statistics"]
    assert table.loc["km_median", "observed"] == pytest.approx(median)
    assert table.loc["rmst", "observed"] == pytest.approx(rmst)
