"""``missing="model"``: rows with holes in continuous predictors are kept, the holes imputed.

The design is built on a copy of the data whose holes hold a fill value (the column's
observed mean; a level-2 column's known group value where the group has one). Each imputed
column must enter the fixed-effect matrix linearly: the design is re-encoded with the holes
moved by +1 and +2, and every column that changes must change by the same multiple both
times and only in the rows with the hole (``x``, ``x:z``, ``I(2 * x)``, ``x * z``). The
multiples (``loadings``) let the backend add ``b_j * m_ij * (x_i - fill_i)`` to the linear
predictor, with ``x_i`` a parameter. A term not linear in the column (``I(x**2)``,
``log(x)``), a column in a group term's slopes or two imputed columns in one product is a
SpecError naming the term.

A column constant within the groups of a grouping factor among its observed rows is a
level-2 column: it is imputed once per group (one parameter per group with no observed
value), from a gaussian regression on the level-2 complete predictors. A level-1 column gets
a gaussian regression on the complete fixed-effect columns plus a random intercept of the
grouping factor with the most levels. Missing responses (gaussian only) are left out of the
likelihood; their predictive draws come from the fit (``fit.imputed()``).

A binary column (observed values all 0 or 1) gets the same predictors in a logistic
regression, and its holes are summed out instead of sampled (NUTS has no discrete
parameters): the design holds 0 there, and the backend replaces the row's likelihood (a
level-2 column: the product over the group's rows) by ``p L(x=1) + (1 - p) L(x=0)``
(:mod:`hierbayes.backends.pymc.imputation_binary`). At most one binary column may be imputed
in a row.

With sampling weights the imputation models weigh their units as the outcome model does:
observed values and imputed values count their row's weight (a level-2 column: the group's
level-2 weight, 1 without one).

Refused: missing grouping factors, text or categorical predictors (any number of levels),
two binary holes in one row, Dask data.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ..errors import DataError, SpecError
from ..families import get_family
from ..spec.ir import ModelSpec
from . import checks
from .build import build_design
from .frames import as_pandas
from .plan import DesignPlan
from .rterms import ordered_columns
from .types import Design

__all__ = ["Imputation", "ImputedColumn", "build_imputed_design"]


@dataclass(frozen=True, eq=False)
class ImputedColumn:
    """One predictor column with holes and its imputation model.

    name : the data column.
    level : None for a level-1 (row) column; else the grouping factor it is constant within.
    rows : (m,) design-row positions whose value is imputed.
    unit : (m,) index of each such row's imputed value (0..n_values-1).
    labels : the n_values labels: row index labels (level 1) or group level names (level 2).
    fill : (m,) the value the design holds at those rows.
    loadings : (fixed column index, (m,) multiplier) pairs: ``X[rows, j]`` moves by
        ``multiplier * (x - fill)``.
    observed : the values the imputation model is fitted to (rows or groups with a value).
    W_obs, W_mis : standardized predictors of the imputation model, observed / imputed units.
    predictors : their names.
    group : the grouping factor of the level-1 random intercept, or None.
    codes_obs, codes_mis : that factor's codes of the observed / imputed units; n_groups.
    kind : "gaussian" (a continuous column: the imputed values are parameters) or "binary" (a
        0/1 column: summed out of the likelihood, the fill is 0, and the posterior holds the
        probability that each imputed value is 1).
    weights_obs, weights_mis : with sampling weights, the weights of the observed / imputed
        units (a row's weight ``Design.row_weights``; a group's level-2 weight, 1 without
        one); None unweighted.
    """

    name: str
    level: str | None
    rows: np.ndarray
    unit: np.ndarray
    labels: tuple
    fill: np.ndarray
    loadings: tuple[tuple[int, np.ndarray], ...]
    observed: np.ndarray
    W_obs: np.ndarray
    W_mis: np.ndarray
    predictors: tuple[str, ...]
    group: str | None = None
    codes_obs: np.ndarray | None = field(default=None, repr=False)
    codes_mis: np.ndarray | None = field(default=None, repr=False)
    n_groups: int = 0
    kind: str = "gaussian"
    weights_obs: np.ndarray | None = field(default=None, repr=False)
    weights_mis: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_values(self) -> int:
        return len(self.labels)

    @property
    def parameter(self) -> str:
        """The posterior variable of the imputed values (brms: ``Xmi``); for a binary column
        ``Pmi_<name>``, the posterior probability that each imputed value is 1."""
        return f"Pmi_{self.name}" if self.kind == "binary" else f"Ymi_{self.name}"

    def describe(self) -> str:
        """The imputation model in formula notation."""
        rhs = " + ".join(("1", *self.predictors, *([f"(1 | {self.group})"] if self.group else [])))
        where = "" if self.level is None else f", one value per {self.level}"
        model = "logistic" if self.kind == "binary" else "gaussian"
        return f"{model}: {self.name} ~ {rhs}{where}"


@dataclass(frozen=True, eq=False)
class Imputation:
    """The imputed predictors of a design and the rows whose response was missing.

    columns : one :class:`ImputedColumn` per predictor with holes.
    response_rows : positions in the data of rows whose (gaussian) response is missing; they
        are not in the design (no likelihood term) and are predicted after the fit.
    """

    columns: tuple[ImputedColumn, ...]
    response_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def summary_lines(self) -> list[str]:
        lines = [f"imputed {c.n_values} value(s) of {c.name!r} ({c.describe()})" for c in self.columns]
        if len(self.response_rows):
            lines.append(f"{len(self.response_rows)} missing response value(s): left out of the likelihood, "
                         "predicted from the posterior (fit.imputed())")
        return lines


def _level_of(observed: pd.Series, frame: pd.DataFrame, factors: list[str]) -> str | None:
    """The coarsest grouping factor the column is constant within (among observed rows),
    when some group holds more than one observed row (else constancy says nothing)."""
    best = None
    for f in factors:
        keep = observed.notna()
        g = frame.loc[keep, f]
        per = observed[keep].groupby(g.to_numpy(), sort=False)
        if per.ngroups >= len(g) or (per.nunique() > 1).any():
            continue
        if best is None or frame[f].nunique() < frame[best].nunique():
            best = f
    return best


def _check_column(name: str, series: pd.Series, slope_users: dict[str, str], term_columns: set[str]) -> None:
    if name in slope_users:
        raise SpecError(
            f"missing='model': column {name!r} has missing values and is used in the group term "
            f"{slope_users[name]!r}; imputed columns may enter only the fixed part"
        )
    if name not in term_columns:
        raise DataError(
            f"missing='model': column {name!r} has missing values but is not a fixed-effect predictor "
            "(weights, trials, offsets and sub-model columns cannot be imputed); fill them or use missing='drop'"
        )
    if not checks.is_numeric_column(series):
        n = series.dropna().nunique()
        raise DataError(
            f"missing='model': categorical predictor {name!r} ({n} levels) has missing values; only "
            "continuous numeric predictors are imputed; use missing='drop' or fill them"
        )
    values = series.dropna().to_numpy(dtype=float)
    if values.size < 3:
        raise DataError(f"missing='model': column {name!r} has fewer than 3 observed values to impute from")
    if is_binary(series) and np.unique(values).size < 2:
        raise DataError(f"missing='model': binary predictor {name!r} has only the value {values[0]:g} among its "
                        "observed values; its imputation model needs both 0 and 1")


def is_binary(series: pd.Series) -> bool:
    """Whether a numeric column's observed values are all 0 or 1 (imputed by a logistic model)."""
    values = series.dropna().to_numpy(dtype=float)
    return bool(values.size) and bool(np.isin(values, (0.0, 1.0)).all())


