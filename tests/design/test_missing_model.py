"""missing="model": which holes are imputed, at which level, with which loadings; the
refusals (grouping factor, categorical, nonlinear terms, slopes, products of two
imputed columns, non-gaussian responses, unknown policy)."""

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.errors import DataError, SpecError


def _data(seed=0, J=12, n=6):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(J), n)
    w = rng.normal(size=J)[g]
    x = rng.normal(size=J * n)
    z = rng.normal(size=J * n)
    y = 1 + 0.5 * x + 0.3 * z + 0.8 * w + rng.normal(size=J * n)
    df = pd.DataFrame({"y": y, "x": x, "z": z, "w": w, "g": [f"s{k}" for k in g]})
    df.loc[[3, 10, 20, 41], "x"] = np.nan
    df.loc[df.g.isin(["s2", "s5"]), "w"] = np.nan
    df.loc[(df.g == "s7") & (np.arange(J * n) % n == 0), "w"] = np.nan  # s7 keeps its value
    return df


def test_level_one_and_level_two_holes_are_found_with_their_models():
    df = _data()
    design = hb.Model("y ~ x * z + w + (1 | g)", df, missing="model").design
    assert design.n_obs == len(df)
    cols = {c.name: c for c in design.imputation.columns}
    x, w = cols["x"], cols["w"]
    assert x.level is None and x.n_values == 4 and list(x.rows) == [3, 10, 20, 41]
    assert x.describe() == "gaussian: x ~ 1 + z + (1 | g)"
    loads = {design.fixed_names[j]: m for j, m in x.loadings}
    assert set(loads) == {"x", "x:z"}
    np.testing.assert_allclose(loads["x"], 1.0)
    np.testing.assert_allclose(loads["x:z"], df.z.to_numpy()[[3, 10, 20, 41]])
    # level 2: one value per group without any observed value; s7's hole takes its known value
    assert w.level == "g" and set(w.labels) == {"s2", "s5"} and len(w.rows) == 12
    s7 = df.index[(df.g == "s7")]
    col = design.fixed_names.index("w")
    np.testing.assert_allclose(design.X[s7, col], df.w[s7].dropna().iloc[0])


def test_missing_gaussian_response_rows_leave_the_likelihood():
    df = _data()
    df.loc[[5, 6], "y"] = np.nan
    design = hb.Model("y ~ x + (1 | g)", df, missing="model").design
    assert design.n_obs == len(df) - 2
    assert list(design.imputation.response_rows) == [5, 6]


def test_compiled_model_has_imputed_values_and_the_rows_likelihood():
    from hierbayes.backends.pymc.compile import compile_model

    m = hb.Model("y ~ x + w + (1 | g)", _data(), missing="model")
    compiled = compile_model(m.design, m.priors)
    names = {v.name for v in compiled.model.free_RVs}
    assert {"Ymi_x", "Ymi_w", "mi_x_sigma", "mi_x_sd", "mi_w_Intercept"} <= names
    assert compiled.likelihood == "rows"
    assert compiled.model.named_vars_to_dims["Ymi_w"] == ("mi_w_unit",)
    with pytest.raises(SpecError, match="rows likelihood only"):
        compile_model(m.design, m.priors, likelihood_form="marginal")


def test_prior_backend_fit_gives_the_imputed_table_and_summary():
    df = _data()
    df.loc[[5], "y"] = np.nan
    fit = hb.Model("y ~ x + w + (1 | g)", df, missing="model").fit(
        backend="prior", draws=50, chains=2, random_seed=1, progressbar=False)
    table = fit.imputed()
    assert list(table.groupby("column", sort=False).size().items()) == [("x", 4), ("w", 2), ("y", 1)]
    draws = fit.imputed(draws=True)
    assert draws["Ymi_x"].shape == (2, 50, 4) and draws["Ymi_w"].sizes["mi_w_unit"] == 2
    text = str(fit.summary())
    assert "imputed 4 value(s) of 'x' (gaussian: x ~ 1 + (1 | g))" in text
    assert "Likelihood: rows" in text


def test_imputed_on_a_model_without_imputation_is_an_error():
    df = _data().dropna()
    fit = hb.Model("y ~ x + (1 | g)", df).fit(backend="prior", draws=20, chains=1, progressbar=False)
    with pytest.raises(SpecError, match="imputed nothing"):
        fit.imputed()


def test_missing_grouping_factor_is_refused_naming_it():
    df = _data()
    df.loc[4, "g"] = None
    with pytest.raises(DataError, match="grouping factor 'g' has 1 missing value"):
        hb.Model("y ~ x + (1 | g)", df, missing="model")


