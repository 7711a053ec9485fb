"""Likelihoods per family: map the linear predictor to an observed PyMC variable ``y``.

Each builder is registered against its family's name with :func:`likelihood_of`, once;
on loading, :func:`check_likelihoods` makes sure every registered family
(:data:`hierbayes.families.FAMILIES`) has one. A builder has the signature
``(eta, design, priors, link) -> observed variable`` and registers the family's own
parameters (``sigma``, ``nu``, ``phi``, ``shape``, ordinal thresholds ``Intercept``) under
the names ``Family.aux`` gives, so results and the numpy log-likelihood read them back by
name; it gets each of them from :func:`.distributional.aux_parameter`, which returns the
per-row values when a distributional formula models the parameter (``sigma ~ x``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...design.types import Design
from ...errors import SpecError
from ...families import (
    FAMILIES,
    Family,
    canonical_name,
    get_family,
)
from ...families import INVERSE_LINKS as NUMPY_INVERSE_LINKS
from ...params import OBS_DIM
from ...priors import PriorTable
from .censored import observe
from .distributional import aux_parameter
from .lazy import LazyModule, pm, pt
from .linear import weighted_column_means
from .ordinal_links import ASYMMETRIC_LINKS, ordered_asymmetric
from .ordinal_probit import ordered_probit
from .thresholds import THRESHOLD_DIM, THRESHOLDS_C, threshold_location, threshold_variable
from .variables import register

#: The backend's name in messages.
BACKEND = "pymc"

LikelihoodBuilder = Callable[..., object]
#: family name -> its PyMC likelihood builder (filled by :func:`likelihood_of`).
LIKELIHOODS: dict[str, LikelihoodBuilder] = {}


def likelihood_of(*families: Family | str) -> Callable[[LikelihoodBuilder], LikelihoodBuilder]:
    """Decorator registering a builder as the PyMC likelihood of ``families``.

    Parameters
    ----------
    *families : Family or str
        The families (or their names) the builder serves.

    Raises
    ------
    SpecError
        When a family already has a different builder (one likelihood per family).
    """

    def decorate(builder: LikelihoodBuilder) -> LikelihoodBuilder:
        for family in families:
            name = family.name if isinstance(family, Family) else canonical_name(family)
            if LIKELIHOODS.get(name, builder) is not builder:
                raise SpecError(
                    f"family {name!r} already has a likelihood in the {BACKEND} backend "
                    f"({LIKELIHOODS[name].__qualname__}); one likelihood per family"
                )
            LIKELIHOODS[name] = builder
        return builder

    return decorate


def _missing_message(name: str) -> str:
    return (
        f"family {name!r} has no likelihood in the {BACKEND} backend; register one with "
        f"@likelihood_of({name!r}) from hierbayes.backends.pymc.likelihoods"
    )


def check_likelihoods() -> None:
    """Every registered family has a PyMC likelihood.

    Raises
    ------
    SpecError
        Naming the first family without one and this backend.
    """
    for name in FAMILIES:
        if name not in LIKELIHOODS:
            raise SpecError(_missing_message(name))


def likelihood_builder(family: Family | str) -> LikelihoodBuilder:
    """The PyMC likelihood builder of ``family``.

    Raises
    ------
    SpecError
        When the family has none in this backend, naming both.
    """
    name = get_family(family).name
    try:
        return LIKELIHOODS[name]
    except KeyError:
        raise SpecError(_missing_message(name)) from None

#: PyMC's log binomial coefficient and this backend's softplus and incomplete-beta ops, all
#: defining PyTensor graph pieces: imported when a model is built (:mod:`.lazy`).
dist_math = LazyModule("pymc.distributions.dist_math")
softplus_ops = LazyModule(f"{__package__}.softplus")
special_ops = LazyModule(f"{__package__}.special")


INVERSE_LINKS: dict[str, Callable] = {
    "identity": lambda eta: eta,
    "log": lambda eta: pt.exp(eta),
    "logit": lambda eta: pm.math.invlogit(eta),
    "probit": lambda eta: 0.5 + 0.5 * pt.erf(eta / np.sqrt(2.0)),
    "cloglog": lambda eta: 1.0 - pt.exp(-pt.exp(eta)),
    "inverse": lambda eta: 1.0 / eta,
}


def log_probabilities(eta, link: str):
    """(log p, log(1 - p)) on tensors, without forming p (no log(0) for large |eta|)."""
    if link == "logit":
        return -pt.softplus(-eta), -pt.softplus(eta)
    if link == "probit":
        # one erfcx for both: log Phi of the non-positive one of (eta, -eta), then the other as
        # log(1 - Phi); PyMC's normal_lcdf twice evaluated erfcx and erfc in both
        below = pt.switch(pt.gt(eta, 0.0), -eta, eta)
        half = -below / np.sqrt(2.0)
        log_tail = pt.log(0.5 * pt.erfcx(half)) - half**2
        log_body = pt.log1mexp(log_tail)
        positive = pt.gt(eta, 0.0)
        return pt.switch(positive, log_body, log_tail), pt.switch(positive, log_tail, log_body)
    if link == "cloglog":
        rate = pt.exp(eta)
        return pt.log1mexp(-rate), -rate
    raise ValueError(f"link {link!r} has no success probability")


def _observed(design: Design, integer: bool = False) -> np.ndarray:
    y = np.asarray(design.y)
    return y.astype(np.int64) if integer else y.astype(float)


@likelihood_of("gaussian")
def gaussian(eta, design: Design, priors: PriorTable, link: str):
    sigma = aux_parameter("sigma", priors)
    mu = INVERSE_LINKS[link](eta)
    if design.censoring is not None:
        make = lambda e, s: pm.Normal.dist(mu=INVERSE_LINKS[link](e), sigma=s)

        def logccdf(value, e, s):  # P(Y > v) = P(Y < 2 mu - v): PyMC's own logccdf is off by ~1e-8
            return pm.logcdf(make(e, s), 2.0 * INVERSE_LINKS[link](e) - value)

        return observe(design, make, eta, sigma, link=link, logccdf=logccdf)
    return pm.Normal("y", mu=mu, sigma=sigma, observed=design.y, dims=OBS_DIM)


@likelihood_of("bernoulli", "binomial")
def binomial(eta, design: Design, priors: PriorTable, link: str):
    """Binomial (and bernoulli, n = 1) with a log-density written from log p and log(1-p)
    of the link, so probit and cloglog stay finite where p rounds to 0 or 1."""
    trials = np.ones(design.n_obs, dtype=np.int64) if design.trials is None else np.asarray(design.trials, dtype=np.int64)
    inverse = NUMPY_INVERSE_LINKS[link]

    def logp(value, eta, n):
        # binomln depends on the data alone: the sampler graph computes it once (graph_data.fold_constants)
        if link == "logit":  # log(1 - p) = log p - eta: one softplus per row, not two
            return dist_math.binomln(n, value) - n * softplus_ops.softplus(-eta) - (n - value) * eta
        log_p, log_q = log_probabilities(eta, link)
        return dist_math.binomln(n, value) + value * log_p + (n - value) * log_q

    def random(eta, n, rng=None, size=None):
        return rng.binomial(n, inverse(eta), size=size)

    return pm.CustomDist(
        "y", eta, trials, logp=logp, random=random, dtype="int64",
        observed=_observed(design, integer=True), dims=OBS_DIM,
    )


@likelihood_of("poisson")
def poisson(eta, design: Design, priors: PriorTable, link: str):
    if design.censoring is not None:  # log P(Y > y) = log P(y + 1, mu), the regularized lower gamma
        return observe(design, lambda e: pm.Poisson.dist(mu=pt.exp(e)), eta, link=link,
                       logccdf=lambda value, e: pt.log(pt.gammainc(value + 1.0, pt.exp(e))))
    return pm.Poisson("y", mu=pt.exp(eta), observed=_observed(design, integer=True), dims=OBS_DIM)


@likelihood_of("negbinomial")
def negbinomial(eta, design: Design, priors: PriorTable, link: str):
    phi = aux_parameter("phi", priors)
    if design.censoring is not None:  # log P(Y > y) = log I_{mu / (mu + phi)}(y + 1, phi); betainc of .special:
        return observe(                # differentiable in phi on JAX too
            design, lambda e, a: pm.NegativeBinomial.dist(mu=pt.exp(e), alpha=a), eta, phi, link=link,
            logccdf=lambda value, e, a: pt.log(special_ops.betainc(value + 1.0, a, pt.exp(e) / (pt.exp(e) + a))),
            logcdf=lambda value, e, a: pt.log(special_ops.betainc(a, value + 1.0, a / (pt.exp(e) + a))),
        )
    return pm.NegativeBinomial(
        "y", mu=pt.exp(eta), alpha=phi, observed=_observed(design, integer=True), dims=OBS_DIM
    )


@likelihood_of("student")
def student(eta, design: Design, priors: PriorTable, link: str):
    sigma = aux_parameter("sigma", priors)
    nu = aux_parameter("nu", priors)
    mu = INVERSE_LINKS[link](eta)
    if design.censoring is not None:
        make = lambda m, s, n: pm.StudentT.dist(nu=n, mu=INVERSE_LINKS[link](m), sigma=s)

        def logcdf(value, m, s, n):  # differentiable in nu on JAX too (.special)
            return special_ops.student_t_logcdf(value, n, INVERSE_LINKS[link](m), s)

        def logccdf(value, m, s, n):  # P(Y > v) = P(Y < 2 mu - v) by symmetry
            return logcdf(2.0 * INVERSE_LINKS[link](m) - value, m, s, n)

        return observe(design, make, eta, sigma, nu, link=link, logccdf=logccdf, logcdf=logcdf)
    return pm.StudentT("y", nu=nu, mu=mu, sigma=sigma, observed=design.y, dims=OBS_DIM)


@likelihood_of("gamma")
def gamma(eta, design: Design, priors: PriorTable, link: str):
    shape = aux_parameter("shape", priors)
    if design.censoring is not None:
        return observe(
            design, lambda e, a: pm.Gamma.dist(alpha=a, beta=a * pt.exp(-e)), eta, shape, link=link,
            logccdf=lambda value, e, a: pt.log(pt.gammaincc(a, a * value * pt.exp(-e))),
        )
    return pm.Gamma("y", alpha=shape, beta=shape * pt.exp(-eta), observed=design.y, dims=OBS_DIM)


# -- survival-time families (hierbayes.families.survival): coefficients on log time


@likelihood_of("weibull")
def weibull(eta, design: Design, priors: PriorTable, link: str):
    """Mean-parameterised (brms): E[y] = exp(eta), Weibull scale exp(eta) / Gamma(1 + 1/shape)."""
    shape = register("shape", priors.get("shape"))

    def log_scale(e, k):
        return e - pt.gammaln(1.0 + 1.0 / k)

    def make(e, k):
        return pm.Weibull.dist(alpha=k, beta=pt.exp(log_scale(e, k)))

    def logccdf(value, e, k):
        return -pt.exp(k * (pt.log(value) - log_scale(e, k)))

    return observe(design, make, eta, shape, link=link, logccdf=logccdf)


@likelihood_of("exponential")
def exponential(eta, design: Design, priors: PriorTable, link: str):
    return observe(
        design, lambda e: pm.Exponential.dist(scale=pt.exp(e)), eta, link=link,
        logccdf=lambda value, e: -value * pt.exp(-e),
    )


@likelihood_of("lognormal")
def lognormal(eta, design: Design, priors: PriorTable, link: str):
    sigma = register("sigma", priors.get("sigma"))
    return observe(design, lambda e, s: pm.LogNormal.dist(mu=e, sigma=s), eta, sigma, link=link)


@likelihood_of("loglogistic")
def loglogistic(eta, design: Design, priors: PriorTable, link: str):
    """log y ~ Logistic(eta, 1 / shape): the median is exp(eta)."""
    shape = register("shape", priors.get("shape"))
    return observe(
        design, lambda e, k: pm.Logistic.dist(mu=e, s=1.0 / k), eta, shape, on_log=True, link=link,
        logccdf=lambda value, e, k: -pt.softplus(k * (value - e)),
    )


@likelihood_of("cumulative")
def cumulative(eta, design: Design, priors: PriorTable, link: str):
    """Ordinal regression: P(y <= k) = F(Intercept[k] - eta) with K-1 ordered thresholds.

    The design has no intercept column. The sampler sees thresholds on centred predictors
    (``Intercept_c``, as a location and gaps: :mod:`.thresholds`); the reported ``Intercept``
    (dim ``threshold``, 1..K-1) is for predictors at 0, as brms reports them. When a group
    term carries the thresholds' location (compile.py registers ``Intercept_c`` before the
    group effects), ``eta`` already holds ``m`` and the centred columns, and the rows see the
    centred thresholds ``Intercept_c + m``.
    """
    model = pm.modelcontext(None)
    located = THRESHOLDS_C in model.named_vars
    cut_c = model[THRESHOLDS_C] if located else threshold_variable(design, priors, link)
    shift = 0.0
    if "b" in model.named_vars and design.X.shape[1]:
        shift = pt.dot(weighted_column_means(design.X, design.row_weights), model["b"])
    pm.Deterministic("Intercept", cut_c + shift, dims=THRESHOLD_DIM)
    if located:
        eta_c, cut = eta, cut_c + threshold_location(cut_c)
    else:
        eta_c, cut = eta - shift, cut_c
    observed = _observed(design, integer=True)
    if link == "probit":
        return ordered_probit("y", eta_c, cut, observed)
    if link in ASYMMETRIC_LINKS:
        return ordered_asymmetric("y", link, eta_c, cut, observed)
    return pm.OrderedLogistic("y", eta=eta_c, cutpoints=cut, compute_p=False, observed=observed, dims=OBS_DIM)


#: Name of the potential that turns the observed ``y``'s log-likelihood into the weighted one.
WEIGHTS_POTENTIAL = "loglik_weights"


def likelihood(eta, design: Design, priors: PriorTable, link: str):
    """Register the observed variable ``y`` for the design's family; the design's offset
    (``Design.offset``, coefficient 1) is added to ``eta`` here, for every family.

    With level-1 weights ``w`` (``Design.row_weights``) the model's log density gains
    ``sum (w_i - 1) log p(y_i)``, so each row counts ``w_i`` times, whatever the family."""
    if design.offset is not None:
        eta = eta + np.asarray(design.offset, dtype=float)
    y = likelihood_builder(design.spec.family)(eta, design, priors, link)
    w = design.row_weights
    if w is not None and not np.all(w == 1.0):
        value = pm.modelcontext(None).rvs_to_values[y]
        pm.Potential(WEIGHTS_POTENTIAL, pt.sum(np.asarray(w - 1.0, dtype=float) * pm.logp(y, value)))
    return y


check_likelihoods()
