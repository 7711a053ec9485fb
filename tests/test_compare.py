"""PSIS-LOO, model comparison with stacking weights and leave-one-group-out."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

import hierbayes as hb
from hierbayes.params import block_names
from hierbayes.predict import compare as C
from hierbayes.predict.linpred import block_covariance_cholesky, fixed_coefficients
from hierbayes.predict.predict import encode_rows, thin
from hierbayes.results.stats import flatten_draws
from test_predict import count_fit, sleep_fit


@pytest.fixture(scope="module")
def sleep():
    return sleep_fit()


def test_loo_uses_the_stored_log_likelihood(sleep):
    from hierbayes.results.fit import Fit

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


def test_compare_prefers_negative_binomial_for_overdispersed_counts():
    fits = {"poisson": count_fit("poisson"), "negbinomial": count_fit("negbinomial")}
    table = hb.compare(fits)
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
    prop = C._proposal(sleep, [True])
    got = C.integrated_group_loglik(post, model, rows, model.design.y, "Subject", codes, 18, prop, rng=np.random.default_rng(0))
    beta = fixed_coefficients(post, model.design.fixed_names)
    L = block_covariance_cholesky(post, block_names(model.spec)[0])
    sigma = flatten_draws(post["sigma"])
    X, Z, y = model.design.X, model.design.groups[0].X, model.design.y
    for s in range(0, got.shape[0], 7):
        for j in range(18):
            r = codes == j
            cov = sigma[s] ** 2 * np.eye(r.sum()) + Z[r] @ L[s] @ L[s].T @ Z[r].T
            assert got[s, j] == pytest.approx(stats.multivariate_normal.logpdf(y[r], X[r] @ beta[s], cov), rel=1e-9)
    # the importance-sampling path (used for other families) agrees on each group's elpd
    is_ = C.integrated_group_loglik(
        post, model, rows, model.design.y, "Subject", codes, 18, prop, rng=np.random.default_rng(0), analytic=False
    )
    elpd_exact = logsumexp(got, axis=0) - np.log(got.shape[0])
    elpd_is = logsumexp(is_, axis=0) - np.log(is_.shape[0])
    assert np.max(np.abs(elpd_exact - elpd_is)) < 0.25


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
