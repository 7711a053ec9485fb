"""Predictions conditional on a group's observed rows (mmrm's ``predict(conditional = TRUE)``).

Fast: on prior draws, every draw's conditional mean against the conditional-normal formula
computed here from the training groups' residual covariances (``residual_covariance``), the
new observations' spread against the conditional variance, and every error message.
Slow: an MMRM of Orthodont (unstructured, nlme's ``gls(corSymm, varIdent)`` REML fit in
``refs/orthodont_unstructured.json``, see ``make_refs.R``): the posterior mean of a held-out
visit against the same formula at nlme's estimates.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.predict.rside_conditional_predict import conditional_predict
from hierbayes.results.rside_conditional import residual_covariance, structure_draws
from hierbayes.results.stats import flatten_draws

HERE = Path(__file__).parent
SUBJECTS = ["M01", "F05", "M10"]


def _orthodont() -> tuple[dict, pd.DataFrame]:
    ref = json.loads((HERE / "refs" / "orthodont_unstructured.json").read_text())
    data = pd.read_csv(HERE / "data" / "orthodont_unstructured.csv")
    for column in json.loads((HERE / "data" / "factors.json").read_text())["orthodont_unstructured"]:
        data[column] = data[column].astype(str)
    return ref, data


def _held_out(data: pd.DataFrame) -> pd.DataFrame:
    """Three subjects' rows, the last visit's distance (and M10's second) missing."""
    rows = data[data["Subject"].isin(SUBJECTS)].copy()
    visit = rows["visit"].astype(str)
    rows.loc[visit == "4", "distance"] = np.nan
    rows.loc[(rows["Subject"] == "M10") & (visit == "2"), "distance"] = np.nan
    assert rows["distance"].isna().sum() == 4
    return rows


def _conditional_mean(cov: np.ndarray, mu: np.ndarray, y: np.ndarray) -> np.ndarray:
    o, n = np.isfinite(y), ~np.isfinite(y)
    out = y.copy()
    out[n] = mu[n] + cov[np.ix_(n, o)] @ np.linalg.solve(cov[np.ix_(o, o)], y[o] - mu[o])
    return out


@pytest.fixture(scope="module")
def prior_fit():
    _, data = _orthodont()
    rs = hb.residuals("unstructured", time="visit", group="Subject")
    return hb.Model("distance ~ age * Sex", data, residuals=rs).fit(
        backend="prior", draws=30, chains=2, random_seed=1, progressbar=False)


def test_every_draw_is_the_conditional_normal_mean(prior_fit):
    _, data = _orthodont()
    new = _held_out(data)
    got = flatten_draws(prior_fit.predict(new, conditional=True).draws)
    mu = flatten_draws(prior_fit.predict(new).draws)  # the unconditional means
    rd = prior_fit.model.design.residuals
    draws = structure_draws(prior_fit.posterior, rd)
    for s in (0, 17, 59):
        cov = residual_covariance(draws, s, rd)
        for subject in SUBJECTS:
            j = rd.group_levels.index(subject)
            rows = np.flatnonzero(new["Subject"].to_numpy() == subject)  # visits 1..4 in order
            expected = _conditional_mean(cov[j], mu[s, rows], new["distance"].to_numpy()[rows])
            np.testing.assert_allclose(got[s, rows], expected, rtol=1e-10)


def test_new_observations_have_the_conditional_spread(prior_fit):
    _, data = _orthodont()
    new = _held_out(data)
    one = prior_fit.posterior.isel(chain=[0], draw=[3])
    many = one.isel(draw=[0] * 2000).assign_coords(draw=np.arange(2000))
    built = prior_fit.model.built
    draws = flatten_draws(conditional_predict(many, built, new, kind="response", random_seed=5).draws)
    mean = flatten_draws(conditional_predict(one, built, new).draws)[0]
    rd = prior_fit.model.design.residuals
    cov = residual_covariance(structure_draws(many, rd), 0, rd)[rd.group_levels.index("M10")]
    held = [1, 3]  # M10's visits 2 and 4
    expected = cov[np.ix_(held, held)] - cov[np.ix_(held, [0, 2])] @ np.linalg.solve(
        cov[np.ix_([0, 2], [0, 2])], cov[np.ix_([0, 2], held)])
    rows = np.flatnonzero(new["Subject"].to_numpy() == "M10")[held]
    assert (np.abs(draws[:, rows].mean(axis=0) - mean[rows]) < 4 * np.sqrt(np.diag(expected) / 2000)).all(), (draws[:, rows].mean(axis=0), mean[rows], np.diag(expected))
    np.testing.assert_allclose(np.cov(draws[:, rows], rowvar=False), expected, rtol=0.1, atol=0.05 * expected.max())
    observed = np.flatnonzero(np.isfinite(new["distance"].to_numpy()))
    assert (draws[:, observed] == new["distance"].to_numpy()[observed]).all()  # given rows are kept


def test_a_structure_without_time_conditions_too():
    # exchangeable residuals (no time column): every row of a subject informs the missing ones
    _, data = _orthodont()
    fit = hb.Model("distance ~ age * Sex", data, residuals=hb.residuals("exchangeable", group="Subject")).fit(
        backend="prior", draws=10, chains=1, random_seed=1, progressbar=False)
    new = _held_out(data)
    got = flatten_draws(fit.predict(new, conditional=True).draws)
    mu = flatten_draws(fit.predict(new).draws)
    rd = fit.model.design.residuals
    cov = residual_covariance(structure_draws(fit.posterior, rd), 4, rd)[rd.group_levels.index("M10")]
    rows = np.flatnonzero(new["Subject"].to_numpy() == "M10")
    expected = _conditional_mean(cov, mu[4, rows], new["distance"].to_numpy()[rows])
    np.testing.assert_allclose(got[4, rows], expected, rtol=1e-10)


def test_conditional_errors_name_what_is_wrong(prior_fit):
    _, data = _orthodont()
    new = _held_out(data)
    with pytest.raises(hb.DataError, match=r"newdata has no column 'distance' of the response 'distance': give "
                                           r"it, NaN on the rows to predict"):
        prior_fit.predict(new.drop(columns="distance"), conditional=True)
    # (an unstructured sd per visit: the sd's check names the visit first)
    with pytest.raises(hb.DataError, match=r"'visit' has levels the model has no residual sd for: \['5'\]; "
                                           r"known: \['1', '2', '3', '4'\]"):
        prior_fit.predict(new.assign(visit="5"), conditional=True)
    with pytest.raises(hb.DataError, match=r"newdata repeats a time within a group of 'Subject' \(rows"):
        prior_fit.predict(pd.concat([new, new.iloc[:1]]), conditional=True)
    with pytest.raises(hb.SpecError, match=r"kind='linear' with conditional=True: valid values are \['mean', "
                                           r"'response'\]"):
        prior_fit.predict(new, kind="linear", conditional=True)
    with pytest.raises(hb.SpecError, match="conditional=True needs newdata"):
        prior_fit.predict(conditional=True)
    with pytest.raises(hb.DataError, match=r"the response column 'distance' of newdata is not numeric in rows"):
        prior_fit.predict(new.assign(distance="x"), conditional=True)
    plain = hb.Model("distance ~ age * Sex + (1 | Subject)", data).fit(
        backend="prior", draws=5, chains=1, random_seed=1, progressbar=False)
    with pytest.raises(hb.SpecError, match=r"conditional=True predicts a group's missing rows from its observed "
                                           r"rows through the residual structure; this model has none"):
        plain.predict(new, conditional=True)
    grouped = hb.Model("distance ~ age * Sex + (1 | Subject)", data,
                       residuals=hb.residuals("ar1", time="visit", group="Subject")).fit(
        backend="prior", draws=5, chains=1, random_seed=1, progressbar=False)
    with pytest.raises(hb.DataError, match=r"conditional predictions for groups the model was not fitted on "
                                           r"\(\{'Subject': \('X99',\)\}\)"):
        grouped.predict(new.assign(Subject="X99"), conditional=True)
    with pytest.raises(hb.DataError, match=r"the time column 'visit' of newdata must be numeric and not missing"):
        grouped.predict(new.assign(visit="x"), conditional=True)


@pytest.mark.slow
def test_held_out_visits_agree_with_nlme_gls():
    ref, data = _orthodont()
    rs = hb.residuals("unstructured", time="visit", group="Subject")
    fit = hb.Model("distance ~ age * Sex", data, residuals=rs).fit(
        draws=500, tune=500, chains=2, random_seed=1, progressbar=False)
    new = _held_out(data)
    got = fit.predict(new, conditional=True).summary()
    beta = {row["term"]: row["estimate"] for row in ref["fixed_effects"]}
    cov = np.asarray(ref["structure"]["covariance_matrix"])  # by visit, nlme's REML estimate
    male = (new["Sex"] == "Male").to_numpy(float)
    mu = (beta["Intercept"] + beta["age"] * new["age"] + beta["Sex[Male]"] * male
          + beta["age:Sex[Male]"] * new["age"] * male).to_numpy()
    for subject in SUBJECTS:
        rows = np.flatnonzero(new["Subject"].to_numpy() == subject)
        expected = _conditional_mean(cov, mu[rows], new["distance"].to_numpy()[rows])
        held = ~np.isfinite(new["distance"].to_numpy()[rows])
        table = got.iloc[rows[held]]
        # the posterior mean of a held-out visit within 1 posterior sd of nlme's plug-in value
        # (measured -0.25, -0.05, -0.61, -0.66 sd; the unconditional means are -3.4 to -4.6 sd
        # off): 27 subjects leave the correlations wide, and their posterior means (0.45 for
        # visits 1-2) sit below REML's (0.57), which scales the conditioning down a little
        assert (np.abs(table["mean"].to_numpy() - expected[held]) < table["sd"].to_numpy()).all(), \
            (subject, table["mean"].to_numpy(), expected[held])
    # conditioning helps: the held-out visits are closer to the truth than the unconditional means
    truth = data.set_index(["Subject", "visit"])["distance"]
    keys = list(zip(new["Subject"], new["visit"], strict=True))
    held_all = ~np.isfinite(new["distance"].to_numpy())
    actual = np.array([truth[k] for k, h in zip(keys, held_all, strict=True) if h])
    plain = fit.predict(new).summary()["mean"].to_numpy()[held_all]
    assert np.abs(got["mean"].to_numpy()[held_all] - actual).mean() < np.abs(plain - actual).mean()
