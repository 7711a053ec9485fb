"""What the cached NUTS programs need from a model's graph, stored on disk under the model's
fingerprint: a process that fits a model it has fitted before (same data, priors and code)
reads them instead of rebuilding the log-density graph, lifting its data and evaluating the
start point (0.5 s of a 3.7 s warm sleepstudy fit).

Equal fingerprints mean identical PyMC models (:mod:`.fingerprint`), hence equal graphs;
the library versions are part of the key as well, since another PyMC or PyTensor could
build another graph from the same model. A missing or damaged entry is rebuilt.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import dataclass

import numpy as np

from .draws_layout import DrawsLayout
from .graph_data import SamplerGraph
from .program_cache import cache_folder, write_atomically

#: Bump when the stored layout changes.
ARGUMENTS_VERSION = 3


@dataclass(frozen=True)
class ProgramArguments:
    """A model's sampler graph as the cached programs see it: the value variables' and
    draws' names, the graph's structure key, its data (the lifted constants, in order) and
    the start point on the unconstrained scale; ``layout``, how the draws are laid out (None
    until known: then the model is built for it)."""

    value_names: list[str]
    output_names: list[str]
    structure_key: str
    data: list[np.ndarray]
    start: list[np.ndarray]
    layout: DrawsLayout | None = None


def arguments_of(graph: SamplerGraph) -> ProgramArguments:
    """The arguments of the programs of ``graph``."""
    return ProgramArguments(
        value_names=[v.name for v in graph.value_vars], output_names=list(graph.output_names),
        structure_key=graph.lifted.key, data=[np.asarray(d) for d in graph.lifted.data],
        start=[np.asarray(s) for s in graph.start],
    )


def _paths(fingerprint: str, versions: str) -> tuple[str, str] | None:
    folder = cache_folder()
    if folder is None or not fingerprint:
        return None
    name = hashlib.sha256(f"{ARGUMENTS_VERSION}|{versions}|{fingerprint}".encode()).hexdigest()[:32] + "-graph"
    return os.path.join(folder, name + ".npz"), os.path.join(folder, name + ".json")


def load_arguments(fingerprint: str, versions: str) -> ProgramArguments | None:
    """The arguments stored for the model with ``fingerprint``; None when there are none
    (or caching is off, or the entry is damaged)."""
    paths = _paths(fingerprint, versions)
    if paths is None or not (os.path.exists(paths[0]) and os.path.exists(paths[1])):
        return None
    try:
        with open(paths[1]) as fh:
            meta = json.load(fh)
        with np.load(paths[0], allow_pickle=False) as arrays:
            data = [arrays[f"data{i}"] for i in range(meta["n_data"])]
            start = [arrays[f"start{i}"] for i in range(meta["n_start"])]
            layout = None
            if meta.get("layout") is not None:
                coords = {name: arrays[f"coord{i}"] for i, name in enumerate(meta["layout"]["coords"])}
                observed = {name: arrays[f"observed{i}"] for i, name in enumerate(meta["layout"]["observed"])}
                layout = DrawsLayout(coords, meta["layout"]["dims"], observed, meta["layout"]["dense_mass"])
        arguments = ProgramArguments(value_names=list(meta["value_names"]), output_names=list(meta["output_names"]),
                                     structure_key=str(meta["structure_key"]), data=data, start=start, layout=layout)
    except Exception:  # damaged or from an incompatible writer: rebuilt by the caller
        return None
    os.utime(paths[0])  # recently used: pruned last (program_cache.py)
    return arguments


def save_arguments(fingerprint: str, versions: str, arguments: ProgramArguments) -> None:
    """Store ``arguments`` under ``fingerprint`` (atomically: a reader sees the old entry,
    none, or the whole new one)."""
    paths = _paths(fingerprint, versions)
    if paths is None:
        return
    arrays = {f"data{i}": d for i, d in enumerate(arguments.data)}
    arrays.update({f"start{i}": s for i, s in enumerate(arguments.start)})
    meta = {"value_names": arguments.value_names, "output_names": arguments.output_names,
            "structure_key": arguments.structure_key, "n_data": len(arguments.data),
            "n_start": len(arguments.start), "layout": None}
    layout = arguments.layout
    if layout is not None and layout.storable():
        arrays.update({f"coord{i}": np.asarray(v) for i, v in enumerate(layout.coords.values())})
        arrays.update({f"observed{i}": np.asarray(v) for i, v in enumerate(layout.observed.values())})
        meta["layout"] = {"coords": list(layout.coords), "observed": list(layout.observed),
                          "dims": layout.dims, "dense_mass": layout.dense_mass}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    # the arrays first: an entry is read only when its json exists
    write_atomically(paths[0], buffer.getvalue())
    write_atomically(paths[1], json.dumps(meta).encode())
