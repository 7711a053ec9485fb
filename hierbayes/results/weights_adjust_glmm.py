"""Each group's weighted marginal log-likelihood for the interval adjustment of a weighted
model whose likelihood is not gaussian (:mod:`hierbayes.results.weights_adjust`): logit,
probit, Poisson, negative binomial, gamma, ... models with one group term of one column (a
random intercept, or a single slope), the effect integrated by adaptive Gauss-Hermite
quadrature.

Group j's term is ``log int exp(h_j(u)) du`` with ``h_j(u) = sum_i w_i log p(y_i | eta_i +
z_i u) + w_j log N(u | 0, tau^2)``, the integral the pseudo-posterior takes (level-1 weights on
the rows, the level-2 weight on the effect's prior), as the gaussian closed form. The
quadrature is centred at the mode of ``h_j`` (Newton's method on central differences) and
scaled by its curvature there; the sandwich's scores take the centres at the posterior mean
and keep them fixed, so the differences in theta see a smooth function.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from ..design.types import Design
from ..families import get_family

__all__ = ["N_NODES", "quadrature_centres", "quadrature_cluster_loglik"]

#: Gauss-Hermite nodes per group.
N_NODES = 30


def _h(design: Design, beta: np.ndarray, aux: dict, tau: float, w: np.ndarray, w2: np.ndarray, u: np.ndarray):
    """(J,) ``h_j(u_j)`` for one value per group."""
    family = get_family(design.spec.family)
    link = family.resolve_link(design.spec.link)
    block = design.groups[0]
    eta = design.X @ beta + block.X[:, 0] * u[block.codes]
    if design.offset is not None:
        eta = eta + np.asarray(design.offset, dtype=float)
    ll = family.log_likelihood(np.asarray(design.y, dtype=float), eta, link, aux, design.trials)
    rows = np.bincount(block.codes, weights=w * ll, minlength=block.n_levels)
    prior = get_family("gaussian").log_likelihood(u, 0.0, "identity", {"sigma": tau}, None)  # log N(u | 0, tau^2)
    return rows + w2 * prior


def quadrature_centres(design: Design, beta, aux, tau, w, w2) -> tuple[np.ndarray, np.ndarray]:
    """((J,) modes of ``h_j``, (J,) the quadrature scales ``1 / sqrt(-h_j''(mode))``)."""
    u = np.zeros(design.groups[0].n_levels)
    d = 1e-3 * tau
    for _ in range(100):
        up, mid, down = (_h(design, beta, aux, tau, w, w2, u + s) for s in (d, 0.0, -d))
        slope, curve = (up - down) / (2 * d), np.minimum((up - 2 * mid + down) / d**2, -1e-8)
        step = np.clip(-slope / curve, -2 * tau, 2 * tau)
        u = u + step
        if np.abs(step).max() < 1e-9 * max(1.0, tau):
            break
    up, mid, down = (_h(design, beta, aux, tau, w, w2, u + s) for s in (d, 0.0, -d))
    return u, 1.0 / np.sqrt(np.maximum(-(up - 2 * mid + down) / d**2, 1e-12))


def quadrature_cluster_loglik(design: Design, beta, aux: dict, tau: float, w, w2,
                              centres: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """(J,) each group's weighted marginal log-likelihood (see the module).

    Parameters
    ----------
    design : a design with one group term of one column.
    beta : the fixed effects (design order); aux : the family's parameters by name; tau : the
        group sd.
    w, w2 : the rows' weights and the groups' level-2 weights.
    centres : the quadrature's centres and scales (:func:`quadrature_centres`); found at this
        point when None.
    """
    mode, scale = quadrature_centres(design, beta, aux, tau, w, w2) if centres is None else centres
    x, weights = np.polynomial.hermite.hermgauss(N_NODES)
    terms = np.stack([
        np.log(weights[k]) + x[k] ** 2 + _h(design, beta, aux, tau, w, w2, mode + np.sqrt(2) * scale * x[k])
        for k in range(N_NODES)
    ])
    return logsumexp(terms, axis=0) + np.log(np.sqrt(2) * scale)
