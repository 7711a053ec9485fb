"""Group-effect blocks: the (J x K) effects of one group term, centred, non-centred or
drawn around a given mean.

The block's covariance comes from the builder of its structure
(:mod:`.covariance`), which registers ``sd_<key>`` (and ``cor_<key>`` for correlated blocks)
as named variables so results can read them.
"""

from __future__ import annotations

import pymc as pm
import pytensor.tensor as pt

from ...design.types import GroupBlock
from ...params import BlockNames
from ...priors import PriorTable
from .covariance import block_covariance


def group_effects(block: GroupBlock, names: BlockNames, priors: PriorTable, centered: bool):
    """Build the (J x K) group effects of ``block`` and return them as a tensor.

    Parameters
    ----------
    block, names : the group term and its PyMC names.
    priors : the resolved priors.
    centered : draw the effects themselves (``re_<key> ~ N(0, Sigma)``), else standard
        normal ``z_<key>`` scaled by a factor of ``Sigma``.
    """
    cov = block_covariance(block, names, priors)
    dims = (names.level_dim, names.column_dim)
    if cov.cholesky is not None:
        if centered:
            return pm.MvNormal(names.effects, mu=pt.zeros(block.n_columns), chol=cov.cholesky, dims=dims)
        z = pm.Normal(names.z, 0.0, 1.0, dims=dims)
        return pm.Deterministic(names.effects, z @ cov.cholesky.T, dims=dims)
    if centered:
        return pm.Normal(names.effects, 0.0, cov.sd, dims=dims)
    z = pm.Normal(names.z, 0.0, 1.0, dims=dims)
    return pm.Deterministic(names.effects, z * cov.sd, dims=dims)


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
    pm.Deterministic(names.effects, w - mean, dims=dims)
    return w
