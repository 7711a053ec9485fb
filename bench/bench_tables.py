"""Tables of a finished run: ``<out>/results.md`` from ``<out>/results.jsonl``.

One row per (case, tool, mode): the fresh-process total (``python script.py`` timed by the
parent), the in-process columns of the job (import, build+compile, sampling, first fit,
refit in the same process), diagnostics, memory, and the ratios to bambi's best. Then the
checks of issue 7 (in-process totals, as before) and of issue 20 (fresh-process totals).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: cases of issue 20's "at most 1/3 of bambi's best" check (fresh-process totals)
ISSUE20_CASES = ("sleepstudy", "gcse", "insteval_dept", "grouseticks", "verbagg")
#: the issue's bar for a second model of the same structure on other data, fresh process, on
#: data of sleepstudy's size (180 rows); larger data sets' other-data fits are reported
NEWDATA_BAR_S = 3.0
NEWDATA_BAR_ROWS = 1_000


def _fmt(v, digits=1):
    if v is None:
        return "-"
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        return f"{v:.{digits}f}"
    return str(v)


def _line(r: dict) -> str:
    return (f"{r['case']:<17} {r['tool']:<16} {r['mode']:<7} {r['status']:<7} fresh {_fmt(r.get('fresh_s'))} s "
            f"total {_fmt(r.get('total_s'))} s refit {_fmt(r.get('refit_s'))} s "
            f"sampling {_fmt(r.get('sampling_s'))} s  minESS {_fmt(r.get('min_ess_bulk'), 0)}  "
            f"Rhat {_fmt(r.get('max_rhat'), 3)}  div {r.get('divergences')}  {_fmt(r.get('peak_mb'), 0)} MB")


def load_results(out: Path) -> list[dict]:
    rows = []
    for line in (out / "results.jsonl").read_text().splitlines():
        if line.strip():
            rows.append(json.loads(line))
    return rows


def _best_bambi(rows, case, mode, key="total_s"):
    """bambi's faster JAX/nutpie run by ``key`` (in-process total or fresh-process total)."""
    cands = [r for r in rows if r["case"] == case and r["mode"] == mode and r["tool"] in ("bambi_nutpie", "bambi_numpyro")
             and r["status"] == "ok" and r.get(key) is not None
             and (key != "fresh_s" or r.get("fresh_status", "ok") == "ok")]
    return min(cands, key=lambda r: r[key]) if cands else None


def _ratio(r, best, key):
    if not (best and r["tool"].startswith("hierbayes") and r.get(key) is not None):
        return "-"
    return f"{r[key] / best[key]:.2f}"


def _get(rows, case, tool, mode):
    return next((r for r in rows if r["case"] == case and r["tool"] == tool and r["mode"] == mode), None)


def write_tables(out: Path) -> None:
    rows = load_results(out)
    lines = ["# hierbayes benchmark", ""]
    cfg = out / "config.json"
    if cfg.exists():
        c = json.loads(cfg.read_text())
        lines.append(f"{c['chains']} chains x ({c['tune']} tune + {c['draws']} draws), cores={c['cores']}, seed={c['seed']}, "
                     f"{c['cpus']} CPUs. Times in seconds. *fresh*: `python script.py` from spawn to exit, timed by "
                     "the parent (imports, build, compile/load, sampling, summary printed); *import* ... *refit*: "
                     "in one process (first fit from model construction; refit = the same model again in that "
                     "process); ratios = hierbayes / bambi's best (same mode, same column).")
        lines.append("")
    head = ("| case | tool | mode | rows | sampler | fresh s | import s | build+compile s | sampling s | total s "
            "| refit s | min bulk ESS | ESS/s | max R-hat | div | peak MB | ratio fresh | ratio total | parameterization |")
    lines += [head, "|" + "---|" * 19]
    for r in rows:
        bc = None if r.get("total_s") is None or r.get("sampling_s") is None else r["total_s"] - r["sampling_s"]
        par = ", ".join(f"{k}={v}" for k, v in (r.get("parameterization") or {}).items())
        status = "" if r["status"] == "ok" else f" **{r['status']}** {r.get('error', '')[:80]}"
        if r.get("fresh_status", "ok") != "ok":
            status += f" **script {r['fresh_status']}**"
        ok = r["status"] == "ok"
        lines.append(
            f"| {r['case']} | {r['tool']} | {r['mode']} | {r.get('rows', '')} | {r.get('sampler', '')}{status} "
            f"| {_fmt(r.get('fresh_s'))} | {_fmt(r.get('import_s'))} | {_fmt(bc)} "
            f"| {_fmt(r.get('sampling_s'))} | {_fmt(r.get('total_s'))} | {_fmt(r.get('refit_s'))} "
            f"| {_fmt(r.get('min_ess_bulk'), 0)} "
            f"| {_fmt(r.get('ess_per_s'))} | {_fmt(r.get('max_rhat'), 3)} | {_fmt(r.get('divergences'))} "
            f"| {_fmt(r.get('peak_mb'), 0)} "
            f"| {_ratio(r, _best_bambi(rows, r['case'], r['mode'], 'fresh_s'), 'fresh_s') if ok else '-'} "
            f"| {_ratio(r, _best_bambi(rows, r['case'], r['mode']), 'total_s') if ok else '-'} | {par} |"
        )
    lines += ["", "## Checks (issue 20: fresh-process totals)", ""] + checks_issue20(rows)
    lines += ["", "## Checks (issue 7: in-process totals)", ""] + checks(rows)
    (out / "results.md").write_text("\n".join(lines) + "\n")


