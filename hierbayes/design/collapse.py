"""Collapse bernoulli rows into binomial cells (sufficient statistics).

Rows with identical fixed-effect columns, group codes, group-effect columns and offset share
one success probability, so the bernoulli likelihood of the rows equals, up to a constant
(the binomial coefficient), the binomial likelihood of their cell:

    prod_i p^y_i (1-p)^(1-y_i) = p^s (1-p)^(n-s),   s = sum_i y_i, n = rows in the cell.

The posterior is therefore the same. A survey of thousands of respondents over a handful
of demographic variables has far fewer distinct cells than rows, and NUTS's cost per
gradient is linear in the number of likelihood terms. Binomial rows (``y | trials(n)``)
collapse the same way (successes and trials add up).

What changes with a collapsed fit
---------------------------------
* Posterior draws of every parameter: nothing (same likelihood, and the default priors are
  resolved on the row-level data before collapsing, see :func:`collapse_for_fit`). One
  detail: the compiler centres the fixed-effect columns at their mean over the cells, not
  over the rows, so the weak intercept prior (sd 2.5 on the link scale) sits at a slightly
  different reference point; its effect is far below Monte Carlo error (tests/predict/test_mrp.py
  compares the two fits). Centring with the trials as weights would make it exact.
* Observed data, the posterior predictive and PPC: per cell, ``y`` is the number of
  successes out of ``trials`` rows. Its predictive distribution is exactly that of the sum
  of the row-level predictive draws in the cell, so any statistic of cell totals (overall
  rate, rate per group) is unchanged; statistics of single rows are not available.
* Pointwise log-likelihood and LOO: one term per cell (leave-one-*cell*-out), including
  the log binomial coefficient. It is not comparable with the row-level LOO of the same
  model, nor with another model whose predictors define different cells. To compare models
  with LOO, fit them with ``collapse=False`` (or on the same cells).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import SpecError
from ..families import FAMILIES, get_family
from ..spec.ir import Response
from .types import Design, GroupBlock

__all__ = ["CellGroupBlock", "CollapsedDesign", "collapse_design", "collapse_for_fit", "COLLAPSE_OPTIONS"]

COLLAPSE_OPTIONS = ("auto", True, False)
#: ``collapse="auto"`` collapses when the cells are at most this share of the rows.
AUTO_MAX_SHARE = 0.5
#: Name shown for the trials of a collapsed model (``y | trials(.rows)``).
TRIALS_LABEL = ".rows"


@dataclass(frozen=True, eq=False)
class CellGroupBlock(GroupBlock):
    """A group block over cells; ``rows_per_level`` still counts the original rows (so
    choices that depend on how much data a level has do not change when collapsing)."""

    row_counts: np.ndarray | None = None

    def rows_per_level(self) -> np.ndarray:
        return np.bincount(self.codes, weights=self.row_counts, minlength=self.n_levels).astype(np.int64)


@dataclass(frozen=True, eq=False)
class CollapsedDesign(Design):
    """A binomial Design over cells of identical rows of a bernoulli/binomial Design.

    ``y`` holds the successes of each cell, ``trials`` its number of trials (rows for a
    bernoulli source), ``spec`` is the source spec with family ``binomial``. ``row_index``
    holds the index label of the first row of each cell; ``cell_of_row`` maps every source
    row to its cell; ``source`` is the row-level Design.
    """

    source: Design | None = field(default=None, repr=False)
    cell_of_row: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_rows(self) -> int:
        """Rows of the source data."""
        return self.source.n_obs if self.source is not None else self.n_obs

    @property
    def n_cells(self) -> int:
        return self.n_obs

    def describe(self) -> str:
        """One line for reports."""
        kind = self.source.spec.family if self.source is not None else "bernoulli"
        return (
            f"Collapsed: {self.n_rows} {kind} rows into {self.n_cells} binomial cells of identical "
            "predictors (same posterior; PPC and LOO are per cell)"
        )


class _CellEncoder:
    """The source encoder; new rows are encoded as cells of one trial each, so a collapsed
    fit predicts new rows exactly as the row-level fit would."""

    def __init__(self, encoder: object, bernoulli: bool) -> None:
        self._encoder = encoder
        self._bernoulli = bernoulli

    def __getattr__(self, name: str):
        if name.startswith("__") or name in ("_encoder", "_bernoulli"):
            raise AttributeError(name)  # not yet set while unpickling
        return getattr(self._encoder, name)

    def encode_new(self, df):
        new = self._encoder.encode_new(df)
        if self._bernoulli and new.trials is None:
            new = replace(new, trials=np.ones(new.n_obs, dtype=np.int64))
        return new


def _cell_keys(design: Design) -> np.ndarray:
    """One row of numbers per data row that is equal exactly when two rows share p."""
    parts = [np.asarray(design.X, dtype=float)]
    if design.offset is not None:  # rows with different offsets have different p
        parts.append(np.asarray(design.offset, dtype=float)[:, None])
    for block in design.groups:
        parts.append(np.asarray(block.codes, dtype=float)[:, None])
        parts.append(np.asarray(block.X, dtype=float))
    return np.hstack(parts) if parts else np.zeros((design.n_obs, 0))


def count_cells(design: Design) -> int:
    """Number of distinct cells the rows of ``design`` would collapse into."""
    return int(np.unique(_cell_keys(design), axis=0).shape[0])


def collapse_design(design: Design) -> CollapsedDesign:
    """Collapse the rows of a bernoulli or binomial Design into binomial cells.

    Parameters
    ----------
    design : Design
        A row-level design whose family is ``bernoulli`` (0/1 response) or ``binomial``.

    Returns
    -------
    CollapsedDesign
        One row per distinct combination of fixed-effect columns, group codes,
        group-effect columns and offset; ``y`` = successes, ``trials`` = trials (rows for bernoulli),
        family ``binomial`` with the source's link. Cells are in order of first appearance.

    Raises
    ------
    SpecError
        For a family other than bernoulli/binomial, or when the binomial family is not
        available.
    """
    family = get_family(design.spec.family)
    if not family.is_binomial:
        raise SpecError(
            f"only bernoulli and binomial rows can be collapsed into cells; this model's family "
            f"is {family.name!r} (use collapse=False)"
        )
    if "binomial" not in FAMILIES:
        raise SpecError("collapsing needs the binomial family, which is not registered")
    keys = _cell_keys(design)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    # Number cells in order of first appearance (np.unique sorts them by value).
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    cell = rank[inverse]
    first = first[order]
    n_cells = len(first)
    y = np.asarray(design.y, dtype=float)
    row_trials = np.ones(design.n_obs) if design.trials is None else np.asarray(design.trials, dtype=float)
    successes = np.bincount(cell, weights=y, minlength=n_cells)
    trials = np.bincount(cell, weights=row_trials, minlength=n_cells)
    groups = tuple(
        CellGroupBlock(
            term=b.term,
            codes=np.asarray(b.codes)[first],
            X=np.asarray(b.X)[first],
            columns=b.columns,
            levels=b.levels,
            row_counts=trials if design.trials is None else np.bincount(cell, minlength=n_cells).astype(float),
        )
        for b in design.groups
    )
    response = design.spec.response
    trials_label = response.trials or (TRIALS_LABEL if response.failures is None else None)
    spec = replace(
        design.spec,
        family="binomial",
        response=Response(response.expr, trials=trials_label, failures=response.failures),
    )
    return CollapsedDesign(
        spec=spec,
        y=np.rint(successes).astype(np.int64),
        X=np.asarray(design.X)[first],
        fixed_names=design.fixed_names,
        groups=groups,
        row_index=np.asarray(design.row_index)[first],
        row_positions=None if design.row_positions is None else np.asarray(design.row_positions)[first],
        trials=np.rint(trials).astype(np.int64),
        offset=None if design.offset is None else np.asarray(design.offset)[first],
        encoder=_CellEncoder(design.encoder, bernoulli=design.trials is None),
        source=design,
        cell_of_row=cell.astype(np.int64),
        response_coding=design.response_coding,
    )


def collapse_for_fit(design: Design, collapse: bool | str = "auto") -> Design:
    """The design to compile: collapsed into binomial cells or unchanged.

    Parameters
    ----------
    design : Design
        The row-level design (priors should already be resolved on it).
    collapse : {"auto", True, False}
        ``True`` collapses (bernoulli/binomial only); ``False`` never does; ``"auto"``
        collapses a bernoulli or binomial model when the cells are at most half the rows.

    Raises
    ------
    SpecError
        For an invalid ``collapse`` value, or ``collapse=True`` with another family.
    """
    if isinstance(collapse, np.bool_):
        collapse = bool(collapse)
    valid = collapse == "auto" if isinstance(collapse, str) else isinstance(collapse, bool)
    if not valid:
        raise SpecError(f"collapse={collapse!r}: valid values are 'auto', True and False")
    if collapse is False:
        return design
    if collapse == "auto":
        if not get_family(design.spec.family).is_binomial or "binomial" not in FAMILIES:
            return design
        if count_cells(design) > AUTO_MAX_SHARE * design.n_obs:
            return design
    return collapse_design(design)
