"""Posterior probabilities of statements about parameters (brms' ``hypothesis``), such as
``"lrt > 0.5"``, ``"sd(Intercept) > 2"`` or ``"exp(girl) - 1 < 0.2"``: every statement is
evaluated per posterior draw on the parameters as the tables name them."""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr
from scipy import special

from ..errors import SpecError, close_matches, did_you_mean
from ..families import get_family
from ..results.distributional import aux_posterior
from ..results.stats import flatten_draws, interval_label
from ..results.tables import FAMILY_GROUP, RESIDUAL_GROUP, fixed_draws, varcorr_draws
from ..spec.distributional import aux_spec
from ..spec.ir import ModelSpec

_IDENTIFIER_CHAR = re.compile(r"[A-Za-z0-9_.]")
_FUNCTIONS = {
    "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "abs": np.abs,
    "inv_logit": special.expit, "expit": special.expit, "logit": special.logit,
}
_COMPARISONS = {ast.Gt: np.greater, ast.GtE: np.greater_equal, ast.Lt: np.less, ast.LtE: np.less_equal}
#: A single '=' (not part of ==, <=, >=, !=): a point hypothesis.
_POINT = re.compile(r"(?<![<>=!])=(?!=)")
#: ``name[level]`` left after the known names are replaced: an unknown level of a factor.
_SUBSCRIPTED = re.compile(r"(?<![A-Za-z0-9_.`])(?!__p\d)([A-Za-z_.][A-Za-z0-9_.]*)\[([^\]]*)\]")
_POINT_NOTE = ("'a = b' is a point hypothesis: estimate, lower and upper are those of a - b (the test: "
               "does the interval cover 0?); prob and evidence_ratio are NaN, since a continuous "
               "parameter equals a value with posterior probability 0 (brms gives a point hypothesis's "
               "evidence ratio only with prior samples, Savage-Dickey, else NA)")
_EXPRESSION_NOTE = "an expression without a comparison is summarised; its prob and evidence_ratio are NaN"
_BINOPS = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide, ast.Pow: np.power}


def parameter_draws(posterior: xr.Dataset, spec: ModelSpec) -> dict[str, np.ndarray]:
    """Draws (S,) of every scalar parameter by the names tables print.

    Fixed effects by term (``Intercept``, ``lrt``, ``C(schgend)[2]``); group-level sds and
    correlations as ``sd(Intercept|school)``, ``cor(Intercept,lrt|school)`` and, when the
    term name is unique across grouping factors, ``sd(Intercept)``; the residual sd as
    ``sigma``; family parameters by name (``phi``); the coefficients and sds of a
    distributional formula prefixed with its parameter as brms names them (``sigma_Intercept``,
    ``sigma_x``, ``sd(sigma_Intercept|g)``).
    """
    out: dict[str, np.ndarray] = {}
    fx = fixed_draws(posterior)
    for term in fx.coords["term"].values:
        out[str(term)] = flatten_draws(fx.sel(term=term))
    vc, labels = varcorr_draws(posterior, spec)
    short: dict[str, list[str]] = {}
    for i, (group, term) in enumerate(labels):
        values = flatten_draws(vc.isel(row=i))
        if group in (RESIDUAL_GROUP, FAMILY_GROUP):  # sigma, a residual structure's and a family's parameters
            out["sigma" if term == "sd(Residual)" else term] = values
            continue
        full = f"{term[:-1]}|{group})"
        out[full] = values
        short.setdefault(term, []).append(full)
    for term, fulls in short.items():
        if len(fulls) == 1:
            out[term] = out[fulls[0]]
    family = get_family(spec.family)
    for name in family.aux:
        if name in posterior and name not in out and posterior[name].ndim == 2:
            out[name] = flatten_draws(posterior[name])
    for dpar in spec.aux_formulas:
        for key, values in parameter_draws(aux_posterior(posterior, spec, dpar), aux_spec(spec, dpar)).items():
            out.setdefault(_aux_label(dpar, key), values)
    return out


def _aux_label(dpar: str, name: str) -> str:
    """A sub-model's parameter as brms names it: ``sigma_x``, ``sd(sigma_Intercept|g)``."""
    found = re.fullmatch(r"(sd|cor)\((.*)\)", name)
    if found is None:
        return f"{dpar}_{name}"
    terms = ",".join(f"{dpar}_{t}" for t in found.group(2).split("|")[0].split(","))
    group = f"|{name.split('|', 1)[1][:-1]}" if "|" in name else ""
    return f"{found.group(1)}({terms}{group})"


