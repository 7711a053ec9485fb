"""The backend seam: what the rest of hierbayes asks of a sampling engine, and the registry
of engines.

A backend turns a design and its priors into a compiled model and draws from it. Everything
above this package (``Model``, results, SBC) talks to a :class:`Backend` found by name with
:func:`get_backend`; only backend modules import PyMC, PyTensor, JAX, numpyro or nutpie.

Registered backends:

* ``"pymc"`` (the default): the model compiled with PyMC, NUTS from nutpie, numpyro,
  blackjax or PyMC (:mod:`hierbayes.backends.pymc.backend`).
* ``"prior"``: the same compiled model, but "sampling" returns draws from the prior in the
  posterior group (same variable names and dims as a NUTS fit) in about a second, so tests
  of tables, predictions and plots need no NUTS run (:mod:`hierbayes.backends.prior_only`).
  Use it with ``model.fit(backend="prior")``. The draws are not a posterior.

Other engines register themselves with :func:`register_backend`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import xarray as xr

from ..errors import ArgumentError
from ..sampler_args import DEFAULT_BACKEND, SamplerConfig

__all__ = [
    "Backend",
    "PriorSimulation",
    "SamplerRun",
    "available_backends",
    "get_backend",
    "register_backend",
    "unregister_backend",
]


@dataclass(frozen=True)
class SamplerRun:
    """Draws and timings of one sampling run.

    idata : the DataTree with at least a ``posterior`` group (dims ``chain``, ``draw``, then
        the parameter's own dims, named by :mod:`hierbayes.params`).
    sampler : the name of the sampler that ran (stored on the fit).
    target_accept : as used (the model's default when the config left it None).
    converged_draws : False when the draws are not from a Markov chain meant to converge
        (the prior-only backend): convergence diagnostics are then not warned about.
    """

    idata: xr.DataTree
    sampler: str
    wall_seconds: float
    sampling_seconds: float | None
    compile_seconds: float | None = None
    target_accept: float | None = None
    converged_draws: bool = True


@dataclass(frozen=True)
class PriorSimulation:
    """Parameters and responses simulated from a model's prior (for SBC).

    values : name -> array ``(n_sims, *shape)`` of each requested parameter.
    dims : name -> the coordinate labels of each axis of that parameter (one list per axis).
    y : ``(n_sims, n_obs)`` simulated responses.
    """

    values: dict[str, np.ndarray]
    labels: dict[str, list[list[str]]]
    y: np.ndarray


#: A refit function: ``refit(y, seed)`` fits the compiled model to response ``y`` and returns
#: ``(draws, divergences, treedepth_hits)``; ``draws`` holds one ``(chains, draws, *shape)``
#: array per target parameter.
Refit = Callable[[np.ndarray, int], tuple[list[np.ndarray], int, int]]


@runtime_checkable
class Backend(Protocol):
    """What hierbayes needs from a sampling engine."""

    name: str

    def compile(self, design: Any, priors: Any, parameterization: Any = None) -> Any:
        """The compiled model of ``design`` with ``priors``; it has ``parameterization``
        (block key -> how it is sampled), ``likelihood`` and ``marginal_keys``."""

    def sample(self, compiled: Any, config: SamplerConfig) -> SamplerRun:
        """Draw from the posterior of ``compiled`` with the settings of ``config``.

        Raises ``SamplingError`` when interrupted (Ctrl-C) or the sampler fails."""

    def sample_prior(self, compiled: Any, draws: int = 500, random_seed: int | None = None) -> xr.Dataset:
        """``draws`` prior draws of every parameter (not the response), dims (chain=1, draw,
        ...), the posterior's names and coords."""

    def parameter_names(self, compiled: Any) -> list[str]:
        """Names of the sampled and derived parameters (not the response)."""

    def free_parameter_names(self, compiled: Any) -> list[str]:
        """Names of the parameters the sampler moves (a subset of :meth:`parameter_names`)."""

    def simulate_prior(
        self, design: Any, priors: Any, parameterization: dict[str, str], targets: Sequence[str], n_sims: int,
        random_seed: int,
    ) -> PriorSimulation:
        """True parameter values and responses drawn from the prior of the row-level model
        (SBC's simulations)."""

    def refitter(
        self, design: Any, priors: Any, parameterization: dict[str, str], targets: Sequence[str],
        config: SamplerConfig, reference_y: Sequence[np.ndarray],
    ) -> Refit:
        """A function refitting the model to many responses with one compiled log density
        (SBC's fits); ``reference_y`` are a few responses to learn which constants of the
        graph depend on the response."""


_FACTORIES: dict[str, Callable[[], Backend]] = {}
_INSTANCES: dict[str, Backend] = {}


def register_backend(name: str, factory: Callable[[], Backend]) -> None:
    """Make a backend available as ``name``.

    Parameters
    ----------
    name : the name ``Model.fit(backend=...)`` and :func:`get_backend` accept.
    factory : called once, on first use, to build the backend (so its packages are imported
        only when it is used).
    """
    _FACTORIES[name] = factory
    _INSTANCES.pop(name, None)


def unregister_backend(name: str) -> None:
    """Forget the backend registered as ``name`` (nothing happens when there is none)."""
    _FACTORIES.pop(name, None)
    _INSTANCES.pop(name, None)


def available_backends() -> list[str]:
    """Names of the registered backends."""
    return list(_FACTORIES)


def get_backend(name: str | None = None) -> Backend:
    """The backend registered as ``name`` (default: ``"pymc"``).

    Raises
    ------
    ArgumentError
        When no backend of that name is registered; the message lists the known ones.
    """
    name = DEFAULT_BACKEND if name is None else name
    backend = _INSTANCES.get(name)
    if backend is None:
        if name not in _FACTORIES:
            raise ArgumentError("backend", name, f"valid backends are {available_backends()}")
        backend = _INSTANCES[name] = _FACTORIES[name]()
    return backend


def _lazy(module: str, attribute: str) -> Callable[[], Backend]:
    def build() -> Backend:
        return getattr(importlib.import_module(module, __name__), attribute)()

    return build


register_backend("pymc", _lazy(".pymc.backend", "PyMCBackend"))
register_backend("prior", _lazy(".prior_only", "PriorOnlyBackend"))
