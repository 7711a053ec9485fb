"""Survival probabilities, quantiles and hazard ratios of a family's uncensored outcome.

The numpy side of survival predictions: S(t) = exp(``Family.log_ccdf``) at a grid of times,
the p-quantiles from ``Family.quantile`` (median survival time: p = 0.5) and log hazards of
families with proportional hazards (``Family.ph_log_hazard``). Every function takes the
linear predictor ``eta`` of shape (S, n) (S draws, n rows) and the family parameters as
``Family.log_likelihood`` does, and refuses a family without the needed piece with a
SpecError naming it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import DataError, SpecError
from .core import Family

__all__ = ["log_hazard_ph", "outcome_quantiles", "survival_probabilities"]


def survival_probabilities(family: Family, times: Sequence[float], eta, link: str, aux: dict, trials=None) -> np.ndarray:
    """S(t) = P(T > t) of the uncensored outcome at each time.

    Parameters
    ----------
    family : Family
        Needs ``log_ccdf``.
    times : sequence of float
        Times (any order; 0 gives S = 1 for the positive families).
    eta : (S, n) linear predictor draws.
    link, aux, trials : as for ``Family.log_likelihood``.

    Returns
    -------
    numpy.ndarray
        (S, n, len(times)).

    Raises
    ------
    SpecError
        When the family has no survival function.
    """
    if family.log_ccdf is None:
        raise SpecError(f"the {family.name} family has no survival function (no log_ccdf) in hierbayes")
    eta = np.asarray(eta, dtype=float)
    out = np.empty((*eta.shape, len(times)))
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        for i, t in enumerate(np.asarray(times, dtype=float)):
            out[..., i] = np.exp(family.log_ccdf(np.full(eta.shape[-1], t), eta, link, aux, trials))
    return out


def check_probabilities(p: Sequence[float], what: str = "quantiles") -> np.ndarray:
    """``p`` as a 1-d float array, every value strictly between 0 and 1 (DataError otherwise)."""
    values = np.atleast_1d(np.asarray(p, dtype=float))
    bad = values[~((values > 0) & (values < 1))]
    if values.ndim != 1 or bad.size:
        raise DataError(f"{what}={[float(v) for v in np.ravel(values)]}: every probability must be strictly between 0 and 1")
    return values


def outcome_quantiles(family: Family, p: Sequence[float], eta, link: str, aux: dict, trials=None) -> np.ndarray:
    """The p-quantiles of the uncensored outcome (p = 0.5: the median survival time).

    Returns
    -------
    numpy.ndarray
        (S, n, len(p)).

    Raises
    ------
    SpecError
        When the family has no quantile function.
    DataError
        For a probability outside (0, 1).
    """
    if family.quantile is None:
        raise SpecError(f"the {family.name} family has no quantile function in hierbayes")
    p = check_probabilities(p)
    eta = np.asarray(eta, dtype=float)
    out = np.empty((*eta.shape, p.size))
    with np.errstate(over="ignore"):
        for i, q in enumerate(p):
            out[..., i] = np.broadcast_to(family.quantile(float(q), eta, link, aux, trials), eta.shape)
    return out


def log_hazard_ph(family: Family, eta, link: str, aux: dict, trials=None) -> np.ndarray:
    """The log hazard at time 1 of a proportional-hazards family; differences between rows are
    log hazard ratios (the same at every time).

    Raises
    ------
    SpecError
        When the family's hazards are not proportional (lognormal, loglogistic: their hazard
        ratio changes with time; compare times with time ratios instead).
    """
    if family.ph_log_hazard is None:
        raise SpecError(
            f"hazard ratios need proportional hazards (the weibull and exponential families); the "
            f"{family.name} family's hazard ratio changes with time: compare time ratios "
            "(exponentiated coefficients) or survival curves instead"
        )
    eta = np.asarray(eta, dtype=float)
    return np.broadcast_to(family.ph_log_hazard(eta, link, aux, trials), eta.shape).astype(float)
