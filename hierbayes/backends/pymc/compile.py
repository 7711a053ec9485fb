"""Compile a Design and its priors into a ``pm.Model``.

Fixed-effect columns are centred when the model has an intercept (as brms and rstanarm do):
the sampler sees ``Intercept_c`` and the reported ``Intercept`` is recovered as a
deterministic. Group effects are indexed by integer codes, never multiplied by a dense Z.

Each group term gets one of four parameterizations (see :func:`plan_parameterization`):

* ``noncentered``: ``re = z * sd`` (or ``z @ L'``), ``z ~ N(0, 1)``: best for sparse groups;
* ``centered``: ``re ~ N(0, Sigma)`` directly: best for data-rich groups;
* ``marginal`` (gaussian, identity link): the effects are integrated out of the likelihood
  (:mod:`.marginal`) and drawn after sampling from their exact conditional posterior
  (:mod:`hierbayes.results.conditional`). The default for the largest group term of a
  gaussian model.
* ``nested``: a data-rich term whose groups are nested in those of another sampled term with
  the same columns (lecturers within departments) draws each group's total effect around its
  parent's (hierarchical centring, :mod:`.centring`); chosen instead of ``centered``. A centred
  random intercept is likewise drawn around the model's intercept.

The likelihood is written per row (``y`` observed, the offset added to eta) unless a gaussian
model can use the cross-products of ``y - offset`` instead (``CompiledModel.likelihood``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from ...design.crossprod import cross_products, group_cross_products
from ...design.offsets import response_less_offset
from ...design.types import Design, GroupBlock
from ...errors import SpecError
from ...families import get_family
from ...params import FIXED_DIM, OBS_DIM, block_names
from ...priors import PriorTable
from .blocks import group_effects, register
from .centring import (
    centre_nested,
    effects_around_intercept,
    effects_around_parent,
    intercept_holder,
    nested_parent,
    nesting,
)
from .fixed import fixed_coefficients
from .likelihoods import likelihood
from .marginal import (
    add_loglik,
    covariance_factor,
    marginal_from_crossproducts,
    marginal_from_rows,
    sufficient_statistics_loglik,
)

PARAMETERIZATIONS = ("noncentered", "centered", "marginal", "nested")
#: Likelihood forms: one term per row; gaussian cross-products; one term integrated out.
LIKELIHOOD_FORMS = ("rows", "sufficient statistics", "marginal")
#: Name of the potential holding a cross-product likelihood.
LOGLIK_POTENTIAL = "loglik_y"
#: A group is data-rich when the data's precision on its effect exceeds this multiple of the
#: prior's (n_j tau^2 / sigma^2): there the centred form mixes better (Papaspiliopoulos,
#: Roberts & Skold 2007: the two forms' convergence rates are 1/(1+k) and k/(1+k)).
DATA_RICH_RATIO = 1.0


@dataclass(frozen=True)
class CompiledModel:
    """The PyMC model plus what the sampler and results need to know about it.

    parameterization : block key -> "centered" / "noncentered" / "marginal".
    likelihood : one of LIKELIHOOD_FORMS.
    """

    model: pm.Model
    parameterization: dict[str, str]
    link: str
    likelihood: str = "rows"
    fingerprint: str = ""

    @property
    def marginal_keys(self) -> tuple[str, ...]:
        """Keys of the group terms whose effects must be drawn after sampling."""
        return tuple(k for k, v in self.parameterization.items() if v == "marginal")


def coords_for(design: Design, rows: bool = True) -> dict[str, list]:
    """Coordinates of the model; ``rows=False`` leaves out the per-row ``obs`` dim."""
    coords: dict[str, list] = {OBS_DIM: list(range(design.n_obs))} if rows else {}
    slopes = [n for n in design.fixed_names if n != "Intercept"]
    if slopes:
        coords[FIXED_DIM] = slopes
    for block, names in zip(design.groups, block_names(design.spec)):
        coords[names.level_dim] = list(block.levels)
        coords[names.column_dim] = list(block.columns)
        coords[names.column_dim_bis] = list(block.columns)
    return coords


@dataclass(frozen=True)
class _Fixed:
    """The registered fixed coefficients and the columns they multiply, as sampled.

    theta : (p,) tensor, ``[Intercept_c, b...]`` with an intercept, else ``b``.
    X : (n, p) matrix theta multiplies: a ones column and centred slopes with an intercept.
    """

    theta: object
    X: np.ndarray
    intercept_first: bool

    def eta(self, intercept: bool = True):
        """X theta; ``intercept=False`` leaves the intercept out (a group term carries it)."""
        if self.X.shape[1] == 0:
            return pt.zeros(self.X.shape[0])
        if self.intercept_first:
            if self.X.shape[1] == 1:
                return self.theta[0] if intercept else pt.zeros(self.X.shape[0])
            rest = pt.dot(self.X[:, 1:], self.theta[1:])
            return self.theta[0] + rest if intercept else rest
        return pt.dot(self.X, self.theta)


def _fixed_part(design: Design, priors: PriorTable) -> _Fixed:
    """Register Intercept_c (and the reported Intercept) and b."""
    X = design.X
    slope_idx = [j for j, n in enumerate(design.fixed_names) if n != "Intercept"]
    b = None
    if slope_idx:
        b = fixed_coefficients(priors, [design.fixed_names[j] for j in slope_idx])
    if design.has_intercept:
        Xs = X[:, slope_idx]
        means = Xs.mean(axis=0)
        ic = register("Intercept_c", priors.get("Intercept"))
        pm.Deterministic("Intercept", ic - (pt.dot(means, b) if b is not None else 0.0))
        theta = pt.concatenate([ic[None], b]) if b is not None else ic[None]
        return _Fixed(theta, np.column_stack([np.ones(len(X)), Xs - means]), True)
    theta = b if b is not None else pt.zeros(0)
    return _Fixed(theta, np.ascontiguousarray(X[:, slope_idx]), False)


def _block_contribution(block: GroupBlock, u):
    """sum_k u[codes, k] * X[:, k], skipping the multiply for an all-ones column; ``u=None``
    for a term whose effects a nested term carries."""
    if u is None:
        return 0.0
    codes = block.codes
    rows = u[codes]
    total = 0.0
    for k in range(block.n_columns):
        col = block.X[:, k]
        if np.all(col == 1.0):
            total = total + rows[:, k]
        else:
            total = total + rows[:, k] * col
    return total


# ---------------------------------------------------------------- choosing a parameterization


def information_ratio(block: GroupBlock, design: Design) -> float:
    """Median over groups of ``n_j tau^2 / sigma^2`` for a gaussian response: how much the
    data say about one group's effect relative to the population distribution.

    Moment estimates on the residuals of the fixed-effect least-squares fit: sigma^2 from
    the pooled within-group variance, tau^2 from the between-group variance of the group
    means minus their sampling noise (as in one-way ANOVA). Uses the first column of the
    term (the intercept when it has one). O(rows).
    """
    n, seen, means, sigma2 = _group_means(block, design)
    if sigma2 <= 0 or seen.sum() < 2:
        return float("inf")
    tau2 = float(np.var(means[seen], ddof=1) - np.mean(sigma2 / n[seen]))
    if tau2 <= 0:
        return 0.0
    return float(np.median(n[seen] * tau2 / sigma2))


def _group_means(block: GroupBlock, design: Design):
    """(rows per group, groups with rows, group means of the fixed-effect residuals, pooled
    within-group variance) on the term's first column (a slope without intercept: the
    residual per unit of x)."""
    y = response_less_offset(design)
    X = design.X
    resid = y - X @ np.linalg.lstsq(X, y, rcond=None)[0] if X.shape[1] else y - y.mean()
    col = block.X[:, 0]
    if not np.all(col == 1.0):
        resid = resid * col
    n = block.rows_per_level().astype(float)
    seen = n > 0
    sums = np.bincount(block.codes, weights=resid, minlength=block.n_levels)
    means = np.divide(sums, n, out=np.zeros_like(sums), where=seen)
    sigma2 = float(np.sum((resid - means[block.codes]) ** 2)) / max(len(y) - int(seen.sum()), 1)
    return n, seen, means, sigma2


def parent_information_ratio(
    inner: GroupBlock, parent: np.ndarray, n_parents: int, design: Design, children_sampled: bool = True
) -> float:
    """``m_j tau_P^2 / tau_C^2`` (median over parents) for the parent of a nested term: its
    effects are informed by its ``m_j`` children's effects, not by the rows directly.

    Moment estimates on the child means of the fixed-effect residuals (nested ANOVA):
    ``tau_C^2`` from their spread within parents, ``tau_P^2`` from the spread of the parents'
    means. With the children integrated out (``children_sampled=False``) a child mean is
    known only up to its noise too: ``m_j tau_P^2 / (tau_C^2 + sigma^2 / n)``. InstEval's
    departments: 0.85 (14 departments of 44-144 lecturers; centred: 2 divergences at small
    sds, non-centred: none); Pastes' batches above their integrated-out casks: 0.6 (10
    batches of 3 casks; centred: divergences in 6 of 6 seeds).
    """
    n, seen, means, sigma2 = _group_means(inner, design)
    noise = float(np.mean(sigma2 / n[seen]))
    p, c = parent[seen], means[seen]
    m = np.bincount(p, minlength=n_parents).astype(float)
    has = m > 0
    if has.sum() < 2 or len(c) <= has.sum():
        return float("inf")
    parent_means = np.bincount(p, weights=c, minlength=n_parents) / np.maximum(m, 1.0)
    within = float(np.sum((c - parent_means[p]) ** 2)) / (len(c) - has.sum())
    tau_c2 = within - noise
    if tau_c2 <= 0:
        return float("inf")
    tau_p2 = float(np.var(parent_means[has], ddof=1)) - float(np.mean((tau_c2 + noise) / m[has]))
    if tau_p2 <= 0:
        return 0.0
    return float(np.median(m[has]) * tau_p2 / (tau_c2 if children_sampled else tau_c2 + noise))


def choose_parameterization(block: GroupBlock, design: Design | None = None) -> str:
    """"centered" where groups are data-rich, else "noncentered".

    For a gaussian ``design`` data-rich means :func:`information_ratio` >= DATA_RICH_RATIO;
    for other families (or without a design) every group needs 50+ rows (and at most 100
    groups).
    """
    if design is not None and design.spec.family == "gaussian":
        return "centered" if information_ratio(block, design) >= DATA_RICH_RATIO else "noncentered"
    counts = block.rows_per_level()
    return "centered" if counts.min() >= 50 and block.n_levels <= 100 else "noncentered"


def _marginal_allowed(design: Design, link: str) -> bool:
    return design.spec.family == "gaussian" and link == "identity"


def plan_parameterization(
    design: Design, parameterization: dict[str, str] | str | None, link: str, integrate: bool = True
) -> list[str]:
    """The parameterization of every group term, in spec order.

    ``parameterization`` is None (choose), one value for all terms or a dict keyed by
    grouping factor (terms not named are chosen). Choosing: in a gaussian model with the
    identity link the term with the most effects (levels x columns) is integrated out
    ("marginal"); every other term is centred or not from the data, and a centred term nested
    in another sampled term becomes "nested" (:mod:`.centring`). "marginal" given for all
    terms applies to the largest one. At most one term can be integrated out
    (``integrate=False``: none unless asked for).
    """
    blocks = design.groups
    given: list[str | None] = []
    for block in blocks:
        if parameterization is None:
            value = None
        elif isinstance(parameterization, str):
            value = parameterization
        else:
            value = parameterization.get(block.group)
        if value is not None and value not in PARAMETERIZATIONS:
            raise SpecError(
                f"parameterization {value!r} for {block.group!r}: valid values are {list(PARAMETERIZATIONS)}"
            )
        given.append(value)
    if not isinstance(parameterization, (str, type(None))):
        known = {b.group for b in blocks}
        unknown = [k for k in parameterization if k not in known]
        if unknown:
            raise SpecError(
                f"parameterization given for {unknown}, which are not grouping factors of this "
                f"model; valid names: {sorted(known)}"
            )
    marginal_ok = _marginal_allowed(design, link)
    if any(v == "marginal" for v in given) and not marginal_ok:
        raise SpecError(
            f"parameterization 'marginal' integrates group effects out of a gaussian likelihood "
            f"with the identity link; this model is {design.spec.family} with the {link} link. "
            "Use 'centered' or 'noncentered'."
        )
    size = [b.n_levels * b.n_columns for b in blocks]
    if isinstance(parameterization, str) and parameterization == "marginal":
        given = [None] * len(blocks)
        given[int(np.argmax(size))] = "marginal"
    n_marginal = sum(v == "marginal" for v in given)
    if n_marginal > 1:
        names = [b.term.label for b, v in zip(blocks, given) if v == "marginal"]
        raise SpecError(
            f"only one group term can be integrated out ('marginal'); got {names}. Give the "
            "others 'centered' or 'noncentered'."
        )
    if n_marginal == 0 and marginal_ok and integrate:
        open_idx = [i for i, v in enumerate(given) if v is None]
        if open_idx:
            given[max(open_idx, key=lambda i: size[i])] = "marginal"
    plan = [v if v is not None else choose_parameterization(b, design) for b, v in zip(blocks, given)]
    plan = centre_nested(design, plan, given)
    if design.spec.family == "gaussian":
        _choose_parents(design, plan, given)
    return plan


def _choose_parents(design: Design, plan: list[str], given: list[str | None]) -> None:
    """Centre or not (in place) each chosen term whose groups hold those of a nested term
    or of the integrated-out term, by what the children say about it."""
    blocks = design.groups
    children = {j: (i, parent, True) for i, (j, parent) in nesting(design, plan).items()}
    if "marginal" in plan:
        m = plan.index("marginal")
        for j, outer in enumerate(blocks):
            parent = nested_parent(blocks[m], outer) if j != m and j not in children else None
            if parent is not None:
                children[j] = (m, parent, False)
    for j, (i, parent, sampled) in children.items():
        if given[j] is None and plan[j] != "nested":
            ratio = parent_information_ratio(blocks[i], parent, blocks[j].n_levels, design, sampled)
            plan[j] = "centered" if ratio >= DATA_RICH_RATIO else "noncentered"


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
    """
    family = get_family(design.spec.family)
    link = family.resolve_link(design.spec.link)
    if likelihood_form is not None and likelihood_form not in LIKELIHOOD_FORMS:
        raise SpecError(f"likelihood_form {likelihood_form!r}: valid values are {list(LIKELIHOOD_FORMS)}")
    plan = plan_parameterization(design, parameterization, link, integrate=likelihood_form != "rows")
    if likelihood_form == "rows" and "marginal" in plan:
        raise SpecError("likelihood_form='rows' cannot integrate a group term out; drop 'marginal'")
    blocks = list(zip(design.groups, block_names(design.spec)))
    sampled = [b for (b, _), how in zip(blocks, plan) if how != "marginal"]
    gaussian_identity = design.spec.family == "gaussian" and link == "identity"
    if "marginal" in plan:
        form = "marginal"
    elif gaussian_identity and likelihood_form != "rows" and (
        likelihood_form == "sufficient statistics" or _sufficient_statistics_pay(design, sampled)
    ) and len(sampled) <= 1:
        form = "sufficient statistics"
    else:
        form = "rows"
    chosen = {names.key: how for (_, names), how in zip(blocks, plan)}
    nests = nesting(design, plan)
    holder = intercept_holder(design, plan, form, nests)
    with pm.Model(coords=coords_for(design, rows=form == "rows")) as model:
        fixed = _fixed_part(design, priors)
        effects: list = [None] * len(blocks)
        L = None
        for i, ((block, names), how) in enumerate(zip(blocks, plan)):
            if how == "marginal":
                L = covariance_factor(block, names, priors)
            elif i == holder:
                effects[i] = effects_around_intercept(block, names, priors, fixed.theta[0], how == "centered")
            elif how != "nested":
                effects[i] = group_effects(block, names, priors, centered=how == "centered")
        # parents have fewer groups than their nested terms: build them first
        for i in sorted(nests, key=lambda i: blocks[i][0].n_levels):
            j, parent = nests[i]
            block, names = blocks[i]
            effects[i] = effects_around_parent(block, names, priors, effects[j], parent)
        for j, _ in nests.values():
            effects[j] = None  # its nested term's total effect carries it
        if form == "rows":
            eta = fixed.eta(intercept=holder is None)
            for (block, _), u in zip(blocks, effects):
                eta = eta + _block_contribution(block, u)
            likelihood(eta, design, priors, link)
        else:
            sigma = register("sigma", priors.get("sigma"))
            add_loglik(
                LOGLIK_POTENTIAL,
                _cross_product_loglik(design, fixed, blocks, plan, effects, L, sigma, holder is None),
            )
    return CompiledModel(
        model=model, parameterization=chosen, link=link, likelihood=form,
        fingerprint=fingerprint(design, priors, plan, form, link),
    )


