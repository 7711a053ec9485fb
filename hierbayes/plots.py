"""Plots users look at before any table (matplotlib; ArviZ where it has the plot)."""

from __future__ import annotations


import matplotlib.pyplot as plt
import numpy as np


def caterpillar(fit, group: str | None = None, term: str = "Intercept", prob: float = 0.95, ax=None, sort: bool = True):
    """Caterpillar plot of one group effect: posterior mean and interval per level, sorted.

    Parameters
    ----------
    fit : hierbayes.Fit
    group : grouping factor (default: the first one).
    term : which column of the group effect (``Intercept``, a slope name).
    prob : interval probability.
    ax : matplotlib axes to draw on (a new figure when None).
    sort : order levels by their posterior mean.

    Returns
    -------
    matplotlib.figure.Figure
    """
    tables = fit.ranef(prob)
    if group is None:
        group = next(iter(tables))
    if group not in tables:
        from .errors import SpecError

        raise SpecError(f"no grouping factor {group!r}; valid: {list(tables)}")
    table = tables[group]
    terms = list(dict.fromkeys(table.columns.get_level_values(0)))
    if term not in terms:
        from .errors import SpecError

        raise SpecError(f"grouping factor {group!r} has no effect {term!r}; valid: {terms}")
    t = table[term]
    if sort:
        t = t.sort_values("mean")
    n = len(t)
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, max(3.0, 0.12 * n + 1.2)))
    else:
        fig = ax.figure
    y = np.arange(n)
    ax.hlines(y, t["lower"], t["upper"], color="0.45", lw=1)
    ax.plot(t["mean"], y, "o", ms=3, color="C0")
    ax.axvline(0, color="C3", lw=0.8, ls="--")
    if n <= 40:
        ax.set_yticks(y, [str(v) for v in t.index])
    else:
        ax.set_yticks([])
        ax.set_ylabel(f"{n} levels of {group} (sorted)")
    ax.set_xlabel(f"{term} effect of {group} ({round(prob * 100)}% interval)")
    ax.set_title(f"Group effects: {group}")
    fig.tight_layout()
    return fig
