"""Stata's ``bayes`` prefix: priors and sampler options translated for hierbayes.

``bayes, prior({gcse:lrt}, normal(0, 100)) mcmcsize(2000) rseed(1): mixed gcse lrt || school:``
gives the spec of the command, ``priors={"b:lrt": Prior("Normal", mu=0, sigma=10)}`` and
``fit_options={"draws": 2000, "random_seed": 1}``.

Translations (Stata's distributions take a *variance* where hierbayes takes an sd):

=================================  ================================================
Stata                              hierbayes
=================================  ================================================
``prior({y:x}, normal(m, v))``     ``"b:x": Normal(mu=m, sigma=sqrt(v))``
``prior({y:_cons}, ...)``          ``"Intercept"`` (see the note below)
``prior({y:}, ...)``               ``"b"`` and ``"Intercept"`` (every coefficient)
``t(m, s2, df)``                   ``StudentT(nu=df, mu=m, sigma=sqrt(s2))``
``cauchy(loc, scale)``             ``Cauchy(alpha=loc, beta=scale)``
``normalprior(sd)``                ``"b"`` and ``"Intercept"``: ``Normal(0, sd)``
``mcmcsize(n)`` ``burnin(n)``      ``draws=n``, ``tune=n`` (per chain)
``rseed(n)`` ``nchains(n)``        ``random_seed=n``, ``chains=n``
=================================  ================================================

Refused, naming the option: priors on variances (``{sigma2}``, ``{var_...}``,
``igammaprior()``: hierbayes puts priors on standard deviations, keys ``"sd:..."`` and
``"sigma"``), distributions without an equivalent (``flat``, ``uniform``, ``jeffreys``, ...),
priors on factor-level coefficients (``{y:2.a}``: give the hierbayes key, e.g.
``"b:C(a)[2]"``) and options of Stata's Metropolis-Hastings sampler (``thinning``,
``block``, ``gibbs``, ``initial``, ``adaptation``, ...). Display options are ignored.
Without ``normalprior`` or ``prior``, hierbayes' default priors are used (not Stata's
``normal(0, 10000)``). hierbayes puts the intercept prior on centred predictors; Stata's
``_cons`` prior is on the raw intercept, the same thing when the predictors have mean 0;
:meth:`StataCommand.model` warns, with the means, when they do not.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .errors import warn_user
from .model import Model
from .priors import Prior
from .spec.ir import ModelSpec
from .spec.stata import BAYES_DISPLAY_OPTIONS, StataOption, parse_stata
from .spec.stata_options import display_note
from .spec.stata_qualifiers import fail, split_top

__all__ = ["StataCommand", "read_stata"]

_SAMPLER = {"mcmcsize": "draws", "burnin": "tune", "rseed": "random_seed", "nchains": "chains"}
_MH_ONLY = (
    "thinning", "block", "gibbs", "initial", "initrandom", "initsummary", "adaptation",
    "scale", "covariance", "exclude", "restubs", "dryrun", "saving", "noisily", "init",
    "blocksummary", "nomleinitial", "mcmcmodel",
)


@dataclass(frozen=True)
class StataCommand:
    """A Stata command read by :func:`read_stata`.

    spec : the model (as :func:`hierbayes.from_stata` gives it).
    priors : prior overrides for :class:`hierbayes.Model` (``priors=``).
    fit_options : arguments for :meth:`hierbayes.Model.fit` (draws, tune, chains, random_seed).
    """

    spec: ModelSpec
    priors: dict[str, Prior] = field(default_factory=dict)
    fit_options: dict[str, int] = field(default_factory=dict)

    def model(self, data: pd.DataFrame, **kwargs: Any) -> Model:
        """``hierbayes.Model(spec, data, priors=priors, **kwargs)``; warns when a ``_cons``
        prior meets predictors whose means are not 0 (see :func:`warn_constant_prior`)."""
        model = Model(self.spec, data, priors=self.priors, **kwargs)
        if "Intercept" in self.priors:
            warn_constant_prior(model, self.priors["Intercept"])
        return model

    def fit(self, data: pd.DataFrame, **fit_kwargs: Any):
        """Build the model and fit it with ``fit_options`` (``fit_kwargs`` win)."""
        return self.model(data).fit(**{**self.fit_options, **fit_kwargs})


def warn_constant_prior(model: Model, prior: Prior) -> None:
    """Stata's ``_cons`` is the intercept at predictors 0; hierbayes' ``Intercept`` prior is on
    the intercept at the predictors' means. Warn, with those means, when they differ (Oxboys'
    ``prior({height:_cons}, normal(100, 0.01))`` held the height at mean Occasion 5, not 1..9's 0)."""
    design = model.design
    names = [n for n in design.fixed_names if n != "Intercept"]
    if not names:
        return
    X = design.X[:, [design.fixed_names.index(n) for n in names]]
    means = X.mean(axis=0)
    off = [(n, m) for n, m in zip(names, means, strict=True) if abs(m) > 1e-8 * (1 + abs(X).max())]
    if not off:
        return
    shown = ", ".join(f"{n} = {m:.4g}" for n, m in off[:5]) + (", ..." if len(off) > 5 else "")
    warn_user(
        f"the prior {prior} on _cons: in Stata it is the intercept at predictors 0, but hierbayes puts its "
        f"Intercept prior on the intercept at the predictors' means ({shown}), a different quantity unless "
        "the prior is vague. For Stata's meaning, centre those predictors before fitting (then both are the "
        "intercept at 0), or state the prior for the mean response as priors={'Intercept': ...}"
    )


