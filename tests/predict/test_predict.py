"""Predictions: group-effect semantics (include / exclude / marginal, new groups), newdata
encoding, save/load; margins, hypothesis and Bayesian R-squared.

The fitted models are built once per test session by the cached functions below, which
the other prediction test files import (``from test_predict import ...``), so the whole
suite compiles four models: sleepstudy (gaussian), a simulated logit model and simulated
overdispersed counts fitted as poisson and as negative binomial.
"""

from __future__ import annotations

import functools
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

import hierbayes as hb
from hierbayes.predict.predict import thin
from hierbayes.results.stats import flatten_draws

FIT = dict(draws=400, tune=400, chains=4, random_seed=1, progressbar=False)


def _quiet_fit(model):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notes of short test chains
        return model.fit(**FIT)


@functools.cache
def sleep_fit():
    df = hb.datasets.load("sleepstudy")
    return _quiet_fit(hb.Model("Reaction ~ Days + (Days | Subject)", df))


@functools.cache
def logit_data() -> pd.DataFrame:
    """30 groups x 20 rows, group sd 1.5 on the logit scale (strong attenuation)."""
    rng = np.random.default_rng(7)
    J, n = 30, 20
    g = np.repeat(np.arange(J), n)
    x = rng.normal(size=J * n)
    arm = rng.choice(["a", "b"], J * n)
    u = rng.normal(0, 1.5, J)
    p = expit(0.8 + 0.5 * x + 0.4 * (arm == "b") + u[g])
    return pd.DataFrame({"y": rng.binomial(1, p), "x": x, "arm": arm, "g": [f"s{k}" for k in g]})


@functools.cache
def logit_fit():
    return _quiet_fit(hb.Model("y ~ x + arm + (1 | g)", logit_data(), family="bernoulli"))


@functools.cache
def count_data() -> pd.DataFrame:
    """Negative-binomial counts (phi = 1.5) with group intercepts: overdispersed for a
    poisson model even after its group effects."""
    rng = np.random.default_rng(7)
    J, n = 40, 10
    g = np.repeat(np.arange(J), n)
    x = rng.normal(size=J * n)
    mu = np.exp(1.0 + 0.3 * x + rng.normal(0, 0.5, J)[g])
    y = rng.negative_binomial(1.5, 1.5 / (1.5 + mu))
    return pd.DataFrame({"y": y, "x": x, "g": [f"g{k}" for k in g]})


@functools.cache
def count_fit(family: str):
    return _quiet_fit(hb.Model("y ~ x + (1 | g)", count_data(), family=family))


@pytest.fixture(scope="module")
def sleep():
    return sleep_fit()


@pytest.fixture(scope="module")
def logit():
    return logit_fit()


def _newdata() -> pd.DataFrame:
    days = np.arange(10.0)
    return pd.DataFrame({
        "Days": np.concatenate([days, days, days, [3.0]]),
        "Subject": ["308"] * 10 + ["NEW"] * 10 + ["NEW2"] * 10 + ["NEW"],
    })


def _n_draws(fit) -> int:
    return fit.posterior.sizes["chain"] * fit.posterior.sizes["draw"]


# ============================================================== new groups


def test_new_group_is_wider_and_centred_on_population_mean(sleep):
    nd = _newdata()
    pred = sleep.predict(nd, new_groups="sample", random_seed=1)
    table = pred.summary()
    width = (table["upper"] - table["lower"]).to_numpy()
    known, new = slice(0, 10), slice(10, 20)
    assert np.all(width[new] > width[known])
    # the centre of a new group's predictions is the population (fixed-part) mean, up to
    # the Monte Carlo error of one fresh effect per draw
    population = sleep.predict(nd, groups="exclude").values[:, new]
    diff = pred.values[:, new] - population
    se = diff.std(axis=0, ddof=1) / np.sqrt(diff.shape[0])
    assert np.all(np.abs(diff.mean(axis=0)) < 4 * se)
    assert table.attrs["new_levels"] == {"Subject": ("NEW", "NEW2")}
    # a new group's interval is about as wide as group sd plus fixed-part uncertainty:
    # clearly wider than the population-mean interval it is centred on
    pop_width = np.quantile(population, 0.975, axis=0) - np.quantile(population, 0.025, axis=0)
    assert np.all(width[new] > 1.5 * pop_width)


def test_excluded_groups_need_no_grouping_column(sleep):
    # lme4's predict(re.form = NA) needs only the fixed terms' columns
    nd = _newdata()
    without = sleep.predict(nd[["Days"]], kind="linear", groups="exclude")
    np.testing.assert_array_equal(without.values, sleep.predict(nd, kind="linear", groups="exclude").values)
    assert "Subject" not in without.summary().columns
    with pytest.raises(hb.DataError, match="Subject"):
        sleep.predict(nd[["Days"]], groups="include")


@pytest.mark.parametrize("argument, meant", [
    ("re_form", "groups"), ("allow_new_levels", "new_groups"), ("type", "kind"), ("new_data", "newdata")])
def test_lme4_and_brms_argument_names_say_which_is_meant(sleep, argument, meant):
    with pytest.raises(hb.ArgumentError, match=rf"predict\(\) takes no argument '{argument}'. Did you mean '{meant}'\?"
                                               r".*re.form = NA is groups='exclude'"):
        sleep.predict(_newdata(), **{argument: None})


def test_unseen_levels_by_default_are_named_in_a_warning(sleep):
    # a mistyped label (' 1' for '1') had silently got a population-level prediction
    import warnings

    with pytest.warns(UserWarning, match=r"predict: levels not in the fitted data \(Subject: 'NEW', 'NEW2'\)"):
        sleep.predict(_newdata())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sleep.predict(_newdata(), new_groups="sample")
        sleep.predict(_newdata().head(10))  # known levels only


def test_zero_and_sample_differ_exactly_as_documented(sleep):
    nd = _newdata()
    zero = sleep.predict(nd, kind="linear", new_groups="zero").values
    sample = sleep.predict(nd, kind="linear", new_groups="sample", random_seed=2).values
    exclude = sleep.predict(nd, kind="linear", groups="exclude").values
    include_known = slice(0, 10)
    # known levels never depend on the policy
    np.testing.assert_array_equal(zero[:, include_known], sample[:, include_known])
    # 'zero' is exactly the no-group-effect prediction for unseen levels
    np.testing.assert_array_equal(zero[:, 10:], exclude[:, 10:])
    # 'sample' adds u0 + Days * u1, one (u0, u1) per draw and new level, shared by its rows
    d = sample - zero
    np.testing.assert_allclose(d[:, 30], d[:, 13], atol=1e-9)  # two rows of NEW at Days 3
    days = np.arange(10.0)
    np.testing.assert_allclose(d[:, 10:20], d[:, [10]] + days * (d[:, [11]] - d[:, [10]]), atol=1e-8)
    # ... drawn from N(0, Sigma): standardised by the draw's sds they are N(0, 1)
    sd = flatten_draws(sleep.posterior["sd_Subject"])  # (S, 2): Intercept, Days
    S = _n_draws(sleep)
    for k, z in enumerate([d[:, 10], d[:, 11] - d[:, 10]]):
        z = z / sd[:, k]
        assert abs(z.mean()) < 4 / np.sqrt(S)
        assert abs(z.var() - 1) < 4 * np.sqrt(2 / S)
    # two different new levels get independent effects
    r = np.corrcoef(d[:, 10], d[:, 20])[0, 1]
    assert abs(r) < 4 / np.sqrt(S)


def test_new_groups_error_names_levels(sleep):
    with pytest.raises(hb.DataError, match="Subject.*'NEW', 'NEW2'"):
        sleep.predict(_newdata(), new_groups="error")
    # the policy only matters when group effects are included
    sleep.predict(_newdata(), groups="exclude", new_groups="error")


