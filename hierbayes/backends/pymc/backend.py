"""The PyMC backend (registered as ``"pymc"``, the default): models compiled with PyMC,
NUTS from nutpie, numpyro, blackjax or PyMC's own sampler."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from ...design.types import Design
from ...priors import PriorTable
from ...sampler_args import SamplerConfig
from .. import PriorSimulation, SamplerRun
from . import prior, refit, sample
from .compile import CompiledModel, compile_model


class PyMCBackend:
    """See :class:`hierbayes.backends.Backend`; the compiled model is a
    :class:`~hierbayes.backends.pymc.compile.CompiledModel`."""

    name = "pymc"

    def compile(self, design: Design, priors: PriorTable, parameterization=None) -> CompiledModel:
        return compile_model(design, priors, parameterization)

    def sample(self, compiled: CompiledModel, config: SamplerConfig) -> SamplerRun:
        # looked up on the module at call time, so tests can replace the sampler
        return sample.run_nuts(
            compiled, draws=config.draws, tune=config.tune, chains=config.chains, cores=config.cores,
            random_seed=config.random_seed, sampler=config.sampler, target_accept=config.target_accept,
            progressbar=config.progressbar,
        )

    def sample_prior(self, compiled: CompiledModel, draws: int = 500, random_seed: int | None = None) -> xr.Dataset:
        return prior.sample_prior(compiled, draws=draws, random_seed=random_seed)

    def parameter_names(self, compiled: CompiledModel) -> list[str]:
        model = compiled.model
        return [v.name for v in (*model.free_RVs, *model.deterministics)]

    def free_parameter_names(self, compiled: CompiledModel) -> list[str]:
        return [v.name for v in compiled.model.free_RVs]

    def simulate_prior(
        self, design: Design, priors: PriorTable, parameterization: dict[str, str], targets: Sequence[str],
        n_sims: int, random_seed: int,
    ) -> PriorSimulation:
        return refit.simulate_prior(design, priors, parameterization, targets, n_sims, random_seed)

    def refitter(
        self, design: Design, priors: PriorTable, parameterization: dict[str, str], targets: Sequence[str],
        config: SamplerConfig, reference_y: Sequence[np.ndarray],
    ) -> refit.Refitter:
        return refit.Refitter(design, priors, parameterization, targets, config, reference_y)
