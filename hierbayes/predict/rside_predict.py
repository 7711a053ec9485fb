"""Residual (R-side) structures in predictions: replicated residuals drawn from each group's
block covariance, and the pointwise log-likelihood of a row given the other rows of its
group (numpy).

With correlated residuals the rows of a group do not factorise; the pointwise term is the
density of ``y_i`` given the rest of its group (and the group effects), as Bürkner, Gabry
and Vehtari (2021) propose for leave-one-out with non-factorised normal models: with
``Q = R^-1`` and ``g = Q r``, ``y_i | y_-i ~ N(y_i - g_i / Q_ii, 1 / Q_ii)``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..design.residuals import ResidualDesign
from ..errors import DataError
from ..results.rside_conditional import residual_covariance, structure_draws

LOG_2PI = float(np.log(2.0 * np.pi))


def residual_noise(posterior: xr.Dataset, rd: ResidualDesign, rng: np.random.Generator) -> np.ndarray:
    """(S, n) residuals drawn from the block covariance of every group, one set per draw."""
    draws = structure_draws(posterior, rd)
    S, n = draws["sigma"].shape[0], int(rd.mask.sum())
    J, T = rd.rows.shape
    out = np.empty((S, n))
    for s in range(S):
        chol = np.linalg.cholesky(residual_covariance(draws, s, rd))
        e = (chol @ rng.standard_normal((J, T, 1)))[:, :, 0]
        out[s, rd.rows[rd.mask]] = e[rd.mask]
    return out


def conditional_loglik(posterior: xr.Dataset, rd: ResidualDesign, resid: np.ndarray) -> np.ndarray:
    """(S, n) log density of each row's residual given the other rows of its group;
    ``resid`` (S, n) is y minus the linear predictor (group effects included)."""
    out = np.empty(resid.shape)
    for s, cov, r in _grouped_draws(posterior, rd, resid):
        Q = np.linalg.inv(cov)
        g = np.einsum("jab,jb->ja", Q, r)
        q = np.diagonal(Q, axis1=1, axis2=2)
        ll = -0.5 * LOG_2PI + 0.5 * np.log(q) - 0.5 * g**2 / q
        out[s, rd.rows[rd.mask]] = ll[rd.mask]
    return out


def _grouped_draws(posterior: xr.Dataset, rd: ResidualDesign, resid: np.ndarray):
    """Per draw s: (s, the groups' residual covariances (J, T, T), the residuals laid out as
    (J, T) with padded slots 0)."""
    draws = structure_draws(posterior, rd)
    take = np.maximum(rd.rows, 0)
    m = rd.mask.astype(float)
    for s in range(resid.shape[0]):
        yield s, residual_covariance(draws, s, rd), resid[s][take] * m


def normalized_residuals(posterior: xr.Dataset, rd: ResidualDesign, resid: np.ndarray) -> np.ndarray:
    """(S, n) residuals whitened within each group, nlme's ``type = "normalized"``: with
    ``R_j = L_j L_j'`` the group's residual covariance (rows in time order), ``L_j^-1 r_j``;
    uncorrelated with unit variance when the structure is right. ``resid`` (S, n) is y minus
    the linear predictor with the group effects."""
    out = np.empty(resid.shape)
    for s, cov, r in _grouped_draws(posterior, rd, resid):
        e = np.linalg.solve(np.linalg.cholesky(cov), r[:, :, None])[:, :, 0]
        out[s, rd.rows[rd.mask]] = e[rd.mask]
    return out


def row_sd_ratio(posterior: xr.Dataset, rd: ResidualDesign | None, frame) -> np.ndarray | None:
    """(S, n) ratio of each row's residual sd to ``sigma`` (from its ``by`` level, or its
    visit for unstructured), for simulating new responses; None when the sd is one.

    Raises
    ------
    DataError
        When the column is missing or holds levels the model was not fitted on.
    """
    if rd is None or not rd.sd_levels:
        return None
    columns = [c for c in (rd.structure.by, rd.structure.time if rd.kind.sd_by_time else None) if c is not None]
    for column in columns:
        if column not in frame.columns:
            raise DataError(f"new responses need the column {column!r}: the residual sd differs by its level")
    values = frame[columns[0]].astype(str).to_numpy()
    for column in columns[1:]:  # unstructured with by=: "level:visit"
        values = np.char.add(np.char.add(values.astype(str), ":"), frame[column].astype(str).to_numpy().astype(str))
    index = {level: i for i, level in enumerate(rd.sd_levels)}
    unknown = sorted({str(v) for v in values if v not in index})
    if unknown:
        raise DataError(f"{' x '.join(repr(c) for c in columns)} has levels the model has no residual sd for: "
                        f"{unknown}; known: {list(rd.sd_levels)}")
    return structure_draws(posterior, rd)["ratio"][:, [index[v] for v in values]]
