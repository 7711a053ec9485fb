"""Which parameterization each group term gets: the planning rule.

A group term's effects ``u_j ~ N(0, tau^2)`` can be sampled centred (``u`` itself) or
non-centred (``u = tau z``, ``z ~ N(0, 1)``). Which one samples well depends on how much the
data say about one group's effect relative to the population distribution,
``k = n_j tau^2 / sigma^2`` for a gaussian response (the precision of the group mean over the
prior's). Papaspiliopoulos, Roberts & Skold (2007): the two forms' convergence rates are
``1/(1+k)`` (centred) and ``k/(1+k)`` (non-centred), so centring pays where ``k > 1``.

The two failures are not alike (Betancourt & Girolami 2015). Where ``k << 1`` the centred
posterior is a funnel: as ``tau`` shrinks the effects are squeezed into a neck the step size
cannot enter, so NUTS diverges and the draws are biased. Where ``k >> 1`` the non-centred
posterior is a curved ridge that NUTS crosses slowly: the ESS drops, the draws stay right.
And ``k`` is not a number but a posterior distribution, through ``tau``: with a handful of
groups the posterior of ``tau`` reaches far below its estimate. Six workers in nlme's
Machines: ``k`` estimated at 6, yet 5% of the posterior of ``tau`` lies where ``k < 0.8``
and 1% where ``k < 0.05``; centred, the fit diverges there (sd 0.55-1.4, 10-19 divergent
transitions per seed), non-centred it does not.

The rule therefore centres a term only when ``k >= 1`` (:data:`DATA_RICH_RATIO`) holds over
all but :data:`NECK_MASS` of the posterior of ``tau``, not merely at its estimate. The lower
bound is the classical one for a variance ratio in the one-way random-effects ANOVA
(Searle, Casella & McCulloch 1992, sec. 3.5): the ratio of the between-group mean square to
the noise of a group mean is ``(1 + k)`` times an ``F(J - 1, df_noise)`` variable, so
``k_low = (1 + k_hat) / F_{1 - NECK_MASS}(J - 1, df_noise) - 1``. Few groups (small
``J - 1``) or a poorly known noise (a parent whose children are few) widen ``F`` and keep
the term non-centred unless its data are overwhelming (Penicillin's 6 samples,
``k ~ 400``: centred). Many groups leave ``k_low`` close to ``k_hat``.

What counts as a group's data (Gelfand, Sahu & Carlin 1995 for nested terms):

* a term that is the parent of a nested term, or of the integrated-out term, is informed by
  its ``m_j`` children's effects, not by its rows (:func:`parent_information_ratio`):
  ``k = m_j tau_P^2 / tau_C^2`` (``/ (tau_C^2 + sigma^2/n)`` when the children are
  integrated out), with ``df_noise`` the children's degrees of freedom within parents;
* any other term by its rows (:func:`information_ratio`; their working response or, censored,
  their likelihood's curvature in other families: :mod:`.plan_glm`, :mod:`.plan_censored`).

A data-rich term nested in another sampled term becomes ``"nested"`` (hierarchical
centring, :mod:`.centring`); in a gaussian model with the identity link the term with the
most effects is integrated out (``"marginal"``).
"""

from __future__ import annotations

import numpy as np

from ...design.types import Design, GroupBlock
from ...errors import SpecError
from ...families import get_family
from .centring import centre_nested, crossed_interactions, free_parents, nested_parent, nesting
from .information import DATA_RICH_RATIO, NECK_MASS, Information, moment_information  # noqa: F401
from .integrated_top import integrated_tops
from .plan_censored import censored_information
from .plan_columns import every_column_rich, fixed_residuals, working_design
from .plan_glm import glm_information, precision_known, saturated, working_group_means

#: Effects scaled by their data's precision at the current sd (:mod:`.adaptive`).
ADAPTIVE = "adaptive"
PARAMETERIZATIONS = ("noncentered", "centered", "marginal", "nested", ADAPTIVE)
MIN_CENTRED_LEVELS = 20  # families without an information rule: fewer groups stay non-centred


