"""Test statistics of a predictive check of censored data compare like with like: each
replicate is censored where its row was (right: min(y_rep, c); left: max(y_rep, c)), as the
Kaplan-Meier check has them. They had compared the recorded censoring times with uncensored
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


def test_interval_censored_rows_are_named_in_a_warning():
    df = _censored(["none", "interval"])
    df["y2"] = df["y"] + 1.0
    fit = hb.Model("y | cens(c, y2) ~ x", df).fit(backend="prior", draws=20, chains=2, random_seed=1)
    with pytest.warns(UserWarning, match="interval-censored rows' recorded lower bounds"):
        fit.ppc(random_seed=1).pvalues()
