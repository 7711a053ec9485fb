"""A fully crossed design's linear predictor as an outer sum on its grid of cells.

Person-by-item data (VerbAgg's 316 subjects x 24 items, a Rasch model, any IRT design)
have one row per cell of two crossed random intercepts, and every fixed-effect column is a
property of the person or of the item. The linear predictor of cell (i, j) is then
``a_i + c_j`` with ``a = X_person b_person + u_person`` and ``c = X_item b_item + u_item``:
on the (I, J) grid it is an outer sum, with no per-row gathers of the effects, no scatter
of their gradients and no rows x columns product. On VerbAgg's shapes the gradient of the
logit likelihood is 2-3 times cheaper than the rows form (bench/README.md).

Only the padded sampler graph (:mod:`.padding`) is written on the grid: its rows are the
grid's cells in row-major order (cell ``i * J + j``), the padding levels' cells masked out.
The unpadded model (log-likelihood, predictions) keeps the user's rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...design.types import Design
from .lazy import pt
from .linear import Fixed, block_contribution


@dataclass(frozen=True)
class Grid:
    """The layout of a fully crossed design's cells.

    terms : the two group terms (indices into ``design.groups``): rows, then columns.
    shape : (I, J), their padded level counts.
    cells : (n,) the cell of each real row, ``i * J + j``.
    fixed_term : for each fixed column but the intercept, 0 when it is constant within the
        first term's levels (a property of them), 1 when within the second's.
    """

    terms: tuple[int, int]
    shape: tuple[int, int]
    cells: np.ndarray
    fixed_term: tuple[int, ...]

    @property
    def size(self) -> int:
        return self.shape[0] * self.shape[1]

    def mask(self) -> np.ndarray:
        """(I * J,) 1.0 at the cells holding a row, 0.0 at the padding levels' cells."""
        mask = np.zeros(self.size)
        mask[self.cells] = 1.0
        return mask


def _constant_within(column: np.ndarray, codes: np.ndarray, n_levels: int) -> bool:
    first = np.full(n_levels, np.nan)
    first[codes[::-1]] = column[::-1]  # the first row of each level wins
    return bool(np.allclose(column, first[codes], rtol=0.0, atol=1e-12 * (1.0 + np.abs(column).max(initial=0.0))))


def grid_for(design: Design, candidates: list[int], levels: dict[int, int]) -> Grid | None:
    """The grid of ``design`` when it is fully crossed (None when not): exactly two group
    terms, both random intercepts among ``candidates`` (padded terms), every pair of their
    levels present exactly once, every fixed column constant within the levels of one of
    them. ``levels`` are the padded level counts."""
    if len(design.groups) != 2 or sorted(candidates) != [0, 1]:
        return None
    if any(block.n_columns != 1 or not np.all(block.X == 1.0) for block in design.groups):
        return None
    first, second = design.groups
    n1, n2 = first.n_levels, second.n_levels
    if design.n_obs != n1 * n2 or n1 < 2 or n2 < 2:
        return None
    J = levels[1]
    cells = first.codes.astype(np.int64) * J + second.codes.astype(np.int64)
    if len(np.unique(cells)) != design.n_obs:  # a cell twice, so another empty
        return None
    fixed_term = []
    for k in (k for k, name in enumerate(design.fixed_names) if name != "Intercept"):
        column = design.X[:, k]
        if _constant_within(column, first.codes, n1):
            fixed_term.append(0)
        elif _constant_within(column, second.codes, n2):
            fixed_term.append(1)
        else:
            return None
    return Grid(terms=(0, 1), shape=(levels[0], J), cells=cells, fixed_term=tuple(fixed_term))


