"""``Model``: the composition of the pipeline stages (spec -> design -> priors -> compile ->
sample -> results). Each stage is usable on its own; this class only wires them."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import pandas as pd

from .configuration import BuiltModel, ModelConfig, build_model
from .design.dask_frames import is_dask_frame
from .design.frames import as_pandas
from .design.types import Design
from .errors import ArgumentError, close_matches, refuse_unknown_arguments, warn_user
from .families import FAMILIES, get_family
from .plots import with_plots
from .priors import Prior, PriorTable
from .runtime import defer_duck_array_imports, freeze_heap_at_exit, imports_while_waiting, paused_gc
from .sampler_args import FIT_ALIASES, SamplerConfig
from .spec.ir import ZERO_INFLATION_NAMES, Covariance, ModelSpec
from .spec.lexer import is_plain_name
from .spec.terms import r_power_text

#: Model's keyword arguments, and other packages' spellings of them (nlme, brms, Stata, lme4).
MODEL_ARGUMENTS = ("formula", "data", "family", "link", "priors", "covariance", "missing", "parameterization",
                   "collapse", "residuals", "weights", "group_weights", "weight_scaling", "weight_method",
                   "weight_kind")
MODEL_ALIASES = {
    "residual": "residuals", "correlation": "residuals", "cor": "residuals", "corr": "residuals",
    "autocor": "residuals", "rcov": "residuals", "prior": "priors", "weight": "weights",
    "na_action": "missing", "dist": "family", "distribution": "family",
}

#: Other packages' estimation settings (lowercased) and why a posterior sampled by NUTS needs none
ESTIMATION_SETTINGS = {
    "nagq": "lme4's quadrature points: the posterior is sampled, with the group effects integrated by the sampler",
    "reml": "a posterior is neither ML nor REML, and its intervals already allow for the fixed effects",
    "method": "nlme's REML or ML: a posterior is neither, and its intervals already allow for the fixed effects",
    "control": "optimizer settings: the sampler's are fit()'s draws, tune, chains and target_accept",
    "start": "starting values: the sampler starts from its own, jittered per chain",
    "verbose": "printing: fit(progressbar=True) shows the sampler's progress",
}

defer_duck_array_imports()  # xarray would import dask.array and sparse (0.8 s) to wrap the draws

#: What the work after sampling imports, imported while the sampler runs
#: (runtime.imports_while_waiting): the draws' InferenceData (arviz_base; xarray asks
#: dask.base whether each array is a Dask collection). The summary's prior-sensitivity
#: check is numpy (results/power_scaling.py) and imports neither arviz_stats nor scipy.stats.
IMPORTS_AFTER_SAMPLING = ("arviz_base", "dask.base")


class Model:
    """A multilevel model bound to a data set.

    Parameters
    ----------
    formula : an lme4-style formula (``"y ~ x + (x | g)"``) or a ModelSpec (for example from
        the level-equation front end).
    data : pandas DataFrame with the columns the formula uses. It is never modified. A polars
        DataFrame/LazyFrame or a pyarrow Table is converted (see :func:`hierbayes.design.frames.as_pandas`).
        A Dask DataFrame is reduced partition by partition (gaussian: per-group cross-products;
        bernoulli, binomial, poisson: cells of identical categorical predictors), see
        :mod:`hierbayes.design.dask_frames` and ``docs/cluster.md``.
    family : response family name (``"gaussian"``, ...); see ``hierbayes.families``.
    link : link function; the family's default when None.
    priors : overrides keyed by class (``"b"``, ``"sd"``, ``"cor"``, ``"sigma"``,
        ``"Intercept"``), by class and group (``"sd:school"``) or by class, group and term
        (``"sd:school:lrt"``, ``"b:lrt"``); values are :class:`hierbayes.Prior`.
    covariance : covariance structure per grouping factor: ``{"school": "exchangeable"}``;
        one of unstructured, independent, identity, exchangeable.
    missing : "error" (default) raises on missing values in used columns; "drop" drops
        those rows with a warning saying how many; "model" keeps them and imputes holes in
        continuous fixed-effect predictors as parameters with their own gaussian models (a
        column constant within groups once per group), sums holes in binary 0/1 predictors out
        of the likelihood under their own logistic models, and leaves missing gaussian responses
        out of the likelihood (``fit.imputed()``; :mod:`hierbayes.design.missing`). brms'
        ``y | mi() ~ mi(x) + ...`` in the formula means the same for the marked columns.
    parameterization : "centered" / "noncentered" / "marginal" (gaussian: integrated out) /
        "nested" (drawn around the effects of the term it is nested in) / "adaptive" (a
        one-column term scaled by its data's precision at the current sd, centred where the
        data are rich and non-centred where not, group by group) for all group terms, a
        dict per grouping factor, or None to choose from the data (reported on the fit).
    collapse : "auto" (default), True or False. Bernoulli (and binomial) rows with identical
        predictors and group codes are fitted as binomial cells: the same posterior, several
        times faster for surveys. "auto" collapses when the cells are at most half the rows;
        ``model.design`` is then a ``CollapsedDesign`` (PPC and LOO are per cell; see
        :mod:`hierbayes.design.collapse`). The fit's summary reports it.
    residuals : a residual (R-side) structure of a gaussian model,
        ``hb.residuals("ar1", time="t", group="Mare", by=None)`` (see
        :func:`hierbayes.spec.residuals.residuals`); None: independent residuals.
    weights : the column of level-1 weights (as ``y | weights(w) ~ ...``): each row's
        log-likelihood is multiplied by its weight. Unscaled integer weights are frequency
        weights (the posterior of the data with rows repeated; with ``missing="model"`` a row
        with a hole becomes w rows, each with its own imputed value); sampling weights give a
        pseudo-posterior (see :mod:`hierbayes.spec.weights`).
    group_weights : level-2 sampling weights per grouping factor, ``{"school": "w2"}``: each
        group's effects enter the prior with its weight (constant within groups).
    weight_scaling : "none" (default), "size" or "effective": Stata's scalings of level-1
        weights within the groups of the innermost grouping factor.
    weight_method : "pseudo-posterior" (default; Savitsky & Williams, brms' ``gr(pw=)``) or
        "pml": each group's integrated likelihood raised to its level-2 weight, the target of
        Stata's ``mixed [pw=] || g:, pweight()`` and WeMix (gaussian, identity link only).
    weight_kind : "auto" (default: unscaled whole-number weights are frequency weights, others
        sampling weights), "sampling" (Stata's ``[pw=]``: whole-number survey weights too) or
        "frequency" (``[fw=]``), all of which multiply the log-likelihood; or "precision",
        lme4's ``lmer(weights=)`` and nlme's ``varFixed(~ 1/w)``: residual variance sigma^2 / w,
        written as ``sigma="~ 1 + offset(-0.5 * log(w))"`` (:mod:`hierbayes.spec.precision_weights`).
    **distributional : a one-sided formula per auxiliary parameter of the family, as brms'
        ``bf(y ~ ..., sigma ~ ...)``: ``sigma="~ x + (1|g)"`` (gaussian, student), ``nu=``
        (student), ``phi=`` (negbinomial), ``shape=`` (gamma). The parameter then varies by
        row, on the log scale (``log(nu - 1)`` for nu); its coefficients are
        ``Intercept_sigma``, ``b_sigma``, ``sd_sigma_g`` (priors keyed the same way:
        ``"b_sigma"``, ``"sd_sigma:g"``). Any other keyword is a SpecError naming the
        family's parameters, or an ArgumentError naming the argument meant (``residual``,
        nlme's ``correlation``, brms' ``autocor`` are ``residuals``; a value that is not a
        formula string). See :mod:`hierbayes.spec.distributional`.

    Attributes
    ----------
    config : :class:`~hierbayes.configuration.ModelConfig`, everything above but the data
        (frozen; ``missing``, ``prior_overrides``, ``parameterization`` and ``collapse`` read
        from it).
    built : :class:`~hierbayes.configuration.BuiltModel`, the configuration built on the data
        (``spec``, ``data``, ``design`` and ``priors`` read from it). ``with_data(df)`` builds
        the same configuration on other data.
    """

    def __init__(
        self,
        formula: str | ModelSpec,
        data: pd.DataFrame,
        family: str = "gaussian",
        link: str | None = None,
        priors: Mapping[str, Prior] | None = None,
        covariance: Mapping[str, str | Covariance] | None = None,
        missing: str = "error",
        parameterization: str | Mapping[str, str] | None = None,
        collapse: bool | str = "auto",
        residuals=None,
        weights: str | None = None,
        group_weights: Mapping[str, str] | None = None,
        weight_scaling: str | None = None,
        weight_method: str | None = None,
        weight_kind: str | None = None,
        **distributional: str,
    ) -> None:
        family_parameters = {a for f in FAMILIES.values() for a in f.aux}
        for key in ("offset", "exposure"):  # R's glm(offset=), Stata's exposure(): not formulas of a family parameter
            if key in distributional:
                column = distributional[key] if isinstance(distributional[key], str) else "t"
                if not is_plain_name(column):  # offset="log(expected)": already an expression
                    raise ArgumentError(key, column, (
                        f"Model() takes no argument {key!r}: an offset goes in the formula, as in lme4: "
                        f"'y ~ x + offset({column})'"))
                raise ArgumentError(key, distributional[key], (
                    f"Model() takes no argument {key!r}: an offset goes in the formula, as in lme4: "
                    f"'y ~ x + offset(log({column}))' for an exposure (Stata's exposure({column})), "
                    f"'y ~ x + offset({column})' for an offset already on the link scale"))
        if "random" in distributional:  # nlme's lme(fixed, random = ~ 1 | g)
            given = distributional["random"]
            terms = given.strip().lstrip("~").strip() if isinstance(given, str) else "1 | g"
            raise ArgumentError("random", given, (
                f"Model() takes no argument 'random' (nlme's lme(random=)): group terms go in the "
                f"formula, as in lme4: 'y ~ x + ({terms})'"))
        if "dispformula" in distributional:  # glmmTMB's dispformula = ~ x: the family parameter's formula
            given, chosen = distributional["dispformula"], get_family(family)
            aux = () if chosen.thresholds else chosen.aux
            raise ArgumentError("dispformula", given, (
                f"glmmTMB's dispformula is the formula of the family's parameter here, on the log scale: {aux[0]}="
                f"{given!r}" + (" (glmmTMB 1.1.5's gaussian dispersion is sigma^2: its coefficients are twice these)"
                                if aux[0] == "sigma" else "") if aux else f"family {chosen.name!r} has no "
                "dispersion parameter; family='negbinomial' has one for counts"))
        if "nominal" in distributional:  # ordinal's clm(nominal = ~ x)
            raise ArgumentError("nominal", distributional["nominal"], (
                "category-specific (nominal) effects, ordinal's clm(nominal=) and brms' cs(), are not available: "
                "the cumulative family has one coefficient per term, shared by its thresholds"))
        if "threshold" in distributional or "thresholds" in distributional:  # ordinal's clm(threshold=)
            key = "threshold" if "threshold" in distributional else "thresholds"
            raise ArgumentError(key, distributional[key], (
                f"Model() takes no argument {key!r}: the cumulative family's thresholds are free "
                "(ordinal's threshold='flexible', its default, and brms'); equidistant and symmetric "
                "thresholds are not available"))
        if ("scale" in distributional or "disc" in distributional) and get_family(family).thresholds:
            key = "scale" if "scale" in distributional else "disc"
            raise ArgumentError(key, distributional[key], (
                "a formula for the latent scale (ordinal's clm(scale=), brms' disc) is not available: the "
                "cumulative family's latent sd is fixed at 1 (logit: pi / sqrt(3))"))
        for key in (k for k in distributional if k.lower() in ESTIMATION_SETTINGS):
            raise ArgumentError(key, distributional[key], (
                f"Model() takes no argument {key!r}: {ESTIMATION_SETTINGS[key.lower()]}; leave it out"))
        refuse_unknown_arguments(
            "Model", {k: v for k, v in distributional.items()
                      if k in MODEL_ALIASES or (k not in family_parameters and (
                          not isinstance(v, str) or (close_matches(k, MODEL_ARGUMENTS)
                                                     and k not in ZERO_INFLATION_NAMES)))},
            MODEL_ARGUMENTS, MODEL_ALIASES,
            advice=" A keyword not named in Model's signature is a formula of a family parameter (sigma=\"~ x\").",
        )
        data = data if is_dask_frame(data) else as_pandas(data)
        config = ModelConfig.from_arguments(
            formula, family=family, link=link, priors=priors, covariance=covariance, missing=missing,
            parameterization=parameterization, collapse=collapse, residuals=residuals,
            distributional=distributional, weights=weights, group_weights=group_weights,
            weight_scaling=weight_scaling, weight_method=weight_method,
            weight_kind=weight_kind,
        )
        self._set_up(config, build_model(config, data))

    @classmethod
    def from_config(cls, config: ModelConfig, data) -> Model:
        """The model of ``config`` built on ``data`` (what ``Model(...)`` does after checking
        its arguments)."""
        model = cls.__new__(cls)
        model._set_up(config, build_model(config, data))
        return model

    def _set_up(self, config: ModelConfig, built: BuiltModel) -> None:
        self.config = config
        self.built = built
        self._compiled = None

    def with_data(self, data) -> Model:
        """The same configuration (formula, family, priors, covariance, missing,
        parameterization, collapse) built on other data: priors are rescaled and rows
        collapsed for the new data, as ``Model(..., data=data)`` would."""
        return type(self).from_config(self.config, data)

    def with_config(self, data=None, **changes) -> Model:
        """A model with some configuration fields changed (see :class:`ModelConfig`), built
        on ``data`` (default: this model's data)."""
        return type(self).from_config(self.config.replace(**changes), self.data if data is None else data)

    # The public attributes of the Model, read from its configuration and build.
    @property
    def spec(self) -> ModelSpec:
        return self.built.spec

    @property
    def data(self) -> pd.DataFrame:
        return self.built.data

    @property
    def design(self) -> Design:
        return self.built.design

    @property
    def priors(self) -> PriorTable:
        return self.built.priors

    @property
    def prior_overrides(self) -> dict[str, Prior]:
        return dict(self.config.prior_overrides)

    @property
    def missing(self) -> str:
        return self.config.missing

    @property
    def parameterization(self) -> str | Mapping[str, str] | None:
        return self.config.parameterization

    @property
    def collapse(self) -> bool | str:
        return self.config.collapse

    @property
    def formula(self) -> str:
        """The lme4 formula, terms expanded, powers written ``^`` as R prints them."""
        return r_power_text(self.spec.to_formula())

    def compile(self):
        """The compiled model of the default backend (built once and cached)."""
        from .backends import get_backend

        if self._compiled is None:
            self._compiled = get_backend().compile(self.design, self.priors, self.parameterization)
        return self._compiled

    @property
    def pymc_model(self):
        return self.compile().model

    def fit(
        self,
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 4,
        cores: int | None = None,
        random_seed: int | None = None,
        sampler: str | None = None,
        target_accept: float | None = None,
        progressbar: bool = True,
        backend: str = "pymc",
        **unknown: object,
    ):
        """Draw from the posterior with NUTS and return a :class:`hierbayes.Fit`.

        The arguments are the fields of :class:`hierbayes.sampler_args.SamplerConfig`
        (``model.fit(**config.as_kwargs())`` fits with a config).

        Parameters
        ----------
        draws, tune, chains : kept draws and tuning steps per chain, number of chains.
        cores : parallel chains; defaults to all cores (up to one per chain).
        random_seed : seed for reproducible draws.
        sampler : "nutpie", "pymc", "numpyro" or "blackjax"; default the fastest installed.
        target_accept : NUTS target acceptance rate; raise it when divergences appear. None
            (default): 0.95 when group effects are sampled (rstanarm's default for multilevel
            models: a group sd whose posterior reaches near zero and far out is curved terrain
            for either parameterization), 0.9 when every group term is integrated out (a
            gaussian model with one group term: no funnel can form), 0.8 where the structure
            leaves none either (split terms, integrated-out nested chains). See
            :func:`hierbayes.backends.pymc.plan.default_target_accept` and
            :mod:`hierbayes.backends.pymc.chain_target`.
        progressbar : show the sampler's progress bar.
        backend : "pymc" (NUTS, the default) or "prior": draws from the prior stand in for
            the posterior (about a second; for tests of tables, predictions and plots, not
            for inference). See :mod:`hierbayes.backends`.

        Raises
        ------
        ArgumentError
            For an invalid setting (see :class:`hierbayes.sampler_args.SamplerConfig`) or an
            unknown backend, before anything is compiled, and for an argument fit() does not
            take (naming the one meant: ``seed`` is ``random_seed``, brms' ``adapt_delta`` is
            ``target_accept``, ``iter``/``warmup`` are ``draws``/``tune``).
        """
        refuse_unknown_arguments(
            "fit", unknown, [f.name for f in dataclasses.fields(SamplerConfig)], FIT_ALIASES
        )
        config = SamplerConfig(
            draws=draws, tune=tune, chains=chains, cores=cores, random_seed=random_seed,
            sampler=sampler, target_accept=target_accept, progressbar=progressbar, backend=backend,
        )
        from .backends import get_backend

        engine = get_backend(config.backend)
        freeze_heap_at_exit()
        with paused_gc():  # graph building makes many small objects: 0.4 s of collections (runtime.py)
            return self._fit(engine, config)

    def _fit(self, engine, config: SamplerConfig):
        from .fit import Fit, SamplingInfo
        from .results.diagnostics import warn_problems

        compiled = self.compile()
        with imports_while_waiting(IMPORTS_AFTER_SAMPLING):
            run = engine.sample(compiled, config)
        draws, chains, random_seed = config.draws, config.chains, config.random_seed
        if compiled.likelihood != "rows":
            from .results.conditional import complete_posterior

            # Integrated-out group effects: exact conditional draws, stored as re_<key>.
            complete_posterior(run.idata, self.design, compiled.marginal_keys, random_seed)
        from .predict.loglik import holds_rows, stored_in_idata

        # The pointwise log-likelihood (for LOO) is added when fit.idata is first read.
        if holds_rows(self.design) and not stored_in_idata(chains * draws, self.design.n_obs):
            warn_user(
                f"the pointwise log-likelihood ({chains} x {draws} draws x {self.design.n_obs} "
                "rows) will not be stored in fit.idata to save memory; fit.loo() computes it "
                "when asked"
            )
        info = SamplingInfo(
            sampler=run.sampler,
            draws=draws,
            tune=config.tune,
            chains=chains,
            wall_seconds=run.wall_seconds,
            sampling_seconds=run.sampling_seconds,
            parameterization=dict(compiled.parameterization),
            random_seed=random_seed,
            target_accept=run.target_accept,
            progressbar=bool(config.progressbar),
        )
        fit = Fit(run.idata, self, info)
        if run.converged_draws:
            warn_problems(fit.diagnostics)
        return fit

    def prior_predictive(self, draws: int = 500, random_seed: int | None = None):
        """Prior predictive check before any fit: data sets simulated from parameters drawn
        from the priors, as a :class:`~hierbayes.predict.ppc.PredictiveCheck` with the same
        plots and statistics as ``fit.ppc()``."""
        from .backends import get_backend
        from .predict.ppc import prior_check

        prior = get_backend().sample_prior(self.compile(), draws=draws, random_seed=random_seed)
        return with_plots(prior_check(self, prior, random_seed=random_seed))

    def __repr__(self) -> str:
        return f"<hierbayes.Model {self.formula!r} family={self.spec.family.name!r} n={self.design.n_obs}>"
