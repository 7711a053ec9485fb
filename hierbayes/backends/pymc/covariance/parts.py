"""Pieces the covariance builders share: the sds and the correlation factors.

Each function adds its parameters to the current PyMC model under the names of
:class:`~hierbayes.params.BlockNames` (``sd_<key>``, ``cor_<key>``, ``L_<key>``,
``rho_<key>``) with the block's resolved priors.
"""

from __future__ import annotations

import pymc as pm
import pytensor.tensor as pt

from ....design.types import GroupBlock
from ....params import BlockNames
from ....priors import PriorTable
from ..variables import register, stacked_prior


def per_column_sd(block: GroupBlock, names: BlockNames, priors: PriorTable):
    """``sd_<key>``: one sd per column (dims ``<key>__term``), from the ``sd:<group>:<column>``
    priors; one vectorised variable when they share a distribution."""
    sds = [priors.get("sd", block.group, col) for col in block.columns]
    if len({p.dist for p in sds}) == 1:
        return register(names.sd, stacked_prior(sds, block.term.label), dims=names.column_dim)
    parts = [register(f"{names.sd}__{i}", p) for i, p in enumerate(sds)]
    return pm.Deterministic(names.sd, pt.stack(parts), dims=names.column_dim)


def shared_sd(block: GroupBlock, names: BlockNames, priors: PriorTable):
    """``sd_<key>``: one scalar sd shared by all columns, from the ``sd:<group>`` prior."""
    return register(names.sd, priors.get("sd", block.group))


def block_sd(block: GroupBlock, names: BlockNames, priors: PriorTable):
    """``sd_<key>`` as the block's structure declares it: shared by the columns
    (:func:`shared_sd`) or one per column (:func:`per_column_sd`)."""
    if block.term.covariance.structure.shared_sd:
        return shared_sd(block, names, priors)
    return per_column_sd(block, names, priors)


def lkj_correlation_cholesky(block: GroupBlock, names: BlockNames, priors: PriorTable):
    """The Cholesky factor ``L_<key>`` of an LKJ(eta) correlation matrix (eta from the
    ``cor:<group>`` prior); registers ``cor_<key> = L L'``.

    With independent sds this is the prior of PyMC's ``LKJCholeskyCov``, but sampled as the
    sds plus the correlation factor's own unconstrained coordinates: the packed covariance
    factor of ``LKJCholeskyCov`` is unpacked by scatters that XLA does not fuse (sleepstudy
    ``(Days|Subject)``, marginal: 8.1 -> 6.0 us per gradient; the rest of the gain is the
    unrolled Woodbury terms in :mod:`..marginal`).
    """
    eta = priors.get("cor", block.group).kwargs["eta"]
    chol_cor = pm.LKJCorr(names.chol, n=block.n_columns, eta=eta)
    pm.Deterministic(names.cor, chol_cor @ chol_cor.T, dims=(names.column_dim, names.column_dim_bis))
    return chol_cor


def exchangeable_correlation_cholesky(block: GroupBlock, names: BlockNames, priors: PriorTable):
    """The Cholesky factor of a correlation matrix with one common correlation ``rho_<key>``.

    ``rho`` is the ``cor:<group>`` prior (on (0, 1)) mapped onto the valid range
    ``(-1/(K-1), 1)``; registers ``rho_<key>`` and ``cor_<key>``.
    """
    k = block.n_columns
    raw = register(f"{names.rho}__unit", priors.get("cor", block.group))
    lower = -1.0 / (k - 1)
    rho = pm.Deterministic(names.rho, lower + (1.0 - lower) * raw)
    corr = (1.0 - rho) * pt.eye(k) + rho * pt.ones((k, k))
    pm.Deterministic(names.cor, corr, dims=(names.column_dim, names.column_dim_bis))
    return pt.linalg.cholesky(corr)


def scaled_cholesky(sd, correlation_cholesky):
    """``diag(sd) @ C``: the covariance factor from the sds (a scalar or a K-vector) and the
    Cholesky factor ``C`` of the correlation matrix."""
    if sd.ndim == 0:
        return sd * correlation_cholesky
    return sd[:, None] * correlation_cholesky
