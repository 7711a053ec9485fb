"""``missing="model"``: rows with holes in continuous predictors are kept, the holes imputed.

The design is built on a copy of the data whose holes hold a fill value (the column's
observed mean; a level-2 column's known group value where the group has one). Each imputed
column must enter the fixed-effect matrix linearly: the design is re-encoded with the holes
moved by +1 and +2, and every column that changes must change by the same multiple both
times and only in the rows with the hole (``x``, ``x:z``, ``I(2 * x)``, ``x * z``). The
multiples (``loadings``) let the backend add ``b_j * m_ij * (x_i - fill_i)`` to the linear
predictor, with ``x_i`` a parameter. A term not linear in the column (``I(x**2)``,
``log(x)``), a column in a group term's slopes or two imputed columns in one product is a
SpecError naming the term.

A column constant within the groups of a grouping factor among its observed rows is a
level-2 column: it is imputed once per group (one parameter per group with no observed
value), from a gaussian regression on the level-2 complete predictors. A level-1 column gets
a gaussian regression on the complete fixed-effect columns plus a random intercept of the
grouping factor with the most levels. Missing responses (gaussian only) are left out of the
likelihood; their predictive draws come from the fit (``fit.imputed()``).

A binary column (observed values all 0 or 1) gets the same predictors in a logistic
regression, and its holes are summed out instead of sampled (NUTS has no discrete
parameters): the design holds 0 there, and the backend replaces the row's likelihood (a
level-2 column: the product over the group's rows) by ``p L(x=1) + (1 - p) L(x=0)``
(:mod:`hierbayes.backends.pymc.imputation_binary`). At most one binary column may be imputed
in a row.

With sampling weights the imputation models weigh their units as the outcome model does:
observed values and imputed values count their row's weight (a level-2 column: the group's
level-2 weight, 1 without one); their predictors are standardized, and their default priors
scaled, with the same weights. Frequency weights (whole numbers, no scaling, no level-2
weights) are exact: a row of weight w with a level-1 hole becomes w rows of weight 1, each
with its own hole (:mod:`hierbayes.design.missing_frequency`), and a level-1 column's fill is
its frequency-weighted mean.

Refused: missing grouping factors, text or categorical predictors (any number of levels),
two binary holes in one row, Dask data.

The loadings and the imputation models' predictors are found in
:mod:`hierbayes.design.missing_columns`; the records (:class:`ImputedColumn`,
:class:`Imputation`) are in :mod:`hierbayes.design.missing_types`.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pandas as pd

from ..errors import DataError, SpecError
from ..families import get_family
from ..spec.ir import ModelSpec
from . import checks
from .build import build_design
from .frames import as_pandas
from .missing_columns import imputed_columns, reweighted
from .missing_frequency import expand_frequency_holes, frequency_weights
from .missing_types import Imputation, ImputedColumn
from .plan import DesignPlan
from .rterms import ordered_columns
from .types import Design

__all__ = ["Imputation", "ImputedColumn", "build_imputed_design", "is_binary"]


def _level_of(observed: pd.Series, frame: pd.DataFrame, factors: list[str]) -> str | None:
    """The coarsest grouping factor the column is constant within (among observed rows),
    when some group holds more than one observed row (else constancy says nothing)."""
    best = None
    for f in factors:
        keep = observed.notna()
        g = frame.loc[keep, f]
        per = observed[keep].groupby(g.to_numpy(), sort=False)
        if per.ngroups >= len(g) or (per.nunique() > 1).any():
            continue
        if best is None or frame[f].nunique() < frame[best].nunique():
            best = f
    return best


def _check_column(name: str, series: pd.Series, slope_users: dict[str, str], term_columns: set[str]) -> None:
    if name in slope_users:
        raise SpecError(
            f"missing='model': column {name!r} has missing values and is a varying slope of a group term "
            f"({slope_users[name]!r}); imputed columns may enter only the fixed part: use missing='drop' to fit the "
            "complete rows (lme4's na.omit)"
        )
    if name not in term_columns:
        raise DataError(
            f"missing='model': column {name!r} has missing values but is not a fixed-effect predictor "
            "(weights, trials, offsets and sub-model columns cannot be imputed); fill them or use missing='drop'"
        )
    if not checks.is_numeric_column(series):
        n = series.dropna().nunique()
        raise DataError(
            f"missing='model': categorical predictor {name!r} ({n} levels) has missing values; only "
            "continuous numeric predictors are imputed; use missing='drop' or fill them"
        )
    values = series.dropna().to_numpy(dtype=float)
    if values.size < 3:
        raise DataError(f"missing='model': column {name!r} has fewer than 3 observed values to impute from")
    if is_binary(series) and np.unique(values).size < 2:
        raise DataError(f"missing='model': binary predictor {name!r} has only the value {values[0]:g} among its "
                        "observed values; its imputation model needs both 0 and 1")


def is_binary(series: pd.Series) -> bool:
    """Whether a numeric column's observed values are all 0 or 1 (imputed by a logistic model)."""
    values = series.dropna().to_numpy(dtype=float)
    return bool(values.size) and bool(np.isin(values, (0.0, 1.0)).all())



