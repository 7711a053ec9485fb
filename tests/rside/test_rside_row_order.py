"""Residual structures over whole-number times without time=: the rows' order within a group.

nlme's ``corAR1(form = ~ 1 | Subject)`` (and its default form, and brms' ``ar()`` without time)
counts the rows within each group in the data's order, 1, 2, .... The translation offered for such
a pasted call, ``hb.residuals('ar1', group='Subject')``, had then been refused ("needs time=").
On nlme's Orthodont (R 4.2, nlme 3.1.162, REML)::

    gls(distance ~ Sex * age, data = d, correlation = corAR1(form = ~ 1 | Subject))  # Phi 0.6245
    # = 0.790^2, the phi over age (tests/rside/refs/orthodont_ar1.json): ages are 2 years apart
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.errors import SpecError

DATA = Path(__file__).parent / "data" / "orthodont_ar1.csv"


def _model(df: pd.DataFrame, residuals) -> hb.Model:
    return hb.Model("distance ~ Sex*age", df, residuals=residuals)


@pytest.mark.parametrize("pasted", [
    "corAR1(form = ~ 1 | Subject)",
    "corARMA(form = ~ 1 | Subject, p = 1, q = 1)",
    "corARMA(p = 2, form = ~ 1 | Subject)",
    "corARMA(form = ~ 1 | Subject, q = 1)",
    "corSymm(form = ~ 1 | Subject)",
    "corExp(form = ~ 1 | Subject)",
])
def test_the_translation_of_a_pasted_nlme_call_works_when_followed(pasted) -> None:
    with pytest.raises(SpecError) as caught:
        hb.residuals(pasted)
    translation = str(caught.value).split(". nlme's ")[-1]  # after the list of kinds
    advice = re.search(r"(?:df\['t'\] = (.+?), then )?(hb\.residuals\(.*\))$", translation)
    assert advice is not None, str(caught.value)
    df = pd.read_csv(DATA)
    if advice.group(1):  # a column to make first
        df["t"] = eval(advice.group(1), {"df": df})
    structure = eval(advice.group(2), {"hb": hb})
    model = _model(df, structure)
    assert "sigma" in model.pymc_model.named_vars  # the log density builds


def test_without_time_the_rows_are_counted_in_the_data_order() -> None:
    df = pd.read_csv(DATA).sample(frac=1.0, random_state=4).reset_index(drop=True)  # ages shuffled
    counted = df.assign(t=df.groupby("Subject").cumcount() + 1)
    rows = _model(df, hb.residuals("ar1", group="Subject")).design.residuals
    column = _model(counted, hb.residuals("ar1", time="t", group="Subject")).design.residuals
    np.testing.assert_array_equal(rows.rows, column.rows)
    np.testing.assert_array_equal(rows.times, column.times)
    first = df.index[df["Subject"] == rows.group_levels[0]]
    np.testing.assert_array_equal(rows.rows[0], first)  # the group's rows as the data hold them
    assert not rows.even_lags  # consecutive rows: lag 1, phi keeps its sign


def test_rows_dropped_inside_a_series_counted_by_rows_warn_and_the_advice_keeps_the_steps() -> None:
    # nlme's Ovary with corAR1() and holes in the response: missing='drop' had closed each hole silently,
    # the rows either side taken as one step apart
    df = pd.read_csv(DATA)
    first, second = (df.index[df["Subject"] == s] for s in df["Subject"].unique()[:2])
    df.loc[[first[1], first[2], second[1], second[-1]], "distance"] = np.nan  # 2 gaps; a last row leaves none
    with pytest.warns(UserWarning, match=r"residuals ar1\(group=Subject\): without time= the lags count the rows "
                                         r"kept within a Subject in the data's order, and 2 gaps left by dropped "
                                         r"rows .* df\['t'\] = df\.groupby\('Subject'\)\.cumcount\(\) \+ 1, and pass "
                                         r"time='t'"):
        hb.Model("distance ~ Sex*age", df, residuals=hb.residuals("ar1", group="Subject"), missing="drop")
    df["t"] = df.groupby("Subject").cumcount() + 1  # the advice, followed: the steps are kept, no warning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        followed = hb.Model("distance ~ Sex*age", df, residuals=hb.residuals("ar1", time="t", group="Subject"),
                            missing="drop").design.residuals
    assert not [w for w in caught if "without time=" in str(w.message)]
    j = followed.group_levels.index(str(df.loc[first[0], "Subject"]))
    assert list(followed.times[j][:2]) == [1.0, 4.0]  # rows 2 and 3 left out: 3 steps apart
