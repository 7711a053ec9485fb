"""Leave-one-group-out cross-validation (LOGO): how well a model predicts a *whole new
group*; the three methods are described in :mod:`.compare`'s docstring. ``reloo=True``
replaces the levels PSIS cannot trust by exact refits (brms's ``reloo``)."""

from __future__ import annotations

import copy
import dataclasses
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr
from scipy import special

from ..errors import DataError, SpecError
from ..params import block_names
from ..results.stats import flatten_draws
from .compare import K_THRESHOLD, OBSERVED, loglik_dataset, pointwise_loglik, unreliable_points
from .group_loglik import group_blocks, group_sums, integrated_group_loglik, nested_factors
from .predict import encode_rows, row_design, thin, training_frame

LOGO_METHODS = ("integrated", "psis", "exact")

@dataclass(frozen=True, eq=False)
class LOGO:
    """Leave-one-group-out cross-validation of one grouping factor.

    elpd, se : sum over levels of log p(y_j | y_{-j}) and its standard error.
    pointwise : one row per level: n (rows), elpd, pareto_k (PSIS methods), refit (with
        ``reloo=True``: the level's elpd is an exact refit's).
    method : "integrated", "psis" or "exact"; note : how to read the result.
    elpd_data : ArviZ ELPDData (PSIS methods), usable in ``az.compare``.
    """

    group: str
    method: str
    elpd: float
    se: float
    pointwise: pd.DataFrame
    note: str
    elpd_data: object | None = None

    @property
    def good_k(self) -> float:
        """The Pareto k above which a level's PSIS estimate is unreliable (ArviZ's, by the
        number of draws: 0.7 from 2,200 draws on)."""
        return float(getattr(self.elpd_data, "good_k", None) or K_THRESHOLD)

    @property
    def n_bad_k(self) -> int:
        if "pareto_k" not in self.pointwise:
            return 0
        bad = ~(self.pointwise["pareto_k"] <= self.good_k)
        return int((bad & ~self.pointwise["refit"]).sum() if "refit" in self.pointwise else bad.sum())

    def __repr__(self) -> str:
        return (
            f"<hierbayes.LOGO {self.group} ({self.method}): elpd {self.elpd:.1f} (se {self.se:.1f}) "
            f"over {len(self.pointwise)} levels>\n  {self.note}"
        )


def _factor_codes(model, group: str) -> tuple[np.ndarray, tuple[str, ...]]:
    block = next(b for b in row_design(model).groups if b.group == group)
    return np.asarray(block.codes), tuple(block.levels)


def group_effects_proposal(fit, drop: Sequence[bool]) -> tuple[np.ndarray, np.ndarray]:
    """Per level of the held-out factor: mean (J, K) and Cholesky (J, K, K) of the fit's
    posterior of its effects (all blocks of the factor stacked): where quadrature starts."""
    posterior = fit.posterior
    parts = [flatten_draws(posterior[n.effects]) for n, d in zip(block_names(fit.spec), drop, strict=True) if d]
    u = np.concatenate(parts, axis=2)  # (S, J, K)
    mean = u.mean(axis=0)
    centred = u - mean
    cov = np.einsum("sjk,sjl->jkl", centred, centred) / max(u.shape[0] - 1, 1)
    K = u.shape[2]
    return mean, np.linalg.cholesky(cov + 1e-9 * np.eye(K))


def _shown(levels: Sequence, most: int = 8) -> str:
    """``levels`` as a Python list to paste (the first ``most`` of them, then ``...``)."""
    values = [v.item() if isinstance(v, np.generic) else v for v in list(levels)[:most]]
    return repr(values) if len(levels) <= most else repr(values)[:-1] + ", ...]"


