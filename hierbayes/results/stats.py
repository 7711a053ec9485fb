"""Posterior summaries of draw arrays: mean, sd, median, interval, R-hat and ESS."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import check_probability
from .mcmc_stats import convergence

SAMPLE_DIMS = ("chain", "draw")
STAT_COLUMNS = ["mean", "sd", "median", "lower", "upper", "r_hat", "ess_bulk", "ess_tail"]


def interval_label(prob: float) -> str:
    return f"{round(prob * 100, 1):g}% equal-tailed credible interval"


def summarize(da: xr.DataArray, prob: float = 0.95, diagnostics: bool = True) -> pd.DataFrame:
    """One row per element of ``da`` over its non-sample dims.

    ``da`` has dims (chain, draw, *rest). The returned frame has a row per combination of
    the ``rest`` coordinates (a flat index when there is one such dim) and the columns of
    STAT_COLUMNS (``lower``/``upper`` are the equal-tailed ``prob`` interval).
    """
    check_probability(prob)
    rest = [d for d in da.dims if d not in SAMPLE_DIMS]
    stacked = da.stack(__row__=rest) if rest else da.expand_dims(__row__=[0])
    values = stacked.transpose("chain", "draw", "__row__").values
    flat = values.reshape(values.shape[0] * values.shape[1], values.shape[-1])  # no -1: there may be 0 rows
    alpha = (1 - prob) / 2
    out = pd.DataFrame(
        {
            "mean": flat.mean(axis=0),
            "sd": flat.std(axis=0, ddof=1),
            "median": np.median(flat, axis=0),
            "lower": np.quantile(flat, alpha, axis=0),
            "upper": np.quantile(flat, 1 - alpha, axis=0),
        }
    )
    if diagnostics and flat.shape[1]:
        # ArviZ's estimators, vectorised over the scalars (mcmc_stats.py; arviz_stats would
        # also import scipy.stats, 0.5 s)
        from arviz_base import rcParams

        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            r_hat, ess_bulk, ess_tail = convergence(np.asarray(values, dtype=float), rcParams["stats.ci_prob"])
        out["r_hat"], out["ess_bulk"], out["ess_tail"] = r_hat, ess_bulk, ess_tail
    elif diagnostics:  # nothing to summarize (a model without group terms or family parameters)
        out = out.reindex(columns=STAT_COLUMNS)
    if len(rest) == 1:
        out.index = pd.Index(da.coords[rest[0]].values if rest[0] in da.coords else np.arange(len(out)), name=rest[0])
    elif rest:
        out.index = stacked.indexes["__row__"]
    out.attrs["interval"] = interval_label(prob)
    return out


def flatten_draws(da: xr.DataArray) -> np.ndarray:
    """(chain * draw, ...) array of draws."""
    rest = [d for d in da.dims if d not in SAMPLE_DIMS]
    v = da.transpose("chain", "draw", *rest).values
    return v.reshape(-1, *v.shape[2:])


def group_effects_array(values: np.ndarray, posterior: xr.Dataset, block, names) -> xr.DataArray:
    """Draws of one block's group effects, ``values`` of shape (chains * draws, J, K), as the
    posterior's ``names.effects`` variable (chain, draw, level, column)."""
    n_chain, n_draw = posterior.sizes["chain"], posterior.sizes["draw"]
    return xr.DataArray(
        values.reshape(n_chain, n_draw, *values.shape[1:]),
        dims=("chain", "draw", names.level_dim, names.column_dim),
        coords={
            "chain": posterior["chain"].values,
            "draw": posterior["draw"].values,
            names.level_dim: list(block.levels),
            names.column_dim: list(block.columns),
        },
        name=names.effects,
    )
