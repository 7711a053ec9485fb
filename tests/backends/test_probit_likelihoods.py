"""Probit log-probabilities: the ordinal one of the observed category (backends/pymc/ordinal_probit) and the binary one (likelihoods.log_probabilities)."""

import numpy as np
import pytensor.tensor as pt
from scipy import special, stats

from hierbayes.backends.pymc.ordinal_probit import ordered_probit_logp

CUTS = np.array([-1.0, 0.3, 2.0])


def reference(y: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """log(Phi(c[y] - eta) - Phi(c[y-1] - eta)) in extended precision through log_ndtr."""
    padded = np.concatenate([[-np.inf], CUTS, [np.inf]])
    upper, lower = padded[y + 1] - eta, padded[y] - eta
    # on the upper side of 0 use the survival function so that nothing cancels
    flip = lower > 0
    a = np.where(flip, -upper, lower)
    b = np.where(flip, -lower, upper)
    return special.logsumexp(np.stack([special.log_ndtr(b), special.log_ndtr(a)]), axis=0, b=np.array([[1.0], [-1.0]]))


def test_matches_the_normal_cdf_from_the_centre_to_far_tails() -> None:
    eta = np.array([-60.0, -8.0, -1.5, 0.0, 0.7, 3.0, 9.0, 60.0])
    for category in range(4):
        y = np.full(eta.shape, category)
        ours = ordered_probit_logp(pt.as_tensor(y), pt.as_tensor(eta), pt.as_tensor(CUTS)).eval()
        np.testing.assert_allclose(ours, reference(y, eta), rtol=1e-9, atol=1e-12)
        assert np.all(np.isfinite(ours))


def test_gradient_is_finite_in_the_tails() -> None:
    eta = pt.dvector("eta")
    y = np.array([0, 3, 1, 2, 0, 3])
    logp = ordered_probit_logp(pt.as_tensor(y), eta, pt.as_tensor(CUTS)).sum()
    grad = pt.grad(logp, eta).eval({eta: np.array([50.0, -50.0, 30.0, -30.0, -0.5, 1.0])})
    assert np.all(np.isfinite(grad))
    # d/d eta log Phi(c0 - eta) at eta = -0.5 is -phi(z) / Phi(z), z = c0 + 0.5
    z = CUTS[0] + 0.5
    np.testing.assert_allclose(grad[4], -stats.norm.pdf(z) / stats.norm.cdf(z), rtol=1e-9)


def test_binary_probit_log_probabilities_match_log_ndtr_and_have_the_right_slope_at_zero() -> None:
    from hierbayes.backends.pymc.likelihoods import log_probabilities

    eta = pt.dvector("eta")
    log_p, log_q = log_probabilities(eta, "probit")
    values = np.array([-40.0, -5.0, -0.3, 0.0, 0.3, 5.0, 40.0])
    np.testing.assert_allclose(log_p.eval({eta: values}), special.log_ndtr(values), rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(log_q.eval({eta: values}), special.log_ndtr(-values), rtol=1e-10, atol=1e-300)
    slope = pt.grad(log_p.sum(), eta).eval({eta: np.array([0.0])})
    np.testing.assert_allclose(slope, stats.norm.pdf(0) / 0.5, rtol=1e-12)
