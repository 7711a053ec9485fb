"""Stata's ``residuals(rspec)`` option of ``mixed``: the residual (R-side) structure.

``mixed y x || id:, residuals(ar 1, t(time) by(arm))`` and the MMRM spelling
``mixed y i.visit##i.arm || id:, noconstant residuals(unstructured, t(visit))``: the
residual groups are those of the equation the option is written in (Stata's lowest level);
an equation with ``noconstant`` and no variables names the groups only. Kinds: independent,
exchangeable, ar #, ma #, unstructured, banded #, toeplitz #, exponential; ``t()`` and
``by()`` as in Stata.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ..errors import SpecError
from .ir import ModelSpec
from .residuals import ResidualStructure, residuals
from .stata_qualifiers import fail, split_top
from .stata_varlist import split_words

#: Stata's residual types (and their shortest abbreviations) -> (hierbayes kind, takes #). As in
#: Stata, ``toeplitz`` without # estimates every observed lag, ``banded`` without # is
#: ``unstructured`` and ``banded 0`` a residual sd per time level (``independent`` by it).
_KINDS = (("independent", "ind", "independent", False), ("exchangeable", "exc", "exchangeable", False),
          ("ar", "ar", "ar", True), ("unstructured", "un", "unstructured", False),
          ("exponential", "exp", "exponential", False), ("ma", "ma", "ma", True),
          ("banded", "ba", "banded", True), ("toeplitz", "toe", "toeplitz", True))
_OPTION = re.compile(r"(?<![A-Za-z_])res(?:i(?:d(?:u(?:a(?:l(?:s)?)?)?)?)?)?\(", re.IGNORECASE)


def _close(text: str, start: int, command: str) -> int:
    depth = 0
    for i in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return i
    fail(command, "residuals( has no closing parenthesis")


def _parse(arg: str, command: str) -> ResidualStructure:
    rtype, *opts = split_top(arg, ",", maxsplit=1)
    words = rtype.split()
    if not words:
        fail(command, "residuals() needs a residual type, as in residuals(ar 1, t(time))")
    word = words[0].lower()
    found_kind = next(((k, n) for full, short, k, n in _KINDS if full.startswith(word) and len(word) >= len(short)), None)
    if found_kind is None:
        fail(command, f"residuals({rtype.strip()}): unknown residual type {words[0]!r}; supported: independent, "
                      "exchangeable, ar #, ma #, unstructured, banded #, toeplitz #, exponential")
    kind, numbered = found_kind
    optional = kind in ("toeplitz", "banded")
    if numbered and not (optional and len(words) == 1):
        smallest = 0 if kind == "banded" else 1
        if len(words) != 2 or not words[1].isdigit() or int(words[1]) < smallest:
            fail(command, f"residuals({rtype.strip()}): give the order as one whole number >= {smallest}, as in "
                          f"residuals({words[0].lower()} 1, t(time))")
    if not numbered and len(words) > 1:
        fail(command, f"residuals({rtype.strip()}): {words[0]!r} takes no number")
    order = int(words[1]) if numbered and len(words) == 2 else None
    found = {"t": None, "by": None}
    for opt in (opts[0] if opts else "").replace(",", " ").split():
        m = re.fullmatch(r"(t|by)\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)", opt.strip(), re.IGNORECASE)
        if not m:
            fail(command, f"residuals(): cannot read the option {opt!r}; use t(varname) and by(varname)")
        found[m.group(1).lower()] = m.group(2)
    if kind == "banded" and order is None:
        kind = "unstructured"
    elif kind == "banded" and order == 0:  # uncorrelated, an sd per time level
        if found["by"] is not None:
            fail(command, f"residuals({rtype.strip()}, by()): a residual sd per time level and by() level is "
                          "not supported; use banded 1 or drop by()")
        if found["t"] is None:
            fail(command, f"residuals({rtype.strip()}) needs t(varname): the time levels with their own sd")
        kind, order, found = "independent", None, {"t": None, "by": found["t"]}
    if kind in ("ar", "ma", "toeplitz") and found["t"] is None:  # Stata requires t() (hb.residuals counts rows)
        fail(command, f"residuals({rtype.strip()}) needs t(varname): the time variable whose steps the lags count")
    try:
        return residuals(kind, time=found["t"], by=found["by"], order=order)
    except SpecError as err:
        fail(command, str(err))


def take_residuals_option(text: str, command: str) -> tuple[str, tuple[ResidualStructure, str | None] | None]:
    """``text`` without its ``residuals(...)`` option, and (the structure, the level whose
    groups it is within, or None when written in the fixed equation)."""
    m = _OPTION.search(text)
    if m is None:
        return text, None
    end = _close(text, m.end() - 1, command)
    structure = _parse(text[m.end():end], command)
    before, after = text[: m.start()], text[end + 1 :]
    if _OPTION.search(after):
        fail(command, "residuals() is given twice")
    equations = split_top(before, "||")
    level = equations[-1].partition(":")[0].strip() if len(equations) > 1 else None
    rest = before + after
    last = split_top(rest, "||")
    if level is not None and len(last) > 1:
        body, _, opts = last[-1].partition(",")
        bare = re.fullmatch(r"\s*[A-Za-z_][A-Za-z0-9_]*\s*:\s*", body)
        words = split_words(opts)
        noconstant = [w for w in words if re.fullmatch(r"noc(?:o(?:n(?:s(?:t(?:a(?:n(?:t)?)?)?)?)?)?)?", w, re.IGNORECASE)]
        if bare and noconstant:  # '|| id:, noconstant': the groups only
            rest = "||".join(last[:-1])
            others = " ".join(w for w in words if w not in noconstant)
            if others:  # the command's own options (reml, nolog, ...) written after that comma
                rest += (" " if "," in split_top(rest, "||")[-1] else ", ") + others
    return rest, (structure, level)


def with_residuals(spec: ModelSpec, found: tuple[ResidualStructure, str | None] | None) -> ModelSpec:
    """``spec`` with the structure of :func:`take_residuals_option`, its groups those of the
    group term of ``level`` (or the column ``level`` when that equation names groups only)."""
    if found is None:
        return spec
    structure, level = found
    group = level
    if level is not None:
        group = next((g.group for g in reversed(spec.groups) if g.factor[-1] == level), level)
    return replace(spec, residuals=replace(structure, group=group))
