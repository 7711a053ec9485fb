"""Draws of the values ``missing="model"`` imputed (:mod:`hierbayes.design.missing`) and the
change they make to the training rows' linear predictor, read from the posterior."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
import xarray as xr

from ..design.types import Design

__all__ = ["imputation_eta_shift", "imputed_predictor_table", "imputed_value_draws"]


def imputation_eta_shift(posterior: xr.Dataset, design: Design, binary: bool = True) -> np.ndarray | None:
    """(chain * draw, n) change of the training rows' linear predictor by the imputed
    values (the design holds fill values at the holes), or None without imputed predictors.

    ``b_j * m_ij * (x_i - fill_i)`` summed over the fixed columns j an imputed column x enters.
    ``binary=False`` leaves binary holes at 0 (the pointwise log-likelihood sums them out).
    """
    imputation = getattr(design, "imputation", None)
    if imputation is None or not imputation.columns:
        return None
    b = posterior["b"].stack(sample=("chain", "draw")).transpose("sample", ...).to_numpy()
    names = [n for n in design.fixed_names if n != "Intercept"]
    offset = 1 if design.has_intercept else 0
    shift = np.zeros((b.shape[0], design.n_obs))
    for col in imputation.columns:
        if not len(col.rows) or (not binary and col.kind == "binary"):
            continue
        x = imputed_value_draws(posterior, col)
        moved = x[:, col.unit] - col.fill[None, :]
        for j, loading in col.loadings:
            k = names.index(design.fixed_names[j]) if offset else j
            shift[:, col.rows] += b[:, k, None] * loading[None, :] * moved
    return shift


def imputed_value_draws(posterior: xr.Dataset, col) -> np.ndarray:
    """(chain * draw, n_values) draws of one column's imputed values.

    A binary column's values are summed out of the model, which keeps ``Pmi_<name>``, their
    probability of being 1 given each draw's parameters; a value drawn from that Bernoulli
    distribution with a draw's parameters is a draw from the joint posterior. The uniforms
    are seeded by the column name, so the same posterior gives the same values.
    """
    values = posterior[col.parameter].stack(sample=("chain", "draw")).transpose("sample", ...).to_numpy()
    if getattr(col, "kind", "gaussian") != "binary":
        return values
    rng = np.random.default_rng(zlib.crc32(col.name.encode()))
    return (rng.random(values.shape) < values).astype(float)


def _interval(draws: np.ndarray, prob: float) -> tuple[np.ndarray, np.ndarray]:
    tail = (1 - prob) / 2
    return np.quantile(draws, tail, axis=0), np.quantile(draws, 1 - tail, axis=0)


def imputed_predictor_table(posterior: xr.Dataset, design: Design, prob: float = 0.9) -> pd.DataFrame:
    """One row per imputed predictor value: column, level (``row`` or the grouping factor),
    unit (row label or group), posterior mean, sd, equal-tailed interval and the model."""
    frames = []
    for col in getattr(design, "imputation", None).columns if design.imputation is not None else ():
        if not col.n_values:
            continue
        draws = posterior[col.parameter].stack(sample=("chain", "draw")).transpose("sample", ...).to_numpy()
        lower, upper = _interval(draws, prob)
        model = col.describe()
        if getattr(col, "kind", "gaussian") == "binary":
            model += f"; summed out, values are P({col.name} = 1 | data)"
        frames.append(pd.DataFrame({
            "column": col.name, "level": col.level or "row", "unit": list(col.labels),
            "mean": draws.mean(axis=0), "sd": draws.std(axis=0), "lower": lower, "upper": upper,
            "model": model,
        }))
    columns = ["column", "level", "unit", "mean", "sd", "lower", "upper", "model"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