def build_imputed_design(spec: ModelSpec, data: pd.DataFrame, marked: tuple[str, ...] = ()) -> Design:
    """The design of ``spec`` on ``data`` with holes in predictors imputed (see the module).

    ``marked``: the columns brms' ``mi()`` marked (:mod:`hierbayes.spec.missing_terms`); when
    given, a hole in any other column is an error.

    Raises
    ------
    DataError
        For a missing grouping factor, a categorical predictor with holes, two binary columns
        missing in one row, a binary column observed at one value only, a missing
        non-gaussian response or holes in columns that are not fixed-effect predictors.
    SpecError
        For an imputed column inside a group term, a nonlinear transformation or a product
        of two imputed columns, naming the term.
    """
    data = as_pandas(data)
    checks.check_dataframe(data)
    plan = DesignPlan.from_spec(spec, data.columns, ordered_columns(data))
    needed = plan.needed(spec, data.columns)
    checks.check_columns_exist(needed, data.columns)
    factors = list(dict.fromkeys(f for g in spec.groups for f in g.factor))
    for f in factors:
        if data[f].isna().any():
            raise DataError(
                f"missing='model': grouping factor {f!r} has {int(data[f].isna().sum())} missing value(s); "
                "group membership is not imputed; drop those rows (missing='drop') or fill them"
            )
    response = plan.response.text if plan.response.is_column else None
    slope_users = _slope_users(plan)
    term_columns = {n for e in plan.fixed for n in e.names}
    holes = [c for c in needed if c != response and c not in factors and data[c].isna().any()]
    unmarked = [c for c in (*holes, *([response] if response and data[response].isna().any() else []))
                if marked and c not in marked]
    if unmarked:
        raise DataError(f"column(s) {unmarked} have missing values but are not marked with mi() (a response: "
                        "'y | mi() ~ ...'); mark them or fill them")
    levels: dict[str, str | None] = {}
    kinds: dict[str, str] = {}
    for c in holes:
        _check_column(c, data[c], slope_users, term_columns)
        levels[c] = _level_of(data[c], data, factors)
        kinds[c] = "binary" if is_binary(data[c]) else "gaussian"
    original = data
    expansion = expand_frequency_holes(spec, data, [c for c in holes if levels[c] is None], response)
    if expansion is not None:
        data = expansion.data
    freq = frequency_weights(spec, data)
    filled = data.copy()
    for c in holes:
        level = levels[c]
        if level is None:
            filled[c] = data[c].fillna(0.0 if kinds[c] == "binary" else _mean(data[c], freq))
        else:  # a group's known value where it has one, else the mean of the groups' values (binary: 0)
            known = data[c].groupby(data[level].to_numpy(), sort=False).transform("first")
            per_group = data[c].groupby(data[level].to_numpy(), sort=False).first()
            filled[c] = data[c].fillna(known).fillna(0.0 if kinds[c] == "binary" else per_group.mean())
    y_missing = response is not None and data[response].isna().any()
    if y_missing:
        family = get_family(spec.family)
        if not family.linear_gaussian(family.resolve_link(spec.link)) or spec.residuals is not None:
            raise DataError(
                f"missing='model': the response {response!r} has missing values; missing responses are "
                "predicted for gaussian models (identity link, no residual structure) only; use missing='drop'"
            )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the rows without a response are dropped on purpose
        design = build_design(spec, filled, missing="drop" if y_missing else "error")
    if (design.censoring is not None or design.distributional) and holes:
        n_rows = int(data[holes].isna().any(axis=1).sum())
        raise SpecError("missing='model' does not yet combine imputed predictors with censoring or "
                        f"distributional formulas; missing='drop' fits the rows without holes "
                        f"({n_rows} of {len(data)} rows have one in {', '.join(map(repr, holes))})")
    response_rows = np.flatnonzero(data[response].isna().to_numpy()) if y_missing else np.zeros(0, np.int64)
    columns = tuple(_weighted(replace(c, kind=kinds[c.name]), design, data)
                    for c in imputed_columns(design, data, filled, holes, levels))
    binary = [c.name for c in columns if c.kind == "binary" and len(c.rows)]
    if binary and spec.residuals is not None:
        raise SpecError(f"missing='model': binary predictor(s) {binary} with holes are summed out of each row's "
                        "likelihood, which a residual structure (correlated rows) does not allow; use missing='drop'")
    _check_binary_overlap(columns)
    if expansion is None:
        return replace(design, imputation=Imputation(columns, response_rows))
    positions = expansion.positions[design.row_positions]  # back to the rows of the data given
    imputation = Imputation(columns, expansion.positions[response_rows], (expansion.rows, expansion.replicates))
    return replace(design, row_positions=positions, row_index=original.index.to_numpy()[positions],
                   imputation=imputation)


