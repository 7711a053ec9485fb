"""Posterior and prior predictive checks.

Replicated data sets are drawn in numpy from parameter draws (posterior or prior) with the
family's ``simulate``: y_rep[s] ~ p(y | theta_s) for the training rows, group effects
included. A :class:`PredictiveCheck` then compares the data with the replications:

Plots are drawn by :mod:`hierbayes.plots` (``fit.ppc()`` returns the check with its plot
methods bound: ``plot()``, ``plot_grouped()``, ``plot_stat()``, ``plot_loo_pit()``):

* ``plot()``: the check that fits the response (density overlay for continuous responses,
  a rootogram for counts and ordinal responses, a calibration (PAVA) plot for binary ones);
* ``pvalues()``: test statistics T(y) against T(y_rep) with posterior predictive p-values
  p = Pr(T(y_rep) > T(y)) (ties count one half);
* ``grouped()`` / ``plot_grouped()``: the same per level of a grouping factor (group means
  and sds), flagging the levels whose observed statistic falls outside the central
  ``prob`` interval of its replications;
* ``loo_pit()`` / ``plot_loo_pit()``: LOO-PIT values (posterior checks only).

Posterior predictive p-values are not uniform under a correct model (they concentrate
near 1/2, because the data were used to fit), so an extreme one (say < 0.01 or > 0.99) is
strong evidence of misfit, while a moderate one is only weak evidence of fit.

Weighted fits weight the observed and the replicated rows alike (:mod:`.ppc_weights`).

Size: about 470 lines: the check object with its statistics, grouped checks and LOO-PIT,
and the two builders of it (posterior and prior) read best in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import DataError, SpecError, checks_prob, refuse_unknown_arguments, warn_user
from ..families import get_family
from ..families.censoring import INTERVAL, LEFT, RIGHT
from ..params import OBS_DIM
from .compare import pointwise_loglik
from .km import km_censoring, km_statistics
from .loo_weights import frequency_weights
from .ppc_kinds import plot_kinds
from .ppc_weights import FREQUENCY_NOTE, WEIGHTS_NOTE, inclusion_weights, weighted_statistics
from .predict import row_design, thin
from .predictions import on_response_scale
from .replicate import replicate

OBSERVED = "y"

# T(y) on (..., n) arrays, along the last axis.
STATISTICS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "mean": lambda y: np.mean(y, axis=-1),
    "sd": lambda y: np.std(y, axis=-1, ddof=1),
    "var": lambda y: np.var(y, axis=-1, ddof=1),
    "min": lambda y: np.min(y, axis=-1),
    "max": lambda y: np.max(y, axis=-1),
    "median": lambda y: np.median(y, axis=-1),
    "prop_zero": lambda y: np.mean(y == 0, axis=-1),
}
GROUPED_STATISTICS = ("mean", "sd", "var", "min", "max", "prop_zero")

DEFAULT_STATISTICS = {
    "continuous": ("mean", "sd", "min", "max"),
    "count": ("mean", "var", "prop_zero", "max"),
    "binomial": ("mean", "var"),
    "binary": ("mean",),
    "ordinal": ("mean", "sd"),
}


def response_kind(family) -> str:
    """continuous, count, binomial, binary or ordinal."""
    kind = getattr(family, "response_kind", None)
    if kind:
        return kind
    return "continuous"


def bayes_p_value(t_rep: np.ndarray, t_obs) -> np.ndarray:
    """Pr(T(y_rep) > T(y)) + Pr(T(y_rep) = T(y)) / 2 over draws (axis 0)."""
    t_obs = np.asarray(t_obs)
    return np.mean(t_rep > t_obs, axis=0) + 0.5 * np.mean(t_rep == t_obs, axis=0)


def _resolve_stats(stats, kind: str) -> dict[str, Callable]:
    if stats is None:
        stats = DEFAULT_STATISTICS.get(kind, ("mean", "sd"))
    if isinstance(stats, str):
        stats = (stats,)
    out: dict[str, Callable] = {}
    items = stats.items() if isinstance(stats, Mapping) else ((s, None) for s in stats)
    for name, fn in items:
        if fn is None and callable(name):
            name, fn = getattr(name, "__name__", "statistic"), name
        if fn is None:
            if name not in STATISTICS:
                raise SpecError(f"unknown test statistic {name!r}; valid: {list(STATISTICS)} or a callable")
            fn = STATISTICS[name]
        out[str(name)] = fn
    return out


@dataclass(frozen=True, eq=False)
class GroupIndex:
    """Rows of each level of one grouping factor, sorted for ``reduceat``."""

    group: str
    levels: tuple[str, ...]
    order: np.ndarray  # row order that puts each level's rows together
    starts: np.ndarray  # first position of each present level in ``order``
    present: np.ndarray  # codes of the levels with rows
    counts: np.ndarray

    @classmethod
    def from_codes(cls, group: str, codes: np.ndarray, levels: Sequence[str]) -> GroupIndex:
        codes = np.asarray(codes)
        order = np.argsort(codes, kind="stable")
        present, starts, counts = np.unique(codes[order], return_index=True, return_counts=True)
        return cls(group, tuple(levels), order, starts, present, counts)

    def reduce(self, y: np.ndarray, stat: str) -> np.ndarray:
        """(..., J_present) statistic per level of (..., n) values."""
        y = np.asarray(y, dtype=float)[..., self.order]
        n = self.counts
        if stat == "min":
            return np.minimum.reduceat(y, self.starts, axis=-1)
        if stat == "max":
            return np.maximum.reduceat(y, self.starts, axis=-1)
        if stat == "prop_zero":
            return np.add.reduceat((y == 0).astype(float), self.starts, axis=-1) / n
        total = np.add.reduceat(y, self.starts, axis=-1)
        mean = total / n
        if stat == "mean":
            return mean
        squares = np.add.reduceat(y * y, self.starts, axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            var = (squares - n * mean * mean) / (n - 1)
        var = np.where(n > 1, np.maximum(var, 0.0), np.nan)
        if stat == "var":
            return var
        if stat == "sd":
            return np.sqrt(var)
        raise SpecError(f"unknown grouped statistic {stat!r}; valid: {list(GROUPED_STATISTICS)}")


@dataclass(frozen=True, eq=False)
@checks_prob
class PredictiveCheck:
    """Observed data and replicated data sets drawn from the posterior or the prior.

    idata : DataTree with ``observed_data`` and ``posterior_predictive`` (or
        ``prior_predictive``) holding ``y`` with dims (chain, draw, obs); posterior checks
        also hold the (thinned) ``posterior`` and the pointwise ``log_likelihood``.
    model : the built model (spec, design, data; a :class:`hierbayes.configuration.BuiltModel`
        or the Model holding one).
    source : "posterior" or "prior".
    """

    idata: xr.DataTree
    model: object
    source: str

    @property
    def group(self) -> str:
        return f"{self.source}_predictive"

    @property
    def y(self) -> np.ndarray:
        return np.asarray(self.idata["observed_data"][OBSERVED].values, dtype=float)

    @property
    def yrep(self) -> np.ndarray:
        """(S, n) replicated data sets."""
        v = self.idata[self.group][OBSERVED].values
        return np.asarray(v, dtype=float).reshape(-1, v.shape[-1])

    @property
    def yrep_as_observed(self) -> np.ndarray:
        """(S, n) the replicates censored as the data were, so that statistics compare like
        with like: a right-censored row's replicate is recorded as min(y_rep, c), a
        left-censored row's as max(y_rep, c), c its recorded bound (as the Kaplan-Meier
        check has them); exact rows' replicates as drawn. Interval-censored rows are
        compared at their recorded lower bounds, with a warning."""
        censoring = getattr(row_design(self.model), "censoring", None)
        if censoring is None:
            return self.yrep
        code = np.asarray(censoring.code)
        if np.any(code == INTERVAL):
            warn_user("the statistics compare interval-censored rows' recorded lower bounds with uncensored "
                      "replicates, so they lean toward misfit; judge those rows by their predictive "
                      "intervals (fit.ppc().plot('intervals'))")
        yrep, y = self.yrep, self.y[None, :]
        yrep = np.where(code[None, :] == RIGHT, np.minimum(yrep, y), yrep)
        yrep = np.where(code[None, :] == LEFT, np.maximum(yrep, y), yrep)
        # a tobit's limits censor every row, not only those the data censored (AER's Affairs:
        # 16% of the replicates had fallen below ll = 0, and every statistic looked extreme)
        response = self.model.spec.response
        lower, upper = _fixed_limit(response.tobit_ll, -np.inf), _fixed_limit(response.tobit_ul, np.inf)
        if np.isnan(lower) or np.isnan(upper):
            warn_user("a tobit limit given as a column censors only the rows the data censored in these "
                      "statistics; judge the others by their predictive intervals (fit.ppc().plot('intervals'))")
        return np.clip(yrep, -np.inf if np.isnan(lower) else lower, np.inf if np.isnan(upper) else upper)

    @property
    def family(self):
        return get_family(self.model.spec.family)

    @property
    def response_kind(self) -> str:
        kind = response_kind(self.family)
        trials = row_design(self.model).trials
        if kind == "binomial" and trials is not None and np.all(trials == 1):
            return "binary"
        right = km_censoring(self.model)
        return "censored" if right is not None and right.any() else kind

    @property
    def weights(self) -> np.ndarray | None:
        """(n,) the rows' inclusion weights of a weighted fit (:mod:`.ppc_weights`), else None."""
        return inclusion_weights(self.model)

    def _stats(self, stats) -> dict[str, Callable]:
        return weighted_statistics(_resolve_stats(stats, self.response_kind), self.weights, STATISTICS)

    @property
    def plot_kinds(self) -> tuple[str, ...]:
        """The ``kind`` values ``plot()`` accepts for this response (the default first)."""
        return plot_kinds(self.response_kind)

    # ------------------------------------------------------------------ statistics

    def pvalues(self, stats=None, prob: float = 0.95, **unknown) -> pd.DataFrame:
        """Test statistics of the data and of the replications, with p-values.

        Parameters
        ----------
        stats : names in STATISTICS ("mean", "sd", "var", "min", "max", "median",
            "prop_zero"), callables on (..., n) arrays, or a dict name -> callable. The
            default depends on the response (counts: mean, var, prop_zero, max).
        prob : width of the interval of T(y_rep).

        Returns
        -------
        DataFrame indexed by statistic: observed, rep_mean, rep_lower, rep_upper, p_value
        (Pr(T(y_rep) > T(y))) and ``extreme`` (p outside [(1-prob)/2, (1+prob)/2]). A
        weighted fit's built-in statistics are weighted (``attrs["weights"]`` says so).
        """
        refuse_unknown_arguments("pvalues", unknown, ("stats", "prob"), {"stat": "stats", "statistic": "stats"})
        alpha = (1 - prob) / 2
        rows = []
        for name, (t_obs, t_rep) in self._statistic_values(stats).items():
            p = float(bayes_p_value(t_rep, t_obs))
            rows.append({
                "statistic": name, "observed": t_obs, "rep_mean": float(np.mean(t_rep)),
                "rep_lower": float(np.quantile(t_rep, alpha)), "rep_upper": float(np.quantile(t_rep, 1 - alpha)),
                "p_value": p, "extreme": bool(p < alpha or p > 1 - alpha),
            })
        out = pd.DataFrame(rows).set_index("statistic")
        out.attrs["source"] = self.source
        if stats is None and self.response_kind == "censored":
            out.attrs["statistics"] = ("Kaplan-Meier median survival and restricted mean survival up to the "
                                       "largest observed time, replicates censored as the data were")
        if self.weights is not None:
            out.attrs["weights"] = self._weights_note()
        return out

    def _statistic_values(self, stats) -> dict[str, tuple[float, np.ndarray]]:
        """name -> (T(y), T(y_rep) per draw); a right-censored response's default statistics
        come from Kaplan-Meier curves (:func:`.km.km_statistics`)."""
        if stats is None and self.response_kind == "censored":
            return km_statistics(self)
        y, yrep = self.y, self.yrep_as_observed
        return {name: (float(fn(y)), np.asarray(fn(yrep), dtype=float)) for name, fn in self._stats(stats).items()}

    def _weights_note(self) -> str:
        return f"{WEIGHTS_NOTE}; {FREQUENCY_NOTE}" if frequency_weights(self.model.design) is not None else WEIGHTS_NOTE

    def statistic_draws(self, stat: str | Callable) -> tuple[float, np.ndarray]:
        """(T(y), T(y_rep) per draw) for one statistic."""
        (name, fn), = self._stats((stat,)).items()
        return float(fn(self.y)), np.asarray(fn(self.yrep_as_observed), dtype=float)

    def group_index(self, group: str | None = None) -> GroupIndex:
        design = row_design(self.model)
        if not design.groups:
            raise SpecError("the model has no grouping factor; grouped checks need one")
        names = list(dict.fromkeys(b.group for b in design.groups))
        group = names[0] if group is None else group
        for block in design.groups:
            if block.group == group:
                return GroupIndex.from_codes(group, block.codes, block.levels)
        raise SpecError(f"no grouping factor {group!r}; valid: {names}")

    def grouped(self, group: str | None = None, stats: Sequence[str] = ("mean", "sd"), prob: float = 0.95) -> pd.DataFrame:
        """Per level of ``group`` (default: the first grouping factor) and statistic: the
        observed statistic, the mean and ``prob`` interval of its replications, the p-value
        and ``misfit`` (the observed value outside that interval).

        Returns a long DataFrame with columns group level (named after the factor),
        statistic, n, observed, rep_mean, rep_lower, rep_upper, p_value, misfit.
        """
        index = self.group_index(group)
        stats = (stats,) if isinstance(stats, str) else tuple(stats)
        y, yrep = self.y, self.yrep_as_observed
        alpha = (1 - prob) / 2
        frames = []
        for stat in stats:
            if stat not in GROUPED_STATISTICS:
                raise SpecError(f"unknown grouped statistic {stat!r}; valid: {list(GROUPED_STATISTICS)}")
            t_obs = index.reduce(y, stat)
            t_rep = index.reduce(yrep, stat)
            with np.errstate(invalid="ignore"):
                p = bayes_p_value(t_rep, t_obs)
                lower = np.quantile(t_rep, alpha, axis=0)
                upper = np.quantile(t_rep, 1 - alpha, axis=0)
            defined = np.isfinite(t_obs)
            counted = np.isfinite(t_rep).sum(axis=0)  # a group's sd of one row is undefined in every replicate
            rep_mean = np.where(counted > 0, np.nansum(t_rep, axis=0) / np.maximum(counted, 1), np.nan)
            frames.append(pd.DataFrame({
                index.group: [index.levels[c] for c in index.present],
                "statistic": stat,
                "n": index.counts,
                "observed": t_obs,
                "rep_mean": rep_mean if defined.any() else np.nan,
                "rep_lower": lower,
                "rep_upper": upper,
                "p_value": np.where(defined, p, np.nan),
                "misfit": defined & ((t_obs < lower) | (t_obs > upper)),
            }))
        out = pd.concat(frames, ignore_index=True)
        out.attrs["interval"] = f"{round(prob * 100, 1):g}% interval of the replicated statistic"
        out.attrs["group"] = index.group
        return out

    # ------------------------------------------------------------------ LOO-PIT

    def loo_pit(self) -> np.ndarray:
        """LOO-PIT value of every observation (PSIS-LOO weighted PIT; ArviZ's ``loo_pit``).

        Uniform on (0, 1) for a well-calibrated model; a U shape means the predictive
        distributions are too narrow, a hump that they are too wide.
        """
        import arviz_stats as az  # ArviZ's statistics, without its plotting (matplotlib)

        self.require_posterior("LOO-PIT")
        return np.asarray(az.loo_pit(self.idata, var_names=[OBSERVED])[OBSERVED].values)

    def require_posterior(self, what: str) -> None:
        """Raise a SpecError naming ``what`` unless this is a posterior check."""
        if self.source != "posterior":
            raise SpecError(f"{what} needs posterior draws; this is a {self.source} predictive check")

    def __repr__(self) -> str:
        S, n = self.yrep.shape
        weighted = f", {self._weights_note()}" if self.weights is not None else ""
        return f"<hierbayes.PredictiveCheck ({self.source}): {S} replicated data sets of {n} rows{weighted}>"


