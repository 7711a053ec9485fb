"""Stata's censored and survival-time commands: ``metobit``, ``meintreg``, ``mestreg``.

* ``metobit y x || id:, ll(0) ul(10)``: gaussian, ``y | tobit(ll = 0, ul = 10)`` (a limit
  is a number or a variable; rows at or beyond a limit are censored there).
* ``meintreg ylow yup x || id:``: gaussian, ``ylow | intreg(yup)`` (missing ``ylow``:
  left-censored; missing ``yup``: right-censored; equal: exact).
* ``mestreg x || id:, distribution(weibull)`` with the variables ``stset`` names given to
  :func:`~hierbayes.spec.stata.from_stata` as ``time="t", failure="d"``: ``t | event(d)``
  (without ``failure``, every time is a failure). Distributions: exponential, weibull,
  lognormal (lnormal), loglogistic (llogistic), gamma (hierbayes' gamma family with the log
  link on the mean: the same accelerated failure time model, slopes as Stata's AFT
  coefficients; the intercept is on the log-mean scale). exponential and weibull are shown
  as hazard ratios, as Stata does (``ModelSpec.metric = "hr"``); ``nohr`` shows log hazard
  ratios, ``time`` (or ``tratio``) the log-time (AFT) coefficients.
"""

from __future__ import annotations

import re
from typing import Protocol

from .ir import Response
from .stata_qualifiers import fail
from .stata_varlist import STATA_NAME

__all__ = ["SURVIVAL_COMMANDS", "depvar_count", "survival_option", "survival_response"]

#: command -> (family, link) as in stata.STATA_COMMANDS; mestreg's family is its distribution().
SURVIVAL_COMMANDS: dict[str, tuple[str, str | None]] = {
    "metobit": ("gaussian", None),
    "meintreg": ("gaussian", None),
    "mestreg": ("weibull", None),
}
# Stata distribution names (full, aliases) -> hierbayes family
_DISTRIBUTIONS = {
    "exponential": "exponential",
    "weibull": "weibull",
    "lognormal": "lognormal",
    "lnormal": "lognormal",
    "loglogistic": "loglogistic",
    "llogistic": "loglogistic",
    "gamma": "gamma",
}
_PH = ("exponential", "weibull")


class _Option(Protocol):
    name: str
    arg: str | None
    text: str


def depvar_count(command_name: str) -> int:
    """How many dependent variables a command takes (mestreg none, meintreg two)."""
    return {"mestreg": 0, "meintreg": 2}.get(command_name, 1)


def _distribution(opt: _Option, command: str) -> str:
    value = (opt.arg or "").strip().lower()
    matches = {fam for name, fam in _DISTRIBUTIONS.items() if len(value) >= 3 and name.startswith(value)}
    if len(matches) != 1:
        fail(
            command,
            f"{opt.text}: the distribution must be one of exponential, weibull, lognormal, "
            "loglogistic, gamma (Stata's mestreg distributions)",
        )
    return matches.pop()


def _limit(opt: _Option, command: str) -> str:
    value = (opt.arg or "").strip()
    try:
        number = float(value)
    except ValueError:
        if not re.fullmatch(STATA_NAME, value):
            fail(command, f"{opt.text}: give the censoring limit as a number or a variable, as in {opt.name}(0)")
        return value
    return str(int(number)) if number == int(number) else repr(number)


def survival_option(opt: _Option, state: dict, name: str, command: str) -> bool:
    """Options of metobit (``ll()``, ``ul()``) and mestreg (``distribution()``, ``time``,
    ``tratio``, ``nohr``) into ``state``; True when handled, SpecError for a bad value."""
    if name == "metobit" and opt.name in ("ll", "ul"):
        if opt.arg is None:
            fail(command, f"{opt.text}: give the limit, as in {opt.name}(0) (hierbayes does not take it from the data)")
        state[opt.name] = _limit(opt, command)
        return True
    if name != "mestreg":
        return False
    if "distribution".startswith(opt.name) and opt.name and opt.arg is not None:
        state["family"] = state["distribution"] = _distribution(opt, command)
        state["link"] = None
        return True
    if opt.name in ("time", "tratio", "nohr") and opt.arg is None:
        state[opt.name] = True
        return True
    return False


def survival_response(
    name: str, depvars: list[str], state: dict, command: str, time: str | None, failure: str | None
) -> tuple[Response, str | None]:
    """(response, metric) of a censored or survival command; ``state`` holds its options.

    Raises
    ------
    SpecError
        For mestreg without ``time=`` or ``distribution()``, ``nohr`` with an AFT-only
        distribution, both ``nohr`` and ``time``, or ``time=`` / ``failure=`` given to
        another command.
    """
    if name != "mestreg":
        if time is not None or failure is not None:
            fail(command, "time= and failure= are for mestreg (the variables stset names); "
                          f"{name} takes its outcome from the command")
        if name == "meintreg":
            return Response(depvars[0], intreg_upper=depvars[1]), None
        if name == "metobit":
            return Response(depvars[0], tobit_ll=state.get("ll"), tobit_ul=state.get("ul")), None
        return Response(depvars[0], trials=state.get("trials")), None
    if time is None:
        fail(command, "mestreg needs the survival time: from_stata(..., time='t', failure='d') "
                      "with the variables of 'stset t, failure(d)'")
    if failure is not None:  # stset's failure(d) or failure(d == 2): the failing value of d
        coded = re.fullmatch(rf"\s*({STATA_NAME})\s*==?\s*(-?\d+(?:\.\d+)?)\s*", failure)
        failure = f"{coded.group(1)} == {coded.group(2)}" if coded else failure.strip()
    for role, value in (("time", time), ("failure", failure)):
        if value is not None and not re.fullmatch(STATA_NAME, value) and not (role == "failure" and "==" in value):
            fail(command, f"{role}={value!r} must be a variable name" + (
                " or 'variable == value' (stset's failure(d == 2))" if role == "failure" else ""))
    if "distribution" not in state:
        fail(command, "mestreg needs distribution(exponential|weibull|lognormal|loglogistic|gamma)")
    family = state["family"]
    aft = state.get("time") or state.get("tratio")
    if state.get("nohr") and (aft or family not in _PH):
        why = "with time/tratio" if aft else f"for distribution({family}), an accelerated failure time model"
        fail(command, f"nohr asks for log hazard ratios; it cannot be given {why}")
    if family in _PH:
        metric = "aft" if aft else ("loghr" if state.get("nohr") else "hr")
    else:
        metric = None if family == "gamma" else "aft"
    return Response(time, event=failure), metric
