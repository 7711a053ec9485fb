"""Family and link registry: what each family supports, its links, its latent-scale
residual variance (for ICCs), its default-prior scale and how its response is checked.

No PyMC here: the backend maps a family name to a likelihood; everything below works on
numpy arrays so that predictions, the pointwise log-likelihood and simulations never need
to recompile a model.

Families (aliases in brackets)
------------------------------
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

Conventions of the numpy callables ``mean``, ``simulate`` and ``log_likelihood``:
``eta`` is the linear predictor, shape (S, n) for S posterior draws (or (n,));
``aux`` maps each name in ``Family.aux`` to its draws: shape (S,) or (S, 1) per draw (a
scalar also works), except the cumulative thresholds ``aux["Intercept"]`` of shape
(S, K-1) (or (K-1,)); ``trials`` is None or (n,). The ordinal response is coded 0..K-1
(see :func:`encode_ordinal`), and its ``mean`` returns the (S, n, K) category
probabilities (brms' ``posterior_epred``) rather than a single number.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

from .errors import DataError, SpecError

# Inverse links on numpy arrays (the backend has its own on tensors).
INVERSE_LINKS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "identity": lambda eta: eta,
    "log": np.exp,
    "logit": special.expit,
    "probit": special.ndtr,
    "cloglog": lambda eta: -np.expm1(-np.exp(eta)),
    "inverse": lambda eta: 1.0 / eta,
}

# Links on numpy arrays (mean -> eta), used to centre default priors.
LINKS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "identity": lambda mu: mu,
    "log": np.log,
    "logit": special.logit,
    "probit": special.ndtri,
    "cloglog": lambda mu: np.log(-np.log1p(-mu)),
    "inverse": lambda mu: 1.0 / mu,
}

LOGIT_LATENT_VARIANCE = math.pi**2 / 3
#: Level-1 variance of the latent variable y* = eta + e behind a binary/ordinal response:
#: logistic e (pi^2/3), standard normal e (1), and for cloglog the Gumbel (minimum extreme
#: value) e, whose variance is pi^2/6 (Nakagawa & Schielzeth 2013, Table 2; Nakagawa,
#: Johnson & Schielzeth 2017).
LATENT_VARIANCES: dict[str, float] = {
    "logit": LOGIT_LATENT_VARIANCE,
    "probit": 1.0,
    "cloglog": math.pi**2 / 6,
}

#: Unit of the link scale relative to the logit, for default prior scales: a probit
#: coefficient is about dlogis(0)/dnorm(0) = 0.627 times the logit one for the same change
#: in probability near p = 1/2 (Amemiya 1981). rstanarm multiplies by the reciprocal; we
#: keep the prior on the probability scale the same across links instead.
PROBIT_UNIT = 0.25 / float(stats.norm.pdf(0.0))

#: What exp(coefficient) means, per link (for ``fixef(exponentiate=True)``).
RATIO_LABELS: dict[str, str] = {"logit": "odds ratio", "cloglog": "hazard ratio", "log": "ratio"}


# ----------------------------------------------------------------------------- helpers


def _rows(mask: np.ndarray, row_labels: np.ndarray | None, limit: int = 5) -> str:
    idx = np.flatnonzero(mask)
    labels = idx if row_labels is None else np.asarray(row_labels)[idx]
    shown = ", ".join(str(v) for v in labels[:limit])
    more = f" and {len(idx) - limit} more" if len(idx) > limit else ""
    return f"rows {shown}{more}"


def _values(mask: np.ndarray, y: np.ndarray, limit: int = 5) -> str:
    vals = np.asarray(y)[mask][:limit]
    return ", ".join(f"{v:g}" for v in vals)


def _per_draw(a, eta: np.ndarray) -> np.ndarray:
    """An aux parameter as an array broadcastable against ``eta``: (S,) becomes (S, 1)."""
    a = np.asarray(a, dtype=float)
    if a.ndim == 1 and np.ndim(eta) == 2 and a.shape[0] == np.shape(eta)[0]:
        return a[:, None]
    return a


def _log1mexp(x: np.ndarray) -> np.ndarray:
    """log(1 - exp(x)) for x <= 0, accurate at both ends (Maechler 2012)."""
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(x > -math.log(2.0), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


def log_probabilities(eta: np.ndarray, link: str) -> tuple[np.ndarray, np.ndarray]:
    """(log p, log(1 - p)) of a success probability p = inverse_link(eta), computed
    without forming p so that neither underflows to log(0) for large |eta|."""
    eta = np.asarray(eta, dtype=float)
    if link == "logit":
        return -np.logaddexp(0.0, -eta), -np.logaddexp(0.0, eta)
    if link == "probit":
        return special.log_ndtr(eta), special.log_ndtr(-eta)
    if link == "cloglog":
        rate = np.exp(eta)
        with np.errstate(divide="ignore"):
            return np.log(-np.expm1(-rate)), -rate
    raise SpecError(f"link {link!r} has no success probability; valid: logit, probit, cloglog")


def _log_cdf(x: np.ndarray, link: str) -> np.ndarray:
    """log F(x) of the latent error distribution of an ordinal link (symmetric F)."""
    if link == "logit":
        return -np.logaddexp(0.0, -x)
    return special.log_ndtr(x)


def check_real(y: np.ndarray, column: str, trials, row_labels) -> None:
    bad = ~np.isfinite(y)
    if bad.any():
        raise DataError(f"response {column!r} has non-finite values ({_rows(bad, row_labels)})")


def _no_trials(family: str, column: str, trials) -> None:
    if trials is not None:
        hint = " use family='binomial'" if family == "bernoulli" else " drop trials()/cbind()"
        raise DataError(
            f"response {column!r}: the {family} family takes no number of trials;{hint}"
        )


def _check_binary(y, column, trials, row_labels) -> None:
    _no_trials("bernoulli", column, trials)
    check_real(y, column, trials, row_labels)
    bad = (y != 0) & (y != 1)
    if bad.any():
        raise DataError(
            f"response {column!r} must be 0 or 1 for the bernoulli family; found "
            f"{_values(bad, y)} ({_rows(bad, row_labels)}). For counts out of n trials use "
            "family='binomial' with 'y | trials(n) ~ ...'"
        )


def _check_binomial(y, column, trials, row_labels) -> None:
    if trials is None:
        raise DataError(
            f"response {column!r}: the binomial family needs the number of trials; write "
            f"'{column} | trials(n) ~ ...' or 'cbind({column}, failures) ~ ...' (for 0/1 "
            "responses use family='bernoulli')"
        )
    check_real(y, column, None, row_labels)
    n = np.asarray(trials, dtype=float)
    bad_n = ~np.isfinite(n) | (n < 0) | (n != np.round(n))
    if bad_n.any():
        raise DataError(
            f"binomial trials of response {column!r} must be non-negative integers; found "
            f"{_values(bad_n, n)} ({_rows(bad_n, row_labels)})"
        )
    bad = (y < 0) | (y != np.round(y)) | (y > n)
    if bad.any():
        raise DataError(
            f"response {column!r} must hold integers between 0 and the number of trials for "
            f"the binomial family; found {_values(bad, y)} ({_rows(bad, row_labels)})"
        )


def _check_count(family: str) -> Callable:
    def check(y, column, trials, row_labels) -> None:
        _no_trials(family, column, trials)
        check_real(y, column, trials, row_labels)
        bad = (y < 0) | (y != np.round(y))
        if bad.any():
            raise DataError(
                f"response {column!r} must hold non-negative integer counts for the {family} "
                f"family; found {_values(bad, y)} ({_rows(bad, row_labels)})"
            )

    return check


def _check_positive(family: str) -> Callable:
    def check(y, column, trials, row_labels) -> None:
        _no_trials(family, column, trials)
        check_real(y, column, trials, row_labels)
        bad = y <= 0
        if bad.any():
            raise DataError(
                f"response {column!r} must be > 0 for the {family} family; found "
                f"{_values(bad, y)} ({_rows(bad, row_labels)})"
            )

    return check


def _check_real_only(family: str) -> Callable:
    def check(y, column, trials, row_labels) -> None:
        _no_trials(family, column, trials)
        check_real(y, column, trials, row_labels)

    return check


def _check_ordinal_codes(y, column, trials, row_labels) -> None:
    _no_trials("cumulative", column, trials)
    check_real(y, column, trials, row_labels)
    bad = (y < 0) | (y != np.round(y))
    if bad.any():
        raise DataError(
            f"response {column!r} must hold ordered category codes for the cumulative family; "
            f"found {_values(bad, y)} ({_rows(bad, row_labels)})"
        )


def encode_ordinal(
    series: pd.Series, column: str, ordered: bool | None, row_labels: np.ndarray | None = None
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Codes 0..K-1 and the K category labels of an ordinal response column.

    Parameters
    ----------
    series : the response column (rows used by the model).
    column : its name, for messages.
    ordered : whether the column in the user's data was an *ordered* categorical (None
        when it was not categorical at all).
    row_labels : DataFrame index labels, for messages.

    Accepted responses are an ordered pandas Categorical (its category order; categories
    never observed are dropped) or integer codes: 0..K-1 when some value is 0, else 1..K
    (K is the largest code; codes in between that never occur still get a threshold).

    Raises
    ------
    DataError
        For unordered categoricals, text, non-integer or negative codes, or fewer than two
        categories, naming the column and the offending rows.
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        if not ordered:
            raise DataError(
                f"response {column!r} is an unordered categorical, so its category order is "
                "not known; the cumulative family needs an ordered one: "
                f"df[{column!r}] = pd.Categorical(df[{column!r}], categories=[lowest, ..., "
                "highest], ordered=True)"
            )
        codes = series.cat.codes.to_numpy()
        labels = tuple(str(c) for c in series.cat.categories)
    elif pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        y = series.to_numpy(dtype=float)
        bad = ~np.isfinite(y) | (y < 0) | (y != np.round(y))
        if bad.any():
            raise DataError(
                f"response {column!r} must hold integer category codes (0..K-1 or 1..K) or be "
                f"an ordered categorical for the cumulative family; found {_values(bad, y)} "
                f"({_rows(bad, row_labels)})"
            )
        base = 0 if (y == 0).any() else 1
        top = int(y.max())
        codes = (y - base).astype(np.int64)
        labels = tuple(str(v) for v in range(base, top + 1))
    else:
        raise DataError(
            f"response {column!r} has dtype {series.dtype}; the cumulative family needs an "
            f"ordered categorical (pd.Categorical(..., ordered=True)) or integer codes"
        )
    if len(labels) < 2:
        raise DataError(
            f"response {column!r} has a single category ({labels[0] if labels else 'none'}); "
            "an ordinal model needs at least two"
        )
    return codes.astype(float), labels


# ------------------------------------------------------------------------------ Family


@dataclass(frozen=True)
class Family:
    """A response distribution.

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
    encode_response : for ordinal families, :func:`encode_ordinal`.
    aux_priors : aux name -> (distribution, parameters) of the default prior, or a
        callable (y, trials, link) -> (distribution, parameters) when data-scaled.
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
    aux_priors: dict | None = None

    @property
    def default_link(self) -> str:
        return self.links[0]

    def resolve_link(self, link: str | None) -> str:
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
        self.check(np.asarray(y, dtype=float), column, trials, row_labels)

    def ratio_label(self, link: str | None = None) -> str:
        """What exp(coefficient) is called for this family and link ("odds ratio",
        "incidence-rate ratio", "hazard ratio"); SpecError when it has no ratio meaning."""
        link = self.resolve_link(link)
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
ALIASES: dict[str, str] = {"negativebinomial": "negbinomial", "t": "student"}


