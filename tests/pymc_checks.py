"""Helpers for tests that evaluate compiled PyMC models at fixed points (imported by test
modules, not by conftest, so PyTensor loads only where it is used)."""

from __future__ import annotations

import numpy as np
import pytensor
import scipy.stats as st

from hierbayes.backends.pymc.sample import start_point


def jax_function(model, outputs):
    """A JAX-compiled function of the model's value variables (quick to compile)."""
    fn = pytensor.function(
        model.value_vars, model.replace_rvs_by_values(outputs), mode="JAX", on_unused_input="ignore"
    )
    return lambda *args: [np.asarray(v) for v in fn(*args)]


def random_points(model, rng, n=3, scale=0.5):
    """Points around PyMC's start point, on the sampler's (unconstrained) scale."""
    start = start_point(model)
    for _ in range(n):
        yield [v + scale * rng.normal(size=np.shape(v)) for v in start]


def group_mvn(y, mean, codes, Z, cov, sigma):
    """The dense gaussian log density of ``y`` with group effects ``Z u``, ``u ~ N(0, cov)``."""
    total = 0.0
    for j in np.unique(codes):
        idx = codes == j
        V = sigma**2 * np.eye(idx.sum()) + Z[idx] @ cov @ Z[idx].T
        total += st.multivariate_normal(mean[idx], V).logpdf(y[idx])
    return total
