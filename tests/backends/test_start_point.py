"""Where NUTS starts: a jittered start point must have a finite log density AND a finite
gradient. From a point whose gradient is NaN every leapfrog step is NaN, the chain never
moves and every draw is divergent (issue 13; a tobit refit sat at one for all its draws).
The model here is built to have such points next to its start: a potential that is 0 left of
0.5 and ``sqrt(x - 0.5)`` right of it, through a switch whose untaken branch has a NaN
gradient (``0 * inf``), with the start point at 0.2 and the posterior around 3."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import pytest

from hierbayes.backends.pymc.jaxnuts import sample_jax_cached
from hierbayes.backends.pymc.nuts_setup import (
    START_TRIES,
    jittered_candidates,
    jittered_start,
    jittered_unconstrained,
    start_point,
    usable,
)

KINK = 0.5
SEED = 3


def _kinked_model() -> pm.Model:
    with pm.Model() as model:
        x = pm.Normal("x", 3.0, 0.5, initval=0.2)
        pm.Potential("kink", pt.sqrt(pt.maximum(x - KINK, 0.0)))
    return model


def test_a_nan_gradient_makes_a_start_unusable() -> None:
    assert usable(1.0, [np.array([0.5, 1.0])])
    assert not usable(1.0, [np.array([0.5, np.nan])])
    assert not usable(-np.inf, [np.array([0.5])])


def test_the_first_candidate_is_the_plain_jitter() -> None:
    start = [np.zeros(3), np.ones(())]
    plain = jittered_unconstrained(start, 4, 7)
    candidates = jittered_candidates(start, 4, 7)
    assert [c.shape for c in candidates] == [(4, START_TRIES, 3), (4, START_TRIES)]
    for p, c in zip(plain, candidates):
        np.testing.assert_array_equal(p, c[:, 0])


def test_the_pymc_path_starts_where_the_gradient_is_finite() -> None:
    model = _kinked_model()
    naive = jittered_unconstrained(start_point(model), 4, SEED)[0]
    assert (naive <= KINK).sum() >= 2  # the plain jitter starts chains in the NaN-gradient region
    starts = jittered_start(model, 4, SEED)
    assert all(float(s["x"]) > KINK for s in starts)


@pytest.mark.slow  # 15-30 s of cold compilation: in the slow suite
def test_the_cached_numpyro_sampler_starts_where_the_gradient_is_finite(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("HIERBAYES_CACHE_DIR", str(tmp_path))
    model = _kinked_model()
    naive = jittered_unconstrained(start_point(model), 2, SEED)[0]
    assert (naive <= KINK).any()
    run = sample_jax_cached(model, draws=200, tune=200, chains=2, cores=1,
                            random_seed=SEED, target_accept=0.9, dense_mass=False)
    stats, x = run.idata.sample_stats, run.idata.posterior["x"].values
    assert int(stats["diverging"].values.sum()) == 0
    assert np.all(np.abs(x.mean(axis=1) - 3.0) < 0.3)  # both chains moved to the posterior
