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
    """
    import time

    total = tune + draws
    done, size, seconds = start, 0, None
    carry = list(carry)
    while done < total:
        size = next_chunk(done, tune, total, size, seconds)
        began = time.perf_counter()
        *carry, counts = advance(scalar(done), scalar(size), *carry)
        counts = np.asarray(counts)  # waits for the chunk
        seconds = time.perf_counter() - began
        done += size
        progress.update([done] * chains, int(counts[:, 0].sum()), int(counts[:, 1].sum()))
    return carry
