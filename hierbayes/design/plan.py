"""The pieces of text of a ModelSpec, parsed by formulae before any data are evaluated.

A :class:`DesignPlan` lists, for the response, trials, offsets, fixed terms and slopes, the
data columns each piece reads and which of them it uses as numbers, so data can be checked
(missing columns, text where numbers are needed) with messages naming the term, before
formulae evaluates anything. :func:`evaluate_values` then gives one number per row of a
value expression (response, trials, offset).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from formulae import model_description
from formulae.terms.call import Call
from formulae.terms.call_resolver import LazyCall, LazyOperator, LazyVariable
from formulae.terms.terms import GroupSpecificTerm, Term

from ..errors import DataError, SpecError
from ..spec.ir import ModelSpec
from ..spec.lexer import is_plain_name
from .formulae_eval import CATEGORICAL_CALLEES, KNOWN_NAMES, as_matrix, expand, translated_errors
from .offsets import offset_vector
from .rterms import constant_value, formulae_terms

__all__ = ["DesignPlan", "ParsedText", "as_counts", "evaluate_values"]

_COMPARISONS = frozenset({"==", "!="})


@dataclass(frozen=True)
class ParsedText:
    """A piece of model text, with the data columns it reads.

    ``names`` are all identifiers formulae found (columns, or names like ``Sum``);
    ``numeric`` are those used where numbers are needed (inside ``I()``, ``log()``...).
    """

    text: str
    role: str
    names: tuple[str, ...]
    numeric: tuple[str, ...]
    is_column: bool = False

    @property
    def used_by(self) -> str:
        return f"{self.role} {self.text!r}"


def _numeric_names(node: object, numeric: bool) -> Iterator[str]:
    """Names of variables that a lazy formulae call uses as numbers."""
    if isinstance(node, LazyVariable):
        if numeric:
            yield node.name
    elif isinstance(node, LazyOperator):
        inner = node.symbol not in _COMPARISONS
        for arg in node.args:
            yield from _numeric_names(arg, inner)
    elif isinstance(node, LazyCall):
        inner = node.callee not in CATEGORICAL_CALLEES
        for arg in [*node.args, *node.kwargs.values()]:
            yield from _numeric_names(arg, inner)


def _describe(text: str, role: str) -> object:
    """formulae's parse of one piece of text; its parse errors become SpecError."""
    try:
        return model_description(text)
    except Exception as exc:  # noqa: BLE001 - formulae raises several error types
        raise SpecError(f"{role} {text!r} is not a valid formula expression ({exc})") from None


def _parse_term(text: str, role: str = "term") -> ParsedText:
    """Parse one additive term (``a*b``, ``I(x**2)``...) and list its variables."""
    description = _describe(text, role)
    names: dict[str, None] = {}
    numeric: dict[str, None] = {}
    for term in description.terms:
        if isinstance(term, GroupSpecificTerm):
            raise SpecError(f"{role} {text!r} contains a group term '( | )'; not allowed here")
        if not isinstance(term, Term):
            continue
        for component in term.components:
            names.update(dict.fromkeys(sorted(component.var_names)))
            if isinstance(component, Call):
                numeric.update(dict.fromkeys(_numeric_names(component.call, False)))
    names.pop("", None)
    return ParsedText(text, role, tuple(names), tuple(numeric))


_ORDER = frozenset({"<", "<=", ">", ">=", "==", "!="})


def _negated_comparison(node: object) -> bool:
    """Whether a lazy formulae call holds ``-(a <= b)``: pandas negates a true/false column
    (logical not) where R gives -1 / 0."""
    if isinstance(node, LazyOperator):
        if node.symbol == "-" and len(node.args) == 1:
            inner = node.args[0]
            if isinstance(inner, LazyOperator) and inner.symbol in _ORDER:
                return True
        return any(_negated_comparison(a) for a in node.args)
    if isinstance(node, LazyCall):
        return any(_negated_comparison(a) for a in [*node.args, *node.kwargs.values()])
    return False


def _parse_value(text: str, role: str, columns: pd.Index) -> ParsedText:
    """Parse an expression that must give one number per row (response, trials)."""
    if text in columns:
        return ParsedText(text, role, (text,), (text,), is_column=True)
    calls = [c.call for t in _describe(f"I({text})", role).terms if isinstance(t, Term)
             for c in t.components if isinstance(c, Call)]
    if any(_negated_comparison(call) for call in calls):
        raise SpecError(
            f"{role} {text!r}: a minus sign before a comparison, -(a <= b), is evaluated as logical "
            "not (true <-> false), not as -1 / 0; write -1 * (a <= b)"
        )
    parsed = _parse_term(f"I({text})", role)
    return ParsedText(text, role, parsed.names, parsed.numeric, is_column=False)


def _parse_indicator(text: str, columns: pd.Index) -> ParsedText:
    """The censoring indicator: a column, which may hold text ("right") and is never used
    as numbers here, or an expression over columns giving the codes (``1 - status``)."""
    if text in columns or is_plain_name(text):
        return ParsedText(text, "censoring indicator", (text,), (), True)
    return _parse_value(text, "censoring indicator", columns)


