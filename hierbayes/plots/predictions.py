"""Plots of predictions: one line per group over a covariate, Stata's ``marginsplot`` and
brms' ``conditional_effects`` plot."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..errors import SpecError
from ..predict.predict import predict, row_design, training_frame
from .common import unknown_name


def _typical_rows(frame, columns, x: str, by=None):
    """One row per level of ``by`` (or one row): numeric columns at their mean, others at
    their most frequent value (level-2 predictors are constant within a group)."""
    import pandas as pd

    def typical(part):
        row = {}
        for c in columns:
            if c == x:
                continue
            s = part[c]
            if pd.api.types.is_numeric_dtype(s) and not isinstance(s.dtype, pd.CategoricalDtype):
                row[c] = float(s.mean())
            else:
                row[c] = s.mode(dropna=True).iloc[0]
        return row

    if by is None:
        return pd.DataFrame([typical(frame)])
    out = []
    for level, part in frame.groupby(by, observed=True, sort=False):
        row = typical(part)
        row[by] = level
        out.append(row)
    return pd.DataFrame(out)


def prediction_lines(
    fit,
    x: str,
    group: str | None = None,
    levels=None,
    *,
    kind: str = "mean",
    n_points: int = 40,
    population: str | None = "marginal",
    points: bool = True,
    max_groups: int = 100,
    ax=None,
):
    """One line per group over a covariate, as multilevel textbooks draw them.

    Each line is the posterior mean prediction of one level of ``group`` (its own
    effects) over a grid of ``x``; other covariates are held at the group's mean (numeric)
    or most frequent value, so level-2 predictors keep their group's value. The thick line
    is the population curve (``population="marginal"``: group effects integrated out;
    ``"exclude"``: group effects zero; None: no population line).

    Parameters
    ----------
    fit : hierbayes.Fit
    x : a numeric covariate in the formula.
    group : grouping factor (default: the first).
    levels : which levels to draw (default all, up to ``max_groups`` spread evenly).
    kind : "mean" or "linear".
    points : overlay the observed data.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import pandas as pd

    model = fit.model
    frame = training_frame(model)
    groups = list(dict.fromkeys(b.group for b in model.design.groups))
    if not groups:
        raise SpecError("the model has no grouping factor; prediction lines need one")
    group = groups[0] if group is None else group
    if group not in groups:
        unknown_name("grouping factor", group, groups)
    factors = {part for g in groups for part in g.split(":")}
    covariates = [c for c in model.design.encoder.required if c in frame.columns and c not in factors
                  and c != model.spec.response.expr and pd.api.types.is_numeric_dtype(frame[c])]
    if x not in covariates:
        unknown_name("numeric covariate", x, covariates)
    columns = list(model.design.encoder.required)
    typical = _typical_rows(frame, columns, x, by=group)
    if levels is not None:
        wanted = {str(v) for v in levels}
        typical = typical[typical[group].astype(str).isin(wanted)]
    elif len(typical) > max_groups:
        typical = typical.iloc[np.linspace(0, len(typical) - 1, max_groups).round().astype(int)]
    grid = np.linspace(float(frame[x].min()), float(frame[x].max()), n_points)
    new = typical.loc[typical.index.repeat(n_points)].reset_index(drop=True)
    new[x] = np.tile(grid, len(typical))
    if isinstance(frame[group].dtype, pd.CategoricalDtype):
        new[group] = pd.Categorical(new[group], categories=frame[group].cat.categories)
    pred = predict(fit.posterior, model.built, new, kind=kind, groups="include", ndraws=400).mean
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 4.5))
    else:
        fig = ax.figure
    if points and kind == "mean":
        ax.scatter(frame[x], row_design(model).y, s=6, color="0.6", alpha=0.5, lw=0, zorder=1)
    lines = pred.reshape(len(typical), n_points)
    for line in lines:
        ax.plot(grid, line, color="C0", lw=0.8, alpha=0.55, zorder=2)
    if population is not None:
        pop = _typical_rows(frame, columns, x)
        pop = pop.loc[pop.index.repeat(n_points)].reset_index(drop=True)
        pop[x] = grid
        first = frame[group].iloc[0]
        pop[group] = pd.Categorical([first] * n_points, categories=frame[group].cat.categories) if isinstance(frame[group].dtype, pd.CategoricalDtype) else first
        for other in groups:
            if other != group and other in frame.columns:
                pop[other] = frame[other].iloc[0]
        mean_pop = predict(fit.posterior, model.built, pop, kind=kind, groups=population, ndraws=400).mean
        ax.plot(grid, mean_pop, color="k", lw=2.5, zorder=3, label=f"population ({population})")
        ax.legend(frameon=False, loc="best")
    ax.set_xlabel(x)
    ax.set_ylabel(model.spec.response.expr if kind == "mean" else "linear predictor")
    ax.set_title(f"Predictions per {group} ({len(typical)} groups)")
    fig.tight_layout()
    return fig


