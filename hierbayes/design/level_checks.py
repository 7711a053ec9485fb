"""Level equations against data: level-2 (and higher) predictors constant within their groups.

A predictor written in a coefficient's equation (``b0 ~ 1 + z | school``) describes the
groups, so it may not vary within one group; the check names the predictor, the equation, the
grouping factor and one group where it varies.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd

from ..errors import DataError
from ..spec.levels_result import Equation, Levels

__all__ = ["check_level_predictors"]


def check_level_predictors(levels: Levels, data: pd.DataFrame) -> None:
    """Check that every level-2 (and higher) predictor is constant within its groups.

    Parameters
    ----------
    levels : Levels
        ``ModelSpec.levels`` of a model written as level equations.
    data : pandas.DataFrame
        The data the model will be fit to (not modified).

    Raises
    ------
    DataError
        Naming the predictor, the equation, the grouping factor and one group in which
        the predictor takes two different values.
    """
    for eq in levels.equations:
        group = eq.group or _implied_group(levels, eq)
        if not group or any(f not in data.columns for f in group):
            continue
        eq = replace(eq, group=group)
        for name in eq.variables:
            if name in data.columns and name not in eq.group:
                _check_constant(data, name, eq)


def _implied_group(levels: Levels, eq: Equation) -> tuple[str, ...]:
    """The grouping factor of a non-varying coefficient's equation written without one
    (``b1 ~ 1 + ses``): the one factor of the other equations of its level, as the textbook
    form's subscript (``b1_j = g10 + g11*ses_j``) says; empty when they have several."""
    groups = {other.group for other in levels.equations if other.level == eq.level and other.group}
    return next(iter(groups)) if len(groups) == 1 else ()


def _plain(value: Any) -> Any:
    """numpy scalars print as plain Python values in messages."""
    return value.item() if hasattr(value, "item") else value


def _check_constant(data: pd.DataFrame, name: str, eq: Equation) -> None:
    group = list(eq.group)
    frame = data[[*group, name]]
    counts = frame.groupby(group, observed=True, sort=False)[name].nunique(dropna=False)
    bad = counts[counts > 1]
    if bad.empty:
        return
    key = bad.index[0] if len(group) > 1 else (bad.index[0],)
    mask = pd.Series(True, index=frame.index)
    for column, value in zip(group, key, strict=True):
        mask &= frame[column] == value
    values = [_plain(v) for v in pd.unique(frame.loc[mask, name])[:2]]
    where = ", ".join(f"{c} = {_plain(v)}" for c, v in zip(group, key, strict=True))
    factor = ":".join(eq.group)
    raise DataError(
        f"{name!r} is a level-{eq.level} predictor in the equation '{eq.text}', so it must be "
        f"constant within each group of {factor!r}, but it varies within groups (e.g. in "
        f"{where} it takes the values {values[0]!r} and {values[1]!r}); {len(bad)} of "
        f"{len(counts)} groups vary. Move it to the level-{eq.level - 1} equation, or use its "
        f"group mean (hierbayes.design.centering.add_group_mean) as the level-{eq.level} predictor"
    )
