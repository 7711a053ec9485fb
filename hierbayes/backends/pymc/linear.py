"""The linear predictor's pieces every likelihood form shares: the model's coordinates, the
fixed part (``Intercept_c`` and ``b``, columns centred when there is an intercept) and a group
term's contribution to each row."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...design.types import Design, GroupBlock
from ...params import FIXED_DIM, OBS_DIM, block_names
from ...priors import PriorTable
from .fixed import fixed_coefficients
from .lazy import pm, pt
from .mean_free import INTERCEPT_TOTAL
from .variables import register


def coords_for(design: Design, rows: bool = True) -> dict[str, list]:
    """Coordinates of the model; ``rows=False`` leaves out the per-row ``obs`` dim."""
    coords: dict[str, list] = {OBS_DIM: list(range(design.n_obs))} if rows else {}
    slopes = [n for n in design.fixed_names if n != "Intercept"]
    if slopes:
        coords[FIXED_DIM] = slopes
    for block, names in zip(design.groups, block_names(design.spec)):
        coords[names.level_dim] = list(block.levels)
        coords[names.column_dim] = list(block.columns)
        coords[names.column_dim_bis] = list(block.columns)
    return coords


@dataclass(frozen=True)
class Fixed:
    """The registered fixed coefficients and the columns they multiply, as sampled.

    theta : (p,) tensor, ``[Intercept_c, b...]`` with an intercept, else ``b``.
    X : (n, p) matrix theta multiplies: a ones column and centred slopes with an intercept.
    """

    theta: object
    X: np.ndarray
    intercept_first: bool

    def eta(self, intercept: bool = True):
        """X theta; ``intercept=False`` leaves the intercept out (a group term carries it)."""
        if self.X.shape[1] == 0:
            return pt.zeros(self.X.shape[0])
        if self.intercept_first:
            if self.X.shape[1] == 1:
                return self.theta[0] if intercept else pt.zeros(self.X.shape[0])
            rest = pt.dot(self.X[:, 1:], self.theta[1:])
            return self.theta[0] + rest if intercept else rest
        return pt.dot(self.X, self.theta)


def weighted_column_means(X: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    """The columns' means, weighted by the rows' frequency weights when there are any: such
    weights centre as repeated rows do."""
    return X.mean(axis=0) if weights is None else np.average(X, axis=0, weights=weights)


def fixed_part(design: Design, priors: PriorTable, intercept_shift=None, transform=None, slope_shift=None) -> Fixed:
    """Register Intercept_c (and the reported Intercept) and b; with ``intercept_shift`` (the
    split terms' carried intercepts, :mod:`.mean_free`) the sampler draws the total
    ``Intercept_c + intercept_shift`` and Intercept_c is derived from it, with ``slope_shift``
    (one entry per slope) likewise ``b``. The returned ``theta`` holds what is sampled (the
    totals): the rows see the split terms' effects less their carried parts. ``transform``:
    the coefficients' (:func:`.fixed.fixed_coefficients`)."""
    X = design.X
    slope_idx = [j for j, n in enumerate(design.fixed_names) if n != "Intercept"]
    b = drawn = None
    if slope_idx:
        terms = [design.fixed_names[j] for j in slope_idx]
        if slope_shift is None:
            b = drawn = fixed_coefficients(priors, terms, transform)
        else:
            b, drawn = fixed_coefficients(priors, terms, transform, shift=slope_shift)
    if design.has_intercept:
        Xs = X[:, slope_idx]
        means = weighted_column_means(Xs, design.row_weights)
        if intercept_shift is None:
            ic = total = register("Intercept_c", priors.get("Intercept"))
        else:
            total = register(INTERCEPT_TOTAL, priors.get("Intercept"), shift=intercept_shift)
            ic = pm.Deterministic("Intercept_c", total - intercept_shift)
        pm.Deterministic("Intercept", ic - (pt.dot(means, b) if b is not None else 0.0))
        theta = pt.concatenate([total[None], drawn]) if drawn is not None else total[None]
        return Fixed(theta, np.column_stack([np.ones(len(X)), Xs - means]), True)
    theta = drawn if drawn is not None else pt.zeros(0)
    return Fixed(theta, np.ascontiguousarray(X[:, slope_idx]), False)


def block_contribution(block: GroupBlock, u):
    """sum_k u[codes, k] * X[:, k], skipping the multiply for an all-ones column; ``u=None``
    for a term whose effects a nested term carries."""
    if u is None:
        return 0.0
    codes = block.codes
    rows = u[codes]
    total = 0.0
    for k in range(block.n_columns):
        col = block.X[:, k]
        if np.all(col == 1.0):
            total = total + rows[:, k]
        else:
            total = total + rows[:, k] * col
    return total
