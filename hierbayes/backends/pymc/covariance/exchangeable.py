"""``exchangeable``: one sd shared by all columns and one common correlation (compound
symmetry)."""

from __future__ import annotations

from ....design.types import GroupBlock
from ....params import BlockNames
from ....priors import PriorTable
from ....spec.covariance import Covariance
from .parts import block_sd, exchangeable_correlation_cholesky, scaled_cholesky
from .registry import BlockCovariance, covariance_builder


@covariance_builder(Covariance.EXCHANGEABLE.structure)
def exchangeable(block: GroupBlock, names: BlockNames, priors: PriorTable, signed: bool = False) -> BlockCovariance:
    """``Sigma = sd^2 ((1 - rho) I + rho 11')``; a single column has just its sd (``signed``:
    see :func:`.parts.block_sd`; the shared sd's sign cancels)."""
    sd = block_sd(block, names, priors, signed)
    if block.n_columns == 1:
        return BlockCovariance.diagonal(sd, 1)
    chol = scaled_cholesky(sd, exchangeable_correlation_cholesky(block, names, priors))
    return BlockCovariance.correlated(chol, block.n_columns)
