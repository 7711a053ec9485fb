"""Checks of the model's structure on the data: group terms, levels, rank and response.

Run by :func:`~hierbayes.design.build.build_design` once the columns are built; each raises a
:class:`~hierbayes.errors.DataError` or :class:`~hierbayes.errors.SpecError` naming the term,
grouping factor or columns at fault (lme4's messages where lme4 has one).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from ..errors import DataError, SpecError
from ..families import get_family
from ..spec.ir import GroupTerm, ModelSpec
from .checks import plural, quoted_names

__all__ = [
    "check_group_levels",
    "check_group_sizes",
    "check_group_term",
    "check_levels_vs_obs",
    "check_rank",
    "check_response",
]

_RANK_TOL = 1e-7
_COEF_TOL = 1e-6


def check_group_term(term: GroupTerm) -> None:
    """A group term needs at least one column (an intercept or a slope).

    Raises
    ------
    SpecError
        For ``(0 | g)``.
    """
    if not term.intercept and not term.terms:
        raise SpecError(
            f"group term '({term.label})' has no columns: it removes the intercept and has no "
            f"slopes; write '(1 | {term.group})' or add a slope"
        )


def check_group_levels(term: GroupTerm, n_levels: int) -> None:
    """A grouping factor needs at least two levels.

    Raises
    ------
    DataError
        ``grouping factor 'g' has only 1 level; a group term needs at least 2``.
    """
    if n_levels < 2:
        raise DataError(
            f"grouping factor {term.group!r} has only {plural(n_levels, 'level')}; a group "
            f"term needs at least 2 (term '({term.label})')"
        )


def check_levels_vs_obs(terms_and_levels: Iterable[tuple[GroupTerm, int]], n_obs: int,
                        residual_sd: bool = False) -> None:
    """lme4's check: with group-specific slopes, or any group term of a family with a
    residual sd (lmer's case; glmer allows an observation-level effect), levels must be
    fewer than observations.

    Parameters
    ----------
    terms_and_levels : iterable of (GroupTerm, int)
        Each group term with its number of levels.
    n_obs : int
        Number of observations used.
    residual_sd : bool
        The family has a residual sd (``sigma``): an effect per observation is that same
        variance again, identified only by the priors.

    Raises
    ------
    DataError
        ``number of levels of each grouping factor must be < number of observations
        (problems: g)``.
    """
    slopes: dict[str, None] = {}
    intercepts: dict[str, None] = {}
    for term, n_levels in terms_and_levels:
        if n_levels >= n_obs and (term.terms or residual_sd):
            (slopes if term.terms else intercepts).setdefault(term.group, None)
    if slopes or intercepts:
        why = ([f"a grouping factor with group-specific slopes needs several observations per level (n = {n_obs})"]
               if slopes else [])
        if intercepts:
            why.append(f"with one observation per level of {', '.join(map(repr, intercepts))} its effects and the "
                       f"residual sd (sigma) are one variance, told apart only by the priors (lme4's lmer refuses "
                       f"this too): drop the term, or for an observation-level effect use a family without a "
                       f"residual sd (poisson, binomial)")
        raise DataError(
            "number of levels of each grouping factor must be < number of observations "
            f"(problems: {', '.join([*slopes, *intercepts])}); {'; '.join(why)}"
        )


def check_group_sizes(spec: ModelSpec, blocks: Sequence, frame) -> None:
    """lme4's two checks of group terms against the rows: levels (:func:`check_levels_vs_obs`)
    and, for a family with a residual sd, all group effects (levels x columns of every term)
    against the observations, as lmer's ``check.nobs.vs.nRE``. A residual sd that a formula
    fixes (brms' ``se()``) or frequency weights leave no variance to split.

    Raises
    ------
    DataError
        Naming the terms, and any text column of numbers in a term (each value a column).
    """
    residual_sd = "sigma" in get_family(spec.family).aux and spec.weight_kind != "frequency" and not spec.sigma_known
    n_obs = frame.shape[0]
    check_levels_vs_obs(((b.term, len(b.levels)) for b in blocks), n_obs, residual_sd)
    n_effects = sum(len(b.levels) * b.X.shape[1] for b in blocks)
    if not residual_sd or n_effects < n_obs:
        return
    terms = ", ".join(f"({b.term.label}): {len(b.levels)} x {b.X.shape[1]}" for b in blocks)
    text = [c for c in frame.columns if any(c in t for b in blocks for t in b.term.terms)
            and not pd.api.types.is_numeric_dtype(frame[c].dtype)  # a categorical is a factor by choice
            and not isinstance(frame[c].dtype, pd.CategoricalDtype) and _all_numbers(frame[c])]
    hint = "".join(f"; column {c!r} holds numbers as text, so each value is a column of its own: convert it, "
                   f"df[{c!r}] = pd.to_numeric(df[{c!r}])" for c in text)
    raise DataError(
        f"number of observations (={n_obs}) <= number of group effects (={n_effects}; {terms}): the effects and "
        f"the residual sd (sigma) cannot be told apart (lme4's lmer refuses this too){hint}"
    )


def _all_numbers(series) -> bool:
    try:
        np.asarray(series.dropna(), dtype=float)
    except (TypeError, ValueError):
        return False
    return True


# ------------------------------------------------------------------------ rank deficiency


def _dependent_columns(X: np.ndarray) -> list[int]:
    """Columns whose distance to the span of the earlier columns is ~0 (unit-scaled)."""
    norms = np.linalg.norm(X, axis=0)
    safe = np.where(norms > 0, norms, 1.0)
    R = np.linalg.qr(X / safe, mode="r")
    diag = np.abs(np.diag(R))
    return [j for j in range(X.shape[1]) if norms[j] == 0 or diag[j] < _RANK_TOL]


def _explain_dependence(X: np.ndarray, names: Sequence[str]) -> list[str]:
    """Say which earlier, independent columns each dependent column is made of."""
    norms = np.linalg.norm(X, axis=0)
    kept: list[int] = []
    found: list[str] = []
    for j in range(X.shape[1]):
        if norms[j] == 0:
            found.append(f"column {names[j]!r} is all zeros")
            continue
        xj = X[:, j] / norms[j]
        if kept:
            A = X[:, kept] / norms[kept]
            coef, *_ = np.linalg.lstsq(A, xj, rcond=None)
            if np.linalg.norm(xj - A @ coef) < 1e3 * _RANK_TOL:
                parts = [names[k] for k, c in zip(kept, coef, strict=True) if abs(c) > _COEF_TOL]
                found.append(f"column {names[j]!r} is a linear combination of {quoted_names(parts)}")
                continue
        kept.append(j)
    return found


def check_rank(X: np.ndarray, names: Sequence[str]) -> None:
    """Check that the fixed-effect model matrix has full column rank.

    Uses one QR decomposition; only when it finds a dependent column does it work out,
    column by column, which earlier columns it is a combination of.

    Parameters
    ----------
    X : numpy.ndarray
        The (n, p) fixed-effect matrix.
    names : sequence of str
        Its column names.

    Raises
    ------
    DataError
        ``fixed-effect model matrix is rank deficient: column 'x2' is a linear combination
        of 'Intercept', 'x1'``.
    """
    n, p = X.shape
    if p == 0:
        return
    if p > n:
        raise DataError(
            f"fixed-effect model matrix is rank deficient: {p} columns but only "
            f"{plural(n, 'observation')}; columns: {list(names)}"
        )
    if not _dependent_columns(X):
        return
    found = _explain_dependence(X, names) or ["its columns are (nearly) collinear"]
    raise DataError(
        "fixed-effect model matrix is rank deficient: "
        + "; ".join(found)
        + ". Remove or recode the redundant term(s)"
    )


# ------------------------------------------------------------------------------ response


def check_response(
    spec: ModelSpec, y: np.ndarray, trials: np.ndarray | None, row_labels: np.ndarray
) -> None:
    """Check the response against the family's support.

    Raises
    ------
    SpecError
        If the family is unknown.
    DataError
        From the family's own check, naming the rows outside the support; for a continuous
        response without censoring that is one value in every row.
    """
    family = get_family(spec.family)
    family.check_response(y, spec.response.expr, trials, row_labels)
    censored = any(getattr(spec.response, f) is not None for f in ("cens", "event", "tobit_ll", "tobit_ul",
                                                                    "intreg_upper"))
    values = np.asarray(y, dtype=float)
    if (family.response_kind == "continuous" and not censored and not spec.sigma_known and len(values) > 1
            and np.all(values == values[0])):
        raise DataError(f"the response {spec.response.expr!r} is {values[0]:g} in every row: there is no variation "
                        "to model (check the column, or the rows a filter or missing values left)")
