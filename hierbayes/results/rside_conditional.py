"""Residual (R-side) structures in numpy: the residual covariance of each group per draw,
and the integrated-out group effects drawn from their exact conditional posterior.

With ``R_j`` the residual covariance of group j (:mod:`hierbayes.spec.residual_kinds`,
scaled by ``sigma`` and ``sigma_ratio``) and ``Sigma = L L'`` the covariance of the group
term whose groups are the residual groups, ``u_j = L v_j`` with

    v_j | ... ~ N(P_j^-1 A_j' b_j, P_j^-1),   P_j = I + A_j' A_j,
    A_j = C_j^-1 Z_j L,   b_j = C_j^-1 r_j,   C_j C_j' = R_j,

``r_j`` the residuals of the group's rows without the term. One draw per posterior draw.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..design.offsets import response_less_offset
from ..design.residuals import ResidualDesign
from ..design.types import Design
from ..params import FIXED_DIM, block_names
from .stats import flatten_draws, group_effects_array


def _factor_draws(posterior: xr.Dataset, names, k: int) -> np.ndarray:
    """(S, K, K) factors of the term's covariance: diag(sd) times the correlation's Cholesky."""
    sd = flatten_draws(posterior[names.sd])
    S = sd.shape[0]
    sd = np.broadcast_to(sd.reshape(S, -1), (S, k))
    if names.cor in posterior:
        cor = flatten_draws(posterior[names.cor])
        return sd[:, :, None] * np.linalg.cholesky(cor + 1e-12 * np.eye(k))
    return sd[:, :, None] * np.eye(k)


def structure_draws(posterior: xr.Dataset, rd: ResidualDesign) -> dict[str, np.ndarray]:
    """Flattened draws (S, ...) of ``sigma``, the full sd ratios (S, levels; 1 for the
    reference) and the structure's parameters."""
    out = {"sigma": flatten_draws(posterior["sigma"]).reshape(-1)}
    S = out["sigma"].shape[0]
    if rd.sd_levels:
        ratio = flatten_draws(posterior["sigma_ratio"]).reshape(S, -1)
        out["ratio"] = np.column_stack([np.ones(S), ratio])
    for p in rd.kind.parameters:
        out[p.name] = flatten_draws(posterior[p.name]).reshape(S, *posterior[p.name].shape[2:])
    return out


def row_sd(draws: dict[str, np.ndarray], rd: ResidualDesign) -> np.ndarray:
    """(S, n) residual sd of every row (n rows of the design)."""
    sigma = draws["sigma"][:, None]
    if rd.sd_codes is None:
        n = int(rd.mask.sum())
        return np.broadcast_to(sigma, (sigma.shape[0], n))
    return sigma * draws["ratio"][:, rd.sd_codes]


def residual_covariance(draws: dict[str, np.ndarray], s: int, rd: ResidualDesign) -> np.ndarray:
    """(J, T, T) residual covariance of every group at draw ``s``; the padding is identity."""
    J, T = rd.rows.shape
    params = {}
    for p in rd.kind.parameters:
        value = draws[p.name][s]
        if rd.by_levels:  # the by level is the first axis
            params[p.name] = value[rd.by_codes]
        else:
            params[p.name] = np.broadcast_to(value, (J, *np.shape(value)))
    C = np.asarray(rd.kind.correlation(params, rd.times, np), dtype=float)
    m = rd.mask.astype(float)
    C = C * (m[:, :, None] * m[:, None, :]) + np.eye(T)[None] * (1.0 - m)[:, :, None]
    sd = row_sd({k: v[s : s + 1] for k, v in draws.items()}, rd)[0]
    sdp = sd[np.maximum(rd.rows, 0)] * m + (1.0 - m)
    return sdp[:, :, None] * C * sdp[:, None, :]


def _mean_without(posterior: xr.Dataset, design: Design, skip: int) -> np.ndarray:
    """(S, n) X b plus every sampled group term but ``skip``."""
    cols = []
    for name in design.fixed_names:
        da = posterior["Intercept"] if name == "Intercept" else posterior["b"].sel({FIXED_DIM: name})
        cols.append(flatten_draws(da))
    S = posterior.sizes["chain"] * posterior.sizes["draw"]
    beta = np.column_stack(cols) if cols else np.zeros((S, 0))
    mean = beta @ design.X.T
    for i, (block, names) in enumerate(zip(design.groups, block_names(design.spec))):
        if i == skip:
            continue
        u = flatten_draws(posterior[names.effects])
        for c in range(block.n_columns):
            mean += u[:, block.codes, c] * block.X[None, :, c]
    return mean


def rside_group_effects(posterior: xr.Dataset, design: Design, key: str, rng: np.random.Generator) -> xr.DataArray:
    """Draws of the integrated-out effects ``re_<key>`` of a model with a residual
    structure, dims (chain, draw, level, term), as
    :func:`hierbayes.results.conditional.conditional_group_effects` gives them."""
    rd: ResidualDesign = design.residuals
    all_names = block_names(design.spec)
    m = next(i for i, n in enumerate(all_names) if n.key == key)
    block, names = design.groups[m], all_names[m]
    n_chain, n_draw = posterior.sizes["chain"], posterior.sizes["draw"]
    S, J, k = n_chain * n_draw, block.n_levels, block.n_columns
    resid = response_less_offset(design)[None, :] - _mean_without(posterior, design, m)
    L = _factor_draws(posterior, names, k)
    draws = structure_draws(posterior, rd)
    take = np.maximum(rd.rows, 0)
    mask = rd.mask.astype(float)
    Z = block.X[take] * mask[:, :, None]  # (J, T, K)
    out = np.empty((S, J, k))
    eye = np.eye(k)
    for s in range(S):
        chol = np.linalg.cholesky(residual_covariance(draws, s, rd))
        A = np.linalg.solve(chol, Z @ L[s])  # (J, T, K)
        b = np.linalg.solve(chol, (resid[s][take] * mask)[:, :, None])[:, :, 0]
        P = eye + np.swapaxes(A, 1, 2) @ A
        cp = np.linalg.cholesky(P)
        mean = np.linalg.solve(P, np.einsum("jtk,jt->jk", A, b)[:, :, None])[:, :, 0]
        noise = np.linalg.solve(np.swapaxes(cp, 1, 2), rng.standard_normal((J, k, 1)))[:, :, 0]
        out[s] = (mean + noise) @ L[s].T
    return group_effects_array(out, posterior, block, names)
