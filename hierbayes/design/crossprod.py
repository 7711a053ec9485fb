"""Cross-products of a gaussian design, computed once (numpy only).

A gaussian linear mixed model depends on the data only through the cross-products of the
response, the fixed-effect columns and, per group of one group term, the columns the group
effects multiply. With them a log-likelihood (or its gradient) costs O(J (K + p)^2) instead
of O(rows): the likelihoods in ``backends/pymc/marginal.py`` and the exact conditional
draws in ``results/conditional.py`` both read them from here.

With level-1 weights ``w`` every sum is weighted (``sum w z z'``, ...) and ``n`` is ``sum w``:
``w_i log N(y_i | mu_i, sigma^2)`` is ``log N(y_i | mu_i, sigma^2 / w_i)`` plus terms in sigma
that make the coefficient of ``log sigma^2`` ``sum w``, so the same formulas (and the exact
integration over group effects) hold with the weighted cross-products.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class GroupCrossProducts:
    """Per-group cross-products of one group term (J groups, K columns, p fixed columns).

    n : (J,) rows per group (the sum of their weights when weighted).
    ZZ : (J, K, K) sum over the rows of group j of z z'.
    ZX : (J, K, p) sum of z x'.
    Zy : (J, K) sum of z y.
    yy : (J,) sum of y^2.
    """

    n: np.ndarray
    ZZ: np.ndarray
    ZX: np.ndarray
    Zy: np.ndarray
    yy: np.ndarray


@dataclass(frozen=True, eq=False)
class CrossProducts:
    """Whole-data cross-products X'X, X'y, y'y (and per group when a term is given).

    ``y`` is used as ``y - y_shift`` to keep the sums of squares small (less cancellation
    in ``y'y - 2 b'X'y + b'X'X b``); callers that shift must shift the intercept too.
    """

    n: float
    XX: np.ndarray
    Xy: np.ndarray
    yy: float
    y_shift: float
    groups: GroupCrossProducts | None = None


def _group_sums(codes: np.ndarray, values: np.ndarray, n_levels: int) -> np.ndarray:
    """(J, m) sums of the m columns of ``values`` within each group (O(rows * m))."""
    out = np.empty((n_levels, values.shape[1]))
    for j in range(values.shape[1]):
        out[:, j] = np.bincount(codes, weights=values[:, j], minlength=n_levels)
    return out


def group_cross_products(
    codes: np.ndarray, Z: np.ndarray, X: np.ndarray, y: np.ndarray, n_levels: int,
    weights: np.ndarray | None = None,
) -> GroupCrossProducts:
    """Per-group cross-products of rows with group ``codes`` (0..J-1), group columns ``Z``
    (n x K), fixed columns ``X`` (n x p) and response ``y`` (n,); weighted by the rows'
    ``weights`` when given."""
    codes = np.asarray(codes, dtype=np.int64)
    Z = np.asarray(Z, dtype=float)
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    K, p = Z.shape[1], X.shape[1]
    n = np.bincount(codes, weights=weights, minlength=n_levels).astype(float)
    if weights is not None:  # sum w a b = sum (w a) b: weight one factor of each product
        Zw = Z * np.asarray(weights, dtype=float)[:, None]
        ZZ = np.einsum("ia,ib->iab", Zw, Z)
        out = np.zeros((n_levels, K, K))
        np.add.at(out, codes, ZZ)
        ZX = np.zeros((n_levels, K, p))
        if p:
            np.add.at(ZX, codes, np.einsum("ia,ip->iap", Zw, X))
        Zy = _group_sums(codes, Zw * y[:, None], n_levels)
        yy = np.bincount(codes, weights=weights * y * y, minlength=n_levels)
        return GroupCrossProducts(n=n, ZZ=out, ZX=ZX, Zy=Zy, yy=yy)
    ZZ = np.empty((n_levels, K, K))
    for a in range(K):
        for b in range(a, K):
            s = np.bincount(codes, weights=Z[:, a] * Z[:, b], minlength=n_levels)
            ZZ[:, a, b] = s
            ZZ[:, b, a] = s
    ZX = np.empty((n_levels, K, p))
    for a in range(K):
        ZX[:, a, :] = _group_sums(codes, Z[:, [a]] * X, n_levels) if p else 0.0
    Zy = _group_sums(codes, Z * y[:, None], n_levels)
    yy = np.bincount(codes, weights=y * y, minlength=n_levels)
    return GroupCrossProducts(n=n, ZZ=ZZ, ZX=ZX, Zy=Zy, yy=yy)


def cross_products(
    X: np.ndarray,
    y: np.ndarray,
    *,
    y_shift: float = 0.0,
    codes: np.ndarray | None = None,
    Z: np.ndarray | None = None,
    n_levels: int | None = None,
    weights: np.ndarray | None = None,
) -> CrossProducts:
    """Cross-products of ``X`` (n x p) and ``y - y_shift``; per group when ``codes``,
    ``Z`` and ``n_levels`` are given; weighted by the rows' ``weights`` when given
    (``n`` is then their sum).

    Memory is O(n) beyond the inputs (one column product at a time).
    """
    X = np.asarray(X, dtype=float)
    ys = np.asarray(y, dtype=float) - y_shift
    groups = None
    if codes is not None and Z is not None and n_levels is not None:
        groups = group_cross_products(codes, Z, X, ys, n_levels, weights)
    w = np.ones(X.shape[0]) if weights is None else np.asarray(weights, dtype=float)
    Xw = X if weights is None else X * w[:, None]
    return CrossProducts(
        n=int(X.shape[0]) if weights is None else float(w.sum()),
        XX=Xw.T @ X,
        Xy=Xw.T @ ys,
        yy=float((w * ys) @ ys),
        y_shift=float(y_shift),
        groups=groups,
    )
