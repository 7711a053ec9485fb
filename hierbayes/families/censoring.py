"""Censored and truncated outcomes: the per-row description and the numpy log-likelihood.

A :class:`Censoring` says, per row, how the response was observed (brms' ``cens(c, y2)``):
exactly (code 0), left-censored (-1: the value is below ``y``), right-censored (1: above
``y``) or interval-censored (2: between ``y`` and ``upper``); and, for ``trunc(lb, ub)``,
the bounds outside which no value could have been observed.

:func:`censored_log_likelihood` is the log-likelihood every consumer uses (LOO, LOGO): the
family's density for exact rows, its log CDF (``Family.log_cdf``) or log survival function
(``Family.log_ccdf``) for censored rows, the log probability of the interval for interval
rows, minus the log probability of the truncation interval. A family without ``log_cdf`` /
``log_ccdf`` cannot be censored (SpecError naming it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import SpecError
from .core import Family

__all__ = ["CENSORING_CODES", "Censoring", "CensoringRule", "censored_log_likelihood", "log_diff"]

#: Indicator values of ``cens(c)`` (brms' spelling) -> code.
CENSORING_CODES: dict[str, int] = {"left": -1, "none": 0, "right": 1, "interval": 2}
LEFT, NONE, RIGHT, INTERVAL = -1, 0, 1, 2


@dataclass(frozen=True, eq=False)
class CensoringRule:
    """A censoring mechanism with known limits (type I censoring), for simulating censored
    data (SBC, coverage studies).

    Limits: a value at or below ``left`` is observed as left-censored at ``left``, one at or
    above ``right`` as right-censored at ``right``. Each limit is a number, one number per
    row, or None.

    Intervals (a lab's reporting bins, a visit schedule): ``interval`` holds increasing bin
    edges ``e_0 < ... < e_K``; a value in ``[e_k, e_k+1)`` is observed only as that interval
    (interval-censored, stored as its lower edge ``e_k``), one at or above ``e_K`` as
    right-censored at ``e_K``, one below ``e_0`` as left-censored just below ``e_0`` (stored
    one floating-point step below it, so that the stored response alone tells each row's
    kind: the first bin's rows are stored as ``e_0`` itself). Not combined with limits.
    """

    left: float | np.ndarray | None = None
    right: float | np.ndarray | None = None
    interval: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.interval is None:
            return
        if self.left is not None or self.right is not None:
            raise SpecError("a censoring rule takes either interval edges or left / right limits, not both "
                            "(values beyond the edges are already left- / right-censored)")
        edges = np.asarray(self.interval, dtype=float)
        if edges.ndim != 1 or edges.size < 2 or not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
            raise SpecError(f"interval: the bin edges must be at least two finite, strictly increasing numbers; "
                            f"got {np.asarray(self.interval).tolist()!r}")
        object.__setattr__(self, "interval", edges)

    def masks(self, y: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(left-censored, right-censored) rows of ``y`` as boolean masks (None without the limit)."""
        y = np.asarray(y, dtype=float)
        if self.interval is not None:
            return y < self.interval[0], y >= self.interval[-1]
        left = None if self.left is None else y <= np.asarray(self.left, dtype=float)
        right = None if self.right is None else y >= np.asarray(self.right, dtype=float)
        return left, right

    def inside(self, y: np.ndarray) -> np.ndarray | None:
        """Interval-censored rows of ``y`` (boolean mask; None for a rule without edges)."""
        if self.interval is None:
            return None
        y = np.asarray(y, dtype=float)
        return (y >= self.interval[0]) & (y < self.interval[-1])

    def upper(self, y: np.ndarray) -> np.ndarray | None:
        """The upper edge of each interval-censored row of a response this rule has censored
        (NaN on the other rows); None for a rule without edges."""
        if self.interval is None:
            return None
        y = np.asarray(y, dtype=float)
        k = np.clip(np.searchsorted(self.interval, y, side="right"), 0, self.interval.size - 1)
        return np.where(self.inside(y), self.interval[k], np.nan)

    def apply(self, y: np.ndarray) -> np.ndarray:
        """``y`` (any leading dims, rows last) with censored values replaced by their limit
        (interval-censored ones by their interval's lower edge)."""
        y = np.asarray(y, dtype=float)
        if self.interval is not None:
            edges = self.interval
            k = np.searchsorted(edges, y, side="right") - 1
            below = np.nextafter(edges[0], -np.inf)
            return np.where(k < 0, below, edges[np.clip(k, 0, edges.size - 1)])
        if self.left is not None:
            y = np.maximum(y, np.asarray(self.left, dtype=float))
        if self.right is not None:
            y = np.minimum(y, np.asarray(self.right, dtype=float))
        return y

    def censoring(self, y: np.ndarray, current: Censoring | None) -> Censoring:
        """The :class:`Censoring` of response ``y`` under this rule, for a design whose own
        censoring is ``current``; SpecError when that censoring cannot be simulated this way
        (truncation) or the model has none."""
        if current is None:
            raise SpecError("a censoring rule was given but the model has no cens() in its response")
        if current.lb is not None or current.ub is not None:
            raise SpecError(
                "SBC simulates censoring by limits or interval edges; a truncated model cannot be simulated that way"
            )
        if self.left is None and self.right is None and self.interval is None:
            raise SpecError("the censoring rule needs left, right or both, or interval edges")
        left, right = self.masks(y)
        code = np.zeros(np.shape(y)[-1], dtype=np.int8)
        for mask, value in ((left, -1), (right, 1), (self.inside(y), 2)):
            if mask is not None:
                code[mask] = value
        return Censoring(code, upper=self.upper(self.apply(y)), rule=self)


@dataclass(frozen=True, eq=False)
class Censoring:
    """How each row's response was observed.

    code : (n,) int8, -1 left, 0 exact, 1 right, 2 interval-censored.
    upper : (n,) float64, the upper bound of interval-censored rows (NaN elsewhere); None
        when no row is interval-censored.
    lb, ub : (n,) float64 truncation bounds (``-inf`` / ``inf`` when absent); None without
        truncation on that side.
    rule : a :class:`CensoringRule` when the codes follow from the response by known limits
        (SBC's simulated data): the backend then reads the codes from whatever response the
        model is built with, so one compiled graph serves every simulated data set.
    """

    code: np.ndarray
    upper: np.ndarray | None = None
    lb: np.ndarray | None = None
    ub: np.ndarray | None = None
    rule: CensoringRule | None = None

    @property
    def n_obs(self) -> int:
        return int(self.code.shape[0])

    def take(self, rows: np.ndarray) -> Censoring:
        """The censoring of a subset of rows (integer positions or a boolean mask)."""
        pick = lambda a: None if a is None else np.asarray(a)[rows]
        return Censoring(self.code[rows], pick(self.upper), pick(self.lb), pick(self.ub))

    def counts(self) -> dict[str, int]:
        """Rows per kind (``{"none": 58, "right": 18}``), kinds with no row left out."""
        return {k: int(np.sum(self.code == c)) for k, c in CENSORING_CODES.items() if np.any(self.code == c)}

    def kinds(self) -> np.ndarray:
        """(n,) each row's kind by name: "none", "left", "right" or "interval"."""
        names = np.empty(self.code.shape, dtype=object)
        for kind, c in CENSORING_CODES.items():
            names[self.code == c] = kind
        return names

    def describe(self) -> str:
        """One line for a summary: ``"Censoring: 18 right-censored, 58 observed (of 76)"``,
        so a coding that censors every row or none shows where the fit is reported."""
        parts = [f"{n} {kind}-censored" for kind, n in self.counts().items() if kind != "none"]
        observed = int(np.sum(self.code == 0))
        bounds = " and ".join(side for side, b in (("lower", self.lb), ("upper", self.ub)) if b is not None)
        if not parts:
            return (f"Truncation: {bounds} bounds, no row censored (of {self.n_obs})" if bounds
                    else f"Censoring: no row censored (of {self.n_obs})")
        truncated = f"; truncated ({bounds} bounds)" if bounds else ""
        return f"Censoring: {', '.join(parts + [f'{observed} observed'])} (of {self.n_obs}){truncated}"


def log_diff(log_a: np.ndarray, log_b: np.ndarray) -> np.ndarray:
    """log(a - b) from log a >= log b, without forming a or b."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return log_a + np.log(-np.expm1(log_b - log_a))


def _columns(a, rows: np.ndarray):
    """``a`` at the given rows (last axis) when it is per row, else unchanged."""
    if a is None:
        return None
    a = np.asarray(a)
    return a[..., rows] if a.ndim >= 1 and a.shape[-1] > 1 else a


def _interval_log_prob(family: Family, lo, hi, eta, link, aux, trials) -> np.ndarray:
    """log P(lo < Y < hi): F(hi) - F(lo) in the lower half, S(lo) - S(hi) in the upper."""
    log_f_hi = family.log_cdf(hi, eta, link, aux, trials)
    log_f_lo = family.log_cdf(lo, eta, link, aux, trials)
    log_s_lo = family.log_ccdf(lo, eta, link, aux, trials)
    log_s_hi = family.log_ccdf(hi, eta, link, aux, trials)
    lower_half = log_f_hi < np.log(0.5)
    return np.where(lower_half, log_diff(log_f_hi, log_f_lo), log_diff(log_s_lo, log_s_hi))


def censored_log_likelihood(
    family: Family, y, eta, link: str, aux: dict, trials=None, censoring: Censoring | None = None
) -> np.ndarray:
    """Pointwise log-likelihood of ``y`` under ``family``, censoring and truncation included.

    Parameters
    ----------
    family : Family
        The response family (``log_cdf`` and ``log_ccdf`` are needed when ``censoring`` is
        given).
    y : (n,) responses; for left-censored rows the upper limit, for right- and
        interval-censored rows the lower limit.
    eta, link, aux, trials : as for ``Family.log_likelihood``.
    censoring : Censoring or None
        None: the family's ``log_likelihood`` as it is.

    Returns
    -------
    numpy.ndarray
        The shape of ``eta`` broadcast against ``y``.

    Raises
    ------
    SpecError
        When ``family`` has no log CDF (it cannot be censored or truncated).
    """
    if censoring is None:
        return family.log_likelihood(y, eta, link, aux, trials)
    if family.log_cdf is None or family.log_ccdf is None:
        raise SpecError(
            f"the {family.name} family cannot be censored or truncated (it has no cumulative "
            "distribution function in hierbayes); drop cens()/trunc() or choose another family"
        )
    y = np.asarray(y, dtype=float)
    eta = np.asarray(eta, dtype=float)
    out = np.empty(np.broadcast_shapes(eta.shape, y.shape))
    for code in (NONE, LEFT, RIGHT, INTERVAL):
        rows = np.flatnonzero(censoring.code == code)
        if rows.size == 0:
            continue
        args = (_columns(eta, rows), link, aux, _columns(trials, rows))
        if code == NONE:
            value = family.log_likelihood(y[rows], *args)
        elif code == LEFT:
            value = family.log_cdf(y[rows], *args)
        elif code == RIGHT:
            value = family.log_ccdf(y[rows], *args)
        else:
            value = _interval_log_prob(family, y[rows], censoring.upper[rows], *args)
        out[..., rows] = value
    if censoring.lb is not None or censoring.ub is not None:
        out -= _truncation_log_prob(family, censoring, eta, link, aux, trials)
    return out


def _truncation_log_prob(family: Family, censoring: Censoring, eta, link, aux, trials) -> np.ndarray:
    """log P(lb < Y < ub) per row."""
    n = censoring.n_obs
    lb = np.full(n, -np.inf) if censoring.lb is None else censoring.lb
    ub = np.full(n, np.inf) if censoring.ub is None else censoring.ub
    with np.errstate(divide="ignore", invalid="ignore"):
        log_s_lb = np.where(np.isfinite(lb), family.log_ccdf(np.where(np.isfinite(lb), lb, 1.0), eta, link, aux, trials), 0.0)
        log_f_ub = np.where(np.isfinite(ub), family.log_cdf(np.where(np.isfinite(ub), ub, 1.0), eta, link, aux, trials), 0.0)
    both = np.isfinite(lb) & np.isfinite(ub)
    if not both.any():
        return log_s_lb + log_f_ub
    interval = _interval_log_prob(family, np.where(both, lb, 1.0), np.where(both, ub, 2.0), eta, link, aux, trials)
    return np.where(both, interval, log_s_lb + log_f_ub)
