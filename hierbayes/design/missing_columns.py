"""How each imputed column enters the design (:mod:`hierbayes.design.missing`): its loadings
on the fixed-effect columns, found by re-encoding the design with the holes moved by +1 and +2,
the refusals of terms not linear in it, and its imputation model's predictors (level 1: the
complete fixed columns and a random intercept of the finest grouping factor; level 2: the
complete columns constant within the groups, one unit per group)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from ..errors import SpecError
from .missing_types import ImputedColumn
from .types import Design

__all__ = ["imputed_columns", "reweighted", "standardized"]


def reweighted(col: ImputedColumn, weights_obs: np.ndarray, weights_mis: np.ndarray) -> ImputedColumn:
    """``col`` with its units' weights and its predictors standardized with them (weighted
    mean 0 and sd 1 over the observed and imputed units together: with frequency weights, the
    standardization of the data with the rows repeated). Standardizing again is exact since
    a standardization does not depend on the columns' earlier location and scale."""
    w = np.concatenate([weights_obs, weights_mis]).astype(float)
    W = np.vstack([col.W_obs, col.W_mis])
    if W.shape[1] and w.sum() > 0:
        mean = np.average(W, axis=0, weights=w)
        sd = np.sqrt(np.average((W - mean) ** 2, axis=0, weights=w))
        W = (W - mean) / np.where(sd > 1e-12, sd, 1.0)
    n = len(col.W_obs)
    return replace(col, weights_obs=weights_obs, weights_mis=weights_mis, W_obs=W[:n], W_mis=W[n:])


def standardized(W: np.ndarray) -> np.ndarray:
    if W.shape[1] == 0:
        return W
    sd = W.std(axis=0)
    return (W - W.mean(axis=0)) / np.where(sd > 0, sd, 1.0)



def _moved(design: Design, filled: pd.DataFrame, shifts: dict[str, float], holes_at: dict[str, np.ndarray]):
    frame = filled.iloc[design.row_positions].copy()
    for c, s in shifts.items():
        frame.loc[frame.index[holes_at[c]], c] = frame[c].to_numpy()[holes_at[c]] + s
    new = design.encoder.encode_new(frame)
    return new.X - design.X, [g.X - b.X for g, b in zip(new.groups, design.groups, strict=True)]


def imputed_columns(design: Design, data, filled, holes, levels) -> tuple[ImputedColumn, ...]:
    rows_data = data.iloc[design.row_positions]
    holes_at = {c: rows_data[c].isna().to_numpy() for c in holes}
    affected: dict[str, list[int]] = {}
    loadings: dict[str, tuple] = {}
    for c in holes:
        d1, g1 = _moved(design, filled, {c: 1.0}, holes_at)
        d2, _ = _moved(design, filled, {c: 2.0}, holes_at)
        cols = [j for j in range(d1.shape[1]) if np.abs(d1[:, j]).max() > 1e-12]
        for gd, block in zip(g1, design.groups, strict=True):
            if np.abs(gd).max() > 1e-12:
                raise SpecError(f"missing='model': imputed column {c!r} enters the group term "
                                f"{block.term.label!r}; imputed columns may enter only the fixed part")
        bad = [design.fixed_names[j] for j in cols
               if not np.allclose(d2[:, j], 2 * d1[:, j]) or np.abs(d1[~holes_at[c], j]).max(initial=0) > 1e-9]
        if bad:
            raise SpecError(f"missing='model': the term(s) {bad} are not linear in the imputed column {c!r} "
                            "(only a plain column or its product with complete columns can be imputed)")
        affected[c] = cols
        loadings[c] = tuple((j, d1[holes_at[c], j]) for j in cols)
    for i, a in enumerate(holes):
        for b in holes[i + 1:]:
            shared = set(affected[a]) & set(affected[b])
            if shared:
                both, _ = _moved(design, filled, {a: 1.0, b: 1.0}, holes_at)
                single = _moved(design, filled, {a: 1.0}, holes_at)[0] + _moved(design, filled, {b: 1.0}, holes_at)[0]
                if not np.allclose(both, single):
                    names = [design.fixed_names[j] for j in sorted(shared)]
                    raise SpecError(f"missing='model': the term(s) {names} multiply two imputed columns "
                                    f"({a!r}, {b!r}); impute at most one column of a product")
    touched = {j for cols in affected.values() for j in cols}
    complete = [j for j, n in enumerate(design.fixed_names) if n != "Intercept" and j not in touched]
    rows_filled = filled.iloc[design.row_positions]
    return tuple(
        _column(design, rows_data, rows_filled[c].to_numpy(dtype=float), c, levels[c], holes_at[c], loadings[c],
                complete)
        for c in holes
    )


def _column(design, rows_data, fill, c, level, hole, loadings, complete) -> ImputedColumn:
    rows = np.flatnonzero(hole)
    X = design.X
    values = rows_data[c].to_numpy(dtype=float)  # NaN at the holes
    if level is None:
        block = max(design.groups, key=lambda b: b.n_levels) if design.groups else None
        W = standardized(X[:, complete])
        return ImputedColumn(
            name=c, level=None, rows=rows, unit=np.arange(len(rows)),
            labels=tuple(design.row_index[rows]), fill=fill[rows],
            loadings=loadings, observed=values[~hole], W_obs=W[~hole], W_mis=W[hole],
            predictors=tuple(design.fixed_names[j] for j in complete),
            group=None if block is None else block.group,
            codes_obs=None if block is None else block.codes[~hole],
            codes_mis=None if block is None else block.codes[hole],
            n_groups=0 if block is None else block.n_levels,
        )
    g = rows_data[level].to_numpy()
    groups, code = np.unique(g.astype(str), return_inverse=True)
    frame = pd.DataFrame(X[:, complete]).groupby(code)
    level2 = [k for k in range(len(complete)) if (frame[k].nunique() <= 1).all()]
    Wg = standardized(frame.first().to_numpy()[:, level2])
    observed_g = pd.Series(values).groupby(code).first().to_numpy()
    has = ~np.isnan(observed_g)
    mis_groups = np.flatnonzero(~has)
    unit_of = -np.ones(len(groups), dtype=np.int64)
    unit_of[mis_groups] = np.arange(len(mis_groups))
    keep = ~has[code[rows]]  # rows of groups with a known value are filled exactly
    imputed_rows = rows[keep]
    return ImputedColumn(
        name=c, level=level, rows=imputed_rows, unit=unit_of[code[imputed_rows]],
        labels=tuple(groups[mis_groups]), fill=fill[rows][keep],
        loadings=tuple((j, m[keep]) for j, m in loadings), observed=observed_g[has],
        W_obs=Wg[has], W_mis=Wg[~has], predictors=tuple(design.fixed_names[complete[k]] for k in level2),
    )
