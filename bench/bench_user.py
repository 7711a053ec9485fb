"""The fresh-process total: ``python script.py`` as a user runs it, timed by the parent.

For each (case, tool) a short script is written to ``<out>/scripts/`` that does what a user's
script does: import the tool, read the data (a pickle of the case's data frame, so every
tool reads the same columns and dtypes in the same way), build, fit and print the summary.
The parent times it from spawn to exit (interpreter start, imports, build, compile or load,
sampling, summary, interpreter exit). Nothing else runs in that process: the diagnostics of
the row come from the in-process job of the same mode (same data, draws and seed).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench_cases import Case
from bench_tools import BAMBI_METHOD

HERE = Path(__file__).resolve().parent

#: tools that have a user script (the ablation hierbayes_rows patches internals: none)
FRESH_TOOLS = ("hierbayes", "hierbayes_indep", "bambi_nutpie", "bambi_numpyro", "bambi_pymc", "pymc_lkj")


def script_text(case: Case, tool: str, data_path: Path, args) -> str:
    """The user's script for one (case, tool)."""
    fit_args = (f"draws={args.draws}, tune={args.tune}, chains={args.chains}, cores={args.cores}, "
                f"random_seed={args.seed}, progressbar=False")
    if tool.startswith("hierbayes"):
        formula = case.indep if tool == "hierbayes_indep" else case.formula
        return (
            "import pandas as pd\n"
            "import hierbayes as hb\n\n"
            f"df = pd.read_pickle({str(data_path)!r})\n"
            f"fit = hb.Model({formula!r}, df, family={case.family!r}).fit({fit_args})\n"
            "print(fit.summary())\n"
        )
    if tool.startswith("bambi"):
        family = case.bambi_family or case.family
        return (
            "import arviz as az\n"
            "import bambi as bmb\n"
            "import pandas as pd\n\n"
            f"df = pd.read_pickle({str(data_path)!r})\n"
            f"model = bmb.Model({case.bambi!r}, df, family={family!r})\n"
            f"idata = model.fit(inference_method={BAMBI_METHOD[tool]!r}, {fit_args})\n"
            "print(az.summary(idata))\n"
        )
    # pymc_lkj: the model is built by bench_tools.build_hand_model (which takes the design's
    # columns from hierbayes, so this script imports hierbayes too)
    return (
        "import sys\n"
        f"sys.path.insert(0, {str(HERE)!r})\n"
        "import arviz as az\n"
        "import pandas as pd\n"
        "import pymc as pm\n"
        "from bench_cases import CASES\n"
        "from bench_tools import build_hand_model\n\n"
        f"df = pd.read_pickle({str(data_path)!r})\n"
        f"model = build_hand_model(CASES[{case.name!r}], df)\n"
        f"idata = pm.sample(model=model, {fit_args})\n"
        "names = [v for v in idata.posterior.data_vars if not v.startswith(('z', 'L'))]\n"
        "print(az.summary(idata, var_names=names))\n"
    )


def write_data(spec: str, path: Path) -> Path:
    """Pickle the data frame of ``spec`` once per results directory."""
    if not path.exists():
        from bench_cases import load_data

        path.parent.mkdir(parents=True, exist_ok=True)
        load_data(spec).to_pickle(path)
    return path


def run_fresh(case: Case, tool: str, data_spec: str, out: Path, label: str, env: dict, args) -> dict:
    """Run the user's script of (case, tool) on ``data_spec`` in a fresh process; its wall time."""
    data_path = write_data(data_spec, out / "data" / f"{data_spec.replace(':', '_')}.pkl")
    script = out / "scripts" / f"{case.name}-{tool}-{data_spec.replace(':', '_')}.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(script_text(case, tool, data_path, args))
    log_path = out / "scripts" / f"{case.name}-{tool}-{label}.log"
    with open(log_path, "w") as log:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, str(script)], env=env, stdout=log, stderr=subprocess.STDOUT,
                                cwd=str(out), start_new_session=True)
        try:
            rc = proc.wait(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return {"fresh_s": time.perf_counter() - start, "fresh_status": "timeout"}
        wall = time.perf_counter() - start
    return {"fresh_s": wall, "fresh_status": "ok" if rc == 0 else f"exit {rc}"}
