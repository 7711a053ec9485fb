"""The formula text being lowered: its errors located in the text, and AST helpers.

:class:`FormulaSource` is the base of the lowering classes (:mod:`.lower`, :mod:`.lower_response`,
:mod:`.lower_factors`, :mod:`.term_text`): each raises :class:`~hierbayes.errors.FormulaSyntaxError`
pointing at the offending span of the same text.
"""

from __future__ import annotations

from typing import NoReturn

from ..errors import FormulaSyntaxError
from .formula_ast import Bar, Expr, Paren, Span, SumItem

__all__ = ["FormulaSource", "is_group_term", "unwrap_parens"]


class FormulaSource:
    """One formula text, for error positions and snippets.

    Parameters
    ----------
    text : str
        The formula (or one side of a level equation) the AST was parsed from.
    """

    def __init__(self, text: str) -> None:
        self.text = text

    def fail(self, message: str, span: Span) -> NoReturn:
        """Raise a FormulaSyntaxError with ``message`` pointing at ``span`` of the text."""
        raise FormulaSyntaxError(message, self.text, span.start, span.length)

    def source(self, node: Expr | SumItem) -> str:
        """The text of ``node`` as the user wrote it."""
        return self.text[node.span.start : node.span.end]


def unwrap_parens(node: Expr) -> Expr:
    """``node`` without redundant parentheses (never those around a group term ``(a | g)``)."""
    while isinstance(node, Paren) and not isinstance(node.body, Bar):
        node = node.body
    return node


def is_group_term(node: Expr) -> bool:
    """Whether ``node`` is a group term ``(lhs | factor)`` / ``(lhs || factor)``."""
    return isinstance(node, Paren) and isinstance(node.body, Bar)
