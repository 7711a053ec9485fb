"""Out-of-sample predictive accuracy: PSIS-LOO and leave-one-group-out (LOGO)
cross-validation (model comparison with stacking weights, ``compare``, is in :mod:`.ranking`).

The pointwise log-likelihood log p(y_i | theta_s) is read from ``fit.idata["log_likelihood"]``
when the fit stored it, and otherwise computed in numpy from the posterior draws (the
model is never recompiled) and attached to ``fit.idata`` for reuse.

Leave-one-group-out asks how well the model predicts a *whole new group*. The target for
level j is elpd_j = log p(y_j | y_{-j}), where y_j are all rows of level j; without y_j the
level's effect u_j follows its population distribution N(0, Sigma). Three estimates:

``method="psis"``
    PSIS with the group-summed conditional log-likelihood sum_{i in j} log p(y_i | theta, u_j).
    Cheap, but the importance ratios 1 / p(y_j | theta, u_j) are heavy-tailed whenever a
    group's data inform its effect (which is the point of a multilevel model): expect many
    Pareto k above 0.7, and do not trust the estimate for those groups.
``method="integrated"`` (default)
    PSIS with the *marginal* group log-likelihood log p(y_j | theta) = log E_u[p(y_j | theta,
    u)], u ~ N(0, Sigma), integrated per draw (Merkle, Furr and Rabe-Hesketh 2019; adaptive
    quadrature, :mod:`.group_quadrature`). The ratios are far better behaved; Pareto k says whether to trust it.
``method="exact"``
    Refit the model once per held-out level and integrate the held-out level's effect out
    the same way: exact up to the refits' Monte Carlo error, and one fit per level (slow; pass
    ``levels=`` to check a few).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr
from scipy import special

from ..errors import DataError, SpecError, warn_user
from ..params import OBS_DIM, block_names
from ..results.stats import flatten_draws
from .group_loglik import group_blocks, group_sums, integrated_group_loglik, nested_factors
from .loo_weights import weighted_loo
from .predict import encode_rows, row_design, thin, training_frame

OBSERVED = "y"
LOGO_METHODS = ("integrated", "psis", "exact")
K_THRESHOLD = 0.7


# ============================================================ pointwise log-likelihood


def pointwise_loglik(posterior: xr.Dataset, model) -> np.ndarray:
    """(S, n) log p(y_i | theta_s) of the training rows (for a fit on collapsed cells, the
    rows before collapsing): :func:`.loglik.pointwise_log_likelihood` as one matrix."""
    from .loglik import pointwise_log_likelihood

    values = pointwise_log_likelihood(posterior, model.spec, row_design(model)).values
    return values.reshape(-1, values.shape[-1])


def _loglik_dataset(values: np.ndarray, posterior: xr.Dataset, dim: str = OBS_DIM, coord=None) -> xr.Dataset:
    chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
    n = values.shape[-1]
    da = xr.DataArray(
        values.reshape(chains, draws, n), dims=("chain", "draw", dim),
        coords={"chain": posterior["chain"].values, "draw": posterior["draw"].values,
                dim: np.arange(n) if coord is None else coord},
    )
    return xr.Dataset({OBSERVED: da})


def log_likelihood(fit) -> xr.Dataset:
    """The pointwise log-likelihood of a fit (dims chain, draw, obs), computed
    (:mod:`hierbayes.predict.loglik`) and stored in ``fit.idata`` on first use. For a
    bernoulli model fitted on collapsed binomial cells it has one term per cell."""
    if "log_likelihood" in fit.idata.children:
        return fit.idata["log_likelihood"].to_dataset()
    from .loglik import log_likelihood_group

    tree = log_likelihood_group(fit.posterior, fit.spec, fit.model.design)
    fit.idata["log_likelihood"] = tree
    return tree.to_dataset()


def loo_tree(fit) -> xr.DataTree:
    """A DataTree with the posterior and the pointwise log-likelihood (what ArviZ needs)."""
    ll = log_likelihood(fit)
    return xr.DataTree.from_dict({"posterior": fit.posterior, "log_likelihood": ll})


#: PSIS smooths the largest 20% of the importance weights (at most 3 sqrt(S)) with a
#: generalised Pareto fit, which needs at least 5 of them.
MIN_LOO_DRAWS = 25


def loo(fit, pointwise: bool = True):
    """PSIS-LOO (ArviZ ``loo``) of a fit: ``.elpd``, ``.se``, ``.p``, ``.pareto_k``,
    ``.elpd_i``; ``.warning`` is True when some Pareto k exceed the threshold."""
    import arviz_stats as az  # ArviZ's statistics, without its plotting (matplotlib)

    n_draws = fit.posterior.sizes["chain"] * fit.posterior.sizes["draw"]
    if n_draws < MIN_LOO_DRAWS:
        raise SpecError(
            f"loo() needs at least {MIN_LOO_DRAWS} posterior draws (chains x draws) to fit the "
            f"Pareto tail of the importance weights; this fit has {n_draws}: refit with more "
            f"draws, e.g. fit(draws=500)"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        # ArviZ's own warning names no row and no remedy: warn_unreliable_rows says both
        warnings.filterwarnings("ignore", message=".*shape parameter of Pareto", category=UserWarning)
        result = weighted_loo(lambda tree, rows: az.loo(tree, pointwise=rows, var_name=OBSERVED),
                              loo_tree(fit), fit.model.design, OBSERVED, pointwise)
    warn_unreliable_rows(result, fit)
    source = getattr(fit.model.design, "source", None)
    if source is not None:  # bernoulli rows fitted as binomial cells
        warn_user(
            f"elpd_loo is over the {fit.model.design.n_obs} binomial cells this fit collapsed its "
            f"{source.n_obs} rows into, each cell left out whole; for rows left out one at a time "
            "fit with collapse=False (compare() does so by itself where models' cells differ)"
        )
    return result


class ParetoKWarning(UserWarning):
    """PSIS-LOO is unreliable for some rows (Pareto k above ArviZ's threshold)."""


def unreliable_points(result) -> tuple[np.ndarray, float]:
    """Positions of the points (rows or groups) of a PSIS result whose Pareto k exceeds its
    ``good_k`` or could not be estimated (NaN: degenerate weights, which ArviZ does not flag),
    and that threshold."""
    good_k = float(getattr(result, "good_k", None) or K_THRESHOLD)
    k = getattr(result, "pareto_k", None)
    if k is None:
        return (np.arange(1) if getattr(result, "warning", False) else np.arange(0)), good_k
    k = np.asarray(getattr(k, "values", k), dtype=float).ravel()
    return np.flatnonzero(~(k <= good_k)), good_k


def finest_group(design, among: set[str] | None = None) -> str | None:
    """The grouping factor (of ``among``, if given) with the fewest rows per level (median):
    the one whose leave-one-group-out is nearest to leave-one-out (an observation-level
    effect: one row per level), which PSIS advice should point to; a factor with another
    nested in it is skipped (its integrated leave-one-group-out is refused)."""
    blocks = [b for b in design.groups if (among is None or b.group in among) and not nested_factors(design, b.group)]
    if not blocks:
        return None
    return min(blocks, key=lambda b: float(np.median(b.rows_per_level()))).group


def warn_unreliable_rows(result, fit) -> None:
    """One :class:`ParetoKWarning` when ``result`` (a PSIS-LOO of ``fit``) has rows whose
    Pareto k exceed its ``good_k`` or are not estimable: how many, the first of them by the
    data's row labels, and what to do instead."""
    bad, good_k = unreliable_points(result)
    if not len(bad):
        return
    where = ""
    k = getattr(result, "pareto_k", None)
    if k is not None:
        k = np.asarray(getattr(k, "values", k), dtype=float).ravel()
        row_index = np.asarray(fit.model.design.row_index)
        labels = row_index[bad] if len(row_index) == len(k) else bad
        shown = ", ".join(str(v) for v in labels[:8]) + (", ..." if len(bad) > 8 else "")
        worst = f"largest k {np.nanmax(k):.2f}" if np.isfinite(k).any() else "k not estimable"
        where = f" for {len(bad)} of {len(k)} rows (rows {shown}; {worst})"
    spec = fit.model.spec  # logo() refuses sub-model formulas; student refuses residual structures
    group = None if spec.distributional else finest_group(fit.model.design)
    if group is not None:
        remedy = (f"in a multilevel model a row is often influential through its own group's effect: "
                  f"fit.logo({group!r}) leaves out whole groups with their effects integrated out, "
                  "which PSIS handles far better")
    else:
        robust = _ROBUST.get(spec.family.name) if spec.residuals is None else None
        remedy = (f"a heavier-tailed model ({robust}) may help" if robust else "rows the model finds surprising "
                  "are influential: look at them (fit.residuals()) and whether another family or predictor fits them")
    warn_user(
        f"PSIS-LOO: Pareto k above {good_k:.2f} or not estimable{where}: their leave-one-out estimates, "
        f"and so elpd_loo and comparisons built on it, are unreliable; {remedy}",
        ParetoKWarning
    )


#: Per family, the heavier-tailed model to try when single rows dominate the leave-one-out.
_ROBUST = {"gaussian": "family='student'", "poisson": "family='negbinomial'",
           "binomial": "an observation-level effect, + (1 | obs) with df['obs'] = range(len(df))"}


# ===================================================================== LOGO


@dataclass(frozen=True, eq=False)
class LOGO:
    """Leave-one-group-out cross-validation of one grouping factor.

    elpd, se : sum over levels of log p(y_j | y_{-j}) and its standard error.
    pointwise : one row per level: n (rows), elpd, pareto_k (PSIS methods).
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
    def n_bad_k(self) -> int:
        if "pareto_k" not in self.pointwise:
            return 0
        return int((self.pointwise["pareto_k"] > K_THRESHOLD).sum())

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

    ds = _loglik_dataset(values, posterior, dim=group, coord=list(levels))
    tree = xr.DataTree.from_dict({"posterior": posterior, "log_likelihood": ds})
    jacobian = None if log_jacobian is None else xr.DataArray(log_jacobian, dims=group, coords={group: list(levels)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return az.loo(tree, pointwise=True, var_name=OBSERVED, log_jacobian=jacobian)


def _note(method: str, n_bad: int, n: int, group: str = "", bad_levels: Sequence = ()) -> str:
    if method == "exact":
        return (
            "exact: one refit per held-out level; the held-out level's effect integrated out "
            "(closed form for gaussian responses, adaptive Gauss-Hermite quadrature otherwise)"
        )
    k = (
        f"{n_bad} of {n} levels have Pareto k > {K_THRESHOLD} or not estimable: their elpd is unreliable; "
        f"refit them exactly: fit.logo({group!r}, method='exact', levels={_shown(bad_levels)})"
        if n_bad else f"all {n} levels have Pareto k <= {K_THRESHOLD}"
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
            posterior, model, rows, row_design(model).y, group, codes, J, group_effects_proposal(fit, drop), n_mc=n_mc, rng=rng
        )
    result = _psis(values, posterior, all_levels, group, jacobian)
    k = np.asarray(result.pareto_k.values if hasattr(result.pareto_k, "values") else result.pareto_k, float)
    elpd_i = np.asarray(result.elpd_i.values if hasattr(result.elpd_i, "values") else result.elpd_i, float)
    table = pd.DataFrame({group: list(all_levels), "n": counts, "elpd": elpd_i, "pareto_k": k})
    bad = ~(k <= K_THRESHOLD)  # NaN: not estimable, as unreliable as a large k
    note = _note(method, int(bad.sum()), J, group, [v for v, b in zip(all_levels, bad, strict=True) if b])
    return LOGO(group, method, float(result.elpd), float(result.se), table, note, result)


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
        )[:, 0]
        out.append((level, int(held.sum()), float(special.logsumexp(ll) - np.log(ll.size))))
    table = pd.DataFrame(out, columns=[group, "n", "elpd"])
    elpd = float(table["elpd"].sum())
    se = float(np.sqrt(len(table) * table["elpd"].var(ddof=1))) if len(table) > 1 else float("nan")
    return LOGO(group, "exact", elpd, se, table, _note("exact", 0, len(table)))
