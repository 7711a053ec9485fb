"""How much the data say about a group term's effects in a binomial or count model.

The planning rule (:mod:`.plan`) centres a term where ``k = n_j tau^2 / sigma^2``, the
precision of a group's data on its effect over the population's, is at least 1 over the
posterior of ``tau``. A gaussian response gives ``k`` by moments. Other families give it
through the working-response approximation behind IRLS (McCullagh & Nelder 1989, sec.
2.5; the same normal approximation as lme4's PQL start and the Laplace method): at a pilot
fit of the fixed part, row ``i``'s linear predictor is known to the precision
``W_i = (dmu_i/deta_i)^2 / Var(y_i)`` (``n p (1 - p)`` for a logit binomial, ``mu`` for a
log-link Poisson, ``mu / (1 + mu / phi)`` for a negative binomial), and its working residual
``(y_i - mu_i) / (dmu_i/deta_i)`` behaves like a gaussian residual of variance ``1/W_i``.
A group's data then hold ``sum_{i in j} W_i`` of precision on its effect, so
``k_j = tau^2 sum_{i in j} W_i``, with ``tau^2`` the between-group variance of the groups'
weighted mean working residuals less their sampling variance (one-way ANOVA moments).

The family's variance is known given the mean, so the F bound on ``k`` has infinite noise
degrees of freedom: six data-rich departments (UCBAdmissions, 4,526 applicants) are centred
(``k`` in the hundreds), a six-level demographic factor of a survey with a few hundred
respondents per level is not.
"""

from __future__ import annotations

import weakref

import numpy as np
from scipy import special  # the normal cdf and quantile, without importing scipy.stats (0.4 s)

from ...design.types import Design, GroupBlock
from ...families import Family, get_family
from .information import Information, moment_information
from .plan_thresholds import threshold_working_rows

#: IRLS iterations of the pilot fit (it only has to land near the mean structure).
PILOT_ITERATIONS = 8
#: Linear predictors are kept within this range so separated data do not overflow.
ETA_LIMIT = 15.0


def _mean_and_slope(eta: np.ndarray, link: str) -> tuple[np.ndarray, np.ndarray]:
    """(mu, dmu/deta) per row for a probability (binomial) or a rate (log) link."""
    if link == "logit":
        p = 1.0 / (1.0 + np.exp(-eta))
        return p, p * (1.0 - p)
    if link == "probit":
        return special.ndtr(eta), np.exp(-0.5 * eta**2) / np.sqrt(2.0 * np.pi)
    if link == "cloglog":
        p = -np.expm1(-np.exp(eta))
        return p, np.exp(eta - np.exp(eta))
    if link == "log":
        mu = np.exp(eta)
        return mu, mu
    raise ValueError(link)


def _trials(design: Design) -> np.ndarray:
    return np.ones(design.n_obs) if design.trials is None else np.asarray(design.trials, dtype=float)


def _variance(mu: np.ndarray, n: np.ndarray, family: Family, y: np.ndarray | None,
              cells: np.ndarray | None = None) -> np.ndarray:
    return np.maximum(family.glm_variance(mu, n, y, cells), 1e-10)


def shared_cells(design: Design) -> np.ndarray | None:
    """Code per row of the cells of the group terms together (each row's combination of
    levels), leaving out terms without a level of 2+ rows (one level per row, grouseticks'
    ``INDEX``): within them a dispersion parameter is not confounded with the groups'
    spread (:func:`.families.counts.within_cell_dispersion`). None without such a term."""
    codes = [b.codes for b in design.groups if b.rows_per_level().max(initial=0) >= 2]
    if not codes:
        return None
    return np.unique(np.stack(codes, axis=1), axis=0, return_inverse=True)[1].reshape(-1)


