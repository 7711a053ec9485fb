"""Stata's weights in a multilevel command: ``[pw=w1]`` / ``[fw=w]`` after the fixed varlist,
``pweight(w2)`` on a random-effects equation and ``pwscale(size|effective)``.

``mixed y x [pw=w1] || school:, pweight(w2)`` becomes level-1 weights ``w1`` and level-2
weights ``w2`` on ``school`` (:mod:`hierbayes.spec.weights`: as in Stata, ``w1`` is conditional
on the school). ``[fw=w]`` is a frequency weight (a row counted w times). ``aweight`` and
``iweight`` have no likelihood meaning here and are refused.

The spec keeps hierbayes' default ``weight_method="pseudo-posterior"`` (a command means the same
model whatever the family); Stata's own estimator for ``mixed`` is the pseudo-maximum likelihood:
``hb.Model(hb.from_stata(cmd), data, weight_method="pml")`` reproduces its numbers.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from .stata_qualifiers import fail
from .stata_varlist import STATA_NAME

__all__ = ["StataWeight", "level_weight", "take_weight", "weight_scaling", "with_stata_weights"]

_KINDS = {"pw": "pweight", "pweight": "pweight", "fw": "fweight", "fweight": "fweight",
          "aw": "aweight", "aweight": "aweight", "iw": "iweight", "iweight": "iweight"}
_WEIGHT = re.compile(r"\[\s*([A-Za-z]+)\s*=\s*([^\]]*)\]\s*$")


@dataclass(frozen=True)
class StataWeight:
    """The level-1 weight of a command: its column and kind ("pweight" or "fweight")."""

    column: str
    kind: str


def take_weight(head: str, command: str) -> tuple[str, StataWeight | None]:
    """``head`` without its trailing ``[pw=w]`` and the weight (None without one)."""
    m = _WEIGHT.search(head)
    if m is None:
        if "[" in head:
            fail(command, "cannot read the weight; write it as [pw=w] or [fw=w] after the varlist")
        return head, None
    kind = _KINDS.get(m.group(1).lower())
    column = m.group(2).strip()
    if kind not in ("pweight", "fweight"):
        fail(command, f"[{m.group(1)}=...]: only pweight [pw=] and fweight [fw=] weights are supported")
    if not re.fullmatch(STATA_NAME, column):
        fail(command, f"[{m.group(1)}={column}]: give one weight variable")
    return head[: m.start()].rstrip(), StataWeight(column, kind)


def level_weight(name: str, arg: str | None, command: str) -> str | None:
    """The column of a random equation's ``pweight(w2)`` option; None for another option."""
    if name not in ("pweight", "pw"):
        return None
    column = (arg or "").strip()
    if not re.fullmatch(STATA_NAME, column):
        fail(command, f"pweight({arg}): give one weight variable")
    return column


def weight_scaling(name: str, arg: str | None, command: str) -> str | None:
    """The scaling of ``pwscale(size|effective)``; None for another option."""
    if name != "pwscale":
        return None
    value = (arg or "").strip().lower()
    if value not in ("size", "effective"):
        fail(command, f"pwscale({arg}): supported size and effective (not gk)")
    return value


def with_stata_weights(spec, weight: StataWeight | None, levels: dict[str, str], factors, scaling: str | None):
    """``spec`` with the command's weights: ``levels`` maps an equation's level variable to
    its ``pweight()`` column; ``factors`` are the (level, group factor) pairs of the
    equations in order. Frequency weights ``[fw=]`` take neither ``pwscale()`` nor
    ``pweight()`` (as in Stata: a row counted w times is not a sampled unit to rescale)."""
    if scaling is not None and weight is None:
        fail(spec.source, f"pwscale({scaling}) scales level-1 weights; give them as [pw=w]")
    if weight is not None and weight.kind == "fweight" and (scaling is not None or levels):
        what = f"pwscale({scaling})" if scaling is not None else "pweight() on a level"
        fail(spec.source, f"[fw={weight.column}] is a frequency weight (rows counted w times); {what} goes with "
                          f"sampling weights: write [pw={weight.column}]")
    group_weights = tuple((group, levels[level]) for level, group in factors if level in levels)
    response = spec.response if weight is None else dataclasses.replace(spec.response, weights=weight.column)
    kind = "auto" if weight is None else {"pweight": "sampling", "fweight": "frequency"}[weight.kind]
    return dataclasses.replace(spec, response=response, group_weights=group_weights,
                               weight_scaling=scaling or "none", weight_kind=kind)
