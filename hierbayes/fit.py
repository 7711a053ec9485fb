"""The Fit: posterior draws plus the model that made them, read through lme4-style tables.

A user object (top layer): its methods call the plain-data functions of
:mod:`hierbayes.results` and :mod:`hierbayes.predict` and bind plots to what they return.

Size: the one object users call every result through; its methods are delegations of a few lines, one API.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pandas as pd
import xarray as xr

from . import plots
from .configuration import BuiltModel, ModelConfig
from .design.types import Design
from .errors import SamplingError, SpecError, checks_prob, refuse_unknown_arguments
from .families import get_family
from .params import block_names
from .predict import compare, conditional, fitted, hypothesis, margins, mrp, ppc, sensitivity, summed_loglik, survival
from .predict.imputed import imputation_lines
from .predict.imputed import imputed as imputed_values
from .predict.loglik import holds_rows, log_likelihood_group, stored_in_idata
from .predict.logo import logo as leave_group_out
from .predict.predict import predict as predict_rows
from .predict.predictions import warn_new_levels
from .predict.r2 import r2 as bayes_r2
from .predict.rside_conditional_predict import conditional_predict
from .priors import PriorTable
from .refit import update as refit
from .results import distributional, tables
from .results.diagnostics import Diagnostics, diagnose
from .results.draw_checks import terms_of
from .results.fitfile import fit_metadata, used_columns, write_fit_file
from .results.icc_levels import ancestors_of
from .results.report import Section, Summary, equation_sections, fixed_section, icc_section, varcorr_section
from .results.weights_adjust import adjusted_posterior
from .spec.ir import ModelSpec
from .spec.terms import r_power_text

#: Groups of ``fit.idata`` recomputed exactly from the draws, spec and data when read: ``fit.save`` leaves them out.
RECOMPUTED_GROUPS = ("log_likelihood",)
#: predict()'s arguments, and lme4's / brms' spellings of them with how their values translate
PREDICT_ARGUMENTS = ("newdata", "kind", "groups", "new_groups", "n_mc", "ndraws", "random_seed", "conditional")
PREDICT_ALIASES = {"re_form": "groups", "re.form": "groups", "allow_new_levels": "new_groups", "type": "kind",
                   "new_data": "newdata", "seed": "random_seed"}
PREDICT_ADVICE = (" (lme4's re.form = NA is groups='exclude', NULL groups='include', ~(1|g) groups='~(1|g)'; "
                  "allow.new.levels = TRUE is new_groups='sample', FALSE new_groups='error'; "
                  "type='response' is kind='mean', type='link' kind='linear', and kind='response' draws new observations)")


@dataclass(frozen=True)
class SamplingInfo:
    """How the draws were made."""

    sampler: str
    draws: int
    tune: int
    chains: int
    wall_seconds: float
    sampling_seconds: float | None
    parameterization: dict[str, str] = field(default_factory=dict)
    random_seed: int | None = None
    target_accept: float | None = None
    progressbar: bool = True


class FittedModel(Protocol):
    """What a Fit needs of its model (:class:`hierbayes.Model` provides it)."""

    config: ModelConfig
    built: BuiltModel
    spec: ModelSpec
    data: pd.DataFrame
    design: Design
    priors: PriorTable

    def with_data(self, data) -> FittedModel: ...

    def with_config(self, data=None, **changes) -> FittedModel: ...


@checks_prob
class Fit:
    """A fitted model.

    Tables (``fixef``, ``ranef``, ``coef``, ``varcorr``, ``icc``) are computed from
    ``idata`` (an ``xarray.DataTree`` as ArviZ uses) and the ModelSpec only. ``model`` is the
    :class:`hierbayes.Model` that made the fit; it keeps the data encoders for predictions.
    """

    def __init__(self, idata: xr.DataTree, model: FittedModel, info: SamplingInfo) -> None:
        self._idata = idata
        self.model = model
        self.info = info
        self._sampled = idata  # the draws the diagnostics describe, even if fit.idata is replaced
        self._diagnostics: Diagnostics | None = None

    @property
    def diagnostics(self) -> Diagnostics:
        """Divergences, R-hat, ESS and E-BFMI of the draws (:func:`hierbayes.results.diagnostics.diagnose`),
        computed on first use and kept (``Model.fit`` reads them at once to warn of problems;
        a loaded fit reads them only when asked)."""
        if self._diagnostics is None:
            self._diagnostics = diagnose(
                self._sampled, terms_of(self.model, self.info.parameterization), target_accept=self.info.target_accept
            )
        return self._diagnostics

    @property
    def idata(self) -> xr.DataTree:
        """The draws as ArviZ's DataTree, for anything else (``az.loo(fit.idata)`` included).

        The pointwise log-likelihood group is computed on first access (about 0.3 s per 10^7
        values; PyMC and bambi leave it out by default), unless it would hold more than
        ``hierbayes.predict.loglik.MAX_STORED_ELEMENTS`` values; ``fit.loo()`` computes it anyway."""
        if "log_likelihood" not in self._idata.children:
            post = self._idata.posterior
            design = self.model.design
            if holds_rows(design) and stored_in_idata(post.sizes["chain"] * post.sizes["draw"], design.n_obs):
                self._idata["log_likelihood"] = log_likelihood_group(self.posterior, self.spec, self.model.design)
        return self._idata

    @idata.setter
    def idata(self, tree: xr.DataTree) -> None:
        self._idata = tree

    def stored_idata(self, log_likelihood: bool = False) -> xr.DataTree:
        """The DataTree that :meth:`save` writes: every group held except those recomputed on
        demand (:data:`RECOMPUTED_GROUPS`, the pointwise log-likelihood), which is computed
        and included only with ``log_likelihood=True``."""
        if log_likelihood:
            compare.log_likelihood(self)  # attaches it, whatever its size
            return self._idata.copy()
        keep = {f"/{name}": child.to_dataset() for name, child in self._idata.children.items()
                if name not in RECOMPUTED_GROUPS}
        tree = xr.DataTree.from_dict(keep)
        tree.attrs = dict(self._idata.attrs)
        return tree

    @property
    def spec(self) -> ModelSpec:
        return self.model.spec

    @property
    def posterior(self) -> xr.Dataset:
        return self._idata.posterior.to_dataset()

    @property
    def formula(self) -> str:
        """The fitted lme4 formula, terms expanded, powers written ``^`` as R prints them."""
        return r_power_text(self.spec.to_formula())

    @property
    def nobs(self) -> int:
        """Rows of the data used (lme4's ``nobs``; the original rows of collapsed cells)."""
        return fitted.nobs(self.model.built)

    @property
    def ngroups(self) -> dict[str, int]:
        """Levels per grouping factor (lme4's ``ngrps``)."""
        return fitted.ngroups(self.model.built)

    def fitted(self, kind: str = "mean", prob: float = 0.95, summary: bool = True, ndraws: int | None = None):
        """Posterior mean, sd and interval of each training row's expected response
        (``kind="mean"``) or linear predictor (``"linear"``), as brms' ``fitted()``; draws
        with ``summary=False``. See :func:`hierbayes.predict.fitted.fitted`."""
        return fitted.fitted(self.posterior, self.model.built, kind=kind, prob=prob, summary=summary, ndraws=ndraws)

    def residuals(self, kind: str = "response", prob: float = 0.95, summary: bool = True,
                  ndraws: int | None = None):
        """Residuals y - E[y] (``kind="response"``), Pearson (``"pearson"``) or, with a residual
        structure, whitened within groups (``"normalized"``, nlme's) residuals of
        each training row, as brms' ``residuals()``. See :func:`hierbayes.predict.fitted.residuals`."""
        return fitted.residuals(self.posterior, self.model.built, kind=kind, prob=prob, summary=summary, ndraws=ndraws)

    def update(self, formula: str | None = None, data=None, priors=None, **kwargs) -> Fit:
        """Refit with a changed formula, data, priors, Model arguments or sampler settings
        (lme4's / brms' ``update()``).

        ``formula`` is a new formula or an R-style edit (``". ~ . + x"``, ``". ~ . - x"``,
        ``"log(.) ~ ."``); ``priors`` are merged into the old overrides (a value None drops
        one); ``residuals=`` and ``sigma=`` (any modelled family parameter) replace, or with
        None drop, the residual structure and the sub-model; everything not given is kept.
        See :mod:`hierbayes.refit`."""
        return refit(self, formula, data, priors, **kwargs)

    def fixef(self, prob: float = 0.95, exponentiate: bool | None = None, dpar: str | None = None,
              metric: str | None = None) -> pd.DataFrame:
        """Fixed effects: one row per term (index), with mean, sd, median, the ``prob``
        equal-tailed interval (``lower``, ``upper``), ``r_hat``, ``ess_bulk``, ``ess_tail``.

        Coefficients are on the link scale; ``exponentiate=True`` summarises exp(draws):
        odds ratios (logit), incidence-rate ratios (poisson, negbinomial), hazard ratios
        (cloglog), named in ``attrs["estimate"]``. ``dpar="sigma"``: the coefficients of
        the formula of a family parameter (``Model(..., sigma="~ x")``), on its log scale.
        ``metric`` (survival families): "aft" log time, "hr" hazard ratios, "loghr" log
        hazard ratios (weibull, exponential); default ``spec.metric`` (Stata's mestreg: "hr";
        its ``or``/``irr``: "eform", then ``exponentiate=None`` is True, else False)."""
        if dpar is not None:
            return distributional.aux_fixef(self.posterior, self.spec, dpar, prob)
        return tables.fixef(self.posterior, prob, spec=self.spec, exponentiate=exponentiate, metric=metric)

    def ranef(self, prob: float = 0.95) -> dict[str, pd.DataFrame]:
        """Group effects (deviations from the fixed effects) per grouping factor: one row per
        level, columns ``(term, statistic)``."""
        return tables.ranef(self.posterior, self.spec, prob)

    def coef(self, prob: float = 0.95) -> dict[str, pd.DataFrame]:
        """Group-specific coefficients (fixed + group effect) per grouping factor."""
        return tables.coef(self.posterior, self.spec, prob)

    def varcorr(self, prob: float = 0.95, dpar: str | None = None) -> pd.DataFrame:
        """Group-level sds and correlations, the residual sd (group "Residual") and a family's other
        parameters (group "Family": shape, nu, phi): columns group, term, mean, sd, median, lower, upper,
        r_hat, ess_bulk, ess_tail (``dpar="sigma"``: a family parameter's formula, on its log scale)."""
        if dpar is not None:
            return distributional.aux_varcorr(self.posterior, self.spec, dpar, prob)
        return tables.varcorr(self.posterior, self.spec, prob)

    def icc(self, prob: float = 0.95) -> pd.DataFrame:
        """Intraclass correlations per grouping factor: the variance share of every factor
        and, for nested factors, the conditional ICC that Stata's ``estat icc`` reports
        (see :func:`tables.icc`); nesting is read from the terms and from the data."""
        design = self.model.design
        offset = getattr(design, "offset", None)  # the mean includes an exposure's log
        return tables.icc(self.posterior, self.spec, prob, nested_in=ancestors_of(self.spec, getattr(design, "groups", ())),
                          mean_offset=0.0 if offset is None else float(offset.mean()))

    def adjust_intervals(self) -> Fit:
        """The fit with its fixed effects, family parameters (sigma, ...) and group sds moved to
        the sandwich covariance of a weighted pseudo-posterior (Williams & Savitsky; gaussian
        models with one group term, other families with one random intercept:
        :mod:`hierbayes.results.weights_adjust`); the summary says so."""
        tree = self._idata.copy()
        tree["posterior"] = xr.DataTree(adjusted_posterior(self.posterior, self.model.design))
        if "log_likelihood" in tree.children:
            del tree["log_likelihood"]
        return Fit(tree, self.model, self.info)

    def diagnose(self) -> Diagnostics:
        """Divergences, R-hat, ESS and E-BFMI with advice for each problem."""
        return self.diagnostics

    def summary(self, prob: float = 0.95, exponentiate: bool | None = None, metric: str | None = None) -> Summary:
        """A report like lme4's ``summary()`` / Stata's ``mixed`` table; ``exponentiate=True``: odds /
        incidence-rate ratios (None: if the Stata command said ``or``/``irr``); ``metric`` ("aft", "hr",
        "loghr"): a survival model's scale (default ``spec.metric``: mestreg's hazard ratios, else log time)."""
        spec = self.spec
        family = get_family(spec.family)
        design = self.model.design
        groups = ", ".join(f"{b.group} ({b.n_levels})" for b in design.groups) or "none"
        prior = self.info.sampler == "prior"  # backend="prior": no data, nothing to converge
        rd = getattr(design, "residuals", None)
        if not design.groups and rd is not None:
            groups = f"none (residuals correlated within {rd.structure.group}: {rd.n_groups})"
        header = (
            f"Formula: {r_power_text(spec.to_formula())}",
            *(f"  {name} {sub.to_formula()}" for name, sub in spec.distributional),
            f"Family: {spec.family} (link: {family.resolve_link(spec.link)})",
            *((f"Response: {design.response_coding}",) if getattr(design, "response_coding", None) else ()),
            *((f"Offset: {' + '.join(spec.fixed.offsets)} (coefficient fixed at 1)",) if spec.fixed.offsets else ()),
            f"Observations: {getattr(design, 'n_rows', design.n_obs)}   Groups: {groups}",
            *((f"Rows used: those where {spec.subset} (Stata if/in)",) if spec.subset else ()),
            *((design.describe(),) if hasattr(design, "describe") else ()),
            *((design.weights.describe(),) if getattr(design, "weights", None) is not None else ()),
            *((design.censoring.describe(),) if getattr(design, "censoring", None) is not None else ()),
            *(imputation_lines(design)),
            f"Sampler: {self.info.sampler}, {self.info.chains} chains x {self.info.draws} draws "
            + ("from the prior (backend='prior': the data are not used)" if prior else
               f"(tune {self.info.tune}{'' if (ta := self.info.target_accept) is None else f', target_accept {ta:g}'}"
               f"), {self.info.wall_seconds:.1f} s"),
            *self._parameterization_line(),
            f"Intervals: {tables.interval_label(prob)}",
            *((f"Interval adjustment: {note}",) if (note := self.posterior.attrs.get("interval_adjustment")) else ()),
        )
        sections = list(self.model_sections(prob, exponentiate=exponentiate, metric=metric))
        checked, sensitivity = self._sensitivity_sections() if not prior else ((), [])
        sections += sensitivity
        footer = ("Diagnostics: none for independent prior draws",) if prior else ("Diagnostics: " + str(self.diagnostics), *checked)
        return Summary(header, tuple(sections), footer)

    def prior_sensitivity(self, threshold: float = 0.05) -> pd.DataFrame:
        """Power-scaling prior and likelihood sensitivity of the fixed effects, group sds and
        family parameters, with a diagnosis per parameter (priorsense's; see
        :func:`hierbayes.predict.sensitivity.prior_sensitivity`)."""
        cached = getattr(self, "_sensitivity", None)
        if cached is None or cached.attrs.get("threshold") != threshold:
            design = self.model.design
            # a gaussian sum needs no pointwise log-likelihood: not made for it (fit.loo() makes it when asked)
            tree = self._idata if summed_loglik.sums_without_rows(self.spec, design) else self.idata
            cached = sensitivity.prior_sensitivity(tree, self.spec, design, self.model.priors, threshold)
            self._sensitivity = cached
        return cached.copy()

    def _sensitivity_sections(self) -> tuple[tuple[str, ...], list[Section]]:
        """(footer note, sections): a section naming the parameters a default prior decides,
        none when no default prior does; a note instead when the data are too large to check
        in passing (then fit.prior_sensitivity() checks them)."""
        post = self._idata.posterior
        if not holds_rows(self.model.design):
            return ("Prior sensitivity: not available (fitted from per-group cross-products)",), []
        size = post.sizes["chain"] * post.sizes["draw"] * self.model.design.n_obs
        if size > sensitivity.SUMMARY_MAX_ELEMENTS and getattr(self, "_sensitivity", None) is None:
            return (f"Prior sensitivity: not checked here ({size:.2g} log-likelihood values); "
                    "fit.prior_sensitivity() checks it",), []
        try:
            flagged = sensitivity.dominated_by_default(self.prior_sensitivity())
        except SamplingError as exc:  # a stuck chain: the diagnostics above already say so
            return (f"Prior sensitivity: not available ({exc})",), []
        if not len(flagged):
            return (), []
        table = flagged.reset_index()[["parameter", "prior", "likelihood", "diagnosis", "key"]]
        table[["prior", "likelihood"]] = table[["prior", "likelihood"]].round(3)
        return (), [Section("Prior sensitivity (power-scaling)", table, sensitivity.advice(flagged))]

    def _parameterization_line(self) -> tuple[str, ...]:
        """How each group term was sampled: centered, noncentered, marginal (integrated out and drawn
        afterwards) or nested (centred on the term it is nested in); override with Model(parameterization=...)."""
        chosen = self.info.parameterization
        rs = self.spec.residuals
        lines = ("Residuals: " + rs.describe() + _time_unit_note(rs),) if rs is not None else ()
        rd = getattr(self.model.design, "residuals", None)
        if rd is not None and rd.sd_levels:
            st = rd.structure
            name = ":".join(n for n in ((st.by if rd.by_levels else None), (st.time if rd.time_levels else None)) if n)
            reference = f"{name}={rd.sd_levels[0]}" if name else rd.sd_levels[0]
            lines = (f"{lines[0]}; sd(Residual) is the sd at {reference}, sigma_ratio(level) = "
                     "the level's sd / that sd, sigma(level) the level's sd",)
        if not chosen:
            return lines
        group_of = {names.key: term.group + term.covariance_label() for term, names in zip(self.spec.groups, block_names(self.spec))}
        return ("Parameterization: " + ", ".join(f"{group_of.get(k, k)} {v}" for k, v in chosen.items()), *lines)

    def model_sections(self, prob: float, exponentiate: bool | None = None, metric: str | None = None) -> list[Section]:
        fixed = self.fixef(prob, exponentiate=exponentiate, metric=metric)
        levels = self.spec.levels
        out = [fixed_section(fixed)] if levels is None else equation_sections(levels, fixed)
        varcorr = self.varcorr(prob)
        if len(varcorr):  # group sds, the residual sd or the family's own parameters
            out.append(varcorr_section(varcorr))
        out += distributional.aux_sections(self.posterior, self.spec, prob)
        if self.spec.groups:
            try:
                out.append(icc_section(self.icc(prob)))
            except SpecError:  # a family without an ICC definition: leave the section out
                pass
        return out

    def save(self, path, *, log_likelihood: bool = False) -> None:
        """Save draws, spec, priors and training data to one compressed netCDF file
        (atomically, with a checksum).

        The pointwise log-likelihood is left out (a loaded fit recomputes it exactly when
        ``loo()`` or ``idata`` asks); ``log_likelihood=True`` stores it too."""
        model = self.model
        meta = fit_metadata(model.config, dataclasses.asdict(self.info))
        data = model.data[used_columns(model.spec, model.data)]
        write_fit_file(path, self.stored_idata(log_likelihood=log_likelihood), meta, data)

    def poststratify(self, table, by=None, *, new_groups: str = "sample", random_seed=None):
        """MRP: poststratified estimates for subgroups of a population table.

        ``table`` is a :class:`hierbayes.Poststrat`; ``by`` a column, a list of columns or
        None for the whole population. Returns a :class:`~hierbayes.predict.mrp.PoststratResult`
        (``.draws``, ``.summary(prob)``, ``.notes``); see
        :func:`hierbayes.predict.mrp.poststratify`.
        """
        return mrp.poststratify(self, table, by, new_groups=new_groups, random_seed=random_seed)

    def predict(self, newdata=None, *, kind: str = "mean", groups: str | list[str] = "include",
                new_groups: str | None = None, n_mc: int = 128, ndraws: int | None = None, random_seed=None,
                conditional: bool = False, **unknown):
        """Predictions for new rows (or the training rows) from the posterior draws, with a
        tidy ``.summary(prob)``; see :func:`hierbayes.predict.predict.predict` for ``kind``
        ("mean", "response", "linear"), ``groups`` ("include", "exclude", "marginal", ``["g"]``, "~(1 | g)") and
        ``new_groups`` ("sample", "zero", "error"; None: "sample", with a warning naming the
        new levels, as a mistyped label is one). ``conditional=True`` (a residual
        structure): newdata's rows with a missing response are predicted from the observed
        rows of their group, as mmrm's ``predict(conditional = TRUE)``; see
        :func:`hierbayes.predict.rside_conditional_predict.conditional_predict`."""
        refuse_unknown_arguments("predict", unknown, PREDICT_ARGUMENTS, PREDICT_ALIASES, PREDICT_ADVICE)
        if conditional:
            return conditional_predict(self.posterior, self.model.built, newdata, kind=kind, ndraws=ndraws,
                                       random_seed=random_seed)
        pred = predict_rows(self.posterior, self.model.built, newdata, kind=kind, groups=groups,
                            new_groups=new_groups or "sample", n_mc=n_mc, ndraws=ndraws, random_seed=random_seed)
        return warn_new_levels(pred) if new_groups is None else pred

    def imputed(self, prob: float = 0.9, draws: bool = False, random_seed=None):
        """The values ``missing="model"`` imputed: a table (column, level, unit, mean, sd,
        interval, model) or, with ``draws=True``, an xarray Dataset of their draws; see
        :func:`hierbayes.predict.imputed.imputed`."""
        return imputed_values(self.posterior, self.model.built, prob, draws, random_seed)

    def survival(self, newdata=None, times=None, re: str = "include", prob: float = 0.9, *,
                 quantiles=(0.5,), ndraws: int | None = None, random_seed=None):
        """Survival curves S(t) per row of ``newdata`` (a profile) and quantiles of the
        uncensored outcome (``.median_survival()``), with intervals and ``.plot()``; ``re``:
        "include" (own group), "exclude" (u = 0), "new" (a new group) or "marginal"
        (population-averaged). See :func:`hierbayes.predict.survival.survival_curves`."""
        return plots.with_plots(survival.survival_curves(
            self.posterior, self.model.built, newdata, times=times, re=re, quantiles=quantiles, prob=prob,
            ndraws=ndraws, random_seed=random_seed))

    def ppc(self, ndraws: int | None = None, random_seed=None):
        """Posterior predictive check: a :class:`~hierbayes.predict.ppc.PredictiveCheck` with
        ``.plot()`` (the check that fits the family), ``.pvalues()``, ``.grouped()``,
        ``.plot_grouped()``, ``.loo_pit()`` and ``.plot_loo_pit()``."""
        return plots.with_plots(ppc.posterior_check(self.posterior, self.model.built, ndraws=ndraws, random_seed=random_seed))

    def loo(self, pointwise: bool = True):
        """PSIS-LOO cross-validation (ArviZ ``loo``) from the pointwise log-likelihood."""
        return compare.loo(self, pointwise=pointwise)

    def logo(self, group: str | None = None, *, method: str = "integrated", **kwargs):
        """Leave-one-group-out cross-validation; see :func:`hierbayes.predict.logo.logo`."""
        return leave_group_out(self, group, method=method, **kwargs)

    def margins(self, at=None, by=None, dydx=None, **kwargs):
        """Average predictions / marginal effects: ``at="x"`` is Stata's ``margins x`` (every row set
        to each level), ``by="x"`` its ``margins, over(x)``; :func:`hierbayes.predict.margins.margins`."""
        return plots.with_plots(margins.margins(self.posterior, self.model.built, at=at, by=by, dydx=dydx, **kwargs))

    def contrasts(self, over: str, by=None, **kwargs):
        """Every pairwise difference (and odds / rate ratio where it means something) of the
        margins at the levels of factor ``over``, within ``by`` groups, with P(difference > 0)
        (emmeans ``pairs()``, Stata ``margins, pwcompare``); ``fit.margins(over).pairs()``."""
        return plots.with_plots(margins.contrasts(self.posterior, self.model.built, over, by, **kwargs))

    def conditional_effects(self, x: str, by: str | None = None, **kwargs):
        """Predictions over ``x`` (and ``by``) with the other predictors at their mean /
        reference level and group effects zero (brms ``conditional_effects``); ``.summary()``,
        ``.plot()``. See :func:`hierbayes.predict.conditional.conditional_effects`."""
        return plots.with_plots(conditional.conditional_effects(self.posterior, self.model.built, x, by, **kwargs))

    def hypothesis(self, statements, prob: float = 0.95):
        """Posterior probability of statements such as ``"lrt > 0.5"`` or
        ``"sd(Intercept) > 2"``, with the estimate of lhs - rhs (as brms); see
        :func:`hierbayes.predict.hypothesis.hypothesis`."""
        return hypothesis.hypothesis(self.posterior, self.spec, statements, prob=prob)

    def r2(self, prob: float = 0.95, ndraws: int | None = None):
        """Bayesian R-squared (Gelman et al. 2019), conditional and marginal."""
        return bayes_r2(self.posterior, self.model.built, prob=prob, ndraws=ndraws)

    def plot_caterpillar(self, group: str | None = None, term: str = "Intercept", prob: float = 0.95, **kwargs):
        """Caterpillar plot of the group effects of one grouping factor (``kwargs``: see
        :func:`hierbayes.plots.caterpillar`, e.g. ``extremes=20``)."""
        return plots.caterpillar(self, group=group, term=term, prob=prob, **kwargs)

    def plot_forest(self, terms=None, prob: float = 0.95, intercept: bool | None = None):
        """Forest plot of the fixed effects."""
        return plots.forest(self, terms=terms, prob=prob, intercept=intercept)

    def plot_variance_components(self, prob: float = 0.95):
        """Forest plot of the group-level sds, correlations and residual sd."""
        return plots.variance_components(self, prob=prob)

    def plot_prediction_lines(self, x: str, group: str | None = None, **kwargs):
        """One prediction line per group over covariate ``x``, with the population line."""
        return plots.prediction_lines(self, x, group=group, **kwargs)

    def plot_trace(self, var_names=None, max_panels: int = 12):
        """Trace plot: per scalar parameter, each chain's density and its draws over
        iterations; constant scalars (a correlation's unit diagonal) are left out and named.
        See :func:`hierbayes.plots.trace.trace`."""
        from .plots.trace import trace

        return trace(self.posterior, var_names=var_names, max_panels=max_panels)

    def report(self, path, *, title: str | None = None, plots: bool = True) -> Path:
        """Write a self-contained HTML report (summary, diagnostics, trace, caterpillar and
        predictive-check plots) with the tables as CSV into folder ``path``; returns the path
        of its ``index.html``. See :func:`hierbayes.report_html.write_html_report`."""
        from .report_html import write_html_report  # loads matplotlib

        return write_html_report(self, path, title=title, plots=plots).index

    def __repr__(self) -> str:
        return f"<hierbayes.Fit {self.spec.to_formula()!r}: {self.info.chains} x {self.info.draws} draws>"

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()


def _time_unit_note(structure) -> str:
    """How the structure reads its time column: lags in units of it, or distances."""
    if not structure.time:
        return "; lags count rows within a group, in the data's order" if structure.spec.time == "integer" else ""
    if structure.spec.time == "integer":
        return f"; lags count units of {structure.time!r} (lag 1: rows 1 {structure.time} apart)"
    if structure.spec.time == "numeric":
        return f"; distances in units of {structure.time!r}"
    return ""
