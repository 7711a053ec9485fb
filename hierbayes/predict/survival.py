"""Survival curves S(t) and survival-time quantiles per profile, from posterior draws.

For every posterior draw and every row of ``newdata`` (a *profile*: a patient, a machine) the
linear predictor is computed as :mod:`.predict` does, and the family's survival function and
quantile function (:mod:`hierbayes.families.time_to_event`) turn it into S(t) on a grid of
times and into the median (or any quantile) of the uncensored outcome. ``re`` says which group
effects a profile gets:

``"include"``
    its own group's effects (the profile's group must be in the training data, or is treated
    as a new group, one effect per posterior draw, as ``predict(new_groups="sample")`` does);
``"exclude"``
    none (u = 0: the "typical" group, the median frailty);
``"new"``
    a new group: per posterior draw, one effect drawn from the fitted distribution N(0, Sigma)
    per profile, so the interval carries the spread between groups as well as the
    uncertainty of the parameters (a new patient's curve);
``"marginal"``
    the population-averaged curve E_u[S(t | u)], integrated per draw (Gauss-Hermite in one
    dimension); its quantiles solve E_u[S(t | u)] = 1 - p by bisection.

Profiles with ``re`` other than ``"include"`` need no grouping column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from ..design.frames import as_pandas
from ..errors import DataError, SpecError, check_probability, checks_prob, warn_user
from ..families import get_family, outcome_quantiles, survival_probabilities
from ..families.time_to_event import check_probabilities
from .distributional import rows_aux_draws
from .linpred import linear_predictor
from .predict import (
    encode_rows,
    group_effect_draws,
    integrate_group_effects,
    row_design,
    thin,
    training_frame,
)

RE_MODES = ("include", "exclude", "new", "marginal")
#: Times of the default grid: from 0 to the largest observed time.
DEFAULT_N_TIMES = 60


@dataclass(frozen=True, eq=False)
@checks_prob
class SurvivalCurves:
    """Posterior draws of survival curves and survival-time quantiles, one per profile.

    draws : (S, n, T) S(t) per posterior draw, profile and time.
    times : (T,) the times.
    profiles : the profiles' columns the model uses, one row per profile.
    quantile_draws : (S, n, P) quantiles of the uncensored outcome.
    probs : (P,) the probabilities of those quantiles (0.5: the median survival time).
    re : how group effects entered (see the module docstring); "none" without group terms.
    prob : the default width of the intervals.
    response : the response's name, for labels.
    follow_up : the largest observed time; quantiles beyond it come from the family's tail.
    """

    draws: np.ndarray
    times: np.ndarray
    profiles: pd.DataFrame
    quantile_draws: np.ndarray
    probs: np.ndarray
    re: str
    prob: float = 0.9
    response: str = "time"
    follow_up: float = np.inf

    def _prob(self, prob: float | None) -> float:
        prob = self.prob if prob is None else prob
        check_probability(prob)
        return prob

    def _profile_columns(self, repeat: int) -> pd.DataFrame:
        frame = self.profiles.reset_index(names="profile")
        return frame.loc[np.repeat(np.arange(len(frame)), repeat)].reset_index(drop=True)

    def band(self, prob: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(median, lower, upper) of S(t), each (n, T), the central ``prob`` interval."""
        alpha = (1 - self._prob(prob)) / 2
        lower, median, upper = np.quantile(self.draws, [alpha, 0.5, 1 - alpha], axis=0)
        return median, lower, upper

    def summary(self, prob: float | None = None) -> pd.DataFrame:
        """One row per profile and time: ``profile`` (the row label of newdata), the profile's
        columns, ``time``, the posterior ``mean`` and ``median`` of S(t) and its central
        ``prob`` interval (``lower``, ``upper``)."""
        median, lower, upper = self.band(prob)
        n, T = median.shape
        out = self._profile_columns(T)
        out["time"] = np.tile(self.times, n)
        out["mean"] = self.draws.mean(axis=0).reshape(-1)
        out["median"], out["lower"], out["upper"] = median.reshape(-1), lower.reshape(-1), upper.reshape(-1)
        out.attrs.update(what="survival probability S(t)", re=self.re, interval=f"{self._prob(prob):.0%} central interval")
        return out

    def quantiles(self, prob: float | None = None) -> pd.DataFrame:
        """One row per profile and probability p: the p-quantile of the uncensored outcome
        (``p = 0.5``: the median survival time), its posterior ``median`` and central ``prob``
        interval; ``beyond_follow_up`` marks (and a warning names) those beyond the largest
        observed time."""
        return self._warn_beyond(self._quantile_table(prob))

    def _warn_beyond(self, out: pd.DataFrame) -> pd.DataFrame:
        if out["beyond_follow_up"].any():
            rows = out[out["beyond_follow_up"]]
            shown = ", ".join(f"p = {p:g} of profile {k} ({m:.4g})" for k, p, m in
                              zip(rows["profile"][:3], rows["p"][:3], rows["median"][:3], strict=True))
            warn_user(f"{shown}{', ...' if len(rows) > 3 else ''}: beyond the largest observed {self.response} "
                      f"({self.follow_up:.4g}); such a quantile comes from the family's tail, not from follow-up "
                      "(a Kaplan-Meier curve would not reach it): column beyond_follow_up")
        return out

    def _quantile_table(self, prob: float | None) -> pd.DataFrame:
        alpha = (1 - self._prob(prob)) / 2
        lower, median, upper = np.quantile(self.quantile_draws, [alpha, 0.5, 1 - alpha], axis=0)
        n, P = median.shape
        out = self._profile_columns(P)
        out["p"] = np.tile(self.probs, n)
        out["median"], out["lower"], out["upper"] = median.reshape(-1), lower.reshape(-1), upper.reshape(-1)
        out["beyond_follow_up"] = out["median"] > self.follow_up
        out.attrs.update(what=f"quantiles of {self.response} (uncensored)", re=self.re,
                         interval=f"{self._prob(prob):.0%} central interval")
        return out

    def median_survival(self, prob: float | None = None) -> pd.DataFrame:
        """The median survival time per profile with its interval (``quantiles`` at p = 0.5)."""
        if not np.any(np.isclose(self.probs, 0.5)):
            raise SpecError(f"the curves were computed with quantiles={list(self.probs)}; add 0.5 for the median")
        table = self._quantile_table(prob)
        return self._warn_beyond(table[np.isclose(table["p"], 0.5)]).drop(columns="p").reset_index(drop=True)

    def __repr__(self) -> str:
        n, T = self.draws.shape[1:]
        return f"<hierbayes.SurvivalCurves re={self.re!r}: {n} profile(s) x {T} times, {self.draws.shape[0]} draws>"


