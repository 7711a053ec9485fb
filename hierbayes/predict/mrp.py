"""Multilevel regression and poststratification (MRP).

A :class:`Poststrat` table holds population cells (one row per combination of the
poststratification variables) with a population count. :func:`poststratify` predicts the
expected response of every cell for every posterior draw and averages the cells of each
subgroup weighted by their counts:

    theta_g = sum_{c in g} N_c * E[y | cell c] / sum_{c in g} N_c    (per posterior draw)

so every subgroup estimate comes with its full posterior. Levels present in the table but
absent from the survey (a state without respondents) get a group effect drawn from the
fitted population distribution for each posterior draw, plus whatever group-level
predictors the model has for them; the result says which levels those were.

This module is the public entry point; the implementation is split by job:

- :mod:`~hierbayes.predict.mrp_levels`: level names and listings shared by the others;
- :mod:`~hierbayes.predict.mrp_table`: the :class:`Poststrat` table (cells, counts,
  joined predictors, subgroups);
- :mod:`~hierbayes.predict.mrp_checks`: :func:`check_table`, the table coded like the survey;
- :mod:`~hierbayes.predict.mrp_estimate`: :func:`cell_predictions` and :func:`poststratify`;
- :mod:`~hierbayes.predict.mrp_result`: :class:`PoststratResult`;
- :mod:`~hierbayes.predict.mrp_composition`: :func:`composition`, sample against population.
"""

from __future__ import annotations

# Names outside __all__ are re-exported too (``X as X``), as this module used to define them.
from .mrp_checks import Coverage as Coverage
from .mrp_checks import check_table as check_table
from .mrp_checks import training_frame as training_frame
from .mrp_composition import composition
from .mrp_estimate import cell_predictions, poststratify
from .mrp_result import SUBGROUP_DIM as SUBGROUP_DIM
from .mrp_result import PoststratResult
from .mrp_table import Poststrat

__all__ = [
    "Poststrat",
    "PoststratResult",
    "cell_predictions",
    "composition",
    "poststratify",
]
