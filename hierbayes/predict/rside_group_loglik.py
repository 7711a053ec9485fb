"""The log-likelihood of each level of a grouping factor of a model with a residual
structure, its effects integrated out (leave-one-group-out, :mod:`.compare`).

Level j's rows are jointly normal, ``y_j ~ N(eta_j, Z_j Sigma Z_j' + R_j)``, with ``R_j``
block-diagonal over the residual groups within level j
(:func:`hierbayes.results.rside_conditional.residual_covariance`). Each residual group must
lie within one level of the factor left out; otherwise the levels' likelihoods are not
independent and the factor cannot be left out alone.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..design.residuals import ResidualDesign
from ..errors import SpecError
from ..results.rside_conditional import residual_covariance, structure_draws


def level_layout(rd: ResidualDesign, codes: np.ndarray, n_levels: int, group: str):
    """(rows, residual group, position in it) of every level's rows, each (J, M) padded
    with -1, for the residual groups of ``rd`` nested in the levels ``codes`` of ``group``.

    Raises
    ------
    SpecError
        When a residual group has rows in two levels of ``group``.
    """
    members: list[list[tuple[int, int, int]]] = [[] for _ in range(n_levels)]
    for g in range(rd.n_groups):
        positions = np.flatnonzero(rd.mask[g])
        rows = rd.rows[g, positions]
        levels = np.unique(codes[rows])
        if levels.size > 1:
            raise SpecError(
                f"leave-one-group-out by {group!r}: the residual group {rd.group_levels[g]!r} of "
                f"{rd.structure.group!r} has rows in {levels.size} levels of {group!r}, so its "
                f"correlated rows cannot be left out apart; leave out {rd.structure.group!r} instead"
            )
        members[int(levels[0])].extend((int(r), g, int(t)) for r, t in zip(rows, positions))
    width = max((len(m) for m in members), default=0)
    out = np.full((3, n_levels, width), -1, dtype=np.int64)
    for j, m in enumerate(members):
        if m:
            out[:, j, : len(m)] = np.asarray(m).T
    return out[0], out[1], out[2]


def rside_gaussian_group_loglik(
    resid: np.ndarray, Z: np.ndarray, codes: np.ndarray, n_levels: int, chol: np.ndarray,
    posterior: xr.Dataset, rd: ResidualDesign, group: str,
) -> np.ndarray:
    """(S, J) log N(r_j; 0, Z_j L L' Z_j' + R_j) per draw, ``resid`` (S, n) the rows'
    residuals without the left-out effects, ``chol`` (S, K, K) their covariance's factor."""
    rows, rgroup, pos = level_layout(rd, np.asarray(codes), n_levels, group)
    real = rows >= 0
    take, g, t = np.maximum(rows, 0), np.maximum(rgroup, 0), np.maximum(pos, 0)
    same = real[:, :, None] & real[:, None, :] & (rgroup[:, :, None] == rgroup[:, None, :])
    Zp = Z[take] * real[:, :, None]  # (J, M, K)
    eye = np.eye(rows.shape[1])[None]
    n_j = real.sum(axis=1)
    draws = structure_draws(posterior, rd)
    S = resid.shape[0]
    out = np.empty((S, n_levels))
    for s in range(S):
        blocks = residual_covariance(draws, s, rd)  # (G, T, T)
        R = np.where(same, blocks[g[:, :, None], t[:, :, None], t[:, None, :]], 0.0) + eye * ~real[:, :, None]
        ZL = Zp @ chol[s]
        V = R + ZL @ np.swapaxes(ZL, 1, 2)
        cv = np.linalg.cholesky(V)
        r = (resid[s][take] * real)[:, :, None]
        w = np.linalg.solve(cv, r)[:, :, 0]
        logdet = 2.0 * np.sum(np.log(np.diagonal(cv, axis1=1, axis2=2)), axis=1)
        out[s] = -0.5 * (n_j * np.log(2 * np.pi) + logdet + np.sum(w * w, axis=1))
    return out
