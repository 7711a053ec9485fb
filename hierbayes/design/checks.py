"""Validation of data at the design boundary, with lme4-style messages.

Every check raises :class:`~hierbayes.errors.DataError` (the data do not fit the model) or
:class:`~hierbayes.errors.SpecError` (the model text asks for something impossible) and names
the column, term, level or rows at fault, and what would be valid. The cheap checks here run
before formulae sees the data, so formulae's own errors do not reach users; whatever formulae
still raises is translated by :func:`formulae_errors`.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from ..errors import DataError, HierbayesError, SpecError, did_you_mean
from ..families import get_family
from ..spec.ir import GroupTerm, ModelSpec

MISSING_POLICIES = ("error", "drop")
_MAX_LISTED_COLUMNS = 20
_MAX_LISTED_ROWS = 5
_RANK_TOL = 1e-7
_COEF_TOL = 1e-6


# --------------------------------------------------------------------------------- helpers


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _quoted(names: Iterable[str]) -> str:
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
        raise DataError(f"{what} has duplicated column names: {_quoted(dup)}")


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
    detail = ", ".join(f"{c!r} ({_plural(n, 'row')})" for c, n in bad.items())
    n_bad = int(incomplete.sum())
    if missing == "error":
        advice = (
            "Remove or impute them, or pass missing='drop' to drop incomplete rows"
            if what == "data"
            else "Every row needs values to be encoded; remove or impute them"
        )
        raise DataError(
            f"missing values (NaN/None) in {what} column(s) {detail}: "
            f"{_plural(n_bad, 'row')} in all ({describe_rows(incomplete, data.index)}). {advice}"
        )
    kept = data.loc[~incomplete]
    if kept.shape[0] == 0:
        raise DataError(f"no rows left after dropping rows with missing values in {detail}")
    warnings.warn(
        f"dropped {_plural(n_bad, 'row')} of {data.shape[0]} with missing values in "
        f"column(s) {detail}",
        UserWarning,
        stacklevel=4,
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
            f"{series.dtype}; recode it as numbers (e.g. 0/1 for a binary outcome)"
        )
    raise DataError(
        f"column {column!r} has dtype {series.dtype} (not numeric) but {role} {used_by!r} "
        f"needs numbers; convert it (pd.to_numeric) or use it as a factor, e.g. C({column})"
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
            f"factor {column!r} in {where} has only {_plural(len(levels), 'level')} in the data "
            f"({_quoted(levels)}); contrasts need at least 2 levels. Drop the term or check "
            "the data (rows dropped for missing values?)"
        )


# ------------------------------------------------------------------------- group factors


def check_group_term(term: GroupTerm) -> None:
    """A group term needs at least one column (an intercept or a slope).

    Raises
    ------
    SpecError
        For ``(0 | g)``.
    """
    if not term.intercept and not term.terms:
        raise SpecError(
            f"group term '({term.label})' has no columns: it removes the intercept and has no "
            f"slopes; write '(1 | {term.group})' or add a slope"
        )


def check_group_levels(term: GroupTerm, n_levels: int) -> None:
    """A grouping factor needs at least two levels.

    Raises
    ------
    DataError
        ``grouping factor 'g' has only 1 level; a group term needs at least 2``.
    """
    if n_levels < 2:
        raise DataError(
            f"grouping factor {term.group!r} has only {_plural(n_levels, 'level')}; a group "
            f"term needs at least 2 (term '({term.label})')"
        )


def check_levels_vs_obs(terms_and_levels: Iterable[tuple[GroupTerm, int]], n_obs: int) -> None:
    """lme4's check: with group-specific slopes, levels must be fewer than observations.

    Parameters
    ----------
    terms_and_levels : iterable of (GroupTerm, int)
        Each group term with its number of levels.
    n_obs : int
        Number of observations used.

    Raises
    ------
    DataError
        ``number of levels of each grouping factor must be < number of observations
        (problems: g)``.
    """
    problems: dict[str, None] = {}
    for term, n_levels in terms_and_levels:
        if term.terms and n_levels >= n_obs:
            problems.setdefault(term.group, None)
    if problems:
        raise DataError(
            "number of levels of each grouping factor must be < number of observations "
            f"(problems: {', '.join(problems)}); a grouping factor with group-specific slopes "
            f"needs several observations per level (n = {n_obs})"
        )


# ------------------------------------------------------------------------ rank deficiency


def _dependent_columns(X: np.ndarray) -> list[int]:
    """Columns whose distance to the span of the earlier columns is ~0 (unit-scaled)."""
    norms = np.linalg.norm(X, axis=0)
    safe = np.where(norms > 0, norms, 1.0)
    R = np.linalg.qr(X / safe, mode="r")
    diag = np.abs(np.diag(R))
    return [j for j in range(X.shape[1]) if norms[j] == 0 or diag[j] < _RANK_TOL]


def _explain_dependence(X: np.ndarray, names: Sequence[str]) -> list[str]:
    """Say which earlier, independent columns each dependent column is made of."""
    norms = np.linalg.norm(X, axis=0)
    kept: list[int] = []
    found: list[str] = []
    for j in range(X.shape[1]):
        if norms[j] == 0:
            found.append(f"column {names[j]!r} is all zeros")
            continue
        xj = X[:, j] / norms[j]
        if kept:
            A = X[:, kept] / norms[kept]
            coef, *_ = np.linalg.lstsq(A, xj, rcond=None)
            if np.linalg.norm(xj - A @ coef) < 1e3 * _RANK_TOL:
                parts = [names[k] for k, c in zip(kept, coef, strict=True) if abs(c) > _COEF_TOL]
                found.append(f"column {names[j]!r} is a linear combination of {_quoted(parts)}")
                continue
        kept.append(j)
    return found


def check_rank(X: np.ndarray, names: Sequence[str]) -> None:
    """Check that the fixed-effect model matrix has full column rank.

    Uses one QR decomposition; only when it finds a dependent column does it work out,
    column by column, which earlier columns it is a combination of.

    Parameters
    ----------
    X : numpy.ndarray
        The (n, p) fixed-effect matrix.
    names : sequence of str
        Its column names.

    Raises
    ------
    DataError
        ``fixed-effect model matrix is rank deficient: column 'x2' is a linear combination
        of 'Intercept', 'x1'``.
    """
    n, p = X.shape
    if p == 0:
        return
    if p > n:
        raise DataError(
            f"fixed-effect model matrix is rank deficient: {p} columns but only "
            f"{_plural(n, 'observation')}; columns: {list(names)}"
        )
    if not _dependent_columns(X):
        return
    found = _explain_dependence(X, names) or ["its columns are (nearly) collinear"]
    raise DataError(
        "fixed-effect model matrix is rank deficient: "
        + "; ".join(found)
        + ". Remove or recode the redundant term(s)"
    )


# ------------------------------------------------------------------------------ response


def check_response(
    spec: ModelSpec, y: np.ndarray, trials: np.ndarray | None, row_labels: np.ndarray
) -> None:
    """Check the response against the family's support.

    Raises
    ------
    SpecError
        If the family is unknown.
    DataError
        From the family's own check, naming the rows outside the support.
    """
    family = get_family(spec.family)
    family.check_response(y, spec.response.expr, trials, row_labels)


# ----------------------------------------------------------------- formulae translation


@contextlib.contextmanager
def formulae_errors(
    what: str,
    error: type[HierbayesError] = DataError,
    known_functions: Sequence[str] = (),
) -> Iterator[None]:
    """Run formulae quietly and turn its exceptions into hierbayes errors naming ``what``.

    formulae prints to stdout on failure and pandas 3 warns about calls formulae makes;
    both are silenced. Numpy floating-point warnings are silenced too: non-finite results
    are reported by :func:`check_finite_matrix` instead.

    Parameters
    ----------
    what : str
        The term or expression being evaluated, for the message.
    error : type
        The exception class for failures that are not unknown names.
    known_functions : sequence of str
        Function names valid in terms, listed when a name is unknown.
    """
    try:
        with (
            contextlib.redirect_stdout(io.StringIO()),
            warnings.catch_warnings(),
            np.errstate(all="ignore"),
        ):
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.filterwarnings("ignore", category=Warning, module=r"formulae(\.|$)")
            pandas_warnings = getattr(pd.errors, "Pandas4Warning", None)
            if pandas_warnings is not None:
                warnings.simplefilter("ignore", pandas_warnings)
            yield
    except HierbayesError:
        raise
    except KeyError as exc:
        name = exc.args[0] if exc.args else "?"
        raise SpecError(
            f"could not evaluate {what}: {name!r} is neither a column of the data nor a known "
            f"function (functions: {', '.join(known_functions)})"
        ) from None
    except Exception as exc:  # noqa: BLE001 - formulae raises many kinds; all are translated
        raise error(f"could not evaluate {what}: {exc}") from None
