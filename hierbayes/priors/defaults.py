"""Default priors, weakly informative and scaled to the data.

Defaults follow rstanarm/brms autoscaling. For a gaussian response with sd ``s_y`` and a
predictor with sd ``s_x`` (predictors are centred internally when there is an intercept):

========== ======================================== =========================================
class      default                                  note
========== ======================================== =========================================
Intercept  Normal(mean(y), 2.5 s_y)                 on centred predictors
b          MvNormal(0, S R^-1 S), S = diag(2.5      joint over the b terms (two or more): see
           s_y / s_x), R = correlation of the       below; one term: Normal(0, 2.5 s_y / s_x)
           columns
sd         HalfStudentT(3, s_y) / (3, s_y / s_x)    intercept / slope column of a group term
cor        LKJ(2)                                   unstructured blocks; exchangeable: Beta(2,2)
sigma      HalfStudentT(3, s_y)                     residual sd
========== ======================================== =========================================

LKJ(2) (as in Stan's manual and McElreath's) leans away from correlations of +-1, where with few
groups the likelihood is flat (lme4's singular fits at cor = -1); brms and rstanarm use LKJ(1),
uniform over correlations: ``priors={"cor:g": hb.Prior("LKJ", eta=1)}``. The summary's
prior-sensitivity check power-scales it and says when it decides a correlation (nlme's
Dialyzer ``(1 + pressure | Subject)``, 20 subjects: 0.074, a prior-data conflict; its posterior
mean -0.53 under LKJ(2), -0.63 under LKJ(1), REML -0.75).

For other families ``s_y`` is the family's link-scale unit (``Family.link_scale``) and the
intercept is centred at the link of the mean response (``Family.intercept_location``):

=========================== ================================ ===============================
family (link)               Intercept centre                 s_y
=========================== ================================ ===============================
bernoulli/binomial (logit)  logit(successes / trials)        1
... (probit)                probit(successes / trials)       0.627 (= dlogis(0) / dnorm(0))
... (cloglog)               cloglog(successes / trials)      1
poisson, negbinomial (log)  log(mean(y))                     1
gamma (log)                 log(mean(y))                     1
survival families (log)     log(mean(y)); censored: the      1 (not sd(log y): censored
                            intercept-only ML fit (.censored) times would shrink it)
student (identity)          median(y)                        MAD(y) (normal-consistent)
censored / truncated        mean of the uncensored response  its sd (never below sd(y)), both
gaussian, student                                            by censored-normal ML (.censored)
(identity)
cumulative                  thresholds: link(P(y <= k))      1 (logit) / 0.627 (probit)
=========================== ================================ ===============================

With offsets (``offset(log(t))``, :mod:`hierbayes.design.offsets`) the defaults describe the
same model the likelihood does: with the identity link they are computed on ``y - offset``;
with other links the intercept centre is moved by the offset (log link:
``log(mean(y)) - log(mean(exp(offset)))``, the intercept of the offset-only Poisson fit; logit,
probit, cloglog and ordinal thresholds: by ``mean(offset)``).

For binomial rows, predictor sds are weighted by the trials, so the same data as 0/1 rows
(bernoulli) or as aggregated counts (binomial) get the same default priors.

With frequency weights (whole-number, unscaled level-1 ``weights=``) every default above is
computed on the data with each row repeated as often as its weight says
(:mod:`.frequency`), so a weighted model and the repeated data have the same priors and the
same posterior. Sampling weights (scaled or real-valued weights, or level-2 weights) do not
change the defaults: they are computed on the unweighted rows.

Family parameters (brms' defaults): ``sigma`` HalfStudentT(3, s_y) (gaussian, student; with
censored or truncated rows ``s_y`` is the uncensored response's sd of :mod:`.censored`, with any link);
``nu`` Gamma(2, 0.1) (student; Juarez & Steel 2010); ``phi`` Gamma(0.01, 0.01)
(negbinomial, variance mu + mu^2/phi); ``shape`` Gamma(0.01, 0.01) (gamma). Ordinal
thresholds are class ``Intercept`` with terms ``1``..``K-1`` (key ``"Intercept:2"`` for one).
A residual structure's parameters (``ar1_phi``, ``unstr_cor``, ``sigma_ratio``...) have the
defaults of :mod:`.residual`.

The joint ``b`` prior (:mod:`hierbayes.fixed_prior`) is ``s^2 n (Xc'Xc)^-1`` with ``s = 2.5
s_y`` on the centred design: Zellner's unit-information g-prior, the same as rstanarm's
autoscaled prior with ``QR = TRUE``. For uncorrelated columns it is the per-column
``Normal(0, 2.5 s_y / s_x)``; a collinear column's marginal sd is that times ``sqrt(VIF)``,
so the prior is equally weak in every direction of the coefficient space and the data
decide even a raw polynomial with interactions. ``model.priors`` prints each term's marginal
sd (``MvNormal(0, Sigma_b): sd=...``, source ``default (joint)``) and the form of ``Sigma_b``
below the table; ``model.priors.joint`` holds the covariance.
"""

