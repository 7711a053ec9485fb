"""A family is one slice: a Family object plus one likelihood per backend.

The toy family below (a log-normal response, ``log y ~ Normal(eta, sigma)``) is defined
entirely in this file: its numpy side as one :class:`~hierbayes.families.Family`, its PyMC
side as one builder registered with ``likelihood_of``. Nothing else in hierbayes knows it,
and a model with it compiles, samples, reports, predicts and checks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm
import pytest

import hierbayes as hb
from hierbayes.backends.pymc import likelihoods
from hierbayes.backends.pymc.variables import register as register_parameter
from hierbayes.errors import SpecError
from hierbayes.families import (
    FAMILIES,
    Family,
    check_positive,
    get_family,
    per_draw,
    register,
)
from hierbayes.params import OBS_DIM

TOY = "toy_lognormal"


@pytest.fixture
def registries():
    """Leave the family and likelihood registries as they were after each test."""
    families, builders = dict(FAMILIES), dict(likelihoods.LIKELIHOODS)
    yield
    FAMILIES.clear()
    FAMILIES.update(families)
    likelihoods.LIKELIHOODS.clear()
    likelihoods.LIKELIHOODS.update(builders)


def _toy_family(name: str = TOY) -> Family:
    def log_likelihood(y, eta, link, aux, trials):
        sigma = per_draw(aux["sigma"], eta)
        log_y = np.log(y)
        return -0.5 * ((log_y - eta) / sigma) ** 2 - np.log(sigma) - log_y - 0.5 * np.log(2 * np.pi)

    return Family(
        name=name,
        links=("identity",),
        support="positive real numbers",
        check=check_positive(name),
        aux=("sigma",),
        mean=lambda eta, link, aux, trials: np.exp(eta + per_draw(aux["sigma"], eta) ** 2 / 2),
        simulate=lambda rng, eta, link, aux, trials: rng.lognormal(eta, per_draw(aux["sigma"], eta)),
        log_likelihood=log_likelihood,
        intercept_location=lambda y, trials, link: float(np.mean(np.log(y))),
        link_scale=lambda y, trials, link: float(np.std(np.log(y))),
        level1_variance=lambda link, mean_eta, group_variance, aux: (aux["sigma"] ** 2, "log scale"),
        aux_priors={"sigma": lambda y, trials, link: ("HalfNormal", {"sigma": float(np.std(np.log(y)))})},
    )


def _register_toy() -> Family:
    toy = register(_toy_family())

    @likelihoods.likelihood_of(toy)
    def toy_lognormal(eta, design, priors, link):
        sigma = register_parameter("sigma", priors.get("sigma"))
        return pm.LogNormal("y", mu=eta, sigma=sigma, observed=design.y, dims=OBS_DIM)

    return toy


def _toy_data(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    groups, per_group = 12, 15
    g = np.repeat(np.arange(groups), per_group)
    x = rng.normal(size=groups * per_group)
    u = rng.normal(0.0, 0.5, groups)
    y = np.exp(1.0 + 0.6 * x + u[g] + rng.normal(0.0, 0.4, len(x)))
    return pd.DataFrame({"y": y, "x": x, "g": [f"g{j}" for j in g]})


@pytest.mark.filterwarnings("ignore::hierbayes.results.diagnostics.ConvergenceWarning")  # a short run
@pytest.mark.slow
def test_a_family_defined_in_a_test_compiles_and_fits(registries) -> None:
    toy = _register_toy()
    model = hb.Model("y ~ x + (1 | g)", _toy_data(), family=TOY)
    assert model.spec.family is toy and model.spec.family == TOY
    sigma_prior = model.priors.get("sigma")
    assert sigma_prior.dist == "HalfNormal" and sigma_prior.kwargs["sigma"] == pytest.approx(np.std(np.log(model.design.y)))
    assert "y" in model.pymc_model.named_vars
    prior = model.prior_predictive(draws=20, random_seed=1)
    assert prior is not None

    fit = model.fit(draws=200, tune=200, chains=2, random_seed=1, progressbar=False)
    fixef = fit.fixef()
    assert abs(fixef.loc["x", "mean"] - 0.6) < 0.2
    assert abs(float(fit.posterior["sigma"].mean()) - 0.4) < 0.1
    means = fit.predict(kind="mean")
    assert np.all(means.draws.values > 0)
    assert np.isfinite(fit.icc()["mean"]).all()
    fit.ppc()


def test_a_family_without_a_likelihood_is_an_error_naming_family_and_backend(registries) -> None:
    register(_toy_family("toy_without_likelihood"))
    with pytest.raises(SpecError, match=r"family 'toy_without_likelihood' has no likelihood in the pymc backend"):
        likelihoods.check_likelihoods()
    model = hb.Model("y ~ x + (1 | g)", _toy_data(), family="toy_without_likelihood")
    with pytest.raises(SpecError, match=r"'toy_without_likelihood' has no likelihood in the pymc backend"):
        model.compile()


def test_one_likelihood_per_family(registries) -> None:
    with pytest.raises(SpecError, match=r"family 'gaussian' already has a likelihood in the pymc backend"):
        likelihoods.likelihood_of("gaussian")(lambda eta, design, priors, link: None)
    likelihoods.check_likelihoods()  # the shipped families are complete


def test_the_spec_carries_the_family_and_saves_its_name() -> None:
    from hierbayes.spec import parse_formula
    from hierbayes.spec.serialize import spec_from_dict, spec_to_dict

    spec = parse_formula("y ~ x", family="t")
    assert spec.family is get_family("student")
    assert spec.family == "student" and spec.family == "t" and str(spec.family) == "student"
    assert spec_to_dict(spec)["family"] == "student"
    assert spec_from_dict(spec_to_dict(spec)) == spec
    with pytest.raises(SpecError, match="unknown family 'nosuch'"):
        parse_formula("y ~ x", family="nosuch")
