"""Declarative model files (TOML): data, model, priors and sampler settings in one place.

.. code-block:: toml

    name = "gcse_gend"
    description = "GCSE scores: school gender as a level-2 predictor of intercept and slope"

    [data]
    source = "gcse"                 # a bundled data set, or a CSV path relative to this file
    filter = "nstu > 4"             # pandas query string
    # factors = ["school"]          # CSV columns to read as categorical
    # ordered = { sat = ["low", "mid", "high"] }   # an ordered categorical (an ordinal response)
    # group_mean_center = { lrt = "school" }   # adds lrt_cwc
    # grand_mean_center = ["lrt"]              # adds lrt_cgm
    # group_mean = { lrt = "school" }          # adds lrt_mean (a level-2 predictor)
    # missing = "drop"

    [model]
    family = "gaussian"             # link = "identity"
    levels = '''
    gcse ~ b0 + b1*lrt
    b0 ~ 1 + C(schgend) | school
    b1 ~ 1 + C(schgend) | school
    '''
    # or: formula = "gcse ~ lrt * C(schgend) + (lrt | school)"
    # or: stata = "mixed gcse c.lrt##i.schgend || school: lrt, covariance(unstructured)"
    #     (mestreg: with time = "t" and failure = "d", the variables of stset)
    covariance = { school = "unstructured" }
    # distributional = { sigma = "~ lrt" }   # a formula per family parameter

    # [residuals]                   # a residual (R-side) structure of a gaussian model
    #                               # (or in [model]: residuals = { kind = "ar", time = "t" })
    # kind = "ar"                   # hb.residuals' kinds: ar, ma, arma, toeplitz, banded,
    # order = 1                     #   unstructured, exchangeable, exponential, independent
    # time = "t"                    # order: p, q or k (arma: [p, q])
    # group = "id"                  # default the innermost grouping factor
    # by = "arm"

    # [weights]                     # Model's weights= (column), weight_kind= (kind),
    # column = "w"                  #   group_weights= (groups), weight_scaling= (scaling)
    # kind = "precision"            #   and weight_method= (method)
    # groups = { school = "w2" }

    [priors]
    sigma = { dist = "HalfStudentT", nu = 3, sigma = 10 }
    "sd:school" = { dist = "HalfNormal", sigma = 5 }

    [sampler]
    draws = 1000
    tune = 1000
    chains = 4
    seed = 1
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .design.level_checks import check_level_predictors
from .errors import DataError, SpecError
from .families import get_family
from .modelfile_data import DataConfig
from .modelfile_tables import (
    as_pairs,
    as_string,
    as_table,
    check_keys,
    location,
    read_priors,
    read_residuals,
    read_sampler,
    read_weights,
)
from .priors import Prior
from .sampler_args import SamplerConfig, field_names
from .spec import parse_formula
from .spec.distributional import with_distributional
from .spec.ir import ModelSpec
from .spec.levels import levels as levels_spec
from .spec.levels import parse_levels
from .spec.stata import from_stata

if TYPE_CHECKING:
    from .fit import Fit
    from .model import Model

__all__ = ["DataConfig", "ModelFile", "SamplerConfig", "load_model_file"]

_TOP_KEYS = ("name", "description", "data", "model", "residuals", "weights", "priors", "sampler")
_DATA_KEYS = (
    "source", "filter", "factors", "ordered", "group_mean_center", "grand_mean_center", "group_mean",
    "missing",
)
_MODEL_KEYS = (
    "family", "link", "formula", "levels", "stata", "covariance", "subscripts", "parameterization",
    "distributional", "time", "failure", "residuals",
)


@dataclass(frozen=True)
class ModelFile:
    """A parsed model file: the spec is built, the data are read on demand."""

    path: Path
    name: str
    description: str
    data: DataConfig
    spec: ModelSpec
    priors: dict[str, Prior] = field(default_factory=dict)
    sampler: SamplerConfig = SamplerConfig()
    parameterization: str | dict[str, str] | None = None
    kind: str = "formula"  # "formula", "levels" or "stata"

    def load_data(self) -> pd.DataFrame:
        """The prepared data (read, filtered, derived columns added)."""
        return self.data.load()

    def build(self, data: pd.DataFrame | None = None) -> Model:
        """A :class:`hierbayes.Model` on the file's data, with the level checks done.

        Raises
        ------
        DataError, SpecError, PriorError
            When the data do not fit the model (a level-2 predictor that varies within its
            groups, a missing column, ...) or a prior key is unknown.
        """
        from .model import Model

        df = self.load_data() if data is None else data
        if self.spec.levels is not None:
            try:
                check_level_predictors(self.spec.levels, df)
            except DataError as error:  # the file's own key, not the Python function
                raise DataError(str(error).replace(
                    "(hierbayes.design.centering.add_group_mean)",
                    "(in this file: group_mean = { <column> = \"<group>\" } under [data] adds <column>_mean)",
                )) from None
        return Model(
            self.spec,
            df,
            priors=self.priors,
            missing=self.data.missing,
            parameterization=self.parameterization,
        )

    def fit(self, model: Model | None = None, progressbar: bool = True, **overrides: Any) -> Fit:
        """Fit with the file's sampler settings, any of them overridden by keyword (a
        :class:`~hierbayes.sampler_args.SamplerConfig` field; None keeps the file's value)."""
        unknown = set(overrides) - set(field_names())
        if unknown:
            raise SpecError(f"unknown sampler setting(s) {sorted(unknown)}; valid: {sorted(field_names())}")
        config = self.sampler.replace(progressbar=progressbar, **overrides)
        model = model if model is not None else self.build()
        return model.fit(**config.as_kwargs())


