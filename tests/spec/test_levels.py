"""Level equations (HLM style): same ModelSpec as the formula, validation, reports, centering."""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.design import build_design
from hierbayes.design.centering import add_group_mean, grand_mean_center, group_mean_center
from hierbayes.design.level_checks import check_level_predictors
from hierbayes.errors import DataError, FormulaSyntaxError, SpecError
from hierbayes.modelfile import load_model_file
from hierbayes.results.report import equation_sections
from hierbayes.spec import Covariance, parse_formula
from hierbayes.spec.levels import levels, parse_levels

MODELS = Path(__file__).resolve().parents[2] / "models"

# Every shipped level-equation model and the lme4 formula written by hand.
HAND_WRITTEN = {
    "gcse_ri": "gcse ~ lrt + (1 | school)",
    "gcse_rs": "gcse ~ lrt + (1 + lrt | school)",
    "gcse_gend": "gcse ~ lrt + C(schgend) + lrt:C(schgend) + (1 + lrt | school)",
    "gcse_contextual": "gcse ~ lrt + lrt_mean + (1 + lrt | school)",
    "sleepstudy": "Reaction ~ Days + (1 + Days | Subject)",
    "radon": "log_radon ~ floor + log_uranium + (1 | county)",
    "penicillin": "diameter ~ 1 + (1 | plate) + (1 | sample)",
    "pastes": "strength ~ 1 + (1 | batch) + (1 | batch:cask)",
    "insteval_dept": "y ~ lectage + service + (1 | dept)",
    "insteval_dept_slope": "y ~ lectage + service + (0 + lectage | dept)",
    "insteval_dept_both": "y ~ lectage + service + (1 + lectage | dept)",
    "insteval_crossed": "y ~ service + (1 | s) + (1 | d) + (1 | dept)",
    "ovary_ar1": "follicles ~ s + c + (1 | Mare)",
}
# lme4 spellings that must give the same spec (nesting, crossing written compactly)
LME4_SHORTHAND = {
    "pastes": "strength ~ 1 + (1 | batch/cask)",
    "gcse_rs": "gcse ~ lrt + (lrt | school)",
    "sleepstudy": "Reaction ~ Days + (Days | Subject)",
    "insteval_dept_slope": "y ~ lectage + service + (-1 + lectage | dept)",
}


def same(a: hb.ModelSpec, b: hb.ModelSpec) -> bool:
    """Equality ignoring ``source`` (``levels`` is not compared by ModelSpec)."""
    return replace(a, source="") == replace(b, source="")


def level_model_files() -> list[Path]:
    return sorted(p for p in MODELS.glob("*.toml") if load_model_file(p).kind == "levels")


# ================================================================ shipped models vs formulas


def test_every_level_model_file_has_a_hand_written_formula():
    names = {p.stem for p in level_model_files()}
    assert names == set(HAND_WRITTEN)


@pytest.mark.parametrize("name", sorted(HAND_WRITTEN))
def test_shipped_level_model_equals_hand_written_formula(name):
    spec = load_model_file(MODELS / f"{name}.toml").spec
    assert spec.levels is not None
    assert spec.to_formula() == HAND_WRITTEN[name]
    # a [residuals] table (ovary_ar1) is not part of the formula: tests/user/test_modelfile_residuals.py
    assert same(replace(spec, residuals=None), parse_formula(HAND_WRITTEN[name]))


@pytest.mark.parametrize("name", sorted(LME4_SHORTHAND))
def test_lme4_shorthand_gives_the_same_spec(name):
    spec = load_model_file(MODELS / f"{name}.toml").spec
    assert same(spec, parse_formula(LME4_SHORTHAND[name]))


def test_gcse_gend_design_matches_lme4_formula(gcse):
    spec = load_model_file(MODELS / "gcse_gend.toml").spec
    a = build_design(spec, gcse)
    b = build_design(parse_formula("gcse ~ lrt * C(schgend) + (lrt | school)"), gcse)
    assert a.fixed_names == b.fixed_names == (
        "Intercept", "lrt", "C(schgend)[2]", "C(schgend)[3]", "lrt:C(schgend)[2]", "lrt:C(schgend)[3]",
    )
    np.testing.assert_array_equal(a.X, b.X)


