"""Family and link registry: what each family supports, its links, its latent-scale
residual variance (for ICCs) and how its response is checked.

No PyMC here: the backend maps a family name to a likelihood.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

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


def _rows(mask: np.ndarray, row_labels: np.ndarray | None, limit: int = 5) -> str:
    idx = np.flatnonzero(mask)
    labels = idx if row_labels is None else np.asarray(row_labels)[idx]
    shown = ", ".join(str(v) for v in labels[:limit])
    more = f" and {len(idx) - limit} more" if len(idx) > limit else ""
    return f"rows {shown}{more}"


def check_real(y: np.ndarray, column: str, trials, row_labels) -> None:
    bad = ~np.isfinite(y)
    if bad.any():
        raise DataError(f"response {column!r} has non-finite values ({_rows(bad, row_labels)})")


@dataclass(frozen=True)
class Family:
    """A response distribution.

    name : registry key (``gaussian``).
    links : valid link names, the first is the default.
    support : a short description of valid responses, used in messages.
    latent_variance : maps a link to the residual variance on the latent scale used for
        ICCs (``pi^2/3`` for logit); ``None`` when the family has an estimated residual sd
        (gaussian) or no latent-scale definition.
    check : raises DataError naming the column and rows when a response value is outside
        the support.
    aux : names of the family's own parameters besides the linear predictor (``sigma``);
        the posterior holds draws under these names.
    mean : (eta, link, aux, trials) -> expected response (numpy, broadcasting over draws).
    simulate : (rng, eta, link, aux, trials) -> draws of new responses.
    log_likelihood : (y, eta, link, aux, trials) -> pointwise log density of ``y``.

    In the three callables ``eta`` is the linear predictor (draws x rows), ``aux`` maps
    each aux name to draws broadcastable against ``eta`` and ``trials`` is None or (rows,).
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


FAMILIES: dict[str, Family] = {}


def register(family: Family) -> Family:
    FAMILIES[family.name] = family
    return family


def _gaussian_mean(eta, link, aux, trials):
    return INVERSE_LINKS[link](eta)


def _gaussian_simulate(rng, eta, link, aux, trials):
    mu = INVERSE_LINKS[link](eta)
    return rng.normal(mu, aux["sigma"])


def _gaussian_loglik(y, eta, link, aux, trials):
    return stats.norm.logpdf(y, INVERSE_LINKS[link](eta), aux["sigma"])


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
    )
)

LOGIT_LATENT_VARIANCE = math.pi**2 / 3


def get_family(name: str) -> Family:
    """Look a family up by name, with the valid names in the error."""
    try:
        return FAMILIES[name]
    except KeyError:
        from .errors import did_you_mean

        raise SpecError(
            f"unknown family {name!r}.{did_you_mean(name, FAMILIES)} Valid families: "
            f"{sorted(FAMILIES)}"
        ) from None
