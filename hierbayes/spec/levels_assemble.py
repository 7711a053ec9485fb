"""Assembly of interpreted level equations, one job: the combined ModelSpec.

Checks the equations against each other, resolves the nesting of grouping factors, walks the
coefficient tree from level 1 down to collect the combined fixed terms (in R's order) and the
group terms with their covariance, and records the equations in a :class:`Levels`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..errors import FormulaSyntaxError, SpecError
from .ir import Covariance, FixedPart, GroupTerm, ModelSpec, Response
from .levels_interpret import CoefficientEquation, Interpreter, TermItem
from .levels_result import Equation, FixedTerm, Levels
from .levels_text import RawEquation, located_errors, tokens_or_empty
from .lexer import TokenKind

__all__ = ["assemble"]


@dataclass
class _Assembly:
    """Walks the coefficient tree from level 1 down, collecting fixed and random terms."""

    eqs: dict[str, list[CoefficientEquation]]
    fixed: list[FixedTerm] = field(default_factory=list)
    random: dict[tuple[str, ...], list[tuple[tuple[str, ...], str]]] = field(default_factory=dict)
    bars: dict[tuple[str, ...], dict[str, str]] = field(default_factory=dict)
    owners: list[tuple[str, str]] = field(default_factory=list)
    visiting: set[str] = field(default_factory=set)

    def add_fixed(
        self, comps: tuple[str, ...], lv: tuple[int, ...], owner: str, prefix: str, base: bool
    ) -> None:
        order = sum(t.owner == owner for t in self.fixed)
        term = FixedTerm(comps, lv, owner, order, base)
        if all(t.key != term.key for t in self.fixed):
            self.fixed.append(term)
        if all(o != owner for o, _ in self.owners):
            self.owners.append((owner, prefix))

    def expand(
        self, symbol: str, carrier: tuple[str, ...], lv: tuple[int, ...], level: int, prefix: str
    ) -> None:
        if symbol in self.visiting:
            raise SpecError(f"coefficient {symbol!r} is defined in terms of itself")
        self.visiting.add(symbol)
        slot = 1
        for eq in self.eqs[symbol]:
            eq.level, eq.multiplies, eq.prefix = level, carrier, prefix
            if eq.intercept:
                self.add_fixed(carrier, lv, symbol, prefix, True)
            for item in eq.items:
                if item.kind == "term":
                    comps, levels_ = carrier + item.value, lv + (level,) * len(item.value)
                    self.add_fixed(comps, levels_, symbol, prefix, False)
                    continue
                sym, more = item.value
                sub = "0" if not more else str(slot)
                slot += bool(more)
                self.expand(sym, carrier + more, lv + (level,) * len(more), level + 1, _join(prefix, sub))
            if eq.random:
                self.random.setdefault(eq.group, [])
                if all(c != carrier for c, _ in self.random[eq.group]):
                    self.random[eq.group].append((carrier, symbol))
                self.bars.setdefault(eq.group, {})[eq.raw.bar or "|"] = eq.raw.text
        self.visiting.discard(symbol)


def _join(prefix: str, index: str) -> str:
    if "," in prefix or len(index) > 1 or (prefix and any(len(p) > 1 for p in prefix.split(","))):
        return f"{prefix},{index}" if prefix else index
    return prefix + index


def _nesting(eqs: dict[str, list[CoefficientEquation]]) -> dict[tuple[str, ...], tuple[str, ...]]:
    """Full (nested) grouping factor of every written factor."""
    parents: dict[tuple[str, ...], dict[tuple[str, ...], str]] = {}
    for group in eqs.values():
        for eq in group:
            if not eq.raw.factor:
                continue
            entry = parents.setdefault(eq.raw.factor, {})
            for item in eq.items:
                if item.kind != "coef":
                    continue
                for sub in eqs[item.value[0]]:
                    if sub.raw.factor:
                        entry.setdefault(sub.raw.factor, sub.raw.text)
    for factor, entry in parents.items():
        if len(entry) > 1:
            names = [":".join(p) for p in entry]
            raise SpecError(
                f"the coefficients of the {':'.join(factor)!r} equations vary over several "
                f"factors {names}; a level can be nested in one factor only (crossed "
                f"classifications are written as equations of the same coefficient)"
            )
        if factor in entry:
            raise SpecError(f"factor {':'.join(factor)!r} cannot be nested in itself")
    full: dict[tuple[str, ...], tuple[str, ...]] = {}

    def resolve(factor: tuple[str, ...], seen: tuple[tuple[str, ...], ...]) -> tuple[str, ...]:
        if factor in full:
            return full[factor]
        if factor in seen:
            raise SpecError(f"the nesting of {':'.join(factor)!r} is circular")
        parent = next(iter(parents.get(factor, {})), None)
        out = factor if parent is None else resolve(parent, (*seen, factor)) + factor
        if len(set(out)) < len(out):
            raise SpecError(f"grouping factor {':'.join(out)!r} names a column twice")
        full[factor] = out
        return out

    for factor in parents:
        resolve(factor, ())
    return full


def _canonical(eq: CoefficientEquation) -> str:
    parts = []
    if eq.intercept:
        parts.append("1")
    for item in eq.items:
        if item.kind == "term":
            parts.append(":".join(item.value))
        else:
            sym, carrier = item.value
            parts.append(sym if not carrier else f"{sym}*{':'.join(carrier)}")
    base_coef = any(i.kind == "coef" and not i.value[1] for i in eq.items)
    if not eq.intercept and parts and not base_coef:
        parts.insert(0, "0")
    rhs = " + ".join(parts) if parts else "0"
    text = f"{eq.symbol} ~ {rhs}"
    if eq.raw.factor:
        text += f" {eq.raw.bar or '|'} {':'.join(eq.raw.factor)}"
        if not eq.random:
            text += ", fixed"
    elif eq.random:
        text += ", random"
    return text


def _covariance_for(
    group: tuple[str, ...], written: tuple[str, ...], bars: dict[str, str],
    covariance: Mapping[str, str | Covariance], size: int,
) -> Covariance:
    if len(bars) > 1:
        raise SpecError(
            f"factor {':'.join(written)!r} is written with '|' in {bars['|']!r} and with '||' in "
            f"{bars['||']!r}; use one (or set covariance={{'{':'.join(written)}': ...}})"
        )
    value = covariance.get(":".join(group), covariance.get(":".join(written)))
    if value is not None:
        try:
            return Covariance(value)
        except ValueError:
            raise SpecError(
                f"unknown covariance structure {value!r} for {':'.join(written)!r}; valid: "
                f"{[c.value for c in Covariance]}"
            ) from None
    if "||" in bars and size > 1:
        return Covariance.INDEPENDENT
    return Covariance.UNSTRUCTURED


def _level1(raw: RawEquation, interp: Interpreter) -> tuple[Response, list[TermItem], bool | None]:
    role = f"level-1 equation ({raw.where})"
    if raw.bar is not None or raw.options:
        pos = raw.factor_span[0] if raw.factor_span else 0
        raise FormulaSyntaxError(
            f"{role}: the level-1 equation has no grouping factor or options; factors go "
            f"in the coefficient equations ('b0 ~ 1 | school')", raw.text, max(pos - 1, 0), 1,
        )
    with located_errors(raw.text, role):
        response = raw.lowering.response(raw.lhs)
    items, intercept = interp.items(raw, level1=True, role=role)
    return response, items, intercept


def assemble(
    raws: list[RawEquation], subscripts: Mapping[str, str], covariance: Mapping[str, str | Covariance],
    family: str, link: str | None,
) -> ModelSpec:
    """The combined ModelSpec of parsed level equations (the level-1 equation first).

    Parameters
    ----------
    raws : list of RawEquation
        The equations, level 1 first.
    subscripts : mapping
        Subscript letter -> grouping factor (``{"j": "school"}``).
    covariance : mapping
        Grouping factor -> covariance structure of its random effects.
    family, link : str, str or None
        Stored in the spec.

    Raises
    ------
    SpecError, FormulaSyntaxError
        For equations that contradict each other, coefficients without an equation, nesting
        that is not a tree, or covariance keys that name no grouping factor.
    """
    interp = Interpreter(raws, subscripts)
    response, l1_items, l1_intercept = _level1(raws[0], interp)
    if raws[0].lhs_name in interp.symbols:
        raise SpecError(
            f"the first equation is level 1, but its left side {raws[0].lhs_name!r} is also "
            f"defined by another equation; put the level-1 equation first"
        )
    eqs: dict[str, list[CoefficientEquation]] = {}
    for raw in raws[1:]:
        eq = interp.equation(raw)
        for other in eqs.get(eq.symbol, []):
            if other.raw.factor == eq.raw.factor:
                raise SpecError(
                    f"coefficient {eq.symbol!r} has two equations for factor "
                    f"{':'.join(eq.raw.factor) or '(none)'}: {other.raw.text!r} and {raw.text!r}"
                )
        if eqs.get(eq.symbol) and not eq.raw.factor:
            raise SpecError(
                f"coefficient {eq.symbol!r} has several equations, so each needs its grouping "
                f"factor ('| factor'); {raw.text!r} has none"
            )
        eqs.setdefault(eq.symbol, []).append(eq)
    for symbol, group in eqs.items():
        if len({e.intercept for e in group}) > 1:
            texts = [e.raw.text for e in group]
            raise SpecError(
                f"the equations of {symbol!r} disagree about the intercept: {texts}; write '1' "
                "(or '0') the same way in each"
            )
    _check_symbols_used(l1_items, eqs)
    full = _nesting(eqs)
    for group in eqs.values():
        for eq in group:
            eq.group = full.get(eq.raw.factor, eq.raw.factor)
    asm = _Assembly(eqs)
    has_b0 = any(i.kind == "coef" and not i.value[1] for i in l1_items)
    if has_b0 and l1_intercept is False:
        raise SpecError(
            "the level-1 equation removes the intercept ('0' or '-1') but also has an "
            "intercept coefficient; drop one of them"
        )
    slot = 1
    if not has_b0 and (l1_intercept or (l1_intercept is None and raws[0].form == "~")):
        asm.add_fixed((), (), "", "", True)
    for item in l1_items:
        if item.kind == "coef":
            sym, carrier = item.value
            index = "0" if not carrier else str(slot)
            slot += bool(carrier)
            asm.expand(sym, carrier, (1,) * len(carrier), 2, index)
        elif item.kind != "offset":
            asm.add_fixed(item.value, (1,) * len(item.value), "", "", False)
    # level-1 terms without an equation are numbered after the coefficients (g20, g30, ...)
    asm.owners = [(o, str(slot) if o == "" else p) for o, p in asm.owners]
    order = sorted(range(len(asm.fixed)), key=lambda i: (len(asm.fixed[i].components), asm.fixed[i].levels, i))
    fixed_terms = tuple(asm.fixed[i] for i in order)
    has_intercept = any(not t.components for t in fixed_terms)
    fixed = FixedPart(
        intercept=has_intercept, terms=tuple(t.text for t in fixed_terms if t.components),
        offsets=tuple(dict.fromkeys(i.value for i in l1_items if i.kind == "offset")),
    )
    groups = _group_terms(asm, eqs, covariance)
    _check_covariance_keys(covariance, eqs, full)
    equations = tuple(
        Equation(
            lhs=eq.symbol, level=eq.level, factor=eq.raw.factor, group=eq.group, random=eq.random,
            intercept=eq.intercept,
            predictors=tuple(":".join(i.value) for i in eq.items if i.kind == "term"),
            coefficients=tuple(i.value[0] for i in eq.items if i.kind == "coef"),
            multiplies=":".join(eq.multiplies) or "1", text=_canonical(eq),
            variables=_variables(
                [c for i in eq.items for c in (i.value if i.kind == "term" else i.value[1])]
            ),
        )
        for group in eqs.values() for eq in group
    )
    level1_text = _level1_text(response, l1_items, has_b0, l1_intercept, raws[0].form)
    lv = Levels(
        response=response.to_formula(), level1=level1_text,
        equations=tuple(sorted(equations, key=lambda e: e.level)),
        terms=fixed_terms, owner_slots=tuple(asm.owners),
        covariance=tuple((k, Covariance(v).value) for k, v in covariance.items()),
    )
    return ModelSpec(response, fixed, groups, family=family, link=link, source=lv.text, levels=lv)


def _level1_text(response: Response, items: list[TermItem], has_b0: bool, intercept: bool | None, form: str) -> str:
    parts = []
    if not has_b0:
        implicit = intercept if intercept is not None else form == "~"
        parts.append("1" if implicit else "0")
    for item in items:
        if item.kind == "coef":
            sym, carrier = item.value
            parts.append(sym if not carrier else f"{sym}*{':'.join(carrier)}")
        elif item.kind == "offset":
            parts.append(f"offset({item.value})")
        else:
            parts.append(":".join(item.value))
    return f"{response.to_formula()} ~ {' + '.join(parts)}"


def _check_symbols_used(l1_items: list[TermItem], eqs: dict[str, list[CoefficientEquation]]) -> None:
    used: dict[str, str] = {}
    for item in l1_items:
        if item.kind == "coef":
            used.setdefault(item.value[0], "the level-1 equation")
    for group in eqs.values():
        for eq in group:
            for item in eq.items:
                if item.kind != "coef":
                    continue
                sym = item.value[0]
                if sym in used and used[sym] != eq.symbol:
                    raise SpecError(
                        f"coefficient {sym!r} appears in {used[sym]} and in the equation of "
                        f"{eq.symbol!r}; each coefficient belongs to one equation"
                    )
                used[sym] = eq.symbol
    for symbol, group in eqs.items():
        if symbol not in used:
            raise SpecError(
                f"there is an equation for {symbol!r} ({group[0].raw.text!r}), but {symbol!r} "
                f"does not appear in the level-1 equation or in another equation; use it, as in "
                f"'y ~ b0 + {symbol}*x'"
            )


def _group_terms(
    asm: _Assembly, eqs: dict[str, list[CoefficientEquation]], covariance: Mapping[str, str | Covariance]
) -> tuple[GroupTerm, ...]:
    written = {eq.group: eq.raw.factor for g in eqs.values() for eq in g}
    keys = sorted(asm.random, key=lambda g: len(g))  # outermost level first, as lme4's a/b
    out = []
    for group in keys:
        carriers = [c for c, _ in asm.random[group]]
        intercept = () in carriers
        terms = tuple(":".join(c) for c in carriers if c)
        size = int(intercept) + len(terms)
        cov = _covariance_for(group, written[group], asm.bars[group], covariance, size)
        out.append(GroupTerm(group, intercept, terms, cov))
    return tuple(out)


def _check_covariance_keys(
    covariance: Mapping[str, str | Covariance], eqs: dict[str, list[CoefficientEquation]],
    full: dict[tuple[str, ...], tuple[str, ...]],
) -> None:
    known = set()
    for group in eqs.values():
        for eq in group:
            if eq.random:
                known.add(":".join(eq.raw.factor))
                known.add(":".join(eq.group))
    for key in covariance:
        if key not in known:
            raise SpecError(
                f"covariance given for {key!r}, which is not a grouping factor with random "
                f"coefficients; valid names: {sorted(known)}"
            )


def _variables(components: Sequence[str]) -> tuple[str, ...]:
    """Data variables named in term components (function and keyword names skipped)."""
    names: dict[str, None] = {}
    for text in components:
        tokens = tokens_or_empty(text)
        for tok, nxt in zip(tokens, tokens[1:]):
            if tok.kind is TokenKind.NAME and not nxt.is_op("(", "="):
                names.setdefault(tok.text.strip("`"), None)
    return tuple(names)
