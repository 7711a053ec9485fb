"""Plots of predictive checks (:class:`hierbayes.predict.ppc.PredictiveCheck`): the check that
fits the response, test statistics, grouped checks and LOO-PIT."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..errors import SpecError
from ..predict.ppc import bayes_p_value
from .common import figure_of, retitle

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
    import warnings

    import arviz as az

    kind = kind or default_ppc_kind(check.response_kind, check.source)
    if kind not in PPC_KINDS:
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
    return retitle(figure_of(pc), f"{name}: {check.source} predictive check ({kind})")


def ppc_stat(check, stat: str = "mean", ax=None):
    """Histogram of T(y_rep) over draws with T(y) marked and the p-value Pr(T(y_rep) > T(y)).

    Returns
    -------
    matplotlib.figure.Figure
    """
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
    return retitle(figure_of(pc), f"{check.model.spec.response.expr}: LOO-PIT (uniform if calibrated)")
