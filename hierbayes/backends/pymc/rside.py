"""The gaussian likelihood with a residual (R-side) structure, group by group.

For residual group j (rows ordered by time, padded to the largest group T):

    y_j ~ N(X_j b + (sampled group terms), V_j),   V_j = D_j C_j D_j + Z_j Sigma Z_j',

with ``C_j`` the structure's correlations at the group's times
(:mod:`hierbayes.spec.residual_kinds`), ``D_j`` the residual sds (``sigma`` times the sd
ratio of the row's ``by`` level or visit) and ``Z_j Sigma Z_j'`` the group term whose groups
are the residual groups (integrated out; drawn afterwards by
:mod:`hierbayes.results.rside_conditional`). Padding rows get a unit variance and a zero
residual, so they add nothing. Markov structures in one time dimension (independent, AR(1),
exponential: ``ResidualKind.lag_correlation``) whiten the residuals row by row (AR(1)'s
tridiagonal precision) and add the group term by Woodbury: O(J T K^2), cheap to compile.
Other structures use a dense batched Cholesky of the (J, T, T) ``V``: O(J T^3).

The structure's parameters are registered under their reported names (``ar1_phi``,
``exp_range``, ``exch_rho``, ``unstr_cor``, ``sigma_ratio``), with the model's resolved
priors on them (defaults: :mod:`hierbayes.priors.residual`).
"""

from __future__ import annotations

import numpy as np

from ...design.residuals import ResidualDesign
from ...errors import SpecError
from ...priors import Prior, PriorTable, structure_defaults
from ...spec.residual_banded import band_pairs, banded_correlation
from ...spec.residuals import BAND_DIM, BY_DIM, LAG_DIM, SD_DIM, SD_RATIO, TIME_DIM, TIME_DIM_BIS
from .lazy import pm, pt
from .marginal import batched_cholesky_terms
from .variables import folded_uniform, innovation_sheared, register

LOG_2PI = float(np.log(2.0 * np.pi))


def residual_plan(plan: list[str], rd: ResidualDesign) -> list[str]:
    """The parameterization with the residual groups' term integrated out and no other.

    Raises
    ------
    SpecError
        When another term was asked to be integrated out ("marginal").
    """
    out = list(plan)
    for i, how in enumerate(out):
        if how == "marginal" and i != rd.block:
            raise SpecError(
                f"with residuals={rd.structure.describe()} only the group term of "
                f"{rd.structure.group!r} can be integrated out ('marginal')"
            )
    if rd.block is not None:
        out[rd.block] = "marginal"
    return out


def _add_coords(rd: ResidualDesign) -> None:
    model = pm.modelcontext(None)
    if rd.by_levels and rd.kind.parameters:
        model.add_coord(BY_DIM, list(rd.by_levels))
    if rd.sd_levels:
        model.add_coord(SD_DIM, list(rd.sd_levels[1:]))
    if rd.time_levels:
        model.add_coord(TIME_DIM, list(rd.time_levels))
        model.add_coord(TIME_DIM_BIS, list(rd.time_levels))


def _structure_priors(rd: ResidualDesign, priors: PriorTable | None) -> dict[str, Prior]:
    """The prior of each structure parameter: the model's resolved one, else the default."""
    out = {}
    for address, default in structure_defaults(rd):
        try:
            out[address.kind] = default if priors is None else priors.get(address.kind)
        except KeyError:
            out[address.kind] = default
    return out


def _register_parameter(param, rd: ResidualDesign, prior: Prior):
    """One structure parameter, per ``by`` level when there is one; returns its value per
    group ((J,), (J, lags) or (J, L, L))."""
    dims = BY_DIM if rd.by_levels else None
    if param.support == "correlation":
        k, eta = len(rd.time_levels), float(prior.kwargs["eta"])
        if not rd.by_levels:
            chol = pm.LKJCorr(f"{param.name}_chol", n=k, eta=eta)
            cor = pm.Deterministic(param.name, chol @ chol.T, dims=(TIME_DIM, TIME_DIM_BIS))
            return pt.broadcast_to(cor[None], (rd.n_groups, k, k))
        chols = [pm.LKJCorr(f"{param.name}_chol_{i}", n=k, eta=eta) for i in range(len(rd.by_levels))]
        cor = pm.Deterministic(param.name, pt.stack([c @ c.T for c in chols]), dims=(BY_DIM, TIME_DIM, TIME_DIM_BIS))
        return cor[rd.by_codes]
    if param.support == "banded":
        return _banded_parameter(param, rd, prior)
    if param.support == "partial":  # one value per lag (and per by level)
        pm.modelcontext(None).add_coord(LAG_DIM, list(range(1, rd.parameter_size(param) + 1)))
        value = register(param.name, prior, dims=(BY_DIM, LAG_DIM) if rd.by_levels else LAG_DIM)
        size = rd.parameter_size(param)
        per_group = value[rd.by_codes] if rd.by_levels else pt.broadcast_to(value[None], (rd.n_groups, size))
        return pt.specify_shape(per_group, (rd.n_groups, size))  # builders read the number of lags
    if rd.folded(param):  # its sign shows only at odd lags, and these times have none
        value = folded_uniform(param.name, prior, dims=dims)
    else:
        value = register(param.name, prior, dims=dims)
    if rd.by_levels:
        return value[rd.by_codes]
    return pt.ones(rd.n_groups) * value


