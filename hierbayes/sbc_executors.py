"""Where SBC's (and ``fit_many``'s) fits run: this process, a pool of threads or of spawned
processes, or a Dask cluster.

Each executor calls ``run_chunk(job, sims)`` on chunks of simulations and collects the
results in ``done`` as they finish (so an interrupted run keeps the finished ones).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool

from .errors import SamplingError

__all__ = ["EXECUTORS", "MAIN_GUARD", "chunks", "run_dask", "run_processes", "run_serial", "run_threads"]

EXECUTORS = ("process", "dask", "serial")
#: ``run_chunk(job, sims) -> results``; module-level, so that it pickles.
RunChunk = Callable[..., list]


def chunks(sims: list, n_chunks: int) -> list[list]:
    """``sims`` dealt into at most ``n_chunks`` chunks."""
    n_chunks = max(1, min(n_chunks, len(sims)))
    return [sims[i::n_chunks] for i in range(n_chunks)]


def run_serial(run_chunk: RunChunk, job, sims: list, done: list) -> None:
    """Fit the simulations one by one in this process; results are appended to ``done``."""
    for sim in sims:
        done.extend(run_chunk(job, [sim]))


def run_threads(run_chunk: RunChunk, job, sims: list, workers: int, done: list) -> None:
    """Fit the simulations on ``workers`` threads of this process (one at a time each)."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(run_chunk, job, [sim]) for sim in sims]
        try:
            for future in as_completed(futures):
                done.extend(future.result())
        except BaseException:
            for future in futures:
                future.cancel()
            raise


MAIN_GUARD = (
    "worker processes are started fresh (spawned) and import the main script again; in a "
    "script, call hb.sbc() under `if __name__ == \"__main__\":`, or pass executor='serial'"
)


def run_processes(run_chunk: RunChunk, job, sims: list, workers: int, done: list) -> None:
    """Fit chunks of simulations on a pool of ``workers`` spawned processes."""
    # spawn, not fork: JAX is multithreaded and a forked copy of it can deadlock
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
    try:
        futures = [pool.submit(run_chunk, job, chunk) for chunk in chunks(sims, 4 * workers)]
        for future in as_completed(futures):
            done.extend(future.result())
    except BrokenProcessPool:
        pool.shutdown(wait=False, cancel_futures=True)
        raise SamplingError(f"an SBC worker process died; {MAIN_GUARD}") from None
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def run_dask(run_chunk: RunChunk, job, sims: list, workers: int, client, done: list) -> int:
    """Fit chunks of simulations on a Dask cluster (``client``'s, or a LocalCluster of
    ``workers`` processes started and closed here); returns the number of workers."""
    try:
        from distributed import Client, LocalCluster
        from distributed import as_completed as dask_completed
    except ImportError:
        raise SamplingError(
            "executor='dask' needs dask.distributed: pip install 'dask[distributed]'"
        ) from None
    cluster = None
    if client is None:
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    try:
        n_workers = max(1, len(client.nthreads()))
        job_future = client.scatter(job, broadcast=True)
        parts = chunks(sims, 4 * n_workers)
        futures = client.map(run_chunk, [job_future] * len(parts), parts, pure=False)
        try:
            for future in dask_completed(futures):
                done.extend(future.result())
        except BaseException:
            client.cancel(futures)
            raise
        return n_workers
    finally:
        if cluster is not None:
            client.close()
            cluster.close()
