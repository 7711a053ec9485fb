"""The mass matrix NUTS starts its warm-up with: the inverse of the log density's curvature
at the start point, one value per unconstrained scalar, instead of the identity.

numpyro (like Stan) adapts the mass matrix in windows and starts from the identity; until
the first window ends (iteration 100 of a 1,000-iteration warm-up) the step size is set by
the model's tightest direction, and the trees are as deep as the widest direction needs.
On VerbAgg's crossed logit (standardized slopes with posterior sd ~0.01 beside 316 person
effects of sd ~1) those first 100 iterations took 650 leapfrog steps each, half of every
gradient the fit evaluated; with the curvature, 45. The windows that follow re-estimate the
matrix from the draws as before, so only where warm-up starts changes, not what it ends at.

The curvature is the diagonal of the Hessian of the negative log density, exact where the
variables' structure allows it and cheap: a Hessian-vector product with a 0/1 probe returns,
on each probed coordinate, the sum of its row of the Hessian over the probed coordinates.
Probing one coordinate at a time gives the diagonal; a probe may cover several coordinates
whose Hessian entries between them are zero. Those are the levels of a group term: two
levels of one term share no rows and are a priori independent given the term's sds, so the
levels of one column of an ``(n_levels, k)`` effects variable share one probe. A model then
costs one probe per scalar parameter and per effects column (10 on VerbAgg and
grouseticks), whatever its number of levels. Long vectors that are not effects (more than
:data:`UNIT_PROBES_MAX` scalars) are not probed and keep 1. Where the structure assumption
fails (levels coupled, as children of a parent integrated out), the probe returns a row sum
instead of the diagonal: a worse start for warm-up, never a different posterior.

Used where the mass matrix is diagonal (models of more than ``sample.DENSE_MASS_MAX`` free
scalars, where warm-up costs most); a dense block's few parameters start from the identity
as before (on machines' small nested design the curvature start diverged in 2 of 10 seeds,
the identity in none).
"""

from __future__ import annotations

import numpy as np

#: Vectors (and scalars) of at most this many values are probed one coordinate at a time.
UNIT_PROBES_MAX = 64
#: Bounds of the starting inverse mass (the identity's is 1): a coordinate nearly flat at the
#: start would otherwise take steps of hundreds of units on its first trajectories.
INVERSE_MASS_BOUNDS = (1e-8, 1e4)


def probe_ids(shapes: list[tuple[int, ...]]) -> tuple[np.ndarray, int]:
    """Per unconstrained scalar (the values of ``shapes`` flattened in order, C order within
    each), the probe it belongs to, -1 for none; and the number of probes.

    An array of two or more dimensions is group effects (levels first, columns last): one
    probe per column over all levels. Scalars and vectors of at most
    :data:`UNIT_PROBES_MAX` values: one probe per value. Longer vectors: none."""
    ids: list[np.ndarray] = []
    n_probes = 0
    for shape in shapes:
        size = int(np.prod(shape, dtype=int))
        if len(shape) >= 2:
            columns = int(shape[-1])
            ids.append(n_probes + np.broadcast_to(np.arange(columns), shape).ravel())
            n_probes += columns
        elif size <= UNIT_PROBES_MAX:
            ids.append(n_probes + np.arange(size))
            n_probes += size
        else:
            ids.append(np.full(size, -1))
    flat = np.concatenate(ids) if ids else np.zeros(0, dtype=int)
    return flat.astype(np.int32), n_probes


def curvature_inverse_mass(potential, start: list):
    """JAX, traceable: the starting inverse mass of every unconstrained scalar of ``start``
    (a list of arrays, flattened in order): ``1 / d`` where ``d`` is the probed diagonal of
    the Hessian of ``potential`` (the negative log density of such a list) at ``start``,
    clipped to :data:`INVERSE_MASS_BOUNDS`; 1 where ``d`` is not positive and finite or the
    scalar is not probed. None when the Hessian-vector product cannot be traced (an operation
    without a forward-mode rule): numpyro then starts from the identity as before."""
    import jax
    import jax.numpy as jnp
    from jax import lax
    from jax.flatten_util import ravel_pytree

    flat, unravel = ravel_pytree(list(start))
    ids_np, n_probes = probe_ids([tuple(np.shape(v)) for v in start])
    if n_probes == 0:
        return None
    ids = jnp.asarray(ids_np)
    gradient = jax.grad(lambda x: potential(unravel(x)))

    def probed(k):
        v = (ids == k).astype(flat.dtype)
        return v * jax.jvp(gradient, (flat,), (v,))[1]

    try:
        d = lax.map(probed, jnp.arange(n_probes)).sum(axis=0)
    except Exception:  # noqa: BLE001  (tracing only: no forward-mode rule for some operation)
        return None
    usable = (ids >= 0) & jnp.isfinite(d) & (d > 0)
    low, high = INVERSE_MASS_BOUNDS
    return jnp.where(usable, jnp.clip(1.0 / jnp.where(usable, d, 1.0), low, high), 1.0)

