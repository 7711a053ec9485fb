"""Kaplan-Meier curves, and the predictive check of right-censored data that compares them.

:func:`kaplan_meier` is the product-limit estimator: at each distinct event time u,
S(u) = S(u-) (1 - d(u) / n(u)), with d(u) the events at u and n(u) the rows still at risk
(times >= u; a row censored at u is at risk at u, as in R's ``survfit``).

:func:`km_check` compares the data's curve with the curves of replicated data sets censored
the way the data were: a replicate of a right-censored row is observed as
min(y_rep, c) with an event only when y_rep <= c (c the row's censoring time); a replicate of
an exact row is an event at y_rep. The potential censoring times of rows with an event are
unknown, so their replicates are left uncensored. Left-, interval-censored and truncated rows
have no product-limit curve here (SpecError).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DataError, SpecError, checks_prob
from ..families.censoring import NONE, RIGHT
from .predict import row_design

#: Points of the default time grid of a check.
GRID_POINTS = 200


def kaplan_meier(time, event) -> tuple[np.ndarray, np.ndarray]:
    """The Kaplan-Meier estimate of S(t).

    Parameters
    ----------
    time : (n,) observed times (events or censoring times; +inf allowed: a replicate that
        never fails).
    event : (n,) True where the time is an event, False where it is right-censored.

    Returns
    -------
    (times, survival)
        The distinct event times, ascending, and S just after each (a right-continuous step
        function, 1 before the first event time).

    Raises
    ------
    DataError
        For arrays of different lengths or a missing (NaN) time.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    if time.shape != event.shape or time.ndim != 1:
        raise DataError(f"kaplan_meier: time {time.shape} and event {event.shape} must be 1-d of the same length")
    if np.isnan(time).any():
        raise DataError("kaplan_meier: a time is missing (NaN)")
    order = np.argsort(time, kind="stable")
    t, e = time[order], event[order]
    unique, first = np.unique(t, return_index=True)
    at_risk = t.size - first
    deaths = np.add.reduceat(e.astype(float), first) if t.size else np.zeros(0)
    keep = deaths > 0
    return unique[keep], np.cumprod(1.0 - deaths[keep] / at_risk[keep])


