"""Which random intercepts are split along their level design (:mod:`.mean_free`), and the
shifts their carried parts put on the locations of the coefficients' priors.

A term's level-constant columns are carried only where its data are rich (the planning rule
would centre it, :func:`.plan.choose_parameterization`) and its levels hold several rows each:
its effects are then drawn nearly centred, and their regression on those columns is a funnel
in the sd on a ridge with the coefficients (VerbAgg's 316 subjects of 24 answers: min bulk
ESS over every parameter 1,128 -> 3,791 at the same 31 leapfrog steps). Elsewhere the columns
buy nothing and the Jacobian's ``J k^2`` costs:
- mlmRev's guImmun, 1,595 mothers of 1-3 children (not data-rich), 10 mother-level columns:
  min ESS 698 -> 654;
- grouseticks' observation-level ``(1 | INDEX)`` (one row a level, data-rich), 3 columns:
  min ESS 1,312 -> 1,268, the sampler's gradient 8.8 -> 20 us.
Those terms carry their mean only, and beside an intercept holder (whose totals take the
mean already) they are not split at all.
"""

from __future__ import annotations

import numpy as np

from ...design.types import Design
from ...priors import PriorTable
from .blocks import split_group_effects
from .fixed import shiftable
from .imputation import has_imputation
from .lazy import pt
from .linear import weighted_column_means
from .mean_free import LOCATION_FAMILIES, LevelDesign, level_design, split_terms
from .plan import MIN_CENTRED_LEVELS, choose_parameterization

#: NUTS's target acceptance where :func:`carried_target` allows it (numpyro's and Stan's default).
TARGET_ACCEPT_CARRIED = 0.8


def level_designs(design: Design, padded: Design, plan: list[str], precision: dict, priors: PriorTable,
                  form: str, residuals, holder: int | None, nests: dict, tops) -> dict[int, LevelDesign]:
    """Term index -> its level design, for every term drawn split (:func:`.mean_free.split_terms`).

    Parameters
    ----------
    design : the model's design (its real rows and levels).
    padded : the same design padded to size buckets (or ``design`` itself): the level
        designs span its levels.
    plan, precision : the terms' parameterization and, for the adaptive ones, their data's
        precision.
    priors : the resolved priors (the intercept's and the slopes' must be location families
        to carry).
    form, residuals : the likelihood form and the residual structure.
    holder, nests, tops : the intercept holder, the nested terms (inner -> (parent, codes))
        and the integrated tops: none of them is split.
    """
    if not design.has_intercept or priors.get("Intercept").dist not in LOCATION_FAMILIES:
        return {}
    chained = set(tops) | set(nests) | {j for j, _ in nests.values()} | ({holder} if holder is not None else set())
    terms = split_terms(design.groups, plan, precision, design.has_intercept, form, residuals, chained)
    if not terms:
        return {}
    slope_idx = [j for j, n in enumerate(design.fixed_names) if n != "Intercept"]
    columns = design.X[:, slope_idx]
    columns = columns - weighted_column_means(columns, design.row_weights)
    # an imputed predictor moves with its draws: only the mean is carried then
    candidates = [] if has_imputation(design) else [
        k for k, j in enumerate(slope_idx) if shiftable(priors, design.fixed_names[j])
    ]
    out = {}
    for i in terms:
        block = design.groups[i]
        carried = candidates if carries_columns(block, design) else []
        levels = level_design(block.codes, block.n_levels, columns, carried, padded.groups[i].n_levels)
        if levels.slopes or holder is None:  # beside a holder, the mean alone is left to it
            out[i] = levels
    return out


def carries_columns(block, design: Design) -> bool:
    """Whether a split term carries its level-constant columns, not only its mean: its data are
    rich (the planning rule would centre it) and its levels hold several rows each."""
    return float(np.median(block.rows_per_level())) >= 2 and choose_parameterization(block, design) == "centered"


def carried_effects(blocks: list, splits: dict[int, LevelDesign], precision: dict, priors: PriorTable,
                    design: Design):
    """Build the split terms' effects (``blocks``: (block, names) per term of the model's
    ``design``); returns (term index -> the part of its effects the rows see, the intercept's
    shift or None, the slopes' shift or None)."""
    n_slopes = sum(name != "Intercept" for name in design.fixed_names)
    rows: dict[int, object] = {}
    intercept_shift = None
    slope_shift = pt.zeros(n_slopes) if any(levels.slopes for levels in splits.values()) else None
    for i, levels in splits.items():
        _, rows[i], carried = split_group_effects(*blocks[i], priors, precision[i], levels)
        intercept_shift = carried[0] if intercept_shift is None else intercept_shift + carried[0]
        if levels.slopes:
            slope_shift = pt.inc_subtensor(slope_shift[np.asarray(levels.slopes)], carried[1:])
    return rows, intercept_shift, slope_shift


def carried_target(design: Design, splits: dict[int, LevelDesign]) -> float | None:
    """:data:`TARGET_ACCEPT_CARRIED` where a term carries level columns and every group term
    is data-rich (the rule would centre it) with at least ``MIN_CENTRED_LEVELS`` levels, else
    None (the planning rule's target, :func:`.plan.default_target_accept`).

    The default of 0.95 is for the funnels and ridges of few or weakly informed groups. Once
    the split has taken the carried directions out, a model without such groups needs no
    smaller steps: VerbAgg (``r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)``)
    at 0.8 has 15 leapfrog steps a draw against 31 at 0.95, min bulk ESS over every
    parameter 4,435-5,196 at seeds 1-5 (4,251 at 0.95; 1,128-1,234 before the split), no
    divergence; the classic analysis with its interactions, 2,378-2,435 at seeds 1-3, R-hat
    at most 1.0091.
    """
    if not any(levels.slopes for levels in splits.values()):
        return None
    # a term that carries columns passed the rule already (carries_columns)
    rich = all(block.n_levels >= MIN_CENTRED_LEVELS
               and (i in splits and bool(splits[i].slopes) or choose_parameterization(block, design) == "centered")
               for i, block in enumerate(design.groups))
    return TARGET_ACCEPT_CARRIED if rich else None
