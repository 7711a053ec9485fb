"""The PyMC slice of ``missing="model"`` (:mod:`hierbayes.design.missing`): the imputed
values of each predictor column are parameters with their own gaussian model, and they move
the linear predictor of the rows with a hole.

For a column ``x`` the model registers ``mi_x_Intercept``, ``mi_x_b`` (standardized complete
predictors), ``mi_x_sd`` and ``mi_x_z`` (a random intercept of one grouping
factor, level-1 columns only; hierarchically centred as
``mi_x_v`` with ``mi_x_z = (mi_x_v - mi_x_Intercept) / mi_x_sd`` kept as
a deterministic where the groups are data-rich, :func:`groups_data_rich`, else adaptive as
``mi_x_w``, :func:`group_precision`, with ``mi_x_z`` its deterministic alike; a binary column's
is non-centred), ``mi_x_sigma``, and the imputed values ``Ymi_x`` (dims
``mi_x_unit``: rows, or groups for a level-2 column). The observed values enter as a
potential ``mi_x_observed``. The outcome's linear predictor gets
``sum_j b_j * m_ij * (Ymi_x[unit_i] - fill_i)`` at the rows with a hole (the design holds
``fill_i``; ``m_ij`` the column's loading on fixed column j). With sampling weights the
observed values' log densities are weighted by their units' weights, and each imputed value's
by its unit's (the potential ``mi_x_weights`` adds ``(w - 1) log p(x)``), as the outcome's rows.

The design changes with the parameters, so no group term can be integrated out and the
cross-products forms do not apply: a model with imputed predictors has the rows likelihood.
Binary (0/1) columns are summed out of that likelihood instead (``imputation_binary.py``).
"""

from __future__ import annotations

import numpy as np

from ...design.types import Design
from ...priors.missing import binary_imputation_priors, imputation_priors
from .information import moment_information
from .lazy import pm, pt
from .variables import register

__all__ = ["column_model", "has_imputation", "imputation_parts", "imputation_shift", "submodel_means", "unit_dim"]


def has_imputation(design: Design) -> bool:
    """Whether the design has imputed predictors (then only the rows likelihood applies)."""
    imputation = getattr(design, "imputation", None)
    return imputation is not None and bool(imputation.columns)


def unit_dim(name: str) -> str:
    """The dimension of the imputed values of column ``name``."""
    return f"mi_{name}_unit"


def groups_data_rich(col) -> bool:
    """Whether the imputation model's random intercept is centred: its groups' observed values
    say much about their intercepts (the one-way ANOVA rule of the outcome's terms,
    :mod:`.plan`, on the observed values). mlmRev's Exam with 25% of sexM missing: single-sex
    schools pin their intercepts, and non-centred the fit mixed at R-hat 1.015, bulk ESS 173."""
    codes = np.asarray(col.codes_obs)
    values = np.asarray(col.observed, dtype=float)
    n = np.bincount(codes, minlength=col.n_groups).astype(float)
    seen = n > 0
    means = np.divide(np.bincount(codes, weights=values, minlength=col.n_groups), n, out=np.zeros(col.n_groups),
                      where=seen)
    within = float(np.sum((values - means[codes]) ** 2)) / max(len(values) - int(seen.sum()), 1)
    if within <= 0:  # every group constant: its intercept is all the data say
        return True
    return moment_information(n, seen, means, within, max(len(values) - int(seen.sum()), 1)).data_rich


def group_precision(col) -> np.ndarray:
    """(groups,) the observed values' precision on each group's intercept, ``n_j / s^2`` with
    ``s^2`` the residual variance of the values around least squares on the imputation
    model's predictors and the groups (weighted by the units' weights: frequency weights as
    the repeated values)."""
    codes = np.asarray(col.codes_obs)
    values = np.asarray(col.observed, dtype=float)
    weights = np.ones(len(values)) if col.weights_obs is None else np.asarray(col.weights_obs, dtype=float)
    n = np.bincount(codes, weights=weights, minlength=col.n_groups)
    # the groups' intercepts by demeaning within groups (Frisch-Waugh), not a rows x groups matrix
    within = lambda a: a - (np.bincount(codes, weights=weights * a, minlength=col.n_groups) / np.maximum(n, 1e-300))[codes]
    W = np.column_stack([within(w) for w in np.asarray(col.W_obs, dtype=float).T]) if col.W_obs.shape[1] else None
    residual = within(values)
    if W is not None:
        root = np.sqrt(weights)
        residual = residual - W @ np.linalg.lstsq(W * root[:, None], residual * root, rcond=None)[0]
    rank = int((n > 0).sum()) + (np.linalg.matrix_rank(W) if W is not None else 0)
    s2 = float(weights @ residual**2) / max(float(weights.sum()) - rank, 1.0)
    return n / max(s2, 1e-12 * float(np.var(values)), 1e-300)  # values the predictors fit exactly: data-rich


