"""Frequency weights with the default priors (issue 19): whole-number, unscaled level-1
weights give the data-scaled defaults (response location and scale, median/MAD, category
shares, predictor sds, the joint b prior, offsets, distributional sub-models) of the data with
the rows repeated, and so the log density of the repeated data; sampling weights keep the
defaults of the unweighted rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb


def _data(seed: int = 5, n: int = 40) -> pd.DataFrame:
    """Skewed integer weights ``w`` 1-5 correlated with y, so weighted != unweighted."""
    rng = np.random.default_rng(seed)
    g, x, z = rng.integers(0, 6, n), rng.normal(size=n), rng.normal(size=n)
    y = 1 + 0.5 * x + 0.3 * z + rng.normal(0, 1, 6)[g] + rng.standard_t(4, n)
    w = np.clip(np.round(1 + 1.5 * (y - y.min())), 1, 5)
    return pd.DataFrame({
        "y": y, "x": x, "z": z + 0.5 * x, "g": [f"g{k}" for k in g], "w": w, "wr": w + 0.25,
        "c": rng.poisson(np.exp(0.5 + 0.3 * x)), "t": rng.uniform(0.5, 2.0, n),
        "pass": (y > 1.5).astype(int), "n": g % 3 + 1, "k": np.minimum(g % 3 + 1, rng.integers(0, 3, n)), "rating": np.digitize(y, [0.0, 1.0, 2.5]),
    })


def _repeated(df: pd.DataFrame) -> pd.DataFrame:
    return df.loc[df.index.repeat(df["w"].astype(int))].reset_index(drop=True)


def _table(priors) -> dict:
    return {(e.address.kind, e.address.group, e.address.term): (e.prior.dist, e.prior.kwargs, e.source)
            for e in priors.entries}


def _assert_same_priors(a, b) -> None:
    ta, tb = _table(a), _table(b)
    assert ta.keys() == tb.keys()
    for key in ta:
        (da, ka, sa), (db, kb, sb) = ta[key], tb[key]
        assert (da, sa) == (db, sb), key
        assert ka == pytest.approx(kb, rel=1e-10, abs=1e-12), key
    assert (a.joint is None) == (b.joint is None)
    if a.joint is not None:
        np.testing.assert_allclose(a.joint.covariance, b.joint.covariance, rtol=1e-10)


CASES = [
    ("y ~ x + z + (1 + x | g)", "gaussian", {}),
    ("y ~ x + z + (1 | g)", "student", {}),
    ("y ~ x + (1 | g)", "gaussian", {"sigma": "~ z + (1 | g)"}),
    ("pass ~ x + z + (1 | g)", "bernoulli", {}),
    ("k | trials(n) ~ x + z + (1 | g)", "binomial", {}),
    ("c ~ x + z + offset(log(t)) + (1 | g)", "poisson", {}),
    ("rating ~ x + z + (1 | g)", "cumulative", {}),
]


@pytest.mark.parametrize("formula, family, extra", CASES)
def test_default_priors_are_those_of_the_repeated_rows(formula, family, extra):
    df = _data()
    weighted = hb.Model(formula, df, family=family, weights="w", **extra)
    assert weighted.design.weights.frequency
    repeated = hb.Model(formula, _repeated(df), family=family, **extra)
    _assert_same_priors(weighted.priors, repeated.priors)


def test_the_weights_move_the_defaults():
    """The check above has teeth: the repeated rows' defaults differ from the unweighted ones."""
    df = _data()
    plain = hb.Model("y ~ x + z + (1 | g)", df).priors
    weighted = hb.Model("y ~ x + z + (1 | g)", df, weights="w").priors
    assert weighted.get("Intercept").kwargs["mu"] > plain.get("Intercept").kwargs["mu"] + 0.1
    assert weighted.get("sigma").kwargs["sigma"] != pytest.approx(plain.get("sigma").kwargs["sigma"], rel=1e-3)


@pytest.mark.parametrize("kw", [{"weights": "wr"}, {"weights": "w", "weight_scaling": "size"}])
def test_sampling_weights_keep_the_unweighted_defaults(kw):
    df = _data()
    weighted = hb.Model("y ~ x + z + (1 | g)", df, **kw)
    assert not weighted.design.weights.frequency
    _assert_same_priors(weighted.priors, hb.Model("y ~ x + z + (1 | g)", df).priors)


@pytest.mark.parametrize("formula, family", [
    ("y ~ x + z + (1 | g)", "gaussian"),
    ("pass ~ x + z + (1 | g)", "bernoulli"),
    ("c ~ x + z + offset(log(t)) + (1 | g)", "poisson"),
    ("rating ~ x + z", "cumulative"),
])
def test_log_density_with_default_priors_is_that_of_the_repeated_rows(formula, family):
    df = _data()
    compiled = hb.Model(formula, df, family=family, weights="w").compile()
    plan = dict(compiled.parameterization)
    # collapse=False: identical repeated 0/1 rows would otherwise become binomial cells
    repeated = hb.Model(formula, _repeated(df), family=family, parameterization=plan or None,
                        collapse=False).compile()
    point = {k: v + 0.3 for k, v in compiled.model.initial_point().items()}
    weighted = compiled.model.compile_logp(mode="FAST_COMPILE")(point)
    assert weighted == pytest.approx(repeated.model.compile_logp(mode="FAST_COMPILE")(point), rel=1e-10, abs=1e-8)
