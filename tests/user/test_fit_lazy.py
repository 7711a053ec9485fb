"""What a Fit computes after sampling only when asked (issue 20): the diagnostics and the
pointwise log-likelihood are computed on first use, kept, and equal to computing them at once;
a saved fit loads without computing either."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import xarray as xr

import hierbayes as hb
import hierbayes.fit as fit_module
from hierbayes.predict.loglik import log_likelihood_group
from hierbayes.results.diagnostics import diagnose
from hierbayes.results.draw_checks import terms_of


@pytest.fixture(scope="module")
def fitted():
    """Prior draws (2 chains x 100) of a gaussian model with a correlated group term: no NUTS
    is needed to compare lazy and eager values."""
    df = hb.datasets.load("sleepstudy")
    return hb.Model("Reaction ~ Days + (Days | Subject)", df).fit(
        backend="prior", draws=100, chains=2, random_seed=5, progressbar=False
    )


@pytest.fixture
def diagnose_calls(monkeypatch):
    calls = []

    def counting(*args, **kwargs):
        calls.append(args)
        return diagnose(*args, **kwargs)

    monkeypatch.setattr(fit_module, "diagnose", counting)
    return calls


def _eager_diagnostics(fit):
    return diagnose(fit.idata, terms_of(fit.model, fit.info.parameterization), target_accept=fit.info.target_accept)


def _same_diagnostics(a, b) -> None:
    assert str(a) == str(b)
    assert a.problems == b.problems
    assert (a.divergences, a.max_treedepth_hits, a.worst_r_hat, a.worst_ess) == (
        b.divergences, b.max_treedepth_hits, b.worst_r_hat, b.worst_ess)
    np.testing.assert_array_equal([a.max_r_hat, a.min_ess_bulk, a.min_ess_tail], [b.max_r_hat, b.min_ess_bulk,
                                                                                    b.min_ess_tail])
    assert a.table.equals(b.table)


def test_diagnostics_are_computed_once_on_first_use_and_equal_the_eager_ones(fitted, diagnose_calls):
    # the prior draws stand in for a posterior: a summary of prior draws has no diagnostics line
    fit = fit_module.Fit(fitted.idata, fitted.model, dataclasses.replace(fitted.info, sampler="numpyro"))
    assert diagnose_calls == []
    first = fit.diagnostics
    assert fit.diagnose() is first and fit.diagnostics is first
    assert len(diagnose_calls) == 1
    _same_diagnostics(first, _eager_diagnostics(fitted))
    assert "Diagnostics: " + str(first) in str(fit.summary())


def test_diagnostics_describe_the_sampled_draws_after_idata_is_replaced(fitted):
    fit = fit_module.Fit(fitted.idata, fitted.model, fitted.info)
    tree = fitted.idata.copy()
    tree["sample_stats"] = xr.DataTree(tree["sample_stats"].to_dataset().assign(
        diverging=lambda s: s["diverging"] | True))
    fit.idata = tree
    assert fit.diagnostics.divergences == fitted.diagnostics.divergences == 0


def test_a_loaded_fit_computes_nothing_until_asked_and_then_the_same_values(fitted, tmp_path, diagnose_calls):
    expected = fitted.diagnostics  # the shared fixture's, computed here if no earlier test on this worker did
    diagnose_calls.clear()
    path = tmp_path / "fit.nc"
    fitted.save(path)
    loaded = hb.load(path)
    assert diagnose_calls == []
    assert "log_likelihood" not in loaded._idata.children  # the file leaves it out
    _same_diagnostics(loaded.diagnostics, expected)
    assert len(diagnose_calls) == 1
    lazy = loaded.idata["log_likelihood"].to_dataset()
    eager = log_likelihood_group(fitted.posterior, fitted.spec, fitted.model.design).to_dataset()
    xr.testing.assert_allclose(lazy, eager, rtol=1e-12)
    xr.testing.assert_allclose(lazy, fitted.idata["log_likelihood"].to_dataset(), rtol=1e-12)
    xr.testing.assert_equal(loaded.posterior, fitted.posterior)
    assert str(loaded.summary()) == str(fitted.summary())