def _mean(values: pd.Series, weights: np.ndarray | None) -> float:
    """The observed values' mean, weighted by frequency weights (the repeated rows' mean)."""
    keep = values.notna().to_numpy()
    if weights is None or not weights[keep].sum() > 0:
        return float(values.mean())
    return float(np.average(values.to_numpy(dtype=float)[keep], weights=weights[keep]))


def _weighted(col: ImputedColumn, design: Design, data: pd.DataFrame) -> ImputedColumn:
    """``col`` with the weights of its units: a level-1 column's rows weigh their row weights,
    a level-2 column's groups their level-2 weights (1 when that level has none); its
    predictors standardized with those weights."""
    if design.weights is None:
        return col
    if col.level is None:
        w = design.row_weights
        hole = np.zeros(design.n_obs, dtype=bool)
        hole[col.rows] = True
        return reweighted(col, w[~hole], w[hole])
    g = data[col.level].iloc[design.row_positions].to_numpy().astype(str)
    groups = np.unique(g)
    per_group = pd.Series(1.0, index=groups)
    for factor, _, values in design.weights.groups:
        if factor == col.level:
            block = next(b for b in design.groups if b.group == factor)
            per_group = pd.Series(np.asarray(values, dtype=float), index=[str(v) for v in block.levels])
    missing = set(col.labels)
    return reweighted(col, per_group.loc[[k for k in groups if k not in missing]].to_numpy(),
                      per_group.loc[list(col.labels)].to_numpy())


def _check_binary_overlap(columns: tuple[ImputedColumn, ...]) -> None:
    """Each binary hole is summed out of its row's (level 2: its group's) likelihood on its
    own; two binary columns missing in one row would need a sum over their combinations."""
    binary = [c for c in columns if c.kind == "binary"]
    for i, a in enumerate(binary):
        for b in binary[i + 1:]:
            shared = np.intersect1d(a.rows, b.rows)
            if len(shared):
                raise DataError(
                    f"missing='model': binary predictors {a.name!r} and {b.name!r} are both missing (or imputed "
                    f"for the row's group) in {len(shared)} row(s); at most one binary column can be imputed per "
                    "row; use missing='drop' or fill one of them"
                )


def _slope_users(plan: DesignPlan) -> dict[str, str]:
    users: dict[str, str] = {}
    for block in plan.slopes:
        for e in block:
            for n in e.names:
                users.setdefault(n, e.text)
    return users
