"""``hierbayes predict`` and ``hierbayes compare``: a saved fit used from the command line."""

from __future__ import annotations

import os
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes import cli, cli_results

MODELS = Path(__file__).resolve().parents[2] / "models"


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("hierbayes: error: "), err
    return lines[0]


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """Two report folders of sleepstudy (prior draws: fast), seeds 3 and 4."""
    folder = tmp_path_factory.mktemp("cli_results")
    for seed in (3, 4):
        argv = ["fit", MODELS / "sleepstudy.toml", "--draws", "30", "--tune", "30", "--chains", "2", "--seed",
                seed, "--out", folder / f"rep{seed}", "--no-progress", "--backend", "prior", "--no-plots", "-q"]
        assert cli.main([str(a) for a in argv]) == cli.EXIT_OK
    (folder / "new.csv").write_text("Subject,Days\n308,0\n308,5\n999,2\n")
    return folder


def test_predict_writes_the_fits_predictions_as_csv(capsys, reports):
    code, out, err = run(capsys, "predict", reports / "rep3", "--data", reports / "new.csv", "--seed", 1)
    assert code == cli.EXIT_OK
    table = pd.read_csv(StringIO(out), dtype={"Subject": str})
    assert list(table.columns) == ["Days", "Subject", "mean", "sd", "median", "lower", "upper"]
    fit = hb.load(reports / "rep3" / "fit.nc")
    rows = pd.DataFrame({"Subject": ["308", "308", "999"], "Days": [0, 5, 2]})
    with pytest.warns(UserWarning):
        expected = fit.predict(rows, random_seed=1).summary(0.95)
    np.testing.assert_allclose(table[["mean", "lower", "upper"]], expected[["mean", "lower", "upper"]])
    # the new level's warning in the command line's terms
    assert "levels not in the fitted data (Subject: '999')" in err and "--new-groups error to refuse" in err


def test_predict_options_reach_fit_predict(capsys, reports):
    out_file = reports / "p.csv"
    out_file.write_text("an older file\n")
    argv = ["predict", reports / "rep3" / "fit.nc", "--data", reports / "new.csv", "--kind", "linear",
            "--groups", "exclude", "--prob", "0.5", "--ndraws", "20", "--out", out_file]
    assert run(capsys, *argv)[0] == cli.EXIT_OK
    table = pd.read_csv(out_file)
    fit = hb.load(reports / "rep3" / "fit.nc")
    rows = pd.DataFrame({"Subject": ["308", "308", "999"], "Days": [0, 5, 2]})
    expected = fit.predict(rows, kind="linear", groups="exclude", ndraws=20).summary(0.5)
    np.testing.assert_allclose(table["upper"], expected["upper"])
    assert len(table) == 3 and table.loc[0, "mean"] == pytest.approx(expected.loc[0, "mean"])
    assert [p.name for p in reports.iterdir() if p.name.startswith(".p.csv")] == []  # no temporary left
    out_file.chmod(0o640)  # a replaced file keeps its mode (mkstemp's temporary is 0600)
    assert run(capsys, *argv)[0] == cli.EXIT_OK and (out_file.stat().st_mode & 0o777) == 0o640
    fresh = reports / "fresh.csv"
    assert run(capsys, *argv[:-1], fresh)[0] == cli.EXIT_OK
    mask = os.umask(0)
    os.umask(mask)
    assert (fresh.stat().st_mode & 0o777) == 0o666 & ~mask  # a new file: what the umask gives


def test_predict_without_data_predicts_the_fitted_rows(capsys, reports):
    code, out, _ = run(capsys, "predict", reports / "rep3")
    assert code == cli.EXIT_OK and len(pd.read_csv(StringIO(out))) == 180


