"""Design pieces of distributional sub-models (``sigma ~ x + (1|g)``).

Each modelled auxiliary parameter gets a :class:`~hierbayes.design.types.Design` of its own,
built by :func:`hierbayes.design.build_design` from :func:`hierbayes.spec.distributional.aux_spec`
on the rows the main design uses (its ``X``, ``groups`` and ``encoder`` serve; its ``y`` is
the main response). The columns the sub-models read are part of the main design's used
columns, so ``missing="drop"`` drops a row missing any of them from every part.
"""

from __future__ import annotations

import pandas as pd

from ..spec.distributional import aux_spec
from ..spec.ir import ModelSpec
from .plan import DesignPlan


def aux_needed(spec: ModelSpec, columns: pd.Index, ordered: frozenset[str]) -> dict[str, str]:
    """Column -> who uses it, for every distributional sub-model of ``spec``."""
    out: dict[str, str] = {}
    for name in spec.aux_formulas:
        sub = aux_spec(spec, name)
        plan = DesignPlan.from_spec(sub, columns, ordered)
        for column, user in plan.needed(sub, columns, response=False).items():
            out.setdefault(column, f"{user} of the {name} formula")
    return out
