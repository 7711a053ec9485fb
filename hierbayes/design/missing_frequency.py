"""Frequency weights with imputed holes (:mod:`hierbayes.design.missing`): a row of frequency
weight ``w`` stands for ``w`` rows, and each of those would have its own hole, so the row is
expanded into ``w`` replicate rows of weight 1 before the design is built; each replicate gets
its own imputed value (a binary hole: its own mixture). The other rows keep their weight. The
model is then exactly that of the data with every row repeated (``tests/design/
test_missing_frequency.py`` compares the log densities).

Frequency weights are level-1 weights with ``weight_scaling="none"``, no level-2 weights and
whole numbers only (:func:`frequency_weights`). Only level-1 holes are expanded: a level-2
hole is one value per group, which the group's repeated rows share anyway. Sampling weights
(any other weights) keep one imputed value per row, weighted as a group effect is
(:mod:`hierbayes.design.missing`). A row of weight 0 with a level-1 hole is left out (no
replicate), as the repeated data would leave it out.

The replicates' index labels are ``"<label>#<k>"`` (k = 1..w) while the design is built (so the
imputed values have distinct labels); the design's ``row_positions`` then point back into the
data given (a replicated row's position repeated, as ``Design.row_positions`` allows) and its
``row_index`` holds the data's labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DataError
from ..spec.ir import ModelSpec

__all__ = ["FrequencyExpansion", "expand_frequency_holes", "frequency_weights"]

#: Replicate rows beyond which the expansion is refused (a weight of thousands on a row with a
#: hole would make that many parameters).
MAX_REPLICATES = 200_000


@dataclass(frozen=True, eq=False)
class FrequencyExpansion:
    """The data with the rows to expand repeated, and where each of its rows came from.

    data : the expanded data (the weight column 1 at replicates).
    positions : (n_expanded,) the position in the original data of each row.
    rows : number of original rows expanded; replicates : number of rows they became.
    """

    data: pd.DataFrame
    positions: np.ndarray
    rows: int
    replicates: int


def frequency_weights(spec: ModelSpec, data: pd.DataFrame) -> np.ndarray | None:
    """The level-1 weights of ``data`` when they are frequency weights (a level-1 weight column,
    ``weight_scaling="none"``, no level-2 weights, every value a finite non-negative whole
    number); None otherwise, and for values :func:`hierbayes.design.weights.weights_of`
    refuses (missing, negative, text), which the design build then reports."""
    column = spec.response.weights
    if column is None or spec.group_weights or spec.weight_scaling != "none" or column not in data.columns:
        return None
    values = pd.to_numeric(data[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if not np.isfinite(values).all() or (values < 0).any() or (values != np.round(values)).any():
        return None
    return values


def expand_frequency_holes(spec: ModelSpec, data: pd.DataFrame, level1_holes: list[str],
                           response: str | None) -> FrequencyExpansion | None:
    """``data`` with every row that has a hole in one of ``level1_holes`` (and its response)
    repeated as many times as its frequency weight; None when nothing is to expand (no
    frequency weights, or every such row has weight 1).

    Raises
    ------
    DataError
        When the replicates would be more than :data:`MAX_REPLICATES` rows.
    """
    w = frequency_weights(spec, data)
    if w is None or not level1_holes:
        return None
    hole = data[level1_holes].isna().any(axis=1).to_numpy()
    if response is not None:  # a row without its response is out of the likelihood: not expanded
        hole = hole & data[response].notna().to_numpy()
    expand = hole & (w != 1)
    if not expand.any():
        return None
    reps = np.where(expand, w, 1).astype(np.int64)
    if int(reps[expand].sum()) > MAX_REPLICATES:
        raise DataError(
            f"missing='model' with frequency weights {spec.response.weights!r}: the {int(expand.sum())} row(s) "
            f"with holes would become {int(reps[expand].sum())} replicate rows (each with its own imputed "
            f"values), more than {MAX_REPLICATES}; use missing='drop' or fill the holes"
        )
    positions = np.repeat(np.arange(len(data)), reps)
    expanded = data.iloc[positions].copy()
    labels = np.asarray(data.index.to_numpy(), dtype=object)
    copy_number = np.arange(len(positions)) - np.repeat(np.cumsum(reps) - reps, reps) + 1  # 1..w within a row
    replicated = expand[positions]
    new_labels = labels[positions].copy()
    new_labels[replicated] = [f"{lab}#{k}" for lab, k in zip(labels[positions][replicated],
                                                             copy_number[replicated], strict=True)]
    expanded.index = pd.Index(new_labels)
    column = spec.response.weights
    weight = expanded[column].to_numpy(dtype=float).copy()
    weight[replicated] = 1.0
    expanded[column] = weight
    return FrequencyExpansion(expanded, positions, int(expand.sum()), int(reps[expand].sum()))
