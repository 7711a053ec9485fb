"""An AR(1) residual's sd is sampled as its innovation sd, ``sigma sqrt(1 - phi^2)``.

With random slopes beside it (nlme's Oxboys) the posterior of (phi, sigma) is a ridge along
which the innovation sd hardly moves: sigma 0.6-8 as phi runs 0.4-0.996 (0.1% to 99.9%
quantiles), sigma sqrt(1 - phi^2) 0.6-0.73. Sampled as log sigma, the ridge curved where phi
is small and the fit diverged once in 4,000 draws at seeds 2 and 4 of 1-6 (target 0.9); as
log sigma sqrt(1 - phi^2), the shear ``log sigma - log cosh(atanh(phi))`` of the same
coordinates (unit Jacobian, the prior unchanged), it did at none.

Reference (R 4.2, nlme 3.1; REML)::

    lme(height ~ age + I(age^2), data = Oxboys, random = ~ age | Subject,
        correlation = corAR1(form = ~ 1 | Subject),
        control = lmeControl(maxIter = 200, msMaxIter = 200, opt = "optim"))
    #                Value Std.Error
    # (Intercept) 149.08099 1.6231002
    # age           6.58424 0.3111176
    # I(age^2)      0.65980 0.1757476       Phi 0.978 (95% -0.78 to 0.99997), sigma 3.40 (0.13 to 91)

nlme's REML maximum sits at the ridge's far end, with intervals over all of it; the posterior
means of phi and sigma (0.84, 1.8) are not compared with it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.backends.pymc.prior import sample_prior

DATA = Path(__file__).parent / "data" / "oxboys.csv"
FORMULA = "height ~ age + I(age^2) + (age | Subject)"
NLME = {"Intercept": (149.08099, 1.6231002), "age": (6.58424, 0.3111176), "I(age^2)": (0.65980, 0.1757476)}


def _model() -> hb.Model:
    return hb.Model(FORMULA, pd.read_csv(DATA), residuals=hb.residuals("ar1", time="Occasion", group="Subject"))


def test_the_residual_sd_is_sampled_beside_its_correlation_as_the_innovation_sd() -> None:
    model = _model().pymc_model
    names = [v.name for v in model.value_vars]
    assert "sigma_sheared_log__" in names and "sigma_log__" not in names
    point = model.initial_point()
    phi_value = next(name for name in names if name.startswith("ar1_phi"))
    point[phi_value] = np.array(1.5)
    point["sigma_sheared_log__"] = np.array(0.2)
    outputs = model.unobserved_value_vars
    values = dict(zip([v.name for v in outputs], model.compile_fn(outputs, inputs=model.value_vars,
                                                                   on_unused_input="ignore")(point)))
    phi, sigma = values["ar1_phi"], values["sigma"]
    assert 0.3 < abs(float(phi)) < 0.99
    assert float(sigma) == pytest.approx(np.exp(0.2) / np.sqrt(1 - float(phi) ** 2))


def test_the_prior_of_the_sheared_sd_is_the_residual_sds() -> None:
    model = _model()
    draws = np.sort(sample_prior(model.compile(), draws=4000, random_seed=2)["sigma"].values.ravel())
    prior = model.priors.get("sigma")  # HalfStudentT(3, s): |t_3| s
    rng = np.random.default_rng(0)
    reference = np.sort(np.abs(rng.standard_t(prior.kwargs["nu"], size=4000)) * prior.kwargs["sigma"])
    for q in (0.25, 0.5, 0.75):
        assert np.quantile(draws, q) == pytest.approx(np.quantile(reference, q), rel=0.08)


@pytest.mark.slow
def test_oxboys_ar1_with_random_slopes_has_no_divergences() -> None:
    fit = _model().fit(random_seed=2, progressbar=False)
    diag = fit.diagnostics
    assert diag.divergences == 0
    assert diag.max_r_hat <= 1.01
    assert diag.min_ess_bulk >= 400
    table = fit.fixef()
    for term, (estimate, _) in NLME.items():
        assert abs(table.loc[term, "mean"] - estimate) < 0.3 * table.loc[term, "sd"], term
