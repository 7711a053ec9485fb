"""The student-t log CDF the censored likelihood uses (``backends/pymc/special.py``): equal to
scipy's over a grid of degrees of freedom and values, tails included, and differentiable in
``nu`` on JAX (numpyro's NUTS), which PyTensor's own ``betainc`` is not; its gradients agree
with finite differences of scipy's log CDF. A censored student-t model then fits on the
default sampler."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import stats

import hierbayes as hb
from hierbayes.backends.pymc.special import betainc, student_t_logcdf

NU = [0.7, 1.0, 2.5, 5.0, 30.0, 200.0]
T = [-1e4, -300.0, -30.0, -5.0, -1.0, -0.1, 0.0, 0.1, 1.0, 5.0, 30.0]


def _functions(mode: str):
    """(value, nu) -> (log CDF, d/d value, d/d nu): differentiated by JAX (as numpyro does)
    or by PyTensor (PyMC's sampler, nutpie)."""
    value, nu = pt.dvector("value"), pt.dvector("nu")
    out = student_t_logcdf(value, nu, 0.0, 1.0)
    if mode == "pytensor":
        return pytensor.function([value, nu], [out, *pt.grad(out.sum(), [value, nu])])
    import jax
    from pymc.sampling.jax import get_jaxified_graph

    fn = get_jaxified_graph(inputs=[value, nu], outputs=[out])
    total = lambda v, n: fn(v, n)[0].sum()
    grad = jax.jit(jax.grad(total, argnums=(0, 1)))
    return lambda v, n: (np.asarray(fn(v, n)[0]), *(np.asarray(g) for g in grad(v, n)))


def _grid() -> tuple[np.ndarray, np.ndarray]:
    """Every (t, nu) pair whose CDF is a normal float (the far tail of nu = 200 at -1e4 is not)."""
    nu, t = np.meshgrid(NU, T)
    t, nu = t.ravel(), nu.ravel()
    keep = stats.t.logcdf(t, nu) > -700
    return t[keep], nu[keep]


def _scipy_grads(t: np.ndarray, nu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """d/dt: the density over the CDF; d/dnu: central differences of scipy's log CDF with a
    relative step of 1e-4 (smaller steps pick up the rounding of scipy's CDF)."""
    d_t = np.exp(stats.t.logpdf(t, nu) - stats.t.logcdf(t, nu))
    h = 1e-4 * nu
    d_nu = (stats.t.logcdf(t, nu + h) - stats.t.logcdf(t, nu - h)) / (2 * h)
    return d_t, d_nu


@pytest.mark.parametrize("mode", ["jax", "pytensor"])
@pytest.mark.slow
def test_student_logcdf_and_its_gradient_match_scipy(mode: str) -> None:
    t, nu = _grid()
    value, d_t, d_nu = _functions(mode)(t, nu)
    np.testing.assert_allclose(value, stats.t.logcdf(t, nu), rtol=1e-9, atol=1e-12)
    want_t, want_nu = _scipy_grads(t, nu)
    np.testing.assert_allclose(d_t, want_t, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(d_nu, want_nu, rtol=1e-5, atol=1e-9)
    assert np.all(np.isfinite(d_nu)) and np.all(np.isfinite(d_t))


@pytest.mark.slow
def test_pytensor_betainc_has_no_shape_gradient_on_jax_but_ours_has() -> None:
    a, b, x = pt.dscalar("a"), pt.dscalar("b"), pt.dscalar("x")
    import jax
    from pymc.sampling.jax import get_jaxified_graph

    with pytest.raises(ValueError, match="Betainc gradient"):
        fn = get_jaxified_graph(inputs=[a, b, x], outputs=[pt.betainc(a, b, x)])
        jax.grad(lambda *p: fn(*p)[0], argnums=0)(2.0, 0.5, 0.3)
    fn = get_jaxified_graph(inputs=[a, b, x], outputs=[betainc(a, b, x)])
    ours = jax.grad(lambda *p: fn(*p)[0], argnums=(0, 1, 2))
    theirs = pytensor.function([a, b, x], pt.grad(betainc(a, b, x), [a, b, x]))
    for point in [(2.0, 0.5, 0.3), (0.6, 7.0, 0.02), (40.0, 40.0, 0.45)]:
        np.testing.assert_allclose([float(g) for g in ours(*point)], theirs(*point), rtol=1e-6)


@pytest.mark.slow
def test_a_censored_student_model_fits_on_the_default_sampler() -> None:
    rng = np.random.default_rng(1)
    n = 60
    x = rng.normal(size=n)
    y = 0.5 + 0.5 * x + rng.standard_t(5, size=n)
    df = pd.DataFrame({"y": np.maximum(y, 0.0), "x": x, "g": np.repeat(np.arange(6), 10),
                       "c": np.where(y < 0, "left", "none")})
    fit = hb.Model("y | cens(c) ~ x + (1 | g)", df, family="student").fit(
        draws=200, tune=200, chains=2, random_seed=1, progressbar=False)
    assert fit.info.sampler == "numpyro"
    assert int(fit.idata.sample_stats["diverging"].sum()) == 0
    assert 0.2 < float(fit.idata.posterior["b"].mean()) < 1.0
