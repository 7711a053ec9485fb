"""Lowering of the formula AST to the :class:`~hierbayes.spec.ir.ModelSpec` IR (lme4 rules).

* Left-hand side: ``y``, ``log(y)``, ``y | trials(n)`` or ``cbind(successes, failures)``.
* Right-hand side: ``0``/``-1`` drop the intercept, ``1`` keeps it; the other operands of
  the fixed part are expanded into R's terms by :mod:`hierbayes.spec.terms` (``a*b`` ->
  ``a``, ``b``, ``a:b``; ``Sex/age`` -> ``Sex``, ``Sex:age``; ``(a + b)^2``; ``b %in% a``;
  ``a*b - a:b``), ordered as R orders them (main effects first).
* ``(lhs | factor)`` / ``(lhs || factor)`` at the top level are group terms; ``a/b`` nests
  (one group term per level), ``a:b`` combines. Slopes are kept as canonical text.
* ``offset(expr)`` at the top level of the fixed part goes to ``FixedPart.offsets`` (added to
  the linear predictor with coefficient 1), not to the terms.

Canonical text is chosen so that ``parse_formula(spec.to_formula()) == spec`` (up to
``source``): single spaces around ``+``, no spaces around ``* / : **``, ``^`` written as
``**`` (inside calls too: ``I(x^2)`` is ``I(x**2)``), parentheses only where precedence
needs them, calls otherwise verbatim.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import NoReturn

from ..errors import FormulaSyntaxError, SpecError
from .formula_ast import Bar, Call, Expr, Formula, Number, Paren, Span, Sum, SumItem
from .formula_source import is_group_term, unwrap_parens
from .ir import COVARIANCE_CALLS, Covariance, FixedPart, GroupTerm, ModelSpec
from .known_sd import with_known_sd
from .lower_factors import GroupFactors
from .lower_residuals import RESIDUAL_TERMS, ResidualTerms
from .lower_response import OFFSET, ResponseLowering
from .parser import parse
from .term_text import TermText
from .terms import TermExpander

__all__ = ["OFFSET", "Lowering", "lower", "parse_formula"]


def parse_formula(text: str, family: str = "gaussian", link: str | None = None) -> ModelSpec:
    """Parse an lme4-style formula into a :class:`ModelSpec`.

    Parameters
    ----------
    text : str
        The formula, e.g. ``"Reaction ~ Days + (Days | Subject)"``.
    family : str, default "gaussian"
        Response family name, stored in the spec unchanged.
    link : str or None, default None
        Link function name (``None``: the family's default), stored unchanged.

    Returns
    -------
    ModelSpec
        Response, fixed part and group terms; ``source`` is ``text``.

    Raises
    ------
    FormulaSyntaxError
        When the formula is malformed; ``position`` and ``length`` locate the fault.
    SpecError
        When it is well formed but inconsistent (the same group term written twice).

    Examples
    --------
    >>> spec = parse_formula("strength ~ (1|batch/cask)")
    >>> [g.group for g in spec.groups]
    ['batch', 'batch:cask']
    """
    if not isinstance(text, str):
        raise SpecError(f"a formula must be a string, got {type(text).__name__}")
    try:
        formula = parse(text)
        return lower(formula, text, family=family, link=link)
    except RecursionError:
        raise FormulaSyntaxError(
            "formula is too long or too deeply nested to parse", text, 0, len(text)
        ) from None


def lower(
    formula: Formula, text: str, family: str = "gaussian", link: str | None = None
) -> ModelSpec:
    """Turn a parsed formula into a :class:`ModelSpec`.

    Parameters
    ----------
    formula : Formula
        The AST returned by :func:`hierbayes.spec.parser.parse`.
    text : str
        The source it was parsed from (for messages and ``ModelSpec.source``).
    family : str, default "gaussian"
        Response family name.
    link : str or None, default None
        Link function name.

    Returns
    -------
    ModelSpec
        The model specification.

    Raises
    ------
    FormulaSyntaxError, SpecError
        See :func:`parse_formula`.
    """
    lowering = Lowering(text)
    response = lowering.response(formula.lhs, family=getattr(family, "name", family))
    fixed, groups = lowering.rhs(formula.rhs)
    spec = ModelSpec(response, fixed, groups, family=family, link=link, source=text,
                     residuals=lowering.residual_found)
    return spec if lowering.known_sd_found is None else with_known_sd(spec, lowering.known_sd_found)


#: survival's special terms of coxph()/survreg() formulas and how this package writes each.
SURVIVAL_TERMS = {
    "frailty": "a group's frailty is a random intercept: write (1 | {arg}) (a gaussian frailty "
               "on the model's log scale; survival's gamma frailty is not available)",
    "cluster": "clustered rows are modelled, not corrected for: write (1 | {arg}) for a random "
               "intercept of each cluster",
    "strata": "a baseline of its own per stratum (a shape per stratum) is not available with a "
              "censored response; add {arg} as a predictor (the baseline shifted by stratum)",
}


def _survival_term(name: str) -> str | None:
    """The key of :data:`SURVIVAL_TERMS` a call named ``name`` is, or None: survival's
    ``frailty.gaussian()``, ``frailty.gamma()`` and ``frailty.t()`` are its ``frailty()``."""
    return "frailty" if name.startswith("frailty.") else name if name in SURVIVAL_TERMS else None


#: brms' special terms this package does not have, and what to write instead.
BRMS_TERMS = {
    "cs": "category-specific (nominal) effects, brms' cs() and ordinal's nominal =, are not available: "
          "the cumulative family has one coefficient per term, shared by its thresholds",
    "mo": "monotonic effects (brms' mo()) are not available: use {arg} as a factor, C({arg}), or as a number",
    "s": "smooth terms (mgcv's and brms' s()) are not available: a spline basis, bs({arg}, df=4), or poly({arg}, 2) is",
    "t2": "smooth terms (mgcv's and brms' t2()) are not available: a spline basis, bs({arg}, df=4), or poly({arg}, 2) is",
    "gp": "Gaussian-process terms (brms' gp()) are not available",
    "me": "measurement-error terms (brms' me()) are not available",
    "car": "spatial terms (brms' car()) are not available",
    "sar": "spatial terms (brms' sar()) are not available",
    "fcor": "a fixed residual covariance matrix (brms' fcor()) is not available; residuals=hb.residuals(...) "
            "estimates one (ar, toeplitz, unstructured, ...)",
}


#: glmmTMB's covariance-structure terms (``ar1(0 + factor(t) | g)``) and how this package writes each.
GLMMTMB_STRUCTURES = {
    "ar1": "an AR(1) within a group is a residual structure: residuals=hb.residuals('ar', order=1, "
           "time='t', group='g') (nlme's corAR1), or brms' ar(time = t, gr = g) in the formula",
    "ou": "correlation decaying in continuous time is residuals=hb.residuals('exponential', time='t', group='g')",
    "exp": "correlation decaying in continuous time is residuals=hb.residuals('exponential', time='t', group='g')",
    "toep": "a Toeplitz structure within a group is residuals=hb.residuals('toeplitz', time='t', group='g')",
    "cs": "compound symmetry with one sd per column is not available; one sd and one common correlation (Stata's "
          "cov(exchangeable)) is homcs(x | g), or covariance={'g': 'exchangeable'} with (x | g), or "
          "residuals=hb.residuals('exchangeable', group='g') within a group",
    "us": "an unstructured group term is (x | g), the default; within a group (an MMRM), residuals=hb.residuals("
          "'unstructured', time='t', group='g'), or brms' unstr(time = t, gr = g) in the formula",
    "diag": "independent effects of a group term are (x || g)",
    "hetar1": "an AR(1) with sds by time is residuals=hb.residuals('ar', order=1, time='t', group='g', by='t')",
    "gau": "a gaussian spatial correlation is not available; residuals=hb.residuals('exponential', ...) is the "
           "continuous-time structure there is",
    "mat": "a Matern spatial correlation is not available; residuals=hb.residuals('exponential', ...) is the "
           "continuous-time structure there is",
    "rr": "reduced-rank group terms are not available",
    "propto": "a group covariance proportional to a given matrix is not available",
}


_CALL_COVARIANCE = {call: covariance for covariance, call in COVARIANCE_CALLS.items()}


def _structure_advice(call: Call) -> str:
    """How this package writes glmmTMB's / mmrm's structure term ``call``, with the term's own
    time and group names where it names one of each (``us(AVISIT | USUBJID)``: time='AVISIT',
    group='USUBJID'), else the placeholders 't' and 'g'."""
    advice = GLMMTMB_STRUCTURES[call.name]
    left, bar, right = call.args[0].text.partition("|") if len(call.args) == 1 else ("", "", "")
    terms = [t.strip() for t in left.split("+") if t.strip() not in ("0", "-1", "")]
    time = terms[0].removeprefix("factor(").removeprefix("as.factor(").removesuffix(")") if terms else ""
    group = right.strip()
    if bar and len(terms) == 1 and time.isidentifier():
        advice = advice.replace("time='t'", f"time={time!r}").replace("time = t", f"time = {time}")
    if bar and group.isidentifier():
        advice = advice.replace("gr = g", f"gr = {group}").replace("'g'", repr(group))
    return advice


@dataclass(frozen=True)
class _Additive:
    """The terms of an additive expression: intercept flag (None: not mentioned), term
    texts without duplicates, and the group terms ``(lhs | factor)`` found at its top."""

    intercept: bool | None
    terms: tuple[str, ...]
    groups: tuple[Paren, ...]


class Lowering(ResponseLowering, GroupFactors, TermText, ResidualTerms):
    """AST -> IR for one formula text (kept for error positions and snippets).

    Parameters
    ----------
    text : str
        The formula text (or one side of a level equation) the AST was parsed from.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.expander = TermExpander(text)  # R's term expansion and its checks
        self.structures: dict[Span, Covariance] = {}  # group terms written homcs(...) / homdiag(...)

    # -- right-hand side -----------------------------------------------------------------

    def rhs(self, node: Expr) -> tuple[FixedPart, tuple[GroupTerm, ...]]:
        """The fixed part (expanded into R's terms) and the group terms of the right side."""
        intercept, operands, groups, offsets = self._split(node, allow_groups=True)
        terms = self.expander.fixed_terms(operands)
        fixed = FixedPart(intercept=True if intercept is None else intercept, terms=terms, offsets=offsets)
        return fixed, self.group_terms(groups)

    def additive(self, node: Expr, allow_groups: bool) -> _Additive:
        """Split an additive expression into intercept flag, term texts and group terms."""
        intercept, operands, groups, _ = self._split(node, allow_groups)
        terms: dict[str, None] = {}
        for item in operands:
            if item.sign == "-":
                self.fail_removed_term(item)
            self.expander.terms(item.expr)  # R's checks: the errors of a term are said there
            terms.setdefault(self.term(item.expr), None)
        return _Additive(intercept, tuple(terms), groups)

    def _split(
        self, node: Expr, allow_groups: bool
    ) -> tuple[bool | None, list[SumItem], tuple[Paren, ...], tuple[str, ...]]:
        """(intercept flag, the other operands, group terms, offset expressions) of a sum."""
        intercept: bool | None = None
        operands: list[SumItem] = []
        groups: list[Paren] = []
        offsets: dict[str, None] = {}
        for item in self.signed_items(node):
            if isinstance(item.expr, Paren) and isinstance(item.expr.body, Bar):
                groups.append(self._group_item(item, item.expr, allow_groups))
                continue
            inner = unwrap_parens(item.expr)
            if isinstance(inner, Number):
                intercept = self.intercept_flag(item, inner)
            elif isinstance(inner, Call) and inner.name == OFFSET:
                offsets.setdefault(self.offset_expression(item, inner, allow_groups), None)
            elif isinstance(inner, Call) and inner.name in RESIDUAL_TERMS:  # brms' ar(), unstr(), cosy()
                self.residual_term(item, inner, allow_groups)
            elif isinstance(inner, Call) and (survival := _survival_term(inner.name)) and len(inner.args) >= 1:
                self.fail(
                    f"{inner.text!r} is survival's {inner.name}() term; here "
                    + SURVIVAL_TERMS[survival].format(arg=inner.args[0].text), inner.span,
                )
            elif isinstance(inner, Call) and inner.name in _CALL_COVARIANCE and "|" in inner.text:
                groups.append(self._group_item(item, self.structured_group(inner), allow_groups))
            elif isinstance(inner, Call) and inner.name in GLMMTMB_STRUCTURES and "|" in inner.text:
                self.fail(
                    f"{inner.text!r} is glmmTMB's (or mmrm's) covariance-structure term; here "
                    f"{_structure_advice(inner)}", inner.span,
                )
            elif isinstance(inner, Call) and inner.name in BRMS_TERMS and "|" not in inner.text:
                arg = inner.args[0].text if inner.args else "x"
                self.fail(f"{inner.text!r}: " + BRMS_TERMS[inner.name].format(arg=arg), inner.span)
            else:
                operands.append(item)
        return intercept, operands, tuple(groups), tuple(offsets)

    def offset_expression(self, item: SumItem, call: Call, in_fixed_part: bool) -> str:
        """The expression of ``offset(expr)``: one argument, added with '+', fixed part only."""
        if not in_fixed_part:
            self.fail(
                f"{call.text!r} inside a group term: an offset has no group-specific "
                "coefficient; add it to the fixed part, as in y ~ x + offset(log(t)) + (1 | g)",
                call.span,
            )
        if item.sign == "-":
            self.fail(f"an offset cannot be removed with '-'; leave {call.text!r} out", item.span)
        if len(call.args) != 1 or not call.args[0].text:
            self.fail(
                f"offset() takes one expression, as in offset(log(t)); {call.text!r} has "
                f"{len(call.args)}; sum several offsets as offset(a) + offset(b)",
                call.span,
            )
        return call.args[0].text

    def signed_items(
        self, node: Expr, sign: str = "+", sign_span: Span | None = None
    ) -> Iterator[SumItem]:
        """The signed operands of a sum, flattening ``+ (a + b)`` into ``+ a + b``."""
        if sign == "+" and isinstance(node, Sum):
            for item in node.items:
                yield from self.signed_items(item.expr, item.sign, item.sign_span)
        elif sign == "+" and isinstance(node, Paren) and not is_group_term(node):
            yield from self.signed_items(node.body, sign, sign_span)
        else:
            yield SumItem(sign, node, sign_span)

    def _group_item(self, item: SumItem, paren: Paren, allow_groups: bool) -> Paren:
        if item.sign == "-":
            self.fail("a group term cannot be removed with '-'; leave it out", item.span)
        if not allow_groups:
            self.fail(
                "group terms cannot be nested; write them side by side, as in "
                "(1 | g) + (1 | h)",
                paren.span,
            )
        return paren

    def structured_group(self, call: Call) -> Paren:
        """The group term inside ``homcs(1 + x | g)`` / ``homdiag(...)``, its covariance noted."""
        example = f"as in {call.name}(1 + x | g)"
        if len(call.args) != 1:
            self.fail(f"{call.text!r}: {call.name}() takes one group term, {example}", call.span)
        start = call.args[0].span.start  # re-parsed in place: its spans are the formula's
        try:
            paren = parse(" " * (start - 3) + "y~(" + call.args[0].text + ")").rhs
        except FormulaSyntaxError as error:
            raise FormulaSyntaxError(error.reason, self.text, error.position, error.length) from None
        if not is_group_term(paren) or paren.body.op != "|":
            self.fail(f"{call.text!r}: {call.name}() holds one group term with a single '|', {example}", call.span)
        self.structures[paren.span] = _CALL_COVARIANCE[call.name]
        return paren

    def intercept_flag(self, item: SumItem, number: Number) -> bool:
        """Whether ``+ 1`` / ``- 0`` (True) or ``+ 0`` / ``- 1`` (False) keeps the intercept."""
        if number.text not in ("0", "1"):
            self.fail_stray_number(number)
        return (number.text == "1") == (item.sign == "+")

    def fail_removed_term(self, item: SumItem) -> NoReturn:
        """Raise for ``- term``: only the intercept can be removed."""
        self.fail(
            f"only the intercept can be removed ('- 1' or '0 +'); cannot remove "
            f"{self.source(item.expr)!r}, leave it out instead",
            item.span,
        )

    # -- group terms -------------------------------------------------------------------------

    def group_terms(self, parens: tuple[Paren, ...]) -> tuple[GroupTerm, ...]:
        """One GroupTerm per ``(lhs | factor)`` and per nesting level of ``factor``."""
        seen: dict[tuple[tuple[str, ...], bool, tuple[str, ...]], str] = {}
        result: list[GroupTerm] = []
        for paren in parens:
            for term in self._group_term(paren):
                key = (term.factor, term.intercept, term.terms)
                if key in seen:
                    self.fail_duplicate_group(term, seen[key], self.source(paren))
                seen[key] = self.source(paren)
                result.append(term)
        return tuple(result)

    def _group_term(self, paren: Paren) -> list[GroupTerm]:
        bar = paren.body
        if not isinstance(bar, Bar):
            self.fail("expected a group term such as (1 | g)", paren.span)
        lhs = self.additive(bar.left, allow_groups=False)
        intercept = True if lhs.intercept is None else lhs.intercept
        if not intercept and not lhs.terms:
            self.fail(
                f"the group term {self.source(paren)!r} has no effects; expected an "
                f"intercept or slopes before {bar.op!r}, as in (1 | g)",
                bar.left.span,
            )
        size = int(intercept) + len(lhs.terms)
        independent = bar.op == "||" and size > 1
        covariance = Covariance.INDEPENDENT if independent else Covariance.UNSTRUCTURED
        if size > 1:  # one column: every structure is one sd
            covariance = self.structures.get(paren.span, covariance)
        return [
            GroupTerm(factor, intercept, lhs.terms, covariance)
            for factor in self.factors(bar.right)
        ]
