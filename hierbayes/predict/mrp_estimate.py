"""Computing poststratified estimates from a fit and a poststratification table.

:func:`cell_predictions` gives the posterior draws of the expected response of every
cell; :func:`poststratify` averages them over the cells of each subgroup, weighted by the
cell counts, and returns a :class:`~hierbayes.predict.mrp_result.PoststratResult`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..design.types import NewData
from ..errors import DataError, warn_user
from ..families import INVERSE_LINKS, get_family
from ..params import block_names
from .mrp_checks import check_table, training_frame
from .mrp_levels import as_columns, level_strings, shown
from .mrp_result import SUBGROUP_DIM, PoststratResult
from .mrp_table import Poststrat

# Posterior computations need xarray and ArviZ (via results.stats), which are slow to
# import; they are imported where used so `import hierbayes` stays fast.
if TYPE_CHECKING:
    import xarray as xr

__all__ = ["cell_predictions", "poststratify"]


# ================================================================ cell predictions


def _aux_draws(posterior: xr.Dataset, family) -> dict[str, np.ndarray]:
    from ..results.stats import flatten_draws  # noqa: PLC0415 (slow import)

    return {a: flatten_draws(posterior[a])[:, None] for a in family.aux if a in posterior}


def _cell_mean(model, eta: np.ndarray, posterior: xr.Dataset) -> np.ndarray:
    """Expected response per unit of population (a probability for bernoulli/binomial)."""
    spec = model.spec
    family = get_family(spec.family)
    link = family.resolve_link(spec.link)
    per_trial = spec.response.trials is not None or spec.response.failures is not None
    if family.mean is None:
        return INVERSE_LINKS[link](eta)
    trials = np.ones(eta.shape[-1]) if per_trial or family.takes_trials else None
    return np.asarray(family.mean(eta, link, _aux_draws(posterior, family), trials), dtype=float)


def _encode(table: Poststrat, model) -> NewData:
    try:
        return model.design.encoder.encode_new(table.cell_frame)
    except DataError as exc:
        raise DataError(f"poststratification table: {exc}".replace("newdata", "the table")) from None


def _numpy_posterior(fit) -> xr.Dataset:
    """The posterior with numpy arrays (numpyro leaves JAX arrays, which are slow to index)."""
    posterior = fit.posterior
    return posterior.copy(data={k: np.asarray(v.values) for k, v in posterior.data_vars.items()})


def _iter_cell_means(fit, new: NewData, new_groups: str, rng: np.random.Generator):
    """(chain index, (draws, C) expected responses) chain by chain, to bound memory."""
    from .linpred import linear_predictor  # noqa: PLC0415 (slow import)

    posterior = _numpy_posterior(fit)
    model = fit.model
    for c in range(posterior.sizes["chain"]):
        post = posterior.isel(chain=[c])
        eta = linear_predictor(
            post, model.spec, model.design.fixed_names, new.X, new.groups,
            new_groups=new_groups, rng=rng, offset=new.offset,
        )
        yield c, _cell_mean(model, eta, post)


def cell_predictions(
    fit,
    table: Poststrat,
    *,
    new_groups: str = "sample",
    random_seed: int | np.random.Generator | None = None,
) -> xr.DataArray:
    """Posterior draws of the expected response of every cell of ``table``.

    Returns
    -------
    xarray.DataArray
        Dims (chain, draw, cell); ``cell`` follows the table's row order. With the same
        ``random_seed`` these are the draws :func:`poststratify` averages.
    """
    import xarray as xr  # noqa: PLC0415 (slow import)

    check_table(table, fit.model)
    new = _encode(table, fit.model)
    rng = np.random.default_rng(random_seed)
    post = fit.posterior
    out = np.empty((post.sizes["chain"], post.sizes["draw"], table.n_cells))
    for c, mean in _iter_cell_means(fit, new, new_groups, rng):
        out[c] = mean
    return xr.DataArray(out, dims=("chain", "draw", "cell"), name="cell_mean")


# ================================================================ poststratification


def _labels(groups: pd.DataFrame, by: tuple[str, ...]) -> list[str]:
    if not by:
        return ["population"]
    parts = [level_strings(groups[c]).tolist() for c in by]
    return [":".join(p) for p in zip(*parts)]


def _inclusion_weights(design) -> np.ndarray | None:
    """(n,) the survey rows' inclusion weights of a weighted design (``Weights.inclusion``:
    level-1 times level-2 weights as given), None unweighted."""
    weights = getattr(design, "weights", None)
    return None if weights is None or weights.inclusion is None else np.asarray(weights.inclusion, dtype=float)


def _survey_by_group(model, by: tuple[str, ...], groups: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Respondents and raw mean of the response per subgroup (NaN when not computable); a
    weighted survey's mean is weighted by the rows' inclusion weights (Hajek's estimator)."""
    n_groups = len(groups)
    nan = np.full(n_groups, np.nan)
    survey = training_frame(model)
    source = getattr(model.design, "source", model.design)
    w = _inclusion_weights(source)
    if w is None:
        w = np.ones(source.n_obs)
    if not by:
        return np.array([float(source.n_obs)]), np.array([_raw_mean(source.y, source.trials, w)])
    if any(c not in survey.columns for c in by):
        return nan, nan.copy()
    labels = {lab: i for i, lab in enumerate(_labels(groups, by))}
    survey_labels = _labels(survey[list(by)].reset_index(drop=True), by)
    which = np.array([labels.get(lab, -1) for lab in survey_labels], dtype=np.int64)
    keep = which >= 0
    respondents = np.bincount(which[keep], minlength=n_groups).astype(float)
    y = np.asarray(source.y, dtype=float)[keep]
    wk = w[keep]
    trials = None if source.trials is None else np.asarray(source.trials, dtype=float)[keep]
    total = np.bincount(which[keep], weights=y * wk, minlength=n_groups)
    denom = np.bincount(which[keep], weights=wk if trials is None else trials * wk, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(denom > 0, total / np.where(denom > 0, denom, 1), np.nan)
    return respondents, mean


def _raw_mean(y: np.ndarray, trials: np.ndarray | None, w: np.ndarray) -> float:
    y = np.asarray(y, dtype=float)
    return float((w * y).sum() / np.sum(w * (1.0 if trials is None else np.asarray(trials, dtype=float))))


def _new_level_notes(
    model, table: Poststrat, new: NewData, weights: np.ndarray, new_groups: str
) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """Levels with population but no respondents, and a note for each grouping factor."""
    out: dict[str, tuple[str, ...]] = {}
    notes = []
    populated = weights > 0
    for block, names in zip(new.groups, block_names(model.spec)):
        if not block.new_levels:
            continue
        used = np.unique(block.new_codes[(block.new_codes >= 0) & populated])
        if not used.size:
            continue
        levels = tuple(block.new_levels[i] for i in used)
        group = names.group
        out[group] = tuple(dict.fromkeys([*out.get(group, ()), *levels]))
        factor = set(block.term.factor) if block.term is not None else {group}
        preds = [
            c for c, keys in table.predictor_keys.items()
            if set(keys) <= factor and c in model.design.encoder.required
        ]
        with_preds = f", plus their group-level predictors ({', '.join(preds)})" if preds else ""
        how = (
            f"effects are drawn from the fitted population distribution ({names.sd}) for each "
            "posterior draw" if new_groups == "sample" else "group effects are set to zero"
        )
        notes.append(
            f"{group}: {len(levels)} level(s) with no respondents ({shown(levels)}): their "
            f"{how}{with_preds}"
        )
    return out, notes


def poststratify(
    fit,
    table: Poststrat,
    by: str | Sequence[str] | None = None,
    *,
    new_groups: str = "sample",
    random_seed: int | np.random.Generator | None = None,
) -> PoststratResult:
    """Poststratified estimates of the expected response for subgroups of a population.

    Parameters
    ----------
    fit : hierbayes.Fit
    table : Poststrat
        Population cells with counts; they must be coded like the survey (checked).
    by : str, list of str or None
        Column(s) of the table defining the subgroups (``"state"``, ``["state", "eth"]``);
        None for the whole population. Any table column works, including joined
        predictors such as ``region``.
    new_groups : {"sample", "zero", "error"}
        What a group level with no respondents gets: a fresh effect from the fitted
        population distribution per posterior draw (default; the uncertainty shows in the
        interval), no group effect, or an error naming the levels.
    random_seed : int or numpy Generator, optional
        Seed for the effects of new levels.

    Returns
    -------
    PoststratResult
        ``draws`` (chain, draw, subgroup), ``summary(prob)``, ``groups``, ``new_levels``
        and ``notes``.

    Raises
    ------
    DataError
        When the table is not coded like the survey (see :func:`check_table`), lacks a
        column, or ``by`` names a column the table does not have.
    """
    if not isinstance(table, Poststrat):
        raise DataError(
            f"table must be a hierbayes.Poststrat, got {type(table).__name__}; build one "
            "with hb.Poststrat(cells, count='n')"
        )
    import xarray as xr  # noqa: PLC0415 (slow import)
    from scipy import sparse  # noqa: PLC0415

    from .linpred import NEW_GROUP_POLICIES  # noqa: PLC0415

    if new_groups not in NEW_GROUP_POLICIES:
        raise DataError(f"new_groups={new_groups!r}: valid values are {list(NEW_GROUP_POLICIES)}")
    model = fit.model
    by_columns = as_columns(by, "by")
    codes, groups = table.subgroups(by_columns)
    coverage = check_table(table, model)
    new = _encode(table, model)
    weights = table.counts
    population = np.bincount(codes, weights=weights, minlength=len(groups))
    notes: list[str] = []
    new_levels, level_notes = _new_level_notes(model, table, new, weights, new_groups)
    if new_groups == "error" and new_levels:
        listed = "; ".join(f"{g}: {shown(v)}" for g, v in new_levels.items())
        raise DataError(
            f"the table has levels the model was not fit with (no respondents): {listed}; "
            "pass new_groups='sample' to draw their effects from the fitted population "
            "distribution, or 'zero'"
        )
    notes += level_notes
    for note in level_notes:  # shown even when only .summary() is looked at
        warn_user(f"poststratify: {note}", UserWarning)
    for column, levels in coverage.survey_only.items():
        notes.append(
            f"{column}: survey level(s) {shown(levels)} are not in the table; the estimates "
            "describe the table's population only"
        )
    empty = population <= 0
    if empty.any():
        labels = _labels(groups, by_columns)
        notes.append(
            f"{int(empty.sum())} subgroup(s) with zero population in the table were left out: "
            f"{shown([labels[i] for i in np.flatnonzero(empty)])}"
        )
    keep_group = np.flatnonzero(~empty)
    remap = np.full(len(groups), -1, dtype=np.int64)
    remap[keep_group] = np.arange(len(keep_group))
    cell_group = remap[codes]
    in_kept = cell_group >= 0
    share = np.where(in_kept, weights / np.where(population[codes] > 0, population[codes], 1.0), 0.0)
    W = sparse.csr_matrix(
        (share[in_kept], (cell_group[in_kept], np.flatnonzero(in_kept))),
        shape=(len(keep_group), table.n_cells),
    )
    rng = np.random.default_rng(random_seed)
    post = fit.posterior
    values = np.empty((post.sizes["chain"], post.sizes["draw"], len(keep_group)))
    for c, mean in _iter_cell_means(fit, new, new_groups, rng):
        values[c] = np.asarray(W @ mean.T).T
    groups = groups.iloc[keep_group].reset_index(drop=True)
    labels = _labels(groups, by_columns)
    draws = xr.DataArray(
        values,
        dims=("chain", "draw", SUBGROUP_DIM),
        coords={SUBGROUP_DIM: labels},
        name="poststratified",
    )
    for column in by_columns:
        draws = draws.assign_coords({column: (SUBGROUP_DIM, level_strings(groups[column]).to_numpy())})
    respondents, sample_mean = _survey_by_group(model, by_columns, groups)
    if _inclusion_weights(getattr(model.design, "source", model.design)) is not None:
        notes.append("sample_mean is the survey's mean weighted by its rows' inclusion weights (level 1 x "
                     "level 2 as given), a direct design-based estimate to compare with")
    info = groups.copy()
    info["population"] = population[keep_group]
    info["cells"] = np.bincount(codes, minlength=len(population))[keep_group]
    info["respondents"] = respondents
    info["sample_mean"] = sample_mean
    return PoststratResult(draws, info, by_columns, new_levels, tuple(notes))
