"""Checking that a poststratification table is coded like the model's data.

:func:`check_table` raises on missing columns, differently spelled levels, unknown levels
of fixed-effect factors and mismatched numeric codes, and reports in a :class:`Coverage`
which levels only the table or only the survey has.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..design.checks import describe_rows
from ..errors import DataError
from .mrp_levels import level_strings, lookalikes, shown
from .mrp_table import Poststrat

__all__ = ["Coverage", "check_table", "training_frame"]


@dataclass(frozen=True)
class Coverage:
    """How the table's levels relate to the survey's, per model variable.

    ``table_only`` : levels in the table that the survey has no respondents for (their
    group effects come from the fitted population distribution).
    ``survey_only`` : levels in the survey that the table does not contain (the table
    covers a sub-population; the estimates are about the table's population).
    """

    table_only: dict[str, tuple[str, ...]] = field(default_factory=dict)
    survey_only: dict[str, tuple[str, ...]] = field(default_factory=dict)


def training_frame(model) -> pd.DataFrame:
    """The rows of ``model.data`` that the fit used (after dropping missing values)."""
    from .predict import training_frame as rows_used

    return rows_used(model)


def _level_columns(model) -> tuple[list[str], list[str]]:
    """Model columns that are level-coded (grouping factors, text) and numeric ones."""
    factors = {f for g in model.spec.groups for f in g.factor}
    data = model.data
    levels, numeric = [], []
    for column in model.design.encoder.required:
        series = data[column]
        is_num = pd.api.types.is_numeric_dtype(series.dtype) and not isinstance(
            series.dtype, pd.CategoricalDtype
        )
        if column in factors or not is_num:
            levels.append(column)
        if is_num:
            numeric.append(column)
    return levels, numeric


def check_table(table: Poststrat, model) -> Coverage:
    """Check that the table is coded like the model's data.

    Raises
    ------
    DataError
        When a column the model needs is missing (with a hint to :meth:`Poststrat.join`),
        when a variable's levels look like the same levels spelled differently in the
        survey and the table ("Post-grad" vs "Postgrad"), when no level matches at all,
        when a fixed-effect factor has levels the model has no coefficient for, or when a
        two-valued numeric code (sex coded -0.5/0.5) takes other values in the table.
    """
    required = list(model.design.encoder.required)
    missing = [c for c in required if c not in table.cell_frame.columns]
    if missing:
        uses = [model.design.encoder.required[c] for c in missing]
        offset_hint = (
            "; the model has an offset, so every cell needs its value (e.g. its exposure)"
            if any(u.startswith("offset ") for u in uses) else ""
        )
        raise DataError(
            f"the poststratification table lacks column(s) {shown(missing)} that the model "
            f"uses ({'; '.join(f'{c}: {u}' for c, u in zip(missing, uses))}); "
            f"add group-level predictors with Poststrat.join(predictors, on=key){offset_hint}"
        )
    cells = table.cell_frame
    for column in required:
        if cells[column].isna().any():
            rows = describe_rows(cells[column].isna().to_numpy(), cells.index)
            raise DataError(f"column {column!r} of the poststratification table has missing values ({rows})")
    survey = training_frame(model)
    factors = {f for g in model.spec.groups for f in g.factor}
    level_columns, numeric_columns = _level_columns(model)
    coverage = Coverage()
    for column in level_columns:
        s_levels = list(pd.unique(level_strings(survey[column])))
        t_levels = list(pd.unique(level_strings(cells[column])))
        s_set, t_set = set(s_levels), set(t_levels)
        survey_only = [v for v in s_levels if v not in t_set]
        table_only = [v for v in t_levels if v not in s_set]
        _raise_on_mismatch(column, s_levels, t_levels, survey_only, table_only)
        if table_only and column not in factors:
            raise DataError(
                f"fixed-effect factor {column!r} has level(s) {shown(table_only)} in the "
                f"table that the survey does not have, so the model has no coefficient for "
                f"them; levels in the survey: {shown(s_levels)}"
            )
        if table_only:
            coverage.table_only[column] = tuple(table_only)
        if survey_only:
            coverage.survey_only[column] = tuple(survey_only)
    for column in numeric_columns:
        if column in factors:
            continue  # already compared as levels
        s_values = np.unique(pd.to_numeric(survey[column]).to_numpy(float))
        if len(s_values) > 2:
            continue
        t_values = np.unique(pd.to_numeric(cells[column]).to_numpy(float))
        extra = np.setdiff1d(t_values, s_values)
        if extra.size:
            raise DataError(
                f"column {column!r} is coded {s_values.tolist()} in the survey but the table "
                f"has {t_values.tolist()}; recode one of them so the codes match"
            )
    return coverage


def _raise_on_mismatch(column, s_levels, t_levels, survey_only, table_only) -> None:
    if not set(s_levels) & set(t_levels):
        raise DataError(
            f"no level of {column!r} in the table matches the survey: survey levels "
            f"{shown(s_levels)}; table levels {shown(t_levels)}"
        )
    pairs = lookalikes(survey_only, table_only)
    if pairs:
        listed = ", ".join(f"{a!r} (survey) vs {b!r} (table)" for a, b in pairs)
        raise DataError(
            f"levels of {column!r} are coded differently in the survey and the table: "
            f"{listed}. Levels only in the survey: {shown(survey_only)}; only in the table: "
            f"{shown(table_only)}. Recode one of them so the spellings match"
        )
