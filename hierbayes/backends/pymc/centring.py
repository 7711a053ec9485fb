"""Hierarchical centring: group effects drawn around the effect one level up.

With data-rich groups the data fix each group's *total* effect well, but not how it splits
between levels: lecturers nested in departments (InstEval) can shift a department's effect
by ``c`` and each of its lecturers' by ``-c``, and a random intercept's groups can trade
their mean against the model's intercept. Both are ridges that NUTS with a diagonal mass
matrix crosses slowly (InstEval crossed: R-hat 1.013 on the department effects after 4 x
1,000 draws). Drawing each group's total effect around its parent instead (Gelfand, Sahu &
Carlin 1995) makes the data inform the sampled coordinates directly:

* a term nested in another sampled term with the same columns (``nested``):
  ``w_j ~ N(u_parent(j), Sigma)`` and ``re_<key> = w - u_parent``; the parent then adds
  nothing to the linear predictor, since ``w`` carries it;
* the top of a chain of nested terms, or else a centred random intercept (the *intercept
  holder*): ``v_j ~ N(Intercept_c + xbar_j b, sd^2)`` and ``re_<key> = v - Intercept_c -
  xbar_j b`` (non-centred: ``v = Intercept_c + xbar_j b + z sd``); the linear predictor then
  leaves out the fixed intercept. In an ordinal model the thresholds' location ``m =
  -mean(Intercept_c)`` takes ``Intercept_c``'s place (:mod:`.thresholds`): the rows then see
  only the thresholds' centred gaps, and no threshold trades against the effects' mean.

``xbar_j`` is group ``j``'s mean of the (centred) fixed-effect columns, so each total effect's
location is the group's mean linear predictor (the *data shift*; Gelfand, Sahu & Carlin 1995
put group-level covariates in the mean of the centred effects likewise): a nested term's
location is its parent's total plus ``(xbar_child - xbar_parent) b``, and the rows of the
chain's lowest term see only the within-group columns ``x_i - xbar_j``. What the data fix is a
group's mean linear predictor; without the shift a covariate that varies between groups
(uvb between mmmec's regions, Variety between Oats' plots) makes that a ridge between ``b``
and the total effects, which NUTS crosses slowly or, with few groups, diverges on.

All are shifts (no Jacobian), so the posterior of every reported parameter is unchanged.
"""

from __future__ import annotations

import numpy as np

from ...design.types import Design, GroupBlock
from ...errors import SpecError
from ...families import get_family
from ...params import BlockNames
from ...priors import PriorTable
from .blocks import effects_around, group_effects
from .lazy import pt

#: Suffix of the sampled total effects (``re_<key>__total``): "__" keeps them out of results.
TOTAL_SUFFIX = "__total"


def nested_parent(inner: GroupBlock, outer: GroupBlock) -> np.ndarray | None:
    """Code of the ``outer`` group of every ``inner`` group when the inner groups are nested
    in the outer ones and both terms multiply the same columns, else None."""
    if inner.n_levels <= outer.n_levels or inner.columns != outer.columns:
        return None
    if inner.X.shape != outer.X.shape or not np.array_equal(inner.X, outer.X):
        return None
    parent = np.full(inner.n_levels, -1, dtype=np.int64)
    parent[inner.codes] = outer.codes  # some outer code per inner group; checked below
    if np.any(parent < 0) or np.any(parent[inner.codes] != outer.codes):
        return None
    return parent


def crossed_interactions(design: Design) -> list[int]:
    """Indices of the terms whose groups are nested in two group terms that are crossed with
    each other (``educ:age`` in ``educ`` and in ``age``), not merely in a chain
    (``c`` in ``(1 | a/b/c)``)."""
    blocks = design.groups
    out = []
    for i, inner in enumerate(blocks):
        parents = [j for j, outer in enumerate(blocks) if j != i and nested_parent(inner, outer) is not None]
        if any(nested_parent(blocks[a], blocks[b]) is None and nested_parent(blocks[b], blocks[a]) is None
               for k, a in enumerate(parents) for b in parents[k + 1:]):
            out.append(i)
    return out