def register(family: Family) -> Family:
    FAMILIES[family.name] = family
    return family


# ---------------------------------------------------------------------- ICC variances


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
    """
    if family.level1_variance is not None:
        return family.level1_variance(link, mean_eta, group_variance, aux)
    latent = family.latent_variance(link)
    if latent is None:
        raise SpecError(f"no ICC definition for family {family.name!r} with link {link!r}")
    return float(latent), f"latent scale ({link} link: level-1 variance {latent:.4g})"


def _latent(link: str) -> float | None:
    return LATENT_VARIANCES.get(link)


def _sigma_squared(label: str) -> Callable:
    def level1(link, mean_eta, group_variance, aux):
        return aux["sigma"] ** 2, label

    return level1


def _poisson_level1(link, mean_eta, group_variance, aux):
    lam = np.exp(mean_eta + group_variance / 2.0)
    return np.log1p(1.0 / lam), (
        "latent log scale: level-1 variance log(1 + 1/lambda), lambda = exp(b0 + "
        "sum(var)/2) at the covariate means (log-normal approximation, Nakagawa et al. 2017)"
    )


def _negbinomial_level1(link, mean_eta, group_variance, aux):
    lam = np.exp(mean_eta + group_variance / 2.0)
    return np.log1p(1.0 / lam + 1.0 / aux["phi"]), (
        "latent log scale: level-1 variance log(1 + 1/lambda + 1/phi), lambda = exp(b0 + "
        "sum(var)/2) at the covariate means (log-normal approximation, Nakagawa et al. 2017)"
    )


def _gamma_level1(link, mean_eta, group_variance, aux):
    return np.log1p(1.0 / aux["shape"]), (
        "latent log scale: level-1 variance log(1 + 1/shape) (log-normal approximation, "
        "Nakagawa et al. 2017)"
    )


# --------------------------------------------------------------- default-prior hooks


def _sd(y: np.ndarray) -> float:
    s = float(np.std(y))
    return s if s > 0 else 1.0


def _robust_scale(y: np.ndarray) -> float:
    """MAD scaled to the normal sd (brms' student-t default), sd when the MAD is 0."""
    mad = float(stats.median_abs_deviation(y, scale="normal"))
    return mad if mad > 0 else _sd(y)


def _center(value: float, link: str) -> float:
    """A typical response value on the link scale (log link: kept above 0)."""
    return float(value) if link == "identity" else float(np.log(max(float(value), 1e-8)))


def _proportion_location(y, trials, link) -> float:
    n = np.ones_like(y, dtype=float) if trials is None else np.asarray(trials, dtype=float)
    total = float(n.sum())
    # Half a success/failure keeps the location finite for all-0 or all-1 data.
    p = (float(np.sum(y)) + 0.5) / (total + 1.0) if total > 0 else 0.5
    return float(LINKS[link](np.clip(p, 1e-3, 1 - 1e-3)))


def _log_mean_location(y, trials, link) -> float:
    return float(np.log(max(float(np.mean(y)), 0.1)))


def _binary_scale(y, trials, link) -> float:
    return PROBIT_UNIT if link == "probit" else 1.0


def _unit_scale(y, trials, link) -> float:
    return 1.0


def threshold_locations(y: np.ndarray, n_categories: int, link: str) -> np.ndarray:
    """Link of the cumulative proportions P(y <= k), k = 0..K-2: the centres of the default
    threshold priors (and a strictly increasing starting point for the sampler)."""
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=n_categories)[:n_categories]
    # Half an observation per category keeps unobserved categories from tying thresholds.
    cum = np.cumsum(counts + 0.5)[:-1] / (counts.sum() + 0.5 * n_categories)
    return np.asarray(LINKS[link](cum), dtype=float)