@pytest.mark.parametrize(("extra", "needle"), [
    (["--data", "missing.csv"], "data file 'missing.csv' not found"),
    (["--prob", "95"], "--prob=95.0: must be a probability strictly between 0 and 1"),
    (["--data", "NEW", "--new-groups", "error"], "levels the model was not fit with: '999'; pass --new-groups sample or --new-groups zero"),
    (["--out", "/no/such/folder/p.csv"], "cannot write '/no/such/folder/p.csv': the folder '/no/such/folder' does not exist"),
    (["--data", "EMPTY"], "has no rows"),
    (["--groups", "Subjct"], "groups: 'Subjct' is not a grouping factor of the model; they are ['Subject']. "
                             "Did you mean 'Subject'?"),
    (["--groups", "inclde,"], "'inclde' is not a grouping factor"),
])
def test_predict_errors_are_one_line_and_exit_2(capsys, reports, extra, needle):
    (reports / "empty.csv").write_text("Subject,Days\n")
    extra = [str(reports / "new.csv") if e == "NEW" else str(reports / "empty.csv") if e == "EMPTY" else e for e in extra]
    code, _, err = run(capsys, "predict", reports / "rep3", *extra)
    assert code == cli.EXIT_USAGE
    assert needle in one_line_error(err)


def test_a_folder_without_a_fit_is_refused(capsys, tmp_path):
    code, _, err = run(capsys, "predict", tmp_path)
    assert code == cli.EXIT_USAGE and "is a folder without fit.nc" in one_line_error(err)


def test_compare_ranks_fits_and_one_fit_gives_its_loo(capsys, reports):
    code, out, err = run(capsys, "compare", reports / "rep3", reports / "rep4")
    assert code == cli.EXIT_OK
    assert out.split("\n")[1].split()[0] in ("rep3", "rep4") and "elpd_diff" in out
    # its advice in the command line's terms
    assert "hierbayes compare FIT FIT ... --group Subject ranks by leave-one-group-out" in err
    code, out, _ = run(capsys, "compare", reports / "rep3")
    assert code == cli.EXIT_OK and "elpd_loo" in out
    code, out, _ = run(capsys, "compare", reports / "rep3", "--group", "Subject")
    assert code == cli.EXIT_OK and "LOGO Subject" in out


def test_compare_names_each_fit_once(capsys, reports):
    code, _, err = run(capsys, "compare", reports / "rep3", reports / "rep3")
    assert code == cli.EXIT_USAGE and "name each fit once" in one_line_error(err)


def test_compare_method_reaches_logo_and_exact_is_one_fit_at_a_time(capsys, reports):
    code, out, _ = run(capsys, "compare", reports / "rep3", "--group", "Subject", "--method", "psis")
    assert code == cli.EXIT_OK and "LOGO Subject (psis)" in out
    code, _, err = run(capsys, "compare", reports / "rep3", reports / "rep4", "--method", "exact")
    assert code == cli.EXIT_USAGE
    assert "--method exact: exact refits compare one fit at a time" in one_line_error(err)


def test_compare_reloo_needs_a_group_and_reaches_logo(capsys, reports, monkeypatch):
    code, _, err = run(capsys, "compare", reports / "rep3", "--reloo")
    assert code == cli.EXIT_USAGE and "--reloo refits left-out groups: give --group too" in one_line_error(err)
    from hierbayes.predict import logo

    def refits(fit, group, drop, codes, all_levels, levels, *rest):  # the refits, replaced by a table
        table = pd.DataFrame({group: levels, "n": 10, "elpd": -40.0})
        return logo.LOGO(group, "exact", float(table["elpd"].sum()), 1.0, table, "exact")

    code, out, _ = run(capsys, "compare", reports / "rep3", "--group", "Subject", "--method", "psis")
    # the result's advice in the command line's terms (it had named fit.logo('Subject', ...))
    assert code == cli.EXIT_OK and "hierbayes compare FIT --group Subject --reloo refits" in out and "fit.logo" not in out
    monkeypatch.setattr(logo, "exact_logo", refits)
    code, out, _ = run(capsys, "compare", reports / "rep3", "--group", "Subject", "--method", "psis", "--reloo")
    assert code == cli.EXIT_OK and "LOGO Subject (psis)" in out and "refitted exactly" in out


def test_text_labels_that_look_like_numbers_are_read_as_text(capsys, tmp_path):
    # a fit on text labels "01".."06": a new CSV's 01 must be the level "01", not the number 1
    rng = np.random.default_rng(1)
    data = pd.DataFrame({"g": np.repeat([f"0{i}" for i in range(1, 7)], 5), "x": rng.normal(size=30)})
    data["y"] = data["x"] + rng.normal(size=30)
    fit = hb.Model("y ~ x + (1 | g)", data).fit(backend="prior", draws=20, chains=1, random_seed=1, progressbar=False)
    fit.save(tmp_path / "fit.nc")
    (tmp_path / "new.csv").write_text("g,x\n01,0.5\n")
    code, out, err = run(capsys, "predict", tmp_path / "fit.nc", "--data", tmp_path / "new.csv")
    assert code == cli.EXIT_OK and "not in the fitted data" not in err
    assert pd.read_csv(StringIO(out), dtype={"g": str}).loc[0, "g"] == "01"


