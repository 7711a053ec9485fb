"""brms' residual-structure terms in a formula: ``ar(time = t, gr = g)``, ``ma()``,
``arma()`` (any orders p and q), ``unstr(time = v, gr = g)`` and ``cosy(gr = g)`` at the top of the fixed part become the spec's residual
structure (:mod:`.residuals`), as ``residuals=hb.residuals(...)`` would."""

from __future__ import annotations

from typing import NoReturn

from ..errors import SpecError
from .formula_ast import Call, Span, SumItem
from .residuals import ResidualStructure, residuals

#: brms term -> (hierbayes kind, brms' argument names in order).
RESIDUAL_TERMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "ar": ("ar", ("time", "gr", "p", "cov")),
    "unstr": ("unstructured", ("time", "gr")),
    "cosy": ("exchangeable", ("time", "gr")),
    "ma": ("ma", ("time", "gr", "q", "cov")),
    "arma": ("arma", ("time", "gr", "p", "q", "cov")),
}


class ResidualTerms:
    """Mixin of the formula lowering: reads the residual-structure terms of the fixed part.
    ``residual_found`` is the structure (None without such a term)."""

    residual_found: ResidualStructure | None = None

    def fail(self, message: str, span: Span) -> NoReturn:  # provided by the lowering
        raise NotImplementedError

    def residual_term(self, item: SumItem, call: Call, in_fixed_part: bool) -> None:
        """Read ``ar(...)``, ``unstr(...)`` or ``cosy(...)`` into ``residual_found``."""
        if not in_fixed_part:
            self.fail(f"{call.text!r} inside a group term: a residual structure belongs to the fixed part", call.span)
        if item.sign == "-":
            self.fail(f"a residual structure cannot be removed with '-'; leave {call.text!r} out", item.span)
        if self.residual_found is not None:
            self.fail(f"{call.text!r}: the formula already has a residual structure; give one", call.span)
        kind, names = RESIDUAL_TERMS[call.name]
        given: dict[str, str] = {}
        for position, arg in enumerate(call.args):
            name, eq, value = arg.text.partition("=")
            if not eq:
                if position >= len(names):
                    self.fail(f"{call.text!r}: {call.name}() takes at most {len(names)} arguments", arg.span)
                name, value = names[position], arg.text
            name, value = name.strip(), value.strip().strip("'\"")
            if name not in names:
                self.fail(f"{call.text!r}: unknown argument {name!r}; {call.name}() takes {list(names)}", arg.span)
            given[name] = value
        orders = [given.get(a, "1") for a in {"ar": ("p",), "ma": ("q",), "arma": ("p", "q")}.get(call.name, ())]
        if not all(o.isdigit() and int(o) >= 1 for o in orders):
            self.fail(f"{call.text!r}: the orders p and q must be whole numbers >= 1", call.span)
        order = None if not orders else tuple(int(o) for o in orders)
        if given.get("cov", "FALSE").upper() not in ("FALSE", "F"):
            self.fail(f"{call.text!r}: cov = TRUE is not supported", call.span)
        time = given.get("time")
        try:
            self.residual_found = residuals(kind, time=None if time in (None, "NA") else time,
                                            group=None if given.get("gr") in (None, "NA") else given["gr"],
                                            order=order)
        except SpecError as err:
            self.fail(f"{call.text!r}: {err}", call.span)
