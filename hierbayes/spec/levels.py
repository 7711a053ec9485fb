"""Level equations (Raudenbush & Bryk's HLM notation) -> the same ModelSpec as a formula.

One equation per line (or per keyword argument of :func:`levels`)::

    gcse ~ b0 + b1*lrt                 # level 1: every coefficient is a symbol
    b0 ~ 1 + C(schgend) | school       # level 2: random across schools (the default)
    b1 ~ 1 + C(schgend) | school       #          (write ', fixed' for non-varying)

reads as ``gcse ~ lrt + C(schgend) + lrt:C(schgend) + (1 + lrt | school)``.

Rules
-----
* The first equation is level 1. A *coefficient* is a name that is the left-hand side of
  another equation; a level-1 term ``b1*x`` says "coefficient b1 multiplies x". Other
  level-1 terms (``+ w``) are non-varying fixed effects with no equation.
* A coefficient equation ``b ~ predictors | factor [, fixed]`` gives the coefficient's
  fixed predictors (the gammas: ``1`` is the intercept; in the ``~`` form it is implicit,
  as in formulas) and the grouping factor it varies over. With a factor the coefficient is
  random unless ``, fixed`` is given; ``+ u`` may be written to make the random part
  explicit. Without a factor it is non-varying (``b1 ~ 1``).
* Several equations for one coefficient on different factors are crossed classifications
  (``b0 ~ 1 | plate`` and ``b0 ~ 1 | sample``).
* An equation whose right side uses coefficients (``p0 ~ b00 + b01*X | classroom``) is
  itself the next level's outcome: the equations of ``b00``/``b01`` are level 3, and the
  level-2 factor is nested in the level-3 one (lme4's ``school/classroom``).
* ``||`` instead of ``|`` means independent effects for that factor; ``covariance(school) =
  exchangeable`` (a line) or ``covariance={"school": ...}`` sets any structure.
* The textbook form with ``=`` is read literally: ``y_ij = b0_j + b1_j x_ij + e_ij`` and
  ``b0_j = g00 + g01*z_j + u0_j | school``. Subscripts (``_ij``, ``_j``, ``_jk``) and
  gamma symbols (``g01``, ``gamma01``) are dropped, juxtaposition multiplies, ``e_ij`` is the
  residual, a coefficient is random exactly when its ``u``/``r`` term is written, and the
  intercept only when ``g00`` (or ``1``) is. A line ``j = school`` names the factor that
  subscript ``j`` indexes, so ``| school`` can be left out.

Combined fixed terms are ordered like R orders a crossed formula: main effects (level-1
variables first, then higher levels), then two-way (cross-level) interactions, and so on.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import TYPE_CHECKING, Any, NoReturn

from ..errors import DataError, FormulaSyntaxError, SpecError
from .ir import Covariance, FixedPart, GroupTerm, ModelSpec, Response
from .lexer import Token, TokenKind, tokenize
from .lower import _Lowering, _unwrap
from .parser import Bar, Binary, Call, Expr, Name, Number, Paren, Sum, SumItem, parse

if TYPE_CHECKING:  # pandas is only needed by Levels.check_data
    import pandas as pd

__all__ = ["Equation", "Levels", "levels", "parse_levels"]

_SUBSCRIPT = re.compile(r"^(?P<base>.*[^_])_(?P<sub>[ijklmnst]{1,3})$")
_GAMMA = re.compile(r"^(g|gamma|γ)_?\d+$")
_COEFFICIENT_LIKE = re.compile(r"^(b|beta|β|p|pi|π)_?\d+$")
_RANDOM_MARKER = re.compile(r"^[ur]_?\d*$")
_RESIDUAL = re.compile(r"^(e|r|eps|epsilon|ε)_?\d*$")
_LEVEL_LABEL = re.compile(r"^\s*(?:level|lvl|l)[\s-]*(\d+)\s*:\s*", re.IGNORECASE)
_SUBSCRIPT_DECL = re.compile(r"^\s*([ijklmnst])\s*[=:]\s*([A-Za-z_][\w.]*(?::[A-Za-z_][\w.]*)*)\s*$")
_COVARIANCE_DECL = re.compile(
    r"^\s*cov(?:ariance)?\s*\(\s*([A-Za-z_][\w.:]*)\s*\)\s*[=:]\s*([A-Za-z]+)\s*$", re.IGNORECASE
)
_OPTIONS = ("fixed", "random")


# ====================================================================== public result types


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
class _FixedTerm:
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
class Levels:
    """The level-equation structure of a ModelSpec (``ModelSpec.levels``).

    Holds the equations as understood, which combined fixed term belongs to which equation
    (so reports can list gammas under their equation) and which variables must be constant
    within which groups (checked by :meth:`check_data`).
    """

    response: str
    level1: str
    equations: tuple[Equation, ...]
    terms: tuple[_FixedTerm, ...] = field(repr=False)
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

    # -- validation against data -------------------------------------------------------

    def check_data(self, data: pd.DataFrame) -> None:
        """Check that every level-2 (and higher) predictor is constant within its groups.

        Parameters
        ----------
        data : pandas.DataFrame
            The data the model will be fit to (not modified).

        Raises
        ------
        DataError
            Naming the predictor, the equation, the grouping factor and one group in which
            the predictor takes two different values.
        """
        for eq in self.equations:
            if not eq.group or any(f not in data.columns for f in eq.group):
                continue
            for name in eq.variables:
                if name in data.columns and name not in eq.group:
                    _check_constant(data, name, eq)

    # -- reporting -----------------------------------------------------------------------

    def report_sections(self, fixed_table: Any) -> list[Any]:
        """Fixed effects grouped by the equation they belong to, with gamma labels.

        Parameters
        ----------
        fixed_table : pandas.DataFrame
            ``Fit.fixef()``: one row per fixed-effect column, indexed by column name.

        Returns
        -------
        list of hierbayes.results.report.Section
            One section per coefficient with fixed terms (``b0``: g00, g01, ...), plus one
            for level-1 terms without an equation and one for any unmatched column.
        """
        from ..results.report import Section, fixed_section

        rows = _assign_rows(self, [str(i) for i in fixed_table.index])
        sections = []
        for owner, labels in rows:
            names = [name for name, _ in labels]
            sub = fixed_table.loc[names]
            section = fixed_section(sub, self._title(owner))
            table = section.table.copy()
            table.insert(0, "coef", [gamma for _, gamma in labels])
            sections.append(Section(section.title, table, section.note))
        return sections

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


def _split_top(text: str, sep: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _column_key(label: str) -> frozenset[str]:
    """Components of a design column name with level labels removed: ``lrt:C(g)[2]``."""
    if label == "Intercept":
        return frozenset()
    out = []
    for part in _split_top(label, ":"):
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


def _variables(components: Sequence[str]) -> tuple[str, ...]:
    """Data variables named in term components (function and keyword names skipped)."""
    names: dict[str, None] = {}
    for text in components:
        tokens = _safe_tokens(text)
        for tok, nxt in zip(tokens, tokens[1:]):
            if tok.kind is TokenKind.NAME and not nxt.is_op("(", "="):
                names.setdefault(tok.text.strip("`"), None)
    return tuple(names)


def _safe_tokens(text: str) -> list[Token]:
    try:
        return tokenize(text)
    except FormulaSyntaxError:
        return []


def _plain(value: Any) -> Any:
    """numpy scalars print as plain Python values in messages."""
    return value.item() if hasattr(value, "item") else value


def _check_constant(data: pd.DataFrame, name: str, eq: Equation) -> None:
    import pandas as pd

    group = list(eq.group)
    frame = data[[*group, name]]
    counts = frame.groupby(group, observed=True, sort=False)[name].nunique(dropna=False)
    bad = counts[counts > 1]
    if bad.empty:
        return
    key = bad.index[0] if len(group) > 1 else (bad.index[0],)
    mask = pd.Series(True, index=frame.index)
    for column, value in zip(group, key, strict=True):
        mask &= frame[column] == value
    values = [_plain(v) for v in pd.unique(frame.loc[mask, name])[:2]]
    where = ", ".join(f"{c} = {_plain(v)}" for c, v in zip(group, key, strict=True))
    factor = ":".join(eq.group)
    raise DataError(
        f"{name!r} is a level-{eq.level} predictor in the equation '{eq.text}', so it must be "
        f"constant within each group of {factor!r}, but it varies within groups (e.g. in "
        f"{where} it takes the values {values[0]!r} and {values[1]!r}); {len(bad)} of "
        f"{len(counts)} groups vary. Move it to the level-{eq.level - 1} equation, or use its "
        f"group mean (hierbayes.design.centering.add_group_mean) as the level-{eq.level} predictor"
    )


# ================================================================================ parsing


@dataclass
class _Raw:
    """One equation after tokenizing and parsing, before its terms are interpreted."""

    text: str  # as given (for messages)
    where: str  # "line 2" or "keyword b1"
    label: int | None
    form: str  # "~" or "="
    lhs: Expr
    rhs: Expr
    lowering: _Lowering
    lhs_name: str | None
    lhs_subscript: str
    bar: str | None
    factor: tuple[str, ...]
    factor_span: tuple[int, int] | None
    options: tuple[str, ...]


@dataclass
class _Item:
    kind: str  # "intercept", "coef", "term", "random"
    value: Any = None  # bool for intercept; (symbol, carrier) for coef; components for term
    node: Any = None


@dataclass
class _Eq:
    raw: _Raw
    symbol: str
    items: list[_Item]
    intercept: bool
    random: bool
    level: int = 0
    multiplies: tuple[str, ...] = ()
    prefix: str = ""
    group: tuple[str, ...] = ()


@contextlib.contextmanager
def _located(text: str, role: str) -> Iterator[None]:
    try:
        yield
    except FormulaSyntaxError as exc:
        if exc.reason.startswith(role):
            raise
        raise FormulaSyntaxError(f"{role}: {exc.reason}", text, exc.position, exc.length) from None
    except SpecError as exc:
        if isinstance(exc, FormulaSyntaxError) or str(exc).startswith(role):
            raise
        raise SpecError(f"{role} {text!r}: {exc}") from None


def _strip_comment(line: str) -> str:
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"`":
            quote = ch
        elif ch == "#":
            return line[:i]
    return line


def _split_equations(text: str, where: str) -> list[tuple[str, str, int | None]]:
    """(equation text, location, level label) for each non-empty line / ';' part."""
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        for part in _split_top(_strip_comment(line), ";"):
            label = None
            m = _LEVEL_LABEL.match(part)
            if m:
                label = int(m.group(1))
                part = part[m.end():]
            if part.strip():
                loc = f"line {n}" if where == "text" and "\n" in text.strip() else where
                out.append((part.strip(), loc, label))
    return out


def _top_level(tokens: list[Token]) -> Iterator[tuple[int, Token]]:
    depth = 0
    for i, tok in enumerate(tokens):
        if tok.kind is TokenKind.OP and tok.text in "([{":
            depth += 1
        elif tok.kind is TokenKind.OP and tok.text in ")]}":
            depth -= 1
        elif depth == 0:
            yield i, tok


def _textbook_text(text: str) -> tuple[str, dict[int, str]]:
    """Same-length rewrite of an '=' equation: subscripts blanked, juxtaposition -> '*'.

    Returns the new text and the subscripts removed, by token start position.
    """
    chars = list(text)
    subs: dict[int, str] = {}
    for tok in tokenize(text):
        if tok.kind is TokenKind.NAME and not tok.text.startswith("`"):
            m = _SUBSCRIPT.match(tok.text)
            if m:
                subs[tok.start] = m.group("sub")
                for i in range(tok.start + len(m.group("base")), tok.end):
                    chars[i] = " "
    stripped = "".join(chars)
    tokens = tokenize(stripped)
    for a, b in zip(tokens, tokens[1:]):
        left = a.kind in (TokenKind.NAME, TokenKind.NUMBER) or a.is_op(")")
        right = b.kind in (TokenKind.NAME, TokenKind.NUMBER)
        if left and right and b.start > a.end:
            chars[a.end] = "*"
    return "".join(chars), subs


def _parse_raw(text: str, where: str, label: int | None, first: bool) -> _Raw:
    role = f"{'level-1 equation' if first else 'equation'} ({where})"
    relation = next((t for _, t in _top_level(_safe_tokens(text)) if t.is_op("~", "=")), None)
    if relation is not None and not first:
        lhs_text = _SUBSCRIPT.sub(r"\g<base>", text[: relation.start].strip())
        role = f"equation for {lhs_text} ({where})"
    with _located(text, role):
        tokens = tokenize(text)
        top = list(_top_level(tokens))
        relation = next((t for _, t in top if t.is_op("~", "=")), None)
        if relation is None:
            raise FormulaSyntaxError(
                "expected 'coefficient ~ predictors | factor' (or '='), as in 'b0 ~ 1 + z | school'",
                text, 0, len(text),
            )
        form = relation.text
        work = text
        subs: dict[int, str] = {}
        if form == "=":
            work, subs = _textbook_text(text)
            work = work[: relation.start] + "~" + work[relation.end:]
            tokens = tokenize(work)
            top = list(_top_level(tokens))
        bar = next((t for _, t in top if t.is_op("|", "||") and t.start > relation.start), None)
        comma = next((t for _, t in top if t.is_op(",") and t.start > relation.start), None)
        if bar is not None and comma is not None and comma.start < bar.start:
            raise FormulaSyntaxError(
                "options such as ', fixed' go after the grouping factor", text, comma.start, 1
            )
        end = min(t.start for t in (bar, comma, tokens[-1]) if t is not None)
        if work[relation.end:end].strip() == "":
            raise FormulaSyntaxError(
                f"expected predictors after {form!r}", text, relation.start, 1
            )
        formula = parse(work[:end])
        factor_end = comma.start if comma is not None else len(work)
        factor, factor_span = (), None
        if bar is not None:
            factor, factor_span = _parse_factor(work, bar.end, factor_end, text)
        options = _parse_options(work, comma.end, text) if comma is not None else ()
        lhs = _unwrap(formula.lhs)
        name = lhs.value if isinstance(lhs, Name) else None
        subscript = subs.get(lhs.span.start, "") if isinstance(lhs, Name) else ""
        return _Raw(
            text=text, where=where, label=label, form=form, lhs=formula.lhs, rhs=formula.rhs,
            lowering=_Lowering(text), lhs_name=name, lhs_subscript=subscript,
            bar=None if bar is None else bar.text, factor=factor, factor_span=factor_span,
            options=options,
        )


def _parse_factor(work: str, start: int, end: int, text: str) -> tuple[tuple[str, ...], tuple[int, int]]:
    piece = work[start:end]
    names = [p.strip() for p in piece.split(":")]
    if "/" in piece:
        pos = start + piece.index("/")
        raise FormulaSyntaxError(
            "nesting is written with level-3 equations, not 'a/b': give the level-2 factor "
            "here and write equations for its coefficients with '| a'",
            text, pos, 1,
        )
    for name in names:
        if not re.fullmatch(r"[A-Za-z_][\w.]*|`[^`]+`", name):
            found = piece.strip() or "nothing"
            raise FormulaSyntaxError(
                f"expected a grouping factor (a column name, or a:b) after '|', found {found!r}",
                text, start, max(1, end - start),
            )
    return tuple(n.strip("`") for n in names), (start, end)


def _parse_options(work: str, start: int, text: str) -> tuple[str, ...]:
    out = []
    for raw in work[start:].split(","):
        word = raw.strip().lower().replace("-", "")
        if word in ("nonvarying", "notrandom"):
            word = "fixed"
        if word not in _OPTIONS:
            pos = start + work[start:].find(raw.strip())
            raise FormulaSyntaxError(
                f"unknown option {raw.strip()!r} after ','; valid: {list(_OPTIONS)}",
                text, max(pos, 0), max(1, len(raw.strip())),
            )
        out.append(word)
    if set(out) == set(_OPTIONS):
        raise FormulaSyntaxError("an equation cannot be both 'fixed' and 'random'", text, start, 1)
    return tuple(out)


# ========================================================================= interpretation


def _star_operands(node: Expr) -> list[Expr]:
    node = _unwrap(node)
    if isinstance(node, Binary) and node.op == "*":
        return [*_star_operands(node.left), *_star_operands(node.right)]
    return [node]


class _Interpreter:
    """Reads the terms of every equation once the coefficient symbols are known."""

    def __init__(self, raws: list[_Raw], subscripts: Mapping[str, str]) -> None:
        self.subscripts = dict(subscripts)
        self.symbols = {r.lhs_name for r in raws[1:] if r.lhs_name is not None}

    # -- atoms -------------------------------------------------------------------------

    def _fail(self, raw: _Raw, role: str, message: str, node: Any) -> NoReturn:
        span = node.span
        raise FormulaSyntaxError(f"{role}: {message}", raw.text, span.start, span.length)

    def _name(self, node: Expr) -> str | None:
        node = _unwrap(node)
        if isinstance(node, Name) and not node.quoted:
            return node.value
        return None

    def components(self, raw: _Raw, role: str, node: Expr) -> tuple[str, ...]:
        """``a:b:C(g)`` -> ("a", "b", "C(g)"), rejecting what cannot be a product."""
        node = _unwrap(node)
        if isinstance(node, Binary) and node.op == ":":
            return self.components(raw, role, node.left) + self.components(raw, role, node.right)
        if isinstance(node, Name):
            return (node.canonical,)
        if isinstance(node, Call) and raw.form == "=":  # blanked subscripts leave spaces
            return (re.sub(r"\s+([),\]])", r"\1", node.text),)
        if isinstance(node, Call):
            return (node.text,)
        if isinstance(node, Number):
            self._fail(raw, role, f"unexpected number {node.text!r} inside a product", node)
        if isinstance(node, Sum | Paren):
            self._fail(raw, role, "write sums inside products out term by term (x:a + x:b)", node)
        if isinstance(node, Binary) and node.op == "/":
            self._fail(raw, role, "'/' is not used in level equations; write a + a:b", node)
        if isinstance(node, Binary):
            self._fail(raw, role, f"operator {node.op!r} is not allowed here; use I(...) for arithmetic", node)
        self._fail(raw, role, "unexpected term", node)

    def crossing(self, raw: _Raw, role: str, operands: list[Expr]) -> list[tuple[str, ...]]:
        """``a*b*c`` -> a, b, c, a:b, a:c, b:c, a:b:c (R's order)."""
        parts = [self.components(raw, role, op) for op in operands]
        out = []
        for size in range(1, len(parts) + 1):
            for combo in combinations(parts, size):
                out.append(tuple(c for part in combo for c in part))
        return out

    # -- one equation --------------------------------------------------------------------

    def items(self, raw: _Raw, level1: bool, role: str) -> tuple[list[_Item], bool | None]:
        out: list[_Item] = []
        intercept: bool | None = None
        for item in raw.lowering._items(raw.rhs):
            expr = item.expr
            if isinstance(expr, Paren) and isinstance(expr.body, Bar):
                self._fail(
                    raw, role,
                    "group terms like (1 | g) are not written in level equations; put the "
                    "factor after '|' at the end, as in 'b0 ~ 1 + z | school'", expr,
                )
            inner = _unwrap(expr)
            if isinstance(inner, Number):
                with _located(raw.text, role):
                    intercept = raw.lowering._intercept(item, inner)
                continue
            if item.sign == "-":
                with _located(raw.text, role):
                    raw.lowering._removed_term(item)
            out.extend(self.item(raw, level1, role, item, inner))
            if out and out[-1].kind == "intercept":
                intercept = True
                out.pop()
        return out, intercept

    def item(self, raw: _Raw, level1: bool, role: str, item: SumItem, inner: Expr) -> list[_Item]:
        operands = _star_operands(inner)
        names = [self._name(op) for op in operands]
        symbols = [i for i, n in enumerate(names) if n in self.symbols]
        gammas = [i for i, n in enumerate(names) if n is not None and n not in self.symbols and _GAMMA.match(n)]
        if len(operands) == 1 and names[0] is not None and not symbols and not gammas:
            name = names[0]
            if not level1 and _RANDOM_MARKER.match(name):
                return [_Item("random", True, inner)]
            if level1 and raw.form == "=" and _RESIDUAL.match(name):
                return []
            if level1 and raw.form == "=" and re.fullmatch(r"u_?\d*", name):
                self._fail(
                    raw, role, "random terms (u) belong in the coefficient equations; the "
                    "level-1 residual is written e or r", inner,
                )
        if len(symbols) > 1:
            self._fail(raw, role, "a term can hold only one coefficient", inner)
        if symbols and gammas:
            self._fail(raw, role, "a term cannot have both a coefficient and a gamma", inner)
        for i, n in enumerate(names):
            if i not in symbols and i not in gammas and n is not None and _COEFFICIENT_LIKE.match(n):
                self._fail(
                    raw, role,
                    f"{n!r} looks like a coefficient, but no equation defines it; add one such "
                    f"as '{n} ~ 1 | <factor>' (random) or '{n} ~ 1' (non-varying), or write "
                    f"`{n}` in backticks if it is a data column",
                    operands[i],
                )
        if symbols:
            rest = [op for i, op in enumerate(operands) if i != symbols[0]]
            carrier = tuple(c for op in rest for c in self.components(raw, role, op))
            return [_Item("coef", (names[symbols[0]], carrier), inner)]
        if gammas:
            rest = [op for i, op in enumerate(operands) if i != gammas[0]]
            if len(gammas) > 1:
                self._fail(raw, role, "a term can hold only one gamma", inner)
            if not rest:
                return [_Item("intercept", True, inner)]
            carrier = tuple(c for op in rest for c in self.components(raw, role, op))
            return [_Item("term", carrier, inner)]
        return [_Item("term", comps, inner) for comps in self.crossing(raw, role, operands)]

    def equation(self, raw: _Raw) -> _Eq:
        symbol = raw.lhs_name or ""
        role = f"equation for {symbol} ({raw.where})"
        if raw.lhs_name is None:
            self._fail(raw, f"equation ({raw.where})", "the left side of a coefficient equation must be one name", raw.lhs)
        items, intercept = self.items(raw, level1=False, role=role)
        explicit_random = any(i.kind == "random" for i in items)
        items = [i for i in items if i.kind != "random"]
        factor = raw.factor
        if not factor and raw.lhs_subscript and raw.form == "=":
            letter = raw.lhs_subscript[0]
            if letter in self.subscripts:
                factor = tuple(self.subscripts[letter].split(":"))
        if "fixed" in raw.options and explicit_random:
            self._fail(raw, role, "has a random term 'u' but is marked ', fixed'", raw.lhs)
        base_coef = next((i for i in items if i.kind == "coef" and not i.value[1]), None)
        if base_coef is not None and intercept:
            self._fail(
                raw, role, f"has both an intercept and the intercept coefficient "
                f"{base_coef.value[0]!r}; write one of them", base_coef.node,
            )
        if raw.form == "=":
            random = explicit_random or "random" in raw.options
            if intercept is None:
                intercept = False
        else:
            random = bool(factor) and "fixed" not in raw.options
            random = random or explicit_random or "random" in raw.options
            if intercept is None:
                intercept = base_coef is None
        if random and not factor:
            hint = (
                f"; subscript {raw.lhs_subscript[0]!r} is not declared: add a line "
                f"'{raw.lhs_subscript[0]} = <factor>'" if raw.lhs_subscript else ""
            )
            self._fail(
                raw, role,
                f"a random coefficient needs a grouping factor: end the equation with '| <factor>', "
                f"as in '{symbol} ~ 1 | school'{hint}", raw.rhs,
            )
        raw.factor = factor
        return _Eq(raw, symbol, items, intercept, random)


# =========================================================================== assembly


@dataclass
class _Assembly:
    """Walks the coefficient tree from level 1 down, collecting fixed and random terms."""

    eqs: dict[str, list[_Eq]]
    fixed: list[_FixedTerm] = field(default_factory=list)
    random: dict[tuple[str, ...], list[tuple[tuple[str, ...], str]]] = field(default_factory=dict)
    bars: dict[tuple[str, ...], dict[str, str]] = field(default_factory=dict)
    owners: list[tuple[str, str]] = field(default_factory=list)
    visiting: set[str] = field(default_factory=set)

    def add_fixed(
        self, comps: tuple[str, ...], lv: tuple[int, ...], owner: str, prefix: str, base: bool
    ) -> None:
        order = sum(t.owner == owner for t in self.fixed)
        term = _FixedTerm(comps, lv, owner, order, base)
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


def _nesting(eqs: dict[str, list[_Eq]]) -> dict[tuple[str, ...], tuple[str, ...]]:
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


def _canonical(eq: _Eq) -> str:
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


def _level1(raw: _Raw, interp: _Interpreter) -> tuple[Response, list[_Item], bool | None]:
    role = f"level-1 equation ({raw.where})"
    if raw.bar is not None or raw.options:
        pos = raw.factor_span[0] if raw.factor_span else 0
        raise FormulaSyntaxError(
            f"{role}: the level-1 equation has no grouping factor or options; factors go "
            f"in the coefficient equations ('b0 ~ 1 | school')", raw.text, max(pos - 1, 0), 1,
        )
    with _located(raw.text, role):
        response = raw.lowering.response(raw.lhs)
    items, intercept = interp.items(raw, level1=True, role=role)
    return response, items, intercept


def _assemble(
    raws: list[_Raw], subscripts: Mapping[str, str], covariance: Mapping[str, str | Covariance],
    family: str, link: str | None,
) -> ModelSpec:
    interp = _Interpreter(raws, subscripts)
    response, l1_items, l1_intercept = _level1(raws[0], interp)
    if raws[0].lhs_name in interp.symbols:
        raise SpecError(
            f"the first equation is level 1, but its left side {raws[0].lhs_name!r} is also "
            f"defined by another equation; put the level-1 equation first"
        )
    eqs: dict[str, list[_Eq]] = {}
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
        else:
            asm.add_fixed(item.value, (1,) * len(item.value), "", "", False)
    # level-1 terms without an equation are numbered after the coefficients (g20, g30, ...)
    asm.owners = [(o, str(slot) if o == "" else p) for o, p in asm.owners]
    order = sorted(range(len(asm.fixed)), key=lambda i: (len(asm.fixed[i].components), asm.fixed[i].levels, i))
    fixed_terms = tuple(asm.fixed[i] for i in order)
    has_intercept = any(not t.components for t in fixed_terms)
    fixed = FixedPart(
        intercept=has_intercept, terms=tuple(t.text for t in fixed_terms if t.components)
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


def _level1_text(response: Response, items: list[_Item], has_b0: bool, intercept: bool | None, form: str) -> str:
    parts = []
    if not has_b0:
        implicit = intercept if intercept is not None else form == "~"
        parts.append("1" if implicit else "0")
    for item in items:
        if item.kind == "coef":
            sym, carrier = item.value
            parts.append(sym if not carrier else f"{sym}*{':'.join(carrier)}")
        else:
            parts.append(":".join(item.value))
    return f"{response.to_formula()} ~ {' + '.join(parts)}"


def _check_symbols_used(l1_items: list[_Item], eqs: dict[str, list[_Eq]]) -> None:
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
    asm: _Assembly, eqs: dict[str, list[_Eq]], covariance: Mapping[str, str | Covariance]
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
    covariance: Mapping[str, str | Covariance], eqs: dict[str, list[_Eq]],
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


# =============================================================================== public API


def parse_levels(
    text: str,
    *,
    family: str = "gaussian",
    link: str | None = None,
    covariance: Mapping[str, str | Covariance] | None = None,
    subscripts: Mapping[str, str] | None = None,
) -> ModelSpec:
    """Parse level equations given as one text (one equation per line or ``;``).

    Parameters
    ----------
    text : str
        The equations; the first one is level 1. Lines may start with ``Level 2:``; ``#``
        starts a comment. Lines ``covariance(school) = independent`` set a covariance
        structure and lines ``j = school`` name the factor a subscript indexes.
    family, link : str
        Response family and link, stored in the spec.
    covariance : mapping, optional
        Covariance structure per grouping factor (``{"school": "unstructured"}``).
    subscripts : mapping, optional
        Subscript letter -> grouping factor for the textbook ``=`` form (``{"j": "school"}``).

    Returns
    -------
    ModelSpec
        The same spec as the combined formula (``spec.to_formula()``), with ``spec.levels``
        holding the equations for validation and reports.

    Raises
    ------
    FormulaSyntaxError
        For a malformed equation; the message names the equation and the position.
    SpecError
        For inconsistent equations (an undefined or unused coefficient, conflicting
        nesting, ...).
    """
    if not isinstance(text, str):
        raise SpecError(f"level equations must be a string, got {type(text).__name__}")
    return _build(_split_equations(text, "text"), family, link, covariance, subscripts)


def levels(
    level1: str,
    /,
    *,
    family: str = "gaussian",
    link: str | None = None,
    covariance: Mapping[str, str | Covariance] | None = None,
    subscripts: Mapping[str, str] | None = None,
    **equations: str | Sequence[str],
) -> ModelSpec:
    """Build a model from level equations, HLM style.

    Parameters
    ----------
    level1 : str
        The level-1 equation (``"gcse ~ b0 + b1*lrt"``), or all equations, one per line.
    family, link : str
        Response family and link.
    covariance : mapping, optional
        Covariance structure per grouping factor: unstructured (default for ``|``),
        independent (default for ``||``), identity or exchangeable.
    subscripts : mapping, optional
        For the textbook ``=`` form: which factor each subscript letter indexes.
    **equations : str or list of str
        One keyword per coefficient: its right-hand side and factor, ``b0="1 + z | school"``
        (or the whole equation, ``b0="b0 ~ 1 + z | school"``); a list for a coefficient that
        varies over several crossed factors: ``b0=["1 | plate", "1 | sample"]``.

    Returns
    -------
    ModelSpec
        Equal to the spec of the combined lme4 formula (up to ``source``).

    Examples
    --------
    >>> spec = levels("gcse ~ b0 + b1*lrt", b0="1 + C(schgend) | school",
    ...               b1="1 + C(schgend) | school")
    >>> spec.to_formula()
    'gcse ~ lrt + C(schgend) + lrt:C(schgend) + (1 + lrt | school)'
    """
    if not isinstance(level1, str):
        raise SpecError(f"the level-1 equation must be a string, got {type(level1).__name__}")
    parts = _split_equations(level1, "text")
    for name, value in equations.items():
        values = [value] if isinstance(value, str) else list(value)
        for i, item in enumerate(values):
            if not isinstance(item, str):
                raise SpecError(f"equation for {name!r} must be a string, got {type(item).__name__}")
            where = f"keyword {name}" + (f"[{i}]" if len(values) > 1 else "")
            parts.append((_keyword_equation(name, item, where), where, None))
    return _build(parts, family, link, covariance, subscripts)


def _keyword_equation(name: str, text: str, where: str) -> str:
    tokens = _safe_tokens(text)
    relation = next((t for _, t in _top_level(tokens) if t.is_op("~", "=")), None)
    if relation is None:
        return f"{name} ~ {text.strip()}"
    lhs = text[: relation.start].strip()
    base = _SUBSCRIPT.match(lhs)
    if (base.group("base") if base else lhs) != name:
        raise SpecError(f"{where}: the equation {text!r} is given for {name!r} but defines {lhs!r}")
    return text.strip()


def _build(
    parts: list[tuple[str, str, int | None]], family: str, link: str | None,
    covariance: Mapping[str, str | Covariance] | None, subscripts: Mapping[str, str] | None,
) -> ModelSpec:
    cov = dict(covariance or {})
    subs = dict(subscripts or {})
    raws: list[_Raw] = []
    for text, where, label in parts:
        m = _COVARIANCE_DECL.match(text)
        if m:
            cov.setdefault(m.group(1), m.group(2).lower())
            continue
        m = _SUBSCRIPT_DECL.match(text)
        if m:
            subs.setdefault(m.group(1), m.group(2))
            continue
        raws.append(_parse_raw(text, where, label, first=not raws))
    if not raws:
        raise SpecError("no equations given; expected a level-1 equation such as 'y ~ b0 + b1*x'")
    spec = _assemble(raws, subs, cov, family, link)
    _check_labels(raws, spec.levels)
    return spec


def _check_labels(raws: list[_Raw], lv: Levels) -> None:
    if raws[0].label not in (None, 1):
        raise SpecError(f"the first equation is level 1, but it is labelled level {raws[0].label}")
    by_text = {}
    for eq in lv.equations:
        by_text.setdefault(eq.lhs, eq.level)
    for raw in raws[1:]:
        level = by_text.get(raw.lhs_name or "")
        if raw.label is not None and level is not None and raw.label != level:
            raise SpecError(
                f"{raw.text!r} is labelled level {raw.label}, but it is a level-{level} equation "
                f"(its coefficient {raw.lhs_name!r} appears in a level-{level - 1} equation)"
            )
