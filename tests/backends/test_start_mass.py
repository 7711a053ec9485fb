"""The mass matrix numpyro's warm-up starts from (backends/pymc/start_mass.py): the inverse
of the log density's curvature at the start point, probed per parameter and per effects
column, and the cached program's ``init`` really hands it to numpyro."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

jax = pytest.importorskip("jax")

from hierbayes.backends.pymc.nuts_setup import configure_jax  # noqa: E402
from hierbayes.backends.pymc.start_mass import (  # noqa: E402
    INVERSE_MASS_BOUNDS,
    UNIT_PROBES_MAX,
    curvature_inverse_mass,
    probe_ids,
)

configure_jax()
import jax.numpy as jnp  # noqa: E402


def test_probe_ids_one_per_scalar_and_per_effects_column():
    ids, n = probe_ids([(), (3,), (4, 2), (UNIT_PROBES_MAX + 1,), (2, 1)])
    assert n == 1 + 3 + 2 + 1
    assert ids[:4].tolist() == [0, 1, 2, 3]
    # levels x columns in C order: the column decides the probe
    assert ids[4:12].tolist() == [4, 5, 4, 5, 4, 5, 4, 5]
    assert (ids[12:12 + UNIT_PROBES_MAX + 1] == -1).all()
    assert ids[-2:].tolist() == [6, 6]


def _structured_hessian(rng) -> np.ndarray:
    """A positive definite Hessian over [a (scalar), b (3), U (4 levels x 2 columns)] with
    every coupling a GLMM has (a-b, b-U, the columns of one level) but none between two
    levels of U."""
    p = 1 + 3 + 8
    A = np.zeros((p, p))
    A[:4, :4] = np.cov(rng.normal(size=(4, 50))) * 5
    for level in range(4):
        idx = [4 + 2 * level, 5 + 2 * level]
        A[np.ix_(idx, idx)] = [[3.0 + level, 0.8], [0.8, 2.0]]
        A[np.ix_(idx, [1, 2, 3])] = rng.normal(scale=0.3, size=(2, 3))
        A[np.ix_([1, 2, 3], idx)] = A[np.ix_(idx, [1, 2, 3])].T
    A += np.eye(p) * 4.0  # diagonally dominant: positive definite
    assert np.all(np.linalg.eigvalsh(A) > 0)
    return A


def _split(flat, shapes=((), (3,), (4, 2))):
    out, i = [], 0
    for shape in shapes:
        size = int(np.prod(shape, dtype=int))
        out.append(jnp.reshape(flat[i:i + size], shape))
        i += size
    return out


def _flat(z):
    return jnp.concatenate([jnp.ravel(v) for v in z])


def test_curvature_is_the_exact_hessian_diagonal_when_levels_do_not_interact():
    A = jnp.asarray(_structured_hessian(np.random.default_rng(0)))
    start = _split(jnp.linspace(-1.0, 1.0, 12))

    def potential(z):
        x = _flat(z)
        return 0.5 * x @ A @ x + jnp.sum(jnp.cosh(x))  # cosh: a curvature that depends on the point

    got = curvature_inverse_mass(potential, start)
    hessian = jax.hessian(lambda x: potential(_split(x)))(_flat(start))
    np.testing.assert_allclose(np.asarray(got), 1.0 / np.diag(np.asarray(hessian)), rtol=1e-12)


def test_curvature_of_coupled_levels_is_a_row_sum_never_an_error():
    # two levels that do interact (children of a parent integrated out): the probe sums them
    A = jnp.asarray([[2.0, 0.5], [0.5, 3.0]])
    got = curvature_inverse_mass(lambda z: 0.5 * jnp.ravel(z[0]) @ A @ jnp.ravel(z[0]), [jnp.zeros((2, 1))])
    np.testing.assert_allclose(np.asarray(got), [1 / 2.5, 1 / 3.5])


def test_flat_negative_and_unprobed_directions_keep_the_identity_or_a_bound():
    low, high = INVERSE_MASS_BOUNDS
    curvatures = jnp.asarray([-3.0, 0.0, 1e-12, 1e12, 4.0])
    long = jnp.zeros(UNIT_PROBES_MAX + 1)

    def potential(z):
        return 0.5 * jnp.sum(curvatures * z[0] ** 2) + jnp.sum(z[1] ** 2) * 50.0

    got = np.asarray(curvature_inverse_mass(potential, [jnp.zeros(5), long]))
    np.testing.assert_allclose(got[:5], [1.0, 1.0, high, low, 0.25])
    assert (got[5:] == 1.0).all()  # too long to probe one by one: the identity


def test_no_forward_mode_rule_means_numpyro_starts_from_the_identity():
    @jax.custom_vjp
    def twice(x):  # reverse mode only: JAX cannot push a tangent through it
        return 2 * x

    twice.defvjp(lambda x: (twice(x), None), lambda _, g: (2 * g,))

    @jax.custom_vjp
    def f(x):
        return jnp.sum(x**2)

    # its gradient runs ``twice``: the Hessian-vector product would need a forward-mode rule
    f.defvjp(lambda x: (f(x), x), lambda x, g: (twice(x) * g,))
    assert curvature_inverse_mass(lambda z: f(z[0]), [jnp.ones(3)]) is None


def test_the_cached_programs_init_hands_numpyro_the_curvature():
    """The ``init`` program of a logistic GLMM: numpyro's state holds 1 / (the Hessian's
    diagonal at the chain's start), not the identity."""
    from pymc.sampling.jax import get_jaxified_graph

    import hierbayes as hb
    from hierbayes.backends.pymc import jaxnuts
    from hierbayes.backends.pymc.graph_data import sampler_graph
    from hierbayes.backends.pymc.nuts_setup import jittered_candidates

    rng = np.random.default_rng(3)
    g = rng.integers(0, 12, 240)
    x = rng.normal(size=240) * 30.0  # a slope far tighter than the group effects
    y = rng.binomial(1, 1 / (1 + np.exp(-(0.02 * x + rng.normal(size=12)[g]))))
    df = pd.DataFrame({"y": y, "x": x, "g": g.astype(str)})
    compiled = hb.Model("y ~ x + (1 | g)", df, family="bernoulli").compile()
    graph = sampler_graph(compiled.model)
    inputs = [*graph.value_vars, *graph.lifted.data_inputs]
    logp_fn = get_jaxified_graph(inputs=inputs, outputs=graph.lifted.outputs[:1])
    out_fn = get_jaxified_graph(inputs=inputs, outputs=graph.lifted.outputs[1:])
    settings = {"draws": 10, "tune": 10, "target_accept": 0.95, "dense_mass": False, "max_tree_depth": 10,
                "algorithm": "numpyro", "chain_loop": "map", "start_mass": "curvature"}
    init, _, _ = jaxnuts.chain_programs(settings, logp_fn, out_fn)
    data = [jnp.asarray(d) for d in graph.lifted.data]
    candidates = [jnp.asarray(c[0]) for c in jittered_candidates(graph.start, 1, 1)]
    state = init(data, jax.random.PRNGKey(0), *candidates)[0]
    start = [c[0] for c in candidates]  # the first candidate is usable here

    def potential(flat):
        sizes = [int(np.size(v)) for v in start]
        parts = np.split(np.arange(flat.size), np.cumsum(sizes)[:-1])
        return -logp_fn(*[jnp.reshape(flat[p], np.shape(v)) for p, v in zip(parts, start)], *data)[0]

    hessian = np.asarray(jax.hessian(potential)(_flat(start)))
    got = np.asarray(state.adapt_state.inverse_mass_matrix)
    d = np.diag(hessian)
    assert (d > 0).all()
    np.testing.assert_allclose(got, np.clip(1.0 / d, *INVERSE_MASS_BOUNDS), rtol=1e-8)
    assert got.min() < 0.05  # the slope's direction: far from the identity's 1
