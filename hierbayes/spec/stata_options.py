"""Options of Stata's multilevel commands and of the ``bayes`` prefix that change only what
Stata prints or how it estimates: a Bayesian fit has nothing to translate for them."""

from __future__ import annotations

__all__ = ["BAYES_DISPLAY_OPTIONS", "IGNORED_OPTIONS", "is_ignored"]

# Options that only change estimation or display; a Bayesian fit has nothing to do with them.
IGNORED_OPTIONS = (
    "mle", "reml", "variance", "stddeviations", "stddev", "nolog", "log", "noheader",
    "nogroup", "nostderr", "noretable", "nofetable", "estmetric", "or", "irr", "eform",
    "level", "vce", "iterate", "tolerance", "ltolerance", "nrtolerance", "difficult",
    "technique", "intpoints", "intmethod", "laplace", "dfmethod", "small", "nolrtest",
    "startvalues", "startgrid", "from", "emiterate", "emtolerance", "emonly", "emlog",
    "emdots", "matsqrt", "matlog", "coeflegend", "baselevels", "allbaselevels",
    "noemptycells", "cformat", "pformat", "sformat", "nocnsreport", "notable",
    "dispersion", "showcons", "collinear", "trace", "gradient", "showstep", "hessian",
    "showtolerance", "nonrtolerance", "nostvalues",
)


# bayes-prefix options that only change what Stata prints: nothing to translate.
BAYES_DISPLAY_OPTIONS = (
    "dots", "nodots", "clevel", "hpd", "eqlabel", "noheader", "nomodelsummary", "notable",
    "nomesummary", "show", "noshow", "showreffects", "melabel", "nolegend", "chainsdetail",
    "nochainsdetail", "batch", "remargl", "nogroup", "noshowreffects", "or", "irr", "eform",
)


def is_ignored(opt) -> bool:
    """Whether a command option (a :class:`~hierbayes.spec.stata.StataOption`) is one of
    :data:`IGNORED_OPTIONS`, abbreviated to at least three letters."""
    return any(full.startswith(opt.name) and len(opt.name) >= min(3, len(full)) for full in IGNORED_OPTIONS)
