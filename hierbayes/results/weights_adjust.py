"""The interval adjustment of a weighted (pseudo-) posterior, after Williams & Savitsky (2021,
"Uncertainty estimation for pseudo-Bayesian inference under complex sampling").

A posterior from sampling weights has the curvature of the weighted log-likelihood, ``H``,
as its inverse covariance, but the sampling variance of the estimator is the sandwich
``H^-1 J H^-1``, with ``J`` the variance of the weighted score over the primary sampling
units (the groups). Draws are moved so that their covariance becomes the sandwich:

    theta_adj = theta_bar + (theta - theta_bar) R2^-1 R1,   R1'R1 = H^-1 J H^-1,  R2'R2 = V_post,

with ``V_post`` the posterior covariance, ``J = C/(C-1) sum_c (s_c - s_bar)(s_c - s_bar)'`` from
the scores ``s_c`` of each group's weighted marginal (group effects integrated out)
log-likelihood, and ``H`` the Hessian of their sum, both at the posterior mean by central
differences. Williams & Savitsky let ``V_post`` stand for ``H^-1``; its Monte Carlo error,
multiplied twice into the sandwich, moved PISA's adjusted sds by up to 20% between seeds,
where the Hessian of the closed form (or of the quadrature) has none. Where ``-H`` is not
positive definite at the posterior mean (a posterior far from normal, or prior draws) the
posterior covariance stands in, with a warning. For the linear gaussian model the fixed
effects and the variance parameters are taken as orthogonal (``H``'s cross block set to
zero: their expected information is block diagonal), as Stata's ``mixed`` and WeMix do; the
adjusted sds then reproduce Stata's robust standard errors (PISA 2000, Stata's manual
example with ``weight_method="pml"``: all seven within 0.4%, where the full ``H`` puts
``college`` 10% above).

Available for gaussian models (identity link) with one group term, whose groups' marginal
likelihood has a closed form, and for other families (logit, Poisson, ...) with one group term
of one column, integrated by adaptive Gauss-Hermite quadrature
(:mod:`hierbayes.results.weights_adjust_glmm`): the fixed effects, the log of the family's
parameters (``sigma``, ``phi``, ...) and the log group sds are adjusted (correlations held at their posterior mean; the group effects' draws are left as
they are). Each cluster's contribution is ``log int prod_i p(y_i | u)^{w_i} p(u)^{w_j} du``,
the term the pseudo-posterior integrates (:mod:`hierbayes.design.weights`); with
``weight_method="pml"``, ``w_j log int prod_i p(y_i | u)^{w_i|j} p(u) du`` (Stata's robust
standard errors are this sandwich at the maximum).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..design.crossprod import group_cross_products
from ..design.offsets import response_less_offset
from ..design.types import Design
from ..errors import SpecError, warn_user
from ..families import get_family
from ..params import FIXED_DIM, block_names
from .stats import flatten_draws
from .weights_adjust_glmm import quadrature_centres, quadrature_cluster_loglik

__all__ = ["ADJUSTMENT_LABEL", "adjusted_posterior", "group_log_likelihoods"]

#: What the summary says of adjusted intervals.
ADJUSTMENT_LABEL = "Williams & Savitsky (2021) sandwich adjustment of the pseudo-posterior"


def _closed_form(design: Design) -> bool:
    family = get_family(design.spec.family)
    return family.linear_gaussian(family.resolve_link(design.spec.link))


def _check(design: Design) -> None:
    family = get_family(design.spec.family)
    one_column = len(design.groups) == 1 and design.groups[0].n_columns == 1
    if len(design.groups) != 1 or (not _closed_form(design) and not one_column) or family.thresholds \
            or design.residuals is not None or design.distributional or design.censoring is not None:
        terms = ", ".join(b.term.label if b.term is not None else b.group for b in design.groups) or "none"
        raise SpecError(
            "the interval adjustment of weighted fits is available for gaussian models (identity "
            "link) with one group term, and for other (non-ordinal) families with one group term of "
            "one column (a random intercept), without residual structure, censoring or distributional "
            f"formulas; this model is {family.name} with group term(s) {terms}"
        )


class _Parameters:
    """theta = (fixed effects, log family parameters (sigma, phi, ...), log sds) and the
    posterior draws of it."""

    def __init__(self, posterior: xr.Dataset, design: Design) -> None:
        self.names = block_names(design.spec)[0]
        self.k = design.groups[0].n_columns
        self.n_groups = design.groups[0].n_levels
        fixed = []
        for name in design.fixed_names:
            da = posterior["Intercept"] if name == "Intercept" else posterior["b"].sel({FIXED_DIM: name})
            fixed.append(flatten_draws(da))
        self.aux = tuple(a for a in get_family(design.spec.family).aux if a in posterior)
        aux = [np.log(flatten_draws(posterior[a])).reshape(-1) for a in self.aux]
        S = fixed[0].shape[0]
        self.p = len(fixed)
        sd = flatten_draws(posterior[self.names.sd]).reshape(S, -1)
        self.n_sd = sd.shape[1]
        self.draws = np.column_stack([*fixed, *aux, np.log(sd)])
        cor = posterior.get(self.names.cor)
        self.cor_chol = np.eye(self.k)
        if cor is not None:
            mean_cor = flatten_draws(cor).mean(axis=0)
            self.cor_chol = np.linalg.cholesky(mean_cor + 1e-12 * np.eye(self.k))

    def unpack(self, theta: np.ndarray):
        """(fixed effects, {family parameter: value}, Cholesky factor of the effects' covariance)."""
        beta = theta[: self.p]
        aux = {a: float(np.exp(theta[self.p + i])) for i, a in enumerate(self.aux)}
        sd = np.broadcast_to(np.exp(theta[self.p + len(self.aux):]), (self.k,))
        return beta, aux, sd[:, None] * self.cor_chol


def _cluster_loglik(theta, par: _Parameters, design: Design, y, w, w2, centres=None) -> np.ndarray:
    """(J,) each group's weighted marginal log-likelihood at ``theta``."""
    beta, aux, L = par.unpack(theta)
    if not _closed_form(design):
        return quadrature_cluster_loglik(design, beta, aux, float(L[0, 0]), w, w2, centres)
    sigma = aux["sigma"]
    block = design.groups[0]
    r = y - design.X @ beta
    g = group_cross_products(block.codes, block.X, np.zeros((len(r), 0)), r, block.n_levels, w)
    Lj = L[None, :, :] / np.sqrt(w2)[:, None, None]
    s2 = sigma**2
    A = np.einsum("jca,jcd,jdb->jab", Lj, g.ZZ, Lj)
    M = np.eye(par.k)[None] + A / s2
    v = np.einsum("jca,jc->ja", Lj, g.Zy)
    _, logdet = np.linalg.slogdet(M)
    quad = np.einsum("ja,ja->j", v, np.linalg.solve(M, v[..., None])[..., 0])
    if design.weights is not None and design.weights.method == "pml":
        # Stata's target, w_j log int prod_i p(y_i | u)^{w_i|j} p(u) du: only log det M_j lacks w_j
        # (see hierbayes.backends.pymc.marginal.prior_weighted_block)
        return -0.5 * (g.n * np.log(2 * np.pi * s2) + w2 * logdet + (g.yy - quad / s2) / s2)
    log_det_L = np.sum(np.log(np.abs(np.diag(L))))
    # p(u)^w = N(u | 0, Sigma / w) (2 pi)^(-k(w-1)/2) |Sigma|^(-(w-1)/2) w^(-k/2); the 2 pi
    # terms of the rows and of p(u) are in n log(2 pi sigma^2) and the integral's own
    prior_power = -(w2 - 1.0) * (log_det_L + 0.5 * par.k * np.log(2 * np.pi)) - 0.5 * par.k * np.log(w2)
    return -0.5 * (g.n * np.log(2 * np.pi * s2) + logdet + (g.yy - quad / s2) / s2) + prior_power


def _weights(design: Design) -> tuple[np.ndarray, np.ndarray]:
    """(row weights, the group term's level-2 weights), ones where there are none."""
    w = design.row_weights if design.row_weights is not None else np.ones(design.n_obs)
    block = design.groups[0]
    w2 = block.prior_weights if block.prior_weights is not None else np.ones(block.n_levels)
    return w, w2


def group_log_likelihoods(posterior: xr.Dataset, design: Design, theta: np.ndarray | None = None) -> np.ndarray:
    """Each group's weighted marginal log-likelihood (its effects integrated out).

    Parameters
    ----------
    posterior
        Draws of the fit; give the correlations of the group effects (held at their mean)
        and, without ``theta``, the point.
    design
        The fit's design: a gaussian model (identity link) with one group term.
    theta
        ``(fixed effects, log family parameters (sigma, ...), log group sds)``, in the order of ``design.fixed_names``
        and the block's sds; the posterior mean of these by default.

    Returns
    -------
    numpy.ndarray
        ``(J,)``: the terms whose scores give the sandwich's ``J`` (with
        ``weight_method="pml"``, Stata's per-group PML terms); they sum to the weighted
        integrated log-likelihood.

    Raises
    ------
    SpecError
        For a model the adjustment is not available for.
    """
    _check(design)
    par = _Parameters(posterior, design)
    w, w2 = _weights(design)
    point = par.draws.mean(axis=0) if theta is None else np.asarray(theta, dtype=np.float64)
    if point.shape != (par.draws.shape[1],):
        raise SpecError(f"theta has {point.size} values; this model has {par.draws.shape[1]} "
                        f"({', '.join(['fixed effects', *(f'log {a}' for a in par.aux), 'log group sds'])})")
    return _cluster_loglik(point, par, design, response_less_offset(design), w, w2)


class _Point:
    """The posterior mean of theta and what each group's log-likelihood needs at and near it."""

    def __init__(self, posterior: xr.Dataset, design: Design) -> None:
        _check(design)
        self.design = design
        self.par = _Parameters(posterior, design)
        self.y = response_less_offset(design)
        self.w, self.w2 = _weights(design)
        self.theta = self.par.draws.mean(axis=0)
        self.steps = 1e-5 * np.maximum(1.0, np.abs(self.theta))
        self.centres = None
        if not _closed_form(design):  # the quadrature's centres held at the point (a smooth function of theta)
            beta, aux, L = self.par.unpack(self.theta)
            self.centres = quadrature_centres(design, beta, aux, float(L[0, 0]), self.w, self.w2)

    def loglik(self, shift: np.ndarray) -> np.ndarray:
        """(J,) each group's weighted marginal log-likelihood at theta + shift."""
        return _cluster_loglik(self.theta + shift, self.par, self.design, self.y, self.w, self.w2, self.centres)

    def scores(self) -> np.ndarray:
        """(J, P) the gradient of each group's term, by central differences."""
        out = np.empty((self.par.n_groups, self.theta.size))
        for a, h in enumerate(self.steps):
            e = np.zeros(self.theta.size)
            e[a] = h
            out[:, a] = (self.loglik(e) - self.loglik(-e)) / (2 * h)
        return out

    def hessian(self) -> np.ndarray:
        """(P, P) the Hessian of the summed terms, by central second differences (steps 10x the
        scores': the sum's rounding error over h^2 stays below 1e-4 of PISA's curvature)."""
        P = self.theta.size
        steps = 10 * self.steps
        basis = np.diag(steps)

        def total(shift: np.ndarray) -> float:
            return float(self.loglik(shift).sum())

        f0 = total(np.zeros(P))
        H = np.empty((P, P))
        for a in range(P):
            ea = basis[a]
            H[a, a] = (total(ea) - 2 * f0 + total(-ea)) / steps[a] ** 2
            for b in range(a):
                eb = basis[b]
                H[a, b] = H[b, a] = (total(ea + eb) - total(ea - eb) - total(eb - ea) + total(-ea - eb)) / (
                    4 * steps[a] * steps[b])
        return H


def _bread(point: _Point) -> np.ndarray:
    """``H^-1``: the inverse of the information (minus the Hessian of the summed groups'
    weighted marginal log-likelihoods) at the posterior mean of theta; for the linear gaussian
    model with its fixed-effects / variance-parameters cross block set to zero (Stata's
    ``mixed``). The posterior covariance, with a warning, where the information is not
    positive definite there."""
    information = -point.hessian()
    if _closed_form(point.design):
        p = point.par.p
        information[:p, p:] = 0.0
        information[p:, :p] = 0.0
    try:
        np.linalg.cholesky(information)
    except np.linalg.LinAlgError:
        warn_user("the weighted log-likelihood's curvature at the posterior mean is not positive definite "
                  "(a posterior far from normal); the interval adjustment uses the posterior covariance "
                  "for H^-1 (Williams & Savitsky's original form), whose Monte Carlo error it inherits: "
                  "draw more (fit(draws=...)) for stable adjusted intervals")
        return np.atleast_2d(np.cov(point.par.draws, rowvar=False))
    return np.linalg.inv(information)


def adjusted_posterior(posterior: xr.Dataset, design: Design) -> xr.Dataset:
    """A copy of ``posterior`` whose fixed effects, family parameters and group sds are adjusted to the
    sandwich covariance (see the module docstring); ``attrs["interval_adjustment"]`` says so.

    Raises
    ------
    SpecError
        For a model the adjustment is not available for (see above), or fewer than 3 groups.
    """
    point = _Point(posterior, design)
    scores, draws = point.scores(), point.par.draws
    C = scores.shape[0]
    if C < 3:
        raise SpecError(f"the interval adjustment needs at least 3 groups (primary sampling units); got {C}")
    centred = scores - scores.mean(axis=0)
    J = C / (C - 1) * centred.T @ centred
    mean = draws.mean(axis=0)
    V = np.atleast_2d(np.cov(draws, rowvar=False))
    bread = _bread(point)
    sandwich = bread @ J @ bread
    P = V.shape[0]
    R1 = np.linalg.cholesky(sandwich + 1e-12 * np.trace(sandwich) / P * np.eye(P)).T
    R2 = np.linalg.cholesky(V + 1e-12 * np.trace(V) / P * np.eye(P)).T
    adjusted = mean + (draws - mean) @ np.linalg.solve(R2, R1)
    return _written_back(posterior, design, adjusted)


def _written_back(posterior: xr.Dataset, design: Design, theta: np.ndarray) -> xr.Dataset:
    out = posterior.copy()
    shape = (posterior.sizes["chain"], posterior.sizes["draw"])
    names = block_names(design.spec)[0]
    for j, name in enumerate(design.fixed_names):
        if name == "Intercept":
            out["Intercept"] = (posterior["Intercept"].dims, theta[:, j].reshape(shape))
        else:
            b = out["b"].copy()
            b.loc[{FIXED_DIM: name}] = theta[:, j].reshape(shape)
            out["b"] = b
    p = len(design.fixed_names)
    aux = [a for a in get_family(design.spec.family).aux if a in posterior]
    for i, a in enumerate(aux):
        out[a] = (posterior[a].dims, np.exp(theta[:, p + i]).reshape(posterior[a].shape))
    sd = posterior[names.sd]
    out[names.sd] = (sd.dims, np.exp(theta[:, p + len(aux):]).reshape(sd.shape))
    out.attrs = {**posterior.attrs, "interval_adjustment": ADJUSTMENT_LABEL}
    return out
