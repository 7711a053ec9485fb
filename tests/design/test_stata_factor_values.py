"""Stata's factor variables (i.x, ib#.x, x inside #) must hold non-negative integers, as Stata
requires (r(452)): a numeric column with other values is refused, naming it; text and
categorical columns are their levels."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.errors import ArgumentError, DataError
from hierbayes.spec import parse_formula
from hierbayes.spec.serialize import spec_from_dict, spec_to_dict


def frame(a_values) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"y": rng.normal(size=40), "a": np.repeat(a_values, 10), "x": rng.normal(size=40),
                         "g": np.tile(range(8), 5)})


@pytest.mark.parametrize("command", ["mixed y i.a || g:", "mixed y ib2.a || g:", "mixed y a#c.x || g:",
                                     "mixed y x || g: i.a"])
def test_non_integer_factor_values_are_refused_naming_the_column_and_rows(command):
    with pytest.raises(DataError, match=r"factor variable a \(i\.a\) has non-integer values \(4\.5 in rows 30, 31"):
        hb.Model(hb.from_stata(command), frame([1, 2, 3, 4.5]))


def test_negative_factor_values_are_refused():
    with pytest.raises(DataError, match=r"negative values \(-3 in rows 20.*write c\.a for a continuous"):
        hb.Model(hb.from_stata("mixed y i.a || g:"), frame([1, 2, -3, 4]))


@pytest.mark.parametrize("values", [[1.0, 2.0, 3.0, 4.0], [0, 1, 2, 3], ["u", "v", "w", "z"], [True, False, True, False]])
def test_integer_text_and_boolean_factor_values_are_levels(values):
    design = hb.Model(hb.from_stata("mixed y i.a || g:"), frame(values)).design
    assert design.X.shape[1] == 1 + len(set(values)) - 1


def test_continuous_use_and_formulas_do_not_check_integers():
    data = frame([1, 2, 3, 4.5])
    assert hb.Model(hb.from_stata("mixed y c.a || g:"), data).design.X.shape[1] == 2
    assert hb.Model("y ~ C(a) + (1 | g)", data).design.X.shape[1] == 4


def test_missing_factor_values_follow_the_missing_policy():
    data = frame([1, 2, 3, np.nan])
    with pytest.warns(UserWarning, match="dropped 10 rows"):
        model = hb.Model(hb.from_stata("mixed y i.a || g:"), data, missing="drop")
    assert model.design.X.shape == (30, 3)


def test_the_check_survives_saving_the_spec():
    spec = hb.from_stata("mixed y i.a || g:")
    assert spec.integer_factors == ("a",)
    assert spec_from_dict(spec_to_dict(spec)).integer_factors == ("a",)
    # a check on the data, not part of the model: the formula's spec is equal
    assert replace(spec, source="") == replace(parse_formula("y ~ C(a) + (1 | g)"), source="")


def test_an_argument_error_quotes_a_data_frame_by_its_shape():
    with pytest.raises(ArgumentError, match=r"^data=<DataFrame of shape \(40, 4\)>: from_stata\(\) takes no argument"):
        hb.from_stata("mixed y i.a || g:", data=frame([1, 2, 3, 4]))
    with pytest.raises(ArgumentError, match=r"^data='x{76}\.\.\.: from_stata"):
        hb.from_stata("mixed y i.a || g:", data="x" * 200)