def _banded_parameter(param, rd: ResidualDesign, prior: Prior):
    """A banded correlation over the visits from its canonical partial correlations
    (``<name>_cpc``, one per band entry), per ``by`` level; reported as the matrix ``name``."""
    k, band = len(rd.time_levels), rd.kind.order[0]
    labels = [f"{rd.time_levels[i]},{rd.time_levels[j]}" for i, j in band_pairs(k, band)]
    pm.modelcontext(None).add_coord(BAND_DIM, labels)
    cpc = register(f"{param.name}_cpc", prior, dims=(BY_DIM, BAND_DIM) if rd.by_levels else BAND_DIM)
    if not rd.by_levels:
        cor = pm.Deterministic(param.name, banded_correlation(cpc, k, band, pt), dims=(TIME_DIM, TIME_DIM_BIS))
        return pt.broadcast_to(cor[None], (rd.n_groups, k, k))
    mats = pt.stack([banded_correlation(cpc[i], k, band, pt) for i in range(len(rd.by_levels))])
    cor = pm.Deterministic(param.name, mats, dims=(BY_DIM, TIME_DIM, TIME_DIM_BIS))
    return cor[rd.by_codes]


def _parameters(rd: ResidualDesign, priors: PriorTable | None) -> dict:
    chosen = _structure_priors(rd, priors)
    return {p.name: _register_parameter(p, rd, chosen[p.name]) for p in rd.kind.parameters}


def residual_sigma(rd: ResidualDesign, priors: PriorTable) -> tuple:
    """(sigma, the structure's parameters per group): registers the structure's parameters,
    then the residual sd; beside one lag-1 correlation (AR(1)) sampled as the innovation sd
    (:func:`.variables.innovation_sheared`), else as itself."""
    _add_coords(rd)
    params = _parameters(rd, priors)
    lag_one = rd.kind.parameters[0] if len(rd.kind.parameters) == 1 else None
    if lag_one is not None and lag_one.support == "symmetric" and rd.kind.lag_correlation is not None and not rd.by_levels:
        phi = pm.modelcontext(None)[lag_one.name]
        return innovation_sheared("sigma", priors.get("sigma"), phi), params
    return register("sigma", priors.get("sigma")), params


def residual_sd_rows(rd: ResidualDesign, sigma, n_rows: int, priors: PriorTable | None = None):
    """The residual sd of each row: ``sigma`` times the row's registered ``sigma_ratio``."""
    if not rd.sd_levels:
        return pt.ones(n_rows) * sigma
    ratio = register(SD_RATIO, _structure_priors(rd, priors)[SD_RATIO], dims=SD_DIM)
    full = pt.concatenate([pt.ones(1), ratio])
    return sigma * full[rd.sd_codes]


def residual_loglik(
    resid, rd: ResidualDesign, sigma, factor=None, Z: np.ndarray | None = None, priors: PriorTable | None = None,
    params: dict | None = None,
):
    """Log-likelihood of the (n,) residuals ``resid`` under the structure of ``rd``.

    Parameters
    ----------
    resid : y - offset - X b - (sampled group terms), (n,) tensor.
    rd : the residual design.
    sigma : the residual sd (of the reference level).
    factor : the integrated term's covariance factor ((K, K) Cholesky or (K,) sds), or None.
    Z : (n, K) columns of the integrated term.
    priors : the model's resolved priors (the structure's parameters' defaults when None).
    params : the structure's parameters registered with sigma (:func:`residual_sigma`); None:
        registered here.
    """
    if params is None:
        _add_coords(rd)
        params = _parameters(rd, priors)
    n = int(rd.mask.sum())
    sd_rows = residual_sd_rows(rd, sigma, n, priors)
    take = np.maximum(rd.rows, 0)
    m = rd.mask.astype(float)
    sd = sd_rows[take] * m + (1.0 - m)  # padding: unit sd, zero residual
    r = resid[take] * m
    Zp = None if factor is None else Z[take] * m[:, :, None]  # (J, T, K)
    if rd.kind.lag_correlation is not None:
        return _markov_loglik(rd, params, n, sd, r, factor, Zp)
    return _dense_loglik(rd, params, n, sd, r, factor, Zp)


