"""A warning for implicit nesting: ``(1|batch) + (1|cask)`` with cask labels reused in batches.

lme4 (and hierbayes, which keeps lme4's meaning) reads ``(1|cask)`` as one effect per cask
*label*: on Pastes, where the casks of every batch are called ``a``, ``b``, ``c``, it fits 3
shared casks instead of the 30 casks there are (lme4's documentation asks for
``(1|batch/cask)`` or unique labels). Nothing in the formula tells the two readings apart,
so the data decide whether to warn.

The rule, for two grouping factors ``outer`` and ``inner`` of separate terms of the model
(``inner`` has no more levels than ``outer``):

1. neither factor is nested in the other by its codes (with labels unique across batches,
   every cask occurs in one batch and there is nothing to warn about), and the labels of
   ``inner`` repeat in (nearly) every level of ``outer``: at least 75% of all
   (outer, inner) pairs occur;
2. each (outer, inner) pair is a unit measured a few times: at least half of the pairs
   that occur have 2 or more rows, and the median pair has at most 10 rows (a split plot or
   a unit measured repeatedly, not the cell of a crossed classification such as a survey's
   age x education cell with dozens of respondents);
3. no term of the model already has both variables (``(1|batch:cask)``, ``(1|batch/cask)``),
   and neither factor is itself an interaction (``(1|educ:eth)`` is a crossing the user built
   on purpose).

Pastes (10 batches x 3 cask labels, 2 rows per pair) meets all three. Penicillin (every
sample on every plate, one row per pair) fails rule 2, as do the usual crossed designs
(subjects x items, one response per pair); InstEval's students x departments (39% of the
pairs occur) fails rule 1. A crossed design with replicates (Machines:
3 scores per worker and machine) also warns; there the pair-level term ``(1|Worker:Machine)``
is what lme4's documentation fits, and the message says so.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import warn_user
from .types import GroupBlock

__all__ = ["ImplicitNestingWarning", "implicit_nesting_pairs", "looks_implicitly_nested", "warn_implicit_nesting"]

MIN_COVERAGE = 0.75
MIN_SHARE_REPLICATED = 0.5
MAX_MEDIAN_ROWS_PER_UNIT = 10


class ImplicitNestingWarning(UserWarning):
    """Two grouping factors whose labels look nested, fitted as crossed."""


def looks_implicitly_nested(outer: np.ndarray, inner: np.ndarray) -> bool:
    """Whether the codes of two grouping factors meet rules 1 and 2 of this module."""
    pairs, rows_per_pair = np.unique(np.stack([outer, inner]), axis=1, return_counts=True)
    n_pairs, n_inner, n_outer = pairs.shape[1], len(np.unique(inner)), len(np.unique(outer))
    if n_pairs <= max(n_inner, n_outer):  # one factor is nested in the other by its codes
        return False
    coverage = n_pairs / (n_inner * n_outer)
    replicated = float(np.mean(rows_per_pair >= 2))
    few_rows = float(np.median(rows_per_pair)) <= MAX_MEDIAN_ROWS_PER_UNIT
    return coverage >= MIN_COVERAGE and replicated >= MIN_SHARE_REPLICATED and few_rows


def implicit_nesting_pairs(blocks: Sequence[GroupBlock]) -> list[tuple[str, str]]:
    """(outer, inner) grouping factors that meet the rule of this module.

    Parameters
    ----------
    blocks : sequence of GroupBlock
        The group terms of a design (codes of every row).

    Returns
    -------
    list of (str, str)
        Pairs of grouping factor names, ``[("batch", "cask")]`` on Pastes with
        ``(1|batch) + (1|cask)``.
    """
    factors: dict[str, tuple[frozenset[str], np.ndarray, int]] = {}
    for block in blocks:
        factors.setdefault(block.group, (frozenset(block.term.factor), np.asarray(block.codes), block.n_levels))
    covered = [frozenset(b.term.factor) for b in blocks]
    out = []
    names = list(factors)
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            (vars_a, codes_a, n_a), (vars_b, codes_b, n_b) = factors[first], factors[second]
            if len(vars_a) > 1 or len(vars_b) > 1:
                continue
            if vars_a & vars_b or any(vars_a | vars_b <= c for c in covered):
                continue
            (outer, outer_codes), (inner, inner_codes) = (
                ((first, codes_a), (second, codes_b)) if n_a >= n_b else ((second, codes_b), (first, codes_a))
            )
            if looks_implicitly_nested(outer_codes, inner_codes):
                out.append((outer, inner))
    return out


def warn_implicit_nesting(blocks: Sequence[GroupBlock]) -> None:
    """Warn (:class:`ImplicitNestingWarning`) for every pair of :func:`implicit_nesting_pairs`."""
    for outer, inner in implicit_nesting_pairs(blocks):
        warn_user(
            f"grouping factors {outer!r} and {inner!r} are fitted as crossed: each label of "
            f"{inner!r} is one group across all levels of {outer!r}, and the rows of each "
            f"({outer}, {inner}) pair look like one unit measured several times. If the "
            f"{inner} labels are reused within each {outer} ({inner} nested in {outer}), write "
            f"(1|{outer}/{inner}) or (1|{outer}) + (1|{outer}:{inner}), or give {inner} "
            f"labels unique across {outer}; if they really are crossed, add (1|{outer}:{inner}) "
            f"for the variation between pairs",
            ImplicitNestingWarning
        )