def _numbers(text: str, option: str, command: str) -> list[float]:
    try:
        return [float(v) for v in re.split(r"[,\s]+", text.strip()) if v]
    except ValueError:
        fail(command, f"{option}: expected numbers, found {text!r}")


def _distribution(text: str, option: str, command: str) -> Prior:
    m = re.fullmatch(r"\s*([A-Za-z]+)\s*(?:\((.*)\))?\s*", text)
    name = m.group(1).lower() if m else text.strip()
    args = _numbers(m.group(2) or "", option, command) if m else []
    if name == "normal" and len(args) == 2 and args[1] > 0:
        return Prior("Normal", mu=args[0], sigma=math.sqrt(args[1]))
    if name == "t" and len(args) == 3 and args[1] > 0:
        return Prior("StudentT", nu=args[2], mu=args[0], sigma=math.sqrt(args[1]))
    if name == "cauchy" and len(args) == 2:
        return Prior("Cauchy", alpha=args[0], beta=args[1])
    if name in ("normal", "t", "cauchy"):
        fail(command, f"{option}: {name}() needs {'2' if name != 't' else '3'} numbers "
                       f"(normal(mean, variance), t(mean, variance, df), cauchy(location, scale))")
    fail(
        command,
        f"{option}: the distribution {name!r} has no hierbayes equivalent for coefficients; "
        f"use normal(mean, variance), t(mean, variance, df) or cauchy(location, scale)",
    )


def _coefficient_keys(spec: ModelSpec, params: str, option: str, command: str) -> list[str]:
    groups = re.findall(r"\{([^{}]*)\}", params)
    if not groups or re.sub(r"\{[^{}]*\}", "", params).strip():
        fail(command, f"{option}: expected parameters in braces, as {{{spec.response.expr}:x}}")
    keys: list[str] = []
    for group in groups:
        equation, colon, names = group.partition(":")
        equation = equation.strip()
        if not colon or equation != spec.response.expr:
            fail(
                command,
                f"{option}: only priors on the regression coefficients ({{{spec.response.expr}:x}}, "
                f"{{{spec.response.expr}:_cons}}, {{{spec.response.expr}:}}) translate; {{{group}}} is "
                f"not one (hierbayes sets priors on sds, not variances: keys 'sd:...' and 'sigma' "
                f"of Model(priors=...))",
            )
        words = names.split()
        if not words:
            keys += ["b", "Intercept"] if spec.fixed.terms else ["Intercept"]
        for word in words:
            keys.append(_coefficient_key(spec, word, option, command))
    return keys


