"""The Design: numpy arrays built from a ModelSpec and a DataFrame, plus the encoders that
turn new data into the same columns. No PyMC here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..spec.ir import GroupTerm, ModelSpec


@dataclass(frozen=True, eq=False)
class GroupBlock:
    """The data of one group term.

    codes : (n,) int64, the group index 0..J-1 of every row.
    X : (n, k) float64, the columns the group effects multiply (a column of ones for the
        intercept). Never a dense rows x levels matrix.
    columns : the k column names (``Intercept``, ``Days``, ``period[2]``...).
    levels : the J group level names, in code order.
    """

    term: GroupTerm
    codes: np.ndarray
    X: np.ndarray
    columns: tuple[str, ...]
    levels: tuple[str, ...]

    @property
    def group(self) -> str:
        return self.term.group

    @property
    def n_levels(self) -> int:
        return len(self.levels)

    @property
    def n_columns(self) -> int:
        return len(self.columns)

    def rows_per_level(self) -> np.ndarray:
        return np.bincount(self.codes, minlength=self.n_levels)


@dataclass(frozen=True, eq=False)
class Design:
    """Arrays for one data set under one ModelSpec.

    y : (n,) the response (float64; integer-valued for counts).
    trials : (n,) number of trials for binomial responses, else None.
    X : (n, p) fixed-effect columns, including the intercept column when present.
    fixed_names : the p column names; ``Intercept`` first when present.
    groups : one GroupBlock per group term, in spec order.
    row_index : the DataFrame index labels of the rows used (rows dropped for missing
        values, when that was asked for, are absent).
    encoder : an object with ``encode(df) -> Design`` rebuilding the same columns
        for new data (see :mod:`hierbayes.design.build`).
    row_positions : the positions of the rows used in the data (``data.iloc[row_positions]``
        are the rows even when index labels repeat); None for designs not built from a frame.
    offset : (n,) float64 sum of the model's offsets (``FixedPart.offsets``), added to the
        linear predictor with coefficient 1; None when the model has none (see
        :mod:`hierbayes.design.offsets`).
    """

    spec: ModelSpec
    y: np.ndarray
    X: np.ndarray
    fixed_names: tuple[str, ...]
    groups: tuple[GroupBlock, ...]
    row_index: np.ndarray
    trials: np.ndarray | None = None
    encoder: object | None = field(default=None, repr=False)
    row_positions: np.ndarray | None = field(default=None, repr=False)
    offset: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_obs(self) -> int:
        return int(self.X.shape[0])

    @property
    def has_intercept(self) -> bool:
        return bool(self.fixed_names) and self.fixed_names[0] == "Intercept"
