"""Coefficients of the proportional-hazards survival families on the hazard scale.

weibull and exponential are fitted on the log-time (accelerated failure time) scale with brms'
log link on the mean (see :mod:`hierbayes.families.survival`). The same model has proportional
hazards: with shape k (1 for the exponential),

    log h(t | x) = log k + (k - 1) log t - k (b0 - lgamma(1 + 1/k)) - k (x b),

so a slope's log hazard ratio is ``-k b`` and the intercept's is the log baseline hazard
``-k (b0 - lgamma(1 + 1/k))`` (Stata's ``_cons`` of ``mestreg``). Both are computed draw by
draw, so intervals are of the transformed quantity.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import special

from ..errors import SpecError
from ..families import Family, proportional_hazards

__all__ = ["HAZARD_LABEL", "LOG_HAZARD_SCALE", "METRIC_NOTES", "log_hazard_draws", "metric_draws", "metric_note"]

HAZARD_LABEL = "hazard ratio"
LOG_HAZARD_SCALE = "log-hazard (proportional hazards) scale"


def log_hazard_draws(draws: xr.DataArray, posterior: xr.Dataset, family: Family) -> xr.DataArray:
    """Fixed-effect draws (dim ``term``, log-time scale) as log hazard ratios.

    Parameters
    ----------
    draws : xarray.DataArray
        (chain, draw, term) coefficients on the log-time scale; ``Intercept`` is the raw
        intercept.
    posterior : xarray.Dataset
        The posterior (its ``shape`` draws for the weibull).
    family : Family
        weibull or exponential.

    Raises
    ------
    SpecError
        For another family, or a weibull whose shape is modelled per row.
    """
    hazards = proportional_hazards()
    if family.name not in hazards:
        raise SpecError(
            f"hazard ratios are defined for the proportional-hazards families "
            f"{sorted(hazards)}, not for {family.name!r}"
        )
    shape_name = hazards[family.name]
    if shape_name is None:
        k = xr.ones_like(draws.isel(term=0, drop=True))
    else:
        k = posterior[shape_name]
        if set(k.dims) != {"chain", "draw"}:
            raise SpecError(
                f"hazard ratios need one {shape_name} per draw; with a formula for {shape_name} "
                "the hazards are not proportional (use metric='aft')"
            )
    out = -k * draws
    if "Intercept" in draws.coords["term"].values:
        baseline = -k * (draws.sel(term="Intercept") - special.gammaln(1.0 + 1.0 / k))
        out = out.where(out.coords["term"] != "Intercept", baseline)
    return out.transpose("chain", "draw", "term")


def metric_draws(
    draws: xr.DataArray, posterior: xr.Dataset, family: Family, metric: str
) -> tuple[xr.DataArray, str, bool]:
    """(draws, label, exponentiated) of the coefficients in ``metric`` ("aft", "hr", "loghr")."""
    if metric == "aft":
        return draws, f"coefficient ({family.coefficient_scale})", False
    log_hr = log_hazard_draws(draws, posterior, family)
    if metric == "loghr":
        return log_hr, f"coefficient ({LOG_HAZARD_SCALE})", False
    return np.exp(log_hr), HAZARD_LABEL, True


#: The table note of each hazard metric (what was computed per draw).
METRIC_NOTES = {
    "hr": "hazard ratio = exp(-shape * coefficient) draw by draw; Intercept: baseline hazard; "
          "group sds stay on the log-time scale (times shape on the log-hazard scale)",
    "loghr": "log hazard ratio = -shape * coefficient draw by draw; Intercept: log baseline hazard; "
             "group sds stay on the log-time scale (times shape on the log-hazard scale)",
}


def metric_note(metric: str, draws: xr.DataArray, posterior: xr.Dataset, family: Family) -> str | None:
    """The table note of ``metric``: what was computed per draw, and for the AFT metric of a
    family with a shape (weibull) how its Intercept differs from survreg's and Stata's.

    The weibull is fitted with brms' log link on the mean, so its Intercept is log mean time;
    survreg and ``mestreg, time`` report the log scale ``b0 - lgamma(1 + 1/k)`` as ``_cons``
    (the slopes are the same). Users compare that number, so the note gives it.
    """
    if metric in METRIC_NOTES:
        if proportional_hazards().get(family.name) is None:  # the exponential: shape 1
            return METRIC_NOTES[metric].replace("-shape * ", "-").replace(" (times shape on the log-hazard scale)",
                                                                      " (as on the log-hazard scale)")
        return METRIC_NOTES[metric]
    shape_name = proportional_hazards().get(family.name)
    if metric != "aft" or shape_name is None or "Intercept" not in draws.coords["term"].values:
        return None
    k = posterior[shape_name]
    if set(k.dims) != {"chain", "draw"}:
        return None
    cons = (draws.sel(term="Intercept") - special.gammaln(1.0 + 1.0 / k)).values.ravel()
    return (
        f"Intercept: log mean time (brms' {family.name}); survreg's and Stata's (mestreg, time) _cons "
        f"= Intercept - lgamma(1 + 1/{shape_name}): mean {cons.mean():.3f}, sd {cons.std(ddof=1):.3f}"
    )
