"""Level equations (Raudenbush & Bryk's HLM notation) -> the same ModelSpec as a formula.

One equation per line (or per keyword argument of :func:`levels`)::

    gcse ~ b0 + b1*lrt                 # level 1: every coefficient is a symbol
    b0 ~ 1 + C(schgend) | school       # level 2: random across schools (the default)
    b1 ~ 1 + C(schgend) | school       #          (write ', fixed' for non-varying)

reads as ``gcse ~ lrt + C(schgend) + lrt:C(schgend) + (1 + lrt | school)``.

Rules
-----
* The first equation is level 1. A *coefficient* is a name that is the left-hand side of
  another equation; a level-1 term ``b1*x`` says "coefficient b1 multiplies x". Other
  level-1 terms (``+ w``) are non-varying fixed effects with no equation.
* A coefficient equation ``b ~ predictors | factor [, fixed]`` gives the coefficient's
  fixed predictors (the gammas: ``1`` is the intercept; in the ``~`` form it is implicit,
  as in formulas) and the grouping factor it varies over. With a factor the coefficient is
  random unless ``, fixed`` is given; ``+ u`` may be written to make the random part
  explicit. Without a factor it is non-varying (``b1 ~ 1``).
* Several equations for one coefficient on different factors are crossed classifications
  (``b0 ~ 1 | plate`` and ``b0 ~ 1 | sample``).
* An equation whose right side uses coefficients (``p0 ~ b00 + b01*X | classroom``) is
  itself the next level's outcome: the equations of ``b00``/``b01`` are level 3, and the
  level-2 factor is nested in the level-3 one (lme4's ``school/classroom``).
* ``||`` instead of ``|`` means independent effects for that factor; ``covariance(school) =
  exchangeable`` (a line) or ``covariance={"school": ...}`` sets any structure.
* The textbook form with ``=`` is read literally: ``y_ij = b0_j + b1_j x_ij + e_ij`` and
  ``b0_j = g00 + g01*z_j + u0_j | school``. Subscripts (``_ij``, ``_j``, ``_jk``) and
  gamma symbols (``g01``, ``gamma01``) are dropped, juxtaposition multiplies, ``e_ij`` is the
  residual, a coefficient is random exactly when its ``u``/``r`` term is written, and the
  intercept only when ``g00`` (or ``1``) is. A line ``j = school`` names the factor that
  subscript ``j`` indexes, so ``| school`` can be left out.

Combined fixed terms are ordered like R orders a crossed formula: main effects (level-1
variables first, then higher levels), then two-way (cross-level) interactions, and so on.

The work is split by job: :mod:`~hierbayes.spec.levels_text` turns the text into raw
equations, :mod:`~hierbayes.spec.levels_interpret` reads their terms,
:mod:`~hierbayes.spec.levels_assemble` combines them into the ModelSpec and
:mod:`~hierbayes.spec.levels_result` holds :class:`Levels`/:class:`Equation`; this module is
the public API.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..errors import SpecError
from .ir import Covariance, ModelSpec
from .levels_assemble import assemble
from .levels_result import Equation, Levels
from .levels_text import (
    COVARIANCE_DECL,
    SUBSCRIPT_DECL,
    RawEquation,
    keyword_equation,
    parse_equation,
    split_equations,
)

__all__ = ["Equation", "Levels", "levels", "parse_levels"]


def parse_levels(
    text: str,
    *,
    family: str = "gaussian",
    link: str | None = None,
    covariance: Mapping[str, str | Covariance] | None = None,
    subscripts: Mapping[str, str] | None = None,
) -> ModelSpec:
    """Parse level equations given as one text (one equation per line or ``;``).

    Parameters
    ----------
    text : str
        The equations; the first one is level 1. Lines may start with ``Level 2:``; ``#``
        starts a comment. Lines ``covariance(school) = independent`` set a covariance
        structure and lines ``j = school`` name the factor a subscript indexes.
    family, link : str
        Response family and link, stored in the spec.
    covariance : mapping, optional
        Covariance structure per grouping factor (``{"school": "unstructured"}``).
    subscripts : mapping, optional
        Subscript letter -> grouping factor for the textbook ``=`` form (``{"j": "school"}``).

    Returns
    -------
    ModelSpec
        The same spec as the combined formula (``spec.to_formula()``), with ``spec.levels``
        holding the equations for validation and reports.

    Raises
    ------
    FormulaSyntaxError
        For a malformed equation; the message names the equation and the position.
    SpecError
        For inconsistent equations (an undefined or unused coefficient, conflicting
        nesting, ...).
    """
    if not isinstance(text, str):
        raise SpecError(f"level equations must be a string, got {type(text).__name__}")
    return _build(split_equations(text, "text"), family, link, covariance, subscripts)


def levels(
    level1: str,
    /,
    *,
    family: str = "gaussian",
    link: str | None = None,
    covariance: Mapping[str, str | Covariance] | None = None,
    subscripts: Mapping[str, str] | None = None,
    **equations: str | Sequence[str],
) -> ModelSpec:
    """Build a model from level equations, HLM style.

    Parameters
    ----------
    level1 : str
        The level-1 equation (``"gcse ~ b0 + b1*lrt"``), or all equations, one per line.
    family, link : str
        Response family and link.
    covariance : mapping, optional
        Covariance structure per grouping factor: unstructured (default for ``|``),
        independent (default for ``||``), identity or exchangeable.
    subscripts : mapping, optional
        For the textbook ``=`` form: which factor each subscript letter indexes.
    **equations : str or list of str
        One keyword per coefficient: its right-hand side and factor, ``b0="1 + z | school"``
        (or the whole equation, ``b0="b0 ~ 1 + z | school"``); a list for a coefficient that
        varies over several crossed factors: ``b0=["1 | plate", "1 | sample"]``.

    Returns
    -------
    ModelSpec
        Equal to the spec of the combined lme4 formula (up to ``source``).

    Examples
    --------
    >>> spec = levels("gcse ~ b0 + b1*lrt", b0="1 + C(schgend) | school",
    ...               b1="1 + C(schgend) | school")
    >>> spec.to_formula()
    'gcse ~ lrt + C(schgend) + lrt:C(schgend) + (1 + lrt | school)'
    """
    if not isinstance(level1, str):
        raise SpecError(f"the level-1 equation must be a string, got {type(level1).__name__}")
    parts = split_equations(level1, "text")
    for name, value in equations.items():
        values = [value] if isinstance(value, str) else list(value)
        for i, item in enumerate(values):
            if not isinstance(item, str):
                raise SpecError(f"equation for {name!r} must be a string, got {type(item).__name__}")
            where = f"keyword {name}" + (f"[{i}]" if len(values) > 1 else "")
            parts.append((keyword_equation(name, item, where), where, None))
    return _build(parts, family, link, covariance, subscripts)


def _build(
    parts: list[tuple[str, str, int | None]], family: str, link: str | None,
    covariance: Mapping[str, str | Covariance] | None, subscripts: Mapping[str, str] | None,
) -> ModelSpec:
    cov = dict(covariance or {})
    subs = dict(subscripts or {})
    raws: list[RawEquation] = []
    for text, where, label in parts:
        m = COVARIANCE_DECL.match(text)
        if m:
            cov.setdefault(m.group(1), m.group(2).lower())
            continue
        m = SUBSCRIPT_DECL.match(text)
        if m:
            subs.setdefault(m.group(1), m.group(2))
            continue
        raws.append(parse_equation(text, where, label, first=not raws))
    if not raws:
        raise SpecError("no equations given; expected a level-1 equation such as 'y ~ b0 + b1*x'")
    spec = assemble(raws, subs, cov, family, link)
    _check_labels(raws, spec.levels)
    return spec


def _check_labels(raws: list[RawEquation], lv: Levels) -> None:
    if raws[0].label not in (None, 1):
        raise SpecError(f"the first equation is level 1, but it is labelled level {raws[0].label}")
    by_text = {}
    for eq in lv.equations:
        by_text.setdefault(eq.lhs, eq.level)
    for raw in raws[1:]:
        level = by_text.get(raw.lhs_name or "")
        if raw.label is not None and level is not None and raw.label != level:
            raise SpecError(
                f"{raw.text!r} is labelled level {raw.label}, but it is a level-{level} equation "
                f"(its coefficient {raw.lhs_name!r} appears in a level-{level - 1} equation)"
            )
