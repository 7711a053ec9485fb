"""Informative sampling at both levels: schools drawn with probability rising with their
effect, pupils with probability rising with their residual. The unweighted fit is biased;
the weighted pseudo-posterior, adjusted by Williams & Savitsky's sandwich, covers the
population intercept, slope and school sd at about the nominal rate.

Also: the integrated-out (marginal) and sampled-effects paths of a weighted gaussian model
give the same posterior."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb

TRUTH = {"Intercept": 1.0, "x": 0.5, "sd": 0.5}
N_SCHOOLS, N_PUPILS, SAMPLED_SCHOOLS = 600, 60, 50


def informative_sample(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    u = rng.normal(0, TRUTH["sd"], N_SCHOOLS)
    # schools: probability proportional to size measure exp(u / sd) (Poisson sampling)
    size = np.exp(u / TRUTH["sd"])
    p_school = np.minimum(0.95, SAMPLED_SCHOOLS * size / size.sum())
    chosen = np.flatnonzero(rng.uniform(size=N_SCHOOLS) < p_school)
    frames = []
    for j in chosen:
        x = rng.normal(size=N_PUPILS)
        e = rng.normal(0, 1, N_PUPILS)
        p_pupil = np.where(e > 0, 0.5, 0.15)  # pupils above their expected score are oversampled
        keep = rng.uniform(size=N_PUPILS) < p_pupil
        y = TRUTH["Intercept"] + TRUTH["x"] * x + u[j] + e
        frames.append(pd.DataFrame({
            "y": y[keep], "x": x[keep], "school": f"s{j}", "w1": 1 / p_pupil[keep], "w2": 1 / p_school[j],
        }))
    return pd.concat(frames, ignore_index=True)


def _covered(fit, prob: float = 0.9) -> dict[str, bool]:
    fixed = fit.fixef(prob)
    sd = fit.varcorr(prob).iloc[0]
    out = {t: bool(fixed.loc[t, "lower"] <= TRUTH[t] <= fixed.loc[t, "upper"]) for t in ("Intercept", "x")}
    out["sd"] = bool(sd["lower"] <= TRUTH["sd"] <= sd["upper"])
    return out


@pytest.mark.slow
def test_weighted_fit_covers_where_unweighted_is_biased():
    kw = dict(draws=500, tune=500, chains=2, progressbar=False)
    hits, bias_unweighted, bias_weighted = [], [], []
    for rep in range(12):
        df = informative_sample(100 + rep)
        weighted = hb.Model("y ~ x + (1|school)", df, weights="w1", group_weights={"school": "w2"},
                            weight_scaling="size").fit(random_seed=rep, **kw).adjust_intervals()
        plain = hb.Model("y ~ x + (1|school)", df).fit(random_seed=rep, **kw)
        hits.append(_covered(weighted))
        bias_weighted.append(weighted.fixef().loc["Intercept", "mean"] - TRUTH["Intercept"])
        bias_unweighted.append(plain.fixef().loc["Intercept", "mean"] - TRUTH["Intercept"])
    rates = {k: np.mean([h[k] for h in hits]) for k in TRUTH}
    # the unweighted intercept is far off (selection on u and on the residual); the weighted not
    assert np.mean(bias_unweighted) > 0.3
    assert abs(np.mean(bias_weighted)) < 0.1
    # 90% intervals over 12 replications: at least 8 hits (binomial(12, 0.9) >= 8 has p > 0.97)
    assert all(rate >= 8 / 12 for rate in rates.values()), rates


@pytest.mark.slow
@pytest.mark.parametrize("group_weights", [None, {"g": "w2"}])
def test_marginal_and_sampled_weighted_paths_agree(group_weights):
    rng = np.random.default_rng(5)
    g = np.repeat(np.arange(12), 8)
    x = rng.normal(size=g.size)
    df = pd.DataFrame({"y": 1 + 0.5 * x + rng.normal(0, 1, 12)[g] + rng.normal(size=g.size), "x": x,
                       "g": g.astype(str), "w": rng.uniform(0.3, 3.0, g.size), "w2": rng.uniform(0.5, 4.0, 12)[g]})
    kw = dict(draws=1000, tune=1000, chains=2, random_seed=3, progressbar=False)
    fits = {p: hb.Model("y | weights(w) ~ x + (1|g)", df, weight_scaling="size", parameterization=p,
                        group_weights=group_weights).fit(**kw)
            for p in ("marginal", "noncentered")}
    a, b = (fits[p] for p in ("marginal", "noncentered"))
    for table in ("fixef", "varcorr"):
        ta, tb = getattr(a, table)(), getattr(b, table)()
        # means within 0.15 posterior sd (Monte Carlo error of ~2000 draws on each side)
        assert np.all(np.abs(ta["mean"].to_numpy() - tb["mean"].to_numpy()) < 0.15 * ta["sd"].to_numpy())
    re_a, re_b = a.posterior["re_g"].mean(("chain", "draw")), b.posterior["re_g"].mean(("chain", "draw"))
    np.testing.assert_allclose(re_a, re_b, atol=0.1)


@pytest.mark.slow
def test_agrees_with_glmmtmb_weighted_pseudo_likelihood():
    """mlmRev's Exam with weights 1 + (row mod 3): glmmTMB's weighted maximum likelihood
    (equal to lme4 on the rows repeated; tests/statistical/make_weights_ref.R) against the
    posterior means, within 0.5 posterior sd."""
    import json
    from pathlib import Path

    ref = json.loads((Path(__file__).parents[1] / "refs" / "glmmtmb" / "exam_weighted.json").read_text())
    df = hb.datasets.load("Exam")
    df["w"] = 1 + np.arange(len(df)) % 3
    fit = hb.Model("normexam | weights(w) ~ standLRT + sex + (1|school)", df).fit(
        draws=1000, tune=1000, chains=2, random_seed=1, progressbar=False
    )
    fixed = fit.fixef()
    for term, name in (("(Intercept)", "Intercept"), ("standLRT", "standLRT"), ("sexM", "sex[M]")):
        row = fixed.loc[name]
        assert abs(row["mean"] - ref["fixed"][term]) < 0.5 * row["sd"], (term, row["mean"], ref["fixed"][term])
    vc = fit.varcorr().set_index("group")
    for group, value in (("school", ref["sd_school"]), ("Residual", ref["sigma"])):
        assert abs(vc.loc[group, "mean"] - value) < 0.5 * vc.loc[group, "sd"], (group, vc.loc[group, "mean"], value)
