"""Conditional effects (brms' ``conditional_effects``): predictions over a grid of one
predictor with every other predictor held at one typical value.

What "typical" is, stated in every result's ``held`` (and in ``summary().attrs``):

* a numeric predictor (offset columns included) is held at its mean over the training rows
  (a weighted fit's: weighted by the rows' inclusion weights, a population mean);
* a factor (a text/categorical column, or a number written ``C(x)`` in the formula) is held
  at its reference level, the first level of the training data;
* group effects are zero by default (``groups="exclude"``, brms' ``re_formula = NA``), so
  the grouping factors' values do not matter; ``groups="marginal"`` integrates them out;
* binomial trials are left out, so a binomial model's expected response is the probability
  (brms sets ``trials = 1``).

Unlike :mod:`.margins`, nothing is averaged over the data: each grid point is one row.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from ..design.formulae_eval import FACTOR_CALLEES
from ..errors import SpecError, checks_prob
from ..results.report import PrintedAsReport, Summary, table_report
from ..results.stats import interval_label, summarize
from .ppc_weights import inclusion_weights
from .predict import encode_rows, prediction_draws, thin, training_frame

POINT_DIM = "point"
CONDITIONAL_KINDS = ("mean", "linear", "response")


def model_predictors(model) -> list[str]:
    """The data columns the model's right-hand side reads (fixed terms, slopes, grouping
    factors, offsets), in model order."""
    return list(model.design.encoder.required)


def grouping_factors(model) -> list[str]:
    """Columns that name a grouping factor of the model."""
    return list(dict.fromkeys(f for term in model.spec.groups for f in term.factor))


def is_factor(model, column: str) -> bool:
    """True when the model treats ``column`` as a factor: a non-numeric or categorical
    column, a number wrapped in ``C()``, ``factor()``, ``relevel()``, ... in the formula, or a
    grouping factor."""
    series = training_frame(model)[column]
    if isinstance(series.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(series):
        return True
    if column in grouping_factors(model):
        return True
    callees = "|".join(re.escape(name) for name in sorted(FACTOR_CALLEES))
    return re.search(rf"(?<![\w.])(?:{callees})\(\s*{re.escape(column)}\s*[,)]", model.spec.to_formula()) is not None


def factor_levels(model, column: str) -> list:
    """Levels of a factor column in training order (categories order for a categorical)."""
    series = training_frame(model)[column]
    if isinstance(series.dtype, pd.CategoricalDtype):
        present = set(series.dropna().unique())
        return [c for c in series.cat.categories if c in present]
    values = series.dropna().unique().tolist()
    try:
        return sorted(values)
    except TypeError:
        return values


def check_predictor(model, column: str, argument: str, *, factor: bool = False) -> None:
    """Raise a SpecError naming ``column`` (given as ``argument``) when the model does not
    use it, or, with ``factor=True``, when the model treats it as a number."""
    predictors = model_predictors(model)
    if column not in predictors:
        wrapped = re.fullmatch(r"[\w.]+\(\s*([\w.]+)\s*\)", column)
        hint = f"; name the column: {argument}={wrapped.group(1)!r}" if wrapped and wrapped.group(1) in predictors else ""
        raise SpecError(f"{argument}={column!r} is not a predictor of the model; predictors: {predictors}{hint}")
    if factor and not is_factor(model, column):
        raise SpecError(
            f"{argument}={column!r} is numeric in the model, but a factor is needed here (its "
            f"levels are compared); for a numeric predictor give values, e.g. at={{{column!r}: [0, 1]}}, "
            "or write C(" + column + ") in the formula"
        )


def typical_values(model, conditions: Mapping[str, object] | None = None) -> dict[str, object]:
    """Each predictor's typical value (see the module docstring), ``conditions`` overriding."""
    frame = training_frame(model)
    weights = inclusion_weights(model)
    conditions = dict(conditions or {})
    for column in conditions:
        check_predictor(model, column, "conditions")
    held: dict[str, object] = {}
    for column in model_predictors(model):
        if column in conditions:
            held[column] = conditions[column]
        elif is_factor(model, column):
            held[column] = factor_levels(model, column)[0]
        else:  # a weighted fit: the weighted (population) mean, as Stata's margins, atmeans
            held[column] = float(np.average(frame[column].astype(float), weights=weights))
    return held


def _values_of(model, column: str, argument: str, n_points: int, values) -> list:
    if values is not None:
        return list(np.atleast_1d(values))
    if is_factor(model, column):
        return factor_levels(model, column)
    series = training_frame(model)[column].astype(float)
    if series.nunique() <= 2:  # an indicator: its two values (Stata's margins, emmeans), not 0.37
        return sorted(float(v) for v in series.unique())
    if argument == "by":  # brms: mean - sd, mean, mean + sd for a numeric interaction
        mean, sd = float(series.mean()), float(series.std())
        return [mean - sd, mean, mean + sd]
    return list(np.linspace(float(series.min()), float(series.max()), int(n_points)))


def _grid_frame(model, held: dict, grid: pd.DataFrame) -> pd.DataFrame:
    frame = training_frame(model)
    rows = pd.DataFrame({c: [v] * len(grid) for c, v in held.items()})
    for column in grid.columns:
        rows[column] = grid[column].to_numpy()
    for column in rows.columns:
        if isinstance(frame[column].dtype, pd.CategoricalDtype):
            rows[column] = pd.Categorical(rows[column], categories=frame[column].cat.categories)
    return rows


