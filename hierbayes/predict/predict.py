"""Predictions from posterior draws, computed in numpy (the PyMC model is never rebuilt).

Three choices say what a prediction is:
``kind``
    ``"linear"``: the linear predictor eta; ``"mean"``: the expected response
    E[y | eta] (the inverse link, times the trials for a binomial model); ``"response"``:
    a new observation drawn from the family for every posterior draw (a posterior
    predictive draw, so its intervals include the observation-level noise).
``groups``
    ``"include"``: every row gets its group's effects (conditional predictions);
    ``"exclude"``: every group effect is set to zero (the "typical group", u = 0; new data
    need not have the grouping columns, or values in them, as lme4's ``re.form = NA``);
    ``"marginal"``: population-averaged predictions that integrate the group effects out
    per posterior draw, E_u[h(x b + z u)] with u ~ N(0, Sigma). With an identity link this
    equals ``"exclude"``; with any other link it does not: for a logit model the marginal
    probability lies between the zero-effect probability and 1/2. New data need not have the
    grouping columns here either.
``new_groups`` (only with ``groups="include"``)
    what a level of a grouping factor that was not in the training data gets:
    ``"sample"``: per posterior draw one effect drawn from the fitted population
    distribution N(0, Sigma), shared by all rows of that new level (so its predictions are
    wider than for a level with data, and centred on the population mean);
    ``"zero"``: no group effect (exactly the ``groups="exclude"`` prediction for those
    rows); ``"error"``: a DataError naming the unseen levels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr
from scipy import special

from ..design.dask_frames import compute, is_dask_frame
from ..design.frames import as_pandas
from ..errors import DataError, SpecError
from ..families import INVERSE_LINKS, Family, get_family, truncated_draws
from ..params import block_names
from ..results.imputed import imputation_eta_shift
from .distributional import aux_draws, rows_aux_draws
from .group_selection import fill_unused_groups, select_groups
from .linpred import NEW_GROUP_POLICIES, block_covariance_cholesky, linear_predictor
from .loglik import holds_rows
from .predictions import Predictions, as_dataarray, mean_scale, on_response_scale
from .rside_predict import row_sd_ratio
from .truncated_rows import prediction_bounds

KINDS = ("mean", "response", "linear")
#: Gauss-Hermite nodes used when the group effects to integrate out are one-dimensional.
GH_NODES = 40


@dataclass(frozen=True, eq=False)
class Rows:
    """Rows encoded for prediction.

    X : (n, p) fixed-effect columns; groups : one block per group term (codes, X and,
    for new data, ``new_levels``/``new_codes``); trials : (n,) or None; frame : the rows
    as given (for tidy output); new_levels : grouping factor -> unseen levels; offset :
    (n,) the rows' summed offsets, evaluated on these rows (None without offsets); aux :
    parameter -> the rows encoded for its distributional sub-model (``sigma ~ x``);
    censoring : the training rows' censoring (``Design.censoring``) for log-likelihoods of
    observed rows, None for new data.
    """

    X: np.ndarray
    groups: tuple
    trials: np.ndarray | None
    frame: pd.DataFrame
    new_levels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    offset: np.ndarray | None = None
    aux: dict = field(default_factory=dict)
    censoring: object | None = None

    @property
    def n_obs(self) -> int:
        return int(self.X.shape[0])


def row_design(model):
    """The row-level Design of a model: for a bernoulli/binomial model fitted on collapsed
    binomial cells (``hierbayes.design.collapse``), the rows before collapsing."""
    source = getattr(model.design, "source", None)
    if not holds_rows(model.design):
        raise SpecError(
            "this needs the training rows (PPC, fitted values and residuals of the data, R2); the "
            "model was fitted from a Dask DataFrame and holds only per-group cross-products: "
            "predict new rows with fit.predict(newdata), or refit a sample with a pandas DataFrame"
        )
    return source if source is not None else model.design


def training_frame(model) -> pd.DataFrame:
    """The rows of the training data the model used (after dropping missing values), in
    design order, by position: index labels may repeat."""
    held = getattr(model.design, "training_rows", None)
    if held is not None:  # a model from a Dask DataFrame: its cells, or a sample of its rows
        return held
    data = model.data
    design = row_design(model)
    if design.row_positions is None:
        return data.loc[design.row_index]
    return data.iloc[design.row_positions]


def encode_rows(model, newdata: pd.DataFrame | None = None) -> Rows:
    """Encode ``newdata`` with the training encoders (the training rows when None).

    Raises DataError for a missing column, missing values or an unseen level of a
    fixed-effect factor (see :meth:`DesignEncoder.encode_new`).
    """
    design = model.design
    if newdata is None:
        rows = row_design(model)
        return Rows(
            rows.X, rows.groups, rows.trials, training_frame(model), offset=rows.offset,
            aux=rows.aux_designs, censoring=rows.censoring,
        )
    if is_dask_frame(newdata):  # a Dask table of cells: the draws are per row anyway
        (newdata,) = compute(newdata)
    newdata = as_pandas(newdata, "newdata")
    new = design.encoder.encode_new(newdata)
    aux = {name: _encoded_or_error(name, sub, newdata) for name, sub in design.distributional}
    unseen: dict[str, tuple[str, ...]] = {}
    for block in new.groups:
        if block.new_levels:
            group = block.term.group if block.term is not None else "?"
            unseen[group] = tuple(dict.fromkeys(unseen.get(group, ()) + tuple(block.new_levels)))
    frame = newdata.loc[new.row_index] if newdata.index.is_unique else newdata
    return Rows(new.X, new.groups, new.trials, frame, unseen, new.offset, aux)


def _encoded_or_error(name: str, sub, newdata: pd.DataFrame):
    # a sub-model's columns (lme4's precision weights: sigma's offset) are only needed when a
    # prediction uses its parameter: the error is raised then (:func:`rows_aux_draws`)
    try:
        return sub.encoder.encode_new(newdata)
    except DataError as error:
        return DataError(f"this prediction needs {name}, which a formula of its own models: {error}")


# ============================================================== posterior pieces


def thin(posterior: xr.Dataset, ndraws: int | None) -> xr.Dataset:
    """About ``ndraws`` draws, evenly spaced within each chain (all draws when None)."""
    if ndraws is None:
        return posterior
    if int(ndraws) < 1:
        raise DataError(f"ndraws={ndraws!r} must be a positive number of draws")
    chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
    per_chain = max(1, min(draws, int(np.ceil(int(ndraws) / chains))))
    keep = np.unique(np.linspace(0, draws - 1, per_chain).round().astype(int))
    return posterior.isel(draw=keep)


def expected_response(family: Family, eta: np.ndarray, link: str, aux, trials) -> np.ndarray:
    """E[y | eta]: the family's mean (category probabilities for ordinal families)."""
    if family.mean is None:
        return INVERSE_LINKS[link](eta)
    return np.asarray(family.mean(eta, link, aux, trials), dtype=float)


