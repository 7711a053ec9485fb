"""Per-row draws of family parameters modelled by a distributional formula (``sigma ~ x``).

The sub-model's coefficients (``Intercept_sigma``, ``b_sigma``, ``sd_sigma_g``,
``re_sigma_g``) are read under the main model's names (:func:`hierbayes.results.distributional.aux_posterior`), so the linear
predictor of :mod:`.linpred` serves them as it serves the mean: seen group levels get their
effects, unseen ones follow ``new_groups``. The values are ``lower + exp(eta)``, (S, n):
the Family callables broadcast them against the mean's (S, n) linear predictor.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from ..design.types import Design
from ..errors import DataError
from ..families import Family, get_family
from ..families.distributional import aux_inverse_link
from ..params import block_names
from ..results.distributional import aux_posterior
from ..results.stats import flatten_draws
from ..spec.distributional import aux_spec
from ..spec.ir import ModelSpec
from .linpred import block_covariance_cholesky, linear_predictor


def _fresh_per_row(view: xr.Dataset, sub: ModelSpec, groups, rng: np.random.Generator) -> np.ndarray:
    total = 0.0
    for block, names in zip(groups, block_names(sub)):
        chol = block_covariance_cholesky(view, names)
        S, K, _ = chol.shape
        Xb = np.asarray(block.X, dtype=float)
        u = np.einsum("skl,snl->snk", chol, rng.standard_normal((S, Xb.shape[0], K)))
        total = total + np.einsum("snk,nk->sn", u, Xb)
    return total


def modelled_aux_draws(
    posterior: xr.Dataset,
    spec: ModelSpec,
    designs: Mapping[str, Design],
    rows: Mapping[str, object],
    *,
    groups: str = "include",
    new_groups: str = "sample",
    rng: np.random.Generator | None = None,
) -> dict[str, np.ndarray]:
    """(S, n) draws of every modelled parameter for the rows encoded in ``rows``.

    Parameters
    ----------
    posterior : draws with the fit's names.
    spec : the model spec.
    designs : parameter -> the training Design of its sub-model (its column names).
    rows : parameter -> the rows encoded for its sub-model (``X`` and ``groups``: a Design
        or a :class:`~hierbayes.design.types.NewData`).
    groups : "include" (each row's group effects; unseen levels by ``new_groups``),
        "exclude" (none) or "marginal" (a fresh draw of the effects per row and draw).
    """
    rng = rng if rng is not None else np.random.default_rng()
    out = {}
    for name, part in rows.items():
        view = aux_posterior(posterior, spec, name)
        sub = aux_spec(spec, name)
        eta = linear_predictor(
            view, sub, designs[name].fixed_names, part.X, part.groups,
            include_groups=groups == "include", new_groups=new_groups, rng=rng,
            offset=getattr(part, "offset", None),
        )
        if groups == "marginal" and sub.groups:
            eta = eta + _fresh_per_row(view, sub, part.groups, rng)
        out[name] = aux_inverse_link(name, eta)
    return out


def constant_aux_draws(posterior: xr.Dataset, family: Family, spec: ModelSpec) -> dict[str, np.ndarray]:
    """(S, 1) draws of the family parameters no formula models ((S, K-1) for thresholds).

    Raises
    ------
    DataError
        When the posterior lacks one of them.
    """
    out = {}
    modelled = spec.aux_formulas
    for name in family.aux:
        if name in modelled:
            continue
        if name not in posterior:
            raise DataError(f"the posterior has no draws of {name!r}, a parameter of the {family.name} family")
        a = flatten_draws(posterior[name])
        out[name] = a[:, None] if a.ndim == 1 else a
    return out


def training_aux_draws(posterior: xr.Dataset, family: Family, spec: ModelSpec, design: Design) -> dict[str, np.ndarray]:
    """Every family parameter on the training rows of ``design``: (S, 1) draws, (S, n) for
    the parameters a distributional formula models."""
    out = constant_aux_draws(posterior, family, spec)
    if spec.distributional:
        out.update(modelled_aux_draws(posterior, spec, design.aux_designs, design.aux_designs))
    return out


def aux_draws(posterior: xr.Dataset, family: Family, spec=None) -> dict[str, np.ndarray]:
    """Each family parameter as (S, 1) draws ((S, K-1) for ordinal thresholds); with
    ``spec``, those a distributional formula models are left out (see :func:`rows_aux_draws`)."""
    if spec is not None:
        return constant_aux_draws(posterior, family, spec)
    out = {}
    for name in family.aux:
        if name not in posterior:
            raise DataError(f"the posterior has no draws of {name!r}, a parameter of the {family.name} family")
        a = flatten_draws(posterior[name])
        out[name] = a[:, None] if a.ndim == 1 else a
    return out


def rows_aux_draws(
    posterior: xr.Dataset, model, rows, *, groups: str = "include", new_groups: str = "sample",
    rng: np.random.Generator | None = None,
) -> dict[str, np.ndarray]:
    """Every family parameter for ``rows``: (S, 1) draws, or (S, n) for the parameters a
    distributional formula models (:mod:`.distributional`)."""
    spec = model.spec
    aux = aux_draws(posterior, get_family(spec.family), spec)
    if spec.distributional:
        for error in (part for part in rows.aux.values() if isinstance(part, DataError)):
            raise error
        aux.update(modelled_aux_draws(
            posterior, spec, model.design.aux_designs, rows.aux, groups=groups, new_groups=new_groups, rng=rng,
        ))
    return aux