def marginsplot(margins, x: str | None = None, prob: float = 0.95, ax=None):
    """Stata's ``marginsplot``: margins against ``x`` (default: the first ``at`` column,
    else the ``by`` column or the effect term), with ``prob`` intervals; one line per
    combination of the other ``at``/``by`` columns.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import pandas as pd

    table = margins.summary(prob)
    grid_cols = [c for c in margins.grid.columns]
    if x is None:
        x = grid_cols[0] if grid_cols else None
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
    else:
        fig = ax.figure
    others = [c for c in grid_cols if c != x]
    parts = table.groupby(others, sort=False) if others else [((), table)]
    numeric_x = x is not None and pd.api.types.is_numeric_dtype(table[x])
    for i, (key, part) in enumerate(parts):
        label = ", ".join(f"{c}={v}" for c, v in zip(others, key if isinstance(key, tuple) else (key,), strict=True)) or None
        xs = part[x].to_numpy() if x is not None else np.arange(len(part))
        positions = xs if numeric_x else np.arange(len(part)) + (i - (len(parts) - 1) / 2) * 0.08
        color = f"C{i % 10}"
        if numeric_x and len(part) > 12:
            ax.fill_between(positions, part["lower"], part["upper"], color=color, alpha=0.2, lw=0)
            ax.plot(positions, part["mean"], color=color, label=label)
        else:
            ax.errorbar(positions, part["mean"], yerr=[part["mean"] - part["lower"], part["upper"] - part["mean"]],
                        fmt="o-" if numeric_x else "o", color=color, capsize=3, label=label, ms=4)
        if not numeric_x:
            ax.set_xticks(np.arange(len(part)), [str(v) for v in xs])
    if margins.what == "dydx":
        ax.axhline(0, color="0.4", lw=0.8, ls="--")
    ax.set_xlabel(x or "")
    ylabel = {"mean": "expected response", "linear": "linear prediction", "log_hazard": "log hazard at t = 1", "dydx": f"effect of {margins.dydx}"}[margins.what]
    ax.set_ylabel(f"{ylabel} ({round(prob * 100)}% interval)")
    ax.set_title(f"Margins ({margins.groups} over group effects)")
    if 1 < len(parts) <= 10:
        ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


# ================================================================ predictive checks


def conditional_effects_plot(effects, prob: float = 0.95, ax=None):
    """brms' ``conditional_effects`` plot: the predictions against ``x`` with ``prob``
    bands (a numeric ``x``) or intervals (a factor), one colour per ``by`` value; the
    values the other predictors are held at are in the caption.

    Returns
    -------
    matplotlib.figure.Figure
    """
    table = effects.summary(prob)
    x, by = effects.x, effects.by
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
    else:
        fig = ax.figure
    parts = list(table.groupby(by, sort=False)) if by else [(None, table)]
    for i, (value, part) in enumerate(parts):
        color = f"C{i % 10}"
        label = None if by is None else f"{by} = {value:.3g}" if isinstance(value, float) else f"{by} = {value}"
        if effects.x_is_factor:
            positions = np.arange(len(part)) + (i - (len(parts) - 1) / 2) * 0.12
            ax.errorbar(positions, part["mean"], yerr=[part["mean"] - part["lower"], part["upper"] - part["mean"]],
                        fmt="o", color=color, capsize=3, ms=5, label=label)
            ax.set_xticks(np.arange(len(part)), [str(v) for v in part[x]])
        else:
            ax.fill_between(part[x], part["lower"], part["upper"], color=color, alpha=0.2, lw=0)
            ax.plot(part[x], part["mean"], color=color, label=label)
    what = {"mean": "expected response", "linear": "linear predictor", "response": "prediction"}[effects.kind]
    ax.set_xlabel(x)
    ax.set_ylabel(f"{what} ({round(prob * 100)}% interval)")
    ax.set_title(f"Conditional effect of {x}" + (f" by {by}" if by else ""))
    if by:
        ax.legend(frameon=False, fontsize=8)
    held = {c: v for c, v in effects.held.items()}
    note = ", ".join(f"{c} = {v:.3g}" if isinstance(v, float) else f"{c} = {v}" for c, v in held.items())
    fig.text(0.01, 0.01, f"held at: {note or 'nothing'}; group effects: {effects.groups}", fontsize=7, color="0.35")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def contrasts_plot(contrasts, prob: float = 0.95, ratio: bool = False, ax=None):
    """Pairwise contrasts as a forest: each difference (or, with ``ratio=True``, ratio on a
    log axis) with its ``prob`` interval and P(difference > 0), a line at no difference.

    Returns
    -------
    matplotlib.figure.Figure
    """
    table = contrasts.summary(prob)
    if ratio and "ratio" not in table.columns:
        raise SpecError(f"these contrasts have no ratio (what={contrasts.what!r}); use ratio=False")
    others = [c for c in contrasts.grid.columns if c != "contrast"]
    labels = [", ".join([str(r["contrast"])] + [f"{c}={r[c]}" for c in others]) for _, r in table.iterrows()]
    centre, low, high = ("ratio", "ratio_lower", "ratio_upper") if ratio else ("mean", "lower", "upper")
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 0.9 + 0.35 * len(table)))
    else:
        fig = ax.figure
    y = np.arange(len(table))[::-1]
    ax.errorbar(table[centre], y, xerr=[table[centre] - table[low], table[high] - table[centre]],
                fmt="o", color="C0", capsize=3, ms=5)
    ax.axvline(1.0 if ratio else 0.0, color="0.4", lw=0.8, ls="--")
    ax.set_yticks(y, [f"{lab}   P(>0)={p:.2f}" for lab, p in zip(labels, table["p_gt_0"], strict=True)])
    if ratio:
        ax.set_xscale("log")
    name = contrasts.ratio_kind if ratio else f"difference ({contrasts.what})"
    ax.set_xlabel(f"{name} ({round(prob * 100)}% interval)")
    ax.set_title(f"Pairwise contrasts of {contrasts.over}")
    fig.tight_layout()
    return fig