def test_newdata_encoding_errors(sleep, logit):
    with pytest.raises(hb.DataError, match="'Days'"):
        sleep.predict(pd.DataFrame({"Subject": ["308"]}))
    with pytest.raises(hb.DataError, match=r"\['c'\] of 'arm'"):
        logit.predict(pd.DataFrame({"x": [0.0], "arm": ["c"], "g": ["s0"]}))
    with pytest.raises(hb.SpecError, match="kind"):
        sleep.predict(kind="probability")
    with pytest.raises(hb.SpecError, match="groups"):
        sleep.predict(groups="conditional")


def test_training_rows_and_tidy_output(sleep):
    pred = sleep.predict()
    n = sleep.model.design.n_obs
    assert pred.draws.dims == ("chain", "draw", "obs") and pred.draws.sizes["obs"] == n
    table = pred.summary(prob=0.9)
    assert list(table.columns) == ["Days", "Subject", "mean", "sd", "median", "lower", "upper"]
    assert table.attrs["interval"].startswith("90%")
    assert "predictions" in pred.to_datatree().children
    # the expected response of the training rows is fixed part + each subject's effects
    post = sleep.posterior
    b = flatten_draws(post["b"])[:, 0]
    a = flatten_draws(post["Intercept"])
    re = flatten_draws(post["re_Subject"])
    codes = sleep.model.design.groups[0].codes
    days = sleep.model.data["Days"].to_numpy(float)
    expected = a[:, None] + b[:, None] * days + re[:, codes, 0] + re[:, codes, 1] * days
    np.testing.assert_allclose(pred.values, expected, rtol=1e-10)


def test_response_draws_add_residual_noise(sleep):
    nd = _newdata().iloc[:10]
    mean = sleep.predict(nd)
    resp = sleep.predict(nd, kind="response", random_seed=1)
    sigma = float(sleep.posterior["sigma"].mean())
    sd_resp = resp.values.std(axis=0)
    expected = np.sqrt(mean.values.var(axis=0) + sigma**2)
    np.testing.assert_allclose(sd_resp, expected, rtol=0.1)


# ================================================== population-averaged predictions


def test_identity_link_marginal_equals_exclude(sleep):
    nd = _newdata()
    np.testing.assert_array_equal(
        sleep.predict(nd, groups="marginal").values, sleep.predict(nd, groups="exclude").values
    )


def test_logit_marginal_is_closer_to_half_and_matches_monte_carlo(logit):
    nd = pd.DataFrame({"x": [-2.0, -1.0, 0.0, 1.5], "arm": ["a", "a", "b", "a"], "g": ["s0", "s1", "new", "s2"]})
    marginal = logit.predict(nd, groups="marginal").values
    zero = logit.predict(nd, groups="exclude").values
    # attenuation towards 1/2, draw by draw and row by row
    assert np.all(np.sign(marginal - 0.5) == np.sign(zero - 0.5))
    assert np.all(np.abs(marginal - 0.5) < np.abs(zero - 0.5))
    # the row identity (group) does not matter for a population-averaged prediction
    eta = logit.predict(nd, kind="linear", groups="exclude").values
    sd = flatten_draws(logit.posterior["sd_g"]).reshape(-1)
    rng = np.random.default_rng(11)
    draws = rng.choice(len(sd), 40, replace=False)
    z = rng.standard_normal(20_000)
    for s in draws:
        values = expit(eta[s][:, None] + sd[s] * z[None, :])
        mc = values.mean(axis=1)
        se = values.std(axis=1) / np.sqrt(z.size)
        assert np.all(np.abs(marginal[s] - mc) < 5 * se + 1e-6)
    # and the gap is large enough to matter here (sd(g) ~ 1.5)
    assert np.mean(zero[:, 3] - marginal[:, 3]) > 0.03


def test_predictions_survive_save_and_load(sleep, tmp_path):
    path = tmp_path / "sleep.nc"
    sleep.save(path)
    loaded = hb.load(path)
    nd = _newdata()
    for kwargs in (dict(), dict(kind="response"), dict(groups="marginal"), dict(kind="linear", new_groups="zero")):
        before = sleep.predict(nd, random_seed=5, **kwargs).values
        after = loaded.predict(nd, random_seed=5, **kwargs).values
        np.testing.assert_array_equal(before, after)
    np.testing.assert_array_equal(sleep.predict().values, loaded.predict().values)