def group_means(block: GroupBlock, design: Design):
    """(rows per group, groups with rows, group means of the fixed-effect residuals, pooled
    within-group variance) on the term's first column (a slope without intercept: the
    residual per unit of x)."""
    resid = fixed_residuals(design)
    col = block.X[:, 0]
    if not np.all(col == 1.0):
        resid = resid * col
    n = block.rows_per_level().astype(float)
    seen = n > 0
    sums = np.bincount(block.codes, weights=resid, minlength=block.n_levels)
    means = np.divide(sums, n, out=np.zeros_like(sums), where=seen)
    sigma2 = float(np.sum((resid - means[block.codes]) ** 2)) / max(len(resid) - int(seen.sum()), 1)
    return n, seen, means, sigma2


def row_information(block: GroupBlock, design: Design) -> Information:
    """:class:`Information` of a term from its rows (gaussian response): ``n_j tau^2 /
    sigma^2``, by moments on the fixed-effect residuals (one-way ANOVA)."""
    n, seen, means, sigma2 = group_means(block, design)
    return moment_information(n, seen, means, sigma2, max(len(design.y) - int(seen.sum()), 1))


def parent_information(
    inner: GroupBlock,
    parent: np.ndarray,
    n_parents: int,
    design: Design,
    children_sampled: bool = True,
    means_of=None,
) -> Information:
    """:class:`Information` of the parent of a nested term: its effects are informed by its
    ``m_j`` children's effects, ``m_j tau_P^2 / tau_C^2`` (nested ANOVA moments on the
    child means; ``/ (tau_C^2 + sigma^2/n)`` with the children integrated out).
    ``means_of(block)`` gives the children's group means where the response is not gaussian
    (:func:`.plan_glm.working_group_means`); by default :func:`group_means`."""
    found = group_means(inner, design) if means_of is None else means_of(inner)
    n, seen, means, sigma2 = found
    noise = float(np.mean(sigma2 / n[seen]))
    p, c = parent[seen], means[seen]
    m = np.bincount(p, minlength=n_parents).astype(float)
    has = m > 0
    P, C = int(has.sum()), len(c)
    if P < 2 or C <= P:
        return Information(float("inf"))
    parent_means = np.bincount(p, weights=c, minlength=n_parents) / np.maximum(m, 1.0)
    within = float(np.sum((c - parent_means[p]) ** 2)) / (C - P)  # tau_C^2 + noise
    tau_c2 = within - noise
    if tau_c2 <= 0 and children_sampled:  # children at their parent's effect: it is all they say
        return Information(float("inf"))
    parent_noise = float(np.mean(within / m[has]))
    tau_p2 = float(np.var(parent_means[has], ddof=1)) - parent_noise
    denominator = tau_c2 if children_sampled else within
    ratio = float(np.median(m[has])) * max(tau_p2, 0.0) / denominator
    scale = float(np.median(m[has])) * parent_noise / denominator
    return Information(ratio, P - 1, C - P, scale)


def information_ratio(block: GroupBlock, design: Design) -> float:
    """Median over groups of ``n_j tau^2 / sigma^2`` for a gaussian response (the estimate;
    :func:`row_information` also gives its uncertainty). O(rows)."""
    return row_information(block, design).ratio


def parent_information_ratio(
    inner: GroupBlock, parent: np.ndarray, n_parents: int, design: Design, children_sampled: bool = True
) -> float:
    """``m_j tau_P^2 / tau_C^2`` (median over parents) for the parent of a nested term, the
    estimate of :func:`parent_information`. InstEval's departments: 0.85; Pastes' batches
    above their integrated-out casks: 0.6; Machines' workers above their integrated-out
    worker:machine cells: 6, but 0.38 at the 1% lower bound (6 workers)."""
    return parent_information(inner, parent, n_parents, design, children_sampled).ratio


