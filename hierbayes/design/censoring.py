"""Per-row censoring and truncation of the response (``y | cens(c, y2) + trunc(lb, ub)``).

Reads the censoring indicator (a column in brms' spelling: "left", "none", "right", "interval", or -1, 0,
1, 2; true / false as right-censored / exact; or an expression over columns giving the codes,
``cens(1 - status)``), the upper bounds of interval-censored rows (a column or an expression,
``cens(c, upper * 2)``) and
the truncation bounds, and checks them against the response, into a
:class:`~hierbayes.families.Censoring` stored as ``Design.censoring``. New data for
predictions need none of these columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError, SpecError, warn_user
from ..families import CENSORING_CODES, Censoring, Family
from ..families.checks import describe_rows, describe_values
from ..spec.ir import Response
from ..spec.lexer import is_plain_name
from .formulae_eval import KNOWN_NAMES
from .plan import DesignPlan, ParsedText, evaluate_values

__all__ = ["censoring_of"]

_VALID = "'left', 'none', 'right', 'interval' (or -1, 0, 1, 2; true / false for right / none)"


def _codes(series: pd.Series, what: str, row_labels: np.ndarray) -> np.ndarray:
    """The int8 codes of an indicator (``what``: "column 'c'" or "'1 - status'"); DataError
    naming it and the bad rows."""
    raw = series.to_numpy(dtype=object)
    codes = np.zeros(raw.shape[0], dtype=np.int8)
    bad = np.zeros(raw.shape[0], dtype=bool)
    for i, value in enumerate(raw):
        if isinstance(value, (bool, np.bool_)):
            codes[i] = 1 if value else 0
        elif isinstance(value, str):
            code = CENSORING_CODES.get(value.strip().lower())
            bad[i] = code is None
            codes[i] = 0 if code is None else code
        else:
            try:
                number = float(value)
            except (TypeError, ValueError):
                number = np.nan
            bad[i] = number not in (-1.0, 0.0, 1.0, 2.0)
            codes[i] = 0 if bad[i] else int(number)
    if bad.any():
        shown = ", ".join(repr(v) for v in dict.fromkeys(raw[bad].tolist()).keys())
        raise DataError(
            f"censoring indicator {what} has values that are not {_VALID}: "
            f"{shown} ({describe_rows(bad, row_labels)})"
        )
    return codes


def _upper_values(expr: ParsedText, rows: pd.DataFrame | None) -> np.ndarray:
    """The upper bounds from their column or expression (``cens(c, upper * 2)``), missing
    where a row's column is missing; DataError naming an absent column and the expression."""
    columns = pd.Index([]) if rows is None else rows.columns
    if is_plain_name(expr.text) or expr.text in columns:
        if expr.text not in columns:
            raise DataError(
                f"column {expr.text!r} (upper bounds of interval-censored rows, cens(..., {expr.text})) "
                "is not in the data"
            )
        return pd.to_numeric(rows[expr.text], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    absent = [n for n in expr.names if n not in columns and n not in KNOWN_NAMES]
    if absent:
        raise DataError(
            f"column {absent[0]!r} of the upper bound {expr.text!r} (upper bounds of interval-censored "
            f"rows, cens(..., {expr.text})) is not in the data"
        )
    used = [n for n in expr.names if n in columns]
    complete = np.flatnonzero(rows[used].notna().all(axis=1).to_numpy()) if used else np.arange(len(rows))
    upper = np.full(len(rows), np.nan)
    if complete.size:  # rows missing a column the bound reads: no bound (an error if interval-censored)
        upper[complete] = evaluate_values(expr, rows.iloc[complete][used])
    return upper


def _upper(response: Response, plan: DesignPlan, codes: np.ndarray, y: np.ndarray, rows: pd.DataFrame | None,
           row_labels) -> np.ndarray | None:
    interval = codes == 2
    name = response.cens_upper
    if name is None or plan.cens_upper is None:  # (both or neither)
        if interval.any():
            raise DataError(
                f"censoring indicator {response.cens!r} marks interval-censored rows "
                f"({describe_rows(interval, row_labels)}) but no upper bound is given; write "
                f"'{response.expr} | cens({response.cens}, y2)' with y2 the column of upper bounds"
                + (f"; if {response.cens!r} is R's Surv() status coded 1 = censored, 2 = event, write "
                   f"cens(2 - {response.cens})" if set(np.unique(codes).tolist()) == {1, 2} else "")
            )
        return None
    upper = _upper_values(plan.cens_upper, rows)
    what = f"column {name!r}" if plan.cens_upper.is_column or is_plain_name(name) else repr(name)
    missing = interval & ~np.isfinite(upper)
    if missing.any():
        raise DataError(
            f"upper bound {what} is missing or not a finite number at interval-censored "
            f"rows ({describe_rows(missing, row_labels)})"
        )
    below = interval & np.isfinite(upper) & (upper <= y)
    if below.any():
        raise DataError(
            f"upper bound {name!r} must be above the response {response.expr!r} at "
            f"interval-censored rows; found {name} = {describe_values(below, upper)} with "
            f"{response.expr} = {describe_values(below, y)} ({describe_rows(below, row_labels)})"
        )
    return np.where(interval, upper, np.nan)


def _bounds(plan: DesignPlan, frame: pd.DataFrame, y: np.ndarray, row_labels) -> tuple:
    lb, ub = (None if e is None else evaluate_values(e, frame) for e in plan.trunc)
    if lb is not None and ub is not None and np.any(lb >= ub):
        bad = lb >= ub
        raise DataError(f"truncation bounds: lb must be below ub ({describe_rows(bad, row_labels)})")
    for bound, side, outside in ((lb, "lb", lambda b: y < b), (ub, "ub", lambda b: y > b)):
        if bound is not None and np.any(outside(bound)):
            bad = outside(bound)
            word = "below the lower" if side == "lb" else "above the upper"
            raise DataError(
                f"response {plan.response.text!r} has values {word} truncation bound {side} = "
                f"{plan.trunc[side == 'ub'].text}: {describe_values(bad, y)} ({describe_rows(bad, row_labels)})"
            )
    return lb, ub


def _warn_censoring_side(response: Response, codes: np.ndarray, y: np.ndarray) -> None:
    """Warn when every right-censored row lies at or below every exact value (or every
    left-censored row at or above): a detection limit coded the wrong way round, as
    ``cens(y <= 0)`` is (true is 1, right-censored: "more than y"), or survival::tobin's
    left-censored zeros written ``event(durable > 0)``."""
    exact = y[codes == 0]
    written = f"event({response.event})" if response.event is not None else f"cens({response.cens})"
    for code, side, other, below in ((1, "right", "left", True), (-1, "left", "right", False)):
        censored = y[codes == code]
        if censored.size < 3 or exact.size < 3:
            continue
        if (censored.max() <= exact.min()) if below else (censored.min() >= exact.max()):
            where = "at or below the smallest" if below else "at or above the largest"
            advice = (f"cens(({response.event}) - 1), or tobit(ll = L) when they are all at one limit L"
                      if response.event is not None else
                      f"code {-code} or '{other}', e.g. cens(-1 * ({response.cens})) for a true/false indicator")
            warn_user(
                f"{written}: all {censored.size} {side}-censored rows ({side}: the value is "
                f"{'more' if below else 'less'} than {response.expr}) lie {where} exact value of "
                f"{response.expr!r}; if they are values beyond a detection limit, they are {other}-censored "
                f"({advice})",
                UserWarning
            )


#: Column names that usually hold an event indicator (1 = the event happened): as cens()'s
#: argument they mark the events as right-censored.
EVENT_LIKE_NAMES = ("status", "event", "events", "dead", "death", "died", "fail", "failure", "failed", "relapse")


def _warn_event_indicator(name: str, codes: np.ndarray) -> None:
    """Warn when ``cens(status)`` reads a 0/1 column named like an event indicator: survival's
    ``status`` is 1 at an event, cens()'s 1 is a right-censored row (brms' coding)."""
    if name.lower() not in EVENT_LIKE_NAMES or not set(np.unique(codes).tolist()) <= {0, 1}:
        return
    right = int((codes == 1).sum())
    warn_user(
        f"cens({name}) reads 1 as right-censored and 0 as observed ({right} of {codes.size} rows "
        f"right-censored); if {name!r} is 1 at an event (survival's Surv(time, {name}), Stata's "
        f"failure()), write event({name}) or cens(1 - {name})",
        UserWarning,
    )


def _refuse_surv_coding(indicator, frame: pd.DataFrame, codes: np.ndarray) -> None:
    """DataError when ``cens(1 - status)`` meets R's Surv() coding of ``status`` (1 = censored,
    2 = event): every event would become left-censored (-1), silently."""
    columns = [n for n in indicator.names if n in frame.columns]
    if len(columns) != 1 or not np.any(codes == -1):
        return
    column = columns[0]
    values = pd.to_numeric(frame[column], errors="coerce")
    held = set(values.dropna().unique().tolist())
    if held <= {1, 2}:
        raise DataError(
            f"cens({indicator.text}) makes the rows with {column} = 2 left-censored (-1): "
            f"{column!r} holds 1 and 2, R's Surv() coding (1 = censored, 2 = event); for it "
            f"write cens(2 - {column}) (1 - {column} is for 0/1 event indicators)"
        )
    codes_like = len(held) <= 4 and all(float(v).is_integer() for v in held)  # not a comparison's column
    if codes_like and not held <= {0, 1}:  # survival's pbc: 0 censored, 1 transplant, 2 dead; or 0/2
        left = sorted(values[codes == -1].dropna().unique().tolist())
        shown = ", ".join(f"{v:g}" for v in left)
        raise DataError(
            f"cens({indicator.text}) makes the rows with {column} = {shown} left-censored (-1): {column!r} "
            f"holds {', '.join(f'{v:g}' for v in sorted(held))}, not a 0/1 event indicator; say which value is "
            f"the event, e.g. event({column} == {left[-1]:g}) (the other rows right-censored), or give cens() "
            "a column of 'none', 'right' and 'left'"
        )


def censoring_of(
    response: Response,
    plan: DesignPlan,
    frame: pd.DataFrame,
    y: np.ndarray,
    family: Family,
    rows: pd.DataFrame | None = None,
    limited: tuple[np.ndarray, np.ndarray | None] | None = None,
) -> Censoring | None:
    """The :class:`Censoring` of the rows of ``frame``; None when the model has neither
    ``cens()`` nor ``trunc()``.

    Parameters
    ----------
    response : the model's Response (its ``cens``, ``cens_upper``, ``trunc_*`` columns).
    plan : the parsed model text (censoring indicator and truncation bounds).
    frame : the checked used columns, one row per used row.
    y : (n,) the response of those rows.
    family : the response family; it must have ``log_cdf`` / ``log_ccdf``.
    rows : the user's data at the same rows (the upper-bound column is read from it; it may
        be missing at rows that are not interval-censored).
    limited : (codes, upper) from Stata's ``event()`` / ``tobit()`` / ``intreg()``
        (:mod:`.stata_censoring`), used in place of ``cens()``.

    Raises
    ------
    SpecError
        When the family cannot be censored.
    DataError
        For indicator values that are not one of the four kinds, interval rows without an
        upper bound above the response, or responses outside the truncation bounds.
    """
    if not response.censored:
        return None
    if family.log_cdf is None or family.log_ccdf is None:
        raise SpecError(
            f"the {family.name} family cannot be censored or truncated (cens()/trunc()); "
            "censoring is available for gaussian, student, gamma, lognormal, weibull, "
            "exponential, loglogistic, poisson and negbinomial"
        )
    labels = frame.index.to_numpy()
    y = np.asarray(y, dtype=float)
    if limited is not None:
        codes, upper = limited
        if response.event is not None:
            _warn_censoring_side(response, codes, y)
    elif response.cens is None:
        codes, upper = np.zeros(y.shape[0], dtype=np.int8), None
    else:
        indicator = plan.cens
        if indicator.is_column:
            codes = _codes(frame[indicator.text], f"column {indicator.text!r}", labels)
            _warn_event_indicator(indicator.text, codes)
        else:  # an expression over columns (cens(1 - status)): numbers
            values = pd.Series(evaluate_values(indicator, frame), index=frame.index)
            codes = _codes(values, repr(indicator.text), labels)
            _refuse_surv_coding(indicator, frame, codes)
        upper = _upper(response, plan, codes, y, rows, labels)
        _warn_censoring_side(response, codes, y)
    for code, side, limit, bound in ((1, "right", "more", "above"), (-1, "left", "less", "below")):
        if codes.size and np.all(codes == code):  # AER's Affairs with tobit(ll = 100): 1,037 divergences
            raise DataError(
                f"every row of {response.expr!r} is {side}-censored (each says only '{limit} than y'), so nothing "
                f"in the data bounds the mean from {bound}; check the censoring indicator or limits "
                "(tobit(ll = L) censors the rows at or below L; cens() reads 1 as right-censored)"
            )
    lb, ub = _bounds(plan, frame, y, labels)
    if family.response_kind == "count" and (upper is not None or lb is not None or ub is not None):
        raise SpecError(
            f"the {family.name} family can be left- or right-censored (cens(c)), not "
            "interval-censored or truncated"
        )
    return Censoring(codes, upper, lb, ub)