def _source_digest() -> str:
    """Digest of the modules that turn a design into a PyMC model (cached samplers built
    by older code are not reused)."""
    global _SOURCE_DIGEST
    if _SOURCE_DIGEST is None:
        import importlib

        h = hashlib.sha256()
        for name in ("compile", "blocks", "centring", "fixed", "marginal", "likelihoods"):
            mod = importlib.import_module(f"{__package__}.{name}")
            with open(mod.__file__, "rb") as fh:
                h.update(fh.read())
        for mod in ("hierbayes.families", "hierbayes.params", "hierbayes.design.crossprod", "hierbayes.design.offsets"):
            with open(importlib.import_module(mod).__file__, "rb") as fh:
                h.update(fh.read())
        _SOURCE_DIGEST = h.hexdigest()
    return _SOURCE_DIGEST


_SOURCE_DIGEST: str | None = None


def fingerprint(design: Design, priors: PriorTable, plan: list[str], form: str, link: str) -> str:
    """A digest of everything the compiled model depends on: data arrays, priors, structure
    and the compiling code. Equal fingerprints mean identical PyMC models."""
    h = hashlib.sha256()

    def add(obj) -> None:
        if isinstance(obj, np.ndarray):
            arr = np.ascontiguousarray(obj)
            h.update(f"{arr.dtype}{arr.shape}".encode())
            h.update(arr.tobytes())
        else:
            h.update(repr(obj).encode())

    add((design.spec.to_formula(), design.spec.family, link, form, tuple(plan), design.fixed_names))
    add(np.asarray(design.y) if design.offset is None else np.column_stack([design.y, design.offset]))
    add(np.asarray(design.X))
    if design.trials is not None:
        add(np.asarray(design.trials))
    for block in design.groups:
        add((block.term.label, block.term.covariance.value, block.columns, len(block.levels)))
        add(np.asarray(block.codes))
        add(np.asarray(block.X))
    add(tuple((e.address.key(), e.prior.dist, e.prior.params) for e in priors.entries))
    if priors.joint is not None:
        add((priors.joint.terms, np.asarray(priors.joint.covariance)))
    add(_source_digest())
    return h.hexdigest()


