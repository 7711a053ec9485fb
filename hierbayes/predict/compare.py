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

import warnings

import numpy as np
import xarray as xr

from ..errors import SpecError, warn_user
from ..params import OBS_DIM
from .group_loglik import nested_factors
from .loo_weights import weighted_loo
from .predict import row_design

OBSERVED = "y"
K_THRESHOLD = 0.7


# ============================================================ pointwise log-likelihood


def pointwise_loglik(posterior: xr.Dataset, model) -> np.ndarray:
    """(S, n) log p(y_i | theta_s) of the training rows (for a fit on collapsed cells, the
    rows before collapsing): :func:`.loglik.pointwise_log_likelihood` as one matrix."""
    from .loglik import pointwise_log_likelihood

    values = pointwise_log_likelihood(posterior, model.spec, row_design(model)).values
    return values.reshape(-1, values.shape[-1])


def loglik_dataset(values: np.ndarray, posterior: xr.Dataset, dim: str = OBS_DIM, coord=None) -> xr.Dataset:
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
