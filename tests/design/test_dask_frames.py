"""Models from a Dask DataFrame: the same model as the pandas path, from reductions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

dd = pytest.importorskip("dask.dataframe")

import hierbayes as hb
from hierbayes.design.crossprod import cross_products
from hierbayes.design.dask_cells import DaskCellDesign
from hierbayes.design.reduced import ReducedDesign, pseudo_rows
from hierbayes.errors import DataError, FitFileError, SpecError


def _gaussian(n=2000, J=25, seed=1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.integers(0, J, n)
    x = rng.normal(size=n)
    y = 2 + rng.normal(0, 1, J)[g] + (0.5 + rng.normal(0, 0.4, J)[g]) * x + rng.normal(0, 1, n)
    return pd.DataFrame({"y": y, "x": x, "g": [f"s{k:02d}" for k in g], "z": rng.choice(["a", "b", "c"], n)})


def _bernoulli(n=3000, seed=2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "a": rng.choice(["lo", "mid", "hi"], n), "b": rng.choice(["u", "v"], n),
        "k": rng.integers(0, 3, n), "g": rng.choice([f"s{i}" for i in range(12)], n),
    })
    eta = -0.5 + (df.a == "hi") * 0.8 - 0.4 * (df.b == "v") + 0.3 * df.k
    df["y"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    return df


def _logp_pair(model, reference, shift=0.3):
    """log-densities of both compiled models at two points of the reference's parameters."""
    point = reference.pymc_model.initial_point()
    moved = {k: v + shift for k, v in point.items()}
    f = model.pymc_model.compile_logp(mode="FAST_COMPILE")
    f0 = reference.pymc_model.compile_logp(mode="FAST_COMPILE")
    return np.array([f(point), f(moved)]), np.array([f0(point), f0(moved)])


@pytest.mark.slow
def test_gaussian_random_slope_same_model_as_pandas():
    df = _gaussian()
    model = hb.Model("y ~ x + z + (x | g)", data=dd.from_pandas(df, npartitions=4))
    reference = hb.Model("y ~ x + z + (x | g)", data=df)
    assert isinstance(model.design, ReducedDesign)
    assert model.design.n_obs == len(df) and model.design.n_pseudo < 20
    assert model.design.groups[0].levels == reference.design.groups[0].levels
    np.testing.assert_array_equal(model.design.groups[0].rows_per_level(), reference.design.groups[0].rows_per_level())
    pd.testing.assert_frame_equal(model.priors.to_frame(), reference.priors.to_frame())
    got, want = _logp_pair(model, reference)
    np.testing.assert_allclose(got, want, rtol=1e-9)


def test_reduced_statistics_equal_the_row_cross_products():
    df = _gaussian(n=500)
    design = hb.Model("y ~ x + (x | g)", data=dd.from_pandas(df, npartitions=3)).design
    rows = hb.Model("y ~ x + (x | g)", data=df).design
    block = rows.groups[0]
    want = cross_products(rows.X, rows.y, y_shift=1.5, codes=block.codes, Z=block.X, n_levels=block.n_levels)
    got = design.stats.cross_products(np.eye(2), 1.5)
    for name in ("XX", "Xy", "yy"):
        np.testing.assert_allclose(getattr(got, name), getattr(want, name), rtol=1e-9)
    for name in ("n", "ZZ", "ZX", "Zy", "yy"):
        np.testing.assert_allclose(getattr(got.groups, name), getattr(want.groups, name), rtol=1e-9, atol=1e-9)
    w = pseudo_rows(design.stats)
    mu, C = design.stats.mean_cov()
    np.testing.assert_allclose(w.mean(axis=0), mu, atol=1e-10)
    np.testing.assert_allclose(np.cov(w.T, bias=True), C, atol=1e-9)


