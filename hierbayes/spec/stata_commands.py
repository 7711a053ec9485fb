"""Stata commands that are not multilevel commands, answered with the command that fits their model.

The panel commands (``xtreg``, ``xtlogit``, ...) read their group variable from ``xtset``; the
single-level commands (``regress``, ``logit``, ``ologit``, ``streg``, ...) have no group effects,
which the ``me*`` command without ``||`` fits (``meologit y x [fw=n]`` is ``ologit y x [fw=n]``).
"""

from __future__ import annotations

from .stata_qualifiers import fail

__all__ = ["refuse_other_command"]

#: Stata's random-effects panel commands (the panel variable set by xtset) -> the me* command
_PANEL_COMMANDS = {"xtreg": "mixed", "xtlogit": "melogit", "xtprobit": "meprobit", "xtcloglog": "mecloglog",
                   "xtpoisson": "mepoisson", "xtnbreg": "menbreg", "xtologit": "meologit", "xtoprobit": "meoprobit",
                   "xttobit": "metobit", "xtintreg": "meintreg"}
#: Stata's single-level commands -> the me* command that fits their model without '||'
_SINGLE_LEVEL_COMMANDS = {"regress": "mixed", "reg": "mixed", "logit": "melogit", "logistic": "melogit",
                          "probit": "meprobit", "cloglog": "mecloglog", "poisson": "mepoisson", "nbreg": "menbreg",
                          "ologit": "meologit", "oprobit": "meoprobit", "tobit": "metobit", "intreg": "meintreg",
                          "streg": "mestreg", "glm": "meglm"}


def refuse_other_command(head: str, command: str) -> None:
    """Raise for a panel or single-level command (``head``: the command before its options),
    naming the multilevel command of the same model; return for any other.

    Raises
    ------
    SpecError
        For ``xt*`` panel commands and Stata's single-level estimation commands.
    """
    first, *rest = head.split(None, 1) or [""]
    varlist = rest[0].strip() if rest else "y x"
    if first.lower() in _PANEL_COMMANDS:
        fail(command, f"{first} reads its panel variable from xtset, which is not part of a command; its "
             f"random-effects model is '{_PANEL_COMMANDS[first.lower()]} {varlist} || <panel variable>:' ({first}, "
             "fe is another model)")
    if first.lower() in _SINGLE_LEVEL_COMMANDS:
        multilevel = _SINGLE_LEVEL_COMMANDS[first.lower()]
        fail(command, f"{first} is Stata's single-level command; its model is '{multilevel} {varlist}' (the same "
             f"options; without '||' there are no group effects), and '{multilevel} {varlist} || <group>:' adds a "
             "random intercept per group")
