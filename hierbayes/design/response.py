"""The response of a model: values (and binomial trials) or an ordinal family's codes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError, warn_user
from ..families import warn_unused_categories
from .plan import DesignPlan, as_counts, evaluate_values

__all__ = ["encoded_response", "new_trials", "response_values", "trials_exprs"]


def response_values(
    plan: DesignPlan, frame: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray | None]:
    """The response of every row and, for binomial models, the trials.

    Parameters
    ----------
    plan : DesignPlan
        The parsed model text.
    frame : pandas.DataFrame
        The checked used columns.

    Returns
    -------
    y : numpy.ndarray
        (n,) float64 response.
    trials : numpy.ndarray or None
        (n,) trials from ``trials(...)`` or response + ``failures(...)`` (int64 when whole
        numbers); None when the model has neither.
    """
    y = evaluate_values(plan.response, frame)
    if plan.trials is not None:
        return y, as_counts(evaluate_values(plan.trials, frame))
    if plan.failures is not None:
        failures = evaluate_values(plan.failures, frame)
        _warn_totals_as_failures(plan, y, failures)
        return y, as_counts(y + failures)
    return y, None


#: Column names that usually hold the number of trials, not the failures.
_TOTALS = {"n", "size", "total", "totals", "trials", "ntrials", "n_trials", "denom", "denominator", "tot", "nobs"}


def _warn_totals_as_failures(plan: DesignPlan, y: np.ndarray, failures: np.ndarray) -> None:
    """lme4's cbind(incidence, size) where cbind(incidence, size - incidence) was meant: the
    trials become incidence + size, silently (glmer does not catch it either)."""
    name = plan.failures.text
    if plan.failures.is_column and name.lower() in _TOTALS and len(y) and np.all(failures >= y):
        warn_user(
            f"cbind({plan.response.text}, {name}): the second column counts failures, so each row's trials "
            f"are {plan.response.text} + {name}; {name!r} reads like the number of trials (it is >= "
            f"{plan.response.text} in every row): if so, write cbind({plan.response.text}, {name} - "
            f"{plan.response.text}) or '{plan.response.text} | trials({name}) ~ ...'"
        )


def encoded_response(
    plan: DesignPlan, frame: pd.DataFrame, data: pd.DataFrame, family: object
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Codes 0..K-1 and category labels of an ordinal response (see families.encode_ordinal).

    Parameters
    ----------
    plan : DesignPlan
        The parsed model text; its response must be a plain data column.
    frame : pandas.DataFrame
        The checked used columns.
    data : pandas.DataFrame
        The user's data (its column tells whether the categories are ordered).
    family : Family
        A family with ``encode_response``.

    Raises
    ------
    DataError
        For ``trials()``/``failures()`` or a response that is an expression.
    """
    expr = plan.response
    if plan.trials is not None or plan.failures is not None:
        raise DataError(f"the {family.name} family takes no trials(); write '{expr.text} ~ ...'")
    if not expr.is_column:
        ordered = expr.text.replace(" ", "").startswith(("ordered(", "factor("))
        raise DataError(
            f"the {family.name} family needs the response to be a data column, not "
            f"{expr.text!r}; add the column to the data"
            + ("; for the order of the categories make it an ordered pandas Categorical, e.g. "
               "df[col] = pd.Categorical(df[col], categories=[...], ordered=True) (ordered(x, levels = "
               "c(...)) in a formula orders a predictor)" if ordered else "")
        )
    raw = data[expr.text]
    ordered = raw.cat.ordered if isinstance(raw.dtype, pd.CategoricalDtype) else None
    codes, labels = family.encode_response(frame[expr.text], expr.text, ordered, frame.index.to_numpy())
    if ordered:  # as integer codes that skip a value are warned of (families/ordinal.py)
        unused = [str(c) for c in raw.cat.categories if str(c) not in labels]
        if unused:
            warn_unused_categories(expr.text, unused, labels)
    return codes, labels


def new_trials(plan: DesignPlan, frame: pd.DataFrame) -> np.ndarray | None:
    """Trials for new data when the needed columns are there, else None; a ``cbind(s, n - s)``
    model needs only ``n`` (its trials do not depend on the response).

    Parameters
    ----------
    plan : DesignPlan
        The parsed model text of the training design.
    frame : pandas.DataFrame
        The new rows (coerced like the training columns).
    """
    exprs = trials_exprs(plan)
    missing = {n for e in exprs for n in e.names if n not in frame.columns}
    response = plan.response.text
    if missing == {response} and plan.failures is not None and plan.response.is_column:
        # cbind(s, n - s): the trials s + (n - s) do not depend on s, which new rows lack
        totals = [sum(evaluate_values(e, frame.assign(**{response: value})) for e in exprs) for value in (0.0, 1.0)]
        return as_counts(np.asarray(totals[0], dtype=np.float64)) if np.allclose(*totals) else None
    if not exprs or missing:
        return None
    total = sum(evaluate_values(e, frame) for e in exprs)
    return as_counts(np.asarray(total, dtype=np.float64))


def trials_exprs(plan: DesignPlan) -> list:
    """The expressions whose sum is a binomial row's trials: ``trials(...)``'s, or the
    response and ``cbind(s, f)``'s failures; [] without trials."""
    if plan.failures is not None:
        return [plan.response, plan.failures]
    return [plan.trials] if plan.trials is not None else []
