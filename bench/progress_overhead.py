"""Cost of the progress reporting of the default (numpyro) sampler.

Fits ``Reaction ~ Days + (Days|Subject)`` on sleepstudy, 4 chains x (1000 tune + 1000 draws),
in one warm process, interleaving three modes with the same seeds:

- ``bar``: progress drawn (tqdm, into a stream that says it is a terminal);
- ``off``: ``progressbar=False`` (the same chunked program, nothing drawn);
- ``whole``: nothing drawn and chunks as long as a phase (warm-up, draws): what the
  program costs without progress reports in between.

Prints the sampling wall seconds and the process CPU seconds of each fit, and the medians.
Usage: ``python bench/progress_overhead.py [REPEATS] [PARAMETERIZATION]``.
"""

from __future__ import annotations

import contextlib
import io
import json
import resource
import sys
import warnings

import numpy as np

import hierbayes as hb
from hierbayes.backends.pymc import chunks
from hierbayes.backends.pymc.sample import run_nuts


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(repeats: int = 6, parameterization: str | None = None) -> dict:
    warnings.filterwarnings("ignore")
    model = hb.Model("Reaction ~ Days + (Days|Subject)", data=hb.datasets.load("sleepstudy"),
                     parameterization=parameterization)
    compiled = model.compile()
    defaults = (chunks.CHUNK_SECONDS, chunks.FIRST_CHUNK)

    def once(mode: str, seed: int) -> tuple[float, float]:
        chunks.CHUNK_SECONDS, chunks.FIRST_CHUNK = defaults if mode != "whole" else (1e9, 10**9)
        cpu = _cpu()
        with contextlib.redirect_stderr(_Terminal()):
            run = run_nuts(compiled, draws=1000, tune=1000, chains=4, random_seed=seed, progressbar=mode == "bar")
        return round(run.sampling_seconds, 3), round(_cpu() - cpu, 3)

    once("off", 99)  # compile or load the sampler
    modes = ("bar", "off", "whole")
    out: dict[str, list] = {m: [] for m in modes}
    for r in range(repeats):
        for mode in modes[r % 3:] + modes[: r % 3]:
            out[mode].append(once(mode, r + 1))
    chunks.CHUNK_SECONDS, chunks.FIRST_CHUNK = defaults
    summary = {m: {"wall_median": float(np.median([w for w, _ in v])), "cpu_median": float(np.median([c for _, c in v])),
                   "runs": v} for m, v in out.items()}
    return summary


if __name__ == "__main__":
    result = main(int(sys.argv[1]) if len(sys.argv) > 1 else 6, sys.argv[2] if len(sys.argv) > 2 else None)
    print(json.dumps(result, indent=1))
