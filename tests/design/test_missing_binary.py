"""missing="model" with binary 0/1 predictors: found with their level and logistic model,
summed out of the likelihood (``Pmi_<column>`` checked against a numpy recomputation from
prior draws), and the refusals (two binary holes in one row, one observed value, a residual
structure); simulation draws the holes from their logistic models."""

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, log_expit
from scipy.stats import norm

import hierbayes as hb
from hierbayes.errors import DataError, SpecError


def _data(seed=0, J=12, n=6):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(J), n)
    z = rng.normal(size=J * n)
    d = (rng.random(J * n) < expit(z)).astype(float)
    u = rng.normal(size=J)[g]
    w = (rng.random(J) < 0.5).astype(float)[g]
    y = 1 + 0.8 * d + 0.3 * z + 0.5 * w + 0.4 * u + rng.normal(size=J * n)
    df = pd.DataFrame({"y": y, "d": d, "z": z, "w": w, "u": u, "g": [f"s{k}" for k in g]})
    df.loc[[1, 8, 30, 50], "d"] = np.nan
    df.loc[df.g.isin(["s3", "s9"]), "w"] = np.nan
    df.loc[(df.g == "s4") & (np.arange(J * n) % n == 0), "w"] = np.nan  # s4 keeps its value
    return df


def test_binary_columns_are_found_with_a_logistic_model_and_zero_fill():
    df = _data()
    design = hb.Model("y ~ d * z + w + u + (1 | g)", df, missing="model").design
    cols = {c.name: c for c in design.imputation.columns}
    d, w = cols["d"], cols["w"]
    assert d.kind == "binary" and d.level is None and list(d.rows) == [1, 8, 30, 50]
    assert d.parameter == "Pmi_d" and d.describe() == "logistic: d ~ 1 + z + u + (1 | g)"
    assert w.kind == "binary" and w.level == "g" and set(w.labels) == {"s3", "s9"} and len(w.rows) == 12
    assert w.describe() == "logistic: w ~ 1 + u, one value per g"
    X = pd.DataFrame(design.X, columns=design.fixed_names)
    assert (X.loc[[1, 8, 30, 50], ["d", "d:z"]] == 0).all().all()  # the design holds x = 0
    assert (X.loc[df.g.isin(["s3", "s9"]), "w"] == 0).all()
    s4 = df.index[df.g == "s4"]
    assert X.loc[s4, "w"].nunique() == 1 and X.loc[s4, "w"].iloc[0] == df.w[s4].dropna().iloc[0]
    loads = {design.fixed_names[j]: m for j, m in d.loadings}
    np.testing.assert_allclose(loads["d:z"], df.z.to_numpy()[[1, 8, 30, 50]])


def test_compiled_model_sums_the_holes_out():
    from hierbayes.backends.pymc.compile import compile_model

    m = hb.Model("y ~ d + w + z + (1 | g)", _data(), missing="model")
    compiled = compile_model(m.design, m.priors)
    free = {v.name for v in compiled.model.free_RVs}
    assert {"mi_d_Intercept", "mi_d_b", "mi_d_sd", "mi_w_Intercept"} <= free
    assert not {"Ymi_d", "Ymi_w", "Pmi_d", "mi_d_sigma"} & free
    assert {p.name for p in compiled.model.potentials} >= {"mi_d_mixture", "mi_d_observed", "mi_w_mixture"}
    assert compiled.model.named_vars_to_dims["Pmi_w"] == ("mi_w_unit",)
    assert compiled.likelihood == "rows"


def _numpy_pmi(fit, df, col, level):
    """P(x = 1 | parameters, y) per draw and imputed unit, from the draws with numpy (with
    weights: rows count their row weights, the imputation model its unit's weight)."""
    post = fit.posterior
    S = post.sizes["chain"] * post.sizes["draw"]
    flat = {k: post[k].values.reshape(S, *post[k].shape[2:]) for k in post.data_vars}
    design = fit.model.design
    c = next(c for c in design.imputation.columns if c.name == col)
    eta = flat["Intercept"][:, None] + flat["b"] @ design.X[:, 1:].T + flat["re_g"][:, design.groups[0].codes, 0]
    j = design.fixed_names.index(col)
    step = flat["b"][:, j - 1]
    ll0 = norm.logpdf(df.y.to_numpy()[None, :], eta, flat["sigma"][:, None])
    ll1 = norm.logpdf(df.y.to_numpy()[None, :], eta + step[:, None], flat["sigma"][:, None])
    s0 = np.zeros((S, c.n_values))
    s1 = np.zeros((S, c.n_values))
    rw = np.ones(len(df)) if design.row_weights is None else design.row_weights
    np.add.at(s0.T, c.unit, (rw * ll0)[:, c.rows].T)
    np.add.at(s1.T, c.unit, (rw * ll1)[:, c.rows].T)
    a = flat[f"mi_{col}_Intercept"][:, None] + (flat[f"mi_{col}_b"] @ c.W_mis.T if c.W_mis.shape[1]
                                                 else np.zeros((1, c.n_values)))
    if level is None:
        a = a + (flat[f"mi_{col}_z"] * flat[f"mi_{col}_sd"][:, None])[:, c.codes_mis]
    wu = 1.0 if c.weights_mis is None else c.weights_mis
    return expit(wu * a + s1 - s0), flat[c.parameter], (c, ll0, ll1, rw, wu * a)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(("col", "level"), [("d", None), ("w", "g")])
