"""Adaptive Gauss-Hermite quadrature of each level's likelihood (leave-one-group-out): the
rule against brute-force integrals on a grid, for counts, a bernoulli with two effects and
a non-concave (student-t) likelihood."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

from hierbayes.predict.group_quadrature import adaptive_group_loglik, nodes_per_dimension, product_rule


def _layout(rng, n_levels=6, per_level=5, S=4):
    codes = np.repeat(np.arange(n_levels), per_level)
    base = rng.normal(0.3, 0.4, size=(S, codes.size))
    return codes, base


def _grid_loglik(row_loglik, base, Z, codes, n_levels, chol, half_width=9.0, n=801):
    """(S, J) by a dense grid over each effect (K = 1 or 2), in units of the prior sd."""
    S, K, _ = chol.shape
    axis = np.linspace(-half_width, half_width, n)
    points = np.stack(np.meshgrid(*([axis] * K), indexing="ij"), -1).reshape(-1, K)  # standard units
    out = np.zeros((S, n_levels))
    for s in range(S):
        u = points @ chol[s].T  # (M, K)
        log_prior = stats.multivariate_normal.logpdf(u, np.zeros(K), chol[s] @ chol[s].T)
        cell = np.log(abs(np.linalg.det(chol[s]))) + K * np.log(axis[1] - axis[0])
        for j in range(n_levels):
            rows = codes == j
            eta = base[s, rows][None, :] + u @ Z[rows].T  # (M, n_j)
            ll = row_loglik(eta, rows).sum(axis=1)
            out[s, j] = logsumexp(ll + log_prior) + cell
    return out


def test_poisson_levels_match_a_dense_grid():
    rng = np.random.default_rng(1)
    codes, base = _layout(rng)
    y = rng.poisson(np.exp(0.3 + 0.8 * rng.normal(size=6))[codes])
    Z = np.ones((codes.size, 1))
    chol = np.array([0.5, 0.8, 1.2, 2.0])[:, None, None]
    got = adaptive_group_loglik(lambda eta: stats.poisson.logpmf(y, np.exp(eta)), base, Z, codes, 6, chol,
                                start=np.zeros((6, 1)))
    want = _grid_loglik(lambda eta, r: stats.poisson.logpmf(y[r], np.exp(eta)), base, Z, codes, 6, chol)
    np.testing.assert_allclose(got, want, atol=1e-7)


def test_bernoulli_with_a_slope_matches_a_dense_grid_and_starts_anywhere():
    rng = np.random.default_rng(2)
    codes, base = _layout(rng, n_levels=4, per_level=8, S=3)
    x = rng.normal(size=codes.size)
    Z = np.column_stack([np.ones_like(x), x])
    y = rng.integers(0, 2, size=codes.size)
    chol = np.stack([np.array([[1.0, 0.0], [0.3, 0.6]]) * f for f in (0.5, 1.0, 1.5)])

    def loglik(eta, rows=slice(None)):
        return stats.bernoulli.logpmf(y[rows], 1 / (1 + np.exp(-eta)))

    got = adaptive_group_loglik(loglik, base, Z, codes, 4, chol, start=np.zeros((4, 2)))
    want = _grid_loglik(loglik, base, Z, codes, 4, chol, n=301)
    np.testing.assert_allclose(got, want, atol=2e-4)
    far = adaptive_group_loglik(loglik, base, Z, codes, 4, chol, start=np.full((4, 2), 3.0))
    np.testing.assert_allclose(far, got, atol=1e-8)


def test_a_non_concave_student_likelihood_matches_a_dense_grid():
    rng = np.random.default_rng(3)
    codes, base = _layout(rng, n_levels=3, per_level=4, S=2)
    y = base[0] + rng.standard_t(2, size=codes.size)
    y[0] += 15.0  # an outlier makes the level's log-likelihood bimodal-ish in its effect
    Z = np.ones((codes.size, 1))
    chol = np.array([1.0, 3.0])[:, None, None]

    def loglik(eta, rows=slice(None)):
        return stats.t.logpdf(y[rows], 3, loc=eta, scale=0.7)

    got = adaptive_group_loglik(loglik, base, Z, codes, 3, chol, start=np.zeros((3, 1)))
    want = _grid_loglik(loglik, base, Z, codes, 3, chol, half_width=12.0, n=4001)
    np.testing.assert_allclose(got, want, atol=1e-3)


@pytest.mark.parametrize(("points", "dim", "nodes"), [(200, 1, 20), (200, 2, 14), (200, 3, 5), (200, 4, 3),
                                                    (8, 3, 2), (1, 5, 1), (10_000, 1, 20)])
def test_nodes_per_dimension_keep_the_product_within_the_points(points, dim, nodes):
    assert nodes_per_dimension(points, dim) == nodes


def test_the_product_rule_integrates_gaussian_moments():
    x, log_w = product_rule(5, 2)
    w = np.exp(log_w)
    assert x.shape == (25, 2) and w.sum() == pytest.approx(1.0)
    assert np.sum(w * x[:, 0] ** 2 * x[:, 1] ** 4) == pytest.approx(3.0)  # E[x^2] E[y^4]
    assert np.sum(w * x[:, 0] * x[:, 1]) == pytest.approx(0.0, abs=1e-12)
