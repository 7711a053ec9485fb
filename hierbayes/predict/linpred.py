"""The linear predictor computed from posterior draws in numpy (no PyMC, no recompilation).

Used by predictions, the pointwise log-likelihood, posterior predictive checks and MRP.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from ..errors import DataError
from ..params import BlockNames, block_names
from ..results.stats import flatten_draws
from ..results.tables import block_sd_draws, fixed_draws
from ..spec.ir import ModelSpec

NEW_GROUP_POLICIES = ("sample", "zero", "error")


def fixed_coefficients(posterior: xr.Dataset, fixed_names: Sequence[str]) -> np.ndarray:
    """(S, p) draws of the fixed effects in the column order ``fixed_names``."""
    fx = fixed_draws(posterior)
    return flatten_draws(fx.sel(term=list(fixed_names))) if len(fixed_names) else np.zeros(
        (posterior.sizes["chain"] * posterior.sizes["draw"], 0)
    )


def block_covariance_cholesky(posterior: xr.Dataset, names: BlockNames) -> np.ndarray:
    """(S, K, K) Cholesky factors of the group-effect covariance of one block."""
    sd = flatten_draws(block_sd_draws(posterior, names))  # (S, K)
    S, K = sd.shape
    if names.cor in posterior:
        cor = flatten_draws(posterior[names.cor])  # (S, K, K)
    else:
        cor = np.broadcast_to(np.eye(K), (S, K, K))
    cov = sd[:, :, None] * cor * sd[:, None, :]
    return np.linalg.cholesky(cov + 1e-12 * np.eye(K))


def sample_new_effects(posterior: xr.Dataset, names: BlockNames, n_new: int, rng: np.random.Generator) -> np.ndarray:
    """(S, n_new, K) effects of unseen levels: one draw per posterior draw and new level,
    from the fitted population distribution N(0, Sigma)."""
    chol = block_covariance_cholesky(posterior, names)
    S, K, _ = chol.shape
    z = rng.standard_normal((S, n_new, K))
    return np.einsum("sjk,slk->sjl", z, chol)


def _add_group_effects(eta: np.ndarray, u: np.ndarray, codes: np.ndarray, Xb: np.ndarray) -> None:
    """eta += sum_k u[:, codes, k] * Xb[:, k] in place, one column at a time (a gather of
    (S, n) per column instead of an (S, n, K) temporary); all-ones columns skip the product."""
    for k in range(Xb.shape[1]):
        gathered = np.take(np.ascontiguousarray(u[:, :, k]), codes, axis=1)
        column = Xb[:, k]
        if np.all(column == 1.0):
            eta += gathered
        else:
            gathered *= column
            eta += gathered


def linear_predictor(
    posterior: xr.Dataset,
    spec: ModelSpec,
    fixed_names: Sequence[str],
    X: np.ndarray,
    groups: Sequence,
    *,
    include_groups: bool = True,
    new_groups: str = "sample",
    rng: np.random.Generator | None = None,
    offset: np.ndarray | None = None,
    only: frozenset[str] | None = None,
) -> np.ndarray:
    """(S, n) draws of the linear predictor for rows encoded as ``X`` and ``groups``.

    ``groups`` holds one block per group term with ``codes`` (-1 for unseen levels), ``X``
    and, for unseen levels, ``new_levels`` and ``new_codes`` (a design GroupBlock or a
    NewGroupBlock). ``new_groups`` says what an unseen level gets: ``sample`` a fresh
    effect per posterior draw from the population distribution, shared by the rows of that
    level; ``zero`` no group effect; ``error`` a DataError naming the levels. ``offset`` (n,)
    is the rows' summed offsets (``Design.offset`` / ``NewData.offset``), added with
    coefficient 1 whatever ``include_groups`` says; pass the offset of the rows predicted.
    ``only`` (with ``include_groups``): the grouping factors whose effects are added (lme4's
    ``re.form = ~(1 | g)``); None adds every term's.
    """
    if new_groups not in NEW_GROUP_POLICIES:
        raise DataError(f"new_groups={new_groups!r}: valid values are {list(NEW_GROUP_POLICIES)}")
    rng = rng if rng is not None else np.random.default_rng()
    beta = fixed_coefficients(posterior, fixed_names)
    eta = beta @ np.asarray(X, dtype=float).T
    if offset is not None:
        eta += np.asarray(offset, dtype=float)
    if not include_groups:
        return eta
    for block, names in zip(groups, block_names(spec)):
        if only is not None and names.group not in only:
            continue
        u = flatten_draws(posterior[names.effects])  # (S, J, K)
        codes = np.asarray(block.codes)
        seen = codes >= 0
        Xb = np.asarray(block.X, dtype=float)
        if seen.all():
            _add_group_effects(eta, u, codes, Xb)
        elif seen.any():
            eta[:, seen] += np.einsum("snk,nk->sn", u[:, codes[seen], :], Xb[seen])
        new_levels = tuple(getattr(block, "new_levels", ()))
        if not new_levels or seen.all():
            continue
        if new_groups == "error":
            shown = ", ".join(repr(v) for v in new_levels[:10])
            raise DataError(
                f"grouping factor {names.group!r} has levels the model was not fit with: {shown}"
                f"{' ...' if len(new_levels) > 10 else ''}; pass new_groups='sample' or new_groups='zero'"
            )
        if new_groups == "sample":
            fresh = sample_new_effects(posterior, names, len(new_levels), rng)
            new_codes = np.asarray(block.new_codes)[~seen]
            eta[:, ~seen] += np.einsum("snk,nk->sn", fresh[:, new_codes, :], Xb[~seen])
    return eta