def default_times(model, n: int = DEFAULT_N_TIMES) -> np.ndarray:
    """``n`` times from 0 to the largest observed time (upper bounds of intervals included)."""
    return np.linspace(0.0, largest_time(model), n)


def largest_time(model) -> float:
    """The largest observed time (upper bounds of intervals included)."""
    design = row_design(model)
    values = [np.asarray(design.y, dtype=float)]
    censoring = getattr(design, "censoring", None)
    if censoring is not None and censoring.upper is not None:
        values.append(censoring.upper)
    finite = np.concatenate(values)
    return float(finite[np.isfinite(finite)].max())


def _with_group_columns(model, newdata: pd.DataFrame) -> pd.DataFrame:
    """``newdata`` with any missing grouping column filled by a training value (unused when
    the profiles' own group effects are not wanted)."""
    factors = dict.fromkeys(f for g in model.spec.groups for f in g.factor)
    missing = [f for f in factors if f not in newdata.columns]
    if not missing:
        return newdata
    train = training_frame(model)
    return newdata.assign(**{f: train[f].iloc[0] for f in missing})


def _new_group_effects(posterior, spec, blocks, rng: np.random.Generator) -> np.ndarray:
    """Per draw and profile, the sum over blocks of one fresh effect from N(0, Sigma)."""
    total = 0.0
    for _, chol, Xb in group_effect_draws(posterior, spec, blocks):
        z = rng.standard_normal((chol.shape[0], Xb.shape[0], chol.shape[1]))
        total = total + np.einsum("snk,nk->sn", np.einsum("skl,snl->snk", chol, z), Xb)
    return total


def _marginal_quantiles(posterior, spec, rows, eta, family, link, aux, probs, n_mc: int, seed: int,
                        iterations: int = 60) -> np.ndarray:
    """(S, n, P) p-quantiles of the population-averaged outcome: the t with
    E_u[S(t | u)] = 1 - p, by bisection per draw and profile (on log t for times).

    The quantile of a mixture lies between the quantiles of its extreme components, so the
    search starts between the conditional quantiles at u = -/+ 9 sd of the profile's summed
    group effects (the quantile grows with eta for every family with a quantile function)."""
    var = 0.0
    for _, chol, Xb in group_effect_draws(posterior, spec, rows.groups):
        var = var + np.sum(np.einsum("skl,nk->snl", chol, Xb) ** 2, axis=-1)
    spread = 9.0 * np.sqrt(var) * np.ones_like(eta)
    out = np.empty((*eta.shape, probs.size))
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        for i, p in enumerate(probs):
            lo = outcome_quantiles(family, [p], eta - spread, link, aux, rows.trials)[..., 0]
            hi = outcome_quantiles(family, [p], eta + spread, link, aux, rows.trials)[..., 0]
            positive = bool(np.all(lo > 0))  # times: bisect on the log scale
            to, back = (np.log, np.exp) if positive else (np.asarray, np.asarray)
            lo, hi = to(lo), to(hi)
            for _ in range(iterations):
                mid = 0.5 * (lo + hi)
                t = back(mid)
                surv = integrate_group_effects(
                    posterior, spec, rows.groups, eta, lambda e, t=t: np.exp(family.log_ccdf(t, e, link, aux, rows.trials)),
                    n_mc=n_mc, rng=np.random.default_rng(seed),
                )
                below = surv > 1 - p  # S(t) above 1 - p: the quantile is later
                lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
            out[..., i] = back(0.5 * (lo + hi))
    return out


