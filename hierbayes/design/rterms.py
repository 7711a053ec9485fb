"""R's meaning of formula terms on top of formulae: term expansion, factors and contrasts.

* The terms of a spec are expanded with R's rules (:mod:`hierbayes.spec.terms`) before
  formulae sees them, so formulae only combines factors with ``:`` (its own ``/`` and
  ``%in%`` differ from R's, and its labels for ``a/b`` disagree with its columns).
* ``factor(x)`` / ``as.factor(x)``: treatment contrasts, first level the reference.
* ``relevel(f, "b")`` / ``relevel(f, ref="b")``: ``b`` becomes the reference level.
* ``ordered(x)`` and ordered pandas Categorical columns: R's polynomial contrasts
  (``contr.poly``), columns ``x[.L]``, ``x[.Q]``, ``x[.C]``, ``x[^4]``, ...
* ``y | trials(7)``: a constant number of trials.
"""

from __future__ import annotations

import ast
import re
import types
from collections.abc import Iterable

import numpy as np
import pandas as pd
from formulae.categorical import CategoricalBox, ContrastMatrix, Encoding
from formulae.transforms import TRANSFORMS

from ..errors import DataError, FormulaSyntaxError, SpecError
from ..spec.formula_ast import Call
from ..spec.lexer import is_plain_name
from ..spec.parser import parse
from ..spec.terms import expand_term_text, r_poly_text, r_power_text

__all__ = [
    "FACTOR_FUNCTIONS",
    "FORMULA_FUNCTIONS",
    "c",
    "ORDERED_CALLEE",
    "Poly",
    "check_relevel_references",
    "column_names",
    "constant_value",
    "factor",
    "formulae_terms",
    "ordered",
    "ordered_columns",
    "poly_contrast_matrix",
    "relevel",
    "with_ordered_only",
]

#: The call an ordered data column is wrapped in for formulae; its labels are renamed back.
ORDERED_CALLEE = "ordered_column"
#: Calls that make a factor of their first argument (besides formulae's C, S, T, factor).
FACTOR_FUNCTIONS = ("relevel", "ordered", ORDERED_CALLEE)
_ORDERED_LABEL = re.compile(re.escape(ORDERED_CALLEE) + r"\(([^()]*)\)\[")
def poly_contrast_matrix(n_levels: int) -> np.ndarray:
    """R's ``contr.poly(n)``: orthonormal polynomial contrasts of equally spaced levels.

    Parameters
    ----------
    n_levels : int
        Number of levels (at least 2).

    Returns
    -------
    numpy.ndarray
        ``(n_levels, n_levels - 1)``; column ``j`` is the degree ``j + 1`` polynomial.
    """
    scores = np.arange(1, n_levels + 1, dtype=np.float64)
    X = np.vander(scores - scores.mean(), n_levels, increasing=True)
    q, r = np.linalg.qr(X)
    raw = q * np.diag(r)  # R's qr.qy(QR, diag(R)): invariant to the signs QR picks
    return (raw / np.linalg.norm(raw, axis=0))[:, 1:]


def _poly_labels(n_columns: int) -> list[str]:
    named = [".L", ".Q", ".C"]
    return [named[j] if j < 3 else f"^{j + 1}" for j in range(n_columns)]


class Poly(Encoding):
    """R's polynomial contrasts (``contr.poly``) for ordered factors, as a formulae encoding."""

    def code_with_intercept(self, levels: list[object]) -> ContrastMatrix:
        # full rank (no intercept to absorb a column): indicators, as R does
        return ContrastMatrix(np.eye(len(levels)), [str(level) for level in levels])

    def code_without_intercept(self, levels: list[object]) -> ContrastMatrix:
        matrix = poly_contrast_matrix(len(levels))
        return ContrastMatrix(matrix, _poly_labels(matrix.shape[1]))


def _values_and_levels(data: object) -> tuple[np.ndarray, list[object]]:
    """The raw values and the level order of a column (categorical order, else sorted)."""
    if isinstance(data, CategoricalBox):
        values = np.asarray(data.data)
        levels = data.levels if data.levels is not None else sorted(set(values.tolist()))
        return values, list(levels)
    series = pd.Series(data)
    present = set(pd.unique(series.dropna()))
    if isinstance(series.dtype, pd.CategoricalDtype):
        levels = [c for c in series.cat.categories if c in present]
        return np.asarray(series.astype(object)), levels
    return series.to_numpy(), sorted(present)


def factor(data: object, levels: list[object] | None = None) -> object:
    """R's ``factor(x)`` / ``as.factor(x)``: formulae's ``C(x)`` with treatment contrasts.

    Categorical columns reach formulae as ordered categoricals, so their own level order is
    kept and the first level is the reference, as in R. ``levels=c("b", "a", ...)`` sets
    the order (the first is the reference).
    """
    if levels is None:
        return TRANSFORMS["C"](data)
    values, found = _values_and_levels(data)
    return CategoricalBox(values, None, _given_levels(found, levels, "factor"))


