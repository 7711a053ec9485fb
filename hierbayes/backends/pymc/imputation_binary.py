"""Binary (0/1) predictors of ``missing="model"`` (:mod:`hierbayes.design.missing`): the
holes are summed out of the likelihood, since NUTS samples no discrete parameters.

For a column ``d`` the model registers the logistic imputation model ``mi_d_Intercept``,
``mi_d_b`` (standardized complete predictors) and, for a level-1 column, ``mi_d_sd`` and
``mi_d_z`` (a non-centred random intercept), whose observed values enter as the potential
``mi_d_observed``. The design holds 0 at the holes; with ``L0_u`` and ``L1_u`` the
likelihood of unit u's rows (one row, or every row of a level-2 column's group) with the
value 0 and 1, and ``p_u`` the imputation model's probability, the potential
``mi_d_mixture`` replaces ``log L0_u`` by ``log(p_u L1_u + (1 - p_u) L0_u)``. The posterior
probability that the value is 1 given the parameters, ``p_u L1_u / (p_u L1_u + (1 - p_u) L0_u)``,
is the deterministic ``Pmi_d`` (dims ``mi_d_unit``); its mean over the draws is
``P(d_u = 1 | data)``.

Both likelihoods are the observed variable's log density, ``L1`` by replacing the linear
predictor with the one where the holes hold 1, so every family and link works the same way.
With sampling weights, as for a continuous column and for group effects, the hidden value is
a latent of its unit: the rows' log densities count their row weights and the imputation
model's probabilities their unit's weight ``w_u`` (a row's weight; a group's level-2 weight),
``log(p^w_u L1 + (1 - p)^w_u L0)``; the observed values count their units' weights.
"""

from __future__ import annotations

import numpy as np

from ...design.types import Design
from ...priors.missing import binary_imputation_priors
from .imputation import submodel_means, unit_dim
from .lazy import pm, pt

__all__ = ["DRAWN_PREFIX", "binary_columns", "binary_hole_shift", "logistic_model", "sum_out_binary_holes"]

#: Prefix of the drawn 0/1 values of binary holes in a simulation model (``Dmi_<column>``).
DRAWN_PREFIX = "Dmi_"


def binary_columns(design: Design) -> list:
    """The imputed binary columns of the design that have holes in the design's rows."""
    imputation = getattr(design, "imputation", None)
    if imputation is None:
        return []
    return [c for c in imputation.columns if c.kind == "binary" and len(c.rows)]


def logistic_model(col):
    """Register the logistic imputation model of ``col``; its logit at the imputed units."""
    priors = binary_imputation_priors(col.observed, col.weights_obs)
    eta_obs, eta_mis = submodel_means(col, priors)
    observed = np.asarray(col.observed, dtype=float)
    lp = pm.logp(pm.Bernoulli.dist(logit_p=eta_obs), observed)
    if col.weights_obs is not None:
        lp = lp * np.asarray(col.weights_obs, dtype=float)
    pm.Potential(f"mi_{col.name}_observed", lp.sum())
    return eta_mis


def _replaced(out, old, new, rvs):
    """``out`` with ``old`` replaced by ``new`` (which may contain ``old``); the graph is
    cloned only between them, so the model's random variables stay themselves."""
    blockers = [old, *rvs]
    memo = {old: new, **{rv: rv for rv in rvs}}
    from pytensor.graph.basic import clone_get_equiv

    return clone_get_equiv(blockers, [out], copy_inputs=False, copy_orphans=False, memo=memo)[out]


def binary_hole_shift(design: Design, slopes, n: int):
    """For simulation: register the logistic imputation models and the holes' 0/1 values
    drawn from them (``Dmi_<column>``, dims ``mi_<column>_unit``); returns the (n,) change of
    the linear predictor they make (the design holds 0 at the holes).

    Parameters
    ----------
    design : a design with ``design.imputation``.
    slopes : the coefficient vector of the non-intercept fixed columns (design order).
    n : the number of rows.
    """
    offset = 1 if design.has_intercept else 0
    shift = pt.zeros(n)
    for col in binary_columns(design):
        a = logistic_model(col)
        drawn = pm.Bernoulli(f"{DRAWN_PREFIX}{col.name}", logit_p=a, dims=unit_dim(col.name))
        step = 0.0
        for j, loading in col.loadings:
            step = step + slopes[j - offset] * loading
        shift = pt.inc_subtensor(shift[col.rows], step * drawn[col.unit])
    return shift


def sum_out_binary_holes(design: Design, y, eta, slopes) -> None:
    """Add the mixture potential and ``Pmi_<column>`` of every imputed binary column.

    Parameters
    ----------
    design : a design with ``design.imputation``.
    y : the observed variable the likelihood registered (its log density is ``L0``).
    eta : the linear predictor ``y`` was built on (before the offset), with 0 at the holes.
    slopes : the coefficient vector of the non-intercept fixed columns (design order).
    """
    columns = binary_columns(design)
    if not columns:
        return
    model = pm.modelcontext(None)
    lp0 = pm.logp(y, model.rvs_to_values[y])
    w = design.row_weights
    if w is not None:
        lp0 = lp0 * np.asarray(w, dtype=float)
    offset = 1 if design.has_intercept else 0
    for col in columns:
        step = 0.0
        for j, loading in col.loadings:
            step = step + slopes[j - offset] * loading
        lp1 = _replaced(lp0, eta, pt.inc_subtensor(eta[col.rows], step), model.basic_RVs)
        s0 = pt.zeros(col.n_values)
        s0 = pt.inc_subtensor(s0[col.unit], lp0[col.rows])
        s1 = pt.zeros(col.n_values)
        s1 = pt.inc_subtensor(s1[col.unit], lp1[col.rows])
        a = logistic_model(col)
        wu = 1.0 if col.weights_mis is None else np.asarray(col.weights_mis, dtype=float)
        mixture = pt.logaddexp(s0 - wu * pt.softplus(a), s1 - wu * pt.softplus(-a))
        pm.Potential(f"mi_{col.name}_mixture", pt.sum(mixture - s0))
        pm.Deterministic(col.parameter, pt.sigmoid(wu * a + s1 - s0), dims=unit_dim(col.name))
