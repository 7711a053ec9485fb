"""Stata's censored and survival commands (issue 16): metobit, meintreg, mestreg -> ModelSpec,
the response forms they produce (``t | event(d)``, ``y | tobit(ll, ul)``, ``lo | intreg(hi)``)
and their errors; the designs they build are checked against brms' ``cens()`` forms of the
same data in tests/design/test_stata_censoring.py."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hierbayes as hb
from hierbayes.errors import FormulaSyntaxError, SpecError
from hierbayes.spec import parse_formula
from hierbayes.spec.serialize import spec_from_dict, spec_to_dict

KIDNEY = {"time": "time", "failure": "status"}

TRANSLATIONS = [
    ("mestreg age i.sex || patient:, distribution(weibull)", KIDNEY,
     "time | event(status) ~ age + C(sex) + (1 | patient)", "weibull", "hr"),
    ("mestreg age || patient:, distribution(exponential) nohr", KIDNEY,
     "time | event(status) ~ age + (1 | patient)", "exponential", "loghr"),
    ("mestreg age || patient:, d(weib) time", {"time": "time"}, "time ~ age + (1 | patient)", "weibull", "aft"),
    ("mestreg age || patient:, dist(exp) tratio", KIDNEY, "time | event(status) ~ age + (1 | patient)", "exponential", "aft"),
    ("mestreg age || patient:, distribution(lnormal)", KIDNEY, "time | event(status) ~ age + (1 | patient)", "lognormal", "aft"),
    ("mestreg age || patient:, distribution(llogistic)", KIDNEY, "time | event(status) ~ age + (1 | patient)", "loglogistic", "aft"),
    ("mestreg age || patient:, distribution(gamma)", KIDNEY, "time | event(status) ~ age + (1 | patient)", "gamma", None),
    ("mestreg || patient:, distribution(weibull)", KIDNEY, "time | event(status) ~ 1 + (1 | patient)", "weibull", "hr"),
    # stset t, failure(status == 2): lung's R coding
    ("mestreg age || inst:, distribution(weibull)", {"time": "time", "failure": "status==2"},
     "time | event(status == 2) ~ age + (1 | inst)", "weibull", "hr"),
    ("metobit y x || id:, ll(0) ul(10)", {}, "y | tobit(ll = 0, ul = 10) ~ x + (1 | id)", "gaussian", None),
    ("metobit y x || id:, ul(upper) ll(-2.5)", {}, "y | tobit(ll = -2.5, ul = upper) ~ x + (1 | id)", "gaussian", None),
    ("metobit y x || id:", {}, "y ~ x + (1 | id)", "gaussian", None),
    ("meintreg lo hi x || id:", {}, "lo | intreg(hi) ~ x + (1 | id)", "gaussian", None),
    ("meintreg lo hi x if x > 0 || id: x, cov(un)", {}, "lo | intreg(hi) ~ x + (1 + x | id)", "gaussian", None),
]


@pytest.mark.parametrize(("command", "kwargs", "formula", "family", "metric"), TRANSLATIONS)
def test_translation(command, kwargs, formula, family, metric) -> None:
    spec = hb.from_stata(command, **kwargs)
    assert spec.to_formula() == formula
    assert spec.family.name == family and spec.metric == metric
    # the formula reads back to the same response; the spec saves and loads
    assert parse_formula(spec.to_formula()).response == spec.response
    assert spec_from_dict(spec_to_dict(spec)) == spec


def test_bayes_prefix_passes_the_stset_variables() -> None:
    cmd = hb.read_stata("bayes, rseed(1): mestreg x || id:, distribution(weibull)", time="t", failure="d")
    assert cmd.spec.to_formula() == "t | event(d) ~ x + (1 | id)" and cmd.spec.metric == "hr"
    assert cmd.fit_options == {"random_seed": 1}


ERRORS = [
    ("mestreg age || patient:, distribution(weibull)", {}, "needs the survival time: from_stata(..., time="),
    ("mestreg age || patient:", {"time": "t"}, "needs distribution(exponential|weibull"),
    ("mestreg age || patient:, distribution(foo)", {"time": "t"}, "distribution(foo): the distribution must be one of"),
    ("mestreg age || patient:, distribution(lognormal) nohr", {"time": "t"}, "cannot be given for distribution(lognormal)"),
    ("mestreg age || patient:, distribution(weibull) nohr time", {"time": "t"}, "cannot be given with time/tratio"),
    ("mestreg age || patient:, distribution(weibull)", {"time": "t", "failure": "a b"}, "failure='a b' must be a variable name or 'variable == value'"),
    ("mestreg age || patient:, distribution(weibull) hazard", {"time": "t"}, "unknown option 'hazard'"),
    ("metobit y x || id:, ll", {}, "ll: give the limit, as in ll(0)"),
    ("metobit y x || id:, ul(1+x)", {}, "ul(1+x): give the censoring limit as a number or a variable"),
    ("mixed y x || id:", {"time": "t"}, "time= and failure= are for mestreg"),
    ("meintreg lo || id:", {}, "expected 2 dependent variables after 'meintreg'"),
    ("mixed y x || id:, ll(0)", {}, "unknown option 'll(0)'"),
]


@pytest.mark.parametrize(("command", "kwargs", "words"), ERRORS)
def test_errors_name_the_problem(command, kwargs, words) -> None:
    with pytest.raises(SpecError) as info:
        hb.from_stata(command, **kwargs)
    assert words in str(info.value)


FORMULA_ERRORS = [
    ("t | event(d) + cens(c) ~ x", "cens() and event() both say how rows are censored"),
    ("y | tobit(ll = 0, lb = 1) ~ x", "tobit() takes a left-censoring limit ll"),
    ("y | tobit() ~ x", "expected an argument inside tobit()"),
    ("t | event(d, e) ~ x", "event() takes one argument"),
    ("lo | intreg(a, b) ~ x", "intreg() takes one argument"),
    ("y | tobit(ll = a + b) ~ x", "a bound or limit is a number or a column name"),
]


@pytest.mark.parametrize(("formula", "words"), FORMULA_ERRORS)
def test_formula_errors(formula, words) -> None:
    with pytest.raises(FormulaSyntaxError, match=None) as info:
        parse_formula(formula)
    assert words in str(info.value)


def test_response_refuses_two_censorings() -> None:
    with pytest.raises(SpecError, match="both say how rows are censored"):
        hb.Response("t", cens="c", event="d")


# ------------------------------------------------------------------------- properties

DIST_NAMES = {"exponential": "exponential", "weibull": "weibull", "lognormal": "lognormal",
              "lnormal": "lognormal", "loglogistic": "loglogistic", "llogistic": "loglogistic", "gamma": "gamma"}
abbreviations = st.sampled_from(sorted(DIST_NAMES)).flatmap(
    lambda full: st.integers(3, len(full)).map(lambda k: (full[:k], DIST_NAMES[full]))
).filter(lambda pair: sum(1 for n, f in DIST_NAMES.items() if n.startswith(pair[0]) and f != pair[1]) == 0)
display = st.lists(st.sampled_from(["nolog", "time", "nohr", "tratio", "or"]), unique=True, max_size=3)


@settings(max_examples=100, deadline=None)
@given(dist=abbreviations, extra=display, order=st.randoms(use_true_random=False))
def test_mestreg_options_in_any_order_and_abbreviated(dist, extra, order) -> None:
    abbrev, family = dist
    options = [f"distribution({abbrev})", *extra]
    order.shuffle(options)
    command = f"mestreg x || g:, {' '.join(options)}"
    aft = "time" in extra or "tratio" in extra
    if "nohr" in extra and (aft or family not in ("weibull", "exponential")):
        with pytest.raises(SpecError, match="nohr"):
            hb.from_stata(command, time="t", failure="d")
        return
    spec = hb.from_stata(command, time="t", failure="d")
    assert spec.family.name == family and spec.response.event == "d"
    if family in ("weibull", "exponential"):
        assert spec.metric == ("aft" if aft else "loghr" if "nohr" in extra else "hr")


limits = st.one_of(
    st.integers(-1000, 1000).map(str),
    st.floats(-1e3, 1e3, allow_nan=False).map(repr),
    st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True).filter(lambda n: n not in ("if", "in")),
)


@settings(max_examples=100, deadline=None)
@given(ll=st.one_of(st.none(), limits), ul=st.one_of(st.none(), limits))
def test_metobit_limits_read_back(ll, ul) -> None:
    options = " ".join(f"{k}({v})" for k, v in (("ll", ll), ("ul", ul)) if v is not None)
    spec = hb.from_stata(f"metobit y x || g:{', ' + options if options else ''}")
    for given_value, stored in ((ll, spec.response.tobit_ll), (ul, spec.response.tobit_ul)):
        if given_value is None:
            assert stored is None
        elif given_value[0].isalpha():
            assert stored == given_value
        else:
            assert float(stored) == float(given_value)
    assert parse_formula(spec.to_formula()).response == spec.response