# ===================================================================================== loading


def _data_config(raw: Any, path: Path) -> DataConfig:
    if isinstance(raw, str):
        raw = {"source": raw}
    table = as_table(raw, path, "data")
    check_keys(table, _DATA_KEYS, path, "[data]")
    factors = table.get("factors", [])
    if not isinstance(factors, list) or not all(isinstance(f, str) for f in factors):
        raise SpecError(f"{location(path, 'data.factors')} must be a list of column names")
    ordered = table.get("ordered", {})
    if not isinstance(ordered, dict) or not all(isinstance(v, list) and all(isinstance(x, str) for x in v)
                                                and len(v) >= 2 for v in ordered.values()):
        raise SpecError(f"{location(path, 'data.ordered')} must be a table column = [\"lowest\", ..., "
                        f"\"highest\"] (two levels or more), got {ordered!r}")
    missing = table.get("missing", "error")
    if missing not in ("error", "drop", "model"):
        raise SpecError(f"{location(path, 'data.missing')} = {missing!r}: valid values are 'error', 'drop' and 'model'")
    return DataConfig(
        source=as_string(table.get("source"), path, "data.source", required=True),
        base=path.parent,
        filter=as_string(table.get("filter"), path, "data.filter"),
        factors=tuple(factors),
        ordered=tuple((column, tuple(levels)) for column, levels in ordered.items()),
        group_mean_center=as_pairs(table.get("group_mean_center"), path, "data.group_mean_center"),
        grand_mean_center=as_pairs(table.get("grand_mean_center"), path, "data.grand_mean_center", True),
        group_mean=as_pairs(table.get("group_mean"), path, "data.group_mean"),
        missing=missing,
    )


def _model_spec(table: dict[str, Any], path: Path) -> tuple[ModelSpec, str]:
    check_keys(table, _MODEL_KEYS, path, "[model]")
    given = [k for k in ("formula", "levels", "stata") if k in table]
    if len(given) != 1:
        what = "none" if not given else " and ".join(given)
        raise SpecError(
            f"{path.name}: [model] needs exactly one of formula, levels or stata; found {what}"
        )
    kind = given[0]
    family = as_string(table.get("family", "gaussian"), path, "model.family")
    link = as_string(table.get("link"), path, "model.link")
    covariance = as_table(table.get("covariance"), path, "model.covariance")
    subscripts = as_table(table.get("subscripts"), path, "model.subscripts")
    value = table[kind]
    if kind == "formula":
        spec = parse_formula(as_string(value, path, "model.formula"), family=family, link=link)
        spec = spec.with_covariance(covariance) if covariance else spec
    elif kind == "stata":
        try:
            spec = from_stata(as_string(value, path, "model.stata"), time=as_string(table.get("time"), path, "model.time"),
                              failure=as_string(table.get("failure"), path, "model.failure"))
        except SpecError as error:
            if "from_stata(..., time='t', failure='d')" in str(error):  # its Python advice, as the file's keys
                raise SpecError(f"{path.name}: [model] stata: mestreg needs the survival time: give the variables of "
                                "'stset t, failure(d)' as keys beside it, time = \"t\" and failure = \"d\"") from None
            if "hierbayes.read_stata()" not in str(error):
                raise
            raise SpecError(
                f"{path.name}: [model] stata: a model file does not read the bayes prefix's priors and sampler "
                "options; write them as keys: [priors] (e.g. \"b:x\" = \"Normal(0, 10)\", \"Intercept\", \"sd:g\", "
                "\"sigma\"; Stata's normal(m, v) is Normal(m, sqrt(v))) and [sampler] (draws, tune, chains, "
                "random_seed for mcmcsize, burnin, nchains, rseed)"
            ) from None
        _check_agrees_with_stata(table, spec, covariance, path)
    else:
        spec = _levels_value(value, path, family, link, covariance, subscripts)
    distributional = as_table(table.get("distributional"), path, "model.distributional")
    if distributional:  # distributional = { sigma = "~ x + (1|g)" }
        spec = with_distributional(spec, distributional)
    return spec, kind


