"""New responses of a truncated outcome (``y | trunc(lb, ub)``) come from the truncated
distribution: in PPC / predict(kind="response"), in the prior predictive check and in the
backend's own draws (prior simulation), inside the bounds and with the truncated mean."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import hierbayes as hb
from hierbayes.errors import DataError, SpecError
from hierbayes.families import get_family, truncated_draws

S, N = 4000, 3


def _draws(family: str, eta, aux, lb, ub, link=None):
    fam = get_family(family)
    rng = np.random.default_rng(0)
    eta = np.broadcast_to(np.asarray(eta, float), (S, N))
    return truncated_draws(fam, rng, eta, link or fam.default_link, aux, None, lb, ub)


def _check_mean(draws, expected) -> None:
    se = draws.std(axis=0) / np.sqrt(S)
    assert np.all(np.abs(draws.mean(axis=0) - expected) < 4.5 * se), (draws.mean(axis=0), expected)


def test_gaussian_truncated_below_has_the_truncated_normal_mean() -> None:
    mu, lb = np.array([-1.0, 0.5, 3.0]), np.zeros(N)
    draws = _draws("gaussian", mu, {"sigma": np.full(S, 1.5)}, lb, None)
    assert draws.min() >= 0
    _check_mean(draws, stats.truncnorm.mean((lb - mu) / 1.5, np.inf, loc=mu, scale=1.5))


def test_far_upper_tail_truncation_is_drawn_from_the_survival_side() -> None:
    mu, lb, ub = np.zeros(N), np.array([2.0, 4.0, 6.0]), np.array([np.inf, 5.0, 6.5])
    draws = _draws("gaussian", mu, {"sigma": np.ones(S)}, lb, ub)
    assert np.all(draws >= lb) and np.all(draws <= ub)
    _check_mean(draws, stats.truncnorm.mean(lb, ub))


def test_a_bound_deep_in_the_upper_tail_gives_values_just_above_it() -> None:
    mu, lb = np.array([-10.0, -20.0, -40.0]), np.zeros(N)
    draws = _draws("gaussian", mu, {"sigma": np.ones(S)}, lb, None)
    assert draws.min() > 0
    np.testing.assert_allclose(draws.mean(axis=0), stats.truncnorm.mean(-mu, np.inf, loc=mu), rtol=0.05)


def test_student_and_lognormal_between_two_bounds() -> None:
    lb, ub = np.array([-1.0, 0.0, 1.0]), np.array([0.5, 4.0, 1.5])
    draws = _draws("student", 0.3, {"sigma": np.ones(S), "nu": np.full(S, 3.0)}, lb, ub)
    assert np.all((draws >= lb) & (draws <= ub))
    t = stats.t(3.0, loc=0.3)
    grid = np.linspace(lb, ub, 20001)
    dens = t.pdf(grid)
    _check_mean(draws, (grid * dens).sum(0) / dens.sum(0))
    lb, ub = np.array([0.5, 1.0, 0.1]), np.array([3.0, np.inf, 0.8])
    draws = _draws("lognormal", 0.2, {"sigma": np.full(S, 0.7)}, lb, ub)
    assert np.all((draws >= lb) & (draws <= ub))
    ln = stats.lognorm(0.7, scale=np.exp(0.2))
    expected = [ln.expect(lambda x: x, lb=a, ub=b, conditional=True) for a, b in zip(lb, ub)]
    _check_mean(draws, np.array(expected))


def test_counts_are_drawn_by_rejection_above_lb() -> None:
    mu = np.array([0.3, 1.0, 4.0])
    draws = _draws("poisson", np.log(mu), {}, np.zeros(N), None)
    assert draws.min() >= 1  # zero-truncated: the likelihood's P(Y > lb)
    _check_mean(draws, mu / -np.expm1(-mu))


def test_rejection_gives_up_when_the_bounds_keep_nothing() -> None:
    with pytest.raises(SpecError, match="inside the truncation bounds"):
        _draws("poisson", np.log(1e-4), {}, np.full(N, 30.0), None)


def _truncated_model() -> hb.Model:
    rng = np.random.default_rng(3)
    n = 40
    df = pd.DataFrame({"x": rng.normal(size=n), "g": np.repeat(np.arange(8), 5)})
    df["y"] = np.abs(rng.normal(0.2 + 0.5 * df["x"], 1.0))
    return hb.Model("y | trunc(lb = 0) ~ x + (1 | g)", df)


def test_predictive_checks_of_a_truncated_model_respect_the_bound() -> None:
    model = _truncated_model()
    check = model.prior_predictive(draws=200, random_seed=1)
    assert check.yrep.min() >= 0 and (check.yrep == 0).mean() < 0.001
    fit = model.fit(backend="prior", draws=200, chains=1, random_seed=2)
    assert fit.ppc(random_seed=3).yrep.min() >= 0
    assert fit.predict(kind="response", random_seed=4).draws.min() >= 0
    new = pd.DataFrame({"x": [-3.0, 0.0, 3.0], "g": [0, 1, 99]})  # constant bound: read from the model
    assert fit.predict(new, kind="response", random_seed=5).draws.min() >= 0


@pytest.fixture(scope="module")
def row_bounds_fit():
    """``trunc(lb = lo, ub = hi)`` with bounds that vary by row."""
    data = _truncated_model().data
    data = data.assign(lo=np.minimum(data["y"], 0.0) - np.arange(40) % 2, hi=data["y"] + 1.0 + np.arange(40) % 3)
    fit = hb.Model("y | trunc(lb = lo, ub = hi) ~ x + (1 | g)", data).fit(backend="prior", draws=50, chains=1, random_seed=2)
    return fit, data


def test_training_rows_keep_their_own_bounds(row_bounds_fit) -> None:
    fit, data = row_bounds_fit
    draws = fit.predict(kind="response", random_seed=4).draws.values
    assert np.all(draws >= data["lo"].to_numpy()) and np.all(draws <= data["hi"].to_numpy())


def test_new_data_bounds_that_vary_by_row_are_read_from_the_new_data(row_bounds_fit) -> None:
    fit, _ = row_bounds_fit
    # bounds unlike any of the training rows': the draws can only respect them if they are read
    new = pd.DataFrame({"x": [0.0, 1.0, -1.0], "g": [0, 1, 99], "lo": [5.0, -2.0, 10.0], "hi": [5.5, -1.5, 10.1]})
    draws = fit.predict(new, kind="response", random_seed=5).draws.values
    assert np.all(draws >= new["lo"].to_numpy()) and np.all(draws <= new["hi"].to_numpy())
    assert draws[..., 0].min() >= 5.0 and draws[..., 2].min() >= 10.0


def test_new_data_without_the_bound_column_is_refused_naming_it(row_bounds_fit) -> None:
    fit, data = row_bounds_fit
    with pytest.raises(DataError, match=r"truncation bound lb = lo, which varies by row: add column 'lo' to the new data"):
        fit.predict(data[["x", "g", "hi"]].head(3), kind="response")
    with pytest.raises(DataError, match=r"truncation bound ub = hi, which varies by row: add column 'hi'"):
        fit.predict(data[["x", "g", "lo"]].head(3), kind="response")
    # the mean needs no bounds
    assert fit.predict(data[["x", "g"]].head(3), kind="mean").draws.shape[-1] == 3


def test_new_data_bounds_missing_or_crossed_are_refused(row_bounds_fit) -> None:
    fit, _ = row_bounds_fit
    new = pd.DataFrame({"x": [0.0, 1.0], "g": [0, 1], "lo": [0.0, np.nan], "hi": [1.0, 2.0]})
    with pytest.raises(DataError, match=r"truncation bound lb = lo: column 'lo' of the new data is missing or not a number \(rows 1\)"):
        fit.predict(new, kind="response")
    with pytest.raises(DataError, match=r"truncation bounds of the new data: lb must be below ub \(rows 1\)"):
        fit.predict(new.assign(lo=[0.0, 3.0]), kind="response")


@pytest.mark.slow
def test_the_backends_own_draws_respect_the_bound() -> None:
    import pymc as pm

    from hierbayes.backends.pymc.compile import compile_model

    model = _truncated_model()
    pm_model = compile_model(model.design, model.priors).model
    y = pm.draw(pm_model["y"], draws=300, random_seed=5)
    assert y.min() >= 0
