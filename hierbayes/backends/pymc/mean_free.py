"""Random intercepts split along their level design: what only the prior of the effects
fixes (their mean, their regression on the term's level-constant covariates) drawn
non-centred and carried by the fixed coefficients, the rest adaptive.

A random intercept's effects ``u`` (J levels) enter the likelihood only through
``Intercept + x b + u``. For a column of the fixed design that is constant within the term's
levels (a subject's Anger in VerbAgg), the rows see ``M a`` of the effects, with ``M`` the
term's *level design* (``1`` and those columns, one row per level) and ``a = (M'M)^-1 M' u``,
only through ``a + (Intercept, b)``: the data fix the sum, not how it splits. In the adaptive
form (:mod:`.adaptive`) a data-rich term is drawn nearly centred, so ``a`` is a centred
funnel in the sd on a ridge with the coefficients: with a handful of levels NUTS crosses it
slowly (the README's MRP model: sd(educ), 5 levels, bulk ESS 830-1000 and R-hat up to 1.012
at seeds 1-8); on VerbAgg (316 subjects crossed with 24 items) it makes the trees 31 leapfrog
steps long (``bench/README.md``). Here, with ``M = U R`` (``U`` orthonormal, ``P = U U'``):

* the effects are ``u = sd (S (I - P) z + P z)``, ``S = diag(1 / sqrt(1 + P_j sd^2))`` (the
  adaptive scaling, ``P_j`` the data's precision on level j): the part the rows single out
  scales like the adaptive form, the level design's part is non-centred. The map ``z -> u``
  is linear and invertible given sd; ``z`` gets the density of ``u ~ N(0, sd^2 I)`` times its
  Jacobian ``sd^J det(S) det(U' S^-1 U)`` (the matrix determinant lemma; for ``M = 1`` it is
  ``prod(S) mean(1 / S)``), so the model is unchanged;
* the sampler's coefficients are the *totals* ``Intercept_c + sum_t a_t1`` (the intercept's
  total, :data:`INTERCEPT_TOTAL`) and ``b + sum_t a_t,cov`` (the sampled slopes, or the joint
  prior's ``b__z`` through ``A^-1``), whose priors are the coefficients' priors shifted by the
  carried parts (a shift, no Jacobian), and the rows see ``u - P u``. The data then inform
  the totals, and ``a`` only through the coefficients' wide priors: its coordinates stay near
  their prior whatever the sd.

Where a term holds the intercept (:func:`.centring.intercept_holder`) its totals are located
at the sampled totals (``Intercept_c + a_1 + xbar b_total``), which carries ``a`` likewise.
Which terms carry which columns: :mod:`.carried`.

It applies to the adaptive random intercepts of a model with a fixed intercept whose prior is
a location family, where the likelihood is written per row and there is no residual structure,
except the terms of a nested chain. A column joins a term's level design when it is constant
within every level of the term, its coefficient's prior is a location family (or the joint
default) and no predictor is imputed; the level design keeps full rank.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...params import CENTRED_INTERCEPT, helper_name
from .lazy import pm, pt

#: The intercept's priors (all location families), by the name of their location: shifting it
#: shifts the variable.
LOCATION_FAMILIES = {"Normal": "mu", "StudentT": "mu", "Cauchy": "alpha"}
#: The sampled intercept total: the intercept plus the carried parts of the split terms.
INTERCEPT_TOTAL = helper_name(CENTRED_INTERCEPT, "total")
#: Relative size below which a level-design column adds no rank.
_RANK_TOLERANCE = 1e-8


@dataclass(frozen=True)
class LevelDesign:
    """A split term's level design ``M = U R`` over its (padded) levels.

    basis : (J, k) ``U``, orthonormal columns.
    coefficients : (k, J) ``R^-1 U'``: ``a = coefficients @ u`` is the least-squares fit of
        the effects on ``M``.
    slopes : positions among the slopes ``b`` of ``M``'s columns after the ones column.
    """

    basis: np.ndarray
    coefficients: np.ndarray
    slopes: tuple[int, ...]


def split_terms(groups, plan: list[str], precision: dict, has_intercept: bool, form: str, residuals,
                chained: set[int]) -> list[int]:
    """Indices of the terms drawn in this form (see the module docstring); ``chained``: the
    holder's chain, nested terms and their parents and the integrated tops."""
    if not has_intercept or form != "rows" or residuals is not None:
        return []
    return [i for i, (block, how) in enumerate(zip(groups, plan))
            if how == "adaptive" and i in precision and block.is_random_intercept and i not in chained]


