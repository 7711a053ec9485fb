"""The gaussian family: y ~ Normal(inverse_link(eta), sigma); links identity (default), log."""

from __future__ import annotations

import numpy as np
from scipy import special  # normal cdf/quantile as scipy.stats computes them, without importing it (0.4 s)

from .checks import check_real_only
from .core import Family, register, sigma_squared_level1
from .links import INVERSE_LINKS, per_draw
from .prior_hooks import centre_on_link, data_sd

_HALF_LOG_2PI = 0.5 * np.log(2 * np.pi)


def location_mean(eta, link, aux, trials):
    """E[y] = inverse_link(eta): the mean of a location-scale family (gaussian, student)."""
    return INVERSE_LINKS[link](eta)


def _simulate(rng, eta, link, aux, trials):
    mu = INVERSE_LINKS[link](eta)
    return rng.normal(mu, per_draw(aux["sigma"], eta))


def _log_likelihood(y, eta, link, aux, trials):
    # written out: scipy's logpdf costs several times as much on (draws, rows) arrays
    sigma = per_draw(aux["sigma"], eta)
    z = (y - INVERSE_LINKS[link](eta)) / sigma
    z *= z
    z *= -0.5
    z -= np.log(sigma) + _HALF_LOG_2PI
    return z


def _log_cdf(y, eta, link, aux, trials):
    return special.log_ndtr((y - INVERSE_LINKS[link](eta)) / per_draw(aux["sigma"], eta))


def _log_ccdf(y, eta, link, aux, trials):
    return special.log_ndtr((INVERSE_LINKS[link](eta) - y) / per_draw(aux["sigma"], eta))


def sigma_prior(scale_of_data):
    """An ``aux_priors`` entry for ``sigma``: HalfStudentT(3, s) with ``s = scale_of_data(y)``,
    on the data scale whatever the link; ``at_least`` (the uncensored response's sd when ``y``
    holds censoring limits, :mod:`hierbayes.priors.censored`) raises ``s`` to it."""

    def prior(y, trials, link, at_least: float | None = None):
        s = float(scale_of_data(y))
        return "HalfStudentT", {"nu": 3.0, "sigma": s if at_least is None else max(s, float(at_least))}

    return prior


def _response_sd(mu, aux, trials):
    return np.broadcast_to(aux["sigma"], mu.shape)


GAUSSIAN = register(
    Family(
        name="gaussian",
        links=("identity", "log"),
        support="real numbers",
        check=check_real_only("gaussian"),
        aux=("sigma",),
        mean=location_mean,
        simulate=_simulate,
        log_likelihood=_log_likelihood,
        intercept_location=lambda y, trials, link: centre_on_link(np.mean(y), link),
        link_scale=lambda y, trials, link: data_sd(y) if link == "identity" else 1.0,
        level1_variance=sigma_squared_level1("data scale (gaussian residual variance sigma^2)"),
        aux_priors={"sigma": sigma_prior(data_sd)},
        normal_residuals=True,
        location_scale=True,
        response_sd=_response_sd,
        log_cdf=_log_cdf,
        log_ccdf=_log_ccdf,
        quantile=lambda p, eta, link, aux, trials: INVERSE_LINKS[link](eta) + per_draw(aux["sigma"], eta) * special.ndtri(p),
    )
)
