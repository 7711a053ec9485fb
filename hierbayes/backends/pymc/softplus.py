"""log(1 + exp(x)) whose JAX form evaluates one ``exp`` per value, gradient included.

PyTensor rewrites ``log1p(exp(x))`` into its ``softplus`` op, and its JAX form evaluates
every branch of a piecewise formula (``exp(x)``, ``log1p(exp(x))``, ``x + exp(-x)``) for every
value and differentiates each: three exponentials and a ``log1p`` per row, where one of
each is enough. A logit GLMM's log density is one softplus per row, and on CPUs an XLA
float64 exp costs about 7 ns: on VerbAgg (7,584 rows) it is most of a gradient.

:func:`softplus` is the same function as an op of its own type: every other back end runs
PyTensor's implementation and gradient (C, numba); on JAX it is
``max(x, 0) + log1p(exp(-|x|))`` with a ``custom_jvp`` whose derivative, the logistic function,
reuses that exp. The JAX form is registered by whoever turns a graph into JAX
(:func:`register_jax`, called by the cached samplers and SBC's refits before they jaxify):
registering imports PyTensor's JAX dispatch (0.3 s), which building a model must not. A
graph jaxified without it still runs PyTensor's own softplus form (the op is a
``Softplus``), three exps and all.
"""

from __future__ import annotations

import functools

import pytensor.tensor as pt
from pytensor.scalar import upgrade_to_float
from pytensor.scalar.math import Softplus
from pytensor.tensor.elemwise import Elemwise

__all__ = ["register_jax", "softplus"]


class OneExpSoftplus(Softplus):
    """``softplus`` whose JAX form evaluates one exp (see the module)."""


_op = Elemwise(OneExpSoftplus(upgrade_to_float, name="softplus_one_exp"))


@functools.cache
def register_jax() -> None:
    """Teach PyTensor's JAX linker the one-exp form (imports PyTensor's JAX dispatch)."""
    from pytensor.link.jax.dispatch import jax_funcify

    @jax_funcify.register(OneExpSoftplus)
    def _jax_softplus(op, **kwargs):
        import jax
        import jax.numpy as jnp

        @jax.custom_jvp
        def f(x):
            return jnp.maximum(x, 0.0) + jnp.log1p(jnp.exp(-jnp.abs(x)))

        @f.defjvp
        def f_jvp(primals, tangents):
            (x,), (dx,) = primals, tangents
            small = jnp.exp(-jnp.abs(x))  # in (0, 1]: never overflows
            out = jnp.maximum(x, 0.0) + jnp.log1p(small)
            logistic = jnp.where(x >= 0.0, 1.0, small) / (1.0 + small)
            return out, logistic * dx

        return f


def softplus(x):
    """log(1 + exp(x)) on tensors, one exp per value on JAX (see the module)."""
    return _op(pt.as_tensor_variable(x))
