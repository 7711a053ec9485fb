"""The Williams & Savitsky interval adjustment: each group's weighted marginal log-likelihood
(the integral the pseudo-posterior takes) against quadrature (gaussian: closed form; other
families with one random intercept: Gauss-Hermite), and the adjusted draws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

import hierbayes as hb
from hierbayes.errors import SpecError
from hierbayes.results.weights_adjust import ADJUSTMENT_LABEL, adjusted_posterior, group_log_likelihoods


def _data(seed: int = 4, J: int = 6, n: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(J), n)
    x = rng.normal(size=J * n)
    return pd.DataFrame({
        "y": 1 + 0.5 * x + rng.normal(0, 1, J)[g] + rng.normal(0, 1, J * n), "x": x,
        "g": g.astype(str), "w": rng.uniform(0.5, 3.0, J * n), "w2": rng.uniform(0.3, 1.0, J)[g],  # unscaled level-2 weights average at most 1
    })


@pytest.fixture(scope="module")
def prior_fit():
    model = hb.Model("y ~ x + (1|g)", _data(), weights="w", group_weights={"g": "w2"})
    return model.fit(draws=40, chains=2, random_seed=2, progressbar=False, backend="prior")


def test_cluster_loglik_is_the_weighted_integral(prior_fit):
    design = prior_fit.model.design
    theta = np.array([0.8, 0.4, np.log(0.9), np.log(1.3)])
    w, w2 = design.row_weights, design.groups[0].prior_weights
    y = np.asarray(design.y)
    got = group_log_likelihoods(prior_fit.posterior, design, theta)
    codes = design.groups[0].codes
    for j in range(design.groups[0].n_levels):
        rows = codes == j
        mu = design.X[rows] @ theta[:2]

        def integrand(u, rows=rows, mu=mu, j=j):
            loglik = (w[rows] * stats.norm.logpdf(y[rows], mu + u, 0.9)).sum()
            return np.exp(loglik + w2[j] * stats.norm.logpdf(u, 0, 1.3))

        value, _ = integrate.quad(integrand, -15, 15, epsabs=0, epsrel=1e-11, limit=200)
        assert got[j] == pytest.approx(np.log(value), rel=1e-7)


def test_group_log_likelihoods_default_to_the_posterior_mean(prior_fit):
    design = prior_fit.model.design
    post = prior_fit.posterior
    mean = [float(post["Intercept"].mean()), float(post["b"].mean()),
            float(np.log(post["sigma"]).mean()), float(np.log(post["sd_g"]).mean())]
    np.testing.assert_allclose(group_log_likelihoods(post, design), group_log_likelihoods(post, design, np.array(mean)))
    with pytest.raises(SpecError, match=r"theta has 3 values; this model has 4 \(fixed effects, log sigma, log group sds\)"):
        group_log_likelihoods(post, design, np.zeros(3))


def test_adjusted_draws_keep_means_and_change_spread(prior_fit):
    adjusted = prior_fit.adjust_intervals()
    before, after = prior_fit.posterior, adjusted.posterior
    assert after.attrs["interval_adjustment"] == ADJUSTMENT_LABEL
    assert float(after["Intercept"].mean()) == pytest.approx(float(before["Intercept"].mean()))
    assert float(np.log(after["sigma"]).mean()) == pytest.approx(float(np.log(before["sigma"]).mean()))
    assert float(after["b"].std()) != pytest.approx(float(before["b"].std()))
    assert "Interval adjustment: Williams & Savitsky" in str(adjusted.summary())


def test_adjusted_spread_does_not_inherit_the_draws_spread(prior_fit):
    """The sandwich's bread is the log-likelihood's curvature, not the draws' covariance: draws
    spread twice as wide about the same mean are adjusted to the same covariance (with the
    draws' covariance as bread it would be 4x wider, and it carried their Monte Carlo error)."""
    design = prior_fit.model.design
    post = prior_fit.posterior
    log_sigma = np.log(post["sigma"])
    wide = post.copy()
    for name in ("Intercept", "b"):
        wide[name] = post[name].mean() + 2 * (post[name] - post[name].mean())
    wide["sigma"] = np.exp(log_sigma.mean() + 2 * (log_sigma - log_sigma.mean()))
    wide["sd_g"] = np.exp(np.log(post["sd_g"]).mean() + 2 * (np.log(post["sd_g"]) - np.log(post["sd_g"]).mean()))

    def spread(p):
        a = adjusted_posterior(p, design)
        return np.array([float(a["Intercept"].std()), float(a["b"].std()), float(np.log(a["sigma"]).std()),
                         float(np.log(a["sd_g"]).std())])

    np.testing.assert_allclose(spread(wide), spread(post), rtol=1e-6)


@pytest.mark.parametrize("family, column, aux", [("bernoulli", "k", {}), ("negbinomial", "c", {"phi": 2.5})])
def test_glmm_cluster_loglik_is_the_weighted_integral(family, column, aux):
    """Other families, one random intercept: adaptive Gauss-Hermite quadrature against
    scipy's adaptive quadrature of the same integral."""
    from hierbayes.families import get_family

    df = _data()
    rng = np.random.default_rng(3)
    df["k"] = (df["y"] > 1.2).astype(int)
    df["c"] = rng.poisson(np.exp(0.3 + 0.4 * df["x"]))
    model = hb.Model(f"{column} ~ x + (1|g)", df, family=family, weights="w", group_weights={"g": "w2"})
    fit = model.fit(draws=10, chains=1, random_seed=1, progressbar=False, backend="prior")
    design = model.design
    theta = np.array([0.3, 0.5, *np.log(list(aux.values())), np.log(0.8)])
    got = group_log_likelihoods(fit.posterior, design, theta)
    fam = get_family(family)
    w, w2, codes = design.row_weights, design.groups[0].prior_weights, design.groups[0].codes
    for j in range(design.groups[0].n_levels):
        rows = codes == j
        eta = design.X[rows] @ theta[:2]

        def integrand(u, rows=rows, eta=eta, j=j):
            ll = fam.log_likelihood(np.asarray(design.y, float)[rows], eta + u, "log" if family != "bernoulli"
                                    else "logit", aux, None)
            return np.exp((w[rows] * ll).sum() + w2[j] * stats.norm.logpdf(u, 0, 0.8))

        value, _ = integrate.quad(integrand, -10, 10, epsabs=0, epsrel=1e-11, limit=200)
        assert got[j] == pytest.approx(np.log(value), rel=1e-7, abs=1e-8)
    if family == "bernoulli":  # (a few prior draws of phi are too wild for a sandwich)
        # at the mean of prior draws the curvature is not that of a posterior: the posterior
        # covariance stands in for H^-1, and the warning says so and what to do
        with pytest.warns(UserWarning, match=r"curvature at the posterior mean is not positive definite.*"
                                             r"draw more \(fit\(draws=\.\.\.\)\)"):
            adjusted = fit.adjust_intervals()
        assert "Interval adjustment: Williams & Savitsky" in str(adjusted.summary())
        assert float(adjusted.posterior["b"].std()) != pytest.approx(float(fit.posterior["b"].std()))
        assert np.isfinite(adjusted.posterior["sd_g"].values).all()


def test_adjustment_refused_where_unavailable():
    df = _data()
    df["c"] = np.random.default_rng(1).poisson(2, len(df))
    fit = hb.Model("c ~ x + (x|g)", df, family="poisson", weights="w").fit(
        draws=10, chains=1, random_seed=1, progressbar=False, backend="prior"
    )
    with pytest.raises(SpecError, match=r"other \(non-ordinal\) families with one group term of one column.*"
                                        r"poisson with group term\(s\) \(x \| g\)|poisson with group term"):
        fit.adjust_intervals()
    small = hb.Model("y ~ x + (1|g)", _data(J=2, n=6), weights="w").fit(
        draws=10, chains=1, random_seed=1, progressbar=False, backend="prior"
    )
    with pytest.raises(SpecError, match="at least 3 groups"):
        adjusted_posterior(small.posterior, small.model.design)
