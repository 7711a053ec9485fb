"""Response families: one module per family (or group) holding everything that is not PyMC.

============================== ======================= ========================================
family [alias]                 links (default first)   family parameters (posterior names)
============================== ======================= ========================================
gaussian                       identity, log           sigma
bernoulli                      logit, probit, cloglog
binomial                       logit, probit, cloglog  (trials from ``y | trials(n)``/``cbind``)
poisson                        log
negbinomial [nbinom2, ...]     log                     phi: var = mu + mu^2 / phi
cumulative                     logit, probit, cloglog, Intercept: K-1 ordered thresholds
                               loglog, cauchit
student [t]                    identity, log           sigma, nu
gamma                          log                     shape: var = mu^2 / shape
weibull                        log (of the mean)       shape (brms'; survreg's scale = 1/shape)
exponential                    log (of the mean)
lognormal                      identity (of log y)     sigma
loglogistic                    log (of the median)     shape (Stata's gamma = 1/shape)
============================== ======================= ========================================

Continuous families with ``log_cdf`` / ``log_ccdf`` can be censored and truncated
(``y | cens(c, y2) + trunc(lb, ub)``, :mod:`.censoring`); :mod:`.time_to_event` gives their
survival probabilities, quantiles and (weibull, exponential) log hazards for predictions; poisson and negbinomial can be left- or right-censored
(:mod:`.counts`).

:mod:`.core` holds the :class:`Family` object and the registry, :mod:`.links` the numpy
links, :mod:`.checks` and :mod:`.prior_hooks` what families share. A new family is one
module here (build a Family, :func:`register` it, import the module below) plus its
likelihood registered in each backend (``hierbayes.backends.pymc.likelihoods``); the
backend checks that every registered family has one.
"""

from . import binomial, counts, gamma, gaussian, ordinal, student, survival  # noqa: F401  (registers)
from .censoring import (
    CENSORING_CODES,
    Censoring,
    CensoringRule,
    censored_log_likelihood,
    log_diff,
)
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
    proportional_hazards,
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
from .ordinal import encode_ordinal, threshold_locations, warn_unused_categories
from .survival import METRICS
from .time_to_event import log_hazard_ph, outcome_quantiles, survival_probabilities
from .truncation import truncated_draws

__all__ = [
    "ALIASES",
    "CENSORING_CODES",
    "Censoring",
    "CensoringRule",
    "FAMILIES",
    "Family",
    "INVERSE_LINKS",
    "LATENT_VARIANCES",
    "LINKS",
    "LOGIT_LATENT_VARIANCE",
    "METRICS",
    "proportional_hazards",
    "PROBIT_UNIT",
    "RATIO_LABELS",
    "canonical_name",
    "censored_log_likelihood",
    "check_counts",
    "check_positive",
    "check_real",
    "check_real_only",
    "encode_ordinal",
    "get_family",
    "icc_level1_variance",
    "latent_variance",
    "log_diff",
    "log_hazard_ph",
    "log_probabilities",
    "outcome_quantiles",
    "per_draw",
    "register",
    "reject_trials",
    "survival_probabilities",
    "truncated_draws",
    "threshold_locations",
    "warn_unused_categories",
]
