"""Simulated counts where numpy's samplers refuse the mean: prior predictive draws under wide
priors reach means of exp(700), where ``Generator.negative_binomial`` raised "n too large or p
too small" and ``Generator.poisson`` "lam value too large"."""

from __future__ import annotations

import numpy as np
import pytest

from hierbayes.families import get_family

ETA = np.array([0.0, 2.0, 45.0, 69.0, 700.0])


@pytest.mark.parametrize("family,aux", [("poisson", {}), ("negbinomial", {"phi": np.array(0.5)})])
def test_extreme_means_give_draws_not_errors(family, aux):
    with np.errstate(over="ignore"):
        draws = get_family(family).simulate(np.random.default_rng(1), ETA, "log", aux, None)
    assert draws.shape == ETA.shape and np.all(draws >= 0) and np.all(np.isfinite(draws))
    assert draws[-1] > 1e250  # the order of its mean


def test_ordinary_means_keep_integer_poisson_draws():
    draws = get_family("poisson").simulate(np.random.default_rng(1), np.zeros(5), "log", {}, None)
    assert draws.dtype.kind == "i"


def test_the_negative_binomial_draws_have_nb2_moments():
    mu, phi = 3.0, 2.0
    draws = get_family("negbinomial").simulate(np.random.default_rng(2), np.full(400_000, np.log(mu)), "log",
                                               {"phi": np.array(phi)}, None)
    assert draws.mean() == pytest.approx(mu, rel=0.01)
    assert draws.var() == pytest.approx(mu + mu**2 / phi, rel=0.02)
