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

