"""Frequency weights as row counts for the data-scaled default priors.

With frequency weights (``Weights.frequency``: level-1 only, unscaled, whole numbers) a row
of weight ``w`` stands for ``w`` identical rows, so every data-scaled default (the response's
mean, sd, median and MAD, category shares, predictor sds, the joint ``b`` prior) is computed
on the data with the rows repeated: the weighted model then has exactly the posterior of the
repeated data, priors included. Sampling weights (scaled, real or level-2) leave the defaults
on the unweighted rows, as before: the defaults describe the sample, not the population.
"""

from __future__ import annotations

import numpy as np

from ..design.types import Design

__all__ = ["frequency_counts", "repeated"]


def frequency_counts(design: Design) -> np.ndarray | None:
    """(n,) the whole-number count of each design row under frequency weights, or None when
    the model has no weights or sampling (non-frequency) weights."""
    weights = getattr(design, "weights", None)
    if weights is None or not weights.frequency:
        return None
    return np.round(np.asarray(weights.rows, dtype=float)).astype(np.int64)


def repeated(values: np.ndarray | None, counts: np.ndarray | None) -> np.ndarray | None:
    """``values`` (n, ...) with row i repeated ``counts[i]`` times (unchanged without counts)."""
    if values is None or counts is None:
        return values
    return np.repeat(np.asarray(values), counts, axis=0)