def survival_curves(
    posterior: xr.Dataset,
    model,
    newdata=None,
    *,
    times: Sequence[float] | None = None,
    re: str = "include",
    quantiles: Sequence[float] = (0.5,),
    prob: float = 0.9,
    n_mc: int = 40,
    ndraws: int | None = None,
    random_seed=None,
) -> SurvivalCurves:
    """Survival curves S(t) = P(T > t) and quantiles of the uncensored outcome per profile.

    Parameters
    ----------
    posterior : the posterior draws.
    model : the built model (spec, design, data) of a family with a survival function
        (weibull, exponential, lognormal, loglogistic; gaussian, student and gamma too).
    newdata : DataFrame, one row per profile (None: the training rows).
    times : times at which S(t) is evaluated (default: 60 from 0 to the largest observed time).
    re : "include", "exclude", "new" or "marginal" (see the module docstring).
    quantiles : probabilities p of the survival-time quantiles (0.5: the median survival time).
    prob : the default interval width of the summaries.
    n_mc : integration points per draw for ``re="marginal"``.
    ndraws : use about this many posterior draws.
    random_seed : seed of new-group effects and integration points.

    Returns
    -------
    SurvivalCurves
        ``.summary()``, ``.quantiles()``, ``.median_survival()`` and (from a Fit) ``.plot()``.

    Raises
    ------
    SpecError
        For an unknown ``re``, or a family without a survival or quantile function.
    DataError
        For missing columns (a grouping column with ``re="include"``), non-finite ``times``,
        probabilities outside (0, 1).
    """
    if re not in RE_MODES:
        raise SpecError(f"re={re!r}: valid values are {list(RE_MODES)}")
    spec = model.spec
    family = get_family(spec.family)
    link = family.resolve_link(spec.link)
    times = default_times(model) if times is None else np.atleast_1d(np.asarray(times, dtype=float))
    if times.ndim != 1 or times.size == 0 or not np.all(np.isfinite(times)):
        raise DataError(f"times={[float(t) for t in np.ravel(times)]}: give one or more finite times")
    probs = check_probabilities(quantiles)
    given = None
    if newdata is not None:
        newdata = as_pandas(newdata, "newdata")
        given = set(newdata.columns)
        if re != "include":
            newdata = _with_group_columns(model, newdata)
        else:
            missing = [f for f in dict.fromkeys(f for g in spec.groups for f in g.factor) if f not in given]
            if missing:
                raise DataError(
                    f"re='include' gives each profile its own group's effects, but newdata has no "
                    f"grouping column {missing}; add it, or pass re='marginal' (the population-averaged curve), "
                    "re='new' (a new group) or re='exclude' (the typical group, u = 0)"
                )
    rows = encode_rows(model, newdata)
    posterior = thin(posterior, ndraws)
    rng = np.random.default_rng(random_seed)
    eta = linear_predictor(
        posterior, spec, model.design.fixed_names, rows.X, rows.groups, include_groups=re == "include",
        new_groups="sample", rng=rng, offset=rows.offset,
    )
    aux = rows_aux_draws(posterior, model, rows, groups="include" if re == "include" else "exclude", rng=rng)
    if re == "new":
        eta = eta + _new_group_effects(posterior, spec, rows.groups, rng)
    if re == "marginal":
        seed = int(rng.integers(2**32))  # the same integration points for every evaluation
        draws = integrate_group_effects(
            posterior, spec, rows.groups, eta, lambda e: survival_probabilities(family, times, e, link, aux, rows.trials),
            n_mc=n_mc, rng=np.random.default_rng(seed),
        )
        q = _marginal_quantiles(posterior, spec, rows, eta, family, link, aux, probs, n_mc, seed)
    else:
        draws = survival_probabilities(family, times, eta, link, aux, rows.trials)
        q = outcome_quantiles(family, probs, eta, link, aux, rows.trials)
    used = [c for c in model.design.encoder.required if c in rows.frame.columns]
    if given is not None:  # grouping columns filled in above are not the profiles'
        used = [c for c in used if c in given]
    re = re if model.design.groups else "none"  # a model without group terms
    return SurvivalCurves(draws, times, rows.frame[used], q, probs, re, prob, str(spec.response.expr),
                          largest_time(model))
