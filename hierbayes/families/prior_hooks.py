"""Default-prior hooks shared by the families: where the intercept prior is centred and the
link-scale unit ``s_y`` the default priors are scaled by (see :mod:`hierbayes.priors`).

A location hook and a scale hook both have the signature ``(y, trials, link) -> float``.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from .links import LINKS, PROBIT_UNIT


def data_sd(y: np.ndarray) -> float:
    """The sd of ``y``, 1 when it is 0 (a constant response)."""
    s = float(np.std(y))
    return s if s > 0 else 1.0


def robust_scale(y: np.ndarray) -> float:
    """MAD scaled to the normal sd (brms' student-t default), sd when the MAD is 0."""
    y = np.asarray(y, dtype=float)
    # scipy.stats.median_abs_deviation(y, scale="normal"), without importing scipy.stats (0.4 s)
    mad = float(np.median(np.abs(y - np.median(y))) / special.ndtri(0.75))
    return mad if mad > 0 else data_sd(y)


def centre_on_link(value: float, link: str) -> float:
    """A typical response value on the link scale (log link: kept above 0).

    Parameters
    ----------
    value : float
        A typical response (mean, median).
    link : str
        ``"identity"`` keeps it; any other link is taken as the log link.
    """
    return float(value) if link == "identity" else float(np.log(max(float(value), 1e-8)))


def proportion_location(y, trials, link) -> float:
    """The link of the overall proportion of successes (half a success and failure added)."""
    n = np.ones_like(y, dtype=float) if trials is None else np.asarray(trials, dtype=float)
    total = float(n.sum())
    # Half a success/failure keeps the location finite for all-0 or all-1 data.
    p = (float(np.sum(y)) + 0.5) / (total + 1.0) if total > 0 else 0.5
    return float(LINKS[link](np.clip(p, 1e-3, 1 - 1e-3)))


def log_mean_location(y, trials, link) -> float:
    """log of the mean count (at least log 0.1)."""
    return float(np.log(max(float(np.mean(y)), 0.1)))


def probability_scale(y, trials, link) -> float:
    """The link-scale unit of a probability link: 1 (logit, cloglog) or PROBIT_UNIT."""
    return PROBIT_UNIT if link == "probit" else 1.0


def unit_scale(y, trials, link) -> float:
    """A link-scale unit of 1 (log links)."""
    return 1.0