def choose_parameterization(block: GroupBlock, design: Design | None = None) -> str:
    """"centered" where groups are data-rich over the posterior of tau, else "noncentered".

    Censored and survival responses: :func:`.plan_censored.censored_information` is data-rich
    (its lower bound reaches DATA_RICH_RATIO); gaussian: :func:`row_information`, and on the
    working response for lognormal, gamma and student (:func:`working_design`); binomial and
    count: :func:`.plan_glm.glm_information`; otherwise (or without a design) every group
    needs 50+ rows, and there are MIN_CENTRED_LEVELS to 100 groups.
    """
    if (info := None if design is None else censored_information(block, design)) is not None:
        return "centered" if info.data_rich else "noncentered"
    if design is not None and get_family(design.spec.family).normal_residuals:
        rich = row_information(block, design).data_rich and every_column_rich(block, design)
        return "centered" if rich else "noncentered"
    working = working_design(design)
    if working is not None:
        rich = row_information(block, working).data_rich and every_column_rich(block, working)
        return "centered" if rich else "noncentered"
    if design is not None:
        link = get_family(design.spec.family).resolve_link(design.spec.link)
        info = glm_information(block, design, link)
        if info is not None:  # saturated levels bound the moments' spread: data-rich by error
            return "centered" if info.data_rich and not saturated(block, design) else "noncentered"
    counts = block.rows_per_level()
    rich = counts.min() >= 50 and MIN_CENTRED_LEVELS <= block.n_levels <= 100
    return "centered" if rich else "noncentered"


#: NUTS target acceptance when group effects are sampled (rstanarm's default adapt_delta for
#: its multilevel models) and when every group term is integrated out.
TARGET_ACCEPT_SAMPLED = 0.95
TARGET_ACCEPT_INTEGRATED = 0.9
#: A sampled group term with at most FEW_LEVELS levels gets TARGET_ACCEPT_FEW_LEVELS, an
#: integrated-out one with at most FEW_LEVELS_INTEGRATED levels TARGET_ACCEPT_SAMPLED.
FEW_LEVELS, TARGET_ACCEPT_FEW_LEVELS, FEW_LEVELS_INTEGRATED = 5, 0.99, 10


def default_target_accept(parameterization: dict[str, str], n_levels: dict[str, int] | None = None) -> float:
    """The target acceptance rate a fit uses unless told otherwise.

    A sampled group term (centred, non-centred or nested) has an sd whose posterior, with few
    or weakly informed groups, reaches both where the centred form has a funnel and where the
    non-centred one has a ridge; no single parameterization is good everywhere in it (the
    classic analyses' Oats, Pixel and contraception cases diverge a few times in 4,000 draws at
    0.9, not at 0.95). A smaller step size gets through both, at 20-40% more gradient
    evaluations. With every group term integrated out (``"marginal"``) only variance
    parameters and fixed effects are sampled and the default stays at 0.9.

    ``n_levels`` (block key -> number of levels): a sampled term of at most ``FEW_LEVELS``
    levels has one degree of freedom for its sd, whose posterior is the prior's shape over
    orders of magnitude; nlme's Assay (``(1 | Block)``, 2 blocks, beside two nested terms)
    diverged at 2 of seeds 1-8 at 0.95 (1 and 6 transitions; non-centring the blocks: 53) and
    at none at 0.99, where its trees are about twice as deep on 60 rows; survival::veteran's
    weibull ``(1 | celltype)`` (4 levels) at 7 of seeds 1-10 (17 transitions, in the sd's upper
    tail) and at none at 0.99 (estimates unchanged, 12 s for 5). An integrated-out term
    of at most ``FEW_LEVELS_INTEGRATED`` levels gets 0.95: its sd spans a factor of 2.5 or more
    and the intercept's spread follows it (sd / sqrt(J)); nlme's Rail (6 rails) diverged once
    at seeds 9 and 10 of 1-10 at 0.9, at none at 0.95.
    """
    levels, sampled = n_levels or {}, [key for key, how in parameterization.items() if how != "marginal"]
    if any(levels.get(key, FEW_LEVELS + 1) <= FEW_LEVELS for key in sampled):
        return TARGET_ACCEPT_FEW_LEVELS
    few = any(levels.get(key, FEW_LEVELS_INTEGRATED + 1) <= FEW_LEVELS_INTEGRATED for key in parameterization)
    return TARGET_ACCEPT_SAMPLED if sampled or few else TARGET_ACCEPT_INTEGRATED


