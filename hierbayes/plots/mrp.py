"""Plots of model comparisons and of MRP (poststratified) estimates."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .common import figure_of


def compare(table):
    """ArviZ's ``plot_compare`` of a :func:`hierbayes.compare` table (ELPD with intervals).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import arviz as az

    pc = az.plot_compare(table, backend="matplotlib", figure_kwargs={"figsize": (6.5, 0.6 * len(table) + 1.8)})
    fig = figure_of(pc)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------ MRP (poststratification)


def _labelled(frame, labels):
    out = frame.copy()
    out.index = [str(v) for v in out.index]
    return out.reindex(labels)


def mrp_estimates(result, prob: float = 0.9, order=None, truth=None, others=None, ax=None, title: str | None = None):
    """Poststratified subgroup estimates with intervals, against the truth and other estimates.

    Parameters
    ----------
    result : hierbayes.predict.mrp.PoststratResult with one ``by`` column (e.g. state).
    prob : interval probability.
    order : pandas Series indexed by subgroup label (e.g. ``repvote`` per state) giving the
        left-to-right order; default the MRP posterior mean.
    truth : pandas Series indexed by subgroup label, drawn as black crosses (simulations).
    others : dict name -> DataFrame indexed by subgroup label with ``estimate``, ``lower``,
        ``upper`` (e.g. raw sample means and raked estimates), drawn beside MRP.
    ax : matplotlib axes (a new figure when None).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import pandas as pd

    table = result.summary(prob)
    table.index = [":".join(map(str, i)) if isinstance(i, tuple) else str(i) for i in table.index]
    key = table["mean"] if order is None else _labelled(pd.DataFrame({"o": order}), list(table.index))["o"]
    labels = list(key.sort_values(kind="stable").index)
    table = table.reindex(labels)
    series = [("MRP", table["mean"], table["lower"], table["upper"])]
    for name, frame in (others or {}).items():
        f = _labelled(frame, labels)
        series.append((name, f["estimate"], f["lower"], f["upper"]))
    n = len(labels)
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(7.0, 0.22 * n + 2.0), 4.6))
    else:
        fig = ax.figure
    x = np.arange(n)
    width = 0.6 / max(1, len(series))
    for k, (name, mid, lo, hi) in enumerate(series):
        shift = (k - (len(series) - 1) / 2) * width
        ax.errorbar(x + shift, mid, yerr=[mid - lo, hi - mid], fmt="o", ms=3, lw=0.9, color=f"C{k}", label=name)
    if truth is not None:
        t = _labelled(pd.DataFrame({"t": truth}), labels)["t"]
        ax.plot(x, t, "x", color="black", ms=5, label="truth")
    ax.set_xticks(x, labels, rotation=90, fontsize=7)
    ax.set_xlim(-0.7, n - 0.3)
    by = ", ".join(result.by) or "population"
    ordered = "" if order is None else f" (ordered by {getattr(order, 'name', None) or 'the given order'})"
    ax.set_xlabel(f"{by}{ordered}")
    ax.set_ylabel(f"estimate ({round(prob * 100)}% interval)")
    ax.set_title(title or f"Poststratified estimates by {by}")
    ax.legend(frameon=False, fontsize=8, ncol=len(series) + 1)
    fig.tight_layout()
    return fig


def mrp_composition(table, ncols: int = 3, max_bars: int = 12):
    """The sample's composition against the population's, one panel per variable.

    Variables with at most ``max_bars`` levels get paired bars (sample, population); those
    with more (states) a scatter of sample share against population share, one labelled
    point per level, where points off the diagonal are over- or under-represented.

    Parameters
    ----------
    table : the DataFrame of :func:`hierbayes.predict.mrp.composition` (columns
        ``variable``, ``level``, ``sample``, ``population``).
    ncols : panels per row.
    max_bars : the most levels drawn as bars.

    Returns
    -------
    matplotlib.figure.Figure
    """
    variables = list(dict.fromkeys(table["variable"]))
    ncols = max(1, min(ncols, len(variables)))
    nrows = int(np.ceil(len(variables) / ncols))
    fig, axes = plt.subplots(nrows, ncols, squeeze=False, figsize=(4.3 * ncols, 3.6 * nrows))
    legend = None
    for ax, variable in zip(axes.flat, variables):
        part = table[table["variable"] == variable]
        if len(part) > max_bars:
            ax.scatter(part["population"], part["sample"], s=12, color="C0")
            top = float(max(part["population"].max(), part["sample"].max())) * 1.05
            ax.plot([0, top], [0, top], ls="--", color="0.5", lw=0.8)
            for _, row in part.iterrows():
                ax.annotate(str(row["level"]), (row["population"], row["sample"]), fontsize=6,
                            xytext=(2, 1), textcoords="offset points")
            ax.set_xlabel("population share")
            ax.set_ylabel("sample share")
        else:
            y = np.arange(len(part))
            ax.barh(y - 0.2, part["sample"], height=0.4, color="C0", label="sample")
            ax.barh(y + 0.2, part["population"], height=0.4, color="0.65", label="population")
            ax.set_yticks(y, [str(v) for v in part["level"]], fontsize=8)
            ax.invert_yaxis()
            ax.set_xlabel("share")
            legend = ax.get_legend_handles_labels()
        ax.set_title(variable)
    for ax in list(axes.flat)[len(variables):]:
        ax.set_visible(False)
    fig.suptitle("Sample composition vs population")
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    if legend is not None:
        fig.legend(*legend, loc="upper right", frameon=False, fontsize=8, ncol=2)
    return fig


def mrp_raw_vs_model(result, prob: float = 0.9, ax=None, annotate: bool = True):
    """Raw survey mean against the poststratified estimate per subgroup.

    Points are sized by the number of respondents; the further a subgroup sits from the
    diagonal, the more MRP moved it (partial pooling of small subgroups, reweighting of
    unrepresentative ones). Subgroups without respondents have no raw mean and are left out.

    Returns
    -------
    matplotlib.figure.Figure
    """
    table = result.summary(prob)
    table = table[np.isfinite(table["sample_mean"].to_numpy(float))]
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.6, 5.4))
    else:
        fig = ax.figure
    size = 8 + 60 * np.sqrt(table["respondents"].to_numpy(float) / max(1.0, table["respondents"].max()))
    ax.vlines(table["sample_mean"], table["lower"], table["upper"], color="0.7", lw=0.8)
    ax.scatter(table["sample_mean"], table["mean"], s=size, color="C0", alpha=0.8, zorder=3)
    lo = float(min(table["sample_mean"].min(), table["lower"].min()))
    hi = float(max(table["sample_mean"].max(), table["upper"].max()))
    ax.plot([lo, hi], [lo, hi], ls="--", color="C3", lw=0.8)
    if annotate and len(table) <= 60:
        for label, row in table.iterrows():
            text = ":".join(map(str, label)) if isinstance(label, tuple) else str(label)
            ax.annotate(text, (row["sample_mean"], row["mean"]), fontsize=6, xytext=(2, 2), textcoords="offset points")
    by = ", ".join(result.by) or "population"
    ax.set_xlabel("raw sample mean")
    ax.set_ylabel(f"MRP estimate ({round(prob * 100)}% interval)")
    ax.set_title(f"Raw vs MRP by {by} (size: respondents)")
    fig.tight_layout()
    return fig
