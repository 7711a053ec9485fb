"""Which grouping factors are nested in which, for the conditional ICCs of Stata's ``estat icc``.

Stata's ``estat icc`` (after ``mixed``, ``melogit``, ``meprobit``, ``mecloglog``,
``meologit``, ``meoprobit``) reports, for each nested level, the correlation of two
responses from the same unit of that level (and so from the same units of every level it
is nested in). With random intercepts at levels ``batch`` and ``cask`` (cask in batch) and
level-1 variance ``s2_e``::

    level batch:       var(batch) / (var(batch) + var(cask) + s2_e)
    level cask|batch:  (var(batch) + var(cask)) / (var(batch) + var(cask) + s2_e)

and for 3+ levels the numerator adds the variances of the level and of every level above it
(``class|school|district``). For binary and ordinal models ``s2_e`` is the latent-scale
variance (pi^2/3 for logit, 1 for probit, pi^2/6 for cloglog). Stata refuses crossed models;
here a factor that is nested in no other has a conditional ICC equal to its variance share.

A factor ``g`` is nested in ``f`` when the variables of ``f`` are a proper subset of those
of ``g`` (``(1|batch/cask)`` gives ``batch`` and ``batch:cask``), or, when the data are
known, when every level of ``g`` occurs with exactly one level of ``f`` and ``f`` has fewer
levels (``(1|school) + (1|class)`` with class codes unique across schools).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..design.types import GroupBlock
from ..spec.ir import ModelSpec

__all__ = ["ancestors_from_codes", "ancestors_from_spec", "ancestors_of", "stata_level_label"]


def ancestors_from_spec(spec: ModelSpec) -> dict[str, tuple[str, ...]]:
    """Grouping factor -> the factors it is nested in by its variables, outermost first.

    Parameters
    ----------
    spec : ModelSpec
        The model.

    Returns
    -------
    dict
        ``{"batch:cask": ("batch",), "batch": ()}`` for ``(1|batch/cask)``.
    """
    factors: dict[str, frozenset[str]] = {}
    for term in spec.groups:
        factors.setdefault(term.group, frozenset(term.factor))
    out = {}
    for group, variables in factors.items():
        outer = [f for f, v in factors.items() if v < variables]
        out[group] = tuple(sorted(outer, key=lambda f: len(factors[f])))
    return out


def ancestors_of(spec: ModelSpec, blocks: Sequence[GroupBlock]) -> dict[str, tuple[str, ...]]:
    """Grouping factor -> the factors it is nested in, by its variables and by the data.

    Parameters
    ----------
    spec : ModelSpec
        The model.
    blocks : sequence of GroupBlock
        The design's group blocks (their codes); with fewer than two factors only the
        variables count.

    Returns
    -------
    dict
        As :func:`ancestors_from_codes`.
    """
    spec_nesting = ancestors_from_spec(spec)
    codes = {b.group: np.asarray(b.codes) for b in blocks}
    if len(codes) < 2:
        return spec_nesting
    return ancestors_from_codes(codes, spec_nesting)


def ancestors_from_codes(
    codes: Mapping[str, np.ndarray], spec_ancestors: Mapping[str, Sequence[str]] | None = None
) -> dict[str, tuple[str, ...]]:
    """Grouping factor -> the factors it is nested in, read from the group codes of the data.

    ``g`` is nested in ``f`` when each level of ``g`` appears with one level of ``f`` only and
    ``f`` has fewer levels. ``spec_ancestors`` (from :func:`ancestors_from_spec`) are kept.

    Parameters
    ----------
    codes : mapping
        Grouping factor -> integer code of every row (0..J-1), all of the same length.
    spec_ancestors : mapping, optional
        Nesting already known from the variables.

    Returns
    -------
    dict
        Factor -> its outer factors, the one with the fewest levels first.
    """
    n_levels = {g: int(c.max()) + 1 if len(c) else 0 for g, c in codes.items()}
    out = {}
    for group, inner in codes.items():
        outer = set((spec_ancestors or {}).get(group, ()))
        for other, candidate in codes.items():
            if other == group or n_levels[other] >= n_levels[group]:
                continue
            pairs = np.unique(np.stack([inner, candidate]), axis=1).shape[1]
            if pairs == n_levels[group]:
                outer.add(other)
        out[group] = tuple(sorted(outer, key=lambda f: (n_levels.get(f, 0), f)))
    return out


def stata_level_label(group: str, ancestors: Sequence[str]) -> str:
    """Stata's name of a nested level: the level, then the levels it is in, innermost first.

    ``stata_level_label("batch:cask", ["batch"])`` is ``"cask|batch"``; a factor named by the
    variables of its outer factors and one more (lme4's ``batch:cask``) is shown by that
    last variable only, as Stata names it.
    """
    names = [*ancestors, group]
    short = []
    for i, name in enumerate(names):
        parts = name.split(":")
        previous = set(p for outer in names[:i] for p in outer.split(":"))
        own = [p for p in parts if p not in previous]
        short.append(":".join(own) if own else name)
    return "|".join(reversed(short))
