"""Formula edits for ``fit.update()`` (lme4's / brms' ``update()``; the refit itself is
:mod:`hierbayes.refit`).

A formula may be a whole new formula or an R ``update.formula`` edit in which ``.`` stands
for the old side: ``". ~ . + x"`` adds ``x``, ``". ~ . - x"`` removes it, ``"log(.) ~ ."``
changes the response, ``". ~ . - 1"`` drops the intercept. Terms are compared after
expansion (``- a*b`` removes ``a``, ``b`` and ``a:b``; ``- (1|g/h)`` removes both group
terms), as R's ``terms()`` does.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ..errors import SpecError
from ..families import get_family
from ..spec import parse_formula
from ..spec.ir import Covariance, GroupTerm, ModelSpec, check_metric, modellable_aux

#: A ``.`` standing alone (not part of a number or a name such as ``x.1``).
DOT = re.compile(r"(?<![\w.])\.(?![\w.])")
OPEN, CLOSE = "([{", ")]}"


def split_signed_terms(rhs: str) -> list[tuple[str, str]]:
    """Split a right-hand side at its top-level ``+`` and ``-`` into (sign, term text);
    signs inside parentheses or quotes belong to their term."""
    items: list[tuple[str, str]] = []
    depth, quote, sign, start = 0, "", "+", 0
    for i, ch in enumerate(rhs):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in OPEN:
            depth += 1
        elif ch in CLOSE:
            depth -= 1
        elif depth == 0 and ch in "+-":
            items.append((sign, rhs[start:i].strip()))
            sign, start = ch, i + 1
    items.append((sign, rhs[start:].strip()))
    if items and items[0] == ("+", ""):  # a leading sign: ". ~ -1 + ." or "~ + x"
        items = items[1:]
    for s, text in items:
        if not text:
            raise SpecError(f"formula update {rhs!r}: a {s!r} with no term after it")
    return items


def _response_text(old: ModelSpec, lhs: str) -> str:
    lhs = lhs.strip()
    if lhs in ("", "."):
        return old.response.to_formula()
    if DOT.search(lhs):
        if old.response.trials is not None or old.response.failures is not None:
            raise SpecError(
                f"formula update: {lhs!r} uses '.' inside the response, which is not supported for "
                f"the binomial response {old.response.to_formula()!r}; write the response out"
            )
        return DOT.sub(old.response.expr, lhs)
    return lhs


def _same_block(a: GroupTerm, b: GroupTerm) -> bool:
    return a.factor == b.factor and a.intercept == b.intercept and a.terms == b.terms


def updated_formula(old: ModelSpec, formula: str) -> str:
    """The formula that ``formula`` makes of the model ``old`` (see the module docstring).

    A formula without a standalone ``.`` on its right-hand side replaces the old one
    (its response may still be ``.``).

    Raises
    ------
    SpecError
        For a formula without ``~``, a ``.`` used inside a term on the right-hand side, or a
        removed term that is not in the model (naming it and the model's terms).
    """
    if not isinstance(formula, str):
        raise SpecError(f"formula must be a string, got {type(formula).__name__}")
    if formula.count("~") != 1:
        raise SpecError(f"formula update {formula!r}: write one '~', as in '. ~ . + x'")
    lhs, rhs = formula.split("~")
    response = _response_text(old, lhs)
    if not DOT.search(rhs):
        return f"{response} ~ {rhs.strip()}"
    intercept = old.fixed.intercept
    added: list[str] = []
    removed: list[str] = []
    for sign, text in split_signed_terms(rhs):
        if text == ".":
            if sign == "-":
                raise SpecError(f"formula update {formula!r}: '- .' (removing the old terms) is not supported")
            continue
        if DOT.search(text):
            raise SpecError(
                f"formula update {formula!r}: '.' is supported only as a whole term ('. + x'), "
                f"not inside {text!r}"
            )
        if text in ("0", "1"):
            intercept = (text == "1") == (sign == "+")
        elif sign == "+":
            added.append(text)
        else:
            removed.append(text)
    parse = lambda text: parse_formula(f"{response} ~ {text}", family=old.family, link=old.link)
    drops = [(text, parse(text)) for text in removed]
    # group terms are removed before the new ones are added, so that '- (1 | a/b) + (1 | a)'
    # keeps (1 | a), as R's update() does; a group term added twice is kept once
    groups = list(old.groups)
    for text, drop in drops:
        for block in drop.groups:
            match = [g for g in groups if _same_block(g, block)]
            if not match:
                known = ", ".join(g.to_formula() for g in groups) or "none"
                raise SpecError(
                    f"formula update: cannot remove {text!r}: the group term {block.to_formula()!r} "
                    f"is not in the model (its group terms: {known})"
                )
            groups.remove(match[0])
    added = [text for text in added if not _present(parse(text), groups)]
    old_rhs = replace(old.fixed, intercept=True).to_formula()
    combined = parse(" + ".join([old_rhs, *added, *(g.to_formula() for g in groups)]))
    terms, offsets = list(combined.fixed.terms), list(combined.fixed.offsets)
    for text, drop in drops:
        for term in drop.fixed.terms:
            _remove(term, terms, text, "fixed term")
        for offset in drop.fixed.offsets:
            _remove(offset, offsets, text, "offset")
    fixed = replace(combined.fixed, intercept=intercept, terms=tuple(terms), offsets=tuple(offsets))
    return replace(combined, fixed=fixed).to_formula()


def _present(piece: ModelSpec, groups: list[GroupTerm]) -> bool:
    """Whether an added piece is only group terms the model has already."""
    return bool(piece.groups) and not piece.fixed.terms and not piece.fixed.offsets and all(
        any(_same_block(g, block) for g in groups) for block in piece.groups)


def _remove(item: str, items: list[str], text: str, what: str) -> None:
    if item not in items:
        known = ", ".join(items) or "none"
        raise SpecError(f"formula update: cannot remove {text!r}: the {what} {item!r} is not in the model (its {what}s: {known})")
    items.remove(item)


def updated_spec(old: ModelSpec, formula: str | None, family: str | None, link: str | None) -> ModelSpec:
    """The ModelSpec of the refit: ``old`` with a new formula (keeping its Stata ``if``
    subset and its exchangeable / identity covariances where the same group term remains),
    family or link. A new family without a link takes the new family's default link.
    Distributional formulas (``sigma="~ x"``) are kept for the parameters the family has; the
    residual structure (unless the new formula gives one), the weights of groups still in the
    model, the weights' scaling and method are kept."""
    new_family = old.family if family is None else family
    new_link = link if link is not None else (old.link if family is None else None)
    # distributional formulas are kept for the parameters the (new) family still has
    valid = modellable_aux(get_family(new_family))
    distributional = tuple((name, sub) for name, sub in old.distributional if name in valid)
    metric = old.metric  # the table metric (hazard ratios) is kept while the family has it
    try:
        if metric is not None:
            check_metric(get_family(new_family), metric)
    except SpecError:
        metric = None
    if formula is None:
        return replace(old, family=new_family, link=new_link, distributional=distributional, metric=metric)
    text = updated_formula(old, formula)
    parsed = parse_formula(text, family=new_family, link=new_link)
    groups = {g.group for g in parsed.groups}
    # what the formula does not say is kept, as R's update() keeps weights= and correlation=
    spec = replace(
        parsed, subset=old.subset, distributional=distributional, metric=metric,
        residuals=parsed.residuals if parsed.residuals is not None else old.residuals,
        group_weights=tuple((g, w) for g, w in old.group_weights if g in groups),
        weight_scaling=old.weight_scaling, weight_method=old.weight_method, weight_kind=old.weight_kind,
        integer_factors=old.integer_factors,
    )
    kept = {g.label: g.covariance for g in old.groups
            if g.covariance not in (Covariance.UNSTRUCTURED, Covariance.INDEPENDENT)}
    kept = {label: cov for label, cov in kept.items() if label in {g.label for g in spec.groups}}
    return spec.with_covariance(kept) if kept else spec
