"""Declarative TOML model files: parsing, data preparation, validation and errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hierbayes.errors import DataError, PriorError, SpecError
from hierbayes.modelfile import load_model_file
from hierbayes.priors import Prior

MODELS = Path(__file__).resolve().parents[2] / "models"
SHIPPED = sorted(MODELS.glob("*.toml"))


def write(tmp_path: Path, text: str, name: str = "m.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_classic_analyses_are_shipped():
    names = {p.stem for p in SHIPPED}
    for needed in (
        "gcse_ri", "gcse_rs", "gcse_gend", "insteval_dept", "insteval_dept_slope",
        "insteval_dept_both", "sleepstudy", "radon", "penicillin", "pastes",
    ):
        assert needed in names


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_files_parse(path):
    mf = load_model_file(path)
    assert mf.name == path.stem
    assert mf.description
    assert mf.sampler.random_seed is not None and mf.sampler.chains >= 1


def test_gcse_file_reads_filtered_data():
    mf = load_model_file(MODELS / "gcse_gend.toml")
    df = mf.load_data()
    assert len(df) == 4057 and df["school"].nunique() == 64
    assert mf.kind == "levels" and mf.data.filter == "nstu > 4"


def test_radon_has_a_county_level_predictor_equation():
    spec = load_model_file(MODELS / "radon.toml").spec
    (eq,) = spec.levels.equations_for("b0")
    assert eq.predictors == ("log_uranium",) and eq.group == ("county",)


def test_stata_file_gives_the_same_spec_as_the_level_file():
    a = load_model_file(MODELS / "gcse_gend.toml").spec
    b = load_model_file(MODELS / "gcse_gend_stata.toml").spec
    assert a.to_formula() == b.to_formula()
    assert a.groups == b.groups and a.fixed == b.fixed


def test_priors_and_sampler_settings(tmp_path):
    path = write(
        tmp_path,
        """
        [data]
        source = "sleepstudy"
        [model]
        formula = "Reaction ~ Days + (Days | Subject)"
        [priors]
        sigma = { dist = "HalfStudentT", nu = 3, sigma = 50 }
        "sd:Subject" = { dist = "HalfNormal", sigma = 30 }
        [sampler]
        draws = 200
        tune = 100
        chains = 2
        seed = 5
        sampler = "numpyro"
        target_accept = 0.95
        """,
    )
    mf = load_model_file(path)
    assert mf.priors == {
        "sigma": Prior("HalfStudentT", nu=3.0, sigma=50.0),
        "sd:Subject": Prior("HalfNormal", sigma=30.0),
    }
    assert mf.sampler.as_kwargs() == {
        "draws": 200, "tune": 100, "chains": 2, "cores": None, "random_seed": 5,
        "sampler": "numpyro", "target_accept": 0.95, "progressbar": True, "backend": "pymc",
    }
    model = mf.build()
    assert model.priors.get("sd", "Subject", "Days") == Prior("HalfNormal", sigma=30.0)
    assert mf.name == "m"  # defaults to the file name


def test_csv_relative_to_file_factors_and_centering(tmp_path):
    rng = np.random.default_rng(0)
    school = np.repeat([3, 1, 2, 10], 5)
    df = pd.DataFrame({"y": rng.normal(size=20), "x": rng.normal(size=20), "school": school})
    (tmp_path / "data").mkdir()
    df.to_csv(tmp_path / "data" / "toy.csv", index=False)
    path = write(
        tmp_path,
        """
        [data]
        source = "data/toy.csv"
        factors = ["school"]
        filter = "y > -5"
        group_mean_center = { x = "school" }
        grand_mean_center = ["x"]
        group_mean = { x = "school" }
        [model]
        levels = "y ~ b0 + b1*x_cwc; b0 ~ 1 + x_mean | school; b1 ~ 1"
        """,
    )
    mf = load_model_file(path)
    data = mf.load_data()
    assert list(data["school"].cat.categories) == ["1", "2", "3", "10"]
    assert {"x_cwc", "x_cgm", "x_mean"} <= set(data.columns)
    np.testing.assert_allclose(data.groupby("school", observed=True)["x_cwc"].mean(), 0, atol=1e-12)
    model = mf.build(data)
    assert model.design.fixed_names == ("Intercept", "x_cwc", "x_mean")


def test_level2_predictor_checked_when_building(tmp_path):
    path = write(
        tmp_path,
        """
        [data]
        source = "gcse"
        filter = "nstu > 4"
        [model]
        levels = ["gcse ~ b0 + b1*lrt", "b0 ~ 1 + lrt | school", "b1 ~ 1 | school"]
        """,
    )
    mf = load_model_file(path)
    with pytest.raises(DataError, match="'lrt' is a level-2 predictor.*'school'.*school = 1 ") as info:
        mf.build()
    # the advice is the file's own key, not a Python function
    assert 'in this file: group_mean = { <column> = "<group>" } under [data]' in str(info.value)
    assert "add_group_mean" not in str(info.value)


def test_a_bayes_prefix_in_a_model_file_points_to_the_files_keys(tmp_path):
    path = write(tmp_path, """
        [data]
        source = "sleepstudy"
        [model]
        stata = "bayes, prior({Reaction:Days}, normal(0, 1)) mcmcsize(500): mixed Reaction Days || Subject:"
        """)
    with pytest.raises(SpecError, match=r"m.toml: \[model\] stata: a model file does not read the bayes prefix's "
                                        r"priors and sampler options; write them as keys: \[priors\] .* \[sampler\]"):
        load_model_file(path)


def test_levels_as_a_table(tmp_path):
    path = write(
        tmp_path,
        """
        [data]
        source = "Penicillin"
        [model.levels]
        level1 = "diameter ~ b0"
        b0 = ["1 | plate", "1 | sample"]
        """,
    )
    assert load_model_file(path).spec.to_formula() == "diameter ~ 1 + (1 | plate) + (1 | sample)"


@pytest.mark.parametrize(
    ("text", "error", "needle"),
    [
        ("[data]\nsource = 'gcse'\n[model]\nformula = 'gcse ~ lrt'\nlevels = 'x'", SpecError, "exactly one of"),
        ("[data]\nsource = 'gcse'\n[model]\nfamily = 'gaussian'", SpecError, "exactly one of"),
        ("[data]\nsource = 'gcse'", SpecError, "a [model] table"),
        ("[model]\nformula = 'y ~ x'", SpecError, "data.source is required"),
        ("[data]\nsource = 'gcse'\n[model]\nformla = 'y ~ x'", SpecError, "Did you mean 'formula'"),
        ("[data]\nsource = 'gcse'\nfiltr = 'x'\n[model]\nformula = 'y ~ x'", SpecError, "unknown key 'filtr'"),
        ("[data]\nsource = 'gcse'\n[model]\nformula = 'y ~ x +'", SpecError, "position"),
        ("[data]\nsource = 'gcse'\n[model]\nformula = 'y ~ x'\n[sampler]\ndraws = 0", SpecError, "draws"),
        ("[data]\nsource = 'gcse'\n[model]\nformula = 'y ~ x'\n[sampler]\ntarget_accept = 2", SpecError, "between 0 and 1"),
        ("[data]\nsource = 'gcse'\n[model]\nformula = 'y ~ x'\n[priors]\nsigma = 3", SpecError, "dist ="),
        ("[data]\nsource = 'gcse'\n[model]\nformula = 'y ~ x'\n[priors]\nsigma = {dist='Normal', mu='a'}", SpecError, "must be a number"),
        ("[data]\nsource = 'gcse'\n[model]\nformula = 'y ~ x\n", SpecError, "invalid TOML"),
        ("oops = 1\n[data]\nsource = 'gcse'\n[model]\nformula = 'y ~ x'", SpecError, "unknown key 'oops'"),
        ("[data]\nsource = 'gcse'\nmissing = 'impute'\n[model]\nformula = 'y ~ x'", SpecError,
         "valid values are 'error', 'drop' and 'model'"),
    ],
)
def test_file_errors(tmp_path, text, error, needle):
    path = write(tmp_path, text)
    with pytest.raises(error) as info:
        load_model_file(path)
    assert needle in str(info.value)


@pytest.mark.parametrize(
    ("data", "model", "error", "needle"),
    [
        ("source = 'gcsee'", "formula = 'gcse ~ lrt + (1|school)'", DataError, "Did you mean 'gcse'"),
        ("source = 'nope.csv'", "formula = 'gcse ~ lrt + (1|school)'", DataError, "not found"),
        ("source = 'gcse'\nfilter = 'nstu >'", "formula = 'gcse ~ lrt + (1|school)'", DataError, "is not an expression of columns"),
        ("source = 'gcse'\nfilter = 'nstuu > 4'", "formula = 'gcse ~ lrt + (1|school)'", DataError, "could not be evaluated"),
        ("source = 'gcse'\nfilter = 'nstu > 1000'", "formula = 'gcse ~ lrt + (1|school)'", DataError, "keeps no rows"),
        ("source = 'gcse'", "formula = 'gcse ~ lrtt + (1|school)'", DataError, "lrtt"),
        ("source = 'gcse'\ngroup_mean = { lrt = 'schol' }", "formula = 'gcse ~ lrt + (1|school)'", DataError, "'schol'"),
    ],
)
def test_data_errors_when_building(tmp_path, data, model, error, needle):
    path = write(tmp_path, f"[data]\n{data}\n[model]\n{model}\n")
    mf = load_model_file(path)
    with pytest.raises(error) as info:
        mf.build()
    assert needle in str(info.value)


@pytest.mark.parametrize(("expression", "what"), [
    ("nstu.to_csv('{out}') is None or nstu > 4", "a function or method call"),
    ("__import__('os').system('touch {out}') or nstu > 4", "a function or method call"),
    ("nstu.values[0] > 4", "an index"),
])
def test_a_filter_cannot_run_code(tmp_path, expression, what):
    # pandas' query(engine="python") ran method calls: opening a shared model file wrote files
    out = tmp_path / "written.csv"
    text = expression.format(out=out)
    path = write(tmp_path, f"[data]\nsource = 'gcse'\nfilter = \"\"\"{text}\"\"\"\n[model]\nformula = 'gcse ~ lrt + (1|school)'\n")
    with pytest.raises(DataError, match=f"has {what}"):
        load_model_file(path).build()
    assert not out.exists()


def test_a_filter_of_comparisons_and_backquoted_names_works(tmp_path):
    path = write(tmp_path, "[data]\nsource = 'gcse'\nfilter = \"nstu > 4 and not (`lrt` < -30) and nstu in [71, 88]\"\n"
                           "[model]\nformula = 'gcse ~ lrt + (1|school)'\n")
    model = load_model_file(path).build()
    assert 0 < model.design.n_obs


def test_unknown_prior_key_is_a_prior_error(tmp_path):
    path = write(
        tmp_path,
        "[data]\nsource = 'sleepstudy'\n[model]\nformula = 'Reaction ~ Days + (1|Subject)'\n"
        "[priors]\n'sd:Subjet' = { dist = 'HalfNormal', sigma = 1 }\n",
    )
    with pytest.raises(PriorError, match="sd:Subjet"):
        load_model_file(path).build()


def test_missing_file():
    with pytest.raises(SpecError, match="not found"):
        load_model_file("does/not/exist.toml")


@pytest.mark.parametrize("family", ["weibull", "lognormal"])
def test_kidney_files_build_the_censored_frailty_model(family):
    mf = load_model_file(MODELS / f"kidney_{family}.toml")
    assert mf.spec.to_formula() == "time | cens(censored) ~ age + sex + disease + (1 | patient)"
    assert mf.spec.family.name == family
    design = mf.build().design
    assert design.censoring.counts() == {"none": 58, "right": 18}
    assert list(design.fixed_names) == ["Intercept", "age", "sex[female]", "disease[GN]", "disease[AN]", "disease[PKD]"]


def test_mestreg_file_names_the_stset_variables(tmp_path):
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"t": rng.weibull(1.5, 24) + 0.1, "d": np.tile([1, 1, 0], 8),
                       "x": rng.normal(size=24), "id": np.repeat(list("abcdef"), 4)})
    df.to_csv(tmp_path / "surv.csv", index=False)
    path = write(tmp_path, """
        name = "m"
        description = "weibull frailty"
        [data]
        source = "surv.csv"
        [model]
        stata = "mestreg x || id:, distribution(weibull)"
        time = "t"
        failure = "d"
        """)
    mf = load_model_file(path)
    assert mf.spec.to_formula() == "t | event(d) ~ x + (1 | id)" and mf.spec.metric == "hr"
    assert mf.build().design.censoring.counts() == {"none": 16, "right": 8}


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ('family = "poisson"', r"\[model\] family = 'poisson' disagrees with the Stata command, which gives family 'gaussian'"),
        ('link = "log"', r"\[model\] link = 'log' disagrees with the Stata command, which gives link 'identity'"),
        ('covariance = { Subject = "independent" }', r"\[model\] covariance = \{'Subject': 'independent'\} disagrees "
                                                     r"with the Stata command's random-effects equations; give it in the command"),
    ],
)
def test_model_keys_that_contradict_a_stata_command_are_refused(tmp_path, keys, message):
    # they had replaced the command's family / covariance silently
    path = write(tmp_path, f"""
        [data]
        source = "sleepstudy"
        [model]
        {keys}
        stata = "mixed Reaction Days || Subject: Days, covariance(unstructured)"
        """)
    with pytest.raises(SpecError, match=message):
        load_model_file(path)


def test_model_keys_that_agree_with_a_stata_command_are_accepted(tmp_path):
    path = write(tmp_path, """
        [data]
        source = "sleepstudy"
        [model]
        family = "gaussian"
        link = "identity"
        covariance = { Subject = "unstructured" }
        stata = "mixed Reaction Days || Subject: Days, covariance(unstructured)"
        """)
    assert load_model_file(path).spec.to_formula() == "Reaction ~ Days + (1 + Days | Subject)"


def test_mestreg_without_its_time_says_which_keys_to_give(tmp_path):
    # it had answered with from_stata(..., time='t', failure='d'), Python a model file cannot hold
    path = write(tmp_path, """
        [data]
        source = "kidney"
        [model]
        stata = "mestreg age sex || patient:, distribution(weibull)"
        """)
    with pytest.raises(SpecError, match=r"\[model\] stata: mestreg needs the survival time: give the variables of "
                                        r"'stset t, failure\(d\)' as keys beside it, time = \"t\" and failure = \"d\""):
        load_model_file(path)


def test_ordered_reads_a_text_column_as_an_ordinal_response(tmp_path):
    # MASS's housing from a CSV: a model file had no way to order Sat's text levels ("response 'Sat'
    # has dtype str; the cumulative family needs an ordered categorical")
    df = pd.DataFrame({"Sat": ["Low", "High", "Medium", "High", "Low", "Medium"], "x": [0.1, 2, 1, 3, 0, 1.5],
                       "n": [3, 1, 2, 4, 2, 1]})
    df.to_csv(tmp_path / "h.csv", index=False)
    text = """
        [data]
        source = "h.csv"
        ordered = {{ Sat = {levels} }}
        [model]
        family = "cumulative"
        formula = "Sat ~ x"
        [weights]
        column = "n"
        kind = "frequency"
        """
    mf = load_model_file(write(tmp_path, text.format(levels='["Low", "Medium", "High"]')))
    data = mf.load_data()
    assert data["Sat"].cat.ordered and list(data["Sat"].cat.categories) == ["Low", "Medium", "High"]
    np.testing.assert_array_equal(mf.build(data).design.y, [0, 2, 1, 2, 0, 1])
    with pytest.raises(DataError, match=r"lacks the value\(s\) \['Medium'\] of 'Sat'"):
        load_model_file(write(tmp_path, text.format(levels='["Low", "High"]'))).load_data()
    with pytest.raises(SpecError, match=r"data\.ordered.* must be a table column = \[\"lowest\", \.\.\., "
                                        r"\"highest\"\]"):
        load_model_file(write(tmp_path, text.format(levels='"Low"')))
    unordered = load_model_file(write(tmp_path, text.replace("ordered = {{ Sat = {levels} }}", "")))
    with pytest.raises(DataError, match=r"a model file: \[data\] ordered = \{ Sat = \[\"lowest\", \.\.\., "
                                        r"\"highest\"\] \}"):
        unordered.build(unordered.load_data())
