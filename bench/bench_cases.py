"""The benchmark's cases: one data set and model each, written for every tool.

Data come from ``hierbayes.datasets`` (sleepstudy, gcse, InstEval, cbpp, radon, the MRP
survey), from the classic-analysis suite's CSV exports of R's data sets
(``tests/classic/data/<name>.csv`` with R's factor levels in ``factors.json``: grouseticks,
VerbAgg, wine), or are generated here with a fixed seed (the random-slope series, the
binomial 3-level design, the resampled sleepstudy and VerbAgg).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CLASSIC_DATA = ROOT / "tests" / "classic" / "data"


@dataclass(frozen=True)
class Case:
    """One data set and model, written for each tool."""

    name: str
    data: str  # dataset name, "classic:<name>", "sim:<rows>", "binom3", "sleepstudy_resampled" or "verbagg_resampled"
    formula: str  # hierbayes, lme4 syntax, correlated (x|g)
    bambi: str  # bambi formula; its (x|g) is uncorrelated
    family: str = "gaussian"
    indep: str | None = None  # hierbayes (x||g): like for like with bambi
    bambi_family: str | None = None
    ref: str | None = None  # tests/refs/lme4/<ref>.json to compare estimates with
    big: bool = False  # skip bambi's default sampler (PyMC NUTS) unless --all-tools
    tools: tuple[str, ...] = ()  # restrict the tools (empty = all)
    newdata: str | None = None  # other data of the same structure and size (fresh-process refit)
    brms: str | None = None  # brms formula when lme4's is not brms syntax (binomial: y | trials(n))


SIM_SIZES = (1_000, 10_000, 100_000, 1_000_000)

#: The README's MRP model (hierbayes formula; bambi takes the same terms).
MRP_FORMULA = ("y ~ male + repvote + region + (1|state) + (1|eth) + (1|educ) + (1|age)"
               " + (1|male:eth) + (1|educ:age) + (1|educ:eth)")


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
            ref="sleep_slopes", newdata="sleepstudy_resampled",
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
            brms="incidence | trials(size) ~ period + (1 | herd)",
        ),
        Case(
            "radon", "radon", "log_radon ~ floor + log_uranium + (1 | county)",
            "log_radon ~ floor + log_uranium + (1 | county)", ref="radon_ri",
        ),
        # ------------------------------------------------------------ GLMMs (issue 20)
        Case(
            "grouseticks", "classic:grouseticks",
            "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)",
            "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)", family="poisson",
        ),
        Case(
            "verbagg", "classic:verbagg", "r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)",
            "r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)", family="bernoulli",
            newdata="verbagg_resampled",
        ),
        Case(
            "binom3", "binom3", "cbind(y, n - y) ~ x + (1 | region) + (1 | region:clinic)",
            "p(y, n) ~ x + (1 | region) + (1 | region:clinic)", family="binomial",
            brms="y | trials(n) ~ x + (1 | region) + (1 | region:clinic)",
        ),
        Case(
            "wine", "classic:wine", "rating ~ temp + contact + (1 | judge)",
            "rating ~ temp + contact + (1 | judge)", family="cumulative",
        ),
        Case("mrp", "survey", MRP_FORMULA, MRP_FORMULA, family="bernoulli"),
        *_sim_cases(),
        Case(
            "insteval_crossed", "InstEval", "y ~ service + (1 | s) + (1 | d) + (1 | dept)",
            "y ~ service + (1 | s) + (1 | d) + (1 | dept)", ref="insteval_crossed", big=True,
        ),
    ]
}

#: hand-written PyMC likelihoods exist for these families (build_hand_model)
HAND_FAMILIES = ("gaussian", "binomial", "bernoulli", "poisson")


def _classic(name: str):
    """A CSV of the classic suite with R's factor levels (as tests/classic/cases.py reads it)."""
    import pandas as pd

    levels = json.loads((CLASSIC_DATA / "factors.json").read_text()).get(name, {})
    frame = pd.read_csv(CLASSIC_DATA / f"{name}.csv", dtype={c: str for c in levels},
                        keep_default_na=False, na_values=[""])
    for col, info in levels.items():
        frame[col] = pd.Categorical(frame[col], categories=info["levels"], ordered=bool(info["ordered"]))
    return frame


def _binom3(seed: int):
    """Binomial 3-level: 8 regions > 5 clinics each > 6 visits (240 rows), 20-60 trials a row,
    logit p = -0.5 + 0.4 x + region (sd 0.5) + clinic (sd 0.3)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    R, C, V = 8, 5, 6
    region = np.repeat(np.arange(R), C * V)
    clinic = np.tile(np.repeat(np.arange(C), V), R)
    u_r = rng.normal(0.0, 0.5, R)
    u_c = rng.normal(0.0, 0.3, (R, C))
    x = rng.normal(size=R * C * V)
    n = rng.integers(20, 61, size=R * C * V)
    eta = -0.5 + 0.4 * x + u_r[region] + u_c[region, clinic]
    y = rng.binomial(n, 1.0 / (1.0 + np.exp(-eta)))
    return pd.DataFrame({
        "y": y, "n": n, "x": x,
        "region": pd.Categorical([f"r{r}" for r in region]),
        "clinic": pd.Categorical([f"c{c}" for c in clinic]),
    })


def _stacked_groups(df, column: str, picked, width: int):
    """The rows of each group in ``picked`` (drawn with replacement), relabelled S0, S1, ..."""
    import pandas as pd

    labels = df[column].astype(str)
    parts = [df[labels == str(g)].assign(**{column: f"S{i:0{width}d}"}) for i, g in enumerate(picked)]
    out = pd.concat(parts, ignore_index=True)
    out[column] = pd.Categorical(out[column])
    return out


def _sleepstudy_resampled(seed: int):
    """Other data of sleepstudy's structure and size: 18 subjects drawn with replacement
    (relabelled), 10 days each, reaction times plus gaussian noise (sd 10 ms)."""
    import numpy as np

    import hierbayes as hb

    df = hb.datasets.load("sleepstudy")
    rng = np.random.default_rng(seed)
    subjects = list(df["Subject"].cat.categories)
    out = _stacked_groups(df, "Subject", rng.choice(subjects, size=len(subjects), replace=True), 2)
    out["Reaction"] = out["Reaction"] + rng.normal(0.0, 10.0, len(out))
    return out


def _verbagg_resampled(seed: int):
    """Other data of VerbAgg's structure, sizes in the same buckets: 314 of its 316 subjects
    drawn with replacement (relabelled), all 24 items each (7,536 rows instead of 7,584)."""
    import numpy as np

    df = _classic("verbagg")
    rng = np.random.default_rng(seed)
    subjects = df["id"].astype(str)
    return _stacked_groups(df, "id", rng.choice(subjects.unique(), size=subjects.nunique() - 2, replace=True), 3)


def load_data(spec: str, seed: int = 20240607):
    """The data frame of a case (see the module docstring for the sources)."""
    import numpy as np
    import pandas as pd

    import hierbayes as hb

    if spec.startswith("classic:"):
        return _classic(spec.split(":", 1)[1])
    if spec == "binom3":
        return _binom3(seed)
    if spec == "sleepstudy_resampled":
        return _sleepstudy_resampled(seed)
    if spec == "verbagg_resampled":
        return _verbagg_resampled(seed)
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
