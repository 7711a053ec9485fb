"""The bernoulli (0/1) and binomial (successes out of ``trials``) families; links logit
(default), probit, cloglog. ICCs on the latent scale of the link."""

from __future__ import annotations

import numpy as np
from scipy import special

from ..errors import DataError
from .checks import check_real, describe_rows, describe_values, reject_trials
from .core import Family, register
from .links import INVERSE_LINKS, latent_variance, log_probabilities
from .prior_hooks import probability_scale, proportion_location


def _check_binary(y, column, trials, row_labels) -> None:
    reject_trials("bernoulli", column, trials)
    check_real(y, column, trials, row_labels)
    bad = (y != 0) & (y != 1)
    if bad.any():
        raise DataError(
            f"response {column!r} must be 0 or 1 for the bernoulli family; found "
            f"{describe_values(bad, y)} ({describe_rows(bad, row_labels)}). For counts out of n "
            "trials use family='binomial' with 'y | trials(n) ~ ...'"
        )


def recode_binary(series, column: str) -> tuple[object, str | None]:
    """A two-valued text, categorical or boolean response as 0/1, as R's glm/glmer read a factor.

    Parameters
    ----------
    series : pandas.Series, the response column (rows used by the model).
    column : its name, for messages.

    Returns
    -------
    The 0/1 column and a line saying which value is 1 (None for numbers, left to the check).
    The first value (category order of a categorical, else sorted) is 0, the second 1, as the
    first level of an R factor is the failure.

    Raises
    ------
    DataError
        For text or categories with other than two distinct values.
    """
    kind = getattr(series.dtype, "kind", "O")
    if kind in "iuf":
        return series, None
    if kind == "b":
        return series.astype(int), None
    present = set(series.dropna().unique())
    if getattr(series.dtype, "name", None) == "category":  # families stay free of pandas imports
        levels = [c for c in series.cat.categories if c in present]
    else:
        levels = sorted(present, key=str)
    if len(levels) != 2:
        shown = ", ".join(repr(v) for v in levels[:6]) + (", ..." if len(levels) > 6 else "")
        raise DataError(
            f"response {column!r} of the bernoulli family holds {len(levels)} distinct values "
            f"({shown}); a text or categorical response needs exactly two (the first in category "
            "or sorted order counts as 0, the second as 1), else recode it as 0/1"
        )
    return series.eq(levels[1]).astype(int), f"{column} = 1 for {levels[1]!r}, 0 for {levels[0]!r} (the second value is the success, as in R)"


def _proportions(y, column: str) -> str:
    """Advice for a response of proportions (R's ``glm(prop ~ x, weights = n)``), or ''."""
    values = np.asarray(y, dtype=float)
    finite = values[np.isfinite(values)]
    if not finite.size or finite.min() < 0 or finite.max() > 1 or np.all(finite == np.round(finite)):
        return ""
    return (f"; {column!r} holds proportions: the binomial response counts successes. R's glm({column} ~ x, "
            f"weights = n, family = binomial) is, with n the trials, df['k'] = (df[{column!r}] * df['n']).round() "
            "and 'k | trials(n) ~ x' (or 'cbind(k, n - k) ~ x'); weights= would multiply the log-likelihood, "
            "not count trials")


def _check_binomial(y, column, trials, row_labels) -> None:
    if trials is None:
        proportions = _proportions(y, column)
        raise DataError(
            f"response {column!r}: the binomial family needs the number of trials" + (proportions or (
                f"; write '{column} | trials(n) ~ ...' or 'cbind({column}, failures) ~ ...' (for 0/1 "
                "responses use family='bernoulli')"))
        )
    check_real(y, column, None, row_labels)
    n = np.asarray(trials, dtype=float)
    bad_n = ~np.isfinite(n) | (n < 0) | (n != np.round(n))
    if bad_n.any():
        raise DataError(
            f"binomial trials of response {column!r} must be non-negative integers; found "
            f"{describe_values(bad_n, n)} ({describe_rows(bad_n, row_labels)})"
        )
    bad = (y < 0) | (y != np.round(y)) | (y > n)
    if bad.any():
        raise DataError(
            f"response {column!r} must hold integers between 0 and the number of trials for "
            f"the binomial family; found {describe_values(bad, y)} ({describe_rows(bad, row_labels)})"
            + _proportions(y, column)
        )


def _mean(eta, link, aux, trials):
    p = INVERSE_LINKS[link](eta)
    return p if trials is None else p * np.asarray(trials, dtype=float)


def _bernoulli_simulate(rng, eta, link, aux, trials):
    return rng.binomial(1, INVERSE_LINKS[link](eta))


def _binomial_simulate(rng, eta, link, aux, trials):
    n = np.ones(np.shape(eta)[-1], dtype=np.int64) if trials is None else np.asarray(trials, dtype=np.int64)
    return rng.binomial(n, INVERSE_LINKS[link](eta))


def _log_likelihood(y, eta, link, aux, trials):
    y = np.asarray(y, dtype=float)
    n = np.ones_like(y) if trials is None else np.asarray(trials, dtype=float)
    log_p, log_q = log_probabilities(eta, link)
    # 0 * log(0) is 0 here: a certain failure has likelihood 1 when there are no successes.
    succ = np.where(y > 0, y * log_p, 0.0)
    fail = np.where(n - y > 0, (n - y) * log_q, 0.0)
    const = special.gammaln(n + 1) - special.gammaln(y + 1) - special.gammaln(n - y + 1)
    return const + succ + fail


def _response_sd(mu, aux, trials):
    n = np.ones(mu.shape[-1]) if trials is None else trials
    p = mu / n
    return np.sqrt(n * p * (1.0 - p))


def _glm_variance(mu, trials, y, cells=None):
    return trials * mu * (1.0 - mu)


def _response_edge(y, trials):
    n = np.ones(len(y)) if trials is None else np.asarray(trials, dtype=float)
    return np.where(n <= 0, np.nan, np.where(y <= 0, -1.0, np.where(y >= n, 1.0, 0.0)))


_COMMON = dict(
    links=("logit", "probit", "cloglog"),
    latent_variance=latent_variance,
    mean=_mean,
    log_likelihood=_log_likelihood,
    intercept_location=proportion_location,
    link_scale=probability_scale,
    response_sd=_response_sd,
    glm_variance=_glm_variance,
    response_edge=_response_edge,
)

BERNOULLI = register(
    Family(
        name="bernoulli",
        support="0 or 1",
        check=_check_binary,
        simulate=_bernoulli_simulate,
        response_kind="binary",
        recode_response=recode_binary,
        **_COMMON,
    )
)
BINOMIAL = register(
    Family(
        name="binomial",
        support="integers 0..n (n trials)",
        check=_check_binomial,
        simulate=_binomial_simulate,
        response_kind="binomial",
        **_COMMON,
    )
)
