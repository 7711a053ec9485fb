"""``fit.imputed()``: the values ``missing="model"`` imputed, as a tidy table or as draws.

Predictor holes are parameters of the model (``Ymi_<column>`` in the posterior; a binary
column's holes are summed out and ``Pmi_<column>`` holds the probability each is 1, so its
table's mean is ``P(x = 1 | data)``); missing
gaussian responses are not in the likelihood and are drawn here from the posterior
predictive distribution of their rows (``kind="response"``), as brms' ``mi()`` response
imputation gives the same distribution. Rows missing both the response and a predictor get
no response draws (their predictor holes are not in the model); the table says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import SpecError
from ..results.imputed import imputed_predictor_table
from .predict import predict

__all__ = ["imputed"]


def _response_part(posterior, built, prob: float, random_seed) -> tuple[pd.DataFrame, xr.DataArray | None]:
    design = built.design
    rows = design.imputation.response_rows
    if not len(rows):
        return pd.DataFrame(), None
    data = built.data.iloc[rows]
    used = [c for c in design.encoder.required if c in data.columns]
    complete = ~data[used].isna().any(axis=1).to_numpy()
    response = design.spec.response.expr
    draws = None
    table = pd.DataFrame({"column": response, "level": "row", "unit": list(data.index),
                          "mean": np.nan, "sd": np.nan, "lower": np.nan, "upper": np.nan,
                          "model": "posterior predictive of the outcome model"})
    if complete.any():
        pred = predict(posterior, built, data.iloc[np.flatnonzero(complete)], kind="response",
                       random_seed=random_seed)
        values = pred.values
        tail = (1 - prob) / 2
        where = np.flatnonzero(complete)
        table.loc[where, "mean"] = values.mean(axis=0)
        table.loc[where, "sd"] = values.std(axis=0)
        table.loc[where, "lower"] = np.quantile(values, tail, axis=0)
        table.loc[where, "upper"] = np.quantile(values, 1 - tail, axis=0)
        draws = pred.draws.rename(f"Ymi_{response}")
    if not complete.all():
        table.loc[~complete, "model"] = "not drawn: the row also misses a predictor"
    return table, draws


def imputed(posterior: xr.Dataset, built, prob: float = 0.9, draws: bool = False, random_seed=None):
    """The imputed values of a ``missing="model"`` fit.

    Parameters
    ----------
    posterior : the posterior draws.
    built : the built model (design, data).
    prob : the interval's probability.
    draws : False: a DataFrame with one row per imputed value (column, level, unit, mean,
        sd, lower, upper, model); True: an ``xarray.Dataset`` of draws, one variable per
        column (``Ymi_x`` with dims chain, draw, ``mi_x_unit``; a binary column's ``Pmi_x``,
        the probability of 1; the response's on ``obs``).

    Raises
    ------
    SpecError
        When the model was not fitted with ``missing="model"``.
    """
    design = built.design
    if getattr(design, "imputation", None) is None:
        raise SpecError("fit.imputed(): this model imputed nothing; fit it with missing='model'")
    response_table, response_draws = _response_part(posterior, built, prob, random_seed)
    if draws:
        out = {c.parameter: posterior[c.parameter] for c in design.imputation.columns if c.n_values}
        if response_draws is not None:
            out[response_draws.name] = response_draws
        return xr.Dataset(out)
    table = imputed_predictor_table(posterior, design, prob)
    return pd.concat([t for t in (table, response_table) if len(t)], ignore_index=True) if (
        len(table) or len(response_table)) else table


def imputation_lines(design) -> list[str]:
    """The summary's lines on imputation: values per column and model, the likelihood form."""
    imputation = getattr(design, "imputation", None)
    if imputation is None:
        return []
    lines = ["Missing values: " + line for line in imputation.summary_lines()]
    if imputation.columns:
        lines.append("Likelihood: rows (imputed predictors move the design, so no group term is integrated out)")
    return lines or ["Missing values: none (missing='model')"]
