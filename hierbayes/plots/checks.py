"""Plots of predictive checks (:class:`hierbayes.predict.ppc.PredictiveCheck`): the check that
fits the response (ArviZ's where it has them: density, ECDF, PIT, intervals, rootogram,
calibration; matplotlib for the mean-prediction scatter and the error histograms), test
statistics, grouped checks and LOO-PIT."""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from ..errors import SpecError
from ..params import OBS_DIM
from ..predict.ppc import bayes_p_value
from ..predict.ppc_kinds import ALL_PLOT_KINDS, checked_plot_kind, default_plot_kind
from ..predict.ppc_weights import WEIGHTED_STATISTICS
from .checks_axes import clip_rootogram, fit_labels, label_calibration, show_observed_density
from .checks_weighted import weighted_distribution
from .common import figure_of, retitle, row_figure_height
from .survival import ppc_km

# Every kind ``ppc()`` draws; which ones fit a response: ``check.plot_kinds``.
PPC_KINDS = ALL_PLOT_KINDS

# the one-line description of each kind, in titles
_DESCRIPTIONS = {
    "ecdf": "ECDFs and PIT-ECDF difference",
    "intervals": "50% and 94% predictive intervals per observation",
    "scatter_avg": "observed vs mean prediction",
    "error_hist": "y - y_rep for single draws",
}


def default_ppc_kind(response_kind: str, source: str = "posterior") -> str:
    """density (continuous), rootogram (counts, binomial, ordinal), calibration (binary;
    for a prior check, which has no fitted probabilities to calibrate, the distribution of
    the share of ones). See :func:`hierbayes.predict.ppc_kinds.default_plot_kind`."""
    return default_plot_kind(response_kind, source)


def _check_of(obj, plot: str):
    """A predictive check given, or a fit's (``fit.ppc()``) when given a fit."""
    if hasattr(obj, "idata") and hasattr(obj, "source"):
        return obj
    if callable(getattr(obj, "ppc", None)):
        return obj.ppc()
    raise SpecError(f"hb.plots.{plot} takes a fit or its predictive check (fit.ppc()), not a {type(obj).__name__}")


def _named(check):
    """The check's DataTree with ``y`` renamed to the response column, for titles."""
    response = check.model.spec.response
    name = response.expr
    groups = {}
    for key, child in check.idata.children.items():
        ds = child.to_dataset()
        if key == check.group and (response.tobit_ll is not None or response.tobit_ul is not None):
            # a tobit's replicates censored at its limits, as its data are (and its statistics)
            ds = ds.assign(y=(ds["y"].dims, check.yrep_as_observed.reshape(ds["y"].shape)))
        if "y" in ds and key != check.source:
            ds = ds.rename({"y": name})
        groups[key] = ds
    return xr.DataTree.from_dict(groups), name


def ppc(check, kind: str | None = None, num_samples: int = 50, order: str | None = None):
    """The predictive check that fits the response (ArviZ plots where ArviZ has them):

    * ``density``: densities of replicated data sets over the data's (continuous);
    * ``rootogram``: observed counts per value against the replicated ones, as bars
      (counts, binomial, ordinal, binary);
    * ``calibration``: the PAVA-calibrated observed frequency against the predicted
      probability, with a band (binary);
    * ``pit``: the PIT ECDF of each observation in its predictive distribution;
    * ``ecdf``: ECDFs of replicated data sets over the data's, next to the PIT-ECDF
      difference with its simultaneous band;
    * ``intervals``: per observation, the 50% and 94% predictive intervals with the
      observed value, optionally ordered (``order``);
    * ``scatter_avg``: observed values against the posterior predictive mean (matplotlib);
    * ``error_hist``: histograms of y - y_rep for a few single draws (matplotlib);
    * ``stat``: the distribution of the replicated mean against the observed one (the
      default for a prior check of a binary response);
    * ``km``: Kaplan-Meier curves of the data and of replicates censored the way the data
      were (the default for right-censored responses; :func:`hierbayes.plots.survival.ppc_km`).

    A weighted fit's density and ECDF checks and test statistics weight the data and the
    replications by the rows' inclusion weights (:mod:`hierbayes.predict.ppc_weights`); the
    per-row checks say that they are unweighted.

    Parameters
    ----------
    check : hierbayes.predict.ppc.PredictiveCheck
    kind : one of ``check.plot_kinds`` (default: the first, or ``stat`` for a binary prior check).
    num_samples : replicated data sets drawn (density, ecdf; error_hist shows at most 6).
    order : intervals only: ``"fitted"`` (by the predictive mean) or a column of the data
        (by its values); default: row order.

    Returns
    -------
    matplotlib.figure.Figure
    """
    check = _check_of(check, "ppc")
    kind = checked_plot_kind(kind, check.response_kind, check.source)
    if order is not None and kind != "intervals":
        raise SpecError(f"order={order!r} applies to kind='intervals' only, not kind={kind!r}")
    if check.weights is not None and kind in ("density", "ecdf"):
        return weighted_distribution(check, kind, num_samples)
    fig = _ppc_figure(check, kind, num_samples, order)
    if check.weights is not None and kind not in ("stat", "km"):
        fig.text(0.005, 0.005, "weighted fit: this check is per row, unweighted", fontsize=7, color="0.4")
    return fig


