"""Replicated responses of the training rows, one data set per posterior (or prior) draw,
for predictive checks."""

from __future__ import annotations

import numpy as np
import xarray as xr

from .predict import Rows, encode_rows, prediction_draws
from .predictions import on_response_scale
from .rside_predict import residual_noise


def replicate(posterior: xr.Dataset, model, rng: np.random.Generator, rows: Rows | None = None) -> np.ndarray:
    """(S, n) replicated responses of the training rows, one data set per draw (an ordinal
    model's categories as the data's numbers, :func:`.predictions.on_response_scale`).

    With a residual structure the residuals of a group are drawn jointly from its block
    covariance (:func:`.rside_predict.residual_noise`) around the mean with group effects.
    """
    if rows is None and model.design.residuals is not None:
        mean = prediction_draws(posterior, model, encode_rows(model), kind="mean", groups="include", rng=rng)
        return mean + residual_noise(posterior, model.design.residuals, rng)
    rows = rows if rows is not None else encode_rows(model)
    return on_response_scale(model, prediction_draws(posterior, model, rows, kind="response", groups="include", rng=rng))
