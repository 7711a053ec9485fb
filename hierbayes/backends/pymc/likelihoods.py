"""Likelihoods per family: map the linear predictor to an observed PyMC variable."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from ...design.types import Design
from ...params import OBS_DIM
from ...priors import PriorTable
from .blocks import register

INVERSE_LINKS: dict[str, Callable] = {
    "identity": lambda eta: eta,
    "log": pt.exp,
    "logit": pm.math.invlogit,
    "probit": lambda eta: 0.5 + 0.5 * pt.erf(eta / np.sqrt(2.0)),
    "cloglog": lambda eta: 1.0 - pt.exp(-pt.exp(eta)),
    "inverse": lambda eta: 1.0 / eta,
}


def gaussian(eta, design: Design, priors: PriorTable, link: str):
    sigma = register("sigma", priors.get("sigma"))
    mu = INVERSE_LINKS[link](eta)
    return pm.Normal("y", mu=mu, sigma=sigma, observed=design.y, dims=OBS_DIM)


LIKELIHOODS: dict[str, Callable] = {"gaussian": gaussian}


def likelihood(eta, design: Design, priors: PriorTable, link: str):
    """Register the observed variable ``y`` for the design's family."""
    return LIKELIHOODS[design.spec.family](eta, design, priors, link)
