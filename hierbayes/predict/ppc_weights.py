"""Predictive checks of weighted fits: the observed and the replicated data weighted alike.

A fit with sampling weights describes the population, not the sample; its checks therefore
compare weighted estimates of the population's distribution: each row (observed and
replicated) counts with its inclusion weight, the level-1 weight times the row's level-2
weights as given (``Weights.inclusion``, unscaled: the level-1 weight is the one conditional
on the group, as in Stata). With frequency weights the observed statistics are those of the
data with each row repeated ``w`` times, but a row's replication is one draw counted ``w``
times, not ``w`` draws: the replicated statistics vary more than the repeated data's would
(MASS's housing, 72 cells for 1,681 answers: the replicated mean's interval 0.81-1.30 against
1.01-1.11), so the check is weaker; :data:`FREQUENCY_NOTE` says so, and how to get the
exact one. brms' ``pp_check`` ignores weights; a survey statistician expects the weighted
distribution, which is what hierbayes shows, and says so.

The level-1 column is read as conditional on the group. Stata's ``pwscale(size)`` also accepts
the overall weight there (PISA's ``w_fstuwt`` in Stata's manual example), which the likelihood
cannot tell apart after scaling; these population weights then count the level-2 weight twice:
give ``w_fstuwt / wnrschbw`` as the level-1 weight (the fit is the same).

The same weights average the training rows in margins (:mod:`.margins`), weight the variances of
Bayesian R^2 (:func:`row_variance`) and give the typical values of conditional effects (:mod:`.conditional`).

Weighted: the test statistics ``mean``, ``sd``, ``var``, ``median`` and ``prop_zero``
(``min`` and ``max`` are the same with positive weights; a row of weight zero is left out of
them), the density and ECDF plots. A statistic given as a callable receives the rows
unweighted; grouped checks, LOO-PIT and the per-observation plots are per row and unweighted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

__all__ = ["FREQUENCY_NOTE", "WEIGHTED_STATISTICS", "WEIGHTS_NOTE", "inclusion_weights", "row_variance",
           "weighted_quantile", "weighted_statistics"]

#: The built-in statistics whose value the weights change.
WEIGHTED_STATISTICS = ("mean", "sd", "var", "median", "prop_zero")
#: What a weighted check's tables and plots say of their weights.
WEIGHTS_NOTE = "weighted by each row's inclusion weight (level-1 x level-2 weights, as given)"
#: What a check of frequency weights adds: its replications are coarser than the data's.
FREQUENCY_NOTE = ("frequency weights: each row's replication is one draw counted w times, so the replicated "
                  "statistics vary more than w draws would; for the exact check fit the rows repeated "
                  "(df.loc[df.index.repeat(df[w])], the same posterior) and check that fit")


def inclusion_weights(model) -> np.ndarray | None:
    """(n,) the training rows' inclusion weights, or None for an unweighted model (weighted
    designs are never collapsed, so these are the rows of the data)."""
    weights = getattr(model.design, "weights", None)
    if weights is None:
        return None
    return np.asarray(weights.inclusion, dtype=float)


def _total(w: np.ndarray) -> float:
    return float(np.sum(w))


def weighted_quantile(y: np.ndarray, w: np.ndarray, q: float) -> np.ndarray:
    """The ``q`` quantile of each row of (..., n) values with weights (n,): the smallest value
    whose cumulative weight share reaches ``q`` (the expanded data's lower quantile for
    frequency weights; the mean of the two middle values where a share is exactly ``q``)."""
    y = np.asarray(y, dtype=float)
    order = np.argsort(y, axis=-1)
    ys = np.take_along_axis(y, order, axis=-1)
    cum = np.cumsum(w[order], axis=-1) / _total(w)
    at = np.argmax(cum >= q - 1e-12, axis=-1)
    low = np.take_along_axis(ys, at[..., None], axis=-1)[..., 0]
    exact = np.isclose(np.take_along_axis(cum, at[..., None], axis=-1)[..., 0], q)
    high = np.take_along_axis(ys, np.minimum(at + 1, y.shape[-1] - 1)[..., None], axis=-1)[..., 0]
    return np.where(exact, 0.5 * (low + high), low)


def _mean(w):
    return lambda y: np.asarray(y, dtype=float) @ w / _total(w)


def _var(w):
    total = _total(w)
    # the expanded data's (n - 1) for frequency weights; about sum(w) for sampling weights
    denominator = total - 1.0 if total > 1.0 else total

    def var(y):
        y = np.asarray(y, dtype=float)
        centred = y - (y @ w / total)[..., None]
        return (centred * centred) @ w / denominator

    return var


def row_variance(weights: np.ndarray | None) -> Callable[[np.ndarray], np.ndarray]:
    """The variance over the last axis of (..., n) values, each row counted with its weight (the
    expanded data's variance for frequency weights), or with ``ddof=1`` and no weights."""
    if weights is None:
        return lambda y: np.var(y, axis=-1, ddof=1)
    return _var(np.asarray(weights, dtype=float))


def _positive(fn, w):
    keep = w > 0
    return lambda y: fn(np.asarray(y, dtype=float)[..., keep], axis=-1)


def weighted_statistics(
    stats: dict[str, Callable], weights: np.ndarray | None, builtins: Mapping[str, Callable]
) -> dict[str, Callable]:
    """``stats`` (name -> callable on (..., n) arrays) with the built-in ones (the callables of
    ``builtins``) replaced by their weighted versions; unchanged without weights."""
    if weights is None:
        return stats
    w = np.asarray(weights, dtype=float)
    var = _var(w)
    weighted = {
        "mean": _mean(w),
        "var": var,
        "sd": lambda y: np.sqrt(var(y)),
        "median": lambda y: weighted_quantile(y, w, 0.5),
        "prop_zero": lambda y: (np.asarray(y) == 0).astype(float) @ w / _total(w),
        "min": _positive(np.min, w),
        "max": _positive(np.max, w),
    }
    return {name: weighted[name] if name in weighted and fn is builtins.get(name) else fn
            for name, fn in stats.items()}