def _assign_parents(blocks, inner_ok: list[bool], parent_ok: list[bool]) -> dict[int, tuple[int, np.ndarray]]:
    """Inner term -> (parent term, parent codes), inner terms taken from the most groups
    down, each to a free parent it is nested in: the closest one in a chain (``c`` in
    ``(1 | a/b/c)`` goes to ``b``), and among parents crossed with each other (``educ:eth``
    in ``educ`` and in ``eth``) the one with the fewest groups, whose sd the data say least
    about and which gains most from being drawn through its children (and, at the top of a
    chain of random intercepts, integrated out: :mod:`.integrated_top`)."""
    by_size = sorted(range(len(blocks)), key=lambda i: -blocks[i].n_levels)
    out: dict[int, tuple[int, np.ndarray]] = {}
    taken: set[int] = set()
    for i in by_size:
        if not inner_ok[i]:
            continue
        found = {}
        for j in by_size:
            if j == i or j in taken or not parent_ok[j]:
                continue
            parent = nested_parent(blocks[i], blocks[j])
            if parent is not None:
                found[j] = parent
        if found:
            def rank(j: int) -> tuple[int, int]:
                outside = sum(nested_parent(blocks[j], blocks[k]) is None for k in found if k != j)
                return outside, blocks[j].n_levels
            j = min(found, key=rank)
            out[i] = (j, found[j])
            taken.add(j)
    return out


def nesting(design: Design, plan: list[str]) -> dict[int, tuple[int, np.ndarray]]:
    """Inner term index -> (parent term index, parent code of every inner group) for every
    "nested" term of ``plan``. The parent is the closest sampled term (most groups) that the
    inner one is nested in; each parent takes one nested term, and may itself be nested
    (``(1 | a/b/c)``: c around b around a)."""
    blocks = design.groups
    out = _assign_parents(blocks, [how == "nested" for how in plan], [how != "marginal" for how in plan])
    for i, how in enumerate(plan):
        if how == "nested" and i not in out:
            raise SpecError(
                f"parameterization 'nested' for {blocks[i].group!r}: its groups are not nested in "
                "those of another sampled group term with the same columns (each parent term "
                "takes one nested term); use 'centered' or 'noncentered'"
            )
    return out


def free_parents(design: Design, plan: list[str], inner_ok: list[bool]) -> dict[int, tuple[int, np.ndarray]]:
    """Inner term -> (parent term, parent codes) for the terms marked in ``inner_ok``, each
    to a sampled term it is nested in that no "nested" term of ``plan`` is drawn around yet
    (chosen as :func:`nesting` chooses)."""
    taken = {j for j, _ in nesting(design, plan).values()}
    parent_ok = [how != "marginal" and j not in taken for j, how in enumerate(plan)]
    return _assign_parents(design.groups, inner_ok, parent_ok)


def centre_nested(design: Design, plan: list[str], given: list[str | None]) -> list[str]:
    """``plan`` with every chosen "centered" term that is nested in another sampled term
    made "nested" (terms the user named keep what they were given)."""
    inner_ok = [how == "nested" or (how == "centered" and g is None) for how, g in zip(plan, given)]
    chosen = _assign_parents(design.groups, inner_ok, [how != "marginal" for how in plan])
    return ["nested" if i in chosen else how for i, how in enumerate(plan)]


