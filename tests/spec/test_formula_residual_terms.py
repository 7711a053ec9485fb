"""brms' residual-structure terms in formulas: ar(), unstr(), cosy() (spec/lower_residuals.py)."""

from __future__ import annotations

import pytest

import hierbayes as hb
from hierbayes.errors import FormulaSyntaxError


@pytest.mark.parametrize("formula, rhs, expected", [
    ("y ~ x + ar(time = t, gr = Mare) + (1|Mare)", "y ~ x + (1 | Mare)", hb.residuals("ar1", time="t", group="Mare")),
    ("y ~ x + ar(t, Mare, 1, FALSE)", "y ~ x", hb.residuals("ar1", time="t", group="Mare")),
    ("y ~ x + unstr(visit, Subject)", "y ~ x", hb.residuals("unstructured", time="visit", group="Subject")),
    ("y ~ x + ma(time = t, gr = g)", "y ~ x", hb.residuals("ma1", time="t", group="g")),
    ("y ~ x + arma(t, g, 1, 1)", "y ~ x", hb.residuals("arma11", time="t", group="g")),
    ("y ~ x + ar(time = t, gr = g, p = 2)", "y ~ x", hb.residuals("ar2", time="t", group="g")),
    ("y ~ x + ar(t, g, 3)", "y ~ x", hb.residuals("ar3", time="t", group="g")),
    ("y ~ x + ar(t, g, 4)", "y ~ x", hb.residuals("ar", order=4, time="t", group="g")),
    ("y ~ x + ma(time = t, gr = g, q = 2)", "y ~ x", hb.residuals("ma", order=2, time="t", group="g")),
    ("y ~ x + arma(t, g, 2, 1)", "y ~ x", hb.residuals("arma", order=(2, 1), time="t", group="g")),
    ("y ~ x + arma(time = t, gr = g, p = 1, q = 2)", "y ~ x", hb.residuals("arma12", time="t", group="g")),
    ("y ~ x + cosy(gr = g) + (1|g)", "y ~ x + (1 | g)", hb.residuals("exchangeable", group="g")),
    # brms' ar() without time counts the rows in the data's order, as hb.residuals without time=
    ("y ~ x + ar(gr = g)", "y ~ x", hb.residuals("ar1", group="g")),
])
def test_terms(formula, rhs, expected):
    spec = hb.parse_formula(formula)
    assert spec.to_formula() == rhs
    assert spec.residuals == expected


@pytest.mark.parametrize("formula, message", [
    ("y ~ x + ar(time = t, gr = g, p = 0)", r"the orders p and q must be whole numbers >= 1"),
    ("y ~ x + arma(t, g, 2, 0.5)", r"the orders p and q must be whole numbers >= 1"),
    ("y ~ x + ar(time = t, cov = TRUE)", r"cov = TRUE is not supported"),
    ("y ~ x + ar(t, g) + cosy(gr = g)", r"already has a residual structure"),
    ("y ~ x + (ar(t, g) | g)", r"inside a group term"),
    ("y ~ x - ar(t, g)", r"cannot be removed with '-'"),
    ("y ~ x + ar(tm = t)", r"unknown argument 'tm'; ar\(\) takes \['time', 'gr', 'p', 'cov'\]"),
    ("y ~ x + unstr(a, b, c)", r"unstr\(\) takes at most 2 arguments"),
    # glmmTMB's structure terms say how they are written here
    ("y ~ x + ar1(0 + factor(t) | g)", r"glmmTMB's \(or mmrm's\) covariance-structure term; here an AR\(1\).*hb.residuals\('ar'"),
    # mmrm's MMRM term, with its own names filled in
    ("FEV1 ~ ARMCD * AVISIT + us(AVISIT | USUBJID)",
     r"mmrm's.*residuals=hb.residuals\('unstructured', time='AVISIT', group='USUBJID'\).*unstr\(time = AVISIT, gr = USUBJID\)"),
    ("y ~ x + ar1(0 + factor(visit) | id)", r"time='visit', group='id'\).*ar\(time = visit, gr = id\)"),
    ("y ~ x + cs(1 | school)", r"covariance=\{'school': 'exchangeable'\}"),
    ("y ~ x + cs(1 | g)", r"glmmTMB's.*covariance=\{'g': 'exchangeable'\}"),
    ("y ~ x + diag(x | g)", r"glmmTMB's.*\(x \|\| g\)"),
    ("y ~ x + mat(pos + 0 | g)", r"glmmTMB's.*Matern spatial correlation is not available"),
])
def test_term_errors(formula, message):
    with pytest.raises(FormulaSyntaxError, match=message):
        hb.parse_formula(formula)
