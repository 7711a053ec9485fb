"""Plots of survival outcomes: predicted survival curves with interval bands
(:class:`hierbayes.predict.survival.SurvivalCurves`) and the Kaplan-Meier predictive check
(:func:`hierbayes.predict.km.km_check`)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..predict.km import kaplan_meier, km_censoring, km_check
from . import notebook  # noqa: F401 - one picture per plot in Jupyter

#: At most this many profiles get a legend entry.
MAX_LEGEND = 12


def _profile_label(row) -> str:
    return ", ".join(f"{k}={v}" for k, v in row.items())


def survival_plot(curves, prob: float | None = None, ax=None, max_profiles: int = 20):
    """One line per profile: the posterior median of S(t) with its central ``prob`` band.

    Parameters
    ----------
    curves : hierbayes.predict.survival.SurvivalCurves
    prob : band width (default: the curves' ``prob``).
    ax : a matplotlib Axes to draw on.
    max_profiles : draw at most this many profiles (the first ones).

    Returns
    -------
    matplotlib.figure.Figure
    """
    prob = curves.prob if prob is None else prob
    median, lower, upper = curves.band(prob)
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
    else:
        fig = ax.figure
    n = min(median.shape[0], max_profiles)
    for i in range(n):
        color = f"C{i % 10}"
        label = _profile_label(curves.profiles.iloc[i]) if i < MAX_LEGEND else None
        ax.fill_between(curves.times, lower[i], upper[i], color=color, alpha=0.15, lw=0, step=None)
        ax.plot(curves.times, median[i], color=color, lw=1.6, label=label or f"profile {i}")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(curves.response)
    ax.set_ylabel(f"S(t) = P({curves.response} > t)")
    shown = "" if n == median.shape[0] else f"; first {n} of {median.shape[0]} profiles"
    effects = "" if curves.re == "none" else f"group effects: {curves.re}; "
    ax.set_title(f"Survival curves ({effects}median and {prob:.0%} band{shown})", fontsize=10)
    if n > 1 or len(curves.profiles.columns):
        ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def ppc_km(check, num_samples: int = 50, prob: float = 0.9, ax=None):
    """The Kaplan-Meier curve of the data (black) over those of ``num_samples`` replicated
    data sets censored the way the data were (thin lines), with the replicates' central
    ``prob`` band; the censoring times of the data are ticked.

    Returns
    -------
    matplotlib.figure.Figure
    """
    result = km_check(check)
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
    else:
        fig = ax.figure
    reps = result.replicates
    picks = np.unique(np.linspace(0, reps.shape[0] - 1, max(1, min(num_samples, reps.shape[0]))).round().astype(int))
    for s in picks:
        ax.step(result.grid, reps[s], where="post", color="C0", alpha=0.15, lw=0.8)
    band = result.summary(prob)
    ax.fill_between(result.grid, band["lower"], band["upper"], step="post", color="C0", alpha=0.2, lw=0,
                    label=f"replicates, {prob:.0%} band")
    ax.step(result.grid, result.observed, where="post", color="black", lw=1.8, label="data (Kaplan-Meier)")
    right = km_censoring(check.model)
    if right is not None and right.any():
        times, surv = kaplan_meier(check.y, ~right)
        at = check.y[right]
        index = np.searchsorted(times, at, side="right")
        ax.plot(at, np.concatenate([[1.0], surv])[index], "|", color="black", ms=7, label="censored")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(result.response)
    ax.set_ylabel("S(t)")
    ax.set_title(f"{result.response}: {check.source} predictive check (Kaplan-Meier, replicates censored alike)", fontsize=10)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig
