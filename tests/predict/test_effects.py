"""Conditional effects (brms' ``conditional_effects``) and pairwise contrasts of margins
(emmeans' ``pairs()``): numbers checked against closed forms computed from the draws.

Prior draws (``backend="prior"``) stand in for a posterior: the identities checked hold
draw by draw, whatever the draws are.
"""

from __future__ import annotations

import html

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from scipy.special import expit  # noqa: E402

import hierbayes as hb  # noqa: E402
from hierbayes.predict.contrasts import pairwise, ratio_kind  # noqa: E402
from hierbayes.results.stats import flatten_draws  # noqa: E402

PRIOR = dict(backend="prior", draws=100, chains=2, random_seed=1)


@pytest.fixture(scope="module")
def gcse():
    df = hb.datasets.load("gcse")
    df = df[df.nstu > 4]
    return hb.Model("gcse ~ lrt * C(schgend) + (1 | school)", df).fit(**PRIOR)


@pytest.fixture(scope="module")
def logit():
    rng = np.random.default_rng(3)
    n = 200
    df = pd.DataFrame({"x": rng.normal(size=n), "arm": rng.choice(["a", "b", "c"], n),
                       "g": rng.choice([f"s{k}" for k in range(10)], n)})
    df["y"] = rng.binomial(1, expit(0.3 * df["x"]))
    return hb.Model("y ~ x + arm + (1 | g)", df, family="bernoulli").fit(**PRIOR)


@pytest.fixture(scope="module")
def counts():
    rng = np.random.default_rng(4)
    df = pd.DataFrame({"x": rng.normal(size=120), "arm": rng.choice(["a", "b"], 120),
                       "g": rng.choice(["g1", "g2", "g3"], 120)})
    df["y"] = rng.poisson(2.0, 120)
    return hb.Model("y ~ x + arm + (1 | g)", df, family="poisson").fit(**PRIOR)


def coef(fit, term: str) -> np.ndarray:
    return flatten_draws(fit.posterior["b"].sel(b_term=term))


# ============================================================ conditional effects


def test_numeric_x_by_factor_is_the_closed_form(gcse):
    ce = gcse.conditional_effects("lrt", by="schgend", n_points=7)
    table = ce.summary()
    assert list(table.columns[:2]) == ["lrt", "schgend"] and len(table) == 21
    lrt = gcse.model.data.loc[gcse.model.data.nstu > 4, "lrt"]
    np.testing.assert_allclose(table["lrt"].iloc[:7], np.linspace(lrt.min(), lrt.max(), 7))
    a = flatten_draws(gcse.posterior["Intercept"])
    values = flatten_draws(ce.draws)
    for k, row in table.iterrows():
        s = int(row["schgend"])
        expected = a + coef(gcse, "lrt") * row["lrt"]
        if s != 1:
            expected = expected + coef(gcse, f"C(schgend)[{s}]") + coef(gcse, f"lrt:C(schgend)[{s}]") * row["lrt"]
        np.testing.assert_allclose(values[:, k], expected, rtol=1e-9, atol=1e-9)
    assert ce.held == {} and "school" not in ce.conditions()  # group effects zero


def test_factor_x_holds_numbers_at_their_mean(gcse):
    ce = gcse.conditional_effects("schgend")
    data = gcse.model.data[gcse.model.data.nstu > 4]
    assert ce.held == {"lrt": pytest.approx(data["lrt"].mean())}
    assert list(ce.summary()["schgend"]) == [1, 2, 3]
    m = data["lrt"].mean()
    expected = (flatten_draws(gcse.posterior["Intercept"]) + coef(gcse, "lrt") * m
                + coef(gcse, "C(schgend)[3]") + coef(gcse, "lrt:C(schgend)[3]") * m)
    np.testing.assert_allclose(flatten_draws(ce.draws)[:, 2], expected, rtol=1e-9)
    assert "lrt = " in ce.conditions() and ce.summary().attrs["held"] == ce.held


