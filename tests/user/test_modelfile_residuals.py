"""Residual structures in model files: the ``[residuals]`` table for formula, level-equation
and Stata files (hierbayes/modelfile.py), the shipped models/ovary_ar1.toml and the CLI."""

from __future__ import annotations

from pathlib import Path

import arviz as az
import numpy as np
import pytest

import hierbayes as hb
from hierbayes import cli
from hierbayes.modelfile import load_model_file

MODELS = Path(__file__).resolve().parents[2] / "models"
DATA = MODELS / "data" / "ovary.csv"


def write(tmp_path: Path, body: str, residuals: str) -> Path:
    path = tmp_path / "m.toml"
    path.write_text(f'name = "m"\ndescription = "d"\n[data]\nsource = "{DATA}"\nfactors = ["Mare"]\n'
                    f"[model]\n{body}\n{residuals}\n[sampler]\nseed = 1\n", encoding="utf-8")
    return path


def test_the_shipped_level_equation_file_has_an_ar1_structure_within_mare():
    mf = load_model_file(MODELS / "ovary_ar1.toml")
    assert mf.kind == "levels" and mf.spec.to_formula() == "follicles ~ s + c + (1 | Mare)"
    assert mf.spec.residuals == hb.residuals("ar1", time="t")
    model = mf.build()
    rd = model.design.residuals
    assert rd.structure.group == "Mare" and rd.n_groups == 11 and rd.block == 0


def test_the_shipped_mmrm_formula_file():
    mf = load_model_file(MODELS / "orthodont_mmrm.toml")
    assert mf.kind == "formula" and mf.spec.groups == ()
    assert mf.spec.residuals == hb.residuals("unstructured", time="visit", group="Subject")
    rd = mf.build().design.residuals
    assert rd.time_levels == ("1", "2", "3", "4") and rd.n_groups == 27 and rd.block is None


@pytest.mark.parametrize("body", [
    'formula = "follicles ~ s + c + (1 | Mare)"',
    'levels = """\nfollicles ~ b0 + b1*s + b2*c\nb0 ~ 1 | Mare\nb1 ~ 1\nb2 ~ 1\n"""',
    'stata = "mixed follicles s c || Mare:"',
])
def test_formula_levels_and_stata_files_take_the_table(tmp_path, body):
    table = '[residuals]\nkind = "arma"\norder = [2, 1]\ntime = "t"\ngroup = "Mare"'
    spec = load_model_file(write(tmp_path, body, table)).spec
    assert spec.residuals == hb.residuals("arma", order=(2, 1), time="t", group="Mare")
    assert spec.to_formula() == "follicles ~ s + c + (1 | Mare)"


def test_inline_table_in_model(tmp_path):
    body = 'formula = "follicles ~ s + c + (1 | Mare)"\nresiduals = { kind = "toeplitz", order = 2, time = "t" }'
    assert load_model_file(write(tmp_path, body, "")).spec.residuals == hb.residuals("toeplitz2", time="t")


def test_check_prints_the_structure(capsys):
    code = cli.main(["check", str(MODELS / "ovary_ar1.toml")])
    out, err = capsys.readouterr()
    assert code == cli.EXIT_OK, err
    assert "residuals: ar1(time=t)\n" in out and "ar1_phi" in out


@pytest.mark.parametrize("body, table, message", [
    ('formula = "follicles ~ s + (1|Mare)"', '[residuals]\ntime = "t"', r"m.toml: residuals.kind is required"),
    ('formula = "follicles ~ s + (1|Mare)"', '[residuals]\nkind = "ar"\ntimes = "t"',
     r"unknown key 'times' in \[residuals\]\. Did you mean 'time'\?"),
    ('formula = "follicles ~ s + (1|Mare)"', '[residuals]\nkind = "ar"\norder = "2"\ntime = "t"',
     r"m.toml: residuals.order must be a whole number \(p, q or k\) or a list \[p, q\] \(arma\), got '2'"),
    ('formula = "follicles ~ s + (1|Mare)"', '[residuals]\nkind = "banded"\ntime = "t"',
     r"m.toml: \[residuals\]: residuals\('banded'\) needs order="),
    ('formula = "follicles ~ s + (1|Mare)"', '[residuals]\nkind = "wiggly"\ntime = "t"',
     r"m.toml: \[residuals\]: unknown residual structure 'wiggly'"),
    ('formula = "follicles ~ s + ar(t, Mare) + (1|Mare)"', '[residuals]\nkind = "ma"\ntime = "t"',
     r"m.toml: \[residuals\] and the model's own residual structure \(ar1\(time=t, group=Mare\)\) are both given"),
    ('formula = "follicles ~ s + (1|Mare)"', 'residuals = 3', r"m.toml: residuals must be a table"),
    ('formula = "follicles ~ s + (1|Mare)"\nresiduals = { kind = "ar", time = "t" }', '[residuals]\nkind = "ma"',
     r"m.toml: give the residual structure once: \[residuals\] or model.residuals"),
])
def test_errors(tmp_path, body, table, message):
    with pytest.raises(hb.SpecError, match=message):
        load_model_file(write(tmp_path, body, table))


@pytest.mark.slow
def test_cli_fit_of_the_shipped_file(capsys, tmp_path):
    out_dir = tmp_path / "r"
    code = cli.main(["fit", str(MODELS / "ovary_ar1.toml"), "--draws", "200", "--tune", "200", "--chains", "2",
                     "--out", str(out_dir), "--no-progress"])
    _, err = capsys.readouterr()
    assert code == cli.EXIT_OK, err
    assert "ar1_phi" in (out_dir / "summary.txt").read_text()
    assert "residuals: ar1(time=t)" in (out_dir / "model.txt").read_text()
    idata = az.from_netcdf(out_dir / "fit.nc")  # nlme's REML phi for this model is 0.54 (tests/rside/refs)
    assert 0.35 < float(np.median(idata.posterior["ar1_phi"].values)) < 0.75
