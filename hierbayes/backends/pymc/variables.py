"""PyMC variables from resolved priors: the one place a :class:`~hierbayes.priors.Prior`
becomes a PyMC distribution."""

from __future__ import annotations

import numpy as np

from ...errors import PriorError
from ...priors import Prior
from .lazy import pm
from .mean_free import LOCATION_FAMILIES


def register(name: str, prior: Prior, dims=None, shape=None, shift=None):
    """Add the variable ``name`` with distribution ``prior`` to the current PyMC model.

    Parameters
    ----------
    name : the PyMC variable name.
    prior : a resolved prior (its ``dist`` is the PyMC class name).
    dims, shape : passed to the distribution (at most one of them).
    shift : a tensor added to the prior's location (a prior of :data:`.mean_free.LOCATION_FAMILIES`).

    Returns
    -------
    The PyMC random variable.
    """
    cls = getattr(pm, prior.dist)
    # float parameters as float64 data: arguments of the cached sampler (graph_data.py), so
    # other prior scales reuse the compiled program (a Python float would be a literal)
    kwargs = {k: np.float64(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
              for k, v in prior.kwargs.items()}
    if shift is not None:
        location = LOCATION_FAMILIES[prior.dist]
        kwargs[location] = kwargs[location] + shift
    return cls(name, **kwargs, dims=dims, shape=shape)


def stacked_prior(priors: list[Prior], where: str) -> Prior:
    """One vectorised prior from per-column priors of one distribution family.

    Parameters
    ----------
    priors : the per-column priors, all of one distribution.
    where : the block or class they belong to, for the error message.

    Returns
    -------
    A prior whose parameters are arrays with one entry per column.

    Raises
    ------
    PriorError
        When the priors are of different distributions.
    """
    kinds = {p.dist for p in priors}
    if len(kinds) != 1:
        raise PriorError(
            f"the sd priors of the correlated block {where!r} must share one distribution "
            f"(got {sorted(kinds)}); give them the same family with different scales"
        )
    keys = [k for k, _ in priors[0].params]
    stacked = {k: np.array([p.kwargs[k] for p in priors], dtype=float) for k in keys}
    return Prior(priors[0].dist, **stacked)
