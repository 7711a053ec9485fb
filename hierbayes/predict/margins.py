"""Expected means and marginal effects (Stata's ``margins``); Bayesian R-squared is
:mod:`.r2`, posterior probabilities of statements about parameters :mod:`.hypothesis`.

Everything is computed per posterior draw, so each number has its posterior interval.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import xarray as xr

from ..design.frames import as_pandas
from ..errors import DataError, SpecError, checks_prob
from ..families import get_family, log_hazard_ph
from ..results.report import PrintedAsReport, Summary, table_report
from ..results.stats import interval_label, summarize
from .conditional import check_predictor, factor_levels
from .contrasts import Contrasts, pairwise
from .distributional import rows_aux_draws
from .ppc_weights import inclusion_weights
from .predict import encode_rows, prediction_draws, thin, training_frame
from .predictions import category_values

MARGIN_DIM = "margin"
#: What a margin averages: the expected response, the linear predictor, or (weibull,
#: exponential) the log hazard at time 1, whose differences are log hazard ratios.
MARGIN_KINDS = ("mean", "linear", "log_hazard")


# ======================================================================== margins


@dataclass(frozen=True, eq=False, repr=False)
@checks_prob
class Margins(PrintedAsReport):
    """Posterior draws of average predictions (or average marginal effects).

    draws : xarray.DataArray, dims (chain, draw, margin).
    grid : one row per margin: the ``at`` values, the ``by`` levels and, for marginal
        effects, the ``term`` (the contrast or the derivative).
    what : "mean" (expected response), "linear" or "dydx" (with the variable).
    estimate : what a margin's value is, for the table ("probability" for binomial means).
    note : what was averaged and its Stata equivalent: ``by=`` levels averaged over their
        own rows (``margins, over(x)``) or every row set to each ``at`` value
        (``margins x``, the counterfactual).
    """

    draws: xr.DataArray
    grid: pd.DataFrame
    what: str
    at: tuple[str, ...] = ()
    by: tuple[str, ...] = ()
    dydx: str | None = None
    groups: str = "marginal"
    family: str = ""
    link: str = ""
    estimate: str = ""
    note: str = ""

    def summary(self, prob: float = 0.95) -> pd.DataFrame:
        """One row per margin: the grid columns, then mean, sd, median, lower, upper."""
        stats = summarize(self.draws, prob, diagnostics=False)[["mean", "sd", "median", "lower", "upper"]]
        out = pd.concat([self.grid.reset_index(drop=True), stats.reset_index(drop=True)], axis=1)
        out.attrs["interval"] = interval_label(prob)
        out.attrs["what"] = self.what
        out.attrs["groups"] = self.groups
        out.attrs["estimate"] = self.estimate
        if self.note:
            out.attrs["note"] = self.note
        return out

    def pairs(self, over: str | None = None) -> Contrasts:
        """Every pairwise difference (and, where it means something, ratio) between the
        levels of grid column ``over`` (default: the only ``at`` column, else the only
        ``by`` column), within each combination of the other columns; see
        :func:`hierbayes.predict.contrasts.pairwise`."""
        if over is None:
            candidates = self.at if len(self.at) == 1 else self.by if not self.at and len(self.by) == 1 else ()
            if len(candidates) != 1:
                raise SpecError(f"pairs(): say which column's levels to compare, over= one of {list(self.grid.columns)}")
            over = candidates[0]
        contrasts = pairwise(self.draws, self.grid, over, self.what, family=self.family, link=self.link)
        if over in self.by and over not in self.at:  # Stata's margins, over(): each group's own rows
            contrasts = replace(contrasts, note=(
                f"by={over!r} averages each level over its own rows (Stata: margins, over({over})), so these are "
                "differences between subgroups, including their differences in the other covariates, not a causal "
                f"contrast; at={{{over!r}: [...]}} (Stata: margins {over}) compares the same rows at each level"))
        return contrasts

    def _report(self) -> Summary:
        estimate = f" ({self.estimate})" if self.estimate else ""
        return table_report(f"<hierbayes.Margins {self.what}{estimate}, groups={self.groups!r}: {len(self.grid)} "
                            "margin(s)>", self.summary(), (f"({self.note})" if self.note else "",))


def _as_values(value) -> list:
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray, pd.Series, pd.Index)):
        return [value]
    return list(value)


def _set_column(frame: pd.DataFrame, column: str, value) -> None:
    original = frame[column]
    if isinstance(original.dtype, pd.CategoricalDtype):
        cats = original.cat.categories
        if value not in set(cats) and str(value) in {str(c) for c in cats}:
            value = next(c for c in cats if str(c) == str(value))
        if value not in set(cats):
            raise DataError(f"at: {value!r} is not a level of {column!r}; levels: {[str(c) for c in cats]}")
        frame[column] = pd.Categorical([value] * len(frame), categories=cats, ordered=original.cat.ordered)
    else:
        frame[column] = value


def _is_categorical(series: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(series) or isinstance(series.dtype, pd.CategoricalDtype)


def _levels(series: pd.Series) -> list:
    if isinstance(series.dtype, pd.CategoricalDtype):
        present = set(series.dropna().unique())
        return [c for c in series.cat.categories if c in present]
    return sorted(series.dropna().unique().tolist(), key=lambda v: (str(type(v)), v))


def _check_columns(columns: Sequence[str], frame: pd.DataFrame, what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"{what} names column(s) {missing} that are not in the data; columns: {list(frame.columns)} "
            "(a fit read from a file holds only the columns its model used)"
        )


def margins(
    posterior: xr.Dataset,
    model,
    at: Mapping[str, object] | str | Sequence[str] | None = None,
    by: str | Sequence[str] | None = None,
    dydx: str | None = None,
    *,
    kind: str = "mean",
    groups: str = "marginal",
    data: pd.DataFrame | None = None,
    n_mc: int = 64,
    eps: float | None = None,
    ndraws: int | None = None,
    random_seed: int | None = 0,
) -> Margins:
    """Average predictions over the data with covariates held at chosen values (Stata's
    ``margins``), or average marginal effects (``margins, dydx()``).

    For every combination of the ``at`` values, every row of the data (the training rows
    unless ``data`` is given) gets those values and the predictions are averaged over the
    rows, per posterior draw: ``at="x"`` is Stata's ``margins x`` (the counterfactual:
    every row set to each level of x). ``by="x"`` is Stata's ``margins, over(x)``: each
    level's predictions are averaged over that level's own rows, at their observed values,
    so when x goes with other predictors the by= margins differ by those too and their
    ``pairs()`` are differences between subgroups, not x's effect.

    Parameters
    ----------
    posterior : the posterior draws.
    model : the built model (:class:`hierbayes.configuration.BuiltModel`: spec, design, data).
    at : column -> value or list of values (a grid over a covariate, levels of a factor);
        a factor's name (or a list of names) means all its levels (Stata's ``margins arm``).
    by : column(s) whose levels get separate averages, each over its own rows as observed
        (Stata's ``margins, over(sex)``; ``at="sex"`` is ``margins sex``).
    dydx : a covariate: its average marginal effect, the derivative for a numeric column
        (central finite difference) and the contrast with the first level for a factor.
    kind : "mean" (expected response; for a binomial response the probability per trial,
        as R's ``predict(type = "response")`` and emmeans give it, not the expected count; for
        an ordinal response the expected category, on
        its labels when they are numbers, else on the codes 0..K-1), "linear" or
        "log_hazard" (families with proportional hazards, weibull and exponential: the log
        hazard at time 1; ``pairs()`` of these margins are hazard ratios, the same at every
        time, as Stata's ``mestreg`` reports them).
    groups : "marginal" (default: group effects integrated out, population-averaged),
        "exclude" (group effects zero, Stata's fixed-portion ``xb``) or "include" (each row's
        own group effects).
    data : rows to average over (default: the training rows, averaged with the model's row
        weights when it has weights; given rows are averaged with equal weights).
    n_mc : integration points for ``groups="marginal"`` with a non-identity link.
    eps : finite-difference step for a numeric ``dydx`` (default 1e-4 x its sd).
    ndraws : thin the posterior to about this many draws.
    random_seed : seed of the integration points (the same for every margin, so that
        contrasts between margins carry no integration noise).

    Returns
    -------
    Margins
        ``.summary(prob)`` is the table, ``.plot()`` the ``marginsplot``.
    """
    if kind not in MARGIN_KINDS:
        raise SpecError(f"kind={kind!r}: margins are 'mean' (expected response), 'linear' or 'log_hazard'")
    family = get_family(model.spec.family)
    if kind == "log_hazard":  # a proportional-hazards family?
        log_hazard_ph(family, np.zeros((1, 1)), "log", {name: np.ones(1) for name in family.aux})
    frame = (training_frame(model) if data is None else as_pandas(data)).copy()
    at = _levels_of_factors(model, at)
    by_cols = (by,) if isinstance(by, str) else tuple(by or ())
    _check_columns(list(at) + list(by_cols) + ([dydx] if dydx else []), frame, "margins")
    if dydx is not None and dydx in at:
        raise SpecError(f"{dydx!r} is both in at= and dydx=; hold other columns at values, not the one you differentiate")
    posterior = thin(posterior, ndraws)
    by_codes, by_table = _by_groups(frame, by_cols)
    # the training rows of a weighted model are averaged with their inclusion weights (level-1
    # x level-2 as given, not as scaled for the likelihood): the averages estimate population
    # quantities, as Stata's margins after a weighted fit
    weights = inclusion_weights(model) if data is None else None
    if weights is None:
        weights = np.ones(len(frame))

    per_trial = kind == "mean" and family.takes_trials

    def averaged(f: pd.DataFrame) -> np.ndarray:
        rows = encode_rows(model, f)
        if per_trial:  # probabilities: rows of different sizes average on one scale
            rows = replace(rows, trials=None)
        rng = np.random.default_rng(random_seed)
        values = prediction_draws(
            posterior, model, rows, kind="linear" if kind == "log_hazard" else kind, groups=groups,
            new_groups="sample", n_mc=n_mc, rng=rng,
        )
        if kind == "log_hazard":  # linear in eta: group effects average out exactly
            aux = rows_aux_draws(posterior, model, rows, groups=groups, rng=rng)
            values = log_hazard_ph(family, values, family.resolve_link(model.spec.link), aux, rows.trials)
        if values.ndim == 3:  # ordinal category probabilities -> expected category value
            values = values @ category_values(getattr(model.design.encoder, "response_levels", None), values.shape[2])
        return np.stack(
            [np.average(values[:, by_codes == g], axis=1, weights=weights[by_codes == g]) for g in range(len(by_table))],
            axis=1,
        )

    at_names = list(at)
    combos = list(itertools.product(*[_as_values(at[c]) for c in at_names])) or [()]
    blocks, grid_rows = [], []
    for combo in combos:
        f = frame.copy()
        for column, value in zip(at_names, combo, strict=True):
            _set_column(f, column, value)
        if dydx is None:
            result, terms = averaged(f), [None]
        else:
            result, terms = _effect(f, dydx, averaged, eps)
        for t_index, term in enumerate(terms):
            blocks.append(result[..., t_index] if dydx is not None else result)
            for g in range(len(by_table)):
                row = dict(zip(at_names, combo, strict=True))
                row.update(by_table.iloc[g].to_dict())
                if dydx is not None:
                    row["term"] = term
                grid_rows.append(row)
    values = np.concatenate(blocks, axis=1)
    chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
    da = xr.DataArray(values.reshape(chains, draws, -1), dims=("chain", "draw", MARGIN_DIM),
                      coords={MARGIN_DIM: np.arange(values.shape[1])}, name="margin")
    what = "dydx" if dydx else kind
    estimate = "probability" if kind == "mean" and family.is_binomial else ""
    return Margins(da, pd.DataFrame(grid_rows), what, tuple(at_names), by_cols, dydx, groups,
                   family.name, family.resolve_link(model.spec.link), estimate,
                   _what_was_averaged(at_names, by_cols, dydx))


def _what_was_averaged(at: Sequence[str], by: Sequence[str], dydx: str | None) -> str:
    """The note a Margins prints: what its rows were set to and averaged over, in Stata's terms."""
    over, rows = (f", over({' '.join(by)})", f"the rows within each level of {', '.join(by)}") if by else ("", "all rows")
    if dydx:
        return f"average marginal effect of {dydx} over {rows} (Stata: margins, dydx({dydx}){over})"
    if at:
        return f"every row set to {', '.join(at)} = each value, averaged over {rows} (Stata: margins {' '.join(at)}{over})"
    instead = f"; at={list(by)} sets every row to each level instead (Stata: margins {' '.join(by)})" if by else ""
    return f"averaged over {rows}, as observed (Stata: margins{over}){instead}"


def contrasts(posterior: xr.Dataset, model, over: str, by: str | Sequence[str] | None = None,
              **kwargs) -> Contrasts:
    """Pairwise comparisons of the margins at every level of the factor ``over``, within
    each ``by`` group (emmeans' ``pairs()``, Stata's ``margins over, pwcompare``).

    Parameters
    ----------
    posterior, model : as for :func:`margins`.
    over : a factor of the model whose levels are compared.
    by : column(s) whose levels get separate comparisons.
    **kwargs : passed to :func:`margins` (``kind``, ``groups``, ``ndraws``, ...).

    Returns
    -------
    Contrasts
        ``.summary(prob)``: one row per pair ("b - a"), the difference's interval, P(> 0)
        and, where it means something, the odds / rate ratio.

    Raises
    ------
    SpecError
        For ``over`` not a predictor of the model, or numeric in it.
    """
    check_predictor(model, over, "over", factor=True)
    at = kwargs.pop("at", None)
    if at is not None and (not isinstance(at, Mapping) or over in at):
        raise SpecError(f"contrasts(over={over!r}, at=...): at= holds other columns at values, as a dict "
                        f"(e.g. at={{'age': 11}}); the levels of {over!r} are compared at every one of them")
    grid = {over: factor_levels(model, over), **dict(at or {})}
    return margins(posterior, model, at=grid, by=by, **kwargs).pairs(over)


def _levels_of_factors(model, at) -> dict:
    """``at`` as a dict: a factor's name (or names) stands for all its levels."""
    if at is None or isinstance(at, Mapping):
        return dict(at or {})
    names = [at] if isinstance(at, str) else list(at)
    for name in names:
        check_predictor(model, name, "at", factor=True)
    return {name: factor_levels(model, name) for name in names}


def _by_groups(frame: pd.DataFrame, by: tuple[str, ...]) -> tuple[np.ndarray, pd.DataFrame]:
    if not by:
        return np.zeros(len(frame), dtype=int), pd.DataFrame(index=[0])
    keys = frame[list(by)].astype(object)
    table = keys.drop_duplicates()
    order = [tuple(r) for r in table.itertuples(index=False)]
    # a Categorical's levels in their order (as factor_levels), other values sorted
    ranks = [{v: i for i, v in enumerate(_levels(frame[c]))} for c in by]
    order.sort(key=lambda key: tuple(rank.get(v, len(rank)) for rank, v in zip(ranks, key)))
    position = {k: i for i, k in enumerate(order)}
    codes = np.array([position[tuple(r)] for r in keys.itertuples(index=False)])
    return codes, pd.DataFrame(order, columns=list(by))


def _effect(frame: pd.DataFrame, column: str, averaged, eps: float | None):
    """(S, B, T) average effects of ``column`` and the T term labels."""
    series = frame[column]
    if _is_categorical(series):
        levels = _levels(series)
        if len(levels) < 2:
            raise DataError(f"{column!r} has one level in the data; no contrast to compute")
        preds = []
        for level in levels:
            f = frame.copy()
            _set_column(f, column, level)
            preds.append(averaged(f))
        base = preds[0]
        terms = [f"{lvl} - {levels[0]}" for lvl in levels[1:]]
        return np.stack([p - base for p in preds[1:]], axis=-1), terms
    x = series.to_numpy(dtype=float)
    h = eps if eps is not None else 1e-4 * (float(np.std(x)) or 1.0)
    up, down = frame.copy(), frame.copy()
    up[column] = x + h
    down[column] = x - h
    return ((averaged(up) - averaged(down)) / (2 * h))[..., None], [f"d/d {column}"]
