"""``compare()``: rank fits by PSIS-LOO or leave-one-group-out with ArviZ's stacking
weights, after the checks of :mod:`.compare_checks` (same rows, one response scale)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import ArgumentError, DataError, SpecError, warn_user
from ..params import OBS_DIM
from .compare import OBSERVED, ParetoKWarning, finest_group, loo_tree, unreliable_points
from .compare_checks import (
    ResponseScaleWarning,
    adjustment_note,
    by_rows,
    check_rows,
    count_points,
    describe,
    is_fit,
    jacobian_text,
    log_jacobians,
)
from .loglik import log_likelihood_group
from .logo import logo
from .loo_weights import weighted_loo
from .predict import row_design


def loo_data(fit, rows: bool, log_jacobian: np.ndarray | None):
    """PSIS-LOO of a fit for compare(): by rows for a collapsed fit when ``rows``, with the
    log-Jacobian of its response transformation added to each row."""
    import arviz_stats as az  # ArviZ's statistics, without its plotting (matplotlib)

    if rows:
        loglik = log_likelihood_group(fit.posterior, fit.spec, row_design(fit.model))
        tree = xr.DataTree.from_dict({"posterior": fit.posterior, "log_likelihood": loglik.to_dataset()})
    else:
        tree = loo_tree(fit)
    jacobian = None
    if log_jacobian is not None:
        jacobian = xr.DataArray(log_jacobian, dims=OBS_DIM, coords={OBS_DIM: tree["log_likelihood"][OBSERVED][OBS_DIM].values})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        # compare() says which models have unreliable rows (ParetoKWarning), once
        warnings.filterwarnings("ignore", message=".*shape parameter of Pareto", category=UserWarning)
        return weighted_loo(lambda t, rows: az.loo(t, pointwise=rows, var_name=OBSERVED, log_jacobian=jacobian),
                            tree, fit.model.design, OBSERVED)


#: arviz_stats.compare's model-weighting methods.
WEIGHT_METHODS = ("stacking", "BB-pseudo-BMA", "pseudo-BMA")


def compare(fits: Mapping[str, object], method: str = "stacking", group: str | None = None, logo_method: str = "integrated",
            reloo: bool = False) -> pd.DataFrame:
    """Rank models by expected log predictive density (ArviZ ``compare``).

    The fits must have been fitted on the same rows and model the same response; fits of
    ``log(y)`` or ``sqrt(y)`` next to fits of ``y`` are put on the scale of ``y`` with the
    Jacobian of the transformation (a :class:`ResponseScaleWarning` says which), and fits on
    collapsed binomial cells next to fits on rows are compared row by row (see
    :mod:`hierbayes.predict.compare_checks`).

    Parameters
    ----------
    fits : name -> hierbayes Fit (or an ArviZ DataTree with a log_likelihood group, or
        ELPDData); a list of them is named model1, model2, ...
    method : model weights: "stacking" (default), "BB-pseudo-BMA" or "pseudo-BMA".
    group : compare by leave-one-group-out for this grouping factor instead of
        leave-one-out (``logo_method``: "integrated" or "psis").
    reloo : with ``group``: refit exactly the levels whose Pareto k is too high (see
        :func:`hierbayes.predict.logo.logo`), with the default sampler settings.

    Returns
    -------
    DataFrame ordered best first: rank, elpd_diff, dse, elpd, se, p, weight and ArviZ's diagnostics,
    and for hierbayes fits ``response`` and ``log_jacobian`` (the adjustment applied, if any).

    Raises
    ------
    DataError
        When the fits were fitted on different rows (naming the fits and their row counts).
    SpecError
        When the fits model responses that cannot be put on one scale (naming both).
    """
    import arviz_stats as az  # ArviZ's statistics, without its plotting (matplotlib)

    if isinstance(fits, (list, tuple)):  # loo_compare(a, b) in R: named by position
        fits = {f"model{i + 1}": fit for i, fit in enumerate(fits)}
    if not isinstance(fits, Mapping):
        raise ArgumentError("fits", f"<{type(fits).__name__}>", "compare takes a dict of name -> fit or "
                            "a list of fits: compare({'a': fit_a, 'b': fit_b}) or compare([fit_a, fit_b])")
    if len(fits) < 2:
        raise SpecError("compare needs at least two models: compare({'a': fit_a, 'b': fit_b})")
    if logo_method == "exact":
        raise SpecError("compare(group=...) uses PSIS; run logo(..., method='exact') per model instead")
    if method not in WEIGHT_METHODS:
        raise ArgumentError("method", method, f"compare weighs models by one of {list(WEIGHT_METHODS)}"
                            + ("; an information criterion is not a weighting method (elpd_loo is the "
                               "Bayesian counterpart of AIC)" if str(method).lower() in ("aic", "bic", "waic") else ""))
    values = {str(k): v for k, v in fits.items()}
    for name, value in values.items():
        if not (hasattr(value, "posterior") or hasattr(value, "children") or hasattr(value, "elpd")):
            raise ArgumentError(f"fits[{name!r}]", f"<{type(value).__name__}>", "each model must be a hierbayes "
                                "Fit (or an ArviZ DataTree with a log_likelihood group, or ELPDData); "
                                "hb.load(path) reads a saved fit")
    hb_fits = {k: v for k, v in values.items() if is_fit(v)}
    if group is not None and len(hb_fits) < len(values):
        raise SpecError("compare(..., group=...) needs hierbayes fits, not precomputed results")
    items = [describe(k, v) for k, v in hb_fits.items()]
    if items:
        check_rows(items)
    jacobians = log_jacobians(hb_fits, items)
    rows = by_rows(items) if group is None else set()
    data = {}
    for name, value in values.items():
        if name not in hb_fits:
            data[name] = value
        elif group is not None:
            data[name] = logo(value, group, method=logo_method, log_jacobian=jacobians.get(name), reloo=reloo).elpd_data
        else:
            data[name] = loo_data(value, name in rows, jacobians.get(name))
    counts = {name: count_points(v) for name, v in data.items()}
    if len({n for n in counts.values() if n is not None}) > 1:
        listing = ", ".join(f"{k!r} has {n}" for k, n in counts.items())
        raise DataError(
            f"compare: the models have different numbers of pointwise log-likelihood terms ({listing}): "
            "they were fitted on different rows (or cells). elpd is a sum over rows, so fits are "
            "comparable only on the same rows"
        )
    if jacobians:
        warn_user(adjustment_note(items, jacobians), ResponseScaleWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        table = az.compare(data, method=method, var_name=OBSERVED, round_to="none")
    unreliable = [name for name, result in data.items() if name in hb_fits and len(unreliable_points(result)[0])]
    if unreliable:
        # a grouping factor every model has: compare(group=...) needs it in all of them
        groups = set.intersection(*[{b.group for b in fit.model.design.groups} for fit in hb_fits.values()])
        groups = {g for g in groups if all(finest_group(f.model.design, {g}) for f in hb_fits.values())}
        finest = finest_group(next(iter(hb_fits.values())).model.design, groups)
        remedy = (f"; compare(fits, group={finest!r}) ranks by leave-one-group-out with the groups' "
                  "effects integrated out" if group is None and finest is not None else "")
        if group is not None:
            remedy = f"; compare(fits, group={group!r}, reloo=True) refits those groups exactly"
        warn_user(
            f"compare: the {'leave-one-group-out' if group is not None else 'PSIS-LOO'} estimates of {unreliable} "
            f"have Pareto k above the threshold for some {'groups' if group is not None else 'rows'} "
            f"({f'fit.logo({group!r})' if group is not None else 'fit.loo()'} lists them), so their elpd and "
            f"ranking are unreliable{remedy}",
            ParetoKWarning
        )
    if items:
        by_name = {c.name: c for c in items}
        table["response"] = [by_name[k].response if k in by_name else None for k in table.index]
        table["log_jacobian"] = [jacobian_text(by_name[k]) if k in jacobians else "" for k in table.index]
    return table