def _marginal_allowed(design: Design, link: str) -> bool:
    # a distributional formula (sigma by row) and censored or truncated rows have no
    # closed-form marginal likelihood: group effects are sampled
    family = get_family(design.spec.family)
    return family.linear_gaussian(link) and not design.distributional and design.censoring is None


def given_values(design: Design, parameterization: dict[str, str] | str | None) -> list[str | None]:
    """What the user gave per term (None: choose), checked against the terms' names and
    PARAMETERIZATIONS."""
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
    return given


def plan_parameterization(
    design: Design, parameterization: dict[str, str] | str | None, link: str, integrate: bool = True
) -> list[str]:
    """The parameterization of every group term, in spec order.

    ``parameterization`` is None (choose), one value for all terms or a dict keyed by
    grouping factor (terms not named are chosen). Choosing: in a gaussian model with the
    identity link the term with the most effects (levels x columns) is integrated out
    ("marginal"); every other term is centred or not by the rule of this module, and a
    centred term nested in another sampled term becomes "nested" (:mod:`.centring`).
    "marginal" given for all terms applies to the largest one. At most one term can be
    integrated out (``integrate=False``: none unless asked for).
    """
    blocks = design.groups
    given = given_values(design, parameterization)
    marginal_ok = _marginal_allowed(design, link)
    if any(v == "marginal" for v in given) and design.distributional:
        raise SpecError(
            "parameterization 'marginal' integrates group effects out of a gaussian likelihood "
            "with one residual sd; this model has a formula for "
            f"{[name for name, _ in design.distributional]}. Use 'centered' or 'noncentered'."
        )
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
    # a crossed interaction's cells are informed in few directions once both parents are
    # known (README MRP: drawn around educ, R-hat 1.013 at one seed in 8): adaptive instead
    for i in crossed_interactions(design):
        if given[i] is None and precision_known(blocks[i], design, link):
            given[i] = ADAPTIVE
    plan = [v if v is not None else choose_parameterization(b, design) for b, v in zip(blocks, given)]
    plan = centre_nested(design, plan, given)
    means_of = None if get_family(design.spec.family).normal_residuals else (lambda block: working_group_means(block, design, link))
    _uncentre_children(design, plan, given, means_of)
    _nest_unsplit_children(design, plan, given, means_of)
    _choose_parents(design, plan, given, means_of)
    return plan


def child_information(
    inner: GroupBlock, parent: np.ndarray, n_parents: int, design: Design, means_of=None
) -> Information:
    """:class:`Information` of a term nested in another, from the spread of its groups'
    means around their parent's mean: drawn around the parent (``"nested"``), a child's
    effects are ``N(parent, tau_C^2)``, so it is data-rich when ``n_c tau_C^2 / sigma^2`` is,
    not when its rows alone differ (the parent's variation is in those). The README's MRP
    model: ``male:eth`` (two cells per ethnicity, ``male`` a fixed effect) looked rich by its
    rows (k 9.5) and diverged at small sds drawn around ``eth``; within ``eth`` it is not."""
    n, seen, means, sigma2 = group_means(inner, design) if means_of is None else means_of(inner)
    p, c = parent[seen], means[seen]
    m = np.bincount(p, minlength=n_parents).astype(float)
    P, C = int((m > 0).sum()), len(c)
    if C <= P:
        return Information(float("inf"))
    parent_means = np.bincount(p, weights=c, minlength=n_parents) / np.maximum(m, 1.0)
    noise = float(np.mean(sigma2 / n[seen]))
    tau_c2 = float(np.sum((c - parent_means[p]) ** 2)) / (C - P) - noise
    ratio = float(np.median(n[seen])) * max(tau_c2, 0.0) / sigma2
    scale = float(np.median(n[seen])) * noise / sigma2
    df_noise = np.inf if means_of is not None else max(len(design.y) - C, 1)
    return Information(ratio, C - P, df_noise, scale)


