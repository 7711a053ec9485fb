"""Level equations as text -> raw equations (:class:`RawEquation`), one job: text handling.

Strips comments, splits lines and ``;`` parts, reads ``Level 2:`` labels, recognises the
declaration lines (``j = school``, ``covariance(school) = ...``), rewrites the textbook ``=``
notation, and parses one equation into its sides, grouping factor and options. What the
terms mean is decided later (:mod:`hierbayes.spec.levels_interpret`).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import FormulaSyntaxError, SpecError
from .formula_ast import Expr, Name
from .formula_source import unwrap_parens
from .lexer import Token, TokenKind, tokenize
from .lower import Lowering
from .parser import parse

__all__ = [
    "COVARIANCE_DECL",
    "SUBSCRIPT_DECL",
    "RawEquation",
    "keyword_equation",
    "located_errors",
    "parse_equation",
    "split_equations",
    "split_top_level",
    "tokens_or_empty",
]

_SUBSCRIPT = re.compile(r"^(?P<base>.*[^_])_(?P<sub>[ijklmnst]{1,3})$")
_LEVEL_LABEL = re.compile(r"^\s*(?:level|lvl|l)[\s-]*(\d+)\s*:\s*", re.IGNORECASE)
#: A subscript declaration line: ``j = school`` (letter, grouping factor).
SUBSCRIPT_DECL = re.compile(r"^\s*([ijklmnst])\s*[=:]\s*([A-Za-z_][\w.]*(?::[A-Za-z_][\w.]*)*)\s*$")
#: A covariance declaration line: ``covariance(school) = diagonal`` (factor, structure).
COVARIANCE_DECL = re.compile(
    r"^\s*cov(?:ariance)?\s*\(\s*([A-Za-z_][\w.:]*)\s*\)\s*[=:]\s*([A-Za-z]+)\s*$", re.IGNORECASE
)
_OPTIONS = ("fixed", "random")


@dataclass
class RawEquation:
    """One equation after tokenizing and parsing, before its terms are interpreted."""

    text: str  # as given (for messages)
    where: str  # "line 2" or "keyword b1"
    label: int | None
    form: str  # "~" or "="
    lhs: Expr
    rhs: Expr
    lowering: Lowering
    lhs_name: str | None
    lhs_subscript: str
    bar: str | None
    factor: tuple[str, ...]
    factor_span: tuple[int, int] | None
    options: tuple[str, ...]


@contextlib.contextmanager
def located_errors(text: str, role: str) -> Iterator[None]:
    """Context in which syntax and spec errors are prefixed with ``role`` (once).

    Parameters
    ----------
    text : str
        The equation, for the error's snippet.
    role : str
        Which equation (``"equation for b0 (line 2)"``).
    """
    try:
        yield
    except FormulaSyntaxError as exc:
        if exc.reason.startswith(role):
            raise
        raise FormulaSyntaxError(f"{role}: {exc.reason}", text, exc.position, exc.length) from None
    except SpecError as exc:
        if isinstance(exc, FormulaSyntaxError) or str(exc).startswith(role):
            raise
        raise SpecError(f"{role} {text!r}: {exc}") from None


def _strip_comment(line: str) -> str:
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"`":
            quote = ch
        elif ch == "#":
            return line[:i]
    return line


def split_equations(text: str, where: str) -> list[tuple[str, str, int | None]]:
    """(equation text, location, level label) for each non-empty line / ';' part."""
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        for part in split_top_level(_strip_comment(line), ";"):
            label = None
            m = _LEVEL_LABEL.match(part)
            if m:
                label = int(m.group(1))
                part = part[m.end():]
            if part.strip():
                loc = f"line {n}" if where == "text" and "\n" in text.strip() else where
                out.append((part.strip(), loc, label))
    return out


def split_top_level(text: str, sep: str) -> list[str]:
    """``text`` split at each ``sep`` outside brackets (``"a(b;c);d"`` -> ``["a(b;c)", "d"]``)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _top_level(tokens: list[Token]) -> Iterator[tuple[int, Token]]:
    depth = 0
    for i, tok in enumerate(tokens):
        if tok.kind is TokenKind.OP and tok.text in "([{":
            depth += 1
        elif tok.kind is TokenKind.OP and tok.text in ")]}":
            depth -= 1
        elif depth == 0:
            yield i, tok


def tokens_or_empty(text: str) -> list[Token]:
    """The tokens of ``text``, or none when it does not tokenize (the parser says why later)."""
    try:
        return tokenize(text)
    except FormulaSyntaxError:
        return []


def _textbook_text(text: str) -> tuple[str, dict[int, str]]:
    """Same-length rewrite of an '=' equation: subscripts blanked, juxtaposition -> '*'.

    Returns the new text and the subscripts removed, by token start position.
    """
    chars = list(text)
    subs: dict[int, str] = {}
    for tok in tokenize(text):
        if tok.kind is TokenKind.NAME and not tok.text.startswith("`"):
            m = _SUBSCRIPT.match(tok.text)
            if m:
                subs[tok.start] = m.group("sub")
                for i in range(tok.start + len(m.group("base")), tok.end):
                    chars[i] = " "
    stripped = "".join(chars)
    tokens = tokenize(stripped)
    for a, b in zip(tokens, tokens[1:]):
        left = a.kind in (TokenKind.NAME, TokenKind.NUMBER) or a.is_op(")")
        right = b.kind in (TokenKind.NAME, TokenKind.NUMBER)
        if left and right and b.start > a.end:
            chars[a.end] = "*"
    return "".join(chars), subs


