"""The link of a modelled auxiliary parameter (``sigma ~ x + (1|g)``) and the centre of its
intercept's default prior.

Every auxiliary parameter a formula can model is positive: it is ``lower + exp(eta)``, with
``lower`` 0 (sigma, phi, shape) or 1 (student's nu, kept above 1 so the mean exists). The
intercept's default prior is centred where a model without the formula puts the parameter:
the log of its default prior's scale (sigma: log of the data-scaled HalfStudentT scale, i.e.
log sd(y) for gaussian) or mean (Gamma priors: nu 20, phi and shape 1).
"""

from __future__ import annotations

import math

import numpy as np

from .core import Family

#: Lower bound of each modellable parameter (0 when absent).
AUX_LOWER: dict[str, float] = {"nu": 1.0}


def aux_lower(name: str) -> float:
    """The lower bound of the auxiliary parameter ``name`` (0 unless listed in AUX_LOWER)."""
    return AUX_LOWER.get(name, 0.0)


def aux_link_label(name: str) -> str:
    """How the sub-model's scale is written in tables: ``log`` or ``log(nu - 1)``."""
    lower = aux_lower(name)
    return "log" if lower == 0 else f"log({name} - {lower:g})"


def aux_inverse_link(name: str, eta: np.ndarray) -> np.ndarray:
    """The parameter's values from its linear predictor: ``lower + exp(eta)``."""
    return aux_lower(name) + np.exp(eta)


def aux_centre(family: Family, name: str, y: np.ndarray, trials, link: str) -> float:
    """Centre of the sub-model's intercept prior on its link scale."""
    default = (family.aux_priors or {})[name]
    if callable(default):
        default = default(np.asarray(y, dtype=float), trials, link)
    dist, params = default
    if dist == "Gamma":
        typical = params["alpha"] / params["beta"]
    else:
        typical = params.get("sigma", params.get("beta", 1.0))
    shifted = typical - aux_lower(name)
    return float(math.log(shifted if shifted > 0 else typical))