# ========================================================================= forms of input


GCSE_TEXT = """
Level 1:  gcse ~ b0 + b1*lrt
Level 2:  b0 ~ 1 + C(schgend) | school
          b1 ~ 1 + C(schgend) | school
"""


def test_python_call_text_and_textbook_forms_agree():
    by_keywords = levels("gcse ~ b0 + b1*lrt", b0="1 + C(schgend) | school", b1="1 + C(schgend) | school")
    by_text = parse_levels(GCSE_TEXT)
    textbook = parse_levels(
        """
        gcse_ij = b0_j + b1_j lrt_ij + e_ij
        b0_j = g00 + g01 C(schgend_j) + u0_j
        b1_j = g10 + g11*C(schgend_j) + u1_j
        j = school
        """
    )
    whole_equations = levels(
        "gcse ~ b0 + b1*lrt", b0="b0 ~ 1 + C(schgend) | school", b1="b1 ~ 1 + C(schgend) + u | school"
    )
    expected = parse_formula("gcse ~ lrt*C(schgend) + (lrt | school)")
    assert by_keywords.to_formula() == "gcse ~ lrt + C(schgend) + lrt:C(schgend) + (1 + lrt | school)"
    for spec in (by_text, textbook, whole_equations):
        assert same(spec, by_keywords)
    design = build_design(by_keywords, hb.datasets.load("gcse"))
    assert design.fixed_names == build_design(expected, hb.datasets.load("gcse")).fixed_names


def test_levels_text_is_canonical_and_round_trips():
    spec = parse_levels(GCSE_TEXT)
    assert str(spec.levels) == (
        "gcse ~ b0 + b1*lrt\nb0 ~ 1 + C(schgend) | school\nb1 ~ 1 + C(schgend) | school"
    )
    assert same(parse_levels(str(spec.levels)), spec)
    eq = spec.levels.equations_for("b1")[0]
    assert (eq.level, eq.group, eq.random, eq.multiplies) == (2, ("school",), True, "lrt")
    assert eq.predictors == ("C(schgend)",) and eq.variables == ("schgend",)


def test_textbook_form_is_literal_about_u_and_the_intercept():
    # no u1 -> non-varying slope; no g00 -> no intercept
    spec = parse_levels("y_ij = b0_j + b1_j*x_ij + r_ij\nb0_j = g01*z_j + u0_j | g\nb1_j = g10 | g")
    assert spec.to_formula() == "y ~ 0 + x + z + (1 | g)"


def test_fixed_option_and_non_varying_coefficients():
    spec = parse_levels("y ~ b0 + b1*x + b2*w\nb0 ~ 1 | g\nb1 ~ 1 + z | g, fixed\nb2 ~ 1")
    assert spec.to_formula() == "y ~ x + w + x:z + (1 | g)"  # z predicts only the slope
    # a level-1 term without a coefficient is a non-varying fixed effect
    assert same(parse_levels("y ~ b0 + b1*x + w\nb0 ~ 1 | g\nb1 ~ 1 | g"), parse_formula("y ~ x + w + (x | g)"))


def test_slope_only_random_and_no_fixed_intercept():
    spec = parse_levels("y ~ b0 + b1*x\nb0 ~ 1 | g, fixed\nb1 ~ 1 | g")
    assert spec.to_formula() == "y ~ x + (0 + x | g)"
    spec = parse_levels("y ~ 0 + b1*x\nb1 ~ 1 | g")
    assert spec.to_formula() == "y ~ 0 + x + (0 + x | g)"


def test_crossed_classifications_side_by_side():
    spec = levels("y ~ b0 + b1*x", b0=["1 + z | school", "1 | neighbourhood"], b1="1 | school")
    assert same(spec, parse_formula("y ~ x + z + (1 + x | school) + (1 | neighbourhood)"))


