"""Each level's likelihood with its group effects integrated out, by adaptive Gauss-Hermite
quadrature (what ``glmer(nAGQ = n)`` does at its estimates; here at every posterior draw).

For draw ``s`` and level ``j`` the integrand is ``exp(h(u))``,
``h(u) = sum_{i in j} log p(y_i | eta_i + z_i'u) + log N(u; 0, Sigma_s)``. Newton steps find
its mode ``u*`` and curvature ``P = -h''(u*)``; with ``u = u* + L x``, ``L L' = P^-1``,

    int exp(h(u)) du = |L| (2 pi)^(K/2) E_x[exp(h(u* + L x) + |x|^2 / 2)],  x ~ N(0, I_K),

and the expectation is a product Gauss-Hermite rule. The rule is exact for a gaussian
response (``h`` quadratic) and, being deterministic, gives the same answer at every call:
importance sampling from one proposal per level (what this replaced) moved epil's
leave-one-subject-out elpd by 0.9 (sd) from call to call, as much as two models differed.

The derivatives of a row's log-likelihood in its linear predictor are central differences,
so every family, link and censoring works alike; the curvature is clipped at zero (a
non-concave row, as a student-t outlier, adds none) so that every step is an ascent
direction, and a step that lowers ``h`` is halved.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: Newton steps at most; they start at the fit's posterior mean of the level's effects.
NEWTON_STEPS = 12
#: Step of the central differences in eta (rows' log-likelihoods are O(1) in it).
DIFFERENCE_STEP = 1e-4
#: Nodes per dimension of the product rule at most (glmer allows up to 25 in one dimension).
MAX_NODES_PER_DIM = 20


def nodes_per_dimension(points: int, dim: int) -> int:
    """The most Gauss-Hermite nodes per dimension whose product rule has at most ``points``
    points (at least 1, at most :data:`MAX_NODES_PER_DIM`): 200 points are 20 nodes in one
    dimension, 14 in two, 5 in three, 3 in four."""
    n = int(np.floor(max(int(points), 1) ** (1.0 / dim) + 1e-9))
    return int(min(max(n, 1), MAX_NODES_PER_DIM))


def product_rule(n: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes (M, dim) and log weights (M,) of the ``n``-point Gauss-Hermite rule for
    E[f(x)], x ~ N(0, I_dim), as a product over dimensions (M = n^dim)."""
    x, w = np.polynomial.hermite_e.hermegauss(n)
    log_w = np.log(w) - 0.5 * np.log(2.0 * np.pi)
    grids = np.meshgrid(*([np.arange(n)] * dim), indexing="ij")
    index = np.stack([g.ravel() for g in grids], axis=1)
    return x[index], log_w[index].sum(axis=1)


def adaptive_group_loglik(
    row_loglik: Callable[[np.ndarray], np.ndarray],
    base: np.ndarray,
    Z: np.ndarray,
    codes: np.ndarray,
    n_levels: int,
    chol: np.ndarray,
    start: np.ndarray,
    points: int = 200,
) -> np.ndarray:
    """(S, J) log of each level's likelihood with its effects integrated out.

    Parameters
    ----------
    row_loglik : (S, n) linear predictors -> (S, n) log-likelihood of each row.
    base : (S, n) the rows' linear predictors without the integrated effects.
    Z : (n, K) the rows' columns of the integrated effects.
    codes : (n,) each row's level (0 .. n_levels - 1).
    n_levels : J.
    chol : (S, K, K) Cholesky factor of the effects' prior covariance at each draw.
    start : (J, K) where the Newton steps start (the fit's posterior mean of the effects).
    points : integration points per level and draw at most (see :func:`nodes_per_dimension`).
    """
    S, K, _ = chol.shape
    codes = np.asarray(codes)
    chol_inv = np.linalg.inv(chol)
    precision = np.einsum("slk,slm->skm", chol_inv, chol_inv)  # Sigma^-1 (S, K, K)
    log_norm = -np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2)), axis=1)[:, None] - 0.5 * K * np.log(2 * np.pi)
    ZZ = Z[:, :, None] * Z[:, None, :]
    level_sums = LevelSums(codes, n_levels)

    def eta_at(u):  # (S, J, K) -> (S, n)
        return base + np.einsum("nk,snk->sn", Z, u[:, codes, :])

    def h_at(u, ll):
        v = np.einsum("skl,sjl->sjk", chol_inv, u)
        return level_sums(ll) - 0.5 * np.sum(v * v, axis=-1) + log_norm

    def derivatives(u):
        eta = eta_at(u)
        ll, up, down = row_loglik(eta), row_loglik(eta + DIFFERENCE_STEP), row_loglik(eta - DIFFERENCE_STEP)
        first = (up - down) / (2.0 * DIFFERENCE_STEP)
        curvature = np.maximum(-(up - 2.0 * ll + down) / DIFFERENCE_STEP**2, 0.0)
        gradient = np.stack([level_sums(first * Z[:, k]) for k in range(K)], axis=-1)
        gradient -= np.einsum("skl,sjl->sjk", precision, u)
        information = np.stack([np.stack([level_sums(curvature * ZZ[:, k, m]) for m in range(K)], -1)
                                for k in range(K)], -2) + precision[:, None]
        return h_at(u, ll), gradient, information

    u = np.broadcast_to(np.asarray(start, float)[None], (S, n_levels, K)).copy()
    h, gradient, information = derivatives(u)
    for _ in range(NEWTON_STEPS):
        step = np.linalg.solve(information, gradient[..., None])[..., 0]
        step = np.where(np.isfinite(step), step, 0.0)  # a level whose rows' density is not finite stays put
        proposed = u + step
        h_new, g_new, i_new = derivatives(proposed)
        worse = ~(h_new >= h - 1e-10)  # NaN counts as worse
        for _halving in range(30):
            if not worse.any():
                break
            step = np.where(worse[..., None], 0.5 * step, step)
            proposed = u + step
            h_new, g_new, i_new = derivatives(proposed)
            worse = worse & ~(h_new >= h - 1e-10)
        u, h, gradient, information = proposed, h_new, g_new, i_new
        if np.max(np.abs(step)) < 1e-8:
            break
    L = np.linalg.cholesky(np.linalg.inv(information))  # (S, J, K, K)
    log_det_L = np.sum(np.log(np.diagonal(L, axis1=-2, axis2=-1)), axis=-1)
    x, log_w = product_rule(nodes_per_dimension(points, K), K)
    acc = np.full((S, n_levels), -np.inf)
    for node, log_weight in zip(x, log_w, strict=True):
        at = u + np.einsum("sjkl,l->sjk", L, node)
        acc = np.logaddexp(acc, log_weight + h_at(at, row_loglik(eta_at(at))) + 0.5 * float(node @ node))
    return acc + log_det_L + 0.5 * K * np.log(2.0 * np.pi)


class LevelSums:
    """(S, J) sums over each level's rows of (S, n) values (the rows' order sorted once)."""

    def __init__(self, codes: np.ndarray, n_levels: int) -> None:
        self.order = np.argsort(codes, kind="stable")
        self.present, self.starts = np.unique(codes[self.order], return_index=True)
        self.n_levels = n_levels

    def __call__(self, values: np.ndarray) -> np.ndarray:
        out = np.zeros((values.shape[0], self.n_levels))
        out[:, self.present] = np.add.reduceat(values[:, self.order], self.starts, axis=1)
        return out
