"""The gradient of a VerbAgg-shaped logit likelihood in float64 and float32 (issue 20's probe,
bench/README.md "Single precision does not halve a gradient"). Run on one core:
``taskset -c 0 .venv/bin/python bench/f32_gradient.py``; microseconds per gradient."""

import time

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)
from jax import lax

n, p, ng1, ng2 = 8191, 9, 316, 24
rng = np.random.default_rng(0)
X = rng.normal(size=(n, p)); y = rng.integers(0, 2, n).astype(float)
g1 = rng.integers(0, ng1, n); g2 = rng.integers(0, ng2, n)
def make(dt):
    Xd = jnp.asarray(X, dt); yd = jnp.asarray(y, dt)
    def logp(theta):
        b = theta[:p]; u1 = theta[p:p+ng1]; u2 = theta[p+ng1:p+ng1+ng2]
        eta = Xd @ b + u1[g1] + u2[g2]
        # one-exp softplus
        sp = jnp.maximum(eta, 0) + jnp.log1p(jnp.exp(-jnp.abs(eta)))
        return jnp.sum(yd * eta - sp) - 0.5 * jnp.sum(theta**2)
    return logp
def bench(dt, mixed):
    logp = make(dt)
    if mixed:
        f = lambda th: logp(th.astype(dt)).astype(jnp.float64)
    else:
        f = logp
    g = jax.value_and_grad(f)
    th0 = jnp.zeros(p+ng1+ng2, jnp.float64 if mixed else dt)
    @jax.jit
    def loop(th):
        def body(i, c):
            v, gr = g(c)
            return c + 1e-6 * gr
        return lax.fori_loop(0, 300, body, th)
    loop(th0).block_until_ready()
    best = 1e9
    for _ in range(3):
        t = time.perf_counter(); loop(th0).block_until_ready(); best = min(best, time.perf_counter() - t)
    return best / 300 * 1e6
print("f64", bench(jnp.float64, False))
print("f32", bench(jnp.float32, False))
print("f32 mixed", bench(jnp.float32, True))