def test_three_levels_nest_like_lme4():
    spec = parse_levels(
        """
        y ~ p0 + p1*a                     # level 1: pupils
        p0 ~ b00 + b01*X | classroom      # level 2: classrooms
        p1 ~ b10 | classroom
        b00 ~ 1 + W | school              # level 3: schools
        b01 ~ 1 + W | school
        b10 ~ 1 | school, fixed
        """
    )
    assert spec.to_formula() == "y ~ a + X + W + X:W + (1 + X | school) + (1 + a | school:classroom)"
    assert [e.level for e in spec.levels.equations_for("b00")] == [3]
    assert spec.levels.equations_for("p0")[0].group == ("school", "classroom")


def test_covariance_per_level():
    base = "y ~ b0 + b1*x\nb0 ~ 1 | g\nb1 ~ 1 | g\nb0 ~ 1 | h\n"
    spec = parse_levels(base.replace("b1 ~ 1 | g", "b1 ~ 1 | g\nb1 ~ 1 | h"), covariance={"h": "exchangeable"})
    covs = {g.group: g.covariance for g in spec.groups}
    assert covs == {"g": Covariance.UNSTRUCTURED, "h": Covariance.EXCHANGEABLE}
    spec = parse_levels("y ~ b0 + b1*x\nb0 ~ 1 || g\nb1 ~ 1 || g")
    assert same(spec, parse_formula("y ~ x + (x || g)"))
    spec = parse_levels("y ~ b0 + b1*x\nb0 ~ 1 | g\nb1 ~ 1 | g\ncovariance(g) = identity")
    assert spec.groups[0].covariance is Covariance.IDENTITY


def test_family_and_link_are_stored():
    spec = levels("y ~ b0 + b1*x", b0="1 | g", b1="1", family="bernoulli", link="probit")
    assert (spec.family, spec.link) == ("bernoulli", "probit")
    assert same(spec, parse_formula("y ~ x + (1 | g)", family="bernoulli", link="probit"))


# ================================================================================ errors


@pytest.mark.parametrize(
    ("text", "needle", "position"),
    [
        ("y ~ b0 + b1*x\nb0 ~ 1 | g", "'b1' looks like a coefficient", 9),
        ("y ~ b0 + b1*x\nb0 ~ 1 | g\nb1 ~ 1 | g/h", "nesting is written with level-3 equations", 10),
        ("y ~ b0 + b1*x\nb0 ~ 1 | g\nb1 ~ 1 | g, fixd", "unknown option 'fixd'", 12),
        ("y ~ b0 + b1*x\nb0 ~ 1 + z + (1|h) | g\nb1 ~ 1", "group terms like (1 | g)", 13),
        ("y ~ b0 + b1*x | g\nb0 ~ 1 | g\nb1 ~ 1", "level-1 equation has no grouping factor", 14),
        ("y ~ b0 + b1*x\nb0 ~ 1 + u\nb1 ~ 1", "needs a grouping factor", 5),
        ("y ~ b0\nb0 ~ 1 + z + | g", "expected a term after '+'", 11),
    ],
)
def test_syntax_errors_name_the_equation_and_position(text, needle, position):
    with pytest.raises(FormulaSyntaxError) as info:
        parse_levels(text)
    assert needle in str(info.value)
    assert info.value.position == position
    assert "line" in info.value.reason  # which equation


