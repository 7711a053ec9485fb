"""Interpretation of raw level equations, one job: what each term of an equation means.

Once the coefficient symbols are known (the left sides of the equations), reads every term as
a coefficient times a carrier, a gamma (fixed predictor), an intercept, a random ``u`` or a
residual ``e``, giving :class:`TermItem` lists and one :class:`CoefficientEquation` per coefficient equation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import Any, NoReturn

from ..errors import FormulaSyntaxError
from .formula_ast import Bar, Binary, Call, Expr, Name, Number, Paren, Sum, SumItem
from .formula_source import unwrap_parens
from .levels_text import RawEquation, located_errors
from .lower import OFFSET

__all__ = ["CoefficientEquation", "Interpreter", "TermItem"]

_GAMMA = re.compile(r"^(g|gamma|γ)_?\d+$")
_COEFFICIENT_LIKE = re.compile(r"^(b|beta|β|p|pi|π)_?\d+$")
_RANDOM_MARKER = re.compile(r"^[ur]_?\d*$")
_RESIDUAL = re.compile(r"^(e|r|eps|epsilon|ε)_?\d*$")


@dataclass
class TermItem:
    """One term of an equation's right side, as understood.

    kind : "intercept", "coef" (a coefficient times a carrier), "term" (a fixed predictor),
        "random" (a ``u``) or "offset".
    value : True/False for an intercept; (symbol, carrier) for a coefficient; the term's
        components for a predictor; the expression for an offset.
    node : the AST node, for error positions.
    """

    kind: str  # "intercept", "coef", "term", "random", "offset"
    value: Any = None  # bool for intercept; (symbol, carrier) for coef; components for term;
    # the expression for offset
    node: Any = None
    name: str | None = None  # the gamma (g01) or random term (u0) as written


@dataclass
class CoefficientEquation:
    """One coefficient equation (level 2 and up) with its terms read.

    raw : the parsed equation; symbol : its coefficient (``b0``); items : its terms;
    intercept / random : whether it has its own gamma / a ``u`` term; level, multiplies,
    prefix and group are filled in by the assembly (nesting, gamma labels).
    """

    raw: RawEquation
    symbol: str
    items: list[TermItem]
    intercept: bool
    random: bool
    level: int = 0
    multiplies: tuple[str, ...] = ()
    prefix: str = ""
    group: tuple[str, ...] = ()


def _star_operands(node: Expr) -> list[Expr]:
    node = unwrap_parens(node)
    if isinstance(node, Binary) and node.op == "*":
        return [*_star_operands(node.left), *_star_operands(node.right)]
    return [node]


class Interpreter:
    """Reads the terms of every equation once the coefficient symbols are known."""

    def __init__(self, raws: list[RawEquation], subscripts: Mapping[str, str]) -> None:
        self.subscripts = dict(subscripts)
        self.symbols = {r.lhs_name for r in raws[1:] if r.lhs_name is not None}

    # -- atoms -------------------------------------------------------------------------

    def _fail(self, raw: RawEquation, role: str, message: str, node: Any) -> NoReturn:
        span = node.span
        raise FormulaSyntaxError(f"{role}: {message}", raw.text, span.start, span.length)

    def _name(self, node: Expr) -> str | None:
        node = unwrap_parens(node)
        if isinstance(node, Name) and not node.quoted:
            return node.value
        return None

    def components(self, raw: RawEquation, role: str, node: Expr) -> tuple[str, ...]:
        """``a:b:C(g)`` -> ("a", "b", "C(g)"), rejecting what cannot be a product."""
        node = unwrap_parens(node)
        if isinstance(node, Binary) and node.op == ":":
            return self.components(raw, role, node.left) + self.components(raw, role, node.right)
        if isinstance(node, Name):
            return (node.canonical,)
        if isinstance(node, Call) and raw.form == "=":  # blanked subscripts leave spaces
            return (re.sub(r"\s+([),\]])", r"\1", node.text),)
        if isinstance(node, Call):
            return (node.text,)
        if isinstance(node, Number):
            self._fail(raw, role, f"unexpected number {node.text!r} inside a product", node)
        if isinstance(node, Sum | Paren):
            self._fail(raw, role, "write sums inside products out term by term (x:a + x:b)", node)
        if isinstance(node, Binary) and node.op == "/":
            self._fail(raw, role, "'/' is not used in level equations; write a + a:b", node)
        if isinstance(node, Binary):
            self._fail(raw, role, f"operator {node.op!r} is not allowed here; use I(...) for arithmetic", node)
        self._fail(raw, role, "unexpected term", node)

    def crossing(self, raw: RawEquation, role: str, operands: list[Expr]) -> list[tuple[str, ...]]:
        """``a*b*c`` -> a, b, c, a:b, a:c, b:c, a:b:c (R's order)."""
        parts = [self.components(raw, role, op) for op in operands]
        out = []
        for size in range(1, len(parts) + 1):
            for combo in combinations(parts, size):
                out.append(tuple(c for part in combo for c in part))
        return out

    # -- one equation --------------------------------------------------------------------

    def numbered(self, raw: RawEquation, role: str, symbol: str, items: list[TermItem]) -> list[TermItem]:
        """A textbook equation's items in the order of their gammas' numbers, checked against
        the coefficient's: b1's gammas are g10, g11, ... and its random term u1, as HLM numbers
        them. The summary labels a predictor by its position (``g01`` the first), so the user's
        ``g02*catholic + g01*meanses`` had shown catholic as g01; ``g11`` in b0's equation and
        ``u1`` in b0's had passed unchecked."""
        index = re.fullmatch(r"(?:b|beta|β|p|pi|π)_?(\d+)", symbol)
        if index is None:
            return items
        k = index.group(1)
        numbers: dict[int, int] = {}
        for position, item in enumerate([self.intercept_gamma, *items]):
            if item is None or item.name is None:
                continue
            digits = re.sub(r"\D", "", item.name)
            if item.kind == "random":
                if digits and digits != k:
                    self._fail(raw, role, f"random term {item.name!r} in the equation of {symbol}: its random "
                                          f"term is u{k}", item.node)
                continue
            if len(digits) != len(k) + 1 or not digits.startswith(k):
                self._fail(raw, role, f"gamma {item.name!r} in the equation of {symbol}: its gammas are "
                                      f"g{k}0 (the intercept), g{k}1, g{k}2, ...", item.node)
            m = int(digits[-1])
            if (m == 0) != (item.kind == "intercept") or m in numbers.values():
                what = "the intercept's gamma" if item.kind == "intercept" else "a predictor's gamma"
                self._fail(raw, role, f"gamma {item.name!r} in the equation of {symbol}: {what} is "
                                      f"{'g' + k + '0' if item.kind == 'intercept' else 'numbered from ' + 'g' + k + '1'}, "
                                      "each number once", item.node)
            numbers[position] = m
        gammas = sorted(m for m in numbers.values() if m)
        if gammas and gammas != list(range(1, len(gammas) + 1)):
            self._fail(raw, role, f"the gammas of {symbol} skip a number ({', '.join(f'g{k}{m}' for m in gammas)}): "
                                  f"number them g{k}1, g{k}2, ... as the summary labels them", raw.rhs)
        order = {id(item): numbers.get(position + 1, 0) for position, item in enumerate(items)}
        return sorted(items, key=lambda item: order[id(item)] if item.kind == "term" and item.name else 0)

    def items(self, raw: RawEquation, level1: bool, role: str) -> tuple[list[TermItem], bool | None]:
        out: list[TermItem] = []
        intercept: bool | None = None
        for item in raw.lowering.signed_items(raw.rhs):
            expr = item.expr
            if isinstance(expr, Paren) and isinstance(expr.body, Bar):
                self._fail(
                    raw, role,
                    "group terms like (1 | g) are not written in level equations; put the "
                    "factor after '|' at the end, as in 'b0 ~ 1 + z | school'", expr,
                )
            inner = unwrap_parens(expr)
            if isinstance(inner, Number):
                with located_errors(raw.text, role):
                    intercept = raw.lowering.intercept_flag(item, inner)
                continue
            if isinstance(inner, Call) and inner.name == OFFSET:
                if not level1:
                    self._fail(
                        raw, role, f"{inner.text!r}: an offset belongs in the level-1 equation, "
                        "as in 'y ~ b0 + b1*x + offset(log(t))'", inner,
                    )
                with located_errors(raw.text, role):
                    out.append(TermItem("offset", raw.lowering.offset_expression(item, inner, True), inner))
                continue
            if item.sign == "-":
                with located_errors(raw.text, role):
                    raw.lowering.fail_removed_term(item)
            out.extend(self.item(raw, level1, role, item, inner))
            if out and out[-1].kind == "intercept":
                intercept = True
                self.intercept_gamma = out.pop()
        return out, intercept

    def item(self, raw: RawEquation, level1: bool, role: str, item: SumItem, inner: Expr) -> list[TermItem]:
        operands = _star_operands(inner)
        names = [self._name(op) for op in operands]
        symbols = [i for i, n in enumerate(names) if n in self.symbols]
        gammas = [i for i, n in enumerate(names) if n is not None and n not in self.symbols and _GAMMA.match(n)]
        if len(operands) == 1 and names[0] is not None and not symbols and not gammas:
            name = names[0]
            if not level1 and _RANDOM_MARKER.match(name):
                return [TermItem("random", True, inner, name)]
            if level1 and raw.form == "=" and _RESIDUAL.match(name):
                return []
            if level1 and raw.form == "=" and re.fullmatch(r"u_?\d*", name):
                self._fail(
                    raw, role, "random terms (u) belong in the coefficient equations; the "
                    "level-1 residual is written e or r", inner,
                )
        if len(symbols) > 1:
            self._fail(raw, role, "a term can hold only one coefficient", inner)
        if symbols and gammas:
            self._fail(raw, role, "a term cannot have both a coefficient and a gamma", inner)
        for i, n in enumerate(names):
            if i not in symbols and i not in gammas and n is not None and _COEFFICIENT_LIKE.match(n):
                self._fail(
                    raw, role,
                    f"{n!r} looks like a coefficient, but no equation defines it; add one such "
                    f"as '{n} ~ 1 | <factor>' (random) or '{n} ~ 1' (non-varying), or write "
                    f"`{n}` in backticks if it is a data column",
                    operands[i],
                )
        if symbols:
            rest = [op for i, op in enumerate(operands) if i != symbols[0]]
            carrier = tuple(c for op in rest for c in self.components(raw, role, op))
            return [TermItem("coef", (names[symbols[0]], carrier), inner)]
        if gammas:
            rest = [op for i, op in enumerate(operands) if i != gammas[0]]
            if len(gammas) > 1:
                self._fail(raw, role, "a term can hold only one gamma", inner)
            if not rest:
                return [TermItem("intercept", True, inner, names[gammas[0]])]
            carrier = tuple(c for op in rest for c in self.components(raw, role, op))
            return [TermItem("term", carrier, inner, names[gammas[0]])]
        return [TermItem("term", comps, inner) for comps in self.crossing(raw, role, operands)]

    def equation(self, raw: RawEquation) -> CoefficientEquation:
        symbol = raw.lhs_name or ""
        role = f"equation for {symbol} ({raw.where})"
        if raw.lhs_name is None:
            self._fail(raw, f"equation ({raw.where})", "the left side of a coefficient equation must be one name", raw.lhs)
        self.intercept_gamma = None
        items, intercept = self.items(raw, level1=False, role=role)
        if raw.form == "=":
            items = self.numbered(raw, role, symbol, items)
        explicit_random = any(i.kind == "random" for i in items)
        items = [i for i in items if i.kind != "random"]
        factor = raw.factor
        if not factor and raw.lhs_subscript and raw.form == "=":
            letter = raw.lhs_subscript[0]
            if letter in self.subscripts:
                factor = tuple(self.subscripts[letter].split(":"))
        if "fixed" in raw.options and explicit_random:
            self._fail(raw, role, "has a random term 'u' but is marked ', fixed'", raw.lhs)
        base_coef = next((i for i in items if i.kind == "coef" and not i.value[1]), None)
        if base_coef is not None and intercept:
            self._fail(
                raw, role, f"has both an intercept and the intercept coefficient "
                f"{base_coef.value[0]!r}; write one of them", base_coef.node,
            )
        if raw.form == "=":
            random = explicit_random or "random" in raw.options
            if intercept is None:
                intercept = False
        else:
            random = bool(factor) and "fixed" not in raw.options
            random = random or explicit_random or "random" in raw.options
            if intercept is None:
                intercept = base_coef is None
        if random and not factor:
            hint = (
                f"; subscript {raw.lhs_subscript[0]!r} is not declared: add a line "
                f"'{raw.lhs_subscript[0]} = <factor>'" if raw.lhs_subscript else ""
            )
            self._fail(
                raw, role,
                f"a random coefficient needs a grouping factor: end the equation with '| <factor>', "
                f"as in '{symbol} ~ 1 | school'{hint}", raw.rhs,
            )
        raw.factor = factor
        return CoefficientEquation(raw, symbol, items, intercept, random)
