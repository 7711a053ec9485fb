"""Residual structures: the spelling, the IR, saving, and the data checks (no sampling)."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.design.residuals import TimeUnitWarning
from hierbayes.errors import DataError, SpecError
from hierbayes.spec.residuals import ResidualKind, register_residual_kind, residual_kind
from hierbayes.spec.serialize import spec_from_dict, spec_to_dict


def _panel(n_groups: int = 4, n_times: int = 3, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [(f"g{j}", t, "a" if j % 2 else "b") for j in range(n_groups) for t in range(1, n_times + 1)]
    df = pd.DataFrame(rows, columns=["g", "t", "arm"])
    df["x"] = rng.normal(size=len(df))
    df["y"] = df["x"] + rng.normal(size=len(df))
    return df


@pytest.mark.parametrize("spelling, name", [
    ("ar 1", "ar1"), ("AR1", "ar1"), ("corAR1", "ar1"), ("exp", "exponential"),
    ("un", "unstructured"), ("exchangeable", "exchangeable"), ("cosy", "exchangeable"),
    ("independent", "independent"),
])
def test_kind_spellings(spelling, name):
    assert residual_kind(spelling).name == name


def test_unknown_kind_lists_the_valid_ones():
    with pytest.raises(SpecError, match=r"unknown residual structure 'ar7x'.*'ar1'.*\(banded, ar, ma, arma, "
                                        r"toeplitz take an order: hb.residuals\('ma', order=2\) or 'ma2'\)"):
        hb.residuals("ar7x", time="t")


def test_time_required_says_how_to_count_rows_as_nlme_does():
    # a kind over whole-number times counts the rows without time= (nlme's ~ 1 | g); the others
    # say how to give that count as a column
    assert hb.residuals("ar", order=1).time is None
    for kind in ("unstructured", "exponential"):
        with pytest.raises(SpecError, match=r"needs time=: the column ordering the rows within a group; .*"
                                            r"\(nlme's form = ~ 1 \| g\).*df\.groupby\('id'\)\.cumcount\(\) \+ 1$"):
            hb.residuals(kind)


def test_bad_argument_and_by_not_allowed():
    with pytest.raises(SpecError, match="group= must be a column name"):
        hb.residuals("ar1", time="t", group=3)
    no_by = register_residual_kind(dataclasses.replace(
        residual_kind("exchangeable"), name="exch_no_by", aliases=(), allows_by=False))
    with pytest.raises(SpecError, match=r"residuals\('exch_no_by'\) does not take by="):
        hb.residuals(no_by.name, by="arm")
    assert hb.residuals("unstructured", time="t", by="arm").by == "arm"


def test_spec_rejects_other_objects_and_reads_strings_as_hb_residuals_does():
    spec = hb.parse_formula("y ~ x + (1|g)")
    with pytest.raises(SpecError, match="residuals= takes hb.residuals"):
        dataclasses.replace(spec, residuals=1)
    # a string is what hb.residuals(string) makes of it, its translation of a pasted nlme call included
    assert dataclasses.replace(spec, residuals="exchangeable").residuals == hb.residuals("exchangeable")
    assert dataclasses.replace(spec, residuals="ar1").residuals == hb.residuals("ar1")
    with pytest.raises(SpecError, match=r"residuals='exp': residuals\('exponential'\) needs time="):
        dataclasses.replace(spec, residuals="exp")
    with pytest.raises(SpecError, match=r"nlme's corAR1\(...\) is written hb.residuals\('ar1', group='Mare'\)"):
        dataclasses.replace(spec, residuals="corAR1(form = ~ 1 | Mare)")


def test_a_name_taken_by_another_kind_is_refused():
    other = ResidualKind("myar", "x", aliases=("ar1",), parameters=(), time="none", min_times=1,
                         correlation=lambda p, t, xp: None)
    with pytest.raises(SpecError, match="already taken by 'ar1'"):
        register_residual_kind(other)
    with pytest.raises(SpecError, match="time='sometimes'"):
        register_residual_kind(dataclasses.replace(other, aliases=(), time="sometimes"))


def test_model_keeps_the_structure_through_config_and_saving():
    df = _panel()
    rs = hb.residuals("ar1", time="t", group="g")
    m = hb.Model("y ~ x + (1|g)", df, residuals=rs)
    assert m.spec.residuals == rs
    assert m.with_data(df).spec.residuals == rs
    assert m.with_config(missing="drop").spec.residuals == rs
    assert spec_from_dict(spec_to_dict(m.spec)) == m.spec
    rd = m.design.residuals
    assert rd.rows.shape == (4, 3) and rd.mask.all() and rd.block == 0
    np.testing.assert_array_equal(rd.times[0], [1, 2, 3])


def test_default_group_is_the_innermost_and_mmrm_needs_one():
    df = _panel()
    df["site"] = np.where(df["g"].isin(["g0", "g1"]), "s1", "s2")
    m = hb.Model("y ~ x + (1|site) + (1|g)", df, residuals=hb.residuals("exp", time="t"))
    assert m.design.residuals.structure.group == "g" and m.design.residuals.block == 1
    with pytest.raises(SpecError, match="no group terms; name the groups with group="):
        hb.Model("y ~ x", df, residuals=hb.residuals("unstructured", time="t"))
    mmrm = hb.Model("y ~ x", df, residuals=hb.residuals("unstructured", time="t", group="g"))
    assert mmrm.design.residuals.block is None
    assert mmrm.design.residuals.sd_levels == ("1", "2", "3")


@pytest.mark.parametrize("kind", ["unstructured", "exchangeable", "toeplitz"])
def test_a_random_intercept_beside_a_structure_that_holds_it_warns(kind):
    df = _panel()
    with pytest.warns(UserWarning, match=rf"residuals {kind}\(.*\) with a random intercept \(1 \| g\) of the same "
                                         r"groups: .* not identified separately .* drop the intercept"):
        hb.Model("y ~ x + (1|g)", df, residuals=hb.residuals(kind, time="t", group="g"))
    import warnings

    with warnings.catch_warnings():  # identified: no intercept, or a structure without a common correlation
        warnings.simplefilter("error")
        hb.Model("y ~ x", df, residuals=hb.residuals(kind, time="t", group="g"))
        hb.Model("y ~ x + (1|g)", df, residuals=hb.residuals("ar1", time="t", group="g"))


def test_gaussian_identity_only():
    df = _panel()
    df["y"] = (df["y"] > 0).astype(int)
    with pytest.raises(SpecError, match="need a gaussian model with the identity link.*bernoulli"):
        hb.Model("y ~ x + (1|g)", df, family="bernoulli", residuals=hb.residuals("ar1", time="t"))


@pytest.mark.parametrize("name, advice", [
    ("corCAR1", r"'exponential' with time= the times"),
    ("varPower", r"sigma='~ log\(v\)'"),
    ("varExp", r"sigma='~ v'"),
    # with their arguments, and the rest of nlme's menu (had got only the list of kinds)
    ("varPower(form = ~pressure)", r"sigma='~ log\(pressure\)'"),
    ("corCAR1(form = ~Time | tree)", r"'exponential' with time= the times"),
    ("corARMA(p = 1, q = 1)", r"is written hb\.residuals\('arma', order=\(1, 1\)\)"),
    ("corARMA(form = ~ 1 | g)", r"named by its orders: 'arma11' \(p = q = 1\)"),
    ("corSpher", r"spatial correlations corSpher, corGaus, corLin and corRatio are not available"),
    ("varIdent(form = ~1 | QB)", r"hb\.residuals\('independent', by='QB'\)"),
    ("varFixed(~age)", r"weights='w', weight_kind='precision'\) with a column w = 1 / v"),
])
def test_nlme_names_without_a_kind_say_what_does_their_work(name, advice):
    with pytest.raises(SpecError, match=rf"unknown residual structure '{re.escape(name)}'.*{advice}"):
        hb.residuals(name)


def test_missing_time_column_and_values():
    df = _panel()
    with pytest.raises(DataError, match="time column 'when' is not in the data"):
        hb.Model("y ~ x + (1|g)", df, residuals=hb.residuals("ar1", time="when"))
    df.loc[4, "t"] = np.nan
    with pytest.raises(DataError, match=r"time column 't' is missing in 1 rows \(rows 4\)"):
        hb.Model("y ~ x + (1|g)", df, residuals=hb.residuals("ar1", time="t"))


@pytest.mark.parametrize("value", [np.nan, None])
@pytest.mark.parametrize("as_text", [False, True])
def test_missing_by_values_name_the_column_and_rows(value, as_text):
    # a missing by= value was its own level ("nan") when numeric and a raw TypeError as text
    df = _panel()
    df["arm"] = (df["g"].astype("category").cat.codes % 2).astype(float)
    if as_text:
        df["arm"] = df["arm"].map({0.0: "a", 1.0: "b"}).astype(object)
    df.loc[[3, 4], "arm"] = value
    with pytest.raises(DataError, match=r"by column 'arm' is missing in 2 rows \(rows 3, 4\)"):
        hb.Model("y ~ x + (1|g)", df, residuals=hb.residuals("independent", by="arm"))


def test_duplicated_times_name_group_and_rows():
    df = _panel()
    df.loc[5, "t"] = 1  # group g1: rows 3 and 5 at t = 1
    with pytest.raises(DataError, match=r"time 't' repeats within group 'g1' of 'g' \(rows 3, 5\)"):
        hb.Model("y ~ x + (1|g)", df, residuals=hb.residuals("ar1", time="t"))


def test_a_group_above_the_subjects_gets_the_models_grouping_factor_named():
    # nlme's Dialyzer with group="QB" (Subject nested in it): the repeat is reported in QB's
    # terms, and the message says which factor the model's series are by
    df = _panel()
    with pytest.raises(DataError, match=r"time 't' repeats within group 'b' of 'arm' \(rows 0, 1, 2, 6, 7 and 1 "
                                        r"more\); each time point may occur once per group; group= names the factor "
                                        r"whose rows form one series .*the model's group terms are by 'g'"):
        hb.Model("y ~ x + (1|g)", df, residuals=hb.residuals("ar1", time="t", group="arm"))


def test_too_few_time_points():
    df = _panel(n_times=1)
    df["x2"] = np.arange(len(df))
    with pytest.raises(DataError, match=r"at least 2 time points; the largest group of 'g' \('g0', rows 0\) has 1"):
        hb.Model("y ~ x", df, residuals=hb.residuals("ar1", time="t", group="g"))


def test_ar_times_must_be_whole_numbers_and_numeric():
    df = _panel()
    df["t"] = df["t"] + 0.5 * (df.index == 2)
    with pytest.raises(DataError, match=r"must hold whole numbers.*rows 2 do not.*'exponential'"):
        hb.Model("y ~ x + (1|g)", df, residuals=hb.residuals("ar1", time="t"))
    df["t"] = "early"
    with pytest.raises(DataError, match="time column 't' must be numeric; rows 0, 1, 2, 3, 4 and 7 more"):
        hb.Model("y ~ x + (1|g)", df, residuals=hb.residuals("exp", time="t"))


def test_ar_lags_in_units_of_a_sparse_time_column_are_pointed_out(recwarn):
    df = _panel(n_times=4)
    df["day"] = df["t"] * 7 + (df["t"] == 4)  # visits 7, 7 and 8 days apart
    with pytest.warns(TimeUnitWarning, match=r"corAR1\(form = ~ day \| g\)\), but consecutive rows of a 'g' "
                      r"group are 7 to 8 units apart.*groupby\('g'\).cumcount\(\) \+ 1.*'exponential'") as caught:
        hb.Model("y ~ x + (1|g)", df, residuals=hb.residuals("ar1", time="day"))
    assert caught[0].filename == __file__  # the user's line, not hierbayes'
    recwarn.clear()
    df["visit"] = df.groupby("g").cumcount() + 1  # the advice
    hb.Model("y ~ x + (1|g)", df, residuals=hb.residuals("ar1", time="visit"))
    hb.Model("y ~ x + (1|g)", df, residuals=hb.residuals("exponential", time="day"))
    df.loc[df["t"] == 2, "day"] = 8  # one step of 1 day: the unit is seen, no warning
    hb.Model("y ~ x + (1|g)", df, residuals=hb.residuals("ar1", time="day"))
    assert not [w for w in recwarn if issubclass(w.category, TimeUnitWarning)]


def test_by_must_be_constant_within_groups_for_parameters():
    df = _panel()
    df.loc[1, "arm"] = "a"  # g0 is arm b elsewhere
    with pytest.raises(DataError, match=r"by='arm' must be constant within each group of 'g' \(one set of structure parameters per group\); group 'g0' has several levels \(rows 0, 1, 2\)"):
        hb.Model("y ~ x + (1|g)", df, residuals=hb.residuals("ar1", time="t", by="arm"))
    # a residual sd per level (varIdent) may change within a group
    m = hb.Model("y ~ x + (1|g)", df, residuals=hb.residuals("independent", by="arm"))
    assert m.design.residuals.sd_levels == ("a", "b")
    with pytest.raises(DataError, match=r"by column 'Arm' is not in the data\. Did you mean 'arm'\? Columns: \["):
        hb.Model("y ~ x + (1|g)", df, residuals=hb.residuals("independent", by="Arm"))


def test_group_column_not_in_data():
    with pytest.raises(DataError, match="group column 'subject' is not in the data"):
        hb.Model("y ~ x", _panel(), residuals=hb.residuals("ar1", time="t", group="subject"))


def _arma_autocorrelation(phi: float, theta: float, lags: int) -> np.ndarray:
    psi = np.array([1.0, phi + theta] + [phi ** (k - 1) * (phi + theta) for k in range(2, 400)])
    gamma = np.array([np.sum(psi[: len(psi) - h] * psi[h:]) for h in range(lags)])
    return gamma / gamma[0]


@pytest.mark.parametrize("kind, params, phi, theta", [
    ("arma11", {"arma_phi": np.array([0.6]), "arma_theta": np.array([-0.3])}, 0.6, -0.3),
    ("arma11", {"arma_phi": np.array([-0.5]), "arma_theta": np.array([0.4])}, -0.5, 0.4),
    ("ma1", {"ma1_theta": np.array([0.7])}, 0.0, 0.7),
    ("ar1", {"ar1_phi": np.array([-0.8])}, -0.8, 0.0),
])
def test_time_series_correlations_are_the_process_autocorrelations(kind, params, phi, theta):
    times = np.array([[1.0, 2.0, 3.0, 5.0, 8.0]])
    C = residual_kind(kind).correlation(params, times, np)[0]
    expected = _arma_autocorrelation(phi, theta, 8)
    lags = np.abs(times[0][:, None] - times[0][None, :]).astype(int)
    np.testing.assert_allclose(C, expected[lags], atol=1e-12)
    assert np.linalg.eigvalsh(C).min() > 0


def test_residuals_beside_a_formulas_residual_term_is_refused():
    # the formula's ar() had been dropped without a word for residuals=hb.residuals("independent")
    df = hb.datasets.load("sleepstudy")
    formula = "Reaction ~ Days + (Days | Subject) + ar(time = Days, gr = Subject)"
    with pytest.raises(hb.SpecError, match=r"already has a residual structure, ar1\(time=Days, group=Subject\).*independent"):
        hb.Model(formula, df, residuals=hb.residuals("independent"))
    same = hb.residuals("ar", order=1, time="Days", group="Subject")
    assert hb.Model(formula, df, residuals=same).spec.residuals == same


def _visits(times_per_group: list[list[float]]) -> pd.DataFrame:
    rows = [(str(g), t) for g, times in enumerate(times_per_group) for t in times]
    rng = np.random.default_rng(0)
    return pd.DataFrame(rows, columns=["id", "t"]).assign(y=lambda d: rng.normal(size=len(d)))


def test_unstructured_visits_most_of_whose_pairs_no_group_observes_are_refused():
    # Ovary's continuous Time as visits: 121 levels, at most 31 per mare, ran for minutes
    spread = _visits([[10 * g + k for k in range(3)] for g in range(8)])  # 24 visits, 3 per id
    with pytest.raises(DataError, match=r"'t' has 24 visits and groups of 'id' have at most 3 rows, so 252 of the 276"):
        hb.Model("y ~ 1", spread, residuals=hb.residuals("unstructured", time="t", group="id"))


def test_unstructured_visit_pairs_never_observed_together_warn():
    # visits 1 and 4: no id has both
    data = _visits([[1, 2, 3]] * 5 + [[2, 3, 4]] * 5)
    with pytest.warns(UserWarning, match="1 of the 6 pairs of visits of 't' are never observed together"):
        hb.Model("y ~ 1", data, residuals=hb.residuals("unstructured", time="t", group="id"))


@pytest.mark.parametrize("call, says", [
    ("corAR1(form = ~ Occasion | Subject)", "hb.residuals('ar1', time='Occasion', group='Subject')"),
    ("corCompSymm(form = ~ 1 | Subject)", "hb.residuals('exchangeable', group='Subject')"),
    ("corExp(form = ~ Time | Mare)", "hb.residuals('exponential', time='Time', group='Mare')"),
    ("varPower(form = ~ Time)", "sigma='~ log(Time)'"),
    ("varIdent(form = ~ 1 | Machine)", "hb.residuals('independent', by='Machine')"),
    ("corExp(form = ~ latitude + longitude | Block)", "2-D spatial correlation, which is not available"),
    ("varConstPower(form = ~ Time)", "varConstPower is not available"),
    ("varComb(varIdent(form = ~ 1 | Sex), varPower())", "sigma='~ g + log(v)'"),
    ("CAR1", "is 'exponential'"),
])
def test_an_nlme_call_pasted_from_r_is_translated(call, says):
    with pytest.raises(SpecError, match=re.escape(says)):
        hb.residuals(call)


def test_an_nlme_variance_function_as_a_sigma_formula_is_translated():
    # it had been answered "write '~ Time)'" (an unmatched parenthesis, and varExp's form)
    df = hb.datasets.load("sleepstudy")
    with pytest.raises(SpecError, match=re.escape("an nlme call. nlme's varPower is a formula for the residual sd "
                                                  "here: sigma='~ log(Days)'")):
        hb.Model("Reaction ~ Days + (1 | Subject)", df, sigma="varPower(form = ~ Days)")


def test_two_coordinates_as_time_are_refused_as_a_spatial_correlation():
    # "latitude + longitude" had been answered "did you mean 'longitude'?", a 1-D model
    with pytest.raises(SpecError, match="time='latitude \\+ longitude' is not one column.*two coordinates"):
        hb.residuals("exponential", time="latitude + longitude")
