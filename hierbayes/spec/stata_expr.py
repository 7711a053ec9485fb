"""Stata expressions of ``if`` qualifiers, parsed into a small tree (no data here).

A :class:`ModelSpec` keeps a row filter (``subset``) as the text of a Stata expression:
``nstu > 4``, ``female == 1 & !missing(score)``, ``inrange(_n, 1, 100)`` (what ``in 1/100``
becomes). :mod:`hierbayes.design.subset` evaluates the tree on a DataFrame with Stata's rules.

Grammar (Stata's precedence, [U] 13.2.5, loosest first)::

    or       := and ("|" and)*
    and      := rel ("&" rel)*
    rel      := add (("==" | "!=" | "~=" | ">" | "<" | ">=" | "<=") add)*
    add      := mul (("+" | "-") mul)*
    mul      := neg (("*" | "/") neg)*
    neg      := "-" neg | pow
    pow      := not ("^" neg)?
    not      := ("!" | "~") not | atom
    atom     := number | "." | ".a".."".z" | "string" | name | name "(" args ")" | "(" or ")"

Names are variables, ``_n`` (the observation number, from 1) and ``_N`` (the number of
observations). Functions: ``missing()`` / ``mi()``, ``inlist()``, ``inrange()``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import SpecError

__all__ = ["FUNCTIONS", "Node", "expression_variables", "parse_stata_expression"]

#: function -> (minimum, maximum) number of arguments (None: any number)
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "missing": (1, None),
    "mi": (1, None),
    "inlist": (2, None),
    "inrange": (3, 3),
}
RELATIONAL = ("==", "!=", "~=", ">=", "<=", ">", "<")
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
      | (?P<missing>\.[a-z]?(?![0-9A-Za-z_]))
      | (?P<string>"[^"]*")
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op>==|!=|~=|>=|<=|[<>&|!~+\-*/^(),=])
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Node:
    """One node of an expression tree.

    kind: ``number`` (value float, None for missing), ``string`` (value str), ``name``
    (value str), ``unary`` (op, args=(operand,)), ``binary`` (op, args=(left, right)),
    ``call`` (value = function name, args).
    """

    kind: str
    value: object = None
    op: str = ""
    args: tuple[Node, ...] = ()

    def to_text(self) -> str:
        """Stata text of the node, with parentheses around every compound operand."""
        if self.kind == "number":
            return "." if self.value is None else _number_text(self.value)
        if self.kind == "string":
            return f'"{self.value}"'
        if self.kind == "name":
            return str(self.value)
        if self.kind == "call":
            return f"{self.value}({', '.join(a.to_text() for a in self.args)})"
        if self.kind == "unary":
            return f"{self.op}{_wrapped(self.args[0])}"
        left, right = self.args
        return f"{_wrapped(left)} {self.op} {_wrapped(right)}"


def _number_text(value: object) -> str:
    number = float(value)  # type: ignore[arg-type]
    return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)


def _wrapped(node: Node) -> str:
    text = node.to_text()
    compound = node.kind == "binary" or (node.kind == "unary" and node.op == "-")
    return f"({text})" if compound else text


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise SpecError(f"cannot read the expression {text!r} at {text[pos:].strip()!r}")
        kind = m.lastgroup or "op"
        out.append((kind, m.group(kind), m.start(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.i = 0

    def fail(self, message: str) -> SpecError:
        return SpecError(f"in the expression {self.text!r}: {message}")

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take_op(self, *ops: str) -> str | None:
        tok = self.peek()
        if tok is not None and tok[0] == "op" and tok[1] in ops:
            self.i += 1
            return tok[1]
        return None

    def parse(self) -> Node:
        if not self.tokens:
            raise self.fail("it is empty")
        node = self.or_()
        tok = self.peek()
        if tok is not None:
            hint = "; use == to compare" if tok[1] == "=" else ""
            raise self.fail(f"unexpected {tok[1]!r}{hint}")
        return node

    def binary(self, ops: tuple[str, ...], operand) -> Node:
        node = operand()
        while (op := self.take_op(*ops)) is not None:
            node = Node("binary", op="!=" if op == "~=" else op, args=(node, operand()))
        return node

    def or_(self) -> Node:
        return self.binary(("|",), self.and_)

    def and_(self) -> Node:
        return self.binary(("&",), self.rel)

    def rel(self) -> Node:
        return self.binary(RELATIONAL, self.add)

    def add(self) -> Node:
        return self.binary(("+", "-"), self.mul)

    def mul(self) -> Node:
        return self.binary(("*", "/"), self.neg)

    def neg(self) -> Node:
        if self.take_op("-"):
            return Node("unary", op="-", args=(self.neg(),))
        return self.pow()

    def pow(self) -> Node:
        base = self.not_()
        if self.take_op("^"):
            return Node("binary", op="^", args=(base, self.neg()))
        return base

    def not_(self) -> Node:
        if self.take_op("!", "~"):
            return Node("unary", op="!", args=(self.not_(),))
        return self.atom()

    def atom(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise self.fail("it ends too early")
        kind, value, _ = tok
        self.i += 1
        if kind == "number":
            return Node("number", float(value))
        if kind == "missing":
            return Node("number", None)
        if kind == "string":
            return Node("string", value[1:-1])
        if kind == "name":
            if self.take_op("("):
                return self.call(value)
            return Node("name", value)
        if value == "(":
            node = self.or_()
            if not self.take_op(")"):
                raise self.fail("a '(' is not closed")
            return node
        raise self.fail(f"unexpected {value!r}" + ("; use == to compare" if value == "=" else ""))

    def call(self, name: str) -> Node:
        if name not in FUNCTIONS:
            raise self.fail(f"the function {name}() is not supported; available: {sorted(FUNCTIONS)}")
        args: list[Node] = []
        if not self.take_op(")"):
            args.append(self.or_())
            while self.take_op(","):
                args.append(self.or_())
            if not self.take_op(")"):
                raise self.fail(f"the call {name}( is not closed")
        low, high = FUNCTIONS[name]
        if len(args) < low or (high is not None and len(args) > high):
            raise self.fail(f"{name}() takes {low}{'' if high == low else ' or more'} arguments, got {len(args)}")
        return Node("call", "missing" if name == "mi" else name, args=tuple(args))


def parse_stata_expression(text: str) -> Node:
    """Parse a Stata expression (the text of an ``if`` qualifier).

    Parameters
    ----------
    text : str
        E.g. ``"nstu > 4 & !missing(lrt)"``.

    Returns
    -------
    Node
        The tree; ``node.to_text()`` gives a normalised text that parses to the same tree.

    Raises
    ------
    SpecError
        For text that is not an expression, a single ``=`` or an unknown function.
    """
    return _Parser(text).parse()


def expression_variables(node: Node) -> tuple[str, ...]:
    """The data columns an expression reads (``_n`` and ``_N`` excluded), in order."""
    seen: dict[str, None] = {}
    stack = [node]
    while stack:
        current = stack.pop(0)
        if current.kind == "name" and current.value not in ("_n", "_N"):
            seen.setdefault(str(current.value), None)
        stack = list(current.args) + stack
    return tuple(seen)