def test_posterior_probability_matches_a_numpy_recomputation(col, level, weighted):
    df = _data()
    df["wt"] = 0.5 + (np.arange(len(df)) % 4) / 2
    df["w2"] = (1.0 + df.g.str[1:].astype(int) % 4) / 4  # unscaled level-2 weights average at most 1
    weights = {"weights": "wt", "group_weights": {"g": "w2"}} if weighted else {}
    fit = hb.Model("y ~ d + w + z + (1 | g)", df, missing="model", parameterization="noncentered", **weights).fit(
        backend="prior", draws=40, chains=1, random_seed=3, progressbar=False)
    if weighted:
        c = next(c for c in fit.model.design.imputation.columns if c.name == col)
        assert c.weights_mis is not None and np.ptp(c.weights_mis) > 0
    expected, got, (c, ll0, ll1, rw, a) = _numpy_pmi(fit, df, col, level)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)
    # the pointwise log-likelihood: the mixture the model used (level 1), given the group's other rows (level 2)
    from hierbayes.predict.loglik import pointwise_log_likelihood

    pointwise = pointwise_log_likelihood(fit.posterior, fit.model.spec, fit.model.design).values[0]
    for i, u in zip(c.rows, c.unit, strict=True):
        others = [k for k, v in zip(c.rows, c.unit, strict=True) if v == u and k != i]
        logit_q = a[:, u] + (rw[others] * (ll1[:, others] - ll0[:, others])).sum(axis=1)
        mix = np.logaddexp(log_expit(logit_q) + ll1[:, i], log_expit(-logit_q) + ll0[:, i])
        np.testing.assert_allclose(pointwise[:, i], rw[i] * mix, rtol=1e-6)
    table = fit.imputed().query("column == @col")
    assert table["model"].str.contains(f"values are P\\({col} = 1 \\| data\\)").all()
    assert ((table["mean"] >= 0) & (table["mean"] <= 1)).all()


def test_training_predictions_and_loglik_use_drawn_binary_values():
    df = _data()
    fit = hb.Model("y ~ d + z + (1 | g)", df.drop(columns="w"), missing="model").fit(
        backend="prior", draws=30, chains=1, random_seed=2, progressbar=False)
    eta = fit.predict(kind="linear", groups="exclude").values
    post = fit.posterior
    b = post["b"].values[0]
    base = post["Intercept"].values[0][:, None] + b[:, 1:] * df.z.to_numpy()[[1, 8, 30, 50]]
    moved = (eta[:, [1, 8, 30, 50]] - base) / b[:, :1]  # the imputed d of each draw: 0 or 1
    assert np.isin(np.round(moved, 8), (0.0, 1.0)).all()
    assert 0 < moved.mean() < 1
    draws = fit.imputed(draws=True)
    assert draws["Pmi_d"].shape == (1, 30, 4)


def test_two_binary_holes_in_one_row_are_refused():
    df = _data()
    df["e"] = (np.arange(len(df)) % 3 == 0).astype(float)
    df.loc[[8, 9], "e"] = np.nan
    with pytest.raises(DataError, match="binary predictors 'd' and 'e' are both missing .* in 1 row"):
        hb.Model("y ~ d + e + (1 | g)", df, missing="model")
    with pytest.raises(DataError, match="binary predictors 'd' and 'w' are both missing .* in 1 row"):
        hb.Model("y ~ d + w + (1 | g)", df.assign(d=df.d.where(df.index != 18)), missing="model")


def test_binary_column_observed_at_one_value_is_refused():
    df = _data()
    df["e"] = 1.0
    df.loc[[4], "e"] = np.nan
    df.loc[[5], "e"] = 0.0
    hb.Model("y ~ e + (1 | g)", df, missing="model")
    df.loc[[5], "e"] = 1.0
    with pytest.raises(DataError, match="binary predictor 'e' has only the value 1"):
        hb.Model("y ~ e + (1 | g)", df, missing="model")


