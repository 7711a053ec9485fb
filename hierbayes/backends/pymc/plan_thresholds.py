"""How much the data say about a group term's effects in an ordinal (thresholds) model.

The working-response approximation of :mod:`.plan_glm` for a family whose response is one
of K ordered categories, ``P(y = k) = F(c_{k+1} - eta) - F(c_k - eta)``: at a pilot fit of
the fixed part and the thresholds (no group effects, maximum likelihood), row ``i``'s
linear predictor is known to its Fisher information ``W_i = sum_k (dP_k/deta)^2 / P_k``
and its working residual is the score over that, ``(dP_{y_i}/deta / P_{y_i}) / W_i`` (one
Fisher-scoring step, as IRLS's). A group's data then hold ``sum_{i in j} W_i`` of precision
on its effect, as for a binomial or count response.

Without it a term of an ordinal model was planned by counting rows (50 a group to be
centred), and ordinal::wine's 9 judges (8 ratings each), soup's 185 respondents and
mlmRev's Socatt were non-centred; they are adaptive now (wine's min bulk ESS 1,442-1,784
-> 2,754-4,208 at seeds 1 and 3; E-BFMI 0.6 -> 0.9 on soup and Socatt).
"""

from __future__ import annotations

import numpy as np

from ...design.types import Design
from ...families import get_family
from ...families.ordinal import threshold_locations

#: Step of the central differences in eta.
STEP = 1e-5
#: Probabilities are kept above this so an empty category does not divide by zero.
FLOOR = 1e-12


def _thresholds(free: np.ndarray) -> np.ndarray:
    """Increasing thresholds from the first one and log increments."""
    return free[0] + np.concatenate([[0.0], np.cumsum(np.exp(free[1:]))])


def _pilot(design: Design, link: str, family, y: np.ndarray, K: int) -> tuple[np.ndarray, np.ndarray]:
    """(eta, thresholds) of the fixed part fitted by maximum likelihood, group effects 0."""
    from scipy import optimize  # only ordinal designs pay its import (0.1 s)

    X = design.X
    offset = np.zeros(design.n_obs) if design.offset is None else np.asarray(design.offset, float)
    weights = np.ones(design.n_obs) if design.row_weights is None else np.asarray(design.row_weights, float)
    start_c = np.clip(threshold_locations(y, K, link), -10.0, 10.0)
    start = np.concatenate([np.zeros(X.shape[1]), [start_c[0]], np.log(np.maximum(np.diff(start_c), 1e-3))])
    p = X.shape[1]

    def objective(theta: np.ndarray) -> float:
        eta = X @ theta[:p] + offset
        loglik = family.log_likelihood(y, eta, link, {"Intercept": _thresholds(theta[p:])}, None)
        value = -float(np.sum(weights * loglik))
        return value if np.isfinite(value) else 1e300

    found = optimize.minimize(objective, start, method="L-BFGS-B")
    theta = found.x
    return X @ theta[:p] + offset, _thresholds(theta[p:])


def threshold_working_rows(design: Design, link: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(Fisher information ``W_i``, working residual) per row at the pilot fit (see the
    module); None for a family without thresholds."""
    family = get_family(design.spec.family)
    if not family.thresholds or family.mean is None or family.log_likelihood is None:
        return None
    y = np.asarray(design.y, dtype=np.int64)
    K = int(y.max()) + 1
    eta, cuts = _pilot(design, link, family, y, K)
    aux = {"Intercept": cuts}
    slope = (family.mean(eta + STEP, link, aux, None) - family.mean(eta - STEP, link, aux, None)) / (2 * STEP)
    probabilities = np.maximum(family.mean(eta, link, aux, None), FLOOR)
    information = np.maximum(np.sum(slope**2 / probabilities, axis=-1), FLOOR)
    rows = np.arange(design.n_obs)
    score = slope[rows, y] / probabilities[rows, y]
    return information, score / information
