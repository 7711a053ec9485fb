"""Multilevel regression and poststratification (MRP).

A :class:`Poststrat` table holds population cells (one row per combination of the
poststratification variables) with a population count. :func:`poststratify` predicts the
expected response of every cell for every posterior draw and averages the cells of each
subgroup weighted by their counts:

    theta_g = sum_{c in g} N_c * E[y | cell c] / sum_{c in g} N_c    (per posterior draw)

so every subgroup estimate comes with its full posterior. Levels present in the table but
absent from the survey (a state without respondents) get a group effect drawn from the
fitted population distribution for each posterior draw, plus whatever group-level
predictors the model has for them; the result says which levels those were.
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..design.build import NewData, _level_name
from ..design.checks import describe_rows
from ..errors import DataError
from ..families import INVERSE_LINKS, get_family
from ..params import block_names

# Posterior computations need xarray and ArviZ (via results.stats), which are slow to
# import; they are imported where used so `import hierbayes` stays fast.
if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "Poststrat",
    "PoststratResult",
    "cell_predictions",
    "composition",
    "poststratify",
]

_LISTED = 10
SUBGROUP_DIM = "subgroup"


# ============================================================================ helpers


def _names(values: Sequence[object]) -> list[str]:
    return [_level_name(v) for v in values]


def _shown(values: Sequence[object], limit: int = _LISTED) -> str:
    values = list(values)
    text = ", ".join(repr(str(v)) for v in values[:limit])
    return text + (f" and {len(values) - limit} more" if len(values) > limit else "")


def _as_columns(by: str | Sequence[str] | None, what: str) -> tuple[str, ...]:
    if by is None:
        return ()
    if isinstance(by, str):
        return (by,)
    out = tuple(by)
    if not all(isinstance(c, str) for c in out):
        raise DataError(f"{what} must be a column name or a list of column names, got {by!r}")
    return out


def _level_strings(series: pd.Series) -> pd.Series:
    """The level name of every value, as the design names group levels."""
    return series.map(_level_name).astype(object)


def _squash(text: str) -> str:
    """A spelling-insensitive form of a level: 'Post-grad' and 'Postgrad' both 'postgrad'."""
    return re.sub(r"[^0-9a-z]", "", text.lower())


def _lookalikes(missing: Sequence[str], candidates: Sequence[str]) -> list[tuple[str, str]]:
    """Pairs (survey level, table level) that are probably the same level spelled twice."""
    pairs = []
    squashed = {_squash(c): c for c in candidates}
    for name in missing:
        if _squash(name) in squashed:
            pairs.append((name, squashed[_squash(name)]))
            continue
        hits = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.8)
        if hits:
            pairs.append((name, hits[0]))
    return pairs


# ========================================================================= the table


class Poststrat:
    """A poststratification table: population cells with a count column.

    Parameters
    ----------
    cells : pandas.DataFrame
        One row per population cell (e.g. state x ethnicity x sex x age x education), with
        the model's poststratification variables as columns. It is copied, never modified.
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
        if not isinstance(cells, pd.DataFrame):
            raise DataError(f"cells must be a pandas DataFrame, got {type(cells).__name__}")
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
        self._require([column], "margin")
        return self._cells.groupby(column, observed=True, sort=True)[self.count].sum()

    def __repr__(self) -> str:
        keys = ", ".join(f"{k} (on {', '.join(v)})" for k, v in self.predictor_keys.items())
        extra = f"; predictors {keys}" if keys else ""
        return (
            f"<hierbayes.Poststrat {self.n_cells} cells, population {self.total:,.0f}, "
            f"count {self.count!r}{extra}>"
        )

    def _require(self, columns: Sequence[str], what: str) -> None:
        missing = [c for c in columns if c not in self._cells.columns]
        if missing:
            raise DataError(
                f"{what}: column(s) {_shown(missing)} not in the poststratification table; "
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
        keys = _as_columns(on, "on")
        if not keys:
            raise DataError("join needs at least one key column in 'on'")
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
        columns = _as_columns(by, "by")
        self._require(columns, "by")
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
        raise DataError(f"missing values in the subgroup column(s) {_shown(bad)} of the table")
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
    if not isinstance(predictors, pd.DataFrame):
        raise DataError(f"predictors must be a pandas DataFrame, got {type(predictors).__name__}")
    for frame, name in ((cells, what), (predictors, "the predictors")):
        missing = [k for k in keys if k not in frame.columns]
        if missing:
            raise DataError(
                f"key column(s) {_shown(missing)} not in {name}; its columns: "
                f"{list(map(str, frame.columns))}"
            )
    added = [c for c in predictors.columns if c not in keys]
    clash = [c for c in added if c in cells.columns]
    if clash:
        raise DataError(
            f"predictor column(s) {_shown(clash)} are already in {what}; drop them from one side"
        )
    pred_keys = pd.MultiIndex.from_arrays([_level_strings(predictors[k]) for k in keys])
    dup = pred_keys.duplicated()
    if dup.any():
        raise DataError(
            f"the predictors have several rows for key(s) {_shown(pred_keys[dup].unique())}; "
            f"each {'/'.join(keys)} must appear once"
        )
    cell_keys = pd.MultiIndex.from_arrays([_level_strings(cells[k]) for k in keys])
    position = pred_keys.get_indexer(cell_keys)
    if (position < 0).any():
        absent = list(dict.fromkeys(cell_keys[position < 0]))
        shown = [a[0] if len(keys) == 1 else ":".join(a) for a in absent]
        known = [k[0] if len(keys) == 1 else ":".join(k) for k in pred_keys]
        hints = _lookalikes(shown, known)
        hint = ("; close spellings: " + ", ".join(f"{a!r} ~ {b!r}" for a, b in hints)) if hints else ""
        raise DataError(
            f"{len(shown)} key value(s) of {'/'.join(keys)} in {what} have no row in the "
            f"predictors: {_shown(shown)}{hint}"
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


# ================================================================ checking coverage


@dataclass(frozen=True)
class Coverage:
    """How the table's levels relate to the survey's, per model variable.

    ``table_only`` : levels in the table that the survey has no respondents for (their
    group effects come from the fitted population distribution).
    ``survey_only`` : levels in the survey that the table does not contain (the table
    covers a sub-population; the estimates are about the table's population).
    """

    table_only: dict[str, tuple[str, ...]] = field(default_factory=dict)
    survey_only: dict[str, tuple[str, ...]] = field(default_factory=dict)


def training_frame(model) -> pd.DataFrame:
    """The rows of ``model.data`` that the fit used (after dropping missing values)."""
    design = getattr(model.design, "source", model.design)
    data = model.data
    if len(data) == design.n_obs:
        return data
    return data.loc[design.row_index]


def _level_columns(model) -> tuple[list[str], list[str]]:
    """Model columns that are level-coded (grouping factors, text) and numeric ones."""
    factors = {f for g in model.spec.groups for f in g.factor}
    data = model.data
    levels, numeric = [], []
    for column in model.design.encoder.required:
        series = data[column]
        is_num = pd.api.types.is_numeric_dtype(series.dtype) and not isinstance(
            series.dtype, pd.CategoricalDtype
        )
        if column in factors or not is_num:
            levels.append(column)
        if is_num:
            numeric.append(column)
    return levels, numeric


def check_table(table: Poststrat, model) -> Coverage:
    """Check that the table is coded like the model's data.

    Raises
    ------
    DataError
        When a column the model needs is missing (with a hint to :meth:`Poststrat.join`),
        when a variable's levels look like the same levels spelled differently in the
        survey and the table ("Post-grad" vs "Postgrad"), when no level matches at all,
        when a fixed-effect factor has levels the model has no coefficient for, or when a
        two-valued numeric code (sex coded -0.5/0.5) takes other values in the table.
    """
    required = list(model.design.encoder.required)
    missing = [c for c in required if c not in table._cells.columns]
    if missing:
        raise DataError(
            f"the poststratification table lacks column(s) {_shown(missing)} that the model "
            f"uses ({'; '.join(f'{c}: {model.design.encoder.required[c]}' for c in missing)}); "
            "add group-level predictors with Poststrat.join(predictors, on=key)"
        )
    cells = table._cells
    for column in required:
        if cells[column].isna().any():
            rows = describe_rows(cells[column].isna().to_numpy(), cells.index)
            raise DataError(f"column {column!r} of the poststratification table has missing values ({rows})")
    survey = training_frame(model)
    factors = {f for g in model.spec.groups for f in g.factor}
    level_columns, numeric_columns = _level_columns(model)
    coverage = Coverage()
    for column in level_columns:
        s_levels = list(pd.unique(_level_strings(survey[column])))
        t_levels = list(pd.unique(_level_strings(cells[column])))
        s_set, t_set = set(s_levels), set(t_levels)
        survey_only = [v for v in s_levels if v not in t_set]
        table_only = [v for v in t_levels if v not in s_set]
        _raise_on_mismatch(column, s_levels, t_levels, survey_only, table_only)
        if table_only and column not in factors:
            raise DataError(
                f"fixed-effect factor {column!r} has level(s) {_shown(table_only)} in the "
                f"table that the survey does not have, so the model has no coefficient for "
                f"them; levels in the survey: {_shown(s_levels)}"
            )
        if table_only:
            coverage.table_only[column] = tuple(table_only)
        if survey_only:
            coverage.survey_only[column] = tuple(survey_only)
    for column in numeric_columns:
        if column in factors:
            continue  # already compared as levels
        s_values = np.unique(pd.to_numeric(survey[column]).to_numpy(float))
        if len(s_values) > 2:
            continue
        t_values = np.unique(pd.to_numeric(cells[column]).to_numpy(float))
        extra = np.setdiff1d(t_values, s_values)
        if extra.size:
            raise DataError(
                f"column {column!r} is coded {s_values.tolist()} in the survey but the table "
                f"has {t_values.tolist()}; recode one of them so the codes match"
            )
    return coverage


def _raise_on_mismatch(column, s_levels, t_levels, survey_only, table_only) -> None:
    if not set(s_levels) & set(t_levels):
        raise DataError(
            f"no level of {column!r} in the table matches the survey: survey levels "
            f"{_shown(s_levels)}; table levels {_shown(t_levels)}"
        )
    pairs = _lookalikes(survey_only, table_only)
    if pairs:
        listed = ", ".join(f"{a!r} (survey) vs {b!r} (table)" for a, b in pairs)
        raise DataError(
            f"levels of {column!r} are coded differently in the survey and the table: "
            f"{listed}. Levels only in the survey: {_shown(survey_only)}; only in the table: "
            f"{_shown(table_only)}. Recode one of them so the spellings match"
        )


# ================================================================ cell predictions


def _aux_draws(posterior: xr.Dataset, family) -> dict[str, np.ndarray]:
    from ..results.stats import flatten_draws  # noqa: PLC0415 (slow import)

    return {a: flatten_draws(posterior[a])[:, None] for a in family.aux if a in posterior}


def _cell_mean(model, eta: np.ndarray, posterior: xr.Dataset) -> np.ndarray:
    """Expected response per unit of population (a probability for bernoulli/binomial)."""
    spec = model.spec
    family = get_family(spec.family)
    link = family.resolve_link(spec.link)
    per_trial = spec.response.trials is not None or spec.response.failures is not None
    if family.mean is None:
        return INVERSE_LINKS[link](eta)
    trials = np.ones(eta.shape[-1]) if per_trial or family.name == "binomial" else None
    return np.asarray(family.mean(eta, link, _aux_draws(posterior, family), trials), dtype=float)


def _encode(table: Poststrat, model) -> NewData:
    try:
        return model.design.encoder.encode_new(table._cells)
    except DataError as exc:
        raise DataError(f"poststratification table: {exc}".replace("newdata", "the table")) from None


def _numpy_posterior(fit) -> xr.Dataset:
    """The posterior with numpy arrays (numpyro leaves JAX arrays, which are slow to index)."""
    posterior = fit.posterior
    return posterior.copy(data={k: np.asarray(v.values) for k, v in posterior.data_vars.items()})


def _iter_cell_means(fit, new: NewData, new_groups: str, rng: np.random.Generator):
    """(chain index, (draws, C) expected responses) chain by chain, to bound memory."""
    from .linpred import linear_predictor  # noqa: PLC0415 (slow import)

    posterior = _numpy_posterior(fit)
    model = fit.model
    for c in range(posterior.sizes["chain"]):
        post = posterior.isel(chain=[c])
        eta = linear_predictor(
            post, model.spec, model.design.fixed_names, new.X, new.groups,
            new_groups=new_groups, rng=rng,
        )
        yield c, _cell_mean(model, eta, post)


def cell_predictions(
    fit,
    table: Poststrat,
    *,
    new_groups: str = "sample",
    random_seed: int | np.random.Generator | None = None,
) -> xr.DataArray:
    """Posterior draws of the expected response of every cell of ``table``.

    Returns
    -------
    xarray.DataArray
        Dims (chain, draw, cell); ``cell`` follows the table's row order. With the same
        ``random_seed`` these are the draws :func:`poststratify` averages.
    """
    import xarray as xr  # noqa: PLC0415 (slow import)

    check_table(table, fit.model)
    new = _encode(table, fit.model)
    rng = np.random.default_rng(random_seed)
    post = fit.posterior
    out = np.empty((post.sizes["chain"], post.sizes["draw"], table.n_cells))
    for c, mean in _iter_cell_means(fit, new, new_groups, rng):
        out[c] = mean
    return xr.DataArray(out, dims=("chain", "draw", "cell"), name="cell_mean")


# ===================================================================== the result


@dataclass(frozen=True, eq=False)
class PoststratResult:
    """Posterior draws of poststratified subgroup estimates.

    draws : xarray.DataArray, dims (chain, draw, subgroup); the ``subgroup`` coordinate is
        the subgroup label (``"AL"``, ``"AL:White"``, ``"population"``) and every ``by``
        column is a coordinate along it.
    groups : one row per subgroup: the ``by`` columns, ``population`` (sum of the cell
        counts), ``cells``, ``respondents`` (survey rows in the subgroup, when the survey has
        the ``by`` columns) and ``sample_mean`` (the raw survey mean of the response).
    by : the subgroup columns (empty for the whole population).
    new_levels : per grouping factor, the levels with population but no respondents.
    notes : plain-language notes (new levels, dropped subgroups, uncovered levels).
    """

    draws: xr.DataArray
    groups: pd.DataFrame
    by: tuple[str, ...]
    new_levels: dict[str, tuple[str, ...]]
    notes: tuple[str, ...]

    def summary(self, prob: float = 0.95) -> pd.DataFrame:
        """Tidy table: one row per subgroup with mean, sd, median, ``prob`` interval
        (``lower``, ``upper``), r_hat, ess_bulk, ess_tail, population, cells, respondents
        and sample_mean."""
        from ..results.stats import interval_label, summarize  # noqa: PLC0415 (slow import)

        if not 0 < prob < 1:
            raise DataError(f"prob={prob!r} must be between 0 and 1")
        stats = summarize(self.draws.drop_vars(list(self.by), errors="ignore"), prob)
        stats = stats.reset_index(drop=True)
        info = self.groups.reset_index(drop=True)
        out = pd.concat([info[list(self.by)], stats, info.drop(columns=list(self.by))], axis=1)
        if self.by:
            out = out.set_index(list(self.by))
        else:
            out.index = pd.Index(["population"], name=SUBGROUP_DIM)
        out.attrs["interval"] = interval_label(prob)
        out.attrs["notes"] = self.notes
        return out

    def __repr__(self) -> str:
        what = ", ".join(self.by) if self.by else "the whole population"
        lines = [f"<hierbayes.PoststratResult by {what}: {self.draws.sizes[SUBGROUP_DIM]} subgroup(s)>"]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def _labels(groups: pd.DataFrame, by: tuple[str, ...]) -> list[str]:
    if not by:
        return ["population"]
    parts = [_level_strings(groups[c]).tolist() for c in by]
    return [":".join(p) for p in zip(*parts)]


def _survey_by_group(model, by: tuple[str, ...], groups: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Respondents and raw mean of the response per subgroup (NaN when not computable)."""
    n_groups = len(groups)
    nan = np.full(n_groups, np.nan)
    survey = training_frame(model)
    source = getattr(model.design, "source", model.design)
    if not by:
        return np.array([float(source.n_obs)]), np.array([_raw_mean(source.y, source.trials)])
    if any(c not in survey.columns for c in by):
        return nan, nan.copy()
    labels = {lab: i for i, lab in enumerate(_labels(groups, by))}
    survey_labels = _labels(survey[list(by)].reset_index(drop=True), by)
    which = np.array([labels.get(lab, -1) for lab in survey_labels], dtype=np.int64)
    keep = which >= 0
    respondents = np.bincount(which[keep], minlength=n_groups).astype(float)
    y = np.asarray(source.y, dtype=float)[keep]
    trials = None if source.trials is None else np.asarray(source.trials, dtype=float)[keep]
    total = np.bincount(which[keep], weights=y, minlength=n_groups)
    denom = respondents if trials is None else np.bincount(which[keep], weights=trials, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(denom > 0, total / np.where(denom > 0, denom, 1), np.nan)
    return respondents, mean


def _raw_mean(y: np.ndarray, trials: np.ndarray | None) -> float:
    y = np.asarray(y, dtype=float)
    return float(y.sum() / np.sum(trials)) if trials is not None else float(y.mean())


def _new_level_notes(
    model, table: Poststrat, new: NewData, weights: np.ndarray, new_groups: str
) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """Levels with population but no respondents, and a note for each grouping factor."""
    out: dict[str, tuple[str, ...]] = {}
    notes = []
    populated = weights > 0
    for block, names in zip(new.groups, block_names(model.spec)):
        if not block.new_levels:
            continue
        used = np.unique(block.new_codes[(block.new_codes >= 0) & populated])
        if not used.size:
            continue
        levels = tuple(block.new_levels[i] for i in used)
        group = names.group
        out[group] = tuple(dict.fromkeys([*out.get(group, ()), *levels]))
        factor = set(block.term.factor) if block.term is not None else {group}
        preds = [
            c for c, keys in table.predictor_keys.items()
            if set(keys) <= factor and c in model.design.encoder.required
        ]
        with_preds = f", plus their group-level predictors ({', '.join(preds)})" if preds else ""
        how = (
            f"effects are drawn from the fitted population distribution ({names.sd}) for each "
            "posterior draw" if new_groups == "sample" else "group effects are set to zero"
        )
        notes.append(
            f"{group}: {len(levels)} level(s) with no respondents ({_shown(levels)}): their "
            f"{how}{with_preds}"
        )
    return out, notes


def poststratify(
    fit,
    table: Poststrat,
    by: str | Sequence[str] | None = None,
    *,
    new_groups: str = "sample",
    random_seed: int | np.random.Generator | None = None,
) -> PoststratResult:
    """Poststratified estimates of the expected response for subgroups of a population.

    Parameters
    ----------
    fit : hierbayes.Fit
    table : Poststrat
        Population cells with counts; they must be coded like the survey (checked).
    by : str, list of str or None
        Column(s) of the table defining the subgroups (``"state"``, ``["state", "eth"]``);
        None for the whole population. Any table column works, including joined
        predictors such as ``region``.
    new_groups : {"sample", "zero", "error"}
        What a group level with no respondents gets: a fresh effect from the fitted
        population distribution per posterior draw (default; the uncertainty shows in the
        interval), no group effect, or an error naming the levels.
    random_seed : int or numpy Generator, optional
        Seed for the effects of new levels.

    Returns
    -------
    PoststratResult
        ``draws`` (chain, draw, subgroup), ``summary(prob)``, ``groups``, ``new_levels``
        and ``notes``.

    Raises
    ------
    DataError
        When the table is not coded like the survey (see :func:`check_table`), lacks a
        column, or ``by`` names a column the table does not have.
    """
    if not isinstance(table, Poststrat):
        raise DataError(
            f"table must be a hierbayes.Poststrat, got {type(table).__name__}; build one "
            "with hb.Poststrat(cells, count='n')"
        )
    import xarray as xr  # noqa: PLC0415 (slow import)
    from scipy import sparse  # noqa: PLC0415

    from .linpred import NEW_GROUP_POLICIES  # noqa: PLC0415

    if new_groups not in NEW_GROUP_POLICIES:
        raise DataError(f"new_groups={new_groups!r}: valid values are {list(NEW_GROUP_POLICIES)}")
    model = fit.model
    by_columns = _as_columns(by, "by")
    codes, groups = table.subgroups(by_columns)
    coverage = check_table(table, model)
    new = _encode(table, model)
    weights = table.counts
    population = np.bincount(codes, weights=weights, minlength=len(groups))
    notes: list[str] = []
    new_levels, level_notes = _new_level_notes(model, table, new, weights, new_groups)
    if new_groups == "error" and new_levels:
        listed = "; ".join(f"{g}: {_shown(v)}" for g, v in new_levels.items())
        raise DataError(
            f"the table has levels the model was not fit with (no respondents): {listed}; "
            "pass new_groups='sample' to draw their effects from the fitted population "
            "distribution, or 'zero'"
        )
    notes += level_notes
    for note in level_notes:  # shown even when only .summary() is looked at
        warnings.warn(f"poststratify: {note}", UserWarning, stacklevel=3)
    for column, levels in coverage.survey_only.items():
        notes.append(
            f"{column}: survey level(s) {_shown(levels)} are not in the table; the estimates "
            "describe the table's population only"
        )
    empty = population <= 0
    if empty.any():
        labels = _labels(groups, by_columns)
        notes.append(
            f"{int(empty.sum())} subgroup(s) with zero population in the table were left out: "
            f"{_shown([labels[i] for i in np.flatnonzero(empty)])}"
        )
    keep_group = np.flatnonzero(~empty)
    remap = np.full(len(groups), -1, dtype=np.int64)
    remap[keep_group] = np.arange(len(keep_group))
    cell_group = remap[codes]
    in_kept = cell_group >= 0
    share = np.where(in_kept, weights / np.where(population[codes] > 0, population[codes], 1.0), 0.0)
    W = sparse.csr_matrix(
        (share[in_kept], (cell_group[in_kept], np.flatnonzero(in_kept))),
        shape=(len(keep_group), table.n_cells),
    )
    rng = np.random.default_rng(random_seed)
    post = fit.posterior
    values = np.empty((post.sizes["chain"], post.sizes["draw"], len(keep_group)))
    for c, mean in _iter_cell_means(fit, new, new_groups, rng):
        values[c] = np.asarray(W @ mean.T).T
    groups = groups.iloc[keep_group].reset_index(drop=True)
    labels = _labels(groups, by_columns)
    draws = xr.DataArray(
        values,
        dims=("chain", "draw", SUBGROUP_DIM),
        coords={SUBGROUP_DIM: labels},
        name="poststratified",
    )
    for column in by_columns:
        draws = draws.assign_coords({column: (SUBGROUP_DIM, _level_strings(groups[column]).to_numpy())})
    respondents, sample_mean = _survey_by_group(model, by_columns, groups)
    info = groups.copy()
    info["population"] = population[keep_group]
    info["cells"] = np.bincount(codes, minlength=len(population))[keep_group]
    info["respondents"] = respondents
    info["sample_mean"] = sample_mean
    return PoststratResult(draws, info, by_columns, new_levels, tuple(notes))


# ===================================================================== diagnostics


def composition(
    data: pd.DataFrame | object,
    table: Poststrat,
    variables: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The sample's composition against the population's, per poststratification variable.

    Parameters
    ----------
    data : the survey DataFrame, or a Fit / Model (its training rows are used).
    table : Poststrat
    variables : columns to compare; default every table column (except the count and the
        joined predictors) that the survey also has.

    Returns
    -------
    pandas.DataFrame
        Columns ``variable``, ``level``, ``sample`` (share of respondents), ``population``
        (share of the population), ``respondents`` and ``ratio`` (sample / population
        share: above 1 means over-represented).
    """
    model = getattr(data, "model", data)
    survey = training_frame(model) if hasattr(model, "design") else data
    if not isinstance(survey, pd.DataFrame):
        raise DataError(f"data must be a DataFrame, a Fit or a Model, got {type(data).__name__}")
    if variables is None:
        variables = [
            c for c in table.columns
            if c != table.count and c not in table.predictor_keys and c in survey.columns
        ]
    variables = list(variables)
    table._require(variables, "composition")
    missing = [v for v in variables if v not in survey.columns]
    if missing:
        raise DataError(f"composition: the survey has no column(s) {_shown(missing)}")
    rows = []
    weights = table.counts
    for column in variables:
        pop = pd.Series(weights).groupby(_level_strings(table._cells[column]).to_numpy(), sort=False).sum()
        order = _level_order(table._cells[column])
        pop = pop.reindex(order).fillna(0.0)
        counts = _level_strings(survey[column]).value_counts()
        levels = order + [v for v in counts.index if v not in set(order)]
        for level in levels:
            n = float(counts.get(level, 0))
            p_pop = float(pop.get(level, 0.0)) / weights.sum()
            p_sam = n / len(survey)
            rows.append({
                "variable": column,
                "level": level,
                "sample": p_sam,
                "population": p_pop,
                "respondents": int(n),
                "ratio": p_sam / p_pop if p_pop > 0 else np.nan,
            })
    return pd.DataFrame(rows)


def _level_order(series: pd.Series) -> list[str]:
    if isinstance(series.dtype, pd.CategoricalDtype):
        present = set(_level_strings(series))
        return [v for v in _names(series.cat.categories) if v in present]
    try:
        uniques = sorted(pd.unique(series.dropna()))
    except TypeError:
        uniques = list(pd.unique(series.dropna()))
    return list(dict.fromkeys(_names(uniques)))
