"""Predictions conditional on a group's observed rows under a residual structure, as mmrm's
``predict(fit, newdata, conditional = TRUE)``.

With correlated residuals the rows of a group (a subject's visits) inform each other: a
subject's missing visit is predicted from its own observed visits, not only from the
covariates. Per posterior draw, with ``Sigma`` the group's residual covariance over its rows
in ``newdata``, ``O`` the rows whose response is given and ``N`` those whose response is
missing (NaN):

    E[y_N | y_O] = mu_N + Sigma_NO Sigma_OO^-1 (y_O - mu_O),
    Var[y_N | y_O] = Sigma_NN - Sigma_NO Sigma_OO^-1 Sigma_ON,

``mu`` the mean with the group effects (``groups="include"``). Rows with a response are
predicted as that response (``kind="mean"`` and ``"response"``), as mmrm does. A group with
no observed row gets the unconditional prediction (``Sigma_NN``: its rows' residuals drawn
jointly).

Visits and ``by=`` levels are coded with the training ones; a group the model's group terms
have not seen is refused (its group effects would need conditioning on its rows too).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import xarray as xr

from ..design.residuals import ResidualDesign, row_positions
from ..errors import DataError, SpecError
from ..results.rside_conditional import residual_covariance, structure_draws
from .predict import encode_rows, prediction_draws, thin
from .predictions import Predictions, as_dataarray
from .rside_predict import row_sd_ratio

__all__ = ["conditional_predict"]

_KINDS = ("mean", "response")


def _group_values(rd: ResidualDesign, frame: pd.DataFrame) -> np.ndarray:
    group = rd.structure.group
    parts = group.split(":") if group not in frame.columns else [group]
    missing = [p for p in parts if p not in frame.columns]
    if missing:
        raise DataError(f"conditional predictions need the residual groups' column(s) {missing} in newdata")
    values = frame[parts[0]].astype(str).to_numpy()
    for part in parts[1:]:
        values = np.char.add(np.char.add(values.astype(str), ":"), frame[part].astype(str).to_numpy().astype(str))
    return values


def _times(rd: ResidualDesign, frame: pd.DataFrame, codes: np.ndarray) -> np.ndarray:
    """(n,) each row's time on the training scale (the visit's training code for visits; without
    a time column, for a kind over whole-number times, the row's position within its group in
    newdata's order, as the training rows were counted)."""
    column = rd.structure.time
    if column is None:
        return row_positions(codes) if rd.kind.time == "integer" else np.zeros(len(frame))
    if column not in frame.columns:
        raise DataError(f"conditional predictions need the time column {column!r} in newdata")
    if not rd.time_levels:
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
        if not np.isfinite(values).all():
            raise DataError(f"the time column {column!r} of newdata must be numeric and not missing")
        return values
    # (visits come with an sd per visit, whose check, row_sd_ratio, has already named unknown ones)
    index = {level: i for i, level in enumerate(rd.time_levels)}
    raw = frame[column].astype(str).to_numpy()
    unknown = sorted({v for v in raw if v not in index})
    if unknown:
        raise DataError(f"the time column {column!r} of newdata has visits the model was not fitted on: "
                        f"{unknown}; known: {list(rd.time_levels)}")
    return np.array([index[v] for v in raw], dtype=float)


def _by_codes(rd: ResidualDesign, frame: pd.DataFrame, codes: np.ndarray, J: int) -> np.ndarray:
    if not rd.by_levels:
        return np.zeros(J, dtype=int)
    index = {level: i for i, level in enumerate(rd.by_levels)}
    raw = frame[rd.structure.by].astype(str).to_numpy()
    unknown = sorted({v for v in raw if v not in index})
    if unknown:
        raise DataError(f"by={rd.structure.by!r} has levels in newdata the model was not fitted on: {unknown}")
    out = np.zeros(J, dtype=int)
    out[codes] = [index[v] for v in raw]
    return out


def _layout(rd: ResidualDesign, frame: pd.DataFrame):
    """(rows (J, T) positions, mask, time grid, by codes) of newdata's groups, in time order."""
    levels, codes = np.unique(_group_values(rd, frame), return_inverse=True)
    times = _times(rd, frame, codes)
    J = len(levels)
    order = np.lexsort((times, codes))
    sizes = np.bincount(codes, minlength=J)
    T = int(sizes.max())
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rows = np.full((J, T), -1, dtype=int)
    rows[codes[order], np.arange(len(order)) - starts[codes[order]]] = order
    repeated = pd.DataFrame({"g": codes, "t": times}).duplicated(keep=False).to_numpy()
    if rd.structure.time is not None and repeated.any():  # (a structure without time has none to repeat)
        raise DataError(f"newdata repeats a time within a group of {rd.structure.group!r} "
                        f"(rows {frame.index[repeated][:6].tolist()})")
    mask = rows >= 0
    last = times[rows[np.arange(J), sizes - 1]]
    grid = np.where(mask, times[np.maximum(rows, 0)], last[:, None])
    return rows, mask, grid, _by_codes(rd, frame, codes, J)


