"""ModelSpec + DataFrame -> Design: response, fixed-effect matrix, group codes and slopes.

formulae expands the fixed terms and the slope expressions of group terms (interactions,
``I(...)``, ``C(...)``, treatment contrasts, stateful transforms such as ``center(x)``);
group codes are computed here from the grouping columns, so no rows x levels matrix is ever
built. Everything needed to encode new data the same way is kept in a
:class:`DesignEncoder`, stored as ``Design.encoder``.

Data are validated before formulae evaluates anything (see :mod:`.checks`); formulae's own exceptions
become :class:`~hierbayes.errors.SpecError` / ``DataError`` naming the term (:mod:`.formulae_eval`).

Assembled from :mod:`.plan` (the model text parsed, columns listed), :mod:`.response`,
:mod:`.terms_encoder` (fixed part and slopes), :mod:`.group_encoder` (group codes) and
:mod:`.model_checks` (group terms, rank, response support).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from ..errors import DataError, SpecError
from ..families import get_family
from ..spec.distributional import aux_spec
from ..spec.ir import FixedPart, ModelSpec
from . import checks, model_checks
from .censoring import censoring_of
from .distributional import aux_needed
from .frames import as_pandas, check_column_types
from .group_encoder import GroupEncoder
from .levels import level_name
from .nesting import ImplicitNestingWarning, warn_implicit_nesting
from .plan import DesignPlan, evaluate_values
from .residuals import residual_design
from .response import encoded_response, new_trials, response_values, trials_exprs
from .rterms import check_relevel_references, ordered_columns, with_ordered_only
from .stata_censoring import stata_censoring
from .subset import rows_in_subset
from .terms_encoder import TermsEncoder
from .types import Design, NewData
from .weights import apply_group_weights, weights_of

__all__ = ["DesignEncoder", "build_design"]


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


def _check_types(plan: DesignPlan, frame: pd.DataFrame, encoded_response: bool = False) -> None:
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
        plan: DesignPlan,
        fixed: TermsEncoder,
        groups: tuple[GroupEncoder, ...],
        frame: pd.DataFrame,
    ) -> None:
        self.spec = spec
        self._plan = plan
        self._fixed = fixed
        self._groups = groups
        self._frame = frame
        self.required: dict[str, str] = plan.needed(spec, frame.columns, response=False)
        self._own = frozenset(self.required)  # new data need the sub-models' columns when used
        for column, user in aux_needed(spec, frame.columns, plan.ordered).items():
            self.required.setdefault(column, user)
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
    def grouping_only_columns(self) -> tuple[str, ...]:  # columns in no term, only grouping
        return tuple(c for c in self.required if c not in self._term_columns)

    @property
    def group_levels(self) -> dict[str, tuple[str, ...]]:
        """Training level names per group term label."""
        return {g.term.label: g.levels for g in self._groups}

    @property
    def trials_columns(self) -> tuple[str, ...]:
        """The columns new data need for a binomial model's trials (those ``trials(...)``
        reads, or the response and those ``cbind(s, f)``'s failures read)."""
        return tuple(dict.fromkeys(n for e in trials_exprs(self._plan) for n in e.names))

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
        required = {c: user for c, user in self.required.items() if c in self._own or c in df.columns}
        checks.check_columns_exist(required, df.columns, "newdata")
        optional = [n for e in self._plan.value_exprs() for n in e.names if n in df.columns and n not in required]
        raw = _select(df, [*required, *dict.fromkeys(optional)], normalize=False)
        checks.handle_missing(raw, list(required), "error", what="newdata")
        frame = self._coerce(raw)
        checks.check_finite(frame, required)
        X = self._fixed.transform(frame)
        checks.check_finite_matrix(X, self._fixed.names, "fixed-effect", frame.index)
        groups = tuple(g.transform(frame, raw) for g in self._groups)
        trials = new_trials(self._plan, frame)
        offset = self._plan.offset(frame)
        return NewData(X, groups, trials, frame.index.to_numpy(), offset)

    def new_response(self, df: pd.DataFrame) -> np.ndarray:
        """(n,) the response of new rows (its column or expression), NaN where missing.

        Raises
        ------
        DataError
            When a column of the response is not in ``df`` or is not numeric.
        """
        expr = self._plan.response
        absent = [n for n in expr.names if n not in df.columns]
        if absent:
            raise DataError(f"newdata has no column {absent[0]!r} of the response {expr.text!r}: give it, "
                            "NaN on the rows to predict")
        columns = {}
        for name in expr.names:
            values = pd.to_numeric(df[name], errors="coerce")
            bad = values.isna() & df[name].notna()
            if bad.any():
                raise DataError(f"the response column {name!r} of newdata is not numeric in rows "
                                f"{df.index[bad.to_numpy()][:5].tolist()}")
            columns[name] = values.astype(float)
        return evaluate_values(expr, pd.DataFrame(columns, index=df.index))

    def _coerce(self, raw: pd.DataFrame) -> pd.DataFrame:
        """Give new columns the training kinds (numbers stay numbers, labels text)."""
        content = {c: raw[c].array for c in raw.columns}
        for column in (c for c in self._term_columns if c in content):
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
        return series.map(level_name).astype(object)
    return series


