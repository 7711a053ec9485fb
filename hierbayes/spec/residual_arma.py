"""AR(p), MA(q), ARMA(p, q) and Toeplitz(k) residual structures of any order, over integer times.

Each is one parameter vector of "partial" support: values in (-1, 1), one per coefficient.

* AR(p): the partial autocorrelations of the process (as :mod:`.residual_toeplitz` does for
  p = 2, 3).
* MA(q): the moving-average polynomial ``1 + theta_1 z + ... + theta_q z^q`` is written with
  the Durbin-Levinson recursion run on the q values (the coefficients of a stationary AR
  polynomial ``1 - a_1 z - ... - a_q z^q``) and ``theta_j = (-1)^(j+1) a_j``: its roots are
  those of the AR polynomial mirrored through the origin, so every vector in (-1, 1)^q gives
  an invertible MA(q), and every invertible MA(q) has one such vector. For q = 1 the value is
  theta_1 itself (the ``ma1`` structure).
* ARMA(p, q): the first p values are the AR part's partial autocorrelations, the last q the
  MA part's values as above (stationary and invertible, as nlme's ``corARMA`` constrains it).
* Toeplitz(k) (Stata's ``toeplitz k``: a correlation per lag up to k, zero beyond): the
  correlations of an invertible MA(k). A banded Toeplitz correlation with free lags is not
  positive definite for all values; the lag-correlation sequences that are positive definite
  at every length are exactly the MA(k) autocorrelations (Fejer-Riesz), so this
  parameterization keeps every group's matrix positive definite with no constraint. It
  leaves out the few sequences that are positive definite only up to the observed number of
  time points (which Stata's likelihood allows).

The autocorrelations of ARMA(p, q) come from the exact equations on the autocovariances
(the p + 1 first ones by a small linear solve, then the AR recursion), for numpy or
``pytensor.tensor``. Kinds of each order are made on first use (``hb.residuals("ma",
order=2)``, ``"arma(2,1)"``, ``"toeplitz 2"``): see :func:`.residuals.ordered_kind`.
"""

from __future__ import annotations

import numpy as np

from .residuals import ResidualKind, ResidualParameter, residual_kind


def ar_coefficients(partial: list) -> list:
    """AR coefficients phi_1..phi_p from partial autocorrelations (Durbin-Levinson); each a
    (J,) array or tensor."""
    phi: list = []
    for k, pk in enumerate(partial, start=1):
        phi = [phi[j] - pk * phi[k - 2 - j] for j in range(k - 1)] + [pk]
    return phi


def ar_partials(phi: np.ndarray) -> np.ndarray:
    """Inverse of :func:`ar_coefficients` for one numpy vector of a stationary AR (the
    step-down recursion): the partial autocorrelations."""
    a = np.asarray(phi, dtype=float)
    out = np.empty(len(a))
    for k in range(len(a), 0, -1):
        pk = a[k - 1]
        out[k - 1] = pk
        if k > 1:
            a = (a[: k - 1] + pk * a[k - 2 :: -1][: k - 1]) / (1.0 - pk**2)
    return out


def ma_coefficients(values: list) -> list:
    """theta_1..theta_q of an invertible MA(q) from its q values in (-1, 1)."""
    return [(-1.0) ** j * a for j, a in enumerate(ar_coefficients(values))]


def ma_values(theta: np.ndarray) -> np.ndarray:
    """Inverse of :func:`ma_coefficients` for one numpy vector of an invertible MA(q)."""
    a = np.asarray(theta, dtype=float) * (-1.0) ** np.arange(len(theta))
    return ar_partials(a)


