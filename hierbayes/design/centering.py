"""Centering helpers for multilevel predictors: functions that return a NEW DataFrame.

* :func:`group_mean_center` - centering within cluster (CWC): ``x - mean(x | group)``;
  the level-1 predictor then carries only the within-group effect.
* :func:`grand_mean_center` - centering at the grand mean (CGM): ``x - mean(x)``; with
  ``by`` the mean of the group means (each group counts once, HLM's choice for level-2
  variables).
* :func:`add_group_mean` - the group mean ``mean(x | group)`` as a level-2 predictor. With
  the CWC variable at level 1 its coefficient is the between-group effect; with the raw
  (or grand-mean centred) variable at level 1 it is the *contextual effect* (between minus
  within), as in Raudenbush & Bryk (2002, ch. 5).

Example::

    df = group_mean_center(gcse, "lrt", by="school")      # adds lrt_cwc
    df = add_group_mean(df, "lrt", by="school")            # adds lrt_mean
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pandas as pd

from ..errors import DataError, did_you_mean

__all__ = ["add_group_mean", "grand_mean_center", "group_mean_center"]


def _as_list(value: str | Sequence[str], what: str) -> list[str]:
    items = [value] if isinstance(value, str) else list(value)
    if not items or not all(isinstance(v, str) for v in items):
        raise DataError(f"{what} must be a column name or a list of column names, got {value!r}")
    return items


def _check_columns(df: pd.DataFrame, names: list[str], role: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, got {type(df).__name__}")
    for name in names:
        if name not in df.columns:
            raise DataError(
                f"{role} {name!r} is not a column of the data.{did_you_mean(name, map(str, df.columns))}"
            )


def _check_numeric(df: pd.DataFrame, columns: list[str]) -> None:
    for column in columns:
        s = df[column]
        if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            raise DataError(
                f"column {column!r} has dtype {s.dtype}; centering needs numbers (code a factor "
                f"as 0/1 indicator columns first)"
            )


def _names(
    columns: list[str], suffix: str, name: str | Mapping[str, str] | None, df: pd.DataFrame
) -> dict[str, str]:
    if name is None:
        out = {c: f"{c}{suffix}" for c in columns}
    elif isinstance(name, str):
        if len(columns) != 1:
            raise DataError(f"name={name!r} names one new column, but {len(columns)} columns were given; pass a dict")
        out = {columns[0]: name}
    else:
        missing = [c for c in columns if c not in name]
        if missing:
            raise DataError(f"name= has no new name for {missing}")
        out = {c: name[c] for c in columns}
    for new in out.values():
        if new in df.columns:
            raise DataError(f"column {new!r} already exists; choose another name with name=")
    return out


def _group_means(df: pd.DataFrame, columns: list[str], by: list[str]) -> pd.DataFrame:
    missing = df[by].isna().any(axis=1)
    if missing.any():
        rows = list(df.index[missing][:5])
        raise DataError(f"grouping column(s) {by} have missing values (rows {rows}); drop or fill them first")
    return df.groupby(by, observed=True, sort=False)[columns].transform("mean")


def _derived(
    df: pd.DataFrame,
    columns: str | Sequence[str],
    by: str | Sequence[str] | None,
    name: str | Mapping[str, str] | None,
    suffix: str,
    values: Callable[[list[str], list[str] | None], pd.DataFrame],
) -> pd.DataFrame:
    """The arguments checked, then a copy of ``df`` with ``values(columns, groups)[c]`` as the
    new column of each given column ``c``."""
    cols = _as_list(columns, "columns")
    groups = None if by is None else _as_list(by, "by")
    _check_columns(df, cols, "column")
    if groups is not None:
        _check_columns(df, groups, "grouping column")
    _check_numeric(df, cols)
    names = _names(cols, suffix, name, df)
    new = values(cols, groups)
    out = df.copy()
    for column, new_name in names.items():
        out[new_name] = new[column]
    return out


def group_mean_center(
    df: pd.DataFrame,
    columns: str | Sequence[str],
    by: str | Sequence[str],
    *,
    name: str | Mapping[str, str] | None = None,
    suffix: str = "_cwc",
) -> pd.DataFrame:
    """Center columns within groups: ``x - mean(x | by)`` (centering within cluster).

    Parameters
    ----------
    df : pandas.DataFrame
        The data; not modified.
    columns : str or list of str
        Numeric columns to center.
    by : str or list of str
        Grouping column(s); several columns mean their combination (``["school", "class"]``).
    name : str or dict, optional
        Name of the new column (one column) or a dict column -> new name.
    suffix : str, default "_cwc"
        Suffix of the new column names when ``name`` is not given.

    Returns
    -------
    pandas.DataFrame
        A copy of ``df`` with one new column per centred column. Missing values stay missing
        and are left out of the group means.

    Raises
    ------
    DataError
        For an unknown or non-numeric column, missing group labels or a name clash.
    """
    return _derived(df, columns, by, name, suffix, lambda cols, groups: df[cols] - _group_means(df, cols, groups))


def grand_mean_center(
    df: pd.DataFrame,
    columns: str | Sequence[str],
    *,
    by: str | Sequence[str] | None = None,
    name: str | Mapping[str, str] | None = None,
    suffix: str = "_cgm",
) -> pd.DataFrame:
    """Center columns at the grand mean: ``x - mean(x)``.

    Parameters
    ----------
    df : pandas.DataFrame
        The data; not modified.
    columns : str or list of str
        Numeric columns to center.
    by : str or list of str, optional
        When given, the grand mean is the mean of the group means (every group counts once,
        whatever its size): the usual choice for a level-2 variable stored on level-1 rows.
    name : str or dict, optional
        Name of the new column (one column) or a dict column -> new name.
    suffix : str, default "_cgm"
        Suffix of the new column names when ``name`` is not given.

    Returns
    -------
    pandas.DataFrame
        A copy of ``df`` with one new column per centred column.
    """

    def centred(cols: list[str], groups: list[str] | None) -> pd.DataFrame:
        if groups is None:
            return df[cols] - df[cols].mean()
        _group_means(df, cols, groups)  # validates the group labels
        return df[cols] - df.groupby(groups, observed=True, sort=False)[cols].mean().mean()

    return _derived(df, columns, by, name, suffix, centred)


def add_group_mean(
    df: pd.DataFrame,
    columns: str | Sequence[str],
    by: str | Sequence[str],
    *,
    name: str | Mapping[str, str] | None = None,
    suffix: str = "_mean",
) -> pd.DataFrame:
    """Add the group mean of columns as new (level-2) columns: ``mean(x | by)``.

    Used as a level-2 predictor next to the level-1 variable, its coefficient is the
    contextual effect (with ``x`` or its grand-mean centred version at level 1) or the
    between-group effect (with the group-mean centred ``x`` at level 1).

    Parameters
    ----------
    df : pandas.DataFrame
        The data; not modified.
    columns : str or list of str
        Numeric columns.
    by : str or list of str
        Grouping column(s).
    name : str or dict, optional
        Name of the new column (one column) or a dict column -> new name.
    suffix : str, default "_mean"
        Suffix of the new column names when ``name`` is not given.

    Returns
    -------
    pandas.DataFrame
        A copy of ``df`` with one new column per given column, constant within groups.
    """
    return _derived(df, columns, by, name, suffix, lambda cols, groups: _group_means(df, cols, groups))
