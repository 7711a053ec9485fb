"""A model's configuration apart from what it learns from data (as scikit-learn separates
an estimator's parameters from its fitted state).

* :class:`ModelConfig` (frozen): the spec (formula or level equations, family and link,
  covariance structures applied), the prior overrides, the missing-value policy, the
  parameterization and the collapse setting. Nothing here depends on a data set.
* :class:`BuiltModel` (frozen): what :func:`build_model` makes of a configuration and a data
  set: the design matrices, the resolved priors (scaled on the data) and the data used.

:class:`hierbayes.Model` holds one of each; ``model.with_data(df)`` builds the same
configuration on other data. Results and predictions read only the plain parts of a
``BuiltModel`` (spec, design, priors, data), never the Model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from .design import build_design
from .design.collapse import collapse_for_fit
from .design.dask_cells import dask_designs
from .design.dask_frames import is_dask_frame
from .design.frames import as_pandas
from .design.level_checks import check_level_predictors
from .design.missing import build_imputed_design
from .design.types import Design
from .design.weights import check_weighted_family
from .errors import DataError, SpecError
from .families import get_family
from .priors import Prior, PriorTable, resolve_priors
from .spec import parse_formula
from .spec.distributional import with_distributional
from .spec.ir import Covariance, ModelSpec
from .spec.missing_terms import strip_mi
from .spec.precision_weights import with_weight_arguments
from .spec.residuals import ResidualStructure

#: Values of ``missing``.
MISSING_POLICIES = ("error", "drop", "model")


@dataclass(frozen=True)
class ModelConfig:
    """Everything that defines a model except its data.

    Attributes
    ----------
    spec : the parsed model (terms, family, link, covariance structures, Stata subset).
    prior_overrides : prior overrides keyed as ``Model(priors=...)`` takes them.
    missing : "error", "drop" or "model" (impute holes, :mod:`hierbayes.design.missing`).
    parameterization : "centered", "noncentered", "marginal", "nested", "adaptive", a dict per grouping
        factor, or None (chosen from the data when compiling).
    collapse : "auto", True or False (fit bernoulli / binomial rows as binomial cells).
    impute : the columns brms' ``mi()`` marked in the formula (then ``missing="model"``, and
        holes elsewhere are errors); empty: every column with holes, when ``missing="model"``.
    The residual structure (``Model(residuals=...)``) is part of the spec
    (``spec.residuals``), so ``with_data``, ``with_config`` and saved fits keep it.
    """

    spec: ModelSpec
    prior_overrides: Mapping[str, Prior] = field(default_factory=dict)
    missing: str = "error"
    parameterization: str | Mapping[str, str] | None = None
    collapse: bool | str = "auto"
    impute: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.missing not in MISSING_POLICIES:
            raise DataError(f"missing={self.missing!r}: valid values are 'error', 'drop' and 'model'")
        if not isinstance(self.spec, ModelSpec):
            raise SpecError(f"formula must be a string or a ModelSpec, got {type(self.spec).__name__}")
        get_family(self.spec.family).resolve_link(self.spec.link)
        object.__setattr__(self, "prior_overrides", dict(self.prior_overrides or {}))

    @classmethod
    def from_arguments(
        cls,
        formula: str | ModelSpec,
        family: str = "gaussian",
        link: str | None = None,
        priors: Mapping[str, Prior] | None = None,
        covariance: Mapping[str, str | Covariance] | None = None,
        missing: str = "error",
        parameterization: str | Mapping[str, str] | None = None,
        collapse: bool | str = "auto",
        residuals: ResidualStructure | None = None,
        distributional: Mapping[str, str] | None = None,
        weights: str | None = None,
        group_weights: Mapping[str, str] | None = None,
        weight_scaling: str | None = None,
        weight_method: str | None = None,
        weight_kind: str | None = None,
    ) -> ModelConfig:
        """The configuration that :class:`hierbayes.Model` makes of its arguments (see there).

        Raises
        ------
        DataError
            For an unknown ``missing`` policy.
        SpecError
            For a formula that is neither a string nor a ModelSpec, or that does not parse,
            and for an unknown family or link; for a ``distributional`` formula of a
            parameter the family does not have; for weights the model cannot take
            (:func:`hierbayes.spec.weights.with_weights`).
        """
        if missing not in MISSING_POLICIES:
            raise DataError(f"missing={missing!r}: valid values are 'error', 'drop' and 'model'")
        marked: tuple[str, ...] = ()
        if isinstance(formula, str):
            formula, marked = strip_mi(formula)
            if marked and missing == "drop":
                raise DataError(f"mi({', '.join(marked)}) in the formula imputes; it contradicts missing='drop'")
            missing = "model" if marked else missing
        if isinstance(formula, ModelSpec):
            spec = formula
        elif isinstance(formula, str):
            get_family(family).resolve_link(link)
            spec = parse_formula(formula, family=family, link=link)
        else:
            raise SpecError(f"formula must be a string or a ModelSpec, got {type(formula).__name__}")
        get_family(spec.family).resolve_link(spec.link)
        if covariance:
            spec = spec.with_covariance(dict(covariance))
        if residuals is not None:
            if spec.residuals is not None and spec.residuals != residuals:  # ar() in the formula, or Stata's residuals()
                raise SpecError(f"the formula already has a residual structure, {spec.residuals.describe()}, and "
                                f"residuals= gives another, {residuals.describe()}: give one")
            spec = dataclasses.replace(spec, residuals=residuals)
        if distributional:
            if "sigma" in distributional and spec.sigma_known:
                raise SpecError("the formula's se() makes the residual sd known; sigma= contradicts it: give one")
            spec = with_distributional(spec, dict(distributional))
        spec = with_weight_arguments(spec, weights, group_weights, weight_scaling, weight_method, weight_kind)
        return cls(spec, dict(priors or {}), missing, parameterization, collapse, marked)

    @property
    def family(self) -> str:
        return self.spec.family

    @property
    def link(self) -> str | None:
        return self.spec.link

    def replace(self, **changes) -> ModelConfig:
        """A copy with the given fields changed (checked as a new configuration)."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class BuiltModel:
    """A configuration built on a data set: plain data, no sampler state.

    Attributes
    ----------
    spec : the configuration's spec.
    data : the data set given (never modified; rows dropped for missing values stay in it).
    design : the design the sampler sees (a ``CollapsedDesign`` when rows were collapsed).
    priors : the resolved priors, scaled on the rows of the data used.
    """

    spec: ModelSpec
    data: pd.DataFrame
    design: Design
    priors: PriorTable


