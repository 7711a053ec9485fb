"""Stata's residuals() option of mixed (spec/stata_residuals.py)."""

from __future__ import annotations

import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.errors import SpecError


@pytest.mark.parametrize("command, formula, expected", [
    ("mixed follicles s c || Mare:, residuals(ar 1, t(t))", "follicles ~ s + c + (1 | Mare)",
     hb.residuals("ar1", time="t", group="Mare")),
    ("mixed distance c.age##i.Sex || Subject:, noconstant residuals(unstructured, t(visit))",
     "distance ~ age + C(Sex) + age:C(Sex)", hb.residuals("unstructured", time="visit", group="Subject")),
    # the command's own options after that comma, as Stata reads them (reml, nolog)
    ("mixed distance c.age##i.Sex || Subject:, noconstant residuals(unstructured, t(visit)) reml nolog",
     "distance ~ age + C(Sex) + age:C(Sex)", hb.residuals("unstructured", time="visit", group="Subject")),
    ("mixed distance c.age##i.Sex, reml || Subject:, residuals(unstructured, t(visit)) noconstant nolog",
     "distance ~ age + C(Sex) + age:C(Sex)", hb.residuals("unstructured", time="visit", group="Subject")),
    ("mixed weight c.Time##i.Diet || Rat:, resid(exp, t(Time) by(Diet))",
     "weight ~ Time + C(Diet) + Time:C(Diet) + (1 | Rat)", hb.residuals("exponential", time="Time", group="Rat", by="Diet")),
    ("mixed y x || school: || class:, res(exchangeable)", "y ~ x + (1 | school) + (1 | school:class)",
     hb.residuals("exchangeable", group="school:class")),
    ("mixed y x, residuals(ind, by(arm))", "y ~ x", hb.residuals("independent", by="arm")),
    ("mixed y x || id:, residuals(ma 1, t(t))", "y ~ x + (1 | id)", hb.residuals("ma1", time="t", group="id")),
    ("mixed y x || id:, residuals(ar 2, t(t))", "y ~ x + (1 | id)", hb.residuals("ar2", time="t", group="id")),
    ("mixed y x || id:, residuals(ar 3, t(t))", "y ~ x + (1 | id)", hb.residuals("ar", order=3, time="t", group="id")),
    ("mixed y x || id:, residuals(ma 2, t(t))", "y ~ x + (1 | id)", hb.residuals("ma", order=2, time="t", group="id")),
    ("mixed y x || id:, residuals(toeplitz 2, t(t))", "y ~ x + (1 | id)",
     hb.residuals("toeplitz", order=2, time="t", group="id")),
    ("mixed y i.visit || id:, noconstant residuals(banded 1, t(visit) by(arm))", "y ~ C(visit)",
     hb.residuals("banded", order=1, time="visit", group="id", by="arm")),
    ("mixed y x || id:, residuals(toe 1, t(t))", "y ~ x + (1 | id)", hb.residuals("toeplitz1", time="t", group="id")),
    ("mixed y x || id:, residuals(toeplitz, t(t))", "y ~ x + (1 | id)", hb.residuals("toeplitz", time="t", group="id")),
    ("mixed y i.visit || id:, noconstant residuals(banded, t(visit))", "y ~ C(visit)",
     hb.residuals("unstructured", time="visit", group="id")),
    ("mixed y i.visit || id:, noconstant residuals(banded 0, t(visit))", "y ~ C(visit)",
     hb.residuals("independent", group="id", by="visit")),
])
def test_residuals_option(command, formula, expected):
    spec = hb.from_stata(command)
    assert spec.to_formula() == formula
    assert spec.residuals == expected


@pytest.mark.parametrize("command, message", [
    ("mixed y x || id:, residuals(ar, t(t))", (r"residuals\(ar\): give the order as one whole number >= 1, as in "
                                               r"residuals\(ar 1, t\(time\)\)")),
    ("mixed y x || id:, residuals(ma 0, t(t))", r"residuals\(ma 0\): give the order as one whole number >= 1"),
    ("mixed y x || id:, residuals(banded -1, t(t))", r"residuals\(banded -1\): give the order as one whole number >= 0"),
    ("mixed y x || id:, residuals(banded 0, t(t) by(arm))", r"a residual sd per time level and by\(\) level is not"),
    ("mixed y x || id:, residuals(banded 0)", r"residuals\(banded 0\) needs t\(varname\)"),
    ("mixed y x || id:, residuals(toeplitz 1.5, t(t))", r"give the order as one whole number"),
    ("mixed y x || id:, residuals(banded 1)", r"residuals\('banded1'\) needs time="),
    ("mixed y x || id:, residuals(wiggly, t(t))", r"unknown residual type 'wiggly'; supported: independent"),
    ("mixed y x || id:, residuals(ar 1, tt(t))", r"cannot read the option 'tt\(t\)'; use t\(varname\)"),
    ("mixed y x || id:, residuals(un 3, t(v))", r"'un' takes no number"),
    ("mixed y x || id:, residuals(, t(v))", r"needs a residual type"),
    ("mixed y x || id:, residuals(ar 1, t(t)", r"no closing parenthesis"),
    ("mixed y x || id:, residuals(ar 1, t(t)) residuals(ind)", r"given twice"),
    ("mixed y x || id:, residuals(ar 1)", r"residuals\(ar 1\) needs t\(varname\): the time variable"),
    ("mixed y x || id:, residuals(toeplitz 2, by(arm))", r"residuals\(toeplitz 2\) needs t\(varname\)"),
])
def test_residuals_option_errors(command, message):
    with pytest.raises(SpecError, match=message):
        hb.from_stata(command)


def test_independent_by_without_groups_gives_one_sd_per_level():
    df = pd.DataFrame({"y": [1.0, 2.0, 3.5, 1.5, 2.5, 4.0], "x": [0, 1, 2, 0, 1, 2], "arm": list("aabbab")})
    m = hb.Model(hb.from_stata("mixed y x, residuals(ind, by(arm))"), df)
    rd = m.design.residuals
    assert rd.n_groups == 6 and rd.sd_levels == ("a", "b")
