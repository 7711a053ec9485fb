"""Stata multilevel commands -> ModelSpec (mixed, me* families, factor-variable notation)."""

from __future__ import annotations

from dataclasses import replace

import pytest

import hierbayes as hb
from hierbayes.design import build_design
from hierbayes.errors import SpecError
from hierbayes.spec import Covariance, parse_formula
from hierbayes.spec.levels import parse_levels
from hierbayes.spec.stata import from_stata


def same(a: hb.ModelSpec, b: hb.ModelSpec) -> bool:
    return replace(a, source="") == replace(b, source="")


# The gcse analysis of Rabe-Hesketh & Skrondal (Stata) and the matching lme4 formulas.
# Stata's default covariance is independent, lme4's '(lrt | school)' is unstructured.
GCSE_ANALYSIS = [
    ("mixed gcse || school:, mle", "gcse ~ 1 + (1 | school)"),
    ("mixed gcse lrt || school:, mle", "gcse ~ lrt + (1 | school)"),
    ("xtmixed gcse lrt || school: lrt, mle", "gcse ~ lrt + (lrt || school)"),
    ("mixed gcse lrt || school: lrt, covariance(unstructured) mle", "gcse ~ lrt + (lrt | school)"),
    ("mixed gcse lrt || school: lrt, cov(un)", "gcse ~ lrt + (lrt | school)"),
    (
        "mixed gcse c.lrt##i.schgend || school: lrt, covariance(unstructured) mle",
        "gcse ~ lrt + C(schgend) + lrt:C(schgend) + (lrt | school)",
    ),
    (
        "mixed gcse lrt i.schgend c.lrt#i.schgend || school: lrt, cov(un)",
        "gcse ~ lrt + C(schgend) + lrt:C(schgend) + (lrt | school)",
    ),
]


@pytest.mark.parametrize(("command", "formula"), GCSE_ANALYSIS)
def test_gcse_analysis_commands_match_formulas(command, formula):
    spec = from_stata(command)
    assert same(spec, parse_formula(formula))
    assert spec.source == command


def test_stata_levels_and_formula_agree_on_gcse_gend(gcse):
    stata = from_stata("mixed gcse c.lrt##i.schgend || school: lrt, covariance(unstructured)")
    lv = parse_levels("gcse ~ b0 + b1*lrt\nb0 ~ 1 + C(schgend) | school\nb1 ~ 1 + C(schgend) | school")
    assert same(stata, lv)
    lme4 = parse_formula("gcse ~ lrt * C(schgend) + (lrt | school)")
    assert build_design(stata, gcse).fixed_names == build_design(lme4, gcse).fixed_names


@pytest.mark.parametrize(
    ("command", "family", "link"),
    [
        ("melogit y x || g:", "bernoulli", "logit"),
        ("meprobit y x || g:", "bernoulli", "probit"),
        ("mecloglog y x || g:", "bernoulli", "cloglog"),
        ("mepoisson y x || g:, irr", "poisson", "log"),
        ("menbreg y x || g:", "negbinomial", "log"),
        ("meologit y x || g:", "cumulative", "logit"),
        ("meoprobit y x || g:", "cumulative", "probit"),
        ("meglm y x || g:, family(poisson)", "poisson", "log"),
        ("meglm y x || g:, family(bernoulli) link(probit)", "bernoulli", "probit"),
        ("meglm y x || g:, link(cloglog) family(bernoulli)", "bernoulli", "cloglog"),
    ],
)
def test_me_commands_set_family_and_link(command, family, link):
    spec = from_stata(command)
    assert (spec.family, spec.link) == (family, link)
    assert spec.to_formula() == "y ~ x + (1 | g)"


def test_binomial_trials():
    spec = from_stata("melogit incidence i.period || herd:, binomial(size) or")
    assert spec.family == "binomial" and spec.response.trials == "size"
    assert same(spec, parse_formula("incidence | trials(size) ~ C(period) + (1 | herd)", "binomial", "logit"))


