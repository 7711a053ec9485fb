"""Axes of ArviZ's predictive-check plots made readable: a rootogram's x-axis stops near the
data instead of at the largest replicated count, a density plot shows the whole observed
curve, and the axis labels (a calibration plot's predicted probability) fit in the figure."""

from __future__ import annotations

import numpy as np

__all__ = ["ROOTOGRAM_QUANTILE", "ROOTOGRAM_REACH", "clip_rootogram", "fit_labels", "label_calibration", "show_observed_density"]

#: A rootogram's x-axis ends at this quantile of the replicated values (at most
#: :data:`ROOTOGRAM_REACH` times the data's maximum, at least that maximum), plus 5%: a
#: heavy-tailed replicate's maximum (720 for counts up to 85) otherwise squeezes every bar
#: to the left edge.
ROOTOGRAM_QUANTILE = 0.99
ROOTOGRAM_REACH = 3.0

# inches below the axes for tick labels and the axis label
_BOTTOM_INCHES = 0.55


def clip_rootogram(fig, y: np.ndarray, yrep: np.ndarray) -> None:
    """Cut the x-axes of a rootogram at :data:`ROOTOGRAM_QUANTILE` of ``yrep`` (between the
    maximum of ``y`` and :data:`ROOTOGRAM_REACH` times it) plus 5%, when the replicates reach
    more than half as far again, and say so on the plot (the share of replicated values beyond the cut and
    their maximum)."""
    y = np.asarray(y, dtype=float)
    rep = np.asarray(yrep, dtype=float)
    rep = rep[np.isfinite(rep)]
    if not rep.size or not np.isfinite(y).any():
        return
    observed = float(np.nanmax(y))
    reach = min(float(np.quantile(rep, ROOTOGRAM_QUANTILE)), ROOTOGRAM_REACH * observed)
    limit = max(observed, reach) * 1.05 + 1
    beyond = rep > limit
    if rep.max() <= 1.5 * limit:
        return
    for ax in fig.axes:
        low, high = ax.get_xlim()
        if high > limit:
            ax.set_xlim(max(low, -0.5 - 0.02 * limit), limit)
    share = f"{beyond.mean():.1%}" if beyond.mean() >= 0.001 else "under 0.1%"
    note = (f"x-axis cut at {limit:.4g} (data's maximum {observed:.4g}): {share} of the replicated "
            f"values, up to {rep.max():.4g}, lie beyond")
    fig.axes[0].text(0.99, 0.97, note, transform=fig.axes[0].transAxes, ha="right", va="top", fontsize=7, color="0.3")


def show_observed_density(fig) -> None:
    """Raise each axis' top to 10% above the highest curve drawn: the observed density
    (black) of discrete or bounded data can peak at an end of its range, and its line then
    stopped at the top edge of ArviZ's limits, as if cut off."""
    for ax in fig.axes:
        tops = [np.nanmax(np.asarray(line.get_ydata(), dtype=float)) for line in ax.lines if len(line.get_ydata())]
        tops = [t for t in tops if np.isfinite(t)]
        low, high = ax.get_ylim()
        if tops and max(tops) + 0.1 * (max(tops) - low) > high:
            ax.set_ylim(low, max(tops) + 0.1 * (max(tops) - low))


def label_calibration(fig) -> None:
    """Name the axes of a calibration (PAVA) plot: predicted probability against the
    observed event rate (ArviZ's CEP, conditional event probability)."""
    for ax in fig.axes:
        ax.set_xlabel("predicted probability")
        ax.set_ylabel("observed rate (CEP)")


def fit_labels(fig) -> None:
    """Leave room below the axes for their tick and axis labels (ArviZ's short figures put
    the x label outside them)."""
    if fig.get_layout_engine() is not None:
        return
    height = fig.get_size_inches()[1]
    needed = min(0.4, _BOTTOM_INCHES / height)
    if fig.subplotpars.bottom < needed:
        fig.subplots_adjust(bottom=needed)