def submodel_means(col, priors: dict) -> tuple:
    """Register the linear part of one column's imputation model (``mi_<x>_Intercept``,
    ``mi_<x>_b``, ``mi_<x>_sd``, ``mi_<x>_z``); returns its values at the observed and at the
    imputed units. The coordinate of the imputed units is added too."""
    p = f"mi_{col.name}"
    pm.modelcontext(None).add_coord(unit_dim(col.name), [str(v) for v in col.labels])
    alpha = register(f"{p}_Intercept", priors["Intercept"])
    mu_obs = alpha + pt.zeros(len(col.observed))
    mu_mis = alpha + pt.zeros(col.n_values)
    if col.W_obs.shape[1]:
        gamma = register(f"{p}_b", priors["b"], shape=col.W_obs.shape[1])
        mu_obs = mu_obs + pt.dot(col.W_obs, gamma)
        mu_mis = mu_mis + pt.dot(col.W_mis, gamma)
    if col.group is not None and col.n_groups > 1:
        sd = register(f"{p}_sd", priors["sd"])
        if groups_data_rich(col):
            # hierarchically centred (Gelfand, Sahu & Carlin): the groups' intercepts around the
            # intercept, which they then inform directly; centred on 0 instead, the intercept
            # mixed as slowly as the effects' mean (R-hat 1.02)
            v = pm.Normal(f"{p}_v", alpha, sd, shape=col.n_groups)
            a = v - alpha
            pm.Deterministic(f"{p}_z", a / sd)  # the draws keep one form (results.imputed_binary)
        elif col.kind == "gaussian":
            # adaptive (:mod:`.adaptive`): with few groups the sd's posterior reaches where the
            # non-centred form has a ridge (airquality's 5 months: R-hat 1.017 on mi_Solar.R_sd)
            spread = pt.sqrt(1.0 + group_precision(col) * pt.square(sd))
            w = pm.Normal(f"{p}_w", 0.0, spread, shape=col.n_groups)
            a = w * sd / spread
            pm.Deterministic(f"{p}_z", w / spread)
        else:
            a = pm.Normal(f"{p}_z", 0.0, 1.0, shape=col.n_groups) * sd
        mu_obs = mu_obs + a[col.codes_obs]
        mu_mis = mu_mis + a[col.codes_mis]
    return mu_obs, mu_mis


def column_model(col, model: pm.Model):
    """Register the imputation model of one (continuous) column; returns the imputed values."""
    priors = imputation_priors(col.observed, col.weights_obs)
    p = f"mi_{col.name}"
    mu_obs, mu_mis = submodel_means(col, priors)
    sigma = register(f"{p}_sigma", priors["sigma"])
    observed = np.asarray(col.observed, dtype=float)
    lp = pm.logp(pm.Normal.dist(mu_obs, sigma), observed)
    if col.weights_obs is not None:
        lp = lp * np.asarray(col.weights_obs, dtype=float)
    pm.Potential(f"{p}_observed", lp.sum())
    values = pm.Normal(col.parameter, mu_mis, sigma, dims=unit_dim(col.name))
    if col.weights_mis is not None:  # an imputed unit counts its weight's times, as its observed value would
        extra = np.asarray(col.weights_mis, dtype=float) - 1.0
        pm.Potential(f"{p}_weights", pt.sum(extra * pm.logp(pm.Normal.dist(mu_mis, sigma), values)))
    return values


def imputation_shift(design: Design, slopes, n: int):
    """The (n,) change of the linear predictor the imputed values make.

    Parameters
    ----------
    design : a design with ``design.imputation``.
    slopes : the coefficient vector of the non-intercept fixed columns (design order).
    n : the number of rows.
    """
    model = pm.modelcontext(None)
    offset = 1 if design.has_intercept else 0
    shift = pt.zeros(n)
    for col in design.imputation.columns:
        if not len(col.rows) or col.kind == "binary":  # binary holes: imputation_binary.py
            continue
        values = column_model(col, model)
        moved = values[col.unit] - col.fill
        total = 0.0
        for j, loading in col.loadings:
            total = total + slopes[j - offset] * loading * moved
        shift = pt.inc_subtensor(shift[col.rows], total)
    return shift


def imputation_parts(design: Design) -> list:
    """What the compiled model depends on in the imputed columns (for the compile fingerprint)."""
    if not has_imputation(design):
        return []
    parts: list = []
    for col in design.imputation.columns:
        parts.append((col.name, col.kind, col.level, col.group, col.n_groups, col.labels, col.predictors,
                      tuple(j for j, _ in col.loadings)))
        parts += [np.asarray(a, dtype=float) for a in (col.rows, col.unit, col.fill, col.observed, col.W_obs, col.W_mis)]
        parts += [np.asarray(m, dtype=float) for _, m in col.loadings]
        parts += [np.asarray(a) for a in (col.codes_obs, col.codes_mis, col.weights_obs, col.weights_mis)
                  if a is not None]
        table = binary_imputation_priors if col.kind == "binary" else imputation_priors
        parts.append(tuple(sorted((k, str(p)) for k, p in table(col.observed, col.weights_obs).items())))
    return parts
