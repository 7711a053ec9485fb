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
positive     LogNormal(log(span / 2), 1)  (exp_range;    positive support (HalfNormal, Gamma,
             span the longest time span of a group)      LogNormal, ...)
correlation  LKJ(1)  (unstr_cor)                         LKJ
banded       Uniform(-1, 1) on each canonical partial    Uniform within [-1, 1]
             correlation of the banded factor (band_cor)
============ =========================================== ====================================

The residual sd ratios (``sigma_ratio``, with ``by=`` or unstructured) get LogNormal(0, 1)
(positive support).
"""

from __future__ import annotations

import numpy as np

from ..design.types import Design
from ..errors import PriorError
from ..params import ParamAddress
from ..spec.residuals import SD_RATIO
from .types import Prior

__all__ = ["check_residual_bounds", "residual_defaults", "residual_prior_classes", "structure_defaults"]

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


def _time_span(rd) -> float:
    t = np.where(rd.mask, rd.times, np.nan)
    span = np.nanmax(t, axis=1) - np.nanmin(t, axis=1)
    span = span[np.isfinite(span) & (span > 0)]
    return float(span.max()) if span.size else 1.0


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
            prior = Prior("LogNormal", mu=float(np.log(_time_span(rd) / 2.0)), sigma=1.0)
        else:
            prior = Prior("LKJ", eta=1.0)
        out.append((ParamAddress(param.name), prior))
    if rd.sd_levels:
        out.append((ParamAddress(SD_RATIO), Prior("LogNormal", mu=0.0, sigma=1.0)))
    return out


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
