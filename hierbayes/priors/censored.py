"""The scale of a censored or truncated response, for the data-scaled default priors.

A gaussian or student response's defaults are scaled by ``s_y``, the sd (MAD) of ``y``. When
rows are censored, ``y`` holds their limits: a tobit's censored values pile at the limit, so
``sd(y)`` understates the spread of the response the model describes, and the shrunk default
sigma prior then decides the answer (survival's ``tobin``, 13 of 20 rows at 0: sd(y) 2.7,
survreg's sigma 5.6; the power-scaling check called sigma a prior-data conflict).

Here the location and scale of the uncensored response are estimated as the data as given
would estimate them without censoring: the maximum-likelihood mean and sd of one normal
distribution fitted to the rows with their censoring and truncation (survreg's
intercept-only gaussian fit, ``survreg(Surv(...) ~ 1, dist = "gaussian")``). Without censored
rows that is ``mean(y)`` and ``sd(y)`` exactly, the uncensored defaults; with them it is what
rstanarm's and brms' ``sd(y)`` stands for, the spread of the outcome. The scale used is never
smaller than the uncensored rule's (the sd of ``y`` as observed), so the new default is never
narrower than the old one; without a maximum (every row censored on one side, one exact value)
the old rule is kept.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from ..design.types import Design
from ..families import get_family
from ..families.censoring import Censoring, censored_log_likelihood
from .frequency import frequency_counts

__all__ = ["LatentMoments", "censored_intercept", "latent_moments"]

#: How far (on the link scale) a censored intercept-only fit may go from the uncensored centre.
INTERCEPT_REACH = 50.0
#: How far (as a factor) a censored fit's family parameters may go from 1.
AUX_REACH = 1e3
#: How far (in sds of ``y`` as observed) the fitted mean and sd may go before the fit is taken
#: as having no maximum.
REACH = 100.0
_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_INTERCEPTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class LatentMoments:
    """Mean and sd of the uncensored response (censored-normal ML fit, intercept only)."""

    mean: float
    sd: float


def latent_moments(design: Design) -> LatentMoments | None:
    """The mean and sd of a censored or truncated location-scale response (gaussian, student)
    on its data scale, or None for other designs or when the fit has no maximum.

    Parameters
    ----------
    design : Design
        The model's design: response, censoring, offset (subtracted with the identity link)
        and frequency weights (as row counts, :mod:`.frequency`).

    Returns
    -------
    LatentMoments or None
    """
    family = get_family(design.spec.family)
    if design.censoring is None or not family.location_scale or family.log_cdf is None:
        return None
    if design not in _CACHE:
        _CACHE[design] = _fit(design, family.resolve_link(design.spec.link))
    return _CACHE[design]


def _shifted(design: Design, link: str) -> tuple[np.ndarray, Censoring]:
    """(y, censoring) less the offset with the identity link (its limits moved with it)."""
    y = np.asarray(design.y, dtype=float)
    censoring = design.censoring
    if design.offset is None or link != "identity":
        return y, censoring
    offset = np.asarray(design.offset, dtype=float)
    less = lambda a: None if a is None else np.asarray(a, dtype=float) - offset
    return y - offset, Censoring(censoring.code, less(censoring.upper), less(censoring.lb), less(censoring.ub))


def _fit(design: Design, link: str) -> LatentMoments | None:
    gaussian = get_family("gaussian")
    y, censoring = _shifted(design, link)
    counts = frequency_counts(design)
    weights = np.ones(y.shape[0]) if counts is None else counts.astype(float)
    mean = float(np.average(y, weights=weights))
    observed = float(np.sqrt(np.average((y - mean) ** 2, weights=weights)))
    unit = observed if observed > 0 else 1.0

    def objective(theta: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            ll = censored_log_likelihood(gaussian, y, theta[0], "identity", {"sigma": float(np.exp(theta[1]))},
                                         None, censoring)
        value = -float(np.sum(weights * ll))
        return value if np.isfinite(value) else 1e300

    bounds = [(mean - REACH * unit, mean + REACH * unit), (np.log(unit / REACH), np.log(REACH * unit))]
    found = _interior_minimum(objective, np.array([mean, np.log(unit)]), bounds)
    return None if found is None else LatentMoments(float(found[0]), max(float(np.exp(found[1])), observed))


def censored_intercept(design: Design, uncensored: float) -> float | None:
    """The intercept of the family's intercept-only ML fit with the censoring (a survival
    family's log mean time, survreg's ``Surv(...) ~ 1`` fit): the default intercept's centre
    for a censored response other than gaussian or student (those: :func:`latent_moments`).

    log(mean(y)) reads a censored time as the event time: in a weibull simulation it fell
    0.16, 0.39 and 0.78 prior sds below the truth at 50%, 80% and 95% censoring. The
    exponential's log(total time / events) does not fall, but overshoots when the hazard
    rises (survival's rats, 86% censored: 6.47 against the weibull fit's log mean time 4.98).

    Parameters
    ----------
    design : Design
        The model's design; None is returned without censoring, for gaussian and student
        responses, with an offset, or when the fit has no maximum.
    uncensored : float
        The centre from ``y`` as stored, where the search starts.

    Returns
    -------
    float or None
    """
    family = get_family(design.spec.family)
    if design.censoring is None or family.location_scale or family.log_cdf is None or design.offset is not None:
        return None
    if design not in _INTERCEPTS:
        _INTERCEPTS[design] = _intercept_fit(design, family, uncensored)
    return _INTERCEPTS[design]


def _intercept_fit(design: Design, family, uncensored: float) -> float | None:
    link = family.resolve_link(design.spec.link)
    y = np.asarray(design.y, dtype=float)
    counts = frequency_counts(design)
    weights = np.ones(y.shape[0]) if counts is None else counts.astype(float)

    def objective(theta: np.ndarray) -> float:
        aux = {name: float(np.exp(v)) for name, v in zip(family.aux, theta[1:])}
        with np.errstate(all="ignore"):
            ll = censored_log_likelihood(family, y, theta[0], link, aux, design.trials, design.censoring)
        value = -float(np.sum(weights * ll))
        return value if np.isfinite(value) else 1e300

    bounds = [(uncensored - INTERCEPT_REACH, uncensored + INTERCEPT_REACH)] + \
        [(-np.log(AUX_REACH), np.log(AUX_REACH))] * len(family.aux)
    found = _interior_minimum(objective, np.array([uncensored] + [0.0] * len(family.aux)), bounds)
    return None if found is None else float(found[0])


def _interior_minimum(objective, start: np.ndarray, bounds: list[tuple[float, float]]) -> np.ndarray | None:
    """The minimizer of ``objective`` (1e300 where not finite) within ``bounds``, or None when
    it has no interior minimum (the search ends at a bound: no maximum of the likelihood)."""
    from scipy import optimize  # only censored designs pay its import

    found = optimize.minimize(objective, start, method="L-BFGS-B", bounds=bounds)
    at_edge = any(min(abs(v - lo), abs(v - hi)) < 1e-3 * (hi - lo) for v, (lo, hi) in zip(found.x, bounds))
    return None if not np.isfinite(found.fun) or found.fun >= 1e300 or at_edge else found.x