def parse_equation(text: str, where: str, label: int | None, first: bool) -> RawEquation:
    """Parse one equation (``~`` or textbook ``=`` form) into its sides, factor and options.

    Parameters
    ----------
    text : str
        The equation.
    where : str
        Its location for messages (``"line 2"``, ``"keyword b1"``).
    label : int or None
        Its ``Level N:`` label.
    first : bool
        Whether it is the level-1 equation.

    Raises
    ------
    FormulaSyntaxError
        Pointing at the faulty part of ``text``.
    """
    role = f"{'level-1 equation' if first else 'equation'} ({where})"
    relation = next((t for _, t in _top_level(tokens_or_empty(text)) if t.is_op("~", "=")), None)
    if relation is not None and not first:
        lhs_text = _SUBSCRIPT.sub(r"\g<base>", text[: relation.start].strip())
        role = f"equation for {lhs_text} ({where})"
    with located_errors(text, role):
        tokens = tokenize(text)
        top = list(_top_level(tokens))
        relation = next((t for _, t in top if t.is_op("~", "=")), None)
        if relation is None:
            raise FormulaSyntaxError(
                "expected 'coefficient ~ predictors | factor' (or '='), as in 'b0 ~ 1 + z | school'",
                text, 0, len(text),
            )
        form = relation.text
        work = text
        subs: dict[int, str] = {}
        if form == "=":
            work, subs = _textbook_text(text)
            work = work[: relation.start] + "~" + work[relation.end:]
            tokens = tokenize(work)
            top = list(_top_level(tokens))
        bar = next((t for _, t in top if t.is_op("|", "||") and t.start > relation.start), None)
        comma = next((t for _, t in top if t.is_op(",") and t.start > relation.start), None)
        if bar is not None and comma is not None and comma.start < bar.start:
            raise FormulaSyntaxError(
                "options such as ', fixed' go after the grouping factor", text, comma.start, 1
            )
        end = min(t.start for t in (bar, comma, tokens[-1]) if t is not None)
        if work[relation.end:end].strip() == "":
            raise FormulaSyntaxError(
                f"expected predictors after {form!r}", text, relation.start, 1
            )
        formula = parse(work[:end])
        factor_end = comma.start if comma is not None else len(work)
        factor, factor_span = (), None
        if bar is not None:
            factor, factor_span = _parse_factor(work, bar.end, factor_end, text)
        options = _parse_options(work, comma.end, text) if comma is not None else ()
        lhs = unwrap_parens(formula.lhs)
        name = lhs.value if isinstance(lhs, Name) else None
        subscript = subs.get(lhs.span.start, "") if isinstance(lhs, Name) else ""
        return RawEquation(
            text=text, where=where, label=label, form=form, lhs=formula.lhs, rhs=formula.rhs,
            lowering=Lowering(text), lhs_name=name, lhs_subscript=subscript,
            bar=None if bar is None else bar.text, factor=factor, factor_span=factor_span,
            options=options,
        )


def _parse_factor(work: str, start: int, end: int, text: str) -> tuple[tuple[str, ...], tuple[int, int]]:
    piece = work[start:end]
    names = [p.strip() for p in piece.split(":")]
    if "/" in piece:
        pos = start + piece.index("/")
        raise FormulaSyntaxError(
            "nesting is written with level-3 equations, not 'a/b': give the level-2 factor "
            "here and write equations for its coefficients with '| a'",
            text, pos, 1,
        )
    for name in names:
        if not re.fullmatch(r"[A-Za-z_][\w.]*|`[^`]+`", name):
            found = piece.strip() or "nothing"
            raise FormulaSyntaxError(
                f"expected a grouping factor (a column name, or a:b) after '|', found {found!r}",
                text, start, max(1, end - start),
            )
    return tuple(n.strip("`") for n in names), (start, end)


def _parse_options(work: str, start: int, text: str) -> tuple[str, ...]:
    out = []
    for raw in work[start:].split(","):
        word = raw.strip().lower().replace("-", "")
        if word in ("nonvarying", "notrandom"):
            word = "fixed"
        if word not in _OPTIONS:
            pos = start + work[start:].find(raw.strip())
            raise FormulaSyntaxError(
                f"unknown option {raw.strip()!r} after ','; valid: {list(_OPTIONS)}",
                text, max(pos, 0), max(1, len(raw.strip())),
            )
        out.append(word)
    if set(out) == set(_OPTIONS):
        raise FormulaSyntaxError("an equation cannot be both 'fixed' and 'random'", text, start, 1)
    return tuple(out)


def keyword_equation(name: str, text: str, where: str) -> str:
    """The equation text for keyword ``name=text`` (``b1="1 + z | school"``), as ``name ~ ...``.

    Raises
    ------
    SpecError
        When ``text`` has its own left side naming another coefficient.
    """
    tokens = tokens_or_empty(text)
    relation = next((t for _, t in _top_level(tokens) if t.is_op("~", "=")), None)
    if relation is None:
        return f"{name} ~ {text.strip()}"
    lhs = text[: relation.start].strip()
    base = _SUBSCRIPT.match(lhs)
    if (base.group("base") if base else lhs) != name:
        raise SpecError(f"{where}: the equation {text!r} is given for {name!r} but defines {lhs!r}")
    return text.strip()