# ======================================================================= building


def _tree(posterior: xr.Dataset, y: np.ndarray, yrep: np.ndarray, source: str, loglik: np.ndarray | None, discrete: bool) -> xr.DataTree:
    chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
    n = y.shape[0]
    if discrete:  # ArviZ picks its discrete plots (rootogram, PIT randomisation) by dtype
        y, yrep = np.rint(y).astype(np.int64), np.rint(yrep).astype(np.int64)
    coords = {"chain": posterior["chain"].values, "draw": posterior["draw"].values, OBS_DIM: np.arange(n)}
    dims = ("chain", "draw", OBS_DIM)

    def ds(values: np.ndarray) -> xr.Dataset:
        return xr.Dataset({OBSERVED: xr.DataArray(values.reshape(chains, draws, n), dims=dims, coords=coords)})

    groups = {
        source: posterior,
        f"{source}_predictive": ds(yrep),
        "observed_data": xr.Dataset({OBSERVED: xr.DataArray(y, dims=(OBS_DIM,), coords={OBS_DIM: np.arange(n)})}),
    }
    if loglik is not None:
        groups["log_likelihood"] = ds(loglik)
    return xr.DataTree.from_dict(groups)


def _discrete(model) -> bool:
    return response_kind(get_family(model.spec.family)) != "continuous"