def test_keyword_equation_errors_name_the_keyword():
    with pytest.raises(FormulaSyntaxError, match=r"equation for b1 \(keyword b1\)"):
        levels("y ~ b0 + b1*x", b0="1 | g", b1="1 + | g")
    with pytest.raises(SpecError, match="given for 'b1' but defines 'b2'"):
        levels("y ~ b0 + b1*x", b0="1 | g", b1="b2 ~ 1 | g")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("y ~ b0 + b1*x\nb0 ~ 1 | g\nb1 ~ 1 | g\nb2 ~ 1 | g", "there is an equation for 'b2'"),
        ("y ~ b0\nb0 ~ 1 | g\nb0 ~ 1 + z | g", "two equations for factor g"),
        ("y ~ b0 + b1*x\nb0 ~ 1 | g\nb1 ~ 1 || g", "with '|' in 'b0 ~ 1 | g' and with '||'"),
        ("y ~ b0\nb0 ~ 1 | g\ncovariance(g) = bogus", "unknown covariance structure 'bogus'"),
        ("y ~ b0\nb0 ~ 1 | g\nLevel 3: b9 ~ 1", "there is an equation for 'b9'"),
        ("y ~ b0 + b1*x\nb0 ~ 1 | g\nLevel 3: b1 ~ 1 | g", "labelled level 3, but it is a level-2"),
        (
            "y ~ p0\np0 ~ b00 | c\nb00 ~ 1 | s\nb00 ~ 1 | d",
            "vary over several factors",
        ),
    ],
)
def test_inconsistent_equations_are_spec_errors(text, needle):
    with pytest.raises(SpecError, match=None) as info:
        parse_levels(text)
    assert needle in str(info.value)


def test_covariance_for_unknown_factor():
    with pytest.raises(SpecError, match="valid names"):
        levels("y ~ b0", b0="1 | g", covariance={"school": "identity"})


def test_level2_predictor_varying_within_groups_names_predictor_factor_and_group(gcse):
    spec = levels("gcse ~ b0 + b1*lrt", b0="1 + lrt | school", b1="1 | school")
    with pytest.raises(DataError) as info:
        check_level_predictors(spec.levels, gcse)
    message = str(info.value)
    assert "'lrt' is a level-2 predictor" in message
    assert "group of 'school'" in message and "school = 1 " in message
    # a school-level variable passes; the nested factor is checked as a combination
    school_level = levels("gcse ~ b0 + b1*lrt", b0="1 + C(schgend) | school", b1="1 | school")
    check_level_predictors(school_level.levels, gcse)


def test_a_non_varying_coefficients_predictor_is_checked_at_the_other_equations_factor(gcse):
    # b1 ~ 1 + lrt has no factor; as b1_j = g10 + g11*lrt_j it is school-level (had passed unchecked)
    spec = levels("gcse ~ b0 + b1*lrt", b0="1 | school", b1="1 + lrt")
    with pytest.raises(DataError, match=r"'lrt' is a level-2 predictor in the equation 'b1 ~ 1 \+ lrt', .* 'school'"):
        check_level_predictors(spec.levels, gcse)
    check_level_predictors(levels("gcse ~ b0 + b1*lrt", b0="1 | school", b1="1 + C(schgend)").levels, gcse)


def test_level3_predictor_checked_on_the_nested_factor():
    df = pd.DataFrame(
        {
            "y": np.arange(8.0),
            "batch": list("aabbaabb"),
            "cask": list("xxxxyyyy"),
            "W": [1, 1, 2, 2, 1, 1, 2, 2],  # constant within batch
            "X": [1, 1, 5, 5, 3, 3, 4, 9],  # varies within batch:cask b:y
        }
    )
    spec = parse_levels("y ~ p0\np0 ~ b00 + b01*X | cask\nb00 ~ 1 + W | batch\nb01 ~ 1 | batch")
    with pytest.raises(DataError, match=r"'X' is a level-2 .* batch = b, cask = y"):
        check_level_predictors(spec.levels, df)
    check_level_predictors(spec.levels, df.assign(X=[1, 1, 5, 5, 3, 3, 4, 4]))


# ================================================================================ report


def _fake_fixed_table(names: tuple[str, ...]) -> pd.DataFrame:
    n = len(names)
    table = pd.DataFrame(
        {
            "mean": np.arange(n, dtype=float),
            "sd": np.ones(n),
            "median": np.arange(n, dtype=float),
            "lower": np.arange(n) - 2.0,
            "upper": np.arange(n) + 2.0,
            "r_hat": np.ones(n),
            "ess_bulk": np.full(n, 400.0),
            "ess_tail": np.full(n, 400.0),
        },
        index=pd.Index(names, name="term"),
    )
    table.attrs["interval"] = "95% equal-tailed interval"
    return table


