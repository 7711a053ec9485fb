"""The classic-analysis suite: multilevel models from the documentation of R packages.

Each :class:`Case` is one analysis as an lme4 user writes it, with the data R ships
(``data/<name>.csv``, factor levels in R's order in ``data/factors.json``) and the reference
fit by lme4 (REML / Laplace), glmmTMB (Laplace), ordinal::clmm or, where the Laplace
approximation is biased, brms' posterior (``refs/<name>.json``, written by ``make_refs.R``,
which also holds the exact R call). Everything is fitted with
hierbayes' defaults; nothing here is tuned per case.

Term names: the reference files carry R's name (``term_r``) and hierbayes' name for the same
column (``term``: ``SexFemale`` -> ``Sex[Female]``, ``(Intercept)`` -> ``Intercept``,
clmm's thresholds ``1|2``, ``2|3``, ... -> ``Intercept[1]``, ``Intercept[2]``, ...).
Where hierbayes names a column differently still, :attr:`Case.terms` maps R's name to it.
Names are compared without spaces, with ``**`` read as ``^`` and the parts of an interaction
in any order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pandas as pd

HERE = Path(__file__).parent
DATA = HERE / "data"
REFS = HERE / "refs"

#: Thresholds of the suite (issue 13): every case must meet all of them with defaults.
MAX_Z = 0.5
MAX_RHAT = 1.01
MIN_ESS = 400


@dataclass(frozen=True)
class Case:
    """One classic analysis.

    name : file stem of ``data/<name>.csv`` and ``refs/<name>.json``.
    formula : the model as hierbayes takes it (lme4's syntax).
    family, link : hierbayes family and link (None: the family's default).
    kinds : what the case exercises: "intercepts", "nested", "crossed", "3-level",
        "slopes", "polynomial", "offset", "trials", "interactions".
    source : package and help page (or book) the analysis comes from.
    terms : R's coefficient name -> hierbayes' name, where the rule above does not give it.
    """

    name: str
    formula: str
    family: str
    kinds: tuple[str, ...]
    source: str
    link: str | None = None
    terms: dict[str, str] = field(default_factory=dict)

    @property
    def reference(self) -> dict:
        return load_reference(self.name)

    def data(self) -> pd.DataFrame:
        return load_data(self.name)


CASES: tuple[Case, ...] = (
    # ---------------------------------------------------------------- gaussian (lmer REML)
    Case("dyestuff", "Yield ~ 1 + (1 | Batch)", "gaussian", ("intercepts",), "lme4 ?Dyestuff"),
    Case("rail", "travel ~ 1 + (1 | Rail)", "gaussian", ("intercepts",), "nlme ?Rail; Pinheiro & Bates 1.1"),
    Case("ergostool", "effort ~ Type + (1 | Subject)", "gaussian", ("intercepts",),
         "nlme ?ergoStool; Pinheiro & Bates 1.2"),
    Case("machines", "score ~ Machine + (1 | Worker/Machine)", "gaussian", ("nested",),
         "nlme ?Machines; Pinheiro & Bates 1.3"),
    Case("oats", "yield ~ nitro + Variety + (1 | Block/Variety)", "gaussian", ("nested",),
         "nlme ?Oats; Pinheiro & Bates 1.6"),
    Case("alfalfa", "Yield ~ Date + Variety + (1 | Block/Variety)", "gaussian", ("nested",),
         "nlme ?Alfalfa; Pinheiro & Bates 2.4"),
    Case("assay", "logDens ~ sample + dilut + (1 | Block) + (1 | Block:sample) + (1 | Block:dilut)", "gaussian",
         ("nested",), "nlme ?Assay; Pinheiro & Bates 1.7 (2 blocks)"),
    Case("wafer", "current ~ voltage + I(voltage^2) + (voltage + I(voltage^2) || Wafer) + (voltage || Wafer:Site)",
         "gaussian", ("slopes", "nested", "polynomial"), "nlme ?Wafer; Pinheiro & Bates 4.3 (pdDiag)"),
    Case("oxide", "Thickness ~ 1 + (1 | Lot/Wafer)", "gaussian", ("nested", "3-level"),
         "nlme ?Oxide; Pinheiro & Bates 4.2"),
    Case("orthodont_nested", "distance ~ Sex/age + (1 | Subject)", "gaussian", ("intercepts", "interactions"),
         "nlme ?Orthodont; Pinheiro & Bates 4.1"),
    Case("orthodont_slopes", "distance ~ age * Sex + (age | Subject)", "gaussian", ("slopes", "interactions"),
         "nlme ?Orthodont; Pinheiro & Bates 4.3"),
    Case("oxboys", "height ~ age + I(age^2) + (age | Subject)", "gaussian", ("slopes", "polynomial"),
         "nlme ?Oxboys; Pinheiro & Bates 4.2"),
    Case("pixel", "pixel ~ day + I(day^2) + (day | Dog) + (1 | Dog:Side)", "gaussian",
         ("slopes", "nested", "polynomial"), "nlme ?Pixel; Pinheiro & Bates 4.2"),
    Case("chickweight", "weight ~ Diet * (Time + I(Time^2)) + (Time | Chick)", "gaussian",
         ("slopes", "polynomial", "interactions"), "datasets/nlme ?ChickWeight"),
    Case("chickweight_quartic", "weight ~ Diet * (Time + I(Time^2) + I(Time^3) + I(Time^4)) + (Time | Chick)",
         "gaussian", ("slopes", "polynomial", "interactions"), "datasets/nlme ?ChickWeight (raw quartic per diet)"),
    Case("cake", "angle ~ recipe + temp + (1 | recipe:replicate)", "gaussian", ("nested",), "lme4 ?cake (fm3)"),
    Case("early", "cog ~ age * trt + (1 | id)", "gaussian", ("intercepts", "interactions"), "mlmRev ?Early"),
    Case("hsb82", "mAch ~ meanses * cses + sector * cses + (cses | school)", "gaussian", ("slopes", "interactions"),
         "mlmRev ?Hsb82; Raudenbush & Bryk ch. 4"),
    Case("scotssec", "attain ~ verbal * sex + (1 | primary) + (1 | second)", "gaussian", ("crossed",),
         "mlmRev ?ScotsSec"),
    # ---------------------------------------------------------------- binomial (glmer / glmmTMB Laplace)
    Case("contraception", "use ~ urban + age + livch + (urban | district)", "bernoulli", ("slopes",),
         "mlmRev ?Contraception (fm2)"),
    Case("contraception_nested", "use ~ urban + age + livch + (1 | district/urban)", "bernoulli",
         ("nested", "3-level"), "mlmRev ?Contraception; Bates, lme4 book ch. 6 ((1 | urban:district))"),
    Case("guimmun", "immun ~ kid2p + mom25p + ord + ethn + momEd + husEd + momWork + rural + pcInd81 + (1 | mom) "
         "+ (1 | comm)", "bernoulli", ("nested", "3-level"),
         "mlmRev ?guImmun; Rodriguez & Goldman 2001 (reference: brms, the Laplace fit is biased here)"),
    Case("bacteria", "y ~ trt + I(week > 2) + (1 | ID)", "bernoulli", ("intercepts",),
         "MASS ?bacteria (glmmPQL example)", terms={"I(week > 2)TRUE": "I(week > 2)"}),
    Case("verbagg", "r2 ~ (Anger + Gender + btype + situ)^2 + (1 | id) + (1 | item)", "bernoulli",
         ("crossed", "interactions"), "lme4 ?VerbAgg"),
    Case("ucbadmissions", "cbind(Admitted, Rejected) ~ Gender + (1 | Dept)", "binomial", ("intercepts", "trials"),
         "datasets ?UCBAdmissions"),
    # ---------------------------------------------------------------- Poisson (glmer Laplace)
    Case("mmmec", "deaths ~ uvb + offset(log(expected)) + (1 | nation/region)", "poisson",
         ("nested", "3-level", "offset"), "mlmRev ?Mmmec"),
    Case("grouseticks", "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)", "poisson",
         ("3-level", "crossed"), "lme4 ?grouseticks; Elston et al. 2001"),
    Case("arabidopsis", "total.fruits ~ nutrient * amd + rack + status + (1 | popu) + (1 | gen)", "poisson",
         ("crossed", "interactions"), "lme4 ?Arabidopsis; Bolker et al. 2009"),
    Case("owls_poisson", "SiblingNegotiation ~ FoodTreatment * SexParent + offset(log(BroodSize)) + (1 | Nest)",
         "poisson", ("intercepts", "offset"), "glmmTMB ?Owls"),
    Case("epil", "y ~ lbase * trt + lage + V4 + (1 | subject)", "poisson", ("intercepts", "interactions"),
         "MASS ?epil; Thall & Vail 1990"),
    # ---------------------------------------------------------------- negative binomial (glmmTMB nbinom2)
    Case("owls_nb", "SiblingNegotiation ~ FoodTreatment * SexParent + offset(log(BroodSize)) + (1 | Nest)",
         "negbinomial", ("intercepts", "offset"), "glmmTMB ?Owls"),
    Case("salamanders_nb", "count ~ spp + mined + (1 | site)", "negbinomial", ("intercepts",),
         "glmmTMB ?Salamanders; Brooks et al. 2017"),
    # ---------------------------------------------------------------- ordinal (clmm, logit)
    Case("wine", "rating ~ temp + contact + (1 | judge)", "cumulative", ("intercepts",), "ordinal ?wine / ?clmm"),
    Case("soup", "SURENESS ~ PROD + (1 | RESP)", "cumulative", ("intercepts",), "ordinal ?soup / ?clmm"),
)

CASE_BY_NAME = {case.name: case for case in CASES}

#: Analyses with data and a reference in this folder that are not in the suite, and why.
#: guImmun was here until 2026-12-05 (glmmTMB's Laplace fit was its only reference; brms' is now).
EXCLUDED: dict[str, str] = {}


@cache
def factor_levels() -> dict:
    return json.loads((DATA / "factors.json").read_text())


@cache
def load_reference(name: str) -> dict:
    return json.loads((REFS / f"{name}.json").read_text())


def load_data(name: str) -> pd.DataFrame:
    """The CSV as R has it: factor columns as pandas Categoricals in R's level order
    (ordered where R's factor is ordered)."""
    levels = factor_levels().get(name, {})
    frame = pd.read_csv(DATA / f"{name}.csv", dtype={col: str for col in levels}, keep_default_na=False,
                        na_values=[""])
    for col, info in levels.items():
        frame[col] = pd.Categorical(frame[col], categories=info["levels"], ordered=bool(info["ordered"]))
    return frame


def normalize_term(term: str) -> frozenset[str]:
    """A term name compared across programs: no spaces, ``**`` as ``^``, interaction parts
    in any order."""
    flat = term.replace(" ", "").replace("**", "^")
    return frozenset(_split_interaction(flat))


def _split_interaction(term: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(term):
        depth += {"(": 1, ")": -1, "[": 1, "]": -1}.get(ch, 0)
        if ch == ":" and depth == 0:
            parts.append(term[start:i])
            start = i + 1
    parts.append(term[start:])
    return parts


def reference_fixed(case: Case) -> list[dict]:
    """The reference's fixed effects: ``term`` (hierbayes' name), ``term_r``, estimate, se."""
    out = []
    for entry in case.reference["fixed_effects"]:
        term = case.terms.get(entry["term_r"], entry["term"])
        out.append({**entry, "term": term})
    return out


def compare_fixed(case: Case, fixef: pd.DataFrame) -> pd.DataFrame:
    """One row per reference fixed effect: hierbayes' posterior mean and sd next to the
    reference estimate, and z = (mean - reference) / posterior sd.

    A reference term hierbayes does not have gets NaN (and ``found`` False); hierbayes terms
    the reference does not have are listed with ``term_r`` empty.
    """
    by_key = {normalize_term(str(t)): str(t) for t in fixef.index}
    rows, seen = [], set()
    for entry in reference_fixed(case):
        hb_name = by_key.get(normalize_term(entry["term"]))
        row = {"term": entry["term"], "term_r": entry["term_r"], "reference": entry["estimate"],
               "reference_se": entry["se"], "found": hb_name is not None}
        if hb_name is not None:
            seen.add(hb_name)
            mean, sd = float(fixef.loc[hb_name, "mean"]), float(fixef.loc[hb_name, "sd"])
            row.update(mean=mean, sd=sd, z=(mean - entry["estimate"]) / sd)
        rows.append(row)
    for name in fixef.index:
        if str(name) not in seen:
            rows.append({"term": str(name), "term_r": "", "found": False,
                         "mean": float(fixef.loc[name, "mean"]), "sd": float(fixef.loc[name, "sd"])})
    return pd.DataFrame(rows)


@dataclass
class Outcome:
    """What one default fit of a case gave, against the suite's thresholds."""

    case: str
    seconds: float = float("nan")
    cpu_seconds: float = float("nan")
    divergences: int | None = None
    max_rhat: float = float("nan")
    min_ess: float = float("nan")
    max_abs_z: float = float("nan")
    worst_term: str = ""
    error: str = ""
    fixed: pd.DataFrame | None = None

    def to_record(self, formula: str) -> dict:
        """A JSON-able record (``fixed`` as a list of rows), read back by :meth:`from_record`."""
        record = {k: v for k, v in vars(self).items() if k != "fixed"}
        record.update(formula=formula, failures=self.failures)
        record["fixed"] = None if self.fixed is None else self.fixed.to_dict(orient="records")
        return record

    @classmethod
    def from_record(cls, record: dict) -> Outcome:
        fields = {k: v for k, v in record.items() if k in cls.__dataclass_fields__ and k != "fixed"}
        fixed = None if record.get("fixed") is None else pd.DataFrame(record["fixed"])
        return cls(**fields, fixed=fixed)

    @property
    def failures(self) -> list[str]:
        """Why the case fails the suite's thresholds (empty when it holds)."""
        if self.error:
            return [self.error]
        out = []
        if self.divergences:
            out.append(f"{self.divergences} divergences")
        if not self.max_rhat <= MAX_RHAT:
            out.append(f"R-hat {self.max_rhat:.3f}")
        if not self.min_ess >= MIN_ESS:
            out.append(f"min bulk ESS {self.min_ess:.0f}")
        if self.fixed is not None:
            missing = self.fixed[~self.fixed["found"]]
            if len(missing):
                out.append("terms not matched: " + ", ".join(missing["term"]))
            far = self.fixed[self.fixed["found"] & (self.fixed["z"].abs() > MAX_Z)]
            out.extend(f"{r.term} off by {r.z:+.2f} sd" for r in far.itertuples())
        return out

    @property
    def holds(self) -> bool:
        return not self.failures


def fit_case(case: Case, **fit_kwargs):
    """Fit a case with hierbayes' defaults (seed 1, no progress bar)."""
    import hierbayes as hb

    fit_kwargs.setdefault("random_seed", 1)
    fit_kwargs.setdefault("progressbar", False)
    model = hb.Model(case.formula, case.data(), family=case.family, link=case.link)
    return model.fit(**fit_kwargs)


def outcome_of(case: Case, fit, seconds: float = float("nan"), cpu_seconds: float = float("nan")) -> Outcome:
    """The suite's numbers for a finished fit."""
    diag = fit.diagnostics
    fixed = compare_fixed(case, fit.fixef())
    z = fixed.loc[fixed["found"], "z"].abs()
    worst = fixed.loc[z.idxmax(), "term"] if len(z) else ""
    return Outcome(case=case.name, seconds=seconds, cpu_seconds=cpu_seconds, divergences=int(diag.divergences),
                   max_rhat=float(diag.max_r_hat), min_ess=float(diag.min_ess_bulk),
                   max_abs_z=float(z.max()) if len(z) else float("nan"), worst_term=worst, fixed=fixed)
