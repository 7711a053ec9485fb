"""ModelSpec + DataFrame -> Design: response, fixed-effect matrix, group codes and slopes.

formulae expands the fixed terms and the slope expressions of group terms (interactions,
``I(...)``, ``C(...)``, treatment contrasts, stateful transforms such as ``center(x)``);
group codes are computed here from the grouping columns, so no rows x levels matrix is ever
built. Everything needed to encode new data the same way is kept in a
:class:`DesignEncoder`, stored as ``Design.encoder``.

Data are validated before formulae evaluates anything (see :mod:`.checks`); formulae's own
exceptions are translated into :class:`~hierbayes.errors.SpecError` /
:class:`~hierbayes.errors.DataError` naming the term.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from formulae import design_matrices, model_description
from formulae.categorical import ENCODINGS
from formulae.environment import Environment
from formulae.terms.call import Call
from formulae.terms.call_resolver import LazyCall, LazyOperator, LazyVariable
from formulae.terms.terms import GroupSpecificTerm, Term
from formulae.terms.variable import Variable
from formulae.transforms import TRANSFORMS

from ..errors import DataError, SpecError
from ..families import get_family
from ..spec.ir import FixedPart, GroupTerm, ModelSpec
from . import checks
from .frames import as_pandas, check_column_types
from .nesting import ImplicitNestingWarning, warn_implicit_nesting
from .offsets import offset_vector
from .rterms import (
    FACTOR_FUNCTIONS,
    FORMULA_FUNCTIONS,
    check_relevel_references,
    column_names,
    constant_value,
    formulae_terms,
    ordered_columns,
    with_ordered_only,
)
from .subset import rows_in_subset
from .types import Design, GroupBlock

__all__ = ["DesignEncoder", "NewData", "NewGroupBlock", "build_design"]

_KNOWN_NAMES = frozenset(TRANSFORMS) | frozenset(ENCODINGS) | frozenset(FORMULA_FUNCTIONS)
_FACTOR_CALLEES = frozenset({"C", "S", "T", "factor", "as.factor", *FACTOR_FUNCTIONS})
_CATEGORICAL_CALLEES = _FACTOR_CALLEES | {"B", "binary"}
_COMPARISONS = frozenset({"==", "!="})


# ====================================================================== output of encode_new


@dataclass(frozen=True, eq=False)
class NewGroupBlock:
    """One group term encoded for new data.

    codes : (m,) int64 code of each row's group in the training levels, -1 for a level the
        model was not fit with.
    X : (m, k) float64 columns the group effects multiply (same columns as in training).
    new_levels : names of the unseen levels, in order of first appearance.
    new_codes : (m,) int64 index of each row's unseen level in ``new_levels``; -1 for rows
        whose level was seen in training.
    term : the group term.
    """

    codes: np.ndarray
    X: np.ndarray
    new_levels: tuple[str, ...]
    new_codes: np.ndarray
    term: GroupTerm | None = None

    @property
    def has_new_levels(self) -> bool:
        return bool(self.new_levels)


@dataclass(frozen=True, eq=False)
class NewData:
    """New data encoded exactly like the training data.

    X : (m, p) float64 fixed-effect columns (``Design.fixed_names``).
    groups : one :class:`NewGroupBlock` per group term, in spec order.
    trials : (m,) binomial trials when the model has them and the new data hold the
        needed column(s), else None.
    row_index : the DataFrame index labels of the rows.
    offset : (m,) summed offsets of the new rows (None when the model has none).
    """

    X: np.ndarray
    groups: tuple[NewGroupBlock, ...]
    trials: np.ndarray | None
    row_index: np.ndarray | None = None
    offset: np.ndarray | None = None

    @property
    def n_obs(self) -> int:
        return int(self.X.shape[0])


# ============================================================== parsing the pieces of text


@dataclass(frozen=True)
class _Expr:
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
        inner = node.callee not in _CATEGORICAL_CALLEES
        for arg in [*node.args, *node.kwargs.values()]:
            yield from _numeric_names(arg, inner)


def _describe(text: str, role: str) -> object:
    """formulae's parse of one piece of text; its parse errors become SpecError."""
    try:
        return model_description(text)
    except Exception as exc:  # noqa: BLE001 - formulae raises several error types
        raise SpecError(f"{role} {text!r} is not a valid formula expression ({exc})") from None


