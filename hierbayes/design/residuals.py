"""The arrays of a residual (R-side) structure: the rows of each residual group, padded to
the largest group, their times, and the levels of ``by=`` (numpy only).

Checks the data against the structure: the time, group and by columns exist, times are not
missing, not repeated within a group and (for AR) whole numbers, and the largest group has
as many time points as the structure needs. Every message names the column, the group and
the rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..errors import DataError, SpecError, did_you_mean, warn_user
from ..spec.residuals import ResidualKind, ResidualStructure
from .types import GroupBlock

#: Rows listed in a message at most.
_SHOW = 5


@dataclass(frozen=True, eq=False)
class ResidualDesign:
    """A residual structure laid out on the rows of a design.

    structure : the structure, its ``group`` filled in.
    kind : its registered description.
    group_levels : the J residual groups.
    rows : (J, T) row positions in the design of each group's rows (ordered by time),
        -1 where a group has fewer than T rows.
    mask : (J, T) True for real rows.
    times : (J, T) float time values (visit codes for unstructured; without a time column the
        rows' positions 1, 2, ... within the group for whole-number kinds); the padding repeats
        the group's last time.
    time_levels : the visits (unstructured), else ().
    by_levels : levels of ``by=`` (() without it); ``by_codes`` (J,) each group's level.
    sd_levels : the levels with their own residual sd (by levels, visits for unstructured,
        ``"level:visit"`` pairs for unstructured with ``by=``); the first is the reference (its sd is ``sigma``), () when the sd is
        one. ``sd_codes`` (n,) each row's level.
    block : index of the group term whose groups are the residual groups (its effects
        are integrated out with the residuals), or None.
    """

    structure: ResidualStructure
    kind: ResidualKind
    group_levels: tuple[str, ...]
    rows: np.ndarray
    mask: np.ndarray
    times: np.ndarray
    time_levels: tuple[str, ...]
    by_levels: tuple[str, ...]
    by_codes: np.ndarray
    sd_levels: tuple[str, ...]
    sd_codes: np.ndarray | None
    block: int | None

    @property
    def n_groups(self) -> int:
        return int(self.rows.shape[0])

    @property
    def max_size(self) -> int:
        return int(self.rows.shape[1])

    @property
    def n_lags(self) -> int:
        """The longest time span within a group (integer times): the lags the data have."""
        t = np.where(self.mask, self.times, np.nan)
        span = np.nanmax(t, axis=1) - np.nanmin(t, axis=1)
        return int(np.nanmax(span)) if np.isfinite(span).any() else 0

    @property
    def even_lags(self) -> bool:
        """True when every gap between consecutive rows of a group is an even number of time
        units (integer times; ages 8, 10, 12, 14): then every lag is even, and a parameter
        whose sign shows only at odd lags (``ResidualParameter.odd_lag_sign``) is not
        identified in sign."""
        if self.kind.time != "integer":
            return False
        both = self.mask[:, 1:] & self.mask[:, :-1]
        gaps = np.diff(self.times, axis=1)[both]
        return bool(gaps.size) and bool(np.all(np.mod(gaps, 2.0) == 0.0))

    def folded(self, param) -> bool:
        """Whether ``param`` is sampled on [0, 1) with its prior folded: its sign shows only at
        odd lags and these data have none (:attr:`even_lags`)."""
        return param.odd_lag_sign and self.even_lags

    def parameter_size(self, param) -> int:
        """The length of a "partial" (per-lag) or "banded" parameter: its ``size`` (a number
        or a function of this design), else :attr:`n_lags`."""
        if callable(param.size):
            return int(param.size(self))
        return int(param.size) if param.size is not None else max(self.n_lags, 1)


def _labels(frame: pd.DataFrame, positions) -> str:
    labels = [str(x) for x in frame.index[np.asarray(positions)[:_SHOW]]]
    more = len(positions) - _SHOW
    return ", ".join(labels) + (f" and {more} more" if more > 0 else "")


def _column(frame: pd.DataFrame, name: str, what: str) -> pd.Series:
    if name not in frame.columns:
        columns = [str(c) for c in frame.columns]
        raise DataError(f"residuals: the {what} column {name!r} is not in the data.{did_you_mean(name, columns)} "
                        f"Columns: {columns[:20]}{' ...' if len(columns) > 20 else ''}")
    column = frame[name]
    missing = np.flatnonzero(column.isna().to_numpy())
    if missing.size:
        # a missing by= level would become a level of its own ("nan"), a missing time a visit
        raise DataError(
            f"residuals: the {what} column {name!r} is missing in {missing.size} rows "
            f"(rows {_labels(frame, missing)}); fill them or drop those rows"
        )
    return column


def _groups(structure: ResidualStructure, frame: pd.DataFrame, blocks: tuple[GroupBlock, ...]):
    """(codes, levels, block index, group name) of the residual groups."""
    name = structure.group
    if name is None:
        if not blocks and structure.spec.min_times == 1:  # each row its own group
            n = len(frame)
            return np.arange(n), tuple(str(i) for i in range(n)), None, None
        if not blocks:
            raise SpecError(
                f"residuals {structure.describe()}: the model has no group terms; name the "
                "groups with group= (the subject column of an MMRM)"
            )
        index = max(range(len(blocks)), key=lambda i: blocks[i].n_levels)
        name = blocks[index].term.group
    for i, block in enumerate(blocks):
        if block.term.group == name:
            return block.codes, tuple(block.levels), i, name
    parts = name.split(":") if name not in frame.columns else [name]
    values = _column(frame, parts[0], "group").astype(str)
    for part in parts[1:]:  # groups of a combination of columns ('school:class')
        values = values + ":" + _column(frame, part, "group").astype(str)
    levels, codes = np.unique(values.to_numpy(), return_inverse=True)
    return codes, tuple(levels), None, name


def _times(kind: ResidualKind, structure: ResidualStructure, frame: pd.DataFrame, codes: np.ndarray):
    """Time values per row (visit codes for levels) and the visits; without a time column,
    for a kind over whole-number times, each row's position within its group in the data's
    order (1, 2, ...: nlme's ``form = ~ 1 | g``)."""
    n = len(frame)
    if structure.time is None:
        return (row_positions(codes) if kind.time == "integer" else np.zeros(n)), ()
    raw = _column(frame, structure.time, "time")
    if kind.time == "levels":
        levels, codes = ordered_levels(raw)
        return codes.astype(float), levels
    if pd.api.types.is_datetime64_any_dtype(raw.dtype) or pd.api.types.is_timedelta64_dtype(raw.dtype):
        # as numbers they count nanoseconds or microseconds: an AR(1) of daily visits fitted as independent
        raise DataError(
            f"residuals {kind.name}: the time column {structure.time!r} holds dates or durations, whose "
            "unit as numbers is a nanosecond or microsecond; give time= a column of numbers in the unit "
            f"the correlation should count, e.g. days: df['day'] = (df[{structure.time!r}] - "
            f"df[{structure.time!r}].min()).dt.days, or visits: df.groupby(g).cumcount() + 1"
        )
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise DataError(
            f"residuals {kind.name}: the time column {structure.time!r} must be numeric; "
            f"rows {_labels(frame, bad)} are not"
        )
    if kind.time == "integer":
        frac = np.flatnonzero(values != np.round(values))
        if frac.size:
            raise DataError(
                f"residuals {kind.name}: the time column {structure.time!r} must hold whole numbers "
                f"(AR lags count time steps); rows {_labels(frame, frac)} do not (use 'exponential' "
                "for continuous time)"
            )
    return values, ()


def residual_design(
    structure: ResidualStructure, frame: pd.DataFrame, blocks: tuple[GroupBlock, ...],
    source: tuple[pd.DataFrame, np.ndarray] | None = None,
) -> ResidualDesign:
    """Lay ``structure`` out on the rows of ``frame`` (the design's rows, in order); ``source``:
    the data before rows were left out and the positions of ``frame``'s rows in it.

    Raises
    ------
    DataError
        For a missing column, missing or non-numeric times, times repeated within a group,
        too few time points, or a ``by`` that changes within a group.
    SpecError
        When the model has no group terms and ``group`` is not given.
    """
    kind = structure.spec
    codes, levels, block, group = _groups(structure, frame, blocks)
    if block is not None and kind.holds_common_shift and blocks[block].term.intercept:
        warn_user(
            f"residuals {structure.describe()} with a random intercept (1 | {group}) of the same groups: "
            f"the {kind.name} residual covariance already holds the variance that intercept adds, so the two "
            "are not identified separately (their priors decide the split, and the residual correlations "
            f"shrink); drop the intercept (a formula without (1 | {group}); Stata: '|| {group}:, noconstant "
            "residuals(...)') or use a structure without a common correlation (ar 1, toeplitz 1)"
        )
    times, time_levels = _times(kind, structure, frame, codes)
    if structure.time is None and kind.time == "integer" and source is not None and group is not None:
        _warn_gaps(structure, group, *source)
    J = len(levels)
    order = np.lexsort((times, codes))
    sizes = np.bincount(codes, minlength=J)
    T = int(sizes.max())
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    slot = np.arange(len(order)) - starts[codes[order]]
    rows = np.full((J, T), -1, dtype=int)
    rows[codes[order], slot] = order
    mask = rows >= 0
    # the padding repeats the group's last time, so distances never exceed a group's span
    last = times[rows[np.arange(J), sizes - 1]]
    grid = np.where(mask, times[np.maximum(rows, 0)], last[:, None])
    if structure.time is not None:
        others = list(dict.fromkeys(b.group for b in blocks if b.group != group))
        _check_repeats(structure, group, frame, codes, times, levels, others)
        if kind.time == "integer":
            _warn_time_unit(kind, structure, group, grid, mask)
    if T < kind.min_times:
        raise DataError(
            f"residuals {kind.name}: needs groups with at least {kind.min_times} time points; "
            f"the largest group of {group!r} ({levels[int(np.argmax(sizes))]!r}, rows "
            f"{_labels(frame, np.flatnonzero(codes == int(np.argmax(sizes))))}) has {T}"
        )
    if kind.time == "levels" and len(time_levels) < kind.min_times:
        raise DataError(
            f"residuals {kind.name}: the time column {structure.time!r} has {len(time_levels)} "
            f"visit(s); the structure needs at least {kind.min_times}"
        )
    if kind.time == "levels":
        _check_visit_pairs(kind, structure, group, codes, times.astype(int), J, len(time_levels), T)
    by_levels, by_codes, sd_levels, sd_codes = (), np.zeros(J, dtype=int), (), None
    if structure.by is not None:
        by_levels, row_by = ordered_levels(_column(frame, structure.by, "by"))
        first = np.full(J, -1)
        first[codes[order][::-1]] = row_by[order][::-1]
        changes = np.flatnonzero(row_by != first[codes])
        if kind.parameters and changes.size:
            j = codes[changes[0]]
            raise DataError(
                f"residuals {kind.name}: by={structure.by!r} must be constant within each group of "
                f"{group!r} (one set of structure parameters per group); group {levels[j]!r} has "
                f"several levels (rows {_labels(frame, np.flatnonzero(codes == j))})"
            )
        by_codes, sd_levels, sd_codes = first, by_levels, row_by
        if kind.sd_by_time:  # an sd per (by level, visit)
            sd_levels, sd_codes = _by_visit_levels(by_levels, row_by, time_levels, times.astype(int))
    elif kind.sd_by_time:
        sd_levels, sd_codes = time_levels, times.astype(int)
    if len(sd_levels) == 1:
        sd_levels, sd_codes = (), None
    return ResidualDesign(
        replace(structure, group=group), kind, levels, rows, mask, grid, time_levels,
        by_levels, by_codes, sd_levels, sd_codes, block,
    )


def row_positions(codes: np.ndarray) -> np.ndarray:
    """(n,) float position of each row within its group (``codes``) in the rows' order: 1, 2, ..."""
    return pd.Series(np.asarray(codes)).groupby(np.asarray(codes)).cumcount().to_numpy(dtype=float) + 1.0


def ordered_levels(column: pd.Series) -> tuple[tuple[str, ...], np.ndarray]:
    """The levels of a visit or ``by`` column in their order, and each row's code: a pandas
    Categorical's categories (those present; the first is the reference, as in the fixed
    effects), numbers by value, text in natural order ("VIS2" before "VIS10", "Week 4" before
    "Week 12"; sorted as text, "Week 12" came first and a band joined the wrong visits)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        present = column.cat.remove_unused_categories()
        return tuple(str(v) for v in present.cat.categories), present.cat.codes.to_numpy().astype(int)
    values = column.to_numpy()
    if pd.api.types.is_numeric_dtype(column.dtype):
        levels, codes = np.unique(values, return_inverse=True)
        return tuple(str(v) for v in levels), codes
    text = column.astype(str).to_numpy()
    levels = sorted(set(text.tolist()), key=_natural_key)
    index = {level: i for i, level in enumerate(levels)}
    return tuple(levels), np.fromiter((index[v] for v in text), dtype=int, count=len(text))


def _natural_key(text: str) -> list:
    # re.split with a group alternates text and digit runs, so positions compare alike
    return [int(part) if i % 2 else part for i, part in enumerate(re.split(r"(\d+)", text))]




class TimeUnitWarning(UserWarning):
    """An AR/MA residual structure whose rows are never one time unit apart."""


def _warn_time_unit(kind, structure: ResidualStructure, group: str, grid: np.ndarray, mask: np.ndarray) -> None:
    """Warn when consecutive rows of a group are always more than one unit of ``time`` apart:
    lags count units of the time column (nlme's ``corAR1(form = ~ time | g)``), and users of
    ``corAR1()`` (lags in visits) expect the correlation of consecutive visits."""
    steps = np.diff(grid, axis=1)[mask[:, 1:]]
    if not steps.size or steps.min() <= 1:
        return
    spread = f"{steps.min():g}" if steps.min() == steps.max() else f"{steps.min():g} to {steps.max():g}"
    folded = [p.name for p in kind.parameters if p.odd_lag_sign]
    sign = (
        f". Every gap is even, so only even lags occur and the sign of {folded[0]} is not identified "
        f"(phi and -phi fit alike): {folded[0]} is sampled in [0, 1), its prior folded"
        if folded and np.all(np.mod(steps, 2.0) == 0.0) else ""
    )
    warn_user(
        f"residuals {kind.name}: lags count units of {structure.time!r} (the correlation is that "
        f"of rows 1 unit apart, as nlme's corAR1(form = ~ {structure.time} | {group})), but consecutive "
        f"rows of a {group!r} group are {spread} units apart. For the "
        f"correlation of consecutive visits (nlme's corAR1() with its default form), pass a visit "
        f"counter as time= (e.g. df.groupby({group!r}).cumcount() + 1); for unequally spaced times, "
        f"hb.residuals('exponential', time={structure.time!r}) is the continuous-time form{sign}",
        TimeUnitWarning,
    )


def _warn_gaps(structure: ResidualStructure, group: str, data: pd.DataFrame, positions: np.ndarray) -> None:
    """Warn when rows left out (missing values, a subset) sat between kept rows of one series whose
    lags count rows: the rows either side of the gap are then taken as one step apart."""
    parts = group.split(":") if group not in data.columns else [group]
    if len(positions) == len(data) or any(part not in data.columns for part in parts):
        return
    series = data[parts[0]].astype(str).to_numpy(dtype=object)
    for part in parts[1:]:
        series = series + ":" + data[part].astype(str).to_numpy(dtype=object)
    within = pd.Series(np.arange(len(data))).groupby(series).cumcount().to_numpy()
    gaps = int(pd.Series(within[positions]).groupby(series[positions]).diff().gt(1).sum())
    if gaps:
        warn_user(
            f"residuals {structure.describe()}: without time= the lags count the rows kept within a {group} in "
            f"the data's order, and {gaps} gap{'s' * (gaps > 1)} left by dropped rows (missing values or a subset) "
            "now count as one step, as nlme's corAR1() after na.omit does; to keep the steps, number the rows "
            f"before they are dropped, df['t'] = df.groupby({group!r}).cumcount() + 1, and pass time='t'"
        )


def _check_repeats(structure, group, frame, codes, times, levels, others: list[str]) -> None:
    key = pd.DataFrame({"g": codes, "t": times})
    dup = np.flatnonzero(key.duplicated(keep=False).to_numpy())
    if dup.size:
        j = codes[dup[0]]
        rows = dup[codes[dup] == j]
        hint = ""
        if others:  # group= named a factor above the subjects (Dialyzer's QB for Subject)
            hint = (f"; group= names the factor whose rows form one series (nlme's corAR1(form = ~ time | g)): "
                    f"the model's group terms are by {', '.join(repr(o) for o in others)}")
        raise DataError(
            f"residuals: time {structure.time!r} repeats within group {levels[j]!r} of "
            f"{group!r} (rows {_labels(frame, rows)}); each "
            f"time point may occur once per group{hint}"
        )


def _check_visit_pairs(kind, structure: ResidualStructure, group: str, codes, visits, J: int, V: int, T: int) -> None:
    """Refuse visits most of whose pairs no group observes together (their correlations would
    be the prior's): Ovary's continuous Time as unstructured visits had 121 levels, at most
    31 per mare, 7,260 correlations for 308 rows, and ran for minutes without a word."""
    seen = np.zeros((J, V))
    seen[codes, visits] = 1.0
    together = seen.T @ seen
    pairs = V * (V - 1) // 2
    never = int(pairs - np.count_nonzero(together[np.triu_indices(V, 1)]))
    if 2 * never > pairs:
        raise DataError(
            f"residuals {kind.name}: the time column {structure.time!r} has {V} visits and groups of "
            f"{group!r} have at most {T} rows, so {never:,} of the {pairs:,} visit pairs are never observed "
            "together and their correlations would come from the prior alone; give time= a column of the "
            "few visits the groups share, or for a continuous time use 'exponential' (or 'ar' on "
            "whole-number steps)"
        )
    if never:
        warn_user(
            f"residuals {kind.name}: {never} of the {pairs} pairs of visits of {structure.time!r} are never "
            f"observed together in a group of {group!r}: their correlations come from the prior and the "
            "others' constraint, not from the data"
        )


def _by_visit_levels(by_levels, row_by, time_levels, row_visit):
    """The (by level, visit) pairs present, as ``"level:visit"`` labels, and each row's code."""
    pair = row_by * len(time_levels) + row_visit
    present, codes = np.unique(pair, return_inverse=True)
    labels = tuple(f"{by_levels[c // len(time_levels)]}:{time_levels[c % len(time_levels)]}" for c in present)
    return labels, codes
