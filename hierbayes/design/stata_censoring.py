"""Censoring read from the data the way Stata's commands describe it.

* ``t | event(d)`` (``mestreg`` after ``stset t, failure(d)``): a row with ``d == 0`` is
  right-censored at ``t``; any other value is a failure (an exact time).
* ``y | tobit(ll = 0, ul = 10)`` (``metobit``; a limit is a number or a column): rows with
  ``y <= ll`` are left-censored at ``ll``, rows with ``y >= ul`` right-censored at ``ul``.
* ``ylow | intreg(yup)`` (``meintreg``): ``ylow`` missing is left-censored at ``yup``, ``yup``
  missing right-censored at ``ylow``, equal ends an exact value, ``ylow < yup`` the interval.

Each gives the response to use (the limit for censored rows) and the per-row codes and
upper bounds of :class:`~hierbayes.families.Censoring`; :func:`.censoring.censoring_of`
adds truncation and the family check.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError, warn_user
from ..families.checks import describe_rows, describe_values
from .plan import DesignPlan, evaluate_values

__all__ = ["stata_censoring"]


def stata_censoring(
    plan: DesignPlan, frame: pd.DataFrame, y: np.ndarray
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray | None] | None]:
    """(response, (codes, upper) or None) of a model with ``event()``, ``tobit()`` or ``intreg()``.

    Parameters
    ----------
    plan : the parsed model text.
    frame : the checked used columns.
    y : (n,) the response column as read (NaN allowed for ``intreg()``).

    Returns
    -------
    y : (n,) float64, the response with censored rows at their limit.
    limited : (codes int8, upper or None), None when the model has none of the three.

    Raises
    ------
    DataError
        For ``intreg()`` rows with both ends missing or the upper end below the lower one,
        and for ``tobit()`` with ``ul <= ll``.
    """
    labels = frame.index.to_numpy()
    y = np.asarray(y, dtype=float)
    if plan.event is not None:
        event = evaluate_values(plan.event, frame)
        _check_event_coding(plan.event.text, plan.response.text, np.asarray(event, dtype=float))
        return y, (np.where(event == 0, 1, 0).astype(np.int8), None)
    if plan.intreg is not None:
        return _interval(plan, frame, y, labels)
    if plan.tobit != (None, None):
        return _tobit(plan, frame, y, labels)
    return y, None


def _check_event_coding(name: str, time: str, event: np.ndarray) -> None:
    """``event()`` reads 0 as censored and any other value as a failure (Stata's
    ``failure()``); a column with no 0 and several values is another coding (R's ``Surv()``:
    1 censored, 2 dead), under which every row would silently count as an event."""
    values = np.unique(event[np.isfinite(event)])
    if values.size > 1 and not np.any(values == 0):
        shown = ", ".join(f"{v:g}" for v in values[:5]) + (", ..." if values.size > 5 else "")
        r_coding = (f"R's Surv() coding (1 = censored, 2 = event) is written '{time} | cens(2 - {name})'; else "
                    if set(values.tolist()) == {1.0, 2.0} else "")
        raise DataError(
            f"event({name}): no row is 0 (censored) and the values are {shown}; event() reads 0 as "
            f"censored and any other value as an event (Stata's failure()), so all {event.size} rows "
            f"would be events. {r_coding}{'recode' if r_coding else 'Recode'} {name!r} to 0 = censored, 1 = event"
        )
    stray = values[(values != 0) & (values != 1)]
    if stray.size:  # R's Surv() makes them NA with a warning; Stata counts them as failures
        shown = ", ".join(f"{v:g}" for v in stray[:5]) + (", ..." if stray.size > 5 else "")
        warn_user(
            f"event({name}) has values other than 0 and 1 ({shown}, in {int(np.isin(event, stray).sum())} rows); "
            "they count as events (Stata's failure() rule: any value but 0). If they are codes for "
            f"something else, recode {name!r} or drop those rows"
        )


def _tobit(plan: DesignPlan, frame: pd.DataFrame, y: np.ndarray, labels) -> tuple:
    ll, ul = (None if e is None else evaluate_values(e, frame) for e in plan.tobit)
    codes = np.zeros(y.shape[0], dtype=np.int8)
    if ll is not None and ul is not None and np.any(ul <= ll):
        bad = ul <= ll
        raise DataError(
            f"tobit limits: ul = {plan.tobit[1].text} must be above ll = {plan.tobit[0].text} "
            f"({describe_rows(bad, labels)})"
        )
    if ll is not None:
        left = y <= ll
        codes[left], y = -1, np.where(left, ll, y)
    if ul is not None:
        right = y >= ul
        codes[right], y = 1, np.where(right, ul, y)
    return y, (codes, None)


def _interval(plan: DesignPlan, frame: pd.DataFrame, lo: np.ndarray, labels) -> tuple:
    low, up = plan.response.text, plan.intreg.text
    if not (plan.response.is_column and plan.intreg.is_column):
        raise DataError(f"intreg(): the interval ends must be data columns, found {low!r} and {up!r}")
    hi = evaluate_values(plan.intreg, frame)
    lo_missing, hi_missing = np.isnan(lo), np.isnan(hi)
    both = lo_missing & hi_missing
    if both.any():
        raise DataError(
            f"interval ends {low!r} and {up!r} are both missing ({describe_rows(both, labels)}); "
            "such rows carry no information (Stata's meintreg leaves them out): drop them"
        )
    below = ~lo_missing & ~hi_missing & (hi < lo)
    if below.any():
        raise DataError(
            f"the upper end {up!r} is below the lower end {low!r}: {up} = {describe_values(below, hi)}, "
            f"{low} = {describe_values(below, lo)} ({describe_rows(below, labels)})"
        )
    codes = np.select([lo_missing, hi_missing, lo == hi], [-1, 1, 0], 2).astype(np.int8)
    y = np.where(lo_missing, hi, lo)
    upper = np.where(codes == 2, hi, np.nan)
    return y, (codes, upper if (codes == 2).any() else None)