# ====================================================================== margins


def test_margins_linear_model_is_exact(sleep):
    post = sleep.posterior
    a = flatten_draws(post["Intercept"])
    b = flatten_draws(post["b"])[:, 0]
    m = sleep.margins(at={"Days": [0, 4.5, 9]})
    values = flatten_draws(m.draws)
    for k, d in enumerate([0, 4.5, 9]):
        np.testing.assert_allclose(values[:, k], a + b * d, rtol=1e-9)
    table = m.summary()
    assert list(table["Days"]) == [0, 4.5, 9]
    dydx = flatten_draws(sleep.margins(dydx="Days").draws)[:, 0]
    np.testing.assert_allclose(dydx, b, rtol=1e-6)


def test_margins_by_group_and_factor_contrast(sleep, logit):
    by = sleep.margins(at={"Days": [0]}, by="Subject", groups="include").summary()
    assert len(by) == 18 and set(by["Subject"]) == set(sleep.model.design.groups[0].levels)
    contrast = logit.margins(dydx="arm", ndraws=200)
    table = contrast.summary()
    assert list(table["term"]) == ["b - a"]
    # average over the data of p(arm=b) - p(arm=a), population-averaged
    df = logit.model.data
    pb = logit.predict(df.assign(arm="b"), groups="marginal", ndraws=200, random_seed=0).values.mean(axis=1)
    pa = logit.predict(df.assign(arm="a"), groups="marginal", ndraws=200, random_seed=0).values.mean(axis=1)
    np.testing.assert_allclose(flatten_draws(contrast.draws)[:, 0], pb - pa, atol=1e-10)
    # a monotone link: the contrast has the sign of the coefficient, draw by draw
    coef = flatten_draws(thin(logit.posterior, 200)["b"].sel(b_term="arm[b]"))
    np.testing.assert_array_equal(np.sign(flatten_draws(contrast.draws)[:, 0]), np.sign(coef))
    with pytest.raises(hb.DataError, match="nope"):
        sleep.margins(at={"nope": [1]})


# =================================================================== hypothesis


def test_hypothesis_probabilities(sleep):
    post = sleep.posterior
    a = flatten_draws(post["Intercept"])
    b = flatten_draws(post["b"])[:, 0]
    sd = flatten_draws(post["sd_Subject"])
    h = sleep.hypothesis(["Days > 10", "Intercept + Days > 260", "sd(Intercept) > 2", "sd(Days|Subject) < 7", "Days / sigma"])
    assert h.loc["Days > 10", "prob"] == pytest.approx(np.mean(b > 10))
    assert h.loc["Days > 10", "estimate"] == pytest.approx(np.mean(b - 10))
    assert h.loc["Intercept + Days > 260", "prob"] == pytest.approx(np.mean(a + b > 260))
    assert h.loc["sd(Intercept) > 2", "prob"] == pytest.approx(np.mean(sd[:, 0] > 2))
    assert h.loc["sd(Days|Subject) < 7", "prob"] == pytest.approx(np.mean(sd[:, 1] < 7))
    # lhs - rhs whichever the direction, as brms reports it (was rhs - lhs for '<')
    assert h.loc["sd(Days|Subject) < 7", "estimate"] == pytest.approx(np.mean(sd[:, 1] - 7))
    assert np.isnan(h.loc["Days / sigma", "prob"])
    p = h.loc["Days > 10", "prob"]
    assert h.loc["Days > 10", "evidence_ratio"] == pytest.approx(p / (1 - p))


