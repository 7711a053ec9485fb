"""Size of saved fits and seconds to save / load them (README table, issue 17).

    PYTHONPATH=. python bench/file_sizes.py [--insteval] [--draws 1000] [--chains 4]

Fits each model once (seed 1), saves it with ``fit.save`` after ``fit.idata`` has been read
(as the CLI's report does), loads it back with ``hb.load`` and prints one markdown row per
model: MB on disk, save and load seconds, and seconds for ``loo()`` of the loaded fit (which
recomputes the log-likelihood when the file does not hold it). Run it with another
checkout first on ``PYTHONPATH`` to measure that version.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import hierbayes as hb


def models(insteval: bool):
    gcse = hb.datasets.load("gcse")
    yield "sleepstudy `(Days|Subject)`", hb.Model("Reaction ~ Days + (Days | Subject)", hb.datasets.load("sleepstudy"))
    yield "gcse `(lrt|school)`", hb.Model("gcse ~ lrt + (lrt | school)", gcse[gcse.nstu > 4])
    if insteval:
        from hierbayes.modelfile import load_model_file

        yield "InstEval crossed", load_model_file("models/insteval_crossed.toml").build()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--insteval", action="store_true", help="also models/insteval_crossed.toml (minutes)")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    args = parser.parse_args()
    print("| model | rows | draws | MB | save s | load s | loo s (loaded) |")
    print("|---|---|---|---|---|---|---|")
    for name, model in models(args.insteval):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = model.fit(draws=args.draws, tune=args.draws, chains=args.chains, random_seed=1, progressbar=False)
            fit.idata  # the log-likelihood is attached here when it fits in memory
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "fit.nc"
                start = time.perf_counter()
                fit.save(path)
                saved = time.perf_counter() - start
                start = time.perf_counter()
                loaded = hb.load(path)
                load = time.perf_counter() - start
                start = time.perf_counter()
                loaded.loo()
                loo = time.perf_counter() - start
                mb = path.stat().st_size / 1e6
        rows = model.design.n_obs
        print(f"| {name} | {rows:,} | {args.chains} x {args.draws} | {mb:.1f} | {saved:.2f} | {load:.2f} | {loo:.2f} |",
              flush=True)


if __name__ == "__main__":
    main()
