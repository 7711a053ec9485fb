"""Convergence diagnostics after every fit, with warnings that say what to do.

Thresholds follow Vehtari, Gelman, Simpson, Carpenter & Buerkner (2021) and ArviZ's
``az.diagnose``: rank-normalised split R-hat below 1.01, bulk and tail ESS of at least 100
per chain, E-BFMI of at least 0.3 per chain; any divergent transition is a problem. R-hat and
ESS use ArviZ's estimators computed for all scalars at once (:mod:`.mcmc_stats`); E-BFMI
is ArviZ's.

When the fit's group terms are known (:func:`terms_of`), the advice names them: which term
to switch between the centred and non-centred parameterization, and the prior key and
scale of a tighter sd prior. Divergences are attributed to the term whose log sd in the
divergent draws lies furthest from its mean over all draws (:func:`funnel_of`), and the
side says what to change (Betancourt & Girolami 2015): at *small* sds a centred term is in
the neck of its funnel, and non-centring it (every centred term whose sd is low there)
removes the neck: that is the first advice. Otherwise (the far tail of a non-centred
term's sd, where the data pin its effects, or no term standing out) the first advice is
smaller steps, ``target_accept=0.99`` (it removed the divergences of Oats, Mmmec and the
README's MRP model; 0.95 did not always), then a sd prior; a value already set is never
suggested again, and at 0.99 the advice is to change the model.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import warn_user
from .draw_checks import (
    FUNNEL_SHIFT,
    MAX_TREE_DEPTH,
    STUCK_STEP_RATIO,
    TermInfo,
    convergence_by_variable,
    e_bfmi,
    extreme_value,
    funnel_of,
    monitored,
    sd_shifts,
    stuck_chains,
    treedepth_hits,
)
from .report import wrap_prose

RHAT_MAX = 1.01
ESS_PER_CHAIN = 100
#: kept for callers of the old constant: the bulk-ESS threshold for 4 chains
ESS_MIN = 4 * ESS_PER_CHAIN
BFMI_MIN = 0.3
#: The steps of target_accept the advice suggests, in order (the default is 0.9). One step:
#: 0.95 left 21 divergences (19 at 0.9) on the README's MRP model, all terms non-centred; 0.99 none.
TARGET_ACCEPT_STEPS = (0.99,)


class ConvergenceWarning(UserWarning):
    """The sampler's output shows a problem; the message says what to try."""


