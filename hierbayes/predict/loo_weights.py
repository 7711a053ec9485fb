"""PSIS-LOO of a model with frequency weights: leave out one of a row's copies, not all.

A row with frequency weight ``w`` stands for ``w`` identical observations, and its
log-likelihood term is ``w`` times one copy's (:mod:`.loglik`). PSIS on that term leaves
out all ``w`` copies at once: on MASS's housing data (72 cells standing for 1,681 answers)
elpd was -1,871 with p_loo 236 and 18 cells' Pareto k above 0.7, where the 1,681 rows
themselves give -1,748, p_loo 8.2 and no bad k. Here the importance ratios are one copy's,
and each row's elpd and p_loo count ``w`` times: exactly the LOO of the expanded data.
The standard error is the expanded data's (``sqrt(N var)``, ``var`` with ``N - 1``, over the
``N = sum w`` copies).
"""

from __future__ import annotations

import copy

import numpy as np
import xarray as xr
from scipy import special

from ..params import OBS_DIM


def frequency_weights(design) -> np.ndarray | None:
    """(n,) the rows' frequency weights of a design, None without them (or with sampling weights)."""
    weights = getattr(design, "weights", None)
    if weights is None or not getattr(weights, "frequency", False):
        return None
    return np.asarray(weights.rows, dtype=float)


def per_copy(tree: xr.DataTree, weights: np.ndarray, var_name: str) -> xr.DataTree:
    """``tree`` with each row's log-likelihood divided by its weight (rows of weight 0 stay 0)."""
    ll = tree["log_likelihood"].to_dataset()
    inverse = np.divide(1.0, weights, out=np.zeros_like(weights), where=weights > 0)
    scale = xr.DataArray(inverse, dims=OBS_DIM, coords={OBS_DIM: ll[var_name][OBS_DIM].values})
    groups = {key: child.to_dataset() for key, child in tree.children.items()}
    groups["log_likelihood"] = ll.assign({var_name: ll[var_name] * scale})
    return xr.DataTree.from_dict(groups)


def counted(result, copy_tree: xr.DataTree, weights: np.ndarray, var_name: str):
    """The LOO of one copy per row (``result``, from ``copy_tree``) with each row counted
    ``weights`` times: elpd, p_loo, their pointwise values, se and the number of data points."""
    ll = np.asarray(copy_tree["log_likelihood"][var_name].values, dtype=float)
    ll = ll.reshape(-1, ll.shape[-1])
    lppd_i = special.logsumexp(ll, axis=0) - np.log(ll.shape[0])
    elpd_i = np.asarray(result.elpd_i.values, dtype=float).ravel()
    n = float(weights.sum())
    out = copy.copy(result)
    out.elpd = float(np.sum(weights * elpd_i))
    out.p = float(np.sum(weights * (lppd_i - elpd_i)))
    out.se = float(np.sqrt(n / max(n - 1.0, 1.0) * np.sum(weights * (elpd_i - out.elpd / n) ** 2)))
    out.n_data_points = int(round(n))
    out.elpd_i = result.elpd_i * xr.DataArray(weights, dims=result.elpd_i.dims, coords=result.elpd_i.coords)
    if getattr(result, "p_loo_i", None) is not None:
        out.p_loo_i = xr.DataArray(weights * (lppd_i - elpd_i), dims=result.elpd_i.dims, coords=result.elpd_i.coords)
    return out


def weighted_loo(loo, tree: xr.DataTree, design, var_name: str, pointwise: bool = True):
    """``loo(tree, pointwise)`` (ArviZ's, its other options bound), one copy at a time for
    frequency weights (then always pointwise: the rows' values are weighted)."""
    weights = frequency_weights(design)
    if weights is None:
        return loo(tree, pointwise)
    copies = per_copy(tree, weights, var_name)
    return counted(loo(copies, True), copies, weights, var_name)
