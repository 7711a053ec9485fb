"""Distributional models: a family parameter with its own formula (``sigma ~ x + (1|g)``)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import hierbayes as hb
from hierbayes.configuration import ModelConfig
from hierbayes.errors import DataError, FormulaSyntaxError, PriorError, SpecError
from hierbayes.predict.distributional import modelled_aux_draws
from hierbayes.predict.loglik import pointwise_log_likelihood
from hierbayes.results.distributional import check_dpar
from hierbayes.results.stats import flatten_draws
from hierbayes.results.tables import residual_variance
from hierbayes.spec.distributional import parse_aux_formula, with_distributional
from hierbayes.spec.ir import AuxFormula, FixedPart, GroupTerm
from hierbayes.spec.serialize import spec_from_dict, spec_to_dict


def simulate(n=300, groups=10, seed=1, b_sigma=0.5, sd_sigma=0.0):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, groups, n)
    df = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n), "g": [f"g{i}" for i in g]})
    u = rng.normal(0, 0.5, groups)
    v = rng.normal(0, sd_sigma, groups)
    sigma = np.exp(0.2 + b_sigma * df["z"].to_numpy() + v[g])
    df["y"] = 1.0 + df["x"] + u[g] + sigma * rng.normal(size=n)
    return df


@pytest.fixture(scope="module")
def data():
    return simulate()


# ------------------------------------------------------------------------- spelling


@pytest.mark.parametrize("text", ["~ z + (1|g)", "z + (1|g)", "sigma ~ z + (1 | g)"])
def test_one_sided_formula_spellings(text):
    aux = parse_aux_formula("sigma", text)
    assert aux == AuxFormula(FixedPart(True, ("z",)), (GroupTerm(("g",)),))
    assert aux.to_formula() == "~ z + (1 | g)"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nu ~ z", "left-hand side must be empty or 'sigma'"),
        ("~ ", "no right-hand side"),
    ],
)
def test_bad_formula_messages(text, message):
    with pytest.raises(SpecError, match=message):
        parse_aux_formula("sigma", text)


def test_formula_must_be_text():
    with pytest.raises(SpecError, match="must be a string"):
        parse_aux_formula("sigma", 3)


def test_malformed_formula_is_a_syntax_error():
    with pytest.raises(FormulaSyntaxError):
        parse_aux_formula("sigma", "~ z + (1|")


def test_unknown_parameter_names_the_valid_ones(data):
    with pytest.raises(SpecError, match=r"'sigm'.*Did you mean 'sigma'.*Valid names: \['sigma'\]"):
        hb.Model("y ~ x", data, sigm="~ z")
    with pytest.raises(SpecError, match=r"Valid names: \['sigma', 'nu'\]"):
        hb.Model("y ~ x", data, family="student", phi="~ z")


def test_family_without_parameters():
    counts = pd.DataFrame({"y": [0, 1, 2, 3], "z": [0.1, 0.2, 0.3, 0.4]})
    with pytest.raises(SpecError, match="family 'poisson' has no auxiliary parameter"):
        hb.Model("y ~ 1", counts, family="poisson", phi="~ z")


def test_spec_round_trip_and_configuration(data):
    model = hb.Model("y ~ x + (1|g)", data, sigma="~ z + (1|g)")
    spec = model.spec
    assert spec.aux_formulas["sigma"].to_formula() == "~ z + (1 | g)"
    assert spec_from_dict(spec_to_dict(spec)) == spec
    assert "distributional" not in spec_to_dict(hb.Model("y ~ x", data).spec)
    assert model.with_data(data.iloc[:200]).spec == spec
    assert model.with_config(missing="drop").spec == spec
    again = with_distributional(spec, {"sigma": "~ 1"})
    assert again.aux_formulas["sigma"].fixed.terms == ()
    assert ModelConfig.from_arguments(spec).spec == spec


@pytest.mark.parametrize(("family", "name"), [("student", "nu"), ("student", "sigma")])
def test_other_families_parameters(data, family, name):
    model = hb.Model("y ~ x", data, family=family, **{name: "~ z"})
    assert model.design.aux_designs[name].fixed_names == ("Intercept", "z")


def test_count_and_gamma_parameters():
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"z": rng.normal(size=50), "y": rng.poisson(3, 50) + 1})
    nb = hb.Model("y ~ 1", df, family="negbinomial", phi="~ z")
    ga = hb.Model("y ~ 1", df, family="gamma", shape="~ z")
    assert nb.priors.get("Intercept_phi").kwargs["mu"] == pytest.approx(0.0)  # log of Gamma(0.01, 0.01)'s mean
    assert "b_shape" in set(ga.priors.to_frame()["class"])


# ------------------------------------------------------------------ design and priors


def test_design_and_default_priors(data):
    model = hb.Model("y ~ x + (1|g)", data, sigma="~ z + (1|g)")
    sub = model.design.aux_designs["sigma"]
    assert sub.fixed_names == ("Intercept", "z") and sub.n_obs == model.design.n_obs
    assert [b.group for b in sub.groups] == ["g"]
    table = model.priors.to_frame()
    assert "sigma" not in set(table["class"])  # the single sigma is gone
    centre = model.priors.get("Intercept_sigma").kwargs["mu"]
    assert centre == pytest.approx(np.log(np.std(data["y"])), rel=0.05)
    assert model.priors.get("sd_sigma", "g", "Intercept").dist == "HalfStudentT"


def test_prior_overrides_of_the_sub_model(data):
    model = hb.Model(
        "y ~ x", data, sigma="~ z",
        priors={"b_sigma:z": hb.Prior("Normal", mu=0, sigma=0.5), "Intercept_sigma": hb.Prior("Normal", mu=0, sigma=1)},
    )
    assert model.priors.get("b_sigma", None, "z").kwargs["sigma"] == 0.5
    with pytest.raises(PriorError, match="b_sigma:zz"):
        hb.Model("y ~ x", data, sigma="~ z", priors={"b_sigma:zz": hb.Prior("Normal", mu=0, sigma=1)})
    with pytest.raises(PriorError, match="positive"):
        hb.Model("y ~ x + (1|g)", data, sigma="~ z + (1|g)", priors={"sd_sigma": hb.Prior("Normal", mu=0, sigma=1)})


def test_missing_values_of_the_sub_model(data):
    holes = data.copy()
    holes.loc[[3, 7], "z"] = np.nan
    with pytest.raises(DataError, match="'z'"):
        hb.Model("y ~ x", holes, sigma="~ z")
    with pytest.warns(UserWarning, match="dropped 2 rows"):
        model = hb.Model("y ~ x", holes, sigma="~ z", missing="drop")
    assert model.design.n_obs == model.design.aux_designs["sigma"].n_obs == len(data) - 2
    with pytest.raises(DataError, match="sigma formula"):
        hb.Model("y ~ x", data.drop(columns="z"), sigma="~ z")


def test_no_integrated_or_sufficient_statistics_path(data):
    model = hb.Model("y ~ x + (1|g)", data, sigma="~ z")
    compiled = model.compile()
    assert compiled.likelihood == "rows"
    assert "marginal" not in compiled.parameterization.values()
    names = set(compiled.model.named_vars)
    assert {"Intercept_sigma", "b_sigma", "y"} <= names and "sigma" not in names
    with pytest.raises(SpecError, match="has a formula for \\['sigma'\\]"):
        hb.Model("y ~ x + (1|g)", data, sigma="~ z", parameterization="marginal").compile()


# ------------------------------------------------------------------ results and predictions


@pytest.fixture(scope="module")
def prior_fit(data):
    model = hb.Model("y ~ x + (1|g)", data, sigma="~ z + (1|g)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(backend="prior", draws=100, chains=2, random_seed=3, progressbar=False)


def test_per_row_sigma_in_log_likelihood(prior_fit, data):
    post = prior_fit.posterior
    design = prior_fit.model.design
    ll = pointwise_log_likelihood(post, prior_fit.spec, design).values.reshape(-1, design.n_obs)
    log_sigma = (
        flatten_draws(post["Intercept_sigma"])[:, None]
        + flatten_draws(post["b_sigma"])[:, :1] * data["z"].to_numpy()[None, :]
        + np.take(flatten_draws(post["re_sigma_g"])[:, :, 0], design.aux_designs["sigma"].groups[0].codes, axis=1)
    )
    eta = (
        flatten_draws(post["Intercept"])[:, None]
        + flatten_draws(post["b"])[:, :1] * data["x"].to_numpy()[None, :]
        + np.take(flatten_draws(post["re_g"])[:, :, 0], design.groups[0].codes, axis=1)
    )
    expected = stats.norm.logpdf(data["y"].to_numpy()[None, :], eta, np.exp(log_sigma))
    np.testing.assert_allclose(ll, expected, rtol=1e-8)


def test_predictions_on_new_data_use_per_row_sigma(prior_fit, data):
    new = data.head(4).assign(g=["g0", "g0", "new", "new"], z=[-2.0, 2.0, -2.0, 2.0])
    sub = prior_fit.model.design.aux_designs["sigma"]
    rows = {"sigma": sub.encoder.encode_new(new)}
    draws = modelled_aux_draws(prior_fit.posterior, prior_fit.spec, {"sigma": sub}, rows, rng=np.random.default_rng(1))
    assert draws["sigma"].shape == (200, 4) and np.all(draws["sigma"] > 0)
    pred = prior_fit.predict(new, kind="response", random_seed=1)
    assert pred.draws.shape[-1] == 4
    with pytest.raises(DataError, match="'new'"):
        prior_fit.predict(new, kind="response", new_groups="error")
    assert prior_fit.predict(new, kind="mean", groups="marginal").draws.shape[-1] == 4


def test_tables_and_summary(prior_fit):
    table = prior_fit.fixef(dpar="sigma")
    assert list(table.index) == ["Intercept", "z"]
    assert table.attrs["estimate"] == "coefficient (log scale)"
    assert list(prior_fit.varcorr(dpar="sigma")["term"]) == ["sd(Intercept)"]
    assert list(prior_fit.fixef().index) == ["Intercept", "x"]
    text = str(prior_fit.summary())
    assert "sigma (log scale): ~ z + (1 | g)" in text and "sigma (log scale): group-level sds" in text
    # sigma itself at the intercept, as lme4's sigma is read
    sigma = np.exp(flatten_draws(prior_fit.posterior["Intercept_sigma"]))
    assert (f"sigma at the intercept (its terms, group effects at 0): median {np.median(sigma):.4g} "
            f"[{np.quantile(sigma, 0.025):.4g}, {np.quantile(sigma, 0.975):.4g}]") in " ".join(text.split())
    with pytest.raises(SpecError, match="dpar='nu'"):
        check_dpar(prior_fit.spec, "nu")
    with pytest.raises(SpecError, match="no ICC when \\['sigma'\\] varies by row"):
        residual_variance(prior_fit.posterior, prior_fit.spec)


def test_hypothesis_names_the_sub_model_parameters_as_brms_does(prior_fit):
    post = prior_fit.posterior
    table = prior_fit.hypothesis(["sigma_z > 0", "sd(sigma_Intercept|g) < sd(Intercept|g)", "x > sigma_Intercept"])
    z = flatten_draws(post["b_sigma"])[:, 0]
    assert table["prob"].iloc[0] == pytest.approx(np.mean(z > 0))
    sd_sigma, sd_main = flatten_draws(post["sd_sigma_g"]).ravel(), flatten_draws(post["sd_g"]).ravel()
    assert table["prob"].iloc[1] == pytest.approx(np.mean(sd_sigma < sd_main))
    assert table["estimate"].iloc[2] == pytest.approx(np.mean(
        flatten_draws(post["b"])[:, 0] - flatten_draws(post["Intercept_sigma"])))
    with pytest.raises(SpecError, match="sigma_x.*sigma_z"):
        prior_fit.hypothesis("sigma_x > 0")


def test_ppc_residuals_and_logo_message(prior_fit):
    assert prior_fit.ppc(ndraws=20, random_seed=1) is not None
    pearson = prior_fit.residuals(kind="pearson", ndraws=20)
    assert np.isfinite(pearson["mean"]).all()
    with pytest.raises(SpecError, match="leave-one-group-out is not available yet"):
        prior_fit.logo("g")


@pytest.mark.slow
def test_small_fit_saves_and_loads(tmp_path, data):
    model = hb.Model("y ~ x", data, sigma="~ z")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = model.fit(draws=200, tune=200, chains=2, random_seed=1, progressbar=False)
    table = fit.fixef(dpar="sigma")
    assert table.loc["z", "lower"] < 0.5 < table.loc["z", "upper"]  # simulated with 0.5
    assert np.isfinite(fit.loo().elpd)
    fit.save(tmp_path / "fit.nc")
    loaded = hb.load(tmp_path / "fit.nc")
    assert loaded.spec == fit.spec
    pd.testing.assert_frame_equal(loaded.fixef(dpar="sigma"), table)


def test_model_file_key(tmp_path, data):
    from hierbayes.modelfile import load_model_file

    data.to_csv(tmp_path / "d.csv", index=False)
    path = tmp_path / "m.toml"
    path.write_text(
        '[data]\nsource = "d.csv"\n[model]\nformula = "y ~ x + (1|g)"\n'
        'distributional = { sigma = "~ z + (1|g)" }\n'
    )
    model = load_model_file(path).build()
    assert model.spec.aux_formulas["sigma"].to_formula() == "~ z + (1 | g)"
    path.write_text('[data]\nsource = "d.csv"\n[model]\nformula = "y ~ x"\ndistributional = { nu = "~ z" }\n')
    with pytest.raises(SpecError, match="'nu'.*Valid names: \\['sigma'\\]"):
        load_model_file(path)


def test_update_keeps_formulas_and_new_data_need_their_columns(prior_fit, data):
    from hierbayes.results.update import updated_spec

    spec = prior_fit.spec
    assert updated_spec(spec, ". ~ . + z", None, None).distributional == spec.distributional
    assert updated_spec(spec, None, "student", None).distributional == spec.distributional
    assert updated_spec(spec, None, "poisson", None).distributional == ()
    assert "z" in prior_fit.model.design.encoder.required
    with pytest.raises(DataError, match="needs sigma, which a formula of its own models: column 'z'"):
        prior_fit.predict(data.drop(columns="z").head(3), kind="response")
    assert prior_fit.predict(data.drop(columns="z").head(3), kind="mean").values.shape[-1] == 3  # sigma unused
    effects = prior_fit.conditional_effects("z")
    assert effects is not None


def test_sub_model_without_intercept(data):
    model = hb.Model("y ~ x", data, sigma="~ 0 + z")
    assert model.design.aux_designs["sigma"].fixed_names == ("z",)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = model.fit(backend="prior", draws=20, chains=1, random_seed=1, progressbar=False)
    post = fit.posterior
    assert "Intercept_sigma" not in post
    ll = pointwise_log_likelihood(post, fit.spec, model.design).values.reshape(-1, model.design.n_obs)
    sigma = np.exp(flatten_draws(post["b_sigma"])[:, :1] * data["z"].to_numpy()[None, :])
    eta = flatten_draws(post["Intercept"])[:, None] + flatten_draws(post["b"])[:, :1] * data["x"].to_numpy()[None, :]
    np.testing.assert_allclose(ll, stats.norm.logpdf(data["y"].to_numpy()[None, :], eta, sigma), rtol=1e-8)


@pytest.mark.parametrize("formula", ["~ 0 + z", "~ z"])
def test_pymc_likelihood_uses_per_row_sigma(data, formula):
    model = hb.Model("y ~ x", data, sigma=formula)
    pm_model = model.compile().model
    outs = pm_model.logp(vars=[pm_model["y"]], sum=False)[0]
    logp = pm_model.compile_fn(outs, point_fn=True, mode="FAST_COMPILE")
    point = {"Intercept_c": np.array(0.3), "b": np.array([0.9]), "b_sigma": np.array([0.4])}
    x, z = data["x"].to_numpy(), data["z"].to_numpy()
    log_sigma = 0.4 * z
    if formula == "~ z":  # the sampler's intercept is on centred predictors
        point["Intercept_sigma__c"] = np.array(-0.2)
        log_sigma = -0.2 + 0.4 * (z - z.mean())
    expected = stats.norm.logpdf(data["y"].to_numpy(), 0.3 + 0.9 * (x - x.mean()), np.exp(log_sigma))
    np.testing.assert_allclose(logp(point), expected, rtol=1e-6)
