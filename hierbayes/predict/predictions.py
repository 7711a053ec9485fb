"""The result of :func:`hierbayes.predict.predict.predict`: posterior draws of predictions
with a tidy summary."""

from __future__ import annotations

import html
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import checks_prob, warn_user
from ..families import get_family
from ..results.stats import flatten_draws, interval_label, summarize


@dataclass(frozen=True, eq=False)
@checks_prob
class Predictions:
    """Posterior draws of predictions, with a tidy summary.

    draws : xarray.DataArray with dims (chain, draw, obs) (and ``category`` for the
        category probabilities of an ordinal ``kind="mean"``); the ``row`` coordinate on
        ``obs`` holds the index labels of the predicted rows.
    data : the predicted rows (newdata, or the training rows).
    kind, groups, new_groups : the choices that made the predictions.
    new_levels : per grouping factor, the levels that were not in the training data.
    scale : what a binomial model's means are (probabilities, or expected successes when the
        rows have trials), "" where the kind says it.
    """

    draws: xr.DataArray
    data: pd.DataFrame
    kind: str
    groups: str
    new_groups: str
    new_levels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    scale: str = ""

    @property
    def values(self) -> np.ndarray:
        """(chain * draw, obs, ...) array of the draws."""
        return flatten_draws(self.draws)

    @property
    def mean(self) -> np.ndarray:
        """Posterior mean per row (per row and category for ordinal means)."""
        return self.draws.mean(("chain", "draw")).values

    def summary(self, prob: float = 0.95) -> pd.DataFrame:
        """One row per predicted row (and category): the data columns, then mean, sd,
        median and the ``prob`` equal-tailed interval (``lower``, ``upper``)."""
        stats = summarize(self.draws.drop_vars("row", errors="ignore"), prob, diagnostics=False)
        stats = stats[["mean", "sd", "median", "lower", "upper"]].reset_index()
        n = self.draws.sizes["obs"]
        reps = len(stats) // n
        data = self.data.reset_index(drop=True)
        if reps > 1:
            data = data.loc[np.repeat(np.arange(n), reps)].reset_index(drop=True)
        stats = stats.drop(columns=["obs"], errors="ignore")
        out = pd.concat([data, stats], axis=1)
        out.index = np.repeat(self.data.index.to_numpy(), reps) if reps > 1 else self.data.index
        out.attrs["interval"] = interval_label(prob)
        out.attrs["kind"] = self.kind
        out.attrs["groups"] = self.groups
        if self.scale:
            out.attrs["scale"] = self.scale
        if self.new_levels:
            out.attrs["new_levels"] = dict(self.new_levels)
        return out

    def to_datatree(self) -> xr.DataTree:
        """An ArviZ-style DataTree with the draws in the ``predictions`` group."""
        name = self.draws.name or "y"
        return xr.DataTree.from_dict({"predictions": xr.Dataset({name: self.draws})})

    def head(self, n: int = 5, prob: float = 0.95) -> pd.DataFrame:
        """Posterior mean and ``prob`` interval of the first ``n`` predicted rows (index:
        the rows' labels; one row per category for ordinal category probabilities)."""
        first = replace(self, draws=self.draws.isel(obs=slice(0, n)), data=self.data.iloc[:n])
        table = first.summary(prob)
        shown = [c for c in ("category", "mean", "lower", "upper") if c in table.columns]
        return table[shown]

    def _header(self) -> str:
        s = self.draws.sizes
        note = ""
        if self.new_levels:
            shown = "; ".join(f"{g}: {len(v)} new level(s)" for g, v in self.new_levels.items())
            note = f", new_groups={self.new_groups!r} ({shown})"
        if self.scale:
            note += f"; {self.scale}"
        return (
            f"<hierbayes.Predictions kind={self.kind!r} groups={self.groups!r}{note}: "
            f"{s['obs']} rows x {s['chain']} chains x {s['draw']} draws>"
        )

    def _footer(self, shown: int) -> str:
        rows = self.draws.sizes["obs"]
        more = f"first {shown} of {rows} rows; " if rows > shown else ""
        return (
            f"({more}posterior mean, {interval_label(0.95)}; "
            ".summary() for every row, .draws for the draws)"
        )

    def __repr__(self) -> str:
        shown = min(5, self.draws.sizes["obs"])
        table = self.head(shown).to_string(float_format=lambda v: f"{v:.4g}")
        return "\n".join([self._header(), table, self._footer(shown)])

    def _repr_html_(self) -> str:
        shown = min(5, self.draws.sizes["obs"])
        table = self.head(shown).to_html(float_format=lambda v: f"{v:.4g}")
        return f"<p>{html.escape(self._header())}</p>{table}<p>{self._footer(shown)}</p>"


def category_values(labels, n_categories: int) -> np.ndarray:
    """Numbers for the K categories of an ordinal response: its labels when they are numbers
    (a 1-5 rating), else the category numbers 1..K (as brms numbers them)."""
    try:
        values = np.asarray([float(v) for v in labels or ()])
    except ValueError:
        values = np.array([])
    return values if values.size == n_categories else np.arange(1.0, n_categories + 1.0)


def on_response_scale(model, codes: np.ndarray) -> np.ndarray:
    """An ordinal model's category codes 0..K-1 as the numbers of :func:`category_values`
    (the data's own scale); any other model's responses unchanged."""
    labels = getattr(model.design.encoder, "response_levels", None)
    if not labels:
        return codes
    return category_values(labels, len(labels))[np.asarray(codes).astype(np.int64)]


def mean_scale(model, kind: str, rows) -> str:
    """What a binomial model's ``kind="mean"`` predictions are: expected successes when the
    rows carry their trials, else probabilities (``Predictions.scale``)."""
    if kind != "mean" or not get_family(model.spec.family).takes_trials:
        return ""
    if rows.trials is not None:
        return "means are expected successes out of each row's trials (probability x trials)"
    return "means are probabilities (the rows have no trials)"


def warn_new_levels(pred: Predictions) -> Predictions:
    """``pred``, after a warning naming the group levels it met that the fit has not seen
    (each drew an effect from the population: lme4 and brms refuse them unless asked)."""
    if pred.new_levels:
        shown = "; ".join(f"{g}: {', '.join(map(repr, v[:5]))}{' ...' if len(v) > 5 else ''}"
                          for g, v in pred.new_levels.items())
        warn_user(f"predict: levels not in the fitted data ({shown}) got effects drawn from the population; "
                  "if they are typos, fix them; pass new_groups='sample' to predict new groups without this "
                  "warning, or new_groups='error' to refuse them")
    return pred


def as_dataarray(values: np.ndarray, posterior: xr.Dataset, row_labels, name: str, categories=None) -> xr.DataArray:
    """(S, n[, K]) numpy draws back onto the posterior's (chain, draw) grid."""
    chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
    arr = np.asarray(values).reshape(chains, draws, *np.shape(values)[1:])
    dims = ["chain", "draw", "obs"]
    coords: dict = {
        "chain": posterior["chain"].values,
        "draw": posterior["draw"].values,
        "obs": np.arange(arr.shape[2]),
        "row": ("obs", np.asarray(row_labels)),
    }
    if arr.ndim == 4:
        dims.append("category")
        coords["category"] = list(categories) if categories is not None else np.arange(arr.shape[3])
    return xr.DataArray(arr, dims=dims, coords=coords, name=name)