def _given_levels(found: list[object], levels: list[object], callee: str) -> list[object]:
    """``levels`` without those absent from the data; every value must be among them."""
    missing = [_level_text(v) for v in found if v not in levels]
    if missing:
        raise DataError(
            f"{callee}(..., levels=...): the value(s) {missing} are not among the levels "
            f"given ({[_level_text(v) for v in levels]}); list every level"
        )
    return [v for v in levels if v in found]


def c(*values: object) -> list[object]:
    """R's ``c(...)``, for ``levels = c("lo", "mid", "hi")``."""
    return list(values)


def _level_text(value: object) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def relevel(data: object, ref: object = None) -> CategoricalBox:
    """R's ``relevel(f, ref)``: the factor ``f`` with ``ref`` as its reference level.

    The reference is matched by its text (``relevel(year, 2001)`` and
    ``relevel(year, "2001")`` are the same); an unknown reference is reported before the
    model is built (:func:`check_relevel_references`), so on new data a missing level is
    not an error here.
    """
    values, levels = _values_and_levels(data)
    chosen = [v for v in levels if _level_text(v) == _level_text(ref)]
    order = chosen + [v for v in levels if v not in chosen]
    return CategoricalBox(values, None, order)


def ordered(data: object, levels: list[object] | None = None) -> CategoricalBox:
    """R's ``ordered(x)``: an ordered factor, coded with polynomial contrasts.

    Parameters
    ----------
    data : array-like
        The column (its categorical order, else its sorted values, give the level order).
    levels : list, optional
        The level order, lowest first; levels absent from ``data`` are skipped.
    """
    values, found = _values_and_levels(data)
    if levels is not None:
        found = _given_levels(found, list(levels), "ordered")
    return CategoricalBox(values, Poly(), found)


#: Functions available inside formula terms besides formulae's own (I, C, center, scale, ...).
FORMULA_FUNCTIONS: dict[str, object] = {
    "factor": factor,
    "as": types.SimpleNamespace(factor=factor),
    "relevel": relevel,
    "ordered": ordered,
    "c": c,
    ORDERED_CALLEE: ordered,
    "Poly": Poly,
    "log": np.log,
    "log2": np.log2,
    "log10": np.log10,
    "log1p": np.log1p,
    "exp": np.exp,
    "expm1": np.expm1,
    "sqrt": np.sqrt,
    "abs": np.abs,
    # R's trigonometric functions and its constant pi (nlme's Ovary: sin(2*pi*Time))
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "asin": np.arcsin,
    "acos": np.arccos,
    "atan": np.arctan,
    "pi": np.pi,
    "np": np,
}


def ordered_columns(data: pd.DataFrame) -> frozenset[str]:
    """Names of the columns that are ordered pandas Categoricals."""
    return frozenset(
        str(c) for c in data.columns
        if isinstance(data[c].dtype, pd.CategoricalDtype) and data[c].cat.ordered
    )


def with_ordered_only(frame: pd.DataFrame, ordered: frozenset[str]) -> pd.DataFrame:
    """``frame`` with only the ``ordered`` categorical columns ordered.

    The design's training frame has every categorical ordered (to keep the level order);
    rebuilding an encoder from it needs the user's ordered columns told apart again.
    """
    content = {
        c: frame[c].cat.as_unordered() if c in ordered_columns(frame) and c not in ordered
        else frame[c]
        for c in frame.columns
    }
    return pd.DataFrame(content, index=frame.index)