def intercept_holder(design: Design, plan: list[str], form: str, nests: dict, spanned: bool = False,
                     passed_over: set[int] = frozenset()) -> int | None:
    """Index of the random-intercept term whose effects carry the model's intercept, if any.

    The top of a chain of nested terms (``nests``, from :func:`nesting`), centred or not:
    its effects are ``Intercept + re`` and the terms below are drawn around them, so the data
    inform the intercept only through the prior of those effects. Else the centred
    intercept-only term with the fewest groups (whose mean the data pin down least, so the
    ridge with the intercept is longest). An ordinal model's thresholds' location takes the
    intercept's place (:mod:`.thresholds`), as does the location of fixed columns that span
    an intercept (``spanned``, :mod:`.spanned`). None without any of these, or with the
    sufficient-statistics likelihood (which needs the effects themselves). ``passed_over``:
    centred terms not to choose (few-level terms the adaptive form takes,
    :func:`.adaptive.few_level_adaptive`).
    """
    if not (has_location(design) or spanned) or form == "sufficient statistics":
        return None
    tops = {j for j, _ in nests.values() if plan[j] != "nested"}
    candidates = [
        i for i, (b, how) in enumerate(zip(design.groups, plan))
        if (how == "centered" and i not in passed_over or i in tops) and b.is_random_intercept
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda i: (i not in tops, design.groups[i].n_levels))


def has_location(design: Design) -> bool:
    """Whether the model has an intercept for a group term to carry: a fixed intercept, or an
    ordinal model's thresholds' location (:mod:`.thresholds`)."""
    return design.has_intercept or get_family(design.spec.family).thresholds


def holder_chain(holder: int, nests: dict[int, tuple[int, np.ndarray]]) -> list[int]:
    """The intercept holder and the terms drawn around it, top down (``nests`` from
    :func:`nesting`)."""
    below = {j: i for i, (j, _) in nests.items()}
    chain = [holder]
    while chain[-1] in below:
        chain.append(below[chain[-1]])
    return chain


def column_means(block: GroupBlock, X: np.ndarray) -> np.ndarray:
    """(J, q) mean of each column of ``X`` (n, q) over each group's rows (0 for a group
    without rows)."""
    n = np.bincount(block.codes, minlength=block.n_levels).astype(float)
    sums = np.stack([np.bincount(block.codes, weights=X[:, k], minlength=block.n_levels)
                     for k in range(X.shape[1])], axis=1) if X.shape[1] else np.zeros((block.n_levels, 0))
    return sums / np.maximum(n, 1.0)[:, None]


def data_shift(design: Design, chain: list[int], slopes: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """(per term of ``chain``, its groups' means of the centred slope columns ``slopes``;
    the rows' within-group columns ``slopes - xbar`` of the chain's lowest term)."""
    means = [column_means(design.groups[i], slopes) for i in chain]
    leaf = design.groups[chain[-1]]
    return means, slopes - means[-1][leaf.codes]


def located(mean, xbar: np.ndarray, b):
    """``mean`` (broadcasting to (J, 1)) plus ``xbar b`` as a (J, 1) tensor."""
    if b is None or xbar.shape[1] == 0:
        return mean
    return mean + pt.dot(xbar, b)[:, None]


def effects_around_parent(block: GroupBlock, names: BlockNames, priors: PriorTable, parent_total, parent,
                          xbar_step: np.ndarray | None = None, b=None):
    """A nested term's total effects, centred on its parent's (``parent_total[parent]``)
    plus ``xbar_step b`` (its groups' covariate means less their parent's)."""
    mean = parent_total[parent]
    if xbar_step is not None:
        mean = located(mean, xbar_step, b)
    return effects_around(block, names, priors, mean, names.effects + TOTAL_SUFFIX)


def effects_around_intercept(block: GroupBlock, names: BlockNames, priors: PriorTable, intercept, centered: bool,
                             xbar: np.ndarray | None = None, b=None, precision: np.ndarray | None = None):
    """The intercept holder's effects plus the model intercept and ``xbar b`` (its groups'
    covariate means times the slopes): centred on them, or ``location + z sd``
    (non-centred; adaptive given the groups' ``precision``, :mod:`.adaptive`)."""
    location = pt.reshape(intercept, (1, 1))
    if xbar is not None:
        location = located(location, xbar, b)
    if centered:
        return effects_around(block, names, priors, location, names.effects + TOTAL_SUFFIX)
    return location + group_effects(block, names, priors, centered=False, precision=precision)
