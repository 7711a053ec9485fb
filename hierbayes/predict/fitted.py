"""lme4/brms daily conveniences on a fit: ``nobs``, ``ngroups``, ``fitted()`` and
``residuals()``.

Fitted values and residuals are per row of the data the model used (after dropping missing
values and applying a Stata ``if``), indexed by those rows' labels. A bernoulli/binomial
model fitted on collapsed binomial cells (:mod:`hierbayes.design.collapse`) still has its
row-level design, so both are per original row there too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import SpecError, check_probability, warn_user
from ..families import FAMILIES, Family, get_family
from ..results.rside_conditional import structure_draws
from ..results.stats import flatten_draws, interval_label, summarize
from .distributional import training_aux_draws
from .predict import predict, row_design, thin
from .predictions import as_dataarray
from .rside_predict import normalized_residuals

FITTED_KINDS = ("mean", "linear")
RESIDUAL_KINDS = ("response", "pearson", "normalized")
SUMMARY_COLUMNS = ("mean", "sd", "median", "lower", "upper")


def nobs(model) -> int:
    """Rows of the data the built ``model`` uses (lme4's ``nobs``): for collapsed binomial
    cells the original rows, not the cells."""
    design = model.design
    return int(getattr(design, "n_rows", design.n_obs))


def ngroups(model) -> dict[str, int]:
    """Levels per grouping factor of the built ``model`` (lme4's ``ngrps``), in the order
    the terms name them."""
    return {block.group: int(block.n_levels) for block in model.design.groups}


def _check_prob(prob: float) -> None:
    check_probability(prob)


def _table(draws: xr.DataArray, prob: float, kind: str) -> pd.DataFrame:
    """Summary per row (and category) of (chain, draw, obs[, category]) draws, indexed by
    the rows' labels."""
    stats = summarize(draws.drop_vars("row", errors="ignore"), prob, diagnostics=False)
    stats = stats.reset_index()
    labels = np.asarray(draws["row"].values)
    reps = len(stats) // len(labels)
    columns = (["category"] if "category" in stats.columns else []) + list(SUMMARY_COLUMNS)
    out = stats[columns].copy()
    out.index = pd.Index(np.repeat(labels, reps), name=None)
    out.attrs["interval"] = interval_label(prob)
    out.attrs["kind"] = kind
    return out


def fitted_draws(posterior: xr.Dataset, model, kind: str = "mean", ndraws: int | None = None) -> xr.DataArray:
    """(chain, draw, obs) draws of the expected response (``kind="mean"``) or of the linear
    predictor (``"linear"``) for every training row, each row with its group effects."""
    if kind not in FITTED_KINDS:
        raise SpecError(f"kind={kind!r}: valid values for fitted() are {list(FITTED_KINDS)}")
    return predict(posterior, model, kind=kind, groups="include", ndraws=ndraws).draws


def fitted(posterior: xr.Dataset, model, kind: str = "mean", prob: float = 0.95, summary: bool = True,
           ndraws: int | None = None):
    """Fitted values of the training rows, as lme4's / brms' ``fitted()``.

    Parameters
    ----------
    posterior : the posterior draws.
    model : the built model (:class:`hierbayes.configuration.BuiltModel`: spec, design, data).
    kind : "mean" (expected response E[y], the trials times the probability for a binomial
        model; category probabilities for an ordinal one) or "linear" (the linear predictor).
    prob : mass of the equal-tailed interval (``lower``, ``upper``).
    summary : True: a DataFrame; False: the draws as an ``xarray.DataArray`` (chain, draw, obs).
    ndraws : use about this many posterior draws (evenly thinned).

    Returns
    -------
    pandas.DataFrame or xarray.DataArray
        One row per row of the data the model used (index: its labels) with mean, sd,
        median, lower, upper; or the draws.
    """
    _check_prob(prob)
    draws = fitted_draws(posterior, model, kind, ndraws)
    return _table(draws, prob, kind) if summary else draws


def _observed(model) -> tuple[np.ndarray, np.ndarray | None]:
    rows = row_design(model)
    trials = None if rows.trials is None else np.asarray(rows.trials, dtype=float)
    return np.asarray(rows.y, dtype=float), trials


def residual_sd(family: Family | str, mu: np.ndarray, aux: dict[str, np.ndarray], trials) -> np.ndarray:
    """The family's sd of y given its mean ``mu`` (S, n), per draw (``Family.response_sd``):
    what a Pearson residual divides by; SpecError for a family that defines none."""
    family = get_family(family)
    if family.response_sd is None:
        with_sd = [name for name, f in FAMILIES.items() if f.response_sd is not None]
        raise SpecError(
            f"Pearson residuals need the {family.name} family's residual sd, which hierbayes does "
            f"not define; families with one: {with_sd} (kind='response' works for all "
            "but ordinal families)"
        )
    return family.response_sd(mu, aux, trials)


def residual_draws(posterior: xr.Dataset, model, kind: str = "response", ndraws: int | None = None) -> xr.DataArray:
    """(chain, draw, obs) draws of the residual of every training row: y - E[y] per draw
    (``kind="response"``) or that divided by the family's sd of y (``"pearson"``)."""
    if kind not in RESIDUAL_KINDS:
        raise SpecError(f"kind={kind!r}: valid values for residuals() are {list(RESIDUAL_KINDS)}")
    family = get_family(model.spec.family)
    if family.response_kind == "ordinal":
        raise SpecError(
            f"residuals are not defined for the ordinal family {family.name!r} (the response is "
            "a category); use fit.fitted() for the category probabilities or fit.ppc()"
        )
    if kind != "response" and family.response_sd is None:
        residual_sd(family, np.zeros((1, 1)), {}, None)  # raises the SpecError
    rd = getattr(model.design, "residuals", None)
    mean = fitted_draws(posterior, model, "mean", ndraws)
    y, trials = _observed(model)
    mu = flatten_draws(mean)
    values = y[None, :] - mu
    posterior = thin(posterior, ndraws)
    if kind == "normalized" and rd is not None:
        values = normalized_residuals(posterior, rd, values)
    elif kind != "response":  # pearson; normalized without a residual structure is the same
        aux = training_aux_draws(posterior, family, model.spec, row_design(model))
        values = values / residual_sd(family, mu, aux, trials)
        if rd is not None and rd.sd_codes is not None:  # by= or per-visit sds: the row's own sd
            values = values / structure_draws(posterior, rd)["ratio"][:, rd.sd_codes]
    return as_dataarray(values, posterior, mean["row"].values, f"residual_{kind}")


def residuals(posterior: xr.Dataset, model, kind: str = "response", prob: float = 0.95, summary: bool = True,
              ndraws: int | None = None):
    """Residuals of the training rows, as lme4's / brms' ``residuals()``.

    Parameters
    ----------
    posterior : the posterior draws.
    model : the built model (:class:`hierbayes.configuration.BuiltModel`: spec, design, data).
    kind : "response" (y - E[y]) or "pearson" ((y - E[y]) / sd(y): gaussian sigma (times the
        row's sd ratio with a residual structure's ``by=`` or unstructured visits), binomial
        sqrt(n p (1 - p)), poisson sqrt(mu), negative binomial sqrt(mu + mu^2 / phi), gamma
        mu / sqrt(shape)), computed per posterior draw; or "normalized" (nlme's: with a
        residual structure, each group's residuals whitened by its residual covariance,
        ``L^-1 r`` in time order; otherwise the Pearson residuals).
    prob : mass of the equal-tailed interval.
    summary : True: a DataFrame (posterior mean, sd, median, interval of each row's
        residual); False: the draws (chain, draw, obs). With censored rows (``cens()``,
        ``event()``) both mark each row's kind ("none", "right", "left", "interval"; a column /
        an ``obs`` coordinate ``censoring``), and a warning says that a censored row's residual
        is taken at its bound.
    ndraws : use about this many posterior draws (evenly thinned).

    Raises
    ------
    SpecError
        For an ordinal family, or Pearson residuals of a family without a residual sd.
    """
    _check_prob(prob)
    draws = residual_draws(posterior, model, kind, ndraws)
    censoring = getattr(model.design, "censoring", None)
    kinds = censoring.kinds() if censoring is not None and np.any(censoring.code != 0) else None
    if kinds is not None:
        counts = ", ".join(f"{n} {k}" for k, n in censoring.counts().items() if k != "none")
        warn_user(
            f"{int(np.sum(kinds != 'none'))} of the {kinds.size} rows are censored ({counts}): their residual "
            "is taken at the recorded bound, not at the unobserved value (a right-censored row's own "
            "residual is larger, a left-censored row's smaller); the 'censoring' column marks them. "
            "fit.ppc() compares a censored model with its data the way the data were observed"
        )
    if not summary:
        return draws if kinds is None else draws.assign_coords(censoring=("obs", kinds))
    table = _table(draws, prob, kind)
    if kinds is not None:
        table["censoring"] = kinds
    return table
