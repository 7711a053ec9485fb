"""Group-effect blocks: the (J x K) effects of one group term, centred, non-centred or
drawn around a given mean.

The block's covariance comes from the builder of its structure
(:mod:`.covariance`), which registers ``sd_<key>`` (and ``cor_<key>`` for correlated blocks)
as named variables so results can read them.

Level-2 weights (``GroupBlock.prior_weights``) raise group j's prior density of its effects to
the power ``w_j``: a potential adds ``(w_j - 1) log N(u_j | 0, Sigma)``, which is right in
every parameterization (the non-centred ``z`` has density ``N(u | 0, Sigma) |L|``).
"""

from __future__ import annotations

import numpy as np

from ...design.types import GroupBlock
from ...params import BlockNames
from ...priors import PriorTable
from .covariance import block_covariance
from .lazy import pm, pt
from .mean_free import LevelDesign, split_effects


def group_effects(block: GroupBlock, names: BlockNames, priors: PriorTable, centered: bool,
                  precision: np.ndarray | None = None):
    """Build the (J x K) group effects of ``block`` and return them as a tensor.

    Parameters
    ----------
    block, names : the group term and its PyMC names.
    priors : the resolved priors.
    centered : draw the effects themselves (``re_<key> ~ N(0, Sigma)``), else standard
        normal ``z_<key>`` scaled by a factor of ``Sigma``.
    precision : (J,) the data's precision on each group's effect, for the adaptive form of a
        one-column term (:mod:`.adaptive`): ``z_<key> ~ N(0, 1 + k)``, ``re = sd z / sqrt(1 + k)``,
        ``k = precision sd^2``; ``centered`` is then ignored.
    """
    cov = block_covariance(block, names, priors)
    dims = (names.level_dim, names.column_dim)
    if precision is not None:
        sd = cov.sd if cov.cholesky is None else cov.cholesky[0, 0]
        spread = pt.sqrt(1.0 + np.asarray(precision, dtype=float)[:, None] * pt.square(sd))
        z = pm.Normal(names.z, 0.0, spread, dims=dims)
        u = pm.Deterministic(names.effects, z * sd / spread, dims=dims)
        weighted_prior(block, names, u, cov.factor)
        return u
    if cov.cholesky is not None:
        if centered:
            u = pm.MvNormal(names.effects, mu=pt.zeros(block.n_columns), chol=cov.cholesky, dims=dims)
        else:
            z = pm.Normal(names.z, 0.0, 1.0, dims=dims)
            u = pm.Deterministic(names.effects, z @ cov.cholesky.T, dims=dims)
    elif centered:
        u = pm.Normal(names.effects, 0.0, cov.sd, dims=dims)
    else:
        z = pm.Normal(names.z, 0.0, 1.0, dims=dims)
        u = pm.Deterministic(names.effects, z * cov.sd, dims=dims)
    weighted_prior(block, names, u, cov.factor)
    return u


def split_group_effects(block: GroupBlock, names: BlockNames, priors: PriorTable, precision: np.ndarray,
                        levels: LevelDesign):
    """The effects of a random intercept split along its level design ``levels``
    (:mod:`.mean_free`): ``(u, rows, carried)``, the effects (registered as ``re_<key>``), the
    part the rows see and the coefficients' carried parts."""
    cov = block_covariance(block, names, priors)
    dims = (names.level_dim, names.column_dim)
    sd = cov.sd if cov.cholesky is None else cov.cholesky[0, 0]
    effects, rows, carried = split_effects(names.z, sd, precision, dims, levels)
    u = pm.Deterministic(names.effects, effects, dims=dims)
    weighted_prior(block, names, u, cov.factor)
    return u, rows, carried


def prior_logp_rows(u, factor):
    """(J,) ``log N(u_j | 0, Sigma)`` of the rows of ``u`` (J x K); ``factor`` is the
    Cholesky factor of Sigma (K x K) or the sd (scalar or K-vector) of diagonal effects."""
    k = u.shape[1]
    if factor.ndim == 2:
        x = pt.linalg.solve_triangular(factor, u.T, lower=True)  # (K, J)
        return -0.5 * pt.sum(x**2, axis=0) - pt.sum(pt.log(pt.diag(factor))) - 0.5 * k * np.log(2.0 * np.pi)
    sd = pt.ones((k,)) * factor
    return pt.sum(-0.5 * (u / sd[None, :]) ** 2 - pt.log(sd)[None, :], axis=1) - 0.5 * k * np.log(2.0 * np.pi)


def weighted_prior(block: GroupBlock, names: BlockNames, u, factor) -> None:
    """With level-2 weights, the potential ``sum_j (w_j - 1) log N(u_j | 0, Sigma)``."""
    w = block.prior_weights
    if w is None or np.all(w == 1.0):
        return
    pm.Potential(f"prior_weights_{names.key}", pt.sum(np.asarray(w - 1.0, dtype=float) * prior_logp_rows(u, factor)))


def effects_around(block: GroupBlock, names: BlockNames, priors: PriorTable, mean, total: str):
    """Effects ``w ~ N(mean, Sigma)`` (J x K) drawn as the variable ``total``, with
    ``re_<key> = w - mean`` registered; returns ``w``.

    Parameters
    ----------
    block, names : the group term and its PyMC names.
    priors : the resolved priors.
    mean : a tensor broadcasting to (J, K): the parent's effects or the intercept.
    total : the name of the sampled variable ``w``.
    """
    dims = (names.level_dim, names.column_dim)
    factor = block_covariance(block, names, priors).factor
    if factor.ndim == 2:
        w = pm.MvNormal(total, mu=mean, chol=factor, dims=dims)
    else:
        w = pm.Normal(total, mu=mean, sigma=factor[None, :], dims=dims)
    u = pm.Deterministic(names.effects, w - mean, dims=dims)
    weighted_prior(block, names, u, factor)
    return w