@dataclass(frozen=True, eq=False)
class Diagnostics:
    """Sampler health of one fit.

    ``table`` holds, per monitored parameter (variable), the worst R-hat and the smallest
    bulk and tail ESS over its elements; ``problems`` lists each problem with advice.
    """

    divergences: int
    draws: int
    max_r_hat: float
    min_ess_bulk: float
    min_ess_tail: float
    worst_r_hat: str
    worst_ess: str
    min_bfmi: float | None
    max_treedepth_hits: int
    chains: int = 4
    draws_per_chain: int = 0
    funnel_term: str | None = None
    terms: tuple[TermInfo, ...] = ()
    funnel_side: str | None = None  # "small" / "large": where the funnel term's sd diverged
    target_accept: float | None = None  # what the fit ran with, when known
    sd_shift: dict[str, float] = field(default_factory=dict)  # sd_shifts() of the divergent draws
    stuck: tuple[int, ...] = ()  # chains (1-based) whose step size collapsed: stuck_chains()
    table: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    @property
    def ess_min(self) -> int:
        return ESS_PER_CHAIN * self.chains

    @property
    def problems(self) -> list[str]:
        """Problems with advice, empty when the fit looks healthy."""
        out = []
        if self.stuck:
            named = ", ".join(str(c) for c in self.stuck)
            out.append(
                f"chain {named} of {self.chains} did not move: its step size collapsed to under "
                f"{STUCK_STEP_RATIO:g} of the other chains' (it started where the log density is extreme, "
                "and its gradient there is too steep to leave). R-hat and the estimates below mix it "
                "with the others, so they are wrong. Refit with another random_seed; if a chain "
                "sticks again, give priors that rule out implausible values of the parameters it sits at "
                "(fit.posterior.sel(chain=...) shows them)."
            )
        if self.divergences:
            out.append(self._divergence_advice())
        if self.chains < 2:  # R-hat compares chains: one chain has none (nan), not a bad one
            out.append(
                f"R-hat needs at least 2 chains and this fit has {self.chains}: whether the draws "
                "converged is unchecked. Run several chains (fit(chains=4))."
            )
        elif not np.isfinite(self.max_r_hat) or self.max_r_hat > RHAT_MAX:
            # 1.0104 shown as 1.010 read as "1.010 exceeds 1.01": one more digit where rounding hides it
            digits = 3 if round(float(self.max_r_hat), 3) > RHAT_MAX else 4
            value = f"{self.max_r_hat:.{digits}f}" if np.isfinite(self.max_r_hat) else "nan"
            out.append(
                f"R-hat up to {value} (for {self.worst_r_hat or 'a parameter'}) exceeds {RHAT_MAX}: "
                f"the chains disagree. Run longer ({self._longer()}{self._kept_form()}); if it persists, "
                f"the posterior may be multimodal or weakly identified: {self._identification_hint(self.worst_r_hat)}"
                # survival::colon's weibull frailty (2 rows a patient, sd 1.6): non-centred R-hat
                # 1.022, and 1.011 run twice as long; centred 1.007 in less time
                + (f" A sampled group term can also mix slowly in its parameterization: {hint}"
                   if (hint := self._switch_hint()) else "")
            )
        if np.isfinite(self.min_ess_bulk) and self.min_ess_bulk < self.ess_min:
            out.append(
                f"bulk ESS as low as {self.min_ess_bulk:.0f} (for {self.worst_ess}) is below "
                f"{self.ess_min} ({ESS_PER_CHAIN} per chain): posterior means and intervals are "
                f"imprecise. Draw more: {self._more_draws(self.min_ess_bulk)}"
            )
        elif np.isfinite(self.min_ess_tail) and self.min_ess_tail < self.ess_min:
            out.append(
                f"tail ESS as low as {self.min_ess_tail:.0f} is below {self.ess_min}: interval "
                f"limits are imprecise. Draw more: {self._more_draws(self.min_ess_tail)}"
            )
        if self.min_bfmi is not None and self.min_bfmi < BFMI_MIN:
            out.append(
                f"E-BFMI {self.min_bfmi:.2f} below {BFMI_MIN}: the sampler explores the energy "
                + ("poorly, often a funnel between group effects and their sd. " if self.terms else
                   "poorly: parts of the posterior on very different scales, or a chain that did not move. ")
                + (_sentence(self._funnel_fix()) or self._switch_hint()
                   or (f"Run longer ({self._longer()}{self._kept_form()}) or tighten the sd priors." if self._sampled_terms()
                       else "Reparameterize the model or tighten its priors."))
            )
        if self.max_treedepth_hits:
            out.append(
                f"{self.max_treedepth_hits} of {self.draws} transitions hit the maximum tree depth "
                f"({MAX_TREE_DEPTH}): this costs time, not validity. It often means strongly "
                "correlated parameters (collinear predictors: centre or rescale them) or a "
                "parameter the data barely identify (give it a tighter prior)."
            )
        return out

    # --------------------------------------------------------------- advice pieces

    def _sampled_terms(self) -> list[TermInfo]:
        """Terms with sampled group effects (a term integrated out has no funnel)."""
        terms = [t for t in self.terms if t.parameterization != "marginal"]
        if self.funnel_term is not None:
            terms.sort(key=lambda t: t.key != self.funnel_term)
        return terms

    def _switch_hint(self) -> str:
        """The other parameterization of the first sampled term, only where the plan chose
        centred or non-centred: not of a form the user set (ordinal's soup went round in a
        circle: the default's advice said non-centred, R-hat 1.021, whose advice said centred,
        R-hat 1.17, whose advice said non-centred; only running longer worked), nor of an
        adaptive term, which is centred or non-centred group by group already."""
        terms = self._sampled_terms()
        if not terms or terms[0].given or terms[0].parameterization == "adaptive":
            return ""
        t = terms[0]
        other = "centered" if t.parameterization == "noncentered" else "noncentered"
        why = " (the divergent draws sit at small values of its sd)" if t.key == self.funnel_term else ""
        return (
            f"Switch the parameterization of '({t.label})'{why} from {t.parameterization} to "
            f"{other}: Model(..., parameterization={{{t.group!r}: {other!r}}})."
        )

    def _kept_form(self) -> str:
        """', keeping the parameterization you set for ...' when the user set the first
        sampled term's: switching it back and forth is no fix (:meth:`_switch_hint`)."""
        terms = self._sampled_terms()
        if not terms or not terms[0].given:
            return ""
        t = terms[0]
        return f", keeping the {t.parameterization} form you set for '({t.label})'"

    def _identification_hint(self, parameter: str | None) -> str:
        """What to do about chains that disagree beyond running longer. No prior scale is
        proposed: one set from the prior alone, not the posterior, can decide the answer
        (mlmRev's guPrenat: half the default scale moved sd(cluster) from 3.97 to 2.31)."""
        if parameter and parameter.startswith(("mi_", "Ymi_", "Pmi_")):  # missing="model": no prior key to give
            return ("it belongs to the imputation model of a predictor (missing='model'), whose priors are fixed: "
                    "run longer, or compare with missing='drop' to see whether the holes matter.")
        key = next((f"'sd:{t.group}'" for t in self.terms
                    if parameter in (f"sd_{t.key}", f"cor_{t.key}", f"rho_{t.key}", f"re_{t.key}")), None)
        target = key or (repr(parameter) if parameter else "the parameters")
        return (
            f"a prior on {target} that states what is plausible a priori (model.priors has the current "
            "ones) helps, but check with fit.prior_sensitivity() that it does not decide the answer."
        )

    def _prior_hint(self) -> str:
        terms = self._sampled_terms() or list(self.terms)
        if not terms:
            return "use tighter priors (priors={'b': hb.Prior('Normal', mu=0, sigma=...)})."
        t = terms[0]
        scale = f"{t.sd_scale / 2:.3g}" if t.sd_scale else "..."
        return (
            f"use a tighter sd prior for '({t.label})' (now {t.sd_prior}): "
            f"priors={{'sd:{t.group}': hb.Prior('HalfNormal', sigma={scale})}}."
        )

    def _divergence_advice(self) -> str:
        text = (
            f"{self.divergences} divergent transitions out of {self.draws} draws: the posterior has "
            "regions the sampler cannot explore, so the draws may be biased. "
        )
        funnel, step = self._funnel_fix(), self._target_accept_hint()
        # a centred neck needs the other form; a tail or a non-centred term needs smaller steps
        fixes = [funnel, step] if self._centred_neck() else [step, funnel]
        fixes = [f for f in fixes if f]
        if not funnel:
            fixes.append(self._prior_hint()[:-1])
        advice = fixes[0]
        for before, fix in zip(fixes, fixes[1:]):
            advice += (": " if before.endswith("change the model") else "; else ") + fix
        return text + _sentence(advice)

    def _funnel_info(self) -> TermInfo | None:
        return next((t for t in self.terms if t.key == self.funnel_term and t.parameterization != "marginal"), None)

    def _centred_neck(self) -> bool:
        t = self._funnel_info()
        return t is not None and self.funnel_side == "small" and t.parameterization in ("centered", "nested")

    def _funnel_fix(self) -> str:
        """The change that removes the funnel the divergent draws sit in, if they show one."""
        t = self._funnel_info()
        if t is None:
            return ""
        centred = t.parameterization in ("centered", "nested")
        if self._centred_neck():
            # every centred term low in the divergent draws: switching one moves the
            # divergences to the next neck (the README's MRP model: educ, then age and eth)
            necks = [u for u in self.terms if u.parameterization in ("centered", "nested")
                     and self.sd_shift.get(u.key, 0.0) < -FUNNEL_SHIFT]
            given = ", ".join(f"{u.group!r}: 'noncentered'" for u in necks)
            labels = ", ".join(f"'({u.label})'" for u in necks)
            return (
                f"the divergent draws sit at small values of the sd of {labels}, the neck of "
                f"a funnel in the centred form: make {'them' if len(necks) > 1 else 'it'} "
                f"non-centred, Model(..., parameterization={{{given}}})"
            )
        if self.funnel_side == "small":
            return (
                f"the divergent draws sit at small values of the sd of '({t.label})' (already "
                f"non-centred): {self._prior_hint_for(t, tighter=False)}"
            )
        if centred:
            return (
                f"the divergent draws sit at large values of the sd of '({t.label})': "
                + self._prior_hint_for(t)
            )
        return (
            f"the divergent draws sit at large values of the sd of '({t.label})', a tail the "
            f"data barely limit: {self._prior_hint_for(t)}"
        )

    def _target_accept_hint(self) -> str:
        """Raise target_accept to the next step above the value the fit ran with, or say it
        is already high."""
        current = self.target_accept if self.target_accept is not None else 0.9
        higher = [v for v in TARGET_ACCEPT_STEPS if v > current + 1e-9]
        if higher:
            return f"raise target_accept (now {current:g}): fit(target_accept={higher[0]:g})"
        return f"with target_accept already at {current:g}, smaller steps rarely get further: change the model"

    def _prior_hint_for(self, t: TermInfo, tighter: bool = True) -> str:
        if not tighter:  # a boundary-avoiding prior (Chung et al. 2013): mode at half the scale
            beta = f"{2.0 / t.sd_scale:.3g}" if t.sd_scale else "..."
            return (
                f"its sd is weakly identified; a prior that keeps it off 0 helps: "
                f"priors={{'sd:{t.group}': hb.Prior('Gamma', alpha=2, beta={beta})}}"
            )
        scale = f"{t.sd_scale:.3g}" if t.sd_scale else "..."
        return (
            f"a sd prior with a lighter tail cuts it (now {t.sd_prior}): "
            f"priors={{'sd:{t.group}': hb.Prior('HalfNormal', sigma={scale})}}"
        )

    def _longer(self) -> str:
        per_chain = self.draws_per_chain or 1000
        return f"fit(tune={max(2000, 2 * per_chain)}, draws={max(2000, 2 * per_chain)})"

    def _more_draws(self, ess: float) -> str:
        per_chain = self.draws_per_chain or 1000
        # half again as many as proportion says: an ESS this low is itself uncertain (ordinal's soup,
        # nested: ESS 254 at 1,000 draws, 394 at the 1,600 proportion asked for, R-hat 1.014)
        need = int(math.ceil(1.5 * per_chain * self.ess_min / max(ess, 1.0) / 100.0) * 100)
        return f"fit(draws={max(need, per_chain + 100)}) or more chains."

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        head = (
            f"divergences: {self.divergences}   max R-hat: {self.max_r_hat:.3f}   "
            f"min bulk ESS: {self.min_ess_bulk:.0f}   min tail ESS: {self.min_ess_tail:.0f}"
        )
        if self.min_bfmi is not None:
            head += f"   min E-BFMI: {self.min_bfmi:.2f}"
        if self.max_treedepth_hits:
            head += f"   max tree depth hits: {self.max_treedepth_hits}"
        return "\n".join(part for line in (head, *(f"  ! {p}" for p in self.problems)) for part in wrap_prose(line))

    def __repr__(self) -> str:  # the dataclass's field dump is unreadable in a terminal / IPython
        return str(self)

    def _repr_html_(self) -> str:
        import html

        items = "".join(f"<li>{html.escape(p)}</li>" for p in self.problems)
        head = html.escape(str(self).split("\n")[0])
        return f"<div><b>Diagnostics</b>: {head}" + (f"<ul>{items}</ul>" if items else " (no problems)") + "</div>"