def test_nested_levels_crossed_R_and_noconstant():
    assert same(from_stata("mixed strength || batch: || cask:"), parse_formula("strength ~ 1 + (1 | batch/cask)"))
    assert same(
        from_stata("mixed diameter || _all: R.plate || _all: R.sample"),
        parse_formula("diameter ~ 1 + (1 | plate) + (1 | sample)"),
    )
    assert same(
        from_stata("mixed y i.service || _all: R.s || _all: R.d || dept:"),
        parse_formula("y ~ C(service) + (1 | s) + (1 | d) + (1 | dept)"),
    )
    assert same(from_stata("mixed y x, noconstant || g: x, noconstant"), parse_formula("y ~ 0 + x + (0 + x | g)"))
    spec = from_stata("mixed y x || school: x, cov(exch) || class: x, cov(id)")
    assert [g.factor for g in spec.groups] == [("school",), ("school", "class")]
    assert [g.covariance for g in spec.groups] == [Covariance.EXCHANGEABLE, Covariance.IDENTITY]


def test_factor_variable_notation():
    spec = from_stata("mixed y a##b##c.x ib3.z i.(u v) || g:")
    assert spec.fixed.terms == (
        "C(a)", "C(b)", "x", "C(a):C(b)", "C(a):x", "C(b):x", "C(a):C(b):x",
        "C(z, Treatment(3))", "C(u)", "C(v)",
    )
    # as in Stata, variables inside '#' are factors unless c.
    assert from_stata("mixed y a#b || g:").fixed.terms == ("C(a):C(b)",)
    assert from_stata("mixed y c.a#c.b || g:").fixed.terms == ("a:b",)


def test_prompt_and_line_continuation():
    spec = from_stata(". mixed gcse lrt ///\n   || school: lrt, cov(un)")
    assert same(spec, parse_formula("gcse ~ lrt + (lrt | school)"))


@pytest.mark.parametrize(
    ("command", "needle"),
    [
        ("regress y x", "unknown command 'regress'"),
        ("mixed y x [fw=w] || g:", "weights are not supported"),
        ("mixed y x* || g:", "wildcards and ranges"),
        ("mixed y L.x || g:", "operator 'l.'"),
        ("mixed y x || g:, cov(banded)", "unknown covariance(banded)"),
        ("mixed y x || g:, bogus", "unknown option 'bogus'"),
        ("mepoisson y x || g:, exposure(t) offset(u)", "only one of exposure() and offset()"),
        ("mepoisson y x || g:, exposure(log(t))", "give one variable"),
        ("meglm y x || g:, family(poisson) link(identity)", "links for poisson: ['log']"),
        ("meglm y x || g:, link(logit) family(gamma)", "links for gamma: ['log']"),
        ("meglm y x || g:, family(nbinomial constant)", "'nbinomial mean' take a second word"),
        ("meglm y x || g:, family(weibull)", "family(weibull): supported"),
        ("mixed y x if || g:", "'if' needs an expression"),
        ("mixed y x in || g:", "'in' needs a range"),
        ("mixed y x if a > 1 || g: if b > 2", "more than one 'if' qualifier"),
        ("mixed y x if a > 1 if b > 2 || g:", "more than one 'if' qualifier"),
        ("mixed y x in 1/5 || g: in 2/8", "more than one 'in' qualifier"),
        ("mixed y x if a = 1 || g:", "use == to compare"),
        ("mixed y x if strpos(s, \"a\") || g:", "the function strpos() is not supported"),
        ("mixed y x if (a > 1", "'(' is not closed"),
        ("mixed y x if a > || g:", "ends too early"),
        ("mixed y x if a $ 2 || g:", "cannot read the expression"),
        ("mixed y x if inrange(a, 1) || g:", "inrange() takes 3 arguments"),
        ("mixed y x in 0/10 || g:", "observation numbers start at 1"),
        ("mixed y x in 1/5/9 || g:", "expected #, #/#, f or l"),
        ("mixed y x in a/b || g:", "expected #, #/#, f or l"),
        ("bayes mixed y x || g:", "expected 'bayes: command'"),
        ("bayes mcmcsize(10): mixed y x || g:", "(options follow a comma)"),
        ("bayes, mcmcsize(100): mixed y x || g:", "hierbayes.read_stata()"),
        ("bayes, prior({y:x}, normal(0, 1)): mixed y x || g:", "sets priors or the sampler"),
        ("mixed y x || g: R.h", "R.varname is supported only alone in an '_all:'"),
        ("mixed y x || g: x, noconstant cov(un) || h:, noconstant", "has no effects"),
        ("mixed y x || g", "expected 'levelvar:'"),
        ("mixed", "expected a dependent variable"),
    ],
)
def test_errors_name_the_problem(command, needle):
    with pytest.raises(SpecError) as info:
        from_stata(command)
    assert needle in str(info.value)
    assert command.split()[0] in str(info.value)


def test_exported_from_package():
    assert hb.from_stata is from_stata
