"""Default priors of a censored gaussian (tobit) response are scaled by the uncensored
response (:mod:`hierbayes.priors.censored`), not by the censoring limits ``y`` holds.

References: survreg's intercept-only gaussian fits (R 4.2, survival 3.5)::

    survreg(Surv(durable, durable > 0, type = "left") ~ 1, data = tobin, dist = "gaussian")
    # (Intercept) -2.227439, scale 5.945262          (sd(durable) as observed: 2.658)
    d <- read.csv("tests/survival/data/tobit_sim60.csv")
    survreg(Surv(y, censored == "none", type = "left") ~ 1, data = d, dist = "gaussian")
    # (Intercept) 1.585054, scale 3.430801           (sd(y) as observed: 1.671)
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.priors.censored import latent_moments

DATA = Path(__file__).parents[1] / "survival" / "data"
TOBIN = "durable | cens(censored) ~ age + quant"


def _tobin() -> pd.DataFrame:
    data = pd.read_csv(DATA / "tobin.csv")
    data["censored"] = np.where(data["durable"] > 0, "none", "left")
    return data


@pytest.mark.parametrize("family", ["gaussian", "student"])
def test_tobin_defaults_are_scaled_by_survregs_intercept_only_fit(family):
    priors = hb.Model(TOBIN, _tobin(), family=family).priors
    assert priors.get("sigma").kwargs["sigma"] == pytest.approx(5.945262, rel=1e-4)
    intercept = priors.get("Intercept").kwargs
    assert intercept["mu"] == pytest.approx(-2.227439, abs=1e-3)
    assert intercept["sigma"] == pytest.approx(2.5 * 5.945262, rel=1e-4)
    # the joint b prior is 2.5 s_y / sd(x) per uncorrelated column: s_y is the same scale
    assert priors.joint.scale == pytest.approx(2.5 * 5.945262, rel=1e-4)


def test_sixty_percent_censored_simulation():
    data = pd.read_csv(DATA / "tobit_sim60.csv")
    design = hb.Model("y | cens(censored) ~ x", data).design
    moments = latent_moments(design)
    assert (moments.mean, moments.sd) == pytest.approx((1.585054, 3.430801), rel=1e-4)
    assert np.std(design.y) < 0.5 * moments.sd  # the limits' sd, the old default, is half of it


def test_without_censored_rows_the_defaults_are_the_uncensored_ones():
    data = _tobin()
    data["durable"] += np.linspace(0.1, 2.0, 20)
    data["censored"] = "none"
    censored = hb.Model(TOBIN, data).priors
    plain = hb.Model("durable ~ age + quant", data).priors
    for kind in ("sigma", "Intercept"):
        assert censored.get(kind).kwargs == pytest.approx(plain.get(kind).kwargs, rel=1e-6)


def test_right_censoring_and_an_offset():
    """A right-censored response less an identity-link offset: the limits move with it."""
    rng = np.random.default_rng(2)
    latent = rng.normal(3.0, 2.0, 400)
    off = rng.uniform(-1, 1, 400)
    y = np.minimum(latent + off, 3.5 + off)
    data = pd.DataFrame({"y": y, "o": off, "c": np.where(latent >= 3.5, "right", "none")})
    moments = latent_moments(hb.Model("y | cens(c) ~ 1 + offset(o)", data).design)
    assert moments.mean == pytest.approx(3.0, abs=0.25) and moments.sd == pytest.approx(2.0, rel=0.12)


def test_a_likelihood_without_maximum_keeps_the_sd_of_the_limits():
    """One exact value below every left-censoring limit: the likelihood grows without bound as
    sigma shrinks around it, so the fit is not used and the old default stays."""
    data = _tobin()
    data["durable"] = np.linspace(10.0, 13.0, 20)
    data.loc[0, "durable"] = 0.0
    data["censored"] = ["none"] + ["left"] * 19
    model = hb.Model(TOBIN, data)
    assert latent_moments(model.design) is None
    assert model.priors.get("sigma").kwargs["sigma"] == pytest.approx(float(np.std(data["durable"])), rel=1e-6)


def test_frequency_weights_give_the_repeated_rows_defaults():
    data = _tobin()
    data["w"] = np.arange(20) % 3 + 1
    weighted = hb.Model(TOBIN, data, weights="w", weight_kind="frequency").priors
    repeated = hb.Model(TOBIN, data.loc[data.index.repeat(data["w"])].reset_index(drop=True)).priors
    assert weighted.get("sigma").kwargs["sigma"] == pytest.approx(repeated.get("sigma").kwargs["sigma"], rel=1e-5)
    assert weighted.get("Intercept").kwargs["mu"] == pytest.approx(repeated.get("Intercept").kwargs["mu"], rel=1e-5)


# survreg(Surv(time, status) ~ 1, data = d, dist = <family>) on survival's rats and on lung
# without its row of unknown institution (R 4.2, survival 3.5); brms' weibull intercept is the
# log mean time b0 + lgamma(1 + scale), the loglogistic's the log median b0:
#   weibull      rats 5.079074 (scale 0.2726681)  lung 6.036074 (scale 0.7620924)
#   exponential  rats 6.4708                      lung 6.045814
#   lognormal    rats 5.159161                    lung 5.663457
#   loglogistic  rats 5.036638                    lung 5.710785
SURVREG_INTERCEPT_ONLY = {
    "weibull": (5.079074 + math.lgamma(1 + 0.2726681), 6.036074 + math.lgamma(1 + 0.7620924)),
    "exponential": (6.4708, 6.045814),
    "lognormal": (5.159161, 5.663457),
    "loglogistic": (5.036638, 5.710785),
}


def _survival(name: str) -> pd.DataFrame:
    data = pd.read_csv(DATA / f"{name}.csv").dropna()
    event = 1 if name == "rats" else 2
    data["cens"] = np.where(data["status"] == event, "none", "right")
    return data


@pytest.mark.parametrize("family", sorted(SURVREG_INTERCEPT_ONLY))
def test_censored_survival_intercept_is_centred_at_survregs_intercept_only_fit(family):
    """log(mean(time)) reads a censored time as the event time (rats: 4.50, 86% censored);
    the centre is the family's censored intercept-only ML fit."""
    for data, formula, expected in zip(
        (_survival("rats"), _survival("lung")),
        ("time | cens(cens) ~ rx + (1 | litter)", "time | cens(cens) ~ age + (1 | inst)"),
        SURVREG_INTERCEPT_ONLY[family],
    ):
        centre = hb.Model(formula, data, family=family).priors.get("Intercept").kwargs["mu"]
        assert centre == pytest.approx(expected, abs=2e-3), (family, formula)


def test_uncensored_survival_intercept_keeps_its_centre():
    data = _survival("rats")
    model = hb.Model("time ~ rx", data[data["cens"] == "none"], family="weibull")
    assert model.priors.get("Intercept").kwargs["mu"] == pytest.approx(np.log(data.loc[data["cens"] == "none", "time"].mean()))


def test_censored_survival_with_an_offset_keeps_the_stored_centre():
    """With an offset the intercept-only fit is not made: the centre is log(mean(y)) less the
    offsets' shift, as for uncensored rows."""
    data = _survival("rats").assign(exposure=2.0)
    model = hb.Model("time | cens(cens) ~ rx + offset(log(exposure))", data, family="weibull")
    assert model.priors.get("Intercept").kwargs["mu"] == pytest.approx(np.log(data["time"].mean()) - np.log(2.0))
