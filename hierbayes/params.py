"""Structured parameter addresses: the one place where model structure becomes names.

Every parameter of a compiled model has a :class:`ParamAddress` (kind, block, column). The
PyMC variable names and ArviZ dimension names are derived here and nowhere else, so results
code never parses structure back out of strings.
"""

from __future__ import annotations

from dataclasses import dataclass

from .spec.ir import ModelSpec

# Parameter classes a user can put a prior on.
PRIOR_CLASSES = ("Intercept", "b", "sd", "cor", "sigma")

#: The intercept on centred predictors: the parameter the sampler moves (and the one the
#: Intercept prior is on) when the model has an intercept; ``Intercept`` is reported.
CENTRED_INTERCEPT = "Intercept_c"
#: Separates a parameter's name from the part naming a helper variable it is built from
#: (``sd_g__0``, ``b__free``, ``re_g__total``).
HELPER_SEPARATOR = "__"
#: Prefixes of the per-block sampler variables: standard-normal effects, Cholesky factor.
RAW_EFFECTS_PREFIX = "z_"
CHOLESKY_PREFIX = "L_"


def helper_name(parameter: str, part: str | int) -> str:
    """The name of a helper variable of ``parameter`` (``helper_name("b", "free")`` is
    ``b__free``); :func:`is_internal` recognises it."""
    return f"{parameter}{HELPER_SEPARATOR}{part}"


def is_internal(name: str) -> bool:
    """Whether ``name`` is a variable the sampler needs but results do not report: the
    centred intercept, raw (standard-normal) effects, Cholesky factors and helper
    variables. Everything else in a posterior is a parameter of the model.

    Parameters
    ----------
    name : a variable name of a fit's posterior.

    Returns
    -------
    bool
    """
    return (
        name == CENTRED_INTERCEPT
        or HELPER_SEPARATOR in name
        or name.startswith((RAW_EFFECTS_PREFIX, CHOLESKY_PREFIX))
    )


@dataclass(frozen=True)
class BlockNames:
    """Names of the variables and dims belonging to one group term (covariance block)."""

    key: str  # unique per block: the grouping factor, suffixed when a factor has two blocks
    group: str  # grouping factor display name

    @property
    def sd(self) -> str:
        return f"sd_{self.key}"

    @property
    def cor(self) -> str:
        return f"cor_{self.key}"

    @property
    def chol(self) -> str:
        return f"{CHOLESKY_PREFIX}{self.key}"

    @property
    def rho(self) -> str:
        return f"rho_{self.key}"

    @property
    def z(self) -> str:
        return f"{RAW_EFFECTS_PREFIX}{self.key}"

    @property
    def effects(self) -> str:
        return f"re_{self.key}"

    @property
    def level_dim(self) -> str:
        return f"{self.key}__level"

    @property
    def column_dim(self) -> str:
        return f"{self.key}__term"

    @property
    def column_dim_bis(self) -> str:
        return f"{self.key}__term_bis"


FIXED_DIM = "b_term"
OBS_DIM = "obs"


def block_names(spec: ModelSpec) -> tuple[BlockNames, ...]:
    """One :class:`BlockNames` per group term of ``spec``, with unique keys.

    A factor with a single block is keyed by its name (``Subject``); a factor with several
    blocks (``(1|g) + (0 + x|g)``) gets ``g``, ``g_2``, ...; ``:`` in interaction factors
    becomes ``_`` (``__`` is kept for internal helper variables).
    """
    counts: dict[str, int] = {}
    out = []
    for g in spec.groups:
        base = g.group.replace(":", "_")
        counts[base] = counts.get(base, 0) + 1
        key = base if counts[base] == 1 else f"{base}_{counts[base]}"
        out.append(BlockNames(key=key, group=g.group))
    return tuple(out)


@dataclass(frozen=True)
class ParamAddress:
    """Where a parameter lives: ``kind`` in PRIOR_CLASSES, the block (group) and column."""

    kind: str
    group: str | None = None
    term: str | None = None

    def key(self) -> str:
        """The text key used in prior dictionaries: ``sd``, ``sd:school``, ``sd:school:lrt``."""
        return ":".join(p for p in (self.kind, self.group, self.term) if p is not None)


@dataclass(frozen=True)
class AuxNames:
    """Names of the coefficients of a distributional sub-model (``sigma ~ x + (1|g)``).

    ``Intercept_sigma`` (sampled on centred predictors as ``Intercept_sigma__c``),
    ``b_sigma`` with dim ``b_sigma_term``; group blocks are keyed ``sigma_<key>``
    (``sd_sigma_g``, ``re_sigma_g``, dims ``sigma_g__level`` ...).
    """

    aux: str

    @property
    def intercept(self) -> str:
        return f"Intercept_{self.aux}"

    @property
    def centred_intercept(self) -> str:
        return helper_name(self.intercept, "c")

    @property
    def b(self) -> str:
        return f"b_{self.aux}"

    @property
    def fixed_dim(self) -> str:
        return f"b_{self.aux}_term"

    def blocks(self, spec: ModelSpec) -> tuple[BlockNames, ...]:
        """The :class:`BlockNames` of the sub-model's group terms, keyed ``<aux>_<key>``."""
        from .spec.distributional import aux_spec

        return tuple(
            BlockNames(key=f"{self.aux}_{n.key}", group=n.group) for n in block_names(aux_spec(spec, self.aux))
        )

    def prior_class(self, kind: str) -> str:
        """The prior class of ``kind`` in this sub-model: ``b`` -> ``b_sigma``."""
        return f"{kind}_{self.aux}"
