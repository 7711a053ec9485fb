"""The log-likelihood of each level of a grouping factor with its effects integrated out
(leave-one-group-out cross-validation, :func:`hierbayes.predict.logo.logo`): closed form
for gaussian responses with the identity link, adaptive Gauss-Hermite quadrature otherwise."""

from __future__ import annotations

import types
from collections.abc import Sequence

import numpy as np
import xarray as xr

from ..errors import SpecError
from ..families import censored_log_likelihood, get_family
from ..params import block_names
from ..results.icc_levels import ancestors_of
from .distributional import aux_draws
from .group_quadrature import LevelSums, adaptive_group_loglik
from .linpred import block_covariance_cholesky, linear_predictor
from .predict import Rows
from .rside_group_loglik import rside_gaussian_group_loglik


def group_blocks(model, group: str) -> list[bool]:
    """Per group block of ``model``'s design: whether it belongs to grouping factor ``group``.

    Raises
    ------
    SpecError
        When ``group`` is not a grouping factor of the model (naming the valid ones).
    """
    names = [b.group for b in model.design.groups]
    if group not in names:
        raise SpecError(f"no grouping factor {group!r}; valid: {list(dict.fromkeys(names))}")
    return [g == group for g in names]


def nested_factors(design, group: str) -> list[str]:
    """The other grouping factors of ``design`` nested in ``group``, by their variables or by
    the data (cbpp's observation-level ``obs`` in ``herd``; ``Block:Variety`` in ``Block``;
    :func:`hierbayes.results.icc_levels.ancestors_of`): their effects on a left-out level's
    rows were learned from those rows."""
    return [inner for inner, outer in ancestors_of(design.spec, design.groups).items() if group in outer]


def group_sums(values: np.ndarray, codes: np.ndarray, n_levels: int) -> np.ndarray:
    """(S, J) sums over the rows of each level of (S, n) values."""
    return LevelSums(np.asarray(codes), n_levels)(values)


def without_blocks(blocks: Sequence, drop: Sequence[bool]) -> list:
    """Group blocks with the dropped ones contributing nothing."""
    out = []
    for block, d in zip(blocks, drop, strict=True):
        if d:
            out.append(types.SimpleNamespace(codes=np.asarray(block.codes), X=np.zeros_like(np.asarray(block.X, float))))
        else:
            out.append(block)
    return out


def prior_cholesky(posterior: xr.Dataset, spec, drop: Sequence[bool]) -> np.ndarray:
    """(S, K, K) block-diagonal Cholesky factor of the held-out factor's effects."""
    chols = [block_covariance_cholesky(posterior, n) for n, d in zip(block_names(spec), drop, strict=True) if d]
    S = chols[0].shape[0]
    K = sum(c.shape[1] for c in chols)
    out = np.zeros((S, K, K))
    start = 0
    for c in chols:
        k = c.shape[1]
        out[:, start:start + k, start:start + k] = c
        start += k
    return out


def integrated_group_loglik(
    posterior: xr.Dataset,
    model,
    rows: Rows,
    y: np.ndarray,
    group: str,
    codes: np.ndarray,
    n_levels: int,
    proposal: tuple[np.ndarray, np.ndarray],
    *,
    n_mc: int = 200,
    rng: np.random.Generator,
    analytic: bool | None = None,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """(S, J) log p(y_j | theta_s) with the effects of ``group`` integrated out.

    Gaussian responses with the identity link use the closed form y_j ~ N(eta_j,
    sigma^2 I + Z_j Sigma Z_j') (``analytic``); other families adaptive Gauss-Hermite
    quadrature at each draw (:mod:`.group_quadrature`), started from ``proposal``'s mean
    (the fit's posterior mean of u_j), with at most ``n_mc`` points per level and draw.
    Rows of other (crossed) grouping factors keep their own effects; a factor nested in
    ``group`` is refused by :func:`hierbayes.predict.logo.logo` before this runs. ``weights``:
    each row's log-likelihood counted that many times (frequency weights: the repeated rows').
    """
    spec = model.spec
    family = get_family(spec.family)
    link = family.resolve_link(spec.link)
    drop = group_blocks(model, group)
    if spec.distributional:
        raise SpecError(
            f"leave-one-group-out is not available yet for models with a formula for "
            f"{list(spec.aux_formulas)}; method='psis' and fit.loo() are"
        )
    aux = aux_draws(posterior, family)
    base = linear_predictor(
        posterior, spec, model.design.fixed_names, rows.X, without_blocks(rows.groups, drop), new_groups="sample", rng=rng,
        offset=rows.offset,
    )
    chol = prior_cholesky(posterior, spec, drop)  # (S, K, K)
    Z = np.concatenate([np.asarray(b.X, float) for b, d in zip(rows.groups, drop, strict=True) if d], axis=1)  # (n, K)
    codes = np.asarray(codes)
    y = np.asarray(y, float)
    if analytic is None:
        analytic = family.linear_gaussian(link) and rows.censoring is None
    rd = getattr(model.design, "residuals", None)
    if rd is not None:  # correlated or heteroscedastic rows (gaussian, identity link only)
        return rside_gaussian_group_loglik(y - base, Z, codes, n_levels, chol, posterior, rd, group)
    if analytic:
        return gaussian_group_loglik(y - base, Z, codes, n_levels, chol, aux["sigma"][:, 0], weights)
    w = 1.0 if weights is None else np.asarray(weights, float)

    def row_loglik(eta):
        return w * np.asarray(censored_log_likelihood(family, y, eta, link, aux, rows.trials, rows.censoring), dtype=float)

    return adaptive_group_loglik(row_loglik, base, Z, codes, n_levels, chol, proposal[0], points=n_mc)


def gaussian_group_loglik(
    resid: np.ndarray, Z: np.ndarray, codes: np.ndarray, n_levels: int, chol: np.ndarray, sigma: np.ndarray,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """(S, J) log N(r_j; 0, sigma^2 I + Z_j L L' Z_j') by the matrix determinant lemma and
    Woodbury's identity (K x K solves only); rows of weight w count w times (sums of w z z',
    w r z, w r^2 and w: the repeated rows' sufficient statistics)."""
    S, K, _ = chol.shape
    w = np.ones(len(codes)) if weights is None else np.asarray(weights, float)
    n_j = np.bincount(codes, weights=w, minlength=n_levels).astype(float)
    A = np.zeros((n_levels, K, K))
    np.add.at(A, codes, w[:, None, None] * Z[:, :, None] * Z[:, None, :])
    b = np.stack([group_sums(w * resid * Z[:, k], codes, n_levels) for k in range(K)], axis=-1)  # (S, J, K)
    c = group_sums(w * resid * resid, codes, n_levels)  # (S, J)
    s2 = (sigma**2)[:, None]
    LAL = np.einsum("slk,jlm,smn->sjkn", chol, A, chol)  # L' A_j L
    M = np.eye(K) + LAL / s2[..., None, None]
    Lb = np.einsum("slk,sjl->sjk", chol, b) / s2[..., None]
    sol = np.linalg.solve(M, Lb[..., None])[..., 0]
    quad = c / s2 - np.sum(Lb * sol, axis=-1)
    _, logdet_m = np.linalg.slogdet(M)
    logdet = n_j[None, :] * np.log(s2) + logdet_m
    return -0.5 * (n_j[None, :] * np.log(2 * np.pi) + logdet + quad)
