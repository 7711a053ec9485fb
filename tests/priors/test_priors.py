"""Default priors are scaled to the data, printed, and overridable by class, group and term."""

from __future__ import annotations

import numpy as np
import pytest

import hierbayes as hb


@pytest.fixture(scope="module")
def sleep(sleepstudy):
    return sleepstudy


def test_defaults_scale_with_the_response(sleep):
    base = hb.Model("Reaction ~ Days + (Days | Subject)", data=sleep).priors
    scaled = sleep.assign(Reaction=sleep["Reaction"] * 1000)
    big = hb.Model("Reaction ~ Days + (Days | Subject)", data=scaled).priors
    for kind, group, term in [("b", None, "Days"), ("sd", "Subject", "Intercept"), ("sigma", None, None)]:
        a = base.get(kind, group, term).kwargs["sigma"]
        b = big.get(kind, group, term).kwargs["sigma"]
        assert b == pytest.approx(1000 * a, rel=1e-9)
    assert base.get("cor", "Subject").dist == "LKJ"
    assert base.get("sd", "Subject", "Days").dist == "HalfStudentT"


def test_prior_table_prints_every_parameter(sleep):
    text = str(hb.Model("Reaction ~ Days + (Days | Subject)", data=sleep).priors)
    for needle in ("Intercept", "Days", "Subject", "LKJ(eta=2)", "sigma", "default"):
        assert needle in text


def test_overrides_most_specific_wins(sleep):
    priors = {
        "sd": hb.Prior("HalfNormal", sigma=50.0),
        "sd:Subject:Days": hb.Prior("HalfNormal", sigma=5.0),
        "b:Days": hb.Prior("Normal", mu=0.0, sigma=2.0),
        "cor": hb.Prior("LKJ", eta=4.0),
    }
    table = hb.Model("Reaction ~ Days + (Days | Subject)", data=sleep, priors=priors).priors
    assert table.get("sd", "Subject", "Intercept") == hb.Prior("HalfNormal", sigma=50.0)
    assert table.get("sd", "Subject", "Days") == hb.Prior("HalfNormal", sigma=5.0)
    assert table.get("b", None, "Days").kwargs == {"mu": 0.0, "sigma": 2.0}
    assert table.get("cor", "Subject").kwargs == {"eta": 4.0}
    frame = table.to_frame()
    assert "user (sd:Subject:Days)" in set(frame["source"])


def test_override_reaches_the_pymc_model(sleep):
    model = hb.Model("Reaction ~ Days + (Days || Subject)", data=sleep,
                     priors={"sd:Subject": hb.Prior("HalfNormal", sigma=3.0)})
    # the term is integrated out: its sds are sampled signed, with HalfNormal's symmetric law
    rv = model.pymc_model["sd_Subject__signed"]
    assert rv.owner.op.name == "normal"
    sigma = rv.owner.inputs[-1].eval()
    np.testing.assert_allclose(sigma, [3.0, 3.0])


def test_unknown_prior_key_lists_valid_keys(sleep):
    with pytest.raises(hb.PriorError, match="Valid keys") as err:
        hb.Model("Reaction ~ Days + (Days | Subject)", data=sleep, priors={"sd:Subjct": hb.Prior("HalfNormal", sigma=1.0)})
    assert "sd:Subject" in str(err.value)


@pytest.mark.parametrize(
    "key, prior, words",
    [
        ("sd", hb.Prior("Normal", mu=0.0, sigma=1.0), "positive support"),
        ("b", hb.Prior("Normal", mu=0.0, sigma=-1.0), "must be > 0"),
        ("b", hb.Prior("Normal", mu=0.0), "missing"),
        ("b", hb.Prior("Normel", mu=0.0, sigma=1.0), "unknown distribution"),
        ("sigma", hb.Prior("HalfNormal", scale=1.0), "unknown"),
    ],
)
def test_invalid_priors(sleep, key, prior, words):
    with pytest.raises(hb.PriorError, match=words):
        hb.Model("Reaction ~ Days + (Days | Subject)", data=sleep, priors={key: prior})
