"""Bayesian R-squared (Gelman, Goodrich, Gabry & Vehtari 2019; brms' ``bayes_R2``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import DataError
from ..results.stats import interval_label
from .ppc_weights import inclusion_weights, row_variance
from .predict import encode_rows, prediction_draws, row_design, thin


def r2_draws(posterior: xr.Dataset, model, *, groups: str = "include", ndraws: int | None = None,
             random_seed=0) -> np.ndarray:
    """(S,) Bayesian R^2 draws: var(mu_s) / (var(mu_s) + var(y - mu_s)) over the training
    rows, mu_s the expected responses of draw s (Gelman, Goodrich, Gabry & Vehtari 2019,
    residual-based; brms' ``bayes_R2``).

    Raises
    ------
    DataError
        When rows are censored: their responses are bounds, not values, and an R^2 of them
        would be biased with nothing to say so.
    """
    _refuse_censored(model)
    posterior = thin(posterior, ndraws)
    rows = encode_rows(model)
    mu = prediction_draws(posterior, model, rows, kind="mean", groups=groups, rng=np.random.default_rng(random_seed))
    y = np.asarray(row_design(model).y, dtype=float)
    if mu.ndim == 3:  # ordinal: expected category code
        mu = mu @ np.arange(mu.shape[2])
    var = row_variance(inclusion_weights(model))  # a weighted fit's rows count as in its checks and margins
    var_fit, var_res = var(mu), var(y[None, :] - mu)
    return var_fit / (var_fit + var_res)


def r2(posterior: xr.Dataset, model, prob: float = 0.95, ndraws: int | None = None) -> pd.DataFrame:
    """Bayesian R-squared, conditional and marginal.

    ``conditional``: mu includes the group effects; ``marginal``: the fixed part alone,
    group effects at 0 (brms' ``bayes_R2(re_formula = NA)``; for a nonlinear link this is
    not the population-averaged mean, which had been used and on Salamanders' Poisson model
    put the marginal R^2 above the conditional one). Both use var(mu) / (var(mu) + var(y - mu))
    per draw (Gelman et al. 2019; brms ``bayes_R2``), over rows weighted as the fit's are.

    Returns a DataFrame indexed by ``conditional``/``marginal`` with mean, sd, median,
    lower, upper.
    """
    alpha = (1 - prob) / 2
    rows = {}
    kinds = {"conditional": "include", "marginal": "exclude"} if model.spec.groups else {"conditional": "include"}
    for label, groups in kinds.items():
        d = r2_draws(posterior, model, groups=groups, ndraws=ndraws)
        rows[label] = {"mean": float(np.mean(d)), "sd": float(np.std(d, ddof=1)), "median": float(np.median(d)),
                       "lower": float(np.quantile(d, alpha)), "upper": float(np.quantile(d, 1 - alpha))}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "R2"
    out.attrs["interval"] = interval_label(prob)
    return out


def _refuse_censored(model) -> None:
    censoring = getattr(row_design(model), "censoring", None)
    if censoring is None or not np.any(censoring.code != 0):
        return
    counts = ", ".join(f"{n} {k}" for k, n in censoring.counts().items() if k != "none")
    raise DataError(
        f"R-squared needs the responses themselves: {int(np.sum(censoring.code != 0))} of the "
        f"{censoring.code.size} rows are censored ({counts}), so their response is a bound and var(y - mu) "
        "would be taken at it. fit.ppc() compares a censored model with its data as the data were observed; "
        "fit.loo() compares models"
    )