def arma_autocorrelations(phi: list, theta: list, n_lags: int, xp, like):
    """(J, n_lags + 1) autocorrelations at lags 0..n_lags of ARMA(p, q) with coefficient
    lists ``phi`` and ``theta`` of (J,) values; ``like`` is a (J,) value giving the shape."""
    p, q = len(phi), len(theta)
    zero = like * 0.0
    one = zero + 1.0
    th = [one, *theta]
    psi = [one]  # the MA(infinity) weights psi_0..psi_q
    for j in range(1, q + 1):
        psi.append(th[j] + sum(phi[i - 1] * psi[j - i] for i in range(1, min(j, p) + 1)))
    rhs = [sum(th[j] * psi[j - k] for j in range(k, q + 1)) if k <= q else zero for k in range(max(p, q, n_lags) + 1)]
    if p == 0:
        gamma = rhs
    else:
        # gamma_k - sum_i phi_i gamma_|k-i| = rhs_k for k = 0..p: a (p+1) x (p+1) system
        rows = []
        for k in range(p + 1):
            cells = [one if c == k else zero for c in range(p + 1)]
            for i in range(1, p + 1):
                cells[abs(k - i)] = cells[abs(k - i)] - phi[i - 1]
            rows.append(xp.stack(cells, axis=-1))
        A = xp.stack(rows, axis=-2)
        b = xp.stack(rhs[: p + 1], axis=-1)[..., None]
        solved = xp.linalg.solve(A, b)[..., 0]
        gamma = [solved[..., k] for k in range(p + 1)]
        for k in range(p + 1, n_lags + 1):
            gamma.append(sum(phi[i - 1] * gamma[k - i] for i in range(1, p + 1)) + rhs[k])
    gamma = gamma[: n_lags + 1] + [zero] * (n_lags + 1 - len(gamma))
    return xp.stack([g / gamma[0] for g in gamma], axis=1)


def _columns(values, start: int, stop: int) -> list:
    return [values[:, c] for c in range(start, stop)]


def lag_builder(name: str, acf):
    """A correlation builder (see :class:`.residuals.ResidualKind`) from ``acf(values, n_lags,
    xp) -> (J, n_lags + 1)``, ``values`` the (J, size) parameter ``name``."""

    def correlation(params, times, xp):
        t = np.asarray(times, dtype=float)
        d = np.abs(t[:, :, None] - t[:, None, :]).astype(int)  # padding repeats a real time
        r = acf(params[name], int(d.max(initial=0)), xp)
        return r[np.arange(d.shape[0])[:, None, None], d]

    return correlation


def _arma_acf(p: int, q: int):
    def acf(values, n_lags, xp):
        phi = ar_coefficients(_columns(values, 0, p))
        theta = ma_coefficients(_columns(values, p, p + q))
        return arma_autocorrelations(phi, theta, n_lags, xp, values[:, 0])

    return acf


def _partial_kind(name: str, param: str, description: str, size: int, acf, min_times: int, order) -> ResidualKind:
    return ResidualKind(
        name, description, aliases=(), time="integer", min_times=min_times, order=order,
        parameters=(ResidualParameter(param, "partial", description, size=size),), correlation=lag_builder(param, acf),
    )


def ar_kind(order: tuple[int, ...]) -> ResidualKind:
    """AR(p) over integer times (``ar1``, ``ar2``, ``ar3`` are registered; higher p here)."""
    (p,) = order
    if p <= 3:
        return residual_kind(f"ar{p}")
    return _partial_kind(f"ar{p}", f"ar{p}_pacf", f"AR({p}) partial autocorrelations", p,
                         _arma_acf(p, 0), p + 1, order)


def ma_kind(order: tuple[int, ...]) -> ResidualKind:
    """MA(q) over integer times: correlations zero beyond lag q."""
    (q,) = order
    if q == 1:
        return residual_kind("ma1")
    return _partial_kind(f"ma{q}", f"ma{q}_pacf", f"MA({q}) coefficients as partial autocorrelations", q,
                         _arma_acf(0, q), q + 1, order)


def arma_kind(order: tuple[int, ...]) -> ResidualKind:
    """ARMA(p, q) over integer times: p AR partial autocorrelations, then q MA values."""
    p, q = order
    if (p, q) == (1, 1):
        return residual_kind("arma11")
    return _partial_kind(f"arma{p}{q}", f"arma{p}{q}_pacf",
                         f"ARMA({p},{q}): {p} AR partial autocorrelations, then {q} MA values", p + q,
                         _arma_acf(p, q), max(p, q) + 1, order)


def toeplitz_kind(order: tuple[int, ...]) -> ResidualKind:
    """Toeplitz(k): a correlation per lag up to k, zero beyond (as an invertible MA(k))."""
    (k,) = order
    return _partial_kind(f"toeplitz{k}", f"toep{k}_pacf",
                         f"Toeplitz({k}): lag correlations up to {k} as an invertible MA({k})", k,
                         _arma_acf(0, k), k + 1, order)