def _parse_term(text: str, role: str = "term") -> _Expr:
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
    return _Expr(text, role, tuple(names), tuple(numeric))


def _parse_value(text: str, role: str, columns: pd.Index) -> _Expr:
    """Parse an expression that must give one number per row (response, trials)."""
    if text in columns:
        return _Expr(text, role, (text,), (text,), is_column=True)
    parsed = _parse_term(f"I({text})", role)
    return _Expr(text, role, parsed.names, parsed.numeric, is_column=False)


@dataclass(frozen=True)
class _Plan:
    """Every piece of text of a spec, parsed, before any data are evaluated."""

    response: _Expr
    trials: _Expr | None
    failures: _Expr | None
    fixed: tuple[_Expr, ...]
    slopes: tuple[tuple[_Expr, ...], ...]
    offsets: tuple[_Expr, ...] = ()
    ordered: frozenset[str] = frozenset()

    @classmethod
    def from_spec(cls, spec: ModelSpec, columns: pd.Index, ordered: frozenset[str]) -> _Plan:
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
        )

    def value_exprs(self) -> list[_Expr]:
        return [e for e in (self.response, self.trials, self.failures) if e is not None]

    def term_exprs(self) -> list[_Expr]:
        return [*self.fixed, *self.offsets, *(e for block in self.slopes for e in block)]

    def offset(self, frame: pd.DataFrame) -> np.ndarray | None:
        """The summed offsets of the rows of ``frame`` (None without offsets)."""
        evaluated = [(e.text, _values(e, frame)) for e in self.offsets]
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


def _add_names(out: dict[str, str], expr: _Expr, columns: pd.Index) -> None:
    for name in expr.names:
        if name in columns or name not in _KNOWN_NAMES:
            out.setdefault(name, expr.used_by)


# ================================================================== preparing the frame


def _level_name(value: object) -> str:
    """The text of a level: ``308`` for 308 and 308.0, ``'A'`` for 'A'."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _normalize(series: pd.Series) -> pd.Series:
    """Categoricals keep their level order (unused levels dropped) and become ordered.

    formulae sorts the levels of unordered categoricals alphabetically; an ordered dtype
    makes it keep the user's order (so the first level stays the reference level).
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.remove_unused_categories().cat.as_ordered()
    return series


def _select(data: pd.DataFrame, columns: Sequence[str], *, normalize: bool) -> pd.DataFrame:
    """A new frame with only the used columns; ``data`` itself is never modified."""
    if normalize:
        content = {c: _normalize(data[c]).array for c in columns}
    else:
        content = {c: data[c].array for c in columns}
    return pd.DataFrame(content, index=data.index, copy=False)


def _column_kind(series: pd.Series) -> str:
    if checks.is_numeric_column(series):
        return "numeric"
    if isinstance(series.dtype, pd.CategoricalDtype):
        cats = series.cat.categories
        return "text" if cats.dtype == object or pd.api.types.is_string_dtype(cats) else "other"
    return "text"


def _check_types(plan: _Plan, frame: pd.DataFrame, encoded_response: bool = False) -> None:
    for expr in plan.value_exprs():
        role = "response" if expr.role == "response" else "term"
        if encoded_response and expr is plan.response:
            continue  # an ordinal response may be categorical: its family encodes it
        for name in expr.numeric:
            if name in frame.columns:
                checks.check_numeric(frame[name], name, expr.text, role)
    for expr in plan.term_exprs():
        for name in expr.numeric:
            if name in frame.columns:
                checks.check_numeric(frame[name], name, expr.text, "term")
    checks.check_finite(frame, frame.columns)


# ================================================================ formulae-expanded terms


def _environment() -> Environment:
    return Environment([dict(FORMULA_FUNCTIONS)])


_FUNCTION_NAMES = tuple(
    sorted(
        n for n in {*FORMULA_FUNCTIONS, *TRANSFORMS, "as.factor"} if n not in {"np", "as", "B", "p"}
    )
)


def _translated(what: str) -> contextlib.AbstractContextManager[None]:
    """Run formulae with its errors turned into DataError/SpecError naming ``what``."""
    return checks.formulae_errors(what, DataError, _FUNCTION_NAMES)


def _expand(formula: str, frame: pd.DataFrame) -> object:
    """formulae's common-effects matrix of a right-hand side (missing values pre-checked)."""
    return design_matrices(formula, frame, na_action="pass", env=_environment()).common


