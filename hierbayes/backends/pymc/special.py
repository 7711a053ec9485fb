"""The regularized incomplete beta function with gradients in its shape parameters on JAX.

PyTensor differentiates ``betainc(a, b, x)`` in ``a`` and ``b`` by its own series (Boik &
Robison-Cox), which its C and numba back ends run (PyMC's sampler, nutpie), but JAX has no such
derivative and PyTensor none in JAX either, so a log density holding ``betainc`` of a free
parameter (the student-t's CDF in ``nu``, the negative binomial's survival function in
``phi``) cannot be differentiated for numpyro's NUTS ("Betainc gradient with respect to a and
b not supported").

:func:`betainc` is the same function as an op of its own type: every back end but JAX runs
PyTensor's implementation and gradient; on JAX it is ``jax.scipy.special.betainc`` with a
``custom_jvp`` whose derivative in ``x`` is the beta density and whose derivatives in ``a``
and ``b`` are central differences of ``log I`` with a relative step of :data:`STEP` (relative
error about 1e-9 over the tests' grid, far below what NUTS notices; second derivatives are not
needed by NUTS).

:func:`student_t_logcdf` is the student-t log CDF written with it (the form PyMC uses, whose
shape parameters are both ``nu / 2``, finite with a finite gradient at the centre, here
without its cancellation in the far left tail).
"""

from __future__ import annotations

import functools

import pytensor.tensor as pt
from pytensor.scalar import upgrade_to_float_no_complex
from pytensor.scalar.math import BetaInc
from pytensor.tensor.elemwise import Elemwise

__all__ = ["STEP", "betainc", "student_t_logcdf"]

#: Relative step of the central differences in ``a`` and ``b`` on JAX.
STEP = 1e-5


class BetaIncShapeGrad(BetaInc):
    """``betainc`` whose JAX form is differentiable in ``a`` and ``b`` (see the module)."""


_op = Elemwise(BetaIncShapeGrad(upgrade_to_float_no_complex, name="betainc_shape_grad"))


@functools.cache
def _register_jax() -> None:
    """Teach PyTensor's JAX linker the op (imports JAX, so only when the op is first used)."""
    from pytensor.link.jax.dispatch import jax_funcify

    @jax_funcify.register(BetaIncShapeGrad)
    def _jax_betainc(op, **kwargs):
        import jax
        import jax.numpy as jnp
        from jax.scipy.special import betainc as jbetainc
        from jax.scipy.special import betaln

        @jax.custom_jvp
        def f(a, b, x):
            return jbetainc(a, b, x)

        @f.defjvp
        def f_jvp(primals, tangents):
            a, b, x = primals
            da, db, dx = tangents
            out = jbetainc(a, b, x)
            ha, hb = STEP * a, STEP * b
            # differences of log I: I is about x^a in the left tail, so differences of I
            # itself are off by (h log x)^2 / 6 relative, which grows into the tail
            log_i = lambda a_, b_: jnp.log(jbetainc(a_, b_, x))
            positive = out > 0.0
            d_a = jnp.where(positive, out * (log_i(a + ha, b) - log_i(a - ha, b)) / (2.0 * ha), 0.0)
            d_b = jnp.where(positive, out * (log_i(a, b + hb) - log_i(a, b - hb)) / (2.0 * hb), 0.0)
            d_x = jnp.exp((a - 1.0) * jnp.log(x) + (b - 1.0) * jnp.log1p(-x) - betaln(a, b))
            return out, d_a * da + d_b * db + d_x * dx

        return f


def betainc(a, b, x):
    """The regularized incomplete beta function I_x(a, b), differentiable in every argument
    on every back end (tensors or numbers, broadcast)."""
    _register_jax()
    return _op(pt.as_tensor_variable(a), pt.as_tensor_variable(b), pt.as_tensor_variable(x))


def student_t_logcdf(value, nu, mu, sigma):
    """log P(Y <= value) for Y ~ student-t(nu, mu, sigma): log I_x(nu/2, nu/2) with
    x = (t + sqrt(t^2 + nu)) / (2 sqrt(t^2 + nu)), t = (value - mu) / sigma.

    Accurate in the left tail and the centre; in the right tail use the symmetry
    P(Y > v) = P(Y < 2 mu - v) for the survival function.
    """
    t = (value - mu) / sigma
    root = pt.sqrt(t**2 + nu)
    # t + root cancels for t << 0: there it is nu / (root - t)
    x = pt.switch(pt.lt(t, 0.0), nu / (2.0 * root * (root - t)), (t + root) / (2.0 * root))
    half = nu / 2.0
    return pt.log(betainc(half, half, x))