def test_a_point_hypothesis_summarises_the_difference(sleep):
    # brms' hypothesis(fit, "Days = 10") and Stata's test: the estimate of Days - 10, no probability
    b = flatten_draws(sleep.posterior["b"])[:, 0]
    h = sleep.hypothesis(["Days = 10", "Days <= 10"])
    assert h.loc["Days = 10", "estimate"] == pytest.approx(np.mean(b - 10))
    assert h.loc["Days = 10", "lower"] == pytest.approx(np.quantile(b - 10, 0.025))
    assert np.isnan(h.loc["Days = 10", "prob"])
    assert h.loc["Days <= 10", "prob"] == pytest.approx(np.mean(b <= 10))


def test_hypothesis_errors_name_valid_parameters(sleep, logit):
    with pytest.raises(hb.SpecError, match="Did you mean 'Days'"):
        sleep.hypothesis("Dayz > 1")
    with pytest.raises(hb.SpecError, match=r"sd\(Days\)"):
        sleep.hypothesis("sd(Dayz) > 1")
    with pytest.raises(hb.SpecError, match="use >.*point hypothesis 'a = b'"):
        sleep.hypothesis("Days == 1")
    h = logit.hypothesis("`arm[b]` > 0 and x > 0")
    b = logit.posterior["b"]
    both = (flatten_draws(b.sel(b_term="arm[b]")) > 0) & (flatten_draws(b.sel(b_term="x")) > 0)
    assert h["prob"].iloc[0] == pytest.approx(np.mean(both))


# ===================================================================== R-squared


def test_bayes_r2(sleep, logit):
    table = sleep.r2()
    assert list(table.index) == ["conditional", "marginal"]
    assert table.loc["conditional", "mean"] > table.loc["marginal", "mean"] + 0.3
    # definition check: var(mu) / (var(mu) + var(y - mu)) per draw
    from hierbayes.predict.r2 import r2_draws

    mu = sleep.predict().values
    y = sleep.model.design.y
    vf, vr = mu.var(axis=1, ddof=1), (y - mu).var(axis=1, ddof=1)
    np.testing.assert_allclose(r2_draws(sleep.posterior, sleep.model.built), vf / (vf + vr))
    # with the model-based residual variance sigma^2 (ArviZ's bayesian_r2) it is close
    sigma2 = flatten_draws(sleep.posterior["sigma"]) ** 2
    assert abs(np.mean(vf / (vf + sigma2)) - table.loc["conditional", "mean"]) < 0.03
    lt = logit.r2()
    assert 0 < lt.loc["marginal", "mean"] < lt.loc["conditional", "mean"] < 1
    # marginal is brms' bayes_R2(re_formula = NA): the group effects at 0, not averaged over
    at_zero = r2_draws(logit.posterior, logit.model.built, groups="exclude")
    assert lt.loc["marginal", "mean"] == pytest.approx(np.mean(at_zero))
    averaged = r2_draws(logit.posterior, logit.model.built, groups="marginal")
    assert abs(np.mean(averaged) - np.mean(at_zero)) > 1e-6  # a logit link: the two differ


def test_bayes_r2_of_frequency_weights_is_that_of_the_repeated_rows() -> None:
    # the weights had been ignored: a random-intercept model of 40 rows, 13 of them of weight 6, gave
    # R^2 0.47 where the same posterior on the repeated rows gives 0.63
    from hierbayes.predict.r2 import r2_draws

    rng = np.random.default_rng(3)
    df = pd.DataFrame({"x": rng.normal(size=40), "g": rng.integers(0, 8, 40).astype(str)})
    df["w"] = np.where(df["x"] > 0.5, 6, 1)
    df["y"] = 1 + 0.8 * df["x"] + rng.normal(size=40) + df["g"].astype(int) * 0.2
    weighted = hb.Model("y ~ x + (1 | g)", df, weights="w", weight_kind="frequency")
    repeated = hb.Model("y ~ x + (1 | g)", df.loc[df.index.repeat(df["w"])].reset_index(drop=True))
    posterior = weighted.fit(backend="prior", chains=1, draws=50, random_seed=1).posterior
    for groups in ("include", "exclude"):
        np.testing.assert_allclose(r2_draws(posterior, weighted.built, groups=groups),
                                   r2_draws(posterior, repeated.built, groups=groups), rtol=1e-10)


