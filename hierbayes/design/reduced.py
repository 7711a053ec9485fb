"""A gaussian Design held as sufficient statistics instead of rows (numpy only).

A gaussian linear mixed model with at most one group term depends on the data only through
per-group cross-products (see :mod:`.crossprod`). :class:`ReducedStats` holds them for the
stacked row vector ``w = [x, z, y - c]`` (p fixed columns, K group columns, the response less
a constant ``c`` chosen for accuracy): per group the rows ``n_j``, the sums ``s_j = sum w`` and
``S_j = sum w w'``. They add up over chunks of rows, so a Dask reduction
(:mod:`.dask_frames`) computes them without ever holding the rows.

:class:`ReducedDesign` is a :class:`~.types.Design` whose row arrays are a handful of
*pseudo-rows* with exactly the global mean and covariance of ``w`` (so default priors,
scaled on column means, standard deviations and correlations, are those of the full data),
plus ``stats``: the likelihood (``backends/pymc/compile.py``) and the exact conditional
draws of the group effects (``results/conditional.py``) read the statistics, never the
pseudo-rows. ``n_obs`` is the number of rows of the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .crossprod import CrossProducts, GroupCrossProducts
from .types import Design, GroupBlock

__all__ = ["ReducedDesign", "ReducedGroupBlock", "ReducedStats", "chunk_stats", "pseudo_rows"]


@dataclass(frozen=True, eq=False)
class ReducedStats:
    """Per-group moments of ``w = [x (p), z (K), y - y_centre]`` over all rows.

    n : (J,) rows per group (J = 1 without a group term).
    s : (J, D) sums of w per group, D = p + K + 1.
    S : (J, D, D) sums of w w' per group.
    p, K : fixed and group column counts; y_centre : the constant taken off y.
    dropped : rows dropped for missing values.
    """

    n: np.ndarray
    s: np.ndarray
    S: np.ndarray
    p: int
    K: int
    y_centre: float
    dropped: int = 0

    def __add__(self, other: ReducedStats) -> ReducedStats:
        return ReducedStats(
            self.n + other.n, self.s + other.s, self.S + other.S, self.p, self.K, self.y_centre,
            self.dropped + other.dropped,
        )

    @property
    def n_rows(self) -> int:
        return round(float(self.n.sum()))

    @property
    def D(self) -> int:
        return self.p + self.K + 1

    def mean_cov(self) -> tuple[np.ndarray, np.ndarray]:
        """Global mean and population covariance of w."""
        N = float(self.n.sum())
        mu = self.s.sum(axis=0) / N
        return mu, self.S.sum(axis=0) / N - np.outer(mu, mu)

    def cross_products(self, A: np.ndarray, y_shift: float, groups: bool = True) -> CrossProducts:
        """The :class:`CrossProducts` of the fixed columns ``X @ A`` and ``y - y_shift``
        (``A``: p x p', how the compiler transforms the columns, for example centring them),
        per group when ``groups``."""
        p, K = self.p, self.K
        ix, iz, iy = slice(0, p), slice(p, p + K), p + K
        d = float(y_shift) - self.y_centre  # y - y_shift = (y - c) - d
        tot_S, tot_s, N = self.S.sum(axis=0), self.s.sum(axis=0), float(self.n.sum())
        XX = A.T @ tot_S[ix, ix] @ A
        Xy = A.T @ (tot_S[ix, iy] - d * tot_s[ix])
        yy = float(tot_S[iy, iy] - 2 * d * tot_s[iy] + N * d * d)
        g = None
        if groups and K:
            g = GroupCrossProducts(
                n=self.n.astype(float),
                ZZ=self.S[:, iz, iz].copy(),
                ZX=self.S[:, iz, ix] @ A,
                Zy=self.S[:, iz, iy] - d * self.s[:, iz],
                yy=self.S[:, iy, iy] - 2 * d * self.s[:, iy] + self.n * d * d,
            )
        return CrossProducts(n=round(N), XX=XX, Xy=Xy, yy=yy, y_shift=float(y_shift), groups=g)

    def arrays(self) -> tuple[np.ndarray, ...]:
        """The arrays, for fingerprints."""
        return (self.n, self.s, self.S, np.array([self.p, self.K, self.y_centre]))


def chunk_stats(
    codes: np.ndarray, X: np.ndarray, Z: np.ndarray, y: np.ndarray, n_levels: int, y_centre: float,
    dropped: int = 0,
) -> ReducedStats:
    """The :class:`ReducedStats` of one chunk of rows (group ``codes`` 0..J-1)."""
    codes = np.asarray(codes, dtype=np.int64)
    w = np.column_stack([np.asarray(X, float), np.asarray(Z, float), np.asarray(y, float) - y_centre])
    D = w.shape[1]
    n = np.bincount(codes, minlength=n_levels).astype(float)
    s = np.stack([np.bincount(codes, weights=w[:, a], minlength=n_levels) for a in range(D)], axis=1)
    S = np.empty((n_levels, D, D))
    for a in range(D):
        for b in range(a, D):
            S[:, a, b] = S[:, b, a] = np.bincount(codes, weights=w[:, a] * w[:, b], minlength=n_levels)
    return ReducedStats(n, s, S, X.shape[1], Z.shape[1], float(y_centre), int(dropped))


def pseudo_rows(stats: ReducedStats) -> np.ndarray:
    """2r rows (r the rank of the covariance of w) with exactly the global mean and
    population covariance of w; constant columns (an intercept) stay exactly constant."""
    mu, C = stats.mean_cov()
    scale = np.sqrt(np.maximum(np.diag(C), 0.0))
    varying = scale > 1e-12 * np.maximum(1.0, np.abs(mu))
    idx = np.flatnonzero(varying)
    rows = np.tile(mu, (2, 1))
    if idx.size:
        sub = C[np.ix_(idx, idx)] / np.outer(scale[idx], scale[idx])  # correlation: well scaled
        lam, V = np.linalg.eigh((sub + sub.T) / 2)
        keep = lam > 1e-10 * max(lam.max(), 1e-300)
        L = V[:, keep] * np.sqrt(lam[keep]) * scale[idx][:, None]
        r = L.shape[1]
        rows = np.tile(mu, (2 * r, 1))
        step = np.sqrt(r) * L.T  # (r, |idx|)
        rows[:r, idx] += step
        rows[r:, idx] -= step
    rows[:, ~varying] = mu[~varying]
    return rows


@dataclass(frozen=True, eq=False)
class ReducedGroupBlock(GroupBlock):
    """A group block over pseudo-rows; ``rows_per_level`` counts the data's rows."""

    counts: np.ndarray | None = None

    def rows_per_level(self) -> np.ndarray:
        return np.rint(self.counts).astype(np.int64)


@dataclass(frozen=True, eq=False)
class ReducedDesign(Design):
    """A gaussian Design of pseudo-rows plus the sufficient statistics of the data's rows
    (see the module docstring); ``n_obs`` counts the data's rows."""

    stats: ReducedStats | None = field(default=None, repr=False)
    #: a few real rows (the template of :mod:`.dask_frames`: the first rows and a row per
    #: level), for the checks of predictions and poststratification tables
    training_rows: object | None = field(default=None, repr=False)

    @property
    def n_obs(self) -> int:
        return self.stats.n_rows

    @property
    def n_pseudo(self) -> int:
        return int(self.X.shape[0])

    def describe(self) -> str:
        """One line for reports."""
        return (
            f"Reduced: {self.n_obs} gaussian rows held as the per-group cross-products of "
            f"{len(self.stats.n)} groups (fitted from a Dask DataFrame)"
        )