def test_numeric_by_uses_mean_and_one_sd(gcse):
    ce = gcse.conditional_effects("schgend", by="lrt")
    lrt = gcse.model.data.loc[gcse.model.data.nstu > 4, "lrt"]
    expected = [lrt.mean() - lrt.std(), lrt.mean(), lrt.mean() + lrt.std()]
    np.testing.assert_allclose(sorted(set(ce.grid["lrt"])), expected)


def test_a_numeric_indicator_takes_its_two_values():
    # ohio's smoke (0/1) as by= had drawn lines at smoke = -0.13, 0.35 and 0.83
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"x": rng.normal(size=80), "smoke": rng.integers(0, 2, 80), "g": rng.choice(list("abcd"), 80)})
    df["y"] = rng.normal(size=80)
    fit = hb.Model("y ~ x * smoke + (1 | g)", df).fit(**PRIOR)
    assert sorted(set(fit.conditional_effects("x", by="smoke", n_points=4).grid["smoke"])) == [0.0, 1.0]
    assert sorted(fit.conditional_effects("smoke").grid["smoke"]) == [0.0, 1.0]
    assert len(set(fit.conditional_effects("x", n_points=4).grid["x"])) == 4  # other numbers: a line


def test_logit_mean_is_inverse_link_of_linear_and_reference_level(logit):
    lin = logit.conditional_effects("x", n_points=5, kind="linear")
    mean = logit.conditional_effects("x", n_points=5)
    np.testing.assert_allclose(flatten_draws(mean.draws), expit(flatten_draws(lin.draws)), rtol=1e-12)
    assert mean.held == {"arm": "a"}  # the reference level; no arm coefficient enters
    x = lin.grid["x"].to_numpy()
    expected = flatten_draws(logit.posterior["Intercept"])[:, None] + coef(logit, "x")[:, None] * x[None]
    np.testing.assert_allclose(flatten_draws(lin.draws), expected, rtol=1e-9, atol=1e-9)
    held = logit.conditional_effects("x", n_points=3, conditions={"arm": "b"}, kind="linear")
    np.testing.assert_allclose(flatten_draws(held.draws) - flatten_draws(lin.draws)[:, [0, 2, 4]],
                               np.repeat(coef(logit, "arm[b]")[:, None], 3, axis=1), rtol=1e-9, atol=1e-9)


def test_prediction_interval_is_wider(gcse):
    mean = gcse.conditional_effects("lrt", n_points=3).summary()
    response = gcse.conditional_effects("lrt", n_points=3, kind="response").summary()
    assert ((response["upper"] - response["lower"]) > (mean["upper"] - mean["lower"])).all()


def test_conditional_effects_errors_name_the_variable(logit):
    with pytest.raises(hb.SpecError, match="'nope' is not a predictor"):
        logit.conditional_effects("nope")
    with pytest.raises(hb.SpecError, match="by='zzz'"):
        logit.conditional_effects("x", by="zzz")
    with pytest.raises(hb.SpecError, match="by='x' is also x"):
        logit.conditional_effects("x", by="x")
    with pytest.raises(hb.SpecError, match="conditions='w'"):
        logit.conditional_effects("x", conditions={"w": 1})
    with pytest.raises(hb.SpecError, match="x='g' is a grouping factor"):
        logit.conditional_effects("g")
    with pytest.raises(hb.SpecError, match="kind='pps'"):
        logit.conditional_effects("x", kind="pps")
    with pytest.raises(hb.errors.ArgumentError, match="prob=2"):
        logit.conditional_effects("x", n_points=3).summary(prob=2)


def test_grouping_factor_with_its_own_effects(logit):
    ce = logit.conditional_effects("g", groups="include", kind="linear")
    re = flatten_draws(logit.posterior["re_g"].sel(g__term="Intercept"))
    levels = list(logit.posterior["g__level"].values)
    base = flatten_draws(logit.posterior["Intercept"]) + coef(logit, "x") * ce.held["x"]
    for k, level in enumerate(ce.grid["g"]):
        np.testing.assert_allclose(flatten_draws(ce.draws)[:, k], base + re[:, levels.index(level)], rtol=1e-9, atol=1e-9)


