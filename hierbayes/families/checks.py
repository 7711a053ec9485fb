"""Response checks shared by the families: each raises a DataError naming the column, the
offending values and rows when a response is outside the family's support.

A check has the signature ``(y, column, trials, row_labels) -> None`` (see
:attr:`hierbayes.families.Family.check`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import DataError

ResponseCheck = Callable[[np.ndarray, str, "np.ndarray | None", "np.ndarray | None"], None]


def describe_rows(mask: np.ndarray, row_labels: np.ndarray | None, limit: int = 5) -> str:
    """``"rows 3, 7 and 2 more"``: the rows where ``mask`` holds, by label when given.

    Parameters
    ----------
    mask : np.ndarray
        Boolean, one entry per row.
    row_labels : np.ndarray or None
        DataFrame index labels (positions when None).
    limit : int
        Rows named before "and k more".
    """
    idx = np.flatnonzero(mask)
    labels = idx if row_labels is None else np.asarray(row_labels)[idx]
    shown = ", ".join(str(v) for v in labels[:limit])
    more = f" and {len(idx) - limit} more" if len(idx) > limit else ""
    return f"rows {shown}{more}"


def describe_values(mask: np.ndarray, y: np.ndarray, limit: int = 5) -> str:
    """The first ``limit`` values of ``y`` where ``mask`` holds, comma-separated.

    Parameters
    ----------
    mask : np.ndarray
        Boolean, one entry per row.
    y : np.ndarray
        The values.
    limit : int
        Values shown.
    """
    vals = np.asarray(y)[mask][:limit]
    return ", ".join(f"{v:g}" for v in vals)


def check_real(y: np.ndarray, column: str, trials, row_labels) -> None:
    """Every response value is finite.

    Raises
    ------
    DataError
        Naming the column and the rows with NaN or infinite values.
    """
    bad = ~np.isfinite(y)
    if bad.any():
        raise DataError(f"response {column!r} has non-finite values ({describe_rows(bad, row_labels)})")


def reject_trials(family: str, column: str, trials) -> None:
    """A family without a number of trials was given one (``trials()`` or ``cbind``).

    Raises
    ------
    DataError
        When ``trials`` is not None, naming the column and what to write instead.
    """
    if trials is not None:
        hint = (" use family='binomial'" if family == "bernoulli" else
                " successes out of trials are family='binomial' (the default family is gaussian); "
                "else drop trials()/cbind()")
        raise DataError(
            f"response {column!r}: the {family} family takes no number of trials;{hint}"
        )


def _check_where(family: str, bad_of: Callable[[np.ndarray], np.ndarray] | None, requirement: str) -> ResponseCheck:
    """A check refusing trials, non-finite values and the values ``bad_of`` marks (a
    DataError saying the response ``requirement`` for ``family``)."""

    def check(y, column, trials, row_labels) -> None:
        reject_trials(family, column, trials)
        check_real(y, column, trials, row_labels)
        if bad_of is None:
            return
        bad = bad_of(y)
        if bad.any():
            raise DataError(
                f"response {column!r} {requirement} for the {family} family; found "
                f"{describe_values(bad, y)} ({describe_rows(bad, row_labels)})"
            )

    return check


def check_counts(family: str) -> ResponseCheck:
    """A check for non-negative integer counts (no trials), naming ``family`` in messages."""
    return _check_where(family, lambda y: (y < 0) | (y != np.round(y)), "must hold non-negative integer counts")


def check_positive(family: str) -> ResponseCheck:
    """A check for strictly positive real responses (no trials), naming ``family``."""
    return _check_where(family, lambda y: y <= 0, "must be > 0")


def check_real_only(family: str) -> ResponseCheck:
    """A check for finite real responses (no trials), naming ``family``."""
    return _check_where(family, None, "")
