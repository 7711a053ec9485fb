"""Fit every case of the classic-analysis suite with hierbayes' defaults and write the table.

    python bench/classic.py --out docs/classic_analyses.md            # all cases, one process
    python bench/classic.py --cases machines,oats --out /tmp/t.md      # a subset

One process fits the cases one after another (4 chains x 1000 + 1000, seed 1), so the seconds
(model set-up, compilation and sampling, wall clock) are comparable between cases. The cases,
data and R references live in tests/classic; the slow test tests/test_classic.py asserts the
same thresholds.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
import traceback
import warnings
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from classic.cases import CASES, MAX_RHAT, MAX_Z, MIN_ESS, Case, Outcome, fit_case, outcome_of  # noqa: E402


def run_case(case: Case) -> Outcome:
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = fit_case(case)
        seconds = time.perf_counter() - start
        return outcome_of(case, fit, seconds)
    except Exception as exc:  # a case that cannot be fitted is a row of the table, not a crash
        message = str(exc).splitlines()[0] if str(exc) else ""
        print(traceback.format_exc(), file=sys.stderr)
        return Outcome(case=case.name, seconds=time.perf_counter() - start,
                       error=f"{type(exc).__name__}: {message}"[:160])


def _num(value: float, fmt: str) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, fmt)


def reference_label(case: Case) -> str:
    ref = case.reference
    engine = {"lme4": "lmer REML" if ref["method"] == "REML" else "glmer Laplace",
              "glmmTMB": "glmmTMB Laplace", "ordinal": "clmm Laplace"}[ref["engine"]]
    return engine


def table(outcomes: list[Outcome]) -> str:
    head = ("| model | kinds | reference | max \\|z\\| (term) | divergences | R-hat | min ESS | seconds | holds |\n"
            "|---|---|---|---|---|---|---|---|---|\n")
    lines = []
    by_name = {c.name: c for c in CASES}
    for out in outcomes:
        case = by_name[out.case]
        model = f"{case.name}: `{case.formula}` ({case.family})"
        z = f"{_num(out.max_abs_z, '.2f')} ({out.worst_term})" if out.worst_term else ""
        holds = "yes" if out.holds else "no: " + "; ".join(out.failures).replace("|", "\\|")
        lines.append(f"| {model.replace('|', chr(92) + '|')} | {', '.join(case.kinds)} | {reference_label(case)} | "
                     f"{z.replace('|', chr(92) + '|')} | {'' if out.divergences is None else out.divergences} | "
                     f"{_num(out.max_rhat, '.3f')} | {_num(out.min_ess, '.0f')} | {_num(out.seconds, '.1f')} | {holds} |")
    return head + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    parser.add_argument("--out", default="", help="markdown file for the table")
    parser.add_argument("--jsonl", default="", help="one JSON line per case (numbers and per-term z)")
    args = parser.parse_args(argv)
    names = [n for n in args.cases.split(",") if n]
    unknown = sorted(set(names) - {c.name for c in CASES})
    if unknown:
        parser.error(f"unknown cases: {', '.join(unknown)}")
    cases = [c for c in CASES if not names or c.name in names]
    outcomes = []
    total_start = time.perf_counter()
    for case in cases:
        out = run_case(case)
        outcomes.append(out)
        status = "holds" if out.holds else "FAILS: " + "; ".join(out.failures)
        print(f"{case.name:18s} {out.seconds:7.1f} s  {status}", flush=True)
        if args.jsonl:
            record = {k: v for k, v in vars(out).items() if k != "fixed"}
            record["failures"] = out.failures
            if out.fixed is not None:
                record["fixed"] = out.fixed.to_dict(orient="records")
            with open(args.jsonl, "a") as fh:
                fh.write(json.dumps(record, default=float) + "\n")
    total = time.perf_counter() - total_start
    held = sum(o.holds for o in outcomes)
    text = table(outcomes)
    summary = (f"{held} of {len(outcomes)} cases hold (0 divergences, R-hat <= {MAX_RHAT}, min bulk ESS >= "
               f"{MIN_ESS}, every fixed effect within {MAX_Z} posterior sd of the reference); "
               f"{total:.0f} s in one process.")
    print(text + "\n" + summary)
    if args.out:
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        Path(args.out).write_text(
            "# Classic multilevel analyses with hierbayes' defaults\n\n"
            f"Generated by `python bench/classic.py --out {args.out}` on {stamp} ({platform.node()}, "
            "4 chains x (1000 tune + 1000 draws), seed 1, nothing tuned per case). Cases, data and R "
            "references: `tests/classic/` (`make_refs.R` has each R call); the same thresholds are "
            "asserted by the slow test `tests/test_classic.py`. z = (posterior mean - reference) / "
            "posterior sd; seconds are wall time of set-up, compilation and sampling.\n\n"
            + summary + "\n\n" + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
