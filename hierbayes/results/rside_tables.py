"""Rows of a residual (R-side) structure for ``varcorr()`` and the summary: the structure's
parameters (AR phi, exponential range, common or per-visit correlations) and the residual sd
ratios, with the same statistics as the group-level sds."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..errors import SpecError
from ..spec.ir import ModelSpec
from ..spec.residuals import BY_DIM, LAG_DIM, SD_DIM, SD_RATIO, TIME_DIM, TIME_DIM_BIS

#: The group label of the rows (as lme4's "Residual").
GROUP = "Residual"


def residual_structure_rows(posterior: xr.Dataset, spec: ModelSpec) -> list[tuple[tuple[str, str], xr.DataArray]]:
    """((group, term), draws) of every structure parameter; [] without a structure.

    Labels: ``ar1_phi`` (``ar1_phi[level]`` per ``by`` level), ``exp_range``, ``exch_rho``,
    ``unstr_cor(v1,v2)`` per pair of visits and ``unstr_cor(mean)`` (``unstr_cor[level](v1,v2)``
    per ``by`` level; ``band_cor`` likewise for the pairs within the band of ``banded k``), ``sigma_ratio(level)`` (``sigma_ratio(level:visit)`` with both)
    (the residual sd of a level over that of the reference level, whose sd is
    ``sd(Residual)``), then ``sigma(level)``, that level's residual sd; a per-lag parameter
    (``toep_pacf``) gives ``toep_pacf(k)`` per lag and the lag correlations it implies,
    ``cor(lag k)`` (``[level]`` per ``by`` level).
    """
    rs = spec.residuals
    if rs is None:
        return []
    rows: list[tuple[tuple[str, str], xr.DataArray]] = []
    for p in rs.spec.parameters:
        if p.name not in posterior:
            continue
        da = posterior[p.name]
        if TIME_DIM in da.dims:
            if BY_DIM in da.dims:
                for level in da.coords[BY_DIM].values:
                    rows.extend(_visit_pairs(da.sel({BY_DIM: level}, drop=True), f"{p.name}[{level}]"))
            else:
                rows.extend(_visit_pairs(da, p.name))
        elif LAG_DIM in da.dims:
            rows.extend(_lag_rows(da, p.name, rs.spec))
        elif BY_DIM in da.dims:
            for level in da.coords[BY_DIM].values:
                rows.append(((GROUP, f"{p.name}[{level}]"), da.sel({BY_DIM: level}, drop=True)))
        else:
            rows.append(((GROUP, p.name), da))
    if SD_RATIO in posterior:
        ratio = posterior[SD_RATIO]
        for level in ratio.coords[SD_DIM].values:
            rows.append(((GROUP, f"sigma_ratio({level})"), ratio.sel({SD_DIM: level}, drop=True)))
        if "sigma" in posterior:  # the sds themselves, as mmrm and Stata print them per visit
            for level in ratio.coords[SD_DIM].values:
                rows.append(((GROUP, f"sigma({level})"), posterior["sigma"] * ratio.sel({SD_DIM: level}, drop=True)))
    return rows


def _visit_pairs(da: xr.DataArray, name: str) -> list[tuple[tuple[str, str], xr.DataArray]]:
    """``name(v1,v2)`` for every pair of visits of a correlation matrix, and their mean."""
    visits = [str(v) for v in da.coords[TIME_DIM].values]
    rows, pairs = [], []
    for i in range(len(visits)):
        for j in range(i + 1, len(visits)):
            cell = da.isel({TIME_DIM: i, TIME_DIM_BIS: j}, drop=True)
            if not np.any(cell.values):  # outside a band (banded k): zero by construction
                continue
            pairs.append(cell)
            rows.append(((GROUP, f"{name}({visits[i]},{visits[j]})"), cell))
    rows.append(((GROUP, f"{name}(mean)"), sum(pairs) / len(pairs)))
    return rows


def _lag_rows(da: xr.DataArray, name: str, kind) -> list[tuple[tuple[str, str], xr.DataArray]]:
    """Per lag (and ``by`` level): the parameter, then the correlation the kind's builder gives
    two rows that many time steps apart."""
    levels = [str(v) for v in da.coords[BY_DIM].values] if BY_DIM in da.dims else [None]
    lags = [int(k) for k in da.coords[LAG_DIM].values]
    rows = []
    for level in levels:
        part = da if level is None else da.sel({BY_DIM: level}, drop=True)
        tag = "" if level is None else f"[{level}]"
        flat = part.transpose("chain", "draw", LAG_DIM).values.reshape(-1, len(lags))
        times = np.tile(np.arange(len(lags) + 1.0), (flat.shape[0], 1))
        cor = np.asarray(kind.correlation({name: flat}, times, np))[:, 0, 1:]
        for i, k in enumerate(lags):
            rows.append(((GROUP, f"{name}{tag}({k})"), part.isel({LAG_DIM: i}, drop=True)))
        for i, k in enumerate(lags):
            values = cor[:, i].reshape(part.sizes["chain"], part.sizes["draw"])
            rows.append(((GROUP, f"cor{tag}(lag {k})"), xr.DataArray(values, dims=("chain", "draw"))))
    return rows


def check_icc_residuals(spec: ModelSpec) -> None:
    """Raise SpecError when the residual variance (an ICC's level-1 variance) differs between
    rows: a residual structure with ``by=`` or with an sd per visit (unstructured)."""
    rs = spec.residuals
    if rs is None:
        return
    if rs.by is not None:
        raise SpecError(
            f"no ICC with residuals {rs.describe()}: the residual variance differs by level of "
            f"{rs.by!r}, so there is no single level-1 variance; see varcorr() for the sds"
        )
    if rs.spec.sd_by_time:
        raise SpecError(
            f"no ICC with residuals {rs.describe()}: the residual variance differs by visit "
            f"({rs.time!r}); see varcorr() for the sds and correlations"
        )