def _check_agrees_with_stata(table: dict[str, Any], spec: ModelSpec, covariance: dict, path: Path) -> None:
    """A Stata command sets its family, link and covariances; [model] keys that say otherwise
    are refused (they had replaced the command's silently: ``family = "poisson"`` beside
    ``mixed ...``)."""
    family = get_family(spec.family)
    said = {"family": str(spec.family), "link": family.resolve_link(spec.link)}
    disagrees = {"family": "family" in table and get_family(table["family"]) is not family,
                 "link": "link" in table and family.resolve_link(table["link"]) != said["link"]}
    for key in ("family", "link"):
        if disagrees[key]:
            raise SpecError(
                f"{path.name}: [model] {key} = {table[key]!r} disagrees with the Stata command, which "
                f"gives {key} {said[key]!r}; the command sets it (e.g. mepoisson, melogit, or meglm ..., "
                f"family() link()): remove {key} or change the command"
            )
    if covariance and spec.with_covariance(covariance) != spec:
        raise SpecError(
            f"{path.name}: [model] covariance = {covariance!r} disagrees with the Stata command's "
            f"random-effects equations; give it in the command (|| school: x, covariance(unstructured)) "
            f"and remove the key"
        )


def _levels_value(
    value: Any, path: Path, family: str, link: str | None, covariance: dict, subscripts: dict
) -> ModelSpec:
    options = {"family": family, "link": link, "covariance": covariance, "subscripts": subscripts}
    if isinstance(value, str):
        return parse_levels(value, **options)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return parse_levels("\n".join(value), **options)
    if isinstance(value, dict) and "level1" in value:
        equations = {k: v for k, v in value.items() if k != "level1"}
        return levels_spec(value["level1"], **options, **equations)
    raise SpecError(
        f"{location(path, 'model.levels')} must be a string of equations (one per line), a list "
        f"of equations or a table with level1 = \"...\" and one key per coefficient"
    )


def load_model_file(path: str | Path) -> ModelFile:
    """Read and validate a TOML model file (the data are not read yet).

    Parameters
    ----------
    path : str or Path
        The ``.toml`` file.

    Returns
    -------
    ModelFile
        With the ModelSpec built (formula, level equations or Stata command, and the
        ``[residuals]`` structure and ``[weights]``), priors and sampler settings.

    Raises
    ------
    SpecError
        For a missing or malformed file, unknown keys (with the valid ones), or a model that
        does not parse; PriorError for malformed priors.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise SpecError(f"model file {str(path)!r} not found")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path.name}: invalid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read model file {str(path)!r}: {exc}") from None
    check_keys(raw, _TOP_KEYS, path, "the file")
    model_table = as_table(raw.get("model"), path, "model")
    if not model_table:
        raise SpecError(f"{path.name}: a [model] table with formula, levels or stata is required")
    spec, kind = _model_spec(model_table, path)
    if "residuals" in raw and "residuals" in model_table:
        raise SpecError(f"{path.name}: give the residual structure once: [residuals] or model.residuals")
    spec = read_residuals(raw.get("residuals", model_table.get("residuals")), spec, path)
    spec = read_weights(raw.get("weights"), spec, path)
    parameterization = model_table.get("parameterization")
    return ModelFile(
        path=path,
        name=as_string(raw.get("name"), path, "name") or path.stem,
        description=as_string(raw.get("description"), path, "description") or "",
        data=_data_config(raw.get("data"), path),
        spec=spec,
        priors=read_priors(raw.get("priors"), path),
        sampler=read_sampler(raw.get("sampler"), path),
        parameterization=parameterization,
        kind=kind,
    )
