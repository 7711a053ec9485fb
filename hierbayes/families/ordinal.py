"""The cumulative (ordinal) family: P(y <= k) = F(c_k - eta) with K-1 ordered thresholds
``Intercept`` in place of the intercept; links logit (default), probit, and ordinal::clm's
cloglog, loglog and cauchit.

The response is coded 0..K-1 (:func:`encode_ordinal`); ``mean`` returns the (S, n, K)
category probabilities (brms' ``posterior_epred``) rather than a single number.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import DataError, warn_user
from .checks import check_real, describe_rows, describe_values, reject_trials
from .core import Family, register
from .links import INVERSE_LINKS, LINKS, latent_variance, log1mexp, log_cdf, log_interval
from .prior_hooks import probability_scale

if TYPE_CHECKING:
    import pandas as pd

# pandas is not imported here: the spec front end (which resolves families) runs without it.


def _check_codes(y, column, trials, row_labels) -> None:
    reject_trials("cumulative", column, trials)
    check_real(y, column, trials, row_labels)
    bad = (y < 0) | (y != np.round(y))
    if bad.any():
        raise DataError(
            f"response {column!r} must hold ordered category codes for the cumulative family; "
            f"found {describe_values(bad, y)} ({describe_rows(bad, row_labels)})"
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

    Accepted responses are an ordered pandas Categorical (its category order) or integer
    codes (their order). Either way the categories are those that occur, as R's ``factor()``
    makes them for ``clm()`` and ``polr()``: a category without rows would get a threshold
    that only its prior decides (it moved the wine data's estimates by 0.3 sd and diverged);
    integer codes that skip a value say so in a warning.

    Raises
    ------
    DataError
        For unordered categoricals, text, non-integer or negative codes, or fewer than two
        categories, naming the column and the offending rows.
    """
    kind = getattr(series.dtype, "kind", "O")
    if getattr(series.dtype, "name", None) == "category":
        if not ordered:
            raise DataError(
                f"response {column!r} is an unordered categorical, so its category order is "
                "not known; the cumulative family needs an ordered one: "
                f"df[{column!r}] = pd.Categorical(df[{column!r}], categories=[lowest, ..., "
                "highest], ordered=True)"
            )
        codes = series.cat.codes.to_numpy()
        labels = tuple(str(c) for c in series.cat.categories)
    elif kind in "biuf":  # bool and numeric dtypes, pandas' nullable ones included
        y = series.to_numpy(dtype=float)
        bad = ~np.isfinite(y) | (y < 0) | (y != np.round(y))
        if bad.any():
            raise DataError(
                f"response {column!r} must hold integer category codes (0..K-1 or 1..K) or be "
                f"an ordered categorical for the cumulative family; found {describe_values(bad, y)} "
                f"({describe_rows(bad, row_labels)})"
            )
        present, codes = np.unique(y.astype(np.int64), return_inverse=True)
        labels = tuple(str(v) for v in present)
        base = 0 if present[0] == 0 else 1
        unused = sorted(set(range(base, int(present[-1]) + 1)) - set(present.tolist()))
        if unused:  # a threshold per unseen category is the prior's alone (and can diverge)
            warn_unused_categories(column, [str(u) for u in unused], labels)
    else:
        raise DataError(
            f"response {column!r} has dtype {series.dtype}; the cumulative family needs an ordered categorical "
            f"(pd.Categorical(..., ordered=True); a model file: [data] ordered = {{ {column} = [\"lowest\", ..., "
            f"\"highest\"] }}) or integer codes"
        )
    if len(labels) < 2:
        raise DataError(
            f"response {column!r} has a single category ({labels[0] if labels else 'none'}); "
            "an ordinal model needs at least two"
        )
    return codes.astype(float), labels


def warn_unused_categories(column: str, unused: list[str], labels: tuple[str, ...]) -> None:
    """Warn that the ordinal response ``column`` has no rows at the categories ``unused``: the
    model has the categories ``labels`` that occur, as R's ``factor()`` gives them to clm()."""
    warn_user(
        f"response {column!r} has no rows at {', '.join(unused[:10])}: the model has the {len(labels)} "
        f"categories that occur ({', '.join(labels[:10])}), as R's factor() gives them to clm()/polr()"
    )