def checks_issue20(rows: list[dict]) -> list[str]:
    """Fresh-process total at most 1/3 of bambi's best with min ESS at least as high; the
    second model on other data under 3 s; the first fit on an empty cache."""
    out = []
    for case in ISSUE20_CASES:
        for mode in ("warm", "cold"):
            best = _best_bambi(rows, case, mode, "fresh_s")
            for tool in ("hierbayes_indep", "hierbayes"):
                r = _get(rows, case, tool, mode)
                if not (best and r and r["status"] == "ok" and r.get("fresh_s") is not None):
                    continue
                ratio = r["fresh_s"] / best["fresh_s"]
                if None in (r["min_ess_bulk"], best["min_ess_bulk"]):  # --no-jobs: no ESS measured
                    ok, ess = ratio <= 1 / 3, "min ESS not measured"
                else:
                    ok = ratio <= 1 / 3 and r["min_ess_bulk"] >= best["min_ess_bulk"]
                    ess = f"min ESS {r['min_ess_bulk']:.0f} vs {best['min_ess_bulk']:.0f}"
                # the issue measured its ratios with warm caches for both tools; a cold fit (XLA's
                # compile, bambi's numba and PyTensor compiles) is reported beside them
                verdict = f"{'PASS' if ok else 'FAIL'} (<= 1/3 and ESS at least as high)" if mode == "warm" else (
                    "reported (the bar is on warm caches)")
                out.append(f"- {case} {mode}: {tool} {r['fresh_s']:.1f} s vs {best['tool']} {best['fresh_s']:.1f} s "
                           f"(ratio {ratio:.2f}); {ess}: {verdict}")
    for r in rows:
        if r["mode"] != "newdata" or not r["tool"].startswith("hierbayes"):
            continue
        cold = _get(rows, r["case"], r["tool"], "cold")
        first = f"; first fit on an empty cache {cold['fresh_s']:.1f} s" if cold and cold.get("fresh_s") else ""
        if r.get("fresh_s") is None or r.get("fresh_status", "ok") != "ok":
            out.append(f"- {r['case']} other data ({r['tool']}): {r.get('fresh_status', r['status'])} FAIL{first}")
            continue
        ok = r["fresh_s"] < NEWDATA_BAR_S
        verdict = f"{'PASS' if ok else 'FAIL'} (< {NEWDATA_BAR_S:.0f} s)" if (r.get("rows") or 0) <= NEWDATA_BAR_ROWS else (
            f"reported (the bar is for sleepstudy-sized data; {r['rows']:,} rows)")
        out.append(f"- {r['case']} other data of the same structure ({r['tool']}), fresh process: {r['fresh_s']:.1f} s: "
                   f"{verdict}{first}")
    return out


def checks(rows: list[dict]) -> list[str]:
    out = []
    for case in ("sleepstudy", "gcse", "insteval_dept"):
        for mode in ("warm", "cold"):
            best = _best_bambi(rows, case, mode)
            for tool in ("hierbayes_indep", "hierbayes"):
                r = _get(rows, case, tool, mode)
                if not (best and r and r["status"] == "ok") or None in (r["total_s"], best["total_s"]):
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
        if r["max_rhat"] is None:  # --no-jobs: no in-process diagnostics
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
    if r and r["status"] == "ok" and r.get("total_s") is not None:  # --no-jobs: no in-process numbers
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