def _psis(values: np.ndarray, posterior: xr.Dataset, levels: Sequence[str], group: str, log_jacobian: np.ndarray | None = None):
    import arviz_stats as az  # ArviZ's statistics, without its plotting (matplotlib)

    ds = loglik_dataset(values, posterior, dim=group, coord=list(levels))
    tree = xr.DataTree.from_dict({"posterior": posterior, "log_likelihood": ds})
    jacobian = None if log_jacobian is None else xr.DataArray(log_jacobian, dims=group, coords={group: list(levels)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return az.loo(tree, pointwise=True, var_name=OBSERVED, log_jacobian=jacobian)


def _note(method: str, n_bad: int, n: int, group: str = "", bad_levels: Sequence = (), good_k: float = K_THRESHOLD) -> str:
    if method == "exact":
        return (
            "exact: one refit per held-out level; the held-out level's effect integrated out "
            "(closed form for gaussian responses, adaptive Gauss-Hermite quadrature otherwise)"
        )
    has, its, them = ("has", "its", "it") if n_bad == 1 else ("have", "their", "them")
    k = (
        f"{n_bad} of {n} levels {has} Pareto k > {good_k:.2f} or not estimable: {its} elpd is unreliable; "
        f"fit.logo({group!r}, reloo=True) refits {them} exactly (brms's reloo; fit.logo({group!r}, "
        f"method='exact', levels={_shown(bad_levels)}) shows {them} alone)"
        if n_bad else f"all {n} levels have Pareto k <= {good_k:.2f}"
    )
    if method == "psis":
        return (
            "PSIS with the group-summed conditional log-likelihood: Pareto k is usually high "
            "because a group's own data pin down its effect; prefer method='integrated'. " + k
        )
    return "PSIS with each group's effect integrated out (marginal group likelihood). " + k


def logo(
    fit,
    group: str | None = None,
    *,
    method: str = "integrated",
    levels: Sequence | None = None,
    n_mc: int = 200,
    ndraws: int | None = None,
    random_seed: int | None = None,
    log_jacobian: np.ndarray | None = None,
    reloo: bool = False,
    **fit_kwargs,
) -> LOGO:
    """Leave-one-group-out cross-validation for a grouping factor.

    Parameters
    ----------
    fit : hierbayes.Fit
    group : the grouping factor (default: the first one).
    method : "integrated" (PSIS, group effect integrated out; default), "psis"
        (PSIS with the group-summed conditional log-likelihood) or "exact" (refits).
    levels : for "exact", the levels to hold out (default all: one fit each).
    n_mc : quadrature points per level and draw at most (200: 20 nodes for one effect, 14 x 14 for two).
    ndraws : thin the posterior to about this many draws (PSIS methods).
    random_seed : seed for the integration (and the refits).
    log_jacobian : per training row, log|dz/dy| of a transformed response z = T(y), added to
        each level's elpd to put it on the scale of y (what ``compare`` uses).
    reloo : PSIS methods: refit exactly the levels whose Pareto k exceeds 0.7 (or is not
        estimable) and use their exact elpd (brms's ``reloo``); ``pointwise["refit"]`` marks them.
    fit_kwargs : passed to ``Model.fit`` for the refits (draws, tune, chains, ...).

    Returns
    -------
    LOGO
    """
    if method not in LOGO_METHODS:
        raise SpecError(f"method={method!r}: valid values are {list(LOGO_METHODS)}")
    model = fit.model
    if not model.design.groups:
        raise SpecError("the model has no grouping factor to leave out")
    group = model.design.groups[0].group if group is None else group
    drop = group_blocks(model, group)
    if model.design.residuals is not None and method != "integrated":
        # the psis form sums rows' log-likelihoods, which correlated rows do not factor into;
        # the refits' held-out rows would need their own residual layout
        raise SpecError(
            f"method={method!r} is not available for a model with a residual structure; "
            "method='integrated' (the default) gives each level's joint likelihood"
        )
    nested = nested_factors(model.design, group)
    if nested and method == "integrated":
        raise SpecError(
            f"leave-one-group-out of {group!r} with its effects integrated out: {nested} "
            f"{'is' if len(nested) == 1 else 'are'} nested in {group!r}, and the left-out rows' own "
            f"{nested[0]!r} effects, learned from those rows, would stay in; use method='exact' (a refit "
            f"per level; levels=[...] for a few) or method='psis' (group-summed, often unreliable), or "
            f"leave out {nested[-1]!r} instead"
        )
    codes, all_levels = _factor_codes(model, group)
    J = len(all_levels)
    counts = np.bincount(codes, minlength=J)
    rng = np.random.default_rng(random_seed)
    jacobian = None if log_jacobian is None else np.bincount(codes, weights=np.asarray(log_jacobian, float), minlength=J)
    if method == "exact":
        result = exact_logo(fit, group, drop, codes, all_levels, levels, n_mc, rng, random_seed, fit_kwargs)
        if jacobian is None:
            return result
        table = result.pointwise.assign(elpd=result.pointwise["elpd"] + jacobian[[all_levels.index(v) for v in result.pointwise[group]]])
        return dataclasses.replace(result, elpd=float(table["elpd"].sum()), pointwise=table)
    if levels is not None:
        raise SpecError("levels= is for method='exact'; PSIS methods use every level")
    posterior = thin(fit.posterior, ndraws)
    rows = encode_rows(model)
    if method == "psis":
        values = group_sums(pointwise_loglik(posterior, model), codes, J)
    else:
        values = integrated_group_loglik(
            posterior, model, rows, row_design(model).y, group, codes, J, group_effects_proposal(fit, drop), n_mc=n_mc, rng=rng,
            weights=model.design.row_weights,  # a weighted fit's rows count as in its likelihood
        )
    result = _psis(values, posterior, all_levels, group, jacobian)
    k = np.asarray(result.pareto_k.values if hasattr(result.pareto_k, "values") else result.pareto_k, float)
    elpd_i = np.asarray(result.elpd_i.values if hasattr(result.elpd_i, "values") else result.elpd_i, float)
    table = pd.DataFrame({group: list(all_levels), "n": counts, "elpd": elpd_i, "pareto_k": k})
    bad_points, good_k = unreliable_points(result)  # NaN k: not estimable, as unreliable as a large k
    bad = np.isin(np.arange(J), bad_points)
    bad_levels = [v for v, b in zip(all_levels, bad, strict=True) if b]
    note = _note(method, int(bad.sum()), J, group, bad_levels, good_k)
    if reloo and bad_levels:
        exact = exact_logo(fit, group, drop, codes, all_levels, bad_levels, n_mc, rng, random_seed, fit_kwargs)
        refit_elpd = exact.pointwise["elpd"].to_numpy() + (0.0 if jacobian is None else jacobian[bad])
        return _with_refits(LOGO(group, method, float(result.elpd), float(result.se), table, note, result), bad, refit_elpd)
    return LOGO(group, method, float(result.elpd), float(result.se), table, note, result)


def _with_refits(psis: LOGO, refit: np.ndarray, refit_elpd: np.ndarray) -> LOGO:
    """``psis`` with the levels ``refit`` (a mask) given their exact refits' elpd: the total,
    its se (ArviZ's sqrt(J var)) and p_loo follow; in ``elpd_data`` their Pareto k is 0 (as in
    brms), so comparisons built on it no longer flag them."""
    table = psis.pointwise.assign(refit=refit)
    table.loc[refit, "elpd"] = refit_elpd
    elpd_i = table["elpd"].to_numpy(dtype=float)
    elpd, se = float(elpd_i.sum()), float(np.sqrt(len(elpd_i) * np.var(elpd_i)))
    data = copy.copy(psis.elpd_data)
    data.elpd_i = data.elpd_i.copy(data=elpd_i.reshape(data.elpd_i.shape))
    data.pareto_k = data.pareto_k.copy(data=np.where(refit, 0.0, np.asarray(data.pareto_k, float)).reshape(data.pareto_k.shape))
    data.p, data.elpd, data.se = data.p + psis.elpd - elpd, elpd, se
    data.warning = bool(np.any(np.asarray(data.pareto_k, float) > psis.good_k))
    note = (psis.note.split(". ")[0] + f". {int(refit.sum())} of {len(refit)} levels with Pareto k > {psis.good_k:.2f} "
            "or not estimable refitted exactly (pointwise['refit'])")
    return LOGO(psis.group, psis.method, elpd, se, table, note, data)


def exact_logo(fit, group, drop, codes, all_levels, levels, n_mc, rng, random_seed, fit_kwargs) -> LOGO:
    """Exact leave-one-group-out: the model refitted without each chosen level of ``group``
    and that level's integrated likelihood under the refit (``logo(method="exact")``)."""
    model = fit.model
    rdesign = row_design(model)
    data = training_frame(model)
    chosen = list(all_levels) if levels is None else [str(v) for v in levels]
    unknown = [v for v in chosen if v not in all_levels]
    if unknown:
        raise DataError(f"levels {unknown} are not levels of {group!r}; valid: {list(all_levels)[:20]}")
    mean, pchol = group_effects_proposal(fit, drop)
    kwargs = {"draws": 500, "tune": 500, "chains": 4, "progressbar": False, "random_seed": random_seed}
    kwargs.update(fit_kwargs)
    out = []
    for level in chosen:
        j = all_levels.index(level)
        held = codes == j
        train = data.iloc[np.flatnonzero(~held)]
        test = data.iloc[np.flatnonzero(held)]
        refit_model = model.with_data(train)  # the same configuration, collapse included
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            refit = refit_model.fit(**kwargs)
        rows = encode_rows(refit_model, test)
        if rdesign.censoring is not None:
            rows = dataclasses.replace(rows, censoring=rdesign.censoring.take(held))
        local = np.zeros(int(held.sum()), dtype=np.int64)
        ll = integrated_group_loglik(
            refit.posterior, refit_model, rows, rdesign.y[held], group, local, 1,
            (mean[j:j + 1], pchol[j:j + 1]), n_mc=n_mc, rng=rng,
            weights=None if model.design.row_weights is None else model.design.row_weights[held],
        )[:, 0]
        out.append((level, int(held.sum()), float(special.logsumexp(ll) - np.log(ll.size))))
    table = pd.DataFrame(out, columns=[group, "n", "elpd"])
    elpd = float(table["elpd"].sum())
    se = float(np.sqrt(len(table) * table["elpd"].var(ddof=1))) if len(table) > 1 else float("nan")
    return LOGO(group, "exact", elpd, se, table, _note("exact", 0, len(table)))
