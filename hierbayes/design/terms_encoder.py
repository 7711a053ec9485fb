"""Columns from an intercept flag and additive terms, expanded by formulae (fixed part and
the slopes of each group term), remembering what is needed to encode new data the same way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from formulae.terms.call_resolver import LazyCall, LazyVariable
from formulae.terms.variable import Variable

from ..errors import DataError, SpecError
from . import checks, model_checks
from .formulae_eval import FACTOR_CALLEES, as_matrix, expand, translated_errors
from .levels import level_name
from .rterms import column_names

__all__ = ["TermsEncoder"]


class TermsEncoder:
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
            model_checks.check_rank(X, self.names)
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
        X = as_matrix(matrix.design_matrix, n)
        labels = [list(t.labels) for t in matrix.terms.values()]
        self.names, self._order = column_names(labels, X.shape[1], repr(self.formula))
        X = X[:, self._order]
        self.factor_levels = _factor_levels(matrix)
        for column, levels in self.factor_levels.items():
            checks.check_factor_levels(column, [level_name(v) for v in levels], self.where)
        return X

    def _evaluate(self, frame: pd.DataFrame) -> object:
        try:
            with translated_errors(f"{self.where} {self.formula!r}"):
                return expand(self.formula, frame)
        except (DataError, SpecError):
            self._blame_one_term(frame)
            raise

    def _blame_one_term(self, frame: pd.DataFrame) -> None:
        """Re-run the terms one by one so the message names the failing one."""
        for term in self.terms:
            with translated_errors(f"term {term!r} ({self.where})"):
                expand(f"1 + {term}", frame)

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Encode new rows with the training levels, contrasts and transform states."""
        X = self._transform(frame)
        return X[:, 1:] if self.drop_intercept else X

    def _transform(self, frame: pd.DataFrame) -> np.ndarray:
        m = frame.shape[0]
        if self._matrix is None:
            return np.ones((m, 1)) if self.intercept else np.zeros((m, 0))
        self._check_levels(frame)
        with translated_errors(f"{self.where} {self.formula!r} on newdata"):
            values = self._matrix.evaluate_new_data(frame).design_matrix
        return as_matrix(values, m)[:, self._order]

    def _check_levels(self, frame: pd.DataFrame) -> None:
        for column, levels in self.factor_levels.items():
            known = set(levels)
            unseen = [v for v in pd.unique(frame[column]) if v not in known]
            if unseen:
                raise DataError(
                    f"newdata has level(s) {[level_name(v) for v in unseen]} of {column!r}, "
                    f"which the model was not fit with; {column!r} enters {self.where} as a "
                    f"factor, so its levels must be among {[level_name(v) for v in levels]}"
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
        and call.callee in FACTOR_CALLEES
        and bool(call.args)
        and isinstance(call.args[0], LazyVariable)
    )