# ============================================================================ build_design


def _fit_groups(spec: ModelSpec, plan: DesignPlan, frame: pd.DataFrame) -> tuple[tuple[GroupEncoder, ...], list[np.ndarray]]:
    for term in spec.groups:
        model_checks.check_group_term(term)
    encoders = tuple(GroupEncoder(t, b) for t, b in zip(spec.groups, plan.slopes, strict=True))
    codes = [enc.fit_codes(frame) for enc in encoders]
    for enc in encoders:
        model_checks.check_group_levels(enc.term, len(enc.levels))
    return encoders, codes


def _fit_fixed(
    fixed: FixedPart, frame: pd.DataFrame, drop_intercept: bool = False
) -> tuple[TermsEncoder, np.ndarray]:
    encoder = TermsEncoder(fixed.intercept, fixed.terms, "the fixed part", drop_intercept)
    X = encoder.fit(frame)
    checks.check_finite_matrix(X, encoder.names, "fixed-effect", frame.index)
    model_checks.check_rank(X, encoder.names)
    return encoder, X


def _prepare(spec: ModelSpec, data: pd.DataFrame, missing: str) -> tuple[DesignPlan, pd.DataFrame, np.ndarray]:
    """Cheap checks, before formulae evaluates anything; returns the used-columns frame and
    the positions of its rows in ``data`` (labels may repeat, positions do not)."""
    checks.check_missing_policy(missing)
    family = get_family(spec.family)
    data = as_pandas(data)
    checks.check_dataframe(data)
    data, in_subset = rows_in_subset(spec, data)
    plan = DesignPlan.from_spec(spec, data.columns, ordered_columns(data))
    needed = plan.needed(spec, data.columns)
    for column, user in aux_needed(spec, data.columns, ordered_columns(data)).items():
        needed.setdefault(column, user)
    checks.check_columns_exist(needed, data.columns)
    check_column_types(needed, data)
    checks.check_integer_factors(data, spec.integer_factors)
    selected = _select(data, list(needed), normalize=True)
    complete = [c for c in needed if c not in plan.may_be_missing()]  # intreg(): missing = unbounded
    frame = checks.handle_missing(selected, complete, missing)
    checks.warn_level_spellings(frame, {column for term in spec.groups for column in term.factor})
    if frame is selected:
        positions = np.arange(len(data))
    else:
        positions = np.flatnonzero(~checks.incomplete_rows(selected, complete))
    coding, response = None, plan.response.text
    if family.recode_response is not None and plan.response.is_column and response in frame.columns:
        recoded, coding = family.recode_response(frame[response], response)
        frame = frame.assign(**{response: recoded})
    _check_types(plan, frame, encoded_response=family.encode_response is not None)
    frame.attrs["response_coding"] = coding
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
        y, trials = response_values(plan, frame)
    else:
        (y, response_levels), trials = encoded_response(plan, frame, data, family), None
    y, limited = stata_censoring(plan, frame, y)
    model_checks.check_response(spec, y, trials, row_index)
    upper_rows = None if spec.response.cens_upper is None else as_pandas(data).iloc[positions]
    censoring = censoring_of(spec.response, plan, frame, y, family, upper_rows, limited)
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
    model_checks.check_group_sizes(spec, blocks, frame)
    warn_implicit_nesting(blocks)
    weights = weights_of(spec, as_pandas(data).iloc[positions], blocks)
    blocks = apply_group_weights(blocks, weights)
    encoder = DesignEncoder(spec, plan, fixed, group_encoders, frame)
    encoder.response_levels = response_levels
    used_rows = as_pandas(data).iloc[positions]
    distributional = tuple(
        (name, build_design(aux_spec(spec, name), used_rows)) for name in spec.aux_formulas
    )
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
        residuals=_residuals(spec, data, positions, blocks),
        distributional=distributional,
        censoring=censoring,
        response_coding=frame.attrs.get("response_coding"),
        weights=weights,
    )


def _residuals(spec: ModelSpec, data: pd.DataFrame, positions: np.ndarray, blocks):
    """The residual structure on the rows used (gaussian, identity link only)."""
    if spec.residuals is None:
        return None
    family = get_family(spec.family)
    if not family.linear_gaussian(family.resolve_link(spec.link)):
        raise SpecError(
            f"residuals={spec.residuals.describe()}: residual structures need a gaussian model with "
            f"the identity link (this one is {family.name}, link {family.resolve_link(spec.link)!r})"
        )
    return residual_design(spec.residuals, as_pandas(data).iloc[positions], blocks, (as_pandas(data), positions))
