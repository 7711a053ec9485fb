"""``unstructured``: one sd per column and an LKJ-distributed correlation matrix (lme4's
``(x | g)``)."""

from __future__ import annotations

from ....design.types import GroupBlock
from ....params import BlockNames
from ....priors import PriorTable
from ....spec.covariance import Covariance
from ..lazy import pt
from .parts import block_sd, lkj_correlation_cholesky, scaled_cholesky
from .registry import BlockCovariance, covariance_builder


@covariance_builder(Covariance.UNSTRUCTURED.structure)
def unstructured(block: GroupBlock, names: BlockNames, priors: PriorTable, signed: bool = False) -> BlockCovariance:
    """``Sigma = diag(sd) R diag(sd)`` with ``R ~ LKJ(eta)``; a single column has just its sd.
    ``signed``: signed sds (:func:`.parts.block_sd`), the correlations registered with their signs."""
    sd = block_sd(block, names, priors, signed)
    if block.n_columns == 1:
        return BlockCovariance.diagonal(sd, 1)
    return BlockCovariance.correlated(scaled_cholesky(sd, lkj_correlation_cholesky(block, names, priors, pt.sign(sd) if signed else None)), block.n_columns)
