"""Pieces the covariance builders share: the sds and the correlation factors.

Each function adds its parameters to the current PyMC model under the names of
:class:`~hierbayes.params.BlockNames` (``sd_<key>``, ``cor_<key>``, ``L_<key>``,
``rho_<key>``) with the block's resolved priors.
"""

from __future__ import annotations

from ....design.types import GroupBlock
from ....params import BlockNames, helper_name
from ....priors import Prior, PriorTable
from ..lazy import pm, pt
from ..variables import register, stacked_prior

#: A half-distribution of an sd -> the distribution on the real line whose absolute value
#: has that law (the density halved on each side), with the parameters it adds.
SYMMETRIC_OF: dict[str, tuple[str, dict]] = {
    "HalfStudentT": ("StudentT", {"mu": 0.0}),
    "HalfNormal": ("Normal", {"mu": 0.0}),
    "HalfCauchy": ("Cauchy", {"alpha": 0.0}),
}


def symmetric_prior(prior: Prior) -> Prior | None:
    """The symmetric distribution whose absolute value has the law ``prior`` (a half-normal,
    half-t or half-Cauchy); None for other sd priors (they keep their log-scale sampler)."""
    entry = SYMMETRIC_OF.get(prior.dist)
    if entry is None:
        return None
    dist, added = entry
    return Prior(dist, **added, **prior.kwargs)


def _sd(name: str, prior: Prior, signed: bool, dims=None):
    """``name`` with law ``prior``; with ``signed`` and a symmetric counterpart, the sampler
    moves ``s`` (``<name>__signed``) on the real line, ``name = |s|`` is registered and ``s``
    is returned (see :func:`block_sd`)."""
    symmetric = symmetric_prior(prior) if signed else None
    if symmetric is None:
        return register(name, prior, dims=dims)
    s = register(helper_name(name, "signed"), symmetric, dims=dims)
    pm.Deterministic(name, pt.abs(s), dims=dims)
    return s


def per_column_sd(block: GroupBlock, names: BlockNames, priors: PriorTable, signed: bool = False):
    """``sd_<key>``: one sd per column (dims ``<key>__term``), from the ``sd:<group>:<column>``
    priors; one vectorised variable when they share a distribution. ``signed``: see
    :func:`block_sd`."""
    sds = [priors.get("sd", block.group, col) for col in block.columns]
    if len({p.dist for p in sds}) == 1:
        return _sd(names.sd, stacked_prior(sds, block.term.label), signed, dims=names.column_dim)
    stacked = pt.stack([_sd(f"{names.sd}__{i}", p, signed) for i, p in enumerate(sds)])
    if signed:
        pm.Deterministic(names.sd, pt.abs(stacked), dims=names.column_dim)
        return stacked
    return pm.Deterministic(names.sd, stacked, dims=names.column_dim)


def shared_sd(block: GroupBlock, names: BlockNames, priors: PriorTable, signed: bool = False):
    """``sd_<key>``: one scalar sd shared by all columns, from the ``sd:<group>`` prior.
    ``signed``: see :func:`block_sd`."""
    return _sd(names.sd, priors.get("sd", block.group), signed)


def block_sd(block: GroupBlock, names: BlockNames, priors: PriorTable, signed: bool = False):
    """``sd_<key>`` as the block's structure declares it: shared by the columns
    (:func:`shared_sd`) or one per column (:func:`per_column_sd`).

    With ``signed`` (the integrated likelihood, whose covariance is a polynomial in the
    sds) an sd whose prior is a half-normal, half-t or half-Cauchy is sampled as a signed
    ``s`` with the symmetric law, ``sd = |s|``, and ``s`` is returned for the covariance
    factor: ``diag(s) R diag(s)`` is the covariance with correlations ``sign(s_i s_j) R_ij``
    (:func:`lkj_correlation_cholesky` registers those). A posterior with mass at sd = 0 is
    then smooth through zero instead of a long tail of log(sd) (nlme's Orthodont
    ``(age | Subject)``: R-hat 1.0108 at seed 1 with log(sd)).
    """
    if block.term.covariance.structure.shared_sd:
        return shared_sd(block, names, priors, signed)
    return per_column_sd(block, names, priors, signed)


def lkj_correlation_cholesky(block: GroupBlock, names: BlockNames, priors: PriorTable, sign=None):
    """The Cholesky factor ``L_<key>`` of an LKJ(eta) correlation matrix (eta from the
    ``cor:<group>`` prior); registers ``cor_<key> = L L'``, or ``S L L' S`` with
    ``S = diag(sign)`` when the factor is scaled by signed sds (:func:`block_sd`).

    With independent sds this is the prior of PyMC's ``LKJCholeskyCov``, but sampled as the
    sds plus the correlation factor's own unconstrained coordinates: the packed covariance
    factor of ``LKJCholeskyCov`` is unpacked by scatters that XLA does not fuse (sleepstudy
    ``(Days|Subject)``, marginal: 8.1 -> 6.0 us per gradient; the rest of the gain is the
    unrolled Woodbury terms in :mod:`..marginal`).
    """
    eta = priors.get("cor", block.group).kwargs["eta"]
    chol_cor = pm.LKJCorr(names.chol, n=block.n_columns, eta=eta)
    cor = chol_cor @ chol_cor.T
    if sign is not None:
        cor = sign[:, None] * cor * sign[None, :] + pt.eye(block.n_columns) * (1.0 - sign**2)
    pm.Deterministic(names.cor, cor, dims=(names.column_dim, names.column_dim_bis))
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
