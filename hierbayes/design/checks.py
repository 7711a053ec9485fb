"""Validation of data at the design boundary, with lme4-style messages.

Every check raises :class:`~hierbayes.errors.DataError` (the data do not fit the model) or
:class:`~hierbayes.errors.SpecError` (the model text asks for something impossible) and names
the column, term, level or rows at fault, and what would be valid. The cheap checks here run
before formulae sees the data, so formulae's own errors do not reach users; whatever formulae
still raises is translated by :func:`hierbayes.design.formulae_eval.formulae_errors`;
the checks of the built model (group terms, rank, response) are in :mod:`.model_checks`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from ..errors import DataError, SpecError, did_you_mean, warn_user

MISSING_POLICIES = ("error", "drop")
_MAX_LISTED_COLUMNS = 20
_MAX_LISTED_ROWS = 5


# --------------------------------------------------------------------------------- helpers


def plural(n: int, word: str) -> str:
    """``"1 level"``, ``"3 levels"``: a count with its noun."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def quoted_names(names: Iterable[str]) -> str:
    """Names quoted and comma-separated, for messages: ``'a', 'b'``."""
    return ", ".join(repr(str(n)) for n in names)


def describe_rows(mask: np.ndarray, row_labels: np.ndarray | pd.Index | None) -> str:
    """Name the rows where ``mask`` is true (``rows 3, 7 and 12 more``).

    Parameters
    ----------
    mask : numpy.ndarray
        Boolean array, one entry per row.
    row_labels : array-like or None
        The DataFrame index labels of the rows; positions are used when ``None``.

    Returns
    -------
    str
        A short description listing at most five rows.
    """
    idx = np.flatnonzero(mask)
    labels = idx if row_labels is None else np.asarray(row_labels)[idx]
    shown = ", ".join(str(v) for v in labels[:_MAX_LISTED_ROWS])
    more = f" and {len(idx) - _MAX_LISTED_ROWS} more" if len(idx) > _MAX_LISTED_ROWS else ""
    word = "row" if len(idx) == 1 else "rows"
    return f"{word} {shown}{more}"


def is_numeric_column(series: pd.Series) -> bool:
    """True for numeric and boolean columns (categoricals of numbers do not count)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return False
    return bool(is_numeric_dtype(series.dtype) or is_bool_dtype(series.dtype))


# ------------------------------------------------------------------------------ the frame


def check_dataframe(data: object, what: str = "data") -> None:
    """Check that ``data`` is a non-empty pandas DataFrame.

    Parameters
    ----------
    data : object
        What the user passed as data.
    what : str
        How to call it in messages (``data`` or ``newdata``).

    Raises
    ------
    DataError
        If ``data`` is not a DataFrame or has no rows.
    """
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"{what} must be a pandas DataFrame (convert other tables with hierbayes.design.frames.as_pandas), not {type(data).__name__}")
    if data.shape[0] == 0:
        raise DataError(f"{what} is empty (0 rows); a model needs at least one observation")
    if not data.columns.is_unique:
        dup = data.columns[data.columns.duplicated()].unique()
        raise DataError(f"{what} has duplicated column names: {quoted_names(dup)}")


def check_missing_policy(missing: str) -> None:
    """Check the ``missing=`` argument.

    Raises
    ------
    SpecError
        If it is not one of ``"error"`` or ``"drop"``.
    """
    if missing not in MISSING_POLICIES:
        raise SpecError(f"missing={missing!r} is not valid; use one of {list(MISSING_POLICIES)}")


def check_columns_exist(
    needed: dict[str, str], columns: Sequence[str], what: str = "data"
) -> None:
    """Check that every column the model names is in the data.

    Parameters
    ----------
    needed : dict
        Column name -> the term or role that uses it (for the message).
    columns : sequence of str
        The columns of the data.
    what : str
        How to call the data in messages.

    Raises
    ------
    DataError
        For the first unknown column, with close matches and, when there are few columns,
        the list of valid ones.
    """
    available = [str(c) for c in columns]
    for name, used_by in needed.items():
        if name in available:
            continue
        hint = did_you_mean(name, available)
        listing = ""
        if len(available) <= _MAX_LISTED_COLUMNS:
            listing = f" Columns in {what}: {available}."
        raise DataError(
            f"column {name!r} (used by {used_by}) is not in {what}.{hint}{listing}".rstrip()
        )


def incomplete_rows(data: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Boolean mask of the rows with a missing value in any of ``columns``."""
    return data.loc[:, list(columns)].isna().any(axis=1).to_numpy()


