"""A weighted fit's margins average the training rows with their weights; its pointwise
log-likelihood (LOO, power-scaling) is the weighted terms its likelihood sums."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.predict.loglik import pointwise_log_likelihood
from hierbayes.predict.margins import margins


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(2)
    n = 40
    df = pd.DataFrame({
        "y": rng.normal(size=n), "x": rng.normal(size=n), "g": rng.integers(0, 5, n).astype(str),
        "w": rng.uniform(0.2, 3.0, n),
    })
    kw = dict(draws=30, chains=1, random_seed=1, progressbar=False, backend="prior")
    return df, hb.Model("y | weights(w) ~ x + (1|g)", df).fit(**kw)


def test_margins_weight_the_training_rows(fitted):
    df, fit = fitted
    post = fit.posterior
    table = margins(post, fit.model.built, kind="linear", groups="exclude").summary()
    expected = post["Intercept"].values + post["b"].values[..., 0] * np.average(df["x"], weights=df["w"])
    assert table["mean"].iloc[0] == pytest.approx(expected.mean(), rel=1e-8)
    unweighted = margins(post, fit.model.built, kind="linear", groups="exclude", data=df).summary()
    plain = post["Intercept"].values + post["b"].values[..., 0] * df["x"].mean()
    assert unweighted["mean"].iloc[0] == pytest.approx(plain.mean(), rel=1e-8)


def test_pointwise_log_likelihood_is_weighted(fitted):
    df, fit = fitted
    model = fit.model
    weighted = pointwise_log_likelihood(fit.posterior, model.spec, model.design).values
    plain_model = hb.Model("y ~ x + (1|g)", df)
    plain = pointwise_log_likelihood(fit.posterior, plain_model.spec, plain_model.design).values
    np.testing.assert_allclose(weighted, plain * df["w"].to_numpy()[None, None, :])


def test_poststratification_compares_with_the_weighted_sample_mean(fitted):
    df, fit = fitted
    cells = pd.DataFrame({"g": [str(k) for k in range(5)] * 2, "x": [-1.0] * 5 + [1.0] * 5, "n": np.arange(1, 11)})
    result = fit.poststratify(hb.Poststrat(cells, count="n"), by="g")
    summary = result.summary()
    expected = df.groupby("g").apply(lambda d: np.average(d["y"], weights=d["w"]), include_groups=False)
    np.testing.assert_allclose(summary["sample_mean"].to_numpy(), expected.reindex(summary.index).to_numpy())
    assert any("weighted by its rows' inclusion weights" in n for n in result.notes)
    whole = fit.poststratify(hb.Poststrat(cells, count="n")).summary()
    assert whole["sample_mean"].iloc[0] == pytest.approx(np.average(df["y"], weights=df["w"]))