def test_training_rows_are_found_by_position_when_labels_repeat(sleepstudy) -> None:
    """Index labels that repeat (after a concat, say) and a dropped row: the rows the fit
    used are found by position, for predictions, MRP and leave-group-out refits alike."""
    from hierbayes.predict.mrp import training_frame as mrp_rows
    from hierbayes.predict.predict import training_frame

    df = sleepstudy.copy()
    df.index = np.arange(len(df)) // 2  # every label twice
    df.iloc[5, df.columns.get_loc("Reaction")] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "dropped 1 row"
        model = hb.Model("Reaction ~ Days + (1 | Subject)", df, missing="drop")
    expected = pd.concat([df.iloc[:5], df.iloc[6:]])
    for rows in (training_frame(model), mrp_rows(model)):
        assert len(rows) == model.design.n_obs == len(df) - 1
        pd.testing.assert_frame_equal(rows, expected)
        np.testing.assert_array_equal(rows["Reaction"].to_numpy(), model.design.y)
    # bernoulli rows collapsed into binomial cells keep the positions of the first row of each cell
    wells = hb.datasets.load("wells")
    wells.index = np.zeros(len(wells), dtype=int)
    collapsed = hb.Model("switch ~ 1 + (1 | assoc)", wells, family="bernoulli").design
    source = collapsed.source
    np.testing.assert_array_equal(source.row_positions, np.arange(len(wells)))
    assert len(collapsed.row_positions) == collapsed.n_obs


@pytest.mark.parametrize(("formula", "needed"), [("s | trials(n) ~ x", "['n']"), ("cbind(s, f) ~ x", "['s', 'f']"),
                                                 ("cbind(s, n - s) ~ x", "['s', 'n']")])
def test_response_predictions_without_trials_name_the_columns_to_add(formula, needed):
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"x": rng.normal(size=40), "s": rng.integers(0, 8, 40)})
    df["n"], df["f"] = 7, 7 - df["s"]
    fit = hb.Model(formula, df, family="binomial").fit(backend="prior", draws=20, chains=1, random_seed=1,
                                                       progressbar=False)
    new = pd.DataFrame({"x": [0.0, 1.0]})
    with pytest.raises(hb.errors.DataError, match=rf"lacks the column\(s\) {re.escape(needed)} that .* reads; add them"):
        fit.predict(new, kind="response")
    filled = new.assign(s=0, n=7, f=7)  # the advice: any value of the columns it reads
    draws = fit.predict(filled, kind="response").draws
    assert np.all((draws >= 0) & (draws <= 7))


def test_hypothesis_reads_a_power_as_r_writes_it():
    """The column of I(Days^2) is named so (as lme4 does); a statement may use R's spelling or
    Python's, with or without spaces."""
    df = hb.datasets.load("sleepstudy")
    fit = hb.Model("Reaction ~ Days + I(Days^2) + (1 | Subject)", df).fit(
        backend="prior", draws=100, chains=2, random_seed=1, progressbar=False)
    b = flatten_draws(fit.posterior["b"].sel(b_term="I(Days^2)"))
    for text in ("I(Days^2) < 0", "I(Days**2) < 0", "I(Days ** 2) < 0"):
        assert fit.hypothesis(text)["prob"].iloc[0] == pytest.approx(np.mean(b < 0))


def test_hypothesis_reads_a_term_as_the_formula_wrote_it():
    """nlme's Ovary: sin(2*pi*Time) is printed sin(2 * pi * Time); the formula's spelling had
    been read as a call of sin with a bad argument."""
    df = hb.datasets.load("sleepstudy")
    fit = hb.Model("Reaction ~ sin(2*pi*Days/9) + (1 | Subject)", df).fit(
        backend="prior", draws=100, chains=2, random_seed=1, progressbar=False)
    (name,) = [t for t in fit.fixef().index if t.startswith("sin(")]
    assert name == "sin(2 * pi * Days / 9)"
    b = flatten_draws(fit.posterior["b"].sel(b_term=name))
    for text in ("sin(2*pi*Days/9) < 0", f"{name} < 0", f"`{name}` < 0"):
        assert fit.hypothesis(text)["prob"].iloc[0] == pytest.approx(np.mean(b < 0))


