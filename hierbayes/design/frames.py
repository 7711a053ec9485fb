"""Data frames from other libraries, and column types the model cannot use.

:func:`as_pandas` is the one door for user tables (``Model(data=...)``, ``newdata=``,
``margins(data=...)``, poststratification cells): a pandas DataFrame passes unchanged; a polars
DataFrame or LazyFrame (collected) and a pyarrow Table or RecordBatch are converted through
Arrow, which keeps integers, floats, booleans and strings and turns nulls into NaN/None, so
``missing=`` treats them as it treats pandas' missing values.

Categories follow R's ``factor``: a polars ``Enum`` keeps its declared order as the level
order (first level = reference), unordered as ``factor(x, levels=...)`` is; a polars
``Categorical`` (whose order is only the order values were first seen) gets sorted levels,
as ``factor(x)`` and a pandas column of strings do; an Arrow dictionary column keeps its
order and its ``ordered`` flag (pandas' own conversion).

:func:`check_column_types` refuses, naming the column and its role, dates, times, durations,
periods, complex numbers and object columns holding lists, dicts or dates, with what to do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd
from pandas.api.types import (
    is_complex_dtype,
    is_datetime64_any_dtype,
    is_timedelta64_dtype,
)

from ..errors import DataError

_ACCEPTED = "a pandas DataFrame, a polars DataFrame/LazyFrame or a pyarrow Table"


def _library(data: object) -> str:
    return type(data).__module__.split(".")[0]


def _polars_to_pandas(frame) -> pd.DataFrame:
    import polars as pl

    if isinstance(frame, pl.LazyFrame):
        frame = frame.collect()
    out = frame.to_pandas()
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Enum):
            levels = list(dtype.categories.to_list())
        elif isinstance(dtype, pl.Categorical):
            levels = sorted(frame.get_column(name).drop_nulls().unique().cast(pl.String).to_list())
        else:
            continue
        values = out[name].astype(object).where(out[name].notna(), None)
        out[name] = pd.Categorical(values, categories=levels, ordered=False)
    return out


def as_pandas(data: object, what: str = "data") -> pd.DataFrame:
    """``data`` as a pandas DataFrame (the same object when it already is one).

    Parameters
    ----------
    data : pandas.DataFrame, polars.DataFrame, polars.LazyFrame, pyarrow.Table or
        pyarrow.RecordBatch
        The user's table.
    what : str
        How to call it in messages (``data``, ``newdata``, ``cells``).

    Returns
    -------
    pandas.DataFrame
        A polars Enum becomes a Categorical with the Enum's order, a polars Categorical one
        with sorted levels; nulls become NaN (numbers) or None (text).

    Raises
    ------
    DataError
        If ``data`` is none of these.
    """
    if isinstance(data, pd.DataFrame):
        return data
    library = _library(data)
    kind = type(data).__name__
    if library == "polars" and kind in ("DataFrame", "LazyFrame"):
        return _polars_to_pandas(data)
    if library == "pyarrow" and kind in ("Table", "RecordBatch"):
        return data.to_pandas()
    name = f"{library}.{kind}" if library not in ("builtins", "") else kind
    raise DataError(f"{what} must be {_ACCEPTED}, got {name}")


def _first_value(series: pd.Series) -> object:
    present = series.dropna()
    return present.iloc[0] if len(present) else None


_DATE_ADVICE = (
    "convert it to a number, e.g. days since the start: "
    "(df[{c!r}] - df[{c!r}].min()).dt.days, or to labels with df[{c!r}].astype(str) "
    "(a category, usable as a factor or grouping factor)"
)


def unsupported_type(series: pd.Series) -> str | None:
    """What is wrong with a column's type for a model, or None when it is usable.

    Parameters
    ----------
    series : pandas.Series

    Returns
    -------
    str or None
        A description such as ``"holds dates (datetime64[ns])"``.
    """
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return None
    if is_datetime64_any_dtype(dtype):
        return f"holds dates/times ({dtype})"
    if is_timedelta64_dtype(dtype):
        return f"holds durations ({dtype})"
    if isinstance(dtype, pd.PeriodDtype):
        return f"holds periods ({dtype})"
    if is_complex_dtype(dtype):
        return f"holds complex numbers ({dtype})"
    if dtype == object:
        first = _first_value(series)
        if isinstance(first, dt.date | dt.time | np.datetime64 | pd.Period):
            return f"holds dates/times ({type(first).__name__} objects)"
        if isinstance(first, dt.timedelta | np.timedelta64):
            return f"holds durations ({type(first).__name__} objects)"
        if isinstance(first, complex):
            return "holds complex numbers"
        if isinstance(first, list | tuple | dict | set | np.ndarray):
            return f"holds {type(first).__name__} values, not one number or label per row"
    return None


def check_column_types(needed: Mapping[str, str], data: pd.DataFrame, what: str = "data") -> None:
    """Refuse columns the model uses whose type it cannot use.

    Parameters
    ----------
    needed : mapping
        Column name -> the term or role that uses it (as in
        :func:`hierbayes.design.checks.check_columns_exist`).
    data : pandas.DataFrame
    what : str
        How to call the data in messages.

    Raises
    ------
    DataError
        Naming the first such column, its role, its type and what to do.
    """
    for name, used_by in needed.items():
        if name not in data.columns:
            continue
        problem = unsupported_type(data[name])
        if problem is None:
            continue
        if "dates" in problem or "durations" in problem or "periods" in problem:
            advice = _DATE_ADVICE.format(c=name)
        elif "complex" in problem:
            advice = "use its real part, imaginary part or modulus as numbers"
        else:
            advice = "make it one number or one label per row"
        raise DataError(f"column {name!r} (used by {used_by}) in {what} {problem}; {advice}")
