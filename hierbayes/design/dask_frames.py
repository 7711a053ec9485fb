"""Designs from a Dask DataFrame, computed as reductions (partitions never all in memory).

* gaussian (identity link, at most one group term): the per-group cross-products of
  :class:`~.reduced.ReducedStats`, summed over partitions in a tree, give a
  :class:`~.reduced.ReducedDesign` (:func:`reduced_gaussian_design`);
* bernoulli, binomial and Poisson with categorical (or few-valued) predictors: the cells of
  identical predictors, counted by a Dask groupby (:mod:`.dask_cells`).

Categorical levels are found with Dask first; a small pandas *template* (the first rows plus
one row for every level they miss) fixes the encoding (levels sorted as in the pandas path,
contrasts), and every partition is encoded with the template's encoder. Anything that
cannot be reduced is a SpecError or DataError naming it, with the options (``.compute()``
for data that fit in memory).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..errors import DataError, SpecError, warn_user
from ..families import get_family
from ..spec.ir import ModelSpec
from .build import build_design
from .plan import DesignPlan, evaluate_values
from .reduced import (
    ReducedDesign,
    ReducedGroupBlock,
    ReducedStats,
    chunk_stats,
    pseudo_rows,
)
from .rterms import ordered_columns

__all__ = [
    "COMPUTE_HINT", "compute", "counted_cells", "dask_plan", "is_dask_frame", "reduced_gaussian_design",
    "template_frame",
]

#: Rows of the template taken from the head of the data.
TEMPLATE_ROWS = 2000
#: Formula functions whose state (a mean, a basis) depends on all the rows.
STATEFUL = ("center(", "scale(", "standardize(", "poly(", "bs(", "ns(", "cr(", "cc(")
COMPUTE_HINT = (
    "call .compute() on the Dask DataFrame to fit it in memory as a pandas DataFrame if it fits, "
    "or fit a sample of it"
)


def is_dask_frame(data: object) -> bool:
    """True for a ``dask.dataframe.DataFrame`` (legacy or dask-expr)."""
    module = type(data).__module__ or ""
    return module.split(".")[0] in ("dask", "dask_expr") and hasattr(data, "npartitions")


def compute(*graphs):
    """Compute Dask objects on the current scheduler (a ``distributed.Client`` when one is
    active, else Dask's threads) with a progress bar on the local schedulers."""
    import dask

    try:
        from distributed import default_client

        default_client()
        return dask.compute(*graphs)
    except (ImportError, ValueError):
        pass
    from dask.diagnostics import ProgressBar

    with ProgressBar(minimum=2.0):
        return dask.compute(*graphs)


def counted_cells(ddf, count: str) -> pd.DataFrame:
    """A Dask table of poststratification cells (or of rows, each with its count) as a
    pandas table: ``count`` summed over the rows of identical cells, counted by Dask.

    Raises
    ------
    DataError
        When ``count`` is not a column.
    """
    columns = [str(c) for c in ddf.columns]
    if count not in columns:
        raise DataError(f"count column {count!r} is not in the table; columns: {columns}")
    keys = [c for c in columns if c != count]
    (cells,) = compute(ddf.groupby(keys, observed=True, dropna=False)[count].sum())
    return cells.reset_index()


def check_reducible_spec(spec: ModelSpec) -> None:
    """Refuse what the Dask path does not reduce: residual structures, distributional
    formulas, censoring, Stata subsets, stateful transforms."""
    reasons = []
    if spec.residuals is not None:
        reasons.append("a residual structure (residuals=)")
    if spec.aux_formulas:
        reasons.append(f"a distributional formula ({', '.join(spec.aux_formulas)}=)")
    if spec.response.cens is not None or spec.response.trunc_lb is not None or spec.response.trunc_ub is not None:
        reasons.append("censoring or truncation")
    if spec.subset is not None:
        reasons.append("a Stata if/in subset")
    texts = [*spec.fixed.terms, *(t.label for t in spec.groups)]
    stateful = [t for t in texts if any(f in t for f in STATEFUL)]
    if stateful:
        reasons.append(f"a transform whose state depends on all rows ({stateful[0]!r}; centre the column beforehand)")
    if reasons:
        raise SpecError(
            "a model fitted from a Dask DataFrame is computed from reductions of its partitions, "
            f"which this model's {'; '.join(reasons)} does not allow; {COMPUTE_HINT}"
        )


def dask_plan(spec: ModelSpec, ddf) -> tuple[DesignPlan, dict[str, str]]:
    """The parsed model and the used columns (column -> who uses it), checked to exist."""
    from .checks import check_columns_exist

    meta = ddf._meta if hasattr(ddf, "_meta") else ddf.head(0)
    plan = DesignPlan.from_spec(spec, meta.columns, ordered_columns(meta))
    needed = plan.needed(spec, meta.columns)
    check_columns_exist(needed, meta.columns)
    return plan, needed


def level_columns(spec: ModelSpec, ddf, needed: dict[str, str]) -> list[str]:
    """Used columns whose levels must all be known: text, categorical, boolean, and
    grouping factors of any type."""
    factors = {f for g in spec.groups for f in g.factor}
    out = []
    for column in needed:
        dtype = ddf.dtypes[column]
        if column in factors or not (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)):
            out.append(column)
    return out


