"""Population-averaged predictions (groups="marginal") need no grouping columns, as groups="exclude"
(lme4's re.form = NA) does not: the effects are integrated over the population, not read from a level.
They had raised that the grouping column was missing."""

from __future__ import annotations

import numpy as np

import hierbayes as hb


def test_marginal_predictions_need_no_grouping_column():
    data = hb.datasets.load("cbpp")
    fit = hb.Model("cbind(incidence, size - incidence) ~ period + (1 | herd)", data, family="binomial").fit(
        backend="prior", chains=1, draws=30, random_seed=1)
    rows = data.head(4)
    with_column = fit.predict(rows, groups="marginal", kind="mean", random_seed=3).draws.values
    without = fit.predict(rows.drop(columns="herd"), groups="marginal", kind="mean", random_seed=3).draws.values
    np.testing.assert_allclose(with_column, without)
    assert np.isfinite(without).all()
    draws = fit.predict(rows.drop(columns="herd"), groups="marginal", kind="response", random_seed=3).draws.values
    assert draws.shape == with_column.shape
