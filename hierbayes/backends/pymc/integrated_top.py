"""The top of a chain of nested random intercepts, integrated out of the model exactly.

With hierarchical centring (:mod:`.centring`) a nested term's total effects are drawn around
its parent's, ``w_c ~ N(v_p(c) + s_c b, sd_C^2)``, and the parent at the top of the chain
(``v_p ~ N(mu_p, sd_P^2)``, ``mu_p`` the intercept and the data shift or 0) enters the model
through those totals only. Given them it is conjugate: with ``r_c = w_c - mu_p(c) - s_c b``,

* the children of parent ``p`` are jointly ``N(0, sd_C^2 I + sd_P^2 11')`` with ``v``
  integrated out, a density written through each parent's mean child ``rbar_p`` (its
  ``m_p`` children: ``rbar_p ~ N(0, sd_P^2 + sd_C^2 / m_p)``, the deviations from it
  ``N(0, sd_C^2)`` less one degree of freedom);
* ``v_p - mu_p`` given them is ``N(a_p rbar_p, sd_P^2 (1 - a_p))``, ``a_p = m_p sd_P^2 /
  (m_p sd_P^2 + sd_C^2)``, drawn as ``a_p rbar_p + sqrt(.) zeta_p`` with ``zeta_p ~ N(0, 1)``
  a priori and a posteriori alike.

This is a change of variables from ``(v, w)`` to ``(zeta, w)`` whose Jacobian cancels the
conditional density, so the posterior of every reported parameter is unchanged; what goes is
the choice between centring the top (a funnel where ``sd_P`` is small) and not (a curved
ridge where it is large), which no single choice gets right when a handful of parents leave
``sd_P``'s posterior spanning orders of magnitude (grouseticks' locations: 35 of 63 hold
one brood). The sampler sees ``sd_P`` only through the children's marginal density.
"""

from __future__ import annotations

import numpy as np

from ...design.types import GroupBlock
from ...params import BlockNames
from ...priors import PriorTable
from .covariance import block_covariance
from .lazy import pm, pt

_HALF_LOG_2PI = 0.5 * np.log(2.0 * np.pi)


def integrable(block: GroupBlock) -> bool:
    """A random intercept (one all-ones column): the terms this module integrates out and
    draws around."""
    return block.n_columns == 1 and bool(np.all(block.X[:, 0] == 1.0))


def integrated_tops(blocks: list[GroupBlock], plan: list[str], nests: dict) -> dict[int, int]:
    """Parent term -> its nested child for every top of a chain of nested random intercepts
    (``nests`` from :func:`.centring.nesting`): the terms this module integrates out."""
    return {j: i for i, (j, _) in nests.items()
            if plan[j] != "nested" and integrable(blocks[j]) and integrable(blocks[i])}


def _scalar_sd(block: GroupBlock, names: BlockNames, priors: PriorTable):
    cov = block_covariance(block, names, priors)
    return cov.cholesky[0, 0] if cov.cholesky is not None else pt.reshape(cov.factor, (-1,))[0]


def _log_normal(x, sd):
    return -0.5 * (x / sd) ** 2 - pt.log(sd) - _HALF_LOG_2PI


def parent_sums(r, parent: np.ndarray, n_parents: int):
    """Sum of ``r`` (one value per child) over each parent's children."""
    return pt.inc_subtensor(pt.zeros(n_parents)[parent], r)


def marginal_logp(r, parent: np.ndarray, counts: np.ndarray, tau, sd):
    """Log density of the children's deviations ``r`` (one per child) with their parents'
    effects (sd ``tau``) integrated out, spread over the children (one value per child).

    Parameters
    ----------
    r : children's totals less their located mean (the parent's effect not included).
    parent : parent code of every child; counts : children per parent.
    tau, sd : sds of the parents' and the children's effects.
    """
    m = np.maximum(counts, 1).astype(float)
    rbar = parent_sums(r, parent, len(counts)) / m
    within = _log_normal(r - rbar[parent], sd)
    # the group mean's density replaces that of one child's deviation (one degree of freedom)
    between = _log_normal(rbar, pt.sqrt(tau**2 + sd**2 / m)) + pt.log(sd) - 0.5 * np.log(m) + _HALF_LOG_2PI
    return within + (between / m)[parent]


def _random(parent: np.ndarray, n_parents: int):
    def draw(mu, tau, sd, rng=None, size=None):
        rng = np.random.default_rng() if rng is None else rng
        mu = np.asarray(mu, dtype=float)
        delta = rng.normal(size=n_parents) * float(tau)
        return mu + delta[parent][:, None] + rng.normal(size=mu.shape) * float(sd)

    return draw


def integrated_nest(
    top: tuple[GroupBlock, BlockNames],
    child: tuple[GroupBlock, BlockNames],
    parent: np.ndarray,
    priors: PriorTable,
    location=None,
    child_shift=None,
    total: str = "",
):
    """Register the top term ``top`` (integrated out, drawn from its exact conditional) and
    its nested ``child``'s total effects; return the child's totals ``w`` (J_c x 1).

    Parameters
    ----------
    top, child : (group term, PyMC names) of the parent and of the term nested in it.
    parent : code of the top group of every child group.
    priors : the resolved priors.
    location : None (the top's effects have mean 0), or a tensor broadcasting to (J_top, 1):
        the intercept and the top groups' data shift (the intercept holder).
    child_shift : None or a (J_c, 1) tensor added to each child's location (its covariate
        means less its parent's, times the slopes).
    total : name of the sampled child totals.
    """
    (tblock, tnames), (cblock, cnames) = top, child
    n_top = tblock.n_levels
    counts = np.bincount(parent, minlength=n_top)
    tau = _scalar_sd(tblock, tnames, priors)
    sd = _scalar_sd(cblock, cnames, priors)
    mu = pt.zeros((cblock.n_levels, 1))
    if location is not None:
        mu = mu + (pt.ones((n_top, 1)) * location)[parent]
    if child_shift is not None:
        mu = mu + child_shift
    cdims = (cnames.level_dim, cnames.column_dim)

    def logp(value, mu, tau, sd):
        return marginal_logp((value - mu)[:, 0], parent, counts, tau, sd)[:, None]

    w = pm.CustomDist(total, mu, tau, sd, logp=logp, random=_random(parent, n_top), dims=cdims,
                      signature="(c,k),(),()->(c,k)")
    r = (w - mu)[:, 0]
    m = counts.astype(float)
    shrink = m * tau**2 / (m * tau**2 + sd**2)
    mean = shrink * parent_sums(r, parent, n_top) / np.maximum(m, 1.0)
    spread = tau * pt.sqrt(1.0 - shrink)
    tdims = (tnames.level_dim, tnames.column_dim)
    zeta = pm.Normal(tnames.z, 0.0, 1.0, dims=tdims)
    delta = mean[:, None] + spread[:, None] * zeta
    pm.Deterministic(tnames.effects, delta, dims=tdims)
    pm.Deterministic(cnames.effects, w - mu - delta[parent], dims=cdims)
    return w