def step_values(times: np.ndarray, survival: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """The step function (times, survival) of :func:`kaplan_meier` at the points of ``grid``."""
    index = np.searchsorted(times, grid, side="right")
    return np.concatenate([[1.0], survival])[index]


def km_censoring(model) -> np.ndarray | None:
    """Per training row, True where right-censored, False where exact; None when the model
    has no censoring or some row is left-, interval-censored or truncated (no product-limit
    curve for those)."""
    censoring = getattr(row_design(model), "censoring", None)
    if censoring is None or censoring.lb is not None or censoring.ub is not None:
        return None
    if not np.all(np.isin(censoring.code, (NONE, RIGHT))):
        return None
    return censoring.code == RIGHT


@dataclass(frozen=True, eq=False)
@checks_prob
class KaplanMeierCheck:
    """The data's Kaplan-Meier curve against those of replicated data sets censored alike.

    grid : (G,) times; observed : (G,) the data's curve; replicates : (S, G) the replicates'.
    """

    grid: np.ndarray
    observed: np.ndarray
    replicates: np.ndarray
    response: str = "time"

    def summary(self, prob: float = 0.9) -> pd.DataFrame:
        """One row per grid time: ``observed``, the replicates' ``median`` and central
        ``prob`` interval (``lower``, ``upper``), and ``outside`` (the observed curve outside it)."""
        alpha = (1 - prob) / 2
        lower, median, upper = np.quantile(self.replicates, [alpha, 0.5, 1 - alpha], axis=0)
        out = pd.DataFrame({"time": self.grid, "observed": self.observed, "median": median,
                            "lower": lower, "upper": upper})
        out["outside"] = (out["observed"] < out["lower"]) | (out["observed"] > out["upper"])
        out.attrs["interval"] = f"{prob:.0%} central interval of the replicated curves"
        return out


def km_check(check, grid=None) -> KaplanMeierCheck:
    """Kaplan-Meier curves of the data and of each replicated data set of a predictive check.

    Parameters
    ----------
    check : hierbayes.predict.ppc.PredictiveCheck
    grid : times at which the curves are compared (default: 200 from 0 to the largest
        observed time).

    Raises
    ------
    SpecError
        When some row is left- or interval-censored or the response is truncated.
    """
    y, yrep = check.y, check.yrep
    right = km_censoring(check.model)
    if right is None:
        if getattr(row_design(check.model), "censoring", None) is not None:
            raise SpecError(
                "a Kaplan-Meier check needs exact and right-censored rows only; this response has "
                "left- or interval-censored rows or is truncated: use kind='ecdf' or 'intervals'"
            )
        right = np.zeros(y.shape, dtype=bool)
    grid = np.linspace(0.0, float(np.max(y)), GRID_POINTS) if grid is None else np.asarray(grid, dtype=float)
    observed = step_values(*kaplan_meier(y, ~right), grid)
    yrep = yrep[~np.isnan(yrep).any(axis=1)]  # draws whose parameters cannot simulate (absurd prior draws)
    if yrep.shape[0] == 0:
        raise DataError("no replicated data set without missing (NaN) values: the draws cannot simulate this response")
    reps = np.empty((yrep.shape[0], grid.size))
    for s, row in enumerate(yrep):
        reps[s] = step_values(*kaplan_meier(*censored_alike(row, y, right)), grid)
    return KaplanMeierCheck(grid, observed, reps, str(check.model.spec.response.expr))


def censored_alike(replicate: np.ndarray, y: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(time, event) of a replicated data set censored as the data were: a right-censored
    row's replicate is observed as min(y_rep, c), an event only when y_rep <= c; an exact
    row's is an event at y_rep (its potential censoring time is unknown)."""
    return np.where(right, np.minimum(replicate, y), replicate), ~right | (replicate <= y)


def km_summaries(time: np.ndarray, event: np.ndarray, horizon: float) -> tuple[float, float]:
    """(median survival time, restricted mean survival time up to ``horizon``) of the
    Kaplan-Meier curve of (time, event); the median is NaN where the curve stays above 1/2."""
    times, survival = kaplan_meier(time, event)
    below = np.flatnonzero(survival <= 0.5)
    median = float(times[below[0]]) if below.size else np.nan
    inside = times < horizon
    edges = np.concatenate([[0.0], times[inside], [horizon]])
    return median, float(np.sum(np.diff(edges) * np.concatenate([[1.0], survival[inside]])))


def km_statistics(check) -> dict[str, tuple[float, np.ndarray]]:
    """name -> (data's value, replicates' values) of the statistics a right-censored response
    is checked by: the Kaplan-Meier median survival time and the restricted mean survival time
    up to the largest observed time, each replicate censored as the data were. Moments of the
    recorded times are not comparable: the censoring times of rows with an event are unknown, so
    their replicates run past the end of follow-up (a well-fitting Weibull model of lung's
    survival had sd and max p-values of 0.99 and 1.0). A replicate whose curve stays above 1/2
    has its median at the largest observed time; the median is left out when the data's own
    curve stays above 1/2."""
    y, right = check.y, km_censoring(check.model)
    horizon = float(np.max(y))
    observed = km_summaries(y, ~right, horizon)
    yrep = check.yrep[~np.isnan(check.yrep).any(axis=1)]
    reps = np.array([km_summaries(*censored_alike(row, y, right), horizon) for row in yrep]).reshape(-1, 2)
    out = {"rmst": (observed[1], reps[:, 1])}
    if np.isfinite(observed[0]):
        out = {"km_median": (observed[0], np.where(np.isnan(reps[:, 0]), horizon, reps[:, 0])), **out}
    return out
