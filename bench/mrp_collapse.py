"""Benchmark: the MRP model fitted on respondent rows vs on collapsed binomial cells.

For each survey size, the same simulated survey (examples/mrp_simulation.py) is fitted with
``collapse=False`` (one bernoulli term per respondent) and ``collapse=True`` (one binomial
term per distinct cell of predictors), same sampler, seeds, draws and chains. Recorded:
wall time (compile + sampling), sampling time, leapfrog steps, time per 1,000 gradient
evaluations, and how far apart the two fits' state estimates are in units of their Monte
Carlo standard error. Results go to bench/results/mrp_collapse.json and .md.

``seconds_per_1000_gradients`` is the sampling time (tuning and kept draws, all chains)
divided by the leapfrog steps of the kept draws (numpyro reports no steps for tuning): an
index of the cost per gradient for comparing the two fits of one row, not an absolute
time. The machine is shared, so compare the two fits of one survey size, not runs.

Run from the repository root (several minutes per fit on 2 cores)::

    .venv/bin/python bench/mrp_collapse.py                    # n = 5000 and 20000, 4 x 300 draws
    .venv/bin/python bench/mrp_collapse.py --n 3000 --draws 500 --tune 500
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))

import mrp_simulation as sim  # noqa: E402

import hierbayes as hb  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def fit_once(survey, collapse: bool, args) -> tuple[dict, object]:
    start = time.perf_counter()
    model = hb.Model(sim.FORMULA, survey, family="bernoulli", collapse=collapse)
    build = time.perf_counter() - start
    fit = model.fit(
        draws=args.draws, tune=args.tune, chains=args.chains, random_seed=args.seed, progressbar=False
    )
    stats = fit.idata.sample_stats
    steps = int(np.asarray(stats["n_steps"].values).sum()) if "n_steps" in stats else None
    sampling = fit.info.sampling_seconds
    row = {
        "collapse": collapse,
        "likelihood_terms": model.design.n_obs,
        "build_seconds": round(build, 3),
        "wall_seconds": round(fit.info.wall_seconds, 2),
        "sampling_seconds": None if sampling is None else round(float(sampling), 2),
        "leapfrog_steps_kept_draws": steps,
        "seconds_per_1000_gradients": (
            None if not steps or sampling is None else round(1000 * float(sampling) / steps, 4)
        ),
        "divergences": int(np.asarray(stats["diverging"].values).sum()),
        "max_rhat": round(float(getattr(fit.diagnostics, "max_r_hat", float("nan"))), 4),
    }
    return row, fit


def agreement(rows_fit, cells_fit, table) -> dict:
    a = rows_fit.poststratify(table, by="state", random_seed=1).summary()
    b = cells_fit.poststratify(table, by="state", random_seed=1).summary()
    mcse = np.sqrt(a["sd"] ** 2 / a["ess_bulk"] + b["sd"] ** 2 / b["ess_bulk"])
    z = ((a["mean"] - b["mean"]) / mcse).to_numpy()
    return {
        "max_abs_diff_state_mean": round(float(np.abs(a["mean"] - b["mean"]).max()), 5),
        "max_abs_z_state_mean": round(float(np.abs(z).max()), 3),
        "share_abs_z_over_2": round(float(np.mean(np.abs(z) > 2)), 3),
        "median_sd_ratio_rows_over_cells": round(float(np.median(a["sd"] / b["sd"])), 4),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[5000, 20000])
    parser.add_argument("--draws", type=int, default=300)
    parser.add_argument("--tune", type=int, default=300)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--survey-seed", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS / "mrp_collapse.json")
    args = parser.parse_args(argv)

    truth = sim.simulate_truth()
    record = {
        "benchmark": "mrp_collapse",
        "formula": sim.FORMULA,
        "family": "bernoulli (logit)",
        "draws": args.draws, "tune": args.tune, "chains": args.chains, "seed": args.seed,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average_start": [round(v, 2) for v in os.getloadavg()]},
        "results": [],
    }
    for n in args.n:
        survey = sim.simulate_survey(truth, n=n, seed=args.survey_seed)
        entry = {"respondents": n}
        fits = {}
        for collapse in (True, False):
            row, fits[collapse] = fit_once(survey, collapse, args)
            entry["cells" if collapse else "rows"] = row
            print(f"n={n} collapse={collapse}: {row}", flush=True)
        rows, cells = entry["rows"], entry["cells"]
        entry["speedup_sampling"] = round(rows["sampling_seconds"] / cells["sampling_seconds"], 2)
        entry["speedup_wall"] = round(rows["wall_seconds"] / cells["wall_seconds"], 2)
        if rows["seconds_per_1000_gradients"] and cells["seconds_per_1000_gradients"]:
            entry["speedup_per_gradient"] = round(
                rows["seconds_per_1000_gradients"] / cells["seconds_per_1000_gradients"], 2
            )
        entry["agreement"] = agreement(fits[False], fits[True], truth.table)
        print(f"n={n}: {entry['agreement']}; speedup sampling x{entry['speedup_sampling']}", flush=True)
        record["results"].append(entry)
    record["machine"]["load_average_end"] = [round(v, 2) for v in os.getloadavg()]

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    lines = [
        "# MRP: respondent rows vs collapsed binomial cells",
        "",
        f"`{sim.FORMULA}`, bernoulli logit, {args.chains} chains x {args.draws} draws "
        f"(tune {args.tune}), sampler numpyro, seed {args.seed}. Load average at start "
        f"{record['machine']['load_average_start']}, end {record['machine']['load_average_end']} "
        "(shared 2-core machine: compare the two columns of one row, not runs).",
        "",
        "| respondents | cells | rows: sampling s | cells: sampling s | speedup (sampling) "
        "| speedup (per gradient) | max abs z (state means) | sd ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for e in record["results"]:
        lines.append(
            f"| {e['respondents']} | {e['cells']['likelihood_terms']} | {e['rows']['sampling_seconds']} "
            f"| {e['cells']['sampling_seconds']} | x{e['speedup_sampling']} "
            f"| x{e.get('speedup_per_gradient', '-')} | {e['agreement']['max_abs_z_state_mean']} "
            f"| {e['agreement']['median_sd_ratio_rows_over_cells']} |"
        )
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {args.out} and {args.out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
