"""Validation of the NUTS settings every entry point accepts (``Model.fit``, model files'
``[sampler]`` table, the command line, SBC): one function, one set of rules and messages."""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from .errors import ArgumentError

#: Samplers ``Model.fit`` knows, in order of preference (installed or not).
KNOWN_SAMPLERS = ("nutpie", "pymc", "numpyro", "blackjax")


@dataclass(frozen=True)
class SamplerArguments:
    """Checked NUTS settings, numbers as plain Python ``int`` / ``float``."""

    draws: int
    tune: int
    chains: int
    cores: int | None
    random_seed: int | None
    sampler: str | None
    target_accept: float | None
    progressbar: bool


def _whole(name: str, value: object, minimum: int) -> int:
    # bool is an int subclass; True draws is a mistake, not 1
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ArgumentError(name, value, f"must be a whole number >= {minimum}")
    if value < minimum:
        raise ArgumentError(name, value, f"must be a whole number >= {minimum}")
    return int(value)


def check_sampler_arguments(
    draws: object = 1000,
    tune: object = 1000,
    chains: object = 4,
    cores: object = None,
    random_seed: object = None,
    sampler: object = None,
    target_accept: object = None,
    progressbar: object = True,
) -> SamplerArguments:
    """Check the NUTS settings of ``Model.fit`` and return them normalised.

    Parameters
    ----------
    draws : kept draws per chain, a whole number >= 1 (numpy integers are accepted).
    tune : tuning (warm-up) steps per chain, a whole number >= 0.
    chains : number of chains, a whole number >= 1.
    cores : chains run in parallel, a whole number >= 1, or None (all cores).
    random_seed : a whole number >= 0, or None (not reproducible).
    sampler : one of :data:`KNOWN_SAMPLERS`, or None (the fastest installed one).
    target_accept : NUTS target acceptance rate, strictly between 0 and 1, or None (chosen
        from the model when it is compiled).
    progressbar : True or False.

    Returns
    -------
    SamplerArguments

    Raises
    ------
    ArgumentError
        Naming the first invalid argument, the value given and what is valid.
    """
    draws = _whole("draws", draws, 1)
    tune = _whole("tune", tune, 0)
    chains = _whole("chains", chains, 1)
    cores = None if cores is None else _whole("cores", cores, 1)
    if random_seed is not None:
        random_seed = _whole("random_seed", random_seed, 0)
    if sampler is not None and sampler not in KNOWN_SAMPLERS:
        raise ArgumentError("sampler", sampler, f"valid samplers are {list(KNOWN_SAMPLERS)} or None (the fastest installed)")
    if target_accept is not None and (
        isinstance(target_accept, bool) or not isinstance(target_accept, numbers.Real) or not 0 < target_accept < 1
    ):
        raise ArgumentError("target_accept", target_accept, "must be a number strictly between 0 and 1 (e.g. 0.9, 0.99)")
    if not isinstance(progressbar, (bool, np.bool_)):
        raise ArgumentError("progressbar", progressbar, "must be True or False")
    return SamplerArguments(
        draws=draws, tune=tune, chains=chains, cores=cores, random_seed=random_seed,
        sampler=sampler, target_accept=None if target_accept is None else float(target_accept), progressbar=bool(progressbar),
    )
