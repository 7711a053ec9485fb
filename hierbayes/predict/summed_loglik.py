"""The log-likelihood summed over the rows, one value per draw (what power-scaling needs).

A gaussian model with an identity link, unweighted and uncensored, with at most one group
term, sums its rows without building the (draws x rows) linear predictor: from per-group
cross-products of the residuals at the posterior mean, the sum of squares of every draw is
a quadratic form in the draw's distance from that mean (the cross-products of
``design/crossprod.py``, of those residuals; exact, and centred so that data far from zero
lose no precision). gcse (4,059 rows, 4 x 1,000 draws): 0.6 s -> 0.02 s. Other
models sum the pointwise log-likelihood a few draws at a time.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..design.crossprod import cross_products
from ..design.types import Design
from ..families import get_family
from ..params import block_names
from ..results.stats import flatten_draws
from ..spec.ir import ModelSpec
from .linpred import fixed_coefficients
from .loglik import CHUNK_ELEMENTS, holds_rows, pointwise_log_likelihood


def sums_without_rows(spec: ModelSpec, design: Design) -> bool:
    """Whether :func:`summed_log_likelihood` sums ``design``'s rows from cross-products."""
    family = get_family(spec.family)
    imputation = getattr(design, "imputation", None)
    return (
        family.name == "gaussian" and family.resolve_link(spec.link) == "identity" and not spec.distributional
        and holds_rows(design) and design.residuals is None and design.row_weights is None
        and design.censoring is None and (imputation is None or not imputation.columns)
        and len(design.groups) <= 1
    )


def summed_log_likelihood(posterior: xr.Dataset, spec: ModelSpec, design: Design) -> np.ndarray:
    """``sum_i log p(y_i | draw)``, (chain, draw): the sum over the rows of
    :func:`~hierbayes.predict.loglik.pointwise_log_likelihood`."""
    if sums_without_rows(spec, design):
        return _gaussian_sum(posterior, spec, design)
    step = max(1, CHUNK_ELEMENTS // max(1, design.n_obs))
    parts = [
        pointwise_log_likelihood(posterior.isel(draw=slice(i, i + step)), spec, design).sum("obs").values
        for i in range(0, posterior.sizes["draw"], step)
    ]
    return np.concatenate(parts, axis=1)


def _gaussian_sum(posterior: xr.Dataset, spec: ModelSpec, design: Design) -> np.ndarray:
    """sum_i (y_i - eta_i)^2 = |r - X db - Z du|^2, with r the residuals at the posterior
    mean and (db, du) a draw's distance from it, expanded into the cross-products of r."""
    n_chain, n_draw = posterior.sizes["chain"], posterior.sizes["draw"]
    X = np.asarray(design.X, dtype=float)
    y = np.asarray(design.y, dtype=float)
    if design.offset is not None:
        y = y - np.asarray(design.offset, dtype=float)
    beta = fixed_coefficients(posterior, design.fixed_names)  # (S, p)
    d_beta = beta - beta.mean(axis=0)
    resid = y - X @ beta.mean(axis=0)
    if not design.groups:
        cp = cross_products(X, resid)
    else:
        block, names = design.groups[0], block_names(spec)[0]
        u = flatten_draws(posterior[names.effects])  # (S, J, K)
        codes, Z = np.asarray(block.codes), np.asarray(block.X, dtype=float)
        d_u = u - u.mean(axis=0)
        resid = resid - np.einsum("nk,nk->n", Z, u.mean(axis=0)[codes])
        cp = cross_products(X, resid, codes=codes, Z=Z, n_levels=u.shape[1])
    linear = d_beta @ cp.Xy
    quadratic = np.einsum("sp,pq,sq->s", d_beta, cp.XX, d_beta)
    if cp.groups is not None:
        g = cp.groups
        linear = linear + np.einsum("sjk,jk->s", d_u, g.Zy)
        quadratic = (quadratic + 2 * np.einsum("sjk,jkp,sp->s", d_u, g.ZX, d_beta)
                     + np.einsum("sjk,jkl,sjl->s", d_u, g.ZZ, d_u))
    squares = cp.yy - 2 * linear + quadratic
    sigma = flatten_draws(posterior["sigma"])
    n = design.n_obs
    total = -n * np.log(sigma) - 0.5 * n * np.log(2 * np.pi) - squares / (2 * sigma**2)
    return total.reshape(n_chain, n_draw)
