"""Covariance structures of group terms: their names and what the rest of the spec must know.

A structure is described once by a :class:`CovarianceStructure` (name, whether its columns
share one sd, the default prior of its correlation parameter) and registered with
:func:`register_structure`; :class:`Covariance` values are the registered names. The four
built-in structures are registered here; a backend's builder module registers any other one
together with its builder (:mod:`hierbayes.backends.pymc.covariance`).

No PyMC here: the spec, the design and the priors read these descriptors, the backends build
the parameters.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from ..errors import SpecError


@dataclass(frozen=True)
class CovarianceStructure:
    """What the spec and the default priors need to know about one covariance structure.

    Parameters
    ----------
    name : the name users write (``covariance={"school": name}``).
    description : one line for documentation and error messages.
    shared_sd : True when all columns of a block share one sd (prior key ``sd:<group>``),
        False for one sd per column (prior keys ``sd:<group>:<column>``).
    default_cor : ``(distribution, parameters)`` of the default prior of the block's
        correlation parameter (prior class ``cor``), used for blocks of two or more columns;
        None when the structure has no correlation parameter.
    """

    name: str
    description: str
    shared_sd: bool
    default_cor: tuple[str, Mapping[str, float]] | None = field(default=None)


_STRUCTURES: dict[str, CovarianceStructure] = {}
_NAMES: dict[str, Covariance] = {}


class _RegisteredNames(type):
    """Makes ``Covariance`` iterable over the registered names, as an enum would be."""

    def __iter__(cls) -> Iterator[Covariance]:
        return iter(list(_NAMES.values()))

    def __len__(cls) -> int:
        return len(_NAMES)


class Covariance(str, metaclass=_RegisteredNames):
    """The covariance structure of the effects of one group term: a registered name.

    ``Covariance("exchangeable")`` returns the one instance of that name (so ``is`` compares
    them) and raises :class:`~hierbayes.errors.SpecError`, listing the registered names, for
    an unknown one. Built in:

    unstructured: one sd per column and an LKJ-distributed correlation matrix (lme4 ``(x|g)``).
    independent: one sd per column, no correlation (lme4 ``(x||g)``).
    identity: one sd shared by all columns, no correlation.
    exchangeable: one sd shared by all columns and one common correlation.
    """

    __slots__ = ()

    UNSTRUCTURED: ClassVar[Covariance]
    INDEPENDENT: ClassVar[Covariance]
    IDENTITY: ClassVar[Covariance]
    EXCHANGEABLE: ClassVar[Covariance]

    def __new__(cls, name: str) -> Covariance:
        if isinstance(name, Covariance):
            return name
        found = _NAMES.get(name) if isinstance(name, str) else None
        if found is None:
            raise SpecError(f"unknown covariance structure {name!r}; valid: {registered_names()}")
        return found

    @property
    def value(self) -> str:
        """The name as a plain string."""
        return str.__str__(self)

    @property
    def structure(self) -> CovarianceStructure:
        """The registered description of this structure."""
        return _STRUCTURES[self.value]

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f"Covariance({self.value!r})"


def register_structure(structure: CovarianceStructure) -> Covariance:
    """Register a covariance structure and return its name as a :class:`Covariance`.

    Registering the same description twice is harmless; a different description under a
    registered name raises :class:`~hierbayes.errors.SpecError`.
    """
    known = _STRUCTURES.get(structure.name)
    if known is not None:
        if known != structure:
            raise SpecError(
                f"covariance structure {structure.name!r} is already registered with another "
                f"description ({known.description!r})"
            )
        return _NAMES[structure.name]
    if not structure.name.isidentifier():
        raise SpecError(f"covariance structure name {structure.name!r}: use letters, digits and '_'")
    _STRUCTURES[structure.name] = structure
    _NAMES[structure.name] = str.__new__(Covariance, structure.name)
    return _NAMES[structure.name]


def registered_names() -> list[str]:
    """Names of the registered covariance structures, in registration order."""
    return list(_STRUCTURES)


Covariance.UNSTRUCTURED = register_structure(CovarianceStructure(
    "unstructured", "one sd per column and an LKJ correlation matrix", shared_sd=False,
    default_cor=("LKJ", {"eta": 2.0}),
))
Covariance.INDEPENDENT = register_structure(CovarianceStructure(
    "independent", "one sd per column, no correlation", shared_sd=False,
))
Covariance.IDENTITY = register_structure(CovarianceStructure(
    "identity", "one sd shared by all columns, no correlation", shared_sd=True,
))
Covariance.EXCHANGEABLE = register_structure(CovarianceStructure(
    "exchangeable", "one sd shared by all columns and one common correlation", shared_sd=True,
    default_cor=("Beta", {"alpha": 2.0, "beta": 2.0}),
))
