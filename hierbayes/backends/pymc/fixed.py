"""The fixed-effect coefficients ``b`` of a PyMC model, from their resolved priors.

Terms under the default joint prior (``priors.joint``, see :mod:`hierbayes.fixed_prior`)
are drawn as ``b = A z`` with ``z ~ N(0, I)`` (variable ``b__z``) and ``A A'`` the prior
covariance: the sampler sees a well-conditioned parameter even on a collinear design (a
raw polynomial), since the data inform every direction of ``z`` alike. Terms with a user
prior are independent (``b`` itself when every term has one, as before; else ``b__<i>``).
``b`` keeps its name and dims (``b_term``) in every case: tables, predictions, PPC and LOO
read it.
"""

from __future__ import annotations

import numpy as np

from ...design.types import Design
from ...params import FIXED_DIM
from ...priors import PriorTable
from .lazy import pm, pt
from .mean_free import LOCATION_FAMILIES
from .variables import register, stacked_prior

#: Name of the standard-normal coordinates of the joint prior.
JOINT_Z = "b__z"


def fixed_coefficients(priors: PriorTable, terms: list[str], transform=None, shift=None):
    """Register the coefficients of the non-intercept fixed-effect columns ``terms`` (in
    design order) and return the vector ``b`` (a PyMC variable named ``b``, dims ``b_term``).
    ``transform`` (:mod:`.spanned`) applies to the one sampled vector, ``b`` or ``b__z``.

    ``shift`` (a (len(terms),) tensor, :mod:`.mean_free`; models with an intercept, which
    never have a ``transform``): the sampler draws the totals ``b + shift`` (their priors'
    locations shifted; the joint prior's ``b__z`` by ``A^-1 shift``), ``b`` is derived, and
    the pair ``(b, totals)`` is returned."""
    joint = priors.joint
    joint_terms = set(joint.terms) if joint is not None else set()
    independent = [t for t in terms if t not in joint_terms]
    per_term = [priors.get("b", None, t) for t in independent]
    one_family = bool(per_term) and len({p.dist for p in per_term}) == 1
    stacked = stacked_prior(per_term, "b") if one_family else None
    if not joint_terms and stacked is not None and shift is None:
        return register("b", stacked, dims=FIXED_DIM, transform=transform)

    def shift_of(names: list[str]):
        return None if shift is None else shift[[terms.index(t) for t in names]]

    parts: dict[str, object] = {}
    if joint_terms:
        factor = joint.factor()
        location = 0.0 if shift is None else pt.dot(np.linalg.inv(factor), shift_of(list(joint.terms)))
        z = pm.Normal(JOINT_Z, location, 1.0, shape=len(joint.terms), **({"transform": transform} if transform else {}))
        drawn = pt.dot(factor, z)
        parts.update({t: drawn[i] for i, t in enumerate(joint.terms)})
    if stacked is not None:
        located = stacked.dist in LOCATION_FAMILIES  # else none of them is shifted (shiftable)
        vec = register("b__free", stacked, shape=len(independent), shift=shift_of(independent) if located else None)
        parts.update({t: vec[i] for i, t in enumerate(independent)})
    else:
        parts.update({t: register(f"b__{terms.index(t)}", p, shift=shift[terms.index(t)]
                                  if shift is not None and p.dist in LOCATION_FAMILIES else None)
                      for t, p in zip(independent, per_term)})
    drawn = pt.stack([parts[t] for t in terms])
    if shift is None:
        return pm.Deterministic("b", drawn, dims=FIXED_DIM)
    return pm.Deterministic("b", drawn - shift, dims=FIXED_DIM), drawn


def shiftable(priors: PriorTable, term: str) -> bool:
    """Whether the coefficient of ``term`` can be drawn as a shifted total (``shift`` of
    :func:`fixed_coefficients`): under the joint prior, or a location family's."""
    joint = priors.joint
    if joint is not None and term in joint.terms:
        return True
    return priors.get("b", None, term).dist in LOCATION_FAMILIES


def start_jitter(design: Design, priors: PriorTable) -> dict[str, float]:
    """Value variable -> half-width of its start point's jitter, where it is not 1: the joint
    fixed prior's ``z`` (:meth:`hierbayes.fixed_prior.JointFixedPrior.start_jitter`)."""
    joint = priors.joint
    if joint is None or any(t not in design.fixed_names for t in joint.terms):
        return {}
    columns = [design.fixed_names.index(t) for t in joint.terms]
    width = joint.start_jitter(design.X[:, columns])
    return {JOINT_Z: width} if width < 1.0 else {}
