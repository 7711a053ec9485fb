"""brms' ``y | se(s)``: each row's residual sd is known, as the standard errors of a
meta-analysis's effect sizes (metafor's ``rma(yi, sei = s)``, brms'
``yi | se(sei) ~ 1 + (1 | study)``).

The formula is rewritten here into the residual sd's sub-model, ``sigma ~ 0 + offset(log(s))``:
no intercept and no terms, so sigma has no parameter of its own (:attr:`AuxFormula.known`), and
every later stage (design, backend, predictions, LOO, save and load) sees an ordinary
distributional model. A group term with one row per level is then the between-study
heterogeneity (tau), not a second residual variance.
"""

from __future__ import annotations

from dataclasses import replace

from ..errors import SpecError
from .ir import AuxFormula, FixedPart, ModelSpec, modellable_aux

__all__ = ["known_sd_formula", "with_known_sd"]


def known_sd_formula(column: str) -> AuxFormula:
    """The sigma formula of known standard errors in ``column``: ``~ 0 + offset(log(column))``."""
    return AuxFormula(FixedPart(intercept=False, offsets=(f"log({column})",)))


def with_known_sd(spec: ModelSpec, column: str) -> ModelSpec:
    """``spec`` with the residual sd of each row fixed at ``column`` (``y | se(column)``).

    Raises
    ------
    SpecError
        When the family has no residual sd, or the spec already models sigma.
    """
    if "sigma" not in modellable_aux(spec.family):
        raise SpecError(
            f"se({column}) gives each row's known residual sd, but family {spec.family.name!r} has none; "
            "se() is for gaussian and student responses (a meta-analysis's effect sizes)"
        )
    if "sigma" in spec.aux_formulas:
        raise SpecError(f"se({column}) makes the residual sd known; a formula for sigma contradicts it: give one")
    formulas = {**spec.aux_formulas, "sigma": known_sd_formula(column)}
    return replace(spec, distributional=tuple((a, formulas[a]) for a in spec.family.aux if a in formulas))
