"""missing="model" with frequency weights: a row of weight w with a level-1 hole is w rows, each
with its own hole, so the model's log density is exactly that of the data with every row
repeated (the imputed values mapped one to one); sampling weights keep one imputed value per
row; the refusals."""

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.backends.pymc.nuts_setup import python_mode
from hierbayes.errors import DataError

PRIORS = {
    "Intercept": hb.Prior("Normal", mu=0, sigma=5),
    "b": hb.Prior("Normal", mu=0, sigma=2),
    "sd": hb.Prior("Exponential", lam=1),
    "sigma": hb.Prior("Exponential", lam=1),
}


def _data(seed: int = 2, J: int = 8, n: int = 6) -> pd.DataFrame:
    """x: continuous level-1 holes, d: binary level-1 holes (never in a row with x's), u: a
    level-2 column with two groups missing; w: integer weights 1-3, one hole row of weight 0."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(J), n)
    u = rng.normal(size=J)[g]
    x, z = rng.normal(size=J * n), rng.normal(size=J * n)
    d = (rng.uniform(size=J * n) < 0.4 + 0.1 * x).astype(float)
    y = 1 + 0.5 * x + 0.3 * z - 0.4 * d + 0.6 * u + rng.normal(0, 0.5, J)[g] + rng.normal(size=J * n)
    df = pd.DataFrame({"y": y, "x": x, "z": z, "d": d, "u": u, "g": [f"s{k}" for k in g],
                       "w": rng.integers(1, 4, J * n).astype(float)})
    df["pass"] = (df["y"] > 1).astype(int)
    df.loc[[3, 10, 20, 33, 41], "x"] = np.nan
    df.loc[[5, 17, 28, 44], "d"] = np.nan
    df.loc[df.g.isin(["s2", "s5"]), "u"] = np.nan
    df.loc[[10, 20, 33, 5, 28, 44], "w"] = 1.0
    df.loc[[3, 17], "w"] = [3.0, 2.0]  # holes of each kind with replicates
    df.loc[41, "w"] = 0.0  # a hole of weight 0: no row in the repeated data
    return df


def _repeated(df: pd.DataFrame) -> pd.DataFrame:
    return df.loc[df.index.repeat(df["w"].astype(int))].reset_index(drop=True)


def _logps(formula: str, family: str, priors: dict):
    df = _data()
    weighted = hb.Model(formula, df, family=family, priors=priors, weights="w", missing="model")
    compiled = weighted.compile()
    repeated = hb.Model(formula, _repeated(df), family=family, priors=priors, missing="model",
                        parameterization=dict(compiled.parameterization)).compile()
    point = {k: v + 0.3 * np.cos(np.arange(np.size(v))).reshape(np.shape(v))
             for k, v in compiled.model.initial_point().items()}
    other = repeated.model.initial_point()
    assert {k: np.shape(v) for k, v in point.items()} == {k: np.shape(v) for k, v in other.items()}
    # python_mode: FAST_COMPILE merges the 33 log-density terms of the gaussian model into one
    # elementwise add, which PyTensor's Python linker cannot run (more than 32 operands)
    return (compiled.model.compile_logp(mode=python_mode())(point),
            repeated.model.compile_logp(mode=python_mode())(point), weighted)


@pytest.mark.parametrize("formula, family, priors", [
    pytest.param("y ~ x + z + d + u + (1 | g)", "gaussian", PRIORS, marks=pytest.mark.slow),  # 12-48 s cold
    ("pass ~ x + d + u + (1 | g)", "bernoulli", {k: v for k, v in PRIORS.items() if k != "sigma"}),
])
def test_frequency_weights_with_holes_are_the_repeated_data(formula, family, priors):
    weighted, repeated, model = _logps(formula, family, priors)
    assert weighted == pytest.approx(repeated, rel=1e-10, abs=1e-8)
    imputation = model.design.imputation
    cols = {c.name: c for c in imputation.columns}
    assert cols["x"].n_values == 3 + 1 + 1 + 1  # row 3 thrice, 10, 20, 33; row 41 (weight 0) gone
    assert cols["x"].labels[:3] == ("3#1", "3#2", "3#3")
    assert cols["d"].labels == (5, "17#1", "17#2", 28, 44)
    assert imputation.replicated == (3, 5)  # rows 3, 17 and 41 (into none)


def test_design_rows_point_back_to_the_data_given():
    df = _data()
    model = hb.Model("y ~ x + z + d + u + (1 | g)", df, weights="w", missing="model", priors=PRIORS)
    design = model.design
    assert design.n_obs == len(df) - 1 + 2 + 1  # row 41 out, row 3 three times, row 17 twice
    positions = design.row_positions
    assert list(positions[:6]) == [0, 1, 2, 3, 3, 3]
    assert list(design.row_index[3:6]) == [3, 3, 3]
    np.testing.assert_allclose(design.row_weights[3:6], 1.0)
    assert design.row_weights.sum() == pytest.approx(df["w"].sum())
    assert 41 not in positions
    assert "3 row(s) with holes expanded into 5 rows of weight 1" in "\n".join(design.imputation.summary_lines())
    frame = hb.Model("y ~ x + z + d + u + (1 | g)", df, weights="w", missing="model", priors=PRIORS)
    assert np.array_equal(frame.design.X, design.X)  # the expansion is deterministic (refits, saved fits)


def test_sampling_weights_keep_one_imputed_value_per_row():
    df = _data()
    df["w"] = df["w"] + 0.5  # not whole numbers: sampling weights
    design = hb.Model("y ~ x + z + u + (1 | g)", df.drop(columns="d"), weights="w", missing="model").design
    assert design.n_obs == len(df)
    assert design.imputation.replicated == (0, 0)
    scaled = hb.Model("y ~ x + z + u + (1 | g)", _data().drop(columns="d"), weights="w", weight_scaling="size",
                      missing="model").design
    assert scaled.n_obs == len(df)


def test_too_many_replicates_are_refused():
    df = _data()
    df.loc[10, "w"] = 300_000.0
    with pytest.raises(DataError, match=r"frequency weights 'w'.*replicate rows.*more than 200000"):
        hb.Model("y ~ x + z + (1 | g)", df, weights="w", missing="model")


def test_imputation_priors_follow_the_weights():
    from hierbayes.priors.missing import binary_imputation_priors, imputation_priors

    x, w = np.array([0.0, 1.0, 3.0]), np.array([1.0, 2.0, 1.0])
    rep = np.repeat(x, w.astype(int))
    a, b = imputation_priors(x, w), imputation_priors(rep)
    assert a["Intercept"].kwargs == pytest.approx(b["Intercept"].kwargs)
    assert a["sigma"].kwargs == pytest.approx(b["sigma"].kwargs)
    d = np.array([0.0, 1.0, 1.0, 0.0])
    assert binary_imputation_priors(d, np.array([3.0, 1.0, 1.0, 1.0]))["Intercept"].kwargs["mu"] == pytest.approx(
        np.log(2 / 4))


def test_fit_reads_the_expanded_rows(tmp_path):
    df = _data()
    fit = hb.Model("y ~ x + z + d + u + (1 | g)", df, weights="w", missing="model", priors=PRIORS).fit(
        backend="prior", draws=20, chains=1, random_seed=3, progressbar=False)
    assert "3 row(s) with holes expanded into 5 rows of weight 1" in str(fit.summary())
    table = fit.imputed().query("column == 'x'")
    assert list(table["unit"][:3]) == ["3#1", "3#2", "3#3"]
    x = fit.posterior["Ymi_x"].values[0, :, :3]  # the three replicates of row 3: their own values
    assert np.ptp(x, axis=1).min() > 0
    eta = fit.predict(kind="linear", groups="exclude").values
    b = fit.posterior["b"].values[0]
    expected = fit.posterior["Intercept"].values[0][:, None] + b[:, :1] * x + b[:, 1:2] * df.loc[3, "z"] \
        + b[:, 2:3] * df.loc[3, "d"] + b[:, 3:4] * df.loc[3, "u"]
    np.testing.assert_allclose(eta[:, 3:6], expected, rtol=1e-8)
    pointwise = fit.idata["log_likelihood"]["y"]
    assert pointwise.sizes[pointwise.dims[-1]] == fit.model.design.n_obs
    fit.save(tmp_path / "f.nc")
    again = hb.load(tmp_path / "f.nc")
    assert again.model.design.imputation.replicated == (3, 5)
    np.testing.assert_array_equal(again.model.design.row_positions, fit.model.design.row_positions)


def test_missing_responses_keep_their_data_positions():
    df = _data()
    df.loc[[2, 46], "y"] = np.nan  # after the expanded rows 3 and 17
    df.loc[46, "x"] = np.nan  # a row missing its response is not expanded, whatever its holes
    df.loc[46, "w"] = 3.0
    design = hb.Model("y ~ x + z + (1 | g)", df.drop(columns="d"), weights="w", missing="model").design
    assert list(design.imputation.response_rows) == [2, 46]
    assert 2 not in design.row_positions and 46 not in design.row_positions
    assert design.imputation.replicated == (2, 3)  # rows 3 (into 3) and 41 (into none)