def posterior_check(posterior: xr.Dataset, model, *, ndraws: int | None = None, random_seed=None) -> PredictiveCheck:
    """Posterior predictive check: one replicated data set of the training rows per
    posterior draw (``ndraws`` thins the draws).

    Parameters
    ----------
    posterior : the posterior draws.
    model : the built model (:class:`hierbayes.configuration.BuiltModel`: spec, design, data).
    ndraws : thin the posterior to about this many draws.
    random_seed : seed of the replications.
    """
    posterior = thin(posterior, ndraws)
    rng = np.random.default_rng(random_seed)
    yrep = replicate(posterior, model, rng)
    loglik = pointwise_loglik(posterior, model)
    tree = _tree(posterior, np.asarray(on_response_scale(model, row_design(model).y), float), yrep, "posterior", loglik, _discrete(model))
    return PredictiveCheck(tree, model, "posterior")


def with_group_effects(draws: xr.Dataset, model, rng: np.random.Generator) -> xr.Dataset:
    """Add group effects drawn from N(0, Sigma) for blocks whose effects the draws lack
    (blocks the sampler integrates out never have them in a prior draw)."""
    from ..params import block_names
    from .linpred import sample_new_effects

    chains, n_draws = draws.sizes["chain"], draws.sizes["draw"]
    for block, names in zip(row_design(model).groups, block_names(model.spec), strict=True):
        if names.effects in draws:
            continue
        def effects(values: np.ndarray, block=block, names=names) -> xr.DataArray:
            return xr.DataArray(
                values.reshape(chains, n_draws, block.n_levels, block.n_columns),
                dims=("chain", "draw", names.level_dim, names.column_dim),
                coords={names.level_dim: list(block.levels), names.column_dim: list(block.columns)},
            )

        # a zero placeholder first: the sd of a shared-sd block takes its columns from it
        draws = draws.assign({names.effects: effects(np.zeros((chains * n_draws, block.n_levels, block.n_columns)))})
        u = sample_new_effects(draws, names, block.n_levels, rng)  # (S, J, K)
        draws = draws.assign({names.effects: effects(u)})
    return draws


