"""Cumulative likelihoods with ordinal::clm's asymmetric and heavy-tailed links: cloglog
(F(x) = 1 - exp(-exp(x))), loglog (F(x) = exp(-exp(-x))) and cauchit (F(x) = 1/2 + atan(x) / pi).

Each row's log-probability is log(F(c[y] - eta) - F(c[y-1] - eta)), taken from the tail where
it does not cancel: cloglog's as a difference of survival terms exp(-exp(x)), loglog's of
distribution terms exp(-exp(-x)), both through log1mexp. The lowest and highest categories
have one threshold; the unused branches of each switch see harmless arguments, so no
infinity reaches the gradient (as :mod:`.ordinal_probit`).
"""

from __future__ import annotations

import numpy as np

from ...families import INVERSE_LINKS
from ...params import OBS_DIM
from .lazy import pm, pt

ASYMMETRIC_LINKS = ("cloglog", "loglog", "cauchit")


def _pieces(link: str):
    """(log F(u), log(1 - F(l)), log(F(u) - F(l))) of ``link`` as functions of tensors."""
    if link == "cloglog":
        return (lambda u: pt.log1mexp(-pt.exp(u)), lambda lo: -pt.exp(lo),
                lambda lo, u: -pt.exp(lo) + pt.log1mexp(pt.exp(lo) - pt.exp(u)))
    if link == "loglog":
        return (lambda u: -pt.exp(-u), lambda lo: pt.log1mexp(-pt.exp(-lo)),
                lambda lo, u: -pt.exp(-u) + pt.log1mexp(pt.exp(-u) - pt.exp(-lo)))
    if link == "cauchit":
        return (lambda u: pt.log(0.5 + pt.arctan(u) / np.pi), lambda lo: pt.log(0.5 - pt.arctan(lo) / np.pi),
                lambda lo, u: pt.log(pt.arctan(u) - pt.arctan(lo)) - np.log(np.pi))
    raise ValueError(link)


def cumulative_logp(link: str):
    """The log-probability of category ``value`` (0..K-1) with P(y <= k) = F(cut[k] - eta)."""
    below, above, between = _pieces(link)

    def logp(value, eta, cutpoints):
        last = cutpoints.shape[0] - 1
        category = pt.cast(value, "int64")
        lower = cutpoints[pt.clip(category - 1, 0, last)] - eta
        upper = cutpoints[pt.clip(category, 0, last)] - eta
        bottom, top = pt.eq(category, 0), pt.eq(category, last + 1)
        middle = between(pt.switch(bottom, upper - 1.0, lower), pt.switch(top, lower + 1.0, upper))
        return pt.switch(bottom, below(upper), pt.switch(top, above(lower), middle))

    return logp


def _random(link: str):
    def random(eta, cutpoints, rng=None, size=None):
        eta = np.asarray(eta, dtype=float)
        u = rng.uniform(size=size if size is not None else eta.shape)
        cum = INVERSE_LINKS[link](np.asarray(cutpoints)[..., None, :] - eta[..., None])
        return np.sum(u[..., None] > cum, axis=-1)

    return random


def ordered_asymmetric(name: str, link: str, eta, cutpoints, observed):
    """The observed ordinal variable ``name`` of a cumulative model with ``link``."""
    return pm.CustomDist(
        name, eta, cutpoints, logp=cumulative_logp(link), random=_random(link),
        observed=observed, dims=OBS_DIM, dtype="int64",
    )
