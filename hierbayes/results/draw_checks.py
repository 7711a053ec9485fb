"""Per-term and per-variable checks of the draws that :func:`.diagnostics.diagnose` combines:
the model's group terms as the advice names them (:class:`TermInfo`), vectorised R-hat /
ESS per variable, tree-depth hits and the funnel attribution of divergences."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..params import block_names, is_internal
from .mcmc_stats import convergence

#: Default maximum tree depth of PyMC's, nutpie's and numpyro's NUTS.
MAX_TREE_DEPTH = 10
#: Divergent draws whose mean log sd lies this many posterior sds of log sd below (or above)
#: the mean of all draws point at a funnel in that term.
FUNNEL_SHIFT = 0.5
#: A chain whose mean step size is below this fraction of the median chain's did not move.
STUCK_STEP_RATIO = 1e-3


@dataclass(frozen=True)
class TermInfo:
    """What the advice needs to know about one group term of the fitted model."""

    key: str  # block key (PyMC names: sd_<key>)
    group: str  # grouping factor, as the user names it in parameterization= and priors=
    label: str  # the term as written: "1 + Days | Subject"
    parameterization: str  # centered / noncentered / marginal / nested / adaptive
    sd_prior: str  # the resolved prior, printed
    sd_scale: float | None  # its scale parameter, for a suggested tighter prior
    given: bool = False  # the user set its parameterization (Model(parameterization=...))


def terms_of(model, parameterization: dict[str, str]) -> tuple[TermInfo, ...]:
    """One :class:`TermInfo` per group term of ``model`` (a hierbayes.Model); ``parameterization``
    is the fit's per block key, the model's ``config.parameterization`` what the user set."""
    user = getattr(getattr(model, "config", None), "parameterization", None)
    out = []
    for term, names in zip(model.spec.groups, block_names(model.spec)):
        entries = [e for e in model.priors.entries if e.address.kind == "sd" and e.address.group == term.group]
        prior = entries[0].prior if entries else None
        kw = prior.kwargs if prior is not None else {}
        scale = kw.get("sigma", kw.get("beta"))
        out.append(
            TermInfo(
                key=names.key,
                group=term.group,
                label=term.label,
                parameterization=parameterization.get(names.key, "noncentered"),
                sd_prior=str(prior) if prior is not None else "?",
                sd_scale=float(scale) if isinstance(scale, (int, float)) else None,
                given=isinstance(user, str) or (user is not None and term.group in user),
            )
        )
    return tuple(out)


def monitored(posterior: xr.Dataset) -> list[str]:
    """Parameters whose convergence we check: everything but raw/derived internals."""
    return [v for v in posterior.data_vars if not is_internal(str(v))]


def convergence_by_variable(post: xr.Dataset, names: list[str]):
    """Per variable: max rank R-hat, min bulk ESS, min tail ESS (over its scalars), all
    scalars computed in one vectorised pass (:mod:`.mcmc_stats`, ArviZ's estimators)."""
    from arviz_base import rcParams

    if not names:
        return {}, {}, {}
    C, D = post.sizes["chain"], post.sizes["draw"]
    blocks = [np.asarray(post[n].transpose("chain", "draw", ...).values, dtype=float).reshape(C, D, -1)
              for n in names]
    stacked = np.concatenate(blocks, axis=2)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        columns = convergence(stacked, rcParams["stats.ci_prob"])
    bounds = np.cumsum([0] + [b.shape[2] for b in blocks])
    out: tuple[dict, dict, dict] = ({}, {}, {})
    for (values, how), table in zip(zip(columns, ("max", "min", "min")), out):
        for name, lo, hi in zip(names, bounds[:-1], bounds[1:]):
            vals = values[lo:hi]
            vals = vals[np.isfinite(vals)]
            table[name] = float(vals.max() if how == "max" else vals.min()) if vals.size else math.nan
    return out


def extreme_value(values: dict[str, float], how: str) -> tuple[float, str]:
    """(value, name) of the largest (``how="max"``) or smallest finite value; (nan, "")
    when none is finite."""
    finite = {k: v for k, v in values.items() if np.isfinite(v)}
    if not finite:
        return math.nan, ""
    name = max(finite, key=finite.get) if how == "max" else min(finite, key=finite.get)
    return finite[name], name


def treedepth_hits(stats: xr.Dataset) -> int:
    """Draws that reached the maximum tree depth, from any sampler's sample stats."""
    for key in ("reached_max_treedepth", "maxdepth_reached"):
        if key in stats:
            return int(stats[key].sum())
    if "tree_depth" in stats:  # numpyro reports the depth itself
        return int((stats["tree_depth"] >= MAX_TREE_DEPTH).sum())
    return 0


def sd_shifts(post: xr.Dataset, diverging: np.ndarray | None, terms: Sequence[TermInfo]) -> dict[str, float]:
    """Per sampled term: how far its log sd in the divergent draws lies from its mean over all
    draws, in posterior sds of log sd (the most extreme column of the term); empty without
    divergences."""
    if diverging is None or not diverging.any() or diverging.all():
        return {}
    out = {}
    for t in terms:
        name = f"sd_{t.key}"
        if t.parameterization == "marginal" or name not in post:
            continue
        sd = post[name].transpose("chain", "draw", ...).values.reshape(diverging.size, -1)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_sd = np.log(sd)
        spread = log_sd.std(axis=0)
        shift = (log_sd[diverging.ravel()].mean(axis=0) - log_sd.mean(axis=0)) / np.where(spread > 0, spread, np.inf)
        shift = shift[np.isfinite(shift)]
        if shift.size:
            out[t.key] = float(shift[np.argmax(np.abs(shift))])
    return out


def funnel_of(shifts: dict[str, float]) -> tuple[str | None, str | None]:
    """(term key, "small" or "large"): the term of :func:`sd_shifts` furthest from its mean
    (at least FUNNEL_SHIFT); (None, None) when no term stands out."""
    key = max(shifts, key=lambda k: abs(shifts[k]), default=None)
    if key is None or abs(shifts[key]) <= FUNNEL_SHIFT:
        return None, None
    return key, "small" if shifts[key] < 0 else "large"


def e_bfmi(energy: np.ndarray) -> np.ndarray:
    """E-BFMI of each chain from (chain, draw) energies: the mean squared energy transition
    over the energy's variance (ArviZ's ``bfmi``, the same arithmetic, without importing
    ArviZ after every fit)."""
    energy = np.atleast_2d(np.asarray(energy, dtype=float))
    return np.square(np.diff(energy, axis=1)).mean(axis=1) / np.var(energy, axis=1, ddof=1)


def stuck_chains(step_size: np.ndarray) -> tuple[int, ...]:
    """The chains (1-based) whose mean step size, from (chain, draw) step sizes, is below
    ``STUCK_STEP_RATIO`` of the median chain's: a chain that never left its start (survival::pbc's
    weibull model, before the start jitter was narrowed: 4.7e-38 against 0.56)."""
    means = np.nanmean(np.asarray(step_size, dtype=float), axis=1)
    if means.size < 2 or not np.all(np.isfinite(means)):
        return ()
    typical = float(np.median(means))
    return tuple(int(i) + 1 for i in np.flatnonzero(means < STUCK_STEP_RATIO * typical))
