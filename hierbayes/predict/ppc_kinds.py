"""Which predictive-check plots fit which response.

``fit.ppc().plot(kind=...)`` draws one of these (with :mod:`hierbayes.plots.checks`); they are
listed here, away from matplotlib, so that a check can name its valid kinds and refuse the
others before anything is drawn.
"""

from __future__ import annotations

from ..errors import SpecError

# Per response kind; the first is the default of a posterior check.
PLOT_KINDS: dict[str, tuple[str, ...]] = {
    "continuous": ("density", "ecdf", "pit", "intervals", "scatter_avg", "error_hist", "stat", "km"),
    # right-censored (survival) data: Kaplan-Meier curves of the data and of replicates
    # censored alike (:mod:`.km`); the other kinds compare uncensored replicates with the data
    "censored": ("km", "density", "ecdf", "intervals", "scatter_avg", "stat"),
    "count": ("rootogram", "density", "ecdf", "pit", "intervals", "scatter_avg", "error_hist", "stat"),
    "binomial": ("rootogram", "density", "ecdf", "pit", "intervals", "scatter_avg", "error_hist", "stat"),
    "binary": ("calibration", "rootogram", "pit", "stat"),
    "ordinal": ("rootogram", "density", "ecdf", "pit", "intervals", "stat"),
}

# Every kind, in a stable order.
ALL_PLOT_KINDS: tuple[str, ...] = tuple(dict.fromkeys(k for kinds in PLOT_KINDS.values() for k in kinds))


def plot_kinds(kind_of_response: str) -> tuple[str, ...]:
    """The PPC plot kinds valid for a response kind (continuous, censored, count, binomial,
    binary, ordinal), the default first; an unknown response kind gets the continuous ones.

    Parameters
    ----------
    kind_of_response : str
        As :attr:`hierbayes.predict.ppc.PredictiveCheck.response_kind`.

    Returns
    -------
    tuple of str
    """
    return PLOT_KINDS.get(kind_of_response, PLOT_KINDS["continuous"])


def default_plot_kind(kind_of_response: str, source: str = "posterior") -> str:
    """The predictive-check plot that fits a response: density (continuous), rootogram
    (counts, binomial, ordinal), calibration (binary; for a prior check, which has no fitted
    probabilities to calibrate, ``stat``: the distribution of the share of ones).

    Parameters
    ----------
    kind_of_response : str
        continuous, count, binomial, binary or ordinal.
    source : str
        "posterior" or "prior".

    Returns
    -------
    str
    """
    if kind_of_response == "binary" and source != "posterior":
        return "stat"
    return plot_kinds(kind_of_response)[0]


def checked_plot_kind(kind: str | None, kind_of_response: str, source: str = "posterior") -> str:
    """``kind`` once checked against the response's :func:`plot_kinds` (None: the default).

    Parameters
    ----------
    kind : str or None
    kind_of_response : str
        continuous, count, binomial, binary or ordinal.
    source : str
        "posterior" or "prior" (only the default depends on it).

    Returns
    -------
    str

    Raises
    ------
    SpecError
        For a kind the response does not have, listing the valid ones.
    """
    if kind is None:
        return default_plot_kind(kind_of_response, source)
    valid = plot_kinds(kind_of_response)
    if kind in valid:
        return kind
    elsewhere = [k for k, kinds in PLOT_KINDS.items() if kind in kinds]
    why = f" (a plot for {' and '.join(elsewhere)} responses)" if elsewhere else ""
    raise SpecError(f"kind={kind!r}{why}: valid PPC kinds for a {kind_of_response} response are {list(valid)}")
