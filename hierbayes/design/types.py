"""The Design: numpy arrays built from a ModelSpec and a DataFrame, plus the encoders that
turn new data into the same columns. No PyMC here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..families import Censoring
from ..spec.ir import GroupTerm, ModelSpec


@dataclass(frozen=True, eq=False)
class GroupBlock:
    """The data of one group term.

    codes : (n,) int64, the group index 0..J-1 of every row.
    X : (n, k) float64, the columns the group effects multiply (a column of ones for the
        intercept). Never a dense rows x levels matrix.
    columns : the k column names (``Intercept``, ``Days``, ``period[2]``...).
    levels : the J group level names, in code order.
    prior_weights : (J,) level-2 weights of the groups (``group_weights=``): group j's
        effects enter the prior with weight ``prior_weights[j]``; None when unweighted.
    """

    term: GroupTerm
    codes: np.ndarray
    X: np.ndarray
    columns: tuple[str, ...]
    levels: tuple[str, ...]
    prior_weights: np.ndarray | None = field(default=None, repr=False)

    @property
    def group(self) -> str:
        return self.term.group

    @property
    def n_levels(self) -> int:
        return len(self.levels)

    @property
    def is_random_intercept(self) -> bool:
        """Whether the term is ``(1 | g)``: one column of ones."""
        return self.columns == ("Intercept",) and bool(np.all(self.X == 1.0))

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
    residuals : the residual (R-side) structure laid out on the rows
        (:class:`hierbayes.design.residuals.ResidualDesign`), or None.
    distributional : (parameter, Design) pairs, one per distributional sub-model of the spec
        (``sigma ~ x + (1|g)``): the sub-model's columns on the same rows, with its own
        encoder (see :mod:`hierbayes.design.distributional`); empty without one.
    censoring : per-row censoring codes, interval upper bounds and truncation bounds
        (``y | cens(c, y2) + trunc(lb, ub)``); None when the model has neither (see
        :mod:`hierbayes.design.censoring`).
    weights : the level-1 and level-2 weights (:class:`hierbayes.design.weights.Weights`:
        ``weights.rows`` the (n,) scaled level-1 weights or None); None when unweighted.
    imputation : the imputed predictors and missing responses of ``missing="model"``
        (:class:`hierbayes.design.missing.Imputation`); None otherwise.
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
    residuals: object | None = field(default=None, repr=False)
    distributional: tuple[tuple[str, Design], ...] = field(default=(), repr=False)
    censoring: Censoring | None = field(default=None, repr=False)
    response_coding: str | None = field(default=None, repr=False)
    weights: object | None = field(default=None, repr=False)
    imputation: object | None = field(default=None, repr=False)

    @property
    def row_weights(self) -> np.ndarray | None:
        """(n,) level-1 weights of the rows (scaled), or None when the model has none."""
        return None if self.weights is None else self.weights.rows

    @property
    def n_obs(self) -> int:
        return int(self.X.shape[0])

    @property
    def aux_designs(self) -> dict[str, Design]:
        """Parameter name -> the Design of its sub-model (empty when none is modelled)."""
        return dict(self.distributional)

    @property
    def has_intercept(self) -> bool:
        return bool(self.fixed_names) and self.fixed_names[0] == "Intercept"


@dataclass(frozen=True, eq=False)
class NewGroupBlock:
    """One group term encoded for new data.

    codes : (m,) int64 code of each row's group in the training levels, -1 for a level the
        model was not fit with.
    X : (m, k) float64 columns the group effects multiply (same columns as in training).
    new_levels : names of the unseen levels, in order of first appearance.
    new_codes : (m,) int64 index of each row's unseen level in ``new_levels``; -1 for rows
        whose level was seen in training.
    term : the group term.
    """

    codes: np.ndarray
    X: np.ndarray
    new_levels: tuple[str, ...]
    new_codes: np.ndarray
    term: GroupTerm | None = None

    @property
    def has_new_levels(self) -> bool:
        return bool(self.new_levels)


@dataclass(frozen=True, eq=False)
class NewData:
    """New data encoded exactly like the training data.

    X : (m, p) float64 fixed-effect columns (``Design.fixed_names``).
    groups : one :class:`NewGroupBlock` per group term, in spec order.
    trials : (m,) binomial trials when the model has them and the new data hold the
        needed column(s), else None.
    row_index : the DataFrame index labels of the rows.
    offset : (m,) summed offsets of the new rows (None when the model has none).
    """

    X: np.ndarray
    groups: tuple[NewGroupBlock, ...]
    trials: np.ndarray | None
    row_index: np.ndarray | None = None
    offset: np.ndarray | None = None

    @property
    def n_obs(self) -> int:
        return int(self.X.shape[0])
