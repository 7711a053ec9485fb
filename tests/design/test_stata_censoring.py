"""Censoring read the way Stata's commands describe it (``event()``, ``tobit()``, ``intreg()``):
the designs equal those of brms' ``cens()`` forms of the same data (tests/survival/data), and
bad rows are named."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.design import build_design
from hierbayes.errors import DataError
from hierbayes.families.censoring import Censoring
from hierbayes.spec import parse_formula

SURV = Path(__file__).parents[1] / "survival"


def load(name: str) -> pd.DataFrame:
    data = pd.read_csv(SURV / "data" / f"{name}.csv")
    factors = json.loads((SURV / "data" / "factors.json").read_text())[name]
    for column, info in factors.items():
        data[column] = pd.Categorical(data[column].astype(str), categories=info["levels"])
    return data


def same_censoring(a, b) -> None:
    np.testing.assert_array_equal(a.censoring.code, b.censoring.code)
    np.testing.assert_allclose(a.y, b.y)
    if b.censoring.upper is None:
        assert a.censoring.upper is None
    else:
        np.testing.assert_allclose(a.censoring.upper, b.censoring.upper)


def test_mestreg_on_kidney_is_brms_cens() -> None:
    data = load("kidney")
    stata = hb.from_stata("mestreg age i.sex i.disease || patient:, distribution(weibull)", time="time", failure="status")
    brms = parse_formula("time | cens(censored) ~ age + sex + disease + (1 | patient)")
    same_censoring(build_design(stata, data), build_design(hb.ModelSpec(brms.response, brms.fixed, brms.groups, "weibull"), data))


def test_meintreg_is_brms_interval_censoring() -> None:
    data = load("interval_sim")  # lo / hi (empty = unbounded) and brms' y, cens, y2
    stata = build_design(hb.from_stata("meintreg lo hi x || g:"), data)
    brms = build_design(parse_formula("y | cens(cens, y2) ~ x + (1 | g)"), data)
    same_censoring(stata, brms)
    assert set(stata.censoring.counts()) == {"left", "none", "right", "interval"}


def test_metobit_is_brms_left_censoring() -> None:
    data = load("blackmore_tobit")
    stata = build_design(hb.from_stata("metobit exercise age8 || subject:, ll(0)"), data)
    brms = build_design(parse_formula("exercise | cens(censored) ~ age8 + (1 | subject)"), data)
    same_censoring(stata, brms)


def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "y": [-1.0, 0.0, 0.5, 3.0, 12.0, 10.0], "x": [0.1, 0.4, 0.2, 0.9, 0.3, 0.5],
        "lim": [-2.0, 0.0, 0.0, 0.0, 0.0, 0.0], "g": list("aabbcc"),
    })


def test_tobit_limits_put_censored_rows_at_the_limit() -> None:
    d = build_design(parse_formula("y | tobit(ll = 0, ul = 10) ~ x + (1 | g)"), frame())
    np.testing.assert_array_equal(d.censoring.code, [-1, -1, 0, 0, 1, 1])
    np.testing.assert_allclose(d.y, [0.0, 0.0, 0.5, 3.0, 10.0, 10.0])
    d = build_design(parse_formula("y | tobit(ll = lim) ~ x + (1 | g)"), frame())
    np.testing.assert_array_equal(d.censoring.code, [0, -1, 0, 0, 0, 0])


def test_event_zero_is_right_censored() -> None:
    df = pd.DataFrame({"t": [1.0, 2.0, 3.0, 4.0], "d": [1, 0, 2, 0], "x": [0.0, 1.0, 0.5, 0.2]})
    d = build_design(parse_formula("t | event(d) ~ x"), df)
    np.testing.assert_array_equal(d.censoring.code, [0, 1, 0, 1])  # Stata: any nonzero failure code fails


ERRORS = [
    ("y | tobit(ll = 5, ul = lim) ~ x", "gaussian", {}, "tobit limits: ul = lim must be above ll = 5"),
    ("lo | intreg(hi) ~ x", "gaussian", {"lo": [1.0, np.nan, 2.0, 0.0, 1.0, 1.0], "hi": [2.0, np.nan, 1.5, 1.0, 2.0, 3.0]},
     "both missing (rows 1)"),
    ("lo | intreg(hi) ~ x", "gaussian", {"lo": [1.0, 0.0, 2.0, 0.0, 1.0, 1.0], "hi": [2.0, 1.0, 1.5, 1.0, 2.0, 3.0]},
     "the upper end 'hi' is below the lower end 'lo': hi = 1.5, lo = 2 (rows 2)"),
    ("y | tobit(ll = 0) ~ x", "weibull", {}, "weibull"),
    ("t | event(d) ~ x", "weibull", {"t": [1.0, 0.0, 2.0, 3.0, 1.0, 2.0], "d": [1, 1, 0, 1, 0, 1]}, "'t' must be > 0 for the weibull family; found 0 (rows 1)"),
    ("t | event(d) ~ x", "lognormal", {"t": [1.0, -2.0, 2.0, 3.0, 1.0, 2.0], "d": [1, 1, 0, 1, 0, 1]}, "'t' must be > 0 for the lognormal family; found -2"),
    # survival::lung's status: 1 censored, 2 dead (R's Surv coding): all rows would be events
    ("t | event(d) ~ x", "weibull", {"t": [1.0, 5.0, 2.0, 3.0, 1.0, 2.0], "d": [1, 2, 2, 1, 2, 2]},
     "event(d): no row is 0 (censored) and the values are 1, 2; event() reads 0 as censored and any other "
     "value as an event (Stata's failure()), so all 6 rows would be events. R's Surv() coding (1 = censored, "
     "2 = event) is written 't | cens(2 - d)'; else recode 'd' to 0 = censored, 1 = event"),
    ("t | event(d) ~ x", "weibull", {"t": [1.0, 5.0, 2.0, 3.0, 1.0, 2.0], "d": [1, 3, 2, 1, 2, 2]},
     "the values are 1, 2, 3; event() reads 0 as censored and any other value as an event (Stata's "
     "failure()), so all 6 rows would be events. Recode 'd' to 0 = censored, 1 = event"),
]


def test_event_codes_without_censoring_are_all_events() -> None:
    """No 0 but one value (no row censored) and Stata's competing-risk codes (0, 1, 2) are
    taken as they are."""
    df = frame().assign(t=[1.0, 5.0, 2.0, 3.0, 1.0, 2.0], d=[1, 1, 1, 1, 1, 1])
    assert (build_design(parse_formula("t | event(d) ~ x"), df).censoring.code == 0).all()
    df = df.assign(d=[0, 1, 2, 0, 2, 1])
    np.testing.assert_array_equal(build_design(parse_formula("t | event(d) ~ x"), df).censoring.code, [1, 0, 0, 1, 0, 0])


@pytest.mark.parametrize(("formula", "family", "columns", "words"), ERRORS)
def test_errors_name_rows_and_columns(formula, family, columns, words) -> None:
    df = frame().assign(**columns)
    spec = parse_formula(formula)
    with pytest.raises(DataError) as info:
        build_design(hb.ModelSpec(spec.response, spec.fixed, family=family), df)
    assert words in str(info.value)


def test_the_summary_line_counts_censored_rows() -> None:
    """What the summary's header says of censoring: a coding that censors every row, or none,
    shows there (survival::lung read with event(): 'no row censored')."""
    kidney = hb.datasets.load("kidney")
    design = hb.Model("time | cens(censored) ~ age + (1 | patient)", kidney, family="weibull").design
    assert design.censoring.describe() == "Censoring: 18 right-censored, 58 observed (of 76)"
    df = frame().assign(t=[1.0, 5.0, 2.0, 3.0, 1.0, 2.0], d=1)
    assert build_design(parse_formula("t | event(d) ~ x"), df).censoring.describe() == "Censoring: no row censored (of 6)"
    mixed = Censoring(np.array([0, 1, -1, 2], dtype=np.int8), upper=np.array([np.nan, np.nan, np.nan, 3.0]),
                      lb=np.zeros(4))
    assert mixed.describe() == ("Censoring: 1 left-censored, 1 right-censored, 1 interval-censored, 1 observed "
                                "(of 4); truncated (lower bounds)")
    assert Censoring(np.zeros(3, dtype=np.int8), ub=np.ones(3)).describe() == "Truncation: upper bounds, no row censored (of 3)"
