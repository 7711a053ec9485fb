"""Pointwise log-likelihood from posterior draws, in numpy (no PyMC, no recompilation).

``log p(y_i | theta_s)`` for every draw s and observation i, conditional on the group
effects (as brms and rstanarm store it); with a residual structure, of ``y_i`` given the
other rows of its group (:mod:`.rside_predict`), from :func:`linear_predictor` and the family's
``log_likelihood`` (censored and truncated rows:
:func:`~hierbayes.families.censored_log_likelihood`). ArviZ's ``loo``/``compare`` read it
from ``idata.log_likelihood["y"]``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..design.reduced import ReducedDesign
from ..design.types import Design
from ..errors import SpecError
from ..families import Family, censored_log_likelihood, get_family
from ..params import OBS_DIM
from ..results.imputed import imputation_eta_shift
from ..results.imputed_binary import binary_hole_loglik
from ..results.stats import flatten_draws
from ..spec.ir import ModelSpec
from .distributional import training_aux_draws
from .linpred import linear_predictor
from .rside_predict import conditional_loglik

#: Rows of draws handled at once, to bound the temporary arrays on large data.
CHUNK_ELEMENTS = 2_000_000
#: fit.idata holds the log-likelihood only up to this many values (8 bytes each).
MAX_STORED_ELEMENTS = 200_000_000


def holds_rows(design: Design) -> bool:
    """False for a design held as sufficient statistics (a model fitted from a Dask
    DataFrame): it has no rows to give a pointwise log-likelihood."""
    return not isinstance(design, ReducedDesign)


def stored_in_idata(n_draws: int, n_obs: int) -> bool:
    """Whether ``fit.idata`` gets the pointwise log-likelihood of ``n_draws`` draws (all
    chains) x ``n_obs`` rows (else only ``fit.loo()`` computes it, when asked)."""
    return n_draws * n_obs <= MAX_STORED_ELEMENTS


def aux_draws(posterior: xr.Dataset, family: Family, spec: ModelSpec | None = None,
              design: Design | None = None) -> dict[str, np.ndarray]:
    """The family's own parameters as arrays for the numpy callables of a Family.

    Scalars per draw come back as (S, 1) so they broadcast against an (S, n) linear
    predictor; ordinal thresholds ``Intercept`` as (S, K-1); parameters a distributional
    formula of ``spec`` models as (S, n) on the rows of ``design``.
    """
    if spec is not None and spec.distributional:
        return training_aux_draws(posterior, family, spec, design)
    out: dict[str, np.ndarray] = {}
    for name in family.aux:
        draws = flatten_draws(posterior[name])
        out[name] = draws[:, None] if draws.ndim == 1 else draws
    return out


def pointwise_log_likelihood(posterior: xr.Dataset, spec: ModelSpec, design: Design) -> xr.DataArray:
    """log p(y_i | draw) with dims (chain, draw, obs).

    Parameters
    ----------
    posterior : the posterior group (``fit.idata.posterior`` as a Dataset).
    spec : the model spec (family, link, group terms).
    design : the training Design (response, trials, fixed and group columns).

    Returns
    -------
    xarray.DataArray
        Named ``y``, float64, dims (chain, draw, obs) with the ``obs`` coordinate 0..n-1 as
        in the PyMC model. A weighted model's values are multiplied by the rows' weights
        (``Design.row_weights``), the terms its likelihood sums (as brms' ``log_lik``).
    """
    if not holds_rows(design):
        raise SpecError(
            "the pointwise log-likelihood (LOO, LOGO, prior sensitivity) needs the rows; this model "
            "was fitted from a Dask DataFrame and holds only per-group cross-products: compare "
            "such models with their posterior, or refit a sample with a pandas DataFrame"
        )
    family = get_family(spec.family)
    link = family.resolve_link(spec.link)
    n_chain, n_draw = posterior.sizes["chain"], posterior.sizes["draw"]
    y = np.asarray(design.y, dtype=float)
    values = np.empty((n_chain, n_draw, design.n_obs))
    # a few draws at a time: the linear predictor's temporaries (group effects gathered per
    # row and slope) would otherwise be several times the size of the result
    step = max(1, CHUNK_ELEMENTS // max(1, design.n_obs))
    for start in range(0, n_draw, step):
        draws = slice(start, start + step)
        part = posterior.isel(draw=draws)
        eta = linear_predictor(
            part, spec, design.fixed_names, design.X, design.groups, offset=design.offset
        )
        # missing="model": the holes' imputed values (binary holes stay at 0: summed out below)
        shift = imputation_eta_shift(part, design, binary=False)
        if shift is not None:
            eta = eta + shift
        if design.residuals is not None:  # correlated rows: y_i given the rest of its group
            values[:, draws, :] = conditional_loglik(part, design.residuals, y[None, :] - eta).reshape(
                n_chain, -1, design.n_obs
            )
            continue
        aux = aux_draws(part, family, spec, design)

        def rows_loglik(eta, aux=aux):
            return censored_log_likelihood(family, y, eta, link, aux, design.trials, design.censoring)

        ll = binary_hole_loglik(part, design, eta, rows_loglik)
        if ll is None:
            ll = rows_loglik(eta)
        values[:, draws, :] = ll.reshape(
            n_chain, -1, design.n_obs
        )
    weights = getattr(design, "row_weights", None)
    if weights is not None:
        values *= weights[None, None, :]
    coords = {
        "chain": posterior.coords["chain"].values,
        "draw": posterior.coords["draw"].values,
        OBS_DIM: np.arange(design.n_obs),
    }
    return xr.DataArray(values, dims=("chain", "draw", OBS_DIM), coords=coords, name="y")


def log_likelihood_group(posterior: xr.Dataset, spec: ModelSpec, design: Design) -> xr.DataTree:
    """The ``log_likelihood`` group (variable ``y``) to attach as ``idata["log_likelihood"]``."""
    return xr.DataTree(xr.Dataset({"y": pointwise_log_likelihood(posterior, spec, design)}))