def build_model(config: ModelConfig, data) -> BuiltModel:
    """Build ``config`` on ``data``: check level-2 predictors, build the design, resolve the
    priors on the rows and then collapse rows into binomial cells when the configuration
    asks for it.

    Parameters
    ----------
    config : the model configuration.
    data : a pandas DataFrame (polars and pyarrow tables are converted).

    Raises
    ------
    DataError
        For data the design cannot be built from (missing columns or values, ...).
    """
    if is_dask_frame(data) and config.missing == "model":
        raise DataError("missing='model' needs the rows in memory; a Dask DataFrame takes 'error' or 'drop'")
    if is_dask_frame(data):  # reductions of the partitions, never the rows together
        design, fit_design = dask_designs(config.spec, data, missing=config.missing)
        priors = resolve_priors(design, dict(config.prior_overrides))
        return BuiltModel(config.spec, data, fit_design, priors)
    data = as_pandas(data)
    spec = config.spec
    if spec.levels is not None:  # level-2 predictors must be constant within their groups
        check_level_predictors(spec.levels, data)
    if config.missing == "model":  # holes imputed as parameters: the rows stay rows
        design = build_imputed_design(spec, data, config.impute)
        return BuiltModel(spec, data, design, resolve_priors(design, dict(config.prior_overrides)))
    design = build_design(spec, data, missing=config.missing)
    priors = resolve_priors(design, dict(config.prior_overrides))
    # Priors are scaled on the rows above; the sampler may see binomial cells instead.
    if design.weights is not None:  # cells would lose the rows' weights
        check_weighted_family(spec, config.collapse)
        return BuiltModel(spec, data, design, priors)
    return BuiltModel(spec, data, collapse_for_fit(design, config.collapse), priors)
