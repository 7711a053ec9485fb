"""fit.formula / nobs / ngroups / fitted() / residuals() / update() (issue 17: daily use)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from conftest import fit_quiet

import hierbayes as hb
from hierbayes.errors import ArgumentError, SpecError
from hierbayes.predict.fitted import ngroups, nobs, residual_sd
from hierbayes.refit import updated_model
from hierbayes.results.update import split_signed_terms, updated_formula, updated_spec
from hierbayes.spec import parse_formula

FORMULA = "Reaction ~ Days + (Days | Subject)"


@pytest.fixture(scope="module")
def sleep_fit(sleepstudy):
    # Labels that are not 0..n-1, so index checks can fail.
    data = sleepstudy.set_index(pd.Index(np.arange(len(sleepstudy)) * 10 + 7))
    return fit_quiet(hb.Model(FORMULA, data), chains=2, draws=200, tune=200, random_seed=3)


# ======================================================================= formula, nobs, ngroups


def test_formula_nobs_ngroups(sleep_fit):
    assert sleep_fit.formula == "Reaction ~ Days + (1 + Days | Subject)"
    assert sleep_fit.nobs == 180
    assert sleep_fit.ngroups == {"Subject": 18}


def test_formula_writes_a_power_as_r_prints_it(sleepstudy):
    # the canonical text (spec.to_formula()) keeps Python's ** so that it parses back
    model = hb.Model("Reaction ~ Days + I(Days^2) + (Days | Subject)", sleepstudy)
    assert model.formula == "Reaction ~ Days + I(Days^2) + (1 + Days | Subject)"
    assert "**" in model.spec.to_formula()


def test_nobs_counts_rows_not_cells_of_a_collapsed_design():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"g": rng.choice(list("abc"), 300), "x": rng.choice(["u", "v"], 300)})
    df["y"] = rng.integers(0, 2, 300)
    model = hb.Model("y ~ x + (1|g)", df, family="bernoulli", collapse=True)
    assert model.design.n_obs == 6  # the cells
    assert nobs(model.built) == 300
    assert ngroups(model.built) == {"g": 3}


# ============================================================================ fitted, residuals


def test_fitted_mean_is_the_mean_of_predict_draws(sleep_fit):
    table = sleep_fit.fitted()
    pred = sleep_fit.predict(kind="mean")
    assert list(table.columns) == ["mean", "sd", "median", "lower", "upper"]
    assert (table.index == sleep_fit.model.data.index).all()
    np.testing.assert_allclose(table["mean"], pred.mean)
    assert (table["lower"] < table["mean"]).all() and (table["mean"] < table["upper"]).all()
    draws = sleep_fit.fitted(summary=False)
    assert draws.dims == ("chain", "draw", "obs") and draws.shape == (2, 200, 180)
    # identity link: the linear predictor is the mean
    np.testing.assert_allclose(sleep_fit.fitted(kind="linear")["mean"], table["mean"])


def test_residuals_are_y_minus_fitted(sleep_fit):
    y = sleep_fit.model.data["Reaction"].to_numpy()
    res = sleep_fit.residuals()
    np.testing.assert_allclose(res["mean"], y - sleep_fit.fitted()["mean"], rtol=1e-10, atol=1e-8)
    assert (res.index == sleep_fit.model.data.index).all()
    # the residual's posterior sd is the fitted mean's
    np.testing.assert_allclose(res["sd"], sleep_fit.fitted()["sd"], rtol=1e-8)


def test_pearson_residuals_divide_by_sigma_per_draw(sleep_fit):
    y = sleep_fit.model.data["Reaction"].to_numpy()
    mu = sleep_fit.fitted(summary=False).values.reshape(400, 180)
    sigma = sleep_fit.posterior["sigma"].values.reshape(400, 1)
    expected = ((y - mu) / sigma).mean(axis=0)
    np.testing.assert_allclose(sleep_fit.residuals(kind="pearson")["mean"], expected, rtol=1e-8)
    # about residual / mean(sigma)
    ratio = sleep_fit.residuals()["mean"] / sigma.mean()
    np.testing.assert_allclose(sleep_fit.residuals(kind="pearson")["mean"], ratio, rtol=0.05, atol=0.02)


def test_residual_kind_and_prob_errors(sleep_fit):
    with pytest.raises(SpecError, match="valid values for residuals"):
        sleep_fit.residuals(kind="deviance")
    with pytest.raises(SpecError, match="valid values for fitted"):
        sleep_fit.fitted(kind="response")
    with pytest.raises(hb.errors.ArgumentError, match="prob=1.5"):
        sleep_fit.fitted(prob=1.5)


def test_residual_sd_of_the_families():
    mu = np.array([[2.0, 3.0]])
    np.testing.assert_allclose(residual_sd("binomial", mu, {}, np.array([4.0, 6.0])), [[1.0, np.sqrt(1.5)]])
    np.testing.assert_allclose(residual_sd("bernoulli", np.array([[0.2]]), {}, None), [[0.4]])
    np.testing.assert_allclose(residual_sd("poisson", mu, {}, None), np.sqrt(mu))
    np.testing.assert_allclose(residual_sd("negbinomial", mu, {"phi": np.array([[2.0]])}, None),
                               np.sqrt(mu + mu**2 / 2))
    np.testing.assert_allclose(residual_sd("gamma", mu, {"shape": np.array([[4.0]])}, None), mu / 2)
    with pytest.raises(SpecError, match="Pearson residuals need the student"):
        residual_sd("student", mu, {}, None)


# ============================================================================ update: the formula


OLD = parse_formula("Reaction ~ Days + (Days | Subject)")


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (". ~ . + x", "Reaction ~ Days + x + (1 + Days | Subject)"),
        (". ~ . - Days", "Reaction ~ 1 + (1 + Days | Subject)"),
        (". ~ . - (Days|Subject) + (1|Subject)", "Reaction ~ Days + (1 | Subject)"),
        (". ~ . - 1", "Reaction ~ 0 + Days + (1 + Days | Subject)"),
        ("~ . + a*b - a:b", "Reaction ~ Days + a + b + (1 + Days | Subject)"),
        ("log(.) ~ .", "log(Reaction) ~ Days + (1 + Days | Subject)"),
        (". ~ I(Days - 1) + (1|Subject)", "Reaction ~ I(Days - 1) + (1|Subject)"),
        ("y ~ a + (1 | g)", "y ~ a + (1 | g)"),
        (". ~ . + offset(log(t))", "Reaction ~ Days + offset(log(t)) + (1 + Days | Subject)"),
    ],
)
def test_updated_formula(edit, expected):
    assert updated_formula(OLD, edit) == expected


def test_removing_an_expanded_term_removes_all_its_parts():
    old = parse_formula("y ~ a*b + (1|g/h)")
    assert updated_formula(old, ". ~ . - a*b") == "y ~ 1 + (1 | g) + (1 | g:h)"
    assert updated_formula(old, ". ~ . - (1|g/h)") == "y ~ a + b + a:b"


def test_a_nested_term_replaced_by_its_parent_in_one_update():
    # R: update(m, . ~ . - (1 | batch/cask) + (1 | batch)) gives strength ~ (1 | batch)
    old = parse_formula("strength ~ 1 + (1 | batch/cask)")
    assert updated_formula(old, ". ~ . - (1 | batch/cask) + (1 | batch)") == "strength ~ 1 + (1 | batch)"
    assert updated_formula(old, ". ~ . + (1 | batch)") == "strength ~ 1 + (1 | batch) + (1 | batch:cask)"


def test_split_signed_terms_keeps_signs_inside_calls():
    assert split_signed_terms(" . + I(x - 1) - (0 + x | g) - 1") == [
        ("+", "."), ("+", "I(x - 1)"), ("-", "(0 + x | g)"), ("-", "1")]
    assert split_signed_terms("-1 + .") == [("-", "1"), ("+", ".")]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (". ~ . - z", "cannot remove 'z': the fixed term 'z' is not in the model"),
        (". ~ . - (1|g)", r"the group term '\(1 \| g\)' is not in the model"),
        ("Days", "write one '~'"),
        (". ~ log(.)", r"'\.' is supported only as a whole term"),
        (". ~ . +", "a '\\+' with no term after it"),
        (". ~ - .", "removing the old terms"),
    ],
)
def test_updated_formula_errors(edit, message):
    with pytest.raises(SpecError, match=message):
        updated_formula(OLD, edit)


def test_dot_inside_a_binomial_response_is_refused():
    old = parse_formula("y | trials(n) ~ x", family="binomial")
    assert updated_formula(old, ". ~ . - x").startswith("y | trials(n) ~ 1")
    with pytest.raises(SpecError, match="write the response out"):
        updated_formula(old, "log(.) ~ .")


def test_updated_spec_keeps_subset_and_covariance_and_resets_the_link_with_the_family():
    old = parse_formula("y ~ x + (1 + x | g)").with_covariance({"g": "exchangeable"})
    from dataclasses import replace

    old = replace(old, subset="x > 0", link="log")
    new = updated_spec(old, ". ~ . + z", None, None)
    assert new.subset == "x > 0" and new.link == "log"
    assert new.groups[0].covariance.value == "exchangeable"
    assert updated_spec(old, None, "poisson", None).link is None
    assert updated_spec(old, None, None, "identity").link == "identity"


def test_updated_spec_keeps_what_the_formula_does_not_say():
    # a new formula had dropped the residual structure and the groups' weights (as R's
    # update() keeps weights= and correlation=, so does hierbayes')
    from dataclasses import replace

    varident = hb.residuals("independent", by="Sex")
    old = replace(parse_formula("y ~ x * Sex + (1 | g) + (1 | h)"), residuals=varident)
    for edit in (". ~ .", ". ~ . - x:Sex", ". ~ . - (1 | h)"):
        assert updated_spec(old, edit, None, None).residuals == varident
    weighted = replace(parse_formula("y | weights(w) ~ x + (1 | g) + (1 | h)"),
                       group_weights=(("g", "wg"), ("h", "wh")), weight_scaling="size")
    new = updated_spec(weighted, ". ~ . - (1 | h)", None, None)
    assert new.group_weights == (("g", "wg"),) and new.weight_scaling == "size"
    assert updated_spec(weighted, ". ~ . + z", None, None).group_weights == (("g", "wg"), ("h", "wh"))
    stata = hb.from_stata("mixed y c.x##i.Sex || g:, residuals(independent, by(Sex))")
    new = updated_spec(stata, ". ~ . - x:C(Sex)", None, None)
    assert new.residuals == stata.residuals and new.integer_factors == ("Sex",)


def test_update_refuses_an_unknown_argument(sleep_fit):
    with pytest.raises(ArgumentError, match="iterations=5: not an argument of update"):
        sleep_fit.update(iterations=5)


# ======================================================================== update: one refit


def test_update_refits_with_the_old_settings(sleep_fit, monkeypatch):
    calls = []
    monkeypatch.setattr(hb.Model, "fit", lambda model, **kwargs: calls.append((model, kwargs)) or "refitted")
    assert sleep_fit.update(". ~ . - Days", progressbar=False, draws=100) == "refitted"
    (model, kwargs), old = calls[0], sleep_fit.info
    assert model.formula == "Reaction ~ 1 + (1 + Days | Subject)" and model.data is sleep_fit.model.data
    assert kwargs == {"draws": 100, "tune": old.tune, "chains": old.chains, "random_seed": old.random_seed,
                      "target_accept": old.target_accept, "sampler": old.sampler, "backend": "pymc",
                      "progressbar": False}
    calls.clear()
    sleep_fit.update(". ~ . - Days")  # the old fit's progress bar setting is kept too
    assert calls[0][1]["progressbar"] == sleep_fit.info.progressbar


def test_update_of_prior_draws_refits_with_prior_draws(sleepstudy):
    prior_fit = hb.Model(FORMULA, sleepstudy).fit(backend="prior", chains=2, draws=50, random_seed=3)
    new = prior_fit.update(". ~ . - Days", draws=40)  # not NUTS: the fit was made of prior draws
    assert new.info.sampler == "prior" and new.posterior["sigma"].shape == (2, 40)
    assert new.formula == "Reaction ~ 1 + (1 + Days | Subject)"
    assert new.spec.family == "gaussian" and new.nobs == 180


def test_updated_model_merges_priors_and_keeps_model_arguments(sleepstudy):
    priors = {"b:Days": hb.Prior("Normal", mu=0, sigma=5), "sigma": hb.Prior("HalfNormal", sigma=40)}
    model = hb.Model(FORMULA, sleepstudy, priors=priors, parameterization="noncentered", missing="drop")
    old = SimpleNamespace(model=model)
    new = updated_model(old, ". ~ . - Days", priors={"b:Days": None, "sd": hb.Prior("HalfNormal", sigma=30)})
    assert set(new.prior_overrides) == {"sigma", "sd"}
    assert (new.parameterization, new.missing, new.collapse) == ("noncentered", "drop", "auto")
    assert new.formula == "Reaction ~ 1 + (1 + Days | Subject)"
    half = updated_model(old, data=sleepstudy.iloc[:90], family="student")
    assert half.design.n_obs == 90 and half.spec.family == "student" and "b:Days" in half.prior_overrides


def test_update_replaces_or_drops_a_residual_structure_and_a_sigma_formula(sleepstudy):
    # nlme's update(fm, correlation = NULL) / update(fm, weights = varPower()): update() had
    # refused residuals= and sigma=
    ar1 = hb.residuals("ar", order=1, time="Days")
    fit = hb.Model("Reaction ~ Days + (1 | Subject)", sleepstudy, residuals=ar1).fit(
        backend="prior", chains=1, draws=20, random_seed=1)
    plain = fit.update(residuals=None)
    assert plain.spec.residuals is None and fit.spec.residuals == ar1
    assert plain.update(residuals=ar1).spec.residuals == ar1
    varying = plain.update(sigma="~ Days")
    assert [name for name, _ in varying.spec.distributional] == ["sigma"]
    assert varying.update(sigma=None).spec.distributional == ()
    with pytest.raises(hb.ArgumentError, match=r"residuals='ar1': must be hb.residuals\(...\) or None"):
        fit.update(residuals="ar1")
    with pytest.raises(hb.ArgumentError, match=r"sgima=.*not an argument of update\(\).*'residuals', 'sigma'"):
        fit.update(sgima="~ Days")
    with pytest.raises(hb.SpecError, match="cannot be combined"):  # the model's own rule
        fit.update(sigma="~ Days")
