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


# ======================================================================= helpers


def _figure(plot_collection):
    """The matplotlib Figure behind an ArviZ PlotCollection."""
    return plot_collection.viz["figure"].item()


def _retitle(fig, title: str):
    """Replace the variable-name titles ArviZ puts on its panels."""
    titled = [ax for ax in fig.axes if ax.get_title()]
    for ax in titled or fig.axes[:1]:
        ax.set_title(title, fontsize=10)
    return fig


def _unknown(what: str, name, valid) -> None:
    from .errors import SpecError

    raise SpecError(f"no {what} {name!r}; valid: {list(valid)}")


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

    from .results.tables import fixed_draws

    fx = fixed_draws(fit.posterior)
    names = [str(t) for t in fx.coords["term"].values]
    if terms is None:
        keep_intercept = intercept if intercept is not None else len(names) == 1
        terms = [t for t in names if t != "Intercept" or keep_intercept]
    for t in terms:
        if t not in names:
            _unknown("fixed-effect term", t, names)
    ds = xr.Dataset({t: fx.sel(term=t, drop=True) for t in terms})
    pc = az.plot_forest(
        xr.DataTree.from_dict({"posterior": ds}), combined=True, backend="matplotlib",
        ci_probs=(0.5, prob), figure_kwargs={"figsize": (6.5, 0.45 * len(terms) + 1.3)},
    )
    fig = _figure(pc)
    fig.suptitle(f"Fixed effects (median, 50% and {round(prob * 100)}% intervals)", fontsize=10)
    fig.axes[-1].axvline(0, color="C3", lw=0.8, ls="--")
    return fig


def variance_components(fit, prob: float = 0.95):
    """Forest plot of the group-level sds and correlations and the residual sd (ArviZ
    ``plot_forest``), one row per component as in ``fit.varcorr()``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import arviz as az
    import xarray as xr

    from .results.tables import varcorr_draws

    draws, labels = varcorr_draws(fit.posterior, fit.spec)
    if not labels:
        from .errors import SpecError

        raise SpecError("the model has no variance components to plot")
    ds = xr.Dataset({
        f"{term[:-1]}|{group})" if group != "Residual" else "sigma": draws.isel(row=i, drop=True)
        for i, (group, term) in enumerate(labels)
    })
    pc = az.plot_forest(
        xr.DataTree.from_dict({"posterior": ds}), combined=True, backend="matplotlib",
        ci_probs=(0.5, prob),
        figure_kwargs={"figsize": (7.5, 0.45 * len(labels) + 1.3), "width_ratios": [1.3, 2]},
    )
    fig = _figure(pc)
    fig.suptitle(f"Variance components (median, 50% and {round(prob * 100)}% intervals)", fontsize=10)
    return fig


# ===================================================================== predictions


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

    from .predict.predict import predict, row_design, training_frame

    model = fit.model
    frame = training_frame(model)
    groups = list(dict.fromkeys(b.group for b in model.design.groups))
    if not groups:
        from .errors import SpecError

        raise SpecError("the model has no grouping factor; prediction lines need one")
    group = groups[0] if group is None else group
    if group not in groups:
        _unknown("grouping factor", group, groups)
    if x not in frame.columns or not pd.api.types.is_numeric_dtype(frame[x]):
        _unknown("numeric covariate", x, [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])])
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
    pred = predict(fit, new, kind=kind, groups="include", ndraws=400).mean
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
        mean_pop = predict(fit, pop, kind=kind, groups=population, ndraws=400).mean
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
    ylabel = {"mean": "expected response", "linear": "linear prediction", "dydx": f"effect of {margins.dydx}"}[margins.what]
    ax.set_ylabel(f"{ylabel} ({round(prob * 100)}% interval)")
    ax.set_title(f"Margins ({margins.groups} over group effects)")
    if 1 < len(parts) <= 10:
        ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


# ================================================================ predictive checks


PPC_KINDS = ("density", "rootogram", "calibration", "pit", "stat")


def default_ppc_kind(response_kind: str, source: str = "posterior") -> str:
    """density (continuous), rootogram (counts, binomial, ordinal), calibration (binary;
    for a prior check, which has no fitted probabilities to calibrate, the distribution of
    the share of ones)."""
    if response_kind == "binary":
        return "calibration" if source == "posterior" else "stat"
    return {"continuous": "density"}.get(response_kind, "rootogram")


def _named(check):
    """The check's DataTree with ``y`` renamed to the response column, for titles."""
    name = check.model.spec.response.expr
    groups = {}
    for key, child in check.idata.children.items():
        ds = child.to_dataset()
        if "y" in ds and key != check.source:
            ds = ds.rename({"y": name})
        groups[key] = ds
    import xarray as xr

    return xr.DataTree.from_dict(groups), name


