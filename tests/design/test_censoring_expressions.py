"""``y | cens(expr)``: a censoring indicator computed from columns, as survival users write
it (``status`` 1 at an event, so ``cens(1 - status)`` marks the right-censored rows)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.errors import DataError, SpecError
from hierbayes.spec import parse_formula
from hierbayes.spec.serialize import spec_from_dict, spec_to_dict


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "time": [1.0, 2.5, 3.0, 4.2, 5.0, 6.1],
        "x": [0.1, 0.5, -0.3, 1.2, 0.7, -1.0],
        "status": [1, 0, 1, 1, 0, 0],
    })


def test_indicator_expression_is_kept_in_the_spec() -> None:
    spec = parse_formula("time | cens(1 - status) ~ x")
    assert spec.response.cens == "1 - status"
    assert "time | cens(1 - status)" in spec.to_formula()
    assert spec_from_dict(spec_to_dict(spec)).response.cens == "1 - status"
    assert parse_formula("time | cens(x = 1 - status) ~ x").response.cens == "1 - status"
    assert parse_formula("time | cens(status == 0) ~ x").response.cens == "status == 0"
    assert parse_formula("time | cens(`status`) ~ x").response.cens == "status"


@pytest.mark.parametrize("indicator", ["1 - status", "status == 0", "(1 - status)^2"])
def test_indicator_expression_gives_the_codes(indicator) -> None:
    data = _frame()
    expected = (1 - data["status"]).tolist()  # 1: right-censored, 0: event
    model = hb.Model(f"time | cens({indicator}) ~ x", data=data, family="weibull")
    assert model.design.censoring.code.tolist() == expected
    by_column = hb.Model("time | cens(c) ~ x", data=data.assign(c=1 - data["status"]), family="weibull")
    assert by_column.design.censoring.code.tolist() == expected
    assert model.design.censoring.counts() == {"none": 3, "right": 3}


def test_indicator_expression_with_a_missing_column_names_it() -> None:
    with pytest.raises(DataError, match=r"'stat'.*censoring indicator '1 - stat'"):
        hb.Model("time | cens(1 - stat) ~ x", data=_frame(), family="weibull")


def test_indicator_expression_with_values_that_are_not_codes() -> None:
    with pytest.raises(DataError, match=r"censoring indicator '2 \* status \+ 1' has values that are not .*3\.0.*rows 0, 2, 3"):
        hb.Model("time | cens(2 * status + 1) ~ x", data=_frame(), family="weibull")


def test_one_minus_status_with_r_surv_coding_is_refused() -> None:
    # lung's status is 1 = censored, 2 = dead: 1 - status made every death left-censored
    data = _frame().assign(status=lambda d: 2 - d["status"])
    with pytest.raises(DataError, match=r"cens\(1 - status\) makes the rows with status = 2 left-censored \(-1\): "
                                        r"'status' holds 1 and 2, R's Surv\(\) coding.*write cens\(2 - status\)"):
        hb.Model("time | cens(1 - status) ~ x", data=data, family="weibull")
    model = hb.Model("time | cens(2 - status) ~ x", data=data, family="weibull")
    assert model.design.censoring.counts() == {"none": 3, "right": 3}


@pytest.mark.parametrize("codes, held", [([0, 2, 2, 0, 2, 0], "0, 2"), ([0, 1, 2, 0, 2, 1], "0, 1, 2")])
def test_one_minus_status_with_other_codings_is_refused(codes, held) -> None:
    # a 0/2 coding and survival::pbc's 0/1/2 (2 = dead) had become left-censored deaths without
    # a word: veteran's weibull fitted shape 0.12 against about 1
    data = _frame().assign(status=codes)
    with pytest.raises(DataError, match=rf"makes the rows with status = 2 left-censored \(-1\): 'status' holds "
                                        rf"{held}, not a 0/1 event indicator.*event\(status == 2\)"):
        hb.Model("time | cens(1 - status) ~ x", data=data, family="weibull")
    model = hb.Model("time | event(status == 2) ~ x", data=data, family="weibull")
    assert model.design.censoring.counts()["none"] == codes.count(2)


def test_indicator_expression_fits() -> None:
    fit = hb.Model("time | cens(1 - status) ~ x", data=_frame(), family="weibull").fit(
        draws=20, chains=1, random_seed=1, progressbar=False, backend="prior"
    )
    assert np.all(np.isfinite(fit.posterior["Intercept"].values))
    assert "cens(1 - status)" in str(fit.summary())


@pytest.mark.parametrize("formula", ["Surv(time, status) ~ x", "Surv(time, status) | weights(x) ~ x"])
def test_r_surv_response_says_how_to_write_it(formula: str) -> None:
    # survreg's Surv(time, status): status 1 = event; R's 1/2 coding has 2 = event
    with pytest.raises(SpecError, match=r"R's 'Surv\(time, status\)' is not a response here; a right-censored time "
                                        r"is brms' 'time \| cens\(1 - status\)'.*cens\(2 - status\).*'time \| event\(status\)'"):
        hb.Model(formula, _frame(), family="weibull")


@pytest.mark.parametrize(("surv", "advice"), [
    # survival::tobin's survreg(Surv(durable, durable > 0, type = "left") ~ ...): the advice had
    # been right-censoring ('event(durable > 0)'), which fits silently and wrongly
    ("Surv(time, time > 2, type='left')", "a left-censored time (brms' cens code -1) is 'time | cens((time > 2) - 1)'"),
    ("Surv(time, status == 1)", "'time | cens(1 - (status == 1))' (status == 1: 1 = event, 0 = censored) or "
                                "Stata's 'time | event(status == 1)'"),
    ("Surv(time)", "every row is an event: write 'time ~ ...'"),
    ("Surv(lo, hi, type = 'interval2')", "write Stata's 'lo | intreg(hi)'"),
    ("Surv(t1, t2, st, type='interval')", "write brms' 't1 | cens(c, t2)' with c 'right', 'none', 'left' or "
                                          "'interval' where R's st is 0, 1, 2 or 3"),
    ("Surv(start, stop, status)", "counting-process (start, stop] data (type='counting') are not supported"),
])
def test_r_surv_advice_follows_its_type(surv: str, advice: str) -> None:
    with pytest.raises(SpecError, match=re.escape(advice)):
        parse_formula(f"{surv} ~ x")


def test_the_left_censoring_advice_is_the_tobit_model() -> None:
    frame = _frame().assign(time=[0.0, 2.5, 0.0, 4.2, 5.0, 0.0])
    advised = hb.Model("time | cens((time > 0) - 1) ~ x", frame).design.censoring
    tobit = hb.Model("time | tobit(ll = 0) ~ x", frame).design.censoring
    np.testing.assert_array_equal(advised.code, tobit.code)
    assert list(advised.code) == [-1, 0, -1, 0, 0, -1]


def _interval_frame() -> pd.DataFrame:
    return _frame().assign(c=["none", "interval", "right", "interval", "left", "none"],
                           width=[np.nan, 0.5, np.nan, 1.0, np.nan, np.nan])


def test_upper_bound_expression_is_kept_in_the_spec() -> None:
    spec = parse_formula("time | cens(c, time + width) ~ x")
    assert spec.response.cens_upper == "time + width"
    assert "time | cens(c, time + width)" in spec.to_formula()
    assert spec_from_dict(spec_to_dict(spec)).response.cens_upper == "time + width"
    assert parse_formula("time | cens(c, y2 = time * 2) ~ x").response.cens_upper == "time * 2"
    assert parse_formula("time | cens(c, width^2) ~ x").response.cens_upper == "width**2"


@pytest.mark.parametrize("upper", ["time + width", "y2 = time + width", "(time + width)"])
def test_upper_bound_expression_gives_the_bounds_of_interval_rows(upper) -> None:
    data = _interval_frame()  # width is missing where the row is not interval-censored
    model = hb.Model(f"time | cens(c, {upper}) ~ x", data=data, family="weibull")
    expected = [np.nan, 3.0, np.nan, 5.2, np.nan, np.nan]
    np.testing.assert_allclose(model.design.censoring.upper, expected)
    by_column = hb.Model("time | cens(c, hi) ~ x", data=data.assign(hi=data["time"] + data["width"]), family="weibull")
    np.testing.assert_allclose(by_column.design.censoring.upper, model.design.censoring.upper)
    assert model.design.censoring.counts() == {"left": 1, "none": 2, "right": 1, "interval": 2}


def test_upper_bound_expression_with_a_missing_column_names_it() -> None:
    with pytest.raises(DataError, match=r"column 'wide' of the upper bound 'time \+ wide'.*not in the data"):
        hb.Model("time | cens(c, time + wide) ~ x", data=_interval_frame(), family="weibull")


def test_upper_bound_expression_below_the_response_or_missing_names_it() -> None:
    with pytest.raises(DataError, match=r"upper bound 'time - width' must be above the response 'time'.*rows 1, 3"):
        hb.Model("time | cens(c, time - width) ~ x", data=_interval_frame(), family="weibull")
    gap = _interval_frame().assign(width=[np.nan, 0.5, np.nan, np.nan, np.nan, np.nan])
    with pytest.raises(DataError, match=r"upper bound 'time \+ width' is missing or not a finite number at "
                                        r"interval-censored rows \(rows 3\)"):
        hb.Model("time | cens(c, time + width) ~ x", data=gap, family="weibull")


def test_upper_bound_expression_with_an_unknown_function_names_it() -> None:
    with pytest.raises(SpecError, match=r"upper bound 'wider\(width\)'.*'wider' is neither a column"):
        hb.Model("time | cens(c, wider(width)) ~ x", data=_interval_frame(), family="weibull")


def test_a_detection_limit_coded_as_right_censoring_is_warned_about() -> None:
    # R's tobin (survreg's tobit example): durable 0 means "0 or less", left-censored; cens(durable <= 0)
    # gives true = 1 = right-censored, which fits without complaint unless warned about
    data = pd.DataFrame({"durable": [0.0, 0.7, 0.0, 0.0, 3.7, 0.0, 3.0, 0.0, 1.4, 4.4],
                         "x": [57.7, 50.9, 48.5, 41.7, 47.7, 59.8, 44.3, 45.1, 51.7, 53.1]})
    with pytest.warns(UserWarning, match=r"cens\(durable <= 0\): all 5 right-censored rows .* lie at or below the "
                                         r"smallest exact value of 'durable'.*left-censored.*cens\(-1 \* \(durable <= 0\)\)"):
        hb.Model("durable | cens(durable <= 0) ~ x", data=data)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert hb.Model("durable | cens(-1 * (durable <= 0)) ~ x", data=data).design.censoring.counts()["left"] == 5
        hb.Model("time | cens(1 - status) ~ x", data=_frame(), family="weibull")  # survival times: silent


def test_left_censored_zeros_written_as_events_are_warned_about() -> None:
    # Stata's event() censors on the right: tobin's zeros written event(durable > 0) fitted silently
    data = pd.DataFrame({"durable": [0.0, 0.7, 0.0, 0.0, 3.7, 0.0, 3.0, 0.0, 1.4, 4.4],
                         "x": [57.7, 50.9, 48.5, 41.7, 47.7, 59.8, 44.3, 45.1, 51.7, 53.1]})
    with pytest.warns(UserWarning, match=re.escape("event(durable > 0): all 5 right-censored rows (right: the value "
                                                   "is more than durable) lie at or below the smallest exact value")
                      + r".*left-censored \(cens\(\(durable > 0\) - 1\), or tobit\(ll = L\)"):
        hb.Model("durable | event(durable > 0) ~ x", data=data)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hb.Model("time | event(status) ~ x", data=_frame(), family="weibull")  # survival times: silent


@pytest.mark.parametrize("indicator", ["-(durable <= 0)", "1 + -(durable == 0)"])
def test_a_minus_before_a_comparison_is_refused_naming_the_expression(indicator) -> None:
    # pandas evaluates -(true/false) as logical not: -(durable <= 0) silently marked the positive rows
    data = pd.DataFrame({"durable": [0.0, 0.7, 0.0, 3.7, 1.4], "x": [1.0, 2.0, 3.0, 4.0, 5.0]})
    with pytest.raises(SpecError, match=re.escape(f"censoring indicator '{indicator}': a minus sign before a "
                                                  "comparison") + r".*logical not.*write -1 \* \(a <= b\)"):
        hb.Model(f"durable | cens({indicator}) ~ x", data=data)


def test_r_status_coded_one_two_gets_a_hint() -> None:
    # survival::lung's status: 1 = censored, 2 = dead; read as codes, 2 is "interval"
    data = _frame().assign(status=[2, 1, 2, 2, 1, 1])
    with pytest.raises(DataError, match=r"marks interval-censored rows .*if 'status' is R's Surv\(\) status coded "
                                        r"1 = censored, 2 = event, write cens\(2 - status\)"):
        hb.Model("time | cens(status) ~ x", data=data, family="weibull")
    with pytest.raises(DataError) as info:  # a real interval code among others: no hint
        hb.Model("time | cens(c) ~ x", data=data.assign(c=[0, 2, 1, 0, 0, 0]), family="weibull")
    assert "Surv()" not in str(info.value)


def test_cens_of_an_event_indicator_warns_with_the_rewrite() -> None:
    # survival::kidney's status is 1 at an event; cens(status) marked the 58 events of 76 rows
    # right-censored and the fit went far off (sex -1.07 for 1.38) with no message
    data = _frame()
    with pytest.warns(UserWarning, match=re.escape("cens(status) reads 1 as right-censored and 0 as observed "
                                                   "(3 of 6 rows right-censored); if 'status' is 1 at an event")
                      + r".*write event\(status\) or cens\(1 - status\)"):
        hb.Model("time | cens(status) ~ x", data=data, family="weibull")


@pytest.mark.parametrize("formula", ["time | event(status) ~ x", "time | cens(1 - status) ~ x",
                                     "time | cens(c) ~ x"])
def test_event_indicator_written_as_such_does_not_warn(formula: str) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hb.Model(formula, data=_frame().assign(c=[1, 0, 1, 1, 0, 0]), family="weibull")


def test_event_values_other_than_0_and_1_are_named_in_a_warning() -> None:
    # R's Surv() makes them NA with a warning; Stata's failure() counts them as events, silently
    data = _frame().assign(status=[1, 0, 9, 1, 0, 3])
    with pytest.warns(UserWarning, match=r"event\(status\) has values other than 0 and 1 \(3, 9, in 2 rows\); "
                                         r"they count as events"):
        model = hb.Model("time | event(status) ~ x", data=data, family="weibull")
    assert model.design.censoring.counts() == {"none": 4, "right": 2}


@pytest.mark.parametrize(("term", "advice"), [
    ("frailty(g)", "a group's frailty is a random intercept: write (1 | g)"),
    ('frailty(g, dist="gauss")', "write (1 | g)"),
    ("frailty.gaussian(g)", "a group's frailty is a random intercept: write (1 | g)"),  # survreg's documented spelling
    ("frailty.gamma(g)", "survival's gamma frailty is not available"),
    ("cluster(g)", "write (1 | g) for a random intercept of each cluster"),
    ("strata(g)", "not available with a censored response; add g as a predictor"),
])
def test_survival_special_terms_get_the_rewrite(term: str, advice: str) -> None:
    from hierbayes.errors import FormulaSyntaxError

    data = _frame().assign(g=[1, 1, 2, 2, 3, 3])
    name = term.split("(")[0]
    with pytest.raises(FormulaSyntaxError, match=re.escape(f"{term!r} is survival's {name}() term; here")
                       + ".*" + re.escape(advice)):
        hb.Model(f"time | cens(1 - status) ~ x + {term}", data=data, family="weibull")



def test_strata_advice_fits_with_the_stratum_as_a_predictor() -> None:
    data = _frame().assign(g=["a", "a", "a", "b", "b", "b"])
    model = hb.Model("time | cens(1 - status) ~ x + g", data=data, family="weibull")
    assert any("g" in name for name in model.design.fixed_names)


@pytest.mark.parametrize("response, side", [("y | tobit(ll = 100)", "left"), ("y | cens(c) ", "right")])
def test_a_response_censored_on_one_side_in_every_row_is_refused(response, side) -> None:
    # AER's Affairs with tobit(ll = 100) (every row below the limit) fitted with 1,037 divergences
    data = pd.DataFrame({"y": [1.0, 2.0, 3.5, 0.5], "x": [0.1, 0.4, 0.2, 0.9], "c": 1})
    with pytest.raises(DataError, match=rf"every row of 'y' is {side}-censored .* bounds the mean from"):
        hb.Model(f"{response} ~ x", data=data)