# ----------------------------------------------------------------------- gaussian


def _gaussian_mean(eta, link, aux, trials):
    return INVERSE_LINKS[link](eta)


def _gaussian_simulate(rng, eta, link, aux, trials):
    mu = INVERSE_LINKS[link](eta)
    return rng.normal(mu, _per_draw(aux["sigma"], eta))


_HALF_LOG_2PI = 0.5 * np.log(2 * np.pi)


def _gaussian_loglik(y, eta, link, aux, trials):
    # written out: scipy's logpdf costs several times as much on (draws, rows) arrays
    sigma = _per_draw(aux["sigma"], eta)
    z = (y - INVERSE_LINKS[link](eta)) / sigma
    z *= z
    z *= -0.5
    z -= np.log(sigma) + _HALF_LOG_2PI
    return z


register(
    Family(
        name="gaussian",
        links=("identity", "log"),
        support="real numbers",
        check=check_real,
        aux=("sigma",),
        mean=_gaussian_mean,
        simulate=_gaussian_simulate,
        log_likelihood=_gaussian_loglik,
        intercept_location=lambda y, trials, link: _center(np.mean(y), link),
        link_scale=lambda y, trials, link: _sd(y) if link == "identity" else 1.0,
        level1_variance=_sigma_squared("data scale (gaussian residual variance sigma^2)"),
    )
)

