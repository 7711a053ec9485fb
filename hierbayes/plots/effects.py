"""Plots of the fitted parameters: group effects (caterpillar), fixed effects and variance
components (forest plots)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..errors import SpecError
from ..results.tables import FAMILY_GROUP, RESIDUAL_GROUP, fixed_draws, varcorr_draws
from .common import figure_of, row_figure_height, thinned_rows, unknown_name


def caterpillar(
    fit, group: str | None = None, term: str = "Intercept", prob: float = 0.95, ax=None, sort: bool = True,
    extremes: int | None = None, max_labels: int = 40,
):
    """Caterpillar plot of one group effect: posterior mean and interval per level, sorted.

    Readable at any number of levels: up to ``max_labels`` levels every level is named; beyond
    that the figure height is capped and the labels thinned to every k-th level (always
    naming the first and last, the extremes of a sorted plot); ``extremes`` shows only the
    levels with the largest absolute effects, all named.

    Parameters
    ----------
    fit : hierbayes.Fit
    group : grouping factor (default: the first one).
    term : which column of the group effect (``Intercept``, a slope name).
    prob : interval probability.
    ax : matplotlib axes to draw on (a new figure when None).
    sort : order levels by their posterior mean.
    extremes : show only this many levels: those with the largest absolute posterior mean.
    max_labels : name every level up to this many levels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    tables = fit.ranef(prob)
    if group is None:
        group = next(iter(tables))
    if group not in tables:
        raise SpecError(f"no grouping factor {group!r}; valid: {list(tables)}")
    table = tables[group]
    terms = list(dict.fromkeys(table.columns.get_level_values(0)))
    if term not in terms:
        raise SpecError(f"grouping factor {group!r} has no effect {term!r}; valid: {terms}")
    t = table[term]
    n_levels = len(t)
    if extremes is not None:
        if int(extremes) != extremes or extremes < 1:
            raise SpecError(f"extremes={extremes!r}: give a positive number of levels to show")
        t = t.loc[t["mean"].abs().sort_values(ascending=False, kind="stable").index[: int(extremes)]]
    if sort or extremes is not None:
        t = t.sort_values("mean", kind="stable")
    n = len(t)
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, row_figure_height(n)))
    else:
        fig = ax.figure
    y = np.arange(n)
    ax.hlines(y, t["lower"], t["upper"], color="0.45", lw=1 if n <= 100 else 0.7)
    ax.plot(t["mean"], y, "o", ms=3 if n <= 100 else 2, color="C0")
    ax.axvline(0, color="C3", lw=0.8, ls="--")
    ax.set_ylim(-0.8, n - 0.2)
    labels = [str(v) for v in t.index]
    if n <= max_labels:
        ax.set_yticks(y, labels)
    else:
        shown = thinned_rows(n, fig.get_figheight())
        ax.set_yticks(shown, [labels[i] for i in shown], fontsize=7)
        every = "" if len(shown) == n else f", 1 in {-(-n // len(shown))} named"
        ax.set_ylabel(f"{n} levels of {group}{' (sorted)' if sort else ''}{every}")
    ax.set_xlabel(f"{term} effect of {group} ({round(prob * 100)}% interval)")
    shown_of = f": the {n} most extreme of {n_levels} levels" if extremes is not None and n < n_levels else ""
    ax.set_title(f"Group effects: {group}{shown_of}")
    fig.tight_layout()
    return fig


# ================================================================ fixed effects, variances


def forest(fit, terms=None, prob: float = 0.95, intercept: bool | None = None):
    """Forest plot of the fixed effects (ArviZ ``plot_forest``): posterior median, 50% and
    ``prob`` intervals per term.

    Parameters
    ----------
    fit : hierbayes.Fit
    terms : which fixed terms (default: all but the intercept when there are others,
        since it usually lives on another scale).
    prob : outer interval probability.
    intercept : force the intercept in (True) or out (False).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import arviz as az
    import xarray as xr

    fx = fixed_draws(fit.posterior)
    names = [str(t) for t in fx.coords["term"].values]
    if terms is None:
        keep_intercept = intercept if intercept is not None else len(names) == 1
        terms = [t for t in names if t != "Intercept" or keep_intercept]
    for t in terms:
        if t not in names:
            unknown_name("fixed-effect term", t, names)
    ds = xr.Dataset({t: fx.sel(term=t, drop=True) for t in terms})
    pc = az.plot_forest(
        xr.DataTree.from_dict({"posterior": ds}), combined=True, backend="matplotlib",
        ci_probs=(0.5, prob), figure_kwargs={"figsize": (6.5, 0.45 * len(terms) + 1.3)},
    )
    fig = figure_of(pc)
    fig.suptitle(f"Fixed effects (median, 50% and {round(prob * 100)}% intervals)", fontsize=10)
    fig.axes[-1].axvline(0, color="C3", lw=0.8, ls="--")
    return fig


def variance_components(fit, prob: float = 0.95):
    """The group-level sds and the residual sd, and beside them on their own -1..1 axis the
    correlations: posterior median with 50% and ``prob`` intervals, one row per component as
    in ``fit.varcorr()``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    draws, labels = varcorr_draws(fit.posterior, fit.spec)
    if not labels:
        raise SpecError("the model has no variance components to plot")
    values = np.asarray(draws.transpose("chain", "draw", "row").values, float).reshape(-1, len(labels))
    names = [f"{term[:-1]}|{group})" if group not in (RESIDUAL_GROUP, FAMILY_GROUP)
             else "sigma" if term == "sd(Residual)" else term for group, term in labels]
    is_cor = np.array([term.startswith("cor(") for _, term in labels])
    panels = [(~is_cor, "sd"), (is_cor, "correlation")] if is_cor.any() else [(~is_cor, "sd")]
    fig, axes = plt.subplots(1, len(panels), figsize=(7.5 if len(panels) == 2 else 6, row_figure_height(len(labels))),
                             squeeze=False)
    tail = (1 - prob) / 2
    for ax, (rows, xlabel) in zip(axes[0], panels):
        idx = np.flatnonzero(rows)
        y = np.arange(len(idx))[::-1]
        q = np.quantile(values[:, idx], [tail, 0.25, 0.5, 0.75, 1 - tail], axis=0)
        ax.hlines(y, q[0], q[4], color="C0", linewidth=1)
        ax.hlines(y, q[1], q[3], color="C0", linewidth=3)
        ax.plot(q[2], y, "o", color="C0", markerfacecolor="white")
        ax.set_yticks(y, [names[i] for i in idx], fontsize=8)
        ax.set_xlabel(xlabel)
        if xlabel == "correlation":
            ax.set_xlim(-1.05, 1.05)
            ax.axvline(0.0, color="0.7", linewidth=0.8, zorder=0)
        else:
            ax.set_xlim(left=0.0)
        ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle(f"Variance components (median, 50% and {round(prob * 100)}% intervals)", fontsize=10)
    fig.tight_layout()
    return fig


# ===================================================================== predictions
