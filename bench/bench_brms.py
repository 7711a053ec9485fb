"""brms (Stan, through rstan) beside the Python tools: ``Rscript script.R`` as an R user runs it.

For each (case, mode) an R script is written to ``<out>/scripts/``: load brms, read the case's
data (a CSV written from the same data frame the Python tools read, with its categorical
columns turned back into R factors with the same levels), ``brm()`` with the same draws,
warm-up, chains, cores and seed, print the summary. The parent times it from spawn to exit
(**fresh s**). The script also prints a few ``HBBENCH <key> <value>`` lines that fill the
row's other columns: the seconds of ``library(brms)`` (**import s**), of ``brm()``
(**total s**), Stan's sampling seconds (the chains' warm-up plus sampling, summed and divided
by the chains run at once: an estimate of the wall time, **sampling s**; build+compile is
the rest of ``brm()``), and the diagnostics over the population-level parameters (``b_``,
``sd_``, ``cor_``, ``sigma``, ``shape``, ``Intercept``: the group effects ``r_`` and ``lp__``
are left out as in the other tools' rows): min bulk ESS, max R-hat, divergent transitions.

brms compiles the Stan program of a model in every new R process (its C++ is not cached
across processes unless the user passes ``file=``), so cold, warm and other-data runs each
pay the compile: the rows show what an R user waits for when they run the script again.
Debian's archive has brms 2.18 with rstan 2.21 (``apt-get install r-cran-brms``); cmdstanr
is not packaged there and CRAN is not reachable from this machine, so the backend is rstan.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from bench_cases import Case

#: hierbayes family -> brms family
BRMS_FAMILIES = {"gaussian": "gaussian()", "poisson": "poisson()", "bernoulli": "bernoulli()",
                 "binomial": "binomial()", "cumulative": "cumulative()"}

#: the population-level parameters the diagnostics are taken over (as the other tools' rows)
_KEEP = r"^(b_|sd_|cor_|sigma|shape|Intercept)"


def available() -> bool:
    """Whether Rscript is on the PATH with brms, and Boost's headers where rstan looks (BH)."""
    if shutil.which("Rscript") is None:
        return False
    test = "requireNamespace('brms', quietly = TRUE) && nzchar(system.file('include', 'boost', package = 'BH'))"
    probe = subprocess.run(["Rscript", "-e", f"quit(status = !({test}))"],
                           capture_output=True, timeout=120)
    return probe.returncode == 0


def brms_formula(case: Case) -> str:
    """The case's formula in brms syntax: lme4's, with ``cbind(y, n - y)`` as ``y | trials(n)``."""
    return case.brms or case.formula


def write_csv(data_spec: str, path: Path) -> dict[str, tuple[list[str], bool]]:
    """The case's data frame as CSV (once per results directory); returns the categorical
    columns, their levels and whether they are ordered, for the R script to make factors of."""
    import pandas as pd

    from bench_cases import load_data

    df = load_data(data_spec)
    factors = {c: [str(v) for v in df[c].cat.categories] for c in df.columns
               if isinstance(df[c].dtype, pd.CategoricalDtype)}
    ordered = {c for c in factors if df[c].cat.ordered}
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(path, index=False)
    return {c: (levels, c in ordered) for c, levels in factors.items()}


def _r_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def script_text(case: Case, csv_path: Path, factors: dict, args) -> str:
    """The R user's script for one case."""
    lines = [
        "t0 <- proc.time()[['elapsed']]",
        "suppressPackageStartupMessages(library(brms))",
        "cat('HBBENCH import_s', proc.time()[['elapsed']] - t0, '\\n')",
        f"df <- read.csv({_r_string(str(csv_path))}, stringsAsFactors = FALSE)",
    ]
    for col, (levels, ordered) in factors.items():
        lv = ", ".join(_r_string(v) for v in levels)
        lines.append(f"df[[{_r_string(col)}]] <- factor(as.character(df[[{_r_string(col)}]]), "
                     f"levels = c({lv}), ordered = {'TRUE' if ordered else 'FALSE'})")
    lines += [
        "t1 <- proc.time()[['elapsed']]",
        f"fit <- brm({brms_formula(case)}, data = df, family = {BRMS_FAMILIES[case.family]},",
        f"           chains = {args.chains}, cores = {args.cores}, iter = {args.tune + args.draws}, "
        f"warmup = {args.tune}, seed = {args.seed}, refresh = 0)",
        "cat('HBBENCH total_s', proc.time()[['elapsed']] - t1, '\\n')",
        "print(summary(fit))",
        "elapsed <- rstan::get_elapsed_time(fit$fit)",
        f"cat('HBBENCH sampling_s', sum(elapsed) / min({args.chains}, {args.cores}), '\\n')",
        "draws <- posterior::as_draws_array(fit)",
        f"keep <- grep({_r_string(_KEEP)}, posterior::variables(draws), value = TRUE)",
        "s <- posterior::summarise_draws(posterior::subset_draws(draws, variable = keep),",
        "                                'rhat', 'ess_bulk')",
        "cat('HBBENCH min_ess_bulk', min(s$ess_bulk), '\\n')",
        "cat('HBBENCH max_rhat', max(s$rhat), '\\n')",
        "np <- nuts_params(fit)",
        "cat('HBBENCH divergences', sum(np$Value[np$Parameter == 'divergent__']), '\\n')",
        "cat('HBBENCH rows', nrow(df), '\\n')",
    ]
    return "\n".join(lines) + "\n"


def parse_output(text: str) -> dict:
    """The ``HBBENCH <key> <value>`` lines of a script's output as a dict of numbers."""
    out: dict = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "HBBENCH":
            try:
                out[parts[1]] = float(parts[2])
            except ValueError:
                continue
    return out


def run_brms(case: Case, data_spec: str, out: Path, label: str, args) -> dict:
    """Run the R user's script of ``case`` on ``data_spec`` in a fresh process: a result row."""
    row = {"case": case.name, "tool": "brms", "mode": label, "sampler": "stan (rstan)", "status": "ok",
           "error": "", "draws": args.draws, "tune": args.tune, "chains": args.chains, "seed": args.seed}
    if case.family not in BRMS_FAMILIES:
        return {**row, "status": "skipped", "error": f"no brms family for {case.family}"}
    safe = data_spec.replace(":", "_")
    factors = write_csv(data_spec, out / "data" / f"{safe}.csv")
    script = out / "scripts" / f"{case.name}-brms-{safe}.R"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(script_text(case, out / "data" / f"{safe}.csv", factors, args))
    log_path = out / "scripts" / f"{case.name}-brms-{label}.log"
    with open(log_path, "w") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(["Rscript", str(script)], stdout=log, stderr=subprocess.STDOUT,
                                cwd=str(out), start_new_session=True)
        try:
            rc = proc.wait(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return {**row, "status": "timeout", "fresh_s": time.perf_counter() - start}
        wall = time.perf_counter() - start
    found = parse_output(log_path.read_text())
    if rc != 0 or "total_s" not in found:
        return {**row, "status": "error", "error": f"exit {rc}; see {log_path.name}", "fresh_s": wall}
    total, sampling = found["total_s"], found.get("sampling_s")
    row.update(fresh_s=wall, fresh_status="ok", import_s=found.get("import_s"), total_s=total,
               sampling_s=sampling,
               min_ess_bulk=found.get("min_ess_bulk"), max_rhat=found.get("max_rhat"),
               divergences=int(found.get("divergences", 0)), rows=int(found.get("rows", 0)))
    if row["min_ess_bulk"] is not None and total > 0:
        row["ess_per_s"] = row["min_ess_bulk"] / total
    return row