@dataclass(frozen=True, eq=False, repr=False)
@checks_prob
class ConditionalEffects(PrintedAsReport):
    """Posterior draws of predictions over a grid of ``x`` (and ``by``).

    draws : xarray.DataArray, dims (chain, draw, point).
    grid : one row per point: the ``x`` value and the ``by`` value.
    held : the values every other predictor is held at.
    kind, groups : what is predicted ("mean", "linear", "response") and how group effects enter.
    """

    draws: xr.DataArray
    grid: pd.DataFrame
    x: str
    by: str | None
    kind: str
    groups: str
    held: dict = field(default_factory=dict)
    x_is_factor: bool = False

    def summary(self, prob: float = 0.95) -> pd.DataFrame:
        """One row per grid point: ``x`` (and ``by``), then mean, sd, median, lower, upper;
        ``attrs`` name the interval and the values the other predictors are held at."""
        stats = summarize(self.draws, prob, diagnostics=False)[["mean", "sd", "median", "lower", "upper"]]
        out = pd.concat([self.grid.reset_index(drop=True), stats.reset_index(drop=True)], axis=1)
        out.attrs.update(interval=interval_label(prob), kind=self.kind, groups=self.groups, held=dict(self.held))
        return out

    def conditions(self) -> str:
        """A line saying what the other predictors are held at."""
        shown = ", ".join(f"{c} = {v:.4g}" if isinstance(v, float) else f"{c} = {v}" for c, v in self.held.items())
        return f"other predictors held at: {shown or 'nothing (none)'}; group effects: {self.groups}"

    def _report(self) -> Summary:
        table = self.summary()
        shown = min(10, len(table))
        more = f"first {shown} of {len(table)} points; .summary() for all" if len(table) > shown else ""
        return table_report(f"<hierbayes.ConditionalEffects of {self.x}{' by ' + self.by if self.by else ''} "
                            f"({self.kind}): {len(self.grid)} points>", table.head(shown),
                            (self.conditions(), more))


def conditional_effects(
    posterior: xr.Dataset,
    model,
    x: str,
    by: str | None = None,
    *,
    kind: str = "mean",
    groups: str = "exclude",
    conditions: Mapping[str, object] | None = None,
    n_points: int = 100,
    x_values=None,
    by_values=None,
    n_mc: int = 64,
    ndraws: int | None = None,
    random_seed: int | None = 0,
) -> ConditionalEffects:
    """Predictions over ``x`` with the other predictors held at typical values (brms'
    ``conditional_effects``).

    Parameters
    ----------
    posterior : the posterior draws.
    model : the built model (:class:`hierbayes.configuration.BuiltModel`).
    x : a predictor: a numeric one gets ``n_points`` values from its minimum to its
        maximum, a factor its levels, a number with two values (a 0/1 indicator) those two.
    by : a second predictor for an interaction: a factor's levels, or for a number its
        mean - sd, mean and mean + sd (brms' choice), or its two values.
    kind : "mean" (expected response), "linear" (the linear predictor) or "response"
        (new observations: a prediction interval).
    groups : "exclude" (group effects zero; brms' ``re_formula = NA``), "marginal"
        (integrated out: population-averaged) or "include" (the held level's effects).
    conditions : predictor -> value, overriding the typical value (a grouping factor's
        level with ``groups="include"``).
    n_points : grid size for a numeric ``x``.
    x_values, by_values : explicit values instead of the defaults.
    n_mc : integration points for ``groups="marginal"``.
    ndraws : thin the posterior to about this many draws.
    random_seed : seed for integration points and simulated responses.

    Returns
    -------
    ConditionalEffects
        ``.summary(prob)`` is the tidy table; ``.held`` the values used for the rest.

    Raises
    ------
    SpecError
        When ``x``, ``by`` or a ``conditions`` column is not a predictor of the model,
        ``x`` equals ``by``, or ``x``/``by`` is a grouping factor without ``groups="include"``.
    """
    if kind not in CONDITIONAL_KINDS:
        raise SpecError(f"kind={kind!r}: valid values are {list(CONDITIONAL_KINDS)}")
    check_predictor(model, x, "x")
    if by is not None:
        check_predictor(model, by, "by")
        if by == x:
            raise SpecError(f"by={by!r} is also x; give a different predictor for the interaction")
    for argument, column in (("x", x), ("by", by)):
        if column in grouping_factors(model) and groups != "include":
            raise SpecError(f"{argument}={column!r} is a grouping factor: with groups={groups!r} its "
                            "effects are not used; pass groups='include' to show each level's own")
    held = typical_values(model, conditions)
    xs = _values_of(model, x, "x", n_points, x_values)
    if by is None:
        grid = pd.DataFrame({x: xs})
    else:
        bys = _values_of(model, by, "by", n_points, by_values)
        grid = pd.DataFrame([(a, b) for b in bys for a in xs], columns=[x, by])
    for column in grid.columns:
        held.pop(column, None)
    rows = encode_rows(model, _grid_frame(model, held, grid))
    posterior = thin(posterior, ndraws)
    values = prediction_draws(posterior, model, rows, kind=kind, groups=groups, new_groups="zero",
                              n_mc=n_mc, rng=np.random.default_rng(random_seed))
    if values.ndim == 3:
        raise SpecError("conditional effects of an ordinal model's category probabilities are not "
                        "supported; use kind='linear' or fit.margins()")
    chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
    da = xr.DataArray(values.reshape(chains, draws, -1), dims=("chain", "draw", POINT_DIM),
                      coords={POINT_DIM: np.arange(values.shape[1])}, name=kind)
    if groups != "include":  # the grouping factors' held levels play no part
        held = {c: v for c, v in held.items() if c not in grouping_factors(model)}
    return ConditionalEffects(da, grid, x, by, kind, groups, held, is_factor(model, x))