def test_conditional_effects_plot(gcse, logit, tmp_path):
    for name, effects in {"numeric": gcse.conditional_effects("lrt", by="schgend"),
                          "factor": logit.conditional_effects("arm", by="x")}.items():
        fig = effects.plot()
        assert fig.axes[0].get_xlabel() == effects.x
        fig.savefig(tmp_path / f"{name}.png", dpi=50)
        plt.close(fig)
        assert (tmp_path / f"{name}.png").stat().st_size > 5_000


# ==================================================================== contrasts


def test_pairs_are_differences_of_margins_with_odds_ratios(logit):
    m = logit.margins("arm", groups="exclude")
    assert list(m.grid["arm"]) == ["a", "b", "c"]
    c = m.pairs()
    table = c.summary()
    assert list(table["contrast"]) == ["b - a", "c - a", "c - b"]
    p = flatten_draws(m.draws)
    diff = flatten_draws(c.draws)
    for k, (j, i) in enumerate([(1, 0), (2, 0), (2, 1)]):
        np.testing.assert_allclose(diff[:, k], p[:, j] - p[:, i], rtol=1e-12)
        odds = (p[:, j] / (1 - p[:, j])) / (p[:, i] / (1 - p[:, i]))
        assert table["ratio"][k] == pytest.approx(np.median(odds))
        assert table["p_gt_0"][k] == pytest.approx(np.mean(p[:, j] > p[:, i]))
        assert table["lower"][k] == pytest.approx(np.quantile(p[:, j] - p[:, i], 0.025))
    assert table.attrs["ratio"].startswith("odds ratio") and table.attrs["over"] == "arm"
    assert "note" not in table.attrs  # at= levels: the same rows at each level


def test_pairs_of_by_groups_say_they_include_the_groups_other_covariates(logit):
    # a survival user read pairs of by="sex" log hazards as the model's hazard ratio (0.553 for 0.572)
    c = logit.margins(by="arm", groups="exclude").pairs()
    assert "by='arm' averages each level over its own rows (Stata: margins, over(arm))" in c.summary().attrs["note"]
    text = " ".join(repr(c).split())  # the note is wrapped at the summary's width
    assert "differences between subgroups" in text and "not a causal contrast" in text
    assert "at={'arm': [...]} (Stata: margins arm) compares the same rows" in text


def test_margins_say_whether_they_are_over_or_at(logit):
    # by= is Stata's margins, over(x), at= its margins x (the counterfactual); the docstring and the
    # README had called by= "margins x", and on x correlated with the rest they differ a lot
    over = logit.margins(by="arm", groups="exclude")
    assert over.summary().attrs["note"] == ("averaged over the rows within each level of arm, as observed (Stata: "
                                            "margins, over(arm)); at=['arm'] sets every row to each level instead "
                                            "(Stata: margins arm)")
    assert " ".join(repr(over).split()).endswith("at=['arm'] sets every row to each level instead (Stata: margins arm))")
    at = logit.margins("arm", groups="exclude")
    assert at.summary().attrs["note"] == "every row set to arm = each value, averaged over all rows (Stata: margins arm)"
    both = logit.margins(at={"x": [0.0, 1.0]}, by="arm").summary().attrs["note"]
    assert both.endswith("averaged over the rows within each level of arm (Stata: margins x, over(arm))")
    assert logit.margins(dydx="x").summary().attrs["note"] == (
        "average marginal effect of x over all rows (Stata: margins, dydx(x))")
    assert logit.margins().summary().attrs["note"] == "averaged over all rows, as observed (Stata: margins)"


