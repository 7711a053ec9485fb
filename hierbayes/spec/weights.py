"""Survey and frequency weights in the spec: level-1 weights on the observations' log-likelihood
and level-2 weights on the group effects' prior contributions.

The weighted pseudo-likelihood (Pfeffermann et al. 1998, Rabe-Hesketh & Skrondal 2006; as a
pseudo-posterior, Savitsky & Williams 2016, brms' ``weights()`` and ``gr(pw = )``) multiplies
row i's log-likelihood by its level-1 weight ``w_i`` and group j's prior density of its effects
by its level-2 weight ``w_j``. Integer level-1 weights with ``weight_scaling="none"`` are
frequency weights: the posterior is that of the data with row i repeated ``w_i`` times.

Level-1 sampling weights are usually rescaled within the groups of the innermost grouping
factor (the one with most levels) before use, as Stata's ``pwscale()``:

* ``"size"``: ``w_i n_j / sum_j w`` (the weights sum to the group's size n_j);
* ``"effective"``: ``w_i sum_j w / sum_j w^2`` (they sum to the effective sample size);
* ``"none"``: as given (frequency weights; brms' default).

Level-2 weights are used as given with ``"none"``; with ``"size"`` or ``"effective"`` they are
scaled to mean 1 over the groups sampled (Savitsky & Williams' normalisation; the sandwich
adjustment of :mod:`hierbayes.results.weights_adjust` does not depend on either scale). As in Stata, level-1 weights are conditional on the
group (the inverse probability of selecting the row given that its group was selected): with
level-2 weights a row's log-likelihood is weighted by ``w_i|j w_j``, its inclusion weight
(Savitsky & Williams' pseudo-posterior). Give brms' unconditional row weights without
``group_weights``, or divide them by the group's weight.

``weight_method="pml"`` targets Stata's ``mixed [pw=] || g:, pweight()`` and WeMix instead: the
pseudo-maximum likelihood raises each group's *integrated* likelihood (its level-1 weighted
rows, effects integrated out) to the power ``w_j``. It is exact only where the group effects are
integrated analytically: a gaussian model with the identity link.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from ..errors import SpecError

__all__ = ["WEIGHT_KINDS", "WEIGHT_METHODS", "WEIGHT_SCALINGS", "check_weights", "with_weights"]

#: Values of ``weight_scaling``.
WEIGHT_SCALINGS = ("none", "size", "effective")
#: Values of ``weight_method``: Savitsky & Williams' pseudo-posterior, or Stata's / WeMix's
#: pseudo-maximum likelihood target.
WEIGHT_METHODS = ("pseudo-posterior", "pml")
#: Values of ``weight_kind``: "auto" reads unscaled whole-number level-1 weights as frequency
#: weights and others as sampling weights; "sampling" (Stata's ``[pw=]``) and "frequency"
#: (``[fw=]``) say which. Both multiply the log-likelihood; what differs is what the posterior
#: means (sampling weights' pseudo-posterior needs ``fit.adjust_intervals()``) and how LOO and
#: predictive checks count a row.
WEIGHT_KINDS = ("auto", "sampling", "frequency")
#: What ``Model(weight_kind=)`` takes: "precision" (lme4's weights) is rewritten into the
#: residual sd's formula (:mod:`hierbayes.spec.precision_weights`), never kept in a spec.
WEIGHT_KIND_ARGUMENTS = (*WEIGHT_KINDS, "precision")


def _check_method(spec) -> None:
    method = spec.weight_method
    if method not in WEIGHT_METHODS:
        raise SpecError(f"weight_method={method!r}: valid values are {list(WEIGHT_METHODS)}")
    if method != "pml":
        return
    if not spec.group_weights:
        raise SpecError(
            "weight_method='pml' raises each group's integrated likelihood to its level-2 weight, "
            "but the model has no group_weights; with level-1 weights only the pseudo-posterior "
            "already has the PML target (leave weight_method unset)"
        )
    if spec.family.name != "gaussian" or spec.link not in (None, "identity"):
        raise SpecError(
            f"weight_method='pml' needs the group effects integrated out exactly, which only a "
            f"gaussian model with the identity link does; the group effects of a {spec.family.name} "
            "model are sampled, and a sampled effect has no integrated likelihood to weight. "
            "Use weight_method='pseudo-posterior'"
        )


def check_weights(spec) -> None:
    """SpecError for weights a model cannot take: an unknown scaling, a scaling without
    level-1 weights or without groups, level-2 weights of a factor the model does not have,
    weights with a residual (R-side) structure."""
    _check_method(spec)
    if spec.weight_kind not in WEIGHT_KINDS:
        raise SpecError(f"weight_kind={spec.weight_kind!r}: valid values are {list(WEIGHT_KIND_ARGUMENTS)}")
    if spec.weight_kind != "auto" and spec.response.weights is None:
        raise SpecError(f"weight_kind={spec.weight_kind!r} says what level-1 weights are, but the model has "
                        "none; give weights='w' (or 'y | weights(w) ~ ...')")
    if spec.weight_kind == "frequency" and (spec.weight_scaling != "none" or spec.group_weights):
        raise SpecError("weight_kind='frequency': a row counted w times is not a sampled unit to rescale or "
                        "to weight by its group; frequency weights take neither weight_scaling nor group_weights")
    scaling = spec.weight_scaling
    if scaling not in WEIGHT_SCALINGS:
        raise SpecError(f"weight_scaling={scaling!r}: valid values are {list(WEIGHT_SCALINGS)}")
    if scaling != "none" and spec.response.weights is None:
        raise SpecError(
            f"weight_scaling={scaling!r} rescales level-1 weights, but the model has none; give "
            "weights='w' (or 'y | weights(w) ~ ...')"
        )
    if scaling != "none" and not spec.groups:
        raise SpecError(
            f"weight_scaling={scaling!r} rescales level-1 weights within groups, but the model "
            "has no group term; use weight_scaling='none'"
        )
    known = [g.group for g in spec.groups]
    seen: set[str] = set()
    for group, column in spec.group_weights:
        if group not in known:
            raise SpecError(
                f"group_weights given for {group!r}, which is not a grouping factor of this model; "
                f"valid names: {sorted(set(known))}"
            )
        if group in seen:
            raise SpecError(f"group_weights: {group!r} is given twice")
        if not isinstance(column, str) or not column:
            raise SpecError(f"group_weights[{group!r}] must be a column name, got {column!r}")
        seen.add(group)
    weighted = spec.response.weights is not None or spec.group_weights
    if weighted and spec.residuals is not None:
        raise SpecError(
            f"weights cannot yet be combined with residuals={spec.residuals.describe()}: a residual "
            "structure's rows are not independent, so a row's weight has no log-likelihood to scale"
        )


def with_weights(
    spec,
    weights: str | None = None,
    group_weights: Mapping[str, str] | None = None,
    weight_scaling: str | None = None,
    weight_method: str | None = None,
    weight_kind: str | None = None,
):
    """``spec`` with level-1 ``weights`` (a column name), level-2 ``group_weights``
    ({grouping factor: column}), ``weight_scaling``, ``weight_method`` and ``weight_kind`` set;
    arguments left None keep the spec's own (``y | weights(w)`` in the formula).

    Raises
    ------
    SpecError
        For level-1 weights given both in the formula and as an argument (different columns),
        a non-string column, and what :func:`check_weights` refuses.
    """
    response = spec.response
    if weights is not None:
        if not isinstance(weights, str):
            raise SpecError(f"weights= takes a column name, got {type(weights).__name__}")
        if response.weights is not None and response.weights != weights:
            raise SpecError(
                f"level-1 weights are given twice: weights({response.weights}) in the formula and "
                f"weights={weights!r}; give one"
            )
        response = dataclasses.replace(response, weights=weights)
    changes: dict = {"response": response}
    if group_weights is not None:
        if not isinstance(group_weights, Mapping):
            raise SpecError(
                "group_weights= takes a dict {grouping factor: column}, as in "
                f"group_weights={{'school': 'w2'}}; got {type(group_weights).__name__}"
            )
        changes["group_weights"] = tuple((str(k), v) for k, v in group_weights.items())
    if weight_scaling is not None:
        changes["weight_scaling"] = weight_scaling
    if weight_method is not None:
        changes["weight_method"] = weight_method
    if weight_kind is not None:
        changes["weight_kind"] = weight_kind
    return dataclasses.replace(spec, **changes)