def _substitute(text: str, names: Sequence[str]) -> tuple[str, dict[str, str]]:
    """Replace parameter names (longest first, backquoted or bare at identifier boundaries)
    by placeholders so that Python's parser can read the rest."""
    mapping: dict[str, str] = {}

    def placeholder(name: str) -> str:
        key = mapping.setdefault(name, f"__p{len(mapping)}")
        return key

    def backquoted(match: re.Match) -> str:
        name = match.group(1)
        if name not in names:
            raise SpecError(f"unknown parameter `{name}`.{did_you_mean(name, names)} Valid: {sorted(names)}")
        return placeholder(name)

    text = re.sub(r"`([^`]+)`", backquoted, text)
    ident = _IDENTIFIER_CHAR
    out, i = [], 0
    spelled = _spellings(names)
    ordered = sorted(spelled, key=len, reverse=True)
    while i < len(text):
        hit = None
        for name in ordered:
            if text.startswith(name, i):
                before = text[i - 1] if i else " "
                after = text[i + len(name)] if i + len(name) < len(text) else " "
                if ident.match(before) or (ident.match(after) and ident.match(name[-1])):
                    continue
                hit = name
                break
        if hit is None:
            out.append(text[i])
            i += 1
        else:
            out.append(placeholder(spelled[hit]))
            i += len(hit)
    return "".join(out), mapping


def _check_subscripts(text: str, replaced: str, names: Sequence[str]) -> None:
    """Raise for a ``name[level]`` that is not a parameter, suggesting the table's name of a
    factor's level (a Stata ``i.urban`` coefficient is ``C(urban)[Y]``, its slope
    ``sd(urban[Y])``)."""
    found = _SUBSCRIPTED.search(replaced)
    if found is None:
        return
    name, base, level = found.group(0), found.group(1), found.group(2)
    factor = re.compile(rf"C\({re.escape(base)}(,.*)?\)\[{re.escape(level)}\]")
    hits = [n for n in names if factor.fullmatch(n)]
    hits += [n for n in close_matches(name, names) if n not in hits]
    hint = " Did you mean " + " or ".join(repr(h) for h in hits[:3]) + "?" if hits else ""
    raise SpecError(f"hypothesis {text!r}: unknown parameter {name!r}.{hint} Valid names: {sorted(names)}")


def _spellings(names: Sequence[str]) -> dict[str, str]:
    """Spelling -> parameter name: each name, and a power of a column named as R writes it
    (``I(Days^2)``) also written as Python does (``I(Days**2)``, ``I(Days ** 2)``); each also
    without its spaces, as a formula may have written the term (``sin(2*pi*Time)``, which the
    tables print ``sin(2 * pi * Time)``)."""
    out = {name: name for name in names}
    for name in names:
        if "^" in name:
            for other in (name.replace("^", "**"), name.replace("^", " ** ")):
                out.setdefault(other, name)
    for spelling, name in list(out.items()):
        if " " in spelling and "(" in spelling:
            out.setdefault(spelling.replace(" ", ""), name)
    return out


class _Evaluator:
    def __init__(self, values: dict[str, np.ndarray], valid: Sequence[str], text: str) -> None:
        self.values = values
        self.valid = valid
        self.text = text

    def __call__(self, node):
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise SpecError(f"hypothesis {self.text!r}: {type(node).__name__} is not allowed; use + - * / ** , comparisons and {sorted(_FUNCTIONS)}")
        return method(node)

    def _Expression(self, node):
        return self(node.body)

    def _Constant(self, node):
        if not isinstance(node.value, (int, float)):
            raise SpecError(f"hypothesis {self.text!r}: {node.value!r} is not a number")
        return float(node.value)

    def _Name(self, node):
        if node.id in self.values:
            return self.values[node.id]
        raise SpecError(
            f"hypothesis {self.text!r}: unknown parameter {node.id!r}.{did_you_mean(node.id, self.valid)} "
            f"Valid names: {sorted(self.valid)}"
        )

    def _UnaryOp(self, node):
        v = self(node.operand)
        if isinstance(node.op, ast.USub):
            return -v
        if isinstance(node.op, ast.UAdd):
            return v
        if isinstance(node.op, ast.Not):
            return ~np.asarray(v, dtype=bool)
        raise SpecError(f"hypothesis {self.text!r}: unsupported operator")

    def _BinOp(self, node):
        op = _BINOPS.get(type(node.op))
        if op is None:
            raise SpecError(f"hypothesis {self.text!r}: unsupported operator {type(node.op).__name__}")
        return op(self(node.left), self(node.right))

    def _Call(self, node):
        name = getattr(node.func, "id", None)
        if name in ("sd", "cor"):
            known = sorted(v for v in self.valid if v.startswith(name + "("))
            raise SpecError(f"hypothesis {self.text!r}: {name}(...) must name a group-level parameter; valid: {known}")
        if name not in _FUNCTIONS or node.keywords or len(node.args) != 1:
            raise SpecError(f"hypothesis {self.text!r}: functions are {sorted(_FUNCTIONS)} with one argument")
        return _FUNCTIONS[name](self(node.args[0]))

    def _BoolOp(self, node):
        parts = [np.asarray(self(v), dtype=bool) for v in node.values]
        fn = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
        out = parts[0]
        for p in parts[1:]:
            out = fn(out, p)
        return out

    def _Compare(self, node):
        left = self(node.left)
        out = None
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            fn = _COMPARISONS.get(type(op))
            if fn is None:
                raise SpecError(f"hypothesis {self.text!r}: use >, >=, < or <= (a continuous parameter equals a value with "
                              "probability 0), or a point hypothesis 'a = b' for the estimate of a - b and its interval")
            right = self(right_node)
            part = fn(left, right)
            out = part if out is None else out & part
            left = right
        return out