def test_report_sections_list_gammas_under_their_equation(gcse):
    spec = parse_levels(GCSE_TEXT)
    design = build_design(spec, gcse)
    sections = equation_sections(spec.levels, _fake_fixed_table(design.fixed_names))
    assert [s.title for s in sections] == [
        "Level 2, b0 (intercept): b0 ~ 1 + C(schgend) | school",
        "Level 2, b1 (slope of lrt): b1 ~ 1 + C(schgend) | school",
    ]
    b0, b1 = (s.table for s in sections)
    assert list(b0["coef"]) == ["g00", "g01", "g02"]
    assert list(b0["term"]) == ["Intercept", "C(schgend)[2]", "C(schgend)[3]"]
    assert list(b1["coef"]) == ["g10", "g11", "g12"]
    assert list(b1["term"]) == ["lrt", "lrt:C(schgend)[2]", "lrt:C(schgend)[3]"]


def test_report_sections_three_levels_and_level1_terms():
    spec = parse_levels(
        "y ~ p0 + p1*a + w\np0 ~ b00 + b01*X | c\np1 ~ b10 | c\nb00 ~ 1 + W | s\nb01 ~ 1 + W | s\nb10 ~ 1"
    )
    names = ("Intercept", "a", "w", "X", "W", "X:W")
    sections = equation_sections(spec.levels, _fake_fixed_table(names))
    got = {s.title.split(":")[0]: list(zip(s.table["coef"], s.table["term"])) for s in sections}
    assert got == {
        "Level 3, b00 (intercept)": [("g000", "Intercept"), ("g001", "W")],
        "Level 3, b01 (slope of X)": [("g010", "X"), ("g011", "X:W")],
        "Level 3, b10 (slope of a)": [("g100", "a")],
        "Level 1, no level-2 equation": [("g20", "w")],
    }


# ============================================================================== centering


def test_centering_helpers_return_new_frames(gcse):
    before = gcse.copy()
    cwc = group_mean_center(gcse, "lrt", by="school")
    assert "lrt_cwc" not in gcse.columns and gcse.equals(before)
    np.testing.assert_allclose(cwc.groupby("school", observed=True)["lrt_cwc"].mean(), 0, atol=1e-12)
    cgm = grand_mean_center(gcse, ["lrt", "gcse"])
    assert abs(cgm["lrt_cgm"].mean()) < 1e-12 and abs(cgm["gcse_cgm"].mean()) < 1e-12
    means = gcse.groupby("school", observed=True)["lrt"].mean()
    by_group = grand_mean_center(gcse, "lrt", by="school")
    np.testing.assert_allclose(by_group["lrt_cgm"], gcse["lrt"] - means.mean())
    ctx = add_group_mean(gcse, "lrt", by="school", name="lrt_school")
    np.testing.assert_allclose(ctx["lrt_school"], gcse["school"].map(means).astype(float))
    # the group mean is a valid level-2 predictor, the raw variable is not
    spec = levels("gcse ~ b0 + b1*lrt", b0="1 + lrt_school | school", b1="1 | school")
    check_level_predictors(spec.levels, ctx)


def test_centering_errors():
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "g": ["a", "a", None], "t": ["u", "v", "w"]})
    with pytest.raises(DataError, match="missing values"):
        group_mean_center(df, "x", by="g")
    with pytest.raises(DataError, match="'xx' is not a column"):
        grand_mean_center(df, "xx")
    with pytest.raises(DataError, match="needs numbers"):
        grand_mean_center(df, "t")
    with pytest.raises(DataError, match="already exists"):
        grand_mean_center(df, "x", name="t")
    out = group_mean_center(df.dropna(), "x", by="g")
    np.testing.assert_allclose(out["x_cwc"], [-0.5, 0.5])


# ========================================================================== fits (sampling)


