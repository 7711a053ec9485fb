"""The classic-analysis suite (issue 13): multilevel models from the documentation of R
packages, fitted with hierbayes' defaults and compared with lme4 / glmmTMB / ordinal::clmm.

Every case must hold with defaults (4 chains x 1000 + 1000, seed 1, nothing tuned per case):
no divergences, max R-hat <= 1.01, min bulk ESS >= 400, and every fixed effect within 0.5
posterior sd of the reference. The cases, data and references are in tests/classic
(``cases.py``; ``make_refs.R`` remakes the references); ``bench/classic.py`` prints the table.
With HIERBAYES_CLASSIC_JSONL=<file> the slow test appends each case's numbers there, for
``python bench/classic.py --table <file> --out docs/classic_analyses.md``.
"""

from __future__ import annotations

import json
import os
import time

import pandas as pd
import pytest
from classic.cases import CASES, MAX_Z, compare_fixed, fit_case, load_data, outcome_of, reference_fixed


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_reference_files_match_data(case) -> None:
    """Cheap: the CSV, its factor levels and the reference agree (rows, term names)."""
    data = load_data(case.name)
    ref = case.reference
    assert ref["n_obs"] == len(data)
    assert ref["fixed_effects"] and all(e["se"] > 0 for e in ref["fixed_effects"])
    terms = [e["term"] for e in reference_fixed(case)]
    assert len(set(terms)) == len(terms)


def test_compare_fixed_matches_names_across_programs() -> None:
    case = next(c for c in CASES if c.name == "bacteria")
    fixef = pd.DataFrame({"mean": [3.5, -1.3, -0.8, -1.6, 0.0], "sd": [0.7, 0.7, 0.7, 0.5, 1.0]},
                         index=["Intercept", "trt[drug]", "trt[drug+]", "I(week > 2)", "extra"])
    table = compare_fixed(case, fixef)
    matched = table[table["found"]]
    assert list(matched["term_r"]) == ["(Intercept)", "trtdrug", "trtdrug+", "I(week > 2)TRUE"]
    assert table.loc[~table["found"], "term"].tolist() == ["extra"]
    # interaction parts in another order, "**" for "^"
    chick = next(c for c in CASES if c.name == "chickweight")
    names = [e["term"] for e in reference_fixed(chick)]
    swapped = [":".join(reversed(n.split(":"))).replace("^", " ** ") for n in names]
    found = compare_fixed(chick, pd.DataFrame({"mean": 0.0, "sd": 1.0}, index=swapped))
    assert found["found"].all() and len(found) == len(names)


#: Cases that do not yet hold with defaults at seed 1, with what was measured (bench/classic.py,
#: docs/classic_analyses.md). Issue 13 stays open on them; each still runs, and one that starts
#: to hold shows as XPASS.
KNOWN_FAILURES: dict[str, str] = {}
# orthodont_slopes was here until 2026-12-04: max R-hat 1.0108 at seed 1 (sd_Subject, bulk ESS
# 602, tail ESS 351). The age slope's sd has 15-20% of its mass below 0.05, a long left tail of
# log(sd). The integrated likelihood now samples signed sds (backends/pymc/covariance/parts.py):
# seeds 1..10 max R-hat 1.0014-1.0049, min bulk ESS 2454-3006 (was 602-1441).


def _case_params():
    for case in CASES:
        reason = KNOWN_FAILURES.get(case.name)
        marks = [pytest.mark.xfail(reason=reason, strict=False)] if reason else []
        yield pytest.param(case, marks=marks, id=case.name)


@pytest.mark.slow
@pytest.mark.parametrize("case", list(_case_params()))
def test_classic_analysis_holds_with_defaults(case) -> None:
    start, cpu_start = time.perf_counter(), time.process_time()
    fit = fit_case(case)
    outcome = outcome_of(case, fit, time.perf_counter() - start, time.process_time() - cpu_start)
    record_to = os.environ.get("HIERBAYES_CLASSIC_JSONL")
    if record_to:  # the run's numbers for docs/classic_analyses.md (bench/classic.py --table)
        with open(record_to, "a") as fh:
            fh.write(json.dumps(outcome.to_record(case.formula), default=float) + "\n")
    assert outcome.divergences == 0, outcome.failures
    assert outcome.max_rhat <= 1.01, outcome.failures
    assert outcome.min_ess >= 400, outcome.failures
    assert outcome.fixed["found"].all(), outcome.failures
    assert outcome.max_abs_z <= MAX_Z, outcome.failures
