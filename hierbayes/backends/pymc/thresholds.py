"""The ordinal thresholds ``Intercept_c`` as the sampler sees them: a location and ordered gaps.

An ordinal (thresholds) model has no intercept: the thresholds ``c_1 < ... < c_{K-1}`` play
its role, and every threshold moves against the group effects' mean and the coefficients of
covariates constant within groups. The sampler draws them as

    c = d - m,    d_k = g_k - mean(g),  g_1 = 0,  g_k = g_{k-1} + exp(r_k)  (k = 2..K-1)

with unconstrained coordinates ``(m, r_2, ..., r_{K-1})`` (:func:`located_ordered`). ``m =
-mean(c)`` is the model's *location*: the mean linear predictor measured from the thresholds'
centre, what the intercept is in a binary model (``F(c_k - eta) = F(d_k - (m + eta))``).
The centre (sum-to-zero ``d``) rather than the first threshold is the reference because the
gaps then move both sides of it alike: with ``d_1 = 0`` a wider gap moves only the upper
thresholds, so the location would trade against the gaps wherever the rows sit above the first
threshold (a reasoned choice; ``d_1 = 0`` was not measured).

A group term that carries the intercept (:func:`.centring.intercept_holder`) is then drawn
around ``m`` exactly as around ``Intercept_c`` (``v_j ~ N(m + xbar_j b, sd)``), and the rows'
likelihood sees only the centred gaps ``d``: the ridge between the thresholds and the group
effects' mean is gone (lme4's VerbAgg as ordinal, seeds 1-3: max R-hat 1.009-1.020 -> 1.006-1.007).

The prior stays on ``c`` (the distribution of ``Intercept_c`` is unchanged): the map from
``(m, g_2, ..., g_{K-1})`` to ``c`` is linear with determinant of absolute value 1, so the
log-Jacobian is the ordered transform's ``sum r_k``, and the model's log density at mapped
points equals the ordered transform's exactly (``tests/backends/test_thresholds.py``).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from ...design.types import Design
from ...families import threshold_locations
from ...params import CENTRED_INTERCEPT
from ...priors import PriorTable, n_categories
from .lazy import LazyModule, class_getattr, module_class, pm, pt
from .linear import Fixed, weighted_column_means
from .variables import stacked_prior

#: Name of the sampled thresholds for centred predictors (the reported ``Intercept`` adds the
#: columns' means times ``b``).
THRESHOLDS_C = CENTRED_INTERCEPT
#: Dimension of the ordinal thresholds ``Intercept`` (coordinates 1..K-1).
THRESHOLD_DIM = "threshold"

_transforms = LazyModule("pymc.logprob.transforms")


def located_ordered():
    """The transform ``c <-> (m, r)`` of the module's docstring: one instance of a class made
    on first use (PyMC is imported lazily)."""
    return _located_class()()


@cache
def _located_class():
    base = _transforms.Transform

    class LocatedOrdered(base):
        """Increasing vectors ``c`` <-> ``(-mean(c), log(c_2 - c_1), ..., log(c_K - c_{K-1}))``."""

        name = "located"  # no underscore: PyMC reads the variable back from its value's "<name>_<transform>__"
        ndim_supp = 1

        def backward(self, value, *inputs):
            location = value[..., 0][..., None]  # broadcastable; no alloc (JAX needs static shapes)
            g = pt.concatenate([0.0 * location, pt.cumsum(pt.exp(value[..., 1:]), axis=-1)], axis=-1)
            return g - pt.mean(g, axis=-1, keepdims=True) - location

        def forward(self, value, *inputs):
            location = -pt.mean(value, axis=-1, keepdims=True)
            return pt.concatenate([location, pt.log(value[..., 1:] - value[..., :-1])], axis=-1)

        def log_jac_det(self, value, *inputs):
            return pt.sum(value[..., 1:], axis=-1)

    return module_class(LocatedOrdered, __name__)


#: ``LocatedOrdered``, the transform's class, made on first use (it pickles by reference).
__getattr__ = class_getattr(__name__, {"LocatedOrdered": _located_class})


def threshold_variable(design: Design, priors: PriorTable, link: str):
    """Register the thresholds ``Intercept_c`` (dim ``threshold``, 1..K-1) with their prior
    (one per threshold, ``priors.get("Intercept", None, k)``) under :func:`located_ordered`.

    Parameters
    ----------
    design : Design
        The ordinal model's design (its response codes give K).
    priors : PriorTable
        The resolved priors.
    link : str
        The ordinal link (a starting point for user priors whose centres do not increase).

    Returns
    -------
    The PyMC random variable ``Intercept_c``.
    """
    model = pm.modelcontext(None)
    k = n_categories(design)
    model.add_coord(THRESHOLD_DIM, list(range(1, k)))
    prior = stacked_prior([priors.get("Intercept", None, str(j)) for j in range(1, k)], "Intercept")
    # The transform needs a strictly increasing starting point. The default priors are
    # centred at increasing values (their support point); only for user priors that are not
    # is an initval given (it stops pm.compute_log_likelihood, which hierbayes does not
    # need: the log-likelihood is computed in numpy).
    centre = np.broadcast_to(np.asarray(prior.kwargs.get("mu", 0.0), dtype=float), (k - 1,))
    extra = {}
    if k > 2 and not np.all(np.diff(centre) > 0):
        extra["initval"] = threshold_locations(design.y, k, link)
    return getattr(pm, prior.dist)(THRESHOLDS_C, **prior.kwargs, dims=THRESHOLD_DIM, transform=located_ordered(),
                                   **extra)


def threshold_location(cut_c):
    """``m = -mean(c)``: the thresholds' location, the first coordinate the sampler sees."""
    return -pt.mean(cut_c)


def located_fixed(fixed: Fixed, location, weights: np.ndarray | None = None) -> Fixed:
    """An ordinal model's fixed part with the thresholds' location ``m`` as its intercept.

    Parameters
    ----------
    fixed : Fixed
        The fixed part without an intercept (``theta = b`` on the design's columns).
    location : tensor
        ``m`` (:func:`threshold_location`).
    weights : np.ndarray or None
        The rows' frequency weights (``Design.row_weights``).

    Returns
    -------
    ``theta = [m, b]`` on ``[1, X - means]`` (columns centred at their weighted means, as the
    likelihood centres them), for a group term to carry as it carries ``Intercept_c``.
    """
    if fixed.intercept_first:
        raise ValueError("internal: an ordinal model's fixed part has no intercept column")
    X = fixed.X
    n, p = X.shape
    theta = pt.concatenate([pt.reshape(location, (1,)), fixed.theta]) if p else pt.reshape(location, (1,))
    return Fixed(theta, np.column_stack([np.ones(n), X - weighted_column_means(X, weights)]), True)
