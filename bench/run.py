"""Side-by-side benchmark: hierbayes, bambi and a hand-written PyMC model.

Every (case, tool, mode) runs in a fresh child process of this script (one process tree),
on the same data with the same draws and seed. ``cold`` runs start with empty compile caches
(PyTensor/numba and hierbayes' JAX cache in a fresh directory); ``warm`` runs repeat the
same job with the caches the cold run filled. Results go to ``<out>/results.jsonl`` (one JSON
object per run) and ``<out>/results.md`` (tables and the checks of issue 7).

    .venv/bin/python bench/run.py                        # everything (hours)
    .venv/bin/python bench/run.py --cases sleepstudy --tools hierbayes,bambi_nutpie
    .venv/bin/python bench/run.py --table bench/results/full   # re-render a table

See bench/README.md for what each column means.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# ---------------------------------------------------------------------------- the cases


@dataclass(frozen=True)
class Case:
    """One data set and model, written for each tool."""

    name: str
    data: str  # dataset name, or "sim:<rows>"
    formula: str  # hierbayes, lme4 syntax, correlated (x|g)
    bambi: str  # bambi formula; its (x|g) is uncorrelated
    family: str = "gaussian"
    indep: str | None = None  # hierbayes (x||g): like for like with bambi
    bambi_family: str | None = None
    ref: str | None = None  # tests/refs/lme4/<ref>.json to compare estimates with
    big: bool = False  # skip bambi's default sampler (PyMC NUTS) unless --all-tools
    tools: tuple[str, ...] = ()  # restrict the tools (empty = all)


SIM_SIZES = (1_000, 10_000, 100_000, 1_000_000)


def _sim_cases() -> list[Case]:
    out = []
    for n in SIM_SIZES:
        out.append(
            Case(
                name=f"sim_{n:.0e}".replace("+0", ""),
                data=f"sim:{n}",
                formula="y ~ x + (x | g)",
                indep="y ~ x + (x || g)",
                bambi="y ~ x + (x | g)",
                big=n >= 100_000,
            )
        )
    return out


CASES: dict[str, Case] = {
    c.name: c
    for c in [
        Case(
            "sleepstudy", "sleepstudy", "Reaction ~ Days + (Days | Subject)",
            "Reaction ~ Days + (Days | Subject)", indep="Reaction ~ Days + (Days || Subject)",
            ref="sleep_slopes",
        ),
        Case(
            "gcse", "gcse", "gcse ~ lrt + (lrt | school)", "gcse ~ lrt + (lrt | school)",
            indep="gcse ~ lrt + (lrt || school)", ref="gcse_rs",
        ),
        Case(
            "insteval_dept", "InstEval", "y ~ lectage + service + (lectage | dept)",
            "y ~ lectage + service + (lectage | dept)",
            indep="y ~ lectage + service + (lectage || dept)",
        ),
        Case(
            "cbpp", "cbpp", "cbind(incidence, size - incidence) ~ period + (1 | herd)",
            "p(incidence, size) ~ period + (1 | herd)", family="binomial", ref="cbpp_binom",
        ),
        Case(
            "radon", "radon", "log_radon ~ floor + log_uranium + (1 | county)",
            "log_radon ~ floor + log_uranium + (1 | county)", ref="radon_ri",
        ),
        *_sim_cases(),
        Case(
            "insteval_crossed", "InstEval", "y ~ service + (1 | s) + (1 | d) + (1 | dept)",
            "y ~ service + (1 | s) + (1 | d) + (1 | dept)", ref="insteval_crossed", big=True,
        ),
    ]
}

#: tool -> what it runs. hierbayes_indep is our (x||g), the like-for-like peer of bambi's
#: (x|g); pymc_lkj is the hand-written peer of our (x|g).
TOOLS = {
    "hierbayes": "hierbayes defaults, correlated (x|g)",
    "hierbayes_indep": "hierbayes defaults, uncorrelated (x||g)",
    "hierbayes_rows": "hierbayes, per-row likelihood, effects sampled (ablation)",
    "bambi_nutpie": "bambi 0.21, inference_method='nutpie' ((x|g) is uncorrelated)",
    "bambi_numpyro": "bambi 0.21, inference_method='numpyro'",
    "bambi_pymc": "bambi 0.21 default (PyMC NUTS)",
    "pymc_lkj": "hand-written non-centred PyMC model, LKJ for (x|g), pm.sample() default sampler",
}
DEFAULT_TOOLS = ("hierbayes", "hierbayes_indep", "bambi_nutpie", "bambi_numpyro", "bambi_pymc", "pymc_lkj")


def load_data(spec: str, seed: int = 20240607):
    """The data frame of a case: a bundled dataset or the simulated random-slope series."""
    import numpy as np
    import pandas as pd

    import hierbayes as hb

    if not spec.startswith("sim:"):
        df = hb.datasets.load(spec)
        if spec == "gcse":
            df = df[df["nstu"] > 4].reset_index(drop=True)
            df["school"] = df["school"].cat.remove_unused_categories()
        if spec == "InstEval":
            df["y"] = df["y"].astype(float)
        return df
    n = int(spec.split(":")[1])
    rng = np.random.default_rng(seed)
    J = 50
    g = np.arange(n) % J
    sd = np.array([1.0, 0.5])
    cor = np.array([[1.0, 0.3], [0.3, 1.0]])
    u = rng.multivariate_normal(np.zeros(2), np.outer(sd, sd) * cor, size=J)
    x = rng.normal(size=n)
    y = 1.0 + 0.5 * x + u[g, 0] + u[g, 1] * x + rng.normal(size=n)
    return pd.DataFrame({"y": y, "x": x, "g": pd.Categorical([f"g{j:02d}" for j in g])})


# ---------------------------------------------------------------------------- one run


@dataclass
class Result:
    case: str
    tool: str
    mode: str
    rows: int = 0
    status: str = "ok"
    error: str = ""
    sampler: str = ""
    import_s: float | None = None
    build_s: float | None = None
    compile_s: float | None = None
    sampling_s: float | None = None
    total_s: float | None = None
    min_ess_bulk: float | None = None
    ess_per_s: float | None = None
    max_rhat: float | None = None
    divergences: int | None = None
    peak_mb: float | None = None
    parameters: int | None = None
    parameterization: dict = field(default_factory=dict)
    estimates: dict = field(default_factory=dict)
    draws: int = 0
    tune: int = 0
    chains: int = 0
    seed: int = 0


class _JaxClock:
    """NUTS-loop compile seconds of JAX samplers (PyMC counts them as sampling time)."""

    sampler = 0.0

    @classmethod
    def install(cls) -> None:
        import jax

        def listen(event, duration, **kw):
            name = str(kw.get("fun_name", ""))
            if event.startswith("/jax/core/compile/") and ("_fun" in name or "chain" in name or "_multi_slice" in name):
                cls.sampler += duration

        jax.monitoring.register_event_duration_secs_listener(listen)


def _posterior_stats(posterior, skip_prefixes=()) -> tuple[float, float, int]:
    """(min bulk ESS, max R-hat, number of scalars) over every reported parameter."""
    import warnings

    import arviz as az
    import numpy as np

    names = [v for v in posterior.data_vars if not v.startswith(skip_prefixes)]
    ds = posterior[names]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ess = az.ess(ds, method="bulk")
        rhat = az.rhat(ds)
    ess_vals, rhat_vals, count = [], [], 0
    for v in names:
        e = np.asarray(ess[v].values, dtype=float).ravel()
        r = np.asarray(rhat[v].values, dtype=float).ravel()
        sd = np.asarray(posterior[v].std(("chain", "draw")).values, dtype=float).ravel()
        keep = sd > 1e-12  # constant entries (the diagonal of a correlation matrix)
        ess_vals.append(e[keep])
        rhat_vals.append(r[keep])
        count += int(keep.sum())
    e = np.concatenate(ess_vals)
    r = np.concatenate(rhat_vals)
    return float(np.nanmin(e)), float(np.nanmax(r)), count


def _divergences(idata) -> int:
    import numpy as np

    stats = idata.sample_stats
    for name in ("diverging", "divergent"):
        if name in stats:
            return int(np.asarray(stats[name].values).sum())
    return -1


def _hb_estimates(fit) -> dict:
    out = {}
    fx = fit.fixef()
    for term, row in fx.iterrows():
        out[f"fixed:{term}"] = float(row["mean"])
    vc = fit.varcorr()
    for _, row in vc.iterrows():
        out[f"vc:{row['group']}:{row['term']}"] = float(row["mean"])
        out[f"median:{row['group']}:{row['term']}"] = float(row["median"])
    return out


def _run_hierbayes(case: Case, tool: str, df, args) -> tuple[dict, object]:
    import hierbayes as hb

    formula = case.indep if tool == "hierbayes_indep" else case.formula
    t0 = time.perf_counter()
    model = hb.Model(formula, df, family=case.family)
    if tool == "hierbayes_rows":
        from hierbayes.backends.pymc.compile import compile_model

        model._compiled = compile_model(model.design, model.priors, None, likelihood_form="rows")
    model.compile()
    t1 = time.perf_counter()
    fit = model.fit(draws=args.draws, tune=args.tune, chains=args.chains, cores=args.cores,
                    random_seed=args.seed, progressbar=False)
    t2 = time.perf_counter()
    # the draws as the fit holds them: reading fit.idata would add the pointwise
    # log-likelihood (for LOO), which bambi and pm.sample leave out too
    idata = fit._idata
    raw = idata.posterior.attrs.get("sampling_time")
    info = {
        "build_s": t1 - t0,
        "fit_s": t2 - t1,
        "raw_sampling_s": raw,
        "sampler": fit.info.sampler,
        "parameterization": dict(fit.info.parameterization),
        "estimates": _hb_estimates(fit),
    }
    return info, idata


def _run_bambi(case: Case, tool: str, df, args) -> tuple[dict, object]:
    import bambi as bmb

    method = {"bambi_nutpie": "nutpie", "bambi_numpyro": "numpyro", "bambi_pymc": "pymc"}[tool]
    t0 = time.perf_counter()
    model = bmb.Model(case.bambi, df, family=case.bambi_family or case.family)
    model.build()
    t1 = time.perf_counter()
    idata = model.fit(draws=args.draws, tune=args.tune, chains=args.chains, cores=args.cores,
                      random_seed=args.seed, inference_method=method, progressbar=False)
    t2 = time.perf_counter()
    info = {
        "build_s": t1 - t0,
        "fit_s": t2 - t1,
        "raw_sampling_s": idata.posterior.attrs.get("sampling_time"),
        "sampler": method,
    }
    return info, idata


def build_hand_model(case: Case, df):
    """A PyMC model written the way the PyMC docs write one: centred predictors, non-centred
    group effects, an LKJ Cholesky factor for correlated terms, priors scaled to the data
    like hierbayes' defaults (so the posterior is the same)."""
    import numpy as np
    import pymc as pm
    import pytensor.tensor as pt

    import hierbayes as hb

    # The design (numeric columns, group codes) comes from the same formula so the model is
    # the same; everything below is plain PyMC.
    design = hb.Model(case.formula, df, family=case.family).design
    y = np.array(design.y, dtype=float)  # copies: numba (nutpie) refuses read-only constants
    X = np.array(design.X[:, 1:])
    Xc = X - X.mean(axis=0)
    scale = float(np.std(y)) if case.family == "gaussian" else 1.0
    sx = np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
    coords = {"b_term": list(design.fixed_names[1:])}
    for k, blk in enumerate(design.groups):
        coords[f"level{k}"] = list(blk.levels)
        coords[f"term{k}"] = list(blk.columns)
    with pm.Model(coords=coords) as model:
        loc = float(np.mean(y)) if case.family == "gaussian" else 0.0
        a = pm.Normal("Intercept_c", loc, 2.5 * scale)
        b = pm.Normal("b", 0.0, 2.5 * scale / sx, dims="b_term")
        eta = a + pt.dot(Xc, b)
        pm.Deterministic("Intercept", a - pt.dot(X.mean(axis=0), b))
        for k, blk in enumerate(design.groups):
            K = blk.n_columns
            colsd = np.array([scale if c == "Intercept" else scale / max(np.std(blk.X[:, i]), 1e-12)
                              for i, c in enumerate(blk.columns)])
            z = pm.Normal(f"z{k}", 0.0, 1.0, dims=(f"level{k}", f"term{k}"))
            if K > 1:
                # initval: nutpie cannot build the default start of an LKJ factor whose
                # sd_dist is a HalfStudentT with a vector sigma ("cannot set WRITEABLE flag")
                packed = np.zeros(K * (K + 1) // 2)
                packed[np.cumsum(np.arange(1, K + 1)) - 1] = 1.0
                chol, corr, sds = pm.LKJCholeskyCov(
                    f"L{k}", n=K, eta=2.0, sd_dist=pm.HalfStudentT.dist(nu=3.0, sigma=colsd, shape=K),
                    compute_corr=True, store_in_trace=False, initval=packed)
                pm.Deterministic(f"sd{k}", sds)
                pm.Deterministic(f"cor{k}", corr)
                u = pm.Deterministic(f"re{k}", z @ chol.T, dims=(f"level{k}", f"term{k}"))
            else:
                sd = pm.HalfStudentT(f"sd{k}", nu=3.0, sigma=colsd[0])
                u = pm.Deterministic(f"re{k}", z * sd, dims=(f"level{k}", f"term{k}"))
            rows = u[np.array(blk.codes)]
            for i in range(K):
                col = np.array(blk.X[:, i])
                eta = eta + (rows[:, i] if np.all(col == 1.0) else rows[:, i] * col)
        if case.family == "gaussian":
            sigma = pm.HalfStudentT("sigma", nu=3.0, sigma=scale)
            pm.Normal("y", eta, sigma, observed=y)
        elif case.family == "binomial":
            pm.Binomial("y", n=np.array(design.trials, dtype=int), logit_p=eta, observed=y.astype(int))
        else:
            raise ValueError(f"no hand-written model for family {case.family}")
    return model


def _run_hand(case: Case, tool: str, df, args) -> tuple[dict, object]:
    import pymc as pm

    t0 = time.perf_counter()
    model = build_hand_model(case, df)
    t1 = time.perf_counter()
    idata = pm.sample(draws=args.draws, tune=args.tune, chains=args.chains, cores=args.cores,
                      random_seed=args.seed, progressbar=False, model=model,
                      compute_convergence_checks=False)
    t2 = time.perf_counter()
    info = {
        "build_s": t1 - t0,
        "fit_s": t2 - t1,
        "raw_sampling_s": idata.posterior.attrs.get("sampling_time"),
        "sampler": str(idata.posterior.attrs.get("inference_library", "pymc")),
    }
    return info, idata


def worker(job: dict, out_path: str) -> None:
    """Run one job in this (fresh) process and write its Result as JSON."""
    import warnings

    warnings.filterwarnings("ignore")
    args = argparse.Namespace(**job["args"])
    case = CASES[job["case"]]
    tool = job["tool"]
    res = Result(case=case.name, tool=tool, mode=job["mode"], draws=args.draws, tune=args.tune,
                 chains=args.chains, seed=args.seed)
    try:
        t_imp = time.perf_counter()
        import jax  # noqa: F401  (initialised here so every tool pays the same)
        import pymc  # noqa: F401

        import hierbayes  # noqa: F401

        if tool.startswith("bambi"):
            import bambi  # noqa: F401
        import arviz as az
        import numpy as np

        # xarray imports dask on the first DataArray; every tool makes one: pay it here
        az.from_dict({"posterior": {"a": np.zeros((1, 2))}})
        _JaxClock.install()
        res.import_s = time.perf_counter() - t_imp
        df = load_data(case.data)
        res.rows = int(len(df))
        runner = _run_hierbayes if tool.startswith("hierbayes") else _run_bambi if tool.startswith("bambi") else _run_hand
        info, idata = runner(case, tool, df, args)
        raw = info.get("raw_sampling_s")
        # PyMC's sampling_time of numpyro/blackjax includes compiling the NUTS loop;
        # hierbayes' cached sampler reports pure sampling time already
        jax_sampler = info["sampler"] in ("numpyro", "blackjax") and not tool.startswith("hierbayes")
        sampling = None if raw is None else max(0.0, raw - (_JaxClock.sampler if jax_sampler else 0.0))
        res.sampler = info["sampler"]
        res.build_s = info["build_s"]
        res.total_s = info["build_s"] + info["fit_s"]
        res.sampling_s = sampling
        res.compile_s = None if sampling is None else info["fit_s"] - sampling
        res.parameterization = info.get("parameterization", {})
        res.estimates = info.get("estimates", {})
        skip = {"hierbayes": ("z_", "L_", "Intercept_c"), "pymc": ("z", "L", "Intercept_c")}.get(
            tool.split("_")[0], ("mu",))
        posterior = idata.posterior.to_dataset() if hasattr(idata.posterior, "to_dataset") else idata.posterior
        posterior = posterior[[v for v in posterior.data_vars if "__" not in v]]
        res.min_ess_bulk, res.max_rhat, res.parameters = _posterior_stats(posterior, skip)
        res.ess_per_s = res.min_ess_bulk / res.total_s
        res.divergences = _divergences(idata)
    except Exception as exc:  # report, don't crash the whole benchmark
        import traceback

        res.status = "error"
        res.error = f"{type(exc).__name__}: {exc}"[:500]
        traceback.print_exc()
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    res.peak_mb = (self_kb + child_kb) / 1024.0
    Path(out_path).write_text(json.dumps(asdict(res)))


# ---------------------------------------------------------------------------- orchestration


def _env(cache: Path) -> dict:
    env = dict(os.environ)
    env["PYTENSOR_FLAGS"] = f"base_compiledir={cache / 'pytensor'}"
    env["NUMBA_CACHE_DIR"] = str(cache / "numba")
    env["HIERBAYES_CACHE_DIR"] = str(cache / "hierbayes")
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    env["PYTHONWARNINGS"] = "ignore"
    return env


def run_job(case: str, tool: str, mode: str, cache: Path, args, log) -> dict:
    job = {"case": case, "tool": tool, "mode": mode, "args": {
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
        out.append(t)
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", default=",".join(CASES), help=f"comma list from {list(CASES)}")
    p.add_argument("--tools", default=",".join(DEFAULT_TOOLS), help=f"comma list from {list(TOOLS)}")
    p.add_argument("--modes", default="cold,warm", help="cold (empty caches) and/or warm (caches of the cold run)")
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--tune", type=int, default=1000)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--cores", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per run")
    p.add_argument("--all-tools", action="store_true", help="also run bambi's PyMC NUTS on the big cases")
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
    out = Path(args.out) if args.out else HERE / "results" / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    modes = [m for m in args.modes.split(",") if m]
    if set(modes) - {"cold", "warm"}:
        raise SystemExit(f"unknown modes {sorted(set(modes) - {'cold', 'warm'})}; modes are cold and warm")
    # warm means "with the caches a cold run filled": the cold run goes first whatever the order
    # asked, and a warm-only request still primes the caches with an unrecorded cold run.
    prime_only = "warm" in modes and "cold" not in modes
    modes = ["cold", "warm"] if "warm" in modes else ["cold"]
    wanted = [t for t in args.tools.split(",") if t]
    unknown = [t for t in wanted if t not in TOOLS] + [c for c in args.cases.split(",") if c not in CASES]
    if unknown:
        raise SystemExit(f"unknown tools/cases {unknown}; tools {list(TOOLS)}, cases {list(CASES)}")
    (out / "config.json").write_text(json.dumps({**vars(args), "python": sys.version, "cpus": os.cpu_count()}, indent=1))
    jsonl = out / "results.jsonl"
    with open(out / "worker.log", "a") as log:
        for case_name in args.cases.split(","):
            case = CASES[case_name]
            for tool in tools_for(case, wanted, args.all_tools):
                cache = Path(tempfile.mkdtemp(prefix=f"hbbench-{case_name}-{tool}-"))
                try:
                    for mode in modes:
                        log.write(f"\n===== {case_name} {tool} {mode} =====\n")
                        log.flush()
                        result = run_job(case_name, tool, mode, cache, args, log)
                        if prime_only and mode == "cold":
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
                    shutil.rmtree(cache, ignore_errors=True)
    write_tables(out)
    print(f"results: {jsonl}\ntable: {out / 'results.md'}")


# ---------------------------------------------------------------------------- tables


def _fmt(v, digits=1):
    if v is None:
        return "-"
    if isinstance(v, float):
        if v != v:
            return "nan"
        return f"{v:.{digits}f}"
    return str(v)


def _line(r: dict) -> str:
    return (f"{r['case']:<17} {r['tool']:<16} {r['mode']:<5} {r['status']:<7} total {_fmt(r.get('total_s'))} s "
            f"sampling {_fmt(r.get('sampling_s'))} s  minESS {_fmt(r.get('min_ess_bulk'), 0)}  "
            f"Rhat {_fmt(r.get('max_rhat'), 3)}  div {r.get('divergences')}  {_fmt(r.get('peak_mb'), 0)} MB")


def load_results(out: Path) -> list[dict]:
    rows = []
    for line in (out / "results.jsonl").read_text().splitlines():
        if line.strip():
            rows.append(json.loads(line))
    return rows


def _best_bambi(rows, case, mode):
    cands = [r for r in rows if r["case"] == case and r["mode"] == mode and r["tool"] in ("bambi_nutpie", "bambi_numpyro")
             and r["status"] == "ok"]
    return min(cands, key=lambda r: r["total_s"]) if cands else None


def _get(rows, case, tool, mode):
    return next((r for r in rows if r["case"] == case and r["tool"] == tool and r["mode"] == mode), None)


def write_tables(out: Path) -> None:
    rows = load_results(out)
    lines = ["# hierbayes benchmark", ""]
    cfg = out / "config.json"
    if cfg.exists():
        c = json.loads(cfg.read_text())
        lines.append(f"{c['chains']} chains x ({c['tune']} tune + {c['draws']} draws), cores={c['cores']}, seed={c['seed']}, "
                     f"{c['cpus']} CPUs. Times in seconds; ratio = hierbayes total / bambi's best total (same mode).")
        lines.append("")
    head = ("| case | tool | mode | rows | sampler | build+compile s | sampling s | total s | min bulk ESS | ESS/s "
            "| max R-hat | div | peak MB | ratio | parameterization |")
    lines += [head, "|" + "---|" * 15]
    for r in rows:
        best = _best_bambi(rows, r["case"], r["mode"])
        ratio = "-"
        if best and r["tool"].startswith("hierbayes") and r["status"] == "ok":
            ratio = f"{r['total_s'] / best['total_s']:.2f}"
        bc = None if r.get("total_s") is None or r.get("sampling_s") is None else r["total_s"] - r["sampling_s"]
        par = ", ".join(f"{k}={v}" for k, v in (r.get("parameterization") or {}).items())
        status = "" if r["status"] == "ok" else f" **{r['status']}** {r.get('error', '')[:80]}"
        lines.append(
            f"| {r['case']} | {r['tool']} | {r['mode']} | {r.get('rows', '')} | {r.get('sampler', '')}{status} | {_fmt(bc)} "
            f"| {_fmt(r.get('sampling_s'))} | {_fmt(r.get('total_s'))} | {_fmt(r.get('min_ess_bulk'), 0)} "
            f"| {_fmt(r.get('ess_per_s'))} | {_fmt(r.get('max_rhat'), 3)} | {_fmt(r.get('divergences'))} "
            f"| {_fmt(r.get('peak_mb'), 0)} | {ratio} | {par} |"
        )
    lines += ["", "## Checks (issue 7)", ""] + checks(rows)
    (out / "results.md").write_text("\n".join(lines) + "\n")


def checks(rows: list[dict]) -> list[str]:
    out = []
    for case in ("sleepstudy", "gcse", "insteval_dept"):
        for mode in ("warm", "cold"):
            best = _best_bambi(rows, case, mode)
            for tool in ("hierbayes_indep", "hierbayes"):
                r = _get(rows, case, tool, mode)
                if not (best and r and r["status"] == "ok"):
                    continue
                ratio = r["total_s"] / best["total_s"]
                ok = ratio <= 1 / 3 and r["min_ess_bulk"] >= best["min_ess_bulk"]
                out.append(f"- {case} {mode}: {tool} {r['total_s']:.1f} s vs {best['tool']} {best['total_s']:.1f} s "
                           f"(ratio {ratio:.2f}); min ESS {r['min_ess_bulk']:.0f} vs {best['min_ess_bulk']:.0f}: "
                           f"{'PASS' if ok else 'FAIL'} (<= 1/3 and ESS at least as high)")
    sims = [r for r in rows if r["case"].startswith("sim_") and r["tool"] == "hierbayes"]
    for r in sorted(sims, key=lambda r: (r["mode"], r.get("rows", 0))):
        if r["status"] != "ok":
            out.append(f"- {r['case']} {r['mode']}: {r['status']} FAIL")
            continue
        ok = r["max_rhat"] <= 1.01 and r["min_ess_bulk"] >= 400
        extra = ""
        if r["rows"] >= 1_000_000:
            extra = f"; total {r['total_s']:.1f} s {'PASS' if r['total_s'] < 60 else 'FAIL'} (< 60 s)"
        out.append(f"- {r['case']} {r['mode']} ({r['rows']} rows): R-hat {r['max_rhat']:.3f}, min ESS {r['min_ess_bulk']:.0f}: "
                   f"{'PASS' if ok else 'FAIL'}{extra}")
    mem = sorted([(r["rows"], r["peak_mb"]) for r in sims if r["status"] == "ok" and r["mode"] == sims[0]["mode"]])
    if len(mem) >= 2:
        (n0, m0), (n1, m1) = mem[0], mem[-1]
        slope = (m1 - m0) / max(n1 - n0, 1) * 1e6
        out.append(f"- memory: {', '.join(f'{n}: {m:.0f} MB' for n, m in mem)}; about {slope:.0f} MB per million rows "
                   "above a fixed base (linear if the middle sizes sit on the line)")
    r = _get(rows, "insteval_crossed", "hierbayes", "warm") or _get(rows, "insteval_crossed", "hierbayes", "cold")
    if r and r["status"] == "ok":
        ref = json.loads((ROOT / "tests/refs/lme4/insteval_crossed.json").read_text())
        worst = 0.0
        parts = []
        fixed = {"Intercept": ref["fixed_effects"][0]["estimate"], "service[1]": ref["fixed_effects"][1]["estimate"]}
        for k, v in r["estimates"].items():
            name = k.split(":", 1)[1]
            target = None
            if k.startswith("fixed:"):
                target = fixed.get(name) or next((fv for fn, fv in fixed.items() if fn.replace("[", "").replace("]", "") in name.replace("[", "").replace("]", "")), None)
            elif k.startswith("vc:"):
                group, term = name.split(":", 1)
                if group == "Residual":
                    target = ref["variance_components"]["residual_sd"]
                elif term == "sd(Intercept)":
                    target = ref["variance_components"]["groups"][group]["sd"]["(Intercept)"]
            if target:
                # an sd's posterior is right-skewed with few groups (dept: 14); its median is the
                # comparable summary to a REML point estimate (and invariant to sd vs variance)
                median = r["estimates"].get(f"median:{name}") if k.startswith("vc:") else None
                shown = v if median is None else median
                rel = abs(shown - target) / abs(target)
                worst = max(worst, rel)
                label = "" if median is None else f" (median; mean {v:.4f})"
                parts.append(f"{name} {shown:.4f}{label} vs {target:.4f}")
        ok = r["total_s"] < 600 and r["max_rhat"] <= 1.01 and r["divergences"] == 0 and worst <= 0.10
        out.append(f"- insteval_crossed ({r['mode']}): total {r['total_s']:.0f} s, R-hat {r['max_rhat']:.3f}, "
                   f"divergences {r['divergences']}, worst relative difference to lme4 {worst:.1%} ({'; '.join(parts)}): "
                   f"{'PASS' if ok else 'FAIL'}")
    return out


if __name__ == "__main__":
    main()
