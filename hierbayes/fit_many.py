"""Many fits at once: model grids, many outcomes (MRP over many survey questions),
simulation studies. The fits run on :mod:`hierbayes.sbc_executors`, the executors SBC uses:
threads of this process by default, a Dask cluster when a ``distributed.Client`` is given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ArgumentError
from .model import Model
from .sbc_executors import run_dask, run_processes, run_serial, run_threads

__all__ = ["FIT_MANY_EXECUTORS", "fit_many"]

FIT_MANY_EXECUTORS = ("thread", "dask", "process", "serial")


@dataclass(frozen=True)
class _Job:
    data: object
    folder: str | None
    model_kwargs: dict = field(default_factory=dict)
    fit_kwargs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class _Item:
    index: int
    name: str
    model: object  # a Model, a formula or a ModelSpec


def _run_chunk(job: _Job, items: list[_Item]) -> list[tuple[int, object]]:
    """Fit (and save, with a folder) each item; module-level so that it pickles."""
    out = []
    for item in items:
        model = item.model if isinstance(item.model, Model) else Model(item.model, job.data, **job.model_kwargs)
        fit = model.fit(**job.fit_kwargs)
        if job.folder is None:
            out.append((item.index, fit))
        else:
            path = Path(job.folder) / f"{item.name}.nc"
            fit.save(path)
            out.append((item.index, str(path)))
    return out


def _file_name(index: int, name: str) -> str:
    return f"{index:03d}_{re.sub(r'[^A-Za-z0-9_.-]+', '_', name).strip('_')[:60]}"


def _items(models, data) -> tuple[list[_Item], list[str] | None]:
    keys = None
    if isinstance(models, Mapping):
        keys = [str(k) for k in models]
        values = list(models.values())
    elif isinstance(models, (str, Model)) or not isinstance(models, Sequence):
        raise ArgumentError(
            "models", models,
            f"give a list (or a dict by name) of Models, formulas or ModelSpecs, not a {type(models).__name__}",
        )
    else:
        values = list(models)
    if not values:
        raise ArgumentError("models", values, "empty: give at least one Model or formula")
    items = []
    for i, value in enumerate(values):
        if not isinstance(value, Model) and data is None:
            raise ArgumentError(f"models[{i}]", value, "a formula needs data= to be built on")
        label = keys[i] if keys else (str(value) if not isinstance(value, Model) else value.formula)
        items.append(_Item(i, _file_name(i, label), value))
    return items, keys


def fit_many(
    models: Sequence | Mapping,
    data=None,
    *,
    client=None,
    executor: str | None = None,
    workers: int = 2,
    folder: str | Path | None = None,
    model_kwargs: Mapping | None = None,
    **fit_kwargs,
):
    """Fit many models, in parallel.

    Parameters
    ----------
    models : list, or dict keyed by name, of :class:`~hierbayes.Model` objects, formulas or
        ModelSpecs (formulas are built on ``data`` with ``model_kwargs`` where they are fitted,
        so a Dask worker builds its own design).
    data : the data of the formulas (pandas, polars, pyarrow or a Dask DataFrame).
    client : a ``distributed.Client``: fit on its cluster (``executor="dask"``).
    executor : "thread" (default without a client: ``workers`` threads of this process),
        "dask" (the client's cluster, or a LocalCluster of ``workers`` processes),
        "process" (spawned processes) or "serial".
    workers : threads or processes when no client is given.
    folder : save each fit there (``<index>_<name>.nc``, load with ``hb.load``) and return the
        paths instead of the fits (the fits then never travel back from the workers).
    model_kwargs : arguments of ``Model`` for the formulas (family, priors, ...).
    **fit_kwargs : arguments of ``Model.fit`` (draws, chains, random_seed, ...);
        ``progressbar`` defaults to False.

    Returns
    -------
    list or dict
        Fits (or paths with ``folder``) in the order of ``models``; a dict by name when
        ``models`` is one.

    Raises
    ------
    ArgumentError
        For an empty or malformed ``models``, a formula without ``data``, or an unknown
        ``executor``.
    """
    executor = executor or ("dask" if client is not None else "thread")
    if executor not in FIT_MANY_EXECUTORS:
        raise ArgumentError("executor", executor, f"valid values are {list(FIT_MANY_EXECUTORS)}")
    if client is not None and executor != "dask":
        raise ArgumentError("executor", executor, "a client= runs the fits on its Dask cluster: use executor='dask'")
    items, keys = _items(models, data)
    if folder is not None:
        Path(folder).mkdir(parents=True, exist_ok=True)
    fit_kwargs.setdefault("progressbar", False)
    job = _Job(data, None if folder is None else str(folder), dict(model_kwargs or {}), fit_kwargs)
    done: list[tuple[int, object]] = []
    if executor == "serial":
        run_serial(_run_chunk, job, items, done)
    elif executor == "thread":
        run_threads(_run_chunk, job, items, workers, done)
    elif executor == "process":
        run_processes(_run_chunk, job, items, workers, done)
    else:
        run_dask(_run_chunk, job, items, workers, client, done)
    results = [r for _, r in sorted(done, key=lambda pair: pair[0])]
    return dict(zip(keys, results)) if keys is not None else results