def test_predict_warns_of_the_new_rows_not_again_of_the_fits_dropped_rows(capsys, tmp_path):
    # a fit that dropped an incomplete row warned when fitted; predict had repeated "dropped 1 row"
    # before the new rows' own warnings
    rng = np.random.default_rng(2)
    data = pd.DataFrame({"g": np.repeat(["a", "b", "c"], 6), "x": rng.normal(size=18)})
    data["y"] = data["x"] + rng.normal(size=18)
    data.loc[4, "x"] = np.nan
    with pytest.warns(UserWarning, match="dropped 1 row of 18"):
        model = hb.Model("y ~ x + (1 | g)", data, missing="drop")
    fit = model.fit(backend="prior", draws=20, chains=1, random_seed=1, progressbar=False)
    fit.save(tmp_path / "fit.nc")
    (tmp_path / "new.csv").write_text("g,x\na,0.5\nz,1.0\n")
    argv = ["predict", tmp_path / "fit.nc", "--data", tmp_path / "new.csv"]
    code, out, err = run(capsys, *argv)
    assert code == cli.EXIT_OK and len(pd.read_csv(StringIO(out))) == 2
    assert "dropped" not in err and "levels not in the fitted data (g: 'z')" in err
    # the CSV, on stdout or in --out (written whole), ends with a newline
    assert run(capsys, *argv, "--out", tmp_path / "p.csv")[0] == cli.EXIT_OK
    assert out.endswith("\n") and out.count("\n") == 3
    assert (tmp_path / "p.csv").read_text().endswith("\n")


def test_predict_groups_takes_terms(capsys, reports):
    assert cli_results.groups_argument(" exclude ") == "exclude"
    assert cli_results.groups_argument("~(1 | plate)") == "~(1 | plate)"
    assert cli_results.groups_argument("plate, sample") == ["plate", "sample"]
    base = ["predict", reports / "rep3" / "fit.nc", "--data", reports / "new.csv", "--ndraws", "20", "--seed", "1"]
    code, everything, _ = run(capsys, *base)
    code_terms, subject, _ = run(capsys, *base, "--groups", "Subject")
    assert code == code_terms == cli.EXIT_OK and subject == everything  # the model's one term, kept


def test_summary_prints_the_fits_summary_again(capsys, reports):
    code, out, err = run(capsys, "summary", reports / "rep3")
    assert code == cli.EXIT_OK, err
    assert out == (reports / "rep3" / "summary.txt").read_text()  # what 'hierbayes fit' printed and wrote
    code, out, _ = run(capsys, "summary", reports / "rep3" / "fit.nc", "--prob", "0.5")
    assert code == cli.EXIT_OK and "Intervals: 50% equal-tailed" in out
    assert out == f"{hb.load(reports / 'rep3' / 'fit.nc').summary(0.5)}\n"


def test_summary_of_a_posterior_prints_its_diagnostics_and_advice(capsys, reports, tmp_path):
    # the prior draws relabelled as a NUTS fit: the summary's diagnostics, warnings and
    # prior-sensitivity sections, without sampling
    import dataclasses

    from hierbayes.fit import Fit

    saved = hb.load(reports / "rep3" / "fit.nc")
    Fit(saved.idata, saved.model, dataclasses.replace(saved.info, sampler="nutpie")).save(tmp_path / "fit.nc")
    code, out, _ = run(capsys, "summary", tmp_path)
    assert code == cli.EXIT_OK
    assert out == f"{hb.load(tmp_path / 'fit.nc').summary()}\n"
    assert "Diagnostics: divergences: 0" in out and "\n  ! R-hat up to" in out and "Prior sensitivity" in out


