"""R's term algebra: the fixed part of a formula expanded into terms, as ``terms()`` does.

A term is a set of factors (variables or calls such as ``I(x**2)``, ``C(g)``); the operators
combine sets of terms the way R's ``terms.formula`` does:

* ``a + b``: the union; ``a - b`` removes ``b``'s terms (only at the top level);
* ``a:b`` and ``a %in% b``: every term of ``a`` joined with every term of ``b``;
* ``a*b``: ``a + b + a:b``;
* ``a/b``: ``a`` plus every term of ``b`` joined with all the factors of ``a``
  (``a/b`` -> ``a + a:b``, ``(a + b)/c`` -> ``a + b + a:b:c``);
* ``(a + b + c)^n`` (or ``**``): all interactions of the terms up to order ``n``.

Terms are then ordered as R orders them (by their number of factors, stably). The factors
inside a term keep the order of the expansion (``age %in% Sex`` is ``age:Sex``, ``Sex/age``
is ``Sex:age``); R instead orders them by where each variable first appears in the formula
(``Sex + age %in% Sex`` is ``Sex:age`` in R), which would make ``to_formula()`` read back
differently. Only the order of the names in a column label can differ; the columns agree.

Inside a call ``^`` is R's power operator: ``I(x^2)`` is written ``I(x**2)`` for formulae.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NoReturn

from ..errors import FormulaSyntaxError
from .formula_ast import Bar, Binary, Call, Expr, Name, Number, Paren, Span, Sum, SumItem
from .lexer import TokenKind, tokenize
from .parser import parse

__all__ = ["RTerm", "TermExpander", "call_text", "expand_term_text", "power_text", "r_power_text"]

#: One term: its factors' texts, without duplicates.
type RTerm = tuple[str, ...]

_POWER_HINT = (
    "to square a number write I({base}^{n}) (or I({base}**{n})); '^' outside I() means "
    "interactions, as in (a + b + c)^2 for all terms up to two-way interactions"
)


def call_text(call: Call) -> str:
    """The source text of a call with R's power operator ``^`` written as Python's ``**``.

    Parameters
    ----------
    call : Call
        A parsed call, e.g. ``I(x^2)``.

    Returns
    -------
    str
        ``I(x**2)``; strings inside the call are left alone.
    """
    return power_text(call.text)


_PYTHON_POWER = re.compile(r"\s*\*\*\s*")
_LEVEL_LABEL = re.compile(r"(\[[^\]]*\])")


def r_power_text(text: str) -> str:
    """``text`` with Python's power ``**`` written as R's ``^`` (``I(x ** 2)`` -> ``I(x^2)``,
    as R prints a formula and lme4 names a column); level labels in brackets (``g[a]``) are
    left alone."""
    if "**" not in text:
        return text
    parts = _LEVEL_LABEL.split(text)
    return "".join(part if i % 2 else _PYTHON_POWER.sub("^", part) for i, part in enumerate(parts))


#: formulae labels the columns of ``poly(x, 2)`` as ``poly(x, 2)[0]``, ``[1]``; R as ``poly(x, 2)1``, ``2``.
_POLY_LABEL = re.compile(r"(\bpoly\((?:[^()]|\([^()]*\))*\))\[(\d+)\]")


def r_poly_text(text: str) -> str:
    """``text`` with formulae's ``poly()`` column labels numbered from 1 as R numbers them
    (``poly(x, 2)[0]`` -> ``poly(x, 2)1``, lme4's name of that column)."""
    return _POLY_LABEL.sub(lambda m: f"{m.group(1)}{int(m.group(2)) + 1}", text)


def power_text(text: str) -> str:
    """``text`` with every ``^`` operator token written as ``**`` (``n^2`` -> ``n**2``)."""
    if "^" not in text:
        return text
    pieces: list[str] = []
    last = 0
    for token in tokenize(text):
        if token.kind is TokenKind.OP and token.text == "^":
            pieces.append(text[last : token.start])
            pieces.append("**")
            last = token.end
    pieces.append(text[last:])
    return "".join(pieces)


def _union(*groups: Iterable[str]) -> RTerm:
    return tuple(dict.fromkeys(f for group in groups for f in group))


class TermExpander:
    """Expands the fixed-part operands of one formula text into R terms.

    Parameters
    ----------
    text : str
        The formula source, for error positions.
    """

    def __init__(self, text: str) -> None:
        self.text = text

    def fail(self, message: str, span: Span) -> NoReturn:
        raise FormulaSyntaxError(message, self.text, span.start, span.length)

    def source(self, node: Expr) -> str:
        return self.text[node.span.start : node.span.end]

    # -- the whole fixed part ---------------------------------------------------------------

    def fixed_terms(self, items: Iterable[SumItem]) -> tuple[str, ...]:
        """The terms of signed operands, R-ordered, as ``a:b`` texts.

        Parameters
        ----------
        items : iterable of SumItem
            The top-level operands of the right-hand side (no intercept marks, no group
            terms); a ``-`` operand removes its terms from those of the others.

        Returns
        -------
        tuple of str
            One text per term, main effects first, then two-way interactions, and so on.

        Raises
        ------
        FormulaSyntaxError
            For a removed term that no other operand adds, a number inside a term, a power
            of a single term, or a power that is not a whole number.
        """
        items = list(items)
        kept: dict[frozenset[str], RTerm] = {}
        for item in items:
            if item.sign == "+":
                for term in self.terms(item.expr):
                    kept.setdefault(frozenset(term), term)
        for item in items:
            if item.sign == "-":
                self._remove(kept, item)
        ordered = sorted(kept.values(), key=len)  # stable: order within one degree is kept
        return tuple(":".join(t) for t in ordered)

    def _remove(self, kept: dict[frozenset[str], RTerm], item: SumItem) -> None:
        for term in self.terms(item.expr):
            if kept.pop(frozenset(term), None) is None:
                present = ", ".join(":".join(t) for t in kept.values()) or "none"
                self.fail(
                    f"cannot remove {':'.join(term)!r}: it is not a term of the formula "
                    f"(terms: {present}); only the intercept ('- 1' or '0 +') or a term "
                    "added elsewhere, as in a*b - a:b, can be removed",
                    item.span,
                )

    # -- one operand ------------------------------------------------------------------------

    def terms(self, node: Expr) -> list[RTerm]:
        """The terms of one operand, as tuples of factor texts, in R's expansion order."""
        if isinstance(node, Name):
            return [(node.canonical,)]
        if isinstance(node, Call):
            if node.name == "offset":
                self.fail(
                    f"{node.text!r} must be a term of its own, added with '+' (its coefficient "
                    "is fixed at 1, so it cannot be part of an interaction)",
                    node.span,
                )
            return [(call_text(node),)]
        if isinstance(node, Number):
            self.fail(
                f"unexpected number {node.text!r}; numbers are only allowed as 0 or 1 (the "
                f"intercept) or as a power, as in (a + b)^2; use I(...) for arithmetic",
                node.span,
            )
        if isinstance(node, Paren):
            if isinstance(node.body, Bar):
                self.fail(
                    "a group term cannot be part of an interaction or product; add it to the "
                    "formula with '+', as in x + (1 | g)",
                    node.span,
                )
            return self.terms(node.body)
        if isinstance(node, Sum):
            return self._sum(node)
        if isinstance(node, Binary):
            return self._binary(node)
        self.fail(
            f"{node.op!r} is only allowed inside parentheses, as in (1 {node.op} g)",
            node.op_span,
        )

    def _sum(self, node: Sum) -> list[RTerm]:
        out: dict[frozenset[str], RTerm] = {}
        for item in node.items:
            if item.sign == "-":
                self.fail(
                    f"only the intercept or a whole term can be removed, at the top level "
                    f"(as in a*b - a:b); cannot remove {self.source(item.expr)!r} inside "
                    "parentheses",
                    item.span,
                )
            for term in self.terms(item.expr):
                out.setdefault(frozenset(term), term)
        return list(out.values())

    def _binary(self, node: Binary) -> list[RTerm]:
        if node.op in ("^", "**"):
            return self._power(node)
        left = self.terms(node.left)
        right = self.terms(node.right)
        if node.op in (":", "%in%"):
            products = [_union(a, b) for a in left for b in right]
        elif node.op == "*":
            products = [*left, *right, *(_union(a, b) for a in left for b in right)]
        else:  # '/': the right side nested in all the factors of the left side
            outer = _union(*left)
            products = [*left, *(_union(outer, b) for b in right)]
        return _distinct(products)

    def _power(self, node: Binary) -> list[RTerm]:
        base = self.terms(node.left)
        n = self._exponent(node)
        if len(base) == 1 and n > 1:
            name = self.source(node.left)
            hint = _POWER_HINT.format(base=name, n=n)
            self.fail(
                f"{self.source(node)!r} is {name!r} crossed with itself, which is just "
                f"{name!r}; {hint}",
                node.op_span,
            )
        result = list(base)
        for _ in range(n - 1):
            result = _distinct([*result, *(_union(a, b) for a in result for b in base)])
        return result

    def _exponent(self, node: Binary) -> int:
        inner = node.right
        while isinstance(inner, Paren) and not isinstance(inner.body, Bar):
            inner = inner.body
        if isinstance(inner, Number) and inner.text.isdigit() and int(inner.text) >= 1:
            return int(inner.text)
        base, power = self.source(node.left), self.source(node.right)
        self.fail(
            f"expected a whole number after {node.op!r}, as in (a + b){node.op}2, found "
            f"{power!r}; {node.op!r} outside I() means interactions: for arithmetic write "
            f"I({base}^{power})",
            node.right.span,
        )


def _distinct(terms: Iterable[RTerm]) -> list[RTerm]:
    out: dict[frozenset[str], RTerm] = {}
    for term in terms:
        out.setdefault(frozenset(term), term)
    return list(out.values())


def expand_term_text(text: str) -> tuple[RTerm, ...]:
    """The R terms of one term text of a spec (``Sex/age`` -> ``(('Sex',), ('Sex', 'age'))``).

    Used by the design stage so that formulae only ever sees ``+`` and ``:`` (its own ``/``
    and ``%in%`` disagree with R's); terms keep the order R's expansion gives them.

    Parameters
    ----------
    text : str
        One additive term as stored in a :class:`~hierbayes.spec.ir.FixedPart` or
        :class:`~hierbayes.spec.ir.GroupTerm` (``a*b``, ``(a + b + c)**2``, ``I(x^2)``).

    Returns
    -------
    tuple of RTerm
        The terms, each a tuple of factor texts, calls written for formulae (``I(x**2)``).

    Raises
    ------
    FormulaSyntaxError
        When the text is not a valid term.
    """
    prefix = "_ ~ "
    formula = parse(prefix + text)
    return tuple(TermExpander(prefix + text).terms(formula.rhs))