def test_categorical_predictor_with_holes_is_refused():
    df = _data()
    df["c"] = np.array(["a", "b", "c"])[np.arange(len(df)) % 3]
    df.loc[7, "c"] = None
    with pytest.raises(DataError, match="categorical predictor 'c' \\(3 levels\\)"):
        hb.Model("y ~ x + c + (1 | g)", df, missing="model")


def test_binary_predictor_with_holes_is_imputed_not_refused():  # tests/design/test_missing_binary.py
    df = _data()
    df["d"] = (np.arange(len(df)) % 2).astype(float)
    df.loc[7, "d"] = np.nan
    (col,) = [c for c in hb.Model("y ~ d + (1 | g)", df, missing="model").design.imputation.columns]
    assert col.kind == "binary" and col.parameter == "Pmi_d"


def test_nonlinear_term_is_refused_naming_it():
    with pytest.raises(SpecError, match=r"\['I\(x\^2\)'\] are not linear in the imputed column 'x'"):
        hb.Model("y ~ x + I(x**2) + (1 | g)", _data(), missing="model")


def test_imputed_column_in_a_group_term_is_refused():
    with pytest.raises(SpecError, match=r"is a varying slope of a group term \('x'\)"):
        hb.Model("y ~ x + (x | g)", _data(), missing="model")


def test_product_of_two_imputed_columns_is_refused_where_both_holes_meet():
    df = _data()
    hb.Model("y ~ x * w + (1 | g)", df, missing="model")  # no row misses both: linear in each
    df.loc[13, "x"] = np.nan  # group s2 misses w
    with pytest.raises(SpecError, match=r"\['x:w'\] multiply two imputed columns \('x', 'w'\)"):
        hb.Model("y ~ x * w + (1 | g)", df, missing="model")


def test_missing_response_of_a_non_gaussian_family_is_refused():
    df = _data()
    df["k"] = (df.y > 1).astype(float)
    df.loc[2, "k"] = np.nan
    with pytest.raises(DataError, match="response 'k' has missing values"):
        hb.Model("k ~ z + (1 | g)", df, family="bernoulli", missing="model")


def test_holes_outside_the_fixed_part_are_refused():
    df = _data()
    df["o"] = 1.0
    df.loc[2, "o"] = np.nan
    with pytest.raises(DataError, match="column 'o' has missing values but is not a fixed-effect predictor"):
        hb.Model("y ~ z + offset(o) + (1 | g)", df, missing="model")


def test_unknown_missing_policy_is_refused():
    with pytest.raises(DataError, match="valid values are 'error', 'drop' and 'model'"):
        hb.Model("y ~ x + (1 | g)", _data(), missing="impute")


def test_dask_frames_are_refused():
    dd = pytest.importorskip("dask.dataframe")
    frame = dd.from_pandas(_data(), npartitions=2)
    with pytest.raises(DataError, match="needs the rows in memory"):
        hb.Model("y ~ x + (1 | g)", frame, missing="model")


def test_brms_mi_spelling_marks_columns_and_implies_missing_model():
    df = _data()
    df.loc[[5], "y"] = np.nan
    model = hb.Model("y | mi() ~ mi(x) * z + mi(w) + (1 | g)", df)
    assert model.missing == "model" and model.config.impute == ("y", "x", "w")
    assert model.formula == hb.Model("y ~ x * z + w + (1 | g)", df, missing="model").formula
    assert {c.name for c in model.design.imputation.columns} == {"x", "w"}
    with pytest.raises(DataError, match=r"column\(s\) \['w'\] have missing values but are not marked with mi\(\)"):
        hb.Model("y | mi() ~ mi(x) + w + (1 | g)", df)
    with pytest.raises(DataError, match=r"column\(s\) \['y'\] have missing values"):
        hb.Model("y ~ mi(x) + mi(w) + (1 | g)", df)
    with pytest.raises(SpecError, match="mi\\(\\) takes one column name"):
        hb.Model("y ~ mi(log(x)) + (1 | g)", df)
    with pytest.raises(DataError, match="contradicts missing='drop'"):
        hb.Model("y ~ mi(x) + (1 | g)", df, missing="drop")


