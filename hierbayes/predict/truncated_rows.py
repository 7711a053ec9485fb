"""The truncation bounds of the rows of a prediction (``y | trunc(lb, ub)``), for new responses
(``predict(kind="response")``, predictive checks): the training rows' own; for new data a
bound's column read from the new data, or the training bound where it is the same on every
training row (``trunc(lb = 0)``, or a column that happens to be constant)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError
from ..families.checks import describe_rows

__all__ = ["prediction_bounds"]


def _as_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _new_bound(side: str, text: str | None, training: np.ndarray, frame: pd.DataFrame, n_obs: int) -> np.ndarray:
    """One side's bound at the new rows (see the module docstring)."""
    if text is not None and _as_number(text) is None and text in frame.columns:
        values = pd.to_numeric(frame[text], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = np.isnan(values)
        if bad.any():
            raise DataError(
                f"truncation bound {side} = {text}: column {text!r} of the new data is missing or not a "
                f"number ({describe_rows(bad, frame.index.to_numpy())})"
            )
        return values
    if np.unique(training).size == 1:
        return np.full(n_obs, training[0])
    raise DataError(
        f"new responses of this truncated outcome need each row's truncation bound {side} = {text}, "
        f"which varies by row: add column {text!r} to the new data, or predict kind='mean'"
    )


def prediction_bounds(model, rows) -> tuple[np.ndarray | None, np.ndarray | None] | None:
    """(lb, ub) at the rows of a prediction, each (n,) or None (no bound on that side); None
    for a response that is not truncated.

    Parameters
    ----------
    model : the fitted Model (its spec's ``trunc_lb`` / ``trunc_ub`` and training censoring).
    rows : :class:`~hierbayes.predict.predict.Rows`: the training rows (their ``censoring``)
        or new data (their ``frame``).

    Raises
    ------
    DataError
        For new data without the column of a bound that varies by row, or with a value of it
        missing or not a number; or with ``lb`` not below ``ub``.
    """
    training = model.design.censoring
    if rows.censoring is not None:
        if rows.censoring.lb is None and rows.censoring.ub is None:
            return None
        return rows.censoring.lb, rows.censoring.ub
    if training is None or (training.lb is None and training.ub is None):
        return None
    response = model.spec.response
    lb, ub = (
        None if bound is None else _new_bound(side, text, bound, rows.frame, rows.n_obs)
        for side, text, bound in (("lb", response.trunc_lb, training.lb), ("ub", response.trunc_ub, training.ub))
    )
    if lb is not None and ub is not None and np.any(lb >= ub):
        bad = lb >= ub
        raise DataError(
            f"truncation bounds of the new data: lb must be below ub ({describe_rows(bad, rows.frame.index.to_numpy())})"
        )
    return lb, ub
