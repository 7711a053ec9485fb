"""Splitting a Stata command: the ``bayes`` prefix, equations, options, ``if`` and ``in``.

Stata's syntax puts ``[if] [in]`` after the variable list of the fixed-effects equation or
at the end of any random-effects equation, before its comma::

    xtmixed gcse lrt || school: lrt if nstu > 4, mle covariance(unstructured)
    mixed y x if female == 1 in 1/500 || school:

Every split here is made outside parentheses, braces and double quotes, so ``inlist(x, 1, 2)``,
``"a||b"`` and ``prior({y:x}, normal(0, 100))`` stay whole. ``if`` and ``in`` are reserved
words in Stata (no variable has those names), so a whole word ``if`` / ``in`` starts a
qualifier.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NoReturn

from ..errors import SpecError
from .stata_expr import parse_stata_expression

__all__ = ["Qualifiers", "combine_subset", "fail", "in_range_expression", "split_bayes_prefix", "split_top", "take_qualifiers"]

_OPEN, _CLOSE = "({[", ")}]"
_BAYES_FORM = "expected 'bayes: command' or 'bayes, options: command'"


def _depths(text: str) -> list[int]:
    """Nesting depth (parentheses, braces, brackets, quotes) before each character."""
    out, depth, quoted = [], 0, False
    for ch in text:
        out.append(depth + int(quoted))
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in _OPEN:
            depth += 1
        elif not quoted and ch in _CLOSE:
            depth -= 1
    return out


def fail(command: str, message: str) -> NoReturn:
    """A SpecError naming the Stata command: ``Stata command '<command>': <message>``."""
    raise SpecError(f"Stata command {command.strip()!r}: {message}")


def split_top(text: str, sep: str, maxsplit: int = -1) -> list[str]:
    """Split ``text`` at ``sep`` where it is outside parentheses, braces and quotes.

    Parameters
    ----------
    text : str
        The text.
    sep : str
        The separator (``"||"``, ``","``, ``":"``).
    maxsplit : int
        At most this many splits (-1: no limit).

    Returns
    -------
    list of str
        The pieces, separators removed.
    """
    depth = _depths(text)
    parts, start, i = [], 0, 0
    while i < len(text):
        if depth[i] == 0 and text.startswith(sep, i) and (maxsplit < 0 or len(parts) < maxsplit):
            parts.append(text[start:i])
            i += len(sep)
            start = i
            continue
        i += 1
    parts.append(text[start:])
    return parts


def split_bayes_prefix(text: str) -> tuple[str | None, str]:
    """``"bayes, mcmcsize(2000): mixed y x || g:"`` -> (``"mcmcsize(2000)"``, ``"mixed y x || g:"``).

    Returns (None, text) without a prefix and ("", command) for ``bayes:`` without options.
    """
    m = re.match(r"\s*bayes\b", text)
    if not m:
        return None, text
    pieces = split_top(text[m.end():], ":", maxsplit=1)
    if len(pieces) != 2:
        fail(text, _BAYES_FORM)
    options, command = pieces
    options = options.strip()
    if options and not options.startswith(","):
        fail(text, f"{_BAYES_FORM} (options follow a comma)")
    return options.removeprefix(",").strip(), command


@dataclass(frozen=True)
class Qualifiers:
    """The ``if`` expression and ``in`` range of a command (text as written, or None)."""

    if_text: str | None = None
    in_text: str | None = None


def take_qualifiers(body: str, command: str) -> tuple[str, Qualifiers]:
    """Split ``"lrt if nstu > 4 in 1/10"`` into ``"lrt"`` and its qualifiers.

    Raises
    ------
    SpecError
        For a second ``if`` or ``in`` in the same piece, or an empty one.
    """
    depth = _depths(body)
    starts = [
        (m.start(), m.group(1))
        for m in re.finditer(r"(?<![\w.])(if|in)(?![\w.])", body)
        if depth[m.start()] == 0
    ]
    if not starts:
        return body, Qualifiers()
    found: dict[str, str] = {}
    bounds = [*starts, (len(body), "")]
    for (pos, word), (end, _) in zip(bounds, bounds[1:]):
        text = body[pos + len(word):end].strip()
        if word in found:
            fail(command, f"more than one '{word}' qualifier")
        if not text:
            fail(command, f"'{word}' needs {'an expression' if word == 'if' else 'a range'}")
        found[word] = text
    return body[: starts[0][0]], Qualifiers(found.get("if"), found.get("in"))


def _range_end(token: str, whole: str) -> str:
    token = token.strip().lower()
    if token in ("f", "first"):
        return "1"
    if token in ("l", "last"):
        return "_N"
    if re.fullmatch(r"-?\d+", token):
        number = int(token)
        if number == 0:
            raise SpecError(f"'in {whole}': observation numbers start at 1")
        return str(number) if number > 0 else f"_N - {-number - 1}" if number < -1 else "_N"
    raise SpecError(f"'in {whole}': expected #, #/#, f or l (as in 'in 1/100' or 'in -10/l')")


def in_range_expression(text: str) -> str:
    """Stata's ``in`` range as an expression in ``_n``: ``1/100`` -> ``inrange(_n, 1, 100)``.

    ``#`` counts from the first row, ``-#`` from the last (``-1`` is the last row), ``f`` and
    ``l`` are the first and last rows; ``in 5`` is the single row ``_n == 5``.
    """
    pieces = text.split("/")
    if len(pieces) == 1:
        return f"_n == {_range_end(pieces[0], text)}"
    if len(pieces) != 2:
        raise SpecError(f"'in {text}': expected #, #/#, f or l (as in 'in 1/100' or 'in -10/l')")
    return f"inrange(_n, {_range_end(pieces[0], text)}, {_range_end(pieces[1], text)})"


def combine_subset(qualifiers: list[Qualifiers], command: str) -> str | None:
    """One row filter (a Stata expression) from the qualifiers of all equations, or None.

    Raises
    ------
    SpecError
        When ``if`` or ``in`` is given twice, or the ``if`` expression does not parse.
    """
    if_texts = [q.if_text for q in qualifiers if q.if_text]
    in_texts = [q.in_text for q in qualifiers if q.in_text]
    for word, given in (("if", if_texts), ("in", in_texts)):
        if len(given) > 1:
            fail(command, f"more than one '{word}' qualifier")
    parts = []
    try:
        if if_texts:
            parts.append(parse_stata_expression(if_texts[0]).to_text())
        if in_texts:
            parts.append(in_range_expression(in_texts[0]))
    except SpecError as err:
        raise SpecError(f"Stata command {command.strip()!r}: {err}") from None
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return f"({parts[0]}) & {parts[1]}"