# ---------------------------------------------------------- bernoulli and binomial


def _binomial_mean(eta, link, aux, trials):
    p = INVERSE_LINKS[link](eta)
    return p if trials is None else p * np.asarray(trials, dtype=float)


def _bernoulli_simulate(rng, eta, link, aux, trials):
    return rng.binomial(1, INVERSE_LINKS[link](eta))


def _binomial_simulate(rng, eta, link, aux, trials):
    n = np.ones(np.shape(eta)[-1], dtype=np.int64) if trials is None else np.asarray(trials, dtype=np.int64)
    return rng.binomial(n, INVERSE_LINKS[link](eta))


def _binomial_loglik(y, eta, link, aux, trials):
    y = np.asarray(y, dtype=float)
    n = np.ones_like(y) if trials is None else np.asarray(trials, dtype=float)
    log_p, log_q = log_probabilities(eta, link)
    # 0 * log(0) is 0 here: a certain failure has likelihood 1 when there are no successes.
    succ = np.where(y > 0, y * log_p, 0.0)
    fail = np.where(n - y > 0, (n - y) * log_q, 0.0)
    const = special.gammaln(n + 1) - special.gammaln(y + 1) - special.gammaln(n - y + 1)
    return const + succ + fail


_binary_common = dict(
    links=("logit", "probit", "cloglog"),
    latent_variance=_latent,
    mean=_binomial_mean,
    log_likelihood=_binomial_loglik,
    intercept_location=_proportion_location,
    link_scale=_binary_scale,
)

