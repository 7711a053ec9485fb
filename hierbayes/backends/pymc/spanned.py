"""A model without an intercept whose fixed columns span one: its location, for a group term to carry.

``y ~ 0 + btype + situ + (1 | id) + (1 | item)`` codes ``btype`` with one column per level
(cell means): the columns add up to one on every row, so the model has an intercept in all
but name, and it trades against the group effects' mean as an intercept does. A model with
an intercept hands it to a group term (:func:`.centring.intercept_holder`); this module gives
such a model the same. lme4's VerbAgg as ``r2 ~ 0 + btype + Anger + Gender + situ + (1 | id)
+ (1 | item)``, bernoulli, defaults, seed 1: 254 leapfrog steps a draw, 168 s and min bulk ESS
867 without it; 31 steps (as with ``1 + btype``), 31 s and 1,211 with it.

The coefficients the rows see through the matrix ``M`` (``eta = M t``; ``t`` is ``b`` under
independent priors, or the standard-normal ``b__z`` of the joint default prior with ``M = X A``,
:mod:`.fixed`) are sampled as

    t = (c - xbar'y) w + P y

with ``M w = 1`` (the least-norm solution) and ``xbar`` the rows' (weighted) means of ``M P``.
Then ``M t = c + (M P - xbar) y``: ``c`` is the location at the columns' centre, exactly what
``Intercept_c`` is in a model with an intercept, and the rows see centred columns. ``P``
spans the rest: the centred columns ``Mc = M - mean(M)`` send ``w`` to zero, and ``P`` is
their principal axes scaled so that ``Mc P`` has uncorrelated columns of unit variance (as
the joint prior's ``X A`` of a model with an intercept nearly has). An orthonormal
complement of ``w`` instead leaves the centred columns correlated (VerbAgg: 47 steps a draw,
ESS 698). The map is linear, ``|det| = |det [w, P]|`` (a shear times ``[w, P]``), so the
log-Jacobian is a constant; the prior stays on ``t``, and the model's log density at mapped
points differs only by that constant (``tests/backends/test_spanned.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from ...design.types import Design
from ...priors import PriorTable
from .fixed import JOINT_Z
from .lazy import LazyModule, class_getattr, module_class, pm, pt
from .linear import Fixed, weighted_column_means

#: Largest |M w - 1| over the rows for the ones vector to count as spanned.
SPAN_TOLERANCE = 1e-9
#: Smallest share of the largest variance of a principal axis of the centred columns (besides
#: the one ``w`` spans, which has none).
MIN_VARIANCE_SHARE = 1e-10

_transforms = LazyModule("pymc.logprob.transforms")


@dataclass(frozen=True)
class SpannedLocation:
    """The location coordinates of a no-intercept model (module docstring).

    Attributes
    ----------
    variable : the sampled variable ``t`` (``"b"`` or the joint prior's ``b__z``).
    M : (n, k) the columns ``t`` multiplies.
    basis : (k, k) ``[w, P]``: ``w`` the least-norm solution of ``M w = 1``, ``P`` the centred
        columns' principal axes at unit variance.
    inverse : (k, k) the inverse of ``basis``.
    xbar : (k-1,) the rows' (weighted) means of ``M P``.
    """

    variable: str
    M: np.ndarray
    basis: np.ndarray
    inverse: np.ndarray
    xbar: np.ndarray

    def transform(self):
        """The PyMC transform ``t <-> (c, y)``."""
        return _spanned_class()(self.basis, self.inverse, self.xbar)

    def fixed(self, t) -> Fixed:
        """The fixed part as the sampler sees it: ``theta = [c, y]`` on ``[1, M P - xbar]``
        (``c`` and ``y`` read back from ``t``, the variable's value)."""
        n = self.M.shape[0]
        return Fixed(_coordinates(t, self.inverse, self.xbar),
                     np.column_stack([np.ones(n), self.M @ self.basis[:, 1:] - self.xbar]), True)


def _coordinates(t, inverse: np.ndarray, xbar: np.ndarray):
    """``(c, y)`` of ``t`` (the last axis): ``(m, y) = [w, P]^-1 t``, ``c = m + xbar'y``."""
    my = pt.dot(t, inverse.T)
    y = my[..., 1:]
    return pt.concatenate([my[..., :1] + pt.dot(y, xbar)[..., None], y], axis=-1)


def spanned_location(design: Design, priors: PriorTable) -> SpannedLocation | None:
    """The location of ``design``'s fixed part when it has no intercept, its columns span
    one, and one vector variable holds their coefficients (all under the joint default prior,
    or all under independent priors of one distribution); None otherwise.

    Parameters
    ----------
    design : Design
        The model's design (unpadded rows).
    priors : PriorTable
        The resolved priors (they say which variable holds the coefficients).
    """
    if design.has_intercept or design.X.shape[1] < 2:  # (an ordinal design's rank check counts its intercept)
        return None
    terms = list(design.fixed_names)
    joint = priors.joint
    if joint is not None:
        if sorted(joint.terms) != sorted(terms):
            return None
        variable, M = JOINT_Z, design.X[:, [terms.index(t) for t in joint.terms]] @ joint.factor()
    elif len({priors.get("b", None, t).dist for t in terms}) == 1:
        variable, M = "b", design.X
    else:
        return None
    M = np.asarray(M, dtype=float)
    w = np.linalg.lstsq(M, np.ones(len(M)), rcond=None)[0]
    if not np.all(np.isfinite(w)) or np.max(np.abs(M @ w - 1.0)) > SPAN_TOLERANCE:
        return None
    weights = np.ones(len(M)) if design.row_weights is None else np.asarray(design.row_weights, dtype=float)
    centred = M - weighted_column_means(M, design.row_weights)
    eigenvalues, axes = np.linalg.eigh(centred.T @ (weights[:, None] * centred) / weights.sum())
    if eigenvalues[1] <= MIN_VARIANCE_SHARE * eigenvalues[-1]:  # columns near collinear: no unique location
        return None
    basis = np.column_stack([w, axes[:, 1:] / np.sqrt(eigenvalues[1:])])
    return SpannedLocation(variable, M, basis, np.linalg.inv(basis),
                           weighted_column_means(M @ basis[:, 1:], design.row_weights))


def value_jitter(jitter: dict[str, float], span: SpannedLocation | None) -> dict[str, float]:
    """The start jitter's widths (:func:`.fixed.start_jitter`, by variable) keyed by value
    variable: the spanned variable's is ``<name>_spanned__``."""
    if span is None or span.variable not in jitter:
        return jitter
    return {(f"{name}_spanned__" if name == span.variable else name): w for name, w in jitter.items()}


def spanned_variable():
    """The sampled variable of the current model named ``b`` or ``b__z`` (whichever exists)."""
    model = pm.modelcontext(None)
    return model[JOINT_Z] if JOINT_Z in model.named_vars else model["b"]


@cache
def _spanned_class():
    base = _transforms.Transform

    class Spanned(base):
        """Vectors ``t`` <-> ``(c, y)`` with ``t = (c - xbar'y) w + P y``, ``[w, P]`` the
        ``basis`` (module docstring)."""

        name = "spanned"  # no underscore: PyMC reads the variable back from "<name>_<transform>__"
        ndim_supp = 1

        def __init__(self, basis: np.ndarray, inverse: np.ndarray, xbar: np.ndarray):
            self.basis, self.inverse, self.xbar = basis, inverse, xbar
            self.log_det = np.float64(np.linalg.slogdet(basis)[1])

        def backward(self, value, *inputs):
            y = value[..., 1:]
            m = value[..., :1] - pt.dot(y, self.xbar)[..., None]
            return pt.concatenate([m, y], axis=-1) @ self.basis.T

        def forward(self, value, *inputs):
            return _coordinates(value, self.inverse, self.xbar)

        def log_jac_det(self, value, *inputs):
            return pt.zeros_like(value[..., 0]) + self.log_det

    return module_class(Spanned, __name__)


#: ``Spanned``, the transform's class, made on first use (it pickles by reference).
__getattr__ = class_getattr(__name__, {"Spanned": _spanned_class})
