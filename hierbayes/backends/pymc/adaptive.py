"""The adaptive parameterization: group effects scaled by how much the data say at the
current value of their sd, so one term samples like a centred one where its groups are
data-rich and like a non-centred one where they are not, group by group.

The planning rule (:mod:`.plan`) picks centred or non-centred per term from
``k = n_j tau^2 / sigma^2``, but ``k`` moves with ``tau`` over its posterior and differs
between groups. A term with few levels has a posterior for ``tau`` spanning orders of
magnitude; centred, it diverges in the neck at the lower tail, non-centred on the ridge at
the upper tail, and no fixed choice removes both (the README's MRP model: ``(1|male:eth)``
diverged at the 0.1% quantile of its sd centred and at the 90-99% quantiles non-centred).

With ``P_j`` the data's precision on group j's effect at a pilot fit (``n_j / sigma^2`` for
a gaussian response, the summed IRLS working weights otherwise, :mod:`.plan_glm`) and
``k_j(tau) = P_j tau^2``, the effects are

    ``u_j = tau z_j / sqrt(1 + k_j(tau))``,  ``z_j ~ N(0, 1 + k_j(tau))``,

which is exactly ``u_j ~ N(0, tau^2)`` for any ``P_j >= 0`` (the change of variables is
linear in ``z_j`` given ``tau``), so the model is unchanged; only the geometry the sampler
sees moves. Where ``k_j << 1`` it is the non-centred form (``u = tau z``, ``z ~ N(0, 1)``);
where ``k_j >> 1`` it is ``u_j = z_j / sqrt(P_j)``: the effect in units of its data's
precision, whose posterior no longer depends on ``tau`` (the centred form's virtue). It is
the partially non-centred parameterization of Papaspiliopoulos, Roberts & Skold (2007) with
the weight ``k / (1 + k)`` they show to be optimal for the normal model, evaluated at the
current ``tau`` rather than fixed at an estimate (the learned weights of Gorinova, Moore &
Hoffman 2020 are a fixed compromise over ``tau``).

The pilot curvature describes a level's likelihood only where it has a mode. A level of a
binomial or count model whose rows all sit at one edge of the support (all successes, all
failures, all zero counts) has none: its likelihood is monotone in the effect, the
effect's posterior scale grows with ``tau``, and it gets ``P_j = 0`` (non-centred),
:func:`one_sided_levels`.

It applies to single-column terms (random intercepts, ``(0 + x | g)``) whose data precision
has a closed form (gaussian identity, binomial and count families), that the rule would have
centred or left non-centred: not to terms drawn around a parent (``"nested"``), integrated out
(``"marginal"`` or the top of a nested chain) or carrying the model's intercept centred.
"""

from __future__ import annotations

import numpy as np

from ...design.offsets import response_less_offset
from ...design.types import Design, GroupBlock
from ...errors import SpecError
from ...families import get_family
from .centring import crossed_interactions, nested_parent
from .plan import ADAPTIVE, FEW_LEVELS, child_information, group_means
from .plan_glm import one_sided_levels, saturated, working_group_means, working_rows


def effect_precision(block: GroupBlock, design: Design, link: str) -> np.ndarray | None:
    """(J,) the data's precision on each group's effect at a pilot fit, ``sum_i w_i W_i x_i^2``
    over the group's rows (``W_i = 1 / sigma^2`` for a gaussian response, the IRLS working
    weight otherwise; ``w_i`` the level-1 weight, so frequency weights count as repeated
    rows; ``x`` the term's column), 0 for a level whose rows sit at one edge of the response's
    support (:func:`one_sided_levels`), or None when the term has several columns or the
    family has no such weight."""
    precision = _row_precision(block, design, link)
    response_edge = get_family(design.spec.family).response_edge
    if precision is not None and response_edge is not None:
        precision[one_sided_levels(block, design, response_edge)] = 0.0
    return precision


def _row_precision(block: GroupBlock, design: Design, link: str) -> np.ndarray | None:
    if block.n_columns != 1:
        return None
    rows = np.ones(design.n_obs) if design.row_weights is None else np.asarray(design.row_weights, float)
    x2 = np.asarray(block.X[:, 0], dtype=float) ** 2
    family = get_family(design.spec.family)
    if family.normal_residuals and link == "identity":
        sigma2 = _within_variance(block, design, rows)
        if not np.isfinite(sigma2) or sigma2 <= 0:
            return None
        weight = rows * x2 / sigma2
    else:
        found = working_rows(design, link)
        if found is None:
            return None
        weight = rows * found[0] * x2
    return np.bincount(block.codes, weights=weight, minlength=block.n_levels).astype(float)


def _within_variance(block: GroupBlock, design: Design, rows: np.ndarray) -> float:
    """Weighted pooled variance of ``y - offset`` around the fixed fit within the groups."""
    y = response_less_offset(design)
    X = design.X
    root = np.sqrt(rows)
    resid = y - X @ np.linalg.lstsq(X * root[:, None], y * root, rcond=None)[0] if X.shape[1] else y - np.average(y, weights=rows)
    total = np.bincount(block.codes, weights=rows, minlength=block.n_levels)
    sums = np.bincount(block.codes, weights=rows * resid, minlength=block.n_levels)
    means = np.divide(sums, total, out=np.zeros_like(sums), where=total > 0)
    seen = int((total > 0).sum())
    return float(np.sum(rows * (resid - means[block.codes]) ** 2)) / max(float(rows.sum()) - seen, 1.0)


