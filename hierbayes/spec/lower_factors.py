"""Grouping factors of group terms: ``g``, ``a:b`` (combined) and ``a/b/c`` (nested)."""

from __future__ import annotations

from typing import NoReturn

from ..errors import SpecError
from .formula_ast import Binary, Call, Expr, Name, Number, Sum
from .formula_source import FormulaSource
from .ir import GroupTerm

__all__ = ["GroupFactors"]


class GroupFactors(FormulaSource):
    """Grouping-factor lowering; a base of :class:`~hierbayes.spec.lower.Lowering`."""

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

    def fail_duplicate_group(self, term: GroupTerm, first: str, second: str) -> NoReturn:
        """Raise for a group term written twice (``first``/``second``: where it was seen)."""
        where = f"twice as {first!r}" if first == second else f"in {first!r} and in {second!r}"
        raise SpecError(
            f"duplicate group term '{term.lhs()} | {term.group}': it appears {where}; "
            f"each combination of effects and grouping factor may appear only once"
        )