def _coefficient_key(spec: ModelSpec, word: str, option: str, command: str) -> str:
    if word in ("_cons", "cons"):
        if not spec.fixed.intercept:
            fail(command, f"{option}: the model has no constant (noconstant)")
        return "Intercept"
    term = ":".join(part.removeprefix("c.") for part in word.split("#"))
    if term in spec.fixed.terms:
        return f"b:{term}"
    if re.search(r"(^|#)(\d+|i|ib\d*)\.", word):
        fail(
            command,
            f"{option}: {word!r} is a factor-level coefficient; give its prior with the "
            f"hierbayes key of its column (e.g. 'b:C(a)[2]', listed by Model(...).priors)",
        )
    fail(command, f"{option}: {word!r} is not a coefficient of the model; coefficients: "
                   f"{['_cons', *spec.fixed.terms] if spec.fixed.intercept else list(spec.fixed.terms)}")


def _translate(spec: ModelSpec, options: tuple[StataOption, ...], command: str) -> StataCommand:
    priors: dict[str, Prior] = {}
    fit_options: dict[str, int] = {}
    for opt in options:
        if opt.name in BAYES_DISPLAY_OPTIONS:
            note = display_note(opt)
            if note is not None:
                warn_user(note)
            continue
        if opt.name == "prior":
            pieces = split_top(opt.arg or "", ",", maxsplit=1)
            if len(pieces) != 2 or "{" not in pieces[0]:
                fail(command, f"{opt.text}: expected prior({{{spec.response.expr}:x}}, normal(0, 100))")
            keys = _coefficient_keys(spec, pieces[0], opt.text, command)
            prior = _distribution(pieces[1], opt.text, command)
            priors.update(dict.fromkeys(keys, prior))
        elif opt.name == "normalprior":
            (sd,) = _numbers(opt.arg or "", opt.text, command) or [float("nan")]
            if not sd > 0:
                fail(command, f"{opt.text}: give the standard deviation, a positive number")
            priors.setdefault("b", Prior("Normal", mu=0.0, sigma=sd))
            priors.setdefault("Intercept", Prior("Normal", mu=0.0, sigma=sd))
        elif opt.name == "igammaprior":
            fail(command, f"{opt.text}: inverse-gamma priors on variances have no hierbayes "
                           f"equivalent; hierbayes sets priors on sds (keys 'sd' and 'sigma', e.g. "
                           f"hb.Prior('HalfStudentT', nu=3, sigma=10))")
        elif opt.name in _SAMPLER:
            value = opt.arg.strip() if opt.arg else ""
            if not re.fullmatch(r"\d+", value) or (opt.name != "rseed" and int(value) < 1):
                fail(command, f"{opt.text}: expected a positive whole number")
            fit_options[_SAMPLER[opt.name]] = int(value)
        elif opt.name in _MH_ONLY:
            fail(command, f"{opt.text}: an option of Stata's Metropolis-Hastings sampler; "
                           f"hierbayes samples with NUTS and has no equivalent")
        else:
            fail(command, f"unknown bayes option {opt.text!r}")
    return StataCommand(spec, priors, fit_options)


def read_stata(command: str, *, time: str | None = None, failure: str | None = None) -> StataCommand:
    """Read a Stata command, with the priors and sampler options of its ``bayes`` prefix.

    Parameters
    ----------
    command : str
        A command :func:`hierbayes.from_stata` reads, optionally prefixed with ``bayes:`` or
        ``bayes, options:`` (see the module docstring for the translated options).
    time, failure : str, optional
        ``mestreg``'s survival-time and failure variables (as for :func:`hierbayes.from_stata`).

    Returns
    -------
    StataCommand
        ``spec``, ``priors`` (for ``Model(priors=...)``) and ``fit_options`` (for ``fit()``);
        ``StataCommand.model(data)`` and ``StataCommand.fit(data)`` use them.

    Raises
    ------
    SpecError
        For every option without an equivalent, naming it.

    Examples
    --------
    >>> cmd = read_stata("bayes, prior({y:x}, normal(0, 100)) rseed(1): mixed y x || g:")
    >>> cmd.priors, cmd.fit_options
    ({'b:x': Prior(dist='Normal', params=(('mu', 0.0), ('sigma', 10.0)))}, {'random_seed': 1})
    """
    spec, options = parse_stata(command, time=time, failure=failure)
    return _translate(spec, options or (), command)

