"""Bernoulli, binomial and Poisson designs from a Dask DataFrame, as cells of rows.

Rows with identical predictors share one mean, so (as :mod:`.collapse` explains) their
likelihood is that of their cell: binomial successes out of trials for bernoulli and binomial
rows, and for Poisson rows the sum of the counts, Poisson with mean ``n_cell * rate`` (an
offset ``log(.rows)``). A Dask groupby over the used columns counts the cells; the design is
built on the cell table with pandas. Every used predictor must have few distinct values: a
continuous one is refused before the groupby (its distinct values are estimated first).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd

from ..errors import DataError, SpecError
from ..families import get_family
from ..spec.ir import ModelSpec, Response
from .build import build_design
from .collapse import TRIALS_LABEL, CollapsedDesign, collapse_design
from .dask_frames import (
    COMPUTE_HINT,
    check_reducible_spec,
    compute,
    dask_plan,
    reduced_gaussian_design,
)
from .types import Design

__all__ = ["MAX_CELLS", "dask_designs"]

#: At most this many distinct values of one numeric predictor, and of cells.
MAX_CELLS = 200_000
#: The column of rows per cell in the cell table of a Poisson model (its offset is the log).
POISSON_ROWS = "cell_rows"


@dataclass(frozen=True, eq=False)
class DaskCellDesign(CollapsedDesign):
    """Binomial cells counted by Dask; ``rows`` is the number of rows of the data."""

    rows: int = 0
    #: the cell table (one row per cell; the response column holds successes)
    training_rows: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def n_rows(self) -> int:
        return self.rows

    def describe(self) -> str:
        return (
            f"Collapsed: {self.rows} rows counted by Dask into {self.n_cells} "
            "binomial cells of identical predictors (same posterior; PPC and LOO are per cell)"
        )


def _cell_table(spec: ModelSpec, ddf, missing: str) -> tuple[pd.DataFrame, list[str]]:
    _, needed = dask_plan(spec, ddf)
    response = spec.response
    outcome = [response.expr] + [c for c in (response.trials,) if c is not None]
    not_columns = [c for c in outcome if c not in needed or c != c.strip()]
    if not_columns or response.failures is not None:
        raise SpecError(
            f"the response of a model fitted from a Dask DataFrame must be a column (and trials a "
            f"column); got {spec.response.expr!r}; add the computed column to the Dask DataFrame first"
        )
    keys = [c for c in needed if c not in outcome]
    numeric = [c for c in keys if pd.api.types.is_numeric_dtype(ddf.dtypes[c])
               and not pd.api.types.is_bool_dtype(ddf.dtypes[c])]
    if numeric:
        counts = compute(*(ddf[c].nunique_approx() for c in numeric))
        many = [(c, int(n)) for c, n in zip(numeric, counts) if n > MAX_CELLS]
        if many:
            column, n = many[0]
            raise DataError(
                f"column {column!r} has about {n} distinct values: a {spec.family.name} model from a "
                "Dask DataFrame is fitted on cells of identical predictors, so its predictors must be "
                f"categorical or have few values (at most {MAX_CELLS}); bin the column (for example "
                f"with dd.cut or rounding) or {COMPUTE_HINT}"
            )
    frame = ddf[list(needed)]
    n_missing = frame.isna().sum()
    if missing == "drop":
        frame = frame.dropna()
    agg = {response.expr: "sum", TRIALS_LABEL: "sum"}
    if response.trials is not None:
        agg[response.trials] = "sum"
    grouped = frame.assign(**{TRIALS_LABEL: 1}).groupby(keys, observed=True, dropna=False).agg(agg)
    cells, n_missing = compute(grouped, n_missing)
    n_missing = n_missing[n_missing > 0]
    if len(n_missing) and missing == "error":
        raise DataError(
            f"column {n_missing.index[0]!r} has {int(n_missing.iloc[0])} missing values; use "
            "missing='drop' to drop those rows"
        )
    cells = cells.reset_index()
    if len(cells) > MAX_CELLS:
        raise DataError(f"the predictors make {len(cells)} cells (more than {MAX_CELLS}); {COMPUTE_HINT}")
    return cells, keys


def _cell_spec(spec: ModelSpec) -> ModelSpec:
    family = get_family(spec.family)
    if family.is_binomial:
        trials = spec.response.trials or TRIALS_LABEL
        return replace(spec, family="binomial", response=Response(spec.response.expr, trials=trials))
    return replace(spec, fixed=replace(spec.fixed, offsets=(*spec.fixed.offsets, f"log({POISSON_ROWS})")))


def dask_designs(spec: ModelSpec, ddf, missing: str = "error") -> tuple[Design, Design]:
    """(the design priors are scaled on, the design to fit) for a Dask DataFrame.

    gaussian (identity link): one :class:`~.reduced.ReducedDesign` for both; bernoulli and
    binomial: the binomial design of the cells and its :class:`~.collapse.CollapsedDesign`;
    poisson: the cells with offset ``log(.rows)``.

    Raises
    ------
    SpecError
        For another family or what cannot be reduced, naming it with the options.
    """
    family = get_family(spec.family)
    link = family.resolve_link(spec.link)
    if family.linear_gaussian(link):
        design = reduced_gaussian_design(spec, ddf, missing)
        return design, design
    if not (family.is_binomial or family.name == "poisson"):
        raise SpecError(
            f"a {family.name} model cannot be fitted from a Dask DataFrame: only gaussian models "
            "(per-group cross-products) and bernoulli, binomial and poisson models with categorical "
            f"predictors (cells) are reduced; {COMPUTE_HINT}"
        )
    check_reducible_spec(spec)
    if spec.fixed.offsets:
        raise SpecError(f"offsets are not reduced from a Dask DataFrame yet; {COMPUTE_HINT}")
    cells, _ = _cell_table(spec, ddf, missing)
    rows = int(cells[TRIALS_LABEL].sum())
    if not family.is_binomial:
        cells = cells.rename(columns={TRIALS_LABEL: POISSON_ROWS})
    design = build_design(_cell_spec(spec), cells)
    if family.is_binomial:
        collapsed = collapse_design(design)
        fields = {f: getattr(collapsed, f) for f in collapsed.__dataclass_fields__}
        return design, DaskCellDesign(**fields, rows=rows, training_rows=cells)
    return design, design