def test_binomial_means_say_whether_they_are_probabilities_or_counts():
    cbpp = hb.datasets.load("cbpp")
    fit = hb.Model("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp, family="binomial").fit(
        backend="prior", draws=20, chains=2, random_seed=1)
    with_trials = fit.predict(cbpp.head(3))
    # without size the rows have no trials (without incidence they do: size - incidence + incidence)
    assert "expected successes" in repr(fit.predict(cbpp.head(3).drop(columns="incidence")))
    without = fit.predict(cbpp.head(3).drop(columns=["incidence", "size"]))
    assert "expected successes" in repr(with_trials) and with_trials.summary().attrs["scale"].startswith("means are expected")
    assert "means are probabilities" in repr(without)
    np.testing.assert_allclose(with_trials.values, without.values * cbpp["size"].to_numpy()[:3])
    assert fit.predict(cbpp.head(3), kind="linear").scale == ""


@pytest.mark.parametrize("formula", ["cbind(s, 7 - s) ~ x", "cbind(s, n - s) ~ x"])
def test_cbind_trials_that_do_not_depend_on_the_response_need_no_response(formula):
    # cbpp's cbind(incidence, size - incidence): new rows with size had been refused for lacking incidence
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"x": rng.normal(size=40), "s": rng.integers(0, 8, 40), "n": 7})
    fit = hb.Model(formula, df, family="binomial").fit(backend="prior", draws=20, chains=1, random_seed=1,
                                                       progressbar=False)
    new = pd.DataFrame({"x": [0.0, 1.0], "n": [7, 3]})
    draws = fit.predict(new, kind="response", random_seed=2).draws.values.reshape(-1, 2)
    limit = [7, 7] if "7 - s" in formula else [7, 3]
    assert np.all((draws >= 0) & (draws <= limit)) and draws[:, 0].max() > 3  # each row's own trials
    with_s = fit.predict(new.assign(s=[5, 1]), kind="response", random_seed=2).draws.values.reshape(-1, 2)
    np.testing.assert_array_equal(draws, with_s)  # the response's value does not matter


def test_ranef_and_coef_name_a_grouping_factor_they_do_not_hold(sleep):
    with pytest.raises(KeyError, match="no grouping factor 'subject'.*Did you mean 'Subject'"):
        sleep.ranef()["subject"]
    with pytest.raises(hb.HierbayesError, match=r"this model's are \['Subject'\]"):
        sleep.coef()["Days"]
    assert list(sleep.ranef()) == ["Subject"]


def test_other_softwares_argument_names_are_translated(sleep):
    with pytest.raises(hb.ArgumentError, match=r"level=90: not an argument of fixef\(\) \(Stata's level\(\); write prob=0.9\)"):
        sleep.fixef(level=90)
    with pytest.raises(hb.ArgumentError, match=r"write exponentiate=True"):
        sleep.summary(eform=True)
    with pytest.raises(hb.ArgumentError, match=r"Did you mean 'prob'"):
        sleep.icc(probb=0.9)


def test_the_draws_hold_the_signed_sd_helper_folded(sleep):
    """An integrated-out term's sd is sampled signed (backends/pymc/covariance/parts.py); its
    sign is the sampler's coordinate, stored as |s| (= the reported sd) so that
    az.summary(fit.idata) shows no R-hat of 1.5 for it. The correlations keep the signs."""
    posterior = sleep.idata.posterior
    assert sleep.info.parameterization["Subject"] == "marginal"
    assert np.array_equal(posterior["sd_Subject__signed"].values, posterior["sd_Subject"].values)
    cor = posterior["cor_Subject"].sel(Subject__term="Intercept", Subject__term_bis="Days")
    assert float(cor.mean()) > 0  # sleepstudy's intercept-slope correlation (lme4: 0.07)
