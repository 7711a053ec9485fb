"""Tables of distributional sub-models (``sigma ~ x + (1|g)``): the coefficients of each
modelled family parameter on its own link scale, in a block of their own.

:func:`aux_posterior` renames the sub-model's draws (``Intercept_sigma``, ``b_sigma``,
``sd_sigma_g``, ``re_sigma_g``) to the names a main model's coefficients have, so the tables
and the linear predictor of the main model serve the sub-model unchanged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import SpecError
from ..families.distributional import aux_inverse_link, aux_link_label
from ..params import FIXED_DIM, AuxNames, block_names
from ..spec.distributional import aux_spec
from ..spec.ir import ModelSpec
from ..spec.precision_weights import precision_weights_column
from . import tables
from .report import Section, fixed_section, varcorr_section


def aux_posterior(posterior: xr.Dataset, spec: ModelSpec, name: str) -> xr.Dataset:
    """The draws of the sub-model of ``name`` under a main model's names (``Intercept``,
    ``b``, ``sd_g``, ``cor_g``, ``re_g``), as a Dataset."""
    names = AuxNames(name)
    out: dict[str, xr.DataArray] = {}
    if names.intercept in posterior:
        out["Intercept"] = posterior[names.intercept]
    if names.b in posterior:
        out["b"] = posterior[names.b].rename({names.fixed_dim: FIXED_DIM})
    for main, aux in zip(block_names(aux_spec(spec, name)), names.blocks(spec)):
        dims = {
            aux.level_dim: main.level_dim, aux.column_dim: main.column_dim,
            aux.column_dim_bis: main.column_dim_bis,
        }
        for old, new in ((aux.sd, main.sd), (aux.cor, main.cor), (aux.effects, main.effects)):
            if old in posterior:
                var = posterior[old]
                out[new] = var.rename({k: v for k, v in dims.items() if k in var.dims})
    # a known parameter (offsets only, brms' se()) has no draws: the chains and draws stay
    return xr.Dataset(out, coords={d: posterior.coords[d] for d in ("chain", "draw") if d in posterior.coords})


def check_dpar(spec: ModelSpec, dpar: str) -> None:
    """SpecError when ``dpar`` is not a parameter a formula of ``spec`` models."""
    if dpar not in spec.aux_formulas:
        raise SpecError(
            f"dpar={dpar!r}: this model has a formula for {list(spec.aux_formulas) or 'no parameter'}"
        )


def aux_fixef(posterior: xr.Dataset, spec: ModelSpec, dpar: str, prob: float = 0.95) -> pd.DataFrame:
    """The fixed coefficients of the sub-model of ``dpar`` (one row per term), on its
    link scale (``attrs["estimate"]``: ``coefficient (log scale)``)."""
    check_dpar(spec, dpar)
    table = tables.fixef(aux_posterior(posterior, spec, dpar), prob)
    table.attrs["estimate"] = f"coefficient ({aux_link_label(dpar)} scale)"
    table.attrs["interval"] = tables.interval_label(prob)
    return table


def aux_varcorr(posterior: xr.Dataset, spec: ModelSpec, dpar: str, prob: float = 0.95) -> pd.DataFrame:
    """Group-level sds and correlations of the sub-model of ``dpar`` (log scale)."""
    check_dpar(spec, dpar)
    sub = aux_spec(spec, dpar)
    if not sub.groups:
        return pd.DataFrame(columns=["group", "term", *tables.STAT_COLUMNS])
    return tables.varcorr(aux_posterior(posterior, spec, dpar), sub, prob)


def aux_sections(posterior: xr.Dataset, spec: ModelSpec, prob: float) -> list[Section]:
    """The summary's blocks of every sub-model: fixed coefficients and group sds."""
    out = []
    for name in spec.aux_formulas:
        title = f"{name} ({aux_link_label(name)} scale): {spec.aux_formulas[name].to_formula()}"
        if spec.aux_formulas[name].known:  # brms' se(): nothing is estimated
            offsets = " + ".join(spec.aux_formulas[name].fixed.offsets)
            out.append(Section(title, pd.DataFrame(), f"known, not estimated: each row's {name} is exp({offsets})"))
            continue
        table = aux_fixef(posterior, spec, name, prob)
        if "Intercept" in table.index:
            table.attrs["note"] = _at_intercept(posterior, spec, name, prob)
        out.append(fixed_section(table, title))
        varcorr = aux_varcorr(posterior, spec, name, prob)
        if len(varcorr):
            section = varcorr_section(varcorr)
            out.append(Section(f"{name} ({aux_link_label(name)} scale): group-level sds", section.table, section.note))
    return out


def _at_intercept(posterior: xr.Dataset, spec: ModelSpec, name: str, prob: float) -> str:
    """``sigma`` itself where the sub-model's terms, offsets and group effects are 0 (with
    precision weights: the residual sd of a row of weight 1), as lme4's sigma is read."""
    values = aux_inverse_link(name, posterior[AuxNames(name).intercept].to_numpy().ravel())
    lower, median, upper = np.quantile(values, [(1 - prob) / 2, 0.5, (1 + prob) / 2])
    sub = spec.aux_formulas[name]
    weights = [c for c in map(precision_weights_column, sub.fixed.offsets) if c is not None]
    others = len(sub.fixed.offsets) > len(weights)
    rest = [part for part, present in (("terms", sub.fixed.terms), ("offsets", others),
                                       ("group effects", sub.groups)) if present]
    where = [f"its {', '.join(rest)} at 0"] if rest else []
    where += [f"{column} = 1" for column in weights]
    where = f" ({'; '.join(where)})" if where else ""
    return f"{name} at the intercept{where}: median {median:.4g} [{lower:.4g}, {upper:.4g}]"
