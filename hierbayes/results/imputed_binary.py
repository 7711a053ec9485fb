"""The pointwise log-likelihood of rows whose binary predictor ``missing="model"`` summed out
(:mod:`hierbayes.backends.pymc.imputation_binary`), read from the draws.

A row with a level-1 hole gets the likelihood the model used,
``log(p L1_i + (1 - p) L0_i)``, ``p`` the imputation model's probability. A row of a group
whose level-2 value is summed out gets its likelihood given the group's other rows (as a
residual structure's rows get theirs): the mixture with ``q``, the probability of 1 given
those rows, ``logit q = w_u logit p + sum_{k != i} w_k (log L1_k - log L0_k)``. With weights
the values are weighted afterwards, as every row's.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import xarray as xr
from scipy.special import log_expit

from ..design.types import Design

__all__ = ["binary_hole_loglik"]


def _flat(posterior: xr.Dataset, name: str) -> np.ndarray:
    return posterior[name].stack(sample=("chain", "draw")).transpose("sample", ...).to_numpy()


def _logit_draws(posterior: xr.Dataset, col) -> np.ndarray:
    """(S, n_values) logit of the imputation model at the imputed units."""
    p = f"mi_{col.name}"
    a = _flat(posterior, f"{p}_Intercept")[:, None] + np.zeros((1, col.n_values))
    if col.W_mis.shape[1]:
        a = a + _flat(posterior, f"{p}_b") @ col.W_mis.T
    if col.group is not None and col.n_groups > 1:
        a = a + (_flat(posterior, f"{p}_z") * _flat(posterior, f"{p}_sd")[:, None])[:, col.codes_mis]
    return a


def binary_hole_loglik(posterior: xr.Dataset, design: Design, eta0: np.ndarray,
                       loglik: Callable[[np.ndarray], np.ndarray]) -> np.ndarray | None:
    """(S, n) pointwise log-likelihood with binary holes summed out, or None without them.

    Parameters
    ----------
    posterior : the draws (S = chain * draw).
    design : the training design.
    eta0 : (S, n) the linear predictor with every binary hole at 0 (the design's fill).
    loglik : the unweighted log-likelihood of the rows given a (S, n) linear predictor.
    """
    imputation = getattr(design, "imputation", None)
    columns = [c for c in (imputation.columns if imputation is not None else ()) if c.kind == "binary" and len(c.rows)]
    if not columns:
        return None
    ll0 = loglik(eta0)
    out = ll0.copy()
    w = np.ones(design.n_obs) if design.row_weights is None else np.asarray(design.row_weights, dtype=float)
    b = _flat(posterior, "b")
    names = [n for n in design.fixed_names if n != "Intercept"]
    for col in columns:
        step = np.zeros((b.shape[0], len(col.rows)))
        for j, loading in col.loadings:
            step += b[:, names.index(design.fixed_names[j]), None] * loading[None, :]
        eta1 = eta0.copy()
        eta1[:, col.rows] += step
        l0, l1 = ll0[:, col.rows], loglik(eta1)[:, col.rows]
        diff = w[col.rows] * (l1 - l0)
        total = np.zeros((b.shape[0], col.n_values))
        np.add.at(total.T, col.unit, diff.T)
        wu = 1.0 if col.weights_mis is None else np.asarray(col.weights_mis, dtype=float)
        logit_q = (wu * _logit_draws(posterior, col))[:, col.unit] + total[:, col.unit] - diff
        out[:, col.rows] = np.logaddexp(log_expit(-logit_q) + l0, log_expit(logit_q) + l1)
    return out