def test_linear_pairs_give_the_coefficient_and_its_exp(logit):
    table = logit.contrasts("arm", kind="linear", groups="exclude").summary()
    b = coef(logit, "arm[b]")
    np.testing.assert_allclose(table.loc[0, "mean"], b.mean(), rtol=1e-9)
    np.testing.assert_allclose(table.loc[0, "ratio"], np.median(np.exp(b)), rtol=1e-9)


def test_log_link_mean_pairs_are_rate_ratios(counts):
    table = counts.contrasts("arm", groups="exclude").summary()
    b = coef(counts, "arm[b]")
    # a log link: each row's mean is multiplied by exp(b), so is their average
    assert table.loc[0, "ratio"] == pytest.approx(np.median(np.exp(b)), rel=1e-9)
    assert table.attrs["ratio"].startswith("rate ratio")


def test_contrasts_within_by_groups(logit):
    data = logit.model.data
    data_by = logit.contrasts("arm", by="g", groups="exclude").summary()
    assert len(data_by) == 3 * data["g"].nunique()
    assert set(data_by.columns[:2]) == {"contrast", "g"}


def test_ratio_kinds():
    assert ratio_kind("mean", "gaussian", "identity") is None
    assert ratio_kind("linear", "bernoulli", "cloglog") == "hazard ratio"
    assert ratio_kind("mean", "negbinomial", "log") == "rate ratio"


def test_contrast_errors_name_the_variable(logit, gcse):
    with pytest.raises(hb.SpecError, match="over='x' is numeric"):
        logit.contrasts("x")
    with pytest.raises(hb.SpecError, match="at='x' is numeric"):
        logit.margins("x")
    with pytest.raises(hb.SpecError, match="over='nope' is not a predictor"):
        logit.contrasts("nope")
    with pytest.raises(hb.SpecError, match="say which column"):
        gcse.margins(at={"schgend": [1, 2], "lrt": [0, 1]}).pairs()
    with pytest.raises(hb.SpecError, match="over='w' is not a column"):
        gcse.margins("schgend").pairs(over="w")
    with pytest.raises(hb.SpecError, match="not of 'dydx'"):
        logit.margins(dydx="arm").pairs(over="term")
    with pytest.raises(hb.SpecError, match="'arm' has one level"):
        logit.margins(at={"arm": ["a"]}).pairs()
    assert list(gcse.contrasts("schgend").summary()["contrast"]) == ["2 - 1", "3 - 1", "3 - 2"]
    assert "ratio" not in gcse.contrasts("schgend").summary().columns  # identity link: none


def test_pairwise_on_plain_draws():
    import xarray as xr

    values = np.arange(12.0).reshape(1, 4, 3)
    draws = xr.DataArray(values, dims=("chain", "draw", "margin"))
    grid = pd.DataFrame({"arm": ["a", "b", "c"]})
    table = pairwise(draws, grid, "arm", "mean").summary()
    np.testing.assert_allclose(table["mean"], [1.0, 2.0, 1.0])
    np.testing.assert_allclose(table["p_gt_0"], [1.0, 1.0, 1.0])


def test_contrasts_plot(logit, gcse, tmp_path):
    for name, fig in {"odds": logit.contrasts("arm").plot(ratio=True),
                      "pairs": logit.margins("arm").pairs().plot(),
                      "by": gcse.contrasts("schgend").plot(prob=0.9)}.items():
        assert "Pairwise contrasts" in fig.axes[0].get_title()
        fig.savefig(tmp_path / f"{name}.png", dpi=50)
        plt.close(fig)
        assert (tmp_path / f"{name}.png").stat().st_size > 3_000
    with pytest.raises(hb.SpecError, match="no ratio"):
        gcse.contrasts("schgend").plot(ratio=True)


def test_margins_by_a_categorical_follow_its_level_order():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=60), "h": rng.choice(["b", "a"], 60),
                       "g": pd.Categorical(rng.choice(["lo", "mid", "hi"], 60), categories=["lo", "mid", "hi"])})
    df["y"] = rng.normal(size=60)
    fit = hb.Model("y ~ x + g + h", df).fit(backend="prior", draws=20, chains=1, random_seed=1, progressbar=False)
    assert list(fit.margins(by="g").summary()["g"]) == ["lo", "mid", "hi"]
    table = fit.margins(by=["h", "g"]).summary()
    assert list(zip(table["h"], table["g"])) == [(h, g) for h in "ab" for g in ("lo", "mid", "hi")]