def _standard_normal_points(S: int, dim: int, n_mc: int, rng: np.random.Generator):
    """Integration points and weights for E[f(z)], z ~ N(0, I_dim), one set per draw.

    One dimension: Gauss-Hermite nodes (the same for every draw). Several: a scrambled
    Sobol set, randomly shifted per draw (Cranley-Patterson) so draws get independent
    points. Returns z (S or 1, M, dim) and weights (M,).
    """
    if dim == 1:
        x, w = np.polynomial.hermite.hermgauss(min(int(n_mc), GH_NODES))
        return (np.sqrt(2.0) * x)[None, :, None], w / np.sqrt(np.pi)
    m = 1 << max(1, int(np.ceil(np.log2(max(int(n_mc), 2)))))
    from scipy.stats import qmc  # on use: importing scipy.stats costs 0.4 s

    base = qmc.Sobol(d=dim, scramble=True, seed=rng).random(m)
    u = (base[None] + rng.random((S, 1, dim))) % 1.0
    z = special.ndtri(np.clip(u, 1e-12, 1 - 1e-12))
    return z, np.full(m, 1.0 / m)


def group_effect_draws(posterior: xr.Dataset, spec, blocks: Sequence, which: Sequence[bool] | None = None):
    """(names, Cholesky (S, K, K), row columns (n, K)) of the blocks selected by ``which``."""
    out = []
    for i, (block, names) in enumerate(zip(blocks, block_names(spec), strict=True)):
        if which is not None and not which[i]:
            continue
        out.append((names, block_covariance_cholesky(posterior, names), np.asarray(block.X, dtype=float)))
    return out


