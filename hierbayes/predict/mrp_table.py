"""The poststratification table: population cells, counts and joined group-level predictors.

:class:`Poststrat` validates the cells and counts, joins group-level predictors on key
columns (also onto the survey, with :meth:`Poststrat.augment`) and splits the cells into
subgroups.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..design.checks import describe_rows
from ..design.dask_frames import counted_cells, is_dask_frame
from ..design.frames import as_pandas
from ..errors import DataError
from .mrp_levels import as_columns, level_strings, lookalikes, shown

__all__ = ["Poststrat"]


class Poststrat:
    """A poststratification table: population cells with a count column.

    Parameters
    ----------
    cells : pandas.DataFrame (or a polars/pyarrow table, converted)
        One row per population cell (e.g. state x ethnicity x sex x age x education), with
        the model's poststratification variables as columns. It is copied, never modified.
        A Dask DataFrame (of cells, or of census rows each with its count) is counted into
        cells by Dask: ``count`` summed over identical rows.
    count : str
        The column holding the population count of each cell (people, voters, weights).
        Counts must be finite and >= 0; cells with zero count are allowed (they have no
        weight) and so are non-integer counts (estimated populations).
    predictors : pandas.DataFrame, optional
        Group-level predictors to join on ``on`` (e.g. one row per state with ``repvote``
        and ``region``). The same as calling :meth:`join`.
    on : str or list of str, optional
        The key column(s) of ``predictors``.

    Examples
    --------
    >>> cells = hb.datasets.load("poststrat_df")
    >>> states = hb.datasets.load("statelevel_predictors")
    >>> table = hb.Poststrat(cells, count="n").join(states, on="state")
    >>> fit.poststratify(table, by="state").summary()
    """

    def __init__(
        self,
        cells: pd.DataFrame,
        count: str = "n",
        *,
        predictors: pd.DataFrame | None = None,
        on: str | Sequence[str] | None = None,
    ) -> None:
        if is_dask_frame(cells):  # cells counted by Dask: the table the posterior meets is small
            cells = counted_cells(cells, count)
        cells = as_pandas(cells, "cells")
        if len(cells) == 0:
            raise DataError("the poststratification table has no cells")
        if not isinstance(count, str) or count not in cells.columns:
            raise DataError(
                f"count column {count!r} is not in the table; columns: {list(map(str, cells.columns))}"
            )
        counts = pd.to_numeric(cells[count], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(counts) | (counts < 0)
        if bad.any():
            raise DataError(
                f"count column {count!r} must hold finite numbers >= 0; bad values in "
                f"{describe_rows(bad, cells.index)}"
            )
        if counts.sum() <= 0:
            raise DataError(f"count column {count!r} sums to 0: the table describes no population")
        self._cells = cells.reset_index(drop=True).copy()
        self._cells[count] = counts
        self.count = count
        self.predictor_keys: dict[str, tuple[str, ...]] = {}
        self._joined: tuple[tuple[pd.DataFrame, tuple[str, ...]], ...] = ()
        if predictors is not None:
            if on is None:
                raise DataError("predictors given without 'on': name the key column(s), e.g. on='state'")
            joined = self.join(predictors, on)
            self._cells, self.predictor_keys, self._joined = (
                joined._cells, joined.predictor_keys, joined._joined,
            )

    # ------------------------------------------------------------------ plain accessors

    @property
    def cells(self) -> pd.DataFrame:
        """A copy of the cells, with the joined predictors."""
        return self._cells.copy()

    @property
    def cell_frame(self) -> pd.DataFrame:
        """The cells as the table holds them (not a copy: read it, never modify it).

        For the MRP modules that read every cell (encoding, checks, composition) without
        paying for a copy; users get :attr:`cells`.
        """
        return self._cells

    @property
    def counts(self) -> np.ndarray:
        """(C,) population count of every cell (float)."""
        return self._cells[self.count].to_numpy(dtype=float)

    @property
    def total(self) -> float:
        return float(self.counts.sum())

    @property
    def n_cells(self) -> int:
        return len(self._cells)

    def __len__(self) -> int:
        return self.n_cells

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self._cells.columns]

    def margin(self, column: str) -> pd.Series:
        """Population count per level of ``column`` (categorical level order kept)."""
        self.require([column], "margin")
        return self._cells.groupby(column, observed=True, sort=True)[self.count].sum()

    def __repr__(self) -> str:
        keys = ", ".join(f"{k} (on {', '.join(v)})" for k, v in self.predictor_keys.items())
        extra = f"; predictors {keys}" if keys else ""
        return (
            f"<hierbayes.Poststrat {self.n_cells} cells, population {self.total:,.0f}, "
            f"count {self.count!r}{extra}>"
        )

    def require(self, columns: Sequence[str], what: str) -> None:
        """Raise unless every one of ``columns`` is in the table.

        Parameters
        ----------
        columns : sequence of str
            Columns an operation needs.
        what : str
            The operation or argument, for the message (``"by"``, ``"margin"``).

        Raises
        ------
        DataError
            Naming the missing columns and listing the table's columns.
        """
        missing = [c for c in columns if c not in self._cells.columns]
        if missing:
            raise DataError(
                f"{what}: column(s) {shown(missing)} not in the poststratification table; "
                f"its columns: {self.columns}"
            )

    # ----------------------------------------------------------------------- joining

    def join(self, predictors: pd.DataFrame, on: str | Sequence[str]) -> Poststrat:
        """A new table with group-level predictors joined on the key column(s) ``on``.

        Every cell must find exactly one row of ``predictors``; the predictor columns must
        not already be in the table. Keys are matched by their level names, so a
        categorical ``state`` in the cells matches a text ``state`` in the predictors.

        Raises
        ------
        DataError
            For a missing key column, duplicated keys in ``predictors``, cells whose key has
            no predictor row (listed, with close spellings), or a predictor column already
            in the table.
        """
        keys = as_columns(on, "on")
        if not keys:
            raise DataError("join needs at least one key column in 'on'")
        predictors = as_pandas(predictors, "predictors")
        merged = _join_predictors(self._cells, predictors, keys, "the poststratification table")
        out = object.__new__(Poststrat)
        out._cells = merged
        out.count = self.count
        new_columns = tuple(str(c) for c in predictors.columns if c not in keys)
        out.predictor_keys = {**self.predictor_keys, **{c: keys for c in new_columns}}
        out._joined = (*self._joined, (predictors.copy(), keys))
        return out

    def augment(self, data: pd.DataFrame) -> pd.DataFrame:
        """``data`` (e.g. the survey) with the same group-level predictors joined.

        Use it so the survey and the table carry identical predictor values.
        """
        out = data
        for predictors, keys in self._joined:
            out = _join_predictors(out, predictors, keys, "the data", reset=False)
        return out

    # ------------------------------------------------------------------- subgroups

    def subgroups(self, by: str | Sequence[str] | None) -> tuple[np.ndarray, pd.DataFrame]:
        """Subgroup index of every cell and one row per subgroup (the ``by`` columns).

        ``by=None`` gives a single subgroup, the whole population.
        """
        columns = as_columns(by, "by")
        self.require(columns, "by")
        if not columns:
            return np.zeros(self.n_cells, dtype=np.int64), pd.DataFrame(index=pd.RangeIndex(1))
        frame = self._cells[list(columns)]
        codes, uniques = _factorize_rows(frame)
        return codes, uniques


def _factorize_rows(frame: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Codes of the distinct rows of ``frame`` in sorted order (categorical order kept)."""
    per_column = []
    for column in frame.columns:
        series = frame[column]
        if isinstance(series.dtype, pd.CategoricalDtype):
            cat = series.cat.remove_unused_categories()
            per_column.append((cat.cat.codes.to_numpy(np.int64), cat.cat.categories))
        else:
            codes, uniques = pd.factorize(series, sort=True)
            per_column.append((codes.astype(np.int64), pd.Index(uniques)))
    if any((c < 0).any() for c, _ in per_column):
        bad = [col for col, (c, _) in zip(frame.columns, per_column) if (c < 0).any()]
        raise DataError(f"missing values in the subgroup column(s) {shown(bad)} of the table")
    dims = tuple(len(u) for _, u in per_column)
    key = np.ravel_multi_index(tuple(c for c, _ in per_column), dims)
    keys, codes = np.unique(key, return_inverse=True)
    parts = np.unravel_index(keys, dims)
    uniques = pd.DataFrame(
        {
            col: (
                pd.Categorical.from_codes(parts[i], categories=u)
                if isinstance(frame[col].dtype, pd.CategoricalDtype)
                else u[parts[i]]
            )
            for i, (col, (_, u)) in enumerate(zip(frame.columns, per_column))
        }
    )
    return codes.astype(np.int64), uniques


