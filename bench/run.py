"""Side-by-side benchmark: hierbayes, bambi and a hand-written PyMC model, timed as users wait.

For every (case, tool) and mode two fresh processes run, on the same data with the same
draws, chains, cores and seed:

- the *user's script* (``bench_user.py``): ``python script.py`` that imports the tool, reads
  the data, fits and prints the summary, timed by this process from spawn to exit
  (``fresh_s``);
- the *job* (``bench_tools.worker``): imports (timed), the first fit (build+compile, sampling,
  total), the same model fitted again in that process (``refit_s``), diagnostics, memory.

Modes: ``cold`` runs start with empty compile caches (PyTensor/numba and hierbayes' JAX cache
in a fresh directory); ``warm`` repeats with the caches the cold run filled; ``newdata`` (cases
with other data of the same structure, e.g. sleepstudy) fits that other data with the caches of
the first. The script and the job use separate cache directories. Results go to
``<out>/results.jsonl`` (one JSON object per row) and ``<out>/results.md`` (tables and checks);
the scripts and their output to ``<out>/scripts/``.

    .venv/bin/python bench/run.py                        # everything (hours)
    .venv/bin/python bench/run.py --cases sleepstudy --tools hierbayes,bambi_nutpie
    .venv/bin/python bench/run.py --table bench/results/full   # re-render a table

See bench/README.md for what each column means.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from bench_brms import BRMS_FAMILIES, available, run_brms
from bench_cases import CASES, HAND_FAMILIES, Case
from bench_tables import _line, write_tables
from bench_tools import DEFAULT_TOOLS, TOOLS, Result, worker
from bench_user import FRESH_TOOLS, run_fresh

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MODES = ("cold", "warm", "newdata")


def _env(cache: Path) -> dict:
    env = dict(os.environ)
    env["PYTENSOR_FLAGS"] = f"base_compiledir={cache / 'pytensor'}"
    env["NUMBA_CACHE_DIR"] = str(cache / "numba")
    env["HIERBAYES_CACHE_DIR"] = str(cache / "hierbayes")
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    env["PYTHONWARNINGS"] = "ignore"
    return env


def run_job(case: str, tool: str, mode: str, data: str, cache: Path, args, log) -> dict:
    """The in-process job of (case, tool, mode) in a fresh child process."""
    job = {"case": case, "tool": tool, "mode": mode, "data": data, "args": {
        "draws": args.draws, "tune": args.tune, "chains": args.chains, "cores": args.cores, "seed": args.seed}}
    with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False) as fh:
        out_path = fh.name
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(job), "--worker-out", out_path]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=_env(cache), stdout=log, stderr=log, cwd=str(ROOT), start_new_session=True)
    try:
        proc.wait(timeout=args.timeout)
        text = Path(out_path).read_text()
        result = json.loads(text) if text else asdict(Result(case, tool, mode, status="error", error=f"exit {proc.returncode}"))
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        result = asdict(Result(case, tool, mode, status="timeout", error=f"over {args.timeout:.0f} s"))
        result["total_s"] = time.perf_counter() - start
    finally:
        Path(out_path).unlink(missing_ok=True)
    result["process_wall_s"] = time.perf_counter() - start
    return result


def tools_for(case: Case, wanted: list[str], all_tools: bool) -> list[str]:
    out = []
    for t in wanted:
        if case.tools and t not in case.tools:
            continue
        if t == "hierbayes_indep" and case.indep is None:
            continue
        if t == "bambi_pymc" and case.big and not all_tools:
            continue
        if t == "pymc_lkj" and case.family not in HAND_FAMILIES:
            continue
        if t == "brms" and case.family not in BRMS_FAMILIES:
            continue
        out.append(t)
    return out


def run_pair(case: Case, tool: str, modes: list[str], args, out: Path, log) -> None:
    """All modes of one (case, tool): cold first (it fills the caches the others use)."""
    jsonl = out / "results.jsonl"
    job_cache = Path(tempfile.mkdtemp(prefix=f"hbbench-{case.name}-{tool}-job-"))
    user_cache = Path(tempfile.mkdtemp(prefix=f"hbbench-{case.name}-{tool}-user-"))
    sequence = ["cold"] + [m for m in ("warm", "newdata") if m in modes]
    if tool == "brms" and "cold" not in modes:  # brms keeps no cache across processes: nothing to prime
        sequence.remove("cold")
    if "newdata" in sequence and not case.newdata:
        sequence.remove("newdata")
    try:
        for mode in sequence:
            data = case.newdata if mode == "newdata" else case.data
            log.write(f"\n===== {case.name} {tool} {mode} =====\n")
            log.flush()
            if tool == "brms":  # R: the user's script is the only process (bench_brms)
                result = run_brms(case, data, out, mode, args)
            else:
                result = run_job(case.name, tool, mode, data, job_cache, args, log) if args.jobs else \
                    asdict(Result(case.name, tool, mode))
            if args.fresh and tool in FRESH_TOOLS and result["status"] == "ok":
                result.update(run_fresh(case, tool, data, out, mode, _env(user_cache), args))
            result["data"] = data
            if mode == "cold" and "cold" not in modes:  # only primes the caches
                if result["status"] != "ok":
                    print(_line(result), flush=True)
                    break
                continue
            with open(jsonl, "a") as fh:
                fh.write(json.dumps(result) + "\n")
            print(_line(result), flush=True)
            if result["status"] != "ok":
                break
    finally:
        shutil.rmtree(job_cache, ignore_errors=True)
        shutil.rmtree(user_cache, ignore_errors=True)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", default=",".join(CASES), help=f"comma list from {list(CASES)}")
    p.add_argument("--tools", default=",".join(DEFAULT_TOOLS), help=f"comma list from {list(TOOLS)}")
    p.add_argument("--modes", default="cold,warm,newdata",
                   help="cold (empty caches), warm (caches of the cold run), newdata (other data, same structure)")
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--tune", type=int, default=1000)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--cores", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per run")
    p.add_argument("--all-tools", action="store_true", help="also run bambi's PyMC NUTS on the big cases")
    p.add_argument("--no-fresh", dest="fresh", action="store_false",
                   help="skip the user's scripts (no fresh-process totals)")
    p.add_argument("--no-jobs", dest="jobs", action="store_false",
                   help="only the user's scripts (no in-process columns or diagnostics)")
    p.add_argument("--out", default=None, help="results directory (default bench/results/<date>)")
    p.add_argument("--table", default=None, help="only render the tables of an existing results directory")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--worker-out", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(json.loads(args.worker), args.worker_out)
        return
    if args.table:
        write_tables(Path(args.table))
        return
    modes = [m for m in args.modes.split(",") if m]
    if set(modes) - set(MODES):
        raise SystemExit(f"unknown modes {sorted(set(modes) - set(MODES))}; modes are {list(MODES)}")
    wanted = [t for t in args.tools.split(",") if t]
    unknown = [t for t in wanted if t not in TOOLS] + [c for c in args.cases.split(",") if c not in CASES]
    if unknown:
        raise SystemExit(f"unknown tools/cases {unknown}; tools {list(TOOLS)}, cases {list(CASES)}")
    if "brms" in wanted and not available():
        raise SystemExit("tool brms needs Rscript with brms and Boost's headers where rstan looks for them "
                         "(bench/README.md, 'brms')")
    if not (args.fresh or args.jobs):
        raise SystemExit("--no-fresh and --no-jobs together leave nothing to run")
    out = (Path(args.out) if args.out else HERE / "results" / time.strftime("%Y%m%d-%H%M%S")).resolve()
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps({**vars(args), "python": sys.version, "cpus": os.cpu_count()}, indent=1))
    with open(out / "worker.log", "a") as log:
        for case_name in args.cases.split(","):
            case = CASES[case_name]
            for tool in tools_for(case, wanted, args.all_tools):
                run_pair(case, tool, modes, args, out, log)
    write_tables(out)
    print(f"results: {out / 'results.jsonl'}\ntable: {out / 'results.md'}")


if __name__ == "__main__":
    main()
