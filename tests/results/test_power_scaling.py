"""The numpy power-scaling sensitivity (hierbayes.results.power_scaling) gives arviz_stats'
``psense`` numbers, and measures what it should: a prior that decides a parameter."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from arviz_stats import psense

from hierbayes.results.power_scaling import cjs_distance, power_scaling_sensitivity, tail_length

SAMPLE = ("chain", "draw")


def _draws(rng, C: int, D: int, prior_sd: float):
    """A normal mean with a normal(0, prior_sd) prior, AR(1) chains around its posterior, the
    log prior and summed log-likelihood of each draw, and a skewed second parameter."""
    y = rng.normal(1.0, 1.0, size=20)
    post_prec = 1 / prior_sd**2 + len(y)
    post_mean, post_sd = y.sum() / post_prec, post_prec**-0.5
    z = np.empty((C, D))
    z[:, 0] = rng.normal(size=C)
    for t in range(1, D):
        z[:, t] = 0.6 * z[:, t - 1] + 0.8 * rng.normal(size=C)
    mu = post_mean + post_sd * z
    skewed = np.exp(0.5 * rng.normal(size=(C, D)))
    log_prior = -0.5 * (mu / prior_sd) ** 2 - skewed
    log_lik = -0.5 * ((y[None, None, :] - mu[..., None]) ** 2).sum(-1)
    return np.stack([mu, skewed], axis=-1), log_prior, log_lik


@pytest.mark.parametrize(("C", "D", "prior_sd"), [(4, 1000, 0.1), (4, 1000, 10.0), (2, 101, 1.0), (1, 60, 0.5)])
def test_same_numbers_as_arviz_psense(C, D, prior_sd):
    theta, log_prior, log_lik = _draws(np.random.default_rng(C * D), C, D, prior_sd)
    tree = xr.DataTree.from_dict({
        "posterior": xr.Dataset({"theta": (("chain", "draw", "parameter"), theta)}),
        "log_prior": xr.Dataset({"p": (SAMPLE, log_prior)}),
        "log_likelihood": xr.Dataset({"y": (SAMPLE, log_lik)}),
    })
    for group, component in (("prior", log_prior), ("likelihood", log_lik)):
        expected = psense(tree, var_names=["theta"], group=group)["theta"].values
        np.testing.assert_allclose(power_scaling_sensitivity(theta, component), expected, rtol=1e-10, atol=1e-14)


def test_a_tight_prior_is_detected_and_a_wide_one_is_not():
    theta, tight_prior, tight_lik = _draws(np.random.default_rng(1), 4, 1000, 0.1)
    assert power_scaling_sensitivity(theta[..., :1], tight_prior)[0] > 0.05
    assert power_scaling_sensitivity(theta[..., :1], tight_lik)[0] > 0.05
    theta, wide_prior, _ = _draws(np.random.default_rng(1), 4, 1000, 100.0)
    assert power_scaling_sensitivity(theta[..., :1], -0.5 * (theta[..., 0] / 100.0) ** 2)[0] < 0.01


def test_constant_log_density_raises():
    theta = np.random.default_rng(0).normal(size=(2, 100, 1))
    with pytest.raises(ValueError, match="tail values are the same"):
        power_scaling_sensitivity(theta, np.zeros((2, 100)))


def test_cjs_distance_is_zero_for_equal_weights_and_grows_with_tilt():
    x = np.random.default_rng(0).normal(size=2000)
    equal = np.full(x.size, 1 / x.size)
    assert cjs_distance(x, equal) == pytest.approx(0.0, abs=1e-6)
    small, large = (np.exp(t * x) / np.exp(t * x).sum() for t in (0.05, 0.5))
    assert 0 < cjs_distance(x, small) < cjs_distance(x, large)


@pytest.mark.parametrize(("n", "r_eff", "expected"), [(4000, 1.0, 189), (4000, 0.01, 800), (100, 1.0, 20), (20, 1.0, 5)])
def test_tail_length(n, r_eff, expected):
    assert tail_length(n, r_eff) == expected