def _as_matrix(values: object, n: int) -> np.ndarray:
    X = np.asarray(values, dtype=np.float64)
    return X.reshape(n, -1) if X.ndim != 2 else X


class _TermsEncoder:
    """Columns from an intercept flag and additive terms, expanded by formulae.

    Used for the fixed part and for the slopes of each group term. Keeps formulae's
    evaluated terms, which remember categorical levels, contrasts and the state of
    transforms like ``center(x)``.
    """

    def __init__(
        self, intercept: bool, terms: tuple[str, ...], where: str, drop_intercept: bool = False
    ) -> None:
        self.intercept = intercept
        self.terms = terms
        self.where = where
        # Ordinal families: thresholds replace the intercept, but factors keep the
        # reduced-rank (treatment) coding they get with an intercept.
        self.drop_intercept = drop_intercept and intercept
        self.names: tuple[str, ...] = ()
        self.factor_levels: dict[str, list[object]] = {}
        self._matrix = None
        self._order = np.zeros(0, dtype=np.int64)  # R's column order (see column_names)

    @property
    def formula(self) -> str:
        return " + ".join(["1" if self.intercept else "0", *self.terms])

    def fit(self, frame: pd.DataFrame) -> np.ndarray:
        """Expand the terms on the training frame; return the (n, p) matrix."""
        X = self._fit(frame)
        if self.drop_intercept:
            checks.check_rank(X, self.names)
            self.names = self.names[1:]
            return X[:, 1:]
        return X

    def _fit(self, frame: pd.DataFrame) -> np.ndarray:
        n = frame.shape[0]
        if not self.terms:
            self.names = ("Intercept",) if self.intercept else ()
            return np.ones((n, 1)) if self.intercept else np.zeros((n, 0))
        matrix = self._evaluate(frame)
        self._matrix = matrix
        X = _as_matrix(matrix.design_matrix, n)
        labels = [list(t.labels) for t in matrix.terms.values()]
        self.names, self._order = column_names(labels, X.shape[1], repr(self.formula))
        X = X[:, self._order]
        self.factor_levels = _factor_levels(matrix)
        for column, levels in self.factor_levels.items():
            checks.check_factor_levels(column, [_level_name(v) for v in levels], self.where)
        return X

    def _evaluate(self, frame: pd.DataFrame) -> object:
        try:
            with _translated(f"{self.where} {self.formula!r}"):
                return _expand(self.formula, frame)
        except (DataError, SpecError):
            self._blame_one_term(frame)
            raise

    def _blame_one_term(self, frame: pd.DataFrame) -> None:
        """Re-run the terms one by one so the message names the failing one."""
        for term in self.terms:
            with _translated(f"term {term!r} ({self.where})"):
                _expand(f"1 + {term}", frame)

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Encode new rows with the training levels, contrasts and transform states."""
        X = self._transform(frame)
        return X[:, 1:] if self.drop_intercept else X

    def _transform(self, frame: pd.DataFrame) -> np.ndarray:
        m = frame.shape[0]
        if self._matrix is None:
            return np.ones((m, 1)) if self.intercept else np.zeros((m, 0))
        self._check_levels(frame)
        with _translated(f"{self.where} {self.formula!r} on newdata"):
            values = self._matrix.evaluate_new_data(frame).design_matrix
        return _as_matrix(values, m)[:, self._order]

    def _check_levels(self, frame: pd.DataFrame) -> None:
        for column, levels in self.factor_levels.items():
            known = set(levels)
            unseen = [v for v in pd.unique(frame[column]) if v not in known]
            if unseen:
                raise DataError(
                    f"newdata has level(s) {[_level_name(v) for v in unseen]} of {column!r}, "
                    f"which the model was not fit with; {column!r} enters {self.where} as a "
                    f"factor, so its levels must be among {[_level_name(v) for v in levels]}"
                )


def _factor_levels(matrix: object) -> dict[str, list[object]]:
    """Categorical data columns of the expanded terms and their training levels."""
    out: dict[str, list[object]] = {}
    for term in matrix.terms.values():
        for component in getattr(term, "components", ()):
            if component.kind != "categoric":
                continue
            if isinstance(component, Variable):
                out[component.name] = list(component.levels)
            elif _is_factor_call(component):
                out[component.call.args[0].name] = list(component.levels)
    return out


def _is_factor_call(component: object) -> bool:
    call = getattr(component, "call", None)
    return (
        isinstance(call, LazyCall)
        and call.callee in _FACTOR_CALLEES
        and bool(call.args)
        and isinstance(call.args[0], LazyVariable)
    )


# ========================================================================= group factors


def _factor_codes(series: pd.Series, name: str) -> tuple[np.ndarray, list[str]]:
    """Codes 0..J-1 and level names of one grouping column (categorical order kept)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        cat = series.cat.remove_unused_categories()
        codes, categories = cat.cat.codes.to_numpy(), cat.cat.categories
    else:
        try:
            codes, categories = pd.factorize(series, sort=True)
        except TypeError:
            raise DataError(
                f"grouping factor {name!r} mixes values of different types (e.g. numbers and "
                "text); convert the column to one type"
            ) from None
    names = [_level_name(v) for v in categories]
    if len(set(names)) < len(names):
        raise DataError(
            f"grouping factor {name!r} has distinct values that print the same (e.g. 1 and "
            "'1'); convert the column to one type"
        )
    return np.asarray(codes, dtype=np.int64), names


