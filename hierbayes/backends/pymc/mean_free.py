"""Random intercepts whose mean the intercept absorbs: the mean of a term's effects drawn
non-centred, its contrasts adaptive.

A random intercept's effects ``u`` (J levels) enter the likelihood only through
``Intercept + u``: the data fix the contrasts ``u_j - mean(u)`` (richly, where the groups
hold many rows) and the sum ``Intercept + mean(u)``, but not how that sum splits. In the
adaptive form (:mod:`.adaptive`) a data-rich term is drawn centred, so its mean is a centred
funnel in the sd, ``mean(u) ~ N(0, sd^2 / J)``, on a ridge with the intercept; with a handful
of levels the sd spans orders of magnitude and NUTS crosses that funnel slowly (the README's
MRP model: sd(educ), 5 levels, bulk ESS 830-1000 of 4,000 draws and R-hat up to 1.012 at
seeds 1-8). Here

* the effects are ``u = sd (S (z - zbar) + zbar)``, ``S = diag(1 / sqrt(1 + P_j sd^2))``
  (the adaptive scaling, ``P_j`` the data's precision on level j), ``zbar`` the mean of
  ``z``: the contrasts scale like the adaptive form, the mean ``sd zbar`` (plus a small
  term) is non-centred. The map ``z -> u`` is linear and invertible given sd; ``z`` gets the
  density of ``u ~ N(0, sd^2 I)`` times its Jacobian, ``sd^J prod(S) mean(1 / S)`` (the
  matrix determinant lemma), so the model is unchanged;
* the sampler's intercept is the *total* ``Intercept_c__total = Intercept_c + sum_t
  mean(u_t)`` over these terms, whose prior is the intercept's prior shifted by that sum
  (a shift, no Jacobian): the data inform the total, and each term's mean only through the
  intercept's wide prior, so the mean's coordinate stays near its prior whatever the sd.

It applies to the adaptive random intercepts of a model with a fixed intercept, where no
term holds the intercept (:func:`.centring.intercept_holder`), the likelihood is written per
row and there is no residual structure.
"""

from __future__ import annotations

import numpy as np

from ...params import CENTRED_INTERCEPT, helper_name
from .lazy import pm, pt

#: The intercept's priors (all location families), by the name of their location: shifting it
#: shifts the variable.
LOCATION_FAMILIES = {"Normal": "mu", "StudentT": "mu", "Cauchy": "alpha"}
#: The sampled intercept total: the intercept plus the absorbed terms' means.
INTERCEPT_TOTAL = helper_name(CENTRED_INTERCEPT, "total")


def absorbed_terms(groups, plan: list[str], precision: dict, has_intercept: bool,
                   holder: int | None, form: str, residuals) -> list[int]:
    """Indices of the terms drawn in this form (see the module docstring)."""
    if not has_intercept or holder is not None or form != "rows" or residuals is not None:
        return []
    return [i for i, (block, how) in enumerate(zip(groups, plan))
            if how == "adaptive" and i in precision and block.is_random_intercept]


def _logp(value, spread):
    s = 1.0 / spread
    zbar = pt.mean(value, axis=0, keepdims=True)
    y = s * (value - zbar) + zbar
    return (-0.5 * pt.sum(y**2) + pt.sum(pt.log(s)) + pt.sum(pt.log(pt.mean(1.0 / s, axis=0)))
            - 0.5 * pt.cast(value.size, "float64") * np.log(2.0 * np.pi))


def _random(spread, rng=None, size=None):
    # u / sd = y ~ N(0, I), then z = S^-1 (y - c) + c with c = mean(z) = mean(y / s) / mean(1 / s)
    spread = np.asarray(spread)
    shape = spread.shape if size is None else tuple(np.atleast_1d(size)) + spread.shape[-2:]
    y = rng.normal(size=shape)
    inverse_s = np.broadcast_to(spread, shape)
    c = np.mean(y * inverse_s, axis=-2, keepdims=True) / np.mean(inverse_s, axis=-2, keepdims=True)
    return c + (y - c) * inverse_s


def mean_free_effects(name: str, sd, precision: np.ndarray, dims):
    """The (J x 1) effects ``u`` of a random intercept with sd ``sd`` in this form; ``name``
    is the sampled variable ``z_<key>``."""
    spread = pt.sqrt(1.0 + np.asarray(precision, dtype=float)[:, None] * pt.square(sd))
    z = pm.CustomDist(name, spread, logp=_logp, random=_random, signature="(j,k)->(j,k)", dims=dims)
    zbar = pt.mean(z, axis=0, keepdims=True)
    u = sd * ((z - zbar) / spread + zbar)
    return u
