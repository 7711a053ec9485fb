"""Operator-precedence parser of lme4-style formulas into a small AST with source spans.

Precedence, lowest to highest::

    ~            response ~ predictors (exactly one)
    | ||         group term, only inside parentheses (and ``y | trials(n)`` on the left)
    + -          additive terms; a leading '-' is allowed (``-1 + x``)
    * /          crossing and nesting (one level, as in R: ``a*b/c`` is ``(a*b)/c``)
    %in%         nesting (``b %in% a``)
    :            interaction
    ** ^         power (``(a + b)**2``)

All binary operators are left-associative. Function calls ``name(...)`` are atoms: their
arguments are checked for balance and split at top-level commas, and the exact source text
of the call is kept (``I(x**2)``, ``C(period, Sum)``).

The parser only checks the shape of the formula; what the shapes mean (intercept, group
terms, grouping factors) is decided by :mod:`hierbayes.spec.lower`.
"""

from __future__ import annotations

from typing import NoReturn

from ..errors import FormulaSyntaxError
from . import formula_ast
from .formula_ast import (
    BINARY_PRECEDENCE,
    Bar,
    Binary,
    Call,
    CallArg,
    Expr,
    Formula,
    Name,
    Number,
    Paren,
    Span,
    Sum,
    SumItem,
)
from .lexer import (
    CALL_ONLY_OPERATORS,
    CLOSERS,
    OPENERS,
    Token,
    TokenKind,
    tokenize,
)

# The AST types are re-exported: callers that parse also name the nodes.
__all__ = [*formula_ast.__all__, "MAX_NESTING", "parse"]

#: Deepest bracket nesting accepted (protects the recursive descent).
MAX_NESTING = 64

_BARS = ("|", "||")
_TERM_PRECEDENCE = min(BINARY_PRECEDENCE.values())  # operands of '+'/'-' start here

#: How brms' ``bf(y ~ ..., sigma ~ ...)`` is written here (the parser's errors say it).
BRMS_BF_ADVICE = ("write the main formula alone and each auxiliary parameter's formula as a keyword, "
                  "as in hb.Model(\"y ~ x + (1 | g)\", data, sigma=\"~ x\") (also nu=, phi=, shape=)")


# --------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------


def parse(text: str) -> Formula:
    """Parse a formula into its AST.

    Parameters
    ----------
    text : str
        The formula source, e.g. ``"Reaction ~ Days + (Days | Subject)"``.

    Returns
    -------
    Formula
        The AST; every node carries its source span.

    Raises
    ------
    FormulaSyntaxError
        When the text is not a well-formed formula; ``position`` points at the offending
        token (the unmatched bracket, the doubled or trailing operator, ...).
    """
    tokens = tokenize(text)
    check_brackets(text, tokens)
    return _Parser(text, tokens).formula()


def check_brackets(text: str, tokens: list[Token]) -> None:
    """Check that ``( ) [ ] { }`` are balanced and properly nested.

    Parameters
    ----------
    text : str
        The formula source (for the error message).
    tokens : list of Token
        Its tokens.

    Raises
    ------
    FormulaSyntaxError
        Pointing at the first closing bracket without an opener, at a closer that does not
        match its opener, or at the innermost opener left unclosed.
    """
    stack: list[Token] = []
    for tok in tokens:
        if tok.kind is not TokenKind.OP:
            continue
        if tok.text in OPENERS:
            stack.append(tok)
            if len(stack) > MAX_NESTING:
                _fail(f"brackets nested more than {MAX_NESTING} deep", text, Span.of(tok))
        elif tok.text in CLOSERS:
            _close_bracket(text, stack, tok)
    if stack:
        opener = stack[-1]
        _fail(
            f"unmatched {opener.text!r}; expected a closing {OPENERS[opener.text]!r}",
            text,
            Span.of(opener),
        )


def _close_bracket(text: str, stack: list[Token], closer: Token) -> None:
    if not stack:
        _fail(
            f"unmatched {closer.text!r}; there is no {CLOSERS[closer.text]!r} before it",
            text,
            Span.of(closer),
        )
    opener = stack.pop()
    if OPENERS[opener.text] != closer.text:
        _fail(
            f"{closer.text!r} does not match the {opener.text!r} at position {opener.start}; "
            f"expected {OPENERS[opener.text]!r}",
            text,
            Span.of(closer),
        )


def _fail(message: str, text: str, span: Span) -> NoReturn:
    raise FormulaSyntaxError(message, text, span.start, span.length)


# --------------------------------------------------------------------------------------
# Recursive descent with an operator table
# --------------------------------------------------------------------------------------