@pytest.mark.slow
def test_gaussian_fit_matches_pandas_fit():
    df = _gaussian(n=1500)
    kw = {"draws": 300, "tune": 300, "chains": 2, "random_seed": 3, "progressbar": False}
    fit = hb.Model("y ~ x + (x | g)", data=dd.from_pandas(df, npartitions=3)).fit(**kw)
    ref = hb.Model("y ~ x + (x | g)", data=df).fit(**kw)
    a, b = fit.fixef(), ref.fixef()
    np.testing.assert_allclose(a["mean"], b["mean"], atol=0.25 * b["sd"].max())
    effects = fit.posterior["re_g"].mean(("chain", "draw")).values
    effects_ref = ref.posterior["re_g"].mean(("chain", "draw")).values
    np.testing.assert_allclose(effects, effects_ref, atol=0.1)
    assert "Reduced: 1500 gaussian rows" in str(fit.summary())
    with pytest.raises(SpecError, match="fitted from a Dask DataFrame and holds only per-group"):
        fit.loo()


def test_bernoulli_categorical_cells_same_model_as_pandas():
    df = _bernoulli()
    model = hb.Model("y ~ a + b + k + (1|g)", data=dd.from_pandas(df, npartitions=3), family="bernoulli")
    reference = hb.Model("y ~ a + b + k + (1|g)", data=df, family="bernoulli")
    assert isinstance(model.design, DaskCellDesign)
    assert model.design.n_rows == len(df) and model.design.n_cells == reference.design.n_cells
    pd.testing.assert_frame_equal(model.priors.to_frame(), reference.priors.to_frame())
    got, want = _logp_pair(model, reference)
    np.testing.assert_allclose(got, want, rtol=1e-9)


@pytest.mark.slow
def test_bernoulli_cells_fit_matches_pandas_fit():
    df = _bernoulli(n=2000)
    kw = {"draws": 300, "tune": 300, "chains": 2, "random_seed": 4, "progressbar": False}
    formula = "y ~ a + b + (1|g)"
    fit = hb.Model(formula, data=dd.from_pandas(df, npartitions=3), family="bernoulli").fit(**kw)
    ref = hb.Model(formula, data=df, family="bernoulli").fit(**kw)
    a, b = fit.fixef(), ref.fixef()
    np.testing.assert_allclose(a["mean"], b["mean"], atol=0.25 * b["sd"].max())
    np.testing.assert_allclose(fit.varcorr()["mean"], ref.varcorr()["mean"], atol=0.25 * ref.varcorr()["sd"].max())
    assert "counted by Dask into" in str(fit.summary())


def test_poisson_cells_hold_the_counts_and_rows():
    df = _bernoulli()
    df["c"] = df["y"] + df["k"]
    model = hb.Model("c ~ a + (1|g)", data=dd.from_pandas(df, npartitions=2), family="poisson")
    cells = df.groupby(["a", "g"]).size()
    design = model.design
    assert design.n_obs == len(cells)
    assert design.y.sum() == df["c"].sum()
    np.testing.assert_allclose(np.exp(design.offset).sum(), len(df))
    assert design.spec.fixed.offsets == ("log(cell_rows)",)


def test_errors_name_what_cannot_be_reduced():
    df = _bernoulli()
    df["x"] = np.random.default_rng(0).normal(size=len(df))
    ddf = dd.from_pandas(df, npartitions=2)
    from hierbayes.design import dask_cells

    old = dask_cells.MAX_CELLS
    dask_cells.MAX_CELLS = 100
    try:
        with pytest.raises(DataError, match="column 'x' has about .* distinct values.*compute"):
            hb.Model("y ~ x + (1|g)", data=ddf, family="bernoulli")
    finally:
        dask_cells.MAX_CELLS = old
    with pytest.raises(SpecError, match="gamma model cannot be fitted from a Dask DataFrame"):
        hb.Model("k ~ a", data=ddf, family="gamma")
    gdf = dd.from_pandas(_gaussian(n=300), npartitions=2)
    with pytest.raises(SpecError, match="can have one group term; this one has 2"):
        hb.Model("y ~ x + (1|g) + (1|z)", data=gdf)
    with pytest.raises(SpecError, match="transform whose state depends on all rows"):
        hb.Model("y ~ center(x) + (1|g)", data=gdf)
    with pytest.raises(SpecError, match="offsets are not reduced"):
        hb.Model("y ~ x + offset(x) + (1|g)", data=gdf)
    with pytest.raises(SpecError, match="response of a model fitted from a Dask DataFrame must be a column"):
        hb.Model("I(1 - y) ~ a", data=ddf, family="bernoulli")