def _pilot_eta(design: Design, link: str, family: Family) -> np.ndarray:
    """Linear predictor of a fixed-effects-only fit by IRLS (offset included; level-1 weights
    weight the rows, so frequency weights give the fit of the repeated rows)."""
    y = np.asarray(design.y, dtype=float)
    n = _trials(design)
    offset = np.zeros(design.n_obs) if design.offset is None else np.asarray(design.offset, float)
    X = design.X if design.X.shape[1] else np.ones((design.n_obs, 1))
    if family.is_binomial:
        target = (y + 0.5) / (n + 1.0)
        start = {"logit": np.log(target / (1 - target)), "probit": special.ndtri(target)}
        eta = start.get(link, np.log(-np.log1p(-target)))
    else:
        eta = np.log(y + 0.5)
    beta = np.linalg.lstsq(X, eta - offset, rcond=None)[0]
    ridge = 1e-8 * np.eye(X.shape[1])
    for _ in range(PILOT_ITERATIONS):
        eta = np.clip(X @ beta + offset, -ETA_LIMIT, ETA_LIMIT)
        mu, slope = _mean_and_slope(eta, link)
        scale = n if family.is_binomial else 1.0
        weight = (scale * slope) ** 2 / _variance(mu, n, family, None)
        working = eta - offset + (y - scale * mu) / np.maximum(scale * slope, 1e-10)
        if design.row_weights is not None:  # a weighted row counts as that many rows
            weight = weight * design.row_weights
        XtW = X.T * weight
        beta = np.linalg.solve(XtW @ X + ridge, XtW @ working)
    return np.clip(X @ beta + offset, -ETA_LIMIT, ETA_LIMIT)


