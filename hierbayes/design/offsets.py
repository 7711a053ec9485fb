"""Offsets: expressions added to the linear predictor with a coefficient fixed at 1.

``y ~ x + offset(log(t))`` (lme4), ``exposure(t)`` / ``offset(v)`` (Stata) give, per row,

    eta_i = x_i' beta + (group effects) + offset_i,

with no prior and no row in the fixed-effects table. What an offset means depends on the
link: with a log link (poisson, negative binomial, gamma) ``offset(log(t))`` makes the
expected response proportional to the exposure ``t`` (a rate per unit of ``t``: doubling
``t`` doubles the mean); with the identity link it shifts the mean by a known amount (the
model is then one for ``y - offset``); with a logit/probit link it shifts the log-odds or
probit scale.

The design evaluates each offset expression on the data like any other expression (a
column, ``log(t)``, ``I(a + b)``), sums them into one vector per row (``Design.offset``,
``NewData.offset``; None when the model has none) and checks that it is finite. Every stage
that forms a linear predictor adds it: the PyMC likelihoods, predictions, PPC, the pointwise
log-likelihood and MRP, each with the offset of the data it is given.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import DataError
from ..spec.precision_weights import precision_weights_column
from .checks import describe_rows
from .types import Design

__all__ = ["offset_vector", "response_less_offset"]


def offset_vector(
    evaluated: Sequence[tuple[str, np.ndarray]], row_labels: np.ndarray | None
) -> np.ndarray | None:
    """The sum of the evaluated offset expressions, checked finite.

    Parameters
    ----------
    evaluated : sequence of (expression text, (n,) values)
        Every offset of the model with its values on the rows.
    row_labels : array-like or None
        Index labels of the rows, for messages.

    Returns
    -------
    numpy.ndarray or None
        (n,) float64 offsets, or None when the model has no offset.

    Raises
    ------
    DataError
        Naming the offset expression and the rows where it is nan or infinite
        (``log(t)`` of a zero or negative exposure).
    """
    if not evaluated:
        return None
    total = np.zeros(len(evaluated[0][1]), dtype=np.float64)
    for text, values in evaluated:
        values = np.asarray(values, dtype=np.float64)
        bad = ~np.isfinite(values)
        weights = precision_weights_column(text)
        if bad.any() and weights is not None:  # weight_kind='precision' wrote this offset, not the user
            raise DataError(f"precision weights {weights!r} must be > 0 (the residual variance is sigma^2 / "
                            f"{weights}), and at {describe_rows(bad, row_labels)} they are not: drop those rows")
        if bad.any():
            raise DataError(
                f"offset {text!r} has non-finite values (nan or inf) at "
                f"{describe_rows(bad, row_labels)}; an offset must be a finite number per row "
                "(for offset(log(t)), every t must be > 0)"
            )
        total += values
    return total


def response_less_offset(design: Design) -> np.ndarray:
    """``y - offset`` as a new writeable float64 array (``y`` itself without an offset).

    The response the group and fixed effects explain in a gaussian model with the identity
    link: the integrated-out (marginal) and cross-product likelihoods and the conditional
    draws of integrated-out effects work on it.
    """
    y = np.array(design.y, dtype=np.float64)
    if design.offset is not None:
        y -= np.asarray(design.offset, dtype=np.float64)
    return y
