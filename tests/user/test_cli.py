"""The ``hierbayes`` command line: check / formula / fit, exit codes and one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from test_levels import HAND_WRITTEN

from hierbayes import cli
from hierbayes.errors import SamplingError

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "models"
SHIPPED = sorted(MODELS.glob("*.toml"))


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(err: str, needle: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("hierbayes: error: ")
    assert needle in lines[0]


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_model_passes_check(capsys, path):
    code, out, err = run(capsys, "check", path)
    assert code == cli.EXIT_OK, err
    assert out.rstrip().endswith("ok")
    assert "formula: " in out and "priors:" in out and "Intercept" in out


@pytest.mark.parametrize("name", sorted(HAND_WRITTEN))
def test_formula_command_prints_the_combined_formula(capsys, name):
    code, out, err = run(capsys, "formula", MODELS / f"{name}.toml")
    assert code == 0 and err == ""
    assert out == HAND_WRITTEN[name] + "\n"


def test_formula_command_writes_a_power_as_r_prints_it(capsys, tmp_path):
    path = tmp_path / "m.toml"
    path.write_text('[data]\nsource = "sleepstudy"\n[model]\nformula = "Reaction ~ Days + I(Days^2) + (1 | Subject)"\n')
    code, out, err = run(capsys, "formula", path)
    assert code == 0 and out == "Reaction ~ Days + I(Days^2) + (1 | Subject)\n", err


def test_check_prints_level_equations(capsys):
    code, out, _ = run(capsys, "check", MODELS / "gcse_gend.toml")
    assert code == 0
    assert "level equations:\n  gcse ~ b0 + b1*lrt\n  b0 ~ 1 + C(schgend) | school" in out
    assert "4057 rows" in out and "school (64 levels)" in out


def test_check_counts_the_rows_a_stata_if_keeps(capsys, tmp_path):
    # it had counted the rows before the command's if (6313 where the fit used 3106)
    path = tmp_path / "m.toml"
    path.write_text('[data]\nsource = "sleepstudy"\n[model]\nstata = "mixed Reaction Days if Days < 5 || Subject:"\n')
    code, out, _ = run(capsys, "check", path)
    assert code == 0 and "90 rows used (where Days < 5)" in out


def test_usage_errors_exit_2_with_one_line(capsys):
    code, out, err = run(capsys, "frobnicate", "x.toml")
    assert code == cli.EXIT_USAGE and out == ""
    assert_one_line_error(err, "invalid choice: 'frobnicate'")
    code, _, err = run(capsys, "fit", MODELS / "sleepstudy.toml", "--draws", "-3")
    assert code == cli.EXIT_USAGE
    assert_one_line_error(err, "--draws")
    code, _, err = run(capsys)
    assert code == cli.EXIT_USAGE


def test_model_and_data_errors_exit_2_with_one_line(capsys, tmp_path):
    code, _, err = run(capsys, "check", tmp_path / "missing.toml")
    assert code == cli.EXIT_USAGE
    assert_one_line_error(err, "not found")
    bad = tmp_path / "bad.toml"
    bad.write_text("[data]\nsource = 'gcse'\n[model]\nlevels = 'gcse ~ b0 + b1*lrt; b0 ~ 1 + | school'\n")
    code, _, err = run(capsys, "formula", bad)
    assert code == cli.EXIT_USAGE
    assert_one_line_error(err, "expected a term after '+'")
    assert "position" in err and "Traceback" not in err
    varying = tmp_path / "varying.toml"
    varying.write_text(
        "[data]\nsource = 'gcse'\n[model]\nlevels = 'gcse ~ b0 + b1*lrt; b0 ~ 1 + lrt | school; b1 ~ 1'\n"
    )
    code, _, err = run(capsys, "check", varying)
    assert code == cli.EXIT_USAGE
    assert_one_line_error(err, "'lrt' is a level-2 predictor")


def test_sampling_errors_exit_3(capsys, monkeypatch, tmp_path):
    from hierbayes.model import Model

    def fail(self, **kwargs):
        raise SamplingError("sampling was interrupted by the user; no fit was created")

    monkeypatch.setattr(Model, "fit", fail)
    code, out, err = run(capsys, "fit", MODELS / "sleepstudy.toml", "--out", tmp_path / "r", "-q")
    assert code == cli.EXIT_SAMPLING and out == ""
    assert_one_line_error(err, "interrupted")
    assert not (tmp_path / "r").exists()

    def crash(self, **kwargs):
        raise RuntimeError("numpyro exploded")

    monkeypatch.setattr(Model, "fit", crash)
    code, _, err = run(capsys, "fit", MODELS / "sleepstudy.toml", "--out", tmp_path / "r", "-q")
    assert code == cli.EXIT_SAMPLING
    assert_one_line_error(err, "sampling failed: RuntimeError: numpyro exploded")


def test_console_script_exit_code_and_stderr(tmp_path):
    script = Path(sys.executable).with_name("hierbayes")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "hierbayes.cli"]
    ok = subprocess.run([*command, "formula", str(MODELS / "radon.toml")], capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout == "log_radon ~ floor + log_uranium + (1 | county)\n"
    module = subprocess.run([sys.executable, "-m", "hierbayes", "formula", str(MODELS / "radon.toml")],
                            capture_output=True, text=True)  # python -m hierbayes had no __main__
    assert module.returncode == 0 and module.stdout == ok.stdout
    bad = subprocess.run([*command, "check", str(tmp_path / "nope.toml")], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.strip().startswith("hierbayes: error: model file") and "Traceback" not in bad.stderr


def test_fit_writes_a_report_folder(capsys, tmp_path):
    out_dir = tmp_path / "report"
    code, out, err = run(
        capsys, "fit", MODELS / "sleepstudy.toml", "--draws", "60", "--tune", "60", "--chains", "2",
        "--seed", "3", "--out", out_dir, "--no-progress", "--backend", "prior",
    )  # the report does not depend on how the draws were made: prior draws, no compile
    assert code == cli.EXIT_OK, err
    assert "Level 2, b1 (slope of Days): b1 ~ 1 | Subject" in out and "g10" in out
    for name in ("summary.txt", "summary.html", "priors.txt", "model.txt", "fit.nc"):
        assert (out_dir / name).is_file(), name
    assert "g00" in (out_dir / "summary.txt").read_text()
    assert "<table" in (out_dir / "summary.html").read_text()
    assert "HalfStudentT(nu=3, sigma=50)" in (out_dir / "priors.txt").read_text()
    plots = sorted(p.name for p in (out_dir / "plots").glob("*.png"))
    assert "trace.png" in plots
    assert "caterpillar_Subject_Intercept.png" in plots and "caterpillar_Subject_Days.png" in plots
    assert "ppc.png" in plots and "ppc_grouped_Subject.png" in plots
    page = (out_dir / "index.html").read_text()  # self-contained: every plot embedded
    assert "<title>hierbayes: sleepstudy</title>" in page and "<b>model file</b>" in page
    assert page.count("src='data:image/png;base64,") == len(plots) and "class='failed'" not in page
    assert (out_dir / "diagnostics.csv").is_file() and (out_dir / "ranef_Subject.csv").is_file()
    assert f"report written to {out_dir}" in err
    ours = [line for line in err.splitlines() if "warning" in line.lower()]
    assert all(line.startswith("hierbayes: warning: ") for line in ours), ours
    import hierbayes as hb

    saved = hb.load(out_dir / "fit.nc")
    assert saved.posterior["sigma"].shape == (2, 60)
    import xarray as xr

    with xr.open_datatree(out_dir / "fit.nc", engine="h5netcdf") as tree:  # recomputed on load
        assert "log_likelihood" not in tree.children


def test_unknown_backend_is_a_usage_error(capsys, tmp_path) -> None:
    from hierbayes import cli

    models = Path(__file__).resolve().parents[2] / "models"
    code = cli.main(["fit", str(models / "sleepstudy.toml"), "--backend", "stan", "--out", str(tmp_path / "r"), "-q"])
    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE
    assert "hierbayes: error: backend='stan': valid backends are ['pymc', 'prior'" in err
    assert not (tmp_path / "r").exists()


def _prior_fit_args(out_dir) -> list:
    return ["fit", MODELS / "sleepstudy.toml", "--draws", "30", "--tune", "30", "--chains", "2", "--seed", "3",
            "--out", out_dir, "--no-progress", "--backend", "prior", "--no-plots", "-q"]


def test_a_report_replaces_an_earlier_one_whole(capsys, tmp_path):
    # a report written over an older one had kept the older one's tables and plots
    out_dir = tmp_path / "report"
    assert run(capsys, *_prior_fit_args(out_dir))[0] == cli.EXIT_OK
    (out_dir / "ranef_Stale.csv").write_text("left over\n")
    assert run(capsys, *_prior_fit_args(out_dir))[0] == cli.EXIT_OK
    assert not (out_dir / "ranef_Stale.csv").exists() and (out_dir / "summary.txt").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["report"]  # no staging folder left


def test_an_interrupted_fit_leaves_the_earlier_report_as_it_was(capsys, monkeypatch, tmp_path):
    out_dir = tmp_path / "report"
    assert run(capsys, *_prior_fit_args(out_dir))[0] == cli.EXIT_OK
    before = {p.name: p.read_bytes() for p in out_dir.iterdir() if p.is_file()}
    monkeypatch.setattr(cli, "write_report", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    code, _, _ = run(capsys, *_prior_fit_args(out_dir))
    assert code == 130
    assert {p.name: p.read_bytes() for p in out_dir.iterdir() if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["report"]


@pytest.mark.parametrize("kind", ["file", "foreign folder"])
def test_an_out_that_is_not_a_report_folder_is_refused_before_sampling(capsys, monkeypatch, tmp_path, kind):
    from hierbayes.model import Model

    out = tmp_path / "out"
    if kind == "file":
        out.write_text("mine\n")
    else:
        out.mkdir()
        (out / "notes.txt").write_text("mine\n")
    monkeypatch.setattr(Model, "fit", lambda self, **kw: pytest.fail("sampled before checking --out"))
    code, _, err = run(capsys, *_prior_fit_args(out))
    assert code == cli.EXIT_USAGE
    assert_one_line_error(err, "is a file, not a folder" if kind == "file" else "with files hierbayes did not write")
    assert (out.read_text() if kind == "file" else (out / "notes.txt").read_text()) == "mine\n"


def test_a_prior_draws_report_does_not_read_like_a_posterior(capsys, tmp_path):
    # prior draws had been summarised with tune, prior-data conflicts and "draw more" advice
    code, out, _ = run(capsys, *_prior_fit_args(tmp_path / "report"))
    assert code == cli.EXIT_OK
    assert "draws from the prior (backend='prior': the data are not used)" in " ".join(out.split())  # wrapped
    assert "Diagnostics: none for independent prior draws" in out
    assert "Prior sensitivity" not in out and "tune" not in out


@pytest.mark.parametrize(("advice", "for_the_cli"), [
    ("Run longer (fit(tune=2000, draws=2000)); if", "Run longer (--tune 2000 --draws 2000); if"),
    ("Draw more: fit(draws=200) or more chains", "Draw more: --draws 200 or more chains"),
    ("Raise it: fit(target_accept=0.99); else", "Raise it: target_accept = 0.99 in [sampler] of the model file; else"),
    ("use Model(..., parameterization={'Subject': 'centered'}).", "use parameterization = {Subject = 'centered'} in [model]."),
    ("priors={'sd:judge': hb.Prior('HalfNormal', sigma=0.5)}.",
     "[priors] 'sd:judge' = { dist = 'HalfNormal', sigma = 0.5 } in the model file."),
    ("pass missing='drop' to drop them", "pass missing = 'drop' in [data] to drop them"),
    ("unreliable; fit.logo('g', reloo=True) refits them exactly (brms's reloo; fit.logo('g', method='exact', "
     "levels=['1', '2']) shows them alone)", "unreliable; hierbayes compare FIT --group g --reloo refits them "
     "exactly (brms's reloo)"),
    ("unreliable; compare(fits, group='g', reloo=True) refits", "unreliable; hierbayes compare FIT FIT ... --group g --reloo refits"),
    ("fit.summary(exponentiate=True) and fit.fixef(exponentiate=True) show odds ratios",
     "hierbayes summary REPORT --exponentiate shows odds ratios"),
    ("exponentiate=True needs a logit, cloglog or log link", "--exponentiate needs a logit, cloglog or log link"),
    ("re.form = NA: groups='exclude' (hierbayes predict --groups exclude), or averaged over them: groups='marginal', "
     "or with the terms newdata has only: groups=['plate', 'sample'] (lme4's re.form)",
     "re.form = NA: --groups exclude, or averaged over them: --groups marginal, or with the terms newdata has only: "
     "--groups plate,sample (lme4's re.form)"),
])
def test_warnings_give_their_advice_in_the_command_lines_terms(advice, for_the_cli):
    # a CLI user had been told to call fit(tune=2000) and to pass priors={...}
    assert cli.cli_advice(advice) == for_the_cli


def test_formula_and_check_print_a_known_sigma(capsys):
    # brms' se(): the combined formula has no trace of it; its sigma formula is printed under it
    code, out, err = run(capsys, "formula", MODELS / "bcg_meta.toml")
    assert code == 0 and out == "yi ~ ablat + (1 | trial)\n  sigma ~ 0 + offset(log(sei))\n", err
    code, out, _ = run(capsys, "check", MODELS / "bcg_meta.toml")
    assert "formula: yi ~ ablat + (1 | trial)\n  sigma ~ 0 + offset(log(sei))\n" in out and "sigma " not in out.split(
        "priors:")[1]