def formulae_terms(terms: Iterable[str], ordered: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """The spec's term texts expanded by R's rules, ready for formulae.

    Parameters
    ----------
    terms : iterable of str
        Term texts of a FixedPart or GroupTerm (``Sex/age``, ``(a + b)**2``, ``I(x^2)``).
    ordered : frozenset of str
        Ordered categorical columns: a bare one is wrapped so that it gets polynomial
        contrasts (its columns keep the plain name, see :func:`column_names`).

    Returns
    -------
    tuple of str
        Distinct ``a:b`` terms in expansion order.
    """
    out: dict[frozenset[str], str] = {}
    for text in terms:
        try:
            expanded = expand_term_text(text)
        except FormulaSyntaxError as exc:
            raise SpecError(
                f"term {text!r} is not a valid formula expression ({exc.reason})"
            ) from None
        for term in expanded:
            factors = tuple(_wrap_ordered(f, ordered) for f in term)
            out.setdefault(frozenset(factors), ":".join(factors))
    return tuple(out.values())


def _wrap_ordered(factor_text: str, ordered: frozenset[str]) -> str:
    column = factor_text[1:-1] if factor_text.startswith("`") else factor_text
    if column in ordered and is_plain_name(column):
        return f"{ORDERED_CALLEE}({column})"
    return factor_text


def column_names(
    labels: list[list[str]], n_columns: int, where: str
) -> tuple[tuple[str, ...], np.ndarray]:
    """The names of the expanded columns in R's order, checked against the matrix.

    Parameters
    ----------
    labels : list of list of str
        formulae's column labels, one list per term.
    n_columns : int
        Number of columns of the matrix formulae built.
    where : str
        The model part, for the message.

    Returns
    -------
    names : tuple of str
        The labels, with ordered columns under their plain name (``x[.L]``), powers
        (``I(x^2)``) and ``poly()`` columns (``poly(x, 2)1``) in R's spelling, in R's order.
    order : numpy.ndarray
        The position of each named column in formulae's matrix. formulae lists the columns
        of an interaction of factors with the last factor varying fastest (``a[p]:b[u]``,
        ``a[p]:b[v]``, ...); R varies the first fastest (``ap:bu``, ``aq:bu``, ...).

    Raises
    ------
    SpecError
        When names and columns disagree (a formulae expansion hierbayes does not handle).
    """
    flat = [r_power_text(r_poly_text(_ORDERED_LABEL.sub(r"\1[", label))) for term in labels for label in term]
    if len(flat) != n_columns:
        raise SpecError(
            f"{where}: the expansion gives {n_columns} columns but {len(flat)} names "
            f"({', '.join(flat)}); write the terms out with '+' and ':' (e.g. a + a:b "
            "for a/b)"
        )
    order: list[int] = []
    for term in labels:
        start = len(order)
        order.extend([start + j for j in _first_factor_fastest(term)])
    return tuple(flat[j] for j in order), np.asarray(order, dtype=np.int64)


def _first_factor_fastest(labels: list[str]) -> list[int]:
    parts = [label.split(":") for label in labels]
    if len(parts) < 2 or any(len(p) != len(parts[0]) for p in parts):
        return list(range(len(labels)))
    seen: list[dict[str, int]] = [{} for _ in parts[0]]
    keys = [tuple(seen[i].setdefault(c, len(seen[i])) for i, c in enumerate(p)) for p in parts]
    return sorted(range(len(labels)), key=lambda j: keys[j][::-1])


def constant_value(text: str) -> float | None:
    """The number of a numeric literal (``7`` in ``y | trials(7)``), else None."""
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def check_relevel_references(terms: Iterable[str], frame: pd.DataFrame) -> None:
    """Check every ``relevel(f, ref)`` and ``C(f, Treatment(ref))`` names a level of ``f``.

    Raises
    ------
    SpecError
        For a relevel call without a reference or with a non-constant one.
    DataError
        For a reference that is not a level of the column; the message lists the levels.
    """
    for text in terms:
        references = [_relevel_arguments(call) + (call,) for call in _calls(text, "relevel")]
        references += [_treatment_reference(call) + (call,) for call in _calls(text, "C")]
        for column, ref, call in references:
            if column is None or column not in frame.columns:
                continue  # reported as an unknown column elsewhere
            _, levels = _values_and_levels(frame[column])
            names = [_level_text(v) for v in levels]
            if _level_text(ref) not in names:
                raise DataError(
                    f"{call.text}: {ref!r} is not a level of {column!r}; its levels are "
                    f"{names}"
                )


def _relevel_arguments(call: Call) -> tuple[str, object]:
    usage = f"write relevel({call.args[0].text}, ref=\"level\")" if call.args else ""
    positional = [a.text for a in call.args if not re.match(r"^\w+\s*=", a.text)]
    keywords = dict(
        (k.strip(), v.strip())
        for k, v in (a.text.split("=", 1) for a in call.args if re.match(r"^\w+\s*=", a.text))
    )
    if not positional or len(positional) + len(keywords) != 2 or set(keywords) - {"ref"}:
        raise SpecError(f"{call.text}: relevel takes a factor and a reference level; {usage}")
    ref_text = keywords.get("ref", positional[-1] if len(positional) == 2 else "")
    try:
        ref = ast.literal_eval(ref_text)
    except (ValueError, SyntaxError):
        raise SpecError(
            f"{call.text}: the reference level must be a quoted level or a number; {usage}"
        ) from None
    column = positional[0]
    inner = re.fullmatch(r"(?:as\.factor|factor|C)\(\s*([\w.`]+)\s*\)", column)
    column = inner.group(1) if inner else column  # relevel(factor(g), "b")
    return (column[1:-1] if column.startswith("`") else column), ref


def _treatment_reference(call: Call) -> tuple[str | None, object]:
    """The column and reference of ``C(f, Treatment("b"))``; (None, None) for other C()."""
    found = re.fullmatch(r"Treatment\((.+)\)", call.args[1].text) if len(call.args) == 2 else None
    column = call.args[0].text
    if found is None or not is_plain_name(column):
        return None, None
    try:
        return column, ast.literal_eval(found.group(1).strip())
    except (ValueError, SyntaxError):
        return None, None


def _calls(text: str, name: str) -> list[Call]:
    """The calls of ``name`` among the factors of a term text."""
    rhs = parse(f"_ ~ {text}").rhs
    found: list[Call] = []
    stack = [rhs]
    while stack:
        node = stack.pop()
        if isinstance(node, Call):
            if node.name == name:
                found.append(node)
            continue
        stack.extend(
            getattr(node, attr) for attr in ("body", "left", "right") if hasattr(node, attr)
        )
        stack.extend(item.expr for item in getattr(node, "items", ()))
    return found
