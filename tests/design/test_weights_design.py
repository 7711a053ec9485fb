"""Weights read from the data: scalings, level-2 weights per group, and the errors naming
the column and rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.errors import DataError, SpecError


def _data() -> pd.DataFrame:
    return pd.DataFrame({
        "y": [1.0, 2.0, 3.0, 4.0, 5.0, 6.5],
        "x": [0.1, 0.4, -0.2, 0.3, 1.0, -1.0],
        "g": ["a", "a", "a", "b", "b", "b"],
        "w": [1.0, 2.0, 3.0, 1.0, 1.0, 2.0],
        "w2": [1.2, 1.2, 1.2, 0.5, 0.5, 0.5],
    })


def test_size_and_effective_scaling():
    df = _data()
    size = hb.Model("y | weights(w) ~ x + (1|g)", df, weight_scaling="size").design.row_weights
    np.testing.assert_allclose(size, [0.5, 1.0, 1.5, 0.75, 0.75, 1.5])  # sum to 3 per group
    eff = hb.Model("y ~ x + (1|g)", df, weights="w", weight_scaling="effective").design.row_weights
    # a: sum 6, sum of squares 14 -> factor 6/14; b: 4 / 6
    np.testing.assert_allclose(eff, np.array([1, 2, 3, 1, 1, 2]) * np.repeat([6 / 14, 4 / 6], 3))
    raw = hb.Model("y | weights(w) ~ x + (1|g)", df).design.row_weights
    np.testing.assert_allclose(raw, df["w"])


def test_level2_weights_set_on_blocks_and_rows():
    model = hb.Model("y ~ x + (1|g)", _data(), weights="w", group_weights={"g": "w2"})
    block = model.design.groups[0]
    np.testing.assert_allclose(block.prior_weights, [1.2, 0.5])
    # rows carry w_i|j * w_j (Stata's conditional level-1 weights)
    np.testing.assert_allclose(model.design.row_weights, [1.2, 2.4, 3.6, 0.5, 0.5, 1.0])
    only2 = hb.Model("y ~ x + (1|g)", _data(), group_weights={"g": "w2"})
    np.testing.assert_allclose(only2.design.row_weights, [1.2, 1.2, 1.2, 0.5, 0.5, 0.5])
    line = model.design.weights.describe()
    assert "level 1 'w'" in line and "level 2 (g) 'w2'" in line and "adjust_intervals" in line
    assert "frequency weights" in hb.Model("y | weights(w) ~ x", _data()).design.weights.describe()
    df = _data()
    df["w"] = df["w"] * 1.5  # not whole numbers: sampling weights, whatever the scaling
    line = hb.Model("y | weights(w) ~ x", df).design.weights.describe()
    assert "frequency" not in line and "sampling weights, pseudo-posterior" in line
    assert hb.Model("y ~ x + (1|g)", _data()).design.weights is None


@pytest.mark.parametrize(
    "column, values, message",
    [
        ("w", [1, -2, 1, 1, 1, 1], r"weight column 'w' has negative values \(rows? 1"),
        ("w", [1, np.nan, 1, 1, 1, 1], r"weight column 'w' has missing values \(rows? 1"),
        ("w", [1, 1, np.inf, 1, 1, 1], r"weight column 'w' has infinite values \(rows? 2"),
        ("w", ["1", "x", 1, 1, 1, 1], r"weight column 'w' has values that are not numbers \(rows? 1"),
        ("w", [0, 0, 0, 0, 0, 0], "weight column 'w' is zero at every row"),
    ],
)
def test_bad_level1_weights(column, values, message):
    df = _data()
    df[column] = pd.Series(values, dtype=object if isinstance(values[0], str) else float)
    with pytest.raises(DataError, match=message):
        hb.Model("y | weights(w) ~ x + (1|g)", df)


def test_missing_weights_are_an_error_even_when_dropping():
    df = _data()
    df.loc[2, "w"] = np.nan
    with pytest.raises(DataError, match="weight column 'w' has missing values"):
        hb.Model("y | weights(w) ~ x + (1|g)", df, missing="drop")
    with pytest.raises(DataError, match="weight column 'v' is not in the data"):
        hb.Model("y | weights(v) ~ x + (1|g)", df)


def test_nlme_variance_function_as_weights_says_what_weights_are():
    df = _data()
    with pytest.raises(DataError, match=r"weight column 'varPower\(form = ~ x\)' is not in the data; "
                                        r"weights= takes a column of frequency, sampling or precision weights.*sigma='~ log\(v\)'"):
        hb.Model("y ~ x + (1|g)", df, weights="varPower(form = ~ x)")


def test_level2_weight_errors():
    df = _data()
    df.loc[1, "w2"] = 3.0
    with pytest.raises(DataError, match=r"'w2' varies within groups of g \(a; row 1\)"):
        hb.Model("y ~ x + (1|g)", df, group_weights={"g": "w2"})
    df = _data()
    df["w2"] = -1.0
    with pytest.raises(DataError, match=r"level-2 weight \(g\) column 'w2' has negative values"):
        hb.Model("y ~ x + (1|g)", df, group_weights={"g": "w2"})


def test_unscaled_level2_weights_above_one_on_average_are_refused():
    # each group effect's prior raised to w_j: tau^(J - sum w) near tau = 0, without a bound
    # (apiclus2's districts, w = 18.9: sd 1e-26, 1,442 divergences, R-hat 4.8)
    df = _data().assign(w2=[2.0, 2.0, 2.0, 0.5, 0.5, 0.5])
    with pytest.raises(DataError, match=r"level-2 weights 'w2' of g average 1.25: .*weight_scaling='size' "
                                        r"\(Stata: pwscale\(size\)\).*weight_method='pml'"):
        hb.Model("y ~ x + (1|g)", df, weights="w", group_weights={"g": "w2"})
    with pytest.raises(DataError, match="average 1.25"):
        hb.Model(hb.from_stata("mixed y x [pw=w] || g:, pweight(w2)"), df)
    scaled = hb.Model("y ~ x + (1|g)", df, weights="w", group_weights={"g": "w2"}, weight_scaling="size")
    np.testing.assert_allclose(scaled.design.groups[0].prior_weights, [1.6, 0.4])
    pml = hb.Model("y ~ x + (1|g)", df, weights="w", group_weights={"g": "w2"}, weight_method="pml")
    np.testing.assert_allclose(pml.design.groups[0].prior_weights, [2.0, 0.5])


def test_scaling_a_group_whose_weights_are_zero():
    df = _data()
    df.loc[3:5, "w"] = 0.0
    with pytest.raises(DataError, match="the level-1 weights of g b sum to zero"):
        hb.Model("y | weights(w) ~ x + (1|g)", df, weight_scaling="size")


def test_weighted_binomial_rows_are_not_collapsed():
    df = pd.DataFrame({"y": [0, 1] * 20, "x": ["a", "b"] * 20, "g": list("pqrs") * 10, "w": [1.0, 2.0] * 20})
    model = hb.Model("y | weights(w) ~ x + (1|g)", df, family="bernoulli")
    assert model.design.n_obs == 40 and model.design.row_weights is not None
    with pytest.raises(SpecError, match="collapse=True fits identical rows as one binomial cell"):
        hb.Model("y | weights(w) ~ x + (1|g)", df, family="bernoulli", collapse=True)
