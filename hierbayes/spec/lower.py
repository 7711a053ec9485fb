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
from .ir import Covariance, FixedPart, GroupTerm, ModelSpec, Response
from .parser import (
    BINARY_PRECEDENCE,
    Bar,
    Binary,
    Call,
    Expr,
    Formula,
    Name,
    Number,
    Paren,
    Span,
    Sum,
    SumItem,
    parse,
)
from .terms import TermExpander, call_text, power_text

__all__ = ["lower", "parse_formula"]

_ATOM_PRECEDENCE = 99
#: ``offset(expr)``: added to the linear predictor with coefficient 1 (FixedPart.offsets).
OFFSET = "offset"
_SUM_PRECEDENCE = 0


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
    lowering = _Lowering(text)
    response = lowering.response(formula.lhs)
    fixed, groups = lowering.rhs(formula.rhs)
    return ModelSpec(response, fixed, groups, family=family, link=link, source=text)


@dataclass(frozen=True)
class _Additive:
    """The terms of an additive expression: intercept flag (None: not mentioned), term
    texts without duplicates, and the group terms ``(lhs | factor)`` found at its top."""

    intercept: bool | None
    terms: tuple[str, ...]
    groups: tuple[Paren, ...]


def _unwrap(node: Expr) -> Expr:
    """Strip redundant parentheses (but never those around a group term)."""
    while isinstance(node, Paren) and not isinstance(node.body, Bar):
        node = node.body
    return node


def _is_group(node: Expr) -> bool:
    return isinstance(node, Paren) and isinstance(node.body, Bar)


def _precedence(node: Expr) -> int:
    if isinstance(node, Sum):
        return _SUM_PRECEDENCE
    if isinstance(node, Binary):
        return BINARY_PRECEDENCE[node.op]
    return _ATOM_PRECEDENCE


