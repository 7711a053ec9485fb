"""Stata's variable lists and factor-variable notation -> formula terms.

``i.x`` -> ``C(x)``, ``ib3.x`` -> ``C(x, Treatment(3))``, ``c.x`` -> ``x``; ``a#b`` is the
interaction ``a:b`` and ``a##b`` the full factorial ``a + b + a:b``; a continuous variable
crossed with itself is its power (``c.age#c.age`` -> ``I(age^2)``). As in Stata, variables
inside ``#``/``##`` are factors unless prefixed with ``c.``.
"""

from __future__ import annotations

import re
from itertools import combinations

from .stata_qualifiers import fail

__all__ = ["STATA_NAME", "split_words", "varlist_terms"]

#: A Stata variable name.
STATA_NAME = r"[A-Za-z_][A-Za-z0-9_]*"


def split_words(text: str) -> list[str]:
    """Whitespace-separated words, keeping ``name(...)`` and ``i.(a b)`` together."""
    out, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch.isspace() and depth == 0:
            if cur:
                out.append(cur)
            cur = ""
        else:
            cur += ch
    if cur:
        out.append(cur)
    return out


def _variable(spec: str, in_interaction: bool, command: str) -> list[str]:
    """One ``[op.]var`` (or ``op.(a b)``) -> formula components."""
    m = re.fullmatch(rf"(?:(?P<op>[A-Za-z0-9()]+)\.)?(?P<var>{STATA_NAME}|\((?P<list>[^()]*)\))", spec)
    if not m:
        if re.search(r"[*?~]|\w-\w", spec):
            fail(command, f"wildcards and ranges ({spec!r}) need the data; list the variables")
        fail(command, f"cannot read the variable {spec!r}")
    names = m.group("list").split() if m.group("list") is not None else [m.group("var")]
    op = (m.group("op") or "").lower()
    return [_with_operator(op, name, in_interaction, command) for name in names]


def _with_operator(op: str, name: str, in_interaction: bool, command: str) -> str:
    if op == "c":
        return name
    if op == "i" or (op == "" and in_interaction):
        return f"C({name})"
    if op == "":
        return name
    base = re.fullmatch(r"i?b\(?(\d+)\)?", op)
    if base:
        return f"C({name}, Treatment({base.group(1)}))"
    if op in ("ib(first)", "b(first)"):
        return f"C({name})"
    fail(
        command,
        f"the operator '{op}.' in '{op}.{name}' is not supported; use i., ib#., c. or "
        f"compute the variable first (time-series operators and ibn./ib(last) need the data)",
    )


def _interaction(unit: str, command: str, inside: bool = True) -> tuple[str, ...]:
    """``a#c.x`` -> ("C(a)", "x"): inside '#' and '##' variables are factors unless c."""
    pieces = unit.split("#")
    comps: list[str] = []
    for piece in pieces:
        names = _variable(piece, inside, command)
        if len(names) != 1:
            fail(command, f"write the interaction {unit!r} without a variable list in parentheses")
        comps.extend(names)
    return tuple(comps)


def _terms(word: str, command: str) -> list[tuple[str, ...]]:
    """One varlist word -> additive terms, each a tuple of components."""
    if "##" in word:
        if any(u == "" for u in word.split("##")):
            fail(command, f"empty operand of '##' in {word!r}")
        # every operand is a factor unless c.; a unit like a#b stays one product
        units = [_interaction(u, command, inside=True) for u in word.split("##")]
        out = []
        for size in range(1, len(units) + 1):
            for combo in combinations(units, size):
                out.append(tuple(c for unit in combo for c in unit))
        return out
    if "#" in word:
        return [_interaction(word, command)]
    return [(name,) for name in _variable(word, False, command)]


def _product(comps: tuple[str, ...]) -> tuple[str, ...]:
    """A product's components with a repeated continuous variable as its power
    (``c.age#c.age`` -> ``I(age^2)``: R would read ``age:age`` as ``age``); a factor crossed
    with itself is the factor."""
    counts: dict[str, int] = {}
    for c in comps:
        counts[c] = counts.get(c, 0) + 1
    return tuple(c if k == 1 or c.startswith("C(") else f"I({c}**{k})" for c, k in counts.items())


def varlist_terms(text: str, command: str) -> list[str]:
    """The formula terms of a Stata varlist, without duplicates (``i.a##c.x`` -> C(a), x, C(a):x).

    Parameters
    ----------
    text : str
        The varlist (``"i.sex age c.age#c.age"``).
    command : str
        The whole command, for error messages.

    Raises
    ------
    SpecError
        For wildcards, ranges, operators hierbayes cannot translate without the data, or
        words that are not variables.
    """
    terms: dict[str, None] = {}
    for word in split_words(text):
        for comps in _terms(word, command):
            terms.setdefault(":".join(_product(comps)), None)
    return list(terms)
