"""Compile a Design and its priors into a ``pm.Model``.

Fixed-effect columns are centred when the model has an intercept (as brms and rstanarm do):
the sampler sees ``Intercept_c`` and the reported ``Intercept`` is recovered as a
deterministic. Group effects are indexed by integer codes, never multiplied by a dense Z.

Each group term gets one of five parameterizations, chosen by the rule of :mod:`.plan`:

* ``noncentered``: ``re = z * sd`` (or ``z @ L'``), ``z ~ N(0, 1)``: best for sparse groups;
* ``centered``: ``re ~ N(0, Sigma)`` directly: best for data-rich groups;
* ``marginal`` (gaussian, identity link): the effects are integrated out of the likelihood
  (:mod:`.marginal`) and drawn after sampling from their exact conditional posterior
  (:mod:`hierbayes.results.conditional`). The default for the largest group term of a
  gaussian model.
* ``nested``: a data-rich term whose groups are nested in those of another sampled term with
  the same columns (lecturers within departments) draws each group's total effect around its
  parent's (hierarchical centring, :mod:`.centring`); chosen instead of ``centered``. A centred
  random intercept is likewise drawn around the model's intercept. The top of a chain of
  nested random intercepts is integrated out exactly and drawn from its conditional given its
  children (:mod:`.integrated_top`).
* ``adaptive``: a one-column term the rule would centre or not, sampled on its own: its
  effects scaled by their data's precision at the current sd (:mod:`.adaptive`), which is
  centred where a group's data are rich and non-centred where not, at every value of the sd.

The likelihood is written per row (``y`` observed, the offset added to eta) unless a gaussian
model can use the cross-products of ``y - offset`` instead (``CompiledModel.likelihood``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ...design.crossprod import cross_products, group_cross_products
from ...design.offsets import response_less_offset
from ...design.reduced import ReducedDesign
from ...design.types import Design, GroupBlock
from ...errors import SpecError
from ...families import get_family
from ...params import block_names
from ...priors import PriorTable
from .adaptive import adapt_plan, few_level_adaptive
from .blocks import group_effects
from .carried import carried_effects, carried_target, level_designs
from .centring import (
    TOTAL_SUFFIX,
    data_shift,
    effects_around_intercept,
    effects_around_parent,
    holder_chain,
    intercept_holder,
    located,
    nesting,
)
from .chain_target import chain_target
from .covariance import covariance_factor
from .distributional import aux_predictors, modelled_aux
from .fingerprint import fingerprint
from .fixed import start_jitter
from .graph_data import SamplerGraph, sampler_graph, size_bucket
from .grid import rows_eta
from .imputation import has_imputation, imputation_shift
from .imputation_binary import binary_hole_shift, sum_out_binary_holes
from .integrated_top import integrated_nest, integrated_tops
from .lazy import pm, pt
from .likelihoods import likelihood, likelihood_builder
from .linear import Fixed, block_contribution, coords_for, fixed_part
from .marginal import (
    add_loglik,
    check_pml,
    marginal_from_crossproducts,
    marginal_from_rows,
    prior_weighted_block,
    sufficient_statistics_loglik,
)
from .marginal_nested import marginal_nested_above, nested_above
from .padding import Padding, pad_design, pad_levels, padding_for, real_mask
from .plan import (  # noqa: F401  (the planning rule's public names, importable from here as before)
    DATA_RICH_RATIO,
    PARAMETERIZATIONS,
    choose_parameterization,
    default_target_accept,
    given_values,
    information_ratio,
    parent_information_ratio,
    plan_parameterization,
)
from .plan_glm import saturated
from .rside import residual_loglik, residual_plan, residual_rows_likelihood, residual_sigma
from .spanned import spanned_location, spanned_variable, value_jitter
from .thresholds import located_fixed, threshold_location, threshold_variable
from .variables import register

#: Likelihood forms: one term per row; gaussian cross-products; one term integrated out.
LIKELIHOOD_FORMS = ("rows", "sufficient statistics", "marginal", "residual structure")
#: Name of the potential holding a cross-product likelihood.
LOGLIK_POTENTIAL = "loglik_y"


@dataclass(frozen=True)
class CompiledModel:
    """The PyMC model (built on first use) plus what the sampler and results need to know about it.

    parameterization : block key -> "centered" / "noncentered" / "marginal".
    likelihood : one of LIKELIHOOD_FORMS.
    padding : how the cached samplers pad the rows and levels (:mod:`.padding`), None when
        they do not; ``padded_graph()`` builds the sampler graph of that padded model
        (``model`` is never padded).
    """

    build: Callable[[], pm.Model] = field(repr=False, compare=False)
    parameterization: dict[str, str]
    link: str
    likelihood: str = "rows"
    fingerprint: str = ""
    padding: Padding | None = None
    padded_graph: Callable[[], SamplerGraph] | None = field(default=None, repr=False, compare=False)
    built: list = field(default_factory=list, repr=False, compare=False)  # the model, once built
    n_levels: dict[str, int] = field(default_factory=dict)  # block key -> levels
    #: value variable -> half-width of its start jitter, where not 1 (:func:`start_jitter`)
    start_jitter: dict[str, float] = field(default_factory=dict)
    #: a sampled term is saturated (:func:`.plan_glm.saturated`): :func:`.sample.dense_mass_of`
    saturated: bool = False
    #: a target acceptance the structure allows (carried.py's split terms, chain_target.py's chains)
    structure_target: float | None = None

    @property
    def target_accept(self) -> float:
        """The NUTS target acceptance a fit uses unless told otherwise."""
        return self.structure_target or default_target_accept(self.parameterization, self.n_levels)

    @property
    def model(self) -> pm.Model:
        """The PyMC model, built on first use: a warm fit whose sampler and data are cached
        (:mod:`.jaxnuts`) never builds it, and so never imports PyMC."""
        if not self.built:
            self.built.append(self.build())
        return self.built[0]

    @property
    def marginal_keys(self) -> tuple[str, ...]:
        """Keys of the group terms whose effects must be drawn after sampling."""
        return tuple(k for k, v in self.parameterization.items() if v == "marginal")


def _sufficient_statistics_pay(design: Design, sampled: list[GroupBlock]) -> bool:
    """Cross-products beat rows when there are clearly more rows than per-group terms."""
    if len(sampled) > 1:
        return False
    p = design.X.shape[1]
    if not sampled:
        return design.n_obs > 2 * (p + 1)
    block = sampled[0]
    k = block.n_columns
    return design.n_obs * (p + k) > 2 * block.n_levels * k * (k + p + 1)


# ---------------------------------------------------------------- building the model


def compile_model(
    design: Design,
    priors: PriorTable,
    parameterization: dict[str, str] | str | None = None,
    *,
    likelihood_form: str | None = None,
    binary_holes: str = "sum",
    pad: bool = False,
) -> CompiledModel:
    """Build the PyMC model of ``design`` with the resolved ``priors``.

    Parameters
    ----------
    design : Design
    priors : PriorTable
    parameterization : "centered" / "noncentered" / "marginal" for all group terms, a dict
        keyed by grouping factor, or None to choose per term from the data (see
        :func:`plan_parameterization`).
    likelihood_form : None to choose; "rows" forces one observed ``y`` per row (no term is
        then integrated out unless asked for, which raises); "sufficient statistics" asks
        for the cross-product likelihood where it applies.
    binary_holes : "sum" sums the holes of imputed binary predictors out of the likelihood
        (a fit); "draw" draws them from their logistic models instead (``Dmi_<column>``), for
        simulating responses (SBC).
    pad : build the model on rows and levels padded to size buckets (:mod:`.padding`), for
        the cached samplers (the padding rows' likelihood is cancelled by the sampler graph,
        ``padded_graph``); ``padding`` says how (None: not paddable).
    """
    family = get_family(design.spec.family)
    link = family.resolve_link(design.spec.link)
    if likelihood_form is not None and likelihood_form not in LIKELIHOOD_FORMS:
        raise SpecError(f"likelihood_form {likelihood_form!r}: valid values are {list(LIKELIHOOD_FORMS)}")
    if binary_holes not in ("sum", "draw"):
        raise SpecError(f"binary_holes={binary_holes!r}: valid values are 'sum' (a fit) and 'draw' (a simulation)")
    rd = design.residuals
    if has_imputation(design):  # the design moves with the imputed values: rows only
        if likelihood_form not in (None, "rows"):
            raise SpecError(f"likelihood_form={likelihood_form!r}: a model with imputed predictors "
                            "(missing='model') has the rows likelihood only")
        likelihood_form = "rows"
    plan = plan_parameterization(design, parameterization, link, integrate=likelihood_form != "rows" and rd is None)
    if rd is not None:
        if likelihood_form not in (None, "residual structure", "rows"):
            raise SpecError(f"likelihood_form={likelihood_form!r}: a model with residuals= has its own likelihood")
        if likelihood_form != "rows":  # rows: every group term sampled, the residuals MvNormal per group
            plan = residual_plan(plan, rd)
    if "marginal" in plan and has_imputation(design):
        raise SpecError("parameterization 'marginal' integrates a group term out over a fixed design; with imputed "
                        "predictors (missing='model') the design moves, so the group effects are sampled")
    if likelihood_form == "rows" and "marginal" in plan:
        raise SpecError("likelihood_form='rows' cannot integrate a group term out; drop 'marginal'")
    blocks = list(zip(design.groups, block_names(design.spec)))
    sampled = [b for (b, _), how in zip(blocks, plan) if how != "marginal"]
    # a sigma that varies by row (distributional formula) leaves no closed form: rows only
    gaussian_identity = (family.linear_gaussian(link) and not design.distributional
                         and design.censoring is None)
    if rd is not None and likelihood_form != "rows":
        form = "residual structure"
    elif "marginal" in plan:
        form = "marginal"
    elif gaussian_identity and likelihood_form != "rows" and (
        likelihood_form == "sufficient statistics" or _sufficient_statistics_pay(design, sampled)
    ) and len(sampled) <= 1:
        form = "sufficient statistics"
    else:
        form = "rows"
    check_pml(design, plan, form)
    if form == "rows" and rd is None:
        likelihood_builder(family)  # a family without a likelihood here fails now, not when the model is built
    nests = nesting(design, plan)
    spanned = spanned_location(design, priors) if form == "rows" and rd is None and not has_imputation(design) else None
    given = given_values(design, parameterization)
    passed_over = few_level_adaptive(design, plan, given, link)
    holder = intercept_holder(design, plan, form, nests, spanned is not None, passed_over)
    spanned = spanned if holder is not None else None
    tops = integrated_tops([b for b, _ in blocks], plan, nests)
    kept = set(tops) | ({holder} if holder is not None and plan[holder] == "centered" else set())
    plan, precision = adapt_plan(design, plan, given, link, kept)
    chosen = {names.key: how for (_, names), how in zip(blocks, plan)}
    unpadded = design
    padding = padding_for(design, plan, form, [names.level_dim for _, names in blocks],
                          set(tops) | set(nests) | {j for j, _ in nests.values()}) if binary_holes == "sum" else None
    if pad and padding is not None:  # the plan, precisions and centring come from the real rows
        precision = {i: pad_levels(p, padding.levels[i]) if i in padding.levels else p for i, p in precision.items()}
        design = pad_design(design, padding)
        blocks = list(zip(design.groups, block_names(design.spec)))
    splits = level_designs(unpadded, design, plan, precision, priors, form, rd, holder, nests, tops)

    def build() -> pm.Model:
        with pm.Model(coords=coords_for(design, rows=form == "rows")) as model:
            absorbed, shift, slope_shift = carried_effects(blocks, splits, precision, priors, unpadded)
            fixed = fixed_part(unpadded, priors, shift, spanned.transform() if spanned else None, slope_shift)
            # the data shift (centring.py): totals located at their groups' mean linear predictor
            chain = holder_chain(holder, nests) if holder is not None else []
            if spanned is not None:  # no intercept but columns that span one (spanned.py)
                fixed = spanned.fixed(spanned_variable())
            elif chain and not design.has_intercept:  # ordinal: the holder carries the thresholds' location
                fixed = located_fixed(fixed, threshold_location(threshold_variable(unpadded, priors, link)),
                                      unpadded.row_weights)
            xbar: dict[int, np.ndarray] = {}
            if chain:
                means, within = data_shift(unpadded, chain, fixed.X[:, 1:])
                xbar = dict(zip(chain, means))
                if design is not unpadded:  # padded levels of the holder: no shift
                    xbar = {i: pad_levels(x, padding.levels[i]) if i in padding.levels else x for i, x in xbar.items()}
                fixed = Fixed(fixed.theta, np.column_stack([fixed.X[:, 0], within]), True)
            if design is not unpadded:
                fixed = Fixed(fixed.theta, padding.row_values(fixed.X), fixed.intercept_first)
            slopes = fixed.theta[1:] if fixed.X.shape[1] > 1 else None
            effects: list = [None] * len(blocks)
            L = None
            # the top of a chain of nested random intercepts is integrated out (integrated_top.py)
            for i, ((block, names), how) in enumerate(zip(blocks, plan)):
                if i in tops:
                    continue
                if how == "marginal":
                    L = covariance_factor(block, names, priors)
                elif i == holder:
                    effects[i] = effects_around_intercept(
                        block, names, priors, fixed.theta[0], how == "centered", xbar[i], slopes, precision.get(i)
                    )
                elif i in absorbed:
                    effects[i] = absorbed[i]
                elif how != "nested":
                    effects[i] = group_effects(block, names, priors, how == "centered", precision.get(i))
            # parents have fewer groups than their nested terms: build them first
            for i in sorted(nests, key=lambda i: blocks[i][0].n_levels):
                j, parent = nests[i]
                block, names = blocks[i]
                step = xbar[i] - xbar[j][parent] if i in xbar else None
                if j in tops:
                    where = located(pt.reshape(fixed.theta[0], (1, 1)), xbar[j], slopes) if j == holder else None
                    shift = located(pt.zeros((block.n_levels, 1)), step, slopes) if step is not None else None
                    effects[i] = integrated_nest(blocks[j], blocks[i], parent, priors, where, shift,
                                                 names.effects + TOTAL_SUFFIX)
                    continue
                effects[i] = effects_around_parent(block, names, priors, effects[j], parent, step, slopes)
            for j, _ in nests.values():
                effects[j] = None  # its nested term's total effect carries it
            if form == "rows":
                eta = rows_eta(fixed, [b for b, _ in blocks], effects, holder is None,
                               padding.grid if design is not unpadded else None)
                if has_imputation(design):
                    slopes_all = fixed.theta[1:] if fixed.intercept_first else fixed.theta
                    eta = eta + imputation_shift(design, slopes_all, design.n_obs)
                    if binary_holes == "draw":
                        eta = eta + binary_hole_shift(design, slopes_all, design.n_obs)
                if rd is None:
                    with modelled_aux(aux_predictors(design, priors)):
                        y_rv = likelihood(eta, design, priors, link)
                    if has_imputation(design) and binary_holes == "sum":  # binary holes summed out of their rows' likelihood
                        sum_out_binary_holes(design, y_rv, eta, slopes_all)
                else:
                    offset = 0.0 if design.offset is None else np.asarray(design.offset, dtype=float)
                    sigma, params = residual_sigma(rd, priors)
                    residual_rows_likelihood("y", eta + offset, design.y, rd, sigma, priors, params)
            elif rd is not None:
                sigma, params = residual_sigma(rd, priors)
                eta = fixed.eta(intercept=holder is None)
                for (block, _), u in zip(blocks, effects):
                    eta = eta + block_contribution(block, u)
                Z = design.groups[rd.block].X if rd.block is not None else None
                add_loglik(LOGLIK_POTENTIAL, residual_loglik(response_less_offset(design) - eta, rd, sigma, L, Z, priors, params))
            else:
                sigma = register("sigma", priors.get("sigma"))
                add_loglik(
                    LOGLIK_POTENTIAL,
                    _cross_product_loglik(design, fixed, blocks, plan, effects, L, sigma, holder is None),
                )
        if padding is not None and len(model.observed_RVs) != 1:  # padding_for pads one observed variable
            raise SpecError(f"internal: a padded model has {len(model.observed_RVs)} observed variables")
        return model

    form_key = form if binary_holes == "sum" else f"{form}, binary holes drawn"
    padded_graph = None
    if padding is not None and not pad:
        # centred effects of padded levels: their prior becomes N(0, 1) in the sampler graph
        centred = {(names.effects + TOTAL_SUFFIX if i == holder else names.effects): i
                   for i, (_, names) in enumerate(blocks) if i in padding.levels and plan[i] == "centered"}

        def padded_graph() -> SamplerGraph:
            padded = compile_model(unpadded, priors, parameterization, likelihood_form=likelihood_form, pad=True)
            masks = {name: real_mask(unpadded.groups[i].n_levels, padding.levels[i]) for name, i in centred.items()}
            return sampler_graph(padded.model, padding.row_mask(unpadded.n_obs), masks)
    return CompiledModel(
        build=build, parameterization=chosen, link=link, likelihood=form, padding=padding, padded_graph=padded_graph,
        n_levels={names.key: block.n_levels for block, names in blocks},
        start_jitter=value_jitter(start_jitter(design, priors), spanned),
        structure_target=carried_target(unpadded, splits) or chain_target(unpadded, plan, given, nests, tops),
        saturated=any(how != "marginal" and saturated(b, unpadded) for b, how in zip(unpadded.groups, plan)),
        # the graph cache holds the padded sampler graph under this fingerprint
        fingerprint=fingerprint(unpadded, priors, plan, form_key if padding is None else f"{form_key}, padded", link),
    )


def _cross_product_loglik(design: Design, fixed: Fixed, blocks, plan, effects, L, sigma, with_intercept=True):
    y = response_less_offset(design)  # a writeable copy (numba refuses read-only constants)
    shift = float(y.mean()) if fixed.intercept_first else 0.0
    if isinstance(design, ReducedDesign):  # the rows are pseudo-rows: read the statistics
        # the columns the sampler sees are the pseudo-rows times a p x p' matrix, recovered exactly
        cp = design.stats.cross_products(np.linalg.lstsq(design.X, fixed.X, rcond=None)[0], shift)
        if "marginal" in plan:
            return marginal_from_crossproducts(fixed.theta, L, sigma, cp, fixed.intercept_first)
        u = next((e for e in effects if e is not None), None)
        return sufficient_statistics_loglik(fixed.theta, u, sigma, cp, fixed.intercept_first)
    if "marginal" not in plan:
        u = next((e for e in effects if e is not None), None)
        block = design.groups[0] if design.groups else None
        cp = cross_products(
            fixed.X, y, y_shift=shift,
            codes=block.codes if block else None, Z=block.X if block else None,
            n_levels=block.n_levels if block else None, weights=design.row_weights,
        )
        return sufficient_statistics_loglik(fixed.theta, u, sigma, cp, fixed.intercept_first)
    m = plan.index("marginal")
    method = design.weights.method if design.weights is not None else "pseudo-posterior"
    block, prior_term, lw = prior_weighted_block(design.groups[m], L, method)  # level-2 weights: scaled Z
    if len(blocks) == 1:
        # groups padded to a size bucket: a padded group has no rows, so zero cross-products
        # and a zero log-likelihood term; data sets of similar sizes share one program
        levels = block.n_levels if design.weights is not None else size_bucket(block.n_levels)
        cp = cross_products(fixed.X, y, y_shift=shift, codes=block.codes, Z=block.X, n_levels=levels,
                            weights=design.row_weights)
        return marginal_from_crossproducts(fixed.theta, L, sigma, cp, fixed.intercept_first, lw) + prior_term
    others = [(other, u) for i, ((other, _), u) in enumerate(zip(blocks, effects)) if i != m]
    above = nested_above(block, others) if design.weights is None else None
    if above is not None:  # random intercepts of groups containing the integrated term's: no rows
        drop = fixed.intercept_first and not with_intercept
        X, theta = (fixed.X[:, 1:], fixed.theta[1:]) if drop else (fixed.X, fixed.theta)
        return marginal_nested_above(y, X, theta, fixed.intercept_first and not drop, block, above, L, sigma)
    eta = fixed.eta(intercept=with_intercept)
    for other, u in others:
        eta = eta + block_contribution(other, u)
    w = design.row_weights
    ZZ = group_cross_products(block.codes, block.X, np.zeros((len(y), 0)), y, block.n_levels, w).ZZ
    return marginal_from_rows(y - eta, block, L, sigma, ZZ, w, lw) + prior_term