def _lookup_codes(series: pd.Series, index: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Training codes of new values (-1 when unseen), and each row's level name."""
    cat = pd.Categorical(series)
    names = np.asarray([_level_name(v) for v in cat.categories], dtype=object)
    table = np.asarray([index.get(n, -1) for n in names], dtype=np.int64)
    codes = cat.codes.astype(np.int64)
    return table[codes] if len(table) else np.full(len(codes), -1, np.int64), names[codes]


def _ravel(codes: Sequence[np.ndarray], dims: tuple[int, ...], group: str) -> np.ndarray:
    try:
        return np.ravel_multi_index(tuple(codes), dims).astype(np.int64)
    except ValueError:
        raise DataError(
            f"grouping factor {group!r} has too many level combinations to index"
        ) from None


class _GroupEncoder:
    """Group codes and slope columns of one group term."""

    def __init__(self, term: GroupTerm, slopes: tuple[_Expr, ...]) -> None:
        self.term = term
        terms = tuple(e.text for e in slopes)
        self.slopes = _TermsEncoder(term.intercept, terms, f"'({term.label})'")
        self.column_index: list[dict[str, int]] = []
        self.dims: tuple[int, ...] = ()
        self.keys = np.zeros(0, dtype=np.int64)
        self.levels: tuple[str, ...] = ()

    def fit_codes(self, frame: pd.DataFrame) -> np.ndarray:
        """Codes 0..J-1 of the level combination of every row; sets ``levels``."""
        coded = [_factor_codes(frame[c], c) for c in self.term.factor]
        self.column_index = [{n: i for i, n in enumerate(names)} for _, names in coded]
        self.dims = tuple(len(names) for _, names in coded)
        if len(coded) == 1:
            codes, names = coded[0]
            self.levels = tuple(names)
            return codes
        key = _ravel([c for c, _ in coded], self.dims, self.term.group)
        self.keys, codes = np.unique(key, return_inverse=True)
        parts = np.unravel_index(self.keys, self.dims)
        self.levels = tuple(
            ":".join(coded[c][1][parts[c][j]] for c in range(len(coded)))
            for j in range(len(self.keys))
        )
        return codes.astype(np.int64)

    def fit_block(self, frame: pd.DataFrame, codes: np.ndarray) -> GroupBlock:
        X = self.slopes.fit(frame)
        checks.check_finite_matrix(X, self.slopes.names, f"'({self.term.label})'", frame.index)
        return GroupBlock(self.term, codes, X, self.slopes.names, self.levels)

    def transform(self, frame: pd.DataFrame, raw: pd.DataFrame) -> NewGroupBlock:
        """Encode new rows: known levels get their code, unseen ones -1 and a new index."""
        pairs = zip(self.term.factor, self.column_index, strict=True)
        looked = [_lookup_codes(raw[column], index) for column, index in pairs]
        codes = self._combined_codes([c for c, _ in looked])
        unseen = codes < 0
        new_codes = np.full(len(codes), -1, dtype=np.int64)
        new_levels: tuple[str, ...] = ()
        if unseen.any():
            names = functools.reduce(lambda a, b: a + ":" + b, [n[unseen] for _, n in looked])
            found, uniques = pd.factorize(pd.Series(names, dtype=object), sort=False)
            new_codes[unseen] = found
            new_levels = tuple(str(u) for u in uniques)
        X = self.slopes.transform(frame)
        return NewGroupBlock(codes, X, new_levels, new_codes, self.term)

    def _combined_codes(self, per_column: list[np.ndarray]) -> np.ndarray:
        if len(per_column) == 1:
            return per_column[0]
        known = np.all(np.stack(per_column) >= 0, axis=0)
        codes = np.full(len(known), -1, dtype=np.int64)
        if known.any():
            key = _ravel([c[known] for c in per_column], self.dims, self.term.group)
            pos = np.searchsorted(self.keys, key)
            pos_clipped = np.minimum(pos, len(self.keys) - 1)
            match = self.keys[pos_clipped] == key
            codes[np.flatnonzero(known)[match]] = pos_clipped[match]
        return codes


# ============================================================================= response


def _values(expr: _Expr, frame: pd.DataFrame) -> np.ndarray:
    """One float per row from a column or an expression (``log(y)``, ``size - y``)."""
    n = frame.shape[0]
    if expr.is_column:
        return frame[expr.text].to_numpy(dtype=np.float64)
    if not expr.names and constant_value(expr.text) is not None:  # y | trials(7)
        return np.full(n, constant_value(expr.text))
    with _translated(f"{expr.role} {expr.text!r}"):
        common = _expand(f"0 + I({expr.text})", frame)
    values = _as_matrix(common.design_matrix, n)
    if values.shape[1] != 1:
        raise DataError(f"{expr.role} {expr.text!r} must give one number per row")
    return values[:, 0]


def _as_counts(values: np.ndarray) -> np.ndarray:
    """int64 when every value is a whole number (binomial trials), else unchanged."""
    finite = np.isfinite(values)
    if finite.all() and np.all(values == np.round(values)):
        return values.astype(np.int64)
    return values


def _response(plan: _Plan, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
    y = _values(plan.response, frame)
    if plan.trials is not None:
        return y, _as_counts(_values(plan.trials, frame))
    if plan.failures is not None:
        return y, _as_counts(y + _values(plan.failures, frame))
    return y, None


def _encoded_response(
    plan: _Plan, frame: pd.DataFrame, data: pd.DataFrame, family: object
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Codes 0..K-1 and category labels of an ordinal response (see families.encode_ordinal)."""
    expr = plan.response
    if plan.trials is not None or plan.failures is not None:
        raise DataError(f"the {family.name} family takes no trials(); write '{expr.text} ~ ...'")
    if not expr.is_column:
        raise DataError(
            f"the {family.name} family needs the response to be a data column, not "
            f"{expr.text!r}; add the column to the data"
        )
    raw = data[expr.text]
    ordered = raw.cat.ordered if isinstance(raw.dtype, pd.CategoricalDtype) else None
    return family.encode_response(frame[expr.text], expr.text, ordered, frame.index.to_numpy())


def _new_trials(plan: _Plan, frame: pd.DataFrame) -> np.ndarray | None:
    """Trials for new data when the needed columns are there, else None."""
    exprs = [plan.trials] if plan.trials is not None else []
    if plan.failures is not None:
        exprs = [plan.response, plan.failures]
    if not exprs or any(n not in frame.columns for e in exprs for n in e.names):
        return None
    total = sum(_values(e, frame) for e in exprs)
    return _as_counts(np.asarray(total, dtype=np.float64))


# ============================================================================== encoder


def _rebuild_encoder(
    spec: ModelSpec, frame: pd.DataFrame, ordered: frozenset[str] = frozenset()
) -> DesignEncoder:
    """Unpickling: rebuild the encoder from the spec and the training columns (already
    filtered by ``spec.subset``, whose columns they may not have)."""
    with warnings.catch_warnings():  # said when the model was built, not again on loading
        warnings.simplefilter("ignore", ImplicitNestingWarning)
        encoder = build_design(replace(spec, subset=None), with_ordered_only(frame, ordered)).encoder
    encoder.spec = spec
    return encoder


class DesignEncoder:
    """Encodes new data exactly like the training data of a Design.

    Keeps formulae's evaluated terms (categorical levels, contrasts, transform states),
    the group level names and the training column types. Pickling stores only the spec
    and the used training columns; unpickling rebuilds the encoder with
    :func:`build_design`, which is deterministic.
    """

    #: Category labels of an ordinal response (codes 0..K-1 index them), else None.
    response_levels: tuple[str, ...] | None = None

    def __init__(
        self,
        spec: ModelSpec,
        plan: _Plan,
        fixed: _TermsEncoder,
        groups: tuple[_GroupEncoder, ...],
        frame: pd.DataFrame,
    ) -> None:
        self.spec = spec
        self._plan = plan
        self._fixed = fixed
        self._groups = groups
        self._frame = frame
        self.required: dict[str, str] = plan.needed(spec, frame.columns, response=False)
        self._kinds = {c: _column_kind(frame[c]) for c in self.required}
        factor_only = {f for g in spec.groups for f in g.factor}
        self._term_columns = [
            c for c in self.required
            if c not in factor_only or any(c in e.names for e in plan.term_exprs())
        ]

    def __reduce__(self) -> tuple[object, tuple[ModelSpec, pd.DataFrame, frozenset[str]]]:
        return (_rebuild_encoder, (self.spec, self._frame, self._plan.ordered))

    @property
    def fixed_names(self) -> tuple[str, ...]:
        return self._fixed.names

    @property
    def group_levels(self) -> dict[str, tuple[str, ...]]:
        """Training level names per group term label."""
        return {g.term.label: g.levels for g in self._groups}

    def encode_new(self, df: pd.DataFrame) -> NewData:
        """Encode new data with the training columns, levels and contrasts.

        Parameters
        ----------
        df : pandas.DataFrame
            New rows. They need the columns of the fixed terms, grouping factors and slope
            expressions; the response is not needed. It is not modified.

        Returns
        -------
        NewData
            Fixed-effect matrix, one block per group term (unseen group levels get code -1
            and are listed in ``new_levels``) and trials when available.

        Raises
        ------
        DataError
            For a missing column, missing values, a non-numeric value where the model
            needs numbers, or a level of a fixed-effect factor the model was not fit with.
        """
        checks.check_dataframe(df, "newdata")
        checks.check_columns_exist(self.required, df.columns, "newdata")
        optional = [
            n for e in self._plan.value_exprs() for n in e.names
            if n in df.columns and n not in self.required
        ]
        raw = _select(df, [*self.required, *dict.fromkeys(optional)], normalize=False)
        checks.handle_missing(raw, list(self.required), "error", what="newdata")
        frame = self._coerce(raw)
        checks.check_finite(frame, self.required)
        X = self._fixed.transform(frame)
        checks.check_finite_matrix(X, self._fixed.names, "fixed-effect", frame.index)
        groups = tuple(g.transform(frame, raw) for g in self._groups)
        trials = _new_trials(self._plan, frame)
        offset = self._plan.offset(frame)
        return NewData(X, groups, trials, frame.index.to_numpy(), offset)

    def _coerce(self, raw: pd.DataFrame) -> pd.DataFrame:
        """Give new columns the training kinds (numbers stay numbers, labels text)."""
        content = {c: raw[c].array for c in raw.columns}
        for column in self._term_columns:
            content[column] = _coerce_column(raw[column], self._kinds[column], column).array
        return pd.DataFrame(content, index=raw.index, copy=False)


def _coerce_column(series: pd.Series, kind: str, column: str) -> pd.Series:
    is_numeric = checks.is_numeric_column(series)
    if kind == "numeric" and not is_numeric:
        try:
            return pd.to_numeric(series.astype(object))
        except (TypeError, ValueError):
            raise DataError(
                f"column {column!r} in newdata has dtype {series.dtype}, but the model was fit "
                "with numbers in it; give numeric values"
            ) from None
    if kind == "text" and is_numeric:
        return series.map(_level_name).astype(object)
    return series


# ============================================================================ build_design


def _fit_groups(
    spec: ModelSpec, plan: _Plan, frame: pd.DataFrame
) -> tuple[tuple[_GroupEncoder, ...], list[np.ndarray]]:
    for term in spec.groups:
        checks.check_group_term(term)
    encoders = tuple(_GroupEncoder(t, b) for t, b in zip(spec.groups, plan.slopes, strict=True))
    codes = [enc.fit_codes(frame) for enc in encoders]
    for enc in encoders:
        checks.check_group_levels(enc.term, len(enc.levels))
    checks.check_levels_vs_obs(((e.term, len(e.levels)) for e in encoders), frame.shape[0])
    return encoders, codes


def _fit_fixed(
    fixed: FixedPart, frame: pd.DataFrame, drop_intercept: bool = False
) -> tuple[_TermsEncoder, np.ndarray]:
    encoder = _TermsEncoder(fixed.intercept, fixed.terms, "the fixed part", drop_intercept)
    X = encoder.fit(frame)
    checks.check_finite_matrix(X, encoder.names, "fixed-effect", frame.index)
    checks.check_rank(X, encoder.names)
    return encoder, X


def _prepare(spec: ModelSpec, data: pd.DataFrame, missing: str) -> tuple[_Plan, pd.DataFrame, np.ndarray]:
    """Cheap checks, before formulae evaluates anything; returns the used-columns frame and
    the positions of its rows in ``data`` (labels may repeat, positions do not)."""
    checks.check_missing_policy(missing)
    family = get_family(spec.family)
    data = as_pandas(data)
    checks.check_dataframe(data)
    data, in_subset = rows_in_subset(spec, data)
    plan = _Plan.from_spec(spec, data.columns, ordered_columns(data))
    needed = plan.needed(spec, data.columns)
    checks.check_columns_exist(needed, data.columns)
    check_column_types(needed, data)
    selected = _select(data, list(needed), normalize=True)
    frame = checks.handle_missing(selected, list(needed), missing)
    if frame is selected:
        positions = np.arange(len(data))
    else:
        positions = np.flatnonzero(~checks.incomplete_rows(selected, list(needed)))
    _check_types(plan, frame, encoded_response=family.encode_response is not None)
    return plan, frame, in_subset[positions]


def build_design(spec: ModelSpec, data: pd.DataFrame, *, missing: str = "error") -> Design:
    """Build the arrays of a model from a spec and a DataFrame.

    Parameters
    ----------
    spec : ModelSpec
        The model (response, fixed part, group terms, family).
    data : pandas.DataFrame
        The data. It is never modified; only the columns the model uses are read.
    missing : {"error", "drop"}
        What to do with rows that have missing values in a used column: raise (default)
        or drop them with a warning.

    Returns
    -------
    Design
        Response, fixed-effect matrix (``Intercept`` first when present), one
        :class:`GroupBlock` per group term (integer codes and slope columns, never a dense
        indicator matrix), the index labels of the rows used, trials for binomial models,
        and a :class:`DesignEncoder` for new data.

    Raises
    ------
    SpecError
        For model text formulae cannot parse or names that are not functions.
    DataError
        For data that do not fit the model: empty data, unknown columns, missing or
        infinite values, text where numbers are needed, grouping factors with one level
        or as many levels as observations (with slopes), collinear fixed effects, or
        responses outside the family's support.
    """
    plan, frame, positions = _prepare(spec, data, missing)
    row_index = frame.index.to_numpy()
    family = get_family(spec.family)
    response_levels = None
    if family.encode_response is None:
        y, trials = _response(plan, frame)
    else:
        (y, response_levels), trials = _encoded_response(plan, frame, data, family), None
    checks.check_response(spec, y, trials, row_index)
    if family.thresholds and not spec.fixed.intercept:
        raise SpecError(
            f"the {family.name} family estimates thresholds in place of an intercept; "
            "remove '0 +' / '- 1' from the formula"
        )
    check_relevel_references([e.text for e in plan.term_exprs()], frame)
    group_encoders, codes = _fit_groups(spec, plan, frame)
    fixed_terms = tuple(e.text for e in plan.fixed)
    fixed, X = _fit_fixed(replace(spec.fixed, terms=fixed_terms), frame, family.thresholds)
    blocks = tuple(enc.fit_block(frame, c) for enc, c in zip(group_encoders, codes, strict=True))
    warn_implicit_nesting(blocks)
    encoder = DesignEncoder(spec, plan, fixed, group_encoders, frame)
    encoder.response_levels = response_levels
    return Design(
        spec=spec,
        y=y,
        X=X,
        fixed_names=fixed.names,
        groups=blocks,
        row_index=row_index,
        trials=trials,
        encoder=encoder,
        row_positions=positions,
        offset=plan.offset(frame),
    )
