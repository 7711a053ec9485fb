"""What the draws' DataTree needs from a model besides the draws: coordinates, dims, observed
data, and the mass-matrix structure the sampler adapts. Taken from the PyMC model once and
stored with the cached program's arguments (:mod:`.graph_cache`), so a warm fit lays its
draws out without building the model (:mod:`.lazy`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .padding import trim_draws

#: The sampler statistics the programs return, in order.
SAMPLE_STATS = ("diverging", "n_steps", "energy", "lp", "acceptance_rate", "step_size")


@dataclass(frozen=True)
class DrawsLayout:
    """coords : dimension -> labels; dims : variable -> its dimensions; observed : observed
    variable -> data; dense_mass : the mass structure (:func:`.sample.dense_mass_of`)."""

    coords: dict[str, np.ndarray]
    dims: dict[str, list[str]]
    observed: dict[str, np.ndarray]
    dense_mass: bool | list[list[str]]

    def storable(self) -> bool:
        """Whether every array is stored without pickling (labels of one plain type)."""
        arrays = [*self.coords.values(), *self.observed.values()]
        return all(np.asarray(a).dtype.kind in "biufU" for a in arrays)


def layout_of(model, dense_mass: bool | Sequence[Sequence[str]]) -> DrawsLayout:
    """The layout of ``model``'s draws (PyMC's, as ``pm.sample`` would lay them out)."""
    from pymc.backends.arviz import coords_and_dims_for_inferencedata, find_observations

    coords, dims = coords_and_dims_for_inferencedata(model)
    observed = {k: np.asarray(v) for k, v in (find_observations(model) or {}).items()}
    mass = dense_mass if isinstance(dense_mass, bool) else [list(block) for block in dense_mass]
    return DrawsLayout({k: np.asarray(v) for k, v in coords.items()}, {k: list(v) for k, v in dims.items()},
                       observed, mass)


def draws_tree(layout: DrawsLayout, output_names: list[str], results, tune: int, seconds: float,
               library: str = "numpyro", trim: dict[str, int] | None = None):
    """The DataTree of the programs' ``results`` (draws of ``output_names``, then the
    statistics of SAMPLE_STATS), cut back to the unpadded sizes by ``trim``."""
    from arviz_base import from_dict  # not `arviz`: it imports its plotting, and matplotlib

    n_out = len(output_names)
    posterior = {name: np.asarray(v) for name, v in zip(output_names, results[:n_out])}
    if trim:  # the draws of a padded model (padding.py)
        posterior = {name: trim_draws(v, layout.dims.get(name, ()), trim) for name, v in posterior.items()}
    stats = {name: np.asarray(v) for name, v in zip(SAMPLE_STATS, results[n_out:])}
    stats["tree_depth"] = np.log2(np.maximum(stats["n_steps"], 1)).astype(int) + 1
    groups = {"posterior": posterior, "sample_stats": stats}
    if layout.observed:
        groups["observed_data"] = dict(layout.observed)
    attrs = {"posterior": {"inference_library": library, "sampling_time": seconds, "tuning_steps": tune}}
    return from_dict(groups, coords=layout.coords, dims=layout.dims, sample_dims=["chain", "draw"], attrs=attrs)
