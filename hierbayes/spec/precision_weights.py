"""lme4's precision weights, ``lmer(weights = w)``: residual variance sigma^2 / w_i.

``Model(..., weights="w", weight_kind="precision")`` is rewritten here, before any data are
read, into the residual sd's sub-model: ``sigma="~ 1 + offset(-0.5 * log(w))"`` (the user's
own sigma formula keeps its terms and gains the offset), so that
``log sigma_i = log sigma - log(w_i) / 2``, lme4's model and nlme's ``varFixed(~ 1 / w)``.
The weights then do not multiply the log-likelihood, and the residual sd of a row of weight 1
is ``exp(sigma_Intercept)``.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ..errors import SpecError
from .distributional import parse_aux_formula, with_distributional
from .ir import ModelSpec, modellable_aux
from .lexer import is_plain_name
from .weights import with_weights

__all__ = ["precision_offset", "precision_weights_column", "with_precision_weights", "with_weight_arguments"]


def precision_offset(column: str) -> str:
    """The sigma formula's offset for precision weights in ``column``."""
    return f"-0.5 * log({column})"


def precision_weights_column(offset: str) -> str | None:
    """The weights' column of an offset :func:`precision_offset` wrote, else None."""
    match = re.fullmatch(r"-0\.5 \* log\(([^()]+)\)", offset)
    return match.group(1) if match else None


def with_precision_weights(spec: ModelSpec, column: str | None) -> ModelSpec:
    """``spec`` with ``column`` as precision weights: an offset ``-0.5 * log(column)`` in the
    formula of ``sigma``, and no likelihood weights.

    Parameters
    ----------
    spec : the model spec (its ``y | weights(w)`` is used when ``column`` is None).
    column : the weights' column (``weights=``).

    Raises
    ------
    SpecError
        When there are no weights, the family has no residual sd, the column name needs
        quoting, or weights are given twice.
    """
    given = spec.response.weights
    if column is not None and given is not None and given != column:
        raise SpecError(
            f"level-1 weights are given twice: weights({given}) in the formula and weights={column!r}; give one"
        )
    column = column if column is not None else given
    if column is None:
        raise SpecError("weight_kind='precision' says what level-1 weights are, but the model has none; "
                        "give weights='w' (or 'y | weights(w) ~ ...')")
    if not isinstance(column, str):
        raise SpecError(f"weights= takes a column name, got {type(column).__name__}")
    if "sigma" not in modellable_aux(spec.family):
        raise SpecError(
            f"weight_kind='precision' divides the residual variance by the weights (lmer's weights=), but "
            f"family {spec.family.name!r} has no residual sd. glmer's binomial weights= are the trials: write "
            "cbind(successes, failures) or 'y | trials(n)'; for counts over an exposure use offset(log(t))"
        )
    if not is_plain_name(column):
        raise SpecError(f"weight_kind='precision': rename the weights' column {column!r} to a plain name "
                        "(letters, digits, '_' and '.'), which the sigma formula's offset can name")
    if spec.group_weights or spec.weight_scaling != "none":
        raise SpecError("weight_kind='precision' takes neither group_weights nor weight_scaling: precision "
                        "weights scale each row's residual variance, not its share of a sample")
    sigma = spec.aux_formulas.get("sigma") or parse_aux_formula("sigma", "~ 1")
    sigma = replace(sigma, fixed=replace(sigma.fixed, offsets=(*sigma.fixed.offsets, precision_offset(column))))
    plain = replace(spec, response=replace(spec.response, weights=None), weight_kind="auto")
    return with_distributional(plain, {"sigma": sigma})


def with_weight_arguments(
    spec: ModelSpec,
    weights: str | None = None,
    group_weights: dict[str, str] | None = None,
    weight_scaling: str | None = None,
    weight_method: str | None = None,
    weight_kind: str | None = None,
) -> ModelSpec:
    """``spec`` with :class:`hierbayes.Model`'s weight arguments applied (the same in a model
    file's ``[weights]`` table): precision weights become the sigma formula's offset
    (:func:`with_precision_weights`), the others go to
    :func:`hierbayes.spec.weights.with_weights`; all None leaves ``spec`` as it is.

    Raises
    ------
    SpecError
        What those two refuse.
    """
    if weight_kind == "precision":
        return with_precision_weights(with_weights(spec, None, group_weights, weight_scaling, weight_method), weights)
    if any(a is not None for a in (weights, group_weights, weight_scaling, weight_method, weight_kind)):
        return with_weights(spec, weights, group_weights, weight_scaling, weight_method, weight_kind)
    return spec
