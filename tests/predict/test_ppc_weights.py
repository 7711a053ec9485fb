"""Predictive checks of weighted fits weight the observed and the replicated rows alike: with
frequency weights, exactly the check of the data with each row repeated w times."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import hierbayes as hb  # noqa: E402
from hierbayes.predict.ppc_weights import WEIGHTS_NOTE, weighted_quantile  # noqa: E402

KW = dict(draws=40, chains=1, random_seed=1, progressbar=False, backend="prior")


@pytest.fixture(scope="module")
def frequency():
    rng = np.random.default_rng(4)
    n = 30
    df = pd.DataFrame({
        "y": np.round(rng.normal(size=n), 1), "x": rng.normal(size=n),
        "g": rng.integers(0, 4, n).astype(str), "w": rng.integers(0, 4, n),
    })
    df.loc[:3, "y"] = 0.0
    df.loc[0, "w"] = 0  # a row counted zero times
    df.loc[1:3, "w"] = 2
    check = hb.Model("y | weights(w) ~ x + (1|g)", df).fit(**KW).ppc(random_seed=2)
    return df, check


def test_statistics_are_those_of_the_expanded_data(frequency):
    df, check = frequency
    expanded = df.loc[df.index.repeat(df["w"])]["y"].to_numpy()
    table = check.pvalues(stats=("mean", "sd", "var", "median", "prop_zero", "min", "max"))
    expected = {
        "mean": expanded.mean(), "sd": expanded.std(ddof=1), "var": expanded.var(ddof=1),
        "median": np.median(expanded), "prop_zero": np.mean(expanded == 0),
        "min": expanded.min(), "max": expanded.max(),
    }
    for name, value in expected.items():
        assert table.loc[name, "observed"] == pytest.approx(value, rel=1e-12), name
    assert table.attrs["weights"].startswith(WEIGHTS_NOTE) and WEIGHTS_NOTE in repr(check)
    # the replications are weighted the same way
    w = df["w"].to_numpy(float)
    observed, reps = check.statistic_draws("mean")
    np.testing.assert_allclose(reps, check.yrep @ w / w.sum())
    # a callable sees the rows unweighted
    table = check.pvalues(stats={"mean": lambda y: np.mean(y, axis=-1)})
    assert table.loc["mean", "observed"] == pytest.approx(df["y"].mean())


def test_weighted_quantile_matches_the_expanded_data():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(3, 9))
    w = np.array([1, 2, 0, 3, 1, 1, 2, 4, 1], float)
    for q in (0.1, 0.5, 0.9):
        expanded = np.repeat(y, w.astype(int), axis=1)
        n = expanded.shape[1]
        # the inverse-ECDF quantile (averaged where the share is exactly q) of the repeated rows
        expected = np.quantile(expanded, q, axis=1, method="averaged_inverted_cdf") if q * n % 1 == 0 else \
            np.quantile(expanded, q, axis=1, method="inverted_cdf")
        np.testing.assert_allclose(weighted_quantile(y, w, q), expected)


def test_sampling_weights_use_the_unscaled_inclusion_weights():
    rng = np.random.default_rng(1)
    g = np.repeat(np.arange(5), 6)
    df = pd.DataFrame({"y": rng.normal(size=30), "g": g.astype(str), "w1": rng.uniform(1, 3, 30),
                       "w2": rng.uniform(2, 9, 5)[g]})
    fit = hb.Model("y ~ 1 + (1|g)", df, weights="w1", group_weights={"g": "w2"}, weight_scaling="size").fit(**KW)
    check = fit.ppc(random_seed=1)
    np.testing.assert_allclose(check.weights, df["w1"] * df["w2"])
    assert check.pvalues("mean").loc["mean", "observed"] == pytest.approx(np.average(df["y"], weights=df["w1"] * df["w2"]))


def test_plots_say_what_is_weighted(frequency):
    _, check = frequency
    for kind in ("density", "ecdf"):
        fig = check.plot(kind=kind)
        assert "inclusion weight" in fig.axes[0].get_title()
        plt.close(fig)
    fig = check.plot_stat("sd")
    assert "weighted sd" in fig.axes[0].get_title()
    plt.close(fig)
    fig = check.plot(kind="intervals")
    assert any("unweighted" in t.get_text() for t in fig.texts)
    plt.close(fig)


def test_unweighted_fit_is_unchanged():
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"y": rng.normal(size=20), "g": rng.integers(0, 3, 20).astype(str)})
    check = hb.Model("y ~ 1 + (1|g)", df).fit(**KW).ppc(random_seed=1)
    assert check.weights is None
    table = check.pvalues("sd")
    assert "weights" not in table.attrs
    assert table.loc["sd", "observed"] == pytest.approx(df["y"].std(ddof=1))


def test_margins_and_conditional_effects_use_the_inclusion_weights():
    """Scaled weights are for the likelihood; population averages use the weights as given."""
    from hierbayes.predict.conditional import typical_values
    from hierbayes.predict.margins import margins

    rng = np.random.default_rng(6)
    g = np.repeat(np.arange(4), 5)
    df = pd.DataFrame({"y": rng.normal(size=20), "x": rng.normal(size=20), "g": g.astype(str),
                       "w1": rng.uniform(1, 5, 20), "w2": np.array([1.0, 2.0, 8.0, 3.0])[g]})
    fit = hb.Model("y ~ x + (1|g)", df, weights="w1", group_weights={"g": "w2"}, weight_scaling="size").fit(**KW)
    w = df["w1"] * df["w2"]
    assert typical_values(fit.model.built)["x"] == pytest.approx(np.average(df["x"], weights=w))
    post = fit.posterior
    table = margins(post, fit.model.built, kind="linear", groups="exclude").summary()
    expected = post["Intercept"].values + post["b"].values[..., 0] * np.average(df["x"], weights=w)
    assert table["mean"].iloc[0] == pytest.approx(expected.mean(), rel=1e-8)