def _standardized(W: np.ndarray) -> np.ndarray:
    if W.shape[1] == 0:
        return W
    sd = W.std(axis=0)
    return (W - W.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def build_imputed_design(spec: ModelSpec, data: pd.DataFrame, marked: tuple[str, ...] = ()) -> Design:
    """The design of ``spec`` on ``data`` with holes in predictors imputed (see the module).

    ``marked``: the columns brms' ``mi()`` marked (:mod:`hierbayes.spec.missing_terms`); when
    given, a hole in any other column is an error.

    Raises
    ------
    DataError
        For a missing grouping factor, a categorical predictor with holes, two binary columns
        missing in one row, a binary column observed at one value only, a missing
        non-gaussian response or holes in columns that are not fixed-effect predictors.
    SpecError
        For an imputed column inside a group term, a nonlinear transformation or a product
        of two imputed columns, naming the term.
    """
    data = as_pandas(data)
    checks.check_dataframe(data)
    plan = DesignPlan.from_spec(spec, data.columns, ordered_columns(data))
    needed = plan.needed(spec, data.columns)
    checks.check_columns_exist(needed, data.columns)
    factors = list(dict.fromkeys(f for g in spec.groups for f in g.factor))
    for f in factors:
        if data[f].isna().any():
            raise DataError(
                f"missing='model': grouping factor {f!r} has {int(data[f].isna().sum())} missing value(s); "
                "group membership is not imputed; drop those rows (missing='drop') or fill them"
            )
    response = plan.response.text if plan.response.is_column else None
    slope_users = _slope_users(plan)
    term_columns = {n for e in plan.fixed for n in e.names}
    holes = [c for c in needed if c != response and c not in factors and data[c].isna().any()]
    unmarked = [c for c in (*holes, *([response] if response and data[response].isna().any() else []))
                if marked and c not in marked]
    if unmarked:
        raise DataError(f"column(s) {unmarked} have missing values but are not marked with mi() (a response: "
                        "'y | mi() ~ ...'); mark them or fill them")
    filled = data.copy()
    levels: dict[str, str | None] = {}
    kinds: dict[str, str] = {}
    for c in holes:
        _check_column(c, data[c], slope_users, term_columns)
        level = _level_of(data[c], data, factors)
        levels[c] = level
        kinds[c] = "binary" if is_binary(data[c]) else "gaussian"
        if level is None:
            filled[c] = data[c].fillna(0.0 if kinds[c] == "binary" else data[c].mean())
        else:  # a group's known value where it has one, else the mean of the groups' values (binary: 0)
            known = data[c].groupby(data[level].to_numpy(), sort=False).transform("first")
            per_group = data[c].groupby(data[level].to_numpy(), sort=False).first()
            filled[c] = data[c].fillna(known).fillna(0.0 if kinds[c] == "binary" else per_group.mean())
    y_missing = response is not None and data[response].isna().any()
    if y_missing:
        family = get_family(spec.family)
        if not family.linear_gaussian(family.resolve_link(spec.link)) or spec.residuals is not None:
            raise DataError(
                f"missing='model': the response {response!r} has missing values; missing responses are "
                "predicted for gaussian models (identity link, no residual structure) only; use missing='drop'"
            )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the rows without a response are dropped on purpose
        design = build_design(spec, filled, missing="drop" if y_missing else "error")
    if (design.censoring is not None or design.distributional) and holes:
        raise SpecError("missing='model' does not yet combine imputed predictors with censoring or "
                        "distributional formulas")
    response_rows = np.flatnonzero(data[response].isna().to_numpy()) if y_missing else np.zeros(0, np.int64)
    columns = tuple(_weighted(replace(c, kind=kinds[c.name]), design, data)
                    for c in _imputed_columns(design, data, filled, holes, levels))
    binary = [c.name for c in columns if c.kind == "binary" and len(c.rows)]
    if binary and spec.residuals is not None:
        raise SpecError(f"missing='model': binary predictor(s) {binary} with holes are summed out of each row's "
                        "likelihood, which a residual structure (correlated rows) does not allow; use missing='drop'")
    _check_binary_overlap(columns)
    return replace(design, imputation=Imputation(columns, response_rows))


def _weighted(col: ImputedColumn, design: Design, data: pd.DataFrame) -> ImputedColumn:
    """``col`` with the weights of its units: a level-1 column's rows weigh their row weights,
    a level-2 column's groups their level-2 weights (1 when that level has none)."""
    if design.weights is None:
        return col
    if col.level is None:
        w = design.row_weights
        hole = np.zeros(design.n_obs, dtype=bool)
        hole[col.rows] = True
        return replace(col, weights_obs=w[~hole], weights_mis=w[hole])
    g = data[col.level].iloc[design.row_positions].to_numpy().astype(str)
    groups = np.unique(g)
    per_group = pd.Series(1.0, index=groups)
    for factor, _, values in design.weights.groups:
        if factor == col.level:
            block = next(b for b in design.groups if b.group == factor)
            per_group = pd.Series(np.asarray(values, dtype=float), index=[str(v) for v in block.levels])
    missing = set(col.labels)
    return replace(col, weights_obs=per_group.loc[[k for k in groups if k not in missing]].to_numpy(),
                   weights_mis=per_group.loc[list(col.labels)].to_numpy())


def _check_binary_overlap(columns: tuple[ImputedColumn, ...]) -> None:
    """Each binary hole is summed out of its row's (level 2: its group's) likelihood on its
    own; two binary columns missing in one row would need a sum over their combinations."""
    binary = [c for c in columns if c.kind == "binary"]
    for i, a in enumerate(binary):
        for b in binary[i + 1:]:
            shared = np.intersect1d(a.rows, b.rows)
            if len(shared):
                raise DataError(
                    f"missing='model': binary predictors {a.name!r} and {b.name!r} are both missing (or imputed "
                    f"for the row's group) in {len(shared)} row(s); at most one binary column can be imputed per "
                    "row; use missing='drop' or fill one of them"
                )


def _slope_users(plan: DesignPlan) -> dict[str, str]:
    users: dict[str, str] = {}
    for block in plan.slopes:
        for e in block:
            for n in e.names:
                users.setdefault(n, e.text)
    return users


def _moved(design: Design, filled: pd.DataFrame, shifts: dict[str, float], holes_at: dict[str, np.ndarray]):
    frame = filled.iloc[design.row_positions].copy()
    for c, s in shifts.items():
        frame.loc[frame.index[holes_at[c]], c] = frame[c].to_numpy()[holes_at[c]] + s
    new = design.encoder.encode_new(frame)
    return new.X - design.X, [g.X - b.X for g, b in zip(new.groups, design.groups, strict=True)]


def _imputed_columns(design: Design, data, filled, holes, levels) -> tuple[ImputedColumn, ...]:
    rows_data = data.iloc[design.row_positions]
    holes_at = {c: rows_data[c].isna().to_numpy() for c in holes}
    affected: dict[str, list[int]] = {}
    loadings: dict[str, tuple] = {}
    for c in holes:
        d1, g1 = _moved(design, filled, {c: 1.0}, holes_at)
        d2, _ = _moved(design, filled, {c: 2.0}, holes_at)
        cols = [j for j in range(d1.shape[1]) if np.abs(d1[:, j]).max() > 1e-12]
        for gd, block in zip(g1, design.groups, strict=True):
            if np.abs(gd).max() > 1e-12:
                raise SpecError(f"missing='model': imputed column {c!r} enters the group term "
                                f"{block.term.label!r}; imputed columns may enter only the fixed part")
        bad = [design.fixed_names[j] for j in cols
               if not np.allclose(d2[:, j], 2 * d1[:, j]) or np.abs(d1[~holes_at[c], j]).max(initial=0) > 1e-9]
        if bad:
            raise SpecError(f"missing='model': the term(s) {bad} are not linear in the imputed column {c!r} "
                            "(only a plain column or its product with complete columns can be imputed)")
        affected[c] = cols
        loadings[c] = tuple((j, d1[holes_at[c], j]) for j in cols)
    for i, a in enumerate(holes):
        for b in holes[i + 1:]:
            shared = set(affected[a]) & set(affected[b])
            if shared:
                both, _ = _moved(design, filled, {a: 1.0, b: 1.0}, holes_at)
                single = _moved(design, filled, {a: 1.0}, holes_at)[0] + _moved(design, filled, {b: 1.0}, holes_at)[0]
                if not np.allclose(both, single):
                    names = [design.fixed_names[j] for j in sorted(shared)]
                    raise SpecError(f"missing='model': the term(s) {names} multiply two imputed columns "
                                    f"({a!r}, {b!r}); impute at most one column of a product")
    touched = {j for cols in affected.values() for j in cols}
    complete = [j for j, n in enumerate(design.fixed_names) if n != "Intercept" and j not in touched]
    rows_filled = filled.iloc[design.row_positions]
    return tuple(
        _column(design, rows_data, rows_filled[c].to_numpy(dtype=float), c, levels[c], holes_at[c], loadings[c],
                complete)
        for c in holes
    )


def _column(design, rows_data, fill, c, level, hole, loadings, complete) -> ImputedColumn:
    rows = np.flatnonzero(hole)
    X = design.X
    values = rows_data[c].to_numpy(dtype=float)  # NaN at the holes
    if level is None:
        block = max(design.groups, key=lambda b: b.n_levels) if design.groups else None
        W = _standardized(X[:, complete])
        return ImputedColumn(
            name=c, level=None, rows=rows, unit=np.arange(len(rows)),
            labels=tuple(design.row_index[rows]), fill=fill[rows],
            loadings=loadings, observed=values[~hole], W_obs=W[~hole], W_mis=W[hole],
            predictors=tuple(design.fixed_names[j] for j in complete),
            group=None if block is None else block.group,
            codes_obs=None if block is None else block.codes[~hole],
            codes_mis=None if block is None else block.codes[hole],
            n_groups=0 if block is None else block.n_levels,
        )
    g = rows_data[level].to_numpy()
    groups, code = np.unique(g.astype(str), return_inverse=True)
    frame = pd.DataFrame(X[:, complete]).groupby(code)
    level2 = [k for k in range(len(complete)) if (frame[k].nunique() <= 1).all()]
    Wg = _standardized(frame.first().to_numpy()[:, level2])
    observed_g = pd.Series(values).groupby(code).first().to_numpy()
    has = ~np.isnan(observed_g)
    mis_groups = np.flatnonzero(~has)
    unit_of = -np.ones(len(groups), dtype=np.int64)
    unit_of[mis_groups] = np.arange(len(mis_groups))
    keep = ~has[code[rows]]  # rows of groups with a known value are filled exactly
    imputed_rows = rows[keep]
    return ImputedColumn(
        name=c, level=level, rows=imputed_rows, unit=unit_of[code[imputed_rows]],
        labels=tuple(groups[mis_groups]), fill=fill[rows][keep],
        loadings=tuple((j, m[keep]) for j, m in loadings), observed=observed_g[has],
        W_obs=Wg[has], W_mis=Wg[~has], predictors=tuple(design.fixed_names[complete[k]] for k in level2),
    )
