"""The record of what ``missing="model"`` imputed (:mod:`hierbayes.design.missing`): one
:class:`ImputedColumn` per predictor with holes and the :class:`Imputation` a design holds
(``Design.imputation``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Imputation", "ImputedColumn"]


@dataclass(frozen=True, eq=False)
class ImputedColumn:
    """One predictor column with holes and its imputation model.

    name : the data column.
    level : None for a level-1 (row) column; else the grouping factor it is constant within.
    rows : (m,) design-row positions whose value is imputed.
    unit : (m,) index of each such row's imputed value (0..n_values-1).
    labels : the n_values labels: row index labels (level 1) or group level names (level 2).
    fill : (m,) the value the design holds at those rows.
    loadings : (fixed column index, (m,) multiplier) pairs: ``X[rows, j]`` moves by
        ``multiplier * (x - fill)``.
    observed : the values the imputation model is fitted to (rows or groups with a value).
    W_obs, W_mis : standardized predictors of the imputation model, observed / imputed units.
    predictors : their names.
    group : the grouping factor of the level-1 random intercept, or None.
    codes_obs, codes_mis : that factor's codes of the observed / imputed units; n_groups.
    kind : "gaussian" (a continuous column: the imputed values are parameters) or "binary" (a
        0/1 column: summed out of the likelihood, the fill is 0, and the posterior holds the
        probability that each imputed value is 1).
    weights_obs, weights_mis : with sampling weights, the weights of the observed / imputed
        units (a row's weight ``Design.row_weights``; a group's level-2 weight, 1 without
        one); None unweighted.
    """

    name: str
    level: str | None
    rows: np.ndarray
    unit: np.ndarray
    labels: tuple
    fill: np.ndarray
    loadings: tuple[tuple[int, np.ndarray], ...]
    observed: np.ndarray
    W_obs: np.ndarray
    W_mis: np.ndarray
    predictors: tuple[str, ...]
    group: str | None = None
    codes_obs: np.ndarray | None = field(default=None, repr=False)
    codes_mis: np.ndarray | None = field(default=None, repr=False)
    n_groups: int = 0
    kind: str = "gaussian"
    weights_obs: np.ndarray | None = field(default=None, repr=False)
    weights_mis: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_values(self) -> int:
        return len(self.labels)

    @property
    def parameter(self) -> str:
        """The posterior variable of the imputed values (brms: ``Xmi``); for a binary column
        ``Pmi_<name>``, the posterior probability that each imputed value is 1."""
        return f"Pmi_{self.name}" if self.kind == "binary" else f"Ymi_{self.name}"

    def describe(self) -> str:
        """The imputation model in formula notation."""
        rhs = " + ".join(("1", *self.predictors, *([f"(1 | {self.group})"] if self.group else [])))
        where = "" if self.level is None else f", one value per {self.level}"
        model = "logistic" if self.kind == "binary" else "gaussian"
        return f"{model}: {self.name} ~ {rhs}{where}"


@dataclass(frozen=True, eq=False)
class Imputation:
    """The imputed predictors of a design and the rows whose response was missing.

    columns : one :class:`ImputedColumn` per predictor with holes.
    response_rows : positions in the data of rows whose (gaussian) response is missing; they
        are not in the design (no likelihood term) and are predicted after the fit.
    replicated : with frequency weights, (rows, replicate rows): how many rows with a level-1
        hole were expanded into how many rows of weight 1 (:mod:`hierbayes.design.missing_frequency`).
    """

    columns: tuple[ImputedColumn, ...]
    response_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    replicated: tuple[int, int] = (0, 0)

    def summary_lines(self) -> list[str]:
        lines = [f"imputed {c.n_values} value(s) of {c.name!r} ({c.describe()})" for c in self.columns]
        rows, replicates = self.replicated
        if rows:
            lines.append(f"frequency weights: {rows} row(s) with holes expanded into {replicates} rows of weight 1, "
                         "each with its own imputed values")
        if len(self.response_rows):
            lines.append(f"{len(self.response_rows)} missing response value(s): left out of the likelihood, "
                         "predicted from the posterior (fit.imputed())")
        return lines

