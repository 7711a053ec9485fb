"""bench/run.py (issue 20): the user's scripts, the data of the new cases and the tables.

No fits here: the benchmark itself is run by hand (bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import importlib.util

import bench_cases
import bench_tables
import bench_user

# bench/run.py under a name no other test module can take
_spec = importlib.util.spec_from_file_location("bench_run", BENCH / "run.py")
run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run)

ARGS = argparse.Namespace(draws=50, tune=50, chains=2, cores=2, seed=1)


@pytest.mark.parametrize("tool", bench_user.FRESH_TOOLS)
def test_every_user_script_is_python_with_the_case_formula(tool, tmp_path):
    cases = [c for c in bench_cases.CASES.values() if tool in run.tools_for(c, [tool], all_tools=True)]
    assert len(cases) >= 7
    for case in cases:
        text = bench_user.script_text(case, tool, tmp_path / "d.pkl", ARGS)
        compile(text, f"{case.name}-{tool}.py", "exec")
        if tool.startswith("hierbayes"):
            formula = case.indep if tool == "hierbayes_indep" else case.formula
            assert repr(formula) in text and "print(fit.summary())" in text
        elif tool.startswith("bambi"):
            assert repr(case.bambi) in text and "draws=50, tune=50, chains=2" in text


def test_new_cases_have_their_data_and_the_hand_model_only_where_written():
    binom = bench_cases.load_data("binom3")
    assert len(binom) == 240 and (binom["y"] <= binom["n"]).all()
    assert binom.equals(bench_cases.load_data("binom3"))  # deterministic
    sleep = bench_cases.load_data("sleepstudy_resampled")
    assert sleep.shape == (180, 3) and sleep["Subject"].nunique() == 18
    wine = bench_cases.load_data("classic:wine")
    assert wine["rating"].cat.ordered
    assert "pymc_lkj" not in run.tools_for(bench_cases.CASES["wine"], ["hierbayes", "pymc_lkj"], False)
    assert "pymc_lkj" in run.tools_for(bench_cases.CASES["grouseticks"], ["hierbayes", "pymc_lkj"], False)


def _row(tool, mode, fresh, total, ess):
    return {"case": "sleepstudy", "tool": tool, "mode": mode, "status": "ok", "rows": 180, "sampler": "x",
            "fresh_s": fresh, "fresh_status": "ok", "import_s": 2.0, "total_s": total, "sampling_s": 0.5,
            "refit_s": 0.9, "min_ess_bulk": ess, "ess_per_s": 1.0, "max_rhat": 1.0, "divergences": 0,
            "peak_mb": 700.0}


def test_tables_show_fresh_and_refit_columns_and_the_issue20_checks(tmp_path):
    rows = [_row("hierbayes", "cold", 12.0, 8.0, 900), _row("bambi_nutpie", "cold", 30.0, 20.0, 800),
            _row("hierbayes", "warm", 5.0, 1.0, 900), _row("bambi_nutpie", "warm", 12.0, 9.0, 800),
            _row("hierbayes", "newdata", 2.5, 1.0, 900)]
    (tmp_path / "results.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    bench_tables.write_tables(tmp_path)
    text = (tmp_path / "results.md").read_text()
    assert "| fresh s | import s |" in text and "| refit s |" in text
    assert "| sleepstudy | hierbayes | warm | 180 | x | 5.0 | 2.0 | 0.5 | 0.5 | 1.0 | 0.9 |" in text
    assert "sleepstudy warm: hierbayes 5.0 s vs bambi_nutpie 12.0 s (ratio 0.42)" in text
    assert "sleepstudy cold: hierbayes 12.0 s vs bambi_nutpie 30.0 s (ratio 0.40)" in text
    assert "fresh process: 2.5 s: PASS (< 3 s); first fit on an empty cache 12.0 s" in text



def test_tables_of_a_scripts_only_run_render(tmp_path):
    # --no-jobs: only fresh-process totals, no in-process numbers for the checks to read
    jobless = {"import_s": None, "total_s": None, "sampling_s": None, "refit_s": None, "min_ess_bulk": None,
               "ess_per_s": None, "max_rhat": None, "divergences": None, "peak_mb": None, "estimates": {}}
    rows = [{**_row("hierbayes", "warm", 178.5, 0, 0), **jobless, "case": "insteval_crossed", "rows": 0},
            {**_row("hierbayes", "warm", 4.0, 0, 0), **jobless},
            {**_row("bambi_nutpie", "warm", 8.0, 0, 0), **jobless},
            {**_row("hierbayes", "cold", 40.0, 0, 0), **jobless, "case": "sim_1000", "rows": 1000}]
    (tmp_path / "results.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    bench_tables.write_tables(tmp_path)
    text = (tmp_path / "results.md").read_text()
    assert "| insteval_crossed | hierbayes | warm | 0 | x | 178.5 | - |" in text
    assert "sleepstudy warm: hierbayes 4.0 s vs bambi_nutpie 8.0 s (ratio 0.50); min ESS not measured" in text

def test_brms_scripts_carry_the_case_and_factor_levels_and_its_lines_parse(tmp_path):
    import bench_brms

    cbpp = bench_cases.CASES["cbpp"]
    assert bench_brms.brms_formula(cbpp) == "incidence | trials(size) ~ period + (1 | herd)"
    assert bench_brms.brms_formula(bench_cases.CASES["sleepstudy"]) == bench_cases.CASES["sleepstudy"].formula
    factors = bench_brms.write_csv("classic:wine", tmp_path / "wine.csv")
    assert factors["rating"][1] is True and factors["rating"][0] == ["1", "2", "3", "4", "5"]
    text = bench_brms.script_text(bench_cases.CASES["wine"], tmp_path / "wine.csv", factors, ARGS)
    assert "family = cumulative()" in text and "iter = 100, warmup = 50, seed = 1" in text
    assert 'levels = c("1", "2", "3", "4", "5"), ordered = TRUE' in text
    assert "brms" in run.tools_for(cbpp, ["brms"], False)
    assert "brms" not in run.tools_for(bench_cases.CASES["wine"].__class__(
        "x", "sleepstudy", "y ~ 1", "y ~ 1", family="weibull"), ["brms"], False)
    found = bench_brms.parse_output("noise\nHBBENCH total_s 48.7 \nHBBENCH max_rhat 1.009\nHBBENCH bad x\n")
    assert found == {"total_s": 48.7, "max_rhat": 1.009}


def test_brms_without_r_is_refused_with_where_to_read(monkeypatch):
    import bench_brms

    monkeypatch.setattr(bench_brms.shutil, "which", lambda name: None)
    monkeypatch.setattr(run, "available", bench_brms.available)
    with pytest.raises(SystemExit, match="tool brms needs Rscript with brms"):
        run.main(["--cases", "sleepstudy", "--tools", "brms", "--out", "/nonexistent/never"])
