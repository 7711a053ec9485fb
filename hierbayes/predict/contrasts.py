"""Pairwise comparisons of margins (emmeans' ``pairs()``, Stata's ``margins, pwcompare``).

Every pair of levels of one margin column is compared draw by draw: the difference
(later level minus earlier level, labelled ``"b - a"``), its interval and the posterior
probability that it is positive; and, where a ratio means something, the ratio:

* expected probabilities of a bernoulli model: the odds ratio of the two margins;
* expected responses under a log link: the ratio of the means (rate ratio);
* linear predictors under a logit / log / cloglog link: exp(difference), the odds ratio /
  rate ratio / hazard ratio;
* log hazards of a proportional-hazards family (weibull, exponential): the hazard ratio;
* expected times and linear predictors of a survival family: the time ratio.

The functions take plain draws and a grid (they know nothing of :class:`.margins.Margins`,
whose ``pairs()`` calls them).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import SpecError, checks_prob
from ..families import FAMILIES
from ..results.report import PrintedAsReport, Summary, table_report
from ..results.stats import flatten_draws, interval_label, summarize

CONTRAST_DIM = "contrast"
#: link -> name of exp(difference of linear predictors)
LINEAR_RATIOS = {"logit": "odds ratio", "log": "rate ratio", "cloglog": "hazard ratio"}


def ratio_kind(what: str, family: str, link: str) -> str | None:
    """The ratio that means something for margins of ``what`` ("mean"/"linear") under
    ``family`` and ``link``: "odds ratio", "rate ratio", "hazard ratio", the family's own
    ratio ("time ratio") or None."""
    if what == "log_hazard":
        return "hazard ratio"
    named = FAMILIES.get(family)
    if what in ("mean", "linear") and named is not None and named.ratio is not None:
        return named.ratio  # survival families: exp(difference) and ratios of means are time ratios
    if what == "linear":
        return LINEAR_RATIOS.get(link)
    if what == "mean" and named is not None and named.is_binomial:  # margins of probabilities
        return "odds ratio"
    if what == "mean" and link == "log":
        return "rate ratio"
    return None


def _ratio(later: np.ndarray, earlier: np.ndarray, what: str, kind: str) -> np.ndarray:
    if what in ("linear", "log_hazard"):
        return np.exp(later - earlier)
    if kind == "odds ratio":
        return (later / (1 - later)) / (earlier / (1 - earlier))
    return later / earlier


@dataclass(frozen=True, eq=False, repr=False)
@checks_prob
class Contrasts(PrintedAsReport):
    """Posterior draws of pairwise differences (and ratios) of margins.

    draws : xarray.DataArray (chain, draw, contrast) of the differences.
    grid : one row per contrast: ``contrast`` ("b - a") and the columns held fixed.
    over : the column whose levels are compared.
    ratios : the ratio draws (same dims) or None; ``ratio_kind`` names them.
    note : what the comparison is of, where it is not the model's effect of ``over`` alone.
    """

    draws: xr.DataArray
    grid: pd.DataFrame
    over: str
    what: str
    ratios: xr.DataArray | None = None
    ratio_kind: str | None = None
    note: str = ""

    def summary(self, prob: float = 0.95) -> pd.DataFrame:
        """One row per pair: ``contrast``, the fixed columns, the difference's mean, sd,
        median, lower, upper, ``p_gt_0`` (posterior probability that it is > 0) and, with
        a ratio, its posterior median ``ratio`` and interval ``ratio_lower``, ``ratio_upper``."""
        stats = summarize(self.draws, prob, diagnostics=False)[["mean", "sd", "median", "lower", "upper"]]
        out = pd.concat([self.grid.reset_index(drop=True), stats.reset_index(drop=True)], axis=1)
        out["p_gt_0"] = (flatten_draws(self.draws) > 0).mean(axis=0)
        if self.ratios is not None:
            r = summarize(self.ratios, prob, diagnostics=False).reset_index(drop=True)
            out["ratio"], out["ratio_lower"], out["ratio_upper"] = r["median"], r["lower"], r["upper"]
        out.attrs.update(interval=interval_label(prob), over=self.over, what=self.what,
                         difference="later level minus earlier level")
        if self.ratio_kind:
            out.attrs["ratio"] = f"{self.ratio_kind} (later level / earlier level)"
        if self.note:
            out.attrs["note"] = self.note
        return out

    def _report(self) -> Summary:
        ratio = f", {self.ratio_kind}s" if self.ratio_kind else ""
        return table_report(f"<hierbayes.Contrasts of {self.over} ({self.what} differences{ratio}): "
                            f"{len(self.grid)} pair(s)>", self.summary(), (f"({self.note})" if self.note else "",))


def pairwise(draws: xr.DataArray, grid: pd.DataFrame, over: str, what: str, *, family: str = "",
             link: str = "") -> Contrasts:
    """Every pairwise difference of the margins in ``draws`` (chain, draw, margin) between
    the levels of grid column ``over``, within each combination of the other grid columns.

    Parameters
    ----------
    draws : the margins' draws, one column per row of ``grid``.
    grid : the margins' grid.
    over : the grid column whose levels are compared.
    what : "mean", "linear" or "log_hazard" (what the margins are).
    family, link : the model's family and link (they decide which ratio is reported).

    Returns
    -------
    Contrasts

    Raises
    ------
    SpecError
        For ``over`` not in the grid, fewer than two levels, or margins of effects.
    """
    if what not in ("mean", "linear", "log_hazard"):
        raise SpecError(f"pairwise comparisons are of predictions ('mean', 'linear' or 'log_hazard'), not of {what!r} margins")
    if over not in grid.columns:
        raise SpecError(f"over={over!r} is not a column of the margins; columns: {list(grid.columns)}")
    kind = ratio_kind(what, family, link)
    values = flatten_draws(draws)
    others = [c for c in grid.columns if c != over]
    grid = grid.reset_index(drop=True)
    parts = grid.groupby(others, sort=False, dropna=False) if others else [((), grid)]
    diffs, ratios, rows = [], [], []
    for key, part in parts:
        if len(part) < 2:
            raise SpecError(f"{over!r} has one level in the margins; nothing to compare")
        for i, j in itertools.combinations(part.index, 2):
            diffs.append(values[:, j] - values[:, i])
            if kind:
                ratios.append(_ratio(values[:, j], values[:, i], what, kind))
            row = {"contrast": f"{grid.at[j, over]} - {grid.at[i, over]}"}
            row.update(zip(others, key if isinstance(key, tuple) else (key,), strict=True))
            rows.append(row)

    def as_draws(columns: list[np.ndarray], name: str) -> xr.DataArray:
        stacked = np.stack(columns, axis=1).reshape(draws.sizes["chain"], draws.sizes["draw"], -1)
        return xr.DataArray(stacked, dims=("chain", "draw", CONTRAST_DIM),
                            coords={CONTRAST_DIM: np.arange(stacked.shape[2])}, name=name)

    return Contrasts(as_draws(diffs, "difference"), pd.DataFrame(rows), over, what,
                     as_draws(ratios, "ratio") if kind else None, kind)
