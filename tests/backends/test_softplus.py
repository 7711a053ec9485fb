"""The one-exp softplus (backends/pymc/softplus.py) and the logit binomial's log density
written with it (likelihoods.py): the same values and gradients as log(1 + exp(x)) on
every back end, one exp per value on JAX, data-only parts of the sampler graph computed
once (graph_data.fold_constants)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import special, stats

from hierbayes.backends.pymc.graph_data import FOLD_MIN_SIZE
from hierbayes.backends.pymc.softplus import register_jax, softplus

POINTS = np.array([-800.0, -40.0, -37.5, -20.0, -1.0, -1e-9, 0.0, 1e-9, 0.7, 17.9, 18.1, 33.0, 34.0, 40.0, 800.0])


def _reference(x):
    return np.logaddexp(0.0, x), special.expit(x)


@pytest.mark.parametrize("mode", ["FAST_RUN", "NUMBA"])  # PyMC's sampler (C); nutpie (numba)
def test_values_and_gradient_on_pytensors_own_backends(mode):
    if mode == "NUMBA":
        pytest.importorskip("numba")
    x = pt.dvector("x")
    y = softplus(x)
    f = pytensor.function([x], [y, pytensor.grad(y.sum(), x)], mode=mode)
    value, grad = f(POINTS)
    want_value, want_grad = _reference(POINTS)
    np.testing.assert_allclose(value, want_value, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-14, atol=1e-300)


def _jaxified(outputs_of):
    jax = pytest.importorskip("jax")
    from pymc.sampling.jax import get_jaxified_graph

    register_jax()
    x = pt.dvector("x")
    fn = get_jaxified_graph(inputs=[x], outputs=[outputs_of(x).sum()])
    return jax, (lambda v: fn(v)[0])


def test_values_and_gradient_on_jax_with_one_exp():
    jax, total = _jaxified(softplus)
    import jax.numpy as jnp

    want_value, want_grad = _reference(POINTS)
    per_value = [float(total(jnp.asarray([p]))) for p in POINTS]
    np.testing.assert_allclose(per_value, want_value, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(np.asarray(jax.grad(total)(jnp.asarray(POINTS))), want_grad, rtol=1e-14, atol=1e-300)
    text = str(jax.make_jaxpr(jax.value_and_grad(total))(jnp.asarray(POINTS)))
    assert text.count(" exp ") == 1 and text.count("log1p") == 1


def test_pytensors_softplus_on_jax_evaluates_three_exps():
    # what the op replaces: the test above would pass by chance if PyTensor's form were cheap
    jax, total = _jaxified(pt.softplus)
    import jax.numpy as jnp

    text = str(jax.make_jaxpr(jax.value_and_grad(total))(jnp.asarray(POINTS)))
    assert text.count(" exp ") >= 3


@pytest.mark.parametrize("trials", [None, 7])
def test_logit_binomial_log_likelihood_matches_scipy(trials):
    import hierbayes as hb

    rng = np.random.default_rng(11)
    n = 60
    x = rng.normal(size=n) * 3.0
    g = rng.integers(0, 5, n)
    size = 1 if trials is None else trials
    y = rng.binomial(size, special.expit(x))
    df = pd.DataFrame({"y": y, "x": x, "g": g.astype(str), "n": size})
    formula = "y ~ x + (1 | g)" if trials is None else "y | trials(n) ~ x + (1 | g)"
    model = hb.Model(formula, df, family="bernoulli" if trials is None else "binomial").compile().model
    point = model.initial_point()
    point = {k: v + 0.3 for k, v in point.items()}
    (eta_var,) = model.replace_rvs_by_values([model["y"].owner.inputs[2]])  # inputs: rng, size, eta, trials
    eta = model.compile_fn(eta_var, inputs=model.value_vars, on_unused_input="ignore")(point)
    assert np.ptp(eta) > 2  # (the tails: the op's own tests above)
    got = model.compile_logp(vars=[model["y"]], sum=False)(point)[0]
    np.testing.assert_allclose(got, stats.binom.logpmf(y, size, special.expit(eta)), rtol=1e-10)


def test_data_only_parts_of_the_sampler_graph_are_computed_once():
    """The log binomial coefficients (three lgamma per row) become a lifted data array."""
    jax = pytest.importorskip("jax")
    from pymc.sampling.jax import get_jaxified_graph

    import hierbayes as hb
    from hierbayes.backends.pymc.graph_data import sampler_graph

    rng = np.random.default_rng(2)
    rows = FOLD_MIN_SIZE + 44  # smaller data are not worth folding
    df = pd.DataFrame({"y": rng.integers(0, 6, rows), "n": 6, "g": rng.integers(0, 4, rows).astype(str)})
    compiled = hb.Model("y | trials(n) ~ 1 + (1 | g)", df, family="binomial").compile()
    graph = sampler_graph(compiled.model)
    inputs = [*graph.value_vars, *graph.lifted.data_inputs]
    logp = get_jaxified_graph(inputs=inputs, outputs=graph.lifted.outputs[:1])
    args = [np.asarray(s) for s in graph.start] + [np.asarray(d) for d in graph.lifted.data]
    text = str(jax.make_jaxpr(lambda *a: logp(*a)[0])(*args))
    assert "lgamma" in text  # the priors' (few values: not worth folding)
    assert f"f64[{rows}] = lgamma" not in text
    want = compiled.model.compile_logp()(dict(zip([v.name for v in graph.value_vars], graph.start)))
    np.testing.assert_allclose(float(logp(*args)[0]), want, rtol=1e-12)


def test_small_data_are_not_folded():
    """Below FOLD_MIN_SIZE values the graph is returned as it is (folding costs more than it saves)."""
    import hierbayes as hb
    from hierbayes.backends.pymc.graph_data import fold_constants

    rng = np.random.default_rng(2)
    df = pd.DataFrame({"y": rng.integers(0, 6, 40), "n": 6, "g": rng.integers(0, 4, 40).astype(str)})
    logp = hb.Model("y | trials(n) ~ 1 + (1 | g)", df, family="binomial").compile().model.logp()
    outputs, literal = fold_constants([logp])
    assert outputs[0] is logp and literal == set()


def test_constants_folded_from_literals_stay_constants_of_the_program():
    """Folding literals too made an exponent 2 a lifted array and XLA's x ** 2 a general
    power (grouseticks' gradient 8 -> 15 us): only data-derived constants are lifted."""
    jax = pytest.importorskip("jax")
    from pymc.sampling.jax import get_jaxified_graph

    import hierbayes as hb
    from hierbayes.backends.pymc.graph_data import fold_constants, sampler_graph

    rng = np.random.default_rng(4)
    rows = FOLD_MIN_SIZE + 44
    df = pd.DataFrame({"y": rng.poisson(3.0, rows), "x": rng.normal(size=rows), "g": rng.integers(0, 6, rows).astype(str)})
    compiled = hb.Model("y ~ x + (1 | g)", df, family="poisson").compile()
    model = compiled.model
    _, literal = fold_constants([model.logp()])
    assert literal  # there are literal-only parts to fold (the test would be empty otherwise)
    graph = sampler_graph(model)
    assert not any(d.dtype == np.int8 for d in graph.lifted.data)
    inputs = [*graph.value_vars, *graph.lifted.data_inputs]
    logp = get_jaxified_graph(inputs=inputs, outputs=graph.lifted.outputs[:1])
    data = [np.asarray(d) for d in graph.lifted.data]
    n = len(graph.start)
    text = str(jax.make_jaxpr(jax.grad(lambda *z: logp(*z, *data)[0], argnums=tuple(range(n))))(*graph.start))
    assert " pow " not in text and f"f64[{rows}] = lgamma" not in text
