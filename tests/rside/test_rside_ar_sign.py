"""AR(1) on times whose within-group gaps are all even: the sign of phi is not identified.

The correlation at lag d is phi^d; on nlme's Orthodont (ages 8, 10, 12, 14 per subject) every
lag is even, so the likelihood is the same at phi and -phi. Sampled on (-1, 1) the posterior had
two mirror modes (one chain at +0.78, three at -0.78, R-hat 1.53-1.73). phi is now sampled on
[0, 1) with its prior folded (density p(phi) + p(-phi)): the same model without the mirror.

Reference (``refs/orthodont_ar1.json``, made by ``make_refs.R``; R 4.2, nlme 3.1.162, REML)::

    gls(distance ~ Sex * age, data = d, correlation = corAR1(0.5, form = ~ age | Subject))
    # Phi1 0.790 (95% 0.673 to 0.869), logLik -222.29; from -0.5: Phi1 -0.790, the same logLik;
    # with the default start (corAR1(form = ~ age | Subject)): Phi1 0, logLik -241.78
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.backends.pymc.prior import sample_prior
from hierbayes.design.residuals import TimeUnitWarning

HERE = Path(__file__).parent
DATA = HERE / "data" / "orthodont_ar1.csv"
REF = json.loads((HERE / "refs" / "orthodont_ar1.json").read_text())


def _model(df: pd.DataFrame | None = None, time: str = "age", **kwargs) -> hb.Model:
    df = pd.read_csv(DATA) if df is None else df
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TimeUnitWarning)
        return hb.Model("distance ~ Sex*age", df, residuals=hb.residuals("ar", order=1, time=time, group="Subject"),
                        **kwargs)


def _phi_logp(model: hb.Model, values) -> np.ndarray:
    """The prior log density of ar1_phi (its value, not the transformed one) at ``values``."""
    import pymc as pm

    rv = model.pymc_model["ar1_phi"]
    return np.array([float(pm.logp(rv, np.float64(v)).eval()) for v in values])


def test_even_gaps_fold_the_prior_of_phi_onto_zero_to_one() -> None:
    model = _model(priors={"ar1_phi": hb.Prior("Uniform", lower=-0.5, upper=1.0)})
    assert model.design.residuals.even_lags
    # p(v) + p(-v): 2 / 1.5 where both v and -v are in (-0.5, 1), 1 / 1.5 beyond 0.5
    np.testing.assert_allclose(_phi_logp(model, [0.2, 0.7]), np.log([2 / 1.5, 1 / 1.5]))
    draws = sample_prior(model.compile(), draws=4000, random_seed=3)["ar1_phi"].values.ravel()
    assert draws.min() >= 0.0
    assert np.mean(draws < 0.5) == pytest.approx(2 / 3, abs=0.03)


@pytest.mark.parametrize("ages", [[8, 9, 10, 11], [8, 10, 13, 15]])
def test_a_gap_of_odd_length_keeps_the_sign_of_phi(ages) -> None:
    df = pd.read_csv(DATA)
    df["t"] = df.groupby("Subject").cumcount().map(dict(enumerate(ages)))
    model = _model(df, time="t")
    assert not model.design.residuals.even_lags
    np.testing.assert_allclose(_phi_logp(model, [-0.3, 0.3]), np.log([0.5, 0.5]))


def test_the_prior_table_says_phi_is_sampled_folded() -> None:
    """model.priors (printed by `hierbayes check`, saved as a report's priors.txt) shows the
    prior as stated, default or the user's, and that it is folded onto [0, 1)."""
    user = _model(priors={"ar1_phi": hb.Prior("Uniform", lower=-0.5, upper=1.0)}).priors.to_frame()
    row = user.set_index("class").loc["ar1_phi"]
    assert row["prior"] == "Uniform(lower=-0.5, upper=1), folded onto [0, 1) (every time gap even)"
    assert row["source"] == "user (ar1_phi)"
    assert "Uniform(lower=-1, upper=1), folded onto [0, 1)" in str(_model().priors)
    df = pd.read_csv(DATA)
    df["t"] = df.groupby("Subject").cumcount().map(dict(enumerate([8, 9, 10, 11])))
    odd = _model(df, time="t").priors.to_frame().set_index("class").loc["ar1_phi"]
    assert odd["prior"] == "Uniform(lower=-1, upper=1)"


def test_the_warning_on_even_gaps_says_the_sign_is_folded() -> None:
    with pytest.warns(TimeUnitWarning, match=r"group are 2 units apart.*sign of ar1_phi is not identified .* sampled in \[0, 1\)"):
        hb.Model("distance ~ Sex*age", pd.read_csv(DATA),
                 residuals=hb.residuals("ar1", time="age", group="Subject"))


@pytest.mark.slow
def test_orthodont_ar1_over_age_converges_to_nlme() -> None:
    fit = _model().fit(random_seed=1, progressbar=False)
    diag = fit.diagnostics
    assert diag.divergences == 0
    assert diag.max_r_hat <= 1.01
    phi = fit.idata.posterior["ar1_phi"].values.ravel()
    ci = REF["structure"]["phi_ci"]
    assert ci["lower95"] < np.median(phi) < ci["upper95"]
    low, high = np.quantile(phi, [0.025, 0.975])
    assert low < REF["structure"]["phi"] < high
