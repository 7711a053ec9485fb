"""Pearson and normalized residuals and ICCs of models with a residual structure: the
Pearson residual divides by the row's own residual sd (by= level or visit), the normalized one
whitens each group (nlme's type = "normalized"); an ICC is refused where the
residual variance differs between rows and carries a note where the residuals correlate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb


def _panel() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"g": np.repeat([f"g{j}" for j in range(10)], 4), "t": np.tile(np.arange(1, 5), 10)})
    df["arm"] = np.where(df["g"] < "g5", "a", "b")
    df["x"] = rng.normal(size=len(df))
    df["y"] = rng.normal(size=len(df)) + np.repeat(rng.normal(size=10), 4)
    return df


def _fit(formula: str, rs) -> hb.Fit:
    return hb.Model(formula, _panel(), residuals=rs).fit(backend="prior", draws=30, chains=2, random_seed=1,
                                                          progressbar=False)


@pytest.mark.parametrize("rs, column", [
    (hb.residuals("independent", by="arm"), "arm"),
    (hb.residuals("unstructured", time="t", group="g"), "t"),
])
def test_pearson_residuals_divide_by_the_rows_own_sd(rs, column):
    fit = _fit("y ~ x + (1|g)" if rs.by else "y ~ x", rs)
    response = fit.residuals(kind="response", summary=False).values
    pearson = fit.residuals(kind="pearson", summary=False).values
    post = fit.idata.posterior
    ratio = np.concatenate([np.ones((2, 30, 1)), post["sigma_ratio"].values], axis=-1)
    levels = list(fit.model.design.residuals.sd_levels)
    codes = [levels.index(str(v)) for v in _panel()[column]]
    sd = post["sigma"].values[..., None] * ratio[..., codes]
    np.testing.assert_allclose(pearson, response / sd, rtol=1e-10)


def test_normalized_residuals_are_the_ar1_innovations():
    fit = _fit("y ~ x + (1|g)", hb.residuals("ar1", time="t"))
    r = fit.residuals(kind="response", summary=False).values.reshape(60, 10, 4)  # rows: g-major, t
    z = fit.residuals(kind="normalized", summary=False).values.reshape(60, 10, 4)
    post = fit.idata.posterior
    phi, sigma = post["ar1_phi"].values.reshape(60, 1, 1), post["sigma"].values.reshape(60, 1, 1)
    np.testing.assert_allclose(z[:, :, :1], r[:, :, :1] / sigma, rtol=1e-9)
    innovations = (r[:, :, 1:] - phi * r[:, :, :-1]) / (sigma * np.sqrt(1 - phi**2))
    np.testing.assert_allclose(z[:, :, 1:], innovations, rtol=1e-8, atol=1e-10)
    plain = _fit("y ~ x + (1|g)", None)
    np.testing.assert_allclose(plain.residuals(kind="normalized", summary=False).values,
                               plain.residuals(kind="pearson", summary=False).values)


def test_icc_refused_where_the_residual_variance_differs_between_rows():
    with pytest.raises(hb.SpecError, match=r"no ICC with residuals independent\(by=arm\): the residual "
                                           r"variance differs by level of 'arm'"):
        _fit("y ~ x + (1|g)", hb.residuals("independent", by="arm")).icc()
    with pytest.raises(hb.SpecError, match=r"no ICC with residuals unstructured\(time=t, group=g\): the "
                                           r"residual variance differs by visit \('t'\)"):
        _fit("y ~ x + (1|arm)", hb.residuals("unstructured", time="t", group="g")).icc()


def test_icc_with_correlated_residuals_is_a_variance_share_and_says_so():
    fit = _fit("y ~ x + (1|g)", hb.residuals("ar1", time="t"))
    table = fit.icc()
    post = fit.idata.posterior
    tau2 = post["sd_g"].values.reshape(2, 30, -1)[..., 0] ** 2
    assert table["mean"].item() == pytest.approx(np.mean(tau2 / (tau2 + post["sigma"].values ** 2)))
    assert "residuals ar1(time=t): the residuals of a group are correlated too" in table.attrs["residuals"]
    assert "residuals" not in _fit("y ~ x + (1|g)", hb.residuals("independent", group="g")).icc().attrs