def _cross_product_loglik(design: Design, fixed: _Fixed, blocks, plan, effects, L, sigma, with_intercept=True):
    y = response_less_offset(design)  # a writeable copy (numba refuses read-only constants)
    shift = float(y.mean()) if fixed.intercept_first else 0.0
    if "marginal" not in plan:
        u = next((e for e in effects if e is not None), None)
        block = design.groups[0] if design.groups else None
        cp = cross_products(
            fixed.X, y, y_shift=shift,
            codes=block.codes if block else None, Z=block.X if block else None,
            n_levels=block.n_levels if block else None,
        )
        return sufficient_statistics_loglik(fixed.theta, u, sigma, cp, fixed.intercept_first)
    m = plan.index("marginal")
    block = design.groups[m]
    if len(blocks) == 1:
        cp = cross_products(fixed.X, y, y_shift=shift, codes=block.codes, Z=block.X, n_levels=block.n_levels)
        return marginal_from_crossproducts(fixed.theta, L, sigma, cp, fixed.intercept_first)
    eta = fixed.eta(intercept=with_intercept)
    for i, ((other, _), u) in enumerate(zip(blocks, effects)):
        if i != m:
            eta = eta + _block_contribution(other, u)
    ZZ = group_cross_products(block.codes, block.X, np.zeros((len(y), 0)), y, block.n_levels).ZZ
    return marginal_from_rows(y - eta, block, L, sigma, ZZ)
