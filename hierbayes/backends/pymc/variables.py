"""PyMC variables from resolved priors: the one place a :class:`~hierbayes.priors.Prior`
becomes a PyMC distribution."""

from __future__ import annotations

import numpy as np

from ...errors import PriorError
from ...priors import Prior
from .lazy import pm
from .mean_free import LOCATION_FAMILIES


def register(name: str, prior: Prior, dims=None, shape=None, shift=None, transform=None):
    """Add the variable ``name`` with distribution ``prior`` to the current PyMC model.

    Parameters
    ----------
    name : the PyMC variable name.
    prior : a resolved prior (its ``dist`` is the PyMC class name).
    dims, shape : passed to the distribution (at most one of them).
    shift : a tensor added to the prior's location (a prior of :data:`.mean_free.LOCATION_FAMILIES`).
    transform : a PyMC transform to sample the variable through (None: PyMC's default).

    Returns
    -------
    The PyMC random variable.
    """
    cls = getattr(pm, prior.dist)
    # float parameters as float64 data: arguments of the cached sampler (graph_data.py), so
    # other prior scales reuse the compiled program (a Python float would be a literal)
    kwargs = {k: np.float64(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
              for k, v in prior.kwargs.items()}
    if shift is not None:
        location = LOCATION_FAMILIES[prior.dist]
        kwargs[location] = kwargs[location] + shift
    if transform is not None:
        kwargs["transform"] = transform
    return cls(name, **kwargs, dims=dims, shape=shape)


def stacked_prior(priors: list[Prior], where: str) -> Prior:
    """One vectorised prior from per-column priors of one distribution family.

    Parameters
    ----------
    priors : the per-column priors, all of one distribution.
    where : the block or class they belong to, for the error message.

    Returns
    -------
    A prior whose parameters are arrays with one entry per column.

    Raises
    ------
    PriorError
        When the priors are of different distributions.
    """
    kinds = {p.dist for p in priors}
    if len(kinds) != 1:
        raise PriorError(
            f"the sd priors of the correlated block {where!r} must share one distribution "
            f"(got {sorted(kinds)}); give them the same family with different scales"
        )
    keys = [k for k, _ in priors[0].params]
    stacked = {k: np.array([p.kwargs[k] for p in priors], dtype=float) for k in keys}
    return Prior(priors[0].dist, **stacked)


def _log_cosh(phi):
    """log cosh(atanh(phi)) = -log(1 - phi^2) / 2: log sigma less log sigma sqrt(1 - phi^2)."""
    from .lazy import pt

    return -0.5 * pt.log1p(-pt.square(phi))


def _phi_input(inputs):
    return next(i for i in inputs if str(getattr(getattr(i, "type", None), "dtype", "")).startswith("float"))


def _sheared_log_transform():
    from pymc.logprob.transforms import Transform

    class ShearedLog(Transform):
        """``log(sd) - log cosh(atanh(phi))``: the log of ``sd sqrt(1 - phi^2)``, an AR(1)'s
        innovation sd. The map from (phi's value, this value) to (phi, log sd) is a shear, so
        its Jacobian is the log transform's alone."""

        name = "sheared_log"

        def forward(self, value, *inputs):
            return pm.math.log(value) - _log_cosh(_phi_input(inputs))

        def backward(self, value, *inputs):
            return pm.math.exp(value + _log_cosh(_phi_input(inputs)))

        def log_jac_det(self, value, *inputs):
            return value + _log_cosh(_phi_input(inputs))

    return ShearedLog()


def innovation_sheared(name: str, prior: Prior, phi):
    """A positive variable ``name`` with distribution ``prior``, sampled as the log of
    ``name * sqrt(1 - phi^2)`` (:func:`_sheared_log_transform`): an AR(1) residual's sd, whose
    posterior with its correlation ``phi`` is a ridge of constant innovation sd (nlme's Oxboys
    with random slopes: sigma 0.6-8 as phi runs 0.4-0.996, sigma sqrt(1 - phi^2) 0.6-0.73).
    The prior is unchanged: only the coordinates the sampler moves in."""
    from .lazy import pt

    cls = getattr(pm, prior.dist)
    kwargs = {k: np.float64(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
              for k, v in prior.kwargs.items()}

    def logp(value, phi):
        return pm.logp(cls.dist(**kwargs), value)

    compiled: dict = {}  # one draw function, made at the first draw (forward samplers pickle this closure)

    def random(phi, rng=None, size=None):
        if "draw" not in compiled:
            import pytensor  # not the lazy proxy: see above

            shared = pytensor.shared(np.random.default_rng())
            compiled["rng"], compiled["draw"] = shared, pytensor.function([], cls.dist(**kwargs, rng=shared))
        seed = None if rng is None else int(rng.integers(2**63))  # advances the caller's generator
        compiled["rng"].set_value(np.random.default_rng(seed), borrow=True)
        count = int(np.prod(size)) if size is not None else 1
        values = np.array([compiled["draw"]() for _ in range(count)], dtype=float)
        return values.reshape(size) if size is not None else values[0]

    from pymc.distributions.distribution import support_point

    return pm.CustomDist(name, phi, logp=logp, random=random, signature="()->()",
                         default_transform=_sheared_log_transform(),
                         support_point=lambda rv, size, phi: pt.ones_like(phi) * support_point(cls.dist(**kwargs)))


def folded_uniform(name: str, prior: Prior, dims=None):
    """``|x|`` for ``x`` of the Uniform ``prior`` (lower < upper within [-1, 1]): density
    p(v) + p(-v) on [a, b), b = max(|lower|, |upper|), a = 0 when the prior holds 0 (else the
    smaller |bound|). The variable of a correlation the data see only as an even power (AR(1)
    on even lags): the same model as ``prior`` without the mirror mode. Its draws (prior
    simulation) are |draws of the prior|. ``prior`` is a Uniform, the one prior a "symmetric"
    structure parameter takes (:mod:`hierbayes.priors.residual`).
    """
    from .lazy import pt

    lower, upper = float(prior.kwargs["lower"]), float(prior.kwargs["upper"])
    high = max(abs(lower), abs(upper))
    low = 0.0 if lower < 0.0 < upper else min(abs(lower), abs(upper))

    def dist(lo, hi, size):
        return pt.abs(pm.Uniform.dist(lo, hi, size=size))

    def start(rv, size, lo, hi):
        return pt.full_like(rv, 0.5 * (low + high))

    return pm.CustomDist(name, np.float64(lower), np.float64(upper), dist=dist, dims=dims,
                         transform=pm.distributions.transforms.Interval(low, high), support_point=start)
