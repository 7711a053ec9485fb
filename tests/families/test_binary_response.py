"""A two-valued text, categorical or boolean bernoulli response, read as R reads a factor."""

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.errors import DataError
from hierbayes.families.binomial import recode_binary


def rows(response) -> pd.DataFrame:
    return pd.DataFrame({"y": response, "x": np.arange(8.0), "g": list("aabbccdd")})


def test_text_second_sorted_value_is_the_success() -> None:
    coded, note = recode_binary(pd.Series(["y", "n", "n", "y"]), "y")
    assert coded.tolist() == [1, 0, 0, 1]
    assert note == "y = 1 for 'y', 0 for 'n' (the second value is the success, as in R)"


def test_categorical_order_decides_not_the_alphabet() -> None:
    series = pd.Series(pd.Categorical(["yes", "no", "yes"], categories=["yes", "no", "maybe"]))
    coded, note = recode_binary(series, "use")
    assert coded.tolist() == [0, 1, 0]  # 'maybe' never occurs: the two present are yes < no
    assert "use = 1 for 'no', 0 for 'yes'" in note


def test_numbers_pass_through_and_booleans_become_integers() -> None:
    numbers = pd.Series([0.0, 1.0])
    assert recode_binary(numbers, "y")[0] is numbers
    assert recode_binary(pd.Series([True, False]), "y")[0].tolist() == [1, 0]


def test_three_values_name_the_column_and_the_values() -> None:
    with pytest.raises(DataError, match=r"response 'y' of the bernoulli family holds 3 distinct values \('a', 'b', 'c'\)"):
        recode_binary(pd.Series(["a", "b", "c"]), "y")


def test_model_on_text_response_equals_the_0_1_model_and_says_so() -> None:
    text = ["n", "y", "y", "n", "y", "y", "n", "y"]
    as_text = hb.Model("y ~ x + (1 | g)", rows(text), family="bernoulli")
    as_codes = hb.Model("y ~ x + (1 | g)", rows([int(v == "y") for v in text]), family="bernoulli")
    np.testing.assert_array_equal(as_text.design.y, as_codes.design.y)
    summary = str(as_text.fit(backend="prior", draws=20, chains=1, random_seed=1).summary())
    assert "Response: y = 1 for 'y', 0 for 'n'" in summary
    assert "Response:" not in str(as_codes.fit(backend="prior", draws=20, chains=1, random_seed=1).summary())


def test_text_response_of_other_families_still_asks_for_numbers() -> None:
    with pytest.raises(DataError, match="the response 'y' must be numeric"):
        hb.Model("y ~ x + (1 | g)", rows(list("nyynyyny")), family="poisson")


def test_collapsed_cells_keep_the_response_line() -> None:
    df = rows(["n", "y", "y", "n", "y", "y", "n", "y"]).assign(x=[0, 1] * 4)
    model = hb.Model("y ~ x + (1 | g)", df, family="bernoulli", collapse=True)
    summary = str(model.fit(backend="prior", draws=20, chains=1, random_seed=1).summary())
    assert "Collapsed" in summary and "Response: y = 1 for 'y', 0 for 'n'" in summary
