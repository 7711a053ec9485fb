"""The sampler settings every entry point accepts (``Model.fit``, model files' ``[sampler]``
table, the command line, SBC): one frozen :class:`SamplerConfig`, one set of rules and
messages, the defaults decided here.

The fields of :class:`SamplerConfig` are the keyword arguments of ``Model.fit`` (same names,
same defaults), so ``model.fit(**config.as_kwargs())`` fits with a config. The one default
not decided here is ``target_accept=None``: the backend chooses it from the compiled model
(0.95 when group effects are sampled, 0.9 when all are integrated out).
"""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ArgumentError

#: Samplers ``Model.fit`` knows, in order of preference (installed or not).
KNOWN_SAMPLERS = ("nutpie", "pymc", "numpyro", "blackjax")
#: The backend ``Model.fit`` uses unless told otherwise (see :mod:`hierbayes.backends`).
DEFAULT_BACKEND = "pymc"

#: Other packages' names of fit()'s arguments (PyMC, brms/rstan, numpyro, bambi), for the
#: "did you mean" of an unknown argument.
FIT_ALIASES = {
    "seed": "random_seed", "random_state": "random_seed", "rng_seed": "random_seed",
    "adapt_delta": "target_accept", "iter": "draws", "num_samples": "draws", "samples": "draws",
    "n_draws": "draws", "warmup": "tune", "num_warmup": "tune", "n_tune": "tune",
    "num_chains": "chains", "n_chains": "chains", "nuts_sampler": "sampler", "progress_bar": "progressbar",
    "progress": "progressbar", "refresh": "progressbar",
}


def _whole(name: str, value: object, minimum: int) -> int:
    # bool is an int subclass; True draws is a mistake, not 1
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ArgumentError(name, value, f"must be a whole number >= {minimum}")
    if value < minimum:
        raise ArgumentError(name, value, f"must be a whole number >= {minimum}")
    return int(value)


@dataclass(frozen=True)
class SamplerConfig:
    """Checked sampler settings, numbers as plain Python ``int`` / ``float``.

    Parameters
    ----------
    draws : kept draws per chain, a whole number >= 1 (numpy integers are accepted).
    tune : tuning (warm-up) steps per chain, a whole number >= 0.
    chains : number of chains, a whole number >= 1.
    cores : chains run in parallel, a whole number >= 1, or None (all cores, up to one per
        chain).
    random_seed : a whole number >= 0, or None (not reproducible).
    sampler : one of :data:`KNOWN_SAMPLERS`, or None (the fastest installed one).
    target_accept : NUTS target acceptance rate, strictly between 0 and 1, or None (chosen
        by the backend from the compiled model).
    progressbar : True or False.
    backend : name of a registered backend (:func:`hierbayes.backends.get_backend`):
        ``"pymc"`` (NUTS, the default) or ``"prior"`` (draws from the prior in place of the
        posterior, for fast tests of everything downstream of sampling). Checked when the
        backend is looked up.

    Raises
    ------
    ArgumentError
        Naming the first invalid argument, the value given and what is valid.
    """

    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    cores: int | None = None
    random_seed: int | None = None
    sampler: str | None = None
    target_accept: float | None = None
    progressbar: bool = True
    backend: str = DEFAULT_BACKEND

    def __post_init__(self) -> None:
        def put(name: str, value: object) -> None:
            object.__setattr__(self, name, value)

        put("draws", _whole("draws", self.draws, 1))
        put("tune", _whole("tune", self.tune, 0))
        put("chains", _whole("chains", self.chains, 1))
        put("cores", None if self.cores is None else _whole("cores", self.cores, 1))
        if self.random_seed is not None:
            put("random_seed", _whole("random_seed", self.random_seed, 0))
        if self.sampler is not None and self.sampler not in KNOWN_SAMPLERS:
            raise ArgumentError(
                "sampler", self.sampler, f"valid samplers are {list(KNOWN_SAMPLERS)} or None (the fastest installed)"
            )
        ta = self.target_accept
        if ta is not None and (isinstance(ta, bool) or not isinstance(ta, numbers.Real) or not 0 < ta < 1):
            raise ArgumentError("target_accept", ta, "must be a number strictly between 0 and 1 (e.g. 0.9, 0.99)")
        put("target_accept", None if ta is None else float(ta))
        if not isinstance(self.progressbar, (bool, np.bool_)):
            raise ArgumentError("progressbar", self.progressbar, "must be True or False")
        put("progressbar", bool(self.progressbar))
        if not isinstance(self.backend, str) or not self.backend:
            raise ArgumentError("backend", self.backend, "must be the name of a backend, e.g. 'pymc' or 'prior'")

    def replace(self, **changes: Any) -> SamplerConfig:
        """A copy with ``changes`` applied (and checked); None values are ignored."""
        unknown = set(changes) - set(field_names())
        if unknown:
            name = sorted(unknown)[0]
            raise ArgumentError(name, changes[name], f"is not a sampler setting; valid: {list(field_names())}")
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def as_kwargs(self) -> dict[str, Any]:
        """The settings as keyword arguments of ``Model.fit``."""
        return dataclasses.asdict(self)


def field_names() -> tuple[str, ...]:
    """Names of the :class:`SamplerConfig` fields (the keyword arguments of ``Model.fit``)."""
    return tuple(f.name for f in dataclasses.fields(SamplerConfig))


#: Former name of :class:`SamplerConfig`.
SamplerArguments = SamplerConfig


def check_sampler_arguments(
    draws: object = 1000,
    tune: object = 1000,
    chains: object = 4,
    cores: object = None,
    random_seed: object = None,
    sampler: object = None,
    target_accept: object = None,
    progressbar: object = True,
    backend: object = DEFAULT_BACKEND,
) -> SamplerConfig:
    """Check the sampler settings of ``Model.fit`` and return them as a :class:`SamplerConfig`.

    Parameters
    ----------
    draws, tune, chains, cores, random_seed, sampler, target_accept, progressbar, backend
        See :class:`SamplerConfig`.

    Returns
    -------
    SamplerConfig

    Raises
    ------
    ArgumentError
        Naming the first invalid argument, the value given and what is valid.
    """
    return SamplerConfig(
        draws=draws, tune=tune, chains=chains, cores=cores, random_seed=random_seed,  # type: ignore[arg-type]
        sampler=sampler, target_accept=target_accept, progressbar=progressbar, backend=backend,  # type: ignore[arg-type]
    )
