"""Tests of the lme4 formula front end: lexer, parser and lowering to ModelSpec."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hierbayes.errors import FormulaSyntaxError, SpecError
from hierbayes.spec import (
    Covariance,
    FixedPart,
    GroupTerm,
    ModelSpec,
    Response,
    parse_formula,
)
from hierbayes.spec.lexer import TokenKind, tokenize
from hierbayes.spec.parser import Bar, Binary, Call, Paren, Sum, parse
from hierbayes.spec.stata import from_stata

ROOT = Path(__file__).resolve().parents[2]
U = Covariance.UNSTRUCTURED
IND = Covariance.INDEPENDENT


def G(*factor: str, i: bool = True, t: tuple[str, ...] = (), cov: Covariance = U) -> GroupTerm:
    """Shorthand for a GroupTerm."""
    return GroupTerm(factor=factor, intercept=i, terms=t, covariance=cov)


def F(*terms: str, i: bool = True) -> FixedPart:
    """Shorthand for a FixedPart."""
    return FixedPart(intercept=i, terms=terms)


def R(expr: str = "y", trials: str | None = None, failures: str | None = None) -> Response:
    return Response(expr=expr, trials=trials, failures=failures)


def same(a: ModelSpec, b: ModelSpec) -> bool:
    """Equality ignoring ``source``."""
    return replace(a, source="") == replace(b, source="")


def assert_round_trip(spec: ModelSpec) -> None:
    again = parse_formula(spec.to_formula(), family=spec.family, link=spec.link)
    assert same(again, spec), (spec.to_formula(), again, spec)
    assert again.to_formula() == spec.to_formula()


# --------------------------------------------------------------------------------------
# Valid formulas
# --------------------------------------------------------------------------------------

VALID: list[tuple[str, Response, FixedPart, tuple[GroupTerm, ...]]] = [
    # the reference models
    ("Reaction ~ Days + (Days | Subject)", R("Reaction"), F("Days"), (G("Subject", t=("Days",)),)),
    ("diameter ~ 1 + (1|plate) + (1|sample)", R("diameter"), F(), (G("plate"), G("sample"))),
    ("strength ~ (1|batch/cask)", R("strength"), F(), (G("batch"), G("batch", "cask"))),
    (
        "y ~ service + (1|s) + (1|d) + (1|dept)",
        R(),
        F("service"),
        (G("s"), G("d"), G("dept")),
    ),
    (
        "y ~ lectage + service + (lectage|dept)",
        R(),
        F("lectage", "service"),
        (G("dept", t=("lectage",)),),
    ),
    (
        "gcse ~ lrt*schgend + (lrt|school)",
        R("gcse"),
        F("lrt", "schgend", "lrt:schgend"),
        (G("school", t=("lrt",)),),
    ),
    (
        "incidence | trials(size) ~ period + (1|herd)",
        R("incidence", trials="size"),
        F("period"),
        (G("herd"),),
    ),
    ("y ~ 0 + x + (0 + x || g)", R(), F("x", i=False), (G("g", i=False, t=("x",)),)),
    # intercept handling in the fixed part
    ("y ~ x", R(), F("x"), ()),
    ("y ~ 1", R(), F(), ()),
    ("y ~ 1 + x", R(), F("x"), ()),
    ("y ~ 0 + x", R(), F("x", i=False), ()),
    ("y ~ x + 0", R(), F("x", i=False), ()),
    ("y ~ -1 + x", R(), F("x", i=False), ()),
    ("y ~ x - 1", R(), F("x", i=False), ()),
    ("y ~ x -1", R(), F("x", i=False), ()),
    ("y ~ x - 1 + 1", R(), F("x"), ()),
    ("y ~ 0 + (1|g)", R(), F(i=False), (G("g"),)),
    # fixed terms: expanded as R's terms() expands them, R's order, duplicates
    ("y ~ a:b", R(), F("a:b"), ()),
    ("y ~ a : b", R(), F("a:b"), ()),
    ("y ~ a * b", R(), F("a", "b", "a:b"), ()),
    ("y ~ a/b", R(), F("a", "a:b"), ()),
    ("y ~ (a + b):c", R(), F("a:c", "b:c"), ()),
    ("y ~ (a+b) : c", R(), F("a:c", "b:c"), ()),
    ("y ~ I(x**2)", R(), F("I(x**2)"), ()),
    ("y ~ I(x^2)", R(), F("I(x**2)"), ()),
    ("y ~ I(x ^ 2) + log(z^2)", R(), F("I(x ** 2)", "log(z**2)"), ()),
    ("y ~ I(x ** 2)", R(), F("I(x ** 2)"), ()),
    ("y ~ C(period)", R(), F("C(period)"), ()),
    ("y ~ C(period, Sum) + log(x) + scale(z)", R(), F("C(period, Sum)", "log(x)", "scale(z)"), ()),
    ("y ~ C(g, levels=['a', 'b'])", R(), F("C(g, levels=['a', 'b'])"), ()),
    ("y ~ I(x > 3) + I(x == \"a\")", R(), F("I(x > 3)", 'I(x == "a")'), ()),
    ("y ~ x + z + x + (x)", R(), F("x", "z"), ()),
    ("y ~ z + x", R(), F("z", "x"), ()),
    ("y ~ (x) + ((z))", R(), F("x", "z"), ()),
    ("y ~ (x + z)", R(), F("x", "z"), ()),
    ("y ~ x^1 + a ** 1", R(), F("x", "a"), ()),
    ("y ~ (a + b + c)**2", R(), F("a", "b", "c", "a:b", "a:c", "b:c"), ()),
    ("y ~ a*b/c", R(), F("a", "b", "a:b", "a:b:c"), ()),
    ("y ~ a*(b/c)", R(), F("a", "b", "b:c", "a:b", "a:b:c"), ()),
    ("y ~ (a*b)/c + a/b*c", R(), F("a", "b", "c", "a:b", "a:c", "a:b:c"), ()),
    ("y ~ a:(b:c) + (a:b):c", R(), F("a:b:c"), ()),
    ("y ~ Sex/age", R(), F("Sex", "Sex:age"), ()),
    ("y ~ age %in% Sex", R(), F("age:Sex"), ()),
    ("y ~ a + b %in% a", R(), F("a", "b:a"), ()),
    ("y ~ (a + b) %in% c", R(), F("a:c", "b:c"), ()),
    ("y ~ a/(b + c)", R(), F("a", "a:b", "a:c"), ()),
    ("y ~ a/b/c", R(), F("a", "a:b", "a:b:c"), ()),
    ("y ~ a*b - a:b", R(), F("a", "b"), ()),
    ("y ~ (a + b + c)^2 - a:b", R(), F("a", "b", "c", "a:c", "b:c"), ()),
    ("y ~ a:b + c", R(), F("c", "a:b"), ()),
    ("y ~ b:a + a:b", R(), F("b:a"), ()),
    ("y ~ x.1 + x_1 + _z", R(), F("x.1", "x_1", "_z"), ()),
    ("y ~ `my var` + `x`", R(), F("`my var`", "x"), ()),
    # responses
    ("log(y) ~ x", R("log(y)"), F("x"), ()),
    ("log(y + 1) ~ x", R("log(y + 1)"), F("x"), ()),
    ("(y) ~ x", R("y"), F("x"), ()),
    ("`my y` ~ x", R("`my y`"), F("x"), ()),
    ("cbind(s, f) ~ x + (1|g)", R("s", failures="f"), F("x"), (G("g"),)),
    ("cbind(s,n - s) ~ x", R("s", failures="n - s"), F("x"), ()),
    ("y|trials(n) ~ x", R("y", trials="n"), F("x"), ()),
    ("y | trials(n^2) ~ x", R("y", trials="n**2"), F("x"), ()),
    ("cbind(s, n^2 - s) ~ x", R("s", failures="n**2 - s"), F("x"), ()),
    # group terms
    ("y ~ (1 + x | g)", R(), F(), (G("g", t=("x",)),)),
    ("y ~ (x | g)", R(), F(), (G("g", t=("x",)),)),
    ("y ~ (0 + x | g)", R(), F(), (G("g", i=False, t=("x",)),)),
    ("y ~ (-1 + x | g)", R(), F(), (G("g", i=False, t=("x",)),)),
    ("y ~ (x - 1 | g)", R(), F(), (G("g", i=False, t=("x",)),)),
    ("y ~ (x + z | g)", R(), F(), (G("g", t=("x", "z")),)),
    ("y ~ (C(a) | g)", R(), F(), (G("g", t=("C(a)",)),)),
    ("y ~ (poly(x, 2) | g)", R(), F(), (G("g", t=("poly(x, 2)",)),)),
    ("y ~ (a:b | g)", R(), F(), (G("g", t=("a:b",)),)),
    ("y ~ (x || g)", R(), F(), (G("g", t=("x",), cov=IND),)),
    ("y ~ (1 + x + z || g)", R(), F(), (G("g", t=("x", "z"), cov=IND),)),
    # a single column has no correlation to drop: (1 || g) is (1 | g)
    ("y ~ (1 || g)", R(), F(), (G("g"),)),
    ("y ~ (1 | a:b)", R(), F(), (G("a", "b"),)),
    ("y ~ (1 | a/b/c)", R(), F(), (G("a"), G("a", "b"), G("a", "b", "c"))),
    ("y ~ (x | a/b)", R(), F(), (G("a", t=("x",)), G("a", "b", t=("x",)))),
    ("y ~ (1 | a:b/c)", R(), F(), (G("a", "b"), G("a", "b", "c"))),
    ("y ~ (1 | a/b:c)", R(), F(), (G("a"), G("a", "b", "c"))),
    ("y ~ (1|g) + (0 + x|g)", R(), F(), (G("g"), G("g", i=False, t=("x",)))),
    ("y ~ ((1|g))", R(), F(), (G("g"),)),
    ("y ~ (1 | `my school`)", R(), F(), (G("`my school`"),)),
    ("y ~ x\n    + (1 | g)\n", R(), F("x"), (G("g"),)),
]


@pytest.mark.parametrize(("text", "response", "fixed", "groups"), VALID, ids=[v[0] for v in VALID])
def test_valid_formula(
    text: str, response: Response, fixed: FixedPart, groups: tuple[GroupTerm, ...]
) -> None:
    spec = parse_formula(text)
    assert spec.response == response
    assert spec.fixed == fixed
    assert spec.groups == groups
    assert spec.source == text
    assert_round_trip(spec)


def test_family_link_and_source_are_stored() -> None:
    spec = parse_formula("y ~ x", family="bernoulli", link="probit")
    assert (spec.family, spec.link, spec.source) == ("bernoulli", "probit", "y ~ x")
    assert parse_formula("y ~ x").family == "gaussian"
    assert parse_formula("y ~ x").link is None


def test_to_formula_of_reference_models() -> None:
    assert parse_formula("Reaction ~ Days + (Days | Subject)").to_formula() == (
        "Reaction ~ Days + (1 + Days | Subject)"
    )
    assert parse_formula("strength ~ (1|batch/cask)").to_formula() == (
        "strength ~ 1 + (1 | batch) + (1 | batch:cask)"
    )
    assert parse_formula("y ~ 0 + x + (0 + x + z || g)").to_formula() == (
        "y ~ 0 + x + (0 + x + z || g)"
    )


def test_exchangeable_and_identity_group_terms_are_written_as_glmmtmb_calls() -> None:
    # to_formula() had written a cov(exchangeable) term as (1 + x | g), which reads as unstructured
    spec = from_stata("mixed y c.x##c.x || g: x, cov(exch) || h: x, cov(id)")
    assert spec.to_formula() == "y ~ x + I(x**2) + homcs(1 + x | g) + homdiag(1 + x | g:h)"
    assert [g.covariance for g in spec.groups] == [Covariance.EXCHANGEABLE, Covariance.IDENTITY]
    assert_round_trip(spec)
    nested = parse_formula("y ~ homcs( 0 + x + z | a/b) + (1 | c)")
    assert [g.covariance for g in nested.groups] == [Covariance.EXCHANGEABLE] * 2 + [U]
    assert nested.to_formula() == "y ~ 1 + homcs(0 + x + z | a) + homcs(0 + x + z | a:b) + (1 | c)"
    # one column: every structure is one sd, written and read as (1 | g)
    assert parse_formula("y ~ homdiag(1 | g)").groups == (G("g"),)
    with pytest.raises(FormulaSyntaxError, match=r"one sd and one common correlation \(Stata's cov\(exchangeable\)\) is homcs\(x \| g\)"):
        parse_formula("y ~ cs(x | g)")


def test_lexer_spans_and_kinds() -> None:
    text = "y ~ `a b` + I(x**2, 'k') || 1.5"
    tokens = tokenize(text)
    kinds = [(t.kind, t.text, t.start, t.end) for t in tokens]
    assert kinds[:4] == [
        (TokenKind.NAME, "y", 0, 1),
        (TokenKind.OP, "~", 2, 3),
        (TokenKind.NAME, "`a b`", 4, 9),
        (TokenKind.OP, "+", 10, 11),
    ]
    texts = [t.text for t in tokens]
    assert "**" in texts and "||" in texts and "'k'" in texts and "1.5" in texts
    assert tokens[-1].kind is TokenKind.EOF and tokens[-1].start == len(text)


def test_parser_ast_keeps_spans_and_call_text() -> None:
    text = "y ~ I(x ** 2):g + (1 + x | a/b)"
    formula = parse(text)
    rhs = formula.rhs
    assert isinstance(rhs, Sum)
    inter, group = rhs.items[0].expr, rhs.items[1].expr
    assert isinstance(inter, Binary) and inter.op == ":"
    assert isinstance(inter.left, Call) and inter.left.text == "I(x ** 2)"
    assert text[inter.op_span.start : inter.op_span.end] == ":"
    assert isinstance(group, Paren) and isinstance(group.body, Bar)
    assert text[group.span.start : group.span.end] == "(1 + x | a/b)"
    assert formula.tilde_span.start == 2


def test_precedence_table() -> None:
    # as in R: '*' = '/' < '%in%' < ':' < '**': a*b/c %in% d:e**2 == (a*b)/(c %in% (d:(e**2)))
    rhs = parse("y ~ a*b/c %in% d:e**2").rhs
    assert isinstance(rhs, Binary) and rhs.op == "/"
    assert isinstance(rhs.left, Binary) and rhs.left.op == "*"
    assert isinstance(rhs.right, Binary) and rhs.right.op == "%in%"
    assert isinstance(rhs.right.right, Binary) and rhs.right.right.op == ":"
    assert isinstance(rhs.right.right.right, Binary) and rhs.right.right.right.op == "**"


def test_non_string_formula_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match="must be a string"):
        parse_formula(42)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------
# Errors: one case per message, with type, key words and position
# --------------------------------------------------------------------------------------

ERRORS: list[tuple[str, type[Exception], tuple[str, ...], int | None]] = [
    # lexer
    ("y ~ x $ z", FormulaSyntaxError, ("unexpected character", "'$'"), 6),
    ("y ~ x + @z", FormulaSyntaxError, ("unexpected character", "'@'"), 8),
    ("y ~ .", FormulaSyntaxError, ("unexpected character", "'.'"), 4),
    ("y ~ C(a, 'b)", FormulaSyntaxError, ("unterminated string",), 9),
    ("y ~ `abc + x", FormulaSyntaxError, ("unterminated backtick",), 4),
    ("y ~ `` + x", FormulaSyntaxError, ("empty backtick",), 4),
    # brackets
    ("y ~ (x + z", FormulaSyntaxError, ("unmatched '('", "expected a closing ')'"), 4),
    ("y ~ (x + (z)", FormulaSyntaxError, ("unmatched '('",), 4),
    ("y ~ x + z)", FormulaSyntaxError, ("unmatched ')'",), 9),
    ("y ~ C(a]", FormulaSyntaxError, ("does not match", "expected ')'"), 7),
    ("y ~ " + "(" * 70 + "x" + ")" * 70, FormulaSyntaxError, ("nested more than",), 68),
    # '~'
    ("", FormulaSyntaxError, ("empty formula",), 0),
    ("   ", FormulaSyntaxError, ("empty formula",), 0),
    ("y + x", FormulaSyntaxError, ("missing '~'",), 0),
    ("y ~ x ~ z", FormulaSyntaxError, ("exactly one '~'",), 6),
    ("~ x", FormulaSyntaxError, ("expected a response before '~'",), 0),
    ("y ~", FormulaSyntaxError, ("expected predictors after '~'",), 2),
    ("y ~ + x", FormulaSyntaxError, ("expected predictors after '~'", "'+'"), 4),
    ("y x ~ z", FormulaSyntaxError, ("expected an operator", "'~'", "'x'"), 2),
    # operators
    ("y ~ x +", FormulaSyntaxError, ("expected a term after '+'", "formula ends"), 6),
    ("y ~ x :", FormulaSyntaxError, ("expected a term after ':'",), 6),
    ("y ~ x + + z", FormulaSyntaxError, ("expected a term after '+'", "found '+'"), 8),
    ("y ~ x ** ** 2", FormulaSyntaxError, ("expected a term after '**'", "found '**'"), 9),
    ("y ~ x z", FormulaSyntaxError, ("expected an operator", "end of the formula", "'z'"), 6),
    ("y ~ (x z)", FormulaSyntaxError, ("expected an operator", "')'"), 7),
    ("y ~ (x ~ z)", FormulaSyntaxError, ("'~' is not allowed inside parentheses",), 7),
    ("y ~ ()", FormulaSyntaxError, ("empty parentheses",), 4),
    ("y ~ (+ x)", FormulaSyntaxError, ("expected a term", "found '+'"), 5),
    # '|' placement
    ("y ~ x | g", FormulaSyntaxError, ("only allowed inside parentheses",), 6),
    ("y ~ x || g", FormulaSyntaxError, ("only allowed inside parentheses", "'||'"), 6),
    ("y ~ (|g)", FormulaSyntaxError, ("expected the effects before '|'",), 5),
    ("y ~ (1|)", FormulaSyntaxError, ("expected a grouping factor after '|'",), 7),
    ("y ~ (1 ||", FormulaSyntaxError, ("unmatched '('",), 4),
    ("y ~ (1|g|h)", FormulaSyntaxError, ("only one '|'", "group term"), 8),
    ("y ~ x:(1|g)", FormulaSyntaxError, ("group term", "interaction or product"), 6),
    ("y ~ x*(1|g)", FormulaSyntaxError, ("group term", "interaction or product"), 6),
    ("y ~ (1|g):x", FormulaSyntaxError, ("group term", "interaction or product"), 4),
    ("y ~ ((1|g)|h)", FormulaSyntaxError, ("cannot be nested",), 5),
    ("y ~ x - (1|g)", FormulaSyntaxError, ("cannot be removed",), 6),
    ("y ~ (0|g)", FormulaSyntaxError, ("has no effects",), 5),
    ("y ~ (-1|g)", FormulaSyntaxError, ("has no effects",), 5),
    # grouping factors
    ("y ~ (1|2)", FormulaSyntaxError, ("grouping factor", "number '2'"), 7),
    ("y ~ (1|factor(g))", FormulaSyntaxError, ("must be a column name", "factor(g)"), 7),
    ("y ~ (1|a + b)", FormulaSyntaxError, ("one grouping factor", "'+'"), 9),
    ("y ~ (1|a*b)", FormulaSyntaxError, ("operator '*'", "grouping factor"), 8),
    ("y ~ (1|(a))", FormulaSyntaxError, ("expected a grouping factor name",), 7),
    ("y ~ (1|a:a)", FormulaSyntaxError, ("'a' appears twice",), 7),
    # removal, numbers, powers
    ("y ~ x - z", FormulaSyntaxError, ("cannot remove 'z'", "terms: x", "a*b - a:b"), 6),
    ("y ~ -x", FormulaSyntaxError, ("cannot remove 'x'", "terms: none"), 4),
    ("y ~ (a - b):c", FormulaSyntaxError, ("at the top level", "cannot remove 'b'"), 7),
    ("y ~ (x - 1 | g) + (0 + x - z | h)", FormulaSyntaxError, ("only the intercept",), 25),
    ("y ~ 2 + x", FormulaSyntaxError, ("unexpected number '2'", "I(...)"), 4),
    ("y ~ x:2", FormulaSyntaxError, ("unexpected number '2'",), 6),
    ("y ~ x**y", FormulaSyntaxError, ("whole number after '**'", "'y'", "I(x^y)"), 7),
    ("y ~ x**0", FormulaSyntaxError, ("whole number after '**'", "'0'"), 7),
    ("y ~ x^0.5", FormulaSyntaxError, ("whole number after '^'", "I(x^0.5)"), 6),
    ("y ~ x^2", FormulaSyntaxError, ("crossed with itself", "just 'x'", "I(x^2)"), 5),
    ("y ~ (a:b)**3", FormulaSyntaxError, ("crossed with itself", "(a + b + c)^2"), 9),
    ("y ~ (x^2 | g)", FormulaSyntaxError, ("crossed with itself", "I(x^2)"), 6),
    ("y^2 ~ x", FormulaSyntaxError, ("response must be one variable", "as in I(y^2)"), 1),
    # things that belong inside calls
    ("y ~ 'a' + x", FormulaSyntaxError, ("string is only allowed inside a function call",), 4),
    ("y ~ x > 3", FormulaSyntaxError, ("'>' outside a function call", "I(x > 3)"), 6),
    ("y ~ x, z", FormulaSyntaxError, ("',' outside a function call",), 5),
    ("y ~ log()", FormulaSyntaxError, ("expected an argument inside log()",), 7),
    ("y ~ C(a,)", FormulaSyntaxError, ("expected an argument after ','",), 8),
    ("y ~ C(,a)", FormulaSyntaxError, ("expected an argument after 'C('",), 6),
    ("y ~ I(x ~ z)", FormulaSyntaxError, ("'~' is not allowed inside a function call",), 8),
    # brms' bf(y ~ x, sigma ~ z): the auxiliary formula is a keyword here
    ("bf(y ~ x, sigma ~ z)", FormulaSyntaxError, ("brms' bf() is not a formula term", 'sigma="~ x"'), 0),
    ("y ~ x, sigma ~ z", FormulaSyntaxError, ("second formula after ','", "nu=, phi=, shape="), 5),
    # response
    ("y + z ~ x", FormulaSyntaxError, ("response must be one variable", "'+'"), 2),
    ("y:z ~ x", FormulaSyntaxError, ("response must be one variable", "':'"), 1),
    ("1 ~ x", FormulaSyntaxError, ("expected a response variable", "number '1'"), 0),
    ("(1|g) ~ x", FormulaSyntaxError, ("group term cannot be the response",), 0),
    ("| trials(n) ~ x", FormulaSyntaxError, ("expected a response before '|'",), 0),
    ("y | x ~ z", FormulaSyntaxError, ("expected trials(n) after '|'", "'x'"), 4),
    ("y || trials(n) ~ x", FormulaSyntaxError, ("expected '|' before trials", "'||'"), 2),
    ("y | trials(n) | z ~ x", FormulaSyntaxError, ("only one '|'", "response"), 14),
    ("y | trials(n, m) ~ x", FormulaSyntaxError, ("trials() takes one argument",), 4),
    ("trials(n) ~ x", FormulaSyntaxError, ("trials(...) goes after the response",), 0),
    ("cbind(s) ~ x", FormulaSyntaxError, ("cbind() takes two arguments", "got 1"), 0),
    ("cbind(s, f) | trials(n) ~ x", FormulaSyntaxError, ("either cbind", "not both"), 12),
    # duplicates (SpecError, not a syntax error)
    ("y ~ (1|g) + (1|g)", SpecError, ("duplicate group term", "1 | g", "twice"), None),
    ("y ~ (1|a/b) + (1|a)", SpecError, ("duplicate group term", "1 | a", "(1|a/b)", "(1|a)"), None),
    ("y ~ (x|g) + (x||g)", SpecError, ("duplicate group term", "1 + x | g"), None),
    # glmmTMB's homcs() / homdiag(): one group term with one '|'
    ("y ~ homcs(1 + x || g)", FormulaSyntaxError, ("homcs() holds one group term with a single '|'",), 4),
    ("y ~ homdiag(1 + x | g, 2)", FormulaSyntaxError, ("homdiag() takes one group term", "homdiag(1 + x | g)"), 4),
    ("y ~ homcs(1 + x | g | h)", FormulaSyntaxError, ("only one '|'", "group term"), 20),
    ("y ~ homcs(x|g) + (x|g)", SpecError, ("duplicate group term", "1 + x | g"), None),
]


@pytest.mark.parametrize(("text", "error", "words", "position"), ERRORS, ids=[e[0] for e in ERRORS])
def test_error(
    text: str, error: type[Exception], words: tuple[str, ...], position: int | None
) -> None:
    with pytest.raises(error) as info:
        parse_formula(text)
    exc = info.value
    message = str(exc)
    for word in words:
        assert word in message, (word, message)
    if position is None:
        assert not isinstance(exc, FormulaSyntaxError)
        return
    assert isinstance(exc, FormulaSyntaxError)
    assert exc.position == position, message
    assert exc.text == text
    assert 0 <= exc.position and exc.position + exc.length <= max(len(text), 1)


@pytest.mark.parametrize("lhs", ["incidence / size", "I(incidence / size)", "(incidence/size)"])
def test_a_binomial_proportion_response_names_the_cbind_that_works(lhs: str) -> None:
    # lme4's ?cbpp: glmer(incidence / size ~ period + (1 | herd), weights = size, family = binomial)
    # had "wrap arithmetic in I(...)", then a recipe with df['I(incidence / size)'] and trials 'n'
    with pytest.raises(FormulaSyntaxError) as info:
        parse_formula(f"{lhs} ~ period + (1 | herd)", family="binomial")
    message = str(info.value)
    assert "'cbind(incidence, size - incidence) ~ period + (1 | herd)'" in message
    assert "'incidence | trials(size) ~ period + (1 | herd)'" in message
    assert "no weights=" in message and "I(...)" not in message
    # other families keep a proportion: I(k / n) is a response, k / n is told to wrap it
    assert parse_formula("I(incidence / size) ~ period").response.expr == "I(incidence / size)"
    with pytest.raises(FormulaSyntaxError, match=r"wrap arithmetic in I\(\.\.\.\)"):
        parse_formula("incidence / size ~ period", family="gaussian")


def test_error_spans_cover_the_offending_text() -> None:
    with pytest.raises(FormulaSyntaxError) as info:
        parse_formula("y ~ x:(1 | g) + z")
    exc = info.value
    assert exc.text[exc.position : exc.position + exc.length] == "(1 | g)"
    with pytest.raises(FormulaSyntaxError) as info:
        parse_formula("y ~ a - b:c")
    exc = info.value
    assert exc.text[exc.position : exc.position + exc.length] == "- b:c"
    assert "^^^^^" in str(exc)


# --------------------------------------------------------------------------------------
# Property-based tests
# --------------------------------------------------------------------------------------

VARIABLES = ["x", "z", "w", "Days", "x_1", "a.b", "`my var`", "`z`"]
DISTINCT_VARIABLES = ["x", "z", "w", "Days", "x_1", "a.b", "`my var`"]
CALLS = ["I(x**2)", "I(x ** 2)", "C(period, Sum)", "poly(x, 2)", "log(w)", "scale(z)", "C(g)"]
FACTOR_NAMES = [f"g{i}" for i in range(12)] + ["`my school`", "Subject", "batch", "cask"]
GROUP_LHS = [
    "1", "x", "1 + x", "0 + x", "-1 + x", "x - 1", "x + z", "C(a)", "poly(x, 2)",
    "1 + x + z", "0 + x + z", "a:b",
]
RESPONSES = ["y", "log(y)", "y | trials(n)", "cbind(s, f)", "`my y`", "log(y + 1)"]

spaces = st.sampled_from(["", " "])


def _combine(parts: tuple[str, str, str, str, bool, bool]) -> str:
    left, op, right, pad, wrap_left, wrap_right = parts
    if wrap_left:
        left = f"({left})"
    if wrap_right:
        right = f"({right})"
    return f"{left}{pad}{op}{pad}{right}"


atoms = st.sampled_from(VARIABLES) | st.sampled_from(CALLS)
terms = st.recursive(
    atoms,
    lambda inner: st.one_of(
        st.tuples(
            inner,
            st.sampled_from([":", "*", "/", " %in% "]),
            inner,
            spaces,
            st.booleans(),
            st.booleans(),
        ).map(_combine),
        st.tuples(inner, inner, st.sampled_from([":", "*"]), atoms).map(
            lambda t: f"({t[0]} + {t[1]}){t[2]}{t[3]}"
        ),
        st.tuples(inner, st.just("**"), st.just(1)).map(lambda t: f"({t[0]}){t[1]}{t[2]}"),
        st.tuples(
            st.lists(st.sampled_from(DISTINCT_VARIABLES), min_size=2, max_size=3, unique=True),
            st.sampled_from(["**", "^"]),
            st.integers(1, 3),
        ).map(lambda t: f"({' + '.join(t[0])}){t[1]}{t[2]}"),
    ),
    max_leaves=4,
)


@st.composite
def group_terms(draw: st.DrawFn, names: tuple[str, str, str]) -> str:
    lhs = draw(st.sampled_from(GROUP_LHS) | terms)
    bar = draw(st.sampled_from(["|", "||"]))
    shape = draw(st.sampled_from(["a", "a:b", "a/b", "a/b/c", "a:b/c", "a/b:c"]))
    factor = "".join(names["abc".index(ch)] if ch in "abc" else ch for ch in shape)
    pad = draw(spaces)
    call = draw(st.sampled_from(["", "homcs", "homdiag"])) if bar == "|" else ""
    return f"{call}({lhs}{pad}{bar}{pad}{factor})"


@st.composite
def formulas(draw: st.DrawFn) -> str:
    response = draw(st.sampled_from(RESPONSES))
    fixed = draw(st.lists(terms, max_size=4))
    marker = draw(st.sampled_from([None, "1", "0", "-1"]))
    at_end = draw(st.booleans())
    offset = draw(st.integers(0, len(FACTOR_NAMES) - 1))
    names = FACTOR_NAMES[offset:] + FACTOR_NAMES[:offset]  # distinct names: no duplicate terms
    count = draw(st.integers(0, 3))
    groups = [draw(group_terms(tuple(names[3 * k : 3 * k + 3]))) for k in range(count)]
    parts = list(fixed)
    if marker is not None:
        parts = [*parts, marker] if at_end else [marker, *parts]
    rhs = " + ".join([*parts, *groups]) or "1"
    rhs = rhs.replace("+ -1", "- 1")
    return f"{response} ~ {rhs}"


ALPHABET = "xyzg01 ~+-*/:|()^,.`'\"$@_=\nIC"

texts = st.text(alphabet=ALPHABET, max_size=30)


@st.composite
def mutated_formulas(draw: st.DrawFn) -> str:
    """A valid formula with one character inserted, deleted or replaced."""
    text = draw(formulas())
    index = draw(st.integers(0, len(text)))
    char = draw(st.sampled_from(ALPHABET))
    action = draw(st.sampled_from(["insert", "delete", "replace"]))
    if action == "insert":
        return text[:index] + char + text[index:]
    if action == "delete":
        return text[:index] + text[index + 1 :]
    return text[:index] + char + text[index + 1 :]


PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(formulas())
def test_generated_formulas_round_trip(text: str) -> None:
    spec = parse_formula(text)
    assert spec.source == text
    assert_round_trip(spec)


@PROPERTY_SETTINGS
@given(texts | mutated_formulas())
def test_arbitrary_text_parses_or_raises_spec_errors(text: str) -> None:
    try:
        spec = parse_formula(text)
    except (FormulaSyntaxError, SpecError):
        return
    assert_round_trip(spec)


@PROPERTY_SETTINGS
@given(texts | mutated_formulas())
def test_error_position_is_within_the_text(text: str) -> None:
    try:
        parse_formula(text)
    except FormulaSyntaxError as exc:
        assert exc.text == text
        assert 0 <= exc.position < max(len(text), 1)
        assert exc.position + exc.length <= max(len(text), 1)
        assert exc.reason in str(exc)
    except SpecError:
        pass


def test_front_end_imports_no_data_or_modelling_libraries() -> None:
    """lexer/parser/lower need neither pandas nor PyMC (checked without hierbayes/__init__)."""
    code = (
        "import sys, types, pathlib\n"
        "pkg = types.ModuleType('hierbayes')\n"
        f"pkg.__path__ = [{str(ROOT / 'hierbayes')!r}]\n"
        "sys.modules['hierbayes'] = pkg\n"
        "import hierbayes.spec.lower\n"
        "bad = sorted(m for m in ('pandas', 'pymc', 'pytensor', 'formulae') if m in sys.modules)\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""
