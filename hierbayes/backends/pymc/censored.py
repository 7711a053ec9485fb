"""The observed ``y`` of a censored or truncated response, and of the survival families.

:func:`observe` registers ``y`` as a ``pm.CustomDist`` whose log-density per row is the
distribution's log density (exact rows), log CDF (left-censored: the value is below ``y``),
log survival function (right-censored) or log probability of the interval (``y``, ``upper``),
minus the log probability of the truncation interval. The rows of each kind are fixed by the
data, so each kind's expression is built on its own rows only (no ``switch`` whose unused
branch could put NaN in the gradient).

A distribution is given as ``make(eta, *aux) -> PyMC distribution`` (``pm.Weibull.dist(...)``);
``on_log=True`` says the distribution is that of log(y) (log-logistic: a logistic on log
time), the density then gaining the Jacobian -log(y). The pointwise log-likelihood LOO reads
is computed in numpy by :func:`hierbayes.families.censored_log_likelihood`; this is what the
sampler sees, the same quantity.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...design.types import Design
from ...families import Censoring, get_family, truncated_draws
from ...params import OBS_DIM
from .lazy import pm, pt

__all__ = ["observe"]

_KINDS = (0, -1, 1, 2)


def _rows(param, idx: np.ndarray):
    """A parameter at the rows ``idx`` when it is given per row, else unchanged (scalars
    reach the logp as broadcastable length-1 vectors)."""
    shape = getattr(getattr(param, "type", None), "shape", ())
    return param[..., idx] if len(shape) >= 1 and shape[-1] != 1 else param


def _log_diff(log_a, log_b):
    """log(a - b) from log a > log b."""
    return log_a + pt.log1mexp(log_b - log_a)


def _kind_logp(kind: int, dist, value, upper, survival, cdf):
    if kind == 0:
        return pm.logp(dist, value)
    if kind == -1:
        return cdf(dist, value)
    if kind == 1:
        return survival(dist, value)
    return _log_diff(cdf(dist, upper), cdf(dist, value))


def _survival(logccdf: Callable | None, params) -> Callable:
    """(dist, value) -> log P(Y > value): the family's own expression when given (PyMC 6 has
    ``logccdf`` only for Normal and LogNormal; elsewhere it is log1mexp(logcdf), which is
    -inf in the far right tail, where right-censored survival times often are)."""
    if logccdf is None:
        return pm.logccdf
    return lambda dist, value: logccdf(value, *params)


def _cdf(logcdf: Callable | None, params) -> Callable:
    """(dist, value) -> log P(Y <= value): the family's own expression when given (one that
    JAX can differentiate where PyMC's cannot), else PyMC's ``logcdf``."""
    if logcdf is None:
        return pm.logcdf
    return lambda dist, value: logcdf(value, *params)


def _truncation(censoring: Censoring, make, params, on_log: bool, logccdf: Callable | None, logcdf: Callable | None):
    """log P(lb < Y < ub) per row (rows without a bound on a side: no term for it)."""
    dist = make(*params)
    survival, cdf = _survival(logccdf, params), _cdf(logcdf, params)
    scale = np.log if on_log else (lambda a: a)
    lb = None if censoring.lb is None else np.asarray(censoring.lb, float)
    ub = None if censoring.ub is None else np.asarray(censoring.ub, float)
    if on_log and lb is not None and np.all(lb <= 0):
        lb = None  # a log-scale distribution has no mass below 0: P(Y > 0) = 1
    if lb is not None and ub is not None:
        return _log_diff(cdf(dist, scale(ub)), cdf(dist, scale(lb)))
    if lb is not None:
        return survival(dist, scale(lb))
    if ub is not None:
        return cdf(dist, scale(ub))
    return 0.0


def observe(
    design: Design, make: Callable, eta, *aux, on_log: bool = False, link: str | None = None,
    logccdf: Callable | None = None, logcdf: Callable | None = None,
):
    """Register the observed ``y`` (dims ``obs``) of ``design`` under the distribution
    ``make(eta, *aux)``, with the design's censoring and truncation (``Design.censoring``).

    Parameters
    ----------
    design : Design
        Response, censoring codes, interval upper bounds and truncation bounds.
    make : callable
        (eta, *aux) -> an unregistered PyMC distribution (``pm.X.dist``) of y, or of log(y)
        with ``on_log``.
    eta : tensor (n,)
        The linear predictor (offset included).
    *aux : tensors
        The family's parameters, in ``Family.aux`` order (scalars or per-row vectors).
    on_log : bool
        ``make`` gives the distribution of log(y).
    link : str or None
        The link, for drawing new responses with the family's numpy ``simulate``.
    logccdf : callable or None
        (value, eta, *aux) -> log P(Y > value) (of log y with ``on_log``), numerically
        stable in the right tail; None: PyMC's ``logccdf`` of the distribution.
    logcdf : callable or None
        (value, eta, *aux) -> log P(Y <= value), for a distribution whose PyMC ``logcdf``
        cannot be differentiated on every back end; None: PyMC's.
    """
    family = get_family(design.spec.family)
    censoring = design.censoring
    if censoring is None:
        censoring = Censoring(np.zeros(design.n_obs, dtype=np.int8))
    y = np.asarray(design.y, dtype=float)
    if censoring.rule is not None:
        return _observe_by_rule(censoring.rule, y, family, make, eta, aux, on_log, link, logccdf, logcdf)
    groups = {k: np.flatnonzero(censoring.code == k) for k in _KINDS}
    upper = None if censoring.upper is None else np.asarray(censoring.upper, float)
    truncated = censoring.lb is not None or censoring.ub is not None

    def logp(value, eta, *aux):
        out = pt.zeros(value.shape, dtype="float64")
        for kind, idx in groups.items():
            if idx.size == 0:
                continue
            params = (eta[idx], *(_rows(a, idx) for a in aux))
            dist = make(*params)
            v = value[idx]
            bound = None if upper is None else upper[idx]
            if on_log:
                v, bound = pt.log(v), None if bound is None else np.log(bound)
            part = _kind_logp(kind, dist, v, bound, _survival(logccdf, params), _cdf(logcdf, params))
            if on_log and kind == 0:
                part = part - v
            out = pt.set_subtensor(out[idx], part)
        if truncated:
            out = out - _truncation(censoring, make, (eta, *aux), on_log, logccdf, logcdf)
        return out

    return pm.CustomDist("y", eta, *aux, logp=logp, random=_random(family, link, censoring), observed=y, dims=OBS_DIM)


def _random(family, link, censoring: Censoring | None = None):
    """New responses (prior and posterior predictive draws from PyMC), from the truncated
    distribution when the response is truncated."""
    lb, ub = (None, None) if censoring is None else (censoring.lb, censoring.ub)

    def random(eta, *aux, rng=None, size=None):
        values = dict(zip(family.aux, aux, strict=True))
        eta = np.asarray(eta, dtype=float)
        if lb is None and ub is None:
            draws = family.simulate(rng, eta, link, values, None)
        else:
            draws = truncated_draws(family, rng, eta, link, values, None, lb, ub)
        return np.broadcast_to(draws, size) if size is not None else draws

    return random


def _observe_by_rule(rule, y, family, make, eta, aux, on_log, link, logccdf, logcdf):
    """The censored likelihood when the codes follow from ``y`` by known limits or interval
    edges (SBC): every row's density, log CDF, log survival and / or interval probability are
    computed and the row's own one chosen by masks that are constants of the graph, so
    responses with different censored rows give graphs of the same shape (the refitter lifts
    the masks, and the intervals' upper edges, as data)."""
    left, right = rule.masks(y)
    inside = rule.inside(y)
    # rows outside an interval get a harmless upper edge (their interval branch is not used)
    upper = None if inside is None else np.where(inside, rule.upper(y), y + 1.0)

    def logp(value, eta, *aux):
        dist = make(eta, *aux)
        survival, cdf = _survival(logccdf, (eta, *aux)), _cdf(logcdf, (eta, *aux))
        v = pt.log(value) if on_log else value
        if inside is None:
            out = pm.logp(dist, v) - (v if on_log else 0.0)
        else:  # bin edges leave no exact row: the interval probability is the default
            out = _interval_logp(dist, v, np.log(upper) if on_log else upper, survival, cdf)
        if left is not None:
            out = pt.switch(left, cdf(dist, v), out)
        if right is not None:
            out = pt.switch(right, survival(dist, v), out)
        return out

    return pm.CustomDist("y", eta, *aux, logp=logp, random=_random(family, link), observed=y, dims=OBS_DIM)


def _interval_logp(dist, lo, hi, survival, cdf):
    """log P(lo < Y < hi): from the CDF in the lower half, from the survival function in the
    upper half (a difference of two numbers near 1 loses the digits there)."""
    log_f_hi = cdf(dist, hi)
    by_cdf = _log_diff(log_f_hi, cdf(dist, lo))
    by_survival = _log_diff(survival(dist, lo), survival(dist, hi))
    return pt.switch(pt.lt(log_f_hi, np.log(0.5)), by_cdf, by_survival)
