"""Default priors of a residual structure's parameters, and the checks of user priors on them.

Each parameter of the structure (:mod:`hierbayes.spec.residual_kinds`) has its own prior
class, keyed by its posterior name (``priors={"ar1_phi": hb.Prior("Uniform", lower=0,
upper=1)}``); with ``by=`` the one prior covers every level. Defaults by the parameter's
support:

============ =========================================== ====================================
support      default                                     user priors allowed
============ =========================================== ====================================
symmetric    Uniform(-1, 1)  (ar1_phi, ma1_theta, ...)   Uniform within [-1, 1]
partial      Uniform(-1, 1) at each lag (toep_pacf,      Uniform within [-1, 1]
             ar2_pacf)
unit_lower   Uniform(-1/(T-1) + 1e-6, 1)  (exch_rho;     Uniform within that range
             T the largest group)
positive     InverseGamma(1, gap)  (exp_range; gap the    positive support (HalfNormal, Gamma,
             median time between a group's consecutive   LogNormal, InverseGamma, ...)
             observations)
correlation  LKJ(1)  (unstr_cor)                         LKJ
banded       Uniform(-1, 1) on each canonical partial    Uniform within [-1, 1]
             correlation of the banded factor (band_cor)
============ =========================================== ====================================

AR(1)'s phi on times whose within-group gaps are all even is sampled on [0, 1) with its prior
folded (p(phi) + p(-phi)): only even powers of phi occur, so its sign is not identified. The
prior table says so beside the prior (:func:`folded_notes`).

The residual sd ratios (``sigma_ratio``, with ``by=`` or unstructured) get LogNormal(0, 1)
(positive support).

The exponential range's default is the AR(1) default carried over to continuous time: the
correlation ``exp(-gap / range)`` of two consecutive observations ``gap`` apart is uniform on
(0, 1), which makes the range InverseGamma(1, gap). Its earlier default, LogNormal(log(span /
2), 1), was centred on half the follow-up: on nlme's BodyWeight with random slopes (weighings 7
days apart over 63 days, nlme's corCAR1 range 3.65) it pulled the posterior median to 4.9 and
its upper limit to 13 (nlme 7.2), where the AR(1) form of the same model, with its uniform
prior, agreed with nlme.
"""

from __future__ import annotations

import numpy as np

from ..design.types import Design
from ..errors import PriorError
from ..params import ParamAddress
from ..spec.residuals import SD_RATIO
from .types import Prior

__all__ = ["check_residual_bounds", "folded_notes", "residual_defaults", "residual_prior_classes", "structure_defaults"]

#: The prior supports (see :data:`.types.DISTRIBUTIONS`) each parameter support accepts.
SUPPORT_PRIORS = {
    "symmetric": ("interval",),
    "unit_lower": ("interval",),
    "positive": ("positive",),
    "correlation": ("correlation",),
    "partial": ("interval",),
    "banded": ("interval",),
}


def _lower_exchangeable(max_size: int) -> float:
    """The smallest common correlation that keeps a group of ``max_size`` positive definite."""
    return -1.0 / max(max_size - 1, 1) + 1e-6


def _typical_gap(rd) -> float:
    """The median time between consecutive observations of a group (1 when there is none)."""
    t = np.sort(np.where(rd.mask, rd.times, np.nan), axis=1)  # NaN (no observation) last
    gaps = np.diff(t, axis=1)
    gaps = gaps[np.isfinite(gaps) & (gaps > 0)]
    return float(np.median(gaps)) if gaps.size else 1.0


def residual_prior_classes(design: Design) -> dict[str, tuple[str, ...]]:
    """Prior class (the parameter's name) -> the prior supports it accepts, for the
    residual structure of ``design`` (empty without one)."""
    rd = getattr(design, "residuals", None)
    if rd is None:
        return {}
    out = {p.name: SUPPORT_PRIORS[p.support] for p in rd.kind.parameters}
    if rd.sd_levels:
        out[SD_RATIO] = ("positive",)
    return out


def residual_defaults(design: Design) -> list[tuple[ParamAddress, Prior]]:
    """The default prior of each parameter of the residual structure (none without one)."""
    rd = getattr(design, "residuals", None)
    return [] if rd is None else structure_defaults(rd)


def structure_defaults(rd) -> list[tuple[ParamAddress, Prior]]:
    """The default prior of each parameter of the residual design ``rd``."""
    out = []
    for param in rd.kind.parameters:
        if param.support in ("symmetric", "partial", "banded"):
            prior = Prior("Uniform", lower=-1.0, upper=1.0)
        elif param.support == "unit_lower":
            prior = Prior("Uniform", lower=_lower_exchangeable(rd.max_size), upper=1.0)
        elif param.support == "positive":
            prior = Prior("InverseGamma", alpha=1.0, beta=_typical_gap(rd))
        else:
            prior = Prior("LKJ", eta=1.0)
        out.append((ParamAddress(param.name), prior))
    if rd.sd_levels:
        out.append((ParamAddress(SD_RATIO), Prior("LogNormal", mu=0.0, sigma=1.0)))
    return out


def folded_notes(design: Design) -> dict[str, str]:
    """Prior key -> how its prior is applied, for the parameters sampled on [0, 1) with their
    prior folded (AR(1)'s phi when every gap is even): what the prior table prints beside the
    prior, which is the stated one, default or the user's."""
    rd = getattr(design, "residuals", None)
    if rd is None:
        return {}
    return {p.name: "folded onto [0, 1) (every time gap even)" for p in rd.kind.parameters if rd.folded(p)}


def check_residual_bounds(key: str, prior: Prior, design: Design) -> None:
    """Raise PriorError when a Uniform prior on a correlation parameter leaves its range."""
    rd = getattr(design, "residuals", None)
    if rd is None or prior.dist != "Uniform":
        return
    support = {p.name: p.support for p in rd.kind.parameters}.get(key)
    if support not in ("symmetric", "unit_lower", "partial", "banded"):
        return
    lower = _lower_exchangeable(rd.max_size) if support == "unit_lower" else -1.0
    lo, hi = prior.kwargs["lower"], prior.kwargs["upper"]
    if lo < lower or hi > 1.0:
        raise PriorError(
            f"prior for {key!r}: {prior} leaves the parameter's range [{lower:.6g}, 1]; "
            f"give lower >= {lower:.6g} and upper <= 1"
        )
