"""The result types of level equations, one job: what ``ModelSpec.levels`` holds.

:class:`Levels` and its :class:`Equation` records, and the gamma labels that place
fixed-effect columns under their equation (:meth:`Levels.fixed_groups`, plain data: the
report sections are built from it by :func:`hierbayes.results.report.equation_sections`;
the check that level-2 predictors are constant within their groups is
:func:`hierbayes.design.level_checks.check_level_predictors`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .levels_text import split_top_level

__all__ = ["Equation", "FixedGroup", "FixedTerm", "Levels"]


@dataclass(frozen=True)
class Equation:
    """One coefficient equation (level 2 and up), as understood.

    lhs : the coefficient (``b0``).
    level : 2 for equations of level-1 coefficients, 3 for those of level-2 ones, ...
    factor : the grouping factor as written (``("school",)``); empty when non-varying
        without a factor.
    group : the full grouping factor after nesting (``("school", "classroom")``).
    random : whether the coefficient has a random part (a ``u`` term) at ``group``.
    intercept : whether the equation has its own intercept gamma.
    predictors : the fixed predictor terms (gammas other than the intercept), as formula text.
    coefficients : next-level coefficients on the right-hand side (three-level models).
    multiplies : what the coefficient multiplies in the combined model (``"1"``, ``"lrt"``).
    text : the equation in canonical ``~`` form.
    variables : data columns its predictors read; they must be constant within ``group``.
    """

    lhs: str
    level: int
    factor: tuple[str, ...]
    group: tuple[str, ...]
    random: bool
    intercept: bool
    predictors: tuple[str, ...]
    coefficients: tuple[str, ...]
    multiplies: str
    text: str
    variables: tuple[str, ...] = ()


@dataclass(frozen=True)
class FixedTerm:
    """A combined fixed term with the equation it belongs to (for reports)."""

    components: tuple[str, ...]
    levels: tuple[int, ...]
    owner: str  # coefficient symbol, or "" for level-1 terms without an equation
    order: int  # position among the owner's terms, in the order written
    base: bool  # the owner's own intercept gamma (the coefficient times 1)

    @property
    def text(self) -> str:
        return ":".join(self.components)

    @property
    def key(self) -> frozenset[str]:
        return frozenset(c.replace(" ", "") for c in self.components)


@dataclass(frozen=True)
class FixedGroup:
    """Fixed-effect columns of one equation, for reports.

    title : the equation's heading (``"Level 2, b0 (intercept): b0 ~ 1 + z | school"``).
    labels : (column name, gamma label) pairs, in the order of the equation's terms.
    """

    title: str
    labels: tuple[tuple[str, str], ...]

    @property
    def columns(self) -> list[str]:
        return [column for column, _ in self.labels]

    @property
    def gammas(self) -> list[str]:
        return [gamma for _, gamma in self.labels]


@dataclass(frozen=True)
class Levels:
    """The level-equation structure of a ModelSpec (``ModelSpec.levels``).

    Holds the equations as understood, which combined fixed term belongs to which equation
    (so reports can list gammas under their equation) and which variables must be constant
    within which groups (checked by
    :func:`hierbayes.design.level_checks.check_level_predictors`).
    """

    response: str
    level1: str
    equations: tuple[Equation, ...]
    terms: tuple[FixedTerm, ...] = field(repr=False)
    owner_slots: tuple[tuple[str, str], ...] = field(repr=False, default=())
    covariance: tuple[tuple[str, str], ...] = ()

    @property
    def text(self) -> str:
        """All equations, one per line, in canonical ``~`` form (``parse_levels(text)`` gives
        the same spec back, covariance structures included)."""
        lines = [self.level1, *(e.text for e in self.equations)]
        lines += [f"covariance({key}) = {value}" for key, value in self.covariance]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text

    def equations_for(self, coefficient: str) -> tuple[Equation, ...]:
        """The equations of one coefficient (several for crossed classifications)."""
        return tuple(e for e in self.equations if e.lhs == coefficient)

    # -- fixed effects under their equations -------------------------------------------

    def fixed_groups(self, columns: list[str]) -> list[FixedGroup]:
        """Fixed-effect columns grouped by the equation they belong to, with gamma labels.

        Parameters
        ----------
        columns : list of str
            The design's fixed-effect column names (``Design.fixed_names``).

        Returns
        -------
        list of FixedGroup
            One group per coefficient with fixed terms (``b0``: g00, g01, ...), plus one
            for level-1 terms without an equation and one for any unmatched column (gamma
            labels ``""``), in the order of the equations.
        """
        return [
            FixedGroup(self._title(owner), tuple(labels))
            for owner, labels in _assign_rows(self, columns)
        ]

    def _title(self, owner: str | None) -> str:
        if owner is None:
            return "Other fixed effects"
        if owner == "":
            return f"Level 1, no level-2 equation: {self.level1}"
        eqs = self.equations_for(owner)
        level = eqs[0].level
        what = "intercept" if eqs[0].multiplies == "1" else f"slope of {eqs[0].multiplies}"
        return f"Level {level}, {owner} ({what}): " + ";  ".join(e.text for e in eqs)


def _gamma(prefix: str, k: int) -> str:
    """HLM's gamma label: ``g`` + the owner's index path + the column index (g01, g110)."""
    parts = prefix.split(",") if "," in prefix else list(prefix)
    parts.append(str(k))
    sep = "," if any(len(p) > 1 for p in parts) else ""
    return "g" + sep.join(parts)


def _assign_rows(lv: Levels, columns: list[str]) -> list[tuple[str | None, list[tuple[str, str]]]]:
    """(owner, [(column, gamma label)]) per equation owner; unmatched columns under None."""
    by_key = {t.key: t for t in lv.terms}
    grouped: dict[str | None, list[tuple[int, int, str]]] = {}
    for pos, column in enumerate(columns):
        term = by_key.get(_column_key(column))
        owner = None if term is None else term.owner
        grouped.setdefault(owner, []).append((term.order if term else 0, pos, column))
    out: list[tuple[str | None, list[tuple[str, str]]]] = []
    for owner, prefix in lv.owner_slots:
        if owner not in grouped:
            continue
        cols = [c for _, _, c in sorted(grouped[owner])]
        if owner == "":
            labels, k = [], int(prefix)
            for c in cols:
                if c == "Intercept":
                    labels.append((c, "g00"))
                else:
                    labels.append((c, f"g{k}0"))
                    k += 1
            out.append((owner, labels))
            continue
        start = 0 if any(by_key[_column_key(c)].base for c in cols) else 1
        out.append((owner, [(c, _gamma(prefix, start + i)) for i, c in enumerate(cols)]))
    if None in grouped:
        out.append((None, [(c, "") for _, _, c in grouped[None]]))
    return out


def _column_key(label: str) -> frozenset[str]:
    """Components of a design column name with level labels removed: ``lrt:C(g)[2]``."""
    if label == "Intercept":
        return frozenset()
    out = []
    for part in split_top_level(label, ":"):
        part = part.strip()
        if part.endswith("]"):
            depth = 0
            for i in range(len(part) - 1, -1, -1):
                depth += part[i] == "]"
                depth -= part[i] == "["
                if depth == 0:
                    part = part[:i]
                    break
        out.append(part.replace(" ", ""))
    return frozenset(out)
