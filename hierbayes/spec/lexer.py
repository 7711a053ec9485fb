"""Tokenizer of lme4-style model formulas.

Every token keeps its source span (``start``, ``end``; 0-based, end exclusive) so the parser
and the lowering can point at the exact place of a mistake.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..errors import FormulaSyntaxError

__all__ = [
    "CALL_ONLY_OPERATORS",
    "CLOSERS",
    "OPENERS",
    "OPERATORS",
    "Token",
    "TokenKind",
    "is_plain_name",
    "tokenize",
]


class TokenKind(StrEnum):
    """The kinds of formula tokens."""

    NAME = "name"
    NUMBER = "number"
    STRING = "string"
    OP = "operator"
    EOF = "end of formula"


@dataclass(frozen=True)
class Token:
    """One token: its kind, its exact source text and its span in the formula."""

    kind: TokenKind
    text: str
    start: int
    end: int

    @property
    def length(self) -> int:
        """Number of source characters the token covers."""
        return self.end - self.start

    def is_op(self, *ops: str) -> bool:
        """Whether the token is one of the operators ``ops``."""
        return self.kind is TokenKind.OP and self.text in ops

    def describe(self) -> str:
        """A short human description for messages (``'+'``, ``'x'``, ``the end``)."""
        if self.kind is TokenKind.EOF:
            return "the end of the formula"
        return repr(self.text)


# Longest operators first so that ``||`` wins over ``|`` and ``**`` over ``*``.
OPERATORS: tuple[str, ...] = (
    "%in%", "||", "**", "~", "+", "-", "*", "/", ":", "|", "(", ")", ",", "^", "=",
)
# Only meaningful inside a function call such as ``I(x > 3)`` or ``C(g, levels=['a'])``.
CALL_ONLY_OPERATORS: tuple[str, ...] = (
    "==", "!=", "<=", ">=", "<", ">", "!", "%", "&", "[", "]", "{", "}",
)
OPENERS: dict[str, str] = {"(": ")", "[": "]", "{": "}"}
CLOSERS: dict[str, str] = {v: k for k, v in OPENERS.items()}

_ALL_OPERATORS = tuple(sorted(OPERATORS + CALL_ONLY_OPERATORS, key=len, reverse=True))
_WHITESPACE = frozenset(" \t\r\n")


def is_name_start(ch: str) -> bool:
    """Whether ``ch`` may start an unquoted name."""
    return ch.isalpha() or ch == "_"


def is_name_char(ch: str) -> bool:
    """Whether ``ch`` may continue an unquoted name (letters, digits, ``_`` and ``.``)."""
    return ch.isalnum() or ch in "._"


def is_plain_name(text: str) -> bool:
    """Whether ``text`` can be written without backticks (``x``, ``a.b``, ``x_1``)."""
    return bool(text) and is_name_start(text[0]) and all(is_name_char(c) for c in text)


def tokenize(text: str) -> list[Token]:
    """Split a formula into tokens.

    Parameters
    ----------
    text : str
        The formula source.

    Returns
    -------
    list of Token
        The tokens in order, ending with one ``EOF`` token at ``len(text)``.

    Raises
    ------
    FormulaSyntaxError
        On a character that cannot start a token (``$``, ``@``...), an unterminated string
        or backtick-quoted name, or an empty backtick-quoted name.
    """
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        if text[pos] in _WHITESPACE:
            pos += 1
            continue
        token = _next_token(text, pos)
        tokens.append(token)
        pos = token.end
    tokens.append(Token(TokenKind.EOF, "", len(text), len(text)))
    return tokens


def _next_token(text: str, pos: int) -> Token:
    ch = text[pos]
    if ch.isdigit() or (ch == "." and pos + 1 < len(text) and text[pos + 1].isdigit()):
        return _number(text, pos)
    if is_name_start(ch):
        return _name(text, pos)
    if ch == "`":
        return _quoted_name(text, pos)
    if ch in "'\"":
        return _string(text, pos)
    for op in _ALL_OPERATORS:
        if text.startswith(op, pos):
            return Token(TokenKind.OP, op, pos, pos + len(op))
    raise FormulaSyntaxError(_unexpected_character_message(ch), text, pos)


def _unexpected_character_message(ch: str) -> str:
    hint = ""
    if ch == ".":
        hint = "; a lone '.' (all other columns) is not supported, list the predictors"
    return (
        f"unexpected character {ch!r}; expected a name, a number or one of the operators "
        f"~ + - * / : %in% | || ( ) ** ^{hint}"
    )


def _number(text: str, pos: int) -> Token:
    end = pos
    while end < len(text) and text[end].isdigit():
        end += 1
    if end < len(text) - 1 and text[end] == "." and text[end + 1].isdigit():
        end += 1
        while end < len(text) and text[end].isdigit():
            end += 1
    return Token(TokenKind.NUMBER, text[pos:end], pos, end)


def _name(text: str, pos: int) -> Token:
    end = pos + 1
    while end < len(text) and is_name_char(text[end]):
        end += 1
    return Token(TokenKind.NAME, text[pos:end], pos, end)


def _quoted_name(text: str, pos: int) -> Token:
    close = text.find("`", pos + 1)
    newline = text.find("\n", pos + 1)
    if close == -1 or (newline != -1 and newline < close):
        raise FormulaSyntaxError(
            "unterminated backtick-quoted name; expected a closing '`'", text, pos
        )
    if close == pos + 1:
        raise FormulaSyntaxError(
            "empty backtick-quoted name; expected a column name between the backticks",
            text,
            pos,
            2,
        )
    return Token(TokenKind.NAME, text[pos : close + 1], pos, close + 1)


def _string(text: str, pos: int) -> Token:
    quote = text[pos]
    end = pos + 1
    while end < len(text):
        if text[end] == "\\":
            end += 2
            continue
        if text[end] == quote:
            return Token(TokenKind.STRING, text[pos : end + 1], pos, end + 1)
        end += 1
    raise FormulaSyntaxError(
        f"unterminated string; expected a closing {quote}", text, pos
    )