def test_missing_values_error_or_drop(monkeypatch):
    from hierbayes.design import dask_frames

    monkeypatch.setattr(dask_frames, "TEMPLATE_ROWS", 50)  # the missing values are past the template
    df = _gaussian(n=400)
    df.loc[[250, 300], "x"] = np.nan
    ddf = dd.from_pandas(df, npartitions=2)
    with pytest.raises(DataError, match="column 'x' has missing values"):
        hb.Model("y ~ x + (1|g)", data=ddf)
    with pytest.warns(UserWarning, match="dropped 2 rows"):
        model = hb.Model("y ~ x + (1|g)", data=ddf, missing="drop")
    assert model.design.n_obs == 398
    bern = _bernoulli(n=400)
    bern["a"] = bern["a"].astype(object)
    bern.loc[3, "a"] = None
    with pytest.raises(DataError, match="column 'a' has 1 missing values"):
        hb.Model("y ~ a + (1|g)", data=dd.from_pandas(bern, npartitions=2), family="bernoulli")


def test_poststratification_cells_counted_by_dask():
    df = _bernoulli(n=600)
    fit = hb.Model("y ~ a + b + (1|g)", data=dd.from_pandas(df, npartitions=2), family="bernoulli").fit(
        backend="prior", draws=40, chains=2, random_seed=1)
    census = df[["a", "b", "g"]].assign(n=1)  # rows, each counting one person
    table = hb.Poststrat(dd.from_pandas(census, npartitions=3), count="n")
    reference = hb.Poststrat(census.groupby(["a", "b", "g"], as_index=False)["n"].sum(), count="n")
    by_dask = fit.poststratify(table, by="a", random_seed=2).summary()
    by_pandas = fit.poststratify(reference, by="a", random_seed=2).summary()
    a, b = by_dask.sort_index(), by_pandas.sort_index()
    assert list(map(str, a.index)) == list(map(str, b.index))
    np.testing.assert_allclose(a.to_numpy(dtype=float), b.to_numpy(dtype=float), rtol=1e-3)  # cell order
    with pytest.raises(DataError, match="count column 'm' is not in the table"):
        hb.Poststrat(dd.from_pandas(census, npartitions=1), count="m")


@pytest.mark.slow
def test_reduced_gaussian_fit_predicts_new_rows_and_refuses_row_quantities(tmp_path):
    df = _gaussian(n=600)
    fit = hb.Model("y ~ x + (x | g)", data=dd.from_pandas(df, npartitions=2)).fit(
        backend="prior", draws=30, chains=2, random_seed=1)
    assert fit.predict(df.head(4)).summary().shape[0] == 4
    by_dask = fit.predict(dd.from_pandas(df.head(6), npartitions=2), random_seed=1).summary()
    np.testing.assert_allclose(by_dask["mean"], fit.predict(df.head(6), random_seed=1).summary()["mean"])
    assert list(fit.ranef()["g"].index) == sorted(df["g"].unique())
    with pytest.raises(SpecError, match="this needs the training rows .* fitted from a Dask DataFrame"):
        fit.ppc()
    with pytest.raises(FitFileError, match="fitted from a Dask DataFrame and a saved fit holds its training data"):
        fit.save(tmp_path / "fit.nc")


def test_fixed_effects_only_gaussian_uses_the_statistics():
    df = _gaussian(n=400)
    model = hb.Model("y ~ x + z", data=dd.from_pandas(df, npartitions=2))
    reference = hb.Model("y ~ x + z", data=df)
    assert model.compile().likelihood == "sufficient statistics"
    got, want = _logp_pair(model, reference)
    np.testing.assert_allclose(got, want, rtol=1e-9)