from __future__ import annotations

import numpy as np

from ..design.offsets import response_less_offset
from ..design.types import Design
from ..families import get_family, threshold_locations
from ..fixed_prior import JointFixedPrior, joint_fixed_prior
from ..params import ParamAddress
from .censored import censored_intercept, latent_moments
from .distributional import aux_default_addresses
from .frequency import frequency_counts, repeated
from .residual import residual_defaults
from .types import Prior

__all__ = [
    "default_addresses",
    "default_joint_prior",
    "family_location",
    "n_categories",
    "offset_shift",
]


def _sd(x: np.ndarray, weights: np.ndarray | None = None) -> float:
    if weights is None:
        s = float(np.std(x))
    else:
        w = np.asarray(weights, dtype=float)
        total = w.sum()
        if total <= 0:
            return 1.0
        m = float(np.sum(w * x) / total)
        s = float(np.sqrt(np.sum(w * (x - m) ** 2) / total))
    return s if s > 0 else 1.0


def _weights(design: Design) -> np.ndarray | None:
    """Row weights of the predictors' sds: trials for binomial data (a row of n trials stands
    for n 0/1 rows) times the frequency weights' counts (a row of weight w is w rows)."""
    out = None
    if get_family(design.spec.family).response_kind == "binomial" and design.trials is not None:
        out = np.asarray(design.trials, dtype=float)
    counts = frequency_counts(design)
    if counts is not None:
        out = counts.astype(float) if out is None else out * counts
    return out


def _scales(design: Design) -> tuple[float, float]:
    """(location, scale) of the response on the link scale for default priors."""
    family = get_family(design.spec.family)
    link = family.resolve_link(design.spec.link)
    counts = frequency_counts(design)
    y = repeated(_modelled_response(design, link), counts)
    trials = repeated(design.trials, counts)
    scale = family.link_scale(y, trials, link) if family.link_scale else 1.0
    location = family_location(family.name, y, trials, link)
    censored = censored_intercept(design, location)  # y holds censoring limits (.censored)
    location = location if censored is None else censored
    latent = latent_moments(design) if link == "identity" else None
    if latent is not None:  # censored: y holds limits (see .censored)
        location, scale = latent.mean, max(latent.sd, scale)
    return location - offset_shift(design, link), float(scale)


def _modelled_response(design: Design, link: str) -> np.ndarray:
    """The response the parameters explain: ``y - offset`` with the identity link, else y."""
    if link == "identity":
        return response_less_offset(design)
    return np.asarray(design.y, dtype=float)


def offset_shift(design: Design, link: str) -> float:
    """How much the offsets move the intercept's centre on the link scale: 0 without offsets
    or with the identity link (the response is then ``y - offset``);
    ``log(mean(exp(offset)))`` with the log link (so that the centre is
    ``log(sum(y) / sum(exp(offset)))``); ``mean(offset)`` with other links (means over the
    repeated rows with frequency weights)."""
    offset = getattr(design, "offset", None)
    if offset is None or link == "identity":
        return 0.0
    offset = repeated(np.asarray(offset, dtype=float), frequency_counts(design))
    if link == "log":
        top = float(np.max(offset))
        return top + float(np.log(np.mean(np.exp(offset - top))))
    return float(np.mean(offset))


def family_location(name: str, y: np.ndarray, trials: np.ndarray | None, link: str | None = None) -> float:
    """Centre of the intercept prior on the link scale (the link of the mean response)."""
    fam = get_family(name)
    hook = fam.intercept_location
    if callable(hook):
        return float(hook(np.asarray(y, dtype=float), trials, fam.resolve_link(link)))
    return 0.0


