"""One benchmark job in a fresh child process: imports, the first fit, an in-process refit.

``worker`` runs in a child of ``run.py``: it imports the tools (timed), loads the data, builds
and fits the model (the in-process columns), fits the same model again in the same process
(``refit_s``: a notebook user re-running a cell) and writes a :class:`Result` as JSON.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench_cases import CASES, Case, load_data

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
    "brms": "brms 2.18 on rstan (Debian's r-cran-brms), Rscript in a fresh process, lme4's (x|g)",
}
DEFAULT_TOOLS = ("hierbayes", "hierbayes_indep", "bambi_nutpie", "bambi_numpyro", "bambi_pymc", "pymc_lkj")
BAMBI_METHOD = {"bambi_nutpie": "nutpie", "bambi_numpyro": "numpyro", "bambi_pymc": "pymc"}


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
    refit_s: float | None = None
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


def posterior_stats(posterior, skip_prefixes=()) -> tuple[float, float, int]:
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


def _fit_kwargs(args) -> dict:
    return {"draws": args.draws, "tune": args.tune, "chains": args.chains, "cores": args.cores,
            "random_seed": args.seed, "progressbar": False}


def _hierbayes_once(case: Case, tool: str, df, args):
    import hierbayes as hb

    formula = case.indep if tool == "hierbayes_indep" else case.formula
    t0 = time.perf_counter()
    model = hb.Model(formula, df, family=case.family)
    if tool == "hierbayes_rows":
        from hierbayes.backends.pymc.compile import compile_model

        model._compiled = compile_model(model.design, model.priors, None, likelihood_form="rows")
    model.compile()
    t1 = time.perf_counter()
    fit = model.fit(**_fit_kwargs(args))
    return fit, t1 - t0, time.perf_counter() - t1


def run_hierbayes(case: Case, tool: str, df, args) -> tuple[dict, object]:
    fit, build, fit_s = _hierbayes_once(case, tool, df, args)
    # the draws as the fit holds them: reading fit.idata would add the pointwise
    # log-likelihood (for LOO), which bambi and pm.sample leave out too
    idata = fit._idata
    info = {
        "build_s": build,
        "fit_s": fit_s,
        "raw_sampling_s": idata.posterior.attrs.get("sampling_time"),
        "sampler": fit.info.sampler,
        "parameterization": dict(fit.info.parameterization),
        "estimates": _hb_estimates(fit),
    }
    _, build2, fit2 = _hierbayes_once(case, tool, df, args)
    info["refit_s"] = build2 + fit2
    return info, idata


def _bambi_once(case: Case, tool: str, df, args):
    import bambi as bmb

    t0 = time.perf_counter()
    model = bmb.Model(case.bambi, df, family=case.bambi_family or case.family)
    model.build()
    t1 = time.perf_counter()
    idata = model.fit(inference_method=BAMBI_METHOD[tool], **_fit_kwargs(args))
    return idata, t1 - t0, time.perf_counter() - t1


def run_bambi(case: Case, tool: str, df, args) -> tuple[dict, object]:
    idata, build, fit_s = _bambi_once(case, tool, df, args)
    info = {
        "build_s": build,
        "fit_s": fit_s,
        "raw_sampling_s": idata.posterior.attrs.get("sampling_time"),
        "sampler": BAMBI_METHOD[tool],
    }
    _, build2, fit2 = _bambi_once(case, tool, df, args)
    info["refit_s"] = build2 + fit2
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
    # the same; everything below is plain PyMC. collapse=False: bernoulli stays one row each.
    design = hb.Model(case.formula, df, family=case.family, collapse=False).design
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
        elif case.family == "bernoulli":
            pm.Bernoulli("y", logit_p=eta, observed=y.astype(int))
        elif case.family == "poisson":
            pm.Poisson("y", mu=pt.exp(eta), observed=y.astype(int))
        else:
            raise ValueError(f"no hand-written model for family {case.family}")
    return model


def _hand_once(case: Case, df, args):
    import pymc as pm

    t0 = time.perf_counter()
    model = build_hand_model(case, df)
    t1 = time.perf_counter()
    kw = _fit_kwargs(args)
    idata = pm.sample(model=model, compute_convergence_checks=False, **kw)
    return idata, t1 - t0, time.perf_counter() - t1


def run_hand(case: Case, tool: str, df, args) -> tuple[dict, object]:
    idata, build, fit_s = _hand_once(case, df, args)
    info = {
        "build_s": build,
        "fit_s": fit_s,
        "raw_sampling_s": idata.posterior.attrs.get("sampling_time"),
        "sampler": str(idata.posterior.attrs.get("inference_library", "pymc")),
    }
    _, build2, fit2 = _hand_once(case, df, args)
    info["refit_s"] = build2 + fit2
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
        df = load_data(job.get("data") or case.data)
        res.rows = len(df)
        runner = run_hierbayes if tool.startswith("hierbayes") else run_bambi if tool.startswith("bambi") else run_hand
        info, idata = runner(case, tool, df, args)
        raw = info.get("raw_sampling_s")
        # PyMC's sampling_time of numpyro/blackjax includes compiling the NUTS loop;
        # hierbayes' cached sampler reports pure sampling time already
        jax_sampler = info["sampler"] in ("numpyro", "blackjax") and not tool.startswith("hierbayes")
        sampling = None if raw is None else max(0.0, raw - (_JaxClock.sampler if jax_sampler else 0.0))
        res.sampler = info["sampler"]
        res.build_s = info["build_s"]
        res.total_s = info["build_s"] + info["fit_s"]
        res.refit_s = info.get("refit_s")
        res.sampling_s = sampling
        res.compile_s = None if sampling is None else info["fit_s"] - sampling
        res.parameterization = info.get("parameterization", {})
        res.estimates = info.get("estimates", {})
        skip = {"hierbayes": ("z_", "L_", "Intercept_c"), "pymc": ("z", "L", "Intercept_c")}.get(
            tool.split("_")[0], ("mu",))
        posterior = idata.posterior.to_dataset() if hasattr(idata.posterior, "to_dataset") else idata.posterior
        posterior = posterior[[v for v in posterior.data_vars if "__" not in v]]
        res.min_ess_bulk, res.max_rhat, res.parameters = posterior_stats(posterior, skip)
        res.ess_per_s = res.min_ess_bulk / res.total_s
        res.divergences = _divergences(idata)
    except Exception as exc:  # noqa: BLE001  (report, don't crash the whole benchmark)
        import traceback

        res.status = "error"
        res.error = f"{type(exc).__name__}: {exc}"[:500]
        traceback.print_exc()
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    res.peak_mb = (self_kb + child_kb) / 1024.0
    Path(out_path).write_text(json.dumps(asdict(res)))
