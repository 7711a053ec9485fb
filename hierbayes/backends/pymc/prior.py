"""Draws of the parameters from their priors (for prior predictive checks)."""

from __future__ import annotations

import logging
import warnings

import xarray as xr

from .compile import CompiledModel
from .lazy import pm


def sample_prior(compiled: CompiledModel, draws: int = 500, random_seed: int | None = None) -> xr.Dataset:
    """``draws`` prior draws of every free and deterministic variable (not the response),
    as a Dataset with dims (chain=1, draw, ...) and the posterior's names and coords.

    The forward function is compiled in PyTensor's FAST_COMPILE mode: a second or two,
    where the default numba linker would spend a minute on a one-off function.
    """
    model = compiled.model
    observed = {v.name for v in model.observed_RVs}
    names = [v.name for v in (*model.free_RVs, *model.deterministics) if v.name not in observed]
    logger = logging.getLogger("pymc")
    level = logger.level
    logger.setLevel(logging.WARNING)  # no "Sampling: [...]" line
    try:
        with model, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = pm.sample_prior_predictive(
                draws=draws, var_names=names, random_seed=random_seed,
                compile_kwargs={"mode": "FAST_COMPILE"},
            )
    finally:
        logger.setLevel(level)
    return tree["prior"].to_dataset()