def _sentence(text: str) -> str:
    return text[0].upper() + text[1:] + "." if text else ""


def diagnose(idata: xr.DataTree, terms: Sequence[TermInfo] = (), target_accept: float | None = None) -> Diagnostics:
    """Compute divergences, R-hat, ESS, E-BFMI and tree-depth hits of a fit's DataTree.

    Parameters
    ----------
    idata : xarray.DataTree
        With ``posterior`` and (for divergences, E-BFMI, tree depth) ``sample_stats``.
    terms : sequence of TermInfo, optional
        The model's group terms (:func:`terms_of`); the advice then names them.
    target_accept : float, optional
        The value the fit ran with; the advice never suggests it again.
    """
    post = idata.posterior.to_dataset()
    rhat, ess_b, ess_t = convergence_by_variable(post, monitored(post))
    table = pd.DataFrame({"r_hat": rhat, "ess_bulk": ess_b, "ess_tail": ess_t})
    table.index.name = "parameter"
    max_rhat, worst_r = extreme_value(rhat, "max")
    min_ess, worst_e = extreme_value(ess_b, "min")
    min_ess_t, _ = extreme_value(ess_t, "min")
    stats = idata.sample_stats.to_dataset() if "sample_stats" in idata.children else xr.Dataset()
    diverging = stats["diverging"].transpose("chain", "draw").values.astype(bool) if "diverging" in stats else None
    bfmi = None
    if "energy" in stats:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            values = e_bfmi(stats["energy"].transpose("chain", "draw").values)
        values = values[np.isfinite(values)]
        bfmi = float(values.min()) if values.size else None
    stuck = stuck_chains(stats["step_size"].transpose("chain", "draw").values) if "step_size" in stats else ()
    shifts = sd_shifts(post, diverging, terms)
    funnel = funnel_of(shifts)
    return Diagnostics(
        divergences=int(diverging.sum()) if diverging is not None else 0,
        draws=int(post.sizes["chain"] * post.sizes["draw"]),
        max_r_hat=max_rhat,
        min_ess_bulk=min_ess,
        min_ess_tail=min_ess_t,
        worst_r_hat=worst_r,
        worst_ess=worst_e,
        min_bfmi=bfmi,
        max_treedepth_hits=treedepth_hits(stats),
        chains=int(post.sizes["chain"]),
        draws_per_chain=int(post.sizes["draw"]),
        funnel_term=funnel[0],
        funnel_side=funnel[1],
        sd_shift=shifts,
        stuck=stuck,
        target_accept=target_accept,
        terms=tuple(terms),
        table=table,
    )


def warn_problems(diag: Diagnostics) -> None:
    """One ConvergenceWarning per problem, pointing at the user's line (the ``fit()`` call)."""
    for problem in diag.problems:
        warn_user(problem, ConvergenceWarning)
