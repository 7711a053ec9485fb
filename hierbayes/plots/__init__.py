"""Plots users look at before any table (matplotlib; ArviZ where it has the plot).

Plots sit on the top layer: they read fits and the results of :mod:`hierbayes.predict`,
which never import them (``fit.ppc().plot()`` works because the Fit binds the plot methods,
see :mod:`hierbayes.plots.bound`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .bound import (
        PlottedConditionalEffects,
        PlottedMargins,
        PlottedPredictiveCheck,
        PlottedSurvivalCurves,
        with_plots,
    )
    from .checks import PPC_KINDS, default_ppc_kind, loo_pit, ppc, ppc_grouped, ppc_stat
    from .effects import caterpillar, forest, variance_components
    from .mrp import compare, mrp_composition, mrp_estimates, mrp_raw_vs_model
    from .predictions import conditional_effects_plot, marginsplot, prediction_lines
    from .survival import ppc_km, survival_plot

#: Public name -> the module defining it; imported on first use (PEP 562), so that binding
#: plots to results (:mod:`hierbayes.plots.bound`) does not load matplotlib.
_HOME = {
    "PlottedConditionalEffects": ".bound",
    "PlottedMargins": ".bound",
    "PlottedPredictiveCheck": ".bound",
    "PlottedSurvivalCurves": ".bound",
    "with_plots": ".bound",
    "PPC_KINDS": ".checks",
    "default_ppc_kind": ".checks",
    "loo_pit": ".checks",
    "ppc": ".checks",
    "ppc_grouped": ".checks",
    "ppc_stat": ".checks",
    "caterpillar": ".effects",
    "forest": ".effects",
    "variance_components": ".effects",
    "compare": ".mrp",
    "mrp_composition": ".mrp",
    "mrp_estimates": ".mrp",
    "mrp_raw_vs_model": ".mrp",
    "conditional_effects_plot": ".predictions",
    "marginsplot": ".predictions",
    "prediction_lines": ".predictions",
    "ppc_km": ".survival",
    "survival_plot": ".survival",
}


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOME[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))


__all__ = [
    "PPC_KINDS",
    "PlottedConditionalEffects",
    "PlottedMargins",
    "PlottedPredictiveCheck",
    "PlottedSurvivalCurves",
    "caterpillar",
    "compare",
    "conditional_effects_plot",
    "default_ppc_kind",
    "forest",
    "loo_pit",
    "marginsplot",
    "mrp_composition",
    "mrp_estimates",
    "mrp_raw_vs_model",
    "ppc",
    "ppc_grouped",
    "ppc_km",
    "ppc_stat",
    "prediction_lines",
    "survival_plot",
    "variance_components",
    "with_plots",
]
