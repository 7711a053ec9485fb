"""Leave-one-group-out of a model with a residual structure: each subject's likelihood is its
rows' joint normal density with the random intercept integrated out and the residual
covariance of the structure (it had ignored the structure: a level with a sd ratio got the
reference sd's density). Checked on prior draws against a dense multivariate normal built
here, per draw and subject."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import hierbayes as hb
from hierbayes.predict.group_loglik import integrated_group_loglik
from hierbayes.predict.predict import encode_rows
from hierbayes.results.rside_conditional import residual_covariance, structure_draws
from hierbayes.results.stats import flatten_draws

HERE = Path(__file__).parent


def _orthodont() -> pd.DataFrame:
    data = pd.read_csv(HERE / "data" / "orthodont_unstructured.csv")
    for column in json.loads((HERE / "data" / "factors.json").read_text())["orthodont_unstructured"]:
        data[column] = data[column].astype(str)
    return data


@pytest.fixture(scope="module", params=["by_sex", "exponential"])
def prior_fit(request):
    data = _orthodont()
    rs = (hb.residuals("independent", by="Sex") if request.param == "by_sex"
          else hb.residuals("exponential", time="age", group="Subject"))
    return hb.Model("distance ~ age * Sex + (1 | Subject)", data, residuals=rs).fit(
        backend="prior", draws=20, chains=2, random_seed=3, progressbar=False)


def test_each_subject_gets_its_joint_density_with_the_residual_structure(prior_fit):
    model, posterior = prior_fit.model, prior_fit.posterior
    data = _orthodont()
    linear = prior_fit.predict(data, groups="exclude", kind="linear")
    mu = np.asarray(linear.values if hasattr(linear, "values") else linear)
    mu = mu.reshape(-1, len(data))
    subjects = sorted(data["Subject"].unique())
    codes = np.asarray(pd.Categorical(data["Subject"], categories=subjects).codes)
    got = integrated_group_loglik(
        posterior, model, encode_rows(model), data["distance"].to_numpy(float), "Subject", codes,
        len(subjects), proposal=(None, None), rng=np.random.default_rng(0),
    )
    rd = model.design.residuals
    draws = structure_draws(posterior, rd)
    sd = flatten_draws(posterior["sd_Subject"]).reshape(-1)
    y = data["distance"].to_numpy(float)
    for s in range(0, mu.shape[0], 7):
        blocks = residual_covariance(draws, s, rd)
        R = np.zeros((len(y), len(y)))
        for g in range(rd.n_groups):
            rows = rd.rows[g][rd.mask[g]]
            R[np.ix_(rows, rows)] = blocks[g][np.ix_(rd.mask[g], rd.mask[g])]
        for j in (0, 5, len(subjects) - 1):
            rows = np.flatnonzero(codes == j)
            cov = R[np.ix_(rows, rows)] + sd[s] ** 2
            want = stats.multivariate_normal(mu[s, rows], cov).logpdf(y[rows])
            assert got[s, j] == pytest.approx(want, rel=1e-9, abs=1e-9)


def test_logo_runs_and_other_methods_are_refused(prior_fit):
    table = prior_fit.logo("Subject").pointwise
    assert len(table) == 27 and np.all(np.isfinite(table["elpd"]))
    for method in ("psis", "exact"):
        with pytest.raises(hb.SpecError, match=rf"method='{method}' is not available for a model with a residual structure"):
            prior_fit.logo("Subject", method=method)


def test_a_factor_that_splits_residual_groups_cannot_be_left_out():
    data = _orthodont().assign(visit_f=lambda d: "v" + d["visit"].astype(str))
    fit = hb.Model("distance ~ age + (1 | Subject) + (1 | visit_f)", data,
                   residuals=hb.residuals("exponential", time="age", group="Subject")).fit(
        backend="prior", draws=10, chains=1, random_seed=1, progressbar=False)
    with pytest.raises(hb.SpecError, match=r"by 'visit_f': the residual group 'F01' of 'Subject' has rows in 4 "
                                           r"levels of 'visit_f'.*leave out 'Subject' instead"):
        fit.logo("visit_f")