@pytest.fixture(scope="module")
def sleep_level_and_formula_fits(sleepstudy):
    spec = levels("Reaction ~ b0 + b1*Days", b0="1 | Subject", b1="1 | Subject")
    kwargs = dict(draws=60, tune=60, chains=2, random_seed=7, progressbar=False)
    with warnings.catch_warnings():  # few draws on purpose: only equality is tested here
        warnings.simplefilter("ignore", UserWarning)
        by_levels = hb.Model(spec, sleepstudy).fit(**kwargs)
        by_formula = hb.Model("Reaction ~ Days + (Days | Subject)", sleepstudy).fit(**kwargs)
    return by_levels, by_formula


def test_level_fit_equals_formula_fit_on_the_same_seed(sleep_level_and_formula_fits):
    by_levels, by_formula = sleep_level_and_formula_fits
    a, b = by_levels.posterior, by_formula.posterior
    assert set(a.data_vars) == set(b.data_vars)
    for name in b.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)


def test_level_fit_summary_groups_coefficients_by_equation(sleep_level_and_formula_fits):
    by_levels, by_formula = sleep_level_and_formula_fits
    text = str(by_levels.summary())
    assert "Level 2, b0 (intercept): b0 ~ 1 | Subject" in text
    assert "Level 2, b1 (slope of Days): b1 ~ 1 | Subject" in text
    assert "g00" in text and "g10" in text
    assert "g00" not in str(by_formula.summary())


# ============================================================ gcse_gend against Stata/lme4


def _stata_name(term: str) -> str:
    """lme4's 'factor(schgend)2' -> hierbayes' 'C(schgend)[2]'."""
    if term == "(Intercept)":
        return "Intercept"
    return term.replace("factor(schgend)2", "C(schgend)[2]").replace("factor(schgend)3", "C(schgend)[3]")


@pytest.fixture(scope="module")
def gcse_gend_fit(gcse):
    from conftest import fit_quiet

    mf = load_model_file(MODELS / "gcse_gend.toml")
    return fit_quiet(mf.build(gcse), draws=500, tune=500, chains=4, random_seed=11)


@pytest.mark.slow
def test_gcse_gend_levels_reproduce_stata_table(gcse_gend_fit):
    """Stata: mixed gcse c.lrt##i.schgend || school: lrt, covariance(unstructured) mle
    (Rabe-Hesketh & Skrondal); the same ML numbers as lme4 in tests/refs/lme4/gcse_gend.json."""
    from conftest import load_ref

    ref = load_ref("lme4", "gcse_gend")
    fixed = {_stata_name(e["term"]): e["estimate"] for e in ref["fixed_effects"]}
    stata = {
        "lrt": 0.5712, "C(schgend)[2]": 0.855, "C(schgend)[3]": 2.475,
        "lrt:C(schgend)[2]": -0.023, "lrt:C(schgend)[3]": -0.029, "Intercept": -0.998,
    }
    for term, value in stata.items():
        assert fixed[term] == pytest.approx(value, abs=1e-3)
    fe = gcse_gend_fit.fixef()
    for term, value in fixed.items():
        z = abs(fe.loc[term, "mean"] - value) / fe.loc[term, "sd"]
        assert z < 0.3, f"{term}: {fe.loc[term, 'mean']:.4f} vs {value:.4f} ({z:.2f} posterior sd)"
    vc = {(r.group, r.term): r for r in gcse_gend_fit.varcorr().itertuples(index=False)}
    sds = ref["variance_components"]["groups"]["school"]["sd"]
    for key, value in (
        (("school", "sd(Intercept)"), sds["(Intercept)"]),  # Stata 2.80
        (("school", "sd(lrt)"), sds["lrt"]),  # .120
        (("Residual", "sd(Residual)"), ref["variance_components"]["residual_sd"]),  # 7.443
    ):
        assert abs(vc[key].median - value) / value < 0.10, (key, vc[key].median, value)
    cor = vc[("school", "cor(Intercept,lrt)")]
    assert abs(cor.mean - 0.597) < cor.sd, (cor.mean, cor.sd)  # Stata .597; LKJ(2) shrinks a little
    assert gcse_gend_fit.diagnostics.divergences == 0