def template_frame(ddf, columns: list[str], levels: dict[str, np.ndarray]) -> pd.DataFrame:
    """The first rows of the used ``columns`` plus, per level column, one row for every
    level the first rows miss (a copy of a first row with that level)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "insufficient elements for head"
        head = ddf[columns].head(TEMPLATE_ROWS, npartitions=-1)
    extra = []
    for column, values in levels.items():
        present = set(pd.unique(head[column].dropna()))
        missing = [v for v in values if v not in present and not pd.isna(v)]
        if missing:
            rows = head.iloc[np.arange(len(missing)) % len(head)].copy()
            rows[column] = pd.array(missing, dtype=head[column].dtype)
            extra.append(rows)
    return pd.concat([head, *extra], ignore_index=True) if extra else head.reset_index(drop=True)


def found_levels(ddf, columns: list[str]) -> dict[str, np.ndarray]:
    """The distinct values of each column, found with Dask in one pass."""
    if not columns:
        return {}
    uniques = compute(*(ddf[c].dropna().unique() for c in columns))
    return {c: np.asarray(u) for c, u in zip(columns, uniques)}


def _partition_stats(part: pd.DataFrame, encoder, plan: DesignPlan, columns: list[str],
                     n_levels: int, y_centre: float, missing: str) -> ReducedStats:
    incomplete = part[columns].isna().any(axis=1).to_numpy()
    if incomplete.any():
        if missing == "error":
            bad = [c for c in columns if part[c].isna().any()]
            raise DataError(
                f"column {bad[0]!r} has missing values ({int(incomplete.sum())} rows in one "
                "partition); use missing='drop' to drop those rows"
            )
        part = part.loc[~incomplete]
    new = encoder.encode_new(part)
    y = evaluate_values(plan.response, part)
    if not np.all(np.isfinite(y)):
        raise DataError(f"the response {plan.response.text!r} has non-finite values")
    if new.groups:
        block = new.groups[0]
        if np.any(block.codes < 0):
            raise DataError(f"a level of the grouping factor of ({block.term.label}) was not found")
        codes, Z = block.codes, block.X
    else:
        codes, Z = np.zeros(len(y), dtype=np.int64), np.zeros((len(y), 0))
    return chunk_stats(codes, new.X, Z, y, n_levels, y_centre, int(incomplete.sum()))


def _tree_sum(items: list):
    from dask import delayed

    while len(items) > 1:
        items = [delayed(sum)(items[i:i + 8][1:], items[i]) for i in range(0, len(items), 8)]
    return items[0]


def reduced_gaussian_design(spec: ModelSpec, ddf, missing: str = "error") -> ReducedDesign:
    """The gaussian design of a Dask DataFrame as per-group cross-products.

    Raises
    ------
    SpecError
        For more than one group term, or a model that cannot be reduced (see
        :func:`check_reducible_spec`).
    DataError
        For missing columns, values or levels.
    """
    from dask import delayed

    check_reducible_spec(spec)
    if len(spec.groups) > 1:
        raise SpecError(
            f"a gaussian model from a Dask DataFrame can have one group term; this one has "
            f"{len(spec.groups)} ({', '.join(g.label for g in spec.groups)}); {COMPUTE_HINT}"
        )
    if spec.fixed.offsets:
        raise SpecError(f"offsets are not reduced from a Dask DataFrame yet; {COMPUTE_HINT}")
    plan, needed = dask_plan(spec, ddf)
    columns = list(needed)
    levels = found_levels(ddf, level_columns(spec, ddf, needed))
    template = template_frame(ddf, columns, levels)
    base = build_design(spec, template, missing=missing)
    encoder = base.encoder
    J = base.groups[0].n_levels if base.groups else 1
    y_centre = float(np.mean(base.y))
    parts = [
        delayed(_partition_stats)(p, encoder, plan, columns, J, y_centre, missing)
        for p in ddf[columns].to_delayed()
    ]
    (stats,) = compute(_tree_sum(parts))
    if stats.dropped:
        warn_user(f"dropped {stats.dropped} rows with missing values", UserWarning)
    w = pseudo_rows(stats)
    p, K = stats.p, stats.K
    X = w[:, :p]
    y = w[:, p + K] + y_centre
    groups = tuple(
        ReducedGroupBlock(
            term=b.term, codes=np.zeros(len(y), dtype=np.int64), X=w[:, p:p + K],
            columns=b.columns, levels=b.levels, counts=stats.n,
        )
        for b in base.groups
    )
    return ReducedDesign(
        spec=spec, y=y, X=X, fixed_names=base.fixed_names, groups=groups,
        row_index=np.arange(len(y)), encoder=encoder, stats=stats, training_rows=template,
    )


def check_gaussian_reducible(spec: ModelSpec) -> bool:
    """True when the model is gaussian with the identity link (reduced to cross-products)."""
    family = get_family(spec.family)
    return family.linear_gaussian(family.resolve_link(spec.link))
