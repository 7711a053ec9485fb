"""Run a compiled NUTS program chunk by chunk and report progress between chunks.

The sampler programs of :mod:`.jaxnuts` are exported with ``jax.export`` and cached on disk;
host callbacks (``jax.debug.callback``, ``io_callback``) cannot be serialized with them
("serialization of host_callbacks is not yet implemented"). So the program that advances
the chains takes the iteration range as an argument, and the host calls it repeatedly: each
call runs every chain through the same iterations, then the host reads the divergence
counts and redraws the progress. Chunks last about ``CHUNK_SECONDS``, which also bounds how
long Ctrl-C waits (Python sees the signal only between two calls into XLA).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ...progress import SamplingProgress

#: Target wall time of one chunk: short enough for Ctrl-C and a lively bar, long enough
#: that the host round trip (well under a millisecond) costs nothing measurable.
CHUNK_SECONDS = 0.25
#: Iterations per chain in the first chunk (early warm-up can be very slow per iteration).
FIRST_CHUNK = 2
#: A chunk grows at most this many times over the previous one.
MAX_GROWTH = 4


def next_chunk(done: int, tune: int, total: int, previous: int, seconds: float | None) -> int:
    """Iterations per chain in the next chunk.

    Sized from the last chunk's speed to last about ``CHUNK_SECONDS``; never crosses the end
    of warm-up (so each phase ends on a chunk boundary) nor the last iteration.
    """
    if seconds is None or seconds <= 0:
        size = FIRST_CHUNK if previous <= 0 else previous * MAX_GROWTH
    else:
        size = int(CHUNK_SECONDS * previous / seconds)
        size = min(size, previous * MAX_GROWTH)
    size = max(1, size)
    limit = tune - done if done < tune else total - done
    if limit - size < size // 4:  # no short tail chunk
        size = limit
    return max(0, min(size, limit))


def run_chunks(
    advance: Callable[..., Sequence[Any]],
    carry: Sequence[Any],
    *,
    start: int,
    tune: int,
    draws: int,
    chains: int,
    progress: SamplingProgress,
    scalar: Callable[[int], Any],
) -> list[Any]:
    """Advance ``carry`` from iteration ``start`` to ``tune + draws``.

    ``advance(first, n, *carry)`` returns the new carry followed by the (chains, 2)
    divergence counts (warm-up, kept); ``scalar`` puts an int on the devices.

    The next chunk is queued before the host waits for the current one: the devices never
    wait for the host, and a device whose chains were quicker in this chunk starts the next
    one without waiting for the others (chains do not communicate).
    """
    import time

    total = tune + draws
    carry = list(carry)
    dispatched = start
    measured: tuple[int, float] | None = None  # (size, seconds) of the last finished chunk
    last_size = 0
    pending: tuple[Any, int, int] | None = None  # (counts, iterations done after it, size)
    finished_at = time.perf_counter()
    while dispatched < total or pending is not None:
        queued = None
        if dispatched < total:
            if measured is None:
                last_size = next_chunk(dispatched, tune, total, last_size, None)
            else:
                last_size = next_chunk(dispatched, tune, total, measured[0], measured[1])
            *carry, counts = advance(scalar(dispatched), scalar(last_size), *carry)
            dispatched += last_size
            queued = (counts, dispatched, last_size)
        if pending is not None:
            counts, done, size = pending
            counts = np.asarray(counts)  # waits for that chunk
            now = time.perf_counter()
            measured, finished_at = (size, now - finished_at), now
            progress.update([done] * chains, int(counts[:, 0].sum()), int(counts[:, 1].sum()))
        pending = queued
    return carry