@pytest.mark.parametrize(("target", "extra", "needle"), [
    ("missing", [], "missing' not found: give the report folder 'hierbayes fit' wrote, or a fit file"),
    ("empty", [], "empty' is a folder without fit.nc: give the report folder"),
    ("truncated", [], "truncated/fit.nc' is not a readable netCDF/HDF5 file (corrupted or truncated?)"),
    ("text", [], "summary.txt' is not a readable netCDF/HDF5 file"),
    ("rep3", ["--prob", "95"], "--prob=95.0: must be a probability strictly between 0 and 1"),
    ("rep3", ["--exponentiate"], "exponentiated coefficients have no ratio meaning for family 'gaussian' "
                                 "with the identity link; --exponentiate needs a logit, cloglog or log link"),
    ("rep3", ["--metric", "hr"], "metric='hr': hazard ratios are defined for the proportional-hazards families"),
    ("rep3", ["--metric", "odds"], "argument --metric: invalid choice: 'odds'"),
])
def test_summary_errors_name_the_path_and_exit_2(capsys, reports, tmp_path, target, extra, needle):
    (tmp_path / "empty").mkdir()
    (tmp_path / "truncated").mkdir()
    (tmp_path / "truncated" / "fit.nc").write_bytes((reports / "rep3" / "fit.nc").read_bytes()[:5000])
    paths = {"rep3": reports / "rep3", "text": reports / "rep3" / "summary.txt"}
    code, out, err = run(capsys, "summary", paths.get(target, tmp_path / target), *extra)
    assert code == cli.EXIT_USAGE and out == ""
    assert needle in one_line_error(err)


def test_a_stata_irr_model_file_reports_incidence_rate_ratios(capsys, tmp_path):
    # mepoisson ..., irr: the summary 'hierbayes fit' prints is in incidence-rate ratios, as Stata's
    rng = np.random.default_rng(1)
    pd.DataFrame({"n": rng.poisson(2, 40), "x": rng.normal(size=40), "g": np.arange(40) % 5}).to_csv(
        tmp_path / "d.csv", index=False)
    (tmp_path / "m.toml").write_text('[data]\nsource = "d.csv"\n[model]\nstata = "mepoisson n x || g:, irr"\n')
    argv = ["fit", tmp_path / "m.toml", "--draws", "20", "--chains", "2", "--seed", 1, "--out", tmp_path / "rep",
            "--no-progress", "--backend", "prior", "--no-plots", "-q"]
    assert run(capsys, *argv)[0] == cli.EXIT_OK
    assert "incidence-rate ratio: posterior median of exp(coefficient)" in (tmp_path / "rep" / "summary.txt").read_text()
    code, out, _ = run(capsys, "summary", tmp_path / "rep", "--no-exponentiate")
    assert code == cli.EXIT_OK and "exp(coefficient)" not in out and "coefficient (log scale)" in out


def test_excluded_groups_need_no_grouping_values(capsys, reports):
    # lme4's predict(re.form = NA): a row with a blank grouping column is predicted without group effects
    fit = hb.load(reports / "rep3" / "fit.nc")
    rows = pd.DataFrame({"Subject": ["308", None, "999"], "Days": [0, 5, 2]})
    for groups in ("exclude", "marginal"):
        got = fit.predict(rows, kind="linear", groups=groups, ndraws=20, random_seed=1).summary()
        full = fit.predict(rows.fillna("308"), kind="linear", groups=groups, ndraws=20, random_seed=1).summary()
        np.testing.assert_allclose(got["mean"], full["mean"])
        assert got["Subject"].isna().tolist() == [False, True, False]  # the row as given
    (reports / "blank.csv").write_text("Subject,Days\n308,0\n,5\n")
    code, out, err = run(capsys, "predict", reports / "rep3", "--data", reports / "blank.csv", "--groups", "exclude")
    assert code == cli.EXIT_OK, err
    assert len(pd.read_csv(StringIO(out))) == 2


def test_a_blank_grouping_value_with_groups_included_says_what_a_cli_user_can_do(capsys, reports):
    (reports / "blank.csv").write_text("Subject,Days\n308,0\n,5\n")
    code, out, err = run(capsys, "predict", reports / "rep3", "--data", reports / "blank.csv")
    line = one_line_error(err)
    assert code == cli.EXIT_USAGE and out == ""
    assert "grouping column 'Subject' has no value in newdata row 1: fill in its level" in line
    assert "--groups exclude" in line and "--groups marginal" in line
    assert "keep_default_na" not in line and "groups='exclude'" not in line