def ppc(check, kind: str | None = None, num_samples: int = 50):
    """The predictive check that fits the response (ArviZ plots):

    * ``density``: densities of replicated data sets over the data's (continuous);
    * ``rootogram``: observed counts per value against the replicated ones (counts,
      binomial, ordinal);
    * ``calibration``: the PAVA-calibrated observed frequency against the predicted
      probability, with a band (binary);
    * ``pit``: the PIT ECDF of each observation in its predictive distribution;
    * ``stat``: the distribution of the replicated mean against the observed one (the
      default for a prior check of a binary response).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import arviz as az

    import warnings

    kind = kind or default_ppc_kind(check.response_kind, check.source)
    if kind not in PPC_KINDS:
        from .errors import SpecError

        raise SpecError(f"kind={kind!r}: valid PPC kinds are {list(PPC_KINDS)}")
    if kind == "stat":
        return ppc_stat(check, "mean")
    tree, name = _named(check)
    group = check.group
    if kind == "density":
        pc = az.plot_ppc_dist(tree, group=group, num_samples=num_samples, backend="matplotlib")
    elif kind == "rootogram":
        pc = az.plot_ppc_rootogram(tree, group=group, backend="matplotlib")
    elif kind == "calibration":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "always uses observed_data": intended
            pc = az.plot_ppc_pava(tree, group=group, data_type="binary", backend="matplotlib")
    else:
        pc = az.plot_ppc_pit(tree, group=group, backend="matplotlib")
    return _retitle(_figure(pc), f"{name}: {check.source} predictive check ({kind})")


def ppc_stat(check, stat: str = "mean", ax=None):
    """Histogram of T(y_rep) over draws with T(y) marked and the p-value Pr(T(y_rep) > T(y)).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from .predict.ppc import bayes_p_value

    observed, reps = check.statistic_draws(stat)
    p = float(bayes_p_value(reps, observed))
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 3.6))
    else:
        fig = ax.figure
    ax.hist(reps, bins=40, color="C0", alpha=0.6)
    ax.axvline(observed, color="k", lw=2, label=f"T(y) = {observed:.4g}")
    ax.set_xlabel(f"{stat} of replicated data")
    ax.set_title(f"{check.source.capitalize()} predictive {stat}: p = {p:.3f}")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def ppc_grouped(check, group: str | None = None, stat: str = "mean", prob: float = 0.95, ax=None, max_labels: int = 40):
    """Per level of a grouping factor: the ``prob`` interval of the replicated statistic
    (line), its mean (tick) and the observed statistic (dot, red where it falls outside:
    the groups the model misfits). Levels are sorted by observed minus replicated mean.

    Returns
    -------
    matplotlib.figure.Figure
    """
    table = check.grouped(group, stats=(stat,), prob=prob)
    factor = table.attrs["group"]
    table = table.assign(_gap=table["observed"] - table["rep_mean"]).sort_values("_gap").reset_index(drop=True)
    n = len(table)
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, max(3.0, 0.13 * n + 1.3)))
    else:
        fig = ax.figure
    y = np.arange(n)
    ax.hlines(y, table["rep_lower"], table["rep_upper"], color="0.6", lw=1.2)
    ax.plot(table["rep_mean"], y, "|", color="0.35", ms=6)
    bad = table["misfit"].to_numpy()
    ax.plot(table["observed"][~bad], y[~bad], "o", color="C0", ms=3.5, label="observed")
    ax.plot(table["observed"][bad], y[bad], "o", color="C3", ms=4.5, label=f"outside {round(prob * 100)}% (misfit)")
    if n <= max_labels:
        ax.set_yticks(y, [str(v) for v in table[factor]])
    else:
        ax.set_yticks(y[bad], [str(v) for v in table[factor][bad]], fontsize=7)
        ax.set_ylabel(f"{n} levels of {factor}")
    ax.set_xlabel(f"group {stat} of {check.model.spec.response.expr}")
    ax.set_title(f"Grouped {check.source} predictive check: {int(bad.sum())} of {n} {factor} levels misfit")
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def loo_pit(check):
    """LOO-PIT ECDF with its simultaneous envelope (ArviZ ``plot_loo_pit``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import arviz as az

    pc = az.plot_loo_pit(check.idata, var_names=["y"], backend="matplotlib")
    return _retitle(_figure(pc), f"{check.model.spec.response.expr}: LOO-PIT (uniform if calibrated)")


def compare(table):
    """ArviZ's ``plot_compare`` of a :func:`hierbayes.compare` table (ELPD with intervals).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import arviz as az

    pc = az.plot_compare(table, backend="matplotlib", figure_kwargs={"figsize": (6.5, 0.6 * len(table) + 1.8)})
    fig = _figure(pc)
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
