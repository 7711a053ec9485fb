"""Gaussian likelihoods that scale with the information, not the rows.

Two likelihoods for gaussian models with the identity link, both from cross-products
computed once (:mod:`hierbayes.design.crossprod`):

* ``marginal``: the group effects of one group term are integrated out analytically, as
  lme4 does. For group j, ``y_j ~ N(X_j b + (other terms), sigma^2 I + Z_j Sigma Z_j')``;
  with ``Sigma = L L'`` and Woodbury, ``M_j = I + L' Z_j'Z_j L / sigma^2`` (K x K) gives

      log det V_j = n_j log sigma^2 + log det M_j
      r_j' V_j^-1 r_j = (r_j'r_j - w_j' M_j^-1 w_j / sigma^2) / sigma^2,  w_j = L' Z_j' r_j.

  Without other group terms every piece comes from the per-group cross-products, so a
  gradient costs O(J K^3 + J K p + p^2) whatever the number of rows. With other (sampled)
  group terms the residual is formed per row (O(rows)) and summed per group, unless they are
  random intercepts of groups that contain the integrated term's (:mod:`.marginal_nested`:
  per-group cross-products again). There is no
  funnel: the sampler sees only the fixed effects, the covariance parameters and sigma. The
  group effects are drawn afterwards from their exact conditional posterior
  (:mod:`hierbayes.results.conditional`).
* ``sufficient statistics``: the group effects are sampled (centred or not) but the sum of
  squared residuals is expanded in cross-products: O(J K (K + p) + p^2) per gradient.

Both are added with ``pm.Potential`` (there is no per-row observed variable).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ...design.crossprod import CrossProducts
from ...design.types import Design, GroupBlock
from ...errors import SpecError
from ...linalg import cholesky_lower, solve_lower
from .lazy import pm, pt

LOG_2PI = float(np.log(2.0 * np.pi))


#: Up to this many effects per group the Woodbury pieces are written out element by element
#: over the groups. XLA fuses that into one loop; tiny (K x K) dot products each cost about a
#: microsecond on a CPU (with LKJCorr: sleepstudy (Days|Subject) NUTS 1.5 s -> 0.8 s).
UNROLL_MAX_K = 4


def batched_cholesky_terms(M, w, k: int):
    """``(log det M_j, w_j' M_j^-1 w_j)`` for a batch of SPD (K x K) matrices and vectors,
    by an unrolled Cholesky over the batch. ``M[i][j]`` and ``w[i]`` are J-vectors.

    Elementwise operations on J-vectors only: cheap to compile and to differentiate for the
    small K of group terms, on every PyTensor backend.
    """
    chol = cholesky_lower(M, k, pt.sqrt)
    logdet = sum(2.0 * pt.log(chol[i][i]) for i in range(k))
    solved = solve_lower(chol, w)
    quad = sum(v**2 for v in solved)
    return logdet, quad


def _woodbury_pieces(Zr, ZZ: np.ndarray, L, k: int):
    """``w_j = L' Z_j' r_j`` and ``A_j = L' Z_j'Z_j L`` as nested lists of J-vectors; ``L``
    is a (K x K) factor or the vector of sds of a diagonal covariance."""
    if L.ndim == 1:
        w = [Zr[:, a] * L[a] for a in range(k)]
        A = [[pt.as_tensor(np.ascontiguousarray(ZZ[:, a, b])) * (L[a] * L[b]) for b in range(k)] for a in range(k)]
        return w, A
    if k <= UNROLL_MAX_K:
        l = [[L[c, a] for a in range(k)] for c in range(k)]
        zz = [[pt.as_tensor(np.ascontiguousarray(ZZ[:, c, d])) for d in range(k)] for c in range(k)]
        w = [sum(Zr[:, c] * l[c][a] for c in range(k)) for a in range(k)]
        right = [[sum(zz[c][d] * l[d][b] for d in range(k)) for b in range(k)] for c in range(k)]  # Z'Z L
        A = [[None] * k for _ in range(k)]
        for a in range(k):
            for b in range(a + 1):
                A[a][b] = A[b][a] = sum(l[c][a] * right[c][b] for c in range(k))
        return w, A
    w = pt.dot(Zr, L)  # row j is (L' Z_j' r_j)'
    ZZL = pt.tensordot(pt.as_tensor(ZZ), L, axes=[[2], [0]])  # (J, K, K): Z'Z L
    A = pt.tensordot(ZZL, L, axes=[[1], [0]])  # (J, K, K): sum_c ZZL[j, c, a] L[c, b]
    A = A.dimshuffle(0, 2, 1)  # (L' Z'Z L)[a, b] = sum_c L[c, a] ZZL[j, c, b]
    return [w[:, a] for a in range(k)], [[A[:, a, b] for b in range(k)] for a in range(k)]


def woodbury_loglik(n_rows: int, rr, Zr, ZZ: np.ndarray, L, sigma, logdet_weights: np.ndarray | None = None):
    """Gaussian log-likelihood with one group term integrated out.

    n_rows : total rows; rr : sum of squared residuals (scalar tensor);
    Zr : (J, K) per-group ``Z_j' r_j``; ZZ : (J, K, K) per-group ``Z_j' Z_j``;
    L : (K, K) covariance factor, or (K,) sds of a diagonal covariance; sigma : residual sd;
    logdet_weights : (J,) multipliers of each group's ``log det M_j`` (see :func:`prior_weighted_block`).
    """
    k = ZZ.shape[1]
    s2 = sigma**2
    w, A = _woodbury_pieces(Zr, ZZ, L, k)
    M = [[(1.0 if a == b else 0.0) + A[a][b] / s2 for b in range(k)] for a in range(k)]
    logdet, quad = batched_cholesky_terms(M, w, k)
    if logdet_weights is not None:
        logdet = logdet * np.asarray(logdet_weights, dtype=float)
    return -0.5 * (
        n_rows * (LOG_2PI + pt.log(s2)) + pt.sum(logdet) + (rr - pt.sum(quad) / s2) / s2
    )


def shifted_theta(theta, cp: CrossProducts, intercept_first: bool):
    """Coefficients against ``y - y_shift``: the shift moves into the intercept."""
    if cp.y_shift and intercept_first:
        return pt.set_subtensor(theta[0], theta[0] - cp.y_shift)
    return theta


def residual_ss(theta, cp: CrossProducts):
    """``sum (y - X theta)^2`` from the whole-data cross-products (theta already shifted)."""
    if cp.XX.shape[0] == 0:
        return pt.as_tensor(cp.yy)
    return cp.yy - 2.0 * pt.dot(theta, cp.Xy) + pt.dot(theta, pt.dot(cp.XX, theta))


def marginal_from_crossproducts(theta, L, sigma, cp: CrossProducts, intercept_first: bool, logdet_weights=None):
    """Integrated likelihood of a model with one group term (cross-products only)."""
    g = cp.groups
    th = shifted_theta(theta, cp, intercept_first)
    rr = residual_ss(th, cp)
    Zr = g.Zy - (pt.tensordot(pt.as_tensor(g.ZX), th, axes=[[2], [0]]) if cp.XX.shape[0] else 0.0)
    return woodbury_loglik(np.float64(cp.n), rr, Zr, g.ZZ, L, sigma, logdet_weights)


def marginal_from_rows(resid, block: GroupBlock, L, sigma, ZZ: np.ndarray, weights: np.ndarray | None = None,
                       logdet_weights: np.ndarray | None = None):
    """Integrated likelihood when other group terms are sampled: ``resid`` (n,) is
    ``y - X b - (other terms)`` and is summed per group of ``block``; with level-1
    ``weights`` the sums are weighted (``ZZ`` must be too, see
    :func:`hierbayes.design.crossprod.group_cross_products`)."""
    J, k = block.n_levels, block.n_columns
    zeros = pt.zeros((J,))
    wr = resid if weights is None else resid * np.asarray(weights, dtype=float)
    cols = []
    for c in range(k):
        col = block.X[:, c]
        term = wr if np.all(col == 1.0) else wr * col
        cols.append(pt.inc_subtensor(zeros[block.codes], term))
    Zr = pt.stack(cols, axis=1)
    n = block.codes.shape[0] if weights is None else float(np.sum(weights))
    return woodbury_loglik(n, pt.sum(wr * resid), Zr, ZZ, L, sigma, logdet_weights)


def sufficient_statistics_loglik(theta, u, sigma, cp: CrossProducts, intercept_first: bool):
    """Row-level gaussian log-likelihood with sampled group effects ``u`` (J x K, or None)
    of the one group term in ``cp``, from cross-products only."""
    th = shifted_theta(theta, cp, intercept_first)
    rr = residual_ss(th, cp)
    g = cp.groups
    if u is not None and g is not None:
        rr = rr - 2.0 * pt.sum(u * g.Zy)
        if cp.XX.shape[0]:
            rr = rr + 2.0 * pt.sum(u * pt.tensordot(pt.as_tensor(g.ZX), th, axes=[[2], [0]]))
        rr = rr + pt.sum(u[:, :, None] * pt.as_tensor(g.ZZ) * u[:, None, :])
    s2 = sigma**2
    # the row count as float64 data (graph_data.py lifts it): other row counts, same program
    return -0.5 * (np.float64(cp.n) * (LOG_2PI + pt.log(s2)) + rr / s2)


def prior_weighted_block(block: GroupBlock, L, method: str = "pseudo-posterior"):
    """An integrated term with level-2 weights ``w_j`` (``block.prior_weights``): the block
    with ``Z`` divided by ``sqrt(w_j)``, the log-density term to add and the (J,) multipliers
    of the groups' ``log det M_j`` (None: all 1).

    ``N(u | 0, Sigma)^w = N(u | 0, Sigma / w) (2 pi)^(-k(w-1)/2) |Sigma|^(-(w-1)/2) w^(-k/2)``, and
    ``u ~ N(0, Sigma / w)`` with columns ``Z`` is ``u* ~ N(0, Sigma)`` with ``Z / sqrt(w)``: the
    same Woodbury likelihood on the scaled block (results/conditional.py scales its draws back).

    ``method="pml"`` (Stata's target, ``w_j log ∫ prod_i f(y_ij | u)^(w_i|j) N(u | 0, Sigma) du``):
    the rows carry ``w_i|j w_j``, so on the scaled block ``Z_j'W Z_j`` is the level-1 weighted
    cross-product and the quadratic and residual terms are already ``w_j`` times group j's;
    only ``log det M_j`` lacks the factor ``w_j``, and no prior term is added.
    """
    w = block.prior_weights
    if w is None or np.all(w == 1.0):
        return block, 0.0, None
    k = block.n_columns
    scaled = replace(block, X=block.X / np.sqrt(w)[block.codes][:, None])
    if method == "pml":
        return scaled, 0.0, np.asarray(w, dtype=float)
    log_det_L = pt.sum(pt.log(pt.diag(L))) if L.ndim == 2 else pt.sum(pt.log(L))
    term = -float(np.sum(w - 1.0)) * (log_det_L + 0.5 * k * LOG_2PI) - 0.5 * k * float(np.sum(np.log(w)))
    return scaled, term, None


def check_pml(design: Design, plan: list[str], form: str) -> None:
    """SpecError for ``weight_method="pml"`` when a level-2 weighted group term is not
    integrated out analytically (its effects are sampled: the group's integrated likelihood,
    which PML raises to ``w_j``, is then not available in closed form)."""
    if design.weights is None or design.weights.method != "pml":
        return
    for block, how in zip(design.groups, plan):
        if block.prior_weights is not None and (how != "marginal" or form != "marginal"):
            raise SpecError(
                f"weight_method='pml' needs the effects of {block.group!r} (which has level-2 "
                f"weights) integrated out, but they are sampled ({how!r}, likelihood {form!r}); "
                "PML raises each group's integrated likelihood to its weight, which is exact only "
                "for the one gaussian group term integrated out. Use weight_method='pseudo-posterior' "
                "or parameterization='marginal' for that term"
            )


def add_loglik(name: str, value) -> None:
    """Register a log-likelihood term on the current model."""
    pm.Potential(name, value)
