"""Rank-normalised split R-hat and bulk/tail ESS for many scalars at once.

The same estimators as ArviZ (``az.rhat``, ``az.ess(method="bulk" | "tail")``; Vehtari,
Gelman, Simpson, Carpenter & Buerkner 2021), computed for every scalar of a posterior in one
vectorised pass. ArviZ 1.x calls its estimator once per scalar from Python, which costs about
6 ms per scalar: 0.8 s of a 3.6 s gcse fit with 130 group effects. Only the short Geyer
truncation loop runs per scalar here. tests/test_diagnostics_fast.py checks agreement with
ArviZ to 1e-8.
"""

from __future__ import annotations

import numpy as np
from scipy import fft, special, stats


def _split_chains(draws: np.ndarray) -> np.ndarray:
    """(C, D, P) -> (2C, D // 2, P): first and last halves of every chain."""
    half = draws.shape[1] // 2
    return np.concatenate([draws[:, :half], draws[:, draws.shape[1] - half:]], axis=0)


def _z_scale(draws: np.ndarray) -> np.ndarray:
    """Normal scores of the pooled ranks of each scalar (Blom's offset 3/8)."""
    C, D, P = draws.shape
    ranks = stats.rankdata(draws.reshape(C * D, P), method="average", axis=0)
    return special.ndtri((ranks - 0.375) / (C * D + 0.25)).reshape(C, D, P)


def _rhat(draws: np.ndarray) -> np.ndarray:
    n = draws.shape[1]
    between = n * np.var(draws.mean(axis=1), axis=0, ddof=1)
    within = np.mean(np.var(draws, axis=1, ddof=1), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):  # constant scalars: nan, as ArviZ
        return np.sqrt((between / within + n - 1) / n)


def rank_rhat(draws: np.ndarray) -> np.ndarray:
    """Rank-normalised split R-hat (max of bulk and folded) of (chain, draw, P) draws."""
    draws = np.asarray(draws, dtype=float)
    if draws.shape[0] < 2 or draws.shape[1] < 4:
        return np.full(draws.shape[2], np.nan)
    split = _split_chains(draws)
    bulk = _rhat(_z_scale(split))
    folded = np.abs(split - np.median(split.reshape(-1, split.shape[2]), axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.fmax(bulk, _rhat(_z_scale(folded)))


def _ess(draws: np.ndarray) -> np.ndarray:
    """ESS of (C, D, P) draws (no splitting or ranking): FFT autocovariances for all scalars,
    then Geyer's initial positive and monotone sequences per scalar, as ArviZ does."""
    C, D, P = draws.shape
    out = np.full(P, float(C * D))
    span = draws.max(axis=(0, 1)) - draws.min(axis=(0, 1))
    varying = span >= np.finfo(float).resolution
    if not varying.any():
        return out
    x = draws[:, :, varying]
    m = fft.next_fast_len(2 * D)
    centred = x - x.mean(axis=1, keepdims=True)
    spectrum = fft.rfft(centred, n=m, axis=1)
    acov = fft.irfft(spectrum * np.conjugate(spectrum), n=m, axis=1)[:, :D] / D  # (C, D, P')
    mean_acov = acov.mean(axis=0)  # (D, P')
    mean_var = mean_acov[0] * D / (D - 1.0)
    var_plus = mean_var * (D - 1.0) / D
    if C > 1:
        var_plus = var_plus + np.var(x.mean(axis=1), axis=0, ddof=1)
    rho_all = 1.0 - (mean_var - mean_acov) / var_plus  # rho_all[t] for t >= 1
    results = np.empty(x.shape[2])
    total = C * D
    for p in range(x.shape[2]):
        results[p] = _geyer(rho_all[:, p], D, total)
    out[varying] = results
    return out


def _geyer(rho_all: np.ndarray, D: int, total: int) -> float:
    rho = np.zeros(D)
    rho[0] = even = 1.0
    rho[1] = odd = rho_all[1]
    t = 1
    while t < D - 3 and even + odd > 0.0:
        even, odd = rho_all[t + 1], rho_all[t + 2]
        if even + odd >= 0:
            rho[t + 1], rho[t + 2] = even, odd
        t += 2
    max_t = t - 2
    if even > 0:
        rho[max_t + 1] = even
    t = 1
    while t <= max_t - 2:
        if rho[t + 1] + rho[t + 2] > rho[t - 1] + rho[t]:
            rho[t + 1] = rho[t + 2] = (rho[t - 1] + rho[t]) / 2.0
        t += 2
    if np.isnan(rho).any():
        return float("nan")
    tau = -1.0 + 2.0 * rho[: max_t + 1].sum() + rho[max_t + 1: max_t + 2].sum()
    return total / max(tau, 1 / np.log10(total))


def ess_bulk(draws: np.ndarray) -> np.ndarray:
    """Bulk ESS (rank-normalised split chains) of (chain, draw, P) draws."""
    draws = np.asarray(draws, dtype=float)
    if draws.shape[1] < 4:
        return np.full(draws.shape[2], np.nan)
    return _ess(_z_scale(_split_chains(draws)))


def ess_tail(draws: np.ndarray, prob: float) -> np.ndarray:
    """Tail ESS of (chain, draw, P) draws, as ArviZ: the smaller ESS of the indicators of
    falling below the ``min(prob, 1-prob)`` and ``max(prob, 1-prob)`` quantiles."""
    draws = np.asarray(draws, dtype=float)
    if draws.shape[1] < 4:
        return np.full(draws.shape[2], np.nan)
    cuts = np.quantile(draws.reshape(-1, draws.shape[2]), sorted((prob, 1 - prob)), axis=0)
    return np.minimum(*(_ess(_split_chains((draws <= cut).astype(float))) for cut in cuts))
