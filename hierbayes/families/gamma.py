"""The gamma family: mean exp(eta), shape a (variance mean^2 / a); log link."""

from __future__ import annotations

import numpy as np
from scipy import special

from .checks import check_positive
from .core import Family, register
from .counts import log_mean
from .links import per_draw
from .prior_hooks import unit_scale


def _simulate(rng, eta, link, aux, trials):
    shape = per_draw(aux["shape"], eta)
    mu = np.exp(eta)
    return rng.gamma(np.broadcast_to(shape, mu.shape), mu / shape)


def _log_likelihood(y, eta, link, aux, trials):
    """Gamma with mean exp(eta) and shape a (rate a / mean): variance mean^2 / a."""
    y = np.asarray(y, dtype=float)
    a = per_draw(aux["shape"], eta)
    return a * (np.log(a) - eta) + (a - 1.0) * np.log(y) - a * y * np.exp(-eta) - special.gammaln(a)


def _log_cdf(y, eta, link, aux, trials):
    a = per_draw(aux["shape"], eta)
    return np.log(special.gammainc(a, a * np.asarray(y, dtype=float) * np.exp(-eta)))


def _log_ccdf(y, eta, link, aux, trials):
    a = per_draw(aux["shape"], eta)
    return np.log(special.gammaincc(a, a * np.asarray(y, dtype=float) * np.exp(-eta)))


def _quantile(p, eta, link, aux, trials):
    a = per_draw(aux["shape"], eta)
    return special.gammaincinv(a, p) * np.exp(eta) / a


def _level1(link, mean_eta, group_variance, aux):
    return np.log1p(1.0 / aux["shape"]), (
        "latent log scale: level-1 variance log(1 + 1/shape) (log-normal approximation, "
        "Nakagawa et al. 2017)"
    )


GAMMA = register(
    Family(
        name="gamma",
        links=("log",),
        support="positive real numbers",
        check=check_positive("gamma"),
        aux=("shape",),
        mean=log_mean,
        simulate=_simulate,
        log_likelihood=_log_likelihood,
        intercept_location=lambda y, trials, link: float(np.log(np.mean(y))),
        link_scale=unit_scale,
        level1_variance=_level1,
        aux_priors={"shape": ("Gamma", {"alpha": 0.01, "beta": 0.01})},
        response_sd=lambda mu, aux, trials: mu / np.sqrt(aux["shape"]),
        log_cdf=_log_cdf,
        log_ccdf=_log_ccdf,
        quantile=_quantile,
        working_response=lambda y, link: np.log(y),
        aux_meaning="shape: var = mu^2 / shape; R's glm dispersion (and glmmTMB's Gamma sigma^2) is 1 / shape",
    )
)