register(
    Family(
        name="bernoulli",
        support="0 or 1",
        check=_check_binary,
        simulate=_bernoulli_simulate,
        response_kind="binary",
        **_binary_common,
    )
)
register(
    Family(
        name="binomial",
        support="integers 0..n (n trials)",
        check=_check_binomial,
        simulate=_binomial_simulate,
        response_kind="binomial",
        **_binary_common,
    )
)

# ------------------------------------------------------------------------ counts


def _log_mean(eta, link, aux, trials):
    return np.exp(eta)


def _poisson_simulate(rng, eta, link, aux, trials):
    return rng.poisson(np.exp(eta))


def _poisson_loglik(y, eta, link, aux, trials):
    y = np.asarray(y, dtype=float)
    return y * eta - np.exp(eta) - special.gammaln(y + 1)


register(
    Family(
        name="poisson",
        links=("log",),
        support="non-negative integer counts",
        check=_check_count("poisson"),
        mean=_log_mean,
        simulate=_poisson_simulate,
        log_likelihood=_poisson_loglik,
        response_kind="count",
        intercept_location=_log_mean_location,
        link_scale=_unit_scale,
        level1_variance=_poisson_level1,
    )
)


def _negbinomial_simulate(rng, eta, link, aux, trials):
    phi = _per_draw(aux["phi"], eta)
    mu = np.exp(eta)
    return rng.negative_binomial(phi, phi / (phi + mu))


def _negbinomial_loglik(y, eta, link, aux, trials):
    """NB2: mean mu = exp(eta), variance mu + mu^2 / phi (PyMC's alpha, brms' shape)."""
    y = np.asarray(y, dtype=float)
    phi = _per_draw(aux["phi"], eta)
    log_phi = np.log(phi)
    log_total = np.logaddexp(log_phi, eta)
    return (
        special.gammaln(y + phi)
        - special.gammaln(phi)
        - special.gammaln(y + 1)
        + phi * (log_phi - log_total)
        + y * (eta - log_total)
    )


register(
    Family(
        name="negbinomial",
        links=("log",),
        support="non-negative integer counts",
        check=_check_count("negbinomial"),
        aux=("phi",),
        mean=_log_mean,
        simulate=_negbinomial_simulate,
        log_likelihood=_negbinomial_loglik,
        response_kind="count",
        intercept_location=_log_mean_location,
        link_scale=_unit_scale,
        level1_variance=_negbinomial_level1,
        aux_priors={"phi": ("Gamma", {"alpha": 0.01, "beta": 0.01})},
    )
)

# ------------------------------------------------------------------------ ordinal


def _thresholds(aux, eta) -> np.ndarray:
    c = np.asarray(aux["Intercept"], dtype=float)
    if c.ndim == 1:
        c = c[None, :]
    if np.ndim(eta) == 1:
        return c[0]
    return c


def _cumulative_probs(eta, link, aux, trials):
    """(S, n, K) category probabilities P(y = k) = F(c_k - eta) - F(c_{k-1} - eta)."""
    eta = np.asarray(eta, dtype=float)
    c = _thresholds(aux, eta)
    F = INVERSE_LINKS[link]
    cum = F(c[..., None, :] - eta[..., None])  # (S, n, K-1)
    zeros = np.zeros(cum.shape[:-1] + (1,))
    padded = np.concatenate([zeros, cum, zeros + 1.0], axis=-1)
    return np.diff(padded, axis=-1)


def _cumulative_simulate(rng, eta, link, aux, trials):
    eta = np.asarray(eta, dtype=float)
    c = _thresholds(aux, eta)
    cum = INVERSE_LINKS[link](c[..., None, :] - eta[..., None])
    u = rng.uniform(size=eta.shape)
    return (u[..., None] > cum).sum(axis=-1)