def adapt_plan(
    design: Design, plan: list[str], given: list[str | None], link: str, keep: set[int]
) -> tuple[list[str], dict[int, np.ndarray]]:
    """``plan`` with each chosen "centered" / "noncentered" term made "adaptive" where it
    applies, and the precision of every adaptive term (by index).

    Parameters
    ----------
    design : the model's design.
    plan : the planned parameterization per term (:func:`.plan.plan_parameterization`).
    given : what the user asked for per term (None: chosen). A term planned "adaptive" (asked
        for, or a crossed interaction by the rule of :mod:`.plan`) must be one it applies to.
    link : the resolved link.
    keep : indices left as planned (the centred intercept holder, integrated tops).
    """
    out = list(plan)
    precision: dict[int, np.ndarray] = {}
    for i, (block, how) in enumerate(zip(design.groups, plan)):
        chosen = given[i] is None and how in ("centered", "noncentered") and i not in keep
        if how != ADAPTIVE and not chosen:
            continue
        found = effect_precision(block, design, link)
        if found is None or (how == ADAPTIVE and i in keep):
            if how == ADAPTIVE:
                raise SpecError(
                    f"parameterization 'adaptive' for {block.group!r}: it applies to a one-column "
                    "term (a random intercept or (0 + x | g)) of a gaussian, binomial or count model "
                    "that is sampled on its own; use 'centered' or 'noncentered'"
                )
            continue
        out[i] = ADAPTIVE
        precision[i] = np.minimum(found, precision_through_children(i, design, link))
    return out, precision


def few_level_adaptive(design: Design, plan: list[str], given: list[str | None], link: str) -> set[int]:
    """Indices of the random intercepts of at most ``plan.FEW_LEVELS`` levels, planned centred
    by the rule, that the adaptive form takes: they are not made the centred intercept holder
    (:func:`.centring.intercept_holder`). A term of a handful of levels has an sd whose
    posterior spans orders of magnitude; centred, it diverges in the funnel's neck. MASS's
    Insurance, ``(1 | District)`` (4 districts, one far from the others), held the intercept
    centred and diverged 49, 28 and 21 times at seeds 1-3 at target acceptance 0.99; adaptive,
    with its mean absorbed by the intercept (:mod:`.mean_free`), 0 times, bulk ESS 2,256-3,148."""
    return {i for i, (block, how) in enumerate(zip(design.groups, plan))
            if how == "centered" and given[i] is None and block.is_random_intercept and block.n_levels <= FEW_LEVELS
            and effect_precision(block, design, link) is not None}


def precision_through_children(j: int, design: Design, link: str) -> np.ndarray:
    """(J,) the data's precision on the effects of term ``j`` through the terms nested in it
    (inf where none is): a child ``c`` of parent ``j`` measures ``j``'s effect with variance
    ``tau_c^2 + 1/P_c`` (its own effect's spread and its data's noise), so the parent holds
    ``sum_c 1 / (tau_c^2 + 1/P_c)``, less than its rows' ``sum_c P_c`` wherever the children
    vary. With ``tau_c`` by the children's moments within their parents
    (:func:`.plan.child_information`); the smallest over several children. guImmun's
    communities: 13 children in 10 mothers each, whose effects spread by sd 2.7 (on the logit
    scale): 2.6 by their rows, 0.9 through the mothers. A crossed interaction (``educ:age``,
    nested in two terms crossed with each other) is no such child: its cells share the other
    parent's effects, and the README's MRP model, its parents' precision taken through those
    cells (age: 202 -> 21), mixed worse (R-hat 1.015 on ``re_age``)."""
    outer = design.groups[j]
    best = np.full(outer.n_levels, np.inf)
    gaussian = get_family(design.spec.family).normal_residuals
    means_of = None if gaussian else (lambda block: working_group_means(block, design, link))
    shared = set(crossed_interactions(design))
    for i, inner in enumerate(design.groups):
        parent = nested_parent(inner, outer) if i != j and i not in shared else None
        if parent is None or inner.n_columns != 1:
            continue
        if not gaussian and saturated(inner, design):  # its spread is beyond the moments: unbounded
            best = np.zeros_like(best)
            continue
        found = group_means(inner, design) if means_of is None else means_of(inner)
        child = _row_precision(inner, design, link)
        if found is None or child is None or not found[1].any():
            continue
        n, seen, _, sigma2 = found
        ratio = child_information(inner, parent, outer.n_levels, design, means_of).ratio
        if not np.isfinite(ratio) or ratio <= 0:
            continue
        tau2 = ratio * sigma2 / float(np.median(n[seen]))
        per_child = np.divide(child, 1.0 + tau2 * child)
        best = np.minimum(best, np.bincount(parent, weights=per_child, minlength=outer.n_levels))
    return best