def _read_csv_hint(data: pd.DataFrame, columns: list[str]) -> str:
    """For text columns with missing cells: pandas.read_csv reads the strings 'NA', 'N/A',
    'None', 'null' and 'NaN' as missing, which are also level names (mlmRev's guPrenat has a
    level "None", MASS's OME "N/A")."""
    text = [c for c in columns if not pd.api.types.is_numeric_dtype(data[c]) and data[c].notna().any()]
    if not text:
        return ""
    return (f". If {', '.join(map(repr, text))} had a level such as 'None' or 'N/A' in a CSV file, "
            "pandas.read_csv read it as missing: read the file with keep_default_na=False, na_values=['']")


def handle_missing(
    data: pd.DataFrame, columns: Sequence[str], missing: str, what: str = "data"
) -> pd.DataFrame:
    """Apply the missing-value policy to the used columns.

    Parameters
    ----------
    data : pandas.DataFrame
        The data, restricted to the used columns (it is not modified).
    columns : sequence of str
        The columns the model uses.
    missing : {"error", "drop"}
        ``"error"`` raises when a used column has missing values; ``"drop"`` removes those
        rows with a warning.
    what : str
        How to call the data in messages; for ``newdata`` the advice differs.

    Returns
    -------
    pandas.DataFrame
        ``data`` without the incomplete rows (the same object when nothing is missing).

    Raises
    ------
    DataError
        When values are missing and ``missing="error"``, or when no row is left.
    """
    counts = {c: int(data[c].isna().sum()) for c in columns}
    bad = {c: n for c, n in counts.items() if n}
    if not bad:
        return data
    incomplete = incomplete_rows(data, list(bad))
    detail = ", ".join(f"{c!r} ({plural(n, 'row')})" for c, n in bad.items())
    n_bad = int(incomplete.sum())
    hint = _read_csv_hint(data, list(bad))
    if missing == "error":
        advice = (
            "Remove or impute them, pass missing='drop' to drop incomplete rows, or missing='model' to "
            "impute continuous and binary predictors and gaussian responses in the model"
            if what == "data"
            else "Every row needs values to be encoded; remove or impute them"
        )
        (column, n), *others = bad.items()  # one column: its count once ("'y' (202 rows): 202 rows in all")
        where = (f"columns {detail}: {plural(n_bad, 'row')} in all" if others
                 else f"column {column!r}: {plural(n, 'row')}")
        raise DataError(
            f"missing values (NaN/None) in {what} {where} ({describe_rows(incomplete, data.index)}). {advice}{hint}"
        )
    kept = data.loc[~incomplete]
    if kept.shape[0] == 0:
        raise DataError(f"no rows left after dropping rows with missing values in {detail}")
    warn_user(
        f"dropped {plural(n_bad, 'row')} of {data.shape[0]} with missing values in "
        f"column(s) {detail}{hint}",
        UserWarning
    )
    return kept


def check_numeric(series: pd.Series, column: str, used_by: str, role: str = "term") -> None:
    """Check that a column used where numbers are needed is numeric.

    Raises
    ------
    DataError
        Naming the column, its dtype and the term or response that needs numbers.
    """
    if is_numeric_column(series):
        return
    if role == "response":
        raise DataError(
            f"the response {used_by!r} must be numeric, but column {column!r} has dtype "
            f"{series.dtype}; recode it as numbers, or for a binary outcome use family='bernoulli', "
            "which takes two text values (the second in sorted order is the success, as in R)"
        )
    raise DataError(
        f"column {column!r} has dtype {series.dtype} (not numeric) but {role} {used_by!r} "
        f"needs numbers; convert it (pd.to_numeric) or use it as a factor, e.g. C({column})"
    )


def check_integer_factors(data: pd.DataFrame, columns: Iterable[str]) -> None:
    """Check that the numeric columns a Stata command uses as factor variables (``i.x``)
    hold non-negative integers, as Stata requires (its errors r(452)); text and categorical
    columns are their levels and pass.

    Raises
    ------
    DataError
        Naming the column, the first offending value and its rows.
    """
    for column in columns:
        if column not in data.columns:
            continue  # reported as an unknown column elsewhere
        series = data[column]
        if not is_numeric_column(series) or is_bool_dtype(series.dtype):
            continue
        values = series.to_numpy(dtype=float, na_value=np.nan)
        for bad, what in ((values < 0, "negative"), (np.isfinite(values) & (values != np.round(values)), "non-integer")):
            if bad.any():
                raise DataError(
                    f"the factor variable {column} (i.{column}) has {what} values ({values[bad][0]:g} "
                    f"in {describe_rows(bad, data.index)}); Stata's factor variables take non-negative "
                    f"integers: recode column {column!r} (data[{column!r}].astype(str) makes its values "
                    f"the levels), or write c.{column} for a continuous variable"
                )


