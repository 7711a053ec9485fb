"""The count families: poisson and negbinomial (NB2, alias ``negativebinomial``), log link.

ICCs on the latent log scale by the log-normal approximation (Nakagawa et al. 2017).
Censoring (``y | cens(c)``, left and right only) as brms / Stan read it for counts: a
right-censored ``y`` means Y > y (a top-coded "10 or more" is right-censored at 9), a
left-censored one Y <= y.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from .checks import check_counts
from .core import Family, register
from .links import per_draw
from .prior_hooks import log_mean_location, unit_scale


def log_mean(eta, link, aux, trials):
    """E[y] = exp(eta) (log-link families)."""
    return np.exp(eta)


#: Largest mean numpy's Poisson sampler takes safely (it refuses about 1e19 and above).
POISSON_EXACT_MAX = 1e15


def poisson_draws(rng, lam: np.ndarray) -> np.ndarray:
    """Poisson draws of means ``lam``, also where numpy's sampler refuses them: means above
    :data:`POISSON_EXACT_MAX` (prior predictive draws under wide priors reach exp(700)) by
    the normal approximation, rounded, as floats; an infinite mean stays infinite."""
    lam = np.asarray(lam, dtype=float)
    big = ~(lam <= POISSON_EXACT_MAX)  # NaN and inf too
    if not big.any():
        return rng.poisson(lam)
    out = rng.poisson(np.where(big, 0.0, lam)).astype(float)
    with np.errstate(invalid="ignore", over="ignore"):
        out[big] = np.round(rng.normal(lam[big], np.sqrt(lam[big])))
    return out


def _poisson_simulate(rng, eta, link, aux, trials):
    return poisson_draws(rng, np.exp(eta))


def _poisson_log_likelihood(y, eta, link, aux, trials):
    y = np.asarray(y, dtype=float)
    return y * eta - np.exp(eta) - special.gammaln(y + 1)


def _poisson_log_cdf(y, eta, link, aux, trials):
    """log P(Y <= y) = log Q(y + 1, mu) (regularized upper incomplete gamma)."""
    with np.errstate(divide="ignore"):
        return np.log(special.gammaincc(np.asarray(y, dtype=float) + 1.0, np.exp(eta)))


def _poisson_log_ccdf(y, eta, link, aux, trials):
    """log P(Y > y) = log P(y + 1, mu) (regularized lower incomplete gamma)."""
    with np.errstate(divide="ignore"):
        return np.log(special.gammainc(np.asarray(y, dtype=float) + 1.0, np.exp(eta)))


def _negbinomial_tail(y, eta, aux, upper: bool):
    """log P(Y > y) (``upper``) or log P(Y <= y) of NB2 through the regularized incomplete beta."""
    y = np.asarray(y, dtype=float)
    phi = per_draw(aux["phi"], eta)
    p_success = phi / (phi + np.exp(eta))
    with np.errstate(divide="ignore"):
        if upper:
            return np.log(special.betainc(y + 1.0, phi, 1.0 - p_success))
        return np.log(special.betainc(phi, y + 1.0, p_success))


def _poisson_level1(link, mean_eta, group_variance, aux):
    lam = np.exp(mean_eta + group_variance / 2.0)
    return np.log1p(1.0 / lam), (
        "latent log scale: level-1 variance log(1 + 1/lambda), lambda = exp(b0 + "
        "sum(var)/2) at the covariate means (log-normal approximation, Nakagawa et al. 2017)"
    )


def count_edge(y, trials):
    """-1 for a zero count (the bottom of the support), 0 otherwise: counts have no top."""
    return np.where(np.asarray(y) <= 0, -1, 0)


def _poisson_glm_variance(mu, trials, y, cells=None):
    return mu


POISSON = register(
    Family(
        name="poisson",
        links=("log",),
        support="non-negative integer counts",
        check=check_counts("poisson"),
        mean=log_mean,
        simulate=_poisson_simulate,
        log_likelihood=_poisson_log_likelihood,
        response_kind="count",
        intercept_location=log_mean_location,
        link_scale=unit_scale,
        level1_variance=_poisson_level1,
        response_sd=lambda mu, aux, trials: np.sqrt(mu),
        glm_variance=_poisson_glm_variance,
        response_edge=count_edge,
        log_cdf=_poisson_log_cdf,
        log_ccdf=_poisson_log_ccdf,
    )
)


def _negbinomial_simulate(rng, eta, link, aux, trials):
    phi = per_draw(aux["phi"], eta)
    mu = np.exp(eta)
    # the gamma-Poisson mixture: numpy's negative_binomial refuses a large mean with a small
    # phi ("n too large or p too small"), which prior predictive draws reach
    with np.errstate(over="ignore", invalid="ignore"):
        return poisson_draws(rng, rng.gamma(phi, mu / phi))


def _negbinomial_log_likelihood(y, eta, link, aux, trials):
    """NB2: mean mu = exp(eta), variance mu + mu^2 / phi (PyMC's alpha, brms' shape)."""
    y = np.asarray(y, dtype=float)
    phi = per_draw(aux["phi"], eta)
    log_phi = np.log(phi)
    log_total = np.logaddexp(log_phi, eta)
    return (
        special.gammaln(y + phi)
        - special.gammaln(phi)
        - special.gammaln(y + 1)
        + phi * (log_phi - log_total)
        + y * (eta - log_total)
    )


def _negbinomial_level1(link, mean_eta, group_variance, aux):
    lam = np.exp(mean_eta + group_variance / 2.0)
    return np.log1p(1.0 / lam + 1.0 / aux["phi"]), (
        "latent log scale: level-1 variance log(1 + 1/lambda + 1/phi), lambda = exp(b0 + "
        "sum(var)/2) at the covariate means (log-normal approximation, Nakagawa et al. 2017)"
    )


def inverse_dispersion(y: np.ndarray, mu: np.ndarray, cells: np.ndarray | None = None) -> float:
    """1/phi of a negative binomial by moments (Var = mu + mu^2 / phi), at least 0.

    Parameters
    ----------
    y : np.ndarray
        Observed counts.
    mu : np.ndarray
        Their fitted means (a fit without group effects).
    cells : np.ndarray, optional
        Code per row of the cells the group terms share (:func:`within_cell_dispersion`):
        given, 1/phi is read within them where they hold enough rows, so the groups' spread
        is not taken for the rows'.
    """
    if cells is not None:
        found = within_cell_dispersion(y, mu, cells)
        if found is not None:
            return found
    return max(float(np.mean(((y - mu) ** 2 - mu) / np.maximum(mu, 1e-10) ** 2)), 0.0)


#: Residual degrees of freedom within cells below which 1/phi is read over all rows.
MIN_WITHIN_DF = 20


def within_cell_dispersion(y: np.ndarray, mu: np.ndarray, cells: np.ndarray) -> float | None:
    """1/phi from the rows' spread within cells (one multiplier ``r_c = sum y / sum mu`` per
    cell of 2+ rows with a nonzero count), solving Pearson's chi-square = its degrees of
    freedom (rows less cells; Breslow 1984) for ``a = 1/phi`` in ``Var = m + a m^2``; None
    with fewer than MIN_WITHIN_DF of them.

    Moments around a fit without group effects count the groups' spread as the rows' own:
    grouseticks' broods in locations (TICKS ~ YEAR + cHEIGHT) gave 1/phi 1.3 against the
    model's 0.3, which made the working weights a quarter of the model's and the broods look
    data-poor (k 0.5; at the model's phi, 3), so they were not drawn around their locations
    as the poisson model's are, and the default fit mixed at R-hat 1.03."""
    y, mu = np.asarray(y, dtype=float), np.maximum(np.asarray(mu, dtype=float), 1e-10)
    _, code = np.unique(np.asarray(cells), return_inverse=True)
    size = np.bincount(code)
    ysum, musum = np.bincount(code, weights=y), np.bincount(code, weights=mu)
    kept = ((size >= 2) & (ysum > 0))[code]
    df = int(kept.sum()) - int(((size >= 2) & (ysum > 0)).sum())
    if df < MIN_WITHIN_DF:
        return None
    m = (mu * (ysum / musum)[code])[kept]
    r2 = (y[kept] - m) ** 2

    def excess(a: float) -> float:
        return float(np.sum(r2 / (m * (1.0 + a * m)))) - df

    if excess(0.0) <= 0.0:
        return 0.0
    low, high = 0.0, 1.0
    while excess(high) > 0.0:  # excess falls in a: widen until it changes sign
        if high >= 1e6:
            return high
        low, high = high, high * 4.0
    from scipy.optimize import brentq  # not at import: hierbayes imports this module

    return float(brentq(excess, low, high, xtol=1e-12))


def _negbinomial_glm_variance(mu, trials, y, cells=None):
    inv_phi = 0.0 if y is None else inverse_dispersion(np.asarray(y, dtype=float), mu, cells)
    return mu * (1.0 + mu * inv_phi)


NEGBINOMIAL = register(
    Family(
        name="negbinomial",
        links=("log",),
        support="non-negative integer counts",
        check=check_counts("negbinomial"),
        aux=("phi",),
        mean=log_mean,
        simulate=_negbinomial_simulate,
        log_likelihood=_negbinomial_log_likelihood,
        response_kind="count",
        intercept_location=log_mean_location,
        link_scale=unit_scale,
        level1_variance=_negbinomial_level1,
        aux_priors={"phi": ("Gamma", {"alpha": 0.01, "beta": 0.01})},
        response_sd=lambda mu, aux, trials: np.sqrt(mu + mu**2 / aux["phi"]),
        glm_variance=_negbinomial_glm_variance,
        response_edge=count_edge,
        log_cdf=lambda y, eta, link, aux, trials: _negbinomial_tail(y, eta, aux, upper=False),
        log_ccdf=lambda y, eta, link, aux, trials: _negbinomial_tail(y, eta, aux, upper=True),
        aux_meaning="phi: var = mu + mu^2 / phi, R's theta (glm.nb, glmer.nb; glmmTMB's nbinom2 sigma); "
                    "Stata's menbreg alpha is 1 / phi",
    )
)