def _cumulative_loglik(y, eta, link, aux, trials):
    """log P(y = k) = log(F(c_{k+1} - eta) - F(c_k - eta)) for codes k = 0..K-1, with
    c_0 = -inf and c_K = +inf, computed in log space from whichever tail is smaller."""
    eta = np.asarray(eta, dtype=float)
    c = _thresholds(aux, eta)
    codes = np.asarray(y, dtype=np.int64)
    inf = np.full(c.shape[:-1] + (1,), np.inf)
    ext = np.concatenate([-inf, c, inf], axis=-1)  # (S, K+1)
    upper = np.take(ext, codes + 1, axis=-1) - eta
    lower = np.take(ext, codes, axis=-1) - eta
    with np.errstate(invalid="ignore", divide="ignore"):
        lo_hi, lo_lo = _log_cdf(upper, link), _log_cdf(lower, link)
        up_lo, up_hi = _log_cdf(-lower, link), _log_cdf(-upper, link)
        from_below = lo_hi + _log1mexp(lo_lo - lo_hi)
        from_above = up_lo + _log1mexp(up_hi - up_lo)
    return np.where(lower > 0, from_above, from_below)


register(
    Family(
        name="cumulative",
        links=("logit", "probit"),
        support="ordered categories",
        check=_check_ordinal_codes,
        latent_variance=_latent,
        aux=("Intercept",),
        mean=_cumulative_probs,
        simulate=_cumulative_simulate,
        log_likelihood=_cumulative_loglik,
        response_kind="ordinal",
        link_scale=_binary_scale,
        thresholds=True,
        encode_response=encode_ordinal,
    )
)

# ---------------------------------------------------------------------- student-t


def _student_simulate(rng, eta, link, aux, trials):
    mu = INVERSE_LINKS[link](eta)
    sigma, nu = _per_draw(aux["sigma"], eta), _per_draw(aux["nu"], eta)
    return mu + sigma * rng.standard_t(np.broadcast_to(nu, np.shape(mu)))


def _student_loglik(y, eta, link, aux, trials):
    mu = INVERSE_LINKS[link](eta)
    return stats.t.logpdf(y, _per_draw(aux["nu"], eta), mu, _per_draw(aux["sigma"], eta))


register(
    Family(
        name="student",
        links=("identity", "log"),
        support="real numbers",
        check=_check_real_only("student"),
        aux=("sigma", "nu"),
        mean=_gaussian_mean,
        simulate=_student_simulate,
        log_likelihood=_student_loglik,
        intercept_location=lambda y, trials, link: _center(np.median(y), link),
        link_scale=lambda y, trials, link: _robust_scale(y) if link == "identity" else 1.0,
        level1_variance=_sigma_squared(
            "data scale (level-1 variance sigma^2, the squared t scale; the t variance "
            "sigma^2 nu/(nu-2) is larger)"
        ),
        aux_priors={"nu": ("Gamma", {"alpha": 2.0, "beta": 0.1})},
    )
)

# -------------------------------------------------------------------------- gamma


def _gamma_simulate(rng, eta, link, aux, trials):
    shape = _per_draw(aux["shape"], eta)
    mu = np.exp(eta)
    return rng.gamma(np.broadcast_to(shape, mu.shape), mu / shape)


def _gamma_loglik(y, eta, link, aux, trials):
    """Gamma with mean exp(eta) and shape a (rate a / mean): variance mean^2 / a."""
    y = np.asarray(y, dtype=float)
    a = _per_draw(aux["shape"], eta)
    return a * (np.log(a) - eta) + (a - 1.0) * np.log(y) - a * y * np.exp(-eta) - special.gammaln(a)


register(
    Family(
        name="gamma",
        links=("log",),
        support="positive real numbers",
        check=_check_positive("gamma"),
        aux=("shape",),
        mean=_log_mean,
        simulate=_gamma_simulate,
        log_likelihood=_gamma_loglik,
        intercept_location=lambda y, trials, link: float(np.log(np.mean(y))),
        link_scale=_unit_scale,
        level1_variance=_gamma_level1,
        aux_priors={"shape": ("Gamma", {"alpha": 0.01, "beta": 0.01})},
    )
)


def canonical_name(name: str) -> str:
    """The registry name of ``name`` (``"t"`` -> ``"student"``), unchanged if unknown."""
    return ALIASES.get(name, name)


def get_family(name: str) -> Family:
    """Look a family up by name or alias, with the valid names in the error."""
    try:
        return FAMILIES[ALIASES.get(name, name)]
    except KeyError:
        from .errors import did_you_mean

        raise SpecError(
            f"unknown family {name!r}.{did_you_mean(name, [*FAMILIES, *ALIASES])} Valid "
            f"families: {sorted(FAMILIES)} (aliases: {ALIASES})"
        ) from None
