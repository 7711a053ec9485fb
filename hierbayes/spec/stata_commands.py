"""Stata commands that are not multilevel commands.

The single-level commands (``regress``, ``logit``, ``ologit``, ``streg``, ...) have no group
effects: their model is the ``me*`` command's without ``||`` (``ologit y x [fw=n]`` is
``meologit y x [fw=n]``), and :func:`as_multilevel_command` reads them as that command, with
the same options (``logistic`` is ``logit, or``). The panel commands (``xtreg``, ``xtlogit``,
...) read their group variable from ``xtset``, which is not part of the command: they are
refused, naming the command that fits their model.
"""

from __future__ import annotations

import re

from .stata_qualifiers import fail, split_top

__all__ = ["as_multilevel_command", "refuse_other_command"]

#: Stata's random-effects panel commands (the panel variable set by xtset) -> the me* command
_PANEL_COMMANDS = {"xtreg": "mixed", "xtlogit": "melogit", "xtprobit": "meprobit", "xtcloglog": "mecloglog",
                   "xtpoisson": "mepoisson", "xtnbreg": "menbreg", "xtologit": "meologit", "xtoprobit": "meoprobit",
                   "xttobit": "metobit", "xtintreg": "meintreg"}
#: Stata's single-level commands -> the me* command that fits their model without '||'
_SINGLE_LEVEL_COMMANDS = {"regress": "mixed", "reg": "mixed", "logit": "melogit", "logistic": "melogit",
                          "probit": "meprobit", "cloglog": "mecloglog", "poisson": "mepoisson", "nbreg": "menbreg",
                          "ologit": "meologit", "oprobit": "meoprobit", "tobit": "metobit", "intreg": "meintreg",
                          "streg": "mestreg", "glm": "meglm"}


#: single-level commands whose multilevel command needs an option to show the same table
_IMPLIED_OPTIONS = {"logistic": "or"}


def as_multilevel_command(text: str, command: str) -> str:
    """``text`` (one command, without the ``bayes`` prefix) with a single-level command read
    as the ``me*`` command of its model: ``regress y x, noconstant`` -> ``mixed y x,
    noconstant``, ``logistic y x`` -> ``melogit y x, or``; any other command unchanged.

    Raises
    ------
    SpecError
        For a single-level command with ``||`` equations (Stata has none), naming the
        multilevel command.
    """
    match = re.match(r"\s*([A-Za-z]+)\b", text)
    first = match.group(1).lower() if match else ""
    if first not in _SINGLE_LEVEL_COMMANDS:
        return text
    multilevel = _SINGLE_LEVEL_COMMANDS[first]
    if len(split_top(text, "||")) > 1:
        fail(command, f"{match.group(1)} is Stata's single-level command, without '||' equations; group effects "
             f"are {multilevel}'s: '{multilevel}{text[match.end():]}'")
    text = multilevel + text[match.end():]
    implied = _IMPLIED_OPTIONS.get(first)
    if implied:  # after the options' comma, or as the options (a comma in inlist(a,1,2) is not theirs)
        text = f"{text} {implied}" if len(split_top(text, ",")) > 1 else f"{text}, {implied}"
    return text


def refuse_other_command(head: str, command: str) -> None:
    """Raise for a panel command (``head``: the command before its options), naming the
    multilevel command of its random-effects model; return for any other.

    Raises
    ------
    SpecError
        For ``xt*`` panel commands.
    """
    first, *rest = head.split(None, 1) or [""]
    varlist = rest[0].strip() if rest else "y x"
    if first.lower() in _PANEL_COMMANDS:
        fail(command, f"{first} reads its panel variable from xtset, which is not part of a command; its "
             f"random-effects model is '{_PANEL_COMMANDS[first.lower()]} {varlist} || <panel variable>:' ({first}, "
             "fe is another model)")
