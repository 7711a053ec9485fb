"""Canonical text of one additive term (``a:b``, ``(a + b):c``, ``I(x**2)``).

Single spaces around ``+``, none around ``* / : **``, ``^`` written ``**``, parentheses only
where precedence needs them (see :mod:`hierbayes.spec.lower`).
"""

from __future__ import annotations

from typing import NoReturn

from .formula_ast import BINARY_PRECEDENCE, Binary, Call, Expr, Name, Number, Paren, Sum, SumItem
from .formula_source import FormulaSource, unwrap_parens
from .terms import call_text

__all__ = ["TermText"]

_ATOM_PRECEDENCE = 99
_SUM_PRECEDENCE = 0


def _precedence(node: Expr) -> int:
    if isinstance(node, Sum):
        return _SUM_PRECEDENCE
    if isinstance(node, Binary):
        return BINARY_PRECEDENCE[node.op]
    return _ATOM_PRECEDENCE


class TermText(FormulaSource):
    """Term text rendering; a base of :class:`~hierbayes.spec.lower.Lowering`."""

    # -- term text -------------------------------------------------------------------------

    def term(self, node: Expr) -> str:
        """Canonical text of one additive term (``a:b``, ``(a + b):c``, ``I(x**2)``) that
        :class:`~.terms.TermExpander` has already checked."""
        if isinstance(node, Name):
            return node.canonical
        if isinstance(node, Call):
            return call_text(node)
        if isinstance(node, Number):
            self.fail_stray_number(node)
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
        inner = unwrap_parens(child)
        child_prec, prec = _precedence(inner), BINARY_PRECEDENCE[op]
        # formulae reads '*' and '/' at one level: keep 'a*(b/c)' explicit for it.
        crossing_nest = op == "*" and isinstance(inner, Binary) and inner.op == "/"
        needs = child_prec < prec or (right_side and (child_prec == prec or crossing_nest))
        return f"({text})" if needs else text

    def _exponent(self, node: Expr) -> str:
        inner = unwrap_parens(node)
        if isinstance(inner, Number) and inner.text.isdigit() and int(inner.text) >= 1:
            return str(int(inner.text))
        self.fail(
            f"expected a whole number after '**', as in (a + b)**2, found {self.source(node)!r}",
            node.span,
        )

    def fail_stray_number(self, number: Number) -> NoReturn:
        """Raise for a number that is neither the intercept (0/1) nor a power."""
        self.fail(
            f"unexpected number {number.text!r}; numbers are only allowed as 0 or 1 (the "
            f"intercept) or as a power, as in (a + b)**2; use I(...) for arithmetic",
            number.span,
        )