def test_binomial_margins_are_probabilities_with_odds_ratios():
    # R's predict(type = "response") and emmeans give a binomial's probability, not n p: rows of
    # different sizes (cbpp's herds) average on one scale, and pairs have odds ratios
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"period": np.tile(["1", "2", "3"], 20), "herd": np.repeat([f"h{i}" for i in range(6)], 10),
                       "size": rng.integers(2, 30, 60)})
    df["k"] = rng.binomial(df["size"], 0.2)
    fit = hb.Model("cbind(k, size - k) ~ period + (1 | herd)", df, family="binomial").fit(
        progressbar=False, **PRIOR)
    counts_free = fit.margins("period", data=df.drop(columns="size"), groups="exclude")
    margins = fit.margins("period", groups="exclude")
    np.testing.assert_allclose(margins.draws.values, counts_free.draws.values)
    assert margins.summary().attrs["estimate"] == "probability"
    assert "<hierbayes.Margins mean (probability), groups='exclude'" in repr(margins)
    eta = flatten_draws(fit.posterior["Intercept"]).ravel()  # period 1, the reference
    np.testing.assert_allclose(margins.draws.values[..., 0].ravel(), 1 / (1 + np.exp(-eta)))
    pairs = fit.contrasts("period", groups="exclude").summary()
    assert pairs.attrs["ratio"].startswith("odds ratio") and "ratio" in pairs.columns


def test_contrasts_at_other_values(gcse):
    at_zero = gcse.contrasts("schgend", at={"lrt": 0.0}).summary()
    direct = gcse.margins(at={"schgend": [1, 2, 3], "lrt": 0.0}).pairs(over="schgend").summary()
    np.testing.assert_allclose(at_zero["mean"], direct["mean"])
    with pytest.raises(hb.SpecError, match=r"contrasts\(over='schgend', at=\.\.\.\): at= holds other columns at "
                                           r"values, as a dict \(e\.g\. at=\{'age': 11\}\)"):
        gcse.contrasts("schgend", at={"schgend": 1})


def test_margins_contrasts_and_conditional_effects_print_as_text_and_html(logit):
    # in a notebook they showed as a repr string with pandas' unaligned float columns
    at = logit.margins("arm", groups="exclude")
    pairs = at.pairs()
    ce = logit.conditional_effects("x", n_points=12)
    for obj, header in [(at, "<hierbayes.Margins mean (probability), groups='exclude': 3 margin(s)>"),
                        (pairs, "<hierbayes.Contrasts of arm (mean differences, odds ratios): 3 pair(s)>"),
                        (ce, "<hierbayes.ConditionalEffects of x (mean): 12 points>")]:
        text, page = repr(obj), obj._repr_html_()
        assert text.splitlines()[0] == header
        assert html.escape(header) in page and "<table" in page and "95% equal-tailed credible interval" in page
        assert max(len(line) for line in text.splitlines() if not line.startswith("  ")) <= 88
    assert "first 10 of 12 points; .summary() for all" in repr(ce) and "other predictors held at" in ce._repr_html_()
    lines = repr(pairs).splitlines()
    assert lines[3].split() == ["contrast", "mean", "sd", "median", "lower", "upper", "p_gt_0", "ratio",
                                "ratio_lower", "ratio_upper"]
    row = lines[4].split()
    assert row[0:3] == ["b", "-", "a"] and len(row[-4].split(".")[1]) == 3  # P(> 0) with 3 decimals
    ratio = pairs.summary()["ratio_upper"].iloc[0]  # odds ratios on their own scale, not the difference's
    assert row[-1] == f"{ratio:.4g}"