def _covariance(rd: ResidualDesign, params, sd, factor, Zp):
    """The (J, T, T) block covariances ``V_j`` (padding: identity)."""
    T = rd.rows.shape[1]
    m = rd.mask.astype(float)
    C = rd.kind.correlation(params, rd.times, pt)
    C = C * (m[:, :, None] * m[:, None, :]) + np.eye(T)[None] * (1.0 - m)[:, :, None]
    V = sd[:, :, None] * C * sd[:, None, :]
    if factor is not None:
        ZL = pt.tensordot(Zp, factor, axes=[[2], [0]]) if factor.ndim == 2 else Zp * factor
        V = V + pt.matmul(ZL, ZL.dimshuffle(0, 2, 1))
    return V


def _dense_loglik(rd: ResidualDesign, params, n: int, sd, r, factor, Zp):
    """V_j factorised densely (any structure): O(J T^3)."""
    chol = pt.linalg.cholesky(_covariance(rd, params, sd, factor, Zp))
    logdet = 2.0 * pt.sum(pt.log(pt.diagonal(chol, axis1=1, axis2=2)))
    alpha = pt.linalg.solve_triangular(chol, r[:, :, None], lower=True)
    return -0.5 * (n * LOG_2PI + logdet + pt.sum(alpha**2))


def residual_rows_likelihood(name: str, eta, y: np.ndarray, rd: ResidualDesign, sigma, priors: PriorTable,
                             params: dict | None = None):
    """The same likelihood as an observed random variable (for prior simulation): the
    groups' responses padded to (J, T), each group ~ MvNormal(eta_j, R_j), the group terms
    sampled in ``eta``. Padding rows have mean 0 and unit variance; :func:`unpad` drops them.
    """
    if params is None:
        _add_coords(rd)
        params = _parameters(rd, priors)
    n = int(rd.mask.sum())
    take = np.maximum(rd.rows, 0)
    m = rd.mask.astype(float)
    sd = residual_sd_rows(rd, sigma, n, priors)[take] * m + (1.0 - m)
    chol = pt.linalg.cholesky(_covariance(rd, params, sd, None, None))
    observed = np.asarray(y, dtype=float)[take] * m
    return pm.MvNormal(name, mu=eta[take] * m, chol=chol, observed=observed)


def unpad(values: np.ndarray, rd: ResidualDesign) -> np.ndarray:
    """(..., J, T) padded group responses -> (..., n) in the design's row order."""
    out = np.empty((*values.shape[:-2], int(rd.mask.sum())))
    out[..., rd.rows[rd.mask]] = values[..., rd.mask]
    return out


def _markov_loglik(rd: ResidualDesign, params, n: int, sd, r, factor, Zp):
    """A Markov structure (rows ordered by time): the residuals are whitened by their
    innovations ``(e_t - rho_t e_{t-1}) / sqrt(1 - rho_t^2)``, ``rho_t`` the correlation of
    consecutive rows; the integrated term enters by Woodbury on the whitened columns."""
    m = rd.mask.astype(float)
    both = m[:, 1:] * m[:, :-1]
    gaps = np.where(both > 0, np.diff(rd.times, axis=1), 1.0)
    rho = rd.kind.lag_correlation(params, gaps, pt) * both
    scale = pt.sqrt(1.0 - rho**2)

    def whiten(x):
        return pt.concatenate([x[:, :1], (x[:, 1:] - rho * x[:, :-1]) / scale], axis=1)

    e = whiten(r / sd)
    logdet = 2.0 * pt.sum(pt.log(sd)) + pt.sum(pt.log(1.0 - rho**2))
    rr = pt.sum(e**2)
    if factor is None:
        return -0.5 * (n * LOG_2PI + logdet + rr)
    k = Zp.shape[2]
    Zw = [whiten(Zp[:, :, c] / sd) for c in range(k)]
    ZZ = [[pt.sum(Zw[a] * Zw[b], axis=1) for b in range(k)] for a in range(k)]
    Zr = [pt.sum(Zw[a] * e, axis=1) for a in range(k)]
    if factor.ndim == 1:
        w = [Zr[a] * factor[a] for a in range(k)]
        A = [[ZZ[a][b] * (factor[a] * factor[b]) for b in range(k)] for a in range(k)]
    else:
        w = [sum(Zr[c] * factor[c, a] for c in range(k)) for a in range(k)]
        right = [[sum(ZZ[c][d] * factor[d, b] for d in range(k)) for b in range(k)] for c in range(k)]
        A = [[sum(factor[c, a] * right[c][b] for c in range(k)) for b in range(k)] for a in range(k)]
    M = [[(1.0 if a == b else 0.0) + A[a][b] for b in range(k)] for a in range(k)]
    logdet_m, quad = batched_cholesky_terms(M, w, k)
    return -0.5 * (n * LOG_2PI + logdet + pt.sum(logdet_m) + rr - pt.sum(quad))
