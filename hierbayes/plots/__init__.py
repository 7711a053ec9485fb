"""Plots users look at before any table (matplotlib; ArviZ where it has the plot).

Plots sit on the top layer: they read fits and the results of :mod:`hierbayes.predict`,
which never import them (``fit.ppc().plot()`` works because the Fit binds the plot methods,
see :mod:`hierbayes.plots.bound`).
"""

from __future__ import annotations

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