class _Lowering:
    """AST -> IR for one formula text (kept for error positions and snippets)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.expander = TermExpander(text)  # R's term expansion and its checks

    def fail(self, message: str, span: Span) -> NoReturn:
        raise FormulaSyntaxError(message, self.text, span.start, span.length)

    def source(self, node: Expr | SumItem) -> str:
        return self.text[node.span.start : node.span.end]

    # -- response ------------------------------------------------------------------------

    def response(self, node: Expr) -> Response:
        """The left-hand side: ``y``, ``log(y)``, ``y | trials(n)``, ``cbind(s, f)``."""
        node = _unwrap(node)
        if isinstance(node, Bar):
            return self._trials_response(node)
        if isinstance(node, Call) and node.name == "cbind":
            return self._cbind_response(node)
        return Response(self._response_expr(node))

    def _response_expr(self, node: Expr) -> str:
        node = _unwrap(node)
        if isinstance(node, Name):
            return node.canonical
        if isinstance(node, Call) and node.name == "trials":
            self.fail(
                "trials(...) goes after the response, as in 'y | trials(n) ~ x'", node.span
            )
        if isinstance(node, Call) and node.name == OFFSET:
            self.fail(
                f"{node.text!r} cannot be the response; an offset goes on the right-hand "
                "side, as in 'y ~ x + offset(log(t))'",
                node.span,
            )
        if isinstance(node, Call):
            return call_text(node)
        self._not_a_response(node)

    def _not_a_response(self, node: Expr) -> NoReturn:
        hint = f"; wrap arithmetic in I(...), as in I({self.source(node)})"
        if isinstance(node, Binary):
            self.fail(
                f"the response must be one variable or a call such as log(y); found "
                f"operator {node.op!r}{hint}",
                node.op_span,
            )
        if isinstance(node, Sum):
            item = node.items[1] if len(node.items) > 1 else node.items[0]
            sign = item.sign_span if item.sign_span is not None else node.span
            self.fail(
                "the response must be one variable or a call such as log(y); found "
                f"{item.sign!r}; several responses are not supported{hint}",
                sign,
            )
        if isinstance(node, Number):
            self.fail(f"expected a response variable, found the number {node.text!r}", node.span)
        self.fail("a group term cannot be the response", node.span)

    def _trials_response(self, bar: Bar) -> Response:
        if bar.op != "|":
            self.fail("expected '|' before trials(...) in the response, found '||'", bar.op_span)
        left = _unwrap(bar.left)
        if isinstance(left, Call) and left.name == "cbind":
            self.fail(
                "use either cbind(successes, failures) or 'y | trials(n)', not both",
                bar.op_span,
            )
        expr = self._response_expr(left)
        right = _unwrap(bar.right)
        if not (isinstance(right, Call) and right.name == "trials"):
            self.fail(
                f"expected trials(n) after '|' in the response, found {self.source(right)!r}",
                right.span,
            )
        if len(right.args) != 1:
            self.fail(
                "trials() takes one argument: the column of the number of trials", right.span
            )
        return Response(expr, trials=power_text(right.args[0].text))

    def _cbind_response(self, call: Call) -> Response:
        if len(call.args) != 2:
            self.fail(
                f"cbind() takes two arguments, cbind(successes, failures); got {len(call.args)}",
                call.span,
            )
        return Response(power_text(call.args[0].text), failures=power_text(call.args[1].text))

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
                self._removed_term(item)
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
        for item in self._items(node):
            if isinstance(item.expr, Paren) and isinstance(item.expr.body, Bar):
                groups.append(self._group_item(item, item.expr, allow_groups))
                continue
            inner = _unwrap(item.expr)
            if isinstance(inner, Number):
                intercept = self._intercept(item, inner)
            elif isinstance(inner, Call) and inner.name == OFFSET:
                offsets.setdefault(self.offset_expression(item, inner, allow_groups), None)
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

    def _items(
        self, node: Expr, sign: str = "+", sign_span: Span | None = None
    ) -> Iterator[SumItem]:
        """The signed operands of a sum, flattening ``+ (a + b)`` into ``+ a + b``."""
        if sign == "+" and isinstance(node, Sum):
            for item in node.items:
                yield from self._items(item.expr, item.sign, item.sign_span)
        elif sign == "+" and isinstance(node, Paren) and not _is_group(node):
            yield from self._items(node.body, sign, sign_span)
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

    def _intercept(self, item: SumItem, number: Number) -> bool:
        if number.text not in ("0", "1"):
            self._stray_number(number)
        return (number.text == "1") == (item.sign == "+")

    def _removed_term(self, item: SumItem) -> NoReturn:
        self.fail(
            f"only the intercept can be removed ('- 1' or '0 +'); cannot remove "
            f"{self.source(item.expr)!r}, leave it out instead",
            item.span,
        )

    def _stray_number(self, number: Number) -> NoReturn:
        self.fail(
            f"unexpected number {number.text!r}; numbers are only allowed as 0 or 1 (the "
            f"intercept) or as a power, as in (a + b)**2; use I(...) for arithmetic",
            number.span,
        )

    # -- term text -------------------------------------------------------------------------

    def term(self, node: Expr) -> str:
        """Canonical text of one additive term (``a:b``, ``(a + b):c``, ``I(x**2)``) that
        :class:`~.terms.TermExpander` has already checked."""
        if isinstance(node, Name):
            return node.canonical
        if isinstance(node, Call):
            return call_text(node)
        if isinstance(node, Number):
            self._stray_number(node)
        if isinstance(node, Paren):
            return self._paren_term(node)
        if isinstance(node, Sum):
            return " + ".join(self._sum_item_term(item) for item in node.items)
        return self._binary_term(node)

    def _paren_term(self, node: Paren) -> str:
        return self.term(node.body)

    def _sum_item_term(self, item: SumItem) -> str:
        return self.term(item.expr)

    def _binary_term(self, node: Binary) -> str:
        op = "**" if node.op == "^" else node.op
        left = self._operand_term(node.left, op, right_side=False)
        if op == "**":
            return f"{left}**{self._exponent(node.right)}"
        right = self._operand_term(node.right, op, right_side=True)
        return f"{left}{op}{right}"

    def _operand_term(self, child: Expr, op: str, right_side: bool) -> str:
        text = self.term(child)
        inner = _unwrap(child)
        child_prec, prec = _precedence(inner), BINARY_PRECEDENCE[op]
        # formulae reads '*' and '/' at one level: keep 'a*(b/c)' explicit for it.
        crossing_nest = op == "*" and isinstance(inner, Binary) and inner.op == "/"
        needs = child_prec < prec or (right_side and (child_prec == prec or crossing_nest))
        return f"({text})" if needs else text

    def _exponent(self, node: Expr) -> str:
        inner = _unwrap(node)
        if isinstance(inner, Number) and inner.text.isdigit() and int(inner.text) >= 1:
            return str(int(inner.text))
        self.fail(
            f"expected a whole number after '**', as in (a + b)**2, found {self.source(node)!r}",
            node.span,
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
                    self._duplicate_group(term, seen[key], self.source(paren))
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
        return [
            GroupTerm(factor, intercept, lhs.terms, covariance)
            for factor in self.factors(bar.right)
        ]

    def _duplicate_group(self, term: GroupTerm, first: str, second: str) -> NoReturn:
        where = f"twice as {first!r}" if first == second else f"in {first!r} and in {second!r}"
        raise SpecError(
            f"duplicate group term '{term.lhs()} | {term.group}': it appears {where}; "
            f"each combination of effects and grouping factor may appear only once"
        )

    # -- grouping factors ----------------------------------------------------------------------

    def factors(self, node: Expr) -> list[tuple[str, ...]]:
        """The grouping factors of ``g``, ``a:b`` or nested ``a/b/c`` (one per level)."""
        if isinstance(node, Binary) and node.op == "/":
            chain = self.factors(node.left)
            return [*chain, self._join(chain[-1], self._factor(node.right), node)]
        return [self._factor(node)]

    def _factor(self, node: Expr) -> tuple[str, ...]:
        if isinstance(node, Name):
            return (node.canonical,)
        if isinstance(node, Binary) and node.op == ":":
            return self._join(self._factor(node.left), self._factor(node.right), node)
        self._bad_factor(node)

    def _join(self, left: tuple[str, ...], right: tuple[str, ...], node: Binary) -> tuple[str, ...]:
        for name in right:
            if name in left:
                self.fail(f"{name!r} appears twice in the grouping factor", node.span)
        return left + right

    def _bad_factor(self, node: Expr) -> NoReturn:
        usage = "use a:b to combine factors or a/b to nest b in a"
        if isinstance(node, Number):
            self.fail(
                f"expected a grouping factor (a column name), found the number {node.text!r}",
                node.span,
            )
        if isinstance(node, Call):
            self.fail(
                f"a grouping factor must be a column name, found the call {node.text!r}; "
                f"compute it in the data first",
                node.span,
            )
        if isinstance(node, Sum):
            item = node.items[1] if len(node.items) > 1 else node.items[0]
            self.fail(
                f"a group term has one grouping factor, found {item.sign!r}; {usage}, or "
                f"write two group terms",
                item.sign_span if item.sign_span is not None else node.span,
            )
        if isinstance(node, Binary):
            self.fail(
                f"operator {node.op!r} is not allowed in a grouping factor; {usage}",
                node.op_span,
            )
        self.fail(
            f"expected a grouping factor name after '|', found {self.source(node)!r}; {usage}",
            node.span,
        )