def on_grid(values: np.ndarray | None, grid: Grid, fill: np.ndarray | None = None) -> np.ndarray | None:
    """A per-row array (n, ...) laid on the grid's cells (I * J, ...); the cells without a
    row hold copies of the first row (or ``fill``), valid values the mask cancels."""
    if values is None:
        return None
    values = np.asarray(values)
    base = values[:1] if fill is None else np.asarray(fill, dtype=values.dtype)[None]
    out = np.broadcast_to(base, (grid.size, *values.shape[1:])).copy()
    out[grid.cells] = values
    return out


def grid_codes(grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Each cell's level of the first and of the second term."""
    I, J = grid.shape
    return np.repeat(np.arange(I), J), np.tile(np.arange(J), I)


def _side_columns(cube: np.ndarray, real: np.ndarray) -> tuple[list[tuple[int, np.ndarray]], list[tuple[int, np.ndarray]]]:
    """Each column of ``cube`` (I, J, p) as a part on the first term's levels plus a part on
    the second's, ``x_ij = r_i + s_j`` on the ``real`` (I, J) cells: (column, r) pairs and
    (column, s) pairs, a column that is a property of one term's levels on that side only."""
    rows, columns = [], []
    for k in range(cube.shape[2]):
        v = cube[:, :, k]
        tol = 1e-10 * (1.0 + np.abs(v[real]).max(initial=0.0))
        r, s = v[:, 0], v[0, :] - v[0, 0]
        if np.allclose(v[real], np.broadcast_to(r[:, None], v.shape)[real], rtol=0.0, atol=tol):
            rows.append((k, r))
        elif np.allclose(v[real], np.broadcast_to(v[0, :][None, :], v.shape)[real], rtol=0.0, atol=tol):
            columns.append((k, v[0, :]))
        elif np.allclose(v[real], (r[:, None] + s[None, :])[real], rtol=0.0, atol=tol):
            rows.append((k, r))  # a combination of both (spanned.py's columns): split
            columns.append((k, s))
        else:
            raise ValueError(f"internal: fixed column {k} is not additive on the grid")
    return rows, columns


def grid_eta(X: np.ndarray, theta, intercept_first: bool, with_intercept: bool, grid: Grid, effects: list):
    """The linear predictor of every cell, ``(a[:, None] + c[None, :]).ravel()``.

    Parameters
    ----------
    X : (I * J, p) the fixed columns the sampler sees, on the grid.
    theta : (p,) their coefficients (``Intercept_c`` first when ``intercept_first``).
    with_intercept : add ``theta[0]`` (False when a group term carries the intercept).
    grid : the layout. Every column of the design is a property of one term's levels
        (``fixed_term``), so every column the sampler sees, a linear combination of them, is
        a part on each side (:func:`_side_columns`).
    effects : the (I, 1) and (J, 1) effects of the two terms.
    """
    I, J = grid.shape
    start = 1 if intercept_first else 0
    cube = X[:, start:].reshape(I, J, X.shape[1] - start)
    sides = _side_columns(cube, grid.mask().reshape(I, J) > 0)
    parts = []
    for side, pairs in enumerate(sides):
        part = effects[side][:, 0]
        if pairs:
            values = np.ascontiguousarray(np.column_stack([v for _, v in pairs]))
            part = part + pt.dot(values, theta[[start + k for k, _ in pairs]])
        parts.append(part)
    eta = parts[0][:, None] + parts[1][None, :]
    if intercept_first and with_intercept:
        eta = eta + theta[0]
    return pt.reshape(eta, (I * J,))


def rows_eta(fixed: Fixed, blocks: list, effects: list, with_intercept: bool, grid: Grid | None):
    """The linear predictor of every row: ``X theta`` plus each group term's contribution,
    or on a padded model's ``grid`` its outer sum (:func:`grid_eta`)."""
    if grid is not None:
        return grid_eta(fixed.X, fixed.theta, fixed.intercept_first, with_intercept, grid, effects)
    eta = fixed.eta(intercept=with_intercept)
    for block, u in zip(blocks, effects):
        eta = eta + block_contribution(block, u)
    return eta