def prior_check(model, prior: xr.Dataset, *, random_seed=None) -> PredictiveCheck:
    """Prior predictive check from prior draws of the parameters (``prior`` has the
    posterior's variable names; see :meth:`hierbayes.Model.prior_predictive`)."""
    
    rng = np.random.default_rng(random_seed)
    prior = with_group_effects(prior, model, rng)
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            yrep = replicate(prior, model, rng)
    except ValueError as exc:  # numpy refuses e.g. a Poisson rate of 1e300
        raise DataError(
            f"the prior allows values the response distribution cannot draw from ({exc}); "
            "the priors are far too wide on the response scale: tighten them (Model(priors=...))"
        ) from None
    finite = np.isfinite(yrep).all(axis=1)
    if not finite.all():
        warn_user(
            f"{np.mean(~finite):.1%} of the prior draws give non-finite responses and were "
            "left out: the priors allow absurd values on the response scale"
        )
        prior = prior.stack(__s__=("chain", "draw")).isel(__s__=np.flatnonzero(finite))
        prior = prior.drop_vars(["__s__", "chain", "draw"]).rename({"__s__": "draw"})
        prior = prior.assign_coords(draw=np.arange(prior.sizes["draw"])).expand_dims(chain=[0])
        yrep = yrep[finite]
    tree = _tree(prior, np.asarray(on_response_scale(model, row_design(model).y), float), yrep, "prior", None, _discrete(model))
    return PredictiveCheck(tree, model, "prior")


def _fixed_limit(text: str | None, none: float) -> float:
    """A tobit limit (``tobit(ll = 0)``, Stata's ``ll(0)``) as a number: ``none`` when there is
    none, NaN when it is a column (per-row limits, not kept after the design)."""
    if text is None:
        return none
    try:
        return float(text)
    except ValueError:
        return np.nan
