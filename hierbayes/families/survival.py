"""Survival-time families: weibull, exponential, lognormal, loglogistic (positive responses,
usually right-censored with ``y | cens(c)``).

Every coefficient is on the log-time scale (an accelerated failure time model:
log T = eta + scale * W), so exp(b) is a time ratio. The intercept follows brms where brms has
the family:

* ``weibull`` (log link on the mean, brms): E[T] = exp(eta), shape k; the Weibull scale is
  exp(eta) / Gamma(1 + 1/k). survreg's scale is 1/k and its intercept
  eta - lgamma(1 + 1/k); slopes and group sds are the same. The hazard is
  h(t) = k t^(k-1) lambda^-k with lambda = exp(eta) / Gamma(1 + 1/k), so
  log h(t | x) = log k + (k-1) log t - k (eta - lgamma(1 + 1/k)): the log-hazard
  (proportional hazards, Stata's default metric) slopes are -k b, hazard ratios exp(-k b),
  and the log baseline hazard (Stata's ``_cons``) is -k (b0 - lgamma(1 + 1/k)).
* ``exponential`` (log link on the mean): E[T] = exp(eta), rate exp(-eta): the weibull with k = 1
  (hazard ratios exp(-b), log baseline hazard -b0).
* ``lognormal`` (identity link, brms): log T ~ Normal(eta, sigma); E[T] = exp(eta + sigma^2 / 2).
* ``loglogistic`` (log link on the median; Stata's ``distribution(loglogistic)``): log T =
  eta + W / k with W standard logistic, shape k (Stata's gamma is 1/k); the median is exp(eta).

Each family also gives its quantile function in closed form (median survival times) and, for
the two with proportional hazards (weibull, exponential), the log hazard at time 1 that hazard
ratios are differences of: log h(t) = log k + (k - 1) log t - k log(scale).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from .checks import check_positive
from .core import Family, register
from .counts import log_mean
from .gaussian import GAUSSIAN
from .links import per_draw
from .prior_hooks import unit_scale

_PI2 = np.pi**2
#: How the tables label these families' coefficients and their exponentials.
AFT_SCALE = "log-time (AFT) scale"
TIME_RATIO = "time ratio"
#: Coefficient metrics a table can show: log time (AFT), hazard ratio, log hazard ratio.
METRICS = ("aft", "hr", "loghr")


def _log_y(y) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(np.asarray(y, dtype=float))


def _weibull_log_z(y, eta, aux) -> tuple[np.ndarray, np.ndarray]:
    """(k, k * (log y - log scale)) of the mean-parameterised weibull."""
    k = per_draw(aux["shape"], eta)
    log_scale = eta - special.gammaln(1.0 + 1.0 / k)
    return k, k * (_log_y(y) - log_scale)


def _weibull_loglik(y, eta, link, aux, trials):
    k, t = _weibull_log_z(y, eta, aux)
    return np.log(k) - _log_y(y) + t - np.exp(t)


def _weibull_log_cdf(y, eta, link, aux, trials):
    _, t = _weibull_log_z(y, eta, aux)
    with np.errstate(divide="ignore"):
        return np.log(-np.expm1(-np.exp(t)))


def _weibull_log_ccdf(y, eta, link, aux, trials):
    _, t = _weibull_log_z(y, eta, aux)
    return -np.exp(t)


def _weibull_simulate(rng, eta, link, aux, trials):
    k = np.broadcast_to(per_draw(aux["shape"], eta), np.shape(eta))
    return np.exp(eta - special.gammaln(1.0 + 1.0 / k)) * rng.weibull(k)


def _cumulative_hazard(p) -> float:
    """-log(1 - p): the unit-exponential p-quantile."""
    return float(-np.log1p(-p))


def _weibull_quantile(p, eta, link, aux, trials):
    k = per_draw(aux["shape"], eta)
    return np.exp(eta - special.gammaln(1.0 + 1.0 / k) + np.log(_cumulative_hazard(p)) / k)


def _weibull_ph_log_hazard(eta, link, aux, trials):
    """log h(1) = log k - k log(scale): h(t) = k t^(k-1) / scale^k."""
    k = per_draw(aux["shape"], eta)
    return np.log(k) - k * (eta - special.gammaln(1.0 + 1.0 / k))


def _latent(label: str, variance) -> object:
    def level1(link, mean_eta, group_variance, aux):
        return variance(aux), f"latent log-time scale ({label})"

    return level1


WEIBULL = register(
    Family(
        name="weibull",
        links=("log",),
        support="positive real numbers (times)",
        check=check_positive("weibull"),
        aux=("shape",),
        mean=log_mean,
        simulate=_weibull_simulate,
        log_likelihood=_weibull_loglik,
        intercept_location=lambda y, trials, link: float(np.log(np.mean(y))),
        link_scale=unit_scale,
        level1_variance=_latent("level-1 variance pi^2 / (6 shape^2)", lambda aux: _PI2 / 6 / aux["shape"] ** 2),
        aux_priors={"shape": ("Gamma", {"alpha": 0.01, "beta": 0.01})},
        log_cdf=_weibull_log_cdf,
        log_ccdf=_weibull_log_ccdf,
        coefficient_scale=AFT_SCALE,
        ratio=TIME_RATIO,
        quantile=_weibull_quantile,
        ph_log_hazard=_weibull_ph_log_hazard,
    )
)


def _exponential_loglik(y, eta, link, aux, trials):
    return -eta - np.asarray(y, dtype=float) * np.exp(-eta)


def _exponential_log_cdf(y, eta, link, aux, trials):
    with np.errstate(divide="ignore"):
        return np.log(-np.expm1(-np.asarray(y, dtype=float) * np.exp(-eta)))


EXPONENTIAL = register(
    Family(
        name="exponential",
        links=("log",),
        support="positive real numbers (times)",
        check=check_positive("exponential"),
        mean=log_mean,
        simulate=lambda rng, eta, link, aux, trials: rng.exponential(np.exp(eta)),
        log_likelihood=_exponential_loglik,
        intercept_location=lambda y, trials, link: float(np.log(np.mean(y))),
        link_scale=unit_scale,
        latent_variance=lambda link: _PI2 / 6,
        log_cdf=_exponential_log_cdf,
        log_ccdf=lambda y, eta, link, aux, trials: -np.asarray(y, dtype=float) * np.exp(-eta),
        coefficient_scale=AFT_SCALE,
        ratio=TIME_RATIO,
        quantile=lambda p, eta, link, aux, trials: np.exp(eta) * _cumulative_hazard(p),
        ph_log_hazard=lambda eta, link, aux, trials: -np.asarray(eta, dtype=float),
    )
)


# log y is gaussian around eta: the gaussian family's terms on the log scale
def _lognormal_loglik(y, eta, link, aux, trials):
    return GAUSSIAN.log_likelihood(_log_y(y), eta, "identity", aux, trials) - _log_y(y)


def _lognormal_log_cdf(y, eta, link, aux, trials):
    return GAUSSIAN.log_cdf(_log_y(y), eta, "identity", aux, trials)


def _lognormal_log_ccdf(y, eta, link, aux, trials):
    return GAUSSIAN.log_ccdf(_log_y(y), eta, "identity", aux, trials)


LOGNORMAL = register(
    Family(
        name="lognormal",
        links=("identity",),
        support="positive real numbers",
        check=check_positive("lognormal"),
        aux=("sigma",),
        mean=lambda eta, link, aux, trials: np.exp(eta + per_draw(aux["sigma"], eta) ** 2 / 2),
        simulate=lambda rng, eta, link, aux, trials: np.exp(rng.normal(eta, per_draw(aux["sigma"], eta))),
        log_likelihood=_lognormal_loglik,
        intercept_location=lambda y, trials, link: float(np.mean(_log_y(y))),
        link_scale=unit_scale,
        level1_variance=_latent("level-1 variance sigma^2", lambda aux: aux["sigma"] ** 2),
        aux_priors={"sigma": ("HalfStudentT", {"nu": 3.0, "sigma": 2.5})},
        log_cdf=_lognormal_log_cdf,
        log_ccdf=_lognormal_log_ccdf,
        coefficient_scale=AFT_SCALE,
        ratio=TIME_RATIO,
        quantile=lambda p, eta, link, aux, trials: np.exp(eta + per_draw(aux["sigma"], eta) * special.ndtri(p)),
        working_response=lambda y, link: _log_y(y),
    )
)


def _loglogistic_t(y, eta, aux) -> tuple[np.ndarray, np.ndarray]:
    k = per_draw(aux["shape"], eta)
    return k, k * (_log_y(y) - eta)


def _loglogistic_loglik(y, eta, link, aux, trials):
    k, t = _loglogistic_t(y, eta, aux)
    return np.log(k) - _log_y(y) + t - 2.0 * np.logaddexp(0.0, t)


def _loglogistic_mean(eta, link, aux, trials):
    k = per_draw(aux["shape"], eta)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(k > 1, (np.pi / k) / np.sin(np.pi / np.maximum(k, 1.0 + 1e-12)), np.inf)
    return np.exp(eta) * ratio


def _loglogistic_simulate(rng, eta, link, aux, trials):
    k = per_draw(aux["shape"], eta)
    return np.exp(eta + rng.logistic(size=np.shape(eta)) / k)


LOGLOGISTIC = register(
    Family(
        name="loglogistic",
        links=("log",),
        support="positive real numbers (times)",
        check=check_positive("loglogistic"),
        aux=("shape",),
        mean=_loglogistic_mean,
        simulate=_loglogistic_simulate,
        log_likelihood=_loglogistic_loglik,
        intercept_location=lambda y, trials, link: float(np.log(np.median(y))),
        link_scale=unit_scale,
        level1_variance=_latent("level-1 variance pi^2 / (3 shape^2)", lambda aux: _PI2 / 3 / aux["shape"] ** 2),
        aux_priors={"shape": ("Gamma", {"alpha": 0.01, "beta": 0.01})},
        log_cdf=lambda y, eta, link, aux, trials: -np.logaddexp(0.0, -_loglogistic_t(y, eta, aux)[1]),
        log_ccdf=lambda y, eta, link, aux, trials: -np.logaddexp(0.0, _loglogistic_t(y, eta, aux)[1]),
        coefficient_scale=AFT_SCALE,
        ratio=TIME_RATIO,
        quantile=lambda p, eta, link, aux, trials: np.exp(eta + special.logit(p) / per_draw(aux["shape"], eta)),
    )
)
