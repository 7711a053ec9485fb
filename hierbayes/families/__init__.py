"""Response families: one module per family (or group) holding everything that is not PyMC.

============================== ======================= ========================================
family [alias]                 links (default first)   family parameters (posterior names)
============================== ======================= ========================================
gaussian                       identity, log           sigma
bernoulli                      logit, probit, cloglog
binomial                       logit, probit, cloglog  (trials from ``y | trials(n)``/``cbind``)
poisson                        log
negbinomial [negativebinomial] log                     phi: var = mu + mu^2 / phi
cumulative                     logit, probit           Intercept: K-1 ordered thresholds
student [t]                    identity, log           sigma, nu
gamma                          log                     shape: var = mu^2 / shape
============================== ======================= ========================================

:mod:`.core` holds the :class:`Family` object and the registry, :mod:`.links` the numpy
links, :mod:`.checks` and :mod:`.prior_hooks` what families share. A new family is one
module here (build a Family, :func:`register` it, import the module below) plus its
likelihood registered in each backend (``hierbayes.backends.pymc.likelihoods``); the
backend checks that every registered family has one.
"""

from . import binomial, counts, gamma, gaussian, ordinal, student  # noqa: F401  (registers)
from .checks import (
    check_counts,
    check_positive,
    check_real,
    check_real_only,
    reject_trials,
)
from .core import (
    ALIASES,
    FAMILIES,
    Family,
    canonical_name,
    get_family,
    icc_level1_variance,
    register,
)
from .links import (
    INVERSE_LINKS,
    LATENT_VARIANCES,
    LINKS,
    LOGIT_LATENT_VARIANCE,
    PROBIT_UNIT,
    RATIO_LABELS,
    latent_variance,
    log_probabilities,
    per_draw,
)
from .ordinal import encode_ordinal, threshold_locations

__all__ = [
    "ALIASES",
    "FAMILIES",
    "Family",
    "INVERSE_LINKS",
    "LATENT_VARIANCES",
    "LINKS",
    "LOGIT_LATENT_VARIANCE",
    "PROBIT_UNIT",
    "RATIO_LABELS",
    "canonical_name",
    "check_counts",
    "check_positive",
    "check_real",
    "check_real_only",
    "encode_ordinal",
    "get_family",
    "icc_level1_variance",
    "latent_variance",
    "log_probabilities",
    "per_draw",
    "register",
    "reject_trials",
    "threshold_locations",
]