def _join_predictors(
    cells: pd.DataFrame,
    predictors: pd.DataFrame,
    keys: tuple[str, ...],
    what: str,
    *,
    reset: bool = True,
) -> pd.DataFrame:
    predictors = as_pandas(predictors, "predictors")
    for frame, name in ((cells, what), (predictors, "the predictors")):
        missing = [k for k in keys if k not in frame.columns]
        if missing:
            raise DataError(
                f"key column(s) {shown(missing)} not in {name}; its columns: "
                f"{list(map(str, frame.columns))}"
            )
    added = [c for c in predictors.columns if c not in keys]
    clash = [c for c in added if c in cells.columns]
    if clash:
        raise DataError(
            f"predictor column(s) {shown(clash)} are already in {what}; drop them from one side"
        )
    pred_keys = pd.MultiIndex.from_arrays([level_strings(predictors[k]) for k in keys])
    dup = pred_keys.duplicated()
    if dup.any():
        raise DataError(
            f"the predictors have several rows for key(s) {shown(pred_keys[dup].unique())}; "
            f"each {'/'.join(keys)} must appear once"
        )
    cell_keys = pd.MultiIndex.from_arrays([level_strings(cells[k]) for k in keys])
    position = pred_keys.get_indexer(cell_keys)
    if (position < 0).any():
        absent = list(dict.fromkeys(cell_keys[position < 0]))
        absent_keys = [a[0] if len(keys) == 1 else ":".join(a) for a in absent]
        known = [k[0] if len(keys) == 1 else ":".join(k) for k in pred_keys]
        hints = lookalikes(absent_keys, known)
        hint = ("; close spellings: " + ", ".join(f"{a!r} ~ {b!r}" for a, b in hints)) if hints else ""
        raise DataError(
            f"{len(absent_keys)} key value(s) of {'/'.join(keys)} in {what} have no row in the "
            f"predictors: {shown(absent_keys)}{hint}"
        )
    out = cells.reset_index(drop=True).copy() if reset else cells.copy()
    for column in added:
        values = predictors[column].iloc[position]
        if isinstance(values.dtype, pd.CategoricalDtype):
            out[column] = pd.Categorical(values.to_numpy(), categories=values.cat.categories,
                                         ordered=values.cat.ordered)
        else:
            out[column] = values.to_numpy()
    return out
