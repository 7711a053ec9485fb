"""The Family object and the family registry.

A family is one module of this package that builds a :class:`Family` and registers it;
everything about it that is not PyMC lives there (response check, links, numpy mean,
simulation and log-likelihood, ICC variance, default-prior hooks). Its likelihood for a
backend is registered against the same name in that backend (for PyMC, with
``hierbayes.backends.pymc.likelihoods.likelihood_of``), which checks on loading that
every registered family has one.

Conventions of the numpy callables ``mean``, ``simulate`` and ``log_likelihood``:
``eta`` is the linear predictor, shape (S, n) for S posterior draws (or (n,));
``aux`` maps each name in ``Family.aux`` to its draws: shape (S,) or (S, 1) per draw (a
scalar also works), (S, n) per draw and row when a distributional formula models it
(``sigma="~ x"``, :mod:`.distributional`), except the cumulative thresholds ``aux["Intercept"]`` of shape
(S, K-1) (or (K-1,)); ``trials`` is None or (n,).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import SpecError, did_you_mean
from .links import RATIO_LABELS

#: ``Family.response_kind`` values of successes out of trials (bernoulli: one trial a row).
BINOMIAL_KINDS = ("binary", "binomial")


@dataclass(frozen=True, eq=False)
class Family:
    """A response distribution.

    A Family compares equal to another with the same name and to its name or an alias
    (``family == "gaussian"``), hashes as its name and pickles by name, so code and saved
    files that hold names keep working.

    name : registry key (``gaussian``).
    links : valid link names, the first is the default.
    support : a short description of valid responses, used in messages.
    check : raises DataError naming the column and rows when a response value is outside
        the support: (y, column, trials, row_labels) -> None.
    latent_variance : maps a link to the residual variance on the latent scale used for
        ICCs (``pi^2/3`` for logit); ``None`` when the family has no fixed latent-scale
        value (see ``level1_variance``).
    aux : names of the family's own parameters besides the linear predictor (``sigma``);
        the posterior holds draws under these names.
    mean : (eta, link, aux, trials) -> expected response (numpy, broadcasting over draws).
    simulate : (rng, eta, link, aux, trials) -> draws of new responses.
    log_likelihood : (y, eta, link, aux, trials) -> pointwise log density of ``y``.
    response_kind : "continuous", "binary", "binomial", "count" or "ordinal".
    intercept_location : (y, trials, link) -> centre of the default intercept prior on the
        link scale (the link of the mean response).
    link_scale : (y, trials, link) -> the family's link-scale unit ``s_y`` that default
        priors are scaled by (sd(y) for gaussian, 1 for logit, ...).
    level1_variance : (link, mean_eta, group_variance, aux) -> (level-1 variance draws,
        description of the scale) for ICCs; see :func:`icc_level1_variance`.
    thresholds : True for ordinal families: K-1 ordered thresholds named ``Intercept``
        replace the intercept (the design drops the intercept column).
    encode_response : for ordinal families, :func:`hierbayes.families.encode_ordinal`.
    recode_response : ``(series, column) -> (numeric series, note or None)``, run on a response
        column before the numeric checks (bernoulli: two-valued text as 0/1).
    aux_priors : aux name -> (distribution, parameters) of the default prior, or a
        callable (y, trials, link) -> (distribution, parameters) when data-scaled; a
        ``location_scale`` family's callable also takes ``at_least=`` (the sd of a censored
        response, :mod:`hierbayes.priors.censored`, that its scale must not fall below).
    normal_residuals : y = mean + e with e ~ N(0, sigma^2) (``sigma`` in ``aux``): with the
        identity link, group terms can be integrated out in closed form and ``sigma`` is
        reported as the residual sd.
    location_scale : the mean is the inverse link of eta and the family's parameters only
        set the spread (gaussian, student): with the identity link E[y] is eta itself.
    response_sd : (mu, aux, trials) -> sd of y given its mean ``mu`` (S, n), per draw (what
        a Pearson residual divides by); None when the family does not define one.
    glm_variance : (mu, trials, y, cells) -> variance of y per row given the per-trial mean
        ``mu`` (binomial and count families), for the working-response information of the
        parameterization rule; ``y`` given: a dispersion parameter is estimated from it by
        moments (within ``cells``, the group terms' shared cells, when given), None: at its
        Poisson limit. None when that approximation does not apply.
    response_edge : (y, trials) -> per row +1 where y is at the top of its support (all
        trials successes), -1 at the bottom (0 successes, a zero count), 0 inside, NaN for a
        row that says nothing (no trials). A row at an edge has a likelihood monotone in eta,
        so a group whose rows all sit at one edge has no interior mode and no curvature to
        scale its effect by (:mod:`hierbayes.backends.pymc.adaptive`). None: not defined.
    log_cdf, log_ccdf : (y, eta, link, aux, trials) -> log P(Y <= y), log P(Y > y), like
        ``log_likelihood``; what censored and truncated rows contribute
        (:func:`hierbayes.families.censoring.censored_log_likelihood`). None: the family
        cannot be censored.
    coefficient_scale : what the coefficients are on, for tables ("log-time (AFT) scale");
        None: the link's scale.
    ratio : what exp(coefficient) is called whatever the link ("time ratio"); None: by link.
    quantile : (p, eta, link, aux, trials) -> the p-quantile of the uncensored, untruncated
        response (p a scalar in (0, 1)), like ``mean``; what median survival times and
        prediction quantiles use (:mod:`.time_to_event`). None: not available.
    aux_meaning : one line per family parameter whose scale other software reports
        differently, shown under the summary's parameter table (negbinomial's phi is R's
        theta and 1 / Stata's alpha). None: nothing to say.
    working_response : (y, link) -> the response on the link scale with roughly normal,
        equal-variance errors (lognormal and gamma: log y; student: y), from which the
        parameterization rule estimates a group term's information as for a gaussian
        response. None: not defined (the rule then counts rows per group).
    ph_log_hazard : (eta, link, aux, trials) -> the log hazard at time 1, for families with
        proportional hazards (exponential, weibull): log h(t) is this plus a function of t and
        the family parameters alone, so a difference of two values is a log hazard ratio at
        every t. None: the hazards of two linear predictors are not proportional.
    """

    name: str
    links: tuple[str, ...]
    support: str
    check: Callable[[np.ndarray, str, np.ndarray | None, np.ndarray | None], None]
    latent_variance: Callable[[str], float | None] = lambda link: None
    aux: tuple[str, ...] = ()
    mean: Callable | None = None
    simulate: Callable | None = None
    log_likelihood: Callable | None = None
    response_kind: str = "continuous"
    intercept_location: Callable | None = None
    link_scale: Callable | None = None
    level1_variance: Callable | None = None
    thresholds: bool = False
    encode_response: Callable | None = None
    recode_response: Callable | None = None
    aux_priors: dict | None = None
    normal_residuals: bool = False
    location_scale: bool = False
    response_sd: Callable | None = None
    glm_variance: Callable | None = None
    response_edge: Callable | None = None
    log_cdf: Callable | None = None
    log_ccdf: Callable | None = None
    coefficient_scale: str | None = None
    ratio: str | None = None
    quantile: Callable | None = None
    ph_log_hazard: Callable | None = None
    working_response: Callable | None = None
    aux_meaning: str | None = None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Family):
            return self.name == other.name
        if isinstance(other, str):
            return ALIASES.get(other, other) == self.name
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"Family({self.name!r})"

    def __str__(self) -> str:
        return self.name

    def __reduce__(self):
        return (get_family, (self.name,))

    @property
    def default_link(self) -> str:
        return self.links[0]

    @property
    def is_binomial(self) -> bool:
        """Successes out of trials (bernoulli: one trial per row)."""
        return self.response_kind in BINOMIAL_KINDS

    @property
    def takes_trials(self) -> bool:
        """The response is a count of successes out of a number of trials given per row."""
        return self.response_kind == "binomial"

    def linear_gaussian(self, link: str) -> bool:
        """Normal residuals with the identity link: group terms integrate out exactly."""
        return self.normal_residuals and link == "identity"

    def resolve_link(self, link: str | None) -> str:
        """``link``, or the default link when None.

        Raises
        ------
        SpecError
            When the family has no such link, listing the valid ones.
        """
        if link is None:
            return self.default_link
        if link not in self.links:
            raise SpecError(
                f"link {link!r} is not available for family {self.name!r}; valid links: "
                f"{list(self.links)}"
            )
        return link

    def check_response(
        self,
        y: np.ndarray,
        column: str,
        trials: np.ndarray | None = None,
        row_labels: np.ndarray | None = None,
    ) -> None:
        """Run the family's response check on ``y`` (as floats)."""
        self.check(np.asarray(y, dtype=float), column, trials, row_labels)

    def ratio_label(self, link: str | None = None) -> str:
        """What exp(coefficient) is called for this family and link ("odds ratio",
        "incidence-rate ratio", "hazard ratio"); SpecError when it has no ratio meaning."""
        link = self.resolve_link(link)
        if self.ratio is not None:
            return self.ratio
        label = RATIO_LABELS.get(link)
        if link == "log" and self.response_kind == "count":
            label = "incidence-rate ratio"
        elif link == "log":
            label = "ratio of means"
        if label is None:
            raise SpecError(
                f"exponentiated coefficients have no ratio meaning for family {self.name!r} "
                f"with the {link} link; exponentiate=True needs a logit, cloglog or log link"
            )
        return label


FAMILIES: dict[str, Family] = {}
#: Other packages' names of a registered family (glmmTMB's nbinom2 is brms' negbinomial, NB2).
ALIASES: dict[str, str] = {"negativebinomial": "negbinomial", "negative_binomial": "negbinomial",
                           "nbinom2": "negbinomial", "t": "student"}
#: Families other packages have and hierbayes does not, with what to use instead.
NOT_AVAILABLE: dict[str, str] = {
    "nbinom1": "glmmTMB's nbinom1 (var = mu (1 + alpha), linear in the mean) is not available; "
               "family='negbinomial' is NB2 (glmmTMB's nbinom2, brms' negbinomial: var = mu + mu^2 / phi)",
    **dict.fromkeys(
        ("zero_inflated_poisson", "zero_inflated_negbinomial", "zip", "zinb", "zipoisson", "zinegbinomial",
         "zinbinom2", "hurdle_poisson", "hurdle_negbinomial", "truncated_poisson", "truncated_nbinom2"),
        "zero-inflated and hurdle families are not available; family='negbinomial' often fits the "
        "excess zeros, and fit.ppc().pvalues() tests the share of zeros (prop_zero)"),
    **dict.fromkeys(
        ("betabinomial", "beta_binomial"),
        "the beta-binomial family is not available; an observation-level effect models the extra-binomial "
        "variation (lme4's ?cbpp): df['obs'] = range(len(df)) and 'cbind(k, n - k) ~ x + (1 | g) + (1 | obs)' "
        "with family='binomial'"),
    **dict.fromkeys(
        ("logistic", "logit", "logistic_regression"),
        "logistic regression is family='bernoulli' (link='logit', the default) for 0/1 responses, or "
        "'binomial' for successes out of trials; 'loglogistic' is a survival-time family"),
    "probit": "a probit model is family='bernoulli', link='probit' (or 'binomial' with trials)",
    **dict.fromkeys(
        ("ordinal", "ologit", "oprobit", "ordered_logit", "ordered_probit", "clm", "clmm", "polr", "cumulative_logit"),
        "ordinal responses are family='cumulative' (link='logit' by default, link='probit' for an ordered "
        "probit; clm's cloglog, loglog and cauchit too), as brms names it; ordinal's clm/clmm and MASS's polr "
        "fit the same model"),
    **dict.fromkeys(
        ("tobit", "censored", "censored_normal"),
        "a tobit model is a gaussian response with censoring limits: 'y | tobit(ll = 0) ~ x + (1 | g)' "
        "(AER's tobit(left = 0); Stata: metobit y x || g:, ll(0)); brms' y | cens(c) takes a column of codes"),
    **dict.fromkeys(
        ("cox", "coxph", "coxme", "cox_ph", "proportional_hazards"),
        "Cox's semi-parametric proportional-hazards model is not available; family='weibull' (or 'exponential') "
        "is a parametric proportional-hazards model, 'time | event(status) ~ x + (1 | g)' with (1 | g) as coxme's "
        "frailty, and fit.summary(metric='hr') gives its hazard ratios"),
    "gompertz": "the Gompertz family is not available; the survival families are 'weibull', 'exponential', "
                "'lognormal' and 'loglogistic'",
}


def _plain(name: str) -> str:
    """``"Zero-Inflated Poisson"`` -> ``"zeroinflatedpoisson"``: spellings of one name compared."""
    return "".join(c for c in name.lower() if c.isalnum())


_NOT_AVAILABLE_PLAIN = {_plain(k): v for k, v in NOT_AVAILABLE.items()}


def register(family: Family) -> Family:
    """Add ``family`` to the registry under its name (replacing one of the same name).

    Its backend likelihoods are registered separately, in each backend, against the same
    name; a backend refuses to load (or to compile the family) without one.
    """
    FAMILIES[family.name] = family
    return family


def canonical_name(name: str) -> str:
    """The registry name of ``name`` (``"t"`` -> ``"student"``), unchanged if unknown."""
    return ALIASES.get(name, name)


def get_family(name: str | Family) -> Family:
    """The Family of a name or alias (a Family is returned as it is).

    Raises
    ------
    SpecError
        For an unknown name, with the valid names.
    """
    if isinstance(name, Family):
        return name
    if isinstance(name, str) and name not in FAMILIES and name.strip().lower() in (*FAMILIES, *ALIASES):
        name = name.strip().lower()  # "Gaussian", "Binomial "
    try:
        return FAMILIES[ALIASES.get(name, name)]
    except (KeyError, TypeError):
        call = re.fullmatch(r"\s*(\w+)\s*\(\s*(?:link\s*=\s*)?[\"']?(\w*)[\"']?\s*\)\s*", name) if isinstance(name, str) else None
        if call:  # R's family object: binomial(link = "probit")
            family, link = call.group(1).lower(), call.group(2)
            family = {"binomial": "bernoulli", "quasibinomial": "bernoulli", "quasipoisson": "negbinomial"}.get(family, family)
            note = {"bernoulli": " for 0/1 responses ('binomial' with trials)",
                    "negbinomial": " for overdispersed counts"}.get(family, "")
            written = f"family={family!r}" + (f", link={link!r}" if link else "")
            raise SpecError(f"family={name!r} is R's spelling; write {written}{note}") from None
        if isinstance(name, str) and _plain(name) in _NOT_AVAILABLE_PLAIN:
            raise SpecError(f"unknown family {name!r}: {_NOT_AVAILABLE_PLAIN[_plain(name)]}") from None
        raise SpecError(
            f"unknown family {name!r}.{did_you_mean(str(name), [*FAMILIES, *ALIASES])} Valid "
            f"families: {sorted(FAMILIES)} (aliases: {ALIASES})"
        ) from None


def icc_level1_variance(family: Family, link: str, mean_eta, group_variance, aux: dict) -> tuple[object, str]:
    """The level-1 (residual) variance an ICC divides by, and the scale it is on.

    ICC_g = var(u_g) / (sum_f var(u_f) + level-1 variance), where ``var(u)`` are the
    variances of the group-specific intercepts on the link scale.

    * binary, binomial and ordinal responses: the latent-variable scale, with the
      variance of the link's error distribution: pi^2/3 (logit), 1 (probit), pi^2/6
      (cloglog) (Nakagawa & Schielzeth 2013; Nakagawa, Johnson & Schielzeth 2017).
    * poisson (log): the log-normal approximation of the observation-level variance on
      the log scale, log(1 + 1/lambda) with lambda = exp(beta0 + sum of group intercept
      variances / 2) (Nakagawa et al. 2017, Table 2; insight::get_variance's default).
      beta0 is the fixed part of the linear predictor at the covariate means (the
      intercept on centred predictors), standing in for the intercept of the null model.
    * negbinomial (log): log(1 + 1/lambda + 1/phi), same lambda (Nakagawa et al. 2017).
    * gamma (log): log(1 + 1/shape) (Nakagawa et al. 2017, log-normal approximation).
    * gaussian: sigma^2 on the data scale; student: sigma^2, the squared scale (the t
      variance sigma^2 nu / (nu - 2) is larger and infinite for nu <= 2).

    Each value is computed per posterior draw, so the ICC interval carries its uncertainty.

    Raises
    ------
    SpecError
        When the family defines no ICC for ``link``.
    """
    if family.level1_variance is not None:
        return family.level1_variance(link, mean_eta, group_variance, aux)
    latent = family.latent_variance(link)
    if latent is None:
        why = (": the latent-scale ICC needs the variance of the link's error distribution, and a cauchit's "
               "Cauchy has none; fit.varcorr() gives the group sds on the latent scale") if link == "cauchit" else ""
        raise SpecError(f"no ICC definition for family {family.name!r} with link {link!r}{why}")
    return float(latent), f"latent scale ({link} link: level-1 variance {latent:.4g})"


def sigma_squared_level1(label: str) -> Callable:
    """A ``level1_variance`` hook returning ``sigma^2`` with the scale description ``label``."""

    def level1(link, mean_eta, group_variance, aux):
        return aux["sigma"] ** 2, label

    return level1


def proportional_hazards() -> dict[str, str | None]:
    """Families with proportional hazards (a ``ph_log_hazard``) -> their shape parameter
    (None: shape 1, the exponential). Their coefficients read as log hazard ratios -shape * b."""
    return {
        name: (family.aux[0] if family.aux else None)
        for name, family in FAMILIES.items()
        if family.ph_log_hazard is not None
    }