def test_binary_holes_with_a_residual_structure_are_refused():
    df = _data().drop(columns="w")
    df["t"] = np.tile(np.arange(6), 12)
    with pytest.raises(SpecError, match=r"binary predictor\(s\) \['d'\] .* residual structure"):
        hb.Model("y ~ d + z + (1 | g)", df, missing="model", residuals=hb.residuals("ar", time="t", group="g"))


@pytest.mark.slow  # ~70 s on a busy machine: NUTS on the imputation models, two forward-sampling compilations
def test_simulation_draws_the_binary_holes_from_their_logistic_models():
    """SBC's simulation: each binary hole drawn (``Dmi_<column>``, a level-2 column once per
    group) and the response simulated with it; with b_d near 50 and everything else near 0,
    y > 25 exactly where the (observed or drawn) value is 1."""
    from hierbayes.backends.pymc.refit import simulate_prior

    tight = {"Intercept": hb.Prior("Normal", mu=0, sigma=0.05), "b": hb.Prior("Normal", mu=0, sigma=0.05),
             "b:d": hb.Prior("Normal", mu=50, sigma=0.01), "b:w": hb.Prior("Normal", mu=-50, sigma=0.01),
             "sd": hb.Prior("Exponential", lam=20), "sigma": hb.Prior("Exponential", lam=20)}
    df = _data()
    model = hb.Model("y ~ d + z + w + (1 | g)", df, missing="model", priors=tight)
    sim = simulate_prior(model.design, model.priors, {"g": "noncentered"}, ["b", "Dmi_d", "Dmi_w"], 40, 1)
    d, w = sim.values["Dmi_d"], sim.values["Dmi_w"]
    assert d.shape == (40, 4) and w.shape == (40, 2) and set(np.unique(d)) == {0, 1}
    cols = {c.name: c for c in model.design.imputation.columns}
    dd = np.tile(df["d"].to_numpy(), (40, 1))
    dd[:, cols["d"].rows] = d[:, cols["d"].unit]
    ww = np.tile(df.groupby("g")["w"].transform("first").to_numpy(), (40, 1))
    ww[:, cols["w"].rows] = w[:, cols["w"].unit]
    np.testing.assert_allclose(sim.y, 50 * dd - 50 * ww, atol=5)  # at every row: observed or drawn values
    assert 0.1 < d.mean() < 0.9  # drawn, not all 0 (the fitted model's fill)


def test_unknown_binary_holes_mode_is_refused():
    from hierbayes.backends.pymc.compile import compile_model

    model = hb.Model("y ~ d + z + (1 | g)", _data().drop(columns="w"), missing="model")
    with pytest.raises(SpecError, match="binary_holes='sample': valid values are 'sum'"):
        compile_model(model.design, model.priors, binary_holes="sample")


@pytest.mark.slow
def test_other_families_sum_the_holes_out_too():
    df = _data().drop(columns="w")
    df["k"] = (df.y > 1.2).astype(float)
    df["c"] = np.round(np.exp(df.y / 2)).astype(float)
    for formula, family in (("k ~ d + z + (1 | g)", "bernoulli"), ("c ~ d + z + (1 | g)", "poisson")):
        m = hb.Model(formula, df, family=family, missing="model")
        model = m.compile().model
        assert np.isfinite(model.compile_logp()(model.initial_point()))
        fit = m.fit(backend="prior", draws=20, chains=1, random_seed=1, progressbar=False)
        p = fit.posterior["Pmi_d"].values
        assert p.shape == (1, 20, 4) and (p >= 0).all() and (p <= 1).all() and p.std() > 0


def test_the_imputation_models_random_intercept_is_centred_where_groups_are_data_rich():
    # mlmRev's Exam, 25% of sexM missing: single-sex schools pin their intercepts; non-centred
    # the imputation model mixed at R-hat 1.015, bulk ESS 173 (hierarchically centred: 1.005, 1,066)
    from types import SimpleNamespace

    from hierbayes.backends.pymc.imputation import groups_data_rich

    rng = np.random.default_rng(2)
    codes = np.repeat(np.arange(30), 40)
    school_share = rng.choice([0.0, 0.5, 1.0], size=30)
    rich = SimpleNamespace(codes_obs=codes, observed=(rng.random(1200) < school_share[codes]).astype(float),
                           n_groups=30)
    weak = SimpleNamespace(codes_obs=codes, observed=(rng.random(1200) < 0.5).astype(float), n_groups=30)
    assert groups_data_rich(rich) and not groups_data_rich(weak)