def check_finite(data: pd.DataFrame, columns: Iterable[str]) -> None:
    """Check that numeric columns hold no infinite values.

    Raises
    ------
    DataError
        Naming the column and the rows with ``inf`` or ``-inf``.
    """
    for column in columns:
        series = data[column]
        if not is_numeric_column(series) or is_bool_dtype(series.dtype):
            continue
        values = series.to_numpy(dtype=float, na_value=np.nan)
        bad = np.isinf(values)
        if bad.any():
            raise DataError(
                f"column {column!r} has infinite values ({describe_rows(bad, data.index)}); "
                "only finite numbers are allowed"
            )


def check_finite_matrix(
    X: np.ndarray, names: Sequence[str], where: str, row_labels: np.ndarray | None
) -> None:
    """Check that a model matrix computed by a transformation has only finite values.

    Raises
    ------
    DataError
        Naming the column (e.g. ``log(x)``) and the rows that gave ``nan`` or ``inf``.
    """
    if X.size == 0:
        return
    finite = np.isfinite(X)
    if finite.all():
        return
    j = int(np.flatnonzero(~finite.all(axis=0))[0])
    raise DataError(
        f"{where} column {names[j]!r} has non-finite values (nan or inf) at "
        f"{describe_rows(~finite[:, j], row_labels)}; check the transformation's domain "
        "(e.g. log of zero or of negative numbers)"
    )


def check_factor_levels(column: str, levels: Sequence[str], where: str) -> None:
    """A factor used as a predictor needs at least two observed levels.

    Raises
    ------
    DataError
        Otherwise its contrasts have no column and the term would vanish silently.
    """
    if len(levels) < 2:
        raise DataError(
            f"factor {column!r} in {where} has only {plural(len(levels), 'level')} in the data "
            f"({quoted_names(levels)}); contrasts need at least 2 levels. Drop the term or check "
            "the data (rows dropped for missing values?)"
        )


def warn_level_spellings(frame: pd.DataFrame, group_columns: set[str] | frozenset[str] = frozenset()) -> None:
    """Warn when a text column holds values that differ only in case or surrounding spaces
    (``"M1"``, ``"M1 "``, ``"m1"``): each is a level of its own, as in R, and a typo in the
    data becomes a factor level or a group of its own without a word. ``frame``'s categoricals
    hold only the categories used (the design's ``_select`` drops the others). Also when a
    grouping column of ``group_columns`` holds fractional numbers: labels such as R's
    ``interaction(center, id)`` ("1.1", "1.10") read as numbers make one group of two."""
    for column in sorted(c for c in group_columns if c in frame.columns):
        series = frame[column]
        if pd.api.types.is_float_dtype(series.dtype) and (series.dropna() % 1 != 0).any():
            warn_user(
                f"grouping column {column!r} holds fractional numbers ({float(series.dropna().iloc[0]):g}, ...): each "
                f"number is a group, and labels such as '1.1' and '1.10' read as numbers are one. If the column "
                f"holds labels, read it as text: pd.read_csv(..., dtype={{{column!r}: str}})"
            )
    for column in frame.columns:
        series = frame[column]
        if isinstance(series.dtype, pd.CategoricalDtype):
            values = [v for v in series.cat.categories if isinstance(v, str)]
        elif series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
            values = [v for v in pd.unique(series.dropna()) if isinstance(v, str)]
        else:
            continue
        spellings: dict[str, list[str]] = {}
        for value in values:
            spellings.setdefault(value.strip().casefold(), []).append(value)
        clashes = [sorted(group) for group in spellings.values() if len(group) > 1]
        if clashes:
            shown = "; ".join(" and ".join(repr(v) for v in group) for group in clashes[:5])
            more = f" (and {len(clashes) - 5} more)" if len(clashes) > 5 else ""
            warn_user(
                f"column {column!r} has values that differ only in case or surrounding spaces: {shown}{more}; "
                f"each is a level of its own. If they are one level, give them one spelling, e.g. "
                f"df[{column!r}] = df[{column!r}].str.strip() for the spaces"
            )
