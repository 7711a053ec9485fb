"""Power-scaling sensitivity (Kallioinen, Paananen, Buerkner & Vehtari 2024) in numpy.

The same estimator as ArviZ's ``arviz_stats.psense`` (priorsense's ``powerscale_sensitivity``):
a component's log density (a prior's, the summed log-likelihood) is raised to the powers
``alpha`` = 0.99 and 1.01 by importance weights ``(alpha - 1) * log density``, Pareto-smoothed
in their upper tail (Vehtari et al. 2024: generalized Pareto fit of Zhang & Stephens with
the weakly informative prior on the shape); the cumulative Jensen-Shannon distance between
the weighted and unweighted distribution of a parameter, per unit of log2 power and averaged
over the two powers, is its sensitivity.

Written here, as :mod:`.mcmc_stats` is, because importing ``arviz_stats`` imports
``scipy.stats`` (through ``xarray_einstats``), and scipy 1.18 parses about 500 docstrings
when it does: 1.2-1.3 s of GIL-bound Python in every fresh process whose summary runs the
check, against 0.05 s for the computation of a sleepstudy fit. tests/test_power_scaling.py
checks agreement with ``arviz_stats.psense`` to 1e-10.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from .mcmc_stats import ess_tail

#: The two powers the sensitivity is the finite difference over (priorsense's default).
ALPHAS = (0.99, 1.01)


def power_scaling_sensitivity(theta: np.ndarray, log_component: np.ndarray,
                              alphas: tuple[float, float] = ALPHAS) -> np.ndarray:
    """Sensitivity of each column of ``theta`` to power-scaling ``log_component``.

    Parameters
    ----------
    theta : (chain, draw, P) draws of the parameters.
    log_component : (chain, draw) log density of the scaled component (prior or likelihood),
        up to a constant.
    alphas : the lower and upper power.

    Returns
    -------
    ndarray
        (P,) cumulative Jensen-Shannon distance per unit of log2 power.

    Raises
    ------
    ValueError
        When the upper tail of the weights is constant (the log density barely varies over
        the draws), so that no Pareto tail can be fitted.
    """
    theta = np.asarray(theta, dtype=float)
    values = theta.reshape(-1, theta.shape[-1])
    lower, upper = (np.exp(power_scale_log_weights(log_component, a)) for a in alphas)
    lower, upper = lower / lower.sum(), upper / upper.sum()
    out = np.empty(values.shape[1])
    for p in range(values.shape[1]):
        x = values[:, p]
        lower_cjs = max(cjs_distance(x, lower), cjs_distance(-x, lower))
        upper_cjs = max(cjs_distance(x, upper), cjs_distance(-x, upper))
        out[p] = (-lower_cjs / np.log2(alphas[0]) + upper_cjs / np.log2(alphas[1])) / 2
    return out


def power_scale_log_weights(log_component: np.ndarray, alpha: float) -> np.ndarray:
    """Pareto-smoothed, normalised log importance weights (flattened draws) that raise the
    component with log density ``log_component`` (chain, draw) to the power ``alpha``."""
    x = np.asarray(log_component, dtype=float).ravel()
    n = x.size
    # relative tail ESS of the draws taken as one chain (split in two halves), as ArviZ
    r_eff = ess_tail(x.reshape(1, n, 1), 0.05)[0] / (2 * (n // 2))
    n_tail = int(tail_length(n, r_eff))
    return _smooth_upper_tail((alpha - 1) * x, n_tail)


def tail_length(n: int, r_eff: float) -> float:
    """Number of draws in the smoothed tail: 3 sqrt(n / r_eff) (n / 5 for few effective
    draws), at most half the draws and at least 5."""
    length = np.floor(3 * (n / r_eff) ** 0.5) if n * r_eff > 225 else np.floor(n / 5)
    return max(min(length, n // 2), 5)


def _smooth_upper_tail(log_weights: np.ndarray, n_tail: int) -> np.ndarray:
    """Replace the ``n_tail`` largest log weights by the quantiles of a generalized Pareto
    fitted to them (capped at the largest raw weight) and normalise."""
    lw = log_weights - np.max(log_weights)
    n = lw.size
    order = np.argsort(lw)
    tail_ids = order[n - n_tail:]
    tail = lw[tail_ids]
    cutoff = lw[order[n - n_tail - 1]]
    largest = tail.max()
    if abs(largest - tail.min()) < np.finfo(float).tiny:
        raise ValueError("All tail values are the same")
    exp_cutoff = np.exp(cutoff)
    shape, scale = gpd_fit(np.exp(tail) - exp_cutoff)
    if np.isfinite(shape):
        probs = np.arange(0.5, n_tail) / n_tail
        smoothed = np.log(gpd_quantile(probs, shape, scale, exp_cutoff))
        smoothed[smoothed > largest] = largest
        lw[tail_ids] = smoothed
    return lw - logsumexp(lw)


def gpd_fit(excess: np.ndarray) -> tuple[float, float]:
    """(shape, scale) of a generalized Pareto fitted to sorted positive ``excess`` values:
    Zhang & Stephens' empirical Bayes estimate with a normal(0.5) prior on the shape worth
    10 observations (Vehtari et al. 2024)."""
    n = len(excess)
    n_grid = 30 + int(n ** 0.5)
    first_quartile = excess[int((n / 4 + 0.5) - 1)]
    if first_quartile <= excess[0]:
        return np.nan, np.nan
    b = 1 - np.sqrt(n_grid / (np.arange(1, n_grid + 1, dtype=float) - 0.5))
    b /= 3 * first_quartile
    b += 1 / excess[-1]
    k = np.mean(np.log1p(-b[:, None] * excess), axis=1)
    log_lik = n * (np.log(-b / k) - k - 1)
    w = np.exp(log_lik - logsumexp(log_lik))
    kept = w >= 10 * np.finfo(float).eps
    w, b = w[kept], b[kept]
    b_post = np.sum(b * (w / w.sum()))
    shape = np.mean(np.log1p(-b_post * excess))
    scale = -shape / b_post
    shape = (n * shape + 10 * 0.5) / (n + 10)
    if np.isnan(shape):
        return np.inf, np.nan
    return shape, scale


def gpd_quantile(probs: np.ndarray, shape: float, scale: float, location: float) -> np.ndarray:
    """Quantiles of the generalized Pareto (NaN for a scale that is not positive)."""
    if scale <= 0:
        return np.full_like(probs, np.nan)
    if shape == 0:
        return location - scale * np.log1p(-probs)
    return location + scale * np.expm1(-shape * np.log1p(-probs)) / shape


def cjs_distance(x: np.ndarray, weights: np.ndarray) -> float:
    """Cumulative Jensen-Shannon distance between the empirical distribution of the draws
    ``x`` and the one they have with normalised importance ``weights`` (Nguyen & Vreeken 2015)."""
    order = np.argsort(x)
    x, weights = x[order], weights[order]
    width = np.diff(x)
    n = len(x)
    cdf_p = np.linspace(1 / n, 1 - 1 / n, n - 1)
    cdf_q = np.cumsum(weights / np.sum(weights))[:-1]
    int_p, int_q = np.dot(cdf_p, width), np.dot(cdf_q, width)
    log_p = np.log2(cdf_p, out=np.zeros_like(cdf_p), where=cdf_p != 0)
    log_q = np.log2(cdf_q, out=np.zeros_like(cdf_q), where=cdf_q != 0)
    mid = 0.5 * (cdf_p + cdf_q)
    log_mid = np.log2(mid, out=np.zeros_like(mid), where=mid != 0)
    pq = np.sum(width * (cdf_p * (log_p - log_mid))) + 0.5 / np.log(2) * (int_q - int_p)
    qp = np.sum(width * (cdf_q * (log_q - log_mid))) + 0.5 / np.log(2) * (int_p - int_q)
    return float(np.sqrt((max(0.0, pq) + max(0.0, qp)) / (int_p + int_q)))
