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


def graph_log_density(graph, point) -> float:
    """The log density of a sampler graph (:func:`hierbayes.backends.pymc.graph_data.sampler_graph`)
    at ``point`` (its value variables), its lifted data as given."""
    from hierbayes.backends.pymc.nuts_setup import python_mode

    inputs = [*graph.value_vars, *graph.lifted.data_inputs]
    f = pytensor.function(inputs, graph.lifted.outputs[0], mode=python_mode(), on_unused_input="ignore")
    return float(f(*point, *graph.lifted.data))


def padded_minus_real(real, padded, rng, points: int = 2, scale: float = 0.5):
    """Pairs (difference of the padded and the real graph's log densities at random points,
    what independent standard normals on the padding would contribute): equal when the
    padded graph is the model plus standard normals (backends/pymc/padding.py)."""
    assert [v.name for v in real.value_vars] == [v.name for v in padded.value_vars]
    for _ in range(points):
        point = [rng.normal(size=np.shape(s)) * scale for s in padded.start]
        cut, extra = [], 0.0
        for value, start in zip(point, real.start):
            keep = tuple(slice(0, k) for k in np.shape(start))
            padding = np.ones(np.shape(value), bool)
            padding[keep] = False
            extra += float(np.sum(-0.5 * value[padding] ** 2 - 0.5 * np.log(2.0 * np.pi)))
            cut.append(value[keep])
        yield graph_log_density(padded, point) - graph_log_density(real, cut), extra
