"""The covariance builders: one per structure, registered by name.

A builder turns a block's prior-resolved covariance parameters into a
:class:`BlockCovariance`, which every parameterization reads: the centred and non-centred
effects and the effects drawn around a mean (:mod:`..blocks`, :mod:`..centring`) and the
gaussian likelihood with the effects integrated out (:mod:`..marginal`). A new structure is
one module: its :class:`~hierbayes.spec.covariance.CovarianceStructure` (name, sd sharing,
default correlation prior) and a function decorated with :func:`covariance_builder`.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ....design.types import GroupBlock
from ....errors import SpecError
from ....params import BlockNames
from ....priors import Prior, PriorTable
from ....spec.covariance import Covariance, CovarianceStructure, register_structure
from ..lazy import pt


@dataclass(frozen=True)
class BlockCovariance:
    """The covariance of one block's effects, as PyTensor expressions.

    Exactly one of ``cholesky`` and ``sd`` is set:

    cholesky : (K, K) lower factor ``L`` with ``L L' = Sigma`` (correlated effects).
    sd : the sd of uncorrelated effects: a scalar shared by the K columns or a K-vector.
    n_columns : K.
    """

    n_columns: int
    cholesky: Any = None
    sd: Any = None

    @classmethod
    def correlated(cls, cholesky, n_columns: int) -> BlockCovariance:
        """Correlated effects with covariance ``cholesky @ cholesky.T``."""
        return cls(n_columns, cholesky=cholesky)

    @classmethod
    def diagonal(cls, sd, n_columns: int) -> BlockCovariance:
        """Uncorrelated effects with sd ``sd`` (scalar, shared, or one per column)."""
        return cls(n_columns, sd=sd)

    @property
    def factor(self):
        """A factor of the covariance: the (K, K) Cholesky factor of correlated effects,
        else the K-vector of sds (a shared sd repeated)."""
        if self.cholesky is not None:
            return self.cholesky
        if self.sd.ndim == 0:
            return pt.repeat(pt.reshape(self.sd, (1,)), self.n_columns)
        return self.sd


#: ``build(block, names, priors)``, optionally with a keyword ``signed`` (see :func:`block_covariance`)
BuildFunction = Callable[..., BlockCovariance]


@dataclass(frozen=True)
class CovarianceBuilder:
    """A registered structure and the function building its parameters.

    ``build(block, names, priors)`` adds the structure's parameters to the current PyMC
    model, registering ``sd_<key>`` (a scalar or one entry per column) and, for correlated
    blocks, ``cor_<key>`` (the K x K correlation matrix) under the names of
    :class:`~hierbayes.params.BlockNames`: results and predictions read those two.
    """

    structure: CovarianceStructure
    build: BuildFunction


_BUILDERS: dict[str, CovarianceBuilder] = {}


def covariance_builder(structure: CovarianceStructure) -> Callable[[BuildFunction], BuildFunction]:
    """Decorator registering ``build`` as the builder of ``structure`` (and the structure
    itself with the spec, if it is new).

    Parameters
    ----------
    structure : the spec-side description (name, sd sharing, default correlation prior).

    Raises
    ------
    SpecError
        When another builder is already registered under the structure's name, or the
        structure's name is taken by another description.
    PriorError
        When the structure's default correlation prior is not a valid ``cor`` prior.
    """

    def decorate(build: BuildFunction) -> BuildFunction:
        if structure.default_cor is not None:
            dist, params = structure.default_cor
            Prior(dist, **params).validate(f"cor (default of covariance {structure.name!r})", "cor")
        register_structure(structure)
        known = _BUILDERS.get(structure.name)
        if known is not None and _identity(known.build) != _identity(build):
            raise SpecError(
                f"covariance structure {structure.name!r} already has a builder "
                f"({known.build.__module__}.{known.build.__qualname__})"
            )
        _BUILDERS[structure.name] = CovarianceBuilder(structure, build)
        return build

    return decorate


def _identity(build: BuildFunction) -> tuple[str, str]:
    return build.__module__, build.__qualname__


def builder_for(covariance: Covariance | str) -> CovarianceBuilder:
    """The builder registered for ``covariance``.

    Raises
    ------
    SpecError
        For a name without a builder, listing the names that have one.
    """
    builder = _BUILDERS.get(str(covariance))
    if builder is None:
        raise SpecError(
            f"covariance structure {str(covariance)!r} has no PyMC builder; structures with "
            f"one: {list(_BUILDERS)}"
        )
    return builder


def block_covariance(block: GroupBlock, names: BlockNames, priors: PriorTable, signed: bool = False) -> BlockCovariance:
    """Add the covariance parameters of ``block`` to the current PyMC model (with the
    builder of its structure) and return its covariance. ``signed``: the sds' sampler
    coordinates are signed (:func:`.parts.block_sd`; the integrated likelihood asks for it)."""
    build = builder_for(block.term.covariance).build
    if signed and "signed" in inspect.signature(build).parameters:
        return build(block, names, priors, signed=True)
    return build(block, names, priors)  # a builder without signed sds keeps log-scale ones


def covariance_factor(block: GroupBlock, names: BlockNames, priors: PriorTable):
    """A factor of the block's covariance (see :attr:`BlockCovariance.factor`), for the
    integrated (marginal) likelihood; the parameters are registered as the sampled
    parameterizations do, except that an sd with a half-normal, half-t or half-Cauchy prior is
    sampled signed (:func:`.parts.block_sd`): the integrated likelihood is smooth in it
    through zero."""
    return block_covariance(block, names, priors, signed=True).factor


def builder_fingerprint(covariance: Covariance | str) -> str:
    """A digest of the source of the module defining the builder of ``covariance`` (so a
    cached sampler is rebuilt when a builder changes)."""
    build = builder_for(covariance).build
    h = hashlib.sha256(f"{build.__module__}.{build.__qualname__}".encode())
    path = inspect.getsourcefile(build)
    if path is not None:
        with open(path, "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()
