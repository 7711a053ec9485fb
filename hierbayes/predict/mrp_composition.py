"""Diagnostics: the survey's composition against the population's."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import DataError
from .mrp_checks import training_frame
from .mrp_levels import level_names, level_strings, shown
from .mrp_table import Poststrat

__all__ = ["composition"]


def composition(
    data: pd.DataFrame | object,
    table: Poststrat,
    variables: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The sample's composition against the population's, per poststratification variable.

    Parameters
    ----------
    data : the survey DataFrame, or a Fit / Model (its training rows are used).
    table : Poststrat
    variables : columns to compare; default every table column (except the count and the
        joined predictors) that the survey also has.

    Returns
    -------
    pandas.DataFrame
        Columns ``variable``, ``level``, ``sample`` (share of respondents), ``population``
        (share of the population), ``respondents`` and ``ratio`` (sample / population
        share: above 1 means over-represented).
    """
    model = getattr(data, "model", data)
    survey = training_frame(model) if hasattr(model, "design") else data
    if not isinstance(survey, pd.DataFrame):
        raise DataError(f"data must be a DataFrame, a Fit or a Model, got {type(data).__name__}")
    if variables is None:
        variables = [
            c for c in table.columns
            if c != table.count and c not in table.predictor_keys and c in survey.columns
        ]
    variables = list(variables)
    table.require(variables, "composition")
    missing = [v for v in variables if v not in survey.columns]
    if missing:
        raise DataError(f"composition: the survey has no column(s) {shown(missing)}")
    rows = []
    weights = table.counts
    for column in variables:
        pop = pd.Series(weights).groupby(level_strings(table.cell_frame[column]).to_numpy(), sort=False).sum()
        order = _level_order(table.cell_frame[column])
        pop = pop.reindex(order).fillna(0.0)
        counts = level_strings(survey[column]).value_counts()
        levels = order + [v for v in counts.index if v not in set(order)]
        for level in levels:
            n = float(counts.get(level, 0))
            p_pop = float(pop.get(level, 0.0)) / weights.sum()
            p_sam = n / len(survey)
            rows.append({
                "variable": column,
                "level": level,
                "sample": p_sam,
                "population": p_pop,
                "respondents": int(n),
                "ratio": p_sam / p_pop if p_pop > 0 else np.nan,
            })
    return pd.DataFrame(rows)


def _level_order(series: pd.Series) -> list[str]:
    if isinstance(series.dtype, pd.CategoricalDtype):
        present = set(level_strings(series))
        return [v for v in level_names(series.cat.categories) if v in present]
    try:
        uniques = sorted(pd.unique(series.dropna()))
    except TypeError:
        uniques = list(pd.unique(series.dropna()))
    return list(dict.fromkeys(level_names(uniques)))