@pytest.mark.slow
def test_gcse_gend_summary_lists_gammas_by_equation(gcse_gend_fit):
    text = str(gcse_gend_fit.summary())
    assert "Level 2, b0 (intercept): b0 ~ 1 + C(schgend) | school" in text
    assert "Level 2, b1 (slope of lrt): b1 ~ 1 + C(schgend) | school" in text
    for gamma, term in (("g01", "C(schgend)[2]"), ("g12", "lrt:C(schgend)[3]")):
        assert any(gamma in line and term in line for line in text.splitlines())


def test_source_is_the_canonical_equations_and_round_trips():
    spec = levels(
        "y_ij = b0_j + b1_j x_ij + e_ij", b0="b0_j = g00 + g01 z_j + u0_j", b1="b1_j = g10 + u1_j",
        subscripts={"j": "school"}, covariance={"school": "exchangeable"},
    )
    assert spec.source == (
        "y ~ b0 + b1*x\nb0 ~ 1 + z | school\nb1 ~ 1 | school\ncovariance(school) = exchangeable"
    )
    again = parse_levels(spec.source)
    assert again == spec and again.groups[0].covariance is Covariance.EXCHANGEABLE


def test_fixed_groups_are_plain_data_for_reports(gcse):
    spec = parse_levels(GCSE_TEXT)
    design = build_design(spec, gcse)
    groups = spec.levels.fixed_groups(list(design.fixed_names))
    assert [g.title for g in groups] == [
        "Level 2, b0 (intercept): b0 ~ 1 + C(schgend) | school",
        "Level 2, b1 (slope of lrt): b1 ~ 1 + C(schgend) | school",
    ]
    assert groups[0].labels == (
        ("Intercept", "g00"), ("C(schgend)[2]", "g01"), ("C(schgend)[3]", "g02"),
    )
    assert groups[1].columns == ["lrt", "lrt:C(schgend)[2]", "lrt:C(schgend)[3]"]
    assert groups[1].gammas == ["g10", "g11", "g12"]


TEXTBOOK = "mAch_ij = b0_j + b1_j*cses_ij + r_ij\n"


def test_textbook_gammas_keep_the_users_numbers():
    # g02*catholic + g01*meanses had been labelled catholic g01, meanses g02 in the summary
    spec = parse_levels(TEXTBOOK + "b0_j = g00 + g02*catholic_j + g01*meanses_j + u0_j\n"
                        "b1_j = g10 + g12*catholic_j + g11*meanses_j", subscripts={"j": "school"})
    (b0,) = spec.levels.equations_for("b0")
    (b1,) = spec.levels.equations_for("b1")
    assert b0.predictors == ("meanses", "catholic") and b1.predictors == ("meanses", "catholic")


@pytest.mark.parametrize(("equations", "message"), [
    ("b0_j = g00 + g11*catholic_j + u0_j\nb1_j = g10",
     r"gamma 'g11' in the equation of b0: its gammas are g00 \(the intercept\), g01, g02"),
    ("b0_j = g00 + g01*catholic_j + u1_j\nb1_j = g10 + u0_j", r"random term 'u1' in the equation of b0: its random term is u0"),
    ("b0_j = g00 + g02*catholic_j + u0_j\nb1_j = g10", r"the gammas of b0 skip a number \(g02\): number them g01, g02"),
    ("b0_j = g01 + g02*catholic_j + u0_j\nb1_j = g10", r"gamma 'g01' in the equation of b0: the intercept's gamma is g00"),
    ("b0_j = g00 + g01*catholic_j + g01*meanses_j + u0_j\nb1_j = g10",
     r"gamma 'g01' in the equation of b0: a predictor's gamma is numbered from g01, each number once"),
])
def test_textbook_gammas_and_random_terms_numbered_for_another_coefficient_are_refused(equations, message):
    with pytest.raises(SpecError, match=message):
        parse_levels(TEXTBOOK + equations, subscripts={"j": "school"})
