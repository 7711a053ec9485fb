"""Toeplitz and AR(p) residual structures over integer times: one correlation per lag.

A Toeplitz correlation (SAS's TOEP; Stata's ``toeplitz`` with every lag free) gives every
lag ``d`` its own correlation ``r_d``; AR(p) gives the first p and continues the others by
the AR recursion. Both are parameterized by partial autocorrelations ``pi_1, pi_2, ...``, each
free in (-1, 1): the Durbin-Levinson recursion turns any such vector into the lag correlations
of a stationary process, so the T x T matrix ``r_|t_i - t_j|`` is positive definite without
constraints, and every positive definite Toeplitz correlation has exactly one such vector.
AR(p) is the vector with ``pi_d = 0`` beyond p. ``pi_1`` is the lag-1 correlation.

``toeplitz`` with an order (Stata's ``toeplitz k``, zero beyond lag k) and AR/MA/ARMA of
other orders are in :mod:`.residual_arma`. Registered here and nowhere else (see
:mod:`.residuals`).
"""

from __future__ import annotations

import numpy as np

from .residual_arma import toeplitz_kind
from .residuals import ResidualKind, ResidualParameter, register_residual_kind


def lag_correlations(partial, n_lags: int, xp):
    """(J, n_lags + 1) correlations at lags 0..n_lags from (J, P) partial autocorrelations
    (zero beyond P), by the Durbin-Levinson recursion, for numpy or ``pytensor.tensor``."""
    n_partial = partial.shape[1]
    if not isinstance(n_partial, (int, np.integer)):  # a tensor: its static shape
        n_partial = partial.type.shape[1]
    ones = partial[:, 0] * 0.0 + 1.0
    r = [ones]
    phi: list = []  # the AR coefficients of order k-1: phi_{k-1, 1..k-1}
    var = ones  # the innovation variance of order k-1, relative to the process variance
    for k in range(1, n_lags + 1):
        if k > n_partial:  # pi_k = 0: the order stays, the recursion continues
            r.append(sum(phi[j] * r[k - 1 - j] for j in range(len(phi))))
            continue
        pk = partial[:, k - 1]
        r.append(pk * var + sum(phi[j] * r[k - 1 - j] for j in range(k - 1)))
        phi = [phi[j] - pk * phi[k - 2 - j] for j in range(k - 1)] + [pk]
        var = var * (1.0 - pk**2)
    return xp.stack(r, axis=1)


def _by_lag(name: str):
    def correlation(params, times, xp):
        t = np.asarray(times, dtype=float)
        d = np.abs(t[:, :, None] - t[:, None, :]).astype(int)  # padding repeats a real time
        acf = lag_correlations(params[name], int(d.max(initial=0)), xp)
        return acf[np.arange(d.shape[0])[:, None, None], d]

    return correlation


TOEPLITZ = register_residual_kind(ResidualKind(
    "toeplitz", "Toeplitz over integer times: one correlation per lag (SAS TOEP), as partial autocorrelations",
    aliases=("toep",),
    parameters=(ResidualParameter("toep_pacf", "partial", "partial autocorrelation at each lag"),),
    time="integer", min_times=2, correlation=_by_lag("toep_pacf"), order_args=("k",), with_order=toeplitz_kind,
    holds_common_shift=True,
))
AR2 = register_residual_kind(ResidualKind(
    "ar2", "second-order autoregressive over integer times (partial autocorrelations at lags 1, 2)",
    aliases=("ar 2", "ar(2)"),
    parameters=(ResidualParameter("ar2_pacf", "partial", "AR(2) partial autocorrelations", size=2),),
    time="integer", min_times=3, correlation=_by_lag("ar2_pacf"),
))
AR3 = register_residual_kind(ResidualKind(
    "ar3", "third-order autoregressive over integer times (partial autocorrelations at lags 1-3)",
    aliases=("ar 3", "ar(3)"),
    parameters=(ResidualParameter("ar3_pacf", "partial", "AR(3) partial autocorrelations", size=3),),
    time="integer", min_times=4, correlation=_by_lag("ar3_pacf"),
))