def _uncentre_children(design: Design, plan: list[str], given: list[str | None], means_of=None) -> None:
    """Make (in place) each chosen "nested" term non-centred when its spread within its
    parent does not make it data-rich (:func:`child_information`)."""
    blocks = design.groups
    for i, (j, parent) in nesting(design, plan).items():
        if given[i] is not None:
            continue
        if means_of is not None and means_of(blocks[i]) is None:
            continue
        if not child_information(blocks[i], parent, blocks[j].n_levels, design, means_of).data_rich:
            plan[i] = "noncentered"
    # a centred term nested in another sampled term but not drawn around it (that parent
    # took another child): its rows inform its total, the parent's effect included, so it is
    # judged by its spread within that parent alike. A parent integrated out as the top of a
    # chain (:mod:`.integrated_top`) is no sampled effect to share a total with: the child is
    # judged by its rows (the README's MRP model: male:eth inside eth, whose effects its
    # child educ:eth carries; non-centred, 3-6 divergences at the upper tail of its sd)
    tops = integrated_tops(blocks, plan, nesting(design, plan))
    for i, inner in enumerate(blocks):
        if given[i] is not None or plan[i] != "centered":
            continue
        if means_of is not None and means_of(inner) is None:
            continue
        for j, outer in enumerate(blocks):
            parent = nested_parent(inner, outer) if j != i and plan[j] != "marginal" and j not in tops else None
            if parent is not None and not child_information(inner, parent, outer.n_levels, design, means_of).data_rich:
                plan[i] = "noncentered"
                break


def _nest_unsplit_children(design: Design, plan: list[str], given: list[str | None], means_of=None) -> None:
    """Draw (in place) a chosen non-centred term around a sampled term it is nested in
    ("nested") when the data cannot split the effect between the two: its parent's
    effects are not informed apart from its children's (:func:`parent_information` below
    DATA_RICH_RATIO at its estimate: the children's totals vary as much within parents as
    between), while the children's own spread within their parents is (:func:`child_information`
    at least DATA_RICH_RATIO at its estimate, and above 0 over all but NECK_MASS of the
    posterior of its sd, so the centred children have no neck to enter).

    Non-centred, both terms then add to the linear predictor ``tau_P z_j + tau_C z_jk`` and
    the likelihood sees only their sum: a ridge between each parent's effect and its
    children's (exact for a parent with one child) that NUTS crosses slowly. mlmRev's
    Contraception, ``(1 | district/urban)``: 1.7 cells per district, 18 of 60 districts
    with one; parent ratio 0, children 1.6 (lower bound 0.38): non-centred R-hat 1.011 and
    ESS 501 on ``sd_district``; drawn around ``district``, 1.004 and 1,147."""
    blocks = design.groups
    inner_ok = [g is None and how == "noncentered" for how, g in zip(plan, given)]
    for i, (j, parent) in free_parents(design, plan, inner_ok).items():
        if means_of is not None and means_of(blocks[i]) is None:
            continue
        split = parent_information(blocks[i], parent, blocks[j].n_levels, design, True, means_of)
        within = child_information(blocks[i], parent, blocks[j].n_levels, design, means_of)
        if split.ratio < DATA_RICH_RATIO <= within.ratio and within.lower() > 0:
            plan[i] = "nested"


def _choose_parents(design: Design, plan: list[str], given: list[str | None], means_of=None) -> None:
    """Centre or not (in place) each chosen term whose groups hold those of another term
    (nested in it, drawn around it, integrated out, or an interaction such as ``male:eth``
    inside ``eth``), by what those children say about it: centred only when every child
    leaves it data-rich (in a binomial or count model through ``means_of``, the children's
    working-response means)."""
    blocks = design.groups
    for j, outer in enumerate(blocks):
        if given[j] is not None or plan[j] in ("nested", "marginal"):
            continue
        verdicts = []
        for i, inner in enumerate(blocks):
            parent = nested_parent(inner, outer) if i != j else None
            if parent is None or (means_of is not None and means_of(inner) is None):
                continue
            if means_of is not None and saturated(inner, design):  # unbounded spread: says little
                verdicts.append(False)
                continue
            sampled = plan[i] != "marginal"
            info = parent_information(inner, parent, outer.n_levels, design, sampled, means_of)
            verdicts.append(info.data_rich)
        if verdicts and means_of is None:  # gaussian: a term with slopes, column by column too
            verdicts.append(every_column_rich(outer, design))
        if verdicts:
            plan[j] = "centered" if all(verdicts) else "noncentered"
