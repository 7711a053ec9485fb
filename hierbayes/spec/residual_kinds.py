"""The built-in residual structures, one registration each (see :mod:`.residuals`).

Each correlation builder takes per-group parameters, the (J, T) time values of the groups'
rows and an array module ``xp`` (numpy or ``pytensor.tensor``) and returns the (J, T, T)
within-group correlations. The padding of groups shorter than T is masked by the caller.
"""

from __future__ import annotations

import numpy as np

from .residual_arma import ar_kind, arma_kind, ma_kind
from .residuals import ResidualKind, ResidualParameter, register_residual_kind


def _distances(times: np.ndarray) -> np.ndarray:
    """(J, T, T) absolute time differences within each group."""
    t = np.asarray(times, dtype=float)
    return np.abs(t[:, :, None] - t[:, None, :])


def _independent(params, times, xp):
    J, T = times.shape
    return np.broadcast_to(np.eye(T), (J, T, T))


def _exchangeable(params, times, xp):
    rho = params["exch_rho"][:, None, None]
    eye = np.eye(times.shape[1])[None]
    return rho + (1.0 - rho) * eye


def _ar1(params, times, xp):
    # phi^d for integer lags d, written so that a negative phi is fine for any array module:
    # |phi|^d times sign(phi) on odd lags
    d = _distances(times)
    odd = np.mod(d, 2.0)
    phi = params["ar1_phi"][:, None, None]
    return xp.abs(phi) ** d * (1.0 + odd * (xp.sign(phi) - 1.0))


def _lag_independent(params, gaps, xp):
    return np.zeros(gaps.shape)


def _lag_ar1(params, gaps, xp):
    odd = np.mod(gaps, 2.0)
    phi = params["ar1_phi"][:, None]
    return xp.abs(phi) ** gaps * (1.0 + odd * (xp.sign(phi) - 1.0))


def _lag_exponential(params, gaps, xp):
    return xp.exp(-gaps / params["exp_range"][:, None])


def _exponential(params, times, xp):
    d = _distances(times)
    return xp.exp(-d / params["exp_range"][:, None, None])


def _ma1(params, times, xp):
    d = _distances(times)
    theta = params["ma1_theta"][:, None, None]
    return (d == 0) + (d == 1) * (theta / (1.0 + theta**2))


def _arma11(params, times, xp):
    # lag d >= 1: phi^(d-1) (1 + phi theta)(phi + theta) / (1 + 2 phi theta + theta^2)
    d = _distances(times)
    phi = params["arma_phi"][:, None, None]
    theta = params["arma_theta"][:, None, None]
    lag1 = (1.0 + phi * theta) * (phi + theta) / (1.0 + 2.0 * phi * theta + theta**2)
    lagged = np.maximum(d - 1.0, 0.0)
    odd = np.mod(lagged, 2.0)
    power = xp.abs(phi) ** lagged * (1.0 + odd * (xp.sign(phi) - 1.0))
    return (d == 0) + (d > 0) * lag1 * power


def _unstructured(params, times, xp):
    cor = params["unstr_cor"]  # (J, L, L): each group's matrix (its by level's)
    codes = np.asarray(times, dtype=int)
    J = codes.shape[0]
    return cor[np.arange(J)[:, None, None], codes[:, :, None], codes[:, None, :]]


INDEPENDENT = register_residual_kind(ResidualKind(
    "independent", "independent residuals (with by=: one residual sd per level, nlme's varIdent)",
    aliases=("ind", "identity", "varident"), parameters=(), time="none", min_times=1,
    correlation=_independent, lag_correlation=_lag_independent,
))
EXCHANGEABLE = register_residual_kind(ResidualKind(
    "exchangeable", "one common correlation between any two residuals of a group (compound symmetry)",
    aliases=("exch", "cs", "compound symmetry", "corCompSymm", "cosy"),
    parameters=(ResidualParameter("exch_rho", "unit_lower", "common residual correlation"),),
    time="none", min_times=2, correlation=_exchangeable, holds_common_shift=True,
))
AR1 = register_residual_kind(ResidualKind(
    "ar1", "first-order autoregressive over integer times: corr = phi^|t_i - t_j|",
    aliases=("ar 1", "ar", "ar(1)", "corAR1"),
    parameters=(ResidualParameter("ar1_phi", "symmetric", "AR(1) correlation at lag 1", odd_lag_sign=True),),
    time="integer", min_times=2, correlation=_ar1, lag_correlation=_lag_ar1,
    order_args=("p",), with_order=ar_kind,
))
EXPONENTIAL = register_residual_kind(ResidualKind(
    "exponential", "exponential in continuous time: corr = exp(-|t_i - t_j| / range)",
    aliases=("exp", "corExp"),
    parameters=(ResidualParameter("exp_range", "positive", "range of the exponential correlation (time units)"),),
    time="numeric", min_times=2, correlation=_exponential, lag_correlation=_lag_exponential,
))
UNSTRUCTURED = register_residual_kind(ResidualKind(
    "unstructured", "a free correlation between every two visits and a residual sd per visit (MMRM)",
    aliases=("un", "unstr", "corSymm", "symmetric"),
    parameters=(ResidualParameter("unstr_cor", "correlation", "residual correlation between visits"),),
    time="levels", min_times=2, correlation=_unstructured, sd_by_time=True, holds_common_shift=True,
))
MA1 = register_residual_kind(ResidualKind(
    "ma1", "first-order moving average over integer times: corr = theta / (1 + theta^2) at lag 1, 0 beyond",
    aliases=("ma 1", "ma", "ma(1)"),
    parameters=(ResidualParameter("ma1_theta", "symmetric", "MA(1) coefficient"),),
    time="integer", min_times=2, correlation=_ma1, order_args=("q",), with_order=ma_kind,
))
ARMA11 = register_residual_kind(ResidualKind(
    "arma11", "ARMA(1,1) over integer times",
    aliases=("arma", "arma(1,1)", "arma 1 1"),
    parameters=(ResidualParameter("arma_phi", "symmetric", "ARMA(1,1) autoregressive coefficient"),
                ResidualParameter("arma_theta", "symmetric", "ARMA(1,1) moving-average coefficient")),
    time="integer", min_times=2, correlation=_arma11, order_args=("p", "q"), with_order=arma_kind,
))
