"""Signed sds of integrated-out terms: the sampler moves ``s`` on the real line, ``sd = |s|``,
and the reported correlations carry the signs (``backends/pymc/covariance/parts.py``)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import hierbayes as hb
from hierbayes.backends.pymc.compile import LOGLIK_POTENTIAL, compile_model
from hierbayes.backends.pymc.covariance.parts import symmetric_prior


@pytest.fixture(scope="module")
def sleep():
    return hb.datasets.load("sleepstudy")


def test_half_priors_have_their_symmetric_law_and_others_none():
    assert symmetric_prior(hb.Prior("HalfStudentT", nu=3.0, sigma=2.0)) == hb.Prior("StudentT", mu=0.0, nu=3.0, sigma=2.0)
    assert symmetric_prior(hb.Prior("HalfNormal", sigma=2.0)) == hb.Prior("Normal", mu=0.0, sigma=2.0)
    assert symmetric_prior(hb.Prior("HalfCauchy", beta=2.0)) == hb.Prior("Cauchy", alpha=0.0, beta=2.0)
    assert symmetric_prior(hb.Prior("Gamma", alpha=2.0, beta=0.1)) is None


def _names(compiled):
    return {v.name for v in compiled.model.free_RVs}, {v.name for v in compiled.model.deterministics}


def test_only_the_integrated_likelihood_samples_signed_sds(sleep):
    model = hb.Model("Reaction ~ Days + (Days | Subject)", sleep)
    free, det = _names(compile_model(model.design, model.priors, {"Subject": "marginal"}))
    assert "sd_Subject__signed" in free and "sd_Subject" in det and "cor_Subject" in det
    free, det = _names(compile_model(model.design, model.priors, {"Subject": "noncentered"}))
    assert "sd_Subject" in free and "sd_Subject__signed" not in free
    # a prior without a symmetric counterpart keeps its log-scale sd
    gamma = hb.Model("Reaction ~ Days + (Days | Subject)", sleep, priors={"sd": hb.Prior("Gamma", alpha=2.0, beta=0.1)})
    free, _ = _names(compile_model(gamma.design, gamma.priors, {"Subject": "marginal"}))
    assert "sd_Subject" in free and "sd_Subject__signed" not in free


def test_reported_sd_and_correlation_are_what_the_integrated_likelihood_uses(sleep):
    """At a point with a negative slope sd, the likelihood term equals the gaussian
    log density with covariance diag(sd) cor diag(sd) of the reported sd and cor."""
    model = hb.Model("Reaction ~ Days + (Days | Subject)", sleep)
    compiled = compile_model(model.design, model.priors, {"Subject": "marginal"})
    pm_model = compiled.model
    point = pm_model.initial_point()
    point["sd_Subject__signed"] = np.array([24.0, -6.0])
    point["L_Subject_cholesky_corr__"] = np.array([0.7])
    point["sigma_log__"] = np.log(25.0)
    point["b"] = np.array([10.0])
    point["Intercept_c"] = np.array(298.0)
    loglik = next(p for p in pm_model.potentials if p.name == LOGLIK_POTENTIAL)
    outputs = pm_model.replace_rvs_by_values([pm_model["sd_Subject"], pm_model["cor_Subject"], pm_model["Intercept"], loglik])
    sd, cor, intercept, value = pm_model.compile_fn(
        outputs, inputs=pm_model.value_vars, on_unused_input="ignore", point_fn=False,
    )(*[point[v.name] for v in pm_model.value_vars])
    assert np.allclose(sd, [24.0, 6.0])
    assert cor[0, 1] < 0 and np.isclose(cor[0, 1], cor[1, 0]) and np.allclose(np.diag(cor), 1.0)
    cov = np.outer(sd, sd) * cor
    total = 0.0
    for _, part in sleep.groupby("Subject", observed=True):
        Z = np.column_stack([np.ones(len(part)), part["Days"].to_numpy(float)])
        mean = float(intercept) + 10.0 * part["Days"].to_numpy(float)
        total += stats.multivariate_normal(mean, Z @ cov @ Z.T + 25.0**2 * np.eye(len(part))).logpdf(part["Reaction"])
    assert np.isclose(float(value), total, rtol=1e-9)