def test_imputed_predictors_with_weights_weigh_their_units():
    df = _data()
    df["wt"] = 1.0 + (np.arange(len(df)) % 3)
    df["w2"] = (1.0 + df.g.str[1:].astype(int) % 2) / 2  # unscaled level-2 weights average at most 1
    m = hb.Model("y ~ x + w + (1 | g)", df, weights="wt", group_weights={"g": "w2"}, missing="model")
    cols = {c.name: c for c in m.design.imputation.columns}
    rw = m.design.row_weights
    np.testing.assert_allclose(cols["x"].weights_mis, rw[[3, 10, 20, 41]])
    np.testing.assert_allclose(cols["x"].weights_obs, np.delete(rw, [3, 10, 20, 41]))
    np.testing.assert_allclose(cols["w"].weights_mis, [0.5, 1.0])  # s2, s5
    assert len(cols["w"].weights_obs) == 10
    compiled = m.compile()
    assert {"mi_x_weights", "mi_w_weights"} <= {p.name for p in compiled.model.potentials}


def test_imputed_predictors_with_a_distributional_formula_are_refused():
    df = _data()
    with pytest.raises(SpecError, match="does not yet combine imputed predictors with censoring or distributional") as err:
        hb.Model("y ~ x + (1 | g)", df, sigma="~ z", missing="model")
    n_holes = int(df["x"].isna().sum())
    assert f"missing='drop' fits the rows without holes ({n_holes} of {len(df)} rows have one in 'x')" in str(err.value)


def test_too_few_observed_values_are_refused():
    df = _data()
    df.loc[2:, "x"] = np.nan
    with pytest.raises(DataError, match="column 'x' has fewer than 3 observed values"):
        hb.Model("y ~ x + (1 | g)", df, missing="model")


def test_training_row_predictions_use_the_imputed_values():
    df = _data()
    fit = hb.Model("y ~ x + z + (1 | g)", df, missing="model").fit(
        backend="prior", draws=30, chains=1, random_seed=2, progressbar=False)
    post = fit.posterior
    eta = fit.predict(kind="linear", groups="exclude").values  # (draws, rows)
    x = post["Ymi_x"].values[0]  # (draws, 4) for rows 3, 10, 20, 41
    b = post["b"].values[0]  # columns x, z
    expected = post["Intercept"].values[0][:, None] + b[:, :1] * x + b[:, 1:] * df.z.to_numpy()[[3, 10, 20, 41]]
    np.testing.assert_allclose(eta[:, [3, 10, 20, 41]], expected, rtol=1e-8)


def test_compile_fingerprint_sees_where_the_holes_are():
    from hierbayes.backends.pymc.compile import compile_model

    df = _data()
    filled = df.copy()
    filled["x"] = df.x.fillna(df.x.mean())  # the very design of df, without holes
    a = hb.Model("y ~ x + (1 | g)", df, missing="model")
    b = hb.Model("y ~ x + (1 | g)", filled)
    np.testing.assert_array_equal(a.design.X, b.design.X)
    assert compile_model(a.design, a.priors).fingerprint != compile_model(b.design, b.priors, likelihood_form="rows").fingerprint


@pytest.mark.slow
def test_other_families_and_models_without_group_terms_compile():
    from hierbayes.backends.pymc.compile import compile_model

    df = _data()
    df["k"] = (df.y > 1).astype(float)
    m = hb.Model("k ~ x + z + (1 | g)", df, family="bernoulli", missing="model")
    compiled = compile_model(m.design, m.priors)
    assert "Ymi_x" in {v.name for v in compiled.model.free_RVs} and compiled.likelihood == "rows"
    plain = hb.Model("y ~ x + z", df, missing="model")
    (col,) = plain.design.imputation.columns
    assert col.group is None and col.describe() == "gaussian: x ~ 1 + z"
    assert np.isfinite(compile_model(plain.design, plain.priors).model.compile_logp()(
        compile_model(plain.design, plain.priors).model.initial_point()))


def test_marginal_parameterization_is_refused_with_imputed_predictors():
    m = hb.Model("y ~ x + (1 | g)", _data(), missing="model", parameterization="marginal")
    with pytest.raises(SpecError, match="with imputed predictors \\(missing='model'\\) the design moves"):
        m.compile()


def test_a_hole_in_a_group_terms_column_points_to_dropping_the_rows():
    import hierbayes as hb
    from hierbayes.errors import SpecError

    data = hb.datasets.load("sleepstudy").copy()
    data.loc[[3, 17], "Days"] = np.nan
    with pytest.raises(SpecError, match=r"missing='model': column 'Days' has missing values and is a varying slope of "
                                        r"a group term \('Days'\); imputed columns may enter only the fixed part: use "
                                        r"missing='drop' to fit the complete rows"):
        hb.Model("Reaction ~ Days + (Days | Subject)", data, missing="model")
    assert hb.Model("Reaction ~ Days + (Days | Subject)", data, missing="drop").design.n_obs == 178
