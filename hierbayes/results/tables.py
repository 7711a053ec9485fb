"""Tidy tables of a fit, read only from the ArviZ DataTree and the ModelSpec.

fixef, ranef, coef, varcorr and icc follow lme4's names; all intervals are equal-tailed
posterior intervals whose width is stated in ``DataFrame.attrs["interval"]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import NameNotFound, SpecError, did_you_mean
from ..families import get_family, icc_level1_variance
from ..params import CENTRED_INTERCEPT, FIXED_DIM, BlockNames, block_names
from ..spec.ir import ModelSpec, check_metric
from .hazard import metric_draws, metric_note
from .icc_levels import ancestors_from_spec, stata_level_label
from .rside_tables import GROUP as RESIDUAL_GROUP
from .rside_tables import check_icc_residuals, residual_structure_rows
from .stats import STAT_COLUMNS, interval_label, summarize

#: varcorr's group of a family's own parameters (student nu, negbinomial phi, gamma and weibull
#: shape): not a residual variance component, which is RESIDUAL_GROUP's (lme4's "Residual").
FAMILY_GROUP = "Family"


def fixed_draws(posterior: xr.Dataset) -> xr.DataArray:
    """Draws of all fixed effects on the reported scale, dim ``term``.

    Ordinal thresholds (``Intercept`` with a threshold dim) become the terms
    ``Intercept[1]``, ..., ``Intercept[K-1]``, as brms names them.
    """
    parts = []
    if "Intercept" in posterior:
        icpt = posterior["Intercept"]
        extra = [d for d in icpt.dims if d not in ("chain", "draw")]
        if extra:
            labels = [f"Intercept[{c}]" for c in icpt.coords[extra[0]].values]
            parts.append(icpt.rename({extra[0]: "term"}).assign_coords(term=labels))
        else:
            parts.append(icpt.expand_dims(term=["Intercept"]))
    if "b" in posterior:
        parts.append(posterior["b"].rename({FIXED_DIM: "term"}))
    if not parts:
        return xr.DataArray(np.zeros((posterior.sizes["chain"], posterior.sizes["draw"], 0)),
                            dims=("chain", "draw", "term"), coords={"term": []})
    return xr.concat(parts, dim="term").transpose("chain", "draw", "term")


def fixef(
    posterior: xr.Dataset,
    prob: float = 0.95,
    *,
    spec: ModelSpec | None = None,
    exponentiate: bool | None = None,
    metric: str | None = None,
) -> pd.DataFrame:
    """One row per fixed term: mean, sd, median, interval, r_hat, ess_bulk, ess_tail.

    Coefficients are on the link scale. With ``exponentiate=True`` every statistic is of
    exp(coefficient), draw by draw (so the interval is the exponentiated interval): odds
    ratios for logit links, incidence-rate ratios for count families (log link), hazard
    ratios for cloglog; the intercept becomes the baseline odds / rate, as in Stata's
    ``melogit, or``. ``attrs["estimate"]`` names the scale ("coefficient (logit scale)",
    "odds ratio", ...). ``spec`` is needed for the label and to refuse links without a
    ratio meaning (SpecError).

    ``metric`` (survival families, needs ``spec``; default ``spec.metric``): "aft" log-time
    coefficients (with ``exponentiate``: time ratios), "hr" hazard ratios, "loghr" log hazard
    ratios (weibull and exponential only, :mod:`.hazard`; with ``exponentiate``: hazard ratios);
    "eform" (Stata's ``or``, ``irr``): ``exponentiate`` defaults to True (None: the metric's
    default; an explicit False keeps the link scale).
    """
    draws = fixed_draws(posterior)
    metric = metric if metric is not None else (spec.metric if spec is not None else None)
    if metric == "eform":
        if spec is None:
            raise SpecError("fixef(metric=...) needs the spec")
        check_metric(get_family(spec.family), metric, spec.link)
        metric, exponentiate = None, exponentiate is not False
    exponentiate = bool(exponentiate)
    if metric is not None:
        if spec is None:
            raise SpecError("fixef(metric=...) needs the spec")
        family = get_family(spec.family)
        check_metric(family, metric)
        if exponentiate and metric == "loghr":
            metric = "hr"
        if metric != "aft" or not exponentiate:
            draws_in = draws
            draws, label, exponentiated = metric_draws(draws, posterior, family, metric)
            table = summarize(draws, prob)
            table.index.name = "term"
            table.attrs["estimate"] = label
            table.attrs["exponentiated"] = exponentiated
            table.attrs["metric"] = metric
            note = metric_note(metric, draws_in, posterior, family)
            if note is not None:
                table.attrs["note"] = note
            return table
    label = "coefficient"
    if spec is not None:
        family = get_family(spec.family)
        link = family.resolve_link(spec.link)
        label = f"coefficient ({family.coefficient_scale or f'{link} scale'})"
        if exponentiate:
            label = family.ratio_label(link)
    elif exponentiate:
        label = "exp(coefficient)"
    note = metric_note("aft", draws, posterior, get_family(spec.family)) if spec is not None else None
    cutpoints = [t for t in draws["term"].values if str(t).startswith("Intercept[")]
    if exponentiate:  # an ordinal model's cutpoints are positions on the latent scale, not ratios
        draws = xr.where(draws["term"].isin(cutpoints), draws, np.exp(draws)).transpose("chain", "draw", "term")
    table = summarize(draws, prob)
    table.index.name = "term"
    table.attrs["estimate"] = label
    table.attrs["exponentiated"] = bool(exponentiate)
    if note is not None and not exponentiate:
        table.attrs["note"] = note
    if exponentiate and cutpoints:
        table.attrs["note"] = "the cutpoints Intercept[k] are not exponentiated (latent-scale thresholds, as Stata's ologit, or shows them)"
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
    family = get_family(spec.family)
    if "sigma" in posterior and family.normal_residuals:
        arrays.append(posterior["sigma"])
        labels.append((RESIDUAL_GROUP, "sd(Residual)"))
        for label, da in residual_structure_rows(posterior, spec):
            arrays.append(da)
            labels.append(label)
    else:
        # Family parameters: a residual scale sigma (student, lognormal) under "Residual", the
        # others (student nu, negbinomial phi, gamma and weibull shape) under "Family": they are
        # not residual variance components (lme4 and brms list only sigma as residual)
        for name in family.aux:
            if name in posterior and posterior[name].ndim == 2:
                arrays.append(posterior[name])
                labels.append((RESIDUAL_GROUP if name == "sigma" else FAMILY_GROUP, name))
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
    meaning = get_family(spec.family).aux_meaning
    if meaning and any(g in (RESIDUAL_GROUP, FAMILY_GROUP) for g, _ in labels):
        table.attrs["meaning"] = meaning
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


class TablesByGroup(dict):
    """Tables keyed by grouping factor (a dict); a factor it does not hold is named, with the
    ones it does."""

    def __missing__(self, key):
        raise NameNotFound(f"no grouping factor {key!r}; this model's are {list(self)}.{did_you_mean(str(key), self)}")


def ranef(posterior: xr.Dataset, spec: ModelSpec, prob: float = 0.95) -> dict[str, pd.DataFrame]:
    """Per grouping factor, one row per level; columns (term, statistic)."""
    return TablesByGroup({g: _wide(cols, prob) for g, cols in _effect_draws(posterior, spec).items()})


def coef(posterior: xr.Dataset, spec: ModelSpec, prob: float = 0.95) -> dict[str, pd.DataFrame]:
    """Per grouping factor, fixed + group effect of every term, per level (lme4's coef)."""
    fixed = fixed_draws(posterior)
    fixed_terms = [str(t) for t in fixed.coords["term"].values]
    out = TablesByGroup()
    for group, cols in _effect_draws(posterior, spec).items():
        combined = []
        for col, da in cols:
            if col in fixed_terms:
                da = da + fixed.sel(term=col, drop=True)
            combined.append((col, da))
        out[group] = _wide(combined, prob)
    return out


def mean_linear_predictor(posterior: xr.Dataset, mean_offset: float = 0.0) -> xr.DataArray | float:
    """Fixed part of the linear predictor at the covariate means, per draw.

    That is the intercept on centred predictors (``params.CENTRED_INTERCEPT``) when the model
    has one, else the reported ``Intercept``, else 0; plus ``mean_offset``, the rows' mean
    offset (an exposure's log is part of the mean a count's level-1 variance depends on).
    """
    for name in (CENTRED_INTERCEPT, "Intercept"):
        if name in posterior and posterior[name].ndim == 2:
            return posterior[name] + mean_offset
    return mean_offset


def residual_variance(
    posterior: xr.Dataset, spec: ModelSpec, group_variance: xr.DataArray | float = 0.0, mean_offset: float = 0.0
) -> tuple[xr.DataArray | float, str]:
    """The level-1 variance for ICCs and the scale it is on.

    See :func:`hierbayes.families.icc_level1_variance` for the definition per family;
    ``group_variance`` is the sum of the group-intercept variances (used by the count
    families' log-normal approximation); ``mean_offset`` as in :func:`mean_linear_predictor`.
    """
    family = get_family(spec.family)
    link = family.resolve_link(spec.link)
    if spec.distributional:
        raise SpecError(
            f"no ICC when {list(spec.aux_formulas)} varies by row (a distributional formula): "
            "the level-1 variance differs between rows"
        )
    check_icc_residuals(spec)
    aux = {name: posterior[name] for name in family.aux if name in posterior}
    return icc_level1_variance(family, link, mean_linear_predictor(posterior, mean_offset), group_variance, aux)


def icc(
    posterior: xr.Dataset,
    spec: ModelSpec,
    prob: float = 0.95,
    nested_in: Mapping[str, Sequence[str]] | None = None,
    mean_offset: float = 0.0,
) -> pd.DataFrame:
    """Intraclass correlations of every grouping factor with a group-specific intercept.

    Two measures, named in the ``measure`` column:

    * ``share``: var(intercept_g) / (sum_f var(intercept_f) + level-1 variance), the part of
      the total variance that lies between the levels of ``g``. For a crossed factor this is
      also the correlation of two responses in the same level of ``g``.
    * ``conditional (Stata: cask|batch)``, only for a factor nested in others: the
      correlation of two responses in the same level of ``g`` and so of every factor it is
      nested in, (var(g) + sum of the variances of those factors) / total, which is what
      Stata's ``estat icc`` reports for nested levels (see
      :mod:`hierbayes.results.icc_levels`). For the outermost level both measures agree.

    ``nested_in`` maps a factor to the factors it is nested in; by default nesting is read
    from the variables of the group terms (``(1|batch/cask)``); :meth:`Fit.icc` also reads it
    from the data. With random slopes the group-level variance depends on the covariates;
    the ICC is reported where every slope covariate is 0 (the ``at`` column). The level-1
    variance and so the scale depend on the family (``attrs["scale"]`` says which): the data
    scale for gaussian, the latent scale for binary/binomial/ordinal (pi^2/3 logit, 1
    probit, pi^2/6 cloglog, as Stata's ``estat icc``) and the log-normal approximation for
    counts and gamma (Nakagawa, Johnson & Schielzeth 2017); see
    :func:`hierbayes.families.icc_level1_variance`, at the mean linear predictor, which includes
    the rows' mean offset ``mean_offset`` (glmer's and performance's ``icc`` count it too).
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
    group_total = sum(variances.values())
    level1, scale = residual_variance(posterior, spec, group_total, mean_offset)
    total = level1 + group_total
    ancestors = dict(ancestors_from_spec(spec) if nested_in is None else nested_in)
    rows, arrays = [], []

    def at_text(groups: Sequence[str]) -> str:
        covariates = list(dict.fromkeys(s for g in groups for s in slopes.get(g, [])))  # a slope in two terms once
        return "intercept only" if not covariates else "at " + ", ".join(f"{s} = 0" for s in covariates)

    for group, v in variances.items():
        arrays.append(v / total)
        rows.append((group, "share", at_text([group])))
    for group, v in variances.items():
        outer = [f for f in ancestors.get(group, ()) if f in variances]
        if not outer:
            continue
        arrays.append((v + sum(variances[f] for f in outer)) / total)
        label = stata_level_label(group, outer)
        rows.append((group, f"conditional (Stata: {label})", at_text([*outer, group])))
    if not arrays:
        return pd.DataFrame(columns=["group", "measure", *STAT_COLUMNS, "at"])
    draws = xr.concat(arrays, dim="row").transpose("chain", "draw", "row")
    table = summarize(draws, prob).reset_index(drop=True)
    table.insert(0, "measure", [m for _, m, _ in rows])
    table.insert(0, "group", [g for g, _, _ in rows])
    table["at"] = [a for _, _, a in rows]
    table.attrs["interval"] = interval_label(prob)
    table.attrs["scale"] = scale + (f"; the mean linear predictor includes the rows' mean offset ({mean_offset:.3g})"
                                    if mean_offset else "")
    if any(m != "share" for _, m, _ in rows):
        table.attrs["measures"] = ICC_MEASURES_NOTE
    else:  # one factor, or crossed ones: the Stata / nesting explanation says nothing here
        table.attrs["measures"] = ICC_SHARE_NOTE + (" (crossed factors have only this)" if len(rows) > 1 else "")
    if spec.residuals is not None and spec.residuals.spec.parameters:
        table.attrs["residuals"] = (
            f"residuals {spec.residuals.describe()}: the residuals of a group are correlated too, "
            "so the share is a variance share, not the correlation of two responses of a group"
        )
    return table


#: The note of a table with shares alone (one factor, or crossed factors).
ICC_SHARE_NOTE = "share: var(g) / total variance"
ICC_MEASURES_NOTE = (
    "share: var(g) / total variance (a factor nested in no other has only this); conditional: "
    "correlation of two responses in the same g and the factors it is nested in, "
    "(var(g) + var(outer factors)) / total, as Stata's estat icc"
)
