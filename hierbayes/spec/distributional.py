"""Distributional formulas: sub-models of a family's auxiliary parameters.

``hb.Model("y ~ x + (1|g)", data, sigma="~ x + (1|g)")`` models the residual sd by row, as
brms' ``bf(y ~ x + (1|g), sigma ~ x + (1|g))``. Each formula is one-sided (``"~ x"``; the
``~`` may be left out, and ``"sigma ~ x"`` is accepted when the name agrees) and is read by
the lme4 formula parser, so it takes everything the main formula's right-hand side takes,
offsets included (``sigma="~ 1 + offset(-0.5 * log(w))"`` is lme4's precision weights).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from ..errors import SpecError
from .ir import AuxFormula, ModelSpec, check_aux_names
from .lower import parse_formula
from .residuals import nlme_call_hint

#: Response name put in front of a one-sided formula to parse it.
_PLACEHOLDER = "aux__response"


def parse_aux_formula(name: str, text: str) -> AuxFormula:
    """Parse the one-sided formula of the auxiliary parameter ``name``.

    Parameters
    ----------
    name : the parameter (``sigma``).
    text : ``"~ x + (1|g)"``, ``"x + (1|g)"`` or ``"sigma ~ x + (1|g)"``.

    Raises
    ------
    SpecError
        When ``text`` is not a string or its left-hand side names another parameter.
    FormulaSyntaxError
        When the formula is malformed.
    """
    if not isinstance(text, str):
        raise SpecError(f"the formula for {name!r} must be a string such as '~ x', got {type(text).__name__}")
    hint = nlme_call_hint(text)
    if hint:
        raise SpecError(f"the formula for {name!r} is {text!r}, an nlme call{hint}")
    lhs, tilde, rhs = text.partition("~")
    if not tilde:
        lhs, rhs = "", text
    if lhs.strip() and lhs.strip() != name:
        raise SpecError(
            f"the formula for {name!r} is {text!r}: its left-hand side must be empty or "
            f"{name!r} (write '~ {rhs.strip()}')"
        )
    if not rhs.strip():
        raise SpecError(f"the formula for {name!r} is {text!r}: it has no right-hand side (write '~ 1' for a constant)")
    spec = parse_formula(f"{_PLACEHOLDER} ~ {rhs}")
    return AuxFormula(fixed=spec.fixed, groups=spec.groups)


def with_distributional(spec: ModelSpec, formulas: Mapping[str, str | AuxFormula]) -> ModelSpec:
    """``spec`` with the given auxiliary parameters modelled (others it models are kept).

    Raises
    ------
    SpecError
        For a name that is not a parameter of the family (naming the valid ones) and for
        a formula that does not parse.
    """
    check_aux_names(spec.family, list(formulas))
    current = spec.aux_formulas
    for name, text in formulas.items():
        current[name] = text if isinstance(text, AuxFormula) else parse_aux_formula(name, text)
    order = [a for a in spec.family.aux if a in current]
    return replace(spec, distributional=tuple((a, current[a]) for a in order))


def aux_spec(spec: ModelSpec, name: str) -> ModelSpec:
    """A ModelSpec of the sub-model of ``name`` (the main response, the sub-model's fixed
    part and group terms): what the design builds the parameter's columns from."""
    sub = spec.aux_formulas[name]
    return ModelSpec(
        response=spec.response, fixed=sub.fixed, groups=sub.groups, family=spec.family,
        link=spec.link, source=sub.to_formula(),
    )
