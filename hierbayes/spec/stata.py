"""Stata's multilevel commands -> ModelSpec.

Reads ``mixed`` (and ``xtmixed``) and the ``me*`` commands, with the ``bayes`` prefix::

    [bayes[, options]:] mixed depvar [indepvars] [if] [in] [, noconstant]
          || levelvar: [varlist] [if] [in] [, noconstant covariance(type)]
          [|| levelvar: ...] [, options]

``if`` and ``in`` (after the fixed varlist or at the end of any equation, before its comma)
become ``spec.subset``, a Stata expression the design evaluates with Stata's rules
(:mod:`hierbayes.design.subset`); ``in 1/100`` is ``inrange(_n, 1, 100)``. The options of
``bayes`` (priors, sampler) are translated by :func:`hierbayes.read_stata`.

Factor-variable notation (``i.x``, ``ib3.x``, ``c.x``, ``a#b``, ``a##b``) is translated by
:mod:`hierbayes.spec.stata_varlist`.

Random-effects equations follow Stata's rules: later levels are nested in earlier ones
(``|| school: || class:`` is lme4's ``(1|school) + (1|school:class)``), the default covariance
is ``independent``, ``_all: R.x`` is a crossed random intercept ``(1|x)``.

Commands and families: ``mixed`` gaussian; ``melogit`` / ``meprobit`` / ``mecloglog``
bernoulli with a logit / probit / cloglog link (binomial with ``binomial(n)``); ``mepoisson``
poisson; ``menbreg`` negbinomial; ``meologit`` / ``meoprobit`` cumulative logit / probit;
``meglm`` with ``family()`` (gaussian, bernoulli, binomial, poisson, nbinomial [mean],
gamma, ordinal) and ``link()`` (those hierbayes has for the family). ``exposure(t)`` and
``offset(v)`` set ``FixedPart.offsets`` to ``log(t)`` / ``v``. ``metobit`` (``ll()``, ``ul()``),
``meintreg`` (two dependent variables) and ``mestreg`` (``distribution()``, ``time``, ``nohr``;
the stset variables as ``from_stata(..., time=, failure=)``) are read by :mod:`.stata_survival`. Estimation and display options (``mle``, ``reml``,
``variance``, ``nolog``, ...) do not change the model and are ignored; ``or``, ``irr`` and
``eform`` set ``spec.metric = "eform"``: the summary shows exp(coefficient) by default.
Single-level commands (``regress``, ``logit``, ``logistic``, ``poisson``, ``ologit``, ``glm``,
``streg``, ...) are read as their ``me*`` command without ``||`` (:mod:`.stata_commands`).
Weights (``[pw=w1]``, ``|| school:, pweight(w2)``, ``pwscale()``): :mod:`.stata_weights`.

Size: the command grammar in one module (qualifiers, varlists, residuals and weights are
read by their own modules).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import SpecError, did_you_mean, refuse_unknown_arguments, warn_user
from .ir import Covariance, FixedPart, GroupTerm, ModelSpec
from .stata_commands import as_multilevel_command, refuse_other_command
from .stata_options import BAYES_DISPLAY_OPTIONS, accepted_as_ignored, display_note, eform_metric, take_eform
from .stata_qualifiers import (
    Qualifiers,
    combine_subset,
    fail,
    split_bayes_prefix,
    split_top,
    take_qualifiers,
)
from .stata_residuals import take_residuals_option, with_residuals
from .stata_survival import SURVIVAL_COMMANDS, depvar_count, survival_option, survival_response
from .stata_varlist import STATA_NAME, split_words, varlist_terms
from .stata_weights import StataWeight, level_weight, take_weight, weight_scaling, with_stata_weights

__all__ = ["STATA_COMMANDS", "StataOption", "from_stata", "parse_stata"]

#: command -> (family, link); link None means the family's default.
STATA_COMMANDS: dict[str, tuple[str, str | None]] = {
    "mixed": ("gaussian", None),
    "xtmixed": ("gaussian", None),
    "melogit": ("bernoulli", "logit"),
    "xtmelogit": ("bernoulli", "logit"),
    "meqrlogit": ("bernoulli", "logit"),
    "meprobit": ("bernoulli", "probit"),
    "mecloglog": ("bernoulli", "cloglog"),
    "mepoisson": ("poisson", "log"),
    "xtmepoisson": ("poisson", "log"),
    "meqrpoisson": ("poisson", "log"),
    "menbreg": ("negbinomial", "log"),
    "meologit": ("cumulative", "logit"),
    "meoprobit": ("cumulative", "probit"),
    "meglm": ("gaussian", None),
    **SURVIVAL_COMMANDS,  # metobit, meintreg, mestreg: spec/stata_survival.py
}
_EXPOSURE_COMMANDS = ("mepoisson", "xtmepoisson", "meqrpoisson", "menbreg", "meglm")
_BINOMIAL_COMMANDS = ("melogit", "xtmelogit", "meqrlogit", "meprobit", "mecloglog")
# Stata family -> (hierbayes family, default link, links hierbayes has for it)
_GLM_FAMILIES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "gaussian": ("gaussian", "identity", ("identity", "log")),
    "bernoulli": ("bernoulli", "logit", ("logit", "probit", "cloglog")),
    "binomial": ("binomial", "logit", ("logit", "probit", "cloglog")),
    "poisson": ("poisson", "log", ("log",)),
    "nbinomial": ("negbinomial", "log", ("log",)),
    "gamma": ("gamma", "log", ("log",)),
    "ordinal": ("cumulative", "logit", ("logit", "probit")),
}
_GLM_LINKS = tuple(dict.fromkeys(link for *_, links in _GLM_FAMILIES.values() for link in links))
# (full name, shortest abbreviation) as in Stata's syntax diagrams (capitals = minimum)
_COVARIANCES = (
    ("independent", "ind", Covariance.INDEPENDENT),
    ("exchangeable", "ex", Covariance.EXCHANGEABLE),
    ("identity", "id", Covariance.IDENTITY),
    ("unstructured", "un", Covariance.UNSTRUCTURED),
)
@dataclass(frozen=True)
class StataOption:
    """One option as written: ``cov(un)`` -> name ``cov``, arg ``un``, text ``cov(un)``."""

    name: str
    arg: str | None
    text: str


def _abbrev(word: str, full: str, minimum: str) -> bool:
    return full.startswith(word) and len(word) >= len(minimum)


def _options(text: str, command: str) -> list[StataOption]:
    out = []
    for word in split_words(text):
        m = re.fullmatch(r"([A-Za-z_]+)(?:\((.*)\))?", word)
        if not m:
            fail(command, f"cannot read the option {word!r}")
        out.append(StataOption(m.group(1).lower(), m.group(2), word))
    return out


# ========================================================================== the command


def _fixed_equation(text: str, command: str) -> tuple[str, list[str], list[str], list[StataOption], Qualifiers, StataWeight | None]:
    """(command name, depvars, fixed terms, options, if/in, weight) of ``cmd depvar indepvars [if] [in] [weight] [, opts]``."""
    head, *rest = split_top(text, ",", maxsplit=1)
    opts = rest[0] if rest else ""
    first = head.split(None, 1)[0] if head.strip() else ""
    refuse_other_command(head, command)  # xtreg, xtlogit, ...: the me* command of their model
    if first and first.lower() not in STATA_COMMANDS:  # before the varlist's syntax (gsem's paths, brackets)
        fail(command, f"unknown command {first!r}.{did_you_mean(first.lower(), STATA_COMMANDS)} Supported: "
             f"{sorted(STATA_COMMANDS)}")
    head, weight = take_weight(head, command)
    head, qualifiers = take_qualifiers(head, command)
    words = split_words(head)
    if not words:
        fail(command, "empty command")
    name = words[0].lower()  # a known command: checked above
    n_dep = depvar_count(name)
    if len(words) < 1 + n_dep:
        fail(command, f"expected {'a' if n_dep == 1 else n_dep} dependent variable{'s' * (n_dep > 1)} after {words[0]!r}")
    depvars = words[1:1 + n_dep]
    for depvar in depvars:
        if not re.fullmatch(STATA_NAME, depvar):
            fail(command, f"the dependent variable must be a variable name, found {depvar!r}")
    return name, depvars, varlist_terms(" ".join(words[1 + n_dep:]), command), _options(opts, command), qualifiers, weight


@dataclass
class _Random:
    level: str
    intercept: bool
    terms: list[str]
    covariance: Covariance | None
    crossed: str | None  # the variable of an '_all: R.x' equation


def _random_equation(text: str, command: str) -> tuple[_Random, list[StataOption], Qualifiers]:
    level, colon, rest = text.partition(":")
    level = level.strip()
    if not colon or not re.fullmatch(STATA_NAME, level):
        fail(command, f"expected 'levelvar:' after '||', found {text.strip()!r}")
    body, *after = split_top(rest, ",", maxsplit=1)
    opts = after[0] if after else ""
    body, qualifiers = take_qualifiers(body, command)
    words = split_words(body)
    crossed = None
    r_words = [w for w in words if w.lower().startswith("r.")]
    if r_words:
        if level != "_all" or len(words) != 1:
            fail(
                command,
                "R.varname is supported only alone in an '_all:' equation (a crossed random "
                "intercept, '|| _all: R.plate'); write '|| plate:' for a nested level",
            )
        crossed = r_words[0][2:]
        if not re.fullmatch(STATA_NAME, crossed):
            fail(command, f"expected a variable after 'R.', found {r_words[0]!r}")
        words = []
    elif level == "_all":
        fail(command, "'_all:' needs R.varname, as in '|| _all: R.plate'")
    options = _options(opts, command)
    eq = _Random(level, crossed is None, varlist_terms(" ".join(words), command), None, crossed)
    if crossed is not None:
        eq.intercept = True
        eq.covariance = Covariance.IDENTITY
    return eq, options, qualifiers


def _apply_re_option(eq: _Random, opt: StataOption, command: str) -> bool:
    """Apply a random-effects option; False when the option is not one."""
    if _abbrev(opt.name, "noconstant", "noc"):
        eq.intercept = False
        return True
    if _abbrev(opt.name, "covariance", "cov"):
        eq.covariance = _covariance(opt, command)
        return True
    return False


def _covariance(opt: StataOption, command: str) -> Covariance:
    value = (opt.arg or "").strip().lower()
    for full, minimum, cov in _COVARIANCES:
        if _abbrev(value, full, minimum):
            return cov
    fail(
        command,
        f"unknown covariance({opt.arg}); valid: independent, exchangeable, identity, "
        f"unstructured (Stata abbreviations ind, ex, id, un are accepted)",
    )


def _model_option(opt: StataOption, state: dict, name: str, command: str) -> bool:
    """family/link/binomial/offset options; True when handled."""
    if _abbrev(opt.name, "binomial", "bin") and name in (*_BINOMIAL_COMMANDS, "meglm"):
        trials = (opt.arg or "").strip()
        if not (re.fullmatch(STATA_NAME, trials) or re.fullmatch(r"[1-9][0-9]*", trials)):
            fail(command, f"binomial({opt.arg}): give the variable with the number of trials, or a whole number")
        state["family"], state["trials"] = "binomial", trials
        return True
    if name == "meglm" and _abbrev(opt.name, "family", "f"):
        parts = (opt.arg or "").split()
        if not parts or parts[0].lower() not in _GLM_FAMILIES:
            fail(command, f"family({opt.arg}): supported {sorted(_GLM_FAMILIES)}")
        stata_family = parts[0].lower()
        state["family"], default_link, _ = _GLM_FAMILIES[stata_family]
        state["stata_family"] = stata_family
        if not state.get("link_given"):
            state["link"] = default_link
        if len(parts) > 1 and stata_family == "binomial":
            state["trials"] = parts[1]
        elif len(parts) > 1 and not (stata_family == "nbinomial" and parts[1].lower() == "mean"):
            fail(
                command,
                f"family({opt.arg}): only 'binomial #|varname' and 'nbinomial mean' take a "
                f"second word (hierbayes' negbinomial is Stata's mean dispersion)",
            )
        return True
    if _abbrev(opt.name, "dispersion", "disp"):
        value = (opt.arg or "").strip().lower()
        if name != "menbreg":
            fail(command, f"{opt.text}: dispersion() is an option of menbreg")
        if not _abbrev(value, "mean", "m"):
            fail(command, f"{opt.text}: only the mean dispersion (the default, var = mu (1 + alpha mu), "
                          "hierbayes' negbinomial with phi = 1 / alpha) is available; dispersion(constant) is not")
        return True
    if name == "meglm" and _abbrev(opt.name, "link", "l"):
        link = (opt.arg or "").strip().lower()
        if link not in _GLM_LINKS:
            fail(command, f"link({opt.arg}): supported {list(_GLM_LINKS)}")
        state["link"] = link
        state["link_given"] = True
        return True
    exposure = _abbrev(opt.name, "exposure", "exp")
    if exposure or _abbrev(opt.name, "offset", "off"):
        allowed = _EXPOSURE_COMMANDS if exposure else tuple(c for c in STATA_COMMANDS if c not in ("mixed", "xtmixed"))
        if name not in allowed:
            fail(command, f"{opt.text}: {name} has no {'exposure' if exposure else 'offset'}() option "
                           f"(commands that have it: {', '.join(allowed)})")
        variable = (opt.arg or "").strip()
        if not re.fullmatch(STATA_NAME, variable):
            fail(command, f"{opt.text}: give one variable, as in exposure(time) or offset(logtime)")
        if state.get("offset"):
            fail(command, f"{opt.text}: only one of exposure() and offset() may be given")
        state["offset"] = f"log({variable})" if exposure else variable
        return True
    return False


def _check_glm_link(state: dict, command: str) -> None:
    """meglm: the link must be one hierbayes has for the family."""
    stata_family = state.get("stata_family", "gaussian")
    _, _, links = _GLM_FAMILIES[stata_family]
    if state.get("link_given") and state["link"] not in links:
        fail(
            command,
            f"family({stata_family}) with link({state['link']}) is not available; links for "
            f"{stata_family}: {list(links)}",
        )


def _full_factors(eqs: list[_Random]) -> list[tuple[str, ...]]:
    """Stata nests each level in the ones before it; '_all' levels nest nothing."""
    path: list[str] = []
    out = []
    for eq in eqs:
        if eq.crossed is not None:
            out.append((eq.crossed,))
            continue
        if not path or path[-1] != eq.level:
            path.append(eq.level)
        out.append(tuple(path))
    return out


def from_stata(command: str, *data: object, time: str | None = None, failure: str | None = None,
               **unknown: object) -> ModelSpec:
    """Translate a Stata multilevel command into a :class:`ModelSpec`.

    Parameters
    ----------
    command : str
        One command, e.g. ``"mixed gcse c.lrt##i.schgend || school: lrt, cov(un)"``.
        A leading ``.`` (Stata's prompt), ``///`` line continuations, ``if`` / ``in``
        qualifiers (after the fixed varlist or at the end of any equation, before its comma;
        kept as ``spec.subset``) and the ``bayes:`` prefix are accepted. Priors and sampler
        options of ``bayes, ...:`` are read by :func:`hierbayes.read_stata`.
    time, failure : str, optional
        ``mestreg``: the survival-time and failure variables of ``stset time, failure(failure)``
        (:mod:`.stata_survival`); without ``failure`` every time is a failure.

    Returns
    -------
    ModelSpec
        With the family and link of the command (see :data:`STATA_COMMANDS`), the row
        filter in ``subset`` and ``source`` set to the command.

    Raises
    ------
    SpecError
        For an unsupported command, option or notation, naming it, and for ``bayes``
        options other than display options (pointing to :func:`hierbayes.read_stata`).
    ArgumentError
        For another keyword argument (``data=`` says to pass the spec to ``hb.Model``).

    Examples
    --------
    >>> from_stata("mixed gcse lrt || school: lrt, covariance(unstructured)").to_formula()
    'gcse ~ lrt + (1 + lrt | school)'
    >>> from_stata("xtmixed gcse lrt || school: lrt if nstu > 4, mle").subset
    'nstu > 4'
    """
    advice = " from_stata() returns a spec: fit it with hb.Model(spec, data).fit()"
    if data:  # from_stata(command, df)
        unknown = {"data": data[0], **unknown}
    refuse_unknown_arguments("from_stata", unknown, ["time", "failure"], advice=advice if "data" in unknown else "")
    spec, bayes_options = parse_stata(command, time=time, failure=failure)
    for opt in bayes_options or ():
        if opt.name in BAYES_DISPLAY_OPTIONS and (note := display_note(opt)) is not None:
            warn_user(note)
        if opt.name not in BAYES_DISPLAY_OPTIONS:
            fail(
                command,
                f"the bayes option {opt.text!r} sets priors or the sampler: read the command "
                f"with hierbayes.read_stata(), which returns the spec with its priors and fit "
                f"arguments (from_stata returns the model only)",
            )
    return spec


def _factor_variables(terms: list[str]) -> tuple[str, ...]:
    """The columns the terms use as Stata factor variables (``C(x)``, ``C(x, Treatment(3))``)."""
    names = (re.findall(rf"C\(({STATA_NAME})", term) for term in terms)
    return tuple(dict.fromkeys(name for found in names for name in found))


def parse_stata(
    command: str, *, time: str | None = None, failure: str | None = None
) -> tuple[ModelSpec, tuple[StataOption, ...] | None]:
    """The :class:`ModelSpec` of a Stata command and the options of its ``bayes`` prefix.

    The options are ``None`` without a ``bayes`` prefix and ``()`` for ``bayes:``; see
    :func:`from_stata` for the command.
    """
    if not isinstance(command, str):
        raise SpecError(f"a Stata command must be a string, got {type(command).__name__}")
    text = re.sub(r"///[^\n]*\n", " ", command).replace("\n", " ").strip()
    text = text.removeprefix(".").strip()
    prefix, text = split_bayes_prefix(text)
    bayes_options = None if prefix is None else tuple(_options(prefix, command))
    text = as_multilevel_command(text, command)  # regress y x -> mixed y x
    text, residual = take_residuals_option(text, command)
    chunks = split_top(text, "||")
    name, depvars, fixed_terms, fe_opts, qualifiers, weight = _fixed_equation(chunks[0], command)
    all_qualifiers = [qualifiers]
    family, link = STATA_COMMANDS[name]
    state: dict = {"family": family, "link": link, "level_weights": {}}
    intercept = True
    for opt in fe_opts:
        if _abbrev(opt.name, "noconstant", "noc"):
            intercept = False
        elif weight_scaling(opt.name, opt.arg, command):
            state["pwscale"] = weight_scaling(opt.name, opt.arg, command)
        elif not (_model_option(opt, state, name, command) or survival_option(opt, state, name, command)
                  or take_eform(opt, state) or accepted_as_ignored(opt)):
            fail(command, f"unknown option {opt.text!r} of the fixed-effects equation")
    randoms: list[_Random] = []
    for chunk in chunks[1:]:
        eq, opts, qualifiers = _random_equation(chunk, command)
        all_qualifiers.append(qualifiers)
        for opt in opts:
            handled = _apply_re_option(eq, opt, command)
            if level_weight(opt.name, opt.arg, command):
                handled = bool(state["level_weights"].setdefault(eq.level, opt.arg.strip()))
            elif chunk is chunks[-1] and weight_scaling(opt.name, opt.arg, command):
                # after the last equation's comma Stata also reads the command's options
                handled = bool(state.setdefault("pwscale", weight_scaling(opt.name, opt.arg, command)))
            handled = handled or _model_option(opt, state, name, command) or survival_option(opt, state, name, command)
            handled = handled or take_eform(opt, state) or accepted_as_ignored(opt)
            if not handled:
                fail(command, f"unknown option {opt.text!r}")
        if not eq.intercept and not eq.terms:
            fail(command, f"the '{eq.level}:' equation has no effects (noconstant and no variables)")
        randoms.append(eq)
    _check_glm_link(state, command)
    groups = []
    for eq, factor in zip(randoms, _full_factors(randoms), strict=True):
        size = int(eq.intercept) + len(eq.terms)
        cov = eq.covariance or Covariance.INDEPENDENT
        if size == 1:
            cov = Covariance.UNSTRUCTURED  # one effect: every structure is the same model
        groups.append(GroupTerm(factor, eq.intercept, tuple(eq.terms), cov))
    response, metric = survival_response(name, depvars, state, command, time, failure)
    for opt in bayes_options or ():  # bayes, or: melogit ...
        take_eform(opt, state)
    offsets = (state["offset"],) if state.get("offset") else ()
    spec = ModelSpec(
        response=response,
        fixed=FixedPart(intercept=intercept, terms=tuple(fixed_terms), offsets=offsets),
        groups=tuple(groups),
        family=state["family"],
        link=state["link"],
        source=command.strip(),
        subset=combine_subset(all_qualifiers, command),
        metric=eform_metric(state, metric),
        integer_factors=_factor_variables([*fixed_terms, *(t for eq in randoms for t in eq.terms)]),
    )
    factors = [(eq.level, ":".join(f)) for eq, f in zip(randoms, _full_factors(randoms))]
    spec = with_stata_weights(spec, weight, state["level_weights"], factors, state.get("pwscale"))
    return with_residuals(spec, residual), bayes_options