def _ppc_figure(check, kind: str, num_samples: int, order: str | None):
    if kind == "stat":
        return ppc_stat(check, "mean")
    if kind == "km":
        return ppc_km(check, num_samples)
    if kind == "scatter_avg":
        return ppc_scatter_avg(check)
    if kind == "error_hist":
        return ppc_error_hist(check, min(num_samples, 6))
    if kind == "intervals":
        return ppc_intervals(check, order)
    tree, name = _named(check)
    with warnings.catch_warnings():
        # ArviZ suggests other plots for discrete or binary data; the kind was chosen for them
        warnings.filterwarnings("ignore", message=r"(?s).*look (discrete|binary)", category=UserWarning)
        warnings.filterwarnings("ignore", message=r"(?s).*always uses observed_data", category=UserWarning)
        # ArviZ's rootogram of a variable with two values (binary) trips its own dims guess
        warnings.filterwarnings("ignore", message=r"Found chain dimension to be longer", category=UserWarning)
        fig = figure_of(_arviz_check(tree, check.group, kind, num_samples))
    if kind == "rootogram":
        clip_rootogram(fig, check.y, check.yrep_as_observed)
    elif kind == "density":
        show_observed_density(fig)
    elif kind == "calibration":
        label_calibration(fig)
    fit_labels(fig)
    if kind == "ecdf":
        fig.suptitle(f"{name}: {check.source} predictive check ({_DESCRIPTIONS[kind]})", fontsize=10)
        if not fig.get_constrained_layout():
            fig.subplots_adjust(top=0.8)
        for ax, title in zip(fig.axes, ("ECDFs: data (black) and replications", "PIT-ECDF minus uniform"), strict=False):
            ax.set_title(title, fontsize=9)
        return fig
    return retitle(fig, f"{name}: {check.source} predictive check ({kind})")


def _arviz_check(tree, group: str, kind: str, num_samples: int):
    """The ArviZ PlotCollection of ``kind`` (density, ecdf, rootogram, calibration, pit)."""
    import arviz as az

    if kind == "density":
        return az.plot_ppc_dist(tree, group=group, num_samples=num_samples, backend="matplotlib")
    if kind == "ecdf":
        return az.plot_ppc_dist_pit(tree, group=group, kind="ecdf", num_samples=num_samples, backend="matplotlib")
    if kind == "rootogram":
        return az.plot_ppc_rootogram(tree, group=group, backend="matplotlib")
    if kind == "calibration":
        return az.plot_ppc_pava(tree, group=group, data_type="binary", backend="matplotlib")
    return az.plot_ppc_pit(tree, group=group, backend="matplotlib")


def ppc_intervals(check, order: str | None = None):
    """Per observation: the 50% and 94% intervals and mean of its replications (ArviZ
    ``plot_ppc_interval``) with the observed value; ``order`` sorts the observations by
    ``"fitted"`` (their predictive mean) or by a data column.

    Returns
    -------
    matplotlib.figure.Figure
    """
    check = _check_of(check, "ppc_intervals")
    import arviz as az

    tree, name = _named(check)
    n = check.y.shape[0]
    if order is None:
        positions, xlabel = np.arange(n), "observation (row order)"
    elif order == "fitted":
        positions, xlabel = np.argsort(check.yrep.mean(axis=0), kind="stable"), "observations ordered by the predictive mean"
    else:
        data = check.model.data
        if order not in data.columns:
            raise SpecError(f"order={order!r}: not a column of the data; use 'fitted' or one of {list(data.columns)}")
        if len(data) != n:
            raise SpecError(f"order={order!r}: the data has {len(data)} rows but the check {n}; use order='fitted'")
        positions, xlabel = np.argsort(np.asarray(data[order]), kind="stable"), f"observations ordered by {order}"
    if order is not None:
        tree = tree.map_over_datasets(lambda ds: ds.isel({OBS_DIM: positions}).assign_coords({OBS_DIM: np.arange(n)}) if OBS_DIM in ds.dims else ds)
    pc = az.plot_ppc_interval(
        tree, group=check.group, ci_kind="eti", ci_probs=(0.5, 0.94), backend="matplotlib",
        figure_kwargs={"figsize": (min(14.0, 5.0 + 0.02 * n), 3.8)},
    )
    fig = figure_of(pc)
    ax = fig.axes[0]
    ax.set_xlabel(xlabel)
    ax.set_title(f"{name}: {check.source} predictive check ({_DESCRIPTIONS['intervals']}; black: observed)", fontsize=10)
    return fig


