"""``independent``: one sd per column, no correlation (lme4's ``(x || g)``)."""

from __future__ import annotations

from ....design.types import GroupBlock
from ....params import BlockNames
from ....priors import PriorTable
from ....spec.covariance import Covariance
from .parts import block_sd
from .registry import BlockCovariance, covariance_builder


@covariance_builder(Covariance.INDEPENDENT.structure)
def independent(block: GroupBlock, names: BlockNames, priors: PriorTable, signed: bool = False) -> BlockCovariance:
    """``Sigma = diag(sd^2)`` (``signed``: see :func:`.parts.block_sd`)."""
    return BlockCovariance.diagonal(block_sd(block, names, priors, signed), block.n_columns)
