"""Run NUTS on a compiled model with PyMC's samplers (pymc, nutpie, numpyro, blackjax)."""

from __future__ import annotations

import importlib.util
import os
import time
import warnings
from dataclasses import dataclass

import pymc as pm
import xarray as xr

from ...errors import SamplingError
from .compile import CompiledModel

SAMPLERS = ("nutpie", "pymc", "numpyro", "blackjax")


@dataclass(frozen=True)
class SamplerRun:
    """Draws and timings of one sampling run."""

    idata: xr.DataTree
    sampler: str
    wall_seconds: float
    sampling_seconds: float | None


def available_samplers() -> list[str]:
    """Samplers whose packages are importable, in order of preference."""
    out = []
    for name in SAMPLERS:
        module = {"pymc": "pymc", "nutpie": "nutpie", "numpyro": "numpyro", "blackjax": "blackjax"}[name]
        if importlib.util.find_spec(module) is not None:
            out.append(name)
    return out


def default_sampler() -> str:
    """The fastest sampler end to end that is installed (see bench/README.md)."""
    installed = available_samplers()
    for name in ("numpyro", "nutpie", "pymc"):
        if name in installed:
            return name
    return "pymc"


def default_cores(chains: int) -> int:
    """All cores, up to one per chain (PyMC would assume half of them are hyperthreads)."""
    return max(1, min(chains, os.cpu_count() or 1))


def run_nuts(
    compiled: CompiledModel,
    *,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    cores: int | None = None,
    random_seed: int | None = None,
    sampler: str | None = None,
    target_accept: float = 0.9,
    progressbar: bool = True,
) -> SamplerRun:
    """Sample the posterior with NUTS.

    Raises SamplingError with a plain message when the user interrupts (Ctrl-C) or the
    sampler fails; nothing is written anywhere in that case.
    """
    sampler = sampler or default_sampler()
    if sampler not in SAMPLERS:
        raise SamplingError(f"unknown sampler {sampler!r}; valid: {list(SAMPLERS)}")
    if sampler not in available_samplers():
        raise SamplingError(
            f"sampler {sampler!r} is not installed; installed samplers: {available_samplers()}"
        )
    if cores is None:
        cores = default_cores(chains)
    kwargs = dict(
        draws=draws,
        tune=tune,
        chains=chains,
        cores=cores,
        random_seed=random_seed,
        progressbar=progressbar,
        nuts_sampler=sampler,
        model=compiled.model,
        compute_convergence_checks=False,
        nuts={"target_accept": target_accept},
    )
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*BLAS.*")
            warnings.filterwarnings("ignore", category=FutureWarning)
            idata = pm.sample(**kwargs)
    except KeyboardInterrupt:
        raise SamplingError("sampling was interrupted by the user; no fit was created") from None
    wall = time.perf_counter() - start
    sampling_time = idata.posterior.attrs.get("sampling_time")
    return SamplerRun(idata=idata, sampler=sampler, wall_seconds=wall, sampling_seconds=sampling_time)