def _difference(node: ast.Compare, ev: _Evaluator):
    """lhs - rhs of a single comparison, whichever its direction (brms' 'Estimate' of a
    hypothesis: ``a < b`` is estimated as a - b, negative when it holds)."""
    if len(node.ops) != 1:
        return None
    return ev(node.left) - ev(node.comparators[0])


def hypothesis(posterior: xr.Dataset, spec: ModelSpec, statements: str | Sequence[str], prob: float = 0.95) -> pd.DataFrame:
    """Posterior probability of statements about parameters (brms' ``hypothesis``).

    Parameters
    ----------
    posterior : the posterior draws.
    spec : the fitted model's spec (for the names of the parameters).
    statements : one or more expressions in parameter names, e.g. ``"lrt > 0.5"``,
        ``"Intercept + lrt > 0"``, ``"sd(Intercept) > 2"``, ``"exp(b) > 1.1"``,
        ``"sd(Intercept|school) > sd(lrt|school)"``; a name that is not a Python name can
        be backquoted: ```C(schgend)[2]` > 0``. Without a comparison the expression's
        posterior is summarised; a point hypothesis ``"lbase = 1"`` (brms, Stata's ``test``)
        summarises ``lbase - 1`` (its interval is the test; prob and evidence_ratio are NaN,
        as brms' are NA without prior samples, and ``attrs["note"]`` says so).
        ``and``/``or`` combine statements (probability only).
    prob : width of the equal-tailed interval of the estimate.

    Returns
    -------
    DataFrame, one row per statement: estimate (posterior mean of lhs - rhs for a
    comparison of either direction, as brms reports it, or of the expression), sd, lower,
    upper, prob (posterior probability of the statement) and evidence_ratio
    (prob / (1 - prob)).
    """
    statements = [statements] if isinstance(statements, str) else list(statements)
    params = parameter_draws(posterior, spec)
    names = list(params)
    alpha = (1 - prob) / 2
    rows, notes = [], {}
    for text in statements:
        replaced, mapping = _substitute(text, names)
        sides = _POINT.split(replaced)
        if len(sides) == 2:  # brms' and Stata's point hypothesis 'a = b': the estimate of a - b
            replaced = f"({sides[0].strip()}) - ({sides[1].strip()})"
            notes["point"] = _POINT_NOTE
        _check_subscripts(text, replaced, names)
        values = {ph: params[name] for name, ph in mapping.items()}
        try:
            tree = ast.parse(replaced.strip(), mode="eval")
        except SyntaxError as exc:
            raise SpecError(f"hypothesis {text!r} does not parse ({exc.msg}); valid names: {sorted(names)}") from None
        ev = _Evaluator(values, names, text)
        result = np.asarray(ev(tree), dtype=float if not isinstance(tree.body, (ast.Compare, ast.BoolOp)) else bool)
        estimate = None
        p = math.nan
        if result.dtype == bool:
            p = float(np.mean(result))
            if isinstance(tree.body, ast.Compare):
                estimate = _difference(tree.body, ev)
        else:
            estimate = result
            if len(sides) == 1:
                notes.setdefault("expression", _EXPRESSION_NOTE)
        row = {"hypothesis": text}
        if estimate is not None:
            e = np.broadcast_to(np.asarray(estimate, float), (next(iter(params.values())).shape[0],))
            row.update(estimate=float(np.mean(e)), sd=float(np.std(e, ddof=1)),
                       lower=float(np.quantile(e, alpha)), upper=float(np.quantile(e, 1 - alpha)))
        else:
            row.update(estimate=math.nan, sd=math.nan, lower=math.nan, upper=math.nan)
        row["prob"] = p
        row["evidence_ratio"] = (p / (1 - p) if p < 1 else math.inf) if not math.isnan(p) else math.nan
        rows.append(row)
    out = pd.DataFrame(rows).set_index("hypothesis")
    out.attrs["interval"] = interval_label(prob)
    if notes:
        out.attrs["note"] = "; ".join(notes.values())
    return out