@dataclass(frozen=True)
class DesignPlan:
    """Every piece of text of a spec, parsed, before any data are evaluated."""

    response: ParsedText
    trials: ParsedText | None
    failures: ParsedText | None
    fixed: tuple[ParsedText, ...]
    slopes: tuple[tuple[ParsedText, ...], ...]
    offsets: tuple[ParsedText, ...] = ()
    ordered: frozenset[str] = frozenset()
    cens: ParsedText | None = None
    #: upper bounds of interval-censored rows (``cens(c, y2)``): read apart from the other
    #: values, as they may be missing at the rows that are not interval-censored
    cens_upper: ParsedText | None = None
    trunc: tuple[ParsedText | None, ParsedText | None] = (None, None)
    #: Stata's censoring: failure indicator, tobit limits (ll, ul), upper ends of intervals
    event: ParsedText | None = None
    tobit: tuple[ParsedText | None, ParsedText | None] = (None, None)
    intreg: ParsedText | None = None

    @classmethod
    def from_spec(cls, spec: ModelSpec, columns: pd.Index, ordered: frozenset[str]) -> DesignPlan:
        """Terms expanded by R's rules (:func:`.rterms.formulae_terms`), then parsed."""
        r = spec.response
        slopes = [formulae_terms(g.terms, ordered) for g in spec.groups]
        return cls(
            response=_parse_value(r.expr, "response", columns),
            trials=None if r.trials is None else _parse_value(r.trials, "trials", columns),
            failures=None if r.failures is None else _parse_value(r.failures, "failures", columns),
            fixed=tuple(_parse_term(t) for t in formulae_terms(spec.fixed.terms, ordered)),
            slopes=tuple(
                tuple(_parse_term(t, f"term in '({g.label})'") for t in block)
                for g, block in zip(spec.groups, slopes, strict=True)
            ),
            offsets=tuple(_parse_value(t, "offset", columns) for t in spec.fixed.offsets),
            ordered=ordered,
            cens=None if r.cens is None else _parse_indicator(r.cens, columns),
            cens_upper=None if r.cens_upper is None else _parse_value(r.cens_upper, "upper bound", columns),
            trunc=tuple(
                None if b is None else _parse_value(b, "truncation bound", columns)
                for b in (r.trunc_lb, r.trunc_ub)
            ),
            event=None if r.event is None else _parse_value(r.event, "failure indicator", columns),
            tobit=tuple(
                None if b is None else _parse_value(b, "censoring limit", columns)
                for b in (r.tobit_ll, r.tobit_ul)
            ),
            intreg=None if r.intreg_upper is None else _parse_value(r.intreg_upper, "upper end", columns),
        )

    def value_exprs(self) -> list[ParsedText]:
        """The response, trials, failures, censoring and truncation expressions present."""
        exprs = (self.response, self.trials, self.failures, self.cens, *self.trunc, self.event, *self.tobit, self.intreg)
        return [e for e in exprs if e is not None]

    def may_be_missing(self) -> tuple[str, ...]:
        """Columns whose missing values mean something (the ends of ``intreg()`` intervals)."""
        if self.intreg is None:
            return ()
        return tuple(e.text for e in (self.response, self.intreg) if e.is_column)

    def term_exprs(self) -> list[ParsedText]:
        """Every term of the fixed part, the offsets and the slopes of all group terms."""
        return [*self.fixed, *self.offsets, *(e for block in self.slopes for e in block)]

    def offset(self, frame: pd.DataFrame) -> np.ndarray | None:
        """The summed offsets of the rows of ``frame`` (None without offsets)."""
        evaluated = [(e.text, evaluate_values(e, frame)) for e in self.offsets]
        return offset_vector(evaluated, frame.index.to_numpy())

    def needed(
        self, spec: ModelSpec, columns: pd.Index, *, response: bool = True
    ) -> dict[str, str]:
        """Column -> who uses it, in model order; names formulae resolves itself are skipped."""
        out: dict[str, str] = {}
        exprs = self.value_exprs() if response else []
        for expr in [*exprs, *self.fixed, *self.offsets]:
            _add_names(out, expr, columns)
        for term, block in zip(spec.groups, self.slopes, strict=True):
            for name in term.factor:
                out.setdefault(name, f"grouping factor of '({term.label})'")
            for expr in block:
                _add_names(out, expr, columns)
        return out


def _add_names(out: dict[str, str], expr: ParsedText, columns: pd.Index) -> None:
    for name in expr.names:
        if name in columns or name not in KNOWN_NAMES:
            out.setdefault(name, expr.used_by)


def evaluate_values(expr: ParsedText, frame: pd.DataFrame) -> np.ndarray:
    """One float per row from a column or an expression (``log(y)``, ``size - y``).

    Parameters
    ----------
    expr : ParsedText
        A value expression of the plan (response, trials, failures or offset).
    frame : pandas.DataFrame
        The checked used columns.

    Returns
    -------
    numpy.ndarray
        (n,) float64.

    Raises
    ------
    DataError
        When the expression does not give one number per row, or formulae fails on it.
    """
    n = frame.shape[0]
    if expr.is_column:
        return frame[expr.text].to_numpy(dtype=np.float64)
    if not expr.names and constant_value(expr.text) is not None:  # y | trials(7)
        return np.full(n, constant_value(expr.text))
    with translated_errors(f"{expr.role} {expr.text!r}"):
        common = expand(f"0 + I({expr.text})", frame)
    values = as_matrix(common.design_matrix, n)
    if values.shape[1] != 1:
        raise DataError(f"{expr.role} {expr.text!r} must give one number per row")
    return values[:, 0]


def as_counts(values: np.ndarray) -> np.ndarray:
    """int64 when every value is a whole number (binomial trials), else unchanged."""
    finite = np.isfinite(values)
    if finite.all() and np.all(values == np.round(values)):
        return values.astype(np.int64)
    return values
