"""The student family (alias ``t``): y ~ StudentT(nu, inverse_link(eta), sigma); links
identity (default), log; ``nu`` has a Gamma(2, 0.1) default prior (brms')."""

from __future__ import annotations

import numpy as np

from .checks import check_real_only
from .core import Family, register, sigma_squared_level1
from .gaussian import location_mean, sigma_prior
from .links import INVERSE_LINKS, per_draw
from .prior_hooks import centre_on_link, robust_scale


def _simulate(rng, eta, link, aux, trials):
    mu = INVERSE_LINKS[link](eta)
    sigma, nu = per_draw(aux["sigma"], eta), per_draw(aux["nu"], eta)
    return mu + sigma * rng.standard_t(np.broadcast_to(nu, np.shape(mu)))


def _log_likelihood(y, eta, link, aux, trials):
    from scipy import stats  # on use: importing scipy.stats costs 0.4 s

    mu = INVERSE_LINKS[link](eta)
    return stats.t.logpdf(y, per_draw(aux["nu"], eta), mu, per_draw(aux["sigma"], eta))


def _log_cdf(y, eta, link, aux, trials):
    from scipy import stats  # on use: importing scipy.stats costs 0.4 s

    mu = INVERSE_LINKS[link](eta)
    return stats.t.logcdf(y, per_draw(aux["nu"], eta), mu, per_draw(aux["sigma"], eta))


def _log_ccdf(y, eta, link, aux, trials):
    from scipy import stats  # on use: importing scipy.stats costs 0.4 s

    mu = INVERSE_LINKS[link](eta)
    return stats.t.logsf(y, per_draw(aux["nu"], eta), mu, per_draw(aux["sigma"], eta))


def _quantile(p, eta, link, aux, trials):
    from scipy import stats  # on use: importing scipy.stats costs 0.4 s

    return INVERSE_LINKS[link](eta) + per_draw(aux["sigma"], eta) * stats.t.ppf(p, per_draw(aux["nu"], eta))


STUDENT = register(
    Family(
        name="student",
        links=("identity", "log"),
        support="real numbers",
        check=check_real_only("student"),
        aux=("sigma", "nu"),
        mean=location_mean,
        simulate=_simulate,
        log_likelihood=_log_likelihood,
        intercept_location=lambda y, trials, link: centre_on_link(np.median(y), link),
        link_scale=lambda y, trials, link: robust_scale(y) if link == "identity" else 1.0,
        level1_variance=sigma_squared_level1(
            "data scale (level-1 variance sigma^2, the squared t scale; the t variance "
            "sigma^2 nu/(nu-2) is larger)"
        ),
        aux_priors={"sigma": sigma_prior(robust_scale), "nu": ("Gamma", {"alpha": 2.0, "beta": 0.1})},
        location_scale=True,
        log_cdf=_log_cdf,
        log_ccdf=_log_ccdf,
        quantile=_quantile,
        working_response=lambda y, link: y if link == "identity" else None,
    )
)
