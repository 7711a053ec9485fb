"""The prior-only backend (registered as ``"prior"``): "sampling" returns draws from the
prior where a NUTS fit has its posterior draws.

``model.fit(backend="prior", draws=100, chains=2)`` takes about a second: the model is the
one the PyMC backend compiles, and its parameters are drawn forward from their priors (no
log density, no gradient, no NUTS). The posterior group has the same variable names, dims
and coords as a NUTS fit's, the observed response is in ``observed_data``, and
``sample_stats`` holds only ``diverging`` (all False; no energies, no tree depths). Tables, predictions and plots work
on such a fit exactly as on a real one, which is what fast tests of them need; the numbers
are the prior's, not a posterior, and the fit's ``info.sampler`` says ``"prior"``.
"""

from __future__ import annotations

import time

import numpy as np
import xarray as xr

from ..sampler_args import SamplerConfig
from . import SamplerRun
from .pymc import prior
from .pymc.backend import PyMCBackend
from .pymc.compile import CompiledModel

#: The name stored as the fit's sampler.
SAMPLER_NAME = "prior"


class PriorOnlyBackend(PyMCBackend):
    """See the module docstring; everything but :meth:`sample` is the PyMC backend's."""

    name = "prior"

    def sample(self, compiled: CompiledModel, config: SamplerConfig) -> SamplerRun:
        """``config.chains x config.draws`` prior draws as the posterior; ``tune``,
        ``cores``, ``sampler``, ``target_accept`` and ``progressbar`` are ignored."""
        start = time.perf_counter()
        draws = prior.sample_prior(compiled, draws=config.chains * config.draws, random_seed=config.random_seed)
        posterior = _as_chains(draws, config.chains, config.draws)
        # no divergences: a sample_stats group like a NUTS fit's, so code reading it works
        stats = xr.Dataset({"diverging": xr.DataArray(np.zeros((config.chains, config.draws), bool),
                                                      dims=("chain", "draw"))},
                           coords={"chain": posterior["chain"], "draw": posterior["draw"]})
        groups = {"posterior": xr.DataTree(posterior), "sample_stats": xr.DataTree(stats)}
        observed = _observed(compiled)
        if observed is not None:
            groups["observed_data"] = xr.DataTree(observed)
        idata = xr.DataTree.from_dict(groups)
        seconds = time.perf_counter() - start
        idata.posterior.attrs.update({"inference_library": SAMPLER_NAME, "sampling_time": seconds, "tuning_steps": 0})
        return SamplerRun(idata=idata, sampler=SAMPLER_NAME, wall_seconds=seconds, sampling_seconds=seconds,
                          compile_seconds=0.0, target_accept=None, converged_draws=False)


def _as_chains(draws: xr.Dataset, chains: int, per_chain: int) -> xr.Dataset:
    """(chain=1, draw=chains*per_chain, ...) -> (chain=chains, draw=per_chain, ...)."""
    flat = draws.isel(chain=0, drop=True)
    out = {}
    for name, da in flat.data_vars.items():
        values = np.asarray(da.values).reshape(chains, per_chain, *da.shape[1:])
        out[name] = xr.DataArray(values, dims=("chain", "draw", *da.dims[1:]),
                                 coords={d: da.coords[d] for d in da.dims[1:] if d in da.coords})
    return xr.Dataset(out, coords={"chain": np.arange(chains), "draw": np.arange(per_chain)})


def _observed(compiled: CompiledModel) -> xr.Dataset | None:
    """The observed response(s) with their dims and coords, as a NUTS fit stores them."""
    from pymc.backends.arviz import coords_and_dims_for_inferencedata, find_observations

    observed = find_observations(compiled.model)
    if not observed:
        return None
    coords, dims = coords_and_dims_for_inferencedata(compiled.model)
    out = {}
    for name, value in observed.items():
        value = np.asarray(value)
        names = list(dims.get(name) or [f"{name}_dim_{i}" for i in range(value.ndim)])
        out[name] = xr.DataArray(value, dims=names, coords={d: coords[d] for d in names if d in coords})
    return xr.Dataset(out)