def integrate_group_effects(
    posterior: xr.Dataset,
    spec,
    blocks: Sequence,
    eta_fixed: np.ndarray,
    fn,
    *,
    n_mc: int = 128,
    rng: np.random.Generator,
    which: Sequence[bool] | None = None,
) -> np.ndarray:
    """E_u[fn(eta_fixed + sum_b Z_b u_b)] per draw with u_b ~ N(0, Sigma_b) independent
    across blocks; ``fn`` maps (S, n) linear predictors to (S, n, ...) values."""
    pieces = group_effect_draws(posterior, spec, blocks, which)
    dim = sum(chol.shape[1] for _, chol, _ in pieces)
    if dim == 0:
        return fn(eta_fixed)
    S = eta_fixed.shape[0]
    z, weights = _standard_normal_points(S, dim, n_mc, rng)
    total = None
    for m, w in enumerate(weights):
        eta = eta_fixed.copy()
        start = 0
        for _, chol, Xb in pieces:
            K = chol.shape[1]
            zm = np.broadcast_to(z[:, m, start:start + K], (S, K))
            u = np.einsum("skl,sl->sk", chol, zm)
            eta += np.einsum("sk,nk->sn", u, Xb)
            start += K
        value = w * fn(eta)
        total = value if total is None else total + value
    return total


# ================================================================ the computation


def _check_choice(name: str, value: str, valid: Sequence[str]) -> None:
    if value not in valid:
        raise SpecError(f"{name}={value!r}: valid values are {list(valid)}")


def _trials_for(family: Family, rows: Rows, kind: str, model) -> np.ndarray | None:
    if not family.takes_trials or rows.trials is not None or kind != "response":
        return rows.trials
    r = model.spec.response
    what = r.trials or (f"cbind({r.expr}, {r.failures})" if r.failures else "the trials")
    raise DataError(f"kind='response' for a binomial model draws counts out of the number of trials, but newdata lacks "
                    f"the column(s) {list(model.design.encoder.trials_columns)} that {what} reads; add them "
                    "(kind='mean' without them gives probabilities)")


def _fresh_effects_per_row(posterior, spec, blocks, rng) -> np.ndarray:
    """Sum over blocks of z_row u_row with one independent u per row and draw."""
    total = 0.0
    for _, chol, Xb in group_effect_draws(posterior, spec, blocks):
        S, K, _ = chol.shape
        z = rng.standard_normal((S, Xb.shape[0], K))
        u = np.einsum("skl,snl->snk", chol, z)
        total = total + np.einsum("snk,nk->sn", u, Xb)
    return total


