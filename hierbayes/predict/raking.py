"""Raking (iterative proportional fitting) of survey weights to population margins.

The classical design-based alternative to MRP: weights are scaled so that the weighted
sample matches the population on each margin (state, ethnicity, age, ...) in turn, until
all margins match at once. Used to compare MRP with a weighted estimate.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..design.levels import level_name
from ..errors import DataError, warn_user


def rake(
    data: pd.DataFrame,
    margins: Mapping[str, pd.Series],
    *,
    weights: np.ndarray | None = None,
    max_iter: int = 200,
    tol: float = 1e-8,
) -> np.ndarray:
    """Rake survey weights so the weighted sample matches every population margin.

    Parameters
    ----------
    data : pandas.DataFrame
        The respondents; one column per margin.
    margins : mapping column -> pandas.Series
        Population totals per level (index: level, values: count). All margins are scaled
        to the total of the first one, so shares work as well as counts.
    weights : array, optional
        Starting (design) weights; 1 for every respondent by default.
    max_iter, tol : iteration limit and tolerance on the largest relative margin error.

    Returns
    -------
    numpy.ndarray
        (n,) weights summing to the population total of the first margin.

    Raises
    ------
    DataError
        For a margin column missing from ``data``, respondents in a level the margin does
        not list, or a populated level without respondents (its total cannot be matched:
        merge it with a neighbouring level first).
    """
    if not margins:
        raise DataError("rake needs at least one margin")
    n = len(data)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float).copy()
    if w.shape != (n,) or not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise DataError("starting weights must be positive finite numbers, one per respondent")
    total = None
    coded: list[tuple[np.ndarray, np.ndarray, str]] = []
    for column, margin in margins.items():
        if column not in data.columns:
            raise DataError(f"margin {column!r} is not a column of the data")
        names = [level_name(v) for v in margin.index]
        targets = np.asarray(margin.to_numpy(), dtype=float)
        total = targets.sum() if total is None else total
        targets = targets * (total / targets.sum())
        index = {name: i for i, name in enumerate(names)}
        levels = data[column].map(level_name).to_numpy(dtype=object)
        codes = np.array([index.get(v, -1) for v in levels], dtype=np.int64)
        if (codes < 0).any():
            unknown = sorted(set(levels[codes < 0]))
            raise DataError(f"margin {column!r}: respondents in level(s) {unknown[:10]} that the margin does not list")
        present = np.bincount(codes, minlength=len(names)) > 0
        empty = [names[i] for i in np.flatnonzero(~present & (targets > 0))]
        if empty:
            raise DataError(
                f"margin {column!r}: populated level(s) {empty[:10]} have no respondents; "
                "merge them with a neighbouring level before raking"
            )
        coded.append((codes, targets, column))
    for _ in range(max_iter):
        worst = 0.0
        for codes, targets, _column in coded:
            current = np.bincount(codes, weights=w, minlength=len(targets))
            factor = np.divide(targets, current, out=np.ones_like(targets), where=current > 0)
            w *= factor[codes]
        for codes, targets, _column in coded:
            current = np.bincount(codes, weights=w, minlength=len(targets))
            err = np.abs(current - targets) / np.maximum(targets, 1e-300)
            worst = max(worst, float(err[targets > 0].max(initial=0.0)))
        if worst < tol:
            return w
    warn_user(
        f"raking did not converge in {max_iter} iterations (largest margin error {worst:.2e})",
        RuntimeWarning
    )
    return w


def kish_effective_size(weights: np.ndarray) -> float:
    """Kish's effective sample size (sum w)^2 / sum w^2."""
    w = np.asarray(weights, dtype=float)
    return float(w.sum() ** 2 / np.sum(w**2)) if w.size else 0.0
