"""Link functions on numpy arrays and the link-level constants families share.

The backend has its own links on tensors; these serve predictions, the pointwise
log-likelihood, simulations and default priors, none of which recompile a model.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import special

from ..errors import SpecError

#: Inverse links (eta -> mean) on numpy arrays.
INVERSE_LINKS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "identity": lambda eta: eta,
    "log": np.exp,
    "logit": special.expit,
    "probit": special.ndtr,
    "cloglog": lambda eta: -np.expm1(-np.exp(eta)),
    "loglog": lambda eta: np.exp(-np.exp(-eta)),
    "cauchit": lambda eta: 0.5 + np.arctan(eta) / np.pi,
    "inverse": lambda eta: 1.0 / eta,
}

#: Links (mean -> eta) on numpy arrays, used to centre default priors.
LINKS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "identity": lambda mu: mu,
    "log": np.log,
    "logit": special.logit,
    "probit": special.ndtri,
    "cloglog": lambda mu: np.log(-np.log1p(-mu)),
    "loglog": lambda mu: -np.log(-np.log(mu)),
    "cauchit": lambda mu: np.tan(np.pi * (mu - 0.5)),
    "inverse": lambda mu: 1.0 / mu,
}

LOGIT_LATENT_VARIANCE = math.pi**2 / 3
#: Level-1 variance of the latent variable y* = eta + e behind a binary/ordinal response:
#: logistic e (pi^2/3), standard normal e (1), and for cloglog the Gumbel (minimum extreme
#: value) e, whose variance is pi^2/6 (Nakagawa & Schielzeth 2013, Table 2; Nakagawa,
#: Johnson & Schielzeth 2017); loglog's Gumbel (maximum) e has the same. A cauchit's Cauchy
#: e has no variance, so no latent-scale ICC.
LATENT_VARIANCES: dict[str, float] = {
    "logit": LOGIT_LATENT_VARIANCE,
    "probit": 1.0,
    "cloglog": math.pi**2 / 6,
    "loglog": math.pi**2 / 6,
}

#: Unit of the link scale relative to the logit, for default prior scales: a probit
#: coefficient is about dlogis(0)/dnorm(0) = 0.627 times the logit one for the same change
#: in probability near p = 1/2 (Amemiya 1981). rstanarm multiplies by the reciprocal; we
#: keep the prior on the probability scale the same across links instead.
PROBIT_UNIT = 0.25 * math.sqrt(2.0 * math.pi)  # 0.25 / dnorm(0)

#: What exp(coefficient) means, per link (for ``fixef(exponentiate=True)``).
RATIO_LABELS: dict[str, str] = {"logit": "odds ratio", "cloglog": "hazard ratio", "log": "ratio"}


def latent_variance(link: str) -> float | None:
    """The latent-scale level-1 variance of a binary or ordinal ``link`` (None if it has none).

    Parameters
    ----------
    link : str
        The link name (``"logit"``, ``"probit"``, ``"cloglog"``).

    Returns
    -------
    float or None
        pi^2/3, 1 or pi^2/6; None for links without a latent error distribution.
    """
    return LATENT_VARIANCES.get(link)


def per_draw(a, eta: np.ndarray) -> np.ndarray:
    """An aux parameter as an array broadcastable against ``eta``: (S,) becomes (S, 1).

    Parameters
    ----------
    a : array_like
        Draws of the parameter: a scalar, (S,) or (S, 1).
    eta : np.ndarray
        The linear predictor, (S, n) or (n,).
    """
    a = np.asarray(a, dtype=float)
    if a.ndim == 1 and np.ndim(eta) == 2 and a.shape[0] == np.shape(eta)[0]:
        return a[:, None]
    return a


def log1mexp(x: np.ndarray) -> np.ndarray:
    """log(1 - exp(x)) for x <= 0, accurate at both ends (Maechler 2012).

    Parameters
    ----------
    x : np.ndarray
        Values <= 0.
    """
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(x > -math.log(2.0), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


def log_probabilities(eta: np.ndarray, link: str) -> tuple[np.ndarray, np.ndarray]:
    """(log p, log(1 - p)) of a success probability p = inverse_link(eta), computed
    without forming p so that neither underflows to log(0) for large |eta|.

    Parameters
    ----------
    eta : np.ndarray
        The linear predictor.
    link : str
        ``"logit"``, ``"probit"`` or ``"cloglog"``.

    Raises
    ------
    SpecError
        For a link without a success probability.
    """
    eta = np.asarray(eta, dtype=float)
    if link == "logit":
        return -np.logaddexp(0.0, -eta), -np.logaddexp(0.0, eta)
    if link == "probit":
        return special.log_ndtr(eta), special.log_ndtr(-eta)
    if link == "cloglog":
        rate = np.exp(eta)
        with np.errstate(divide="ignore"):
            return np.log(-np.expm1(-rate)), -rate
    raise SpecError(f"link {link!r} has no success probability; valid: logit, probit, cloglog")


def log_cdf(x: np.ndarray, link: str) -> np.ndarray:
    """log F(x) of the latent error distribution of an ordinal link (symmetric F).

    Parameters
    ----------
    x : np.ndarray
        Points on the latent scale.
    link : str
        ``"logit"`` (logistic F) or ``"probit"`` (standard normal F).
    """
    if link == "logit":
        return -np.logaddexp(0.0, -x)
    return special.log_ndtr(x)


def log_interval(lower: np.ndarray, upper: np.ndarray, link: str) -> np.ndarray:
    """log(F(upper) - F(lower)) for lower < upper (either may be infinite), F the inverse link
    of an ordinal model, without cancelling where both ends sit in one tail.

    Parameters
    ----------
    lower, upper : np.ndarray
        Ends of the interval on the latent scale (thresholds minus the linear predictor).
    link : str
        ``"cloglog"`` (F(x) = 1 - exp(-exp(x))), ``"loglog"`` (F(x) = exp(-exp(-x))) or
        ``"cauchit"`` (F(x) = 1/2 + atan(x) / pi), as ordinal::clm defines them.
    """
    lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        if link == "cloglog":  # 1 - F(x) = exp(-exp(x)): a difference of survival terms
            a, b = np.exp(lower), np.exp(upper)
            return -a + log1mexp(a - b)
        if link == "loglog":
            a, b = np.exp(-upper), np.exp(-lower)
            return -a + log1mexp(a - b)
        if link == "cauchit":
            return np.log(np.arctan(upper) - np.arctan(lower)) - math.log(math.pi)
    raise SpecError(f"link {link!r}: log_interval takes cloglog, loglog or cauchit")
