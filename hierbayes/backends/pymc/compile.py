"""Compile a Design and its priors into a ``pm.Model``.

Fixed-effect columns are centred when the model has an intercept (as brms and rstanarm do):
the sampler sees ``Intercept_c`` and the reported ``Intercept`` is recovered as a
deterministic. Group effects are indexed by integer codes, never multiplied by a dense Z.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from ...design.types import Design, GroupBlock
from ...families import get_family
from ...params import FIXED_DIM, OBS_DIM, block_names
from ...priors import PriorTable
from .blocks import group_effects, register
from .likelihoods import likelihood

PARAMETERIZATIONS = ("noncentered", "centered")


@dataclass(frozen=True)
class CompiledModel:
    """The PyMC model plus what the sampler and results need to know about it."""

    model: pm.Model
    parameterization: dict[str, str]
    link: str


def coords_for(design: Design) -> dict[str, list]:
    coords: dict[str, list] = {OBS_DIM: list(range(design.n_obs))}
    slopes = [n for n in design.fixed_names if n != "Intercept"]
    if slopes:
        coords[FIXED_DIM] = slopes
    for block, names in zip(design.groups, block_names(design.spec)):
        coords[names.level_dim] = list(block.levels)
        coords[names.column_dim] = list(block.columns)
        coords[names.column_dim_bis] = list(block.columns)
    return coords


def _fixed_predictor(design: Design, priors: PriorTable):
    """Linear predictor of the fixed part; registers Intercept (reported scale) and b."""
    X = design.X
    slope_idx = [j for j, n in enumerate(design.fixed_names) if n != "Intercept"]
    eta = pt.zeros(design.n_obs)
    b = None
    if slope_idx:
        b_prior = _vector_prior(priors, [design.fixed_names[j] for j in slope_idx])
        b = register("b", b_prior, dims=FIXED_DIM)
    if design.has_intercept:
        Xs = X[:, slope_idx]
        means = Xs.mean(axis=0)
        centered = Xs - means
        ic = register("Intercept_c", priors.get("Intercept"))
        eta = ic + (pt.dot(centered, b) if b is not None else 0.0)
        pm.Deterministic("Intercept", ic - (pt.dot(means, b) if b is not None else 0.0))
    elif b is not None:
        eta = pt.dot(X[:, slope_idx], b)
    return eta


def _vector_prior(priors: PriorTable, terms: list[str]):
    from .blocks import _stacked

    per_term = [priors.get("b", None, t) for t in terms]
    return _stacked(per_term, "b")


def _block_contribution(block: GroupBlock, u):
    """sum_k u[codes, k] * X[:, k], skipping the multiply for an all-ones column."""
    codes = block.codes
    rows = u[codes]
    total = 0.0
    for k in range(block.n_columns):
        col = block.X[:, k]
        if np.all(col == 1.0):
            total = total + rows[:, k]
        else:
            total = total + rows[:, k] * col
    return total


def choose_parameterization(block: GroupBlock) -> str:
    """Non-centred unless every group is data-rich (then the centred form mixes better)."""
    counts = block.rows_per_level()
    return "centered" if counts.min() >= 50 and block.n_levels <= 100 else "noncentered"


def compile_model(
    design: Design,
    priors: PriorTable,
    parameterization: dict[str, str] | str | None = None,
) -> CompiledModel:
    """Build the PyMC model of ``design`` with the resolved ``priors``.

    Parameters
    ----------
    design : Design
    priors : PriorTable
    parameterization : "centered" / "noncentered" for all group terms, a dict keyed by
        grouping factor, or None to choose per term from the data (centred only when every
        group has many rows).
    """
    family = get_family(design.spec.family)
    link = family.resolve_link(design.spec.link)
    chosen: dict[str, str] = {}
    with pm.Model(coords=coords_for(design)) as model:
        eta = _fixed_predictor(design, priors)
        for block, names in zip(design.groups, block_names(design.spec)):
            how = _resolve(parameterization, block)
            chosen[names.key] = how
            u = group_effects(block, names, priors, centered=how == "centered")
            eta = eta + _block_contribution(block, u)
        likelihood(eta, design, priors, link)
    return CompiledModel(model=model, parameterization=chosen, link=link)


def _resolve(parameterization, block: GroupBlock) -> str:
    if parameterization is None:
        return choose_parameterization(block)
    if isinstance(parameterization, str):
        value = parameterization
    else:
        value = parameterization.get(block.group) or choose_parameterization(block)
    if value not in PARAMETERIZATIONS:
        from ...errors import SpecError

        raise SpecError(f"parameterization {value!r} for {block.group!r}: valid {list(PARAMETERIZATIONS)}")
    return value