def level_design(codes: np.ndarray, n_levels: int, columns: np.ndarray, candidates: list[int],
                 levels: int | None = None) -> LevelDesign:
    """The level design of a term with row ``codes`` (J = ``n_levels`` real levels): ``1`` and
    those ``candidates`` (positions in ``columns``, the centred slopes' columns) that are
    constant within every level and add rank. ``levels``: the padded count (padded levels get
    zero rows, which only their prior sees)."""
    first = np.full(n_levels, -1, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes))[::-1]
    design = [np.ones(n_levels)]
    kept: list[int] = []
    for j in candidates:
        column = columns[:, j]
        per_level = column[first]
        tolerance = 1e-12 * (1 + np.abs(column).max())
        if np.any(first < 0) or not np.allclose(column, per_level[codes], rtol=0.0, atol=tolerance):
            continue
        trial = np.column_stack([*design, per_level - per_level.mean()])
        r = np.linalg.qr(trial, mode="r")
        if abs(r[-1, -1]) > _RANK_TOLERANCE * np.linalg.norm(trial[:, -1]) and np.linalg.norm(trial[:, -1]) > 0:
            design.append(trial[:, -1])
            kept.append(j)
    M = np.column_stack(design)
    if levels is not None and levels > n_levels:
        M = np.concatenate([M, np.zeros((levels - n_levels, M.shape[1]))])
    basis, triangle = np.linalg.qr(M)
    return LevelDesign(basis, np.linalg.solve(triangle, basis.T), tuple(kept))


def _pairs(k: int) -> list[tuple[int, int]]:
    return [(i, j) for i in range(k) for j in range(i, k)]


def _log_det(entries, k: int):
    """log det of an SPD (k x k) matrix from its upper triangle ``entries`` (in
    :func:`_pairs` order): the sum of the log pivots of its LDL' factorization written out on
    scalars, which the compiler fuses into one element-wise kernel. JAX's Cholesky on CPU (a
    LAPACK call) cost VerbAgg 240 us of a 387 us gradient, and the matrix steps of a Schur
    recursion 40 of 170."""
    index = {pair: n for n, pair in enumerate(_pairs(k))}
    entry = {pair: entries[n] for pair, n in index.items()}
    lower: dict[tuple[int, int], object] = {}
    pivots: list = []
    for i in range(k):
        pivots.append(entry[i, i] - sum((lower[i, m] ** 2 * pivots[m] for m in range(i)), 0.0))
        for j in range(i + 1, k):
            crossed = sum((lower[j, m] * lower[i, m] * pivots[m] for m in range(i)), 0.0)
            lower[j, i] = (entry[i, j] - crossed) / pivots[i]
    return sum((pt.log(p) for p in pivots), 0.0)


def _logp(value, spread, basis, products, k: int):
    s = 1.0 / spread
    projected = pt.dot(basis, pt.dot(basis.T, value))
    y = s * (value - projected) + projected
    entries = pt.dot(spread[:, 0], products)  # the upper triangle of U' S^-1 U
    return (-0.5 * pt.sum(y**2) + pt.sum(pt.log(s)) + _log_det(entries, k)
            - 0.5 * pt.cast(value.size, "float64") * np.log(2.0 * np.pi))


def _random(spread, basis, rng=None, size=None):
    # u / sd = y ~ N(0, I), then z = S^-1 (y - c) + c with c = P z = U t,
    # t = (U' S^-1 U)^-1 U' S^-1 y
    spread, basis = np.asarray(spread), np.asarray(basis)
    shape = spread.shape if size is None else tuple(np.atleast_1d(size)) + spread.shape[-2:]
    y = rng.normal(size=shape)
    inverse_s = np.broadcast_to(spread, shape)
    gram = np.einsum("jk,...jl,jm->...km", basis, inverse_s, basis)
    t = np.linalg.solve(gram, np.einsum("jk,...jl->...k", basis, inverse_s * y)[..., None])
    c = np.einsum("jk,...kl->...jl", basis, t)
    return c + (y - c) * inverse_s


def split_effects(name: str, sd, precision: np.ndarray, dims, levels: LevelDesign):
    """The (J x 1) effects ``u`` of a random intercept with sd ``sd`` in this form, the part
    of them the rows see (``u - P u``) and the carried coefficients ``a`` (k,); ``name`` is the
    sampled variable ``z_<key>``."""
    spread = pt.sqrt(1.0 + np.asarray(precision, dtype=float)[:, None] * pt.square(sd))
    basis = np.asarray(levels.basis, dtype=float)
    k = basis.shape[1]
    products = np.column_stack([basis[:, i] * basis[:, j] for i, j in _pairs(k)])  # (J, k (k + 1) / 2)
    z = pm.CustomDist(name, spread, basis, logp=lambda value, spread, basis: _logp(value, spread, basis, products, k),
                      random=_random, signature="(j,k),(j,m)->(j,k)", dims=dims)
    projected = pt.dot(basis, pt.dot(basis.T, z))
    u = sd * ((z - projected) / spread + projected)
    carried = pt.dot(np.asarray(levels.coefficients, dtype=float), u)[:, 0]
    return u, u - pt.dot(basis, pt.dot(basis.T, u)), carried