_WORKING: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def working_rows(design: Design, link: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(precision ``W_i``, working residual) per row at the pilot fit, computed once per design
    and link; None where this module's approximation does not apply."""
    family = get_family(design.spec.family)
    glm = family.glm_variance is not None and link in ("logit", "probit", "cloglog", "log")
    if not (glm or family.thresholds):
        return None
    cached = _WORKING.setdefault(design, {})
    if link not in cached:  # an ordinal response: plan_thresholds.py
        cached[link] = _glm_rows(design, link, family) if glm else threshold_working_rows(design, link)
    return cached[link]


def _glm_rows(design: Design, link: str, family: Family) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(design.y, dtype=float)
    n = _trials(design)
    mu, slope = _mean_and_slope(_pilot_eta(design, link, family), link)
    scale = n if family.is_binomial else 1.0
    weight = (scale * slope) ** 2 / _variance(mu, n, family, y, shared_cells(design))
    return weight, (y - scale * mu) / np.maximum(scale * slope, 1e-10)


def working_group_means(block: GroupBlock, design: Design, link: str):
    """(precision per group, groups with rows, weighted group means of the working residuals,
    1.0): the gaussian :func:`.plan.group_means` of the working response, whose rows have
    variance ``1/W_i`` (so a group mean's noise is ``1 / sum W_i``); None where this module's
    approximation does not apply (another family or link, a term without an intercept)."""
    rows = working_rows(design, link)
    if rows is None or not np.all(block.X[:, 0] == 1.0):
        return None
    weight, residual = rows
    precision = np.bincount(block.codes, weights=weight, minlength=block.n_levels)
    sums = np.bincount(block.codes, weights=weight * residual, minlength=block.n_levels)
    means = np.divide(sums, precision, out=np.zeros_like(sums), where=precision > 0)
    if get_family(design.spec.family).is_binomial:
        # The pilot's row variance mu(1 - mu) / m holds the spread of the groups' means:
        # within a group a row varies by E[p(1-p)] / m = (mu(1-mu) - var p) / m, so in working
        # units its noise is 1/W_i - tau^2/m_i, and only rows sharing a group (or trials
        # sharing a row) reveal tau^2. A group mean's variance is tau^2 (1 - S_j) + 1/P_j with
        # S_j = sum_i W_i^2 / m_i / P_j^2: rescaled by 1/sqrt(1 - S_j) (its precision by
        # 1 - S_j) the moments estimate tau^2 again. One bernoulli row (S_j = 1) says nothing
        # of it. mlmRev's guImmun, 1,595 mothers of 1-3 children: tau^2 0.3 -> 1.8.
        own = np.bincount(block.codes, weights=weight**2 / _trials(design), minlength=block.n_levels)
        kept = 1.0 - np.divide(own, precision**2, out=np.ones_like(own), where=precision > 0)
        kept = np.where(kept > 1e-9, kept, 0.0)
        means = np.divide(means, np.sqrt(kept), out=np.zeros_like(means), where=kept > 0)
        precision = precision * kept
    return precision, precision > 0, means, 1.0


def glm_information(block: GroupBlock, design: Design, link: str) -> Information | None:
    """:class:`.information.Information` of a group term of a binomial or count model (the
    family's variance is known given the mean: infinite noise degrees of freedom), or None
    when this approximation does not apply.

    Parameters
    ----------
    block : the group term (its first column must be the intercept).
    design : the model's design (response, trials, fixed columns, offset).
    link : the resolved link function.
    """
    found = working_group_means(block, design, link)
    return None if found is None else moment_information(*found, np.inf)


def precision_known(block: GroupBlock, design: Design, link: str) -> bool:
    """Whether a one-column term's data precision per group has a closed form here (a
    gaussian response with the identity link, or this module's working weights): what the
    adaptive parameterization (:mod:`.adaptive`) needs."""
    if block.n_columns != 1:
        return False
    if get_family(design.spec.family).normal_residuals and link == "identity":
        return True
    return working_rows(design, link) is not None


def one_sided_levels(block: GroupBlock, design: Design, response_edge) -> np.ndarray:
    """(J,) bool: levels whose every row (of nonzero ``x``) sits at the same edge of the
    response's support in the direction of the effect: all successes, all failures, all zero
    counts (times the sign of the term's column). Such a level's likelihood is monotone in its
    effect: no mode, and its posterior given ``tau`` is the prior's, tilted, with a scale that
    grows with ``tau``: the non-centred geometry, whatever the curvature at a pilot fit says
    (mlmRev's guImmun: 91% of 1,595 mothers have 1-3 children all immunized or none; scaled
    by their pilot curvature the fit mixed at R-hat 1.02)."""
    x = np.sign(np.asarray(block.X[:, 0], dtype=float))
    trials = None if design.trials is None else np.asarray(design.trials, dtype=float)
    side = response_edge(np.asarray(design.y, dtype=float), trials) * x
    counted = x != 0
    n = block.n_levels
    up = np.bincount(block.codes, weights=(side > 0).astype(float), minlength=n)
    down = np.bincount(block.codes, weights=(side < 0).astype(float), minlength=n)
    inside = np.bincount(block.codes, weights=((side == 0) & counted).astype(float), minlength=n)
    return (inside == 0) & ((up == 0) ^ (down == 0))


#: Share of a term's levels with several rows that sit at one edge (:func:`one_sided_levels`)
#: above which the working-response moments cannot bound the term's spread.
SATURATED_SHARE = 0.5


def saturated(block: GroupBlock, design: Design) -> bool:
    """True when most of the term's levels with several rows sit at one edge of the
    response's support: their working means are pinned at the edges whatever the spread of
    the effects, so the moments of :func:`working_group_means` see a spread bounded by the
    data, not the term's. mlmRev's guPrenat: 90% of the mothers with two or more children
    have all of them at one outcome; the moments put the mothers' sd near 2 on the logit
    scale against 7.7 in the posterior, which made their clusters look data-rich through them
    (centred: R-hat 1.024, ESS 210)."""
    edge = get_family(design.spec.family).response_edge
    if edge is None:
        return False
    several = block.rows_per_level() >= 2
    return bool(several.any()) and float(one_sided_levels(block, design, edge)[several].mean()) > SATURATED_SHARE