def prediction_draws(
    posterior: xr.Dataset,
    model,
    rows: Rows,
    *,
    kind: str = "mean",
    groups: str = "include",
    new_groups: str = "sample",
    n_mc: int = 128,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """(S, n) draws (S, n, K for ordinal means) of predictions for ``rows``.

    ``posterior`` may be any set of parameter draws with the posterior's names (the prior
    draws of a prior predictive check, a thinned posterior). See the module docstring for
    ``kind``, ``groups`` and ``new_groups``.
    """
    _check_choice("kind", kind, KINDS)
    selection = select_groups(model.spec, groups)
    groups = selection.mode
    if new_groups not in NEW_GROUP_POLICIES:
        raise SpecError(f"new_groups={new_groups!r}: valid values are {list(NEW_GROUP_POLICIES)}")
    rng = rng if rng is not None else np.random.default_rng()
    spec = model.spec
    family = get_family(spec.family)
    link = family.resolve_link(spec.link)
    trials = _trials_for(family, rows, kind, model)
    fixed_names = model.design.fixed_names
    eta = linear_predictor(
        posterior, spec, fixed_names, rows.X, rows.groups,
        include_groups=groups == "include", new_groups=new_groups, rng=rng, offset=rows.offset, only=selection.only,
    )
    if rows.X is model.design.X:  # the training rows: holes missing="model" imputed hold fill values
        shift = imputation_eta_shift(posterior, model.design)
        eta = eta if shift is None else eta + shift
    if kind == "linear":
        return eta
    if kind == "mean" and family.location_scale:  # E[y] = inverse link of eta: no spread needed
        aux = aux_draws(posterior, family, spec)
    else:
        aux = rows_aux_draws(posterior, model, rows, groups=groups, new_groups=new_groups, rng=rng)
    ratio = row_sd_ratio(posterior, model.design.residuals, rows.frame) if kind == "response" else None
    if ratio is not None:  # a residual sd per by level or visit
        aux = {**aux, "sigma": aux["sigma"] * ratio}
    if groups == "marginal" and kind == "mean":
        if link == "identity" and family.mean is not None and family.location_scale:
            return expected_response(family, eta, link, aux, trials)  # linear in u: exact
        return integrate_group_effects(
            posterior, spec, rows.groups, eta,
            lambda e: expected_response(family, e, link, aux, trials), n_mc=n_mc, rng=rng,
        )
    if groups == "marginal":  # a response from a randomly chosen new group, per row
        eta = eta + _fresh_effects_per_row(posterior, spec, rows.groups, rng)
    if kind == "mean":
        return expected_response(family, eta, link, aux, trials)
    if family.simulate is None:
        raise SpecError(f"family {family.name!r} cannot simulate new responses")
    bounds = prediction_bounds(model, rows)
    if bounds is not None:
        return truncated_draws(family, rng, eta, link, aux, trials, *bounds)
    return np.asarray(family.simulate(rng, eta, link, aux, trials), dtype=float)


def predict(
    posterior: xr.Dataset,
    model,
    newdata: pd.DataFrame | None = None,
    *,
    kind: str = "mean",
    groups: str | Sequence[str] | None = "include",
    new_groups: str = "sample",
    n_mc: int = 128,
    ndraws: int | None = None,
    random_seed: int | np.random.Generator | None = None,
) -> Predictions:
    """Predict from posterior draws for new rows (or the training rows).

    Parameters
    ----------
    posterior : the posterior draws.
    model : the built model (:class:`hierbayes.configuration.BuiltModel`: spec, design, data).
    newdata : DataFrame with the columns the model uses (the response is not needed); it
        is encoded with the training encoders (levels, contrasts, centring). None predicts
        the training rows. A model with an offset uses newdata's own offset columns (with
        ``offset(log(t))`` and a log link, doubling ``t`` doubles the predicted mean).
    kind : "mean" (expected response), "response" (new observations) or "linear" (eta).
    groups : "include" (each row's group effects), "exclude" (group effects set to zero)
        or "marginal" (group effects integrated out per draw: population-averaged; with
        ``kind="response"``, each row's new observation comes from its own fresh draw of
        the group effects, i.e. from a randomly chosen new group); or some group terms,
        the others set to zero: a list of grouping factors (``["plate"]``) or lme4's
        ``re.form`` formula of whole terms (``"~(1 | plate)"``; :mod:`.group_selection`).
    new_groups : for ``groups="include"``, what an unseen level of a grouping factor gets:
        "sample" (one effect per posterior draw from N(0, Sigma), shared by all rows of the
        level), "zero" (no effect) or "error" (DataError naming the levels).
    n_mc : integration points per draw for ``groups="marginal"`` with a non-identity link
        (Gauss-Hermite nodes, at most 40, when the group effects are one-dimensional; a
        randomized quasi-Monte Carlo set otherwise).
    ndraws : use about this many posterior draws (evenly thinned), for speed.
    random_seed : seed for new-group effects, integration points and simulated responses.

    Returns
    -------
    Predictions
        ``.draws`` (xarray, dims chain, draw, obs) and ``.summary(prob)`` (a tidy table).

    Raises
    ------
    DataError
        For a missing column, an unseen level of a fixed-effect factor, or (with
        ``new_groups="error"``) unseen group levels.
    """
    selection = select_groups(model.spec, groups)
    placeholders, blank, given = [], [], newdata
    if isinstance(newdata, pd.DataFrame):  # grouping values a prediction does not use are not needed
        newdata, placeholders, blank = fill_unused_groups(model.spec, model.design.encoder.grouping_only_columns,
                                                          newdata, selection)
    rows = encode_rows(model, newdata)
    posterior = thin(posterior, ndraws)
    rng = np.random.default_rng(random_seed)
    values = prediction_draws(
        posterior, model, rows, kind=kind, groups=groups, new_groups=new_groups, n_mc=n_mc, rng=rng
    )
    values = on_response_scale(model, values) if kind == "response" else values  # ordinal: the data's numbers
    name = {"linear": "eta", "mean": "mean", "response": model.spec.response.expr}[kind]
    categories = getattr(model.design.encoder, "response_levels", None)
    draws = as_dataarray(values, posterior, rows.frame.index.to_numpy(), str(name), categories)
    used = [c for c in model.design.encoder.required if c in rows.frame.columns and c not in placeholders]
    new_levels = {group: levels for group, levels in rows.new_levels.items() if selection.keeps(group)}
    shown = selection.mode if selection.only is None else "include " + ", ".join(sorted(selection.only))
    frame = rows.frame[used].assign(**{c: given[c].to_numpy() for c in blank})  # blank as given
    return Predictions(draws, frame, kind, shown, new_groups, new_levels, mean_scale(model, kind, rows))
