"""Property tests of how Stata commands are cut into equations, options and if/in qualifiers."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from hierbayes.design.subset import subset_mask
from hierbayes.spec.lower import parse_formula
from hierbayes.spec.stata import from_stata
from hierbayes.spec.stata_expr import parse_stata_expression

RESERVED = {"if", "in", "using", "with", "_n", "_N", "mi", "missing", "inlist", "inrange", "bayes"}
names = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True).filter(lambda n: n not in RESERVED)
numbers = st.one_of(st.integers(-50, 50).map(str), st.sampled_from(["0.5", ".25", "1e2", "."]))
comparisons = st.builds(
    lambda a, op, b: f"{a} {op} {b}", names, st.sampled_from(["==", "!=", "~=", ">", "<", ">=", "<="]), numbers
)
conditions = st.recursive(
    comparisons,
    lambda inner: st.one_of(
        st.builds(lambda a, op, b: f"{a} {op} {b}", inner, st.sampled_from(["&", "|"]), inner),
        st.builds(lambda a: f"!({a})", inner),
        st.builds(lambda a: f"({a})", inner),
        st.builds(lambda a: f"inlist({a}, 1, 2)", names),
        st.builds(lambda a: f"missing({a})", names),
    ),
    max_leaves=5,
)
options = st.lists(st.sampled_from(["mle", "reml", "cov(un)", "covariance(exchangeable)", "variance", "nolog"]), max_size=3)


@settings(max_examples=100, deadline=None)
@given(y=names, xs=st.lists(names, min_size=1, max_size=3), group=names, cond=conditions, opts=options)
def test_if_after_the_varlist_or_at_the_end_of_an_equation_is_the_same_model(y, xs, group, cond, opts):
    varlist = " ".join(xs)
    tail = (", " + " ".join(opts)) if opts else ""
    plain = from_stata(f"mixed {y} {varlist} || {group}: {varlist}{tail}")
    first = from_stata(f"mixed {y} {varlist} if {cond} || {group}: {varlist}{tail}")
    last = from_stata(f"mixed {y} {varlist} || {group}: {varlist} if {cond}{tail}")
    assert replace(first, source="") == replace(last, source="")
    prefixed = from_stata(f"bayes, dots: mixed {y} {varlist} if {cond} || {group}: {varlist}{tail}")
    assert replace(prefixed, source="") == replace(first, source="")
    assert replace(first, source="", subset=None) == replace(plain, source="")
    # the recorded subset is the same expression, and its text is a fixed point
    assert parse_stata_expression(first.subset) == parse_stata_expression(cond)
    assert parse_stata_expression(first.subset).to_text() == first.subset


@settings(max_examples=100, deadline=None)
@given(cond=conditions, n=st.integers(1, 2000), m=st.integers(1, 2000))
def test_in_range_combines_with_if(cond, n, m):
    low, high = min(n, m), max(n, m)
    spec = from_stata(f"mixed y x if {cond} in {low}/{high} || g:")
    assert spec.subset.endswith(f"& inrange(_n, {low}, {high})")


values = st.lists(st.one_of(st.floats(-5, 5, allow_nan=False), st.just(float("nan"))), min_size=1, max_size=30)


@settings(max_examples=100, deadline=None)
@given(x=values, c=st.integers(-5, 5))
def test_comparisons_put_missing_above_every_number(x, c):
    arr = np.array(x, dtype=float)
    df = pd.DataFrame({"x": arr})
    missing = np.isnan(arr)
    np.testing.assert_array_equal(subset_mask(f"x > {c}", df), missing | (arr > c))
    np.testing.assert_array_equal(subset_mask(f"x <= {c}", df), ~missing & (arr <= c))
    np.testing.assert_array_equal(subset_mask(f"x == {c}", df), ~missing & (arr == c))
    np.testing.assert_array_equal(subset_mask(f"!(x > {c})", df), ~(missing | (arr > c)))
    np.testing.assert_array_equal(subset_mask("x >= .", df), missing)


structures = st.sampled_from(["", "cov(un)", "cov(ind)", "cov(exch)", "cov(id)"])


@settings(max_examples=100, deadline=None)
@given(xs=st.lists(names, min_size=1, max_size=3, unique=True), slopes=st.lists(names, min_size=1, max_size=3, unique=True),
       nocons=st.booleans(), first=structures, second=structures)
def test_to_formula_reads_back_as_the_same_spec(xs, slopes, nocons, first, second):
    # cov(exchangeable) had been written (1 + x | g), which reads back as unstructured
    options = ", " + " ".join(["noconstant" if nocons else "", first])
    spec = from_stata(f"mixed y {' '.join(xs)} || g: {' '.join(slopes)}{options} || h: {slopes[0]}, {second}")
    again = parse_formula(spec.to_formula(), family=spec.family, link=spec.link)
    assert replace(again, source="") == replace(spec, source="")
