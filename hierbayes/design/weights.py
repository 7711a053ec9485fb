"""Level-1 and level-2 weights read from the data and checked (``y | weights(w)``,
``group_weights={"school": "w2"}``); the scalings of :mod:`hierbayes.spec.weights`.

Weights are read from the rows the model uses. A missing, non-numeric, non-finite or negative
weight is a DataError naming the column and rows, whatever ``missing=`` says (a row without
its weight cannot be counted); so is a level-2 weight that varies within a group.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..errors import DataError, SpecError, warn_user
from ..families import get_family
from ..spec.ir import ModelSpec
from .checks import describe_rows
from .types import GroupBlock

__all__ = ["PRECISION_NOTE", "Weights", "apply_group_weights", "weights_of"]

#: Said when a gaussian model gets level-1 weights without saying which kind: lme4 users mean
#: precision weights (Exam averaged to school x sex cells, weights=n: sigma 0.058 for lmer's 0.661).
PRECISION_NOTE = (
    "weights={column!r} multiply each row's log-likelihood (brms' weights(), Stata's [fw=] / [pw=]); they are "
    "not lme4's precision weights (lmer(weights=): residual variance sigma^2 / w, for rows that are means of w "
    "observations), whose residual sd and intervals differ by far. For lme4's model say weight_kind='precision'; "
    "to let the data decide how the residual sd follows the count, drop weights= and give sigma='~ log({column})' "
    "(precision weights are its coefficient -0.5); say weight_kind='frequency' or 'sampling' to silence this"
)


@dataclass(frozen=True, eq=False)
class Weights:
    """The weights of a design.

    rows : (n,) the weight of each row's log-likelihood: the level-1 weight after scaling
        times the level-2 weights of the row's groups (level-1 weights are conditional on the
        group, as in Stata; Savitsky & Williams' joint inclusion weights).
    column : the level-1 weight column (None without).
    scaling : "none", "size" or "effective".
    scaling_group : the grouping factor within whose groups level-1 weights were scaled.
    groups : (grouping factor, column, (J,) weights) per level-2 weight.
    inclusion : (n,) each row's weights as given, unscaled: the level-1 weight times its
        groups' level-2 weights (the weight of a row in a weighted estimate of the population's
        distribution, which weighted predictive checks use).
    method : "pseudo-posterior" or "pml" (:data:`hierbayes.spec.weights.WEIGHT_METHODS`).
    kind : "auto", "sampling" or "frequency" (:data:`hierbayes.spec.weights.WEIGHT_KINDS`).
    """

    rows: np.ndarray | None
    column: str | None
    scaling: str
    scaling_group: str | None
    groups: tuple[tuple[str, str, np.ndarray], ...] = ()
    inclusion: np.ndarray | None = None
    method: str = "pseudo-posterior"
    kind: str = "auto"

    @property
    def frequency(self) -> bool:
        """Whether these are frequency weights: level-1 only, unscaled, whole numbers (the
        posterior is that of the data with rows repeated), unless declared sampling weights
        (``weight_kind="sampling"``, Stata's ``[pw=]``)."""
        return (self.kind != "sampling" and self.column is not None and self.scaling == "none" and not self.groups and self.rows is not None
                and bool(np.all(self.rows == np.round(self.rows))))

    def describe(self) -> str:
        """One line for the fit's summary: which weights and which scaling were used."""
        parts = []
        if self.column is not None:
            how = {"none": "unscaled", "size": "scaled to the group sizes",
                   "effective": "scaled to the effective group sizes"}[self.scaling]
            where = f" within {self.scaling_group}" if self.scaling != "none" else ""
            parts.append(f"level 1 {self.column!r} ({how}{where})")
        pml = self.method == "pml"
        for group, column, _ in self.groups:
            on = "on the group's integrated likelihood" if pml else "on the group effects' prior"
            parts.append(f"level 2 ({group}) {column!r} {on}")
        total = "" if self.rows is None else f"; row weights sum to {self.rows.sum():.6g}"
        if self.frequency:
            declared = "" if self.kind == "frequency" else "; survey weights: weight_kind='sampling'"
            return "Weights: " + "; ".join(parts) + total + f" (frequency weights: rows counted w times{declared})"
        if pml:
            return ("Weights: " + "; ".join(parts) + total + " (sampling weights, weight_method='pml': "
                    "Stata's / WeMix's pseudo-maximum likelihood target)")
        return ("Weights: " + "; ".join(parts) + total + " (sampling weights, pseudo-posterior: "
                "fit.adjust_intervals() adjusts its intervals for the design)")


def _values(rows: pd.DataFrame, column: str, what: str) -> np.ndarray:
    if column not in rows.columns:
        hint = ""
        if column.replace(" ", "").lower().startswith(("varident", "varpower", "varexp", "varconstpower", "varfixed")):
            hint = ("; weights= takes a column of frequency, sampling or precision weights, while nlme's var*() "
                    "functions model the residual sd: hb.residuals('independent', by='g') is varIdent, "
                    "sigma='~ log(v)' is varPower, sigma='~ v' is varExp, and varFixed(~ v) is "
                    "weights='w', weight_kind='precision' with a column w = 1 / v")
        raise DataError(f"{what} column {column!r} is not in the data{hint}")
    series = rows[column]
    labels = rows.index.to_numpy()
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    text = ~series.isna().to_numpy() & np.isnan(values)
    if text.any():
        raise DataError(f"{what} column {column!r} has values that are not numbers ({describe_rows(text, labels)})")
    missing = np.isnan(values)
    if missing.any():
        raise DataError(
            f"{what} column {column!r} has missing values ({describe_rows(missing, labels)}); "
            "every row the model uses needs a weight"
        )
    infinite = ~np.isfinite(values)
    if infinite.any():
        raise DataError(f"{what} column {column!r} has infinite values ({describe_rows(infinite, labels)})")
    negative = values < 0
    if negative.any():
        raise DataError(f"{what} column {column!r} has negative values ({describe_rows(negative, labels)})")
    if not values.sum() > 0:
        raise DataError(f"{what} column {column!r} is zero at every row")
    return values


def _scaled(w: np.ndarray, codes: np.ndarray, n_levels: int, scaling: str, group: str, levels) -> np.ndarray:
    if scaling == "none":
        return w
    total = np.bincount(codes, weights=w, minlength=n_levels)
    empty = total <= 0
    if empty.any():
        shown = ", ".join(str(levels[j]) for j in np.flatnonzero(empty)[:5])
        raise DataError(
            f"weight_scaling={scaling!r}: the level-1 weights of {group} {shown} sum to zero, so "
            "they cannot be scaled; drop those groups or use weight_scaling='none'"
        )
    if scaling == "size":
        factor = np.bincount(codes, minlength=n_levels) / total
    else:
        factor = total / np.bincount(codes, weights=w * w, minlength=n_levels)
    return w * factor[codes]


def _group_values(block: GroupBlock, values: np.ndarray, column: str, labels) -> np.ndarray:
    """(J,) the weight of each group; DataError when it varies within a group."""
    J = block.n_levels
    first = np.full(J, np.nan)
    _, at = np.unique(block.codes, return_index=True)  # the first row of each group
    first[block.codes[at]] = values[at]
    varies = values != first[block.codes]
    if varies.any():
        bad = np.unique(block.codes[varies])
        shown = ", ".join(str(block.levels[j]) for j in bad[:5])
        raise DataError(
            f"level-2 weight column {column!r} varies within groups of {block.group} ({shown}; "
            f"{describe_rows(varies, labels)}): a group's weight must be the same on all its rows"
        )
    return first


def _refuse_unscaled_group_weights(group: str, column: str, per_group: np.ndarray) -> None:
    """Level-2 weights raise each group effect's prior N(u_j | 0, tau) to w_j; over J groups
    that is tau^(J - sum w) near tau = 0 (with the u_j near 0), without a bound once the
    weights' mean is above 1: apiclus2's districts (w = 18.9) fitted to sd 1e-26 with 1,442
    divergences."""
    raise DataError(
        f"level-2 weights {column!r} of {group} average {per_group.mean():.3g}: raising each group effect's "
        "prior to a weight above 1 leaves the pseudo-posterior without a bound as the group sd goes to 0 "
        "(it cannot be sampled); scale the weights, weight_scaling='size' (Stata: pwscale(size)) or "
        "'effective', or for a gaussian model use weight_method='pml' (Stata's pseudo-likelihood)"
    )


def weights_of(spec: ModelSpec, rows: pd.DataFrame, blocks: tuple[GroupBlock, ...]) -> Weights | None:
    """The checked, scaled weights of ``spec`` on ``rows`` (the data at the rows used); None
    for an unweighted model.

    Raises
    ------
    DataError
        For a missing column, missing, non-numeric, infinite or negative weights, weights that
        are zero everywhere (or, when scaling, in a whole group), and level-2 weights that
        vary within a group.
    """
    column = spec.response.weights
    if column is None and not spec.group_weights:
        return None
    labels = rows.index.to_numpy()
    by_group = {b.group: b for b in reversed(blocks)}
    w = None
    inner = None
    inclusion = np.ones(len(rows))
    if column is not None:
        w = _values(rows, column, "weight")
        if spec.weight_kind == "frequency" and np.any(w != np.round(w)):
            raise DataError(f"weight_kind='frequency' counts row i w_i times, but {column!r} is not a whole number "
                            f"in {describe_rows(w != np.round(w), labels)}; fractional weights are sampling weights "
                            "(weight_kind='sampling')")
        inclusion = w.copy()
        if spec.weight_kind == "auto" and spec.weight_scaling == "none" and not spec.group_weights and get_family(
                spec.family).normal_residuals:
            warn_user(PRECISION_NOTE.format(column=column))
        if spec.weight_kind == "sampling" and spec.weight_scaling == "none" and by_group and abs(w.mean() - 1) > 0.1:
            # apiclus2's schools (weights summing to 5,129 over 126 rows): ell -4.51 against
            # svyglm's -2.06 and lmer's -2.50
            warn_user(f"level-1 sampling weights {column!r} are unscaled (mean {w.mean():.3g}) beside group terms: "
                      "in a multilevel pseudo-likelihood their scale moves the group sds and, through them, the "
                      "fixed effects; scale them within groups, weight_scaling='size' (Stata: pwscale(size)) or "
                      "'effective'")
        if spec.weight_scaling != "none":
            inner = max(by_group.values(), key=lambda b: b.n_levels)
            w = _scaled(w, inner.codes, inner.n_levels, spec.weight_scaling, inner.group, inner.levels)
    groups = []
    for group, col in spec.group_weights:
        block = by_group[group]
        values = _values(rows, col, f"level-2 weight ({group})")
        per_group = _group_values(block, values, col, labels)
        inclusion = inclusion * per_group[block.codes]
        if spec.weight_scaling != "none":  # level 2 too: mean 1 over the sampled groups
            per_group = per_group * len(per_group) / per_group.sum()
        elif spec.weight_method != "pml" and per_group.sum() > len(per_group) * (1 + 1e-9):
            _refuse_unscaled_group_weights(group, col, per_group)
        groups.append((group, col, per_group))
        # level-1 weights are conditional on the group (Stata's convention): a row's
        # log-likelihood carries its inclusion weight w_i|j w_j (Savitsky & Williams)
        w = (np.ones(len(rows)) if w is None else w) * per_group[block.codes]
    return Weights(w, column, spec.weight_scaling, None if inner is None else inner.group, tuple(groups), inclusion,
                   spec.weight_method, spec.weight_kind)


def apply_group_weights(blocks: tuple[GroupBlock, ...], weights: Weights | None) -> tuple[GroupBlock, ...]:
    """The blocks with their level-2 weights set (``GroupBlock.prior_weights``)."""
    if weights is None or not weights.groups:
        return blocks
    per_group = {group: values for group, _, values in weights.groups}
    return tuple(
        replace(b, prior_weights=per_group[b.group]) if b.group in per_group else b for b in blocks
    )


def check_weighted_family(spec: ModelSpec, collapse) -> None:
    """SpecError for a weighted model that cannot be collapsed into binomial cells."""
    if collapse is True and (spec.response.weights is not None or spec.group_weights):
        raise SpecError(
            "collapse=True fits identical rows as one binomial cell, which drops their weights; "
            "use collapse='auto' or False with weights"
        )
