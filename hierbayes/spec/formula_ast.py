"""The formula AST: nodes with source spans, as built by :mod:`hierbayes.spec.parser`.

Every node keeps the :class:`Span` of the text it came from, so later stages (lowering, R's
term expansion, level equations) can point at the offending part of the formula.
"""

from __future__ import annotations

from dataclasses import dataclass

from .lexer import Token, is_plain_name

__all__ = [
    "BINARY_PRECEDENCE",
    "Bar",
    "Binary",
    "Call",
    "CallArg",
    "Expr",
    "Formula",
    "Name",
    "Number",
    "Paren",
    "Span",
    "Sum",
    "SumItem",
]

#: Binding power of the binary operators inside a term (``+``/``-`` bind at level 0).
BINARY_PRECEDENCE: dict[str, int] = {"*": 1, "/": 1, "%in%": 2, ":": 3, "**": 4, "^": 4}


@dataclass(frozen=True)
class Span:
    """A half-open range ``[start, end)`` of source characters."""

    start: int
    end: int

    @property
    def length(self) -> int:
        """Number of characters covered."""
        return self.end - self.start

    def to(self, other: Span) -> Span:
        """The span from the start of ``self`` to the end of ``other``."""
        return Span(self.start, other.end)

    @classmethod
    def of(cls, token: Token) -> Span:
        """The span of one token."""
        return cls(token.start, token.end)


@dataclass(frozen=True)
class Name:
    """A variable name as written (``x``, ``a.b``, ```my var```)."""

    text: str
    span: Span

    @property
    def quoted(self) -> bool:
        """Whether the name was written between backticks."""
        return self.text.startswith("`")

    @property
    def value(self) -> str:
        """The name without backticks."""
        return self.text[1:-1] if self.quoted else self.text

    @property
    def canonical(self) -> str:
        """The name with backticks only where they are needed (```my var```, ``x``)."""
        return self.value if is_plain_name(self.value) else self.text


@dataclass(frozen=True)
class Number:
    """A numeric literal (``0``, ``1``, ``2``, ``0.5``)."""

    text: str
    span: Span


@dataclass(frozen=True)
class CallArg:
    """One argument of a call: its source text (stripped) and span."""

    text: str
    span: Span


@dataclass(frozen=True)
class Call:
    """A function call kept verbatim: ``text`` is the exact source of ``name(...)``."""

    name: str
    args: tuple[CallArg, ...]
    text: str
    span: Span


@dataclass(frozen=True)
class Paren:
    """A parenthesised expression (possibly a group term ``(1 | g)``)."""

    body: Expr
    span: Span


@dataclass(frozen=True)
class Binary:
    """A binary operator other than ``+``/``-`` and ``|``: ``*``, ``/``, ``:``, ``**``, ``^``."""

    op: str
    left: Expr
    right: Expr
    op_span: Span
    span: Span


@dataclass(frozen=True)
class SumItem:
    """One signed operand of a sum; ``sign_span`` is ``None`` for an unsigned first term."""

    sign: str
    expr: Expr
    sign_span: Span | None

    @property
    def span(self) -> Span:
        """From the sign (if any) to the end of the operand."""
        start = self.sign_span if self.sign_span is not None else self.expr.span
        return start.to(self.expr.span)


@dataclass(frozen=True)
class Sum:
    """An additive expression ``a + b - 1`` (or a single term with a leading ``-``)."""

    items: tuple[SumItem, ...]
    span: Span


@dataclass(frozen=True)
class Bar:
    """``left | right`` or ``left || right``."""

    op: str
    left: Expr
    right: Expr
    op_span: Span
    span: Span


type Expr = Name | Number | Call | Paren | Binary | Sum | Bar


@dataclass(frozen=True)
class Formula:
    """A whole formula ``lhs ~ rhs``."""

    lhs: Expr
    rhs: Expr
    tilde_span: Span
    span: Span
