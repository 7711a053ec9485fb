"""Rows and groups padded to size buckets, so that the NUTS program of a model whose
likelihood is written per row (GLMMs, crossed gaussian models) serves every data set of the
same structure and similar sizes: the rows and the levels of its group terms are shapes of
that program, and a new shape would compile again (9-15 s of XLA on small models).

The padded model's sampler graph (:func:`.graph_data.sampler_graph` with masks) has the
model's log density, exactly, plus independent standard normals:

- **rows** are padded to :func:`row_bucket` ``(n)`` with copies of the first rows (valid
  values of every column, so every log density is finite; the fixed-effect columns hold
  their means instead, which keeps the means a likelihood may centre on); the observed
  variable's log density is summed with a 0/1 mask, so they count for nothing.
- **levels** of a sampled term are padded to :func:`level_bucket` ``(J)``. A
  padding level has no rows. A non-centred term's padding ``z`` are standard normals that
  touch nothing else (an adaptive term's precision is 0 there); a centred term's padding
  effects (an intercept holder's too) get a standard normal log density in place of their
  prior, which would otherwise inform the term's sd. Terms drawn around a parent, their
  parents and integrated terms keep their sizes.

The masks are data: the program does not depend on how many rows or levels are padding.
Every data-derived quantity (centring means, the data shift, the adaptive precisions, the
plan) is computed on the unpadded design; only the arrays the graph reads are padded. Draws
are cut back to the real levels before anyone sees them (:func:`trim_draws`), and only the
cached JAX samplers see the padded model; ``Model.pymc_model`` is the unpadded one.

A fully crossed design (two random intercepts, one row per pair of levels, VerbAgg's
subjects x items) is padded onto its grid of cells instead (:mod:`.grid`): the rows are the
cells of the padded levels, row-major, and the sampler graph writes the linear predictor as
an outer sum.

Not padded: weighted, censored or truncated, imputed, distributional and residual-structure
models, and the cross-product and integrated likelihoods (bucketed their own way).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ...design.reduced import ReducedDesign
from ...design.types import Design, GroupBlock
from .graph_data import size_bucket
from .grid import Grid, grid_codes, grid_for, on_grid

#: Row buckets per doubling: padding adds at most ``2**(1/8) - 1`` (9%) to the rows' work.
ROW_BUCKETS_PER_DOUBLING = 8
#: XLA on CPU splits a loop over this many elements or more across threads; with every core
#: already running a chain that costs 25-45% per gradient (VerbAgg's 7,584 rows padded to
#: 8,192: sampling 60 -> 78 s), so the bucket of fewer rows stops below it.
XLA_CPU_SPLIT_ROWS = 8192
#: Level buckets per doubling: at most 19% more effects of a padded term.
LEVEL_BUCKETS_PER_DOUBLING = 4
#: Level buckets per doubling of the two terms of a grid (:mod:`.grid`): the cells are
#: the product of both, so each adds at most 9%.
GRID_BUCKETS_PER_DOUBLING = 8
#: Parameterizations whose levels are padded.
PADDABLE = ("noncentered", "adaptive", "centered")


def row_bucket(n: int) -> int:
    """The smallest ``ceil(2**(k/8)) >= n``, below :data:`XLA_CPU_SPLIT_ROWS` when n is."""
    bucket = size_bucket(n, ROW_BUCKETS_PER_DOUBLING)
    return min(bucket, XLA_CPU_SPLIT_ROWS - 1) if n < XLA_CPU_SPLIT_ROWS else bucket


def level_bucket(levels: int) -> int:
    """The smallest ``ceil(2**(k/4)) >= levels``: a padding level is a sampled dimension
    (grouseticks' 403 observation-level effects padded to 512: sampling +10%)."""
    return size_bucket(levels, LEVEL_BUCKETS_PER_DOUBLING)


@dataclass(frozen=True)
class Padding:
    """Sizes of a padded model: ``rows`` (padded row count), ``levels`` (term index ->
    padded level count, for the padded terms) and the unpadded sizes by dimension name
    (``trim``), to cut draws back."""

    rows: int
    levels: dict[int, int]
    trim: dict[str, int]
    grid: Grid | None = None

    def row_mask(self, n: int) -> np.ndarray:
        """(rows,) 1.0 at the n real rows (cells of a grid), 0.0 at the padding."""
        return self.grid.mask() if self.grid is not None else real_mask(n, self.rows)

    def row_values(self, values: np.ndarray | None, fill: np.ndarray | None = None) -> np.ndarray | None:
        """A per-row array padded to the rows (laid on the grid's cells)."""
        if self.grid is not None:
            return on_grid(values, self.grid, fill)
        return pad_rows(values, self.rows, fill)


def padding_for(design: Design, plan: list[str], form: str, level_dims: list[str], fixed: set[int]) -> Padding | None:
    """How to pad ``design`` (None: not padded).

    Parameters
    ----------
    design : the unpadded design.
    plan : the parameterization of each group term.
    form : the likelihood form; only "rows" is padded.
    level_dims : each term's level dimension name.
    fixed : indices of terms whose levels keep their size whatever their parameterization
        (drawn around a parent, parents, integrated tops).
    """
    plain = (design.weights is None and design.censoring is None and design.imputation is None
             and design.residuals is None and not design.distributional)
    if form != "rows" or not plain or isinstance(design, ReducedDesign):
        return None
    if any(block.prior_weights is not None for block in design.groups):
        return None
    levels = {i: level_bucket(block.n_levels) for i, (block, how) in enumerate(zip(design.groups, plan))
              if how in PADDABLE and i not in fixed}
    trim = {"obs": design.n_obs}
    trim.update({level_dims[i]: design.groups[i].n_levels for i in levels})
    if len(levels) == 2 and len(design.groups) == 2:
        fine = grid_levels(design.groups[0].n_levels, design.groups[1].n_levels)
        grid = grid_for(design, list(levels), fine)
        if grid is not None:
            return Padding(rows=grid.size, levels=fine, trim=trim, grid=grid)
    return Padding(rows=row_bucket(design.n_obs), levels=levels, trim=trim)


def grid_levels(first: int, second: int) -> dict[int, int]:
    """The padded level counts of a grid's two terms: each to ``ceil(2**(k/8))``, unless
    that takes the cells to :data:`XLA_CPU_SPLIT_ROWS` or more when the real cells are
    fewer; then the term with fewer levels (the items of a test, often the same from one
    data set to the next) keeps its count, and if that is not enough, both do."""
    padded = [size_bucket(first, GRID_BUCKETS_PER_DOUBLING), size_bucket(second, GRID_BUCKETS_PER_DOUBLING)]
    if first * second < XLA_CPU_SPLIT_ROWS <= padded[0] * padded[1]:
        fewer = 1 if second <= first else 0
        padded[fewer] = (first, second)[fewer]
        if padded[0] * padded[1] >= XLA_CPU_SPLIT_ROWS:
            padded = [first, second]
    return {0: padded[0], 1: padded[1]}


def pad_rows(values: np.ndarray | None, rows: int, fill: np.ndarray | None = None) -> np.ndarray | None:
    """``values`` (n, ...) extended to ``rows`` with copies of its first rows (or ``fill``)."""
    if values is None:
        return None
    values = np.asarray(values)
    extra = rows - values.shape[0]
    if extra <= 0:
        return values
    added = values[np.arange(extra) % values.shape[0]] if fill is None else np.broadcast_to(fill, (extra, *values.shape[1:]))
    return np.concatenate([values, added.astype(values.dtype)], axis=0)


def real_mask(n: int, size: int) -> np.ndarray:
    """(size,) 1.0 for the n real rows or levels, 0.0 for the padding."""
    mask = np.zeros(size)
    mask[:n] = 1.0
    return mask


def pad_levels(values: np.ndarray, levels: int) -> np.ndarray:
    """A per-level array (J, ...) extended to ``levels`` with zeros."""
    values = np.asarray(values)
    extra = levels - values.shape[0]
    if extra <= 0:
        return values
    return np.concatenate([values, np.zeros((extra, *values.shape[1:]), dtype=values.dtype)], axis=0)


def _padded_block(block: GroupBlock, rows: int, levels: int | None) -> GroupBlock:
    names = tuple(block.levels)
    if levels is not None and levels > len(names):
        names = names + tuple(f"(padding {j})" for j in range(levels - len(names)))
    return replace(block, codes=pad_rows(block.codes, rows), X=pad_rows(block.X, rows), levels=names)


def pad_design(design: Design, padding: Padding) -> Design:
    """The design with its rows and padded terms' levels extended (see the module)."""
    rows = padding.rows
    if padding.grid is not None:
        groups = tuple(_grid_block(b, padding.grid, codes, padding.levels[i])
                       for i, (b, codes) in enumerate(zip(design.groups, grid_codes(padding.grid))))
    else:
        groups = tuple(_padded_block(b, rows, padding.levels.get(i)) for i, b in enumerate(design.groups))
    # the padding rows of X hold its column means, so a likelihood that centres on them
    # (the ordinal thresholds) sees the real rows' means
    means = design.X.mean(axis=0) if design.X.shape[0] else None
    pad = padding.row_values
    return replace(
        design, y=pad(design.y), X=pad(design.X, means), groups=groups, trials=pad(design.trials),
        offset=pad(design.offset), row_index=pad(design.row_index), row_positions=pad(design.row_positions),
    )


def _grid_block(block: GroupBlock, grid: Grid, codes: np.ndarray, levels: int) -> GroupBlock:
    names = tuple(block.levels) + tuple(f"(padding {j})" for j in range(levels - block.n_levels))
    return replace(block, codes=codes, X=on_grid(block.X, grid), levels=names)


def trim_draws(values: np.ndarray, dims: list[str] | tuple[str, ...], trim: dict[str, int]) -> np.ndarray:
    """Draws ``values`` (chain, draw, *dims) of a padded model cut back to the real sizes."""
    for axis, dim in enumerate(dims, start=2):
        if dim in trim and values.shape[axis] > trim[dim]:
            values = np.take(values, np.arange(trim[dim]), axis=axis)
    return values
