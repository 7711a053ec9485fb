"""Default priors of the imputation models of ``missing="model"``
(:mod:`hierbayes.design.missing`), scaled on each column's observed values as the outcome
model's defaults are scaled on the response: an intercept around the observed mean, slopes
on standardized predictors and the residual and group sds on the scale of the column. With
sampling or frequency weights the observed values' mean, sd and share of ones are weighted by
their units' weights (integer frequency weights: those of the data with the rows repeated)."""

from __future__ import annotations

import numpy as np

from .types import Prior

__all__ = ["binary_imputation_priors", "imputation_priors"]


def _moments(observed: np.ndarray, weights: np.ndarray | None) -> tuple[float, float]:
    """(mean, sd) of the observed values, weighted when ``weights`` is given (the sd as
    ``np.std``: divided by the total weight)."""
    if weights is None or not np.sum(weights) > 0:
        return float(np.mean(observed)), float(np.std(observed))
    w = np.asarray(weights, dtype=float)
    mean = float(np.average(observed, weights=w))
    return mean, float(np.sqrt(np.average((observed - mean) ** 2, weights=w)))


def imputation_priors(observed: np.ndarray, weights: np.ndarray | None = None) -> dict[str, Prior]:
    """Priors keyed ``Intercept``, ``b``, ``sd`` and ``sigma`` for one imputed column.

    Parameters
    ----------
    observed : the column's observed values (rows or groups).
    weights : their units' weights (``ImputedColumn.weights_obs``), or None.
    """
    observed = np.asarray(observed, dtype=float)
    mean, sd = _moments(observed, weights)
    scale = sd if observed.size > 1 and sd > 0 else 1.0
    return {
        "Intercept": Prior("Normal", mu=mean, sigma=2.5 * scale),
        "b": Prior("Normal", mu=0.0, sigma=2.5 * scale),
        "sd": Prior("HalfStudentT", nu=3.0, sigma=scale),
        "sigma": Prior("HalfStudentT", nu=3.0, sigma=scale),
    }


def binary_imputation_priors(observed: np.ndarray, weights: np.ndarray | None = None) -> dict[str, Prior]:
    """Priors keyed ``Intercept``, ``b`` and ``sd`` of the logistic imputation model of a 0/1
    column: the intercept around the logit of the observed share of ones, slopes of
    standardized predictors and the group sd on the logit scale.

    Parameters
    ----------
    observed : the column's observed 0/1 values (rows or groups).
    weights : their units' weights (``ImputedColumn.weights_obs``), or None.
    """
    observed = np.asarray(observed, dtype=float)
    share = float(np.clip(_moments(observed, weights)[0], 0.02, 0.98)) if observed.size else 0.5
    return {
        "Intercept": Prior("Normal", mu=float(np.log(share / (1 - share))), sigma=2.5),
        "b": Prior("Normal", mu=0.0, sigma=2.5),
        "sd": Prior("HalfStudentT", nu=3.0, sigma=1.0),
    }