def threshold_locations(y: np.ndarray, n_categories: int, link: str) -> np.ndarray:
    """Link of the cumulative proportions P(y <= k), k = 0..K-2: the centres of the default
    threshold priors (and a strictly increasing starting point for the sampler).

    Parameters
    ----------
    y : np.ndarray
        Category codes 0..K-1.
    n_categories : int
        K.
    link : str
        The ordinal link.
    """
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=n_categories)[:n_categories]
    # Half an observation per category keeps unobserved categories from tying thresholds.
    cum = np.cumsum(counts + 0.5)[:-1] / (counts.sum() + 0.5 * n_categories)
    return np.asarray(LINKS[link](cum), dtype=float)


def _thresholds(aux, eta) -> np.ndarray:
    c = np.asarray(aux["Intercept"], dtype=float)
    if c.ndim == 1:
        c = c[None, :]
    if np.ndim(eta) == 1:
        return c[0]
    return c


def _category_probabilities(eta, link, aux, trials):
    """(S, n, K) category probabilities P(y = k) = F(c_k - eta) - F(c_{k-1} - eta)."""
    eta = np.asarray(eta, dtype=float)
    c = _thresholds(aux, eta)
    F = INVERSE_LINKS[link]
    cum = F(c[..., None, :] - eta[..., None])  # (S, n, K-1)
    zeros = np.zeros(cum.shape[:-1] + (1,))
    padded = np.concatenate([zeros, cum, zeros + 1.0], axis=-1)
    return np.diff(padded, axis=-1)


def _simulate(rng, eta, link, aux, trials):
    eta = np.asarray(eta, dtype=float)
    c = _thresholds(aux, eta)
    cum = INVERSE_LINKS[link](c[..., None, :] - eta[..., None])
    u = rng.uniform(size=eta.shape)
    return (u[..., None] > cum).sum(axis=-1)


def _log_likelihood(y, eta, link, aux, trials):
    """log P(y = k) = log(F(c_{k+1} - eta) - F(c_k - eta)) for codes k = 0..K-1, with
    c_0 = -inf and c_K = +inf, computed in log space from whichever tail is smaller."""
    eta = np.asarray(eta, dtype=float)
    c = _thresholds(aux, eta)
    codes = np.asarray(y, dtype=np.int64)
    inf = np.full(c.shape[:-1] + (1,), np.inf)
    ext = np.concatenate([-inf, c, inf], axis=-1)  # (S, K+1)
    upper = np.take(ext, codes + 1, axis=-1) - eta
    lower = np.take(ext, codes, axis=-1) - eta
    if link not in ("logit", "probit"):  # asymmetric F: no mirror image of a tail
        return log_interval(lower, upper, link)
    with np.errstate(invalid="ignore", divide="ignore"):
        lo_hi, lo_lo = log_cdf(upper, link), log_cdf(lower, link)
        up_lo, up_hi = log_cdf(-lower, link), log_cdf(-upper, link)
        from_below = lo_hi + log1mexp(lo_lo - lo_hi)
        from_above = up_lo + log1mexp(up_hi - up_lo)
    return np.where(lower > 0, from_above, from_below)


def _response_edge(y, trials):
    """+1 at the highest category that occurs, -1 at the lowest (code 0), 0 between: a group
    whose every answer is the lowest has a likelihood monotone in its effect."""
    y = np.asarray(y, dtype=float)
    top = np.max(y) if y.size else 0.0
    return np.where(y >= top, 1.0, np.where(y <= 0, -1.0, 0.0))


CUMULATIVE = register(
    Family(
        name="cumulative",
        links=("logit", "probit", "cloglog", "loglog", "cauchit"),
        support="ordered categories",
        check=_check_codes,
        latent_variance=latent_variance,
        aux=("Intercept",),
        mean=_category_probabilities,
        simulate=_simulate,
        log_likelihood=_log_likelihood,
        response_kind="ordinal",
        link_scale=probability_scale,
        thresholds=True,
        encode_response=encode_ordinal,
        response_edge=_response_edge,
    )
)
