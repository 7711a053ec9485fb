"""Options of Stata's multilevel commands and of the ``bayes`` prefix that change only what
Stata prints or how it estimates: a Bayesian fit has nothing to translate for them."""

from __future__ import annotations

from ..errors import warn_user

__all__ = ["BAYES_DISPLAY_OPTIONS", "IGNORED_OPTIONS", "accepted_as_ignored", "display_note", "is_ignored"]

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


#: Ignored options whose effect a Stata user would look for, and where hierbayes has it.
_NOTES = {
    "or": "coefficients stay on the link scale in the summary; fit.summary(exponentiate=True) and "
          "fit.fixef(exponentiate=True) show odds ratios",
    "irr": "coefficients stay on the log scale in the summary; fit.summary(exponentiate=True) and "
           "fit.fixef(exponentiate=True) show incidence-rate ratios",
    "eform": "coefficients stay on the link scale in the summary; fit.summary(exponentiate=True) and "
             "fit.fixef(exponentiate=True) show exp(b)",
    "vce": "a posterior's intervals need no sandwich for clustering the model already has; with sampling "
           "weights, fit.adjust_intervals() gives Stata's robust standard errors",
    "variance": "group-level parameters are shown as sds (and correlations); their squares are Stata's "
                "var() rows",
    "level": "intervals are 95% unless asked otherwise: fit.summary(prob={prob}) (and prob= of every table, "
             "check and plot) gives the {level}% intervals",
    "clevel": "intervals are 95% unless asked otherwise: fit.summary(prob={prob}) (and prob= of every table, "
              "check and plot) gives the {level}% intervals",
    "hpd": "hierbayes' intervals are equal-tailed; ArviZ's hdi() on fit.posterior gives highest-density ones",
}


def display_note(opt) -> str | None:
    """What to use in hierbayes for an ignored option whose effect a Stata user would look
    for (``or``, ``irr``, ``eform``, ``vce()``, ``variance``, ``level()``, ``clevel()``, ``hpd``), else None."""
    for full, note in _NOTES.items():
        if full.startswith(opt.name.lower()) and len(opt.name) >= min(3, len(full)):
            level = (opt.arg or "").strip() or "95"
            try:
                prob = f"{float(level) / 100:g}"
            except ValueError:
                prob = "0.9"
            return f"option {opt.text!r} is not applied: " + note.format(level=level, prob=prob)
    return None


def is_ignored(opt) -> bool:
    """Whether a command option (a :class:`~hierbayes.spec.stata.StataOption`) is one of
    :data:`IGNORED_OPTIONS`, abbreviated to at least three letters."""
    return any(full.startswith(opt.name) and len(opt.name) >= min(3, len(full)) for full in IGNORED_OPTIONS)


def accepted_as_ignored(opt) -> bool:
    """Whether ``opt`` is an option with nothing to translate (:func:`is_ignored`); warns with
    :func:`display_note` where the user would look for its effect."""
    if not is_ignored(opt):
        return False
    note = display_note(opt)
    if note is not None:
        warn_user(note)
    return True
