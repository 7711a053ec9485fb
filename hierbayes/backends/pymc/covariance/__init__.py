"""Covariance structures of group terms as one-module builders.

:mod:`.registry` maps each structure name to its builder; :mod:`.parts` holds the pieces
builders share (sds, LKJ and exchangeable correlation factors). Importing this package
registers the built-in structures (one module each). To add a structure, define its
:class:`~hierbayes.spec.covariance.CovarianceStructure` and decorate its build function with
:func:`covariance_builder` (see ``tests/backends/test_covariance_slice.py``).
"""

from __future__ import annotations

from . import exchangeable, identity, independent, unstructured  # noqa: F401  (registers the built-ins)
from .parts import (
    block_sd,
    exchangeable_correlation_cholesky,
    lkj_correlation_cholesky,
    per_column_sd,
    scaled_cholesky,
    shared_sd,
)
from .registry import (
    BlockCovariance,
    CovarianceBuilder,
    block_covariance,
    builder_fingerprint,
    builder_for,
    covariance_builder,
    covariance_factor,
)

__all__ = [
    "BlockCovariance",
    "CovarianceBuilder",
    "block_covariance",
    "block_sd",
    "builder_fingerprint",
    "builder_for",
    "covariance_builder",
    "covariance_factor",
    "exchangeable_correlation_cholesky",
    "lkj_correlation_cholesky",
    "per_column_sd",
    "scaled_cholesky",
    "shared_sd",
]