class _Parser:
    """Recursive-descent parser over a token list (brackets already checked)."""

    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.pos = 0

    # -- token helpers ------------------------------------------------------------------

    def peek(self) -> Token:
        return self.tokens[self.pos]

    def advance(self) -> Token:
        tok = self.tokens[self.pos]
        if tok.kind is not TokenKind.EOF:
            self.pos += 1
        return tok

    def previous(self) -> Token | None:
        return self.tokens[self.pos - 1] if self.pos > 0 else None

    def fail(self, message: str, span: Span) -> NoReturn:
        _fail(message, self.text, span)

    # -- grammar --------------------------------------------------------------------------

    def formula(self) -> Formula:
        first = self.peek()
        if first.kind is TokenKind.EOF:
            self.fail("empty formula; expected 'response ~ predictors'", Span(0, len(self.text)))
        if first.is_op("~"):
            self.fail("expected a response before '~'", Span.of(first))
        lhs = self.bar(in_response=True)
        tilde = self._expect_tilde(lhs)
        if self.peek().kind is TokenKind.EOF:
            self.fail("expected predictors after '~'", Span.of(tilde))
        rhs = self.sum()
        self._expect_end()
        return Formula(lhs, rhs, Span.of(tilde), lhs.span.to(rhs.span))

    def _expect_tilde(self, lhs: Expr) -> Token:
        tok = self.peek()
        if tok.kind is TokenKind.EOF:
            self.fail(
                "missing '~'; expected 'response ~ predictors', as in 'y ~ x + (1 | g)'",
                lhs.span,
            )
        if not tok.is_op("~"):
            self._unexpected(tok, "'~'")
        return self.advance()

    def _expect_end(self) -> None:
        tok = self.peek()
        if tok.kind is TokenKind.EOF:
            return
        if tok.is_op("~"):
            self.fail("a formula has exactly one '~'; found a second one", Span.of(tok))
        if tok.is_op(*_BARS):
            self.fail(
                f"{tok.text!r} is only allowed inside parentheses, as in (1 {tok.text} g)",
                Span.of(tok),
            )
        self._unexpected(tok, "the end of the formula")

    def _unexpected(self, tok: Token, alternative: str) -> NoReturn:
        if tok.kind is TokenKind.STRING or tok.is_op(*CALL_ONLY_OPERATORS, ",", "="):
            self._outside_call(tok)
        self.fail(
            f"expected an operator (+ - * / : %in% ^) or {alternative}, found {tok.describe()}",
            Span.of(tok),
        )

    def bar(self, in_response: bool = False) -> Expr:
        """``sum [('|' | '||') sum]`` -- a group term body or a binomial response."""
        tok = self.peek()
        if tok.is_op(*_BARS):
            what = "a response" if in_response else "the effects"
            example = "y | trials(n)" if in_response else "(1 | g)"
            self.fail(f"expected {what} before {tok.text!r}, as in {example}", Span.of(tok))
        left = self.sum()
        if not self.peek().is_op(*_BARS):
            return left
        op = self.advance()
        right = self.sum()
        extra = self.peek()
        if extra.is_op(*_BARS):
            where = "the response" if in_response else "a group term"
            self.fail(f"only one '|' is allowed in {where}; found another", Span.of(extra))
        return Bar(op.text, left, right, Span.of(op), left.span.to(right.span))

    def sum(self) -> Expr:
        """``['-'] term (('+' | '-') term)*``."""
        items: list[SumItem] = []
        lead = self.advance() if self.peek().is_op("-") else None
        expr = self.binary(_TERM_PRECEDENCE)
        items.append(SumItem("-" if lead else "+", expr, Span.of(lead) if lead else None))
        while self.peek().is_op("+", "-"):
            op = self.advance()
            expr = self.binary(_TERM_PRECEDENCE)
            items.append(SumItem(op.text, expr, Span.of(op)))
        if len(items) == 1 and lead is None:
            return expr
        return Sum(tuple(items), items[0].span.to(items[-1].span))

    def binary(self, min_precedence: int) -> Expr:
        """Precedence climbing over ``* / %in% : ** ^`` (all left-associative)."""
        left = self.atom()
        while True:
            tok = self.peek()
            precedence = BINARY_PRECEDENCE.get(tok.text) if tok.kind is TokenKind.OP else None
            if precedence is None or precedence < min_precedence:
                return left
            self.advance()
            right = self.binary(precedence + 1)
            left = Binary(tok.text, left, right, Span.of(tok), left.span.to(right.span))

    def atom(self) -> Expr:
        """A name, a number, a call or a parenthesised expression."""
        tok = self.peek()
        if tok.kind is TokenKind.NAME:
            self.advance()
            if self.peek().is_op("(") and not tok.text.startswith("`"):
                return self.call(tok)
            return Name(tok.text, Span.of(tok))
        if tok.kind is TokenKind.NUMBER:
            self.advance()
            return Number(tok.text, Span.of(tok))
        if tok.is_op("("):
            return self.paren()
        self._expected_operand(tok)

    def paren(self) -> Paren:
        opener = self.advance()
        if self.peek().is_op(")"):
            closer = self.peek()
            self.fail(
                "empty parentheses; expected an expression or a group term such as (1 | g)",
                Span(opener.start, closer.end),
            )
        body = self.bar()
        closer = self.peek()
        if not closer.is_op(")"):
            self._unclosed_paren(opener, closer)
        self.advance()
        return Paren(body, Span(opener.start, closer.end))

    def _unclosed_paren(self, opener: Token, tok: Token) -> NoReturn:
        if tok.is_op("~"):
            self.fail("'~' is not allowed inside parentheses", Span.of(tok))
        self._unexpected(tok, f"')' to close the '(' at position {opener.start}")

    def call(self, name: Token) -> Call:
        """``name(arg, ...)``: arguments are balanced token runs split at top-level commas."""
        opener = self.advance()
        args: list[CallArg] = []
        run: list[Token] = []
        depth = 0
        while True:
            tok = self.advance()
            self._check_call_token(tok, opener, name)
            if tok.text in OPENERS and tok.kind is TokenKind.OP:
                depth += 1
            elif tok.text in CLOSERS and tok.kind is TokenKind.OP:
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and tok.is_op(","):
                args.append(self._call_arg(run, name, tok))
                run = []
                continue
            run.append(tok)
        if run or args:
            args.append(self._call_arg(run, name, tok))
        else:
            self.fail(
                f"expected an argument inside {name.text}()", Span(opener.start, tok.end)
            )
        span = Span(name.start, tok.end)
        return Call(name.text, tuple(args), self.text[span.start : span.end], span)

    def _check_call_token(self, tok: Token, opener: Token, name: Token) -> None:
        if tok.kind is TokenKind.EOF:
            self.fail("unmatched '('; expected a closing ')'", Span.of(opener))
        if tok.is_op("~"):
            if name.text in ("bf", "brmsformula"):
                self.fail(f"brms' {name.text}() is not a formula term: {BRMS_BF_ADVICE}", Span.of(name))
            self.fail("'~' is not allowed inside a function call", Span.of(tok))

    def _call_arg(self, run: list[Token], name: Token, end: Token) -> CallArg:
        if not run:
            after = self.tokens[self.pos - 2]  # the token before ``end``
            where = "after ','" if after.is_op(",") else f"after '{name.text}('"
            self.fail(f"expected an argument {where} in {name.text}(...)", Span.of(end))
        span = Span(run[0].start, run[-1].end)
        return CallArg(self.text[span.start : span.end], span)

    # -- messages for a missing operand ------------------------------------------------

    def _expected_operand(self, tok: Token) -> NoReturn:
        prev = self.previous()
        if tok.kind is TokenKind.STRING or tok.is_op(*CALL_ONLY_OPERATORS, ",", "="):
            self._outside_call(tok)
        at = Span.of(prev) if tok.kind is TokenKind.EOF and prev is not None else Span.of(tok)
        found = "" if tok.kind is TokenKind.EOF else f", found {tok.describe()}"
        if prev is not None and prev.is_op(*_BARS):
            self.fail(f"expected a grouping factor after {prev.text!r}{found}", at)
        if prev is not None and prev.is_op("~"):
            self.fail(f"expected predictors after '~'{found}", at)
        if tok.kind is TokenKind.EOF and prev is not None:
            self.fail(f"expected a term after {prev.describe()}, but the formula ends", at)
        if prev is None or prev.is_op("("):
            self.fail(f"expected a term{found}", at)
        self.fail(f"expected a term after {prev.describe()}{found}", at)

    def _outside_call(self, tok: Token) -> NoReturn:
        if tok.is_op(",") and any(t.is_op("~") for t in self.tokens[self.pos:]):
            self.fail(f"a second formula after ',' (as in brms' bf()) is not part of the formula: "
                      f"{BRMS_BF_ADVICE}", Span.of(tok))
        if tok.kind is TokenKind.STRING:
            self.fail(
                "a string is only allowed inside a function call, as in C(g, levels=['a', 'b'])",
                Span.of(tok),
            )
        self.fail(
            f"unexpected {tok.text!r} outside a function call; wrap comparisons and "
            f"arithmetic in I(...), as in I(x > 3)",
            Span.of(tok),
        )
