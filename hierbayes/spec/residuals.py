"""Residual (R-side) structures of gaussian models: the IR object and the registry of kinds.

A :class:`ResidualStructure` says how the residuals of one group (a subject, a mare) are
correlated over a time variable, as Stata's ``mixed ..., residuals(ar 1, t(time) by(arm))``
and nlme's ``correlation=`` / ``weights=varIdent`` say it. Users write

>>> import hierbayes as hb
>>> rs = hb.residuals("ar1", time="Time", group="Mare")

Each kind is one registered :class:`ResidualKind` (:mod:`.residual_kinds` holds the built-in
ones): its parameters, the prior of each, how many time points it needs and the builder of
the within-group correlation matrix. The builder is written against an array module ``xp``
(numpy or ``pytensor.tensor``), so the backend and the numpy results use the same code.

No PyMC here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import SpecError

#: Posterior dimension names of the structure's parameters: per ``by`` level, per level with
#: its own sd ratio (all but the reference), and the visits of a correlation matrix.
BY_DIM, SD_DIM, TIME_DIM, TIME_DIM_BIS = "resid_by", "resid_sd_level", "resid_time", "resid_time_bis"
#: Posterior dimension of a per-lag parameter (support "partial"): lags 1, 2, ...
LAG_DIM = "resid_lag"
#: Posterior dimension of the free entries of a banded correlation's factor (support "banded").
BAND_DIM = "resid_band"
#: Posterior name of the residual sd ratios to the reference level.
SD_RATIO = "sigma_ratio"

#: What a kind's time variable is: not used, a number (distances), or a visit label.
TIME_USES = ("none", "numeric", "integer", "levels")


@dataclass(frozen=True)
class ResidualParameter:
    """One parameter of a residual structure.

    name : the posterior name (``ar1_phi``); with ``by=`` it has one entry per level.
    support : "symmetric" (in (-1, 1)), "unit_lower" (in (lower, 1), the lower bound from
        the largest group), "positive", "correlation" (a correlation matrix over the time
        levels) or "partial" (a vector over lags 1, 2, ..., each in (-1, 1): partial
        autocorrelations, which any stationary correlation over integer lags has and which
        keep it positive definite).
    description : one line for tables and messages.
        "banded" is a banded correlation matrix over the time levels, sampled as the
        canonical partial correlations of its banded Cholesky factor (each in (-1, 1)).
    size : for "partial", the number of lags; None for every lag the data have (the longest
        time span within a group); a callable ``(residual design) -> int`` for a length that
        depends on the data (the band entries of "banded").
    odd_lag_sign : True when the correlations hold the parameter's sign only at odd lags
        (AR(1)'s phi: phi^d). On times whose within-group gaps are all even (ages 8, 10, 12,
        14) the likelihood is the same at phi and -phi; the parameter is then sampled on
        [0, 1) with its prior folded (density p(phi) + p(-phi)), the same model without the
        mirror mode (see :attr:`hierbayes.design.residuals.ResidualDesign.even_lags`).
    """

    name: str
    support: str
    description: str
    size: int | Callable[..., int] | None = None
    odd_lag_sign: bool = False


@dataclass(frozen=True)
class ResidualKind:
    """A registered residual structure.

    Parameters
    ----------
    name : the canonical name (``"ar1"``).
    description : one line for documentation and messages.
    aliases : other spellings users bring (Stata's ``"ar 1"``, ``"exp"``, ``"un"``).
    parameters : the structure's own parameters (besides sigma and the sd ratios).
    time : how the time variable is read (one of :data:`TIME_USES`).
    min_times : fewest distinct time points the largest group must have.
    correlation : ``(params, times, xp) -> (J, T, T)`` correlations within each group;
        ``params`` maps parameter names to per-group values ((J,) or (J, L, L) for a
        correlation matrix), ``times`` is (J, T) (time values, or visit codes for
        ``time="levels"``; padding is masked afterwards).
    sd_by_time : True when the residual sd varies by visit (unstructured): one sd ratio per
        time level besides the first.
    allows_by : whether ``by=`` is allowed.
    order_args : the names of the orders the kind takes (``("p",)`` for AR(p), ``("p", "q")``
        for ARMA, ``("k",)`` for Toeplitz(k)); () when it takes none.
    with_order : ``(orders) -> ResidualKind``: the kind of those orders (registered on first
        use, named like ``ma2``, ``arma21``, ``toeplitz2``); None when the kind takes none.
    order_required : True when the kind needs an order (``banded``).
    order : the orders of a kind made by ``with_order``.
    lag_correlation : for a Markov structure in one time dimension (AR(1), exponential,
        independent), ``(params, gaps, xp) -> (J, T-1)`` correlations of consecutive rows
        ``gaps`` apart; the correlation of rows further apart is their product. The
        likelihood then whitens the residuals in O(T) per group instead of factorising a
        dense T x T matrix. None for other structures.
    holds_common_shift : True when its covariances include every compound-symmetric one
        (exchangeable, unstructured, full Toeplitz): a random intercept of the same groups
        adds nothing it cannot express, so the two are not identified separately.
    """

    name: str
    description: str
    aliases: tuple[str, ...]
    parameters: tuple[ResidualParameter, ...]
    time: str
    min_times: int
    correlation: Callable[..., Any] = field(compare=False)
    sd_by_time: bool = False
    allows_by: bool = True
    lag_correlation: Callable[..., Any] | None = field(default=None, compare=False)
    order_args: tuple[str, ...] = ()
    with_order: Callable[[tuple[int, ...]], ResidualKind] | None = field(default=None, compare=False)
    order_required: bool = False
    order: tuple[int, ...] = ()
    holds_common_shift: bool = False


_KINDS: dict[str, ResidualKind] = {}
_ALIASES: dict[str, str] = {}
_MADE: set[str] = set()  # kinds made by ``with_order`` (not listed as valid names)


def register_residual_kind(kind: ResidualKind) -> ResidualKind:
    """Register ``kind`` under its name and aliases (once).

    Raises
    ------
    SpecError
        When the name or an alias is already taken by another kind, or ``kind.time`` is not
        one of :data:`TIME_USES`.
    """
    if kind.time not in TIME_USES:
        raise SpecError(f"residual structure {kind.name!r}: time={kind.time!r}; valid: {list(TIME_USES)}")
    for spelling in (kind.name, *kind.aliases):
        owner = _ALIASES.get(_normal(spelling))
        if owner is not None and owner != kind.name:
            raise SpecError(f"residual structure name {spelling!r} is already taken by {owner!r}")
    known = _KINDS.get(kind.name)
    if known is not None and known != kind:
        raise SpecError(f"residual structure {kind.name!r} is already registered")
    _KINDS[kind.name] = kind
    for spelling in (kind.name, *kind.aliases):
        _ALIASES[_normal(spelling)] = kind.name
    return kind


def _normal(spelling: str) -> str:
    return "".join(c for c in spelling.lower() if not c.isspace() and c not in "(),")


_ORDERED = re.compile(r"(.*?[a-z])(\d+)")


def residual_kind(name: str) -> ResidualKind:
    """The registered kind of ``name`` or one of its aliases; a name ending in orders
    (``ma2``, ``ma 2``, ``arma(2,1)``, ``toeplitz 2``) gives the kind of those orders.

    Raises
    ------
    SpecError
        For an unknown name, listing the registered ones.
    """
    key = _normal(name) if isinstance(name, str) else ""
    found = _ALIASES.get(key)
    if found is not None:
        return _KINDS[found]
    m = _ORDERED.fullmatch(key)
    base = _ALIASES.get(m.group(1)) if m else None
    if base is not None and _KINDS[base].with_order is not None:
        digits = m.group(2)
        n_args = len(_KINDS[base].order_args)
        if n_args == 1 or len(digits) == n_args:
            order = (int(digits),) if n_args == 1 else tuple(int(d) for d in digits)
            return ordered_kind(_KINDS[base], order)
    ordered = [re.sub(r"\d+$", "", k.name) for k in _KINDS.values() if k.with_order is not None]
    head = re.match(r"[a-z0-9]*", name.lower().replace(" ", "")).group() if isinstance(name, str) else ""
    hint = nlme_call_hint(name) or _NLME_HINTS.get(head, "")
    raise SpecError(f"unknown residual structure {name!r}; valid: {residual_kind_names()} ({', '.join(ordered)} "
                    f"take an order: hb.residuals('ma', order=2) or 'ma2'){hint}")


#: nlme's names without a kind of their own, and what does their work here
_NLME_HINTS = {
    "corcar1": ". nlme's corCAR1 (continuous-time AR(1)) is 'exponential' with time= the times "
               "(its range is -1/log(phi)); on whole-number times it is 'ar1'",
    "varpower": ". nlme's varPower(form = ~ v) is a formula for the residual sd: sigma='~ log(v)' "
                "(the coefficient of log(v) is the power)",
    "varexp": ". nlme's varExp(form = ~ v) is a formula for the residual sd: sigma='~ v'",
    "varident": ". nlme's varIdent(form = ~ 1 | g) is hb.residuals('independent', by='g')",
    "varfixed": ". nlme's varFixed(~ v) is precision weights: Model(..., weights='w', weight_kind='precision') "
                "with a column w = 1 / v",
    "corarma": ". nlme's corARMA(p = , q = ) is named by its orders: 'arma11' (p = q = 1), 'ar2' (p = 2, q = 0), "
               "'ma1' (p = 0, q = 1)",
    "varconstpower": ". nlme's varConstPower is not available; sigma='~ log(v)' (varPower) is the nearest",
    "varcomb": ". nlme's varComb is not available; a formula for the residual sd combines terms: "
               "sigma='~ g + log(v)' is varIdent(~ 1 | g) times varPower(~ v)",
    "car1": ". a continuous-time AR(1) (nlme's corCAR1, Stata's exponential) is 'exponential'",
    **dict.fromkeys(("corspher", "corgaus", "corlin", "corratio", "spherical"),
                    ". nlme's spatial correlations corSpher, corGaus, corLin and corRatio are not available; "
                    "corExp is 'exponential'"),
}


#: what a two-coordinate (spatial) correlation gets
SPATIAL = ("the correlation here follows one time (or distance) column within a group; a correlation over "
           "two coordinates (nlme's corExp(form = ~ x + y), corSpher, corGaus) is not available")

_NLME_CALL = re.compile(r"\s*((?:cor|var)[A-Za-z0-9]*)\s*\((.*)\)\s*", re.S)
_FORM = re.compile(r"(?:form\s*=\s*)?~\s*([^|,]+?)\s*(?:\|\s*([^,]+?))?\s*(?:,|$)")


def nlme_call_hint(text: str) -> str:
    """What an nlme call pasted from R (``corAR1(form = ~ t | g)``, ``varPower(form = ~ v)``)
    is here, as a sentence starting '. ', or '' when ``text`` is not such a call."""
    call = _NLME_CALL.fullmatch(text) if isinstance(text, str) else None
    if call is None:
        return ""
    head, form = call.group(1).lower(), _FORM.search(call.group(2))
    v, g = (form.group(1).strip(), (form.group(2) or "").strip() or None) if form else (None, None)
    if v and "+" in v and head.startswith("cor"):
        return f". nlme's {call.group(1)} over {v} is a 2-D spatial correlation, which is not available: {SPATIAL}"
    if head == "varpower" and v:
        return f". nlme's {call.group(1)} is a formula for the residual sd here: sigma='~ log({v})'"
    if head == "varexp" and v:
        return f". nlme's {call.group(1)} is a formula for the residual sd here: sigma='~ {v}'"
    if head == "varident" and g:
        return f". nlme's {call.group(1)} is hb.residuals('independent', by={g!r})"
    kind, order = _ALIASES.get(_normal(head)), None
    if head == "corarma":  # corARMA(form = ~ 1 | g, p = 1, q = 1): the kind of its orders
        p, q = (int(m.group(1)) if (m := re.search(rf"\b{a}\s*=\s*(\d+)", call.group(2))) else 0 for a in "pq")
        kind, order = {(True, True): ("arma", (p, q)), (True, False): ("ar", p), (False, True): ("ma", q)}.get(
            (p > 0, q > 0), (None, None))
    if kind is None or not head.startswith("cor"):
        return _NLME_HINTS.get(head, "")
    counted = (not v or v == "1") and residual_kind(kind).time in ("numeric", "levels")  # needs a column
    time = "t" if counted else (v if v and v != "1" else None)
    args = [repr(kind)] + [f"{k}={x!r}" for k, x in (("order", order), ("time", time), ("group", g)) if x]
    if counted:
        return (f". nlme's {call.group(1)}(...) counts the rows within a group: df['t'] = "
                f"df.groupby({g or 'group'!r}).cumcount() + 1, then hb.residuals({', '.join(args)})")
    return f". nlme's {call.group(1)}(...) is written hb.residuals({', '.join(args)})"


def ordered_kind(base: ResidualKind, order: tuple[int, ...]) -> ResidualKind:
    """The kind ``base`` of orders ``order`` (registered on first use).

    Raises
    ------
    SpecError
        When ``base`` takes no order, or the orders are not whole numbers >= 1 or do not match
        the kind's ``order_args``.
    """
    if base.with_order is None:
        raise SpecError(f"residuals({base.name!r}) takes no order=")
    if len(order) != len(base.order_args) or not all(
        isinstance(o, (int, np.integer)) and not isinstance(o, bool) and o >= 1 for o in order
    ):
        names = ", ".join(base.order_args)
        raise SpecError(
            f"residuals({base.name!r}): order= must be {len(base.order_args)} whole number(s) >= 1 "
            f"({names}), got {order if len(order) != 1 else order[0]!r}"
        )
    kind = base.with_order(tuple(int(o) for o in order))
    if kind.name not in _KINDS:
        register_residual_kind(kind)
        _MADE.add(kind.name)
    return _KINDS[kind.name]


def residual_kind_names() -> list[str]:
    """Canonical names of the registered residual structures (not those made for an order)."""
    return [name for name in _KINDS if name not in _MADE]


@dataclass(frozen=True)
class ResidualStructure:
    """The residual covariance of a gaussian model, within groups.

    kind : a registered kind's canonical name (see :func:`residual_kind`).
    time : the column ordering the rows within a group (required by exponential,
        unstructured and banded; None for a kind over whole-number times: the rows' order
        within their group in the data, 1, 2, ...).
    group : the grouping column (or grouping factor of a group term, ``batch:cask``); None
        for the model's innermost grouping factor (the one with the most levels).
    by : a column: one set of structure parameters and one residual sd per level (for
        ``independent``: a residual sd per level, nlme's ``varIdent``).
    """

    kind: str
    time: str | None = None
    group: str | None = None
    by: str | None = None

    @property
    def spec(self) -> ResidualKind:
        """The registered description of the kind."""
        return residual_kind(self.kind)

    def describe(self) -> str:
        """``ar1(time=t, group=Mare)`` for messages and summaries."""
        parts = [f"{k}={v}" for k, v in (("time", self.time), ("group", self.group), ("by", self.by)) if v]
        return f"{self.kind}({', '.join(parts)})"

    def to_dict(self) -> dict[str, str | None]:
        """A JSON-serialisable form (saved fits, model files)."""
        return {"kind": self.kind, "time": self.time, "group": self.group, "by": self.by}

    @classmethod
    def from_dict(cls, d: dict[str, str | None]) -> ResidualStructure:
        """Inverse of :meth:`to_dict`."""
        return residuals(d["kind"], time=d.get("time"), group=d.get("group"), by=d.get("by"))


def residuals(
    kind: str,
    time: str | None = None,
    group: str | None = None,
    by: str | None = None,
    order: int | tuple[int, ...] | None = None,
) -> ResidualStructure:
    """A residual structure for ``hb.Model(..., residuals=...)``.

    Parameters
    ----------
    kind : "independent", "exchangeable", "ar" (AR(p), Stata ``ar #``), "ma" (MA(q)),
        "arma" (ARMA(p, q)), "toeplitz" (a correlation per lag; with ``order=k`` zero beyond
        lag k), "banded" (unstructured within ``order`` visits, zero beyond), "exponential",
        "unstructured" (Stata's names and nlme's ``corAR1``-style names are accepted; ``ar2``,
        ``ma 2``, ``toeplitz 2`` carry the order in the name).
    time : the time (or visit) column; required by exponential, unstructured and banded. For
        the kinds over whole-number times (ar, ma, arma, toeplitz) None counts the rows within
        a group in the data's order, 1, 2, ... (nlme's ``form = ~ 1 | g`` and its default,
        brms' ``ar()`` without ``time``).
    group : the grouping column; default the model's innermost grouping factor (required
        when the model has no group terms, as in MMRM).
    by : a column with one set of structure parameters and one residual sd per level
        (unstructured: a correlation matrix per level and a residual sd per level and visit).
    order : the order of ar (p), ma (q), toeplitz and banded (k), or (p, q) for arma.

    Raises
    ------
    SpecError
        For an unknown kind, a missing ``time``, a ``by`` the kind does not allow, an order
        the kind does not take or a missing one it needs.
    """
    spec = residual_kind(kind)
    if order is not None:
        if any(c.isdigit() for c in kind):  # 'ma2' with order=3
            raise SpecError(f"residuals({kind!r}) already names its order; drop order={order!r}")
        spec = ordered_kind(spec, tuple(order) if isinstance(order, (tuple, list)) else (order,))
    elif spec.order_required:
        raise SpecError(
            f"residuals({spec.name!r}) needs order= ({', '.join(spec.order_args)}), as in "
            f"hb.residuals({spec.name!r}, order=1, time=...)"
        )
    for arg, value in (("time", time), ("group", group), ("by", by)):
        if value is not None and (not isinstance(value, str) or not value):
            raise SpecError(f"residuals({spec.name!r}): {arg}= must be a column name, got {value!r}")
    if time is not None and re.search(r"[+,~]", time):  # nlme's corExp(form = ~ latitude + longitude)
        raise SpecError(f"residuals({spec.name!r}): time={time!r} is not one column; {SPATIAL}")
    if spec.time in ("numeric", "levels") and time is None:
        raise SpecError(
            f"residuals({spec.name!r}) needs time=: the column ordering the rows within a group; for the rows' "
            f"order within a group (nlme's form = ~ 1 | g) give it as a column, e.g. "
            f"df['t'] = df.groupby('id').cumcount() + 1"
        )
    if by is not None and not spec.allows_by:
        raise SpecError(f"residuals({spec.name!r}) does not take by= yet")
    return ResidualStructure(spec.name, time, group, by)
