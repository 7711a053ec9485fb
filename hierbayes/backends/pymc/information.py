"""How much the data say about a term's group effects: ``k`` and its lower bound over the
posterior of the group sd (the planning rule of :mod:`.plan` and :mod:`.plan_glm` reads it)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special  # scipy.stats' f and chi2 quantiles, without importing scipy.stats (0.4 s)

#: Centre where the data's precision on a group's effect is at least this multiple of the
#: prior's (PRS 2007: the centred and non-centred rates cross at k = 1).
DATA_RICH_RATIO = 1.0
#: Posterior mass of tau allowed where the centred form's neck is (k < DATA_RICH_RATIO).
#: A default fit keeps 4,000 draws: 1% is 40 of them, enough to diverge (InstEval's
#: departments diverged at the 0.1% quantile of their sd).
NECK_MASS = 0.01
@dataclass(frozen=True)
class Information:
    """How much the data say about a term's group effects relative to their distribution.

    ratio : the estimate of ``k`` (median over groups); inf when the moments cannot say.
    df_between : degrees of freedom of the between-group mean square (groups - 1).
    df_noise : degrees of freedom of the noise of a group mean.
    scale : ``k`` per unit of the variance ratio the F bound applies to (1 when balanced).
    """

    ratio: float
    df_between: float = np.inf
    df_noise: float = np.inf
    scale: float = 1.0

    def lower(self, mass: float = NECK_MASS) -> float:
        """``k`` at the ``mass`` quantile of its approximate posterior (F bound)."""
        if not np.isfinite(self.ratio) or not np.isfinite(self.df_between):
            return self.ratio
        f_obs = 1.0 + max(self.ratio, 0.0) / self.scale
        if np.isfinite(self.df_noise):
            f_crit = float(special.fdtri(self.df_between, self.df_noise, 1.0 - mass))
        else:  # a known noise variance (binomial and count families): F(d, inf) = chi2(d) / d
            f_crit = float(special.chdtri(self.df_between, mass)) / self.df_between
        return max(f_obs / f_crit - 1.0, 0.0) * self.scale

    @property
    def data_rich(self) -> bool:
        """Centre: ``k >= DATA_RICH_RATIO`` over all but NECK_MASS of tau's posterior."""
        return self.lower() >= DATA_RICH_RATIO




def moment_information(n: np.ndarray, seen: np.ndarray, means: np.ndarray, sigma2: float, df_noise: float) -> Information:
    """:class:`Information` from one-way ANOVA moments: ``n`` the data's precision per group
    in units of ``1/sigma2`` (rows for a gaussian response, summed working weights with
    ``sigma2 = 1`` otherwise), ``means`` the groups' mean residuals, ``seen`` the groups with
    data; ``k = median(n) tau^2 / sigma2``."""
    J = int(seen.sum())
    if sigma2 <= 0 or J < 2:
        return Information(float("inf"))
    noise = float(np.mean(sigma2 / n[seen]))  # sigma^2 / n~, n~ the harmonic mean
    tau2 = float(np.var(means[seen], ddof=1)) - noise
    ratio = float(np.median(n[seen]) * max(tau2, 0.0) / sigma2)
    scale = float(np.median(n[seen])) * noise / sigma2
    return Information(ratio, J - 1, df_noise, scale)