def _conditioned(cov: np.ndarray, resid: np.ndarray, observed: np.ndarray, new: np.ndarray,
                 noise: np.ndarray | None) -> np.ndarray:
    """(J, T) residuals of the new entries given the observed ones (their conditional mean,
    plus ``noise`` (J, T) standard normals through the conditional covariance's factor)."""
    T = cov.shape[-1]
    o = observed.astype(float)
    cov_oo = cov * (o[:, :, None] * o[:, None, :]) + np.eye(T)[None] * (1.0 - o)[:, :, None]
    weights = np.linalg.solve(cov_oo, (resid * o)[..., None])[..., 0]
    mean = np.einsum("jab,jb->ja", cov * o[:, None, :], weights)
    if noise is None:
        return mean
    gain = np.linalg.solve(cov_oo, cov * o[:, :, None])  # Sigma_OO^-1 Sigma_O. (zero off O)
    conditional = cov - (cov * o[:, None, :]) @ gain
    n = new.astype(float)
    conditional = conditional * (n[:, :, None] * n[:, None, :]) + np.eye(T)[None] * (1.0 - n)[:, :, None]
    return mean + (np.linalg.cholesky(conditional) @ noise[..., None])[..., 0]


def conditional_predict(posterior: xr.Dataset, model, newdata: pd.DataFrame, *, kind: str = "mean",
                        ndraws: int | None = None, random_seed=None) -> Predictions:
    """Predictions of ``newdata``'s rows with a missing response given the same group's rows
    with one (see the module docstring); the group effects of each row's own groups included.

    Parameters
    ----------
    posterior : the posterior draws.
    model : the built model; it has a residual structure (``Model(..., residuals=...)``, a
        gaussian model with the identity link).
    newdata : rows with the model's columns and its response: NaN where it is to be predicted.
    kind : "mean" (the conditional expectation) or "response" (new observations from the
        conditional distribution).
    ndraws : use about this many posterior draws (evenly thinned).
    random_seed : seed of the new observations.

    Raises
    ------
    SpecError
        Without a residual structure, or for another ``kind``.
    DataError
        When newdata lacks the response, group or time column, has visits or ``by`` levels
        the model was not fitted on, repeats a time within a group, or has a group the
        model's group terms have not seen.
    """
    rd = model.design.residuals
    if rd is None:
        raise SpecError("conditional=True predicts a group's missing rows from its observed rows through the "
                        "residual structure; this model has none (Model(..., residuals=...))")
    if kind not in _KINDS:
        raise SpecError(f"kind={kind!r} with conditional=True: valid values are {list(_KINDS)}")
    if newdata is None:
        raise SpecError("conditional=True needs newdata: the groups' rows, with the response NaN where it is "
                        "to be predicted")
    rows = encode_rows(model, newdata)
    if rows.new_levels:
        raise DataError(
            f"conditional predictions for groups the model was not fitted on ({dict(rows.new_levels)}) would "
            "need their group effects conditioned on their rows too; predict them without conditional=True"
        )
    y = model.design.encoder.new_response(rows.frame)
    posterior = thin(posterior, ndraws)
    rng = np.random.default_rng(random_seed)
    mu = prediction_draws(posterior, model, rows, kind="mean", groups="include", rng=rng)
    draws = structure_draws(posterior, rd)
    ratio = row_sd_ratio(posterior, rd, rows.frame)
    layout, mask, grid, by_codes = _layout(rd, rows.frame)
    if ratio is not None:  # each new row its own sd "level": row_sd reads ratio[:, sd_codes]
        draws = {**draws, "ratio": ratio}
    new_rd = replace(rd, rows=layout, mask=mask, times=grid, by_codes=by_codes,
                     sd_codes=None if ratio is None else np.arange(len(y)))
    observed_rows = np.isfinite(y)
    observed = mask & observed_rows[np.maximum(layout, 0)]
    new = mask & ~observed
    values = np.where(observed_rows[None, :], y[None, :], mu)
    real = layout[mask]
    for s in range(mu.shape[0]):
        cov = residual_covariance(draws, s, new_rd)
        resid = np.where(observed, (y[None, :] - mu[s:s + 1])[0][np.maximum(layout, 0)], 0.0)
        noise = rng.standard_normal(layout.shape) if kind == "response" else None
        shift = _conditioned(cov, resid, observed, new, noise)
        values[s, real] += np.where(new, shift, 0.0)[mask]
    name = "mean" if kind == "mean" else model.spec.response.expr
    out = as_dataarray(values, posterior, rows.frame.index.to_numpy(), str(name))
    used = [c for c in model.design.encoder.required if c in rows.frame.columns]
    return Predictions(out, rows.frame[used], kind, "include", "error")
