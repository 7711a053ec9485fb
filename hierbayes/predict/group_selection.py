"""Which group terms a prediction includes: every one (``"include"``), none
(``"exclude"``), all integrated out (``"marginal"``), or some of them, as lme4's
``re.form = ~(1 | plate)`` keeps the plate effects and sets the others to zero.

Some terms are named by their grouping factors (``groups=["plate"]``) or by a one-sided
formula of whole group terms (``groups="~(1 | plate)"``, lme4's spelling). A term is
kept whole: lme4 would also take ``~(1 | Subject)`` from a ``(1 + Days | Subject)``
model (the intercepts only), which is refused here with the term to write instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..design.checks import describe_rows
from ..errors import DataError, SpecError, did_you_mean
from ..spec.ir import GroupTerm, ModelSpec
from ..spec.lower import parse_formula

#: The modes of ``groups`` given as a word.
GROUP_MODES = ("include", "exclude", "marginal")

#: The level given to grouping columns a prediction does not use, absent or blank in newdata.
EXCLUDED = "(excluded)"

_WITHOUT = ("predict without the group effects, as lme4's re.form = NA: groups='exclude' (hierbayes predict "
            "--groups exclude), or averaged over them: groups='marginal'")


@dataclass(frozen=True)
class GroupSelection:
    """``mode`` ("include", "exclude" or "marginal") and, with "include", ``only``: the
    grouping factors (``GroupTerm.group``) whose effects are kept (None: all of them)."""

    mode: str
    only: frozenset[str] | None = None

    def keeps(self, group: str) -> bool:
        """Whether the effects of grouping factor ``group`` enter the prediction."""
        return self.mode == "include" and (self.only is None or group in self.only)


def _shape(term: GroupTerm) -> tuple[bool, tuple[str, ...]]:
    return term.intercept, tuple(sorted(term.terms))


def _labels(terms: list[GroupTerm]) -> str:
    return " + ".join(f"({t.label})" for t in terms)


def _from_formula(spec: ModelSpec, text: str) -> GroupSelection:
    rhs = text.strip()[1:].strip()
    if rhs in ("0", "-1", "1", "0 + 1", ""):  # no group term: lme4's re.form = ~0
        return GroupSelection("exclude")
    try:
        parsed = parse_formula(f"y ~ {rhs}")
    except SpecError as error:
        raise SpecError(f"groups={text!r}: not a formula of group terms ({error})") from None
    if parsed.fixed.terms and any(t not in ("1", "Intercept") for t in parsed.fixed.terms):
        raise SpecError(f"groups={text!r}: only group terms such as (1 | g) belong here, not "
                        f"{', '.join(parsed.fixed.terms)}")
    by_group: dict[str, list[GroupTerm]] = {}
    for term in spec.groups:  # (1 + x || g) is two terms of one factor
        by_group.setdefault(term.group, []).append(term)
    for group in dict.fromkeys(g.group for g in parsed.groups):
        given = [g for g in parsed.groups if g.group == group]
        if group not in by_group:
            raise SpecError(f"groups={text!r}: the model has no group term for {group!r}; its terms are "
                            f"{_labels(list(spec.groups))}.{did_you_mean(group, list(by_group))}")
        if sorted(map(_shape, given)) != sorted(map(_shape, by_group[group])):
            raise SpecError(f"groups={text!r}: {_labels(given)} is not the model's {_labels(by_group[group])}; "
                            f"a prediction keeps whole terms: write ~{_labels(by_group[group])}")
    return GroupSelection("include", frozenset(g.group for g in parsed.groups))


def select_groups(spec: ModelSpec, groups: str | Sequence[str] | None) -> GroupSelection:
    """The group terms a prediction includes (see the module).

    Parameters
    ----------
    spec : the model's specification.
    groups : "include", "exclude", "marginal", None ("include", as lme4's ``re.form =
        NULL``), a one-sided formula of whole group terms (``"~(1 | plate)"``; ``"~0"``
        excludes all) or a list of grouping factors (``["plate"]``).

    Raises
    ------
    SpecError
        For another word, an unknown grouping factor or part of a group term.
    """
    if groups is None:
        return GroupSelection("include")
    if isinstance(groups, str):
        if groups in GROUP_MODES:
            return GroupSelection(groups)
        if groups.strip().startswith("~"):
            return _from_formula(spec, groups)
        raise SpecError(f"groups={groups!r}: valid values are {list(GROUP_MODES)}, a formula of group terms "
                        "(lme4's re.form: '~(1 | g)') or a list of grouping factors (['g'])")
    names = list(groups)
    known = [term.group for term in spec.groups]
    for name in names:
        if not isinstance(name, str) or name not in known:
            raise SpecError(f"groups: {name!r} is not a grouping factor of the model; they are {known}."
                            f"{did_you_mean(str(name), known)}")
    return GroupSelection("include", frozenset(names))


def fill_unused_groups(spec: ModelSpec, columns: Sequence[str], newdata, selection: GroupSelection):
    """(newdata, placeholders, blank) for a prediction with ``selection``: the grouping-only
    ``columns`` (the encoder's) that no kept group term uses need no values, as with lme4's
    ``re.form = NA``: :data:`EXCLUDED` fills them where absent (``placeholders``) or missing
    (``blank``). DataError when a kept term's grouping column is absent or has a missing value."""
    kept = {column for term in spec.groups if selection.keeps(term.group) for column in term.factor}
    unused = [c for c in columns if c not in kept]
    placeholders = [c for c in unused if c not in newdata.columns]
    blank = [c for c in unused if c in newdata.columns and newdata[c].isna().any()]
    absent = [c for c in columns if c in kept and c not in newdata.columns]
    if absent:
        held = [t.group for t in spec.groups if all(c in newdata.columns for c in t.factor)]
        raise DataError(f"grouping column {absent[0]!r} is not in newdata; give it (a level not in the data is a new "
                        f"group), or {_WITHOUT}" + (f", or with the terms newdata has only: groups={held!r} (lme4's "
                                                    "re.form)" if held else ""))
    for column in (c for c in columns if c in kept):
        missing = newdata[column].isna().to_numpy()
        if missing.any():
            raise DataError(f"grouping column {column!r} has no value in newdata {describe_rows(missing, newdata.index)}: "
                            f"fill in its level (a level not in the data is a new group), or {_WITHOUT}")
    filled = {c: newdata[c].astype(object).where(newdata[c].notna(), EXCLUDED) for c in blank}
    if placeholders or blank:
        newdata = newdata.assign(**dict.fromkeys(placeholders, EXCLUDED), **filled)
    return newdata, placeholders, blank
