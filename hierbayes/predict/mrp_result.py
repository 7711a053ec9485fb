"""The result of poststratification: subgroup draws and their summary table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from ..errors import checks_prob

# Posterior computations need xarray and ArviZ (via results.stats), which are slow to
# import; they are imported where used so `import hierbayes` stays fast.
if TYPE_CHECKING:
    import xarray as xr

__all__ = ["SUBGROUP_DIM", "PoststratResult"]

SUBGROUP_DIM = "subgroup"


@dataclass(frozen=True, eq=False)
@checks_prob
class PoststratResult:
    """Posterior draws of poststratified subgroup estimates.

    draws : xarray.DataArray, dims (chain, draw, subgroup); the ``subgroup`` coordinate is
        the subgroup label (``"AL"``, ``"AL:White"``, ``"population"``) and every ``by``
        column is a coordinate along it.
    groups : one row per subgroup: the ``by`` columns, ``population`` (sum of the cell
        counts), ``cells``, ``respondents`` (survey rows in the subgroup, when the survey has
        the ``by`` columns) and ``sample_mean`` (the raw survey mean of the response; a weighted
        fit's weighted by the rows' inclusion weights).
    by : the subgroup columns (empty for the whole population).
    new_levels : per grouping factor, the levels with population but no respondents.
    notes : plain-language notes (new levels, dropped subgroups, uncovered levels).
    """

    draws: xr.DataArray
    groups: pd.DataFrame
    by: tuple[str, ...]
    new_levels: dict[str, tuple[str, ...]]
    notes: tuple[str, ...]

    def summary(self, prob: float = 0.95) -> pd.DataFrame:
        """Tidy table: one row per subgroup with mean, sd, median, ``prob`` interval
        (``lower``, ``upper``), r_hat, ess_bulk, ess_tail, population, cells, respondents
        and sample_mean."""
        from ..results.stats import interval_label, summarize  # noqa: PLC0415 (slow import)

        stats = summarize(self.draws.drop_vars(list(self.by), errors="ignore"), prob)
        stats = stats.reset_index(drop=True)
        info = self.groups.reset_index(drop=True)
        out = pd.concat([info[list(self.by)], stats, info.drop(columns=list(self.by))], axis=1)
        if self.by:
            out = out.set_index(list(self.by))
        else:
            out.index = pd.Index(["population"], name=SUBGROUP_DIM)
        out.attrs["interval"] = interval_label(prob)
        out.attrs["notes"] = self.notes
        return out

    def __repr__(self) -> str:
        what = ", ".join(self.by) if self.by else "the whole population"
        lines = [f"<hierbayes.PoststratResult by {what}: {self.draws.sizes[SUBGROUP_DIM]} subgroup(s)>"]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)
