"""PSIS-LOO, model comparison with stacking weights and leave-one-group-out."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import logsumexp
from test_predict import count_fit, sleep_fit

import hierbayes as hb
from hierbayes import plots
from hierbayes.params import block_names
from hierbayes.predict import compare as C
from hierbayes.predict import logo as LG
from hierbayes.predict.linpred import block_covariance_cholesky, fixed_coefficients
from hierbayes.predict.predict import encode_rows, thin
from hierbayes.results.stats import flatten_draws


@pytest.fixture(scope="module")
def sleep():
    return sleep_fit()


def test_loo_uses_the_stored_log_likelihood(sleep):
    from hierbayes.fit import Fit

    tree = sleep._idata.copy()
    if "log_likelihood" in tree.children:
        del tree["log_likelihood"]
    fresh = Fit(tree, sleep.model, sleep.info)  # as Model.fit returns it: no log-likelihood yet
    assert "log_likelihood" not in fresh._idata.children
    assert "log_likelihood" in fresh.idata.children  # added when the DataTree is first read
    stored = sleep.idata["log_likelihood"]["y"].values
    ours = C.pointwise_loglik(sleep.posterior, sleep.model)
    np.testing.assert_allclose(ours, stored.reshape(ours.shape), rtol=1e-8, atol=1e-8)
    res = sleep.loo()
    assert np.isfinite(res.elpd) and res.se > 0
    assert res.elpd == pytest.approx(float(np.sum(res.elpd_i)))
    # ELPD below the in-sample log predictive density by about p_loo
    lpd = float(np.sum(logsumexp(ours, axis=0) - np.log(ours.shape[0])))
    assert res.elpd < lpd and lpd - res.elpd == pytest.approx(res.p, rel=1e-6)


@pytest.mark.slow  # two models of their own fitted to 4 x 400 draws
def test_compare_prefers_negative_binomial_for_overdispersed_counts(tmp_path):
    fits = {"poisson": count_fit("poisson"), "negbinomial": count_fit("negbinomial")}
    table = hb.compare(fits)
    figure = plots.compare(table)  # the comparison plot renders (here: its fits are made once)
    figure.savefig(tmp_path / "compare.png", dpi=60)
    assert (tmp_path / "compare.png").stat().st_size > 5_000
    assert list(table.index) == ["negbinomial", "poisson"]
    assert table.loc["negbinomial", "weight"] > 0.9
    diff = table.loc["poisson", "elpd_diff"]
    assert abs(diff) > 4 * table.loc["poisson", "dse"]
    with pytest.raises(hb.SpecError, match="at least two"):
        hb.compare({"one": fits["poisson"]})
    # leave-one-group-out comparison agrees
    by_group = hb.compare(fits, group="g")
    assert by_group.index[0] == "negbinomial"


def test_integrated_group_likelihood_is_exact_for_gaussian(sleep):
    post = thin(sleep.posterior, 60)
    model = sleep.model
    rows = encode_rows(model)
    codes = model.design.groups[0].codes
    prop = LG.group_effects_proposal(sleep, [True])
    got = LG.integrated_group_loglik(post, model, rows, model.design.y, "Subject", codes, 18, prop, rng=np.random.default_rng(0))
    beta = fixed_coefficients(post, model.design.fixed_names)
    L = block_covariance_cholesky(post, block_names(model.spec)[0])
    sigma = flatten_draws(post["sigma"])
    X, Z, y = model.design.X, model.design.groups[0].X, model.design.y
    for s in range(0, got.shape[0], 7):
        for j in range(18):
            r = codes == j
            cov = sigma[s] ** 2 * np.eye(r.sum()) + Z[r] @ L[s] @ L[s].T @ Z[r].T
            assert got[s, j] == pytest.approx(stats.multivariate_normal.logpdf(y[r], X[r] @ beta[s], cov), rel=1e-9)
    # the quadrature used for other families is exact for a gaussian (a quadratic log density)
    quadrature = LG.integrated_group_loglik(
        post, model, rows, model.design.y, "Subject", codes, 18, prop, rng=np.random.default_rng(0), analytic=False
    )
    np.testing.assert_allclose(quadrature, got, rtol=1e-9)


def test_logo_integrated_is_more_reliable_than_conditional_psis(sleep):
    integ = sleep.logo(random_seed=1)
    cond = sleep.logo(method="psis")
    for res in (integ, cond):
        assert list(res.pointwise.columns) == ["Subject", "n", "elpd", "pareto_k"]
        assert len(res.pointwise) == 18 and (res.pointwise["n"] == 10).all()
        assert res.elpd == pytest.approx(res.pointwise["elpd"].sum())
    assert integ.n_bad_k <= 3 < cond.n_bad_k
    assert "Pareto k" in cond.note and "integrated" in cond.note
    # predicting a whole new subject is harder than predicting one more day of a known one
    assert integ.elpd < sleep.loo().elpd
    with pytest.raises(hb.SpecError, match="method"):
        sleep.logo(method="kfold")
    with pytest.raises(hb.SpecError, match="no grouping factor"):
        sleep.logo("Days")


@pytest.mark.slow
def test_exact_logo_refits_agree_with_integrated_psis(sleep):
    integ = sleep.logo(random_seed=1).pointwise.set_index("Subject")
    exact = sleep.logo(method="exact", levels=["310", "330"], random_seed=1, draws=400, tune=400)
    assert exact.method == "exact" and list(exact.pointwise["Subject"]) == ["310", "330"]
    for level, elpd in zip(exact.pointwise["Subject"], exact.pointwise["elpd"], strict=True):
        assert integ.loc[level, "pareto_k"] < 0.7
        assert elpd == pytest.approx(integ.loc[level, "elpd"], abs=0.3)


# ------------------------------------------------ compare: same rows, one response scale
# Fits that share a posterior (``_refit``) stand in for fits of other models with the same
# parameters: compare's checks and the Jacobian are exact identities whatever the draws.


def _refit(fit, formula: str, data, **model_kwargs):
    """A Fit of ``formula`` on ``data`` carrying ``fit``'s draws (no sampling; no stored
    log-likelihood, so it is computed for the new model)."""
    from hierbayes.fit import Fit

    tree = fit._idata.copy()
    if "log_likelihood" in tree.children:
        del tree["log_likelihood"]
    return Fit(tree, hb.Model(formula, data, **model_kwargs), fit.info)


SLEEP = "Reaction ~ Days + (Days | Subject)"


def test_compare_puts_log_and_sqrt_responses_on_the_scale_of_y(sleep):
    from hierbayes.predict.compare_checks import ResponseScaleWarning

    data = sleep.model.data
    y = data["Reaction"].to_numpy(float)
    fits = {
        "identity": sleep,
        "log": _refit(sleep, "log(Reaction) ~ Days + (Days | Subject)", data),
        "sqrt": _refit(sleep, "sqrt(Reaction) ~ Days + (Days | Subject)", data),
    }
    with pytest.warns(ResponseScaleWarning, match=(
        r"put on the scale of 'Reaction': 'log' \(log\(Reaction\)\) by adding log\|dz/dy\| = -log\(Reaction\); "
        r"'sqrt' \(sqrt\(Reaction\)\) by adding log\|dz/dy\| = -log\(2 sqrt\(Reaction\)\) to each row's log-likelihood"
    )):
        table = hb.compare(fits)
    assert table.loc["identity", "log_jacobian"] == ""
    assert table.loc["log", "log_jacobian"] == "-log(Reaction)"
    assert table.loc["sqrt", "response"] == "sqrt(Reaction)"
    # on y's scale: the elpd of the transformed response plus sum_i log|dz/dy_i|, exactly
    assert table.loc["log", "elpd"] == pytest.approx(fits["log"].loo().elpd - np.log(y).sum(), rel=1e-10)
    assert table.loc["sqrt", "elpd"] == pytest.approx(fits["sqrt"].loo().elpd - np.log(2 * np.sqrt(y)).sum(), rel=1e-10)
    assert table.loc["identity", "elpd"] == pytest.approx(sleep.loo().elpd, rel=1e-10)
    # leave-one-group-out: each subject's elpd gets the sum of its rows' Jacobians
    with pytest.warns(ResponseScaleWarning):
        by_group = hb.compare({"identity": sleep, "log": fits["log"]}, group="Subject", logo_method="psis")
    plain = fits["log"].logo("Subject", method="psis")
    assert by_group.loc["log", "elpd"] == pytest.approx(plain.elpd - np.log(y).sum(), rel=1e-10)


def test_compare_refuses_responses_it_cannot_put_on_one_scale(sleep):
    data = sleep.model.data
    shifted = _refit(sleep, "log(Reaction + 1) ~ Days + (Days | Subject)", data)
    with pytest.raises(hb.SpecError, match=(
        r"the fits model different responses \('a' models 'Reaction', 'b' models 'log\(Reaction \+ 1\)'\); "
        r"their elpd are densities on different scales and cannot be compared"
    )):
        hb.compare({"a": sleep, "b": shifted})
    other = _refit(sleep, "Speed ~ Days + (Days | Subject)", data.assign(Speed=1000 / data["Reaction"]))
    with pytest.raises(hb.SpecError, match=r"'a' models 'Reaction', 'b' models 'Speed'"):
        hb.compare({"a": sleep, "b": other}, group="Subject")


def test_compare_refuses_a_jacobian_that_does_not_exist(sleep):
    data = sleep.model.data.assign(Reaction=lambda d: d["Reaction"].where(d.index != 5, 0.0))
    zero = {"y": _refit(sleep, SLEEP, data), "root": _refit(sleep, "sqrt(Reaction) ~ Days + (Days | Subject)", data)}
    with pytest.raises(hb.DataError, match=r"'root' models 'sqrt\(Reaction\)', but 'Reaction' has values <= 0 or missing"):
        hb.compare(zero)


def test_compare_refuses_fits_of_different_rows(sleep):
    data = sleep.model.data
    subset = _refit(sleep, SLEEP, data.iloc[:170])
    needle = r"compare: the fits were fitted on different rows \('full' on 180 rows, 'subset' on 170 rows\)"
    with pytest.raises(hb.DataError, match=needle):
        hb.compare({"full": sleep, "subset": subset})
    with pytest.raises(hb.DataError, match=needle):
        hb.compare({"full": sleep, "subset": subset}, group="Subject")
    relabelled = _refit(sleep, SLEEP, data.set_axis(np.arange(1000, 1000 + len(data))))
    with pytest.raises(hb.DataError, match=r"'full' and 'other' were fitted on 180 rows each, but not the same rows \(their row labels differ\)"):
        hb.compare({"full": sleep, "other": relabelled})
    changed = _refit(sleep, SLEEP, data.assign(Reaction=data["Reaction"] + np.where(data.index < 12, 1.0, 0.0)))
    with pytest.raises(hb.DataError, match=r"'full' and 'other' were fitted on 180 rows each, but the response 'Reaction' differs in 12 of them"):
        hb.compare({"full": sleep, "other": changed})
    # precomputed results are checked by their number of pointwise terms
    with pytest.raises(hb.DataError, match=r"different numbers of pointwise log-likelihood terms \('full' has 180, 'subset' has 170\)"):
        hb.compare({"full": sleep.loo(), "subset": subset.loo()})


@pytest.fixture(scope="module")
def binary_fits():
    """One tiny bernoulli fit on rows, and the same draws on collapsed binomial cells."""
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"g": np.repeat([f"g{i}" for i in range(20)], 20), "arm": np.tile(["a", "b"], 200)})
    df["y"] = (rng.random(len(df)) < np.where(df["arm"] == "a", 0.3, 0.6)).astype(int)
    rows = hb.Model("y ~ arm + (1 | g)", df, family="bernoulli", collapse=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = rows.fit(draws=200, tune=200, chains=2, random_seed=1, progressbar=False)
    return fit, _refit(fit, "y ~ arm + (1 | g)", df, family="bernoulli", collapse=True)


def test_compare_collapsed_fit_against_rows(binary_fits):
    rows, cells = binary_fits
    assert cells.model.design.n_obs == 40 and rows.model.design.n_obs == 400
    table = hb.compare({"rows": rows, "cells": cells})
    # same draws: leave-one-row-out of the collapsed fit is that of the row fit
    assert table.loc["cells", "elpd"] == pytest.approx(table.loc["rows", "elpd"], rel=1e-10)
    assert table.loc["rows", "elpd"] == pytest.approx(rows.loo().elpd, rel=1e-10)
    by_group = hb.compare({"rows": rows, "cells": cells}, group="g", logo_method="psis")
    assert by_group.loc["cells", "elpd"] == pytest.approx(by_group.loc["rows", "elpd"], rel=1e-10)
    # a list, as R's loo_compare(a, b), is named by position
    listed = hb.compare([rows, cells])
    assert set(listed.index) == {"model1", "model2"}
    assert listed.loc["model1", "elpd"] == pytest.approx(table.loc["rows", "elpd"], rel=1e-10)
    with pytest.raises(hb.ArgumentError, match=r"fits='<Fit>': compare takes a dict of name -> fit or a list of fits"):
        hb.compare(rows)
    # two fits on the same cells are compared cell by cell
    twin = _refit(rows, "y ~ arm + (1 | g)", rows.model.data, family="bernoulli", collapse=True)
    same = hb.compare({"cells": cells, "twin": twin})
    assert same.loc["cells", "elpd"] == pytest.approx(cells.loo().elpd, rel=1e-10)


def test_compare_refuses_a_transformed_discrete_response(binary_fits):
    rows = binary_fits[0]
    root = _refit(rows, "sqrt(y) ~ arm + (1 | g)", rows.model.data, family="bernoulli", collapse=False)
    with pytest.raises(hb.SpecError, match=r"'root' models 'sqrt\(y\)' with the bernoulli family, which has no density on the scale of 'y'"):
        hb.compare({"y": rows, "root": root})


def test_exact_logo_adds_the_log_jacobian_per_level(sleep, monkeypatch):
    """The refits are replaced by a fixed table: only the adjustment is under test."""
    levels = list(sleep.model.design.groups[0].levels)
    table = pd.DataFrame({"Subject": levels[:2], "n": [10, 10], "elpd": [-40.0, -50.0]})
    fixed = LG.LOGO("Subject", "exact", -90.0, 1.0, table, "exact")
    monkeypatch.setattr(LG, "exact_logo", lambda *args: fixed)
    jac = np.arange(sleep.model.design.n_obs, dtype=float)
    codes = sleep.model.design.groups[0].codes
    got = LG.logo(sleep, "Subject", method="exact", levels=levels[:2], log_jacobian=jac)
    expected = [-40.0 + jac[codes == 0].sum(), -50.0 + jac[codes == 1].sum()]
    np.testing.assert_allclose(got.pointwise["elpd"], expected)
    assert got.elpd == pytest.approx(sum(expected))
    assert LG.logo(sleep, "Subject", method="exact", levels=levels[:2]) is fixed


def test_loo_with_too_few_draws_is_a_hierbayes_error(sleepstudy) -> None:
    model = hb.Model("Reaction ~ Days + (1 | Subject)", sleepstudy)
    few = model.fit(backend="prior", chains=2, draws=10, random_seed=1)
    with pytest.raises(hb.SpecError, match=r"at least 25 posterior draws .* this fit has 20"):
        few.loo()
    with pytest.warns(C.ParetoKWarning):  # prior draws: the importance weights are degenerate
        assert np.isfinite(model.fit(backend="prior", chains=1, draws=25, random_seed=1).loo().elpd_i).any()


def test_unreliable_loo_rows_are_named_with_a_remedy_that_works(sleepstudy) -> None:
    # prior draws as the "posterior": the importance weights are degenerate, k is not estimable
    # (NaN, which ArviZ does not flag)
    fit = hb.Model("Reaction ~ Days + (1 | Subject)", sleepstudy).fit(backend="prior", chains=2, draws=100,
                                                                     random_seed=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit.loo()
    assert not [w for w in caught if "shape parameter of Pareto" in str(w.message)]  # ArviZ's own is replaced
    (ours,) = [w for w in caught if issubclass(w.category, C.ParetoKWarning)]
    text = str(ours.message)
    assert "for 180 of 180 rows (rows 0, 1, 2, 3, 4, 5, 6, 7, ...; k not estimable)" in text
    assert "fit.logo('Subject')" in text and ours.filename == __file__
    assert np.isfinite(fit.logo("Subject").elpd)  # the advice runs


def test_the_unreliable_rows_are_those_above_good_k(sleepstudy) -> None:
    from types import SimpleNamespace

    fit = hb.Model("Reaction ~ Days", sleepstudy).fit(backend="prior", chains=1, draws=30, random_seed=1)
    k = np.full(180, 0.2)
    k[[3, 50]] = [0.9, 1.4]
    result = SimpleNamespace(warning=True, good_k=0.7, pareto_k=k)
    assert list(C.unreliable_points(result)[0]) == [3, 50]
    with pytest.warns(C.ParetoKWarning, match=r"above 0.70 or not estimable for 2 of 180 rows \(rows 3, 50; "
                      r"largest k 1.40\).*a heavier-tailed model \(family='student'\) may help") as record:
        C.warn_unreliable_rows(result, fit)
    assert len(record) == 1
    # a family with no heavier-tailed sibling (a weibull's advice had named student and negbinomial)
    gamma = hb.Model("Reaction ~ Days", sleepstudy, family="gamma").fit(backend="prior", chains=1, draws=30,
                                                                       random_seed=1)
    with pytest.warns(C.ParetoKWarning, match=r"rows the model finds surprising are influential: look at them "
                                              r"\(fit\.residuals\(\)\)") as record:
        C.warn_unreliable_rows(result, gamma)
    assert "student" not in str(record[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        C.warn_unreliable_rows(SimpleNamespace(warning=False, good_k=0.7, pareto_k=np.full(180, 0.2)), fit)


def test_the_loo_advice_names_only_what_the_model_takes(sleepstudy) -> None:
    # a sigma formula's fit was told to use logo(), which refuses it; a residual structure's to
    # use family='student', which refuses residual structures
    from types import SimpleNamespace

    k = np.full(180, 0.2)
    k[7] = 0.9
    result = SimpleNamespace(warning=True, good_k=0.7, pareto_k=k)
    sub = hb.Model("Reaction ~ Days + (1 | Subject)", sleepstudy, sigma="~ Days").fit(
        backend="prior", chains=1, draws=30, random_seed=1)
    with pytest.warns(C.ParetoKWarning, match="family='student'") as record:
        C.warn_unreliable_rows(result, sub)
    assert "logo" not in str(record[0].message)
    structured = hb.Model("Reaction ~ Days", sleepstudy, residuals=hb.residuals("exchangeable", group="Subject")).fit(
        backend="prior", chains=1, draws=30, random_seed=1)
    with pytest.warns(C.ParetoKWarning, match=r"look at them \(fit\.residuals\(\)\)") as record:
        C.warn_unreliable_rows(result, structured)
    assert "student" not in str(record[0].message)


def test_compare_says_once_which_models_have_unreliable_rows(sleepstudy) -> None:
    fits = {name: hb.Model(f, sleepstudy).fit(backend="prior", chains=2, draws=100, random_seed=1)
            for name, f in {"a": "Reaction ~ Days + (1 | Subject)", "b": "Reaction ~ 1 + (1 | Subject)"}.items()}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hb.compare(fits)
    assert not [w for w in caught if "shape parameter of Pareto" in str(w.message)]
    (ours,) = [w for w in caught if issubclass(w.category, C.ParetoKWarning)]
    assert "estimates of ['a', 'b']" in str(ours.message)
    assert "compare(fits, group='Subject')" in str(ours.message) and ours.filename == __file__


def test_compare_suggests_a_group_only_when_every_model_has_it(sleepstudy) -> None:
    fits = {name: hb.Model(f, sleepstudy).fit(backend="prior", chains=2, draws=100, random_seed=1)
            for name, f in {"a": "Reaction ~ Days + (1 | Subject)", "c": "Reaction ~ Days"}.items()}
    with pytest.warns(C.ParetoKWarning) as record:
        hb.compare(fits)
    assert "group=" not in str(record[0].message)


def test_pareto_k_advice_points_to_the_finest_grouping_factor(sleepstudy) -> None:
    # grouseticks' (1 | INDEX), one level per row, beside (1 | BROOD): LOGO of INDEX is LOO with
    # each row's effect integrated out; the advice had named the first factor
    data = sleepstudy.assign(obs=np.arange(len(sleepstudy)), half=sleepstudy["Days"] // 5,
                             count=(sleepstudy["Reaction"] // 10).astype(int))
    model = hb.Model("count ~ Days + (1 | Subject) + (1 | half) + (1 | obs)", data, family="poisson")
    assert C.finest_group(model.design) == "obs"
    # obs is nested in both others: their integrated leave-one-group-out is refused, so not advised
    assert C.finest_group(model.design, {"Subject", "half"}) is None
    assert C.finest_group(model.design, set()) is None
    with pytest.warns(UserWarning, match="fitted as crossed"):
        crossed = hb.Model("count ~ Days + (1 | Subject) + (1 | half)", data, family="poisson")
    assert C.finest_group(crossed.design, {"Subject", "half"}) == "Subject"


def test_logo_note_lists_the_levels_to_refit_exactly(sleepstudy) -> None:
    fit = hb.Model("Reaction ~ Days + (1 | Subject)", sleepstudy).fit(backend="prior", chains=2, draws=100,
                                                                     random_seed=1)
    result = fit.logo("Subject")
    bad = list(result.pointwise.loc[~(result.pointwise["pareto_k"] <= 0.7), "Subject"])  # NaN: not estimable
    assert bad, "prior draws as the posterior: some levels' k must be high"
    shown = [str(v) for v in bad[:8]]
    assert f"fit.logo('Subject', method='exact', levels={shown!r}"[:-1] in result.note


def test_compare_arguments_that_are_not_models_or_methods_are_named(sleepstudy) -> None:
    from hierbayes.errors import ArgumentError

    fit = hb.Model("Reaction ~ Days + (1 | Subject)", sleepstudy).fit(backend="prior", chains=2, draws=30,
                                                                     random_seed=1)
    with pytest.raises(ArgumentError, match=r"method='aic': compare weighs models by one of \['stacking', "
                                            r"'BB-pseudo-BMA', 'pseudo-BMA'\]; an information criterion"):
        hb.compare({"a": fit, "b": fit}, method="aic")
    with pytest.raises(ArgumentError, match=r"fits\['b'\]='<str>': each model must be a hierbayes Fit"):
        hb.compare({"a": fit, "b": "b.nc"})


def test_compare_of_the_same_rows_in_another_order_says_so(sleepstudy) -> None:
    model = hb.Model("Reaction ~ Days + (1 | Subject)", sleepstudy)
    a = model.fit(backend="prior", chains=2, draws=30, random_seed=1)
    b = hb.Model("Reaction ~ Days + (1 | Subject)", sleepstudy.iloc[::-1]).fit(backend="prior", chains=2, draws=30,
                                                                              random_seed=1)
    with pytest.raises(hb.DataError, match=r"the same rows in a different order: elpd is compared row by row"):
        hb.compare({"a": a, "b": b})


def _cbpp_like(seed: int = 1) -> pd.DataFrame:
    """15 herds x 4 periods of binomial counts, one observation-level level per row (cbpp's shape)."""
    rng = np.random.default_rng(seed)
    data = pd.DataFrame({"herd": np.repeat([f"h{i}" for i in range(15)], 4), "period": np.tile(["1", "2", "3", "4"], 15)})
    data["obs"] = [f"o{i}" for i in range(len(data))]
    data["size"] = rng.integers(5, 30, len(data))
    data["incidence"] = rng.binomial(data["size"], 0.15)
    return data


def test_nested_factors_are_found_crossed_ones_not(sleepstudy):
    from hierbayes.predict.group_loglik import nested_factors

    olre = hb.Model("cbind(incidence, size - incidence) ~ period + (1 | herd) + (1 | obs)", _cbpp_like(),
                    family="binomial").design
    assert nested_factors(olre, "herd") == ["obs"]
    assert nested_factors(olre, "obs") == []
    plots_ = sleepstudy.assign(half=sleepstudy["Days"] // 5)
    with pytest.warns(UserWarning, match="fitted as crossed"):  # half's labels are reused: crossed
        crossed = hb.Model("Reaction ~ Days + (1 | Subject) + (1 | half)", plots_).design
    assert nested_factors(crossed, "Subject") == [] and nested_factors(crossed, "half") == []
    oats = hb.Model("Reaction ~ Days + (1 | Subject/half)", plots_).design
    assert nested_factors(oats, "Subject") == ["Subject:half"]


def test_integrated_logo_refuses_a_factor_with_another_nested_in_it():
    # cbpp's (1 | herd) + (1 | obs): logo('herd') had kept the left-out rows' own obs effects
    # (learned from them) and disagreed with exact refits by 10 log units per herd
    fit = hb.Model("cbind(incidence, size - incidence) ~ period + (1 | herd) + (1 | obs)", _cbpp_like(),
                   family="binomial").fit(backend="prior", draws=50, chains=2, random_seed=1, progressbar=False)
    with pytest.raises(hb.SpecError, match=r"leave-one-group-out of 'herd' with its effects integrated out: \['obs'\] "
                                           r"is nested in 'herd'.*method='exact'.*method='psis'.*leave out 'obs' instead"):
        fit.logo("herd")
    assert np.isfinite(fit.logo("herd", method="psis", ndraws=50).pointwise["elpd"]).all()
    assert C.finest_group(fit.model.design) == "obs" and C.finest_group(fit.model.design, {"herd"}) is None
    plain = hb.Model("cbind(incidence, size - incidence) ~ period + (1 | herd)", _cbpp_like(),
                     family="binomial").fit(backend="prior", draws=50, chains=2, random_seed=1, progressbar=False)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        hb.compare({"olre": fit, "plain": plain})
    advice = " ".join(str(w.message) for w in record)
    assert "group='herd'" not in advice  # the advice does not lead to the refusal


def test_reloo_replaces_the_unreliable_levels_by_exact_refits(sleep, monkeypatch):
    """brms's reloo: the levels PSIS flags get their refits' elpd (refits replaced by a table)."""
    asked = {}

    def refits(fit, group, drop, codes, all_levels, levels, *rest):
        asked["levels"] = list(levels)
        table = pd.DataFrame({group: levels, "n": 10, "elpd": [-40.0 - i for i in range(len(levels))]})
        return LG.LOGO(group, "exact", float(table["elpd"].sum()), 1.0, table, "exact")

    monkeypatch.setattr(LG, "exact_logo", refits)
    plain = sleep.logo(method="psis")
    bad = ~(plain.pointwise["pareto_k"] <= plain.good_k).to_numpy()
    assert bad.sum() >= 2 and plain.n_bad_k == bad.sum()
    fixed = sleep.logo(method="psis", reloo=True)
    assert asked["levels"] == list(plain.pointwise["Subject"][bad])
    assert list(fixed.pointwise["refit"]) == list(bad) and fixed.n_bad_k == 0
    np.testing.assert_allclose(fixed.pointwise["elpd"][bad], [-40.0 - i for i in range(bad.sum())])
    np.testing.assert_allclose(fixed.pointwise["elpd"][~bad], plain.pointwise["elpd"][~bad])
    assert fixed.elpd == pytest.approx(fixed.pointwise["elpd"].sum())
    assert fixed.elpd_data.elpd == pytest.approx(fixed.elpd) and not fixed.elpd_data.warning
    assert fixed.elpd_data.p == pytest.approx(plain.elpd_data.p + plain.elpd - fixed.elpd)
    assert "refitted exactly" in fixed.note and "reloo=True" in plain.note
    twin = _refit(sleep, SLEEP, sleep.model.data)
    with warnings.catch_warnings():
        warnings.simplefilter("error", C.ParetoKWarning)
        table = hb.compare({"a": sleep, "b": twin}, group="Subject", logo_method="psis", reloo=True)
    assert table["elpd"].iloc[0] == pytest.approx(fixed.elpd)
    with pytest.warns(C.ParetoKWarning, match=r"compare\(fits, group='Subject', reloo=True\)"):
        hb.compare({"a": sleep, "b": twin}, group="Subject", logo_method="psis")


@pytest.mark.parametrize("family", ["gaussian", "bernoulli"])
def test_integrated_logo_of_frequency_weights_is_that_of_the_repeated_rows(family) -> None:
    # the row weights had been left out of each group's integrated likelihood: a bernoulli model of
    # 40 rows, 13 of weight 6, gave elpd -25.1 where the repeated rows give -32.6 (gaussian: -68.3, -125.6)
    from hierbayes.predict.group_loglik import group_blocks, integrated_group_loglik
    from hierbayes.predict.predict import row_design

    rng = np.random.default_rng(3)
    df = pd.DataFrame({"x": rng.normal(size=40), "g": rng.integers(0, 8, 40).astype(str)})
    df["w"] = np.where(df["x"] > 0.5, 6, 1)
    df["y"] = 1 + 0.8 * df["x"] + rng.normal(size=40) + df["g"].astype(int) * 0.2
    if family == "bernoulli":
        df["y"] = (df["y"] > 1.5).astype(int)
    weighted = hb.Model("y ~ x + (1 | g)", df, family=family, weights="w", weight_kind="frequency")
    repeated = hb.Model("y ~ x + (1 | g)", df.loc[df.index.repeat(df["w"])].reset_index(drop=True), family=family,
                        collapse=False)  # bernoulli rows as they are, not binomial cells
    fit = weighted.fit(backend="prior", chains=1, draws=30, random_seed=1)
    proposal = LG.group_effects_proposal(fit, group_blocks(weighted.built, "g"))
    values = []
    for model, weights in ((weighted.built, weighted.design.row_weights), (repeated.built, None)):
        values.append(integrated_group_loglik(fit.posterior, model, encode_rows(model), row_design(model).y, "g",
                                              model.design.groups[0].codes, 8, proposal,
                                              rng=np.random.default_rng(0), weights=weights))
    np.testing.assert_allclose(values[0], values[1], rtol=1e-6, atol=1e-6)
