"""Out-of-core fits from parquet with Dask (issue 18): wall time, peak memory, estimates.

    # gaussian random slope, 200 groups (the issue's target is --rows 100000000)
    .venv/bin/python bench/dask_big.py --rows 10000000
    # bernoulli, five categorical survey predictors and (1|g) over 50 states (target: --rows 20000000)
    .venv/bin/python bench/dask_big.py --family bernoulli --rows 20000000

The parquet files are written once per (family, rows, seed) in chunks of ``--chunk`` rows
(one file per chunk, never the whole table in memory) under ``--dir`` and reused. Prints one
JSON line: seconds to write, to reduce (Model(...) on dd.read_parquet), to fit (of which
sampling; the rest is building and compiling the program), leapfrog steps per draw, peak
resident memory of this process (ru_maxrss), and the estimates next to the truth.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd

TRUTH_GAUSSIAN = {"Intercept": 1.0, "x": 0.5, "sd_g_Intercept": 0.8, "sd_g_x": 0.3, "sigma": 1.0}
TRUTH_BERNOULLI = {"Intercept": -0.5, "sd_g_Intercept": 0.5}
# a survey's respondents: five demographic predictors, random intercepts of 50 states;
# 2 x 4 x 4 x 3 x 3 = 288 combinations x 50 states = 14,400 cells (all seen from ~10^6 rows).
# Level k of the i-th predictor has effect 0.2 * k * (-1)^i.
LEVELS = {"sex": 2, "age": 4, "educ": 4, "race": 3, "income": 3}
STATES = 50


def _group_effects(groups: int, seed: int, sds: tuple[float, ...]) -> np.ndarray:
    rng = np.random.default_rng([seed, 99])
    return rng.normal(0, 1, (groups, len(sds))) * np.asarray(sds)


def _chunk(family: str, n: int, groups: int, seed: int, index: int) -> pd.DataFrame:
    rng = np.random.default_rng([seed, index])
    g = rng.integers(0, groups, n)
    labels = pd.Categorical.from_codes(g, [f"g{j:04d}" for j in range(groups)])
    if family == "gaussian":
        u = _group_effects(groups, seed, (TRUTH_GAUSSIAN["sd_g_Intercept"], TRUTH_GAUSSIAN["sd_g_x"]))
        x = rng.normal(size=n)
        y = (TRUTH_GAUSSIAN["Intercept"] + u[g, 0] + (TRUTH_GAUSSIAN["x"] + u[g, 1]) * x
             + rng.normal(0, TRUTH_GAUSSIAN["sigma"], n))
        return pd.DataFrame({"y": y, "x": x, "g": labels})
    u = _group_effects(groups, seed, (TRUTH_BERNOULLI["sd_g_Intercept"],))
    eta = TRUTH_BERNOULLI["Intercept"] + u[g, 0]
    cols = {}
    for i, (name, k) in enumerate(LEVELS.items()):
        codes = rng.integers(0, k, n)
        eta = eta + 0.2 * codes * (-1) ** i
        cols[name] = pd.Categorical.from_codes(codes, [f"l{c}" for c in range(k)])
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(np.int8)
    return pd.DataFrame({"y": y, **cols, "g": labels})


def write_parquet(folder: Path, family: str, rows: int, groups: int, chunk: int, seed: int) -> float:
    """One parquet file per chunk of rows; returns the seconds spent (0 when reused)."""
    done = folder / "_complete"
    if done.exists():
        return 0.0
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for i, first in enumerate(range(0, rows, chunk)):
        _chunk(family, min(chunk, rows - first), groups, seed, i).to_parquet(folder / f"part-{i:05d}.parquet")
    done.touch()
    return time.perf_counter() - start


def _no_mass_regularization() -> None:
    """numpyro adds 1e-3 * 5 / (n + 5) to the warm-up's covariance estimate: far more than
    the posterior variance of a parameter the data pin down (log sigma from 10^8 rows has
    variance 5e-9), so the step size shrinks with the rows. Turn that off, for this run."""
    import functools

    import numpyro.infer.hmc as hmc_module

    original = hmc_module.hmc

    def hmc(*args, **kwargs):
        init_kernel, sample_kernel = original(*args, **kwargs)
        return functools.partial(init_kernel, regularize_mass_matrix=False), sample_kernel

    hmc_module.hmc = hmc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", choices=("gaussian", "bernoulli"), default="gaussian")
    parser.add_argument("--rows", type=int, default=10**7)
    parser.add_argument("--groups", type=int, default=None, help="default 200 (gaussian), 50 (bernoulli)")
    parser.add_argument("--chunk", type=int, default=10**6)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", default="/tmp/hierbayes-dask-big")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--no-mass-regularization", action="store_true",
                        help="experiment: numpyro's warm-up without its mass-matrix shrinkage (see README); "
                             "use a HIERBAYES_CACHE_DIR of its own (a cached sampler program would ignore it)")
    args = parser.parse_args()
    if args.no_mass_regularization:
        _no_mass_regularization()
    if args.groups is None:
        args.groups = 200 if args.family == "gaussian" else STATES
    load_start = os.getloadavg()

    import dask.dataframe as dd

    import hierbayes as hb

    folder = Path(args.dir) / f"{args.family}-{args.rows}-{args.groups}-{args.seed}"
    write_s = write_parquet(folder, args.family, args.rows, args.groups, args.chunk, args.seed)
    ddf = dd.read_parquet(str(folder / "*.parquet"))
    start = time.perf_counter()
    if args.family == "gaussian":
        model = hb.Model("y ~ x + (x | g)", data=ddf)
    else:
        model = hb.Model("y ~ " + " + ".join(LEVELS) + " + (1 | g)", data=ddf, family="bernoulli")
    reduce_s = time.perf_counter() - start
    start = time.perf_counter()
    fit = model.fit(draws=args.draws, tune=args.tune, chains=args.chains, random_seed=args.seed, progressbar=False)
    fit_s = time.perf_counter() - start
    fixef = fit.fixef()["mean"]
    varcorr = fit.varcorr()
    truth = dict(TRUTH_GAUSSIAN if args.family == "gaussian" else TRUTH_BERNOULLI)
    # the values of this data set's group effects (what the data can recover with 200 groups)
    sds = [v for k, v in truth.items() if k.startswith("sd_")]
    u = _group_effects(args.groups, args.seed, tuple(sds))
    truth["realized_Intercept"] = truth["Intercept"] + float(u[:, 0].mean())
    if args.family == "gaussian":
        truth["realized_x"] = truth["x"] + float(u[:, 1].mean())
    truth["realized_sd"] = [float(s) for s in u.std(axis=0, ddof=1)]
    estimates = {"Intercept": float(fixef["Intercept"])}
    if args.family == "gaussian":
        estimates["x"] = float(fixef["x"])
    else:
        estimates.update({n: float(v) for n, v in fixef.items() if n != "Intercept"})
        truth["coefficients"] = {f"{name}[l{k}]": round(0.2 * k * (-1) ** i, 2)
                                 for i, (name, levels) in enumerate(LEVELS.items()) for k in range(1, levels)}
    estimates["varcorr"] = varcorr.round(4).astype(str).to_dict(orient="records")
    print(json.dumps({
        "family": args.family, "rows": args.rows, "groups": args.groups, "partitions": ddf.npartitions,
        "write_s": round(write_s, 1), "reduce_s": round(reduce_s, 1), "fit_s": round(fit_s, 1),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
        "cells": getattr(model.design, "n_cells", None), "load_avg_start": load_start, "load_avg_end": os.getloadavg(),
        "sampler": fit.info.sampler, "mass_regularization": not args.no_mass_regularization,
        "sampling_s": None if fit.info.sampling_seconds is None else round(fit.info.sampling_seconds, 1),
        "parameterization": fit.info.parameterization,
        "mean_leapfrog_steps": round(float(fit.idata["sample_stats"]["n_steps"].mean()), 1),
        "design": model.design.describe(), "diagnostics": str(fit.diagnostics),
        "truth": truth, "estimates": estimates,
    }, indent=1))


if __name__ == "__main__":
    main()
