"""Options of Stata's multilevel commands and of the ``bayes`` prefix that change only what
Stata prints or how it estimates: a Bayesian fit has nothing to translate for them."""

from __future__ import annotations

from ..errors import SpecError, warn_user
from ..families import get_family

__all__ = ["BAYES_DISPLAY_OPTIONS", "EFORM_OPTIONS", "IGNORED_OPTIONS", "accepted_as_ignored", "display_note",
           "eform_metric", "is_ignored", "take_eform"]

#: Options asking for exponentiated coefficients (odds, incidence-rate ratios): kept as
#: ``ModelSpec.metric = "eform"``, so the summary shows exp(coefficient) by default.
EFORM_OPTIONS = ("or", "irr", "eform")

# Options that only change estimation or display; a Bayesian fit has nothing to do with them.
IGNORED_OPTIONS = (
    "mle", "reml", "variance", "stddeviations", "stddev", "nolog", "log", "noheader",
    "nogroup", "nostderr", "noretable", "nofetable", "estmetric",
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
    for (``vce()``, ``variance``, ``level()``, ``clevel()``, ``hpd``), else None."""
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


def take_eform(opt, state: dict) -> bool:
    """Whether a command or ``bayes`` option is one of :data:`EFORM_OPTIONS` (``or``,
    ``irr``, ``eform``; abbreviated to at least three letters); if so it is added to
    ``state["eform"]`` for :func:`eform_metric`."""
    if any(full.startswith(opt.name.lower()) and len(opt.name) >= min(3, len(full)) for full in EFORM_OPTIONS):
        state.setdefault("eform", []).append(opt)
        return True
    return False


def eform_metric(state: dict, metric: str | None) -> str | None:
    """The spec's metric once the options ``state["eform"]`` (the ``or``, ``irr`` and ``eform``
    of a command and its ``bayes`` prefix, :func:`take_eform`) are read: "eform" (the summary shows exp(coefficient):
    odds ratios for melogit, incidence-rate ratios for mepoisson) when one was given and
    exp(coefficient) is a ratio for the family and link, else ``metric``; warns (not applied)
    when the option cannot be applied (a survival metric, or no ratio meaning)."""
    opts = state.get("eform")
    if not opts:
        return metric
    text = opts[0].text
    if metric is not None:
        warn_user(f"option {text!r} is not applied: the coefficients are shown as metric={metric!r} "
                  f"(summary(metric=...) chooses)")
        return metric
    try:
        get_family(state["family"]).ratio_label(state["link"])
    except SpecError as exc:
        warn_user(f"option {text!r} is not applied: {exc}")
        return None
    return "eform"
