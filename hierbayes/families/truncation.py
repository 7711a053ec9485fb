"""New responses of a truncated outcome (``y | trunc(lb, ub)``): draws from the family's
distribution restricted to the truncation interval, for predictive checks, ``predict(kind=
"response")`` and prior simulation.

A family with a closed-form quantile (``Family.quantile``) is drawn by inverse CDF: a uniform
between the CDF at the two bounds, mapped back through the quantile, from the side of the
distribution where those probabilities keep their digits (the CDF when the interval lies in the
lower half, the survival function in the upper half). Other families (the counts) are drawn by
rejection: out-of-bounds values are drawn again, :data:`ROUNDS` times at most.

The bounds follow the likelihood (:func:`.censoring.censored_log_likelihood`, which divides by
P(lb < Y <= ub)): a draw lies in ``(lb, ub]``.
"""

from __future__ import annotations

import numpy as np

from ..errors import SpecError
from .core import Family

__all__ = ["FAR_TAIL", "ROUNDS", "truncated_draws"]

#: Redraws of out-of-bounds values of a family without a quantile function.
ROUNDS = 1000
#: Upper-tail probability of a lower bound below which 1 - P(Y > lb) has lost too many digits
#: for the inverse CDF; there the draw is lb plus an exponential with the hazard at lb.
FAR_TAIL = 1e-9


def _bound(bound, shape, fill: float) -> np.ndarray:
    if bound is None:
        return np.full(shape, fill)
    return np.broadcast_to(np.asarray(bound, dtype=float), shape)


def _log_cdf_at(family: Family, bound, eta, link, aux, trials, empty: float) -> np.ndarray:
    """log F(bound) where the bound is finite, ``empty`` where it is absent."""
    finite = np.isfinite(bound)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = family.log_cdf(np.where(finite, bound, 1.0), eta, link, aux, trials)
    return np.where(finite, value, empty)


def _log_ccdf_at(family: Family, bound, eta, link, aux, trials, empty: float) -> np.ndarray:
    finite = np.isfinite(bound)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = family.log_ccdf(np.where(finite, bound, 1.0), eta, link, aux, trials)
    return np.where(finite, value, empty)


def _by_inverse_cdf(family, rng, eta, link, aux, trials, lb, ub) -> np.ndarray:
    u = rng.uniform(size=eta.shape)
    f_lb = np.exp(_log_cdf_at(family, lb, eta, link, aux, trials, -np.inf))
    f_ub = np.exp(_log_cdf_at(family, ub, eta, link, aux, trials, 0.0))
    log_s_lb = _log_ccdf_at(family, lb, eta, link, aux, trials, 0.0)
    s_lb = np.exp(log_s_lb)
    s_ub = np.exp(_log_ccdf_at(family, ub, eta, link, aux, trials, -np.inf))
    upper_half = f_lb > 0.5
    p = np.where(upper_half, 1.0 - (s_ub + u * (s_lb - s_ub)), f_lb + u * (f_ub - f_lb))
    tiny = np.finfo(float).tiny
    draws = family.quantile(np.clip(p, tiny, 1.0 - np.finfo(float).epsneg), eta, link, aux, trials)
    # beyond FAR_TAIL of the upper tail 1 - s has lost its digits: the excess over lb is
    # exponential with the hazard at lb (the tail's limit; prior draws get there)
    far = np.isfinite(lb) & (s_lb < FAR_TAIL)
    if far.any():
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_hazard = family.log_likelihood(np.where(far, lb, 1.0), eta, link, aux, trials) - np.where(
                far, log_s_lb, 0.0)
            hazard = np.exp(log_hazard)
            # an exponential truncated to the interval's width (inverse CDF)
            kept = -np.expm1(-hazard * (ub - lb))
            excess = -np.log1p(-rng.uniform(size=eta.shape) * kept) / hazard
        draws = np.where(far, lb + excess, draws)
    return np.clip(draws, lb, ub)


def _by_rejection(family, rng, eta, link, aux, trials, lb, ub) -> np.ndarray:
    draws = np.asarray(family.simulate(rng, eta, link, aux, trials), dtype=float)
    outside = (draws <= lb) | (draws > ub)
    for _ in range(ROUNDS):
        if not outside.any():
            return draws
        again = np.asarray(family.simulate(rng, eta, link, aux, trials), dtype=float)
        draws = np.where(outside, again, draws)
        outside = (draws <= lb) | (draws > ub)
    raise SpecError(
        f"could not draw new {family.name} responses inside the truncation bounds in {ROUNDS} "
        f"tries ({int(outside.sum())} values left): the bounds keep almost none of the distribution"
    )


def truncated_draws(family: Family, rng: np.random.Generator, eta, link: str, aux: dict, trials, lb, ub) -> np.ndarray:
    """New responses of ``family`` restricted to ``(lb, ub]``.

    Parameters
    ----------
    family, rng, eta, link, aux, trials : as for ``Family.simulate`` (``eta`` (n,) or (S, n)).
    lb, ub : (n,) bounds (``-inf`` / ``inf`` or None where absent).

    Returns
    -------
    numpy.ndarray
        The shape of ``eta``.

    Raises
    ------
    SpecError
        When the family cannot simulate, or rejection finds no value inside the bounds.
    """
    if family.simulate is None:
        raise SpecError(f"family {family.name!r} cannot simulate new responses")
    eta = np.asarray(eta, dtype=float)
    lb, ub = _bound(lb, eta.shape, -np.inf), _bound(ub, eta.shape, np.inf)
    if family.quantile is not None and family.log_cdf is not None and family.response_kind != "count":
        return _by_inverse_cdf(family, rng, eta, link, aux, trials, lb, ub)
    return _by_rejection(family, rng, eta, link, aux, trials, lb, ub)
