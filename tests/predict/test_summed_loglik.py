"""The log-likelihood summed per draw (predict/summed_loglik.py): a gaussian model's sum
from cross-products equals the pointwise log-likelihood summed over its rows, data far from
zero included; the other models sum the pointwise one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.predict.loglik import pointwise_log_likelihood
from hierbayes.predict.summed_loglik import summed_log_likelihood, sums_without_rows


def _prior_fit(formula: str, data: pd.DataFrame, **model_args):
    model = hb.Model(formula, data, **model_args)
    return model.fit(backend="prior", draws=100, chains=2, random_seed=3, progressbar=False)


def _both(fit) -> tuple[np.ndarray, np.ndarray]:
    posterior = fit.posterior
    design = fit.model.design
    rows = pointwise_log_likelihood(posterior, fit.spec, design).sum("obs").values
    return summed_log_likelihood(posterior, fit.spec, design), rows


@pytest.mark.parametrize(
    "formula, shift",
    [
        ("Reaction ~ Days + (Days | Subject)", 0.0),
        ("Reaction ~ Days + (Days | Subject)", 1e6),  # residuals at the mean: no cancellation
        ("Reaction ~ Days + (1 | Subject)", 0.0),
        ("Reaction ~ Days", 0.0),
        ("Reaction ~ Days + offset(Days) + (Days || Subject)", 0.0),
    ],
)
def test_a_gaussian_sum_from_cross_products_equals_the_rows_summed(sleepstudy, formula, shift) -> None:
    fit = _prior_fit(formula, sleepstudy.assign(Reaction=sleepstudy["Reaction"] + shift))
    assert sums_without_rows(fit.spec, fit.model.design)
    fast, rows = _both(fit)
    assert fast.shape == rows.shape == (2, 100)
    np.testing.assert_allclose(fast, rows, rtol=1e-11)


def test_other_models_sum_their_rows(sleepstudy) -> None:
    data = sleepstudy.assign(late=(sleepstudy["Days"] > 4).astype(int), g2=sleepstudy["Days"].astype(str))
    for formula, family in [("Reaction ~ Days + (1 | Subject) + (1 | g2)", "gaussian"),
                            ("late ~ Reaction + (1 | Subject)", "bernoulli")]:
        fit = _prior_fit(formula, data, family=family)
        assert not sums_without_rows(fit.spec, fit.model.design)
        fast, rows = _both(fit)
        np.testing.assert_allclose(fast, rows, rtol=1e-12)


def test_the_summary_does_not_make_the_pointwise_log_likelihood_of_a_gaussian_model(sleepstudy) -> None:
    fit = _prior_fit("Reaction ~ Days + (Days | Subject)", sleepstudy)
    fit.prior_sensitivity()
    assert "log_likelihood" not in fit._idata.children
    assert "log_likelihood" in fit.idata.children  # made when asked for