def ppc_scatter_avg(check, ax=None):
    """Observed values against their posterior (or prior) predictive mean, with the line
    y = x: points far off the line are observations the model does not predict.

    Returns
    -------
    matplotlib.figure.Figure
    """
    check = _check_of(check, "ppc_scatter_avg")
    y, mean = check.y, check.yrep.mean(axis=0)
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.0, 4.6))
    else:
        fig = ax.figure
    ax.scatter(mean, y, s=10, alpha=0.6, color="C0", edgecolor="none")
    low, high = min(y.min(), mean.min()), max(y.max(), mean.max())
    ax.plot([low, high], [low, high], color="0.3", lw=1, ls="--", label="y = mean prediction")
    name = check.model.spec.response.expr
    ax.set_xlabel(f"mean of replicated {name}")
    ax.set_ylabel(f"observed {name}")
    ax.set_title(f"{name}: {check.source} predictive check\n({_DESCRIPTIONS['scatter_avg']})", fontsize=10)
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def ppc_error_hist(check, num_draws: int = 6):
    """Histograms of the errors y - y_rep of single replicated data sets (draws evenly
    spread over the sample): centred at 0 with the spread of the noise for a fitting model.

    Returns
    -------
    matplotlib.figure.Figure
    """
    check = _check_of(check, "ppc_error_hist")
    yrep = check.yrep
    picks = np.unique(np.linspace(0, yrep.shape[0] - 1, max(1, num_draws)).round().astype(int))
    columns = min(3, len(picks))
    rows = -(-len(picks) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.0 * columns, 2.3 * rows + 0.6), sharex=True, squeeze=False)
    errors = check.y[None, :] - yrep[picks]
    bins = np.histogram_bin_edges(errors, bins=30)
    for ax, draw, error in zip(axes.flat, picks, errors, strict=False):
        ax.hist(error, bins=bins, color="C0", alpha=0.7)
        ax.axvline(0, color="0.3", lw=0.8, ls="--")
        ax.set_title(f"draw {draw}", fontsize=8)
        ax.set_yticks([])
    for ax in axes.flat[len(picks):]:
        ax.set_visible(False)
    name = check.model.spec.response.expr
    fig.suptitle(f"{name}: {check.source} predictive check ({_DESCRIPTIONS['error_hist']})", fontsize=10)
    fig.supxlabel(f"{name} - replicated {name}", fontsize=9)
    fig.tight_layout()
    return fig


def ppc_stat(check, stat: str = "mean", ax=None):
    """Histogram of T(y_rep) over draws with T(y) marked and the p-value Pr(T(y_rep) > T(y)).

    Returns
    -------
    matplotlib.figure.Figure
    """
    check = _check_of(check, "ppc_stat")
    observed, reps = check.statistic_draws(stat)
    p = float(bayes_p_value(reps, observed))
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 3.6))
    else:
        fig = ax.figure
    ax.hist(reps, bins=40, color="C0", alpha=0.6)
    ax.axvline(observed, color="k", lw=2, label=f"T(y) = {observed:.4g}")
    ax.set_xlabel(f"{stat} of replicated data")
    weighted = "weighted " if check.weights is not None and stat in WEIGHTED_STATISTICS else ""
    ax.set_title(f"{check.source.capitalize()} predictive {weighted}{stat}: p = {p:.3f}")
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
    check = _check_of(check, "ppc_grouped")
    table = check.grouped(group, stats=(stat,), prob=prob)
    factor = table.attrs["group"]
    table = table.assign(_gap=table["observed"] - table["rep_mean"]).sort_values("_gap").reset_index(drop=True)
    n = len(table)
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, row_figure_height(n, per_row=0.13, base=1.3)))
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
    check = _check_of(check, "loo_pit")
    import arviz as az

    pc = az.plot_loo_pit(check.idata, var_names=["y"], backend="matplotlib")
    return retitle(figure_of(pc), f"{check.model.spec.response.expr}: LOO-PIT (uniform if calibrated)")