def n_categories(design: Design) -> int:
    """Number of categories K of an ordinal response (from the kept labels)."""
    levels = getattr(design.encoder, "response_levels", None)
    if levels:
        return len(levels)
    return int(np.max(design.y)) + 1


def _threshold_priors(design: Design, scale: float) -> list[tuple[ParamAddress, Prior]]:
    """One Normal prior per ordinal threshold, centred at the link of the cumulative
    proportion P(y <= k) (so the prior implies the observed marginal distribution)."""
    family = get_family(design.spec.family)
    link = family.resolve_link(design.spec.link)
    # P(y <= k) = F(threshold_k - eta): an offset in eta moves the thresholds up with it
    y = repeated(np.asarray(design.y), frequency_counts(design))
    locs = threshold_locations(y, n_categories(design), link) + offset_shift(design, link)
    return [
        (ParamAddress("Intercept", term=str(k + 1)), Prior("Normal", mu=float(m), sigma=2.5 * scale))
        for k, m in enumerate(locs)
    ]


def _aux_priors(design: Design, scale: float) -> list[tuple[ParamAddress, Prior]]:
    family = get_family(design.spec.family)
    out = []
    modelled = design.spec.aux_formulas
    for name in family.aux:
        if name == "Intercept" or name in modelled:
            continue  # ordinal thresholds, handled with the fixed effects; sub-models apart
        default = (family.aux_priors or {})[name]
        if callable(default):  # scaled to the data (the response the parameters explain)
            link = family.resolve_link(design.spec.link)
            counts = frequency_counts(design)
            latent = latent_moments(design)  # only censored location-scale responses pass at_least
            extra = {} if latent is None else {"at_least": latent.sd}
            default = default(repeated(_modelled_response(design, link), counts), repeated(design.trials, counts), link,
                              **extra)
        dist, params = default
        out.append((ParamAddress(name), Prior(dist, **params)))
    return out


def default_addresses(design: Design) -> list[tuple[ParamAddress, Prior]]:
    """Every parameter of the model with its data-scaled default prior."""
    loc, scale = _scales(design)
    weights = _weights(design)
    family = get_family(design.spec.family)
    out: list[tuple[ParamAddress, Prior]] = []
    names = design.fixed_names
    if family.thresholds:
        out.extend(_threshold_priors(design, scale))
    elif design.has_intercept:
        out.append((ParamAddress("Intercept"), Prior("Normal", mu=loc, sigma=2.5 * scale)))
    for j, name in enumerate(names):
        if name == "Intercept":
            continue
        sd_x = _sd(design.X[:, j], weights)
        out.append((ParamAddress("b", term=name), Prior("Normal", mu=0.0, sigma=2.5 * scale / sd_x)))
    for block in design.groups:
        structure = block.term.covariance.structure
        if structure.shared_sd:
            out.append((ParamAddress("sd", block.group), Prior("HalfStudentT", nu=3.0, sigma=scale)))
        else:
            for k, col in enumerate(block.columns):
                s = scale if col == "Intercept" else scale / _sd(block.X[:, k], weights)
                out.append((ParamAddress("sd", block.group, col), Prior("HalfStudentT", nu=3.0, sigma=s)))
        if block.n_columns > 1 and structure.default_cor is not None:
            dist, params = structure.default_cor
            out.append((ParamAddress("cor", block.group), Prior(dist, **params)))
    out.extend(_aux_priors(design, scale))
    out.extend(aux_default_addresses(design))
    out.extend(residual_defaults(design))
    return out


def default_joint_prior(design: Design) -> JointFixedPrior | None:
    """The default joint prior of all non-intercept fixed effects (see
    :mod:`hierbayes.fixed_prior`), or None with fewer than two of them."""
    slope_idx = [j for j, n in enumerate(design.fixed_names) if n != "Intercept"]
    _, scale = _scales(design)
    centred = design.has_intercept or get_family(design.spec.family).thresholds
    return joint_fixed_prior(
        design.X[:, slope_idx], [design.fixed_names[j] for j in slope_idx], 2.5 * scale, _weights(design), centred
    )
