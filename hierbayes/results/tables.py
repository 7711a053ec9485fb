"""Tidy tables of a fit, read only from the ArviZ DataTree and the ModelSpec.

fixef, ranef, coef, varcorr and icc follow lme4's names; all intervals are equal-tailed
posterior intervals whose width is stated in ``DataFrame.attrs["interval"]``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..families import get_family
from ..params import FIXED_DIM, BlockNames, block_names
from ..spec.ir import ModelSpec
from .stats import STAT_COLUMNS, interval_label, summarize


def fixed_draws(posterior: xr.Dataset) -> xr.DataArray:
    """Draws of all fixed effects on the reported scale, dim ``term``."""
    parts = []
    if "Intercept" in posterior:
        parts.append(posterior["Intercept"].expand_dims(term=["Intercept"]))
    if "b" in posterior:
        parts.append(posterior["b"].rename({FIXED_DIM: "term"}))
    if not parts:
        return xr.DataArray(np.zeros((posterior.sizes["chain"], posterior.sizes["draw"], 0)),
                            dims=("chain", "draw", "term"), coords={"term": []})
    return xr.concat(parts, dim="term").transpose("chain", "draw", "term")


def fixef(posterior: xr.Dataset, prob: float = 0.95) -> pd.DataFrame:
    """One row per fixed term: mean, sd, median, interval, r_hat, ess_bulk, ess_tail."""
    table = summarize(fixed_draws(posterior), prob)
    table.index.name = "term"
    return table


def block_sd_draws(posterior: xr.Dataset, names: BlockNames) -> xr.DataArray:
    """sd draws of a block with one entry per column (a shared sd is repeated)."""
    sd = posterior[names.sd]
    columns = posterior[names.effects].coords[names.column_dim].values
    if names.column_dim not in sd.dims:
        sd = sd.expand_dims({names.column_dim: columns}).transpose("chain", "draw", names.column_dim)
    return sd


def varcorr_draws(posterior: xr.Dataset, spec: ModelSpec) -> tuple[xr.DataArray, list[tuple[str, str]]]:
    """All sds and correlations stacked on one dim, with their (group, term) labels."""
    arrays, labels = [], []
    for term, names in zip(spec.groups, block_names(spec)):
        sd = block_sd_draws(posterior, names)
        columns = [str(c) for c in sd.coords[names.column_dim].values]
        for k, col in enumerate(columns):
            arrays.append(sd.isel({names.column_dim: k}, drop=True))
            labels.append((term.group, f"sd({col})"))
        if names.cor in posterior:
            cor = posterior[names.cor]
            for i in range(len(columns)):
                for j in range(i + 1, len(columns)):
                    arrays.append(cor.isel({names.column_dim: i, names.column_dim_bis: j}, drop=True))
                    labels.append((term.group, f"cor({columns[i]},{columns[j]})"))
    if "sigma" in posterior and spec.family == "gaussian":
        arrays.append(posterior["sigma"])
        labels.append(("Residual", "sd(Residual)"))
    if not arrays:
        return xr.DataArray(np.zeros((posterior.sizes["chain"], posterior.sizes["draw"], 0)),
                            dims=("chain", "draw", "row")), []
    stacked = xr.concat(arrays, dim="row").transpose("chain", "draw", "row")
    return stacked, labels


def varcorr(posterior: xr.Dataset, spec: ModelSpec, prob: float = 0.95) -> pd.DataFrame:
    """Group-level sds and correlations and the residual sd, one row each."""
    draws, labels = varcorr_draws(posterior, spec)
    table = summarize(draws, prob).reset_index(drop=True)
    table.insert(0, "term", [t for _, t in labels])
    table.insert(0, "group", [g for g, _ in labels])
    table.attrs["interval"] = interval_label(prob)
    return table


def _effect_draws(posterior: xr.Dataset, spec: ModelSpec) -> dict[str, list[tuple[str, xr.DataArray]]]:
    """Per grouping factor, (column name, draws with dim ``level``) of every group effect."""
    out: dict[str, list[tuple[str, xr.DataArray]]] = {}
    for term, names in zip(spec.groups, block_names(spec)):
        re = posterior[names.effects].rename({names.level_dim: "level"})
        for col in re.coords[names.column_dim].values:
            out.setdefault(term.group, []).append((str(col), re.sel({names.column_dim: col}, drop=True)))
    return out


def _wide(columns: list[tuple[str, xr.DataArray]], prob: float) -> pd.DataFrame:
    frames = {}
    for col, da in columns:
        table = summarize(da, prob, diagnostics=False)[["mean", "sd", "median", "lower", "upper"]]
        frames[col] = table
    wide = pd.concat(frames, axis=1)
    wide.index = wide.index.astype(str)
    wide.index.name = "level"
    wide.attrs["interval"] = interval_label(prob)
    return wide


def ranef(posterior: xr.Dataset, spec: ModelSpec, prob: float = 0.95) -> dict[str, pd.DataFrame]:
    """Per grouping factor, one row per level; columns (term, statistic)."""
    return {g: _wide(cols, prob) for g, cols in _effect_draws(posterior, spec).items()}


def coef(posterior: xr.Dataset, spec: ModelSpec, prob: float = 0.95) -> dict[str, pd.DataFrame]:
    """Per grouping factor, fixed + group effect of every term, per level (lme4's coef)."""
    fixed = fixed_draws(posterior)
    fixed_terms = [str(t) for t in fixed.coords["term"].values]
    out = {}
    for group, cols in _effect_draws(posterior, spec).items():
        combined = []
        for col, da in cols:
            if col in fixed_terms:
                da = da + fixed.sel(term=col, drop=True)
            combined.append((col, da))
        out[group] = _wide(combined, prob)
    return out


def residual_variance(posterior: xr.Dataset, spec: ModelSpec) -> tuple[xr.DataArray | float, str]:
    """The level-1 variance for ICCs and the scale it is on."""
    family = get_family(spec.family)
    link = family.resolve_link(spec.link)
    if spec.family == "gaussian":
        return posterior["sigma"] ** 2, "data scale (gaussian residual variance)"
    latent = family.latent_variance(link)
    if latent is None:
        from ..errors import SpecError

        raise SpecError(f"no ICC definition for family {spec.family!r} with link {link!r}")
    return float(latent), f"latent scale ({link} link: level-1 variance {latent:.4g})"


def icc(posterior: xr.Dataset, spec: ModelSpec, prob: float = 0.95) -> pd.DataFrame:
    """Intraclass correlation of every grouping factor with a group-specific intercept.

    ICC_g = var(intercept_g) / (sum_f var(intercept_f) + level-1 variance). With random
    slopes the group-level variance depends on the covariates; the ICC is reported where
    every slope covariate is 0 (stated in the ``at`` column).
    """
    variances: dict[str, xr.DataArray] = {}
    slopes: dict[str, list[str]] = {}
    for term, names in zip(spec.groups, block_names(spec)):
        sd = block_sd_draws(posterior, names)
        columns = [str(c) for c in sd.coords[names.column_dim].values]
        if "Intercept" in columns:
            v = sd.sel({names.column_dim: "Intercept"}, drop=True) ** 2
            variances[term.group] = variances.get(term.group, 0) + v
        slopes.setdefault(term.group, []).extend(c for c in columns if c != "Intercept")
    level1, scale = residual_variance(posterior, spec)
    total = level1 + sum(variances.values())
    rows, arrays = [], []
    for group, v in variances.items():
        arrays.append(v / total)
        at = "intercept only" if not slopes[group] else "at " + ", ".join(f"{s} = 0" for s in slopes[group])
        rows.append((group, at))
    if not arrays:
        return pd.DataFrame(columns=["group", *STAT_COLUMNS, "at"])
    draws = xr.concat(arrays, dim="row").transpose("chain", "draw", "row")
    table = summarize(draws, prob).reset_index(drop=True)
    table.insert(0, "group", [g for g, _ in rows])
    table["at"] = [a for _, a in rows]
    table.attrs["interval"] = interval_label(prob)
    table.attrs["scale"] = scale
    return table
